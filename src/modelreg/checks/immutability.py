"""Gate ``immutability``: what is on the base is never edited or deleted.

A released version (any file under ``registry/<model>/v<N>/`` on the base)
stays as it is forever; it is retired by listing it in ``archived``. Models
are never deleted, and ``schema_version`` does not change without a migration
(there is none yet: version 1 is the only format).
"""

from __future__ import annotations

from modelreg.checks.context import CheckContext
from modelreg.checks.results import Finding, GateResult
from modelreg.formats import names

GATE = "immutability"


def run(ctx: CheckContext) -> GateResult:
    findings: list[Finding] = []
    reported: set[str] = set()
    for path, status in sorted(ctx.changes.items()):
        parts = path.split("/")
        if status == "A" or parts[0] != names.REGISTRY_DIR:
            continue
        if len(parts) == 4 and names.parse_version_dir(parts[2]):
            version = "/".join(parts[:3])
            if version in reported:
                continue
            reported.add(version)
            what = "deleted" if status == "D" and ctx.head.read(path) is None else "changed"
            findings.append(Finding(
                GATE, f"{parts[1]} {parts[2]} is released on the base and was {what}", file=path,
                fix=f"restore it (`git checkout {ctx.base_ref} -- {version}`); to retire a version, "
                f"list it under archived in {names.model_file(parts[1])}"))
        elif len(parts) == 3 and parts[2] == names.MODEL_FILE and status == "D":
            findings.append(Finding(GATE, f"model {parts[1]} exists on the base and was deleted", file=path,
                                    fix="restore it; models are retired by archiving their versions"))
    for path in (names.CONFIG_FILE, *(names.model_file(m) for m in ctx.changed_models)):
        if path in ctx.changes or ctx.options.check_all:
            findings.extend(_schema_version(ctx, path))
    return GateResult(findings)


def _schema_version(ctx: CheckContext, path: str) -> list[Finding]:
    before, after = ctx.document(ctx.base, path), ctx.document(ctx.head, path)
    # a file without schema_version is version 1 (its default), as its schema says
    if before is None or after is None or before.get("schema_version", 1) == after.get("schema_version", 1):
        return []
    return [Finding(GATE, f"schema_version changed from {before.get('schema_version')} to "
                    f"{after.get('schema_version')}", file=path, field="schema_version",
                    fix="there is no migration between these formats; keep the base's schema_version")]
