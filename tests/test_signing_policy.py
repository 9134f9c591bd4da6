"""``signing`` in a policy: the format, the signature gate, and deploy, status and serve enforcing it.

Real EC keys made with ``cryptography``, real bundles signed by ``model_signing`` (through
``edges/signing.py``), real git repositories and a real DVC remote.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from modelreg.edges import ledger
from modelreg.edges.signing import sign_with_key
from tests.helpers import Cli, Scenarios, commit_all, copy_scenario, git, regenerate_workflows, register

POLICY = """\
schema_version: 1
signing:
  required: true
  signers:
    - {kind: key, public_key: policies/keys/train.pub}
"""


def make_key(private: Path, public: Path | None = None) -> str:
    """An EC P-256 key pair: the private key written to ``private``, the public key's PEM returned
    (and written to ``public``)."""
    key = ec.generate_private_key(ec.SECP256R1())
    private.parent.mkdir(parents=True, exist_ok=True)
    private.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))
    pem = key.public_key().public_bytes(serialization.Encoding.PEM,
                                        serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    if public is not None:
        public.parent.mkdir(parents=True, exist_ok=True)
        public.write_text(pem)
    return pem


def register_signed(cli: Cli, root: Path, work: Path, seed: int, key: Path | None, *,
                    signed: Path | None = None, model: str = "fraud") -> Path:
    """Register ``model`` from the artifact of ``seed`` and sign it with ``key`` as ``register --sign``
    does: the bundle beside version.yaml, named by ``signature``. ``signed``: sign these bytes
    instead (a bundle for other bytes). Returns the version's directory."""
    sign = ("--sign-key", str(key)) if key is not None and signed is None else ()
    register(cli, root, work, model, "-m", f"seed {seed}", *sign, seed=seed)
    version_dir = max((root / "registry" / model).glob("v*"), key=lambda p: int(p.name[1:]))
    if key is not None and signed is not None:
        sign_with_key(signed, version_dir / "model.sig", key)
        with (version_dir / "version.yaml").open("a") as manifest:
            manifest.write("signature: model.sig\n")
    return version_dir


def _signing_main(cli: Cli, root: Path, work: Path) -> None:
    make_key(work / "train.pem", root / "policies/keys/train.pub")
    make_key(work / "attacker.pem", work / "attacker.pub")
    (root / "policies/default.yaml").write_text(POLICY)
    commit_all(root, "Require signing")
    register_signed(cli, root, work, 1, work / "train.pem")
    commit_all(root, "Register fraud v1, signed")
    git(root, "switch", "-q", "-c", "feature")


@pytest.fixture
def signed_main(scenarios: Scenarios, tmp_path: Path, cli: Cli) -> Path:
    """main: a policy that requires signing by policies/keys/train.pub; fraud v1 signed; then a
    feature branch. The keys are in the work folder (train.pem, attacker.pem, attacker.pub)."""
    return copy_scenario(scenarios.on_registry("signing-main", cli, _signing_main), tmp_path)


def check(cli: Cli, root: Path, *args: str, code: int = 1) -> str:
    result = cli("-C", str(root), "check", *args)
    assert result.code == code, f"exit {result.code}\n{result.out}\n{result.err}"
    return result.out


# --- the format: the schema gate --------------------------------------------------------------------


