"""How the deploy job signs the ledger records it writes, and how it believed the ones it read.

With the key in ``MODELREG_LEDGER_KEY`` (loaded when the run starts, so a bad key fails before any
target moves); else keyless with Sigstore, in GitHub Actions, when ``modelreg.yaml`` names a
Sigstore identity; else not at all, and the run says so (and, when signers are named, that its
records will not be believed). The envelopes are ``edges/ledger_signing.py``'s; which records a
run believes is ``read/ledger_trust.py``'s.
"""

from __future__ import annotations

import os

from modelreg.edges import ledger
from modelreg.errors import ModelregError
from modelreg.read.ledger_trust import Trust


def believed_how(trust: Trust) -> str:
    """How a run believed the ledger, in words (what ``deploy`` prints beside the ledger's word)."""
    if trust.configured:
        return f"only records verified against the signers {trust.where} names"
    return f"every record, without a signature check: {trust.where} names no ledger signers"


class Sealer:
    """How this run signs the records it writes (see the module)."""

    def __init__(self, trust: Trust) -> None:
        from modelreg.edges import ledger_signing

        self.trust = trust
        self.key = ledger_signing.signer_from_environment()
        self.keyless = self.key is None and bool(os.environ.get("ACTIONS_ID_TOKEN_REQUEST_URL")) and any(
            s.kind == "sigstore" for s in trust.signers)
        #: why the records this run signs will not be believed, if they will not
        self.unnamed = ""
        if self.key is not None:  # loads it: a wrong key or password fails here, before any deployment
            probe = ledger_signing.sign_with_key(b"{}", *self.key)
            if trust.configured and not any(
                    s.kind == "key" and ledger_signing.fingerprint(s.public_key or "") in probe.signer
                    for s in trust.signers):
                self.unnamed = (f", which {trust.where} does not name as a ledger signer: these records will "
                                "not be believed (add its public key to ledger.signers)")

    def seal(self, records: list[ledger.LedgerRecord]) -> tuple[list[ledger.LedgerRecord], str | None]:
        """The records signed, and how, in words."""
        from modelreg.edges import ledger_signing

        if not records:
            return records, None
        if self.key is None and not self.keyless:
            said = (f"not signed: {ledger_signing.KEY_ENV} is not set")
            if self.trust.configured:
                said += (f", and {self.trust.where} names signers: these records will not be believed "
                         "(a later run redeploys what they record)")
            return records, said
        payloads = [record.payload() for record in records]
        key = self.key
        try:
            sealed = ([ledger_signing.sign_with_key(payload, *key) for payload in payloads] if key is not None
                      else ledger_signing.sign_keyless(payloads))
        except ModelregError as exc:  # Sigstore out of reach: the targets moved, so the records are kept
            return records, (f"not signed: {exc}; these records will not be believed where "
                             f"{self.trust.where} names signers")
        return ([ledger.seal(record, s.kind, s.envelope) for record, s in zip(records, sealed, strict=True)],
                f"signed by {sealed[0].signer}{self.unnamed}")
