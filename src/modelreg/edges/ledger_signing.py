"""Signatures on ledger records: DSSE envelopes made and checked, with a key or with Sigstore.

The only module that imports ``cryptography`` and ``sigstore`` for the ledger, lazily: reading
history without ``--verify`` never loads them.

Two methods (``docs/security.md``, "Signed decisions"):

- **A key**: an EC P-256 private key (PEM), the same kind ``docs/signing.md`` has users make for
  artifacts, from an environment variable (``MODELREG_LEDGER_KEY``, a repository secret; never
  an argument, never printed). The envelope is made and checked with ``cryptography`` and the
  DSSE spec's pre-authentication encoding (:func:`pae`, a few lines): ECDSA P-256 SHA-256, the
  DER signature base64 in the envelope, ``keyid`` the sha256 of the key's DER form. The
  well-kept library that does key-based DSSE, ``securesystemslib`` (in-toto's and TUF's), was
  weighed and not taken: it parses the public key again for every signature it checks (eight
  times slower than the check itself: 1.2 ms against 0.15 ms a record, which a ledger of
  100,000 records feels), and it accepts a signature only when its ``keyid`` matches its own
  (securesystemslib issue #416, not what the DSSE spec says). The tests check our envelopes
  with it, as a third party.
- **Keyless**, in GitHub Actions: ``sigstore``'s DSSE signing with the job's OIDC identity (a
  short-lived Fulcio certificate, the signature logged in Rekor). The line holds the Sigstore
  bundle, whose envelope is the same DSSE shape. Verified offline against the trusted root
  ``sigstore`` ships (or caches), by certificate identity and issuer. Needs the public Sigstore
  services to sign: not exercised by the tests here.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from modelreg.errors import InputError, ModelregError, ServiceError

PAYLOAD_TYPE = "application/vnd.in-toto+json"
#: the environment variable holding the private key (PEM) the deploy job signs with
KEY_ENV = "MODELREG_LEDGER_KEY"
#: its password, if the key is encrypted
PASSWORD_ENV = "MODELREG_LEDGER_KEY_PASSWORD"
_INSTALL = "pip install 'modelreg[sign]'"


class LedgerSignatureError(ModelregError):
    """A ledger record's signature does not verify (the record is then *forged*)."""


@dataclass(frozen=True)
class LedgerSigner:
    """Who may sign deployment records (``ledger: signers:`` in ``modelreg.yaml``)."""

    kind: Literal["key", "sigstore"]
    #: PEM text of the public key (kind ``key``)
    public_key: str | None = None
    #: the certificate identity, e.g. a workflow's path at a ref (kind ``sigstore``)
    identity: str | None = None
    #: the OIDC issuer (kind ``sigstore``)
    issuer: str | None = None
    #: where the signer was named, for messages (``modelreg.yaml: ledger.signers[0]``)
    source: str = ""

    def describe(self) -> str:
        if self.kind == "key":
            return f"key {fingerprint(self.public_key or '')}"
        return f"{self.identity} (issuer {self.issuer})"


def fingerprint(pem: str) -> str:
    """``SHA256:`` and the first 16 hex digits of the sha256 of the key's DER form (what a user
    compares with ``openssl pkey -pubin -outform DER | sha256sum``)."""
    from cryptography.hazmat.primitives import serialization

    try:
        key = serialization.load_pem_public_key(pem.encode("utf-8"))
    except ValueError:
        return "(not a public key)"
    der = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return "SHA256:" + hashlib.sha256(der).hexdigest()[:16]


def check_public_key(pem: str, source: str) -> None:
    """Refuse what is not an EC P-256 public key in PEM, naming where it was given."""
    _require()
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    try:
        key = serialization.load_pem_public_key(pem.encode("utf-8"))
    except (ValueError, TypeError):
        raise InputError("is not a PEM public key", file=source.split(":")[0],
                         field=source.partition(": ")[2] or None,
                         fix="give the public key: openssl ec -in ledger.pem -pubout") from None
    if not isinstance(key, ec.EllipticCurvePublicKey) or not isinstance(key.curve, ec.SECP256R1):
        raise InputError("is not an EC P-256 key", file=source.split(":")[0],
                         field=source.partition(": ")[2] or None,
                         fix="make one: openssl ecparam -name prime256v1 -genkey -noout -out ledger.pem")


# --- signing --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sealed:
    """A statement signed: ``kind`` is ``dsse`` (a key) or ``sigstore`` (a Sigstore bundle)."""

    kind: Literal["dsse", "sigstore"]
    envelope: dict[str, Any]
    #: who signed, in words
    signer: str


