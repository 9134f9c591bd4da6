"""Whether a model's versions must be signed, and by whom: ``signing`` in a policy.

A pure decision over files read at a revision. A signer named by a path is read
**at the revision of the policy that names it**: the base's policy trusts the
base's key file, so a pull request that replaces ``policies/keys/train.pub``
is still judged by the key the base trusted. A pull request cannot relax the
rule that judges it either: signing is required when the policy before the
change or after it requires it, and when the one before requires it, its
signers are the ones allowed (:func:`for_change`). Deploy, ``status`` and
``serve`` read the rule at the commit they act on (:func:`at`).

The PEM blocks are checked here without a cryptography library (its
structure: label, base64, one DER sequence); whether a key is one a signature
can be checked with is ``edges/signing.py``'s to say when it verifies.
"""

from __future__ import annotations

import base64
import binascii
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelreg.edges.signing import Signer, SignerKind, Verified
from modelreg.edges.snapshot import Snapshot
from modelreg.errors import InputError, ModelregError
from modelreg.formats import documents, models, names
from modelreg.policies import select

if TYPE_CHECKING:
    from modelreg.read.change import Change

_PEM = re.compile(r"-----BEGIN ([A-Z0-9 ]+)-----\s(.*?)-----END ([A-Z0-9 ]+)-----", re.S)
#: what each kind of signer is made of, by PEM label
_LABELS = {"key": "PUBLIC KEY", "certificate": "CERTIFICATE"}
_HOW = {"key": "`openssl pkey -in KEY -pubout` writes it", "certificate": "the CA's certificate, as PEM"}
MAX_PEM_FILE = 1 << 20


@dataclass(frozen=True)
class Trusted:
    """One allowed signer, its PEM read from the revision of the policy that names it."""

    kind: SignerKind
    public_key: str | None = None  # PEM
    certificate_chain: tuple[str, ...] = ()  # PEM, one certificate each
    identity: str | None = None
    issuer: str | None = None
    #: where it is written: the policy file and field, and the key file with its revision
    source: str = ""

    def signer(self) -> Signer:
        """What ``edges/signing.verify`` takes."""
        return Signer(self.kind, self.public_key, self.certificate_chain, self.identity, self.issuer)


@dataclass(frozen=True)
class Rule:
    """What a version must show: a signature (``required``) by one of ``signers``."""

    required: bool
    signers: tuple[Trusted, ...]
    #: the policy the signers come from, as the report names it (``high-risk (on main)``)
    policy: str

    def describe(self) -> str:
        if not self.required:
            return f"policy {self.policy} does not require signing"
        return f"policy {self.policy} requires a signature by one of {len(self.signers)} signer(s)"


NOT_REQUIRED = Rule(False, (), "")


def problems(snapshot: Snapshot, path: str, policy: models.Policy) -> list[InputError]:
    """What keeps a policy's ``signing`` from being applied, each naming the file, field and fix
    (the schema gate reports them)."""
    found: list[InputError] = []
    rules = policy.signing
    if rules.required and not rules.signers:
        found.append(InputError("signing is required but no signer is allowed", file=path,
                                field="signing.signers", fix="list the public keys, certificate authorities "
                                "or Sigstore identities whose signatures count (docs/signing.md)"))
    for index, signer in enumerate(rules.signers):
        try:
            _trusted(snapshot, path, index, signer)
        except InputError as exc:
            found.append(exc)
    return found


def signers(snapshot: Snapshot, path: str, policy: models.Policy) -> tuple[Trusted, ...]:
    """The policy's signers with their PEM read at ``snapshot``. Raises InputError."""
    return tuple(_trusted(snapshot, path, i, s) for i, s in enumerate(policy.signing.signers))


def rule(snapshot: Snapshot, selected: select.Selected) -> Rule:
    """The rule of one selected policy, its key files read at ``snapshot``. Raises InputError."""
    # the file's stem: a policy's name has no space, the base's is shown as "NAME (on main)"
    path = f"{names.POLICY_DIR}/{selected.name.split(' ', 1)[0]}.yaml"
    return Rule(selected.policy.signing.required, signers(snapshot, path, selected.policy), selected.name)