@pytest.mark.parametrize(("signing", "expected"), [
    ("{required: true, signers: [{kind: gpg, public_key: x}]}",
     "policies/default.yaml:3: [schema] signing.signers.0.kind: 'gpg' is not one of certificate, key, "
     "sigstore"),
    ("{required: true, signers: []}",
     "[schema] signing.signers: signing is required but no signer is allowed; list the public keys"),
    ("{required: true, signers: [{kind: key, public_key: policies/keys/none.pub}]}",
     "[schema] signing.signers.0.public_key: names policies/keys/none.pub, which is not in the registry "
     "at this revision; commit the PEM file"),
    ("{required: true, signers: [{kind: key, public_key: ../outside.pub}]}",
     "[schema] signing.signers.0.public_key: '../outside.pub' is not allowed here"),
    ("{required: true, signers: [{kind: certificate, certificate_chain: [policies/keys/train.pub]}]}",
     "[schema] signing.signers.0.certificate_chain.0: holds a PUBLIC KEY block (policies/keys/train.pub), "
     "not a CERTIFICATE"),
    ("{required: true, signers: [{kind: sigstore, identity: https://github.com/o/t/.github/workflows/t.yml"
     "@refs/heads/main}]}",
     "[schema] signing.signers.0.issuer: required field is missing"),
    ("{required: true, signers: [{kind: sigstore, identity: x, issuer: 'http://insecure.example'}]}",
     "[schema] signing.signers.0.issuer: 'http://insecure.example' is not allowed here"),
])
def test_a_malformed_signing_rule_is_refused_with_its_field(signed_main: Path, cli: Cli, signing: str,
                                                            expected: str) -> None:
    (signed_main / "policies/default.yaml").write_text(f"schema_version: 1\n\nsigning: {signing}\n")
    out = check(cli, signed_main, "--gate", "schema")
    assert expected in out, out


@pytest.mark.parametrize(("pem", "expected"), [
    ("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n",
     "holds a malformed PUBLIC KEY block: its base64 is not one DER sequence"),
    ("-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE\n-----END PUBLIC KEY-----\n",
     "holds a malformed PUBLIC KEY block"),
    ("-----BEGIN CERTIFICATE-----\nMAMCAQA=\n-----END CERTIFICATE-----\n",
     "holds a CERTIFICATE block, not a PUBLIC KEY"),
])
def test_a_malformed_inline_key_is_refused(signed_main: Path, cli: Cli, pem: str, expected: str) -> None:
    policy = {"schema_version": 1, "signing": {"required": True,
                                               "signers": [{"kind": "key", "public_key": pem}]}}
    (signed_main / "policies/default.yaml").write_text(yaml.safe_dump(policy))
    out = check(cli, signed_main, "--gate", "schema")
    assert "policies/default.yaml: [schema] signing.signers.0.public_key: " + expected in out, out


def test_a_private_key_in_a_policy_is_refused(signed_main: Path, workdir: Path, cli: Cli) -> None:
    shutil.copy(workdir / "train.pem", signed_main / "policies/keys/oops.pem")
    (signed_main / "policies/default.yaml").write_text(POLICY.replace("train.pub", "oops.pem"))
    out = check(cli, signed_main, "--gate", "schema")
    assert "signing.signers.0.public_key: holds a private key (policies/keys/oops.pem): never commit one" \
        in out


@pytest.mark.parametrize("change", ["garbage", "deleted"])
def test_breaking_a_key_file_a_policy_names_fails_that_change(signed_main: Path, cli: Cli,
                                                              change: str) -> None:
    key = signed_main / "policies/keys/train.pub"
    if change == "deleted":
        key.unlink()
        expected = "names policies/keys/train.pub, which is not in the registry at this revision"
    else:
        key.write_text("not a key\n")
        expected = "holds no PEM block (policies/keys/train.pub)"
    out = check(cli, signed_main, "--gate", "schema")
    assert f"policies/default.yaml: [schema] signing.signers.0.public_key: {expected}" in out


def test_an_inline_key_and_a_key_file_both_work(signed_main: Path, workdir: Path, cli: Cli) -> None:
    pem = (signed_main / "policies/keys/train.pub").read_text()
    policy = {"schema_version": 1, "signing": {"required": True, "signers": [
        {"kind": "sigstore", "identity": "https://github.com/acme/train/.github/workflows/train.yml"
         "@refs/heads/main", "issuer": "https://token.actions.githubusercontent.com"},
        {"kind": "key", "public_key": pem}]}}
    (signed_main / "policies/default.yaml").write_text(yaml.safe_dump(policy))
    commit_all(signed_main, "Inline the key")
    register_signed(cli, signed_main, workdir, 2, workdir / "train.pem")
    out = check(cli, signed_main, code=0)
    assert "verified: fraud v2: signed by key sha256:" in out


# --- the gate --------------------------------------------------------------------------------------


