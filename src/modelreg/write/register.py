"""Registering a model version: validate, hash into the DVC cache, push, then write.

The order is what makes a failure harmless: every input is validated before a
byte is hashed, and the artifact is in the remote before anything appears
under ``registry/``. The version directory is built beside its final place
and renamed into it, so a crash or a dead remote leaves no half version.
"""

from __future__ import annotations

import contextlib
import dataclasses
import getpass
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from modelreg.approvals import codeowners
from modelreg.edges import dvc, git, lock, signing
from modelreg.edges.atomic import write_atomic
from modelreg.edges.hashing import Progress, no_progress
from modelreg.edges.snapshot import WorkTree
from modelreg.edges.undo import Undo
from modelreg.errors import ConflictError, InputError
from modelreg.formats import documents, layout, models, names, text, yamlio
from modelreg.formats.names import MODEL_HEADER, VERSION_HEADER
from modelreg.write import inputs, lineage, weights

CARD_MAX_BYTES = 1024 * 1024

#: artifact format guessed from a file suffix, or from a file a directory holds
FORMATS = {
    ".pkl": "pickle", ".pickle": "pickle", ".joblib": "joblib", ".skops": "skops", ".onnx": "onnx",
    ".pt": "pytorch", ".pth": "pytorch", ".safetensors": "safetensors", ".h5": "keras",
    ".keras": "keras", ".ubj": "xgboost", ".cbm": "catboost", ".gguf": "gguf",
}
DIR_MARKERS = {"saved_model.pb": "tf-savedmodel", "MLmodel": "mlflow",
               "config.json": "huggingface"}


@dataclass
class Registration:
    """Everything ``modelreg register`` records about a new version."""

    model: str
    artifact: Path
    metrics: dict[str, float] = field(default_factory=dict)
    slices: dict[str, dict[str, float]] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    description: str = ""
    framework: dict[str, str] | None = None
    format: str | None = None
    datasets: list[dict[str, Any]] = field(default_factory=list)
    run_id: str | None = None
    run_url: str | None = None
    card: Path | None = None
    #: a path inside the training code's git repository (default: the current directory)
    code_repo: Path | None = None
    #: ``lineage.code`` as another system recorded it (an import): used instead of asking git
    #: about ``code_repo``; ``{}`` records none
    code: dict[str, Any] | None = None
    #: when the version was made, where another system recorded it (an import); default: now
    created_at: datetime | None = None
    owners: list[str] = field(default_factory=list)
    policy: str | None = None
    #: a new model's description (model.yaml); for an existing model it must be what model.yaml
    #: says, as owners and policy (``modelreg describe`` changes it, in a pull request of its own)
    model_description: str = ""
    created_by: str | None = None
    #: sign the artifact's bytes (``--sign-key``, ``--sign-certificate``, ``--sign-keyless``): the
    #: bundle is written beside version.yaml as ``signature``, committed with it
    sign: signing.SigningMethod | None = None


@dataclass(frozen=True)
class Registered:
    model: str
    version: int
    directory: str
    files: tuple[str, ...]
    manifest: dict[str, Any]
    commit: str | None = None
    branch: str | None = None
    #: things the user should know that did not stop the registration (a near-duplicate model name)
    warnings: tuple[str, ...] = ()

    @property
    def paths(self) -> tuple[str, ...]:
        """What to ``git add``: the version directory, and the files written beside it (a new
        model's ``model.yaml``, CODEOWNERS)."""
        return (self.directory, *(f for f in self.files if not f.startswith(f"{self.directory}/")))


def register(root: Path, reg: Registration, *, branch: str | None = None, commit: bool = False,
             progress: Progress = no_progress) -> Registered:
    """Register ``reg`` in the registry at ``root``, holding the registry's lock (see ``lock.py``)
    from choosing the version number until the commit."""
    names.check_model_name(reg.model)
    reg = dataclasses.replace(reg, model_description=text.check_description(reg.model_description,
                                                                             "--model-description"))
    text.check_text(reg.description, "--description")  # the options by name; the rest of the
    for key, value in reg.tags.items():                   # manifest's text below, before any hashing
        text.check_text(value, f"--tag {key}")
    artifact = _check_artifact(reg.artifact)
    card_bytes = _read_card(reg.card)
    card = reg.card.name if reg.card is not None else None
    if card == artifact.name:
        raise InputError(f"the card and the artifact are both named {card!r}", field="--card",
                         fix="rename the card, e.g. to card.md")
    signer = _prepare_signer(reg, artifact, card)
    with lock.held(root, f"register {reg.model}"):
        return _register(root, reg, artifact, (card, card_bytes) if card and card_bytes is not None else None,
                         branch=branch, commit=commit, progress=progress, signer=signer)


