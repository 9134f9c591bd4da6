"""Gate ``schema``: every changed file is well formed, valid, and where it belongs.

Each file is parsed by the strict loader, validated by its pydantic model and
by the registry's committed JSON Schema (which editors use), and checked
against its place. A committed schema identical to the one this modelreg
ships was generated from the very model just used, so only a schema that
differs (customised, or stale) is run separately: a manifest names the model and version of its
directory, a DVC pointer names a file beside it. ``schemas/`` must match what
the models generate, ``.github/CODEOWNERS`` what the owners, policies and
admins generate (checked when one of those, or the file, changed), and each generated workflow
what this modelreg writes for modelreg.yaml (``write/upgrade.py``, handed in by the caller).
Notes, never findings: an install line of the workflows that no runner can install, an
``install`` older than the registry's format needs (``formats/install.py``).
"""

from __future__ import annotations

import contextlib
import json
from typing import Any

from modelreg import __version__
from modelreg.approvals import codeowners
from modelreg.checks.context import CheckContext
from modelreg.checks.results import Finding, GateResult
from modelreg.edges import confine, git
from modelreg.errors import InputError
from modelreg.formats import documents, install, layout, models, names, pointers, schema_files, text
from modelreg.policies import signing

GATE = "schema"
#: the one command that brings every generated file (workflows, schemas/) in step
UPGRADE_FIX = "run `modelreg init --upgrade` and commit the result"


def kind_of(path: str) -> str | None:
    """Which file format a registry path holds, or None for a path outside the layout."""
    parts = path.split("/")
    if parts[0] == ".modelreg":
        return "local-state"
    if path == names.CONFIG_FILE:
        return "config"
    if parts[0] == names.POLICY_DIR and len(parts) == 2 and path.endswith(".yaml"):
        return "policy"
    if parts[0] == names.SCHEMA_DIR and len(parts) == 2:
        return "schema-file"
    if parts[0] != names.REGISTRY_DIR:
        return "other"
    if len(parts) == 2 and parts[1] == ".gitkeep":
        return "other"
    if len(parts) == 3 and parts[2] == names.MODEL_FILE:
        return "model"
    if len(parts) == 4 and names.VERSION_DIR.fullmatch(parts[2]):
        if parts[3] == names.VERSION_FILE:
            return "version"
        if parts[3].endswith(".dvc"):
            return "pointer"
        return "version-file"
    return None


def run(ctx: CheckContext) -> GateResult:
    findings = [Finding.from_error(GATE, problem) for problem in _layout(ctx)]
    misplaced = tuple(f"{f.file}/" for f in findings)
    validators: dict[str, Any] = {}
    for path in ctx.files():
        kind = kind_of(path)
        if any(f.file == path for f in findings) or path.startswith(misplaced):
            continue  # what is not where the layout allows is reported once, as that
        if kind is None:
            findings.append(Finding(GATE, "is not part of a registry's layout", file=path,
                                    fix="registry/<model>/ holds model.yaml and v<N>/ directories only"))
        elif kind in ("config", "policy", "model", "version"):
            findings.extend(_validate(ctx, path, kind, validators))
        elif kind == "pointer":
            findings.extend(_pointer(ctx, path))
        elif kind == "local-state":
            findings.append(Finding(GATE, "is this machine's local state and must not be committed",
                                    file=path, fix="`git rm -r --cached .modelreg` and commit"))
    findings.extend(_schemas_current(ctx))
    findings.extend(_key_files(ctx))
    findings.extend(_codeowners_current(ctx, reported={f.file for f in findings}))
    workflow_findings, notes = _workflows_current(ctx, reported={f.file for f in findings})
    return GateResult(findings + workflow_findings, notes=notes + _install_notes(ctx))


def _install_notes(ctx: CheckContext) -> list[str]:
    """Warnings, never failures (docs/ci.md): an ``install`` that names a modelreg older than the
    registry's format needs; while ``install`` is unset, generated workflows whose install line no
    runner can install (a development build, a local URL, a version no index serves yet)."""
    try:
        config = models.load_config(ctx.head)
    except InputError:
        return []  # reported by the file's own validation
    if config.install is not None:
        named, need = install.named_version(config.install), install.needed(config.schema_version)
        if named is None or need is None or not install.older(named, need):
            return []
        return [f"{names.CONFIG_FILE}: install names modelreg {named}, older than this registry's files "
                f"need: {need} is the first release that reads schema_version {config.schema_version}; "
                f"set install: to modelreg[sign]=={need} or later, or a git URL at a later tag"]
    notes = []
    for line, files in _install_lines(ctx).items():
        why = _unserved(line)
        if why is not None:
            notes.append(f"{', '.join(files)}: the workflows install {line}, which no package index serves: "
                         f"{why}; {install.WAYS_OUT}")
    return notes