def test_a_certificate_authority_signer(signed_main: Path, workdir: Path, cli: Cli) -> None:
    """Signed with a certificate the policy's CA issued (through an intermediate): passes; one
    from another organisation's CA does not."""
    from tests.test_signing import make_pki

    ours, theirs = make_pki(workdir / "pki"), make_pki(workdir / "other", "Other")
    shutil.copy(ours.root, signed_main / "policies/keys/acme-root-ca.pem")
    policy = {"schema_version": 1, "signing": {"required": True, "signers": [
        {"kind": "certificate", "certificate_chain": ["policies/keys/acme-root-ca.pem"]}]}}
    (signed_main / "policies/default.yaml").write_text(yaml.safe_dump(policy))
    commit_all(signed_main, "Trust the CA")
    git(signed_main, "switch", "-q", "main")
    git(signed_main, "merge", "-q", "feature")
    git(signed_main, "switch", "-q", "feature")
    for seed, pki in ((2, ours), (3, theirs)):
        register(cli, signed_main, workdir, "fraud", "-m", f"seed {seed}", "--sign-key", str(pki.leaf_key),
                 "--sign-certificate", str(pki.leaf), "--sign-chain", str(pki.intermediate), seed=seed)
        out = check(cli, signed_main, code=0 if pki is ours else 1)
        if pki is ours:
            assert "verified: fraud v2: signed by certificates issued under CN=Example Root CA" in out
            commit_all(signed_main, "Register fraud v2")
        else:
            assert "registry/fraud/v3/model.sig: [signature] signature: " in out
            assert "verified: fraud v3" not in out


def test_a_signed_version_passes_and_the_report_names_its_signer(signed_main: Path, workdir: Path,
                                                                 cli: Cli) -> None:
    register_signed(cli, signed_main, workdir, 2, workdir / "train.pem")
    out = check(cli, signed_main, code=0)
    assert "verified: fraud v2: signed by key sha256:" in out
    assert "(policies/keys/train.pub at " in out and "policy default (on main) requires a signature" in out
    markdown = check(cli, signed_main, "--format", "markdown", code=0)
    assert "### Verified" in markdown and "| signature | ✅ pass | 0 |" in markdown


def test_an_unsigned_version_fails(signed_main: Path, workdir: Path, cli: Cli) -> None:
    register_signed(cli, signed_main, workdir, 2, None)
    out = check(cli, signed_main)
    assert ("registry/fraud/v2/version.yaml: [signature] signature: fraud v2 is not signed: policy default "
            "(on main) requires a signature by one of 1 signer(s); register it signed: `modelreg register "
            "... --sign-key FILE` (docs/signing.md)") in out


def test_a_bundle_named_but_not_committed_fails(signed_main: Path, workdir: Path, cli: Cli) -> None:
    version = register_signed(cli, signed_main, workdir, 2, workdir / "train.pem")
    (version / "model.sig").unlink()
    out = check(cli, signed_main, "--gate", "signature")
    assert "[signature] signature: names the signature bundle model.sig, which is not committed beside " \
        "it" in out


def test_a_bundle_for_other_bytes_fails(signed_main: Path, workdir: Path, cli: Cli) -> None:
    other = workdir / "other.bin"
    other.write_bytes(os.urandom(4096))
    register_signed(cli, signed_main, workdir, 2, workdir / "train.pem", signed=other)
    out = check(cli, signed_main)
    assert "registry/fraud/v2/model.sig: [signature] signature: signed for another artifact" in out


def test_a_signer_not_allowed_fails(signed_main: Path, workdir: Path, cli: Cli) -> None:
    register_signed(cli, signed_main, workdir, 2, workdir / "attacker.pem")
    out = check(cli, signed_main)
    assert "registry/fraud/v2/model.sig: [signature] signature: " in out and "verified:" not in out


def test_a_malformed_bundle_fails(signed_main: Path, workdir: Path, cli: Cli) -> None:
    version = register_signed(cli, signed_main, workdir, 2, workdir / "train.pem")
    (version / "model.sig").write_text("{not json")
    out = check(cli, signed_main)
    assert "registry/fraud/v2/model.sig: [signature] signature: malformed bundle: not JSON" in out


