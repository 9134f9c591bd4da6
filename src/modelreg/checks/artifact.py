"""Gate ``artifact``: each new version's bytes are where its pointer says, as its manifest says.

The DVC pointer must agree with ``version.yaml`` (name, md5, size, file
count), and the object must exist in the DVC remote with that size. Then each
new artifact is downloaded and its sha256 checked, unless ``modelreg.yaml``
turns that off (``check.verify_sha256``) or off above a size
(``check.verify_max_size``), which the report says; ``--verify-artifacts``
forces it. With ``--offline`` the remote is not asked at all (pre-commit hooks).

A version an alias moves to in the change is judged the same way where its
policy sets either rule (a version registered before the rule, or past the
gate, is not promoted unjudged).

Where the policy sets ``artifact.code_execution`` (the stricter of the base's and the
change's policies), the downloaded bytes are also inspected for files that run code when
loaded (``edges/weights.py``, judged by ``policies/weights.py``). Such a version, and one
whose policy requires a signature (verified by the signature gate on these same bytes,
``CheckContext.download``), is downloaded whatever the ``check`` settings say, since only
its bytes can answer.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from modelreg.checks.context import CheckContext
from modelreg.checks.results import Finding, GateResult
from modelreg.errors import InputError, ModelregError
from modelreg.formats import documents, names, pointers
from modelreg.policies import signing, weights
from modelreg.policies.select import tags_of

GATE = "artifact"


def run(ctx: CheckContext) -> GateResult:
    findings: list[Finding] = []
    expected: dict[str, tuple[str, int, int, str]] = {}  # md5 → (model, version, size, pointer path)
    rules: dict[tuple[str, int], weights.Rule] = {}  # the versions whose bytes are inspected for code
    signed: set[tuple[str, int]] = set()  # the versions whose signature the signature gate must verify
    promoted = set(ctx.promoted_versions)
    for model, number in [*ctx.new_versions, *ctx.promoted_versions]:
        doc = ctx.document(ctx.head, names.version_file(model, number))
        artifact = doc.get("artifact") if doc else None
        if not isinstance(artifact, dict) or not isinstance(artifact.get("path"), str) \
                or not names.FILE_NAME.fullmatch(artifact["path"]):
            continue  # the schema gate reports it
        rule = _code_rule(ctx, model, doc or {})
        required = _signature_required(ctx, model, doc or {})
        if (model, number) in promoted and not rule.inspects and not required:
            continue  # a version an alias moves to: its bytes are judged where a rule needs them
        pointer, problems = _pointer(ctx, model, number, artifact)
        findings.extend(problems)
        if pointer is not None and not problems:
            expected[pointer.md5] = (model, number, pointer.size,
                                     f"{names.version_dir(model, number)}/{pointer.path}.dvc")
            if rule.inspects:
                rules[(model, number)] = rule
            if required:
                signed.add((model, number))
    notes: list[str] = []
    if expected and not ctx.options.offline:
        findings.extend(_in_remote(ctx, expected))
        if not findings:
            # the policy's code and signing rules need the bytes, whatever the check settings skip
            chosen, notes = _to_verify(ctx, sorted(expected.values()), set(rules) | signed)
            findings.extend(_download(ctx, chosen, rules))
    elif expected:
        notes.append("artifacts were not looked up in the DVC remote (--offline): "
                     "neither their presence nor their sha256 was checked")
        notes.extend(f"{m} v{n} was not inspected for code that runs when it is loaded (--offline), "
                     f"which {rule.named()} asks" for (m, n), rule in sorted(rules.items()))
    return GateResult(findings, notes=notes)


def _code_rule(ctx: CheckContext, model: str, doc: dict[str, Any]) -> weights.Rule:
    """``artifact.code_execution`` of the policies that judge the version, the stricter of the
    base's and the change's (allow when none reads: the policy gate reports that)."""
    try:
        return weights.governing(ctx, model, tags_of(doc))
    except InputError:
        return weights.Rule("allow")


def _signature_required(ctx: CheckContext, model: str, doc: dict[str, Any]) -> bool:
    """Whether the policies that judge the version require a signature (the signature gate
    verifies it on the bytes downloaded here; it reports a rule that does not read)."""
    try:
        return signing.for_change(ctx, model, doc).required
    except InputError:
        return False


def _to_verify(ctx: CheckContext, versions: list[tuple[str, int, int, str]],
               forced: set[tuple[str, int]]) -> tuple[list[tuple[str, int]], list[str]]:
    """The new versions whose artifact is downloaded and hashed (``CheckContext.to_verify``), and a
    note for each that is not."""
    chosen, skipped = ctx.to_verify([(m, n, size) for m, n, size, _ in versions], forced)
    if skipped and not ctx.check_settings.verify_sha256:
        return chosen, [f"sha256 of {', '.join(f'{m} v{n}' for m, n in skipped)} not verified: "
                        f"check.verify_sha256 is false in {names.CONFIG_FILE}"]
    sizes = {(m, n): size for m, n, size, _ in versions}
    return chosen, [f"sha256 of {m} v{n} ({sizes[m, n]:,} bytes) not verified: {why}; run "
                    "`modelreg check --verify-artifacts` to verify it" for (m, n), why in skipped.items()]


def _pointer(ctx: CheckContext, model: str, number: int,
             artifact: dict[str, Any]) -> tuple[pointers.Pointer | None, list[Finding]]:
    path = f"{names.version_dir(model, number)}/{artifact['path']}.dvc"
    raw = documents.raw(ctx.head, path)
    if raw is None:
        return None, [Finding(GATE, f"{model} v{number} has no DVC pointer {artifact['path']}.dvc",
                              file=names.version_file(model, number), field="artifact.path",
                              fix="register the version with `modelreg register`, which writes both")]
    try:
        pointer = pointers.pointer_from(documents.parsed(ctx.head, path), path)
    except InputError:
        return None, []  # the schema gate reports it
    problems = []
    for field, ours, theirs in (("path", pointer.path, artifact.get("path")),
                                ("md5", pointer.md5, artifact.get("md5")),
                                ("size", pointer.size, artifact.get("size")),
                                ("files", pointer.nfiles, artifact.get("files"))):
        if ours != theirs:
            problems.append(Finding(
                GATE, f"the DVC pointer says {ours!r} but version.yaml says {theirs!r}",
                file=names.version_file(model, number), field=f"artifact.{field}",
                fix="the two were edited apart; register the artifact again"))
    return pointer, problems


def _in_remote(ctx: CheckContext, expected: dict[str, tuple[str, int, int, str]]) -> list[Finding]:
    from modelreg.edges import dvc  # not imported by --offline checks

    try:
        sizes = dvc.remote_sizes(Path(ctx.root), sorted(expected))
    except ModelregError as exc:
        return [Finding(GATE, exc.message, fix=exc.fix)]
    findings = []
    for md5, (model, number, size, pointer) in sorted(expected.items(), key=lambda item: item[1]):
        found = sizes.get(md5)
        where = names.version_file(model, number)
        if found is None:
            findings.append(Finding(
                GATE, f"the artifact of {model} v{number} ({md5}) is not in the DVC remote", file=where,
                field="artifact.md5", fix=f"push it from the clone that registered it "
                f"(`dvc push {pointer}`), or register it again"))
        elif not md5.endswith(".dir") and found != size:
            findings.append(Finding(GATE, f"the remote holds {found} bytes for {model} v{number}, "
                                    f"not {size}", file=where, field="artifact.size",
                                    fix="the remote object is damaged; push it again"))
    return findings


def _download(ctx: CheckContext, versions: list[tuple[str, int]],
              rules: dict[tuple[str, int], weights.Rule]) -> list[Finding]:
    findings = []
    for model, number in versions:
        try:
            ctx.head_catalog.version(model, number)
        except InputError:
            continue  # the schema gate reports a manifest that does not read
        try:
            path = ctx.download(model, number)
        except ModelregError as exc:
            findings.append(Finding(GATE, exc.message, file=names.version_file(model, number),
                                    field="artifact.sha256", fix=exc.fix))
            continue
        if (model, number) in rules:
            findings.extend(_code(model, number, path, rules[(model, number)]))
        else:  # under ``allow`` only the MLmodel is read: a path outside the directory fails always
            findings.extend(_outside(model, number, path))
    return findings


def _code(model: str, number: int, path: Path, rule: weights.Rule) -> list[Finding]:
    """The files of a downloaded artifact that ``rule`` refuses, each named with its import."""
    from modelreg.edges import weights as inspection  # picklescan, lazily, only where a policy asks

    where = names.version_file(model, number)
    try:
        found = inspection.inspect(path, path.name, scan=rule.scans)
    except inspection.ScannerMissing:
        return [Finding(GATE, f"{model} v{number} cannot be scanned: {rule.named()} needs picklescan, "
                        "which is not installed", file=where, field="artifact", fix=inspection.EXTRA)]
    return [Finding(GATE, f"{model} v{number}: {p.message}", file=where, field="artifact", fix=p.fix)
            for p in weights.judge(rule, found)]


def _outside(model: str, number: int, path: Path) -> list[Finding]:
    """An MLflow directory's ``MLmodel`` naming a path outside the directory (whatever the rule)."""
    from modelreg.edges import weights as inspection

    where = names.version_file(model, number)
    return [Finding(GATE, f"{model} v{number}: {p.message}", file=where, field="artifact", fix=p.fix)
            for p in weights.judge(weights.Rule("allow"), inspection.outside_paths(path, path.name))]
