"""The plugin's URIs: which registry (and revision) a ``modelreg:`` URI names.

A registry URI names a clone::

    modelreg:///srv/registry          an absolute path (also modelreg:/srv/registry)
    modelreg:registry                 a path relative to the current directory
    modelreg:                         $MODELREG_REGISTRY, else the registry containing the cwd
    modelreg:///srv/registry?at=main  the registry as of a commit, branch, tag or date

An artifact URI (what ``get_model_version_download_uri`` returns and a version's ``source``)
is the path of the version's artifact in that clone, which is where ``dvc checkout`` would put
it: ``modelreg:///srv/registry/registry/fraud/v3/model.skops`` (``?at=`` kept). A path below
it names a file or directory inside a directory artifact. No MLflow here: it is plain parsing.
"""

from __future__ import annotations

import os
import urllib.parse
from dataclasses import dataclass

from modelreg.api import find_root
from modelreg.errors import InputError
from modelreg.formats import names

SCHEME = "modelreg"
_FORMS = ("use modelreg:///ABSOLUTE/PATH, modelreg:RELATIVE/PATH or modelreg: (the registry containing "
          "the current directory), optionally with ?at=REVISION")


@dataclass(frozen=True)
class RegistryUri:
    """A registry's root and the revision to read (None: the work tree)."""

    root: str
    at: str | None = None

    def query(self) -> str:
        return f"?{urllib.parse.urlencode({'at': self.at})}" if self.at else ""

    def artifact_uri(self, model: str, version: int, artifact: str) -> str:
        """The URI of a version's artifact: its path in the clone, as a ``modelreg:`` URI."""
        path = f"{self.root}/{names.version_dir(model, version)}/{artifact}"
        return f"{SCHEME}://{urllib.parse.quote(path)}{self.query()}"

    def __str__(self) -> str:
        return f"{SCHEME}://{urllib.parse.quote(self.root)}{self.query()}"


@dataclass(frozen=True)
class ArtifactUri:
    """A place in a version's artifact: ``inner`` is the path below the artifact ("" its root);
    ``inner`` None is the version's directory itself, which lists the artifact alone."""

    registry: RegistryUri
    model: str
    version: int
    artifact: str | None
    inner: str


def _split(uri: str) -> tuple[str, str | None]:
    """The local path a ``modelreg:`` URI names, unresolved, and its ``at``."""
    parsed = urllib.parse.urlsplit(uri)
    if parsed.scheme != SCHEME:
        raise InputError(f"{uri!r} is not a {SCHEME}: URI", fix=_FORMS)
    if parsed.netloc not in ("", "localhost"):
        raise InputError(f"{uri!r} names the host {parsed.netloc!r}; a {SCHEME}: URI names a local clone",
                         fix=_FORMS)
    if parsed.fragment:
        raise InputError(f"{uri!r} has a fragment (#{parsed.fragment})", fix=_FORMS)
    query = urllib.parse.parse_qs(parsed.query, keep_blank_values=True, strict_parsing=False)
    unknown = sorted(set(query) - {"at"})
    if unknown or any(len(v) != 1 or not v[0] for v in query.values()):
        raise InputError(f"{uri!r}: the query may hold one at=REVISION and nothing else", fix=_FORMS)
    at = query["at"][0] if "at" in query else None
    return urllib.parse.unquote(parsed.path), at


def parse_registry(uri: str) -> RegistryUri:
    """The registry a registry URI names (its root found upward from the path, as ``-C`` does)."""
    path, at = _split(uri)
    return RegistryUri(find_root(os.path.abspath(path) if path else None), at)


def _root_above(path: str) -> str:
    """The registry holding ``path``, found without resolving links: a checked-out artifact may be
    a link into DVC's cache, and what counts is where the URI says it is, not where it points."""
    candidate = path
    while not os.path.isfile(os.path.join(candidate, names.CONFIG_FILE)):
        parent = os.path.dirname(candidate)
        if parent == candidate:
            raise InputError(f"{path} is not inside a modelreg registry (no {names.CONFIG_FILE})",
                             fix="use the URI get_model_version_download_uri returns")
        candidate = parent
    return candidate


def parse_artifact(uri: str) -> ArtifactUri:
    """The version and the place in its artifact that an artifact URI names."""
    path, at = _split(uri)
    if not path.startswith("/"):
        raise InputError(f"{uri!r}: an artifact URI holds an absolute path",
                         fix="use the URI get_model_version_download_uri returns")
    root = _root_above(os.path.normpath(path))
    rel = os.path.relpath(os.path.normpath(path), root).split(os.sep)
    if len(rel) < 3 or rel[0] != names.REGISTRY_DIR:
        raise InputError(f"{uri!r} does not name a version of the registry at {root}",
                         fix=f"use {SCHEME}://{root}/{names.REGISTRY_DIR}/MODEL/vN/ARTIFACT")
    model = names.check_model_name(rel[1])
    version = names.parse_version_dir(rel[2])
    if version is None:
        raise InputError(f"{uri!r}: {rel[2]!r} is not a version directory (v1, v2, ...)",
                         fix=f"use {SCHEME}://{root}/{names.REGISTRY_DIR}/MODEL/vN/ARTIFACT")
    artifact = rel[3] if len(rel) > 3 else None
    return ArtifactUri(RegistryUri(root, at), model, version, artifact, "/".join(rel[4:]))