def at(snapshot: Snapshot, model: str, version_doc: dict[str, Any]) -> Rule:
    """The rule that governs ``model``'s version at ``snapshot`` (deploy, status, serve): the
    policy and its key files of that one revision. Raises InputError when it cannot be read."""
    policies, _ = select.load_all(snapshot)
    selected = select.select(policies, select.default_name(snapshot), model,
                             documents.mapping(snapshot, names.model_file(model)) or {},
                             select.tags_of(version_doc))
    return rule(snapshot, selected)


def for_change(change: Change, model: str, version_doc: dict[str, Any]) -> Rule:
    """The stricter of the rule before the change and after it (raises InputError).

    Before the change means every policy the base would apply: the one that governed the model
    (``select.governing``; for a new model, the one the base's files select for it) and the
    base's copy of the policy the change selects. The first of those that requires signing
    gives the signers, read at the base; when none does, the change's own policy decides.
    """
    tags = select.tags_of(version_doc)
    chosen = select.governing(change, model, tags)
    for before in _before(change, chosen):
        if before.policy.signing.required:
            return rule(change.base, before)
    return rule(change.head, chosen[0])


def _before(change: Change, chosen: list[select.Selected]) -> list[select.Selected]:
    label = f" (on {change.base_ref})"
    found = chosen[1:]
    base_policies, _ = select.load_all(change.base)
    name = chosen[0].name
    if name in base_policies:
        found.append(select.Selected(f"{name}{label}", base_policies[name]))
    return found


def _trusted(snapshot: Snapshot, path: str, index: int, signer: Any) -> Trusted:
    field = f"signing.signers.{index}"
    if signer.kind == "sigstore":
        return Trusted("sigstore", identity=signer.identity, issuer=signer.issuer, source=f"{path} {field}")
    if signer.kind == "key":
        pem, where = _pem(snapshot, path, f"{field}.public_key", signer.public_key, "key")
        if len(pem) != 1:
            raise InputError(f"holds {len(pem)} public keys; one signer is one key", file=path,
                             field=f"{field}.public_key", fix="list each key as a signer of its own")
        return Trusted("key", public_key=pem[0], source=where)
    chain: list[str] = []
    wheres = []
    for i, item in enumerate(signer.certificate_chain):
        pem, where = _pem(snapshot, path, f"{field}.certificate_chain.{i}", item, "certificate")
        chain += pem
        wheres.append(where)
    return Trusted("certificate", certificate_chain=tuple(chain), source=", ".join(wheres))


def _pem(snapshot: Snapshot, path: str, field: str, value: str, kind: str) -> tuple[list[str], str]:
    """The PEM blocks of ``value`` (written inline, or a file in the registry), and where they are."""
    if value.lstrip().startswith("-----BEGIN"):
        text, where, file = value, f"{path} {field}", path
    else:
        try:
            data = snapshot.read(value)
        except InputError as exc:  # a link, a directory, a path out of the registry
            raise InputError(f"names {value}, which cannot be read: {exc.detail}", file=path, field=field,
                             fix="name a PEM file committed in the registry (e.g. policies/keys/NAME.pub)") \
                from exc
        if data is None:
            raise InputError(f"names {value}, which is not in the registry at this revision", file=path,
                             field=field, fix=f"commit the PEM file at {value}, or write the PEM inline")
        if len(data) > MAX_PEM_FILE:
            raise InputError(f"names {value}, which is {len(data):,} bytes: not a PEM file", file=path,
                             field=field, fix="name the PEM file itself")
        revision = snapshot.commit[:12] if snapshot.commit else "the work tree"
        text, where, file = data.decode("utf-8", "replace"), f"{value} at {revision}", value
    return _blocks(text, kind, file, path, field), where


def _blocks(text: str, kind: str, file: str, path: str, field: str) -> list[str]:
    want = _LABELS[kind]
    found = list(_PEM.finditer(text))
    where = "" if file == path else f" ({file})"
    if not found:
        raise InputError(f"holds no PEM block{where}", file=path, field=field,
                         fix=f"write a -----BEGIN {want}----- block; {_HOW[kind]}")
    blocks = []
    for match in found:
        label, body, end = match.group(1), match.group(2), match.group(3)
        if "PRIVATE" in label:
            raise InputError(f"holds a private key{where}: never commit one", file=path, field=field,
                             fix="remove it from git history, make a new key pair, and write its public "
                             "key (`openssl pkey -in KEY -pubout`)")
        if label != end or label != want:
            raise InputError(f"holds a {label} block{where}, not a {want}", file=path, field=field,
                             fix=f"write a -----BEGIN {want}----- block; {_HOW[kind]}")
        if not _der_sequence(body):
            raise InputError(f"holds a malformed {want} block{where}: its base64 is not one DER sequence",
                             file=path, field=field, fix=f"copy the PEM again whole; {_HOW[kind]}")
        blocks.append(match.group(0) + "\n")
    return blocks