def _unsigned(root: Path, model: str, model_doc: dict[str, Any] | None,
              manifest: dict[str, Any]) -> tuple[str, ...]:
    """A word when the policy in the work tree requires a signature and none was asked for: the
    gate will fail the version (it is registered all the same: the policy on main decides)."""
    from modelreg.edges.snapshot import Overlay, WorkTree
    from modelreg.policies import signing as signing_rule

    new = {} if model_doc is None else {
        names.model_file(model): yamlio.dumps(model_doc, MODEL_HEADER).encode()}  # a model being created
    try:
        with Overlay(WorkTree(str(root)), new) as snapshot:
            rule = signing_rule.at(snapshot, model, manifest)
    except InputError:
        return ()  # a policy that does not read: the gate reports it
    if not rule.required:
        return ()
    return (f"{rule.describe()}, and this version is not signed: the gate will fail it; register "
            "it again with --sign-key FILE (docs/signing.md)",)


def _prepare_signer(reg: Registration, artifact: Path, card: str | None) -> signing.Prepared | None:
    """The signer, its key loaded now: a bad key or a wrong password fails before a byte is hashed."""
    if reg.sign is None:
        return None
    for name, what in ((artifact.name, "the artifact"), (card, "the card")):
        if name == names.SIGNATURE_FILE:
            raise InputError(f"{what} is named {names.SIGNATURE_FILE}, the name of the signature bundle",
                             field="--card" if what == "the card" else "--artifact",
                             fix=f"rename {what}")
    return signing.prepare(reg.sign)


def _register(root: Path, reg: Registration, artifact: Path, card: tuple[str, bytes] | None, *,
              branch: str | None, commit: bool, progress: Progress,
              signer: signing.Prepared | None = None) -> Registered:
    _check_tree(root, reg.model)
    model_path = root / names.model_file(reg.model)
    model_doc = None if model_path.exists() else _new_model(reg)
    warnings = _near_duplicates(root, reg.model) if model_doc is not None else ()
    if model_doc is None:
        _check_unchanged_model(root, reg)
    elif not reg.owners:
        raise InputError(f"model {reg.model!r} is new and needs an owner", field="--owner",
                         fix="pass --owner @org/team (it routes reviews through CODEOWNERS)")
    number = _next_version(root, reg.model)
    if branch and git.branch_exists(root, branch):
        raise ConflictError(f"a branch named {branch!r} exists already", fix="pick another --branch name")
    created_by = reg.created_by or git.user_name(root) or getpass.getuser()
    provenance = _lineage(reg)
    card_name = card[0] if card else None
    signature = names.SIGNATURE_FILE if signer is not None else None
    # Validate every input before hashing a byte: a bad metric must not cost a 200 MB push.
    placeholder = {"path": artifact.name, "md5": "0" * 32, "sha256": "0" * 64, "size": 0}
    draft = _manifest(reg, number, created_by, placeholder, card_name, provenance, signature)
    models.validate(models.VersionManifest, draft, "the new version.yaml")
    for doc, source in ((draft, "the new version.yaml"), (model_doc, "the new model.yaml")):
        if (hostile := text.first_unprintable(doc)) is not None:  # what the schema gate refuses
            text.check_text(hostile[1], f"{source}: {hostile[0]}")
    # What the artifact runs when loaded, judged by the policy before a byte is staged.
    weights.check(root, reg.model, model_doc, reg.tags, artifact)
    if signer is None:
        warnings = (*warnings, *_unsigned(root, reg.model, model_doc, draft))

    staged = dvc.stage(root, artifact, artifact.name, progress)
    art: dict[str, Any] = {
        "path": artifact.name,
        "type": "directory" if staged.pointer.is_dir else "file",
        "md5": staged.pointer.md5,
        "sha256": staged.sha256,
        "size": staged.pointer.size,
    }
    if staged.files is not None:
        art["files"] = staged.files
    fmt = reg.format or _guess_format(artifact)
    if fmt:
        art["format"] = fmt
    manifest = _manifest(reg, number, created_by, art, card_name, provenance, signature)
    models.validate(models.VersionManifest, manifest, "the new version.yaml")
    # Signed before the push: the digests hashed while the bytes were copied into the cache, so
    # the bytes signed are the bytes registered (no second read that could see other bytes).
    bundle = None if signer is None else (names.SIGNATURE_FILE, signer.bundle(
        artifact.name, signing.resource_digests(staged.digests, is_file=not staged.pointer.is_dir)))
    dvc.push(root, staged.objects)

    # From here the work tree changes; any failure puts it back as it was.
    with Undo(root, branch) as undo:
        undo.track([names.version_dir(reg.model, number)])
        files = _write_version(root, reg.model, number, manifest, staged.pointer.to_yaml(),
                               artifact.name, card, bundle)
        if model_doc is not None:
            undo.track([names.model_file(reg.model)])
            write_atomic(model_path, yamlio.dumps(model_doc, MODEL_HEADER))
            files.append(names.model_file(reg.model))
            # Route the new model's reviews. Another model's broken file must not strand this
            # version half-registered: the schema gate reports it, with the fix.
            with contextlib.suppress(InputError):
                undo.track([codeowners.PATH])
                if (root / codeowners.PATH).exists() and codeowners.write(root):
                    files.append(codeowners.PATH)
        commit_id = undo.commit(f"Register {reg.model} v{number}", files) if branch or commit else None
    return Registered(model=reg.model, version=number, directory=names.version_dir(reg.model, number),
                      files=tuple(files), manifest=manifest, commit=commit_id, branch=branch,
                      warnings=warnings)


