"""What a registry's tree may hold: the one rule, for the schema gate and for every read.

::

    registry/                .gitkeep, and one directory per model, named by the model-name rules
    registry/<model>/        model.yaml, and v<N>/ directories
    registry/<model>/v<N>/   version.yaml, the DVC pointer of the artifact it names (<artifact>.dvc),
                             the card and the signature bundle it names, and .gitignore (register
                             writes it, as DVC would)

Regular files (executable or not) and real directories only: a symbolic link, a git
submodule, a FIFO or a device is refused wherever it is, and so is an empty directory
(git cannot hold one; a work tree can). In a work tree, and only there, a version
directory may also hold its artifact, checked out beside its pointer (``dvc pull``,
``dvc checkout``, in any form DVC links it): ``.gitignore`` keeps it out of git; and a
model directory the scratch directory of a registration under way (:data:`SCRATCH`).

The rules are pure: a snapshot lists the entries (``Snapshot.entries``, with their kinds,
from git's modes for a revision or the index, from the file system for a work tree) and
these functions return the problems, each an InputError naming the path and the fix. The
schema gate reports them all; a read raises the first (:func:`check`), so every command
that meets such a tree fails with the same line.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from modelreg.errors import InputError
from modelreg.formats import names

#: the rules' version: a verdict kept by a reader (``Snapshot.found_whole``) names the rules it was
#: reached under, so a modelreg whose rules changed judges every tree again; bump with any change
RULES = 1

FILE = "file"
DIRECTORY = "directory"
LINK = "symbolic link"
SUBMODULE = "git submodule"
SPECIAL = "special file"

#: git's modes (as ``ls-tree``, ``ls-files`` and tree objects write them) → kind
_GIT_KINDS = {"100644": FILE, "100755": FILE, "120000": LINK, "160000": SUBMODULE,
              "040000": DIRECTORY, "40000": DIRECTORY}

GITKEEP = ".gitkeep"
GITIGNORE = ".gitignore"
POINTER_SUFFIX = ".dvc"

_ROOT_FIX = f"{names.REGISTRY_DIR}/ holds one directory per model (and {GITKEEP}) only: move or remove it"
_MODEL_FIX = "registry/<model>/ holds model.yaml and v<N>/ directories only"
_VERSION_FIX = ("registry/<model>/v<N>/ holds version.yaml, the .dvc pointer and the card version.yaml "
                "names (and the signature bundle it names), and .gitignore only: remove it (`git rm` it "
                "if it is committed)")

#: the directory ``register`` builds a version in, beside its final place, and renames into it
SCRATCH = re.compile(r"^\.v[1-9][0-9]{0,8}\.[A-Za-z0-9_]+\.tmp$")

#: a manifest of a version, asked for by number (None: none could be read)
Manifests = Callable[[int], Mapping[str, Any] | None]


def git_kind(mode: str) -> str:
    return _GIT_KINDS.get(mode, SPECIAL)


def check(problems: list[InputError]) -> None:
    """Raise the first problem (in path order): what a read does with them."""
    if problems:
        raise min(problems, key=lambda p: p.file or "")


def registry_problems(entries: Mapping[str, str]) -> list[InputError]:
    """The entries directly under ``registry/`` (``Snapshot.entries(REGISTRY_DIR, 1)``)."""
    own = entries.get("")
    if own not in (None, DIRECTORY):
        return [_wrong_kind(names.REGISTRY_DIR, own)]
    out = []
    for name, kind in sorted(entries.items()):
        if not name:
            continue
        path = f"{names.REGISTRY_DIR}/{name}"
        if kind in (LINK, SUBMODULE, SPECIAL):
            out.append(_wrong_kind(path, kind))
        elif name == GITKEEP and kind == FILE:
            continue
        elif kind != DIRECTORY:
            out.append(InputError("is not part of a registry's layout", file=path, fix=_ROOT_FIX))
        elif len(name) > names.MODEL_NAME_MAX or not names.MODEL_NAME.fullmatch(name):
            out.append(InputError(f"{name!r} is not a valid model name", file=path,
                                  fix="rename the directory to lower-case letters, digits, '-', '_' and "
                                  f"'.' (at most {names.MODEL_NAME_MAX}), or remove it"))
    return out


#: the entries of a version directory not listed yet (shared: an entry is replaced, never changed)
_UNLISTED: dict[str, str] = {}


class ModelTree:
    """A model directory's entries (``Snapshot.entries(model_dir, 2)``: "" is the directory itself,
    then paths relative to it, two levels deep), split once: the directory's own entries, and the
    entries of each version directory by number."""

    def __init__(self, entries: Mapping[str, str]) -> None:
        self.kind = entries.get("")
        top: dict[str, str] = {}
        below: dict[str, dict[str, str]] = {}
        for rel, kind in entries.items():
            head, slash, rest = rel.partition("/")
            if slash:
                below.setdefault(head, {})[rest] = kind
            elif rel:
                top[rel] = kind
        #: version number → its directory's entries (name → kind)
        self.versions: dict[int, dict[str, str]] = {}
        #: the other entries of the model's directory (model.yaml, and what should not be there)
        self.others: dict[str, str] = {}
        for name, kind in top.items():
            number = names.parse_version_dir(name) if kind == DIRECTORY else None
            if number is not None:
                self.versions[number] = below.get(name, {})
            else:
                self.others[name] = kind
        self._usual: dict[tuple[int, bool], str | None] = {}

    @classmethod
    def known(cls, versions: Iterable[int], others: Mapping[str, str]) -> ModelTree:
        """A model directory found whole before (``Snapshot.whole``): its version numbers and its
        other entries; each version directory's entries are listed when that version is read."""
        tree = cls({"": DIRECTORY, **others})
        tree.versions = dict.fromkeys(versions, _UNLISTED)
        return tree

    def usual(self, number: int, work_tree: bool) -> str | None:
        """The pointer of version ``number`` when its directory holds what every version holds:
        version.yaml, one pointer and perhaps .gitignore, all regular files (and, in a work tree,
        perhaps the artifact checked out beside its pointer); None when it holds anything else,
        which only its manifest can explain."""
        key = (number, work_tree)
        if key not in self._usual:
            self._usual[key] = usual_pointer(self.versions[number], work_tree)
        return self._usual[key]