def _install_lines(ctx: CheckContext) -> dict[str, list[str]]:
    """Each install line of the generated workflows (.github/workflows/modelreg-*.yml) → its files."""
    out: dict[str, list[str]] = {}
    listed = ctx.head.entries(install.WORKFLOW_DIR, 1)
    for name in sorted(n for n, kind in listed.items() if kind == layout.FILE and n.startswith("modelreg-")):
        path = f"{install.WORKFLOW_DIR}/{name}"
        for line in install.lines((ctx.head.read(path) or b"").decode("utf-8", "replace")):
            out.setdefault(line, []).append(path)
    return out


def _unserved(line: str) -> str | None:
    if install.on_this_machine(line):
        return "it names a file: URL, on one machine only, which no runner can reach"
    named = install.named_version(line)
    if named is None or "==" not in line:
        return None
    if not install.is_release(named):
        return f"{named} is a development build, not a release"
    if named == __version__:  # a release number: only the running modelreg knows where it came from
        from modelreg.edges.installed import running

        return install.default(running()).unserved
    return None


def _key_files(ctx: CheckContext) -> list[Finding]:
    """A key or certificate file a policy names, changed or deleted while the policy was not: the
    policy is checked again, so the change that breaks it fails, not every pull request after it."""
    changed = {path for path in ctx.changes if kind_of(path) == "other"}
    if not changed:
        return []
    from modelreg.policies.select import load_all

    findings = []
    for name, policy in sorted(load_all(ctx.head)[0].items()):
        path = f"{names.POLICY_DIR}/{name}.yaml"
        named = {getattr(s, "public_key", None) for s in policy.signing.signers} | {
            c for s in policy.signing.signers for c in getattr(s, "certificate_chain", None) or ()}
        if path not in ctx.changes and named & changed:
            findings += [Finding.from_error(GATE, p) for p in signing.problems(ctx.head, path, policy)]
    return findings


def _layout(ctx: CheckContext) -> list[InputError]:
    """What the registry's tree holds beyond its format (``formats/layout.py``): the top of
    ``registry/``, and the tree of each model the change touches (every model with ``--all``),
    each version against the manifest that names its files. In a work tree, empty directories
    too: git lists none, so they are looked for."""
    top = ctx.head.entries(names.REGISTRY_DIR, 1)
    problems = layout.registry_problems(top)
    models = set(ctx.models)
    if ctx.check_all:
        models.update(name for name, kind in top.items() if kind == layout.DIRECTORY and name)
    if ctx.head.work_tree:
        models.update(path.split("/")[1] for path in git.untracked_directories(ctx.root, [names.REGISTRY_DIR])
                      if path.count("/") >= 2)
    changed = {tuple(p.split("/")[1:3]) for p in ctx.changes if p.startswith(f"{names.REGISTRY_DIR}/")}
    for model in sorted(models):
        if any(p.file == names.model_dir(model) for p in problems):
            continue  # its name or kind is reported already
        tree = layout.ModelTree(ctx.head.entries(names.model_dir(model), 2))
        manifest = _manifests(ctx, model)
        found = layout.model_problems(model, tree, work_tree=ctx.head.work_tree, manifest=manifest)
        # A version the change adds or alters is held to the pointer its manifest names; the
        # others were, when they were added (immutability keeps them as they were).
        for number in sorted(tree.versions):
            where = names.version_dir(model, number)
            if not (ctx.check_all or (model, f"v{number}") in changed) or any(
                    p.file == where or (p.file or "").startswith(f"{where}/") for p in found):
                continue
            doc = manifest(number)
            if doc is not None:
                found += layout.read_problems(model, number, tree, doc, work_tree=ctx.head.work_tree)
        problems += found
    return problems


def _manifests(ctx: CheckContext, model: str) -> layout.Manifests:
    def manifest(number: int) -> dict[str, Any] | None:
        try:
            return documents.mapping(ctx.head, names.version_file(model, number))
        except InputError:
            return None  # reported by the file's own validation
    return manifest


