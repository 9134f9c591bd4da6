"""``type: directory``: a model repository on disk, in the layout model servers read.

::

    ROOT/MODEL/VERSION/<artifact>          the artifact, as registered (a file or a directory)
    ROOT/MODEL/VERSION/deployment.json     model, version, sha256, commit, size and mtime of each file
    ROOT/MODEL/ALIAS -> VERSION            one symbolic link per alias: what serves
    ROOT/MODEL/.modelreg-ALIAS.json        the alias's last deployment: version, commit, environment, time
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

What the target records (``deployment.json``, the alias's record) can make a check
faster and tells which commit deployed what, but it is never the proof of what
serves: anyone who can write the bytes can write those files too. ``serving``
with ``verify`` hashes the bytes and returns that hash, which the caller compares
with the manifest's; without it, only files whose size, mtime or ctime changed are
hashed, and the answer says so in words.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from modelreg.deploy.targets import Activation, Serving, TargetOutcome
from modelreg.edges import atomic
from modelreg.edges.hashing import artifact_sha256, walk_files
from modelreg.edges.outdir import OutDir
from modelreg.errors import ConflictError, ModelregError

RECORD = "deployment.json"
#: files hashed at once when a version is verified (hashlib releases the GIL)
HASH_THREADS = 4
#: what the fast path says it skipped
NOT_REHASHED = "not re-hashed: size and mtime unchanged since deployment"


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
                kept = not act.reinstall and self._holds(final, act.sha256)
                if not kept:
                    self._install(act, final)  # verified by sha256 as the bytes are written
                _point(model_dir / act.alias, str(act.version))
                _write_alias_record(model_dir, act)
                removed = self._prune(model_dir)
        except OSError as exc:
            return TargetOutcome(False, self.name, f"{exc.strerror or exc}: {exc.filename or final}")
        except ConflictError as exc:  # a link planted in the root, a user's file in the way
            return TargetOutcome(False, self.name, str(exc))
        how = "kept version re-hashed: sha256 matches" if kept else "sha256 verified as written"
        return TargetOutcome(True, self.name, f"{act.alias} -> {final} ({how})",
                             {"path": str(final), "pointer": str(model_dir / act.alias), "pruned": removed},
                             verified=True)

    def withdraw(self, model: str, alias: str) -> TargetOutcome:
        """Stop serving ``alias`` (a first deployment that failed elsewhere): remove its link."""
        link = self.root / model / alias
        try:
            with _model_lock(link.parent):
                link.unlink(missing_ok=True)
                _alias_record_path(link.parent, alias).unlink(missing_ok=True)
        except OSError as exc:
            return TargetOutcome(False, self.name, f"could not remove {link}: {exc.strerror or exc}")
        return TargetOutcome(True, self.name, f"removed {link}: nothing serves {alias} here")

    def serving(self, model: str, alias: str, *, verify: bool = False) -> Serving | None:
        """What the alias's link points at, with the sha256 of those bytes hashed now (``verify``);
        without it, the files whose size, mtime or ctime changed since deployment are hashed and
        the others are not (``unverified`` says so)."""
        link = self.root / model / alias
        try:
            version = int(os.readlink(link))
        except (OSError, ValueError):
            if not link.is_symlink() and not link.exists():
                return Serving(None, None, drift=f"nothing serves {alias} here ({link} does not exist)")
            return Serving(None, None, drift=f"{link} is not a link to a version")
        commit = _alias_commit(link.parent, alias, version)
        version_dir = link.parent / str(version)
        if version_dir.is_symlink():  # what it points at today is not what this target wrote
            return Serving(version, None, verified=True, commit=commit,
                           drift=f"{version_dir} is a symbolic link, not a version this target wrote")
        record = _record(version_dir)
        if record is None:
            return Serving(version, None, drift=f"{version_dir} has no {RECORD}", commit=commit)
        artifact = version_dir / str(record.get("artifact", ""))
        stray = _stray(version_dir, record)
        if stray:
            return Serving(version, None, verified=True, commit=commit,
                           drift=f"{version_dir} holds {stray}, which this target did not deploy there")
        changed = _changed_files(version_dir, record)
        if verify or changed:
            actual = _sha256(artifact)
            if actual is None:
                return Serving(version, None, verified=True, commit=commit,
                               drift=f"{artifact} cannot be read as the artifact deployed (missing, a link, "
                                     "or not a regular file)")
            # the caller compares the hash with the manifest's; the record's is only a hint of what
            # changed (a rewritten record would agree with any bytes)
            drift = None if actual == record.get("sha256") else \
                f"{', '.join(changed) if changed else 'the bytes'} changed on the target: sha256 {actual}"
            return Serving(version, actual, verified=True, drift=drift, commit=commit)
        sha = record.get("sha256")
        return Serving(version, sha if isinstance(sha, str) else None, commit=commit, unverified=NOT_REHASHED)

    def artifact_path(self, model: str, version: int) -> Path | None:
        """The artifact this target holds for ``model``'s ``version`` (its signature is checked
        on these bytes), None when it holds no such version."""
        version_dir = self.root / model / str(version)
        record = None if version_dir.is_symlink() else _record(version_dir)
        name = record.get("artifact") if record else None
        return version_dir / name if isinstance(name, str) and name and "/" not in name else None

    def recorded_commit(self, model: str, alias: str) -> str | None:
        """The commit the alias's record names as having deployed what its link points at (None:
        no such record). A hint for refusing to move a newer deployment back, never a proof."""
        link = self.root / model / alias
        try:
            version = int(os.readlink(link))
        except (OSError, ValueError):
            return None
        return _alias_commit(link.parent, alias, version)

    def deployments(self, model: str) -> list[dict[str, Any]]:
        """The deployments this target shows for ``model``: each alias's record that its link agrees
        with (model, alias, version, commit, environment, time)."""
        model_dir = self.root / model
        found = []
        for path in sorted(model_dir.glob(f"{atomic.PREFIX}*.json")) if model_dir.is_dir() else []:
            alias = path.name[len(atomic.PREFIX):-len(".json")]
            record = _alias_record(model_dir, alias)
            if record is None:
                continue
            try:
                linked = int(os.readlink(model_dir / alias))
            except (OSError, ValueError):
                continue
            if record.get("version") == linked and record.get("model") == model:
                found.append(record)
        return found

    def _holds(self, final: Path, sha256: str) -> bool:
        """The version is there already with the manifest's bytes, hashed now (a rollback to a kept
        version, another alias): its record alone is no proof."""
        record = None if final.is_symlink() else _record(final)
        if record is None or record.get("sha256") != sha256 or _stray(final, record):
            return False
        return _sha256(final / str(record.get("artifact", ""))) == sha256

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


def _stray(version_dir: Path, record: dict[str, Any]) -> str | None:
    """What a version's directory holds besides its record and the one artifact the record names
    (a server reads the whole directory; a record pointing at a copy of the right bytes beside
    other ones proves nothing), in words; None when nothing."""
    name = record.get("artifact")
    try:
        entries = sorted(e for e in os.listdir(version_dir)
                         if e != RECORD and not e.startswith(atomic.PREFIX))
    except OSError:
        return "nothing readable"
    if isinstance(name, str) and not name.startswith(atomic.PREFIX) and entries == [name]:
        return None
    others = [e for e in entries if e != name]
    return ", ".join(others) if others else f"no {name}"


def _alias_record_path(model_dir: Path, alias: str) -> Path:
    return model_dir / f"{atomic.PREFIX}{alias}.json"


def _write_alias_record(model_dir: Path, act: Activation) -> None:
    """What the alias now serves and which commit deployed it: an older run reads the commit and
    never moves the alias back (``run.py``), and ``status`` finds deployments the ledger lost."""
    atomic.write_atomic(_alias_record_path(model_dir, act.alias), json.dumps({
        "model": act.model, "alias": act.alias, "version": act.version, "commit": act.commit,
        "environment": act.environment, "sha256": act.sha256,
        "time": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }, indent=2) + "\n")


def _alias_record(model_dir: Path, alias: str) -> dict[str, Any] | None:
    try:
        with open(_alias_record_path(model_dir, alias), "rb") as file:
            data = json.loads(file.read(64 * 1024))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _alias_commit(model_dir: Path, alias: str, version: int) -> str | None:
    """The commit the alias's record names, when the record is about the version the link shows."""
    record = _alias_record(model_dir, alias)
    if record is None or record.get("version") != version:
        return None
    commit = record.get("commit")
    return commit if isinstance(commit, str) and len(commit) == 40 and \
        all(c in "0123456789abcdef" for c in commit) else None


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
    """The artifact's sha256, hashed now; None when it is missing, a link, or not regular files."""
    try:
        return artifact_sha256(artifact, threads=HASH_THREADS)
    except (OSError, ModelregError):
        return None
