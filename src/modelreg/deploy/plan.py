"""Which deployments a push asks for: pure functions over desired state and modelreg.yaml."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from modelreg.formats.desired import Move


@dataclass(frozen=True)
class Step:
    """Deploy ``model`` v``after`` (was v``before``) as ``alias`` in ``environment``."""

    environment: str
    model: str
    alias: str
    before: int | None
    after: int

    def describe(self) -> str:
        was = f"v{self.before}" if self.before is not None else "(none)"
        return f"{self.environment}: {self.model} {self.alias} {was} → v{self.after}"


def plan(moves: list[Move], environments: dict[str, Any], only: str | None = None) -> list[Step]:
    """The deployments ``moves`` ask for, environment by environment (``only``: just that one).

    An alias moved to a version is deployed where an environment serves that alias (and,
    when the environment lists models, that model). A removed alias deploys nothing: the
    targets keep what they serve, and ``modelreg status`` shows it.
    """
    steps = []
    for name in sorted(environments):
        if only is not None and name != only:
            continue
        env = environments[name]
        for move in moves:
            if move.kind != "alias" or move.alias != env.alias or move.after is None:
                continue
            if env.models and move.model not in env.models:
                continue
            steps.append(Step(name, move.model, env.alias, move.before, move.after))
    return steps
