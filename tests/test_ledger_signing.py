"""Signed decisions: the deploy job signs each ledger record (an in-toto statement in a DSSE
envelope), and history, audit, the site, deploy and status judge each record by the signers
``modelreg.yaml`` on main names. Real keys (made here by ``cryptography``), real git, a real DVC
remote, a ``directory`` target and a ``command`` target (which cannot show what it serves: the
ledger's word is all there is, so a record believed there decides).

Every forgery is made by hand in git notes, as anyone who may push could: an unsigned record, a
record signed by a key not allowed, a valid envelope moved onto another record, a field edited
after signing."""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from modelreg.edges import ledger
from tests.helpers import Cli, commit_all, git, regenerate_workflows, register

Doc = dict[str, Any]


def _key() -> tuple[str, str]:
    private = ec.generate_private_key(ec.SECP256R1())
    pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    public = private.public_key().public_bytes(serialization.Encoding.PEM,
                                               serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    return pem, public


@pytest.fixture(scope="module")
def keys() -> dict[str, tuple[str, str]]:
    """The deploy job's key and another (a forger's), each (private PEM, public PEM)."""
    return {"job": _key(), "forger": _key()}


def set_config(root: Path, **values: object) -> None:
    path = root / "modelreg.yaml"
    path.write_text(yaml.safe_dump({**yaml.safe_load(path.read_text()), **values}, sort_keys=False))
    regenerate_workflows(root)


def set_aliases(root: Path, **aliases: int) -> None:
    path = root / "registry" / "fraud" / "model.yaml"
    doc = yaml.safe_load(path.read_text())
    doc["aliases"] = aliases
    path.write_text(yaml.safe_dump(doc, sort_keys=False))


@pytest.fixture
def signed(registry: Path, workdir: Path, tmp_path: Path, cli: Cli, keys: dict[str, tuple[str, str]],
           monkeypatch: pytest.MonkeyPatch) -> Path:
    """fraud v1-v3; production served from a directory target; the job's public key committed at
    keys/ledger.pub and named as the one ledger signer; its private key in MODELREG_LEDGER_KEY."""
    (registry / "keys").mkdir()
    (registry / "keys/ledger.pub").write_text(keys["job"][1])
    set_config(registry, environments={"production": {"alias": "production", "targets": [
        {"type": "directory", "path": str(tmp_path / "srv")}]}},
        ledger={"signers": [{"kind": "key", "public_key": "keys/ledger.pub"}]})
    (registry / "policies/default.yaml").write_text("schema_version: 1\n")
    for seed in (1, 2, 3):
        register(cli, registry, workdir, "fraud", "-m", f"v{seed}", seed=seed)
    commit_all(registry, "Register fraud v1-v3")
    monkeypatch.setenv("MODELREG_LEDGER_KEY", keys["job"][0])
    return registry


def deploy(cli: Cli, root: Path, *args: str, code: int = 0) -> Doc:
    result = cli("-C", str(root), "deploy", "--json", *args)
    assert result.code == code, result.out + result.err
    out: Doc = json.loads(result.out)
    return out


def promote(root: Path, version: int, pr: int) -> str:
    set_aliases(root, production=version)
    return commit_all(root, f"Promote fraud v{version} (#{pr})")


def note_lines(root: Path, commit: str) -> list[Doc]:
    text = git(root, "notes", f"--ref={ledger.REF}", "show", commit)
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def put_lines(root: Path, commit: str, lines: list[Doc]) -> None:
    text = "".join(json.dumps(line, separators=(",", ":")) + "\n" for line in lines)
    subprocess.run(["git", "-C", str(root), "-c", "user.name=x", "-c", "user.email=x@x", "notes",
                    f"--ref={ledger.REF}", "add", "--force", "--file=-", commit], input=text.encode(),
                   check=True)


def statement(line: Doc) -> Doc:
    out: Doc = json.loads(base64.b64decode(line["dsse"]["payload"]))
    return out


def history(cli: Cli, root: Path, *args: str, code: int = 0) -> list[Doc]:
    """``history --json``; with --verify the exit code is 1 when a record is forged."""
    result = cli("-C", str(root), "history", "fraud", "--offline", "--json", *args)
    assert result.code == code, (result.code, result.err)
    out: list[Doc] = result.json
    return out


def audit(cli: Cli, root: Path, *args: str, code: int = 0) -> list[Doc]:
    result = cli("-C", str(root), "audit", "--json", *args)
    assert result.code == code, (result.code, result.err)
    out: list[Doc] = result.json
    return out


def site_page(cli: Cli, root: Path, tmp_path: Path) -> str:
    out = tmp_path / "site"
    cli.ok("-C", str(root), "site", "-o", str(out))
    return (out / "models" / "fraud.html").read_text()


def test_a_signed_deployment_end_to_end(signed: Path, cli: Cli, keys: dict[str, tuple[str, str]],
                                        tmp_path: Path) -> None:
    commit = promote(signed, 1, 7)
    out = cli.ok("-C", str(signed), "deploy").out
    assert "Ledger records signed by key SHA256:" in out
    assert keys["job"][0].splitlines()[1] not in out  # the key itself is never printed
    lines = note_lines(signed, commit)
    assert [sorted(line) for line in lines] == [["dsse", "time"], ["dsse", "time"]]
    # the statement is the record: in-toto Statement v1, subject the artifact's sha256 and the commit
    deployment = next(statement(line) for line in lines
                      if statement(line)["predicate"]["kind"] == "deployment")
    sha = yaml.safe_load((signed / "registry/fraud/v1/version.yaml").read_text())["artifact"]["sha256"]
    assert deployment["_type"] == "https://in-toto.io/Statement/v1"
    assert deployment["subject"] == [{"name": "models:/fraud/1", "digest": {"sha256": sha}},
                                     {"name": "commit", "digest": {"gitCommit": commit}}]
    predicate = deployment["predicate"]
    assert (predicate["model"], predicate["after"], predicate["alias"], predicate["environment"],
            predicate["commit"], predicate["pr"], predicate["outcome"]) == \
        ("fraud", 1, "production", "production", commit, 7, "succeeded")
    assert {c["check"] for c in predicate["checks"]} >= {"main"} and "time" in predicate
    assert "approvers" in predicate
    # history, audit, JSON and the site: verified
    items = history(cli, signed, "--verify")
    fact = next(i for i in items if i["kind"] == "deployment")
    assert fact["signature"] == "verified" and fact["signer"].startswith("key SHA256:")
    text = cli.ok("-C", str(signed), "history", "fraud", "--offline", "--verify").out
    assert "[ledger, verified]" in text
    entries = audit(cli, signed, "--verify")
    assert next(e for e in entries if e["event"] == "deployment")["signature"] == "verified"
    rows = list(csv.DictReader(io.StringIO(cli.ok("-C", str(signed), "audit", "--verify", "--csv").out)))
    assert [r["signature"] for r in rows if r["event"] == "deployment"] == ["verified"]
    assert {r["signature"] for r in rows if r["source"] == "git" and not r["approvers_source"]} == {""}
    assert 'class="badge verified">verified<' in site_page(cli, signed, tmp_path)
    # without --verify, the output says the records were not checked
    assert next(i for i in history(cli, signed) if i["kind"] == "deployment")["signature"] == "unchecked"
    assert "signatures not checked (run with --verify)" in \
        cli.ok("-C", str(signed), "history", "fraud", "--offline").out
    assert "not checked (run with --verify)" in cli.ok("-C", str(signed), "audit").out
    # a re-run believes its own signed record (and the bytes, hashed now): nothing to do
    again = deploy(cli, signed)
    assert again["deployments"][0]["outcome"] == "unchanged" and again["ledger"]["disregarded"] == []


def test_the_envelope_verifies_with_the_standard_libraries(signed: Path, cli: Cli,
                                                            keys: dict[str, tuple[str, str]]) -> None:
    """Third-party validators: securesystemslib's DSSE, the signature checked by hand over the
    PAE of the DSSE spec, and the in-toto attestation framework's statement validator."""
    from google.protobuf import json_format
    from in_toto_attestation.v1 import statement_pb2
    from in_toto_attestation.v1.statement import Statement
    from securesystemslib.dsse import Envelope
    from securesystemslib.signer import SSlibKey

    commit = promote(signed, 1, 7)
    deploy(cli, signed)
    public = serialization.load_pem_public_key(keys["job"][1].encode())
    assert isinstance(public, ec.EllipticCurvePublicKey)
    for line in note_lines(signed, commit):
        envelope = Envelope.from_dict(json.loads(json.dumps(line["dsse"])))
        assert envelope.payload_type == "application/vnd.in-toto+json"
        keyid = line["dsse"]["signatures"][0]["keyid"]  # securesystemslib matches signatures by keyid
        der = public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
        assert keyid == hashlib.sha256(der).hexdigest()
        envelope.verify([SSlibKey(keyid, "ecdsa", "ecdsa-sha2-nistp256", {"public": keys["job"][1]})], 1)
        # the signature by hand: ECDSA P-256 SHA-256 over DSSE's PAE, from the envelope's bytes
        from cryptography.hazmat.primitives import hashes

        payload = base64.b64decode(line["dsse"]["payload"])
        ptype = b"application/vnd.in-toto+json"
        pae = b"DSSEv1 %d %b %d %b" % (len(ptype), ptype, len(payload), payload)
        public.verify(base64.b64decode(line["dsse"]["signatures"][0]["sig"]), pae, ec.ECDSA(hashes.SHA256()))
        parsed = json_format.Parse(payload.decode(), statement_pb2.Statement())
        Statement.copy_from_pb(parsed).validate()


def _forge_setup(signed: Path, cli: Cli) -> tuple[str, str]:
    """v1 deployed (signed), then v2 promoted and deployed (signed): the two promotion commits."""
    first = promote(signed, 1, 7)
    deploy(cli, signed)
    second = promote(signed, 2, 8)
    deploy(cli, signed)
    return first, second


def _deployment_line(signed: Path, commit: str) -> Doc:
    return next(line for line in note_lines(signed, commit)
                if statement(line)["predicate"]["kind"] == "deployment")


def _forged_history_marks(cli: Cli, signed: Path, code: int) -> list[tuple[str, str]]:
    items = history(cli, signed, "--verify", code=code)
    return sorted((i["signature"], i.get("signature_detail", "")) for i in items
                  if i["kind"] in ("deployment", "unmatched"))


def _edit_payload(line: Doc, **changes: Any) -> Doc:
    payload = statement(line)
    payload["predicate"].update(changes)
    edited = json.loads(json.dumps(line))
    edited["dsse"]["payload"] = base64.b64encode(json.dumps(payload).encode()).decode()
    return edited


def _signed_by(key_pem: str, record: ledger.LedgerRecord) -> Doc:
    from modelreg.edges.ledger_signing import sign_with_key

    sealed = sign_with_key(record.payload(), key_pem)
    out: Doc = json.loads(ledger.seal(record, sealed.kind, sealed.envelope).line())
    return out


def _signed_statement(key_pem: str, line: Doc, **changes: Any) -> Doc:
    """``line``'s statement with ``changes`` at its top level, signed anew with ``key_pem``."""
    from securesystemslib.dsse import Envelope
    from securesystemslib.signer import CryptoSigner

    payload = {**statement(line), **changes}
    private = serialization.load_pem_private_key(key_pem.encode(), password=None)
    envelope = Envelope(json.dumps(payload).encode(), "application/vnd.in-toto+json", {})
    envelope.sign(CryptoSigner(private))
    return {"time": line["time"], "dsse": envelope.to_dict()}


@pytest.mark.parametrize("forgery", ["unsigned", "other key", "moved", "edited", "beside", "time", "subject",
                                     "type"])
def test_a_forged_record_is_marked_everywhere(signed: Path, cli: Cli, keys: dict[str, tuple[str, str]],
                                              tmp_path: Path, forgery: str) -> None:
    first, second = _forge_setup(signed, cli)
    real = _deployment_line(signed, second)
    lines = note_lines(signed, second)
    record = ledger.LedgerRecord.parse(json.dumps(real))
    assert record is not None
    claim = ledger.LedgerRecord(**{**record.to_dict(), "time": "2099-01-01T00:00:00.000000Z",
                                   "approvers": [{"login": "mallory"}]})
    if forgery == "unsigned":  # the plain record, as modelreg wrote them before signing
        put_lines(signed, second, [*lines, json.loads(claim.line())])
        expected = ("unverified", "not signed")
    elif forgery == "other key":
        put_lines(signed, second, [*lines, _signed_by(keys["forger"][0], claim)])
        expected = ("forged", "not allowed")
    elif forgery == "moved":  # the deployment of v1's valid envelope, onto the note of v2's commit
        put_lines(signed, second, [*lines, _deployment_line(signed, first)])
        expected = ("forged", "a signed record moved")
    elif forgery == "edited":  # the payload's approvers changed after signing (its time too, and the line's)
        edited = _edit_payload(real, approvers=[{"login": "mallory"}], time="2099-01-01T00:00:00.000000Z")
        put_lines(signed, second, [*lines, {**edited, "time": "2099-01-01T00:00:00.000000Z"}])
        expected = ("forged", "does not verify")
    elif forgery == "beside":  # a valid envelope carried by a line with other fields beside it
        put_lines(signed, second, [line for line in lines if line != real]
                  + [{**real, "approvers\x1b[2J": [{"login": "mallory"}]}])  # an escape, never sent raw
        expected = ("forged", "beside its signed statement")
    elif forgery == "time":  # the line's time, outside the signature, changed
        put_lines(signed, second, [line for line in lines if line != real]
                  + [{**real, "time": "2099-01-01T00:00:00.000000Z"}])
        expected = ("forged", "is not its statement's")
    elif forgery == "subject":  # signed by the job's key, but its subject is other bytes than its record's
        other = [{"name": "models:/fraud/2", "digest": {"sha256": "0" * 64}}, statement(real)["subject"][1]]
        put_lines(signed, second, [line for line in lines if line != real]
                  + [_signed_statement(keys["job"][0], real, subject=other)])
        expected = ("forged", "subject")
    else:  # signed by the job's key, but not an in-toto Statement v1
        put_lines(signed, second, [line for line in lines if line != real]
                  + [_signed_statement(keys["job"][0], real, _type="https://in-toto.io/Statement/v0.1")])
        expected = ("forged", "not an in-toto Statement v1")
    code = 1 if expected[0] == "forged" else 0  # --verify fails on a forged record
    marks = _forged_history_marks(cli, signed, code)
    assert any(state == expected[0] and expected[1] in why for state, why in marks), marks
    # the genuine records stay verified
    replaced = forgery in ("beside", "time", "subject", "type")
    assert sum(state == "verified" for state, _ in marks) >= (1 if replaced else 2)
    entries = audit(cli, signed, "--verify", code=code)
    assert any(e.get("signature") == expected[0] and expected[1] in e.get("signature_detail", "")
               for e in entries), entries
    result = cli("-C", str(signed), "audit", "--verify")
    assert result.code == code
    if expected[0] == "forged":
        assert "ledger record forged: " in result.err
    text = result.out
    assert f"signature {expected[0]}: " in text and "\x1b" not in text
    page = site_page(cli, signed, tmp_path)
    assert f'class="badge {expected[0]}">{expected[0]}<' in page
    # never believed by deploy or status: the forged record is disregarded, with why
    report = deploy(cli, signed)
    assert any(expected[0] in why for why in report["ledger"]["disregarded"]), report
    status = cli.ok("-C", str(signed), "status", "--json").json
    assert any("disregarded" in w and expected[0] in w for w in status["warnings"])


def test_a_signed_move_is_preferred_to_forged_copies_of_it(signed: Path, cli: Cli,
                                                           keys: dict[str, tuple[str, str]]) -> None:
    """Copies of the v1 -> v2 move that name an approver, written earlier than the job's own
    record (which names none: GitHub was not asked): an unsigned one is dropped for the signed
    one, and one signed by a key not allowed is listed apart as forged; neither fills the move's
    approvers."""
    _, second = _forge_setup(signed, cli)
    lines = note_lines(signed, second)
    move = next(line for line in lines if statement(line)["predicate"]["kind"] == "move")
    record = ledger.LedgerRecord.parse(json.dumps(move))
    assert record is not None and record.approvers is None
    copy = ledger.LedgerRecord(**{**record.to_dict(), "time": "2000-01-01T00:00:00.000000Z",
                                  "approvers": [{"login": "mallory"}]})
    for forged in (json.loads(copy.line()), _signed_by(keys["forger"][0], copy)):
        put_lines(signed, second, [forged, *lines])
        items = history(cli, signed, "--verify", code=1 if "dsse" in forged else 0)
        event = next(i for i in items if i["kind"] == "alias" and i["version"] == 2)
        assert event["approvers"] is None and "mallory" not in json.dumps(event)
        apart = [(i["signature"], i["record"]["kind"]) for i in items if i["kind"] == "unmatched"]
        assert apart == ([] if "time" in forged and "dsse" not in forged else [("forged", "move")])


def test_a_valid_signature_on_a_move_git_did_not_make_is_not_verified(
        signed: Path, cli: Cli, keys: dict[str, tuple[str, str]]) -> None:
    _, second = _forge_setup(signed, cli)
    real = _deployment_line(signed, second)
    record = ledger.LedgerRecord.parse(json.dumps(real))
    assert record is not None
    claim = ledger.LedgerRecord(**{**record.to_dict(), "after": 3, "time": "2099-01-01T00:00:00.000000Z"})
    put_lines(signed, second, [*note_lines(signed, second), _signed_by(keys["job"][0], claim)])
    apart = [i for i in history(cli, signed, "--verify") if i["kind"] == "unmatched"]
    assert [(i["signature"], "git does not bear out" in i["signature_detail"]) for i in apart] == \
        [("unverified", True)]


def _deployment_of(items: list[Doc], version: int) -> Doc:
    return next(i for i in items if i["kind"] == "deployment" and i["version"] == version)


def test_a_keyless_line_that_does_not_verify_is_forged(signed: Path, cli: Cli) -> None:
    """A line in the keyless shape (a Sigstore bundle around the envelope) is read from its
    statement like any other, and judged by the Sigstore identities named: a bundle that is not
    one is forged, and so is one when no identity may sign. (Signing keylessly needs Fulcio and
    Rekor: not exercised here.)"""
    _, second = _forge_setup(signed, cli)
    real = _deployment_line(signed, second)
    bundle = {"mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json", "verificationMaterial": {},
              "dsseEnvelope": {**real["dsse"], "signatures": [{"sig": real["dsse"]["signatures"][0]["sig"]}]}}
    lines = [line for line in note_lines(signed, second) if line != real]
    put_lines(signed, second, [*lines, {"time": real["time"], "sigstore": bundle}])
    fact = _deployment_of(history(cli, signed, "--verify", code=1), 2)
    assert (fact["signature"], "no identity may sign" in fact["signature_detail"]) == ("forged", True)
    set_config(signed, ledger={"signers": [{"kind": "sigstore", "identity": "https://github.com/acme/reg/"
                                            ".github/workflows/modelreg-deploy.yml@refs/heads/main",
                                            "issuer": "https://token.actions.githubusercontent.com"}]})
    commit_all(signed, "Keyless ledger signer")
    fact = _deployment_of(history(cli, signed, "--verify", code=1), 2)
    assert (fact["signature"], "bundle is malformed" in fact["signature_detail"]) == ("forged", True)


def _command_target(signed: Path, tmp_path: Path) -> Path:
    """production served by a command target (it cannot show what it serves), which counts its
    activations in a file."""
    log = tmp_path / "activations.log"
    script = (f"import os; open({str(log)!r}, 'a').write(os.environ['MODELREG_VERSION'] + "
              "('+key' if 'MODELREG_LEDGER_KEY' in os.environ else '') + '\\n')")
    set_config(signed, environments={"production": {"alias": "production", "targets": [
        {"type": "command", "run": [sys.executable, "-c", script]}]}})
    commit_all(signed, "Serve production by a command")
    return log


@pytest.mark.parametrize("configured", [True, False])
def test_deploy_never_takes_an_unsigned_record_as_proof(signed: Path, cli: Cli, tmp_path: Path,
                                                        configured: bool) -> None:
    """A record claiming v2 is deployed, written by hand: with signers named, deploy disregards
    it (says so) and deploys v2; without (the guard off), it is believed and nothing deploys."""
    log = _command_target(signed, tmp_path)
    if not configured:
        set_config(signed, ledger={"signers": []})
        commit_all(signed, "No ledger signers")
    promote(signed, 1, 7)
    deploy(cli, signed)
    second = promote(signed, 2, 8)
    claim = ledger.LedgerRecord("2099-01-01T00:00:00.000000Z", "deployment", "fraud", "production", 1, 2,
                                second, environment="production", outcome="succeeded", pr=8)
    ledger.append(signed, second, [claim])
    status = json.loads(cli("-C", str(signed), "status", "--json").out)
    report = deploy(cli, signed)
    if configured:
        assert [(d["after"], d["outcome"]) for d in report["deployments"]] == [(2, "succeeded")]
        assert log.read_text().split() == ["1", "2"]
        assert any("unverified (not signed)" in why for why in report["ledger"]["disregarded"])
        assert "Disregarded ledger record" in cli.ok("-C", str(signed), "deploy", "--dry-run").out
        assert status["drift"] and "the last deployment was v1" in json.dumps(status["rows"])
    else:
        assert [d["outcome"] for d in report["deployments"]] == ["unchanged"], report
        assert log.read_text().split() == ["1"]
        assert "without a signature check" in report["ledger"]["believed"]
        assert not status["drift"]


def test_a_re_run_with_a_forged_record_of_the_current_version_deploys_again(
        signed: Path, cli: Cli, tmp_path: Path, keys: dict[str, tuple[str, str]]) -> None:
    """The no-op decision ("already deployed") of a target that cannot tell rests on a believed
    record only: a record of v1 signed by a key not allowed does not make v1 deployed."""
    log = _command_target(signed, tmp_path)
    commit = promote(signed, 1, 7)
    claim = ledger.LedgerRecord("2099-01-01T00:00:00.000000Z", "deployment", "fraud", "production", None, 1,
                                commit, environment="production", outcome="succeeded", pr=7)
    put_lines(signed, commit, [_signed_by(keys["forger"][0], claim)])
    report = deploy(cli, signed)
    assert [(d["after"], d["outcome"]) for d in report["deployments"]] == [(1, "succeeded")]
    assert log.read_text().split() == ["1"]
    assert any("forged" in why and "not allowed" in why for why in report["ledger"]["disregarded"])
    again = deploy(cli, signed)  # its own signed record is believed
    assert again["deployments"][0]["outcome"] == "unchanged"
    assert "Ledger records believed: only records verified against the signers" in \
        cli.ok("-C", str(signed), "deploy").out


def test_records_deployed_without_a_key_are_said_unsigned_and_not_believed(
        signed: Path, cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MODELREG_LEDGER_KEY")
    log = _command_target(signed, tmp_path)
    promote(signed, 1, 7)
    out = cli.ok("-C", str(signed), "deploy").out
    assert "Ledger records not signed: MODELREG_LEDGER_KEY is not set" in out
    assert "will not be believed" in out
    items = history(cli, signed, "--verify")
    assert next(i for i in items if i["kind"] == "deployment")["signature"] == "unverified"
    deploy(cli, signed)  # nothing believed: deployed again
    assert log.read_text().split() == ["1", "1"]


def test_a_job_key_modelreg_yaml_does_not_name_is_said(signed: Path, cli: Cli,
                                                       keys: dict[str, tuple[str, str]],
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MODELREG_LEDGER_KEY", keys["forger"][0])
    promote(signed, 1, 7)
    out = cli.ok("-C", str(signed), "deploy").out
    assert "does not name as a ledger signer: these records will not be believed" in out
    monkeypatch.setenv("MODELREG_LEDGER_KEY", keys["job"][0])
    assert "does not name" not in cli.ok("-C", str(signed), "deploy", "--env", "production").out


def test_keyless_signing_out_of_reach_keeps_the_records_unsigned_and_says_so(
        signed: Path, cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    """In Actions without a key, with a Sigstore signer named, the job signs keylessly; when the
    identity or Sigstore cannot be reached (here: a token endpoint that refuses), the targets have
    moved already, so the records are written unsigned, and the output says they will not be
    believed."""
    monkeypatch.delenv("MODELREG_LEDGER_KEY")
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("ACTIONS_ID_TOKEN_REQUEST_URL", "http://127.0.0.1:1/token")
    monkeypatch.setenv("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "not-a-token")
    set_config(signed, ledger={"signers": [{"kind": "sigstore", "identity": "https://github.com/acme/reg/"
                                            ".github/workflows/modelreg-deploy.yml@refs/heads/main",
                                            "issuer": "https://token.actions.githubusercontent.com"}]})
    commit = promote(signed, 1, 7)
    report = deploy(cli, signed)
    assert report["deployments"][0]["outcome"] == "succeeded"
    assert report["ledger"]["signed"].startswith("not signed: no GitHub Actions identity")
    assert "will not be believed" in report["ledger"]["signed"]
    assert all("dsse" not in line and "sigstore" not in line for line in note_lines(signed, commit))


def test_without_signers_every_record_is_unverified(signed: Path, cli: Cli) -> None:
    set_config(signed, ledger={"signers": []})
    commit_all(signed, "No signers")
    promote(signed, 1, 7)
    deploy(cli, signed)
    fact = next(i for i in history(cli, signed, "--verify") if i["kind"] == "deployment")
    assert fact["signature"] == "unverified" and "no signers are named" in fact["signature_detail"]


def test_a_bad_key_fails_before_any_target_moves(signed: Path, cli: Cli, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MODELREG_LEDGER_KEY",
                       "-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n")
    promote(signed, 1, 7)
    result = cli("-C", str(signed), "deploy")
    assert result.code == 1 and "MODELREG_LEDGER_KEY" in result.err and "bm90IGEga2V5" not in result.err
    assert not (tmp_path / "srv" / "fraud").exists()
    assert git(signed, "notes", f"--ref={ledger.REF}", "list").strip() == ""


@pytest.mark.parametrize(("signer", "message"), [
    ({"kind": "key", "public_key": "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"},
     "ledger.signers[0].public_key: is not a PEM public key"),
    ({"kind": "key", "public_key": "keys/missing.pub"},
     "ledger.signers[0].public_key: names keys/missing.pub"),
    ({"kind": "key", "public_key": "../outside.pub"}, "ledger.signers.0"),
])
def test_signers_that_do_not_read_are_refused_naming_the_field(signed: Path, cli: Cli, signer: Doc,
                                                               message: str) -> None:
    set_config(signed, ledger={"signers": [signer]})
    commit_all(signed, "A broken signer")
    result = cli("-C", str(signed), "history", "fraud", "--offline", "--verify")
    assert result.code == 1 and message in result.err, result.err


def test_the_gate_refuses_a_signer_that_does_not_read(signed: Path, cli: Cli) -> None:
    set_config(signed, ledger={"signers": [{"kind": "key", "public_key": "keys/missing.pub"}]})
    result = cli("-C", str(signed), "check", "--offline")
    assert result.code == 1
    assert "ledger.signers[0].public_key: names keys/missing.pub" in result.out + result.err
    set_config(signed, ledger={"signers": [{"kind": "key", "public_key": "keys/ledger.pub"}]})
    assert "ledger.signers" not in cli("-C", str(signed), "check", "--offline").out


def test_an_inline_key_and_an_rsa_key(signed: Path, cli: Cli, keys: dict[str, tuple[str, str]]) -> None:
    set_config(signed, ledger={"signers": [{"kind": "key", "public_key": keys["job"][1]}]})
    commit_all(signed, "Inline signer")
    promote(signed, 1, 7)
    deploy(cli, signed)
    assert next(i for i in history(cli, signed, "--verify") if i["kind"] == "deployment")["signature"] == \
        "verified"
    from cryptography.hazmat.primitives.asymmetric import rsa

    rsa_public = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    set_config(signed, ledger={"signers": [{"kind": "key", "public_key": rsa_public}]})
    commit_all(signed, "An RSA signer")
    assert "is not an EC P-256 key" in cli("-C", str(signed), "audit", "--verify").err


def test_signers_are_read_at_main_not_at_a_branch(signed: Path, cli: Cli,
                                                  keys: dict[str, tuple[str, str]]) -> None:
    """A branch that names the forger's key does not make the forger's records verified: the
    signers are main's."""
    promote(signed, 1, 7)
    deploy(cli, signed)
    git(signed, "checkout", "-q", "-b", "trust-me")
    (signed / "keys/ledger.pub").write_text(keys["forger"][1])
    commit_all(signed, "Trust another key")
    fact = next(i for i in history(cli, signed, "--verify") if i["kind"] == "deployment")
    assert fact["signature"] == "verified"  # judged by main's key, which signed it


def test_the_read_path_loads_no_crypto_without_verify(signed: Path, cli: Cli) -> None:
    promote(signed, 1, 7)
    deploy(cli, signed)
    probe = ("import sys, runpy; sys.argv = ['modelreg', '-C', sys.argv[1]] + sys.argv[2:]\n"
             "try:\n    runpy.run_module('modelreg', run_name='__main__')\n"
             "except SystemExit as e:\n    assert not e.code, e.code\n"
             "heavy = sorted({m.split('.')[0] for m in sys.modules} & {'cryptography', 'securesystemslib', "
             "'sigstore'})\nprint('HEAVY', heavy)")
    proc = subprocess.run([sys.executable, "-c", probe, str(signed), "history", "fraud", "--offline"],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == "HEAVY []"


def test_the_deploy_workflow_passes_the_key_to_the_deploy_step_only(signed: Path) -> None:
    from modelreg.formats import yamlio
    from modelreg.formats.models import RegistryConfig, validate
    from modelreg.write import workflows

    data = (signed / "modelreg.yaml").read_bytes()
    config = validate(RegistryConfig, yamlio.loads(data, "modelreg.yaml"), "modelreg.yaml", data)
    files = workflows.files(config)
    for path in (workflows.DEPLOY_PATH, workflows.RECONCILE_PATH):
        doc = yaml.safe_load(files[path])
        for job in doc["jobs"].values():
            assert "env" not in job and "id-token" not in job["permissions"]
            holding = [s for s in job["steps"] if "MODELREG_LEDGER_KEY" in json.dumps(s)]
            assert len(holding) == 1 and holding[0]["env"]["MODELREG_LEDGER_KEY"] == \
                "${{ secrets.MODELREG_LEDGER_KEY }}"
            assert "MODELREG_LEDGER_KEY" not in holding[0]["run"]
    for path in (workflows.GATE_PATH, workflows.APPROVAL_PATH):
        assert "MODELREG_LEDGER_KEY" not in files[path]
    assert 'MODELREG_INSTALL: "modelreg[sign]==' in files[workflows.DEPLOY_PATH]  # it signs and verifies
    doc = yaml.safe_load(data)
    doc["ledger"] = {"signers": [{"kind": "sigstore", "identity": "https://github.com/acme/reg/.github/"
                                  "workflows/modelreg-deploy.yml@refs/heads/main",
                                  "issuer": "https://token.actions.githubusercontent.com"}]}
    text = yaml.safe_dump(doc).encode()
    keyless = validate(RegistryConfig, yamlio.loads(text, "modelreg.yaml"), "modelreg.yaml", text)
    deploy_doc = yaml.safe_load(workflows.files(keyless)[workflows.DEPLOY_PATH])
    assert all(job["permissions"].get("id-token") == "write" for job in deploy_doc["jobs"].values())


def test_the_keyless_workflow_is_clean_under_zizmor(signed: Path, tmp_path: Path) -> None:
    import shutil

    from modelreg.formats import yamlio
    from modelreg.formats.models import RegistryConfig, validate
    from modelreg.write import workflows

    zizmor = shutil.which("zizmor", path=f"{Path(sys.executable).parent}")
    if zizmor is None:
        pytest.skip("needs zizmor (scripts/bootstrap installs it)")
    doc = yaml.safe_load((signed / "modelreg.yaml").read_text())
    doc["ledger"] = {"signers": [{"kind": "sigstore", "identity": "https://github.com/acme/reg/.github/"
                                  "workflows/modelreg-deploy.yml@refs/heads/main",
                                  "issuer": "https://token.actions.githubusercontent.com"}]}
    text = yaml.safe_dump(doc).encode()
    config = validate(RegistryConfig, yamlio.loads(text, "modelreg.yaml"), "modelreg.yaml", text)
    out = tmp_path / "wf" / ".github" / "workflows"
    out.mkdir(parents=True)
    for rel, body in workflows.files(config).items():
        (out / Path(rel).name).write_text(body)
    proc = subprocess.run([zizmor, "--offline", "--no-progress", str(out)], capture_output=True, text=True,
                          check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_a_catch_up_over_a_move_and_its_rollback_ends_on_mains_version(signed: Path, cli: Cli,
                                                                        tmp_path: Path) -> None:
    """The deploy job of one merge did not run: main moved production v1 -> v2 -> v1. The next run
    deploys v2, then v1 again: what this run deployed is the last deployment for the steps after
    it, not the record of v1 read before the run (a target that cannot show what it serves would
    stay on v2, which main rolled back)."""
    log = _command_target(signed, tmp_path)
    promote(signed, 1, 7)
    deploy(cli, signed)
    promote(signed, 2, 8)  # its deploy job never ran
    promote(signed, 1, 9)
    report = deploy(cli, signed)
    assert [(r["after"], r["outcome"]) for r in report["deployments"]] == [(2, "succeeded"), (1, "succeeded")]
    assert log.read_text().split() == ["1", "2", "1"]


def test_the_bom_names_approvers_only_from_records_believed(signed: Path, cli: Cli) -> None:
    """A move's record replaced by an unsigned copy that names an approver: with ledger signers
    named, the BOM does not name them (as deploy and status would not believe it); with none
    named, it does, and says the record is not signed."""
    _, second = _forge_setup(signed, cli)
    lines = note_lines(signed, second)
    move = next(line for line in lines if statement(line)["predicate"]["kind"] == "move")
    record = ledger.LedgerRecord.parse(json.dumps(move))
    assert record is not None
    copy = ledger.LedgerRecord(**{**record.to_dict(), "approvers": [
        {"login": "mallory", "at": "2026-11-20T10:00:00Z", "commit_id": None}]})
    put_lines(signed, second, [json.loads(copy.line()), *[line for line in lines if line != move]])
    assert "mallory" not in cli.ok("-C", str(signed), "bom", "fraud/2").out
    set_config(signed, ledger={"signers": []})
    commit_all(signed, "No ledger signers")
    out = cli.ok("-C", str(signed), "bom", "fraud/2").out
    assert "mallory" in out and "not signed" in out
