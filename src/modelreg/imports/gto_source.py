"""Reading a GTO repository: the one module of the import that imports ``gto``.

GTO keeps a registry in git tags: ``NAME@v1.2.3`` (annotated) registers a version
at a commit, ``NAME@v1.2.3!`` deregisters it, ``NAME#stage#N`` assigns a stage. GTO's
own reader (``GitRegistry.get_state``) turns the tags into versions and stages; the
artifact's path and description are read from ``dvc.yaml``'s ``artifacts:`` section
(or the legacy ``artifacts.yaml``) at each version's commit, and its bytes from git
at that commit, or through DVC's API at that revision when DVC tracks them.

The mapping (``docs/migrate-from-gto.md``): versions in semver order become 1, 2, 3...
with the semver in the tag ``gto.version``; each stage's current version becomes the
alias of the stage's name; a deregistered version is archived.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from modelreg.edges import dvc, git
from modelreg.edges.snapshot import Revision
from modelreg.errors import InputError, ModelregError, NotFoundError
from modelreg.formats import layout, names, urls, yamlio
from modelreg.formats.pointers import parse_pointer
from modelreg.imports.source import SourceModel, SourceVersion, alias, model_name, printable

#: where GTO 1.x (dvc.yaml) and GTO 0.x (artifacts.yaml) declare artifacts, in the order read
DECLARATIONS = ("dvc.yaml", "artifacts.yaml")


def read(path: str | os.PathLike[str], only: list[str] | None = None) -> list[SourceModel]:
    """The artifacts GTO registers at ``path`` (all, or those named in ``only``)."""
    top = git.toplevel(Path(path))
    if top is None:
        raise InputError(f"{path} is not in a git repository", field="PATH",
                         fix="give the path of a GTO repository (its version tags live in git)")
    state = _state(top)
    artifacts = dict(state.artifacts)
    if only:
        missing = [n for n in only if n not in artifacts]
        if missing:
            raise NotFoundError(f"GTO at {top} has no artifact {', '.join(map(repr, missing))}",
                                fix=f"it has {', '.join(sorted(artifacts)) or 'none'}; check --model")
        artifacts = {n: artifacts[n] for n in only}
    remote = git.remote_url(top)
    repo = urls.without_credentials(remote) if remote else None
    return [_model(top, repo, name, artifact) for name, artifact in sorted(artifacts.items())
            if _registered(artifact)]


def _state(top: str) -> Any:
    from gto.exceptions import GTOException
    from gto.registry import GitRegistry
    from scmrepo.git import Git

    try:
        with GitRegistry.from_scm(Git(top)) as registry:
            return registry.get_state()
    except GTOException as exc:
        raise InputError(f"GTO cannot read {top}: {exc}", fix="check the repository's GTO tags") from None


def _registered(artifact: Any) -> list[Any]:
    """The versions a tag registered, oldest semver first (GTO's own order)."""
    from gto.constants import VersionSort

    found = artifact.get_versions(active_only=False, sort=VersionSort.SemVer, ascending=True)
    return [v for v in found if v.is_registered]


def _model(top: str, repo: str | None, name: str, artifact: Any) -> SourceModel:
    notes: list[str] = []
    mapped = model_name(name)
    if mapped != name:
        notes.append(f"GTO artifact {name!r} is imported as {mapped!r} (its GTO name in the tag gto.name)")
    declared = {v.version: _declaration(top, name, v.commit_hexsha) for v in _registered(artifact)}
    versions = []
    for version in _registered(artifact):
        if isinstance(declared[version.version].get("path"), str):
            versions.append(version)
        else:  # a virtual artifact, or one declared nowhere at that commit: no bytes to import
            notes.append(f"version {version.version} left out: no path declared for {name!r} in "
                         f"{' or '.join(DECLARATIONS)} at {version.commit_hexsha[:12]}")
    read = [_version(top, repo, name, v, declared[v.version]) for v in versions]
    known = {v.version for v in versions}
    aliases: dict[str, str] = {}
    for stage, vstages in sorted(artifact.get_vstages(versions_per_stage=1).items()):
        mapped_stage = alias(stage)
        current = next((vs.version for vs in vstages if vs.version in known), None)
        if mapped_stage is None:
            notes.append(f"stage {stage!r} left out: not a modelreg alias name (docs/format.md)")
        elif current is not None:
            aliases[mapped_stage] = current
    newest = declared[versions[-1].version] if versions else {}
    description = printable(str(newest.get("desc") or newest.get("description") or ""))
    tags = {"gto.type": str(newest["type"])} if newest.get("type") else {}
    if newest.get("labels"):
        tags["gto.labels"] = ",".join(map(str, newest["labels"]))
    return SourceModel(name=mapped, source_name=name, description=description, tags=tags,
                       versions=tuple(read), aliases=aliases, notes=tuple(notes),
                       history=_history(artifact, known))


def _history(artifact: Any, known: set[str]) -> tuple[tuple[str, str | None, str], ...]:
    """The stage assignments and unassignments (``NAME#stage#N`` tags), oldest first (by time, then
    by GTO's own counter N), as alias moves."""
    moves = []
    for event in artifact.get_events():
        kind = type(event).__name__
        stage = alias(str(getattr(event, "stage", "") or ""))
        if kind not in ("Assignment", "Unassignment") or stage is None or event.version not in known:
            continue
        counter = str(getattr(event, "tag", "")).rsplit("#", 1)[-1]
        order = (event.created_at, int(counter) if counter.isdigit() else 0)
        key = str(event.version) if kind == "Assignment" else None
        moves.append((order, (stage, key, str(getattr(event, "tag", "") or f"{kind} {stage}"))))
    return tuple(move for _, move in sorted(moves, key=lambda m: m[0]))


def _version(top: str, repo: str | None, name: str, version: Any, declared: dict[str, Any]) -> SourceVersion:
    commit = str(version.commit_hexsha)
    declared_path = declared.get("path")
    path = declared_path.rstrip("/") if isinstance(declared_path, str) else None
    if path is not None and (not path or not names.inside(path)):
        path = None  # /etc/passwd, ../../etc: outside the repository, never read

    def fetch(dest: Path) -> Path:
        if path is None and isinstance(declared_path, str):
            raise InputError(f"GTO artifact {name!r} at {version.version} declares the path "
                             f"{declared_path!r} in {' or '.join(DECLARATIONS)} at {commit[:12]}, which is "
                             "not inside the repository", field="path",
                             fix="declare the artifact's path relative to the repository's top "
                                 "(e.g. models/model.pkl), or leave the artifact out with --model")
        if path is None:
            raise InputError(f"GTO artifact {name!r} at {version.version} declares no path in "
                             f"{' or '.join(DECLARATIONS)} at {commit[:12]}",
                             fix="a virtual artifact has no bytes to import: leave it out with --model")
        return _artifact(top, commit, path, dest)

    code: dict[str, Any] = {"commit": commit}
    if repo:
        code["repo"] = repo
    tags = {"gto.commit": commit}
    if declared.get("type"):
        tags["gto.type"] = str(declared["type"])
    return SourceVersion(
        key=str(version.version), created_at=version.created_at,
        size=_size(top, commit, path) if path else None,
        created_by=printable(str(version.author or "")) or None,
        description=printable(str(version.message or "")), tags=tags, code=code,
        archived=not version.is_active, fetch=fetch)


def _declaration(top: str, name: str, commit: str) -> dict[str, Any]:
    """The artifact's entry in dvc.yaml (``artifacts:``) or artifacts.yaml at ``commit``, or {}."""
    with Revision(top, commit, resolved=True) as tree:
        for file in DECLARATIONS:
            data = tree.read(file)
            if data is None:
                continue
            doc = yamlio.loads(data, f"{file} at {commit[:12]}")
            section = doc.get("artifacts") if file == "dvc.yaml" and isinstance(doc, dict) else doc
            entry = section.get(name) if isinstance(section, dict) else None
            if isinstance(entry, dict):
                return entry
    return {}


def _size(top: str, commit: str, path: str) -> int | None:
    """Bytes the artifact holds at ``commit``, for the plan: git's, or the size its DVC pointer
    records (None: unknown until downloaded)."""
    with Revision(top, commit, resolved=True) as tree:
        todo, total = [path], 0
        while todo:
            current = todo.pop()
            kind = tree.entries(current, 1)
            if kind.get("") == layout.FILE:
                total += len(tree.read(current) or b"")
            elif kind.get("") == layout.DIRECTORY:
                todo.extend(f"{current}/{name}" for name in kind if name)
            elif current == path and (pointer := tree.read(f"{path}.dvc")) is not None:
                try:
                    return parse_pointer(pointer, f"{path}.dvc").size
                except InputError:
                    return None
            else:
                return None
        return total


def _artifact(top: str, commit: str, path: str, dest: Path) -> Path:
    """The artifact's bytes at ``commit`` in ``dest``: from git when git holds them, else through DVC."""
    target = dest / Path(path).name
    with Revision(top, commit, resolved=True) as tree:
        kind = tree.entries(path, 1).get("")
        if kind == layout.FILE and not path.endswith(".dvc"):
            _copy_git(tree, path, target)
            return target
        if kind == layout.DIRECTORY:
            _copy_git(tree, path, target)
            return target
    try:
        return dvc.export(Path(top), commit, path, target)
    except ModelregError:
        raise
    except Exception as exc:  # DVC's own failures, in whatever type it raises them
        raise InputError(f"{top}: cannot read {path} at {commit[:12]}: {exc}",
                         fix="check the artifact's path, and that its bytes are in git or DVC") from None


def _copy_git(tree: Revision, path: str, target: Path) -> None:
    """A file or a directory as git holds it at the revision; a link or a submodule is refused
    (its target could be anywhere)."""
    entries = tree.entries(path, 1)
    kind = entries.get("")
    if kind == layout.FILE:
        data = tree.read(path)
        if data is None:
            raise NotFoundError(f"{path} vanished from {tree.commit}", fix="check the repository")
        target.write_bytes(data)
        return
    if kind != layout.DIRECTORY:
        raise InputError(f"{path} at {str(tree.commit)[:12]} is a {kind}, not a file or directory",
                         fix="import an artifact whose bytes are files")
    target.mkdir()
    for name, child in entries.items():
        if name:
            if child not in (layout.FILE, layout.DIRECTORY):
                raise InputError(f"{path}/{name} at {str(tree.commit)[:12]} is a {child}",
                                 fix="import an artifact whose bytes are files")
            _copy_git(tree, f"{path}/{name}", target / name)
