"""Verifying a version's signature: its bundle against its artifact's bytes and the allowed signers.

The bytes are the ones ``modelreg get`` would write: the artifact's objects in the local DVC
cache, fetched from the remote when missing (a download is checked on its way in, as ``get``
checks it). They are hashed once, in parallel: that one pass proves both the manifest's
``artifact.sha256`` (the bundle must bind it, :func:`modelreg.edges.signing.verify_files`) and
every signed file, so nothing is hashed twice. An artifact already in the local cache is found
without importing DVC.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from modelreg.edges import dvc, signing
from modelreg.edges.hashing import Progress, no_progress
from modelreg.edges.snapshot import MAX_FILE_BYTES, Snapshot
from modelreg.errors import InputError, NotFoundError
from modelreg.formats import names
from modelreg.read.catalog import ModelVersion


@dataclass(frozen=True)
class SignatureCheck:
    """What ``modelreg verify`` proved in this run about one version."""

    version: ModelVersion
    #: the bundle's path in the registry
    bundle: str
    verified: signing.Verified
    #: where the bytes came from: "local cache" (DVC's, already there) or "remote" (fetched now)
    source: str

    def to_dict(self) -> dict[str, Any]:
        return {"model": self.version.model, "version": self.version.version, "uri": self.version.uri,
                "bundle": self.bundle, "bytes_from": self.source, **self.verified.to_dict()}


def bundle_path(mv: ModelVersion) -> str:
    """The repository path of the bundle ``mv``'s manifest names; SignatureError when it names none."""
    name = mv.data.get("signature")
    if not isinstance(name, str) or not name:
        raise signing.SignatureError(f"{mv.model} v{mv.version} is not signed: version.yaml names no "
                                     "signature bundle", file=mv.source, field="signature",
                                     fix="register a signed version (modelreg register --sign-key FILE)")
    try:
        names.check_file_name(name, what="signature")
    except InputError as exc:
        raise InputError(exc.detail, file=mv.source, field="signature", fix=exc.fix) from None
    return f"{names.version_dir(mv.model, mv.version)}/{name}"


def verify(snapshot: Snapshot, mv: ModelVersion, signers: Sequence[signing.Signer], *,
           progress: Progress = no_progress) -> SignatureCheck:
    """Verify ``mv``'s signature bundle (read from ``snapshot``) against its artifact's bytes,
    re-hashed now, and ``signers``. Raises SignatureError (exit 1) with what failed and the fix."""
    path = bundle_path(mv)
    data = snapshot.read(path)
    if data is None:
        raise signing.SignatureError("no signature bundle: version.yaml names it, but it is not beside it",
                                     file=path, fix="restore the bundle committed with the version")
    if len(data) > MAX_FILE_BYTES:
        raise signing.SignatureError(f"the bundle is larger than the {MAX_FILE_BYTES} bytes a registry "
                                     "file may hold", file=path, fix="restore the bundle committed with "
                                                                      "the version")
    pointer = mv.pointer
    if pointer is None:
        raise NotFoundError(f"{mv.source} has no DVC pointer beside it",
                            fix="the version is incomplete; register it again")
    root = Path(mv.root)
    expected = str(mv.artifact.get("sha256", ""))
    fetched = dvc.cached(root, pointer)
    source = "local cache"
    if fetched is None:
        fetched = dvc.fetch(root, pointer, progress, sha256=expected)
        source = "remote"
    files = [(obj, rel or signing.SINGLE_FILE) for rel, obj in sorted(fetched.objects.items())]
    artifact = Path(names.version_dir(mv.model, mv.version)) / str(mv.artifact.get("path", ""))
    verified = signing.verify_files(files, Path(path), signers, is_file=not pointer.is_dir,
                                    expected_sha256=expected, where=artifact, bundle_bytes=data)
    return SignatureCheck(version=mv, bundle=path, verified=verified, source=source)