def test_tampered_remote_bytes_fail_and_are_never_verified(signed_main: Path, workdir: Path,
                                                           cli: Cli) -> None:
    version = register_signed(cli, signed_main, workdir, 2, workdir / "train.pem")
    md5 = yaml.safe_load((version / "version.yaml").read_text())["artifact"]["md5"]
    obj = signed_main / ".modelreg/remote/files/md5" / md5[:2] / md5[2:]
    os.chmod(obj, 0o644)
    obj.write_bytes(b"x" * 4096)
    shutil.rmtree(signed_main / ".dvc/cache")
    out = check(cli, signed_main)
    assert "[artifact]" in out
    assert "[signature] signature: cannot be checked: the artifact did not download" in out
    assert "verified:" not in out


@pytest.mark.parametrize("setting", [{"verify_sha256": False}, {"verify_max_size": 100}])
def test_a_required_signature_is_verified_when_the_settings_skip_downloads(
        signed_main: Path, workdir: Path, cli: Cli, setting: dict[str, object]) -> None:
    """The check settings skip sha256 downloads, but a required signature needs the bytes: they
    are downloaded anyway, so a signer not allowed still fails and the right one passes."""
    git(signed_main, "switch", "-q", "main")
    config = signed_main / "modelreg.yaml"
    config.write_text(yaml.safe_dump({**yaml.safe_load(config.read_text()), "check": setting}))
    commit_all(signed_main, "Skip downloads")
    git(signed_main, "switch", "-q", "feature")
    git(signed_main, "merge", "-q", "main")
    register_signed(cli, signed_main, workdir, 2, workdir / "attacker.pem")
    assert "registry/fraud/v2/model.sig: [signature] signature: " in check(cli, signed_main)
    shutil.rmtree(signed_main / "registry/fraud/v2")
    register_signed(cli, signed_main, workdir, 2, workdir / "train.pem")
    out = check(cli, signed_main, code=0)
    assert "verified: fraud v2" in out
    assert "not verified" not in out


def test_a_signature_the_policy_does_not_require_is_still_verified(signed_main: Path, workdir: Path,
                                                                    cli: Cli) -> None:
    """Signers listed, signing not required (on main and in the change): a bundle is verified when
    present (a bad one fails), its absence is fine, and a skipped download is a note."""
    git(signed_main, "switch", "-q", "main")
    policy = signed_main / "policies/default.yaml"
    policy.write_text(POLICY.replace("required: true", "required: false"))
    commit_all(signed_main, "Signing optional")
    git(signed_main, "switch", "-q", "feature")
    git(signed_main, "merge", "-q", "main")
    register_signed(cli, signed_main, workdir, 2, workdir / "train.pem")
    assert "verified: fraud v2: signed by key" in check(cli, signed_main, code=0)
    shutil.rmtree(signed_main / "registry/fraud/v2")
    register_signed(cli, signed_main, workdir, 2, workdir / "attacker.pem")
    assert "registry/fraud/v2/model.sig: [signature] signature: " in check(cli, signed_main)
    shutil.rmtree(signed_main / "registry/fraud/v2")
    register_signed(cli, signed_main, workdir, 2, None)
    check(cli, signed_main, code=0)
    register_signed(cli, signed_main, workdir, 3, workdir / "train.pem")
    out = check(cli, signed_main, "--gate", "signature", code=0)
    assert "verified: fraud v3" in out
    commit_all(signed_main, "Register fraud v2 and v3")
    config = signed_main / "modelreg.yaml"
    git(signed_main, "switch", "-q", "main")
    config.write_text(yaml.safe_dump({**yaml.safe_load(config.read_text()),
                                      "check": {"verify_sha256": False}}))
    commit_all(signed_main, "Skip downloads")
    git(signed_main, "switch", "-q", "feature")
    git(signed_main, "merge", "-q", "main")
    out = check(cli, signed_main, "--gate", "signature", code=0)
    assert "note: the signature of fraud v3 was not verified: its bytes are not downloaded" in out


def test_offline_says_the_signature_was_not_checked(signed_main: Path, workdir: Path, cli: Cli) -> None:
    register_signed(cli, signed_main, workdir, 2, workdir / "train.pem")
    out = check(cli, signed_main, "--offline", code=0)
    assert "note: the signature of fraud v2 was not verified (--offline)" in out and "verified:" not in out


