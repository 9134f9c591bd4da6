"""``modelreg check``: the gates every change to a registry must pass.

Each gate is a module of this package with ``run(ctx) -> GateResult``
(see ``results.py``);
``GATES`` maps gate names to them, so adding a gate is adding a module and a
line. Gates only return findings (and, for the report, comparison tables);
the CLI decides how to show them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from modelreg.checks import artifact, immutability, numbering, policy, promotion, schema, signature
from modelreg.checks.context import CheckContext, Options
from modelreg.checks.results import Comparison, Finding, GateResult

Gate = Callable[[CheckContext], GateResult]


#: gate name → gate, in the order they run and are reported
GATES: dict[str, Gate] = {
    "schema": schema.run,
    "immutability": immutability.run,
    "numbering": numbering.run,
    "artifact": artifact.run,
    "signature": signature.run,
    "policy": policy.run,
    "promotion": promotion.run,
}


class CheckReport:
    def __init__(self, ctx: CheckContext, results: dict[str, GateResult]) -> None:
        self.base_ref = ctx.base_ref
        self.base_commit = ctx.base.commit
        self.results = results
        self.new_versions = ctx.new_versions
        self.changed_models = ctx.changed_models

    @property
    def findings(self) -> list[Finding]:
        return [f for result in self.results.values() for f in result.findings]

    @property
    def notes(self) -> list[str]:
        return [note for result in self.results.values() for note in result.notes]

    @property
    def verified(self) -> list[str]:
        return [line for result in self.results.values() for line in result.verified]

    @property
    def comparisons(self) -> list[Comparison]:
        """One table per (version, alias compared with): a new version that is also promoted shows once."""
        unique: dict[tuple[str, int, str], Comparison] = {}
        for result in self.results.values():
            for c in result.comparisons:
                unique.setdefault((c.model, c.version, c.against), c)
        return list(unique.values())

    @property
    def passed(self) -> bool:
        return not self.findings

    def to_dict(self) -> dict[str, Any]:
        return {
            "passed": self.passed, "base": {"ref": self.base_ref, "commit": self.base_commit},
            "new_versions": [f"models:/{m}/{n}" for m, n in self.new_versions],
            "changed_models": self.changed_models,
            "gates": {name: {"passed": not r.findings, "findings": [f.to_dict() for f in r.findings]}
                      for name, r in self.results.items()},
            "comparisons": [c.to_dict() for c in self.comparisons],
            "notes": self.notes,
            "verified": self.verified,
        }


def run_checks(root: str, *, base: str | None = None, options: Options | None = None,
               only: list[str] | None = None) -> CheckReport:
    with CheckContext(root, base, options or Options()) as ctx:
        results = {name: gate(ctx) for name, gate in GATES.items() if not only or name in only}
        return CheckReport(ctx, results)
