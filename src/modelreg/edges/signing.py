"""The only module that imports ``model_signing`` (OpenSSF Model Signing): it signs an artifact's
bytes and verifies a bundle against them and a list of allowed signers.

``model_signing`` (and ``cryptography``, ``pyOpenSSL``, ``sigstore``) are imported inside the
functions, so the read path (``list``, ``show``, ``resolve``, ``history``) never pays for them.

**What is signed.** A bundle is a Sigstore bundle holding a DSSE envelope over an in-toto statement
(the OpenSSF Model Signing v1.0 predicate, ``method: files``, ``hash_type: sha256``): one resource
per file of the artifact, named by its POSIX path relative to the artifact (``.`` for an artifact
that is one file), with the file's sha256. So the bundle verifies with the ``model_signing``
command too.

**How it binds ``artifact.sha256``.** The statement's *subject* digest is model_signing's own root
digest (the sha256 over the files' digests in path order); it is not the manifest's
``artifact.sha256``. The binding goes through the resources: a file artifact's ``artifact.sha256``
is its one resource's digest, a directory's is :func:`modelreg.edges.hashing.listing_sha256` of the
resources. :func:`verify` recomputes that digest from the *signed* resources
(:attr:`Verified.digest`) and, given ``expected_sha256`` (the manifest's), refuses a bundle
signed for another artifact before comparing a byte.

**Nothing is ignored.** ``model_signing`` skips ``.git``, ``.gitattributes``, ``.github``,
``.gitignore`` and the signature file by default, and its verifier honours the ``ignore_paths``
recorded by the signer. Here every regular file of the artifact is hashed and compared, whatever
the bundle says to ignore: a file planted under one of those names is an added file and fails.
Signing refuses a bundle path inside the artifact. Symbolic links and special files are refused,
never followed (files are opened with ``O_NOFOLLOW``), so nothing outside the artifact is read.

**Hashing.** Files are hashed in parallel on a thread pool, as ``model_signing`` does (hashlib
releases the GIL), but by :mod:`modelreg.edges.hashing`, whose opener refuses links. Signing at
register reuses the sha256 that register computed while copying the bytes into the cache
(``digests=``): the bytes signed are the bytes registered, read once.

Names: :class:`Signer` (one allowed signer), :class:`Verified` (what a verification proved),
:class:`SignatureError` (and :class:`BytesDiffer`, the bytes not the signed ones), :func:`verify`,
:func:`sign_with_key`, :func:`sign_with_certificate`, :func:`sign_keyless`. Added to the first
draft of this interface: ``expected_sha256=`` on :func:`verify`; :func:`verify_files` (an artifact
given as its files, e.g. DVC's cache objects, and a bundle given as bytes); ``digests=`` on the
signers (:func:`resource_digests` makes them from register's); :class:`SigningMethod` with
:func:`sign`, and :func:`prepare` (the key checked first) whose :meth:`Prepared.bundle` signs.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import importlib
import importlib.util
import io
import json
import os
import stat
import sys
import tempfile
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from modelreg.edges import atomic
from modelreg.edges.hashing import FileDigest, listing_sha256, sha256_file, walk_files
from modelreg.errors import InputError, ModelregError, ServiceError

SignerKind = Literal["key", "certificate", "sigstore"]

#: the most of a bundle that is read: a real one is a few kilobytes per hundred files
BUNDLE_MAX_BYTES = 64 * 1024 * 1024
#: the block a verification hashes at a time: large, because the signing library is imported on
#: the main thread meanwhile, and a hashing thread waits for the GIL after every block
HASH_CHUNK = 16 * 1024 * 1024
#: the predicate and serialization modelreg signs and accepts
PREDICATE_TYPE = "https://model_signing/signature/v1.0"
STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
PAYLOAD_TYPE = "application/vnd.in-toto+json"
#: the name ``model_signing`` gives the one resource of an artifact that is a single file
SINGLE_FILE = "."
INSTALL_FIX = "install the signing extra: pip install 'modelreg[sign]'"

#: the curves model_signing signs with (those of Sigstore's protobuf specs)
_CURVES = ("secp256r1", "secp384r1", "secp521r1")
_KIND_WORDS = {"key": "a key", "certificate": "a certificate", "sigstore": "Sigstore (keyless)"}


class SignatureError(InputError):
    """A signature does not verify, or signing failed (exit code 1); the message says what failed
    and the fix."""


class BytesDiffer(SignatureError):
    """The bundle is authentic, but the bytes read are not the ones it signs."""


@dataclass(frozen=True)
class Signer:
    """One allowed signer, as a policy or the command line names it."""

    kind: SignerKind
    #: PEM text of an EC public key (kind "key")
    public_key: str | None = None
    #: PEM texts of the CA certificates to trust (kind "certificate"): a root and intermediates
    certificate_chain: tuple[str, ...] = ()
    #: kind "sigstore": the certificate identity (e.g. a workflow's path on a branch)
    identity: str | None = None
    #: kind "sigstore": the OIDC issuer (e.g. https://token.actions.githubusercontent.com)
    issuer: str | None = None

    def __post_init__(self) -> None:
        if self.kind == "key" and not self.public_key:
            raise InputError("a key signer needs its public key (PEM)", field="signer",
                             fix="name the public key file, e.g. --key signing.pub")
        if self.kind == "certificate" and not self.certificate_chain:
            # model_signing would fall back to the system's CAs: any public CA's customer would pass
            raise InputError("a certificate signer needs the CA certificates to trust", field="signer",
                             fix="name the chain, e.g. --certificate-chain ca.pem")
        if self.kind == "sigstore" and not (self.identity and self.issuer):
            raise InputError("a Sigstore signer needs an identity and an issuer", field="signer",
                             fix="give both, e.g. --identity https://github.com/o/r/.github/workflows/"
                                 "train.yml@refs/heads/main --issuer https://token.actions.githubusercontent.com")

    @classmethod
    def from_key_file(cls, path: Path) -> Signer:
        """The signer whose public key (PEM) is in ``path``; SignatureError when it holds none."""
        signer = cls(kind="key", public_key=_read_pem(path, "public key"))
        try:
            signer.fingerprint()
        except SignatureError as exc:
            raise SignatureError(exc.detail, file=str(path), fix=exc.fix) from None
        return signer

    @classmethod
    def from_chain_files(cls, paths: Sequence[Path]) -> Signer:
        return cls(kind="certificate", certificate_chain=tuple(_read_pem(p, "certificate") for p in paths))

    def fingerprint(self) -> str:
        """A key's ``sha256:`` fingerprint: the sha256 of its SubjectPublicKeyInfo PEM, the hint
        ``model_signing`` records in a bundle (``openssl pkey -pubin -in KEY.pub | sha256sum``)."""
        return f"sha256:{_key_hint(self.public_key or '')}"

    def describe(self) -> str:
        """One line a user recognises: the key's fingerprint, the CA the chain ends in, or
        identity@issuer."""
        if self.kind == "key":
            return f"key {self.fingerprint()}"
        if self.kind == "certificate":
            return f"certificates issued under {_chain_root(self.certificate_chain)}"
        return f"Sigstore identity {self.identity} (issuer {self.issuer})"

    def to_dict(self) -> dict[str, Any]:
        if self.kind == "key":
            return {"kind": "key", "fingerprint": self.fingerprint()}
        if self.kind == "certificate":
            return {"kind": "certificate", "root": _chain_root(self.certificate_chain)}
        return {"kind": "sigstore", "identity": self.identity, "issuer": self.issuer}


@dataclass(frozen=True)
class Verified:
    """What one verification proved, in this call: the bundle is authentic for ``signer``, and
    the ``files`` files of the artifact, re-hashed now, are the bytes it signed."""

    #: which allowed signer matched
    signer: Signer
    #: files covered by the signature (and hashed in this call)
    files: int
    #: the artifact's sha256 as a manifest's ``artifact.sha256`` records it, from the signed digests
    digest: str
    #: who the bundle says signed: the key fingerprint, the signing certificate's subject, or the
    #: Sigstore identity
    signed_by: str = field(default="")

    def to_dict(self) -> dict[str, Any]:
        return {"verified": True, "signer": self.signer.to_dict(),
                "signer_description": self.signer.describe(), "signed_by": self.signed_by,
                "files": self.files, "sha256": self.digest}


# --- verification ---------------------------------------------------------------------------------


def verify(artifact: Path, bundle: Path, signers: Sequence[Signer], *,
           expected_sha256: str | None = None) -> Verified:
    """Verify ``bundle`` against the bytes of ``artifact`` (a file or a directory), re-hashed in
    this call, and the allowed ``signers``; ``expected_sha256``, when given, is the digest the
    bundle must have been signed for (the manifest's ``artifact.sha256``).

    Raises :class:`SignatureError` for a malformed bundle, a signer not allowed, a bundle signed
    for another artifact, and bytes that differ from the signed ones (a changed, added, removed or
    renamed file); a link or special file in the artifact is refused, never followed.
    """
    return verify_files(_artifact_files(artifact), bundle, signers, is_file=not artifact.is_dir(),
                        expected_sha256=expected_sha256, where=artifact)


def verify_files(files: Sequence[tuple[Path, str]], bundle: Path, signers: Sequence[Signer], *,
                 is_file: bool, expected_sha256: str | None = None, where: Path | None = None,
                 bundle_bytes: bytes | None = None) -> Verified:
    """:func:`verify` of an artifact given as its files: (path to read, resource name), the name
    ``.`` for an artifact that is one file (e.g. the objects of DVC's cache). ``where`` names the
    artifact in messages; ``bundle_bytes``, when given, are the bundle's (read from a git
    revision), and ``bundle`` only names it.

    The files are hashed on a thread pool while the bundle is checked on this thread (importing
    the signing libraries costs about as much as hashing a few hundred megabytes); a bundle that
    fails is reported first.
    """
    if not signers:
        raise SignatureError("no allowed signer to verify against", file=str(bundle),
                             fix="name a signer with --key PUB.pem, --certificate-chain CA.pem or "
                                 "--identity/--issuer")
    pool = ThreadPoolExecutor(max(1, min(len(files), os.cpu_count() or 1, 32)))
    futures = [pool.submit(_sha256, path) for path, _ in files]
    try:
        signer, signed, signed_by = _check_bundle(bundle, signers, bundle_bytes)
        digest = _artifact_digest(signed, is_file=is_file, bundle=bundle)
        if expected_sha256 is not None and digest != expected_sha256:
            raise SignatureError(f"signed for another artifact: the bundle binds sha256 {digest}, the "
                                 f"manifest records {expected_sha256}", file=str(bundle),
                                 fix="restore the bundle registered with this artifact, or register "
                                     "the artifact again signed (modelreg register --sign-key FILE)")
        actual = {name: future.result() for (_, name), future in zip(files, futures, strict=True)}
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    _compare(signed, actual, is_file=is_file, where=where or bundle)
    return Verified(signer=signer, files=len(actual), digest=digest, signed_by=signed_by)


def _check_bundle(bundle: Path, signers: Sequence[Signer],
                  data: bytes | None) -> tuple[Signer, dict[str, str], str]:
    """The allowed signer the bundle verifies for, the files and digests it signs, and who it says
    signed."""
    raw = _parse_bundle(_read_bundle(bundle) if data is None else data, bundle)
    kind, signed_by = _bundle_signer(raw, bundle)
    candidates = [s for s in signers if s.kind == kind]
    if not candidates:
        allowed = "; ".join(s.describe() for s in signers)
        raise SignatureError(f"signed with {_KIND_WORDS[kind]} ({signed_by}), which is not an allowed signer "
                             f"(allowed: {allowed})", file=str(bundle),
                             fix="verify against the signer that signed it, or re-sign with an allowed one")
    payload, signer = _authenticate(raw, kind, candidates, bundle, signed_by)
    return signer, _signed_digests(payload, bundle), signed_by


def _artifact_files(artifact: Path) -> list[tuple[Path, str]]:
    """The artifact's regular files as (path, resource name); links and special files refused."""
    try:
        mode = artifact.lstat().st_mode
    except FileNotFoundError as exc:
        raise SignatureError("the artifact does not exist", file=str(artifact),
                             fix="fetch it first (modelreg get)") from exc
    if stat.S_ISLNK(mode):
        raise SignatureError("the artifact is a symbolic link; modelreg never follows a link out of an "
                             "artifact", file=str(artifact), fix="verify the directory or file it points to")
    if stat.S_ISREG(mode):
        return [(artifact, SINGLE_FILE)]
    if not stat.S_ISDIR(mode):
        raise SignatureError("the artifact is not a regular file or a directory", file=str(artifact),
                             fix="an artifact holds regular files only")
    try:
        return list(walk_files(artifact))
    except InputError as exc:
        raise SignatureError(f"{exc.detail}; modelreg never follows a link out of an artifact",
                             file=str(artifact), fix="replace the link with the file it points to, "
                                                     "then register and sign again") from exc


def _hash_files(files: list[tuple[Path, str]]) -> dict[str, str]:
    """Each file's sha256, on a thread pool (hashlib releases the GIL while it hashes)."""
    if len(files) <= 1:
        shas = [_sha256(path) for path, _ in files]
    else:
        with ThreadPoolExecutor(min(len(files), os.cpu_count() or 1, 32)) as pool:
            shas = list(pool.map(_sha256, [path for path, _ in files]))
    return {name: sha for (_, name), sha in zip(files, shas, strict=True)}


def _sha256(path: Path) -> str:
    try:
        return sha256_file(path, chunk=HASH_CHUNK)
    except OSError as exc:  # ELOOP: a link swapped in after the listing
        raise SignatureError(f"cannot read: {exc.strerror}; modelreg never follows a link out of an artifact",
                             file=str(path), fix="replace the link with the file it points to") from exc
    except InputError as exc:
        raise SignatureError(exc.detail, file=str(path), fix=exc.fix) from exc


def _read_bundle(bundle: Path) -> bytes:
    try:
        fd = os.open(bundle, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError as exc:
        raise SignatureError("no signature bundle", file=str(bundle),
                             fix="register the artifact signed (modelreg register --sign-key FILE), "
                             "or verify another version") from exc
    except OSError as exc:
        raise SignatureError(f"cannot read the bundle: {exc.strerror}", file=str(bundle),
                             fix="a bundle is a regular file, not a link") from exc
    with os.fdopen(fd, "rb") as reader:
        if not stat.S_ISREG(os.fstat(reader.fileno()).st_mode):
            raise SignatureError("the bundle is not a regular file", file=str(bundle),
                                 fix="a bundle is a regular file, not a link")
        data = reader.read(BUNDLE_MAX_BYTES + 1)
    if len(data) > BUNDLE_MAX_BYTES:
        raise SignatureError(f"the bundle is larger than {BUNDLE_MAX_BYTES} bytes", file=str(bundle),
                             fix="restore the bundle written at signing")
    return data


def _parse_bundle(data: bytes, bundle: Path) -> dict[str, Any]:
    try:
        parsed = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:  # RecursionError: nested too deep
        raise SignatureError(f"malformed bundle: not JSON ({_first_line(exc)})", file=str(bundle),
                             fix="restore the bundle written at signing, or sign again") from exc
    if not isinstance(parsed, dict):
        raise SignatureError("malformed bundle: not a JSON object", file=str(bundle),
                             fix="restore the bundle written at signing, or sign again")
    return parsed


def _bundle_signer(raw: dict[str, Any], bundle: Path) -> tuple[SignerKind, str]:
    """Which kind of signer the bundle names, and who: read before any check, to choose the
    verifier and to say who signed when the signer is not allowed."""
    material = raw.get("verificationMaterial")
    envelope = raw.get("dsseEnvelope")
    if not isinstance(material, dict) or not isinstance(envelope, dict):
        raise SignatureError("malformed bundle: no verificationMaterial or dsseEnvelope", file=str(bundle),
                             fix="restore the bundle written at signing, or sign again")
    if isinstance(material.get("publicKey"), dict):
        hint = material["publicKey"].get("hint")
        return "key", f"key sha256:{hint}" if isinstance(hint, str) and hint else "a key (no fingerprint)"
    chain = material.get("x509CertificateChain")
    if isinstance(chain, dict):
        certificates = chain.get("certificates")
        leaf = certificates[0].get("rawBytes") if isinstance(certificates, list) and certificates \
            and isinstance(certificates[0], dict) else None
        return "certificate", _certificate_subject(leaf, bundle)
    if isinstance(material.get("certificate"), dict):
        return "sigstore", _sigstore_identity(material["certificate"].get("rawBytes"), bundle)
    raise SignatureError("malformed bundle: its verificationMaterial names no key, certificate chain or "
                         "Sigstore certificate", file=str(bundle),
                         fix="restore the bundle written at signing")


def _authenticate(raw: dict[str, Any], kind: SignerKind, candidates: Sequence[Signer], bundle: Path,
                  signed_by: str) -> tuple[dict[str, Any], Signer]:
    """The statement the bundle signs, once one allowed signer verifies its signature."""
    text = json.dumps(raw)
    failures: list[str] = []
    with tempfile.TemporaryDirectory(prefix="modelreg-verify-") as scratch:
        path = Path(scratch) / "bundle.json"
        path.write_text(text, encoding="utf-8")
        for number, signer in enumerate(candidates):
            try:
                payload_type, payload = _verify_one(path, signer, Path(scratch), number)
            except ModelregError:  # ours: the library missing, Sigstore unreachable; not a bad signature
                raise
            except Exception as exc:  # model_signing raises anything from ValueError to KeyError
                failures.append(_first_line(exc))
                continue
            return _statement(payload_type, payload, bundle), signer
    allowed = "; ".join(s.describe() for s in candidates)
    if kind == "key" and all("Key mismatch" in f for f in failures):
        # the bundle's key hint is unsigned: a claim, named as one, not who signed
        raise SignatureError(f"not signed by an allowed signer (allowed: {allowed}); the bundle claims "
                             f"{signed_by} (an unsigned hint)", file=str(bundle),
                             fix="verify against the key that signed it, or re-sign with an allowed key")
    raise SignatureError(f"the signature does not verify against any allowed signer ({allowed}): "
                         f"{failures[-1] if failures else 'no verifier'}", file=str(bundle),
                         fix="verify against the signer that signed it, or re-sign with an allowed one")


def _verify_one(bundle: Path, signer: Signer, scratch: Path, number: int) -> tuple[str, bytes]:
    """Check the bundle's signature for one signer; returns the DSSE payload type and payload."""
    ms = _lib("model_signing._signing.sign_sigstore_pb")
    # model_signing prints a warning for old bundles; the core never prints
    with contextlib.redirect_stdout(io.StringIO()):
        if signer.kind == "key":
            key = scratch / f"key-{number}.pem"
            key.write_text(signer.public_key or "", encoding="utf-8")
            verifier = _lib("model_signing._signing.sign_ec_key").Verifier(key)
            signature = ms.Signature.read(bundle)
        elif signer.kind == "certificate":
            chain = scratch / f"chain-{number}.pem"
            chain.write_text("\n".join(signer.certificate_chain), encoding="utf-8")
            verifier = _lib("model_signing._signing.sign_certificate").Verifier([chain])
            signature = ms.Signature.read(bundle)
        else:
            sigstore = _lib("model_signing._signing.sign_sigstore")
            try:
                verifier = sigstore.Verifier(identity=signer.identity, oidc_issuer=signer.issuer)
            except Exception as exc:  # the trust root comes from Sigstore's TUF repository
                raise ServiceError(f"cannot load Sigstore's trust root: {_first_line(exc)}",
                                   fix="verifying a keyless signature needs Sigstore's public services "
                                       "(or a cached trust root); retry with network access") from exc
            signature = sigstore.Signature.read(bundle)
        payload_type, payload = verifier._verify_signed_content(signature)  # the one hook
        # model_signing offers between "signature is authentic" and "hash the model its own way"
    return str(payload_type), bytes(payload)


def _statement(payload_type: str, payload: bytes, bundle: Path) -> dict[str, Any]:
    fix = "sign the artifact with modelreg register --sign or model_signing's defaults"
    if payload_type != PAYLOAD_TYPE:
        raise SignatureError(f"the bundle signs a {payload_type!r} payload, not an in-toto statement",
                             file=str(bundle), fix=fix)
    try:
        statement = json.loads(payload)
    except ValueError as exc:
        raise SignatureError("the signed payload is not JSON", file=str(bundle), fix=fix) from exc
    if not isinstance(statement, dict) or statement.get("_type") != STATEMENT_TYPE \
            or statement.get("predicateType") != PREDICATE_TYPE:
        raise SignatureError(f"the signed statement is not an OpenSSF Model Signing v1.0 statement "
                             f"({PREDICATE_TYPE})", file=str(bundle), fix=fix)
    return statement


def _signed_digests(statement: dict[str, Any], bundle: Path) -> dict[str, str]:
    """The signed files and their sha256, after checking the statement is one modelreg can
    compare against (file-level sha256) and is self-consistent (its subject digest)."""
    predicate = statement.get("predicate")
    fix = "sign the artifact with modelreg register --sign (file-level sha256)"
    if not isinstance(predicate, dict) or not isinstance(predicate.get("serialization"), dict) \
            or not isinstance(predicate.get("resources"), list):
        raise SignatureError("malformed statement: no serialization or resources", file=str(bundle), fix=fix)
    serialization = predicate["serialization"]
    if serialization.get("method") != "files" or serialization.get("hash_type") != "sha256":
        raise SignatureError(f"signed with serialization {serialization.get('method')!r}/"
                             f"{serialization.get('hash_type')!r}; modelreg verifies 'files'/'sha256'",
                             file=str(bundle), fix=fix)
    signed: dict[str, str] = {}
    root = hashlib.sha256()
    for resource in predicate["resources"]:
        if not isinstance(resource, dict) or resource.get("algorithm") != "sha256" \
                or not isinstance(resource.get("name"), str) or not _is_sha256(resource.get("digest")):
            raise SignatureError("malformed statement: a resource is not a named sha256",
                                 file=str(bundle), fix=fix)
        if resource["name"] in signed:
            raise SignatureError(f"malformed statement: {resource['name']!r} is listed twice",
                                 file=str(bundle), fix=fix)
        signed[resource["name"]] = resource["digest"]
        root.update(bytes.fromhex(resource["digest"]))
    subjects = statement.get("subject")
    if not (isinstance(subjects, list) and len(subjects) == 1 and isinstance(subjects[0], dict)
            and isinstance(subjects[0].get("digest"), dict)
            and subjects[0]["digest"].get("sha256") == root.hexdigest()):
        raise SignatureError("malformed statement: its subject digest is not the digest of its resources",
                             file=str(bundle), fix=fix)
    return signed


def _artifact_digest(signed: Mapping[str, str], *, is_file: bool, bundle: Path) -> str:
    """The ``artifact.sha256`` the signed resources imply (see the module's docstring)."""
    if is_file:
        if set(signed) != {SINGLE_FILE}:
            raise SignatureError(f"signed for another artifact: the bundle signs a directory of "
                                 f"{len(signed)} files, the artifact is one file", file=str(bundle),
                                 fix="verify the bundle against the artifact it was signed for")
        return signed[SINGLE_FILE]
    if SINGLE_FILE in signed:
        raise SignatureError("signed for another artifact: the bundle signs one file, the artifact is a "
                             "directory", file=str(bundle), fix="verify the bundle against the artifact it "
                                                                 "was signed for")
    return listing_sha256([FileDigest(name, "", sha, 0) for name, sha in signed.items()])


def _compare(signed: Mapping[str, str], actual: Mapping[str, str], *, is_file: bool, where: Path) -> None:
    changed = sorted(name for name in signed.keys() & actual.keys() if signed[name] != actual[name])
    removed = sorted(signed.keys() - actual.keys())
    added = sorted(actual.keys() - signed.keys())
    renamed = []
    for old in list(removed):
        new = next((n for n in added if actual[n] == signed[old]), None)
        if new is not None:
            renamed.append(f"{old} -> {new}")
            removed.remove(old)
            added.remove(new)
    problems = [f"{label}: {_few(names)}" for label, names in
                (("changed", changed), ("renamed", renamed), ("added", added), ("removed", removed)) if names]
    if problems:
        if is_file:
            problems = ["the file's bytes changed"]
        raise BytesDiffer(f"the bytes differ from the signed ones ({'; '.join(problems)})",
                             file=str(where), fix="the artifact was altered after signing: restore it "
                                                      "or register and sign a new version")


def _few(names: list[str]) -> str:
    shown = ", ".join(names[:5])
    return f"{shown} and {len(names) - 5} more" if len(names) > 5 else shown


# --- signing -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SigningMethod:
    """How to sign, as ``register --sign-key/--sign-certificate/--sign-keyless`` name it."""

    kind: SignerKind
    #: an EC private key in PEM (P-256, P-384 or P-521): kinds "key" and "certificate"
    private_key: Path | None = None
    #: the private key's password, if it is encrypted (never from argv: the CLI reads an env var)
    password: bytes | None = field(default=None, repr=False)
    #: the signing certificate of the private key (kind "certificate")
    certificate: Path | None = None
    #: intermediate (and root) certificates written into the bundle (kind "certificate")
    chain: tuple[Path, ...] = ()
    #: kind "sigstore": an OIDC identity token; None takes the ambient one (GitHub Actions)
    identity_token: str | None = field(default=None, repr=False)


class Prepared:
    """A signer whose key is checked (a wrong password or a bad key fails in :func:`prepare`,
    before a byte of the artifact is hashed): :meth:`bundle` signs the digests given.

    ``model_signing`` (a second to import: it imports Sigstore's client whatever the method) is
    imported by :meth:`bundle`, after the hashing. Importing it on a thread during the hashing was
    measured slower (bench/sign.py): the import holds the GIL for milliseconds at a time, and the
    thread hashing 1 MiB chunks waits for it after every chunk.
    """

    def __init__(self, method: SigningMethod, make: Callable[[], Any]) -> None:
        self.method = method
        self._make = make

    def bundle(self, name: str, digests: Mapping[str, str]) -> str:
        """The bundle (JSON text) signing the files ``digests`` names (resource name to sha256;
        ``.`` for an artifact that is one file) of the artifact called ``name``."""
        backend = self._make()
        signing = _lib("model_signing._signing.signing")
        try:
            signature = backend.sign(signing.Payload(_manifest(name, digests)))
        except Exception as exc:  # a signer raises whatever its backend raises
            error = ServiceError if self.method.kind == "sigstore" else SignatureError
            raise error(f"signing failed: {_first_line(exc)}",
                        fix="nothing was written; check the key and try again") from exc
        return str(signature.bundle.to_json())


def prepare(method: SigningMethod) -> Prepared:
    """Load the key (or find the identity token) of ``method``; raises :class:`SignatureError`.
    The key is checked here with ``cryptography`` (quick to import); ``model_signing``'s signer
    is built by :meth:`Prepared.bundle`."""
    if importlib.util.find_spec("model_signing") is None:  # found now, not after the hashing
        raise ModelregError("signing needs the model-signing package (model_signing is missing)",
                            fix=INSTALL_FIX)
    if method.kind == "key":
        key = _readable(method.private_key, "private key")
        _with_key_errors(lambda: _check_private_key(key, method.password), key)

        def make_key() -> Any:
            ec_key = _lib("model_signing._signing.sign_ec_key")
            return _with_key_errors(lambda: ec_key.Signer(key, method.password), key)
        return Prepared(method, make_key)
    if method.kind == "certificate":
        key = _readable(method.private_key, "private key")
        leaf = _readable(method.certificate, "certificate")
        chain = [_readable(c, "certificate chain") for c in method.chain]
        if method.password is not None:  # model_signing's certificate signer takes no password
            raise SignatureError("a certificate's private key cannot be encrypted", file=str(key),
                                 fix="unset MODELREG_SIGN_KEY_PASSWORD and use an unencrypted key file "
                                     "(kept out of the repository)")
        _with_key_errors(lambda: _check_private_key(key, None, certificate=leaf), key)

        def make_certificate() -> Any:
            cert = _lib("model_signing._signing.sign_certificate")
            return _with_key_errors(lambda: cert.Signer(key, leaf, chain), key)
        return Prepared(method, make_certificate)
    signer = _keyless(method.identity_token)  # fails now: no token, or Sigstore unreachable
    return Prepared(method, lambda: signer)


def _check_private_key(path: Path, password: bytes | None, *, certificate: Path | None = None) -> None:
    """What model_signing's signers check of a key (and of its certificate), raising what they
    raise, but with ``cryptography`` alone."""
    serialization = _lib("cryptography.hazmat.primitives.serialization")
    ec = _lib("cryptography.hazmat.primitives.asymmetric.ec")
    key = serialization.load_pem_private_key(path.read_bytes(), password)
    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name not in _CURVES:
        curve = getattr(getattr(key, "curve", None), "name", type(key).__name__)
        raise ValueError(f"Unsupported key: {curve}")
    if certificate is not None:
        x509 = _lib("cryptography.x509")
        leaf = x509.load_pem_x509_certificate(certificate.read_bytes())
        if leaf.public_key() != key.public_key():
            raise ValueError("The public key from the certificate does not match the public key paired "
                             "with the private key")


def sign(artifact: Path, bundle: Path, method: SigningMethod, *,
         digests: Mapping[str, str] | None = None) -> None:
    """Sign ``artifact`` (a file or a directory) with ``method``, writing ``bundle`` whole or not
    at all. ``digests`` (resource name to sha256) are the artifact's hashes already computed:
    given them, the bytes are not read again (see :func:`resource_digests`)."""
    prepared = prepare(method)
    _refuse_inside(artifact, bundle)
    if digests is None:
        digests = _hash_files(_artifact_files(artifact))
    atomic.write_atomic(bundle, prepared.bundle(artifact.name, digests))


def sign_with_key(artifact: Path, bundle: Path, private_key: Path, password: bytes | None = None, *,
                  digests: Mapping[str, str] | None = None) -> None:
    """Sign with an EC private key (PEM; P-256, P-384 or P-521), writing ``bundle``."""
    sign(artifact, bundle, SigningMethod("key", private_key=private_key, password=password),
         digests=digests)


def sign_with_certificate(artifact: Path, bundle: Path, private_key: Path, certificate: Path,
                          chain: Sequence[Path], *, digests: Mapping[str, str] | None = None) -> None:
    """Sign with a private key and its signing certificate; ``chain`` are the intermediate (and
    root) certificates recorded in the bundle for a verifier to build the path to its trusted CA."""
    sign(artifact, bundle, SigningMethod("certificate", private_key=private_key, certificate=certificate,
                                         chain=tuple(chain)), digests=digests)


def sign_keyless(artifact: Path, bundle: Path, identity_token: str | None = None, *,
                 digests: Mapping[str, str] | None = None) -> None:
    """Sign with Sigstore (Fulcio certificate, Rekor transparency log) as the workload identity of
    the job: ``identity_token`` or, in GitHub Actions with ``permissions: id-token: write``, the
    ambient OIDC token. Never starts an interactive login. Needs Sigstore's public services."""
    sign(artifact, bundle, SigningMethod("sigstore", identity_token=identity_token), digests=digests)


def resource_digests(files: Sequence[FileDigest], *, is_file: bool) -> dict[str, str]:
    """The resource names and sha256 to sign, from the digests register computed while copying
    the artifact into the cache: the bytes signed are the bytes registered."""
    if is_file:
        return {SINGLE_FILE: files[0].sha256}
    return {f.relpath: f.sha256 for f in files}


def _keyless(identity_token: str | None) -> Any:
    sigstore = _lib("model_signing._signing.sign_sigstore")
    token = identity_token
    if not token:
        oidc = _lib("sigstore.oidc")
        try:
            token = oidc.detect_credential(sigstore._DEFAULT_CLIENT_ID)  # the client id model_signing uses
        except Exception as exc:  # sigstore's ambient detection raises its own errors
            raise SignatureError(f"no OIDC identity token: {_first_line(exc)}", field="--sign-keyless",
                                 fix="in GitHub Actions grant the job 'permissions: id-token: write'") \
                from exc
    if not token:
        raise SignatureError("no OIDC identity token in this environment", field="--sign-keyless",
                             fix="keyless signing runs in GitHub Actions with 'permissions: id-token: "
                                 "write'; elsewhere sign with --sign-key")
    try:
        return sigstore.Signer(identity_token=token, use_ambient_credentials=False)
    except Exception as exc:  # the trust root comes from Sigstore's TUF repository
        raise ServiceError(f"cannot reach Sigstore: {_first_line(exc)}",
                           fix="keyless signing needs Sigstore's public services; retry, or sign with "
                               "--sign-key") from exc


def _manifest(name: str, digests: Mapping[str, str]) -> Any:
    """model_signing's manifest of the artifact from its files' sha256: ``method: files``,
    ``sha256``, no links, nothing ignored (see the module's docstring)."""
    manifest = _lib("model_signing.manifest")
    hashing = _lib("model_signing._hashing.hashing")
    serialization = manifest._FileSerialization("sha256", False, frozenset())  # the one
    # way to state "nothing ignored": the public hashing.Config always adds .git and the like
    items = [manifest.FileManifestItem(path=Path(name), digest=hashing.Digest("sha256", bytes.fromhex(sha)))
             for name, sha in sorted(digests.items())]
    return manifest.Manifest(name or "model", items, serialization)


def _refuse_inside(artifact: Path, bundle: Path) -> None:
    try:
        inside = artifact.is_dir() and bundle.resolve().is_relative_to(artifact.resolve())
    except OSError:
        inside = False
    if inside:
        raise SignatureError("the bundle would be inside the artifact it signs", file=str(bundle),
                             fix="write the bundle beside the artifact, not in it")


def _with_key_errors(make: Any, key: Path) -> Any:
    try:
        return make()
    except TypeError as exc:  # cryptography: an encrypted key without a password, or the reverse
        encrypted = "encrypted" in str(exc) and "not encrypted" not in str(exc)
        raise SignatureError("the private key is encrypted and no password was given" if encrypted
                             else "a password was given but the private key is not encrypted", file=str(key),
                             fix="set MODELREG_SIGN_KEY_PASSWORD to the key's password" if encrypted
                             else "unset MODELREG_SIGN_KEY_PASSWORD") from exc
    except ValueError as exc:
        text = _first_line(exc)
        if "decrypt" in text.lower() or "password" in text.lower():
            raise SignatureError("wrong password for the private key", file=str(key),
                                 fix="set MODELREG_SIGN_KEY_PASSWORD to the key's password") from exc
        raise SignatureError(f"cannot sign with this key: {text}", file=str(key),
                             fix="use an EC private key in PEM (openssl ecparam -name prime256v1 -genkey "
                                 "-noout -out signing.pem) and its own certificate") from exc
    except Exception as exc:  # cryptography raises UnsupportedAlgorithm and the like
        raise SignatureError(f"cannot sign with this key: {_first_line(exc)}", file=str(key),
                             fix="use an EC private key in PEM (openssl ecparam -name prime256v1 -genkey "
                                 "-noout -out signing.pem)") from exc


# --- small helpers --------------------------------------------------------------------------------


def _lib(module: str) -> Any:
    """A module of the signing libraries, imported on first use; a clear error when missing."""
    try:
        if module.startswith("model_signing."):
            _package_without_its_init()
        return importlib.import_module(module)
    except ImportError as exc:
        raise ModelregError(f"signing needs the model-signing package ({exc.name} is missing)",
                            fix=INSTALL_FIX) from exc


def _package_without_its_init() -> None:
    """Register ``model_signing`` as a bare package (its ``__path__``, not its ``__init__``) so
    that importing the modules used here does not run the package's ``__init__``, which imports
    its high-level API and with it Sigstore's network client, TUF and the like: half of the
    library's import time (measured by bench/sign.py), which a key or a certificate never needs.
    Submodules import as usual; keyless signing imports Sigstore through its own module."""
    if "model_signing" in sys.modules:
        return
    spec = importlib.util.find_spec("model_signing")
    if spec is None or spec.submodule_search_locations is None:
        raise ImportError("No module named 'model_signing'", name="model_signing")
    package = importlib.util.module_from_spec(spec)  # the module, its __init__ not executed
    sys.modules["model_signing"] = package


def _readable(path: Path | None, what: str) -> Path:
    if path is None:
        raise SignatureError(f"no {what} given", field="--sign", fix=f"name the {what} file (PEM)")
    if not path.is_file():
        raise SignatureError(f"no {what} file", file=str(path), fix=f"name an existing {what} file (PEM)")
    return path


def _read_pem(path: Path, what: str) -> str:
    try:
        text = _readable(path, what).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SignatureError(f"cannot read the {what}: {_first_line(exc)}", file=str(path),
                             fix=f"name a {what} file in PEM") from exc
    if "-----BEGIN " not in text:
        raise SignatureError(f"not a PEM {what}", file=str(path), fix=f"name a {what} file in PEM")
    return text


def _key_hint(pem: str) -> str:
    serialization = _lib("cryptography.hazmat.primitives.serialization")
    try:
        key = serialization.load_pem_public_key(pem.encode("utf-8"))
    except Exception as exc:  # cryptography raises ValueError or UnsupportedAlgorithm
        raise SignatureError(f"not a PEM public key: {_first_line(exc)}", field="signer",
                             fix="export it with: openssl ec -in signing.pem -pubout -out signing.pub") \
            from exc
    spki = key.public_bytes(encoding=serialization.Encoding.PEM,
                            format=serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(spki).hexdigest()


def _chain_root(chain: Sequence[str]) -> str:
    x509 = _lib("cryptography.x509")
    try:
        certificates = x509.load_pem_x509_certificates("\n".join(chain).encode("utf-8"))
    except Exception as exc:  # cryptography raises ValueError for a bad PEM
        raise SignatureError(f"not a PEM certificate chain: {_first_line(exc)}", field="signer",
                             fix="name the CA certificates in PEM") from exc
    root = next((c for c in certificates if c.subject == c.issuer), certificates[-1])
    return str(root.subject.rfc4514_string())


def _certificate_subject(raw: object, bundle: Path) -> str:
    x509 = _lib("cryptography.x509")
    try:
        leaf = x509.load_der_x509_certificate(base64.b64decode(str(raw), validate=True))
    except Exception as exc:  # base64 and DER parsing raise several kinds
        raise SignatureError("malformed bundle: its signing certificate does not parse", file=str(bundle),
                             fix="restore the bundle written at signing, or sign again") from exc
    return f"certificate {leaf.subject.rfc4514_string()}"


def _sigstore_identity(raw: object, bundle: Path) -> str:
    x509 = _lib("cryptography.x509")
    try:
        leaf = x509.load_der_x509_certificate(base64.b64decode(str(raw), validate=True))
        names = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        identities = [str(v) for v in names.get_values_for_type(x509.UniformResourceIdentifier)] + \
                     [str(v) for v in names.get_values_for_type(x509.RFC822Name)]
    except Exception as exc:  # base64 and DER parsing raise several kinds
        raise SignatureError("malformed bundle: its Sigstore certificate does not parse", file=str(bundle),
                             fix="restore the bundle written at signing, or sign again") from exc
    return f"Sigstore identity {identities[0] if identities else '(none)'}"


def _is_sha256(value: object) -> bool:
    return isinstance(value, str) and len(value) == 64 and all(c in "0123456789abcdef" for c in value)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__