# --- a pull request cannot relax the rule that judges it ----------------------------------------


def test_dropping_required_in_the_same_pr_does_not_escape_it(signed_main: Path, workdir: Path,
                                                             cli: Cli) -> None:
    (signed_main / "policies/default.yaml").write_text("schema_version: 1\nsigning: {required: false}\n")
    register_signed(cli, signed_main, workdir, 2, None)
    out = check(cli, signed_main)
    assert "[signature] signature: fraud v2 is not signed: policy default (on main) requires a " \
        "signature" in out


def test_swapping_the_signers_in_the_same_pr_does_not_escape_them(signed_main: Path, workdir: Path,
                                                                  cli: Cli) -> None:
    policy = {"schema_version": 1, "signing": {"required": True, "signers": [
        {"kind": "key", "public_key": (workdir / "attacker.pub").read_text()}]}}
    (signed_main / "policies/default.yaml").write_text(yaml.safe_dump(policy))
    register_signed(cli, signed_main, workdir, 2, workdir / "attacker.pem")
    out = check(cli, signed_main)
    assert "registry/fraud/v2/model.sig: [signature] signature: " in out and "verified:" not in out


def test_swapping_the_key_file_the_base_names_does_not_escape_it(signed_main: Path, workdir: Path,
                                                                 cli: Cli) -> None:
    shutil.copy(workdir / "attacker.pub", signed_main / "policies/keys/train.pub")
    register_signed(cli, signed_main, workdir, 2, workdir / "attacker.pem")
    out = check(cli, signed_main)
    assert "registry/fraud/v2/model.sig: [signature] signature: " in out and "verified:" not in out
    # the same key file on the base, and a signature by it: passes (the rule is the base's, not a fluke)
    git(signed_main, "checkout", "-q", "main", "--", "policies/keys/train.pub")
    shutil.rmtree(signed_main / "registry/fraud/v2")
    register_signed(cli, signed_main, workdir, 2, workdir / "train.pem")
    check(cli, signed_main, code=0)


def test_naming_a_lax_policy_in_the_same_pr_does_not_escape_it(signed_main: Path, workdir: Path,
                                                               cli: Cli) -> None:
    (signed_main / "policies/lax.yaml").write_text("schema_version: 1\n")
    register_signed(cli, signed_main, workdir, 2, None)
    manifest = signed_main / "registry/fraud/model.yaml"
    manifest.write_text(manifest.read_text() + "policy: lax\n")
    out = check(cli, signed_main)
    assert "[signature] signature: fraud v2 is not signed: policy default (on main) requires" in out


def test_a_new_model_naming_a_new_lax_policy_does_not_escape_the_default(signed_main: Path, workdir: Path,
                                                                          cli: Cli) -> None:
    (signed_main / "policies/lax.yaml").write_text("schema_version: 1\n")
    register_signed(cli, signed_main, workdir, 1, None, model="churn")
    manifest = signed_main / "registry/churn/model.yaml"
    manifest.write_text(manifest.read_text() + "policy: lax\n")
    out = check(cli, signed_main)
    assert "[signature] signature: churn v1 is not signed: policy default (on main) requires" in out


# --- deploy, status, serve ------------------------------------------------------------------------


def _environment(root: Path, srv: Path) -> None:
    config = root / "modelreg.yaml"
    config.write_text(yaml.safe_dump({**yaml.safe_load(config.read_text()), "environments": {
        "production": {"alias": "production", "targets": [{"type": "directory", "path": str(srv)}]}}}))
    regenerate_workflows(root)


def _promote(root: Path, version: int) -> None:
    path = root / "registry/fraud/model.yaml"
    doc = yaml.safe_load(path.read_text())
    doc["aliases"] = {"production": version}
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    commit_all(root, f"Promote fraud v{version} (#{version})")


def _deploy(cli: Cli, root: Path, code: int = 0) -> dict[str, object]:
    result = cli("-C", str(root), "deploy", "--json")
    assert result.code == code, result.out + result.err
    report: dict[str, object] = json.loads(result.out)
    return report


