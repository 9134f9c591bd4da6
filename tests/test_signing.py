"""Signing and verifying artifacts (edges/signing.py) with real keys and a real certificate chain
(a root CA, an intermediate, a leaf) made by ``cryptography`` here, and the real model_signing."""

from __future__ import annotations

import base64
import datetime
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from modelreg.edges import signing
from modelreg.edges.hashing import artifact_sha256
from modelreg.edges.signing import SignatureError, Signer
from modelreg.formats import layout
from tests.helpers import Cli, git, register, set_aliases


def write_key(path: Path, password: bytes | None = None) -> Path:
    """A P-256 private key in PEM at ``path``, its public key beside it (``.pub``)."""
    key = ec.generate_private_key(ec.SECP256R1())
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(password) if password else serialization.NoEncryption())
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       encryption))
    path.with_suffix(".pub").write_bytes(key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    return path


def _certificate(subject: str, key: ec.EllipticCurvePrivateKey, issuer: str,
                 issuer_key: ec.EllipticCurvePrivateKey, *, ca: bool) -> x509.Certificate:
    now = datetime.datetime.now(datetime.timezone.utc)
    builder = (x509.CertificateBuilder()
               .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
               .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
               .public_key(key.public_key())
               .serial_number(x509.random_serial_number())
               .not_valid_before(now - datetime.timedelta(days=1))
               .not_valid_after(now + datetime.timedelta(days=30))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
               .add_extension(x509.KeyUsage(digital_signature=not ca, content_commitment=False,
                                            key_encipherment=False, data_encipherment=False,
                                            key_agreement=False,
                                            key_cert_sign=ca, crl_sign=ca, encipher_only=False,
                                            decipher_only=False), critical=True))
    return builder.sign(issuer_key, hashes.SHA256())


@dataclass(frozen=True)
class Pki:
    root: Path
    intermediate: Path
    leaf: Path
    leaf_key: Path


def make_pki(directory: Path, name: str = "Example") -> Pki:
    """A root CA, an intermediate CA it signs, and a leaf signing certificate the intermediate signs."""
    directory.mkdir(parents=True, exist_ok=True)
    root_key, mid_key, leaf_key = (ec.generate_private_key(ec.SECP256R1()) for _ in range(3))
    root = _certificate(f"{name} Root CA", root_key, f"{name} Root CA", root_key, ca=True)
    mid = _certificate(f"{name} Intermediate CA", mid_key, f"{name} Root CA", root_key, ca=True)
    leaf = _certificate(f"{name} model signer", leaf_key, f"{name} Intermediate CA", mid_key, ca=False)
    paths = Pki(directory / "root.pem", directory / "intermediate.pem", directory / "leaf.pem",
                directory / "leaf-key.pem")
    for path, cert in ((paths.root, root), (paths.intermediate, mid), (paths.leaf, leaf)):
        path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths.leaf_key.write_bytes(leaf_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    return paths


def make_artifact(directory: Path) -> Path:
    (directory / "weights").mkdir(parents=True)
    (directory / "weights" / "layer0.bin").write_bytes(os.urandom(4096))
    (directory / "weights" / "layer1.bin").write_bytes(os.urandom(2048))
    (directory / "config.json").write_text('{"layers": 2}\n', encoding="utf-8")
    return directory


@pytest.fixture
def keyed(tmp_path: Path) -> tuple[Path, Path, Signer]:
    """A directory artifact signed with a key: (artifact, bundle, the key's Signer)."""
    artifact = make_artifact(tmp_path / "model")
    key = write_key(tmp_path / "signing.pem")
    bundle = tmp_path / "model.sig"
    signing.sign_with_key(artifact, bundle, key)
    return artifact, bundle, Signer.from_key_file(key.with_suffix(".pub"))


def test_key_signature_verifies_and_binds_the_manifest_digest(keyed: tuple[Path, Path, Signer]) -> None:
    artifact, bundle, signer = keyed
    verified = signing.verify(artifact, bundle, [signer], expected_sha256=artifact_sha256(artifact))
    assert verified.signer == signer
    assert verified.files == 3
    assert verified.digest == artifact_sha256(artifact)
    assert verified.signed_by == f"key {signer.fingerprint()}"
    assert signer.describe().startswith("key sha256:")


def test_a_single_file_artifact(tmp_path: Path) -> None:
    artifact = tmp_path / "model.onnx"
    artifact.write_bytes(os.urandom(10_000))
    key = write_key(tmp_path / "k.pem")
    signing.sign_with_key(artifact, tmp_path / "m.sig", key)
    verified = signing.verify(artifact, tmp_path / "m.sig", [Signer.from_key_file(key.with_suffix(".pub"))],
                              expected_sha256=artifact_sha256(artifact))
    assert (verified.files, verified.digest) == (1, artifact_sha256(artifact))
    artifact.write_bytes(artifact.read_bytes()[:-1] + b"\x00")
    with pytest.raises(SignatureError, match="the bytes differ from the signed ones"):
        signing.verify(artifact, tmp_path / "m.sig", [Signer.from_key_file(key.with_suffix(".pub"))])


def test_the_bundle_verifies_with_model_signing_itself(keyed: tuple[Path, Path, Signer],
                                                       tmp_path: Path) -> None:
    """The bundle is a standard OpenSSF Model Signing bundle: model_signing's own verifier accepts it."""
    from model_signing import verifying

    artifact, bundle, _ = keyed
    verifying.Config().use_elliptic_key_verifier(public_key=tmp_path / "signing.pub").verify(artifact, bundle)


def test_certificate_chain_signature(tmp_path: Path) -> None:
    artifact = make_artifact(tmp_path / "model")
    pki = make_pki(tmp_path / "pki")
    bundle = tmp_path / "model.sig"
    signing.sign_with_certificate(artifact, bundle, pki.leaf_key, pki.leaf, [pki.intermediate, pki.root])
    trusted = Signer.from_chain_files([pki.root])
    verified = signing.verify(artifact, bundle, [trusted])
    assert verified.signer == trusted
    assert verified.signed_by == "certificate CN=Example model signer"
    assert trusted.describe() == "certificates issued under CN=Example Root CA"
    # another organisation's CA is not allowed, nor a key
    other = make_pki(tmp_path / "other", "Other")
    with pytest.raises(SignatureError, match="does not verify against any allowed signer"):
        signing.verify(artifact, bundle, [Signer.from_chain_files([other.root])])
    key = write_key(tmp_path / "k.pem")
    with pytest.raises(SignatureError, match=r"signed with a certificate "
                                             r"\(certificate CN=Example model signer\), "
                                             r"which is not an allowed signer"):
        signing.verify(artifact, bundle, [Signer.from_key_file(key.with_suffix(".pub"))])


def test_a_certificate_signer_needs_its_chain() -> None:
    """An empty chain would make model_signing trust every public CA."""
    with pytest.raises(signing.InputError, match="needs the CA certificates to trust"):
        Signer(kind="certificate")


def test_a_leaf_whose_key_is_not_the_signing_key_is_refused(tmp_path: Path) -> None:
    artifact = make_artifact(tmp_path / "model")
    pki = make_pki(tmp_path / "pki")
    with pytest.raises(SignatureError, match="cannot sign with this key"):
        signing.sign_with_certificate(artifact, tmp_path / "m.sig", write_key(tmp_path / "k.pem"), pki.leaf,
                                      [pki.intermediate])
    assert not (tmp_path / "m.sig").exists()


def test_changed_file(keyed: tuple[Path, Path, Signer]) -> None:
    artifact, bundle, signer = keyed
    (artifact / "weights" / "layer1.bin").write_bytes(b"tampered")
    with pytest.raises(SignatureError,
                       match=r"bytes differ from the signed ones \(changed: weights/layer1.bin\)"):
        signing.verify(artifact, bundle, [signer])


def test_added_file(keyed: tuple[Path, Path, Signer]) -> None:
    artifact, bundle, signer = keyed
    (artifact / "extra.py").write_text("import os\n", encoding="utf-8")
    with pytest.raises(SignatureError, match=r"\(added: extra.py\)"):
        signing.verify(artifact, bundle, [signer])


def test_removed_file(keyed: tuple[Path, Path, Signer]) -> None:
    artifact, bundle, signer = keyed
    (artifact / "config.json").unlink()
    with pytest.raises(SignatureError, match=r"\(removed: config.json\)"):
        signing.verify(artifact, bundle, [signer])


def test_renamed_file(keyed: tuple[Path, Path, Signer]) -> None:
    artifact, bundle, signer = keyed
    (artifact / "config.json").rename(artifact / "weights" / "config.json")
    with pytest.raises(SignatureError, match=r"\(renamed: config.json -> weights/config.json\)"):
        signing.verify(artifact, bundle, [signer])


@pytest.mark.parametrize("name", [".git/config", ".gitattributes", ".github/workflows/x.yml", ".gitignore",
                                  "model.sig"])
def test_files_model_signing_ignores_by_default_are_not_ignored(keyed: tuple[Path, Path, Signer],
                                                                 name: str) -> None:
    """model_signing skips these names; a file planted under one would pass its verifier. Here it
    is an added file."""
    artifact, bundle, signer = keyed
    (artifact / name).parent.mkdir(parents=True, exist_ok=True)
    (artifact / name).write_text("* filter=evil\n", encoding="utf-8")
    with pytest.raises(SignatureError, match=r"\(added: "):
        signing.verify(artifact, bundle, [signer])


def test_a_bundle_that_says_what_to_ignore_is_not_obeyed(tmp_path: Path) -> None:
    """A bundle made by model_signing's own defaults lists ignore_paths (.git and the like, the
    signature): we verify it, but hash every file anyway, so a smuggled .gitattributes fails."""
    from model_signing import signing as ms_signing

    artifact = make_artifact(tmp_path / "model")
    key = write_key(tmp_path / "k.pem")
    bundle = tmp_path / "model.sig"
    ms_signing.Config().use_elliptic_key_signer(private_key=key).sign(artifact, bundle)
    signer = Signer.from_key_file(key.with_suffix(".pub"))
    assert signing.verify(artifact, bundle, [signer]).files == 3
    (artifact / ".gitattributes").write_text("smuggled\n", encoding="utf-8")
    with pytest.raises(SignatureError, match=r"\(added: .gitattributes\)"):
        signing.verify(artifact, bundle, [signer])


def test_wrong_key(keyed: tuple[Path, Path, Signer], tmp_path: Path) -> None:
    artifact, bundle, signer = keyed
    other = Signer.from_key_file(write_key(tmp_path / "other.pem").with_suffix(".pub"))
    with pytest.raises(SignatureError, match=rf"not signed by an allowed signer \(allowed: key "
                                             rf"{other.fingerprint()}\); the bundle claims key "
                                             rf"{signer.fingerprint()} \(an unsigned hint\)"):
        signing.verify(artifact, bundle, [other])
    # the right key among others is found
    assert signing.verify(artifact, bundle, [other, signer]).signer == signer


def test_a_forged_hint_does_not_help(keyed: tuple[Path, Path, Signer], tmp_path: Path) -> None:
    """The bundle's key fingerprint is a hint: changing it to an allowed key's does not verify."""
    artifact, bundle, _ = keyed
    other = Signer.from_key_file(write_key(tmp_path / "other.pem").with_suffix(".pub"))
    raw = json.loads(bundle.read_text(encoding="utf-8"))
    raw["verificationMaterial"]["publicKey"]["hint"] = other.fingerprint().removeprefix("sha256:")
    bundle.write_text(json.dumps(raw), encoding="utf-8")
    with pytest.raises(SignatureError, match="does not verify against any allowed signer"):
        signing.verify(artifact, bundle, [other])


def test_a_payload_rewritten_after_signing_fails(keyed: tuple[Path, Path, Signer]) -> None:
    """Someone with push rights swaps the signed digests for those of other bytes: the signature
    no longer matches the payload."""
    artifact, bundle, signer = keyed
    raw = json.loads(bundle.read_text(encoding="utf-8"))
    statement = json.loads(base64.b64decode(raw["dsseEnvelope"]["payload"]))
    (artifact / "config.json").write_text('{"layers": 3}\n', encoding="utf-8")
    import hashlib

    for resource in statement["predicate"]["resources"]:
        if resource["name"] == "config.json":
            resource["digest"] = hashlib.sha256(b'{"layers": 3}\n').hexdigest()
    raw["dsseEnvelope"]["payload"] = base64.b64encode(json.dumps(statement).encode()).decode()
    bundle.write_text(json.dumps(raw), encoding="utf-8")
    with pytest.raises(SignatureError, match="does not verify against any allowed signer"):
        signing.verify(artifact, bundle, [signer])


@pytest.mark.parametrize(("mangle", "message"), [
    (lambda text: text[: len(text) // 2], "malformed bundle: not JSON"),
    (lambda text: "", "malformed bundle: not JSON"),
    (lambda text: "[1, 2]", "malformed bundle: not a JSON object"),
    (lambda text: '{"mediaType": "x"}', "malformed bundle: no verificationMaterial"),
    (lambda text: text.replace('"publicKey"', '"somethingElse"'), "names no key, certificate chain"),
    (lambda text: json.dumps({**json.loads(text), "dsseEnvelope": {**json.loads(text)["dsseEnvelope"],
                                                                   "signatures": []}}),
     "does not verify against any allowed signer"),
    (lambda text: json.dumps({**json.loads(text), "dsseEnvelope": "x"}),
     "no verificationMaterial or dsseEnvelope"),
])
def test_malformed_or_truncated_bundle(keyed: tuple[Path, Path, Signer], mangle: object,
                                       message: str) -> None:
    artifact, bundle, signer = keyed
    assert callable(mangle)
    bundle.write_text(mangle(bundle.read_text(encoding="utf-8")), encoding="utf-8")
    with pytest.raises(SignatureError, match=message):
        signing.verify(artifact, bundle, [signer])


def test_missing_bundle(keyed: tuple[Path, Path, Signer]) -> None:
    artifact, bundle, signer = keyed
    bundle.unlink()
    with pytest.raises(SignatureError, match="no signature bundle"):
        signing.verify(artifact, bundle, [signer])


def test_a_bundle_signed_for_another_artifact(keyed: tuple[Path, Path, Signer], tmp_path: Path) -> None:
    _, bundle, signer = keyed
    other = make_artifact(tmp_path / "other")
    with pytest.raises(SignatureError, match="signed for another artifact: the bundle binds sha256"):
        signing.verify(other, bundle, [signer], expected_sha256=artifact_sha256(other))
    single = tmp_path / "single.bin"
    single.write_bytes(b"x")
    with pytest.raises(SignatureError, match="signed for another artifact: the bundle signs a directory"):
        signing.verify(single, bundle, [signer])


def test_links_are_never_followed(keyed: tuple[Path, Path, Signer], tmp_path: Path) -> None:
    artifact, bundle, signer = keyed
    secret = tmp_path / "outside.txt"
    secret.write_text("not part of the artifact\n", encoding="utf-8")
    (artifact / "link").symlink_to(secret)
    with pytest.raises(SignatureError, match="is a symbolic link; modelreg never follows a link"):
        signing.verify(artifact, bundle, [signer])
    (artifact / "link").unlink()
    (artifact / "linkdir").symlink_to(tmp_path, target_is_directory=True)
    with pytest.raises(SignatureError, match="never follows a link"):
        signing.verify(artifact, bundle, [signer])
    (artifact / "linkdir").unlink()
    linked = tmp_path / "linked-model"
    linked.symlink_to(artifact, target_is_directory=True)
    with pytest.raises(SignatureError, match="the artifact is a symbolic link"):
        signing.verify(linked, bundle, [signer])
    assert signing.verify(artifact, bundle, [signer]).files == 3


def test_a_bundle_that_is_a_link_is_refused(keyed: tuple[Path, Path, Signer], tmp_path: Path) -> None:
    artifact, bundle, signer = keyed
    bundle.rename(tmp_path / "real.sig")
    bundle.symlink_to(tmp_path / "real.sig")
    with pytest.raises(SignatureError, match="cannot read the bundle"):
        signing.verify(artifact, bundle, [signer])


def test_no_signer_given(keyed: tuple[Path, Path, Signer]) -> None:
    artifact, bundle, _ = keyed
    with pytest.raises(SignatureError, match="name a signer with --key"):
        signing.verify(artifact, bundle, [])


def test_encrypted_key_needs_its_password(tmp_path: Path) -> None:
    artifact = make_artifact(tmp_path / "model")
    key = write_key(tmp_path / "k.pem", password=b"correct horse")
    bundle = tmp_path / "m.sig"
    with pytest.raises(SignatureError, match="encrypted and no password was given"):
        signing.sign_with_key(artifact, bundle, key)
    with pytest.raises(SignatureError, match="wrong password"):
        signing.sign_with_key(artifact, bundle, key, b"wrong")
    assert not bundle.exists()
    signing.sign_with_key(artifact, bundle, key, b"correct horse")
    assert signing.verify(artifact, bundle, [Signer.from_key_file(key.with_suffix(".pub"))]).files == 3


def test_not_a_key(tmp_path: Path) -> None:
    artifact = make_artifact(tmp_path / "model")
    bad = tmp_path / "k.pem"
    bad.write_text("hello\n", encoding="utf-8")
    with pytest.raises(SignatureError, match="cannot sign with this key"):
        signing.sign_with_key(artifact, tmp_path / "m.sig", bad)
    with pytest.raises(SignatureError, match="no private key file"):
        signing.sign_with_key(artifact, tmp_path / "m.sig", tmp_path / "missing.pem")
    assert not (tmp_path / "m.sig").exists()


def test_the_bundle_is_never_inside_the_artifact(tmp_path: Path) -> None:
    artifact = make_artifact(tmp_path / "model")
    with pytest.raises(SignatureError, match="inside the artifact"):
        signing.sign_with_key(artifact, artifact / "model.sig", write_key(tmp_path / "k.pem"))


def test_digests_given_are_the_ones_signed(tmp_path: Path) -> None:
    """Signing at register signs the hashes register computed, not a re-read of the files."""
    artifact = make_artifact(tmp_path / "model")
    key = write_key(tmp_path / "k.pem")
    from modelreg.edges.hashing import sha256_file, walk_files

    digests = {rel: sha256_file(path) for path, rel in walk_files(artifact)}
    (artifact / "config.json").write_text("changed after hashing\n", encoding="utf-8")
    signing.sign_with_key(artifact, tmp_path / "m.sig", key, digests=digests)
    with pytest.raises(SignatureError, match=r"changed: config.json"):
        signing.verify(artifact, tmp_path / "m.sig", [Signer.from_key_file(key.with_suffix(".pub"))])


def test_keyless_without_a_token_says_what_it_needs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Keyless signing cannot be exercised here (no Sigstore); without an OIDC token it refuses
    with the fix, and starts no interactive login."""
    for name in ("GITHUB_ACTIONS", "ACTIONS_ID_TOKEN_REQUEST_URL", "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
                 "SIGSTORE_ID_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    artifact = make_artifact(tmp_path / "model")
    with pytest.raises(SignatureError, match="id-token: write"):
        signing.sign_keyless(artifact, tmp_path / "m.sig")
    assert not (tmp_path / "m.sig").exists()


def test_a_sigstore_signer_needs_identity_and_issuer() -> None:
    with pytest.raises(signing.InputError, match="needs an identity and an issuer"):
        Signer(kind="sigstore", identity="https://github.com/o/r/.github/workflows/train.yml@refs/heads/main")
    signer = Signer(kind="sigstore", identity="x@example.com", issuer="https://accounts.example.com")
    assert signer.describe() == "Sigstore identity x@example.com (issuer https://accounts.example.com)"


# --- register --sign and modelreg verify, end to end ----------------------------------------------


def test_register_signed_then_verify(registry: Path, workdir: Path, cli: Cli, tmp_path: Path) -> None:
    key = write_key(tmp_path / "signing.pem")
    register(cli, registry, workdir, "fraud", "--sign-key", str(key), "--commit")
    version = registry / "registry/fraud/v1"
    assert (version / "model.sig").is_file()
    assert "signature: model.sig" in (version / "version.yaml").read_text()
    assert "model.sig" in git(registry, "ls-files", "registry/fraud/v1")
    out = cli.ok("-C", str(registry), "verify", "fraud/1", "--key", str(key.with_suffix(".pub"))).out
    assert out.startswith("verified: fraud v1 (registry/fraud/v1/model.sig)")
    assert "1 file hashed in this run" in out
    data = cli.ok("-C", str(registry), "verify", "models:/fraud/1", "--key", str(key.with_suffix(".pub")),
                  "--json").json
    assert data["verified"] is True and data["files"] == 1
    assert data["sha256"] == yaml.safe_load((version / "version.yaml").read_text())["artifact"]["sha256"]
    assert data["signer"] == {"kind": "key", "fingerprint": Signer.from_key_file(key.with_suffix(".pub"))
                              .fingerprint()}
    # a check passes on the signed version: the layout allows the bundle the manifest names
    cli.ok("-C", str(registry), "check")


def test_verify_refuses_a_wrong_key_a_missing_signer_and_an_unsigned_version(
        registry: Path, workdir: Path, cli: Cli, tmp_path: Path) -> None:
    key = write_key(tmp_path / "signing.pem")
    other = write_key(tmp_path / "other.pem")
    register(cli, registry, workdir, "fraud", "--sign-key", str(key))
    register(cli, registry, workdir, "fraud", seed=2)
    err = cli.fails("-C", str(registry), "verify", "fraud/1", "--key", str(other.with_suffix(".pub"))).err
    assert "not signed by an allowed signer" in err
    err = cli.fails("-C", str(registry), "verify", "fraud/1").err
    assert "name a signer with --key" in err
    err = cli.fails("-C", str(registry), "verify", "fraud/2", "--key", str(key.with_suffix(".pub"))).err
    assert "fraud v2 is not signed" in err


def test_verify_without_a_signer_takes_the_policys(registry: Path, workdir: Path, cli: Cli,
                                                  tmp_path: Path) -> None:
    """No --key: the signers the model's policy lists are the allowed ones, and the output says so;
    a version signed by another key still fails."""
    key = write_key(tmp_path / "signing.pem")
    other = write_key(tmp_path / "other.pem")
    (registry / "policies/keys").mkdir(parents=True, exist_ok=True)
    (registry / "policies/keys/train.pub").write_bytes(key.with_suffix(".pub").read_bytes())
    policy = registry / "policies/default.yaml"
    policy.write_text(policy.read_text() + "signing:\n  signers:\n    - {kind: key, public_key: "
                      "policies/keys/train.pub}\n")
    register(cli, registry, workdir, "fraud", "--sign-key", str(key))
    register(cli, registry, workdir, "fraud", "--sign-key", str(other), seed=2)
    out = cli.ok("-C", str(registry), "verify", "fraud/1").out
    assert out.startswith("verified: fraud v1") and "allowed signers: those of policy default" in out
    assert cli.ok("-C", str(registry), "verify", "fraud/1", "--json").json["signers_from"] == "policy default"
    assert "not signed by an allowed signer" in cli.fails("-C", str(registry), "verify", "fraud/2").err


def test_verify_fails_on_bytes_changed_in_the_cache_and_the_remote(registry: Path, workdir: Path, cli: Cli,
                                                                    tmp_path: Path) -> None:
    """The bytes verify reads are re-hashed: a damaged local copy is evicted and fetched again (as
    `get` does); bytes changed in the remote too fail."""
    key = write_key(tmp_path / "signing.pem")
    pub = str(key.with_suffix(".pub"))
    register(cli, registry, workdir, "fraud", "--sign-key", str(key))
    md5 = yaml.safe_load((registry / "registry/fraud/v1/version.yaml").read_text())["artifact"]["md5"]
    cached = registry / ".dvc/cache/files/md5" / md5[:2] / md5[2:]
    remote = registry / ".modelreg/remote/files/md5" / md5[:2] / md5[2:]
    for obj in (cached, remote):
        obj.chmod(0o644)
    cached.write_bytes(b"tampered")
    data = cli.ok("-C", str(registry), "verify", "fraud/1", "--key", pub, "--json").json
    assert data["bytes_from"] == "remote"
    for obj in (cached, remote):
        obj.write_bytes(b"tampered")
    err = cli.fails("-C", str(registry), "verify", "fraud/1", "--key", pub).err
    assert "models:/fraud/1: the artifact in the DVC remote" in err and "; not verified;" in err


def test_verify_fails_on_a_file_changed_in_a_cached_directory(registry: Path, workdir: Path, cli: Cli,
                                                              tmp_path: Path) -> None:
    """For a directory, a file changed both in the cache and the remote is named."""
    key = write_key(tmp_path / "signing.pem")
    art = make_artifact(workdir / "hf")
    cli.ok("-C", str(registry), "register", "bert", "--artifact", str(art), "--metric", "f1=0.9",
           "--owner", "@acme/nlp", "--sign-key", str(key))
    import hashlib

    md5 = hashlib.md5((art / "config.json").read_bytes()).hexdigest()
    for store in (".dvc/cache", ".modelreg/remote"):
        obj = registry / store / "files/md5" / md5[:2] / md5[2:]
        obj.chmod(0o644)
        obj.write_bytes(b'{"layers": 99}\n')
    err = cli.fails("-C", str(registry), "verify", "bert/1", "--key", str(key.with_suffix(".pub"))).err
    assert "models:/bert/1: the file config.json of the artifact in the DVC remote" in err
    assert err.rstrip().endswith("restore it, or register the version again")


def test_verify_fetches_from_the_remote_when_the_cache_lacks_it(registry: Path, workdir: Path, cli: Cli,
                                                                  tmp_path: Path) -> None:
    key = write_key(tmp_path / "signing.pem")
    art = workdir / "hf"
    make_artifact(art)
    cli.ok("-C", str(registry), "register", "bert", "--artifact", str(art), "--metric", "f1=0.9",
           "--owner", "@acme/nlp", "--sign-key", str(key))
    shutil.rmtree(registry / ".dvc/cache")
    pub = str(key.with_suffix(".pub"))
    data = cli.ok("-C", str(registry), "verify", "bert/1", "--key", pub, "--json").json
    assert (data["files"], data["bytes_from"]) == (3, "remote")
    data = cli.ok("-C", str(registry), "verify", "bert/1", "--key", pub, "--json").json
    assert data["bytes_from"] == "local cache"


def test_a_tampered_bundle_or_a_bundle_from_another_version_fails(registry: Path, workdir: Path, cli: Cli,
                                                                  tmp_path: Path) -> None:
    key = write_key(tmp_path / "signing.pem")
    pub = str(key.with_suffix(".pub"))
    register(cli, registry, workdir, "fraud", "--sign-key", str(key))
    register(cli, registry, workdir, "fraud", "--sign-key", str(key), seed=2)
    v1, v2 = registry / "registry/fraud/v1/model.sig", registry / "registry/fraud/v2/model.sig"
    v2.write_bytes(v1.read_bytes())
    err = cli.fails("-C", str(registry), "verify", "fraud/2", "--key", pub).err
    assert "signed for another artifact" in err
    v2.write_text(v1.read_text()[:100])
    assert "malformed bundle" in cli.fails("-C", str(registry), "verify", "fraud/2", "--key", pub).err
    v2.unlink()
    assert "no signature bundle" in cli.fails("-C", str(registry), "verify", "fraud/2", "--key", pub).err


def test_register_with_a_bad_key_or_password_writes_nothing(registry: Path, workdir: Path, cli: Cli,
                                                            tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    key = write_key(tmp_path / "signing.pem", password=b"s3cret")
    art = workdir / "model.pkl"
    art.write_bytes(os.urandom(1000))
    before = git(registry, "status", "--porcelain")
    args = ("-C", str(registry), "register", "fraud", "--artifact", str(art), "--metric", "auc=0.9",
            "--owner", "@acme/fraud-ml", "--sign-key", str(key))
    assert "encrypted and no password was given" in cli.fails(*args).err
    monkeypatch.setenv("MODELREG_SIGN_KEY_PASSWORD", "wrong")
    assert "wrong password" in cli.fails(*args).err
    assert not (registry / "registry/fraud").exists()
    assert git(registry, "status", "--porcelain") == before
    assert not list((registry / ".dvc").glob("cache/files/md5/*/*")), "nothing was hashed into the cache"
    monkeypatch.setenv("MODELREG_SIGN_KEY_PASSWORD", "s3cret")
    cli.ok(*args)
    cli.ok("-C", str(registry), "verify", "fraud/1", "--key", str(key.with_suffix(".pub")))


def test_register_signed_with_a_certificate_chain(registry: Path, workdir: Path, cli: Cli,
                                                  tmp_path: Path) -> None:
    pki = make_pki(tmp_path / "pki")
    register(cli, registry, workdir, "fraud", "--sign-key", str(pki.leaf_key), "--sign-certificate",
             str(pki.leaf), "--sign-chain", str(pki.intermediate))
    out = cli.ok("-C", str(registry), "verify", "fraud/1", "--certificate-chain", str(pki.root)).out
    assert "signed by certificate CN=Example model signer, allowed as certificates issued under " \
           "CN=Example Root CA" in out
    other = make_pki(tmp_path / "other", "Other")
    cli.fails("-C", str(registry), "verify", "fraud/1", "--certificate-chain", str(other.root))


def test_signing_options_that_do_not_go_together(registry: Path, workdir: Path, cli: Cli,
                                                 tmp_path: Path) -> None:
    art = workdir / "model.pkl"
    art.write_bytes(b"x" * 100)
    base = ("-C", str(registry), "register", "fraud", "--artifact", str(art), "--metric", "auc=0.9",
            "--owner", "@acme/fraud-ml")
    key = write_key(tmp_path / "k.pem")
    assert "needs a method" in cli.fails(*base, "--sign", code=2).err
    assert "without --sign-key" in cli.fails(*base, "--sign-keyless", "--sign-key", str(key), code=2).err
    assert "needs the private key" in cli.fails(*base, "--sign-certificate", str(key), code=2).err
    assert "--identity and --issuer go together" in cli.fails("-C", str(registry), "verify", "fraud/1",
                                                              "--identity", "x", code=2).err


def test_a_signature_file_the_manifest_does_not_name_is_refused() -> None:
    files = {"version.yaml": layout.FILE, "model.pkl.dvc": layout.FILE, ".gitignore": layout.FILE,
             "model.sig": layout.FILE}
    manifest: dict[str, object] = {"artifact": {"path": "model.pkl"}}
    problems = layout.version_problems("fraud", 1, files, manifest, work_tree=False)
    assert [p.file for p in problems] == ["registry/fraud/v1/model.sig"]
    manifest["signature"] = "model.sig"
    assert layout.version_problems("fraud", 1, files, manifest, work_tree=False) == []


def test_reads_of_a_signed_version_never_import_the_signing_libraries(registry: Path, workdir: Path,
                                                                      cli: Cli, tmp_path: Path) -> None:
    register(cli, registry, workdir, "fraud", "--sign-key", str(write_key(tmp_path / "k.pem")), "--commit")
    probe = ("import sys, runpy; sys.argv = ['modelreg', '-C', sys.argv[1]] + sys.argv[2:]\n"
             "try:\n    runpy.run_module('modelreg', run_name='__main__')\n"
             "except SystemExit as e:\n    assert not e.code, e.code\n"
             "print('HEAVY', sorted({m.split('.')[0] for m in sys.modules} & {'model_signing', 'sigstore', "
             "'OpenSSL', 'cryptography'}))")
    for args in (["show", "fraud/1"], ["resolve", "fraud/1"], ["list"], ["history", "fraud"]):
        proc = subprocess.run([sys.executable, "-c", probe, str(registry), *args], capture_output=True,
                              text=True, check=False)
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.strip().splitlines()[-1] == "HEAVY []", (args, proc.stdout)


def test_without_the_signing_extra_the_error_names_it(keyed: tuple[Path, Path, Signer],
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    artifact, bundle, signer = keyed
    monkeypatch.setitem(sys.modules, "model_signing", None)  # what an environment without it imports
    for name in [m for m in sys.modules if m.startswith("model_signing.")]:
        monkeypatch.setitem(sys.modules, name, None)
    with pytest.raises(signing.ModelregError, match=r"^signing needs the model-signing package .*; "
                                                    r"install the signing extra: pip install "
                                                    r"'modelreg\[sign\]'$"):
        signing.verify(artifact, bundle, [signer])


def test_a_key_on_another_curve_is_refused_before_hashing(tmp_path: Path) -> None:
    key = ec.generate_private_key(ec.SECP256K1())
    path = tmp_path / "k1.pem"
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    with pytest.raises(SignatureError, match="cannot sign with this key: Unsupported key: secp256k1"):
        signing.prepare(signing.SigningMethod("key", private_key=path))


def test_a_card_named_like_the_bundle_is_refused(registry: Path, workdir: Path, cli: Cli,
                                                 tmp_path: Path) -> None:
    card = workdir / "model.sig"
    card.write_text("# card\n", encoding="utf-8")
    art = workdir / "model.pkl"
    art.write_bytes(b"x" * 100)
    err = cli.fails("-C", str(registry), "register", "fraud", "--artifact", str(art), "--metric", "auc=0.9",
                    "--owner", "@acme/fraud-ml", "--card", str(card), "--sign-key",
                    str(write_key(tmp_path / "k.pem"))).err
    assert "the card is named model.sig, the name of the signature bundle" in err
    assert not (registry / "registry/fraud").exists()


def test_verify_takes_an_alias_uri_and_a_revision(registry: Path, workdir: Path, cli: Cli,
                                                  tmp_path: Path) -> None:
    key = write_key(tmp_path / "signing.pem")
    pub = str(key.with_suffix(".pub"))
    register(cli, registry, workdir, "fraud", "--sign-key", str(key), "--commit")
    set_aliases(registry, "fraud", {"production": 1})
    git(registry, "commit", "-qam", "promote")
    assert cli.ok("-C", str(registry), "verify", "models:/fraud@production", "--key", pub,
                  "--json").json["version"] == 1
    # --at reads the bundle committed at that revision, not the work tree's
    (registry / "registry/fraud/v1/model.sig").write_text("{}", encoding="utf-8")
    assert "malformed bundle" in cli.fails("-C", str(registry), "verify", "fraud/1", "--key", pub).err
    assert cli.ok("-C", str(registry), "verify", "fraud/1", "--key", pub, "--at", "HEAD").out.startswith(
        "verified: fraud v1")


def test_a_public_key_file_that_is_not_one_is_refused(tmp_path: Path) -> None:
    key = write_key(tmp_path / "k.pem")
    with pytest.raises(SignatureError, match=r"k.pem: not a PEM public key"):
        Signer.from_key_file(key)  # the private key given where the public one belongs


def test_a_deeply_nested_bundle_is_malformed_not_a_crash(keyed: tuple[Path, Path, Signer]) -> None:
    artifact, bundle, signer = keyed
    bundle.write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")
    with pytest.raises(SignatureError, match="malformed bundle"):
        signing.verify(artifact, bundle, [signer])


def test_the_python_api_signs_and_verifies(registry: Path, workdir: Path, tmp_path: Path) -> None:
    from modelreg import Registry
    from modelreg.write.register import Registration

    key = write_key(tmp_path / "signing.pem")
    art = make_artifact(workdir / "hf")
    reg = Registry(str(registry))
    done = reg.register(Registration(model="bert", artifact=art, metrics={"f1": 0.9}, owners=["@acme/nlp"]),
                        sign=signing.SigningMethod("key", private_key=key))
    assert done.manifest["signature"] == "model.sig"
    check = Registry(str(registry)).verify("bert/1", [Signer.from_key_file(key.with_suffix(".pub"))])
    assert (check.verified.files, check.to_dict()["verified"]) == (3, True)


def test_register_without_the_signing_extra_fails_before_hashing(registry: Path, workdir: Path, cli: Cli,
                                                                 tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    key = write_key(tmp_path / "k.pem")
    art = workdir / "model.pkl"
    art.write_bytes(os.urandom(1000))
    monkeypatch.setitem(sys.modules, "model_signing", None)  # what an environment without it imports
    err = cli.fails("-C", str(registry), "register", "fraud", "--artifact", str(art), "--metric", "auc=0.9",
                    "--owner", "@acme/fraud-ml", "--sign-key", str(key)).err
    assert "pip install 'modelreg[sign]'" in err
    assert not (registry / "registry/fraud").exists()
    assert not list((registry / ".dvc").glob("cache/files/md5/*/*")), "nothing was hashed into the cache"