def pae(payload_type: str, payload: bytes) -> bytes:
    """DSSE's pre-authentication encoding: what is signed (the type and the payload, each with
    its length, so neither can be cut into the other)."""
    kind = payload_type.encode("utf-8")
    return b"DSSEv1 %d %b %d %b" % (len(kind), kind, len(payload), payload)


def key_id(public: Any) -> str:
    """The sha256 of a public key's DER form, in hex: the envelope's ``keyid`` (a hint only)."""
    from cryptography.hazmat.primitives import serialization

    der = public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(der).hexdigest()


def sign_with_key(payload: bytes, pem: str, password: bytes | None = None) -> Sealed:
    """A DSSE envelope over ``payload`` (an in-toto statement), signed with the PEM private key."""
    _require()
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    try:
        key = serialization.load_pem_private_key(pem.encode("utf-8"), password=password)
    except (ValueError, TypeError) as exc:
        reason = "a wrong or missing password" if "password" in str(exc).lower() or "encrypted" in \
            str(exc).lower() else "not a PEM private key"
        raise InputError(f"the ledger key in ${KEY_ENV} does not load ({reason})",
                         fix=f"put the EC P-256 private key PEM in the {KEY_ENV} secret "
                         f"(and its password in {PASSWORD_ENV}, if it has one)") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(key.curve, ec.SECP256R1):
        raise InputError(f"the ledger key in ${KEY_ENV} is not an EC P-256 key",
                         fix="make one: openssl ecparam -name prime256v1 -genkey -noout -out ledger.pem")
    signature = key.sign(pae(PAYLOAD_TYPE, payload), ec.ECDSA(hashes.SHA256()))
    public = key.public_key()
    envelope = {"payload": base64.b64encode(payload).decode("ascii"), "payloadType": PAYLOAD_TYPE,
                "signatures": [{"keyid": key_id(public), "sig": base64.b64encode(signature).decode("ascii")}]}
    return Sealed("dsse", envelope, f"key SHA256:{key_id(public)[:16]}")


def sign_keyless(payloads: list[bytes], identity_token: str | None = None) -> list[Sealed]:
    """A Sigstore bundle per payload, each holding a DSSE envelope over it, signed with the
    workload identity of this GitHub Actions job (``permissions: id-token: write``), or
    ``identity_token``: one certificate for them all. Needs Fulcio and Rekor: a failure to reach
    them is a ServiceError (exit 4)."""
    _require()
    try:
        from sigstore import dsse
    except ImportError:
        raise InputError("keyless ledger signing needs sigstore", fix=_INSTALL) from None
    from sigstore.models import ClientTrustConfig
    from sigstore.oidc import IdentityError, IdentityToken, detect_credential
    from sigstore.sign import SigningContext

    try:
        token = identity_token or detect_credential()
    except IdentityError as exc:
        raise ServiceError(f"no GitHub Actions identity to sign the ledger with: {exc}",
                           fix="give the deploy job `permissions: id-token: write`, or set "
                           f"{KEY_ENV}") from None
    if not token:
        raise InputError("keyless ledger signing needs a GitHub Actions identity token",
                         fix=f"run in GitHub Actions with `id-token: write`, or set {KEY_ENV}")
    try:
        identity = IdentityToken(token)
        context = SigningContext.from_trust_config(ClientTrustConfig.production())
        with context.signer(identity, cache=True) as signer:
            bundles = [signer.sign_dsse(dsse.Statement(payload)) for payload in payloads]
    except Exception as exc:  # sigstore's network and identity errors have no common base
        raise ServiceError(f"Sigstore could not sign the ledger records: {exc}",
                           fix="check that the job can reach fulcio.sigstore.dev and rekor.sigstore.dev, "
                           f"or sign with a key ({KEY_ENV})") from None
    said = f"{identity.identity} (issuer {identity.issuer})"
    return [Sealed("sigstore", json.loads(bundle.to_json()), said) for bundle in bundles]


def signer_from_environment(environ: dict[str, str] | None = None) -> tuple[str, bytes | None] | None:
    """The PEM private key and its password from the job's environment; None without one."""
    env = os.environ if environ is None else environ
    pem = env.get(KEY_ENV, "")
    if not pem.strip():
        return None
    password = env.get(PASSWORD_ENV)
    return pem, password.encode("utf-8") if password else None


# --- verifying ------------------------------------------------------------------------------