def _validate(ctx: CheckContext, path: str, kind: str, validators: dict[str, Any]) -> list[Finding]:
    try:
        data = documents.raw(ctx.head, path) or b""
        doc = documents.parsed(ctx.head, path)
        if kind == "config":  # the typed readers' own validation: the record is built once
            config = models.load_config(ctx.head)
            written = confine.config_problems(ctx.root, config, data)
            if written:
                return [Finding.from_error(GATE, problem) for problem in written]
            if config.ledger.signers:  # a key that does not load, a key file not there: on this PR
                from modelreg.read.ledger_trust import signers

                signers(ctx.head, config)
        elif kind == "policy":
            policy = documents.policy_file(ctx.head, path)
            if policy is not None and (unusable := signing.problems(ctx.head, path, policy)):
                return [Finding.from_error(GATE, problem) for problem in unusable]
        else:  # manifests: the full validation only the check runs (readers check the shape)
            models.validate(models.SCHEMAS[kind], doc, path, data)
    except InputError as exc:
        return [Finding.from_error(GATE, exc)]
    findings = _against_json_schema(ctx, path, kind, doc, validators)
    if (hostile := text.first_unprintable(doc)) is not None:
        field, value = hostile
        bad = next(ch for ch in value if ord(ch) in text.UNPRINTABLE)
        findings.append(Finding(GATE, f"holds the control character {text.UNPRINTABLE[ord(bad)]}", file=path,
                                field=field, fix="write plain text: newlines and tabs are the only control "
                                "characters allowed"))
    parts = path.split("/")
    if kind == "model" and doc["name"] != parts[1]:
        findings.append(Finding(GATE, f"names the model {doc['name']!r} but lives in {parts[1]}/",
                                file=path, field="name", fix=f"set name: {parts[1]}"))
    if kind == "version" and (doc["model"], doc["version"]) != (parts[1], names.parse_version_dir(parts[2])):
        findings.append(Finding(GATE, f"says {doc['model']}/v{doc['version']} but lives in "
                                f"{parts[1]}/{parts[2]}", file=path, field="version",
                                fix="a manifest must match its directory"))
    return findings


def _against_json_schema(ctx: CheckContext, path: str, kind: str, doc: Any,
                         validators: dict[str, Any]) -> list[Finding]:
    if kind not in validators:
        validators[kind] = None
        raw = ctx.head.read(f"{names.SCHEMA_DIR}/{kind}.schema.json")
        if raw is not None and raw.decode("utf-8", "replace") != models.json_schema_text(kind):
            import jsonschema

            # A schema that does not load is reported by _schemas_current.
            with contextlib.suppress(ValueError, jsonschema.SchemaError):
                committed = json.loads(raw)
                jsonschema.Draft202012Validator.check_schema(committed)
                validators[kind] = jsonschema.Draft202012Validator(committed)
    validator = validators[kind]
    if validator is None:
        return []
    try:
        error = min(validator.iter_errors(doc), key=lambda e: [str(p) for p in e.path], default=None)
    except Exception as exc:  # a valid-looking schema can still fail to run (a bad regex)
        return [Finding(GATE, f"schemas/{kind}.schema.json cannot be applied: {type(exc).__name__}: {exc}",
                        file=f"{names.SCHEMA_DIR}/{kind}.schema.json",
                        fix="run `modelreg schema --write` and commit the result")]
    if error is None:
        return []
    field = ".".join(str(p) for p in error.path) or None
    return [Finding(GATE, f"fails schemas/{kind}.schema.json: {error.message}", file=path, field=field,
                    fix="run `modelreg schema --write` if the schema is stale, else fix the field")]


def _pointer(ctx: CheckContext, path: str) -> list[Finding]:
    try:
        pointers.pointer_from(documents.parsed(ctx.head, path), path)
    except InputError as exc:
        return [Finding.from_error(GATE, exc)]
    return []


def _schemas_current(ctx: CheckContext) -> list[Finding]:
    return [Finding(GATE, "is missing or differs from what this modelreg generates", file=path,
                    fix=UPGRADE_FIX) for path in schema_files.stale(ctx.head)]


def _workflows_current(ctx: CheckContext, reported: set[str | None]) -> tuple[list[Finding], list[str]]:
    """The generated workflows (gate, approval, deploy, reconcile, Pages) must be what this
    modelreg writes for this modelreg.yaml, what the user keeps between markers aside: a new
    environment with no deploy job would deploy nothing. One the registry does not have is not
    asked for. Always checked: it costs a few reads, and a stale file fails whichever pull
    request comes next, not only the one that made it stale."""
    if ctx.options.stale_workflows is None:
        return [], ["the generated workflows were not compared with what this modelreg writes"]
    try:
        stale, notes = ctx.options.stale_workflows(ctx.head)
    except InputError as exc:
        return ([] if exc.file in reported else [Finding.from_error(GATE, exc)]), []
    return [Finding.from_error(GATE, problem) for problem in stale], notes


def _codeowners_current(ctx: CheckContext, reported: set[str | None]) -> list[Finding]:
    """CODEOWNERS routes the reviews, so it must say what the owners and policies say now.

    Generating it reads every model.yaml, so it runs only when the change touches what it
    is made of. A file that keeps it from being generated is reported here unless this gate
    reported that file already.
    """
    made_of = ("config", "policy", "model")
    if not ctx.options.check_all and not any(
            path == codeowners.PATH or kind_of(path) in made_of for path in ctx.changes):
        return []
    try:
        why = codeowners.stale(ctx.head)
    except InputError as exc:
        return [] if exc.file in reported else [Finding.from_error(GATE, exc)]
    if why is None:
        return []
    return [Finding(GATE, why, file=codeowners.PATH,
                    fix="run `modelreg codeowners --write` and commit the result")]
