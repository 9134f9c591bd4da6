"""What gates return: findings, and comparison tables for the report."""

from __future__ import annotations

from typing import Any

from modelreg.errors import InputError
from modelreg.policies.evaluate import MetricComparison

__all__ = ["Comparison", "Finding", "GateResult", "MetricComparison", "one_line"]


class Finding:
    """One reason a gate failed, pointing at the file, line and field, with the fix."""

    def __init__(self, gate: str, message: str, *, file: str | None = None, line: int | None = None,
                 field: str | None = None, fix: str | None = None) -> None:
        self.gate = gate
        self.message = message
        self.file = file
        self.line = line
        self.field = field
        self.fix = fix

    @classmethod
    def from_error(cls, gate: str, error: InputError) -> Finding:
        return cls(gate, error.detail, file=error.file, line=error.line, field=error.field, fix=error.fix)

    def __str__(self) -> str:
        where = f"{self.file}: " if self.file else ""
        if self.file and self.line:
            where = f"{self.file}:{self.line}: "
        what = f"{self.field}: " if self.field else ""
        fix = f"; {self.fix}" if self.fix else ""
        return one_line(f"{where}[{self.gate}] {what}{self.message}{fix}")

    def to_dict(self) -> dict[str, Any]:
        return dict(vars(self))


def one_line(text: str) -> str:
    """Names and values come from pull requests: a newline in them could start a line of its own
    (in CI logs, a ``::workflow-command``), so every report line stays one line."""
    return " ".join(text.splitlines())


class Comparison:
    """A candidate version against the version an alias points at on the base."""

    def __init__(self, model: str, version: int, policy: str | None, against: str,
                 current: int | None, rows: list[MetricComparison]) -> None:
        self.model = model
        self.version = version
        self.policy = policy
        self.against = against
        self.current = current
        self.rows = rows

    def to_dict(self) -> dict[str, Any]:
        return {**vars(self), "rows": [r.to_dict() for r in self.rows]}


class GateResult:
    def __init__(self, findings: list[Finding] | None = None,
                 comparisons: list[Comparison] | None = None, notes: list[str] | None = None) -> None:
        self.findings = findings or []
        self.comparisons = comparisons or []
        #: what the gate did not check, and why (shown in every report; never a failure)
        self.notes = notes or []
        #: what the gate proved in this run beyond passing, for the report (who signed a version)
        self.verified: list[str] = []
