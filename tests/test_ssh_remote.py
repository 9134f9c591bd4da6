"""A real SSH remote: Debian's sshd on 127.0.0.1, driven through DVC's ssh support.

scripts/bootstrap installs openssh-server when run as root (as CI is); on a
machine without it these tests are skipped with that reason, never faked.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.helpers import Cli, artifact, commit_all, register, snapshot_tree

SSHD = shutil.which("sshd") or ("/usr/sbin/sshd" if os.path.exists("/usr/sbin/sshd") else None)
pytestmark = [pytest.mark.ssh, pytest.mark.skipif(
    SSHD is None, reason="needs openssh-server (scripts/bootstrap installs it as root)")]


@dataclass
class SshServer:
    port: int
    key: Path
    process: subprocess.Popen[bytes]
    storage: Path

    def url(self) -> str:
        user = os.environ.get("USER") or subprocess.run(["id", "-un"], capture_output=True, text=True,
                                                         check=True).stdout.strip()
        return f"ssh://{user}@127.0.0.1:{self.port}{self.storage}"

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_until_listening(proc: subprocess.Popen[bytes], port: int) -> None:
    for _ in range(200):  # bounded: at most ~10 s
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        try:
            proc.wait(timeout=0.05)  # waits on the process: returns early only if sshd died
        except subprocess.TimeoutExpired:
            continue
        raise RuntimeError(f"sshd exited: {proc.stderr.read().decode() if proc.stderr else ''}")
    raise RuntimeError("sshd did not start listening")


@pytest.fixture
def sshd(tmp_path: Path) -> Iterator[SshServer]:
    assert SSHD is not None
    base = tmp_path / "sshd"
    base.mkdir()
    for name in ("host_key", "client_key"):
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(base / name)], check=True)
    (base / "authorized_keys").write_text((base / "client_key.pub").read_text())
    os.chmod(base / "authorized_keys", 0o600)
    try:
        Path("/run/sshd").mkdir(exist_ok=True)  # sshd's privilege-separation directory
    except PermissionError:
        pytest.skip("sshd needs /run/sshd, which only root can create here")
    port = _free_port()
    (base / "sshd_config").write_text(
        f"Port {port}\nListenAddress 127.0.0.1\nHostKey {base / 'host_key'}\n"
        f"AuthorizedKeysFile {base / 'authorized_keys'}\nPasswordAuthentication no\n"
        "KbdInteractiveAuthentication no\nPermitRootLogin prohibit-password\nStrictModes no\nUsePAM no\n"
        f"PidFile {base / 'sshd.pid'}\nSubsystem sftp internal-sftp\n")
    proc = subprocess.Popen([SSHD, "-D", "-e", "-f", str(base / "sshd_config")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    storage = tmp_path / "ssh-storage"
    storage.mkdir()
    server = SshServer(port=port, key=base / "client_key", process=proc, storage=storage)
    try:
        _wait_until_listening(proc, port)
        yield server
    finally:
        if proc.poll() is None:
            server.stop()


@pytest.fixture
def ssh_registry(tmp_path: Path, cli: Cli, sshd: SshServer) -> Path:
    root = tmp_path / "reg"
    cli.ok("init", str(root), "--remote", sshd.url())
    # Credentials stay out of git, as DVC's docs advise: .dvc/config.local.
    (root / ".dvc" / "config.local").write_text(
        f"['remote \"storage\"']\n    keyfile = {sshd.key}\n")
    commit_all(root, "Registry on an SSH remote")
    return root


def test_register_and_get_over_ssh(ssh_registry: Path, sshd: SshServer, workdir: Path, tmp_path: Path,
                                   cli: Cli) -> None:
    register(cli, ssh_registry, workdir, size=200_000, seed=5)
    data = cli.ok("-C", str(ssh_registry), "resolve", "fraud-detector/1", "--json").json
    md5 = data["artifact"]["md5"]
    assert data["remote"]["location"] == f"{sshd.url()}/files/md5/{md5[:2]}/{md5[2:]}"
    stored = sshd.storage / "files/md5" / md5[:2] / md5[2:]
    original = (workdir / "fraud-detector-5" / "model.pkl").read_bytes()
    assert stored.read_bytes() == original
    shutil.rmtree(ssh_registry / ".dvc" / "cache")
    out = tmp_path / "fetched.pkl"
    cli.ok("-C", str(ssh_registry), "get", "fraud-detector/1", "-o", str(out))
    assert out.read_bytes() == original


def test_swapped_object_on_ssh_remote_is_refused(ssh_registry: Path, sshd: SshServer, workdir: Path,
                                                 tmp_path: Path, cli: Cli) -> None:
    register(cli, ssh_registry, workdir, size=10_000, seed=6)
    md5 = cli.ok("-C", str(ssh_registry), "resolve", "fraud-detector/1", "--json").json["artifact"]["md5"]
    stored = sshd.storage / "files/md5" / md5[:2] / md5[2:]
    os.chmod(stored, 0o644)
    stored.write_bytes(b"swapped on the server")
    shutil.rmtree(ssh_registry / ".dvc" / "cache")
    out = tmp_path / "fetched.pkl"
    result = cli.fails("-C", str(ssh_registry), "get", "fraud-detector/1", "-o", str(out))
    assert "models:/fraud-detector/1" in result.err
    assert not out.exists() and list(tmp_path.glob(".modelreg-*")) == []


def test_ssh_remote_down_writes_nothing(ssh_registry: Path, sshd: SshServer, workdir: Path, cli: Cli) -> None:
    sshd.stop()
    before = snapshot_tree(ssh_registry)
    art = artifact(workdir / "model.pkl")
    result = cli.fails("-C", str(ssh_registry), "register", "m", "--artifact", str(art), "--owner", "@a/b",
                       code=4)  # the remote is down: a service, not the input
    assert "DVC push failed" in result.err and "check the remote" in result.err
    assert len(result.err.strip().splitlines()) == 1
    assert snapshot_tree(ssh_registry) == before