@pytest.fixture
def deployable(signed_main: Path, tmp_path: Path) -> Path:
    """signed_main on main, with a directory target for production."""
    git(signed_main, "switch", "-q", "main")
    _environment(signed_main, tmp_path / "srv")
    commit_all(signed_main, "Serve production")
    return signed_main


def test_deploy_verifies_the_signature_and_says_so(deployable: Path, tmp_path: Path, cli: Cli) -> None:
    _promote(deployable, 1)
    planned = cli.ok("-C", str(deployable), "deploy", "--dry-run").out
    assert "its signature would be verified first (policy default requires a signature" in planned
    report = _deploy(cli, deployable)
    [step] = report["deployments"]  # type: ignore[misc]
    assert step["outcome"] == "succeeded" and "signature by key sha256:" in step["message"]
    assert os.readlink(tmp_path / "srv/fraud/production") == "1"


def test_a_signed_directory_artifact_passes_deploys_and_stays_live(deployable: Path, workdir: Path,
                                                                   tmp_path: Path, cli: Cli) -> None:
    model = workdir / "model-dir"
    (model / "weights").mkdir(parents=True)
    (model / "config.json").write_text('{"layers": 2}')
    (model / "weights/w.bin").write_bytes(os.urandom(8192))
    git(deployable, "switch", "-q", "-c", "dir")
    cli.ok("-C", str(deployable), "register", "fraud", "--artifact", str(model), "--sign-key",
           str(workdir / "train.pem"))
    assert "verified: fraud v2: signed by key sha256:" in check(cli, deployable, code=0)
    commit_all(deployable, "Register fraud v2, a directory")
    git(deployable, "switch", "-q", "main")
    git(deployable, "merge", "-q", "dir")
    _promote(deployable, 2)
    [step] = _deploy(cli, deployable)["deployments"]  # type: ignore[misc]
    assert step["outcome"] == "succeeded" and "signature by key sha256:" in step["message"]
    assert (tmp_path / "srv/fraud/2/model-dir/weights/w.bin").read_bytes() == \
        (model / "weights/w.bin").read_bytes()
    row = cli.ok("-C", str(deployable), "status", "--json").json["rows"][0]
    assert row["state"] == "live" and row["targets"][0]["signed_by"]
    # a file added on the target: drift, and the signature does not verify on those bytes either
    (tmp_path / "srv/fraud/2/model-dir/extra.txt").write_text("planted")
    row = cli("-C", str(deployable), "status", "--json").json["rows"][0]
    assert row["state"] == "drift"


@pytest.mark.parametrize("bundle", ["a signer not allowed", "other bytes"])
def test_deploy_refuses_bytes_whose_signature_does_not_verify(deployable: Path, workdir: Path,
                                                              tmp_path: Path, cli: Cli, bundle: str) -> None:
    """A version merged past the gate (an admin's merge) with a bundle by a signer not allowed, or
    a bundle of other bytes: refused before any target sees it, and the ledger says why."""
    _promote(deployable, 1)
    _deploy(cli, deployable)
    if bundle == "other bytes":
        other = workdir / "other.bin"
        other.write_bytes(os.urandom(4096))
        register_signed(cli, deployable, workdir, 2, workdir / "train.pem", signed=other)
    else:
        register_signed(cli, deployable, workdir, 2, workdir / "attacker.pem")
    commit_all(deployable, "Register fraud v2")
    _promote(deployable, 2)
    report = _deploy(cli, deployable, code=1)
    [step] = report["deployments"]  # type: ignore[misc]
    assert step["outcome"] == "refused"
    assert step["message"].startswith("signature not verified, registry/fraud/v2/model.sig: ")
    assert step["message"].endswith("no target was touched")
    assert os.readlink(tmp_path / "srv/fraud/production") == "1" and not (tmp_path / "srv/fraud/2").exists()
    [record] = [r for r in ledger.read(deployable) if r.kind == "deployment" and r.after == 2]
    assert record.outcome == "refused" and "signature not verified" in str(record.message)


