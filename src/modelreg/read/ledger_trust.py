"""Whether a ledger record is the deploy job's: its signature, against the signers main allows.

``modelreg.yaml`` names who may sign deployment records (``ledger: signers:``),
read at main's revision (a key file too), so a branch or a pull request cannot
add a signer before it is merged. A record is judged (:meth:`Trust.judge`):

- **verified**: its signature verifies, by a signer main allows, and nothing on
  its line disagrees with its statement (``edges/ledger.py``'s ``Seal``); the
  readers add the last condition, that git bears out its move
  (``read/ledger_match.py``): a signed record git does not bear out is
  *unverified*, with why;
- **unverified**: no signature, or no signers configured;
- **forged**: a signature that does not verify, a signer not allowed, or a
  statement that disagrees with the line or the note it sits on.

Without ``--verify`` nothing is checked, and each fact says so (*unchecked*).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelreg.edges import git, ledger
from modelreg.edges.snapshot import Revision
from modelreg.errors import InputError, NotFoundError
from modelreg.formats import models, names
from modelreg.formats.text import escaped

if TYPE_CHECKING:
    from modelreg.edges.ledger_signing import LedgerSigner
    from modelreg.edges.snapshot import Snapshot

VERIFIED, UNVERIFIED, FORGED, UNCHECKED = "verified", "unverified", "forged", "unchecked"
#: most trusted first: where several records tell one fact, the best is the one shown
RANK = {VERIFIED: 0, UNCHECKED: 1, UNVERIFIED: 2, FORGED: 3}


@dataclass(frozen=True)
class Verdict:
    """A record's signature, judged: ``state`` (one of the four words), why, and whose it is."""

    state: str
    why: str
    signer: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"signature": self.state, "signature_detail": self.why, "signer": self.signer}

    def short(self) -> str:
        return self.state if self.signer is None else f"{self.state} ({self.signer})"


UNCHECKED_VERDICT = Verdict(UNCHECKED, "signatures not checked (history, audit: run with --verify)")


class Trust:
    """The signers main allows, and each record's verdict (judged once per record)."""

    def __init__(self, signers: list[LedgerSigner], where: str) -> None:
        self.signers = signers
        #: where the signers were read, in words (``modelreg.yaml at origin/main (1a2b3c4d5e6f)``)
        self.where = where
        self._seen: dict[int, tuple[ledger.LedgerRecord, Verdict]] = {}

    @property
    def configured(self) -> bool:
        return bool(self.signers)

    def judge(self, record: ledger.LedgerRecord) -> Verdict:
        """The record's signature, judged (git's part is the reader's: see the module)."""
        found = self._seen.get(id(record))
        if found is not None and found[0] is record:
            return found[1]
        verdict = self._judge(record)
        self._seen[id(record)] = (record, verdict)
        return verdict

    def _judge(self, record: ledger.LedgerRecord) -> Verdict:
        seal = record.seal
        if seal is None:
            return Verdict(UNVERIFIED, "not signed" + ("" if self.configured else
                                                       f"; no signers are named in {self.where}"))
        if seal.problem is not None:
            return Verdict(FORGED, seal.problem)
        if not self.configured:
            return Verdict(UNVERIFIED, f"signed, but no signers are named in {self.where} to check it by")
        from modelreg.edges.ledger_signing import LedgerSignatureError, verify

        try:
            signer = verify(seal.kind, seal.envelope, self.signers)
        except LedgerSignatureError as exc:
            return Verdict(FORGED, str(exc))
        return Verdict(VERIFIED, f"signed by {signer.describe()}, allowed in {self.where}", signer.describe())

    def believed(self, records: list[ledger.LedgerRecord]) -> tuple[list[ledger.LedgerRecord], list[str]]:
        """The records a decision may rest on, and why each other was disregarded: with signers
        configured, only verified ones; without, all (as before signing existed)."""
        if not self.configured:
            return records, []
        kept, why = [], []
        for record in records:
            verdict = self.judge(record)
            if verdict.state == VERIFIED:
                kept.append(record)
            else:
                why.append(f"{describe(record)}: {verdict.state} ({verdict.why})")
        return kept, why


def describe(record: ledger.LedgerRecord) -> str:
    """A record in a few words, for the line that says it was disregarded."""
    what = f"deployment to {record.environment}" if record.kind == "deployment" else "move"
    before = f"v{record.before}" if record.before is not None else "(none)"
    after = f"v{record.after}" if record.after is not None else "(none)"
    return (f"ledger record of {escaped(record.time[:19])} ({what}: {record.model} {record.alias} {before} "
            f"-> {after}, {escaped(record.outcome[:40])}, at {record.commit[:12]})")


def at_main(root: str | Path) -> Trust:
    """The signers ``modelreg.yaml`` names on main (origin/main, else main; with neither, HEAD)."""
    from modelreg.read.change import find_base

    try:
        ref, commit = find_base(str(root), None)
    except NotFoundError:
        head = git.head_commit(Path(root))
        if head is None:
            return Trust([], names.CONFIG_FILE)
        ref, commit = "HEAD", head
    with Revision(str(root), commit, resolved=True) as snapshot:
        return of_snapshot(snapshot, f"{names.CONFIG_FILE} at {ref} ({commit[:12]})")


def of_snapshot(snapshot: Snapshot, where: str) -> Trust:
    """The signers of ``modelreg.yaml`` in ``snapshot``, key files read from the same snapshot."""
    config = models.load_config(snapshot)
    return Trust(signers(snapshot, config), where)


def signers(snapshot: Snapshot, config: models.RegistryConfig) -> list[LedgerSigner]:
    """``ledger.signers`` as signers to verify against; a key that does not load, or a key file
    not there, is an InputError naming the field and the fix (the schema gate reports it on the
    pull request that makes it)."""
    entries = list(config.ledger.signers)
    if not entries:
        return []
    from modelreg.edges.ledger_signing import LedgerSigner, check_public_key

    out = []
    for index, entry in enumerate(entries):
        source = f"{names.CONFIG_FILE}: ledger.signers[{index}]"
        if entry.kind == "sigstore":
            out.append(LedgerSigner("sigstore", identity=str(getattr(entry, "identity", "")),
                                    issuer=str(getattr(entry, "issuer", "")), source=source))
            continue
        value = str(getattr(entry, "public_key", ""))
        if value.lstrip().startswith("-----BEGIN"):
            pem = value
            check_public_key(pem, f"{source}.public_key")
        else:  # the path of a PEM file in the registry, read at the same revision
            data = snapshot.read(value)
            if data is None:
                where = snapshot.commit[:12] if snapshot.commit else "the work tree"
                raise InputError(f"names {value}, which is not in the registry at {where}",
                                 file=names.CONFIG_FILE, field=f"ledger.signers[{index}].public_key",
                                 fix="commit the public key there, or give the PEM inline")
            pem = data.decode("utf-8", "replace")
            check_public_key(pem, f"{value}: (named by {source})")
        out.append(LedgerSigner("key", public_key=pem, source=source))
    return out
