"""``type: directory``: a model repository on disk, in the layout model servers read.

::

    ROOT/MODEL/VERSION/<artifact>          the artifact, as registered (a file or a directory)
    ROOT/MODEL/VERSION/deployment.json     model, version, sha256, commit, size and mtime of each file
    ROOT/MODEL/ALIAS -> VERSION            one symbolic link per alias: what serves
    ROOT/MODEL/.modelreg-lock              held while a deployment changes the model's directory

Numbered version directories are what Triton, TF Serving and KServe's model
repositories expect. ``ROOT/MODEL/.modelreg-written.json`` lists the files
modelreg installed (:mod:`modelreg.edges.outdir`): pruning deletes those and
nothing else, a version directory holding a file someone else put there is
never replaced, and no link inside ``ROOT`` is written through (``ROOT`` itself
may be a link). A version is copied into a scratch directory beside its
final place, verified by sha256, and renamed into place; the alias link is then
replaced with one ``rename``, so a server following the link sees the old
version or the new one, never half of either, whatever the size. The last
``keep`` versions stay, and every version an alias points at, so a rollback
is a link switch away.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from modelreg.deploy.targets import Activation, Serving, TargetOutcome
from modelreg.edges import atomic
from modelreg.edges.hashing import digest, listing_sha256, walk_files
from modelreg.edges.outdir import OutDir
from modelreg.errors import ConflictError

RECORD = "deployment.json"


class Directory:
    def __init__(self, root: Path, keep: int) -> None:
        self.root = root
        self.keep = keep
        self.name = f"directory {root}"

    def activate(self, act: Activation) -> TargetOutcome:
        model_dir = self.root / act.model
        final = model_dir / str(act.version)
        try:
            with _model_lock(model_dir):  # two environments may share a root: one writer per model
                if act.reinstall or not self._holds(final, act.sha256):
                    self._install(act, final)
                _point(model_dir / act.alias, str(act.version))
                removed = self._prune(model_dir)
        except OSError as exc:
            return TargetOutcome(False, self.name, f"{exc.strerror or exc}: {exc.filename or final}")
        except ConflictError as exc:  # a link planted in the root, a user's file in the way
            return TargetOutcome(False, self.name, str(exc))
        return TargetOutcome(True, self.name, f"{act.alias} -> {final}",
                             {"path": str(final), "pointer": str(model_dir / act.alias), "pruned": removed})

    def withdraw(self, model: str, alias: str) -> TargetOutcome:
        """Stop serving ``alias`` (a first deployment that failed elsewhere): remove its link."""
        link = self.root / model / alias
        try:
            with _model_lock(link.parent):
                link.unlink(missing_ok=True)
        except OSError as exc:
            return TargetOutcome(False, self.name, f"could not remove {link}: {exc.strerror or exc}")
        return TargetOutcome(True, self.name, f"removed {link}: nothing serves {alias} here")

    def serving(self, model: str, alias: str, *, verify: bool = False) -> Serving | None:
        link = self.root / model / alias
        try:
            version = int(os.readlink(link))
        except (OSError, ValueError):
            if not link.is_symlink() and not link.exists():
                return Serving(None, None, drift=f"nothing serves {alias} here ({link} does not exist)")
            return Serving(None, None, drift=f"{link} is not a link to a version")
        record = _record(link.parent / str(version))
        if record is None:
            return Serving(version, None, drift=f"{link.parent / str(version)} has no {RECORD}")
        sha = record.get("sha256")
        changed = _changed_files(link.parent / str(version), record)
        if verify or changed:
            actual = _sha256(link.parent / str(version) / str(record.get("artifact", "")))
            if actual != sha:
                what = ", ".join(changed) if changed else "the bytes"
                return Serving(version, actual, verified=True,
                               drift=f"{what} changed on the target: sha256 {actual}, deployed {sha}")
            return Serving(version, sha, verified=True)
        return Serving(version, sha if isinstance(sha, str) else None)

    def _holds(self, final: Path, sha256: str) -> bool:
        """The version is there already, as deployed and unchanged since (a redeploy, another alias)."""
        record = _record(final)
        return record is not None and record.get("sha256") == sha256 and not _changed_files(final, record)

    def _install(self, act: Activation, final: Path) -> None:
        out = OutDir(final.parent)
        version = final.name
        in_the_way = out.foreign(version, _adopted(final.parent, out.written()))
        if in_the_way:
            raise ConflictError(f"{final} holds files modelreg did not write ({', '.join(in_the_way[:3])}); "
                                "it is not replaced", fix=f"move them out of {final.parent}")
        with atomic.scratch_dir(act.registry, final) as stage:
            artifact = act.fetch_to(stage / act.artifact_name)
            files = {rel: _stat(path) for path, rel in _files(artifact)}
            (stage / RECORD).write_text(json.dumps({
                "model": act.model, "version": act.version, "sha256": act.sha256, "md5": act.md5,
                "artifact": act.artifact_name, "commit": act.commit, "uri": act.uri, "files": files,
            }, indent=2) + "\n", "utf-8")
            os.chmod(stage, 0o755)
            if os.path.lexists(final):  # a damaged or different copy of ours: set it aside, then remove it
                aside = final.with_name(f"{atomic.PREFIX}{final.name}.old")
                shutil.rmtree(aside, ignore_errors=True)
                os.replace(final, aside)
                _delete(aside)
            os.replace(stage, final)
        listed = {rel for rel in out.written() if not rel.startswith(f"{version}/")}
        out.record(listed | {f"{version}/{RECORD}"}
                   | {"/".join(p for p in (version, act.artifact_name, rel) if p) for rel in files})

    def _prune(self, model_dir: Path) -> list[int]:
        """Versions beyond the newest ``keep`` that no alias serves: their files modelreg wrote are
        deleted (the manifest lists them), nothing else."""
        out = OutDir(model_dir)
        listed = _adopted(model_dir, out.written())
        serving = set()
        for entry in model_dir.iterdir():
            if entry.is_symlink():
                with contextlib.suppress(ValueError, OSError):
                    serving.add(int(os.readlink(entry)))
        versions = {int(rel.split("/", 1)[0]) for rel in listed if rel.split("/", 1)[0].isdigit()}
        kept = set(sorted(versions)[-self.keep:]) | serving
        removed = sorted(v for v in versions if v not in kept)
        gone = {rel for rel in listed if rel.split("/", 1)[0] in {str(v) for v in removed}}
        for rel in sorted(gone, reverse=True):
            out.remove(rel)
        out.record(listed - gone)
        return removed


def make(config: Any, root: Path) -> Directory:
    path = Path(os.path.expanduser(config.path))
    return Directory(path if path.is_absolute() else root / path, config.keep)


def _point(link: Path, version: str) -> None:
    """Replace the alias link with one rename: readers see the old target or the new one."""
    tmp = link.with_name(f"{atomic.PREFIX}{link.name}.{os.getpid()}.link")
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()
    os.symlink(version, tmp)
    os.replace(tmp, link)


def _record(version_dir: Path) -> dict[str, Any] | None:
    try:
        data = json.loads((version_dir / RECORD).read_text("utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _files(artifact: Path) -> list[tuple[Path, str]]:
    return list(walk_files(artifact)) if artifact.is_dir() else [(artifact, "")]


def _stat(path: Path) -> list[int]:
    """Size, mtime and ctime: ``touch -r`` can put an mtime back, nothing can set a ctime."""
    info = path.stat()
    return [info.st_size, info.st_mtime_ns, info.st_ctime_ns]


@contextlib.contextmanager
def _model_lock(model_dir: Path) -> Iterator[None]:
    import fcntl

    model_dir.parent.mkdir(parents=True, exist_ok=True)
    lock = OutDir(model_dir.parent).path(f"{model_dir.name}/{atomic.PREFIX}lock")  # no link on the way
    fd = os.open(lock, os.O_WRONLY | os.O_CREAT | os.O_APPEND | getattr(os, "O_NOFOLLOW", 0), 0o644)
    with os.fdopen(fd, "a", encoding="utf-8") as file:
        fcntl.flock(file.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(file.fileno(), fcntl.LOCK_UN)


def _adopted(model_dir: Path, listed: set[str]) -> set[str]:
    """The manifest's files, and those of versions an earlier modelreg installed before it kept one
    (their deployment.json lists them)."""
    have = {rel.split("/", 1)[0] for rel in listed}
    adopted = set(listed)
    with contextlib.suppress(OSError):
        for entry in model_dir.iterdir():
            if not entry.name.isdigit() or entry.name in have or entry.is_symlink() or not entry.is_dir():
                continue
            record = _record(entry)
            files = record.get("files") if record else None
            artifact = str(record.get("artifact", "")) if record else ""
            if not isinstance(files, dict) or not artifact or "/" in artifact:
                continue
            adopted.add(f"{entry.name}/{RECORD}")
            adopted |= {"/".join(p for p in (entry.name, artifact, str(rel)) if p) for rel in files
                        if ".." not in str(rel).split("/")}
    return adopted


def _delete(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def _changed_files(version_dir: Path, record: dict[str, Any]) -> list[str]:
    """Files whose size or mtime differ from the record (cheap: no hashing), or that are gone."""
    artifact = version_dir / str(record.get("artifact", ""))
    recorded = record.get("files")
    if not isinstance(recorded, dict) or not artifact.exists():
        return [str(artifact)]
    changed = []
    for rel, expected in recorded.items():
        path = artifact / rel if rel else artifact
        try:
            if _stat(path) != expected:
                changed.append(str(path))
        except OSError:
            changed.append(str(path))
    return changed


def _sha256(artifact: Path) -> str | None:
    try:
        if artifact.is_dir():
            return listing_sha256([digest(p, rel) for p, rel in walk_files(artifact)])
        return digest(artifact, artifact.name).sha256
    except OSError:
        return None