def model_problems(model: str, tree: ModelTree, *, work_tree: bool,
                   manifest: Manifests | None = None) -> list[InputError]:
    """What is wrong with the tree of ``registry/<model>/``.

    Whether a file in a version directory is its card or signature (or a pointer version.yaml names) only the
    manifest says: ``manifest(n)`` is asked for each version whose directory holds anything more
    than ``version.yaml``, ``.gitignore`` and one pointer, so a tree that holds only what a version
    always has costs no read; whether that one pointer is the one the manifest names is
    :func:`read_problems`' to say, when the version is read.
    """
    top = names.model_dir(model)
    if tree.kind is None:
        return []
    if tree.kind != DIRECTORY:
        return [_wrong_kind(top, tree.kind)]
    out = []
    if names.MODEL_FILE not in tree.others:
        out.append(InputError(f"holds no {names.MODEL_FILE}", file=top,
                              fix=f"remove the directory, or register a version of {model!r} "
                              "(`modelreg register` writes model.yaml)"))
    for name, kind in tree.others.items():
        problem = _model_entry(f"{top}/{name}", name, kind, work_tree)
        if problem is not None:
            out.append(problem)
    for number, files in tree.versions.items():
        if tree.usual(number, work_tree) is not None:
            continue  # what every version holds: nothing to ask its manifest
        doc = manifest(number) if manifest is not None else None
        out.extend(version_problems(model, number, files, doc, work_tree=work_tree))
    return sorted(out, key=lambda p: p.file or "")


def _model_entry(path: str, name: str, kind: str, work_tree: bool) -> InputError | None:
    """What is wrong with an entry of a model's directory that is not a version directory."""
    if name == names.MODEL_FILE:
        return None if kind == FILE else _wrong_kind(path, kind)
    if work_tree and kind == DIRECTORY and SCRATCH.fullmatch(name):
        return None  # a registration under way (never committed: a revision has no exception)
    if kind in (LINK, SUBMODULE, SPECIAL):
        return _wrong_kind(path, kind)
    return InputError("is not part of a registry's layout", file=path, fix=_MODEL_FIX)


