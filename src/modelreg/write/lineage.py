"""Where a model came from: the code commit it was trained at, and its data.

Captured automatically at registration so that "what code and data made
this?" is answered from the manifest, not from memory.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from modelreg.edges import git
from modelreg.edges.hashing import FileDigest, digest, listing_sha256, walk_files
from modelreg.errors import InputError
from modelreg.formats import urls
from modelreg.formats.pointers import parse_pointer
from modelreg.write import inputs


def code(path: Path) -> dict[str, Any] | None:
    """The git commit, remote, branch and dirtiness of the repository containing ``path``."""
    top = git.toplevel(path)
    if top is None:
        return None
    out: dict[str, Any] = {}
    url = git.remote_url(top)
    if url:
        out["repo"] = urls.without_credentials(url)
    commit = git.head_commit(top)
    if commit:
        out["commit"] = commit
    branch = git.current_branch(top)
    if branch:
        out["branch"] = branch
    out["dirty"] = git.is_dirty(top)
    return out


def dataset(spec: str) -> dict[str, Any]:
    """``[NAME=]PATH`` → a dataset record; a DVC-tracked path contributes its DVC md5."""
    name, sep, raw = spec.partition("=")
    path = Path(raw if sep else spec)
    if not sep:
        name = path.name.removesuffix(".dvc")
    pointer_file = path if path.suffix == ".dvc" else path.with_name(path.name + ".dvc")
    record: dict[str, Any] = {"name": name, "path": str(path).removesuffix(".dvc")}
    if pointer_file.is_file():
        pointer = parse_pointer(inputs.read_user_file(pointer_file, "--dataset"), str(pointer_file))
        record.update(md5=pointer.md5, size=pointer.size)
        return record
    if not path.exists() and not path.is_symlink():
        raise InputError(f"{path} does not exist", field="--dataset",
                         fix="give a file, a directory, or a DVC-tracked path")
    if inputs.kind(path, "--dataset") == "file":
        file = digest(path, path.name)
        record.update(md5=file.md5, sha256=file.sha256, size=file.size)
        return record
    files: list[FileDigest] = [digest(p, rel) for p, rel in walk_files(path)]
    record.update(sha256=listing_sha256(files), size=sum(f.size for f in files))
    return record
