"""Gate ``signature``: a new version whose policy requires signing carries a bundle that verifies.

The rule is ``signing`` in the policy (``policies/signing.py``), the stricter of
the base's and the change's: a pull request cannot drop ``required``, nor swap
the signers or the key file the base's policy trusts. The bundle (the
manifest's ``signature``, beside ``version.yaml``) is verified by
``edges/signing.py`` against the bytes the artifact gate downloaded and
hashed (``CheckContext.download``: one download for both gates), so the
signature covers the bytes whose sha256 was checked. A required signature is
verified whatever the check settings skip (its bytes are downloaded anyway);
with ``--offline`` nothing is fetched and the report says the signature was
not checked.
"""

from __future__ import annotations

from typing import Any

from modelreg.checks.context import CheckContext
from modelreg.checks.results import Finding, GateResult
from modelreg.errors import InputError, ModelregError
from modelreg.formats import names
from modelreg.policies import signing

GATE = "signature"
FIX_SIGN = "register it signed: `modelreg register ... --sign-key FILE` (docs/signing.md)"


def run(ctx: CheckContext) -> GateResult:
    result = GateResult()
    due: list[tuple[str, int, int, signing.Rule, bytes, str]] = []
    promoted = set(ctx.promoted_versions)
    for model, number in [*ctx.new_versions, *ctx.promoted_versions]:
        path = names.version_file(model, number)
        doc = ctx.document(ctx.head, path)
        artifact = doc.get("artifact") if doc else None
        if doc is None or not isinstance(artifact, dict):
            continue  # the schema gate reports it
        try:
            rule = signing.for_change(ctx, model, doc)
        except InputError as exc:
            result.findings.append(Finding.from_error(GATE, exc))
            continue
        if (model, number) in promoted and not rule.required:
            continue  # a version promoted is judged only where its rule requires a signature
        bundle, problem = _bundle(ctx, model, number, doc, rule)
        if problem is not None:
            result.findings.append(problem)
        elif bundle is not None:
            if not rule.signers:
                result.notes.append(f"the signature of {model} v{number} was not verified: "
                                    f"{rule.describe()} and names no signer")
                continue
            due.append((model, number, int(artifact.get("size", 0)), rule, bundle,
                        f"{names.version_dir(model, number)}/{doc['signature']}"))
    if due and ctx.options.offline:
        result.notes += [f"the signature of {m} v{n} was not verified (--offline): its bytes were not "
                         "fetched" for m, n, *_ in due]
    elif due:
        # a required signature is verified whatever the check settings skip (the artifact gate
        # downloads those bytes too); one a policy only lists signers for follows the settings
        _, skipped = ctx.to_verify([(m, n, size) for m, n, size, *_ in due],
                                   forced={(m, n) for m, n, _, rule, *_ in due if rule.required})
        for model, number, _, rule, bundle, where in due:
            if (model, number) in skipped:
                result.notes.append(f"the signature of {model} v{number} was not verified: its bytes are "
                                    f"not downloaded ({skipped[model, number]})")
            else:
                _verify(ctx, model, number, rule, bundle, where, result)
    return result


def _bundle(ctx: CheckContext, model: str, number: int, doc: dict[str, Any],
            rule: signing.Rule) -> tuple[bytes | None, Finding | None]:
    """The bundle's bytes at the head (None when the version names none), or the finding that
    a required one is missing."""
    name = doc.get("signature")
    path = names.version_file(model, number)
    if not isinstance(name, str):
        if rule.required:
            return None, Finding(GATE, f"{model} v{number} is not signed: {rule.describe()}", file=path,
                                 field="signature", fix=FIX_SIGN)
        return None, None
    where = f"{names.version_dir(model, number)}/{name}"
    try:
        data = ctx.head.read(where) if names.FILE_NAME.fullmatch(name) else None
    except InputError as exc:  # a link, a directory
        return None, Finding(GATE, f"the signature bundle {name} cannot be read: {exc.detail}", file=path,
                             field="signature", fix=FIX_SIGN)
    if data is None:
        return None, Finding(GATE, f"names the signature bundle {name}, which is not committed beside it",
                             file=path, field="signature", fix=f"commit {where}, or {FIX_SIGN}")
    return data, None


def _verify(ctx: CheckContext, model: str, number: int, rule: signing.Rule, bundle: bytes, where: str,
            result: GateResult) -> None:
    from modelreg.edges.signing import SignatureError  # model_signing: only when a version is signed

    try:
        artifact = ctx.download(model, number)
    except ModelregError as exc:
        result.findings.append(Finding(GATE, f"cannot be checked: the artifact did not download "
                                       f"({exc.message})", file=where, field="signature", fix=exc.fix))
        return
    expected = ctx.head_catalog.version(model, number).artifact.get("sha256")
    try:
        verified, source = signing.check_bundle(rule, artifact, bundle, expected)
    except SignatureError as exc:
        result.findings.append(Finding(GATE, exc.detail, file=where, field="signature", fix=exc.fix))
        return
    except ModelregError as exc:  # the signing extra is not installed
        result.findings.append(Finding(GATE, f"cannot be checked: {exc.message}", file=where,
                                       field="signature", fix=exc.fix))
        return
    result.verified.append(f"{model} v{number}: signed by {verified.signer.describe()} ({source}), "
                           f"{verified.files} file(s) re-hashed; {rule.describe()}")
