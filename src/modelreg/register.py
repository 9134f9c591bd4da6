"""Registering a model version: validate, hash into the DVC cache, push, then write.

The order is what makes a failure harmless: every input is validated before a
byte is hashed, and the artifact is in the remote before anything appears
under ``registry/``. The version directory is built beside its final place
and renamed into it, so a crash or a dead remote leaves no half version.
"""

from __future__ import annotations

import getpass
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from modelreg import dvc, git, lineage, names, schema, yamlio
from modelreg.errors import ConflictError, InputError
from modelreg.hashing import Progress, no_progress
from modelreg.snapshot import WorkTree

VERSION_HEADER = "# yaml-language-server: $schema=../../../schemas/version.schema.json"
MODEL_HEADER = "# yaml-language-server: $schema=../../schemas/model.schema.json"

#: artifact format guessed from a file suffix, or from a file a directory holds
FORMATS = {
    ".pkl": "pickle", ".pickle": "pickle", ".joblib": "joblib", ".onnx": "onnx",
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
    owners: list[str] = field(default_factory=list)
    policy: str | None = None
    created_by: str | None = None


@dataclass(frozen=True)
class Registered:
    model: str
    version: int
    directory: str
    files: tuple[str, ...]
    manifest: dict[str, Any]
    commit: str | None = None
    branch: str | None = None
    created_model: bool = False


def register(root: Path, reg: Registration, *, branch: str | None = None, commit: bool = False,
             progress: Progress = no_progress) -> Registered:
    names.check_model_name(reg.model)
    artifact = _check_artifact(reg.artifact)
    card = _check_card(reg.card)
    if card == artifact.name:
        raise InputError(f"the card and the artifact are both named {card!r}", field="--card",
                         fix="rename the card, e.g. to card.md")
    model_path = root / names.model_file(reg.model)
    model_doc = None if model_path.exists() else _new_model(reg)
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
    # Validate every input before hashing a byte: a bad metric must not cost a 200 MB push.
    placeholder = {"path": artifact.name, "md5": "0" * 32, "sha256": "0" * 64, "size": 0}
    draft = _manifest(reg, number, created_by, placeholder, card, provenance)
    schema.validate(schema.VersionManifest, draft, "the new version.yaml")

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
    manifest = _manifest(reg, number, created_by, art, card, provenance)
    schema.validate(schema.VersionManifest, manifest, "the new version.yaml")
    dvc.push(root, staged.objects)
    if branch:  # only now: a failed push leaves the user where they were
        git.switch_new_branch(root, branch)

    files = _write_version(root, reg.model, number, manifest, staged.pointer.to_yaml(),
                           artifact.name, reg.card)
    if model_doc is not None:
        write_atomic(model_path, yamlio.dumps(model_doc, MODEL_HEADER))
        files.append(names.model_file(reg.model))
    commit_id = None
    if branch or commit:
        git.add(root, files)
        commit_id = git.commit(root, f"Register {reg.model} v{number}", files)
    return Registered(model=reg.model, version=number, directory=names.version_dir(reg.model, number),
                      files=tuple(files), manifest=manifest, commit=commit_id, branch=branch,
                      created_model=model_doc is not None)


def _check_artifact(path: Path) -> Path:
    if path.is_symlink() or not (path.is_file() or path.is_dir()):
        raise InputError(f"{path} is not a file or directory", field="--artifact",
                         fix="point --artifact at the trained model file or directory")
    names.check_file_name(path.name)
    return path


def _check_card(card: Path | None) -> str | None:
    if card is None:
        return None
    if not card.is_file():
        raise InputError(f"{card} is not a file", field="--card", fix="point --card at a Markdown file")
    return names.check_file_name(card.name, what="card")


def _new_model(reg: Registration) -> dict[str, Any]:
    doc: dict[str, Any] = {"schema_version": schema.SCHEMA_VERSION, "name": reg.model,
                           "description": "", "owners": list(reg.owners)}
    if reg.policy:
        doc["policy"] = reg.policy
    doc.update(aliases={}, archived=[], rejected=[])
    schema.validate(schema.ModelManifest, doc, names.model_file(reg.model))
    return doc


def _check_unchanged_model(root: Path, reg: Registration) -> None:
    if not reg.owners and not reg.policy:
        return
    source = names.model_file(reg.model)
    text = (root / source).read_bytes()
    model = schema.validate(schema.ModelManifest, yamlio.loads(text, source), source, text)
    if (reg.owners and list(reg.owners) != model.owners) or (reg.policy and reg.policy != model.policy):
        raise ConflictError(f"--owner/--policy differ from {source}",
                            fix="they apply to a new model only; change owners or policy "
                            f"by editing {source} in a pull request")


def _next_version(root: Path, model: str) -> int:
    tree = WorkTree(str(root))
    dirs = {n for n in map(names.parse_version_dir, tree.listdir(names.model_dir(model))) if n}
    number = max((n for n in dirs if tree.exists(names.version_file(model, n))), default=0) + 1
    if number in dirs:
        raise ConflictError(f"{names.version_dir(model, number)} exists but holds no version.yaml",
                            fix="it is left over (a download into it, an interrupted registration); "
                            "remove it and run again")
    return number


def _guess_format(path: Path) -> str | None:
    if path.is_dir():
        return next((fmt for marker, fmt in DIR_MARKERS.items() if (path / marker).exists()), None)
    return FORMATS.get(path.suffix.lower())


def _lineage(reg: Registration) -> dict[str, Any]:
    out: dict[str, Any] = {}
    code = lineage.code(reg.code_repo or Path.cwd())
    if code:
        out["code"] = code
    if reg.datasets:
        out["data"] = reg.datasets
    run = {k: v for k, v in (("id", reg.run_id), ("url", reg.run_url)) if v}
    if run:
        out["run"] = run
    return out


def _manifest(reg: Registration, number: int, created_by: str, artifact: dict[str, Any],
              card: str | None, provenance: dict[str, Any]) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "schema_version": schema.SCHEMA_VERSION,
        "model": reg.model,
        "version": number,
        "created_at": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
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
    return doc


def _write_version(root: Path, model: str, number: int, manifest: dict[str, Any],
                   pointer: str, artifact_name: str, card: Path | None) -> list[str]:
    final = root / names.version_dir(model, number)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=final.parent, prefix=f".v{number}.", suffix=".tmp"))
    try:
        (tmp / names.VERSION_FILE).write_text(yamlio.dumps(manifest, VERSION_HEADER), "utf-8")
        (tmp / f"{artifact_name}.dvc").write_text(pointer, "utf-8")
        # What `dvc checkout` would write: the artifact itself never enters git.
        (tmp / ".gitignore").write_text(f"/{artifact_name}\n", "utf-8")
        written = [names.VERSION_FILE, f"{artifact_name}.dvc", ".gitignore"]
        if card is not None:
            shutil.copyfile(card, tmp / card.name)
            written.append(card.name)
        os.chmod(tmp, 0o755)
        try:
            os.rename(tmp, final)
        except OSError:
            raise ConflictError(f"{names.version_dir(model, number)} appeared while registering",
                                fix="another registration took the number; run the command again") from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return [f"{names.version_dir(model, number)}/{name}" for name in written]


def write_atomic(path: Path, text: str) -> None:
    """Write a whole file or nothing: a temporary file beside it, renamed over it."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)