def usual_pointer(files: Mapping[str, str], work_tree: bool) -> str | None:
    """The pointer of a version directory holding ``files`` when it holds what every version holds
    (:meth:`ModelTree.usual`), else None."""
    pointer = None
    for name, kind in files.items():
        if name.endswith(POINTER_SUFFIX) and pointer is None and kind == FILE:
            pointer = name
        elif not ((name == names.VERSION_FILE or name == GITIGNORE) and kind == FILE):
            artifact = work_tree and f"{name}{POINTER_SUFFIX}" in files
            if not artifact:
                return None
    return pointer if names.VERSION_FILE in files else None


def read_problems(model: str, number: int, tree: ModelTree, manifest: Mapping[str, Any], *,
                  work_tree: bool) -> list[InputError]:
    """:func:`version_problems` of a version a read has the manifest of: at once when its directory
    holds what every version holds, with the pointer the manifest names."""
    if tree.usual(number, work_tree) == _named(manifest)[1]:
        return []
    return version_problems(model, number, tree.versions[number], manifest, work_tree=work_tree)


def version_problems(model: str, number: int, files: Mapping[str, str], manifest: Mapping[str, Any] | None,
                     *, work_tree: bool) -> list[InputError]:
    """The entries of ``registry/<model>/v<N>/`` (name → kind; a directory's contents are not
    looked at: a version holds none); with its ``manifest``, which names the pointer, card and
    signature."""
    top = names.version_dir(model, number)
    if names.VERSION_FILE not in files:
        return [InputError(f"exists but holds no {names.VERSION_FILE}", file=top,
                           fix="it is left over (a download into it, an interrupted registration); "
                           "remove it")]
    pointers = [f for f in files if f.endswith(POINTER_SUFFIX)]
    checked_out = {f[:-len(POINTER_SUFFIX)] for f in pointers} if work_tree else set()
    named = None if manifest is None else _named(manifest)
    out = []
    for name, kind in sorted(files.items()):
        path = f"{top}/{name}"
        if name in checked_out and (named is None or name == named[0]):
            continue  # the artifact DVC checked out beside its pointer, kept out of git by .gitignore
        if kind != FILE:
            out.append(_wrong_kind(path, kind) if kind != DIRECTORY else
                       InputError("is a directory inside a version", file=path, fix=_VERSION_FIX))
        elif named is not None and name not in (names.VERSION_FILE, GITIGNORE, *named[1:]):
            what = ("is a DVC pointer version.yaml does not name" if name.endswith(POINTER_SUFFIX)
                    else "is not named by version.yaml")
            out.append(InputError(what, file=path, fix=_VERSION_FIX))
    return out


def _named(manifest: Mapping[str, Any]) -> tuple[str | None, ...]:
    """The artifact's name, its pointer's name, and the card's and signature bundle's names a
    manifest gives."""
    artifact = manifest.get("artifact")
    path = artifact.get("path") if isinstance(artifact, dict) else None
    card = manifest.get("card")
    signature = manifest.get("signature")
    return (path if isinstance(path, str) else None,
            f"{path}{POINTER_SUFFIX}" if isinstance(path, str) else None,
            card if isinstance(card, str) else None,
            signature if isinstance(signature, str) else None)


def _wrong_kind(path: str, kind: str) -> InputError:
    if kind == LINK:
        return InputError("is a symbolic link", file=path,
                          fix="a registry holds regular files and directories only: put the file itself "
                          "in its place, or remove it (`git rm` the link)")
    if kind == SUBMODULE:
        return InputError("is a git submodule", file=path,
                          fix=f"a registry holds no submodules: `git rm {path}` and commit")
    if kind == DIRECTORY:
        return InputError("is a directory where a file belongs", file=path, fix="replace it with the file")
    return InputError("is not a regular file", file=path, fix=f"it is a {kind}: remove it")
