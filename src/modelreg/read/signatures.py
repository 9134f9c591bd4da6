"""Verifying a version's signature: its bundle against its artifact's bytes and the allowed signers.

The bytes are the ones ``modelreg get`` would write: the artifact's objects in the local DVC
cache, fetched from the remote when missing or when the cached copy differs from the signed
bytes (evicted first, as ``get`` evicts a damaged copy); a download is checked on its way in.
They are hashed once, in parallel: that one pass proves both the manifest's ``artifact.sha256``
(the bundle must bind it, :func:`modelreg.edges.signing.verify_files`) and every signed file, so
nothing is hashed twice. An artifact already in the local cache is found without importing DVC.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from modelreg.edges import dvc, signing
from modelreg.edges.hashing import Progress, no_progress
from modelreg.edges.snapshot import MAX_FILE_BYTES, Snapshot
from modelreg.errors import InputError, IntegrityError, NotFoundError
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
    #: the policy whose signers were allowed (None: the signers the caller named)
    signers_from: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"model": self.version.model, "version": self.version.version, "uri": self.version.uri,
                "bundle": self.bundle, "bytes_from": self.source, "signers_from": self.signers_from,
                **self.verified.to_dict()}


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
    artifact = Path(names.version_dir(mv.model, mv.version)) / str(mv.artifact.get("path", ""))

    def check(fetched: dvc.Fetched) -> signing.Verified:
        files = [(obj, rel or signing.SINGLE_FILE) for rel, obj in sorted(fetched.objects.items())]
        return signing.verify_files(files, Path(path), signers, is_file=not pointer.is_dir,
                                    expected_sha256=expected, where=artifact, bundle_bytes=data)

    cached = dvc.cached(root, pointer)
    if cached is not None:
        try:
            return SignatureCheck(version=mv, bundle=path, verified=check(cached), source="local cache")
        except signing.BytesDiffer:
            # as `get` does: a damaged local copy is evicted and fetched again, once; bytes from
            # the remote that still differ are the answer
            for obj in cached.objects.values():
                dvc.evict(obj)
    try:
        fetched = dvc.fetch(root, pointer, progress, sha256=expected)
    except dvc.ObjectMismatch as exc:
        what = f"the file {exc.relpath} of " if exc.relpath else ""
        recorded = "whose md5 names other bytes" if exc.relpath else f"but {mv.source} records {expected}"
        raise IntegrityError(f"{mv.uri}: {what}the artifact in the DVC remote (object {exc.oid}) has sha256 "
                             f"{exc.actual.sha256}, {recorded}; not verified", fix=exc.fix) from exc
    return SignatureCheck(version=mv, bundle=path, verified=check(fetched), source="remote")