def test_status_checks_the_signature_of_what_is_served(deployable: Path, workdir: Path, cli: Cli) -> None:
    _promote(deployable, 1)
    _deploy(cli, deployable)
    row = cli.ok("-C", str(deployable), "status", "--json").json["rows"][0]
    assert row["state"] == "live" and row["targets"][0]["signed_by"].startswith("key sha256:")
    assert ": signature by key sha256:" in cli.ok("-C", str(deployable), "status").out
    # main now trusts another key only: what production serves no longer verifies
    shutil.copy(workdir / "attacker.pub", deployable / "policies/keys/train.pub")
    commit_all(deployable, "Rotate the key")
    result = cli("-C", str(deployable), "status", "--json")
    row = result.json["rows"][0]
    assert row["state"] == "drift" and any("signature not verified" in d for d in row["drift"])
    fast = cli("-C", str(deployable), "status", "--fast", "--json")
    assert any("signatures not checked (--fast): the policy of models:/fraud/1 requires signing" in w
               for w in fast.json["warnings"])
    # reconcile redeploys it, and deploy refuses what does not verify
    reconciled = cli("-C", str(deployable), "reconcile", "--json")
    assert reconciled.code == 1 and "signature not verified" in reconciled.out


def test_serve_refuses_a_version_whose_signature_does_not_verify(deployable: Path, workdir: Path,
                                                                 cli: Cli) -> None:
    from modelreg.api import Registry
    from modelreg.errors import IntegrityError
    from modelreg.serve import locate

    _promote(deployable, 1)
    _deploy(cli, deployable)
    reg = Registry(deployable)
    found = locate.find(reg, "models:/fraud@production")
    assert locate.read_verified(reg, found)  # signed by the key the policy names
    shutil.copy(workdir / "attacker.pub", deployable / "policies/keys/train.pub")
    commit_all(deployable, "Rotate the key")
    reg = Registry(deployable)
    with pytest.raises(IntegrityError, match="models:/fraud/1: signature not verified"):
        locate.read_verified(reg, locate.find(reg, "models:/fraud@production"))


def test_promoting_a_version_whose_signature_does_not_hold_fails(signed_main: Path, workdir: Path,
                                                                 cli: Cli) -> None:
    """A version on main that is not signed (committed past the gate, or before the rule) cannot be
    promoted: the signature gate judges the version an alias moves to, not only new ones; a signed
    one promotes."""
    from tests.helpers import set_aliases

    git(signed_main, "switch", "-q", "main")
    register_signed(cli, signed_main, workdir, 2, None)
    register_signed(cli, signed_main, workdir, 3, workdir / "train.pem")
    commit_all(signed_main, "fraud v2 and v3, past the gate")
    git(signed_main, "switch", "-q", "feature")
    git(signed_main, "merge", "-q", "main")
    set_aliases(signed_main, "fraud", {"production": 2})
    assert "fraud v2 is not signed" in check(cli, signed_main)
    set_aliases(signed_main, "fraud", {"production": 3})
    assert "verified: fraud v3" in check(cli, signed_main, "--gate", "signature", code=0)


def test_register_says_when_the_policy_requires_a_signature_it_was_not_given(
        signed_main: Path, workdir: Path, cli: Cli) -> None:
    """An unsigned registration under a policy that requires signing is registered (main's policy
    decides, at the gate), with a warning that names the fix; a signed one gets none."""
    folder = workdir / "unsigned"
    folder.mkdir()
    (folder / "model.pkl").write_bytes(b"\x80\x04K\x07.")
    (folder / "metrics.json").write_text(json.dumps({"roc_auc": 0.97}))
    result = cli("-C", str(signed_main), "register", "fraud", "--artifact", str(folder / "model.pkl"),
                 "--metrics", str(folder / "metrics.json"), "--description", "unsigned")
    assert result.code == 0, result.err
    assert "warning: policy default requires a signature by one of 1 signer(s), and this version is not " \
           "signed: the gate will fail it; register it again with --sign-key FILE" in result.err
    signed = cli("-C", str(signed_main), "register", "fraud", "--artifact", str(folder / "model.pkl"),
                 "--metrics", str(folder / "metrics.json"), "--description", "signed",
                 "--sign-key", str(workdir / "train.pem"))
    assert signed.code == 0 and "warning" not in signed.err, signed.err