def _near_duplicates(root: Path, model: str) -> tuple[str, ...]:
    """A warning for each existing model one edit away from a new one: ``fraud-detecter`` is more
    likely a typo of ``fraud-detector`` than a new model."""
    from modelreg.read.suggest import near_duplicates

    tree = WorkTree(str(root))
    existing = [n for n in tree.listdir(names.REGISTRY_DIR) if tree.exists(names.model_file(n))]
    return tuple(f"{model!r} is a new model, one edit away from the existing model {other!r}; if you "
                 f"meant that one, delete {names.model_dir(model)}/ and register again as {other}"
                 for other in near_duplicates(model, existing))


def _check_artifact(path: Path) -> Path:
    inputs.kind(path, "--artifact")  # a file or directory; a link only within its own directory
    names.check_file_name(path.name)
    return path


def _read_card(card: Path | None) -> bytes | None:
    """The card's text: UTF-8 Markdown under the size cap, read once (what is checked is what is stored)."""
    if card is None:
        return None
    names.check_file_name(card.name, what="card")
    data = inputs.read_user_file(card, "--card", max_bytes=CARD_MAX_BYTES)
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"{card} is not UTF-8 text (byte {exc.start})", field="--card",
                         fix="a card is Markdown: save it as UTF-8") from None
    return data


def _new_model(reg: Registration) -> dict[str, Any]:
    doc: dict[str, Any] = {"schema_version": models.SCHEMA_VERSION, "name": reg.model,
                           "description": reg.model_description, "owners": list(reg.owners)}
    if reg.policy:
        doc["policy"] = reg.policy
    doc.update(aliases={}, archived=[], rejected=[])
    models.validate(models.ModelManifest, doc, names.model_file(reg.model))
    return doc


def _check_unchanged_model(root: Path, reg: Registration) -> None:
    if not reg.owners and not reg.policy and not reg.model_description:
        return
    source = names.model_file(reg.model)
    model = documents.model_file(WorkTree(str(root)), reg.model)
    if model is None:
        return
    if reg.model_description and reg.model_description != (model.data.get("description") or ""):
        raise ConflictError(f"--model-description differs from {source}",
                            fix="it applies to a new model only; change a model's description with "
                            f"`modelreg describe {reg.model} TEXT` (a pull request of its own)")
    if (reg.owners and list(reg.owners) != model.owners) or (reg.policy and reg.policy != model.policy):
        raise ConflictError(f"--owner/--policy differ from {source}",
                            fix="they apply to a new model only; change owners or policy "
                            f"by editing {source} in a pull request")