def _der_sequence(body: str) -> bool:
    """True when ``body`` is base64 of exactly one DER SEQUENCE (what every key and certificate
    in PEM is) holding a SEQUENCE first (the algorithm, or the certificate's body)."""
    try:
        der = base64.b64decode("".join(body.split()), validate=True)
    except (binascii.Error, ValueError):
        return False
    outer = _length(der, 0)
    if outer is None or der[0] != 0x30 or outer[0] + outer[1] != len(der):
        return False
    inner = _length(der, outer[0])
    return inner is not None and der[outer[0]] == 0x30 and inner[0] + inner[1] <= len(der)


def _length(der: bytes, at: int) -> tuple[int, int] | None:
    """(where the content of the element at ``at`` starts, its length), or None when truncated."""
    if at + 2 > len(der):
        return None
    first = der[at + 1]
    if first < 0x80:
        return at + 2, first
    count = first & 0x7F
    if count == 0 or count > 4 or at + 2 + count > len(der):
        return None
    return at + 2 + count, int.from_bytes(der[at + 2:at + 2 + count], "big")


@dataclass(frozen=True)
class Verdict:
    """Whether a version's bytes carry the signature its policy requires, checked in this call."""

    rule: Rule
    #: who signed, in words, when the bundle verified in this call
    signed_by: str | None = None
    #: why it did not verify (one line with the fix), when the rule requires it
    problem: str | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None


def verify_version(snapshot: Snapshot, model: str, number: int, doc: dict[str, Any],
                   artifact: Path) -> Verdict:
    """Check ``artifact`` (bytes about to be served, or served) against the bundle and the rule of
    the policy at ``snapshot`` (deploy: the deployed commit; status and serve: what they read).
    Only a policy that requires signing is enforced: otherwise the verdict is ok, unchecked."""

    try:
        found = at(snapshot, model, doc)
    except InputError as exc:
        return Verdict(NOT_REQUIRED, problem=f"the signing rule cannot be read: {exc}")
    if not found.required:
        return Verdict(found)
    name = doc.get("signature")
    where = f"{names.version_dir(model, number)}/{name}"
    try:
        bundle = snapshot.read(where) if isinstance(name, str) and names.FILE_NAME.fullmatch(name) else None
    except InputError as exc:
        return Verdict(found, problem=f"{where}: the bundle cannot be read: {exc.detail}")
    if bundle is None:
        return Verdict(found, problem=f"models:/{model}/{number} is not signed ({found.describe()}); "
                       "register and sign a new version (`modelreg register --sign-key FILE`), then "
                       "move the alias to it")
    try:
        verified, source = check_bundle(found, artifact, bundle, (doc.get("artifact") or {}).get("sha256"))
    except ModelregError as exc:  # SignatureError, or the signing extra missing
        fix = f"; {exc.fix}" if exc.fix else ""
        detail = exc.detail if isinstance(exc, InputError) else exc.message
        return Verdict(found, problem=f"{where}: {detail}{fix}")
    return Verdict(found, signed_by=f"{verified.signed_by} ({source})" if source else verified.signed_by)


def check_bundle(rule: Rule, artifact: Path, bundle: bytes, sha256: object) -> tuple[Verified, str]:
    """The bundle's bytes (as read from git) verified against ``artifact``'s bytes, re-hashed now,
    and the rule's signers; with where the signer that matched was named. Raises SignatureError
    (or the error of the signing extra missing)."""
    from modelreg.edges.signing import verify  # model_signing: only where a policy requires it

    with tempfile.TemporaryDirectory(prefix="modelreg-bundle-") as tmp:
        copy = Path(tmp) / "bundle.sig"
        copy.write_bytes(bundle)
        verified = verify(artifact, copy, [t.signer() for t in rule.signers],
                          expected_sha256=str(sha256) if sha256 else None)
    return verified, next((t.source for t in rule.signers if t.signer() == verified.signer), "")
