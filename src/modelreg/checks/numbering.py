"""Gate ``numbering``: new versions are ``v<N>``, N the next free number on the merged result.

The base branch may have moved on since this change branched off (another
pull request registered a version meanwhile), so numbers are checked against
the base branch's tip as well as the merge base. Two directories with the same
number in any spelling (``v2``, ``v02``, ``V2``) are refused, and so is any
other name beside ``model.yaml``.
"""

from __future__ import annotations

import re

from modelreg.checks.context import CheckContext
from modelreg.checks.results import Finding, GateResult
from modelreg.formats import names

GATE = "numbering"
_ANY_SPELLING = re.compile(r"^[vV]0*([0-9]+)$")


def run(ctx: CheckContext) -> GateResult:
    findings: list[Finding] = []
    for model in ctx.models:
        findings.extend(_spellings(ctx, model))
        findings.extend(_sequence(ctx, model))
    return GateResult(findings)


def _spellings(ctx: CheckContext, model: str) -> list[Finding]:
    findings = []
    seen: dict[int, str] = {}
    for entry in ctx.head.listdir(names.model_dir(model)):
        if entry in (names.MODEL_FILE, ".gitkeep"):
            continue
        path = f"{names.model_dir(model)}/{entry}"
        match = _ANY_SPELLING.fullmatch(entry)
        if match is None:
            findings.append(Finding(GATE, f"{entry!r} is not a version directory", file=path,
                                    fix=f"{names.model_dir(model)}/ holds model.yaml and v<N>/ only"))
            continue
        number = int(match.group(1))
        if entry != f"v{number}":
            findings.append(Finding(GATE, f"{entry!r} is not how version {number} is written", file=path,
                                    fix=f"rename it to v{number}"))
        if number in seen:
            findings.append(Finding(GATE, f"{entry!r} and {seen[number]!r} are both version {number}",
                                    file=path, fix="keep one; register the other as a new version"))
        seen.setdefault(number, entry)
    return findings


def _sequence(ctx: CheckContext, model: str) -> list[Finding]:
    new = [n for m, n in ctx.new_versions if m == model]
    if not new or ctx.options.check_all:  # released numbers are settled; --all checks spellings only
        return []
    taken = set(ctx.versions(ctx.base, model)) | set(ctx.versions(ctx.target, model))
    findings = []
    expected = max(taken, default=0) + 1
    for number in new:
        path = names.version_dir(model, number)
        if number in taken:
            findings.append(Finding(
                GATE, f"v{number} is already taken on {ctx.base_ref}", file=path,
                fix=f"run `modelreg renumber --base {ctx.base_ref}` on this branch, or rebase on "
                f"{ctx.base_ref}, rename the directory to v{expected} and set version: {expected} in its "
                "version.yaml"))
        elif number != expected:
            findings.append(Finding(
                GATE, f"v{number} is not the next free number (v{expected})", file=path,
                fix=f"rename it to v{expected} and set version: {expected} in its version.yaml"))
        expected = max(expected, number) + 1
    return findings