def _check_tree(root: Path, model: str) -> None:
    """No version is added to a tree the gate would refuse (``formats/layout.py``): the top of
    ``registry/`` and the model's directory hold only what the format allows. Raises InputError."""
    tree = WorkTree(str(root))
    layout.check(layout.registry_problems(tree.entries(names.REGISTRY_DIR, 1)))

    def manifest(number: int) -> dict[str, Any] | None:
        try:
            return documents.mapping(tree, names.version_file(model, number))
        except InputError:
            return None  # its own error is the schema gate's to report; the tree is checked here
    layout.check(layout.model_problems(model, layout.ModelTree(tree.entries(names.model_dir(model), 2)),
                                       work_tree=True, manifest=manifest))


def _next_version(root: Path, model: str) -> int:
    """One past the highest version (each v<N> holds its version.yaml: ``_check_tree``)."""
    tree = WorkTree(str(root))
    return max((n for n in map(names.parse_version_dir, tree.listdir(names.model_dir(model))) if n),
               default=0) + 1


def _guess_format(path: Path) -> str | None:
    if path.is_dir():
        return next((fmt for marker, fmt in DIR_MARKERS.items() if (path / marker).exists()), None)
    return FORMATS.get(path.suffix.lower())


def _lineage(reg: Registration) -> dict[str, Any]:
    out: dict[str, Any] = {}
    code = dict(reg.code) if reg.code is not None else lineage.code(reg.code_repo or Path.cwd())
    if code:
        out["code"] = code
    if reg.datasets:
        out["data"] = reg.datasets
    run = {k: v for k, v in (("id", reg.run_id), ("url", reg.run_url)) if v}
    if run:
        out["run"] = run
    return out


def _manifest(reg: Registration, number: int, created_by: str, artifact: dict[str, Any],
              card: str | None, provenance: dict[str, Any], signature: str | None = None) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "schema_version": models.SCHEMA_VERSION,
        "model": reg.model,
        "version": number,
        "created_at": (reg.created_at or datetime.now(timezone.utc)).astimezone(timezone.utc)
        .strftime("%Y-%m-%dT%H:%M:%SZ"),
        "created_by": created_by,
        "description": reg.description,
        "artifact": artifact,
    }
    if reg.framework:
        doc["framework"] = reg.framework
    doc.update(metrics=reg.metrics, slices=reg.slices, params=reg.params, lineage=provenance,
               tags=reg.tags)
    if card:
        doc["card"] = card
    if signature:
        doc["signature"] = signature
    return doc


def _write_version(root: Path, model: str, number: int, manifest: dict[str, Any],
                   pointer: str, artifact_name: str, card: tuple[str, bytes] | None,
                   bundle: tuple[str, str] | None = None) -> list[str]:
    final = root / names.version_dir(model, number)
    final.parent.mkdir(parents=True, exist_ok=True)
    # named as layout.SCRATCH says, so that a read meanwhile sees a registration under way
    tmp = Path(tempfile.mkdtemp(dir=final.parent, prefix=f".v{number}.", suffix=".tmp"))
    try:
        (tmp / names.VERSION_FILE).write_text(yamlio.dumps(manifest, VERSION_HEADER), "utf-8")
        (tmp / f"{artifact_name}.dvc").write_text(pointer, "utf-8")
        # What `dvc checkout` would write: the artifact itself never enters git.
        (tmp / ".gitignore").write_text(f"/{artifact_name}\n", "utf-8")
        written = [names.VERSION_FILE, f"{artifact_name}.dvc", ".gitignore"]
        if card is not None:
            (tmp / card[0]).write_bytes(card[1])
            written.append(card[0])
        if bundle is not None:
            (tmp / bundle[0]).write_text(bundle[1], "utf-8")
            written.append(bundle[0])
        os.chmod(tmp, 0o755)
        try:
            os.rename(tmp, final)
        except OSError:
            raise ConflictError(f"{names.version_dir(model, number)} appeared while registering",
                                fix="another registration took the number; run the command again") from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return [f"{names.version_dir(model, number)}/{name}" for name in written]