def payload_of(kind: str, envelope: Any) -> bytes | None:
    """The payload an envelope (or a Sigstore bundle's envelope) carries, unverified; None when
    it is not one."""
    inner = envelope.get("dsseEnvelope") if kind == "sigstore" and isinstance(envelope, dict) else envelope
    if not isinstance(inner, dict) or inner.get("payloadType") != PAYLOAD_TYPE:
        return None
    text = inner.get("payload")
    if not isinstance(text, str) or not isinstance(inner.get("signatures"), list):
        return None
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (ValueError, UnicodeEncodeError):
        return None


def verify(kind: str, envelope: dict[str, Any], signers: Sequence[LedgerSigner]) -> LedgerSigner:
    """The allowed signer whose signature over the envelope's payload verifies; raises
    LedgerSignatureError with why when none does (a bad signature, a signer not allowed)."""
    _require()
    if kind == "dsse":
        return _verify_key(envelope, [s for s in signers if s.kind == "key"])
    if kind == "sigstore":
        try:
            import sigstore  # noqa: F401 - only whether it is there
        except ImportError:
            raise InputError("verifying a keyless (Sigstore) ledger record needs sigstore",
                             fix=_INSTALL) from None
        return _verify_sigstore(envelope, [s for s in signers if s.kind == "sigstore"])
    raise LedgerSignatureError(f"unknown signature kind {kind!r}")


def _verify_key(envelope: dict[str, Any], signers: Sequence[LedgerSigner]) -> LedgerSigner:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec

    payload = payload_of("dsse", envelope)
    signatures = [s.get("sig") for s in envelope.get("signatures", []) if isinstance(s, dict)]
    if payload is None or not signatures or not all(isinstance(s, str) for s in signatures):
        raise LedgerSignatureError("its signature envelope is malformed")
    if not signers:
        raise LedgerSignatureError("it is signed with a key, and no key may sign ledger records")
    message = pae(PAYLOAD_TYPE, payload)
    for text in signatures:
        try:
            signature = base64.b64decode(str(text).encode("ascii"), validate=True)
        except (ValueError, UnicodeEncodeError):
            raise LedgerSignatureError("its signature is not base64") from None
        for signer in signers:  # every allowed key is tried: a keyid is a hint, not a proof
            try:
                _public_key(signer.public_key or "").verify(signature, message, ec.ECDSA(hashes.SHA256()))
            except InvalidSignature:
                continue
            return signer
    hint = next((s.get("keyid") for s in envelope.get("signatures", []) if isinstance(s, dict)), None)
    named = {key_id(_public_key(s.public_key or "")) for s in signers}
    if isinstance(hint, str) and hint in named:
        raise LedgerSignatureError("its signature by an allowed key does not verify: the statement was "
                                   "changed after signing")
    who = f"key {str(hint)[:16]}" if hint else "an unnamed key"
    raise LedgerSignatureError("its signature does not verify with any key allowed to sign ledger records "
                               f"(signed by {who}: a signer not allowed, or a statement changed after "
                               "signing)")


@functools.lru_cache(maxsize=64)
def _public_key(pem: str) -> Any:
    """The signer's key, parsed once per key, not once per record."""
    from cryptography.hazmat.primitives import serialization

    return serialization.load_pem_public_key(pem.encode("utf-8"))


def _verify_sigstore(bundle: dict[str, Any], signers: Sequence[LedgerSigner]) -> LedgerSigner:
    from sigstore.errors import VerificationError
    from sigstore.models import Bundle, InvalidBundle
    from sigstore.verify import Verifier, policy

    if not signers:
        raise LedgerSignatureError("it is signed with Sigstore, and no identity may sign ledger records")
    try:
        parsed = Bundle.from_json(json.dumps(bundle))
    except (InvalidBundle, ValueError):
        raise LedgerSignatureError("its Sigstore bundle is malformed") from None
    verifier = Verifier.production(offline=True)
    problems = []
    for signer in signers:
        try:
            verifier.verify_dsse(parsed, policy.Identity(identity=signer.identity or "",
                                                         issuer=signer.issuer or ""))
        except VerificationError as exc:
            problems.append(str(exc))
            continue
        return signer
    raise LedgerSignatureError(f"its Sigstore signature does not verify for an allowed identity "
                               f"({problems[-1]})")


def _require() -> None:
    try:
        import cryptography  # noqa: F401 - only whether it is there
    except ImportError:
        raise InputError("signing and verifying ledger records needs cryptography (and sigstore, keyless)",
                         fix=_INSTALL) from None
