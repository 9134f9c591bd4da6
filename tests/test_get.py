"""``modelreg get``: download through DVC, verify sha256, write atomically."""

from __future__ import annotations

import hashlib
import os
import random
import shutil
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from modelreg.edges import atomic
from tests.helpers import Cli, artifact, commit_all, git, register
from tests.http_sink import HttpSink


def remote_object(root: Path, md5: str) -> Path:
    return root / ".modelreg/remote/files/md5" / md5[:2] / md5[2:]


def drop_local_cache(root: Path) -> None:
    shutil.rmtree(root / ".dvc" / "cache", ignore_errors=True)


@pytest.fixture
def one_version(registry: Path, workdir: Path, cli: Cli) -> Path:
    register(cli, registry, workdir, size=50_000, seed=7)
    commit_all(registry, "Register v1")
    return registry


def test_get_downloads_and_verifies(one_version: Path, tmp_path: Path, cli: Cli) -> None:
    drop_local_cache(one_version)  # as on a fresh clone: the bytes must come from the remote
    out = tmp_path / "out" / "model.pkl"
    result = cli.ok("-C", str(one_version), "get", "models:/fraud-detector/1", "-o", str(out))
    expected = (tmp_path / "work/fraud-detector-7/model.pkl").read_bytes()
    assert out.read_bytes() == expected
    assert "sha256 verified" in result.out
    assert list(out.parent.iterdir()) == [out]  # no temporary files left beside it


def test_get_into_a_directory(one_version: Path, tmp_path: Path, cli: Cli) -> None:
    result = cli.ok("-C", str(one_version), "get", "fraud-detector/latest", "-o", f"{tmp_path}/new/",
                    "--json")
    assert result.json["path"] == str(tmp_path / "new" / "model.pkl")
    assert (tmp_path / "new" / "model.pkl").is_file()


def test_existing_output_needs_force(one_version: Path, tmp_path: Path, cli: Cli) -> None:
    out = tmp_path / "model.pkl"
    out.write_text("precious")
    result = cli.fails("-C", str(one_version), "get", "fraud-detector/1", "-o", str(out))
    assert "already exists" in result.err and "--force" in result.err
    assert out.read_text() == "precious"
    cli.ok("-C", str(one_version), "get", "fraud-detector/1", "-o", str(out), "--force")
    assert out.stat().st_size == 50_000


def test_force_replaces_a_link_never_writes_through_it(one_version: Path, tmp_path: Path, cli: Cli) -> None:
    out, victim = tmp_path / "out", tmp_path / "victim.txt"
    out.mkdir()
    victim.write_text("keep me")
    (out / "notes.txt").write_text("a user's file")
    (out / "model.pkl").symlink_to(victim)
    result = cli.fails("-C", str(one_version), "get", "fraud-detector/1", "-o", f"{out}/")
    assert "already exists" in result.err and (out / "model.pkl").is_symlink()
    cli.ok("-C", str(one_version), "get", "fraud-detector/1", "-o", f"{out}/", "--force")
    assert victim.read_text() == "keep me" and (out / "notes.txt").read_text() == "a user's file"
    assert not (out / "model.pkl").is_symlink() and (out / "model.pkl").stat().st_size == 50_000
    (out / "model.pkl").unlink()
    (out / "model.pkl").symlink_to(tmp_path / "not-yet")  # a dangling link is someone's too
    result = cli.fails("-C", str(one_version), "get", "fraud-detector/1", "-o", f"{out}/")
    assert "already exists" in result.err and not (tmp_path / "not-yet").exists()


def test_swapped_remote_object_is_caught_and_nothing_written(one_version: Path, tmp_path: Path,
                                                             cli: Cli) -> None:
    md5 = cli.ok("-C", str(one_version), "resolve", "fraud-detector/1", "--json").json["artifact"]["md5"]
    obj = remote_object(one_version, md5)
    mode = obj.stat().st_mode
    os.chmod(obj, stat.S_IWUSR | stat.S_IRUSR)
    swapped = random.Random(1).randbytes(50_000)  # same size: only a hash tells them apart
    obj.write_bytes(swapped)
    os.chmod(obj, mode)  # permissions kept, as a careful attacker would
    drop_local_cache(one_version)
    out = tmp_path / "out" / "model.pkl"
    out.parent.mkdir()
    expected = cli.ok("-C", str(one_version), "resolve", "fraud-detector/1", "--json").json["artifact"]
    for _ in range(2):  # the second attempt meets the same evidence: nothing was deleted
        result = cli.fails("-C", str(one_version), "get", "fraud-detector/1", "-o", str(out))
        assert result.err.startswith(
            f"error: models:/fraud-detector/1: the artifact in the DVC remote (object {md5}) has sha256 "
            f"{hashlib.sha256(swapped).hexdigest()}, but registry/fraud-detector/v1/version.yaml records "
            f"{expected['sha256']}; nothing was written to {out}; the object was left in the remote as "
            "evidence"), result.err
        assert len(result.err.strip().splitlines()) == 1
        assert list(out.parent.iterdir()) == []
        assert obj.read_bytes() == swapped and obj.stat().st_mode == mode
        assert not (one_version / ".dvc/cache/files/md5" / md5[:2] / md5[2:]).exists()


def test_tampered_manifest_sha256_is_caught(one_version: Path, tmp_path: Path, cli: Cli) -> None:
    path = one_version / "registry/fraud-detector/v1/version.yaml"
    text = path.read_text()
    real = hashlib.sha256((tmp_path / "work/fraud-detector-7/model.pkl").read_bytes()).hexdigest()
    path.write_text(text.replace(real, "0" * 64))
    out = tmp_path / "model.pkl"
    result = cli.fails("-C", str(one_version), "get", "fraud-detector/1", "-o", str(out))
    assert f"has sha256 {real}, but registry/fraud-detector/v1/version.yaml records {'0' * 64}" in result.err
    assert not out.exists()
    assert list(tmp_path.glob(".modelreg-*")) == []


def test_corrupt_local_cache_never_reaches_the_output(one_version: Path, tmp_path: Path, cli: Cli) -> None:
    md5 = cli.ok("-C", str(one_version), "resolve", "fraud-detector/1", "--json").json["artifact"]["md5"]
    cached = one_version / ".dvc/cache/files/md5" / md5[:2] / md5[2:]
    os.chmod(cached, 0o644)
    cached.write_bytes(b"bit rot")
    out = tmp_path / "model.pkl"
    cli.ok("-C", str(one_version), "get", "fraud-detector/1", "-o", str(out))
    assert out.read_bytes() == (tmp_path / "work/fraud-detector-7/model.pkl").read_bytes()


def test_a_corrupt_cache_object_is_evicted_so_a_retry_downloads_afresh(one_version: Path, tmp_path: Path,
                                                                        cli: Cli) -> None:
    md5 = cli.ok("-C", str(one_version), "resolve", "fraud-detector/1", "--json").json["artifact"]["md5"]
    cached = one_version / ".dvc/cache/files/md5" / md5[:2] / md5[2:]
    remote = remote_object(one_version, md5)
    good = remote.read_bytes()
    for path in (cached, remote):  # the same wrong bytes in both places
        os.chmod(path, 0o644)
        path.write_bytes(b"x" * len(good))
    out = tmp_path / "model.pkl"
    err = cli.fails("-C", str(one_version), "get", "fraud-detector/1", "-o", str(out)).err
    assert f"the artifact in the DVC remote (object {md5}) has sha256" in err  # fetched again, refused
    assert not cached.exists(), "the damaged cache copy must go, or every retry fails the same way"
    assert remote.read_bytes() == b"x" * len(good)
    remote.write_bytes(good)  # the remote is restored: the next attempt succeeds
    cli.ok("-C", str(one_version), "get", "fraud-detector/1", "-o", str(out))
    assert out.read_bytes() == good


def test_a_killed_download_leaves_nothing_that_the_next_run_keeps(registry: Path, workdir: Path,
                                                                  tmp_path: Path, cli: Cli) -> None:
    big = workdir / "big" / "model.pkl"
    big.parent.mkdir()
    with open(big, "wb") as file:
        for _ in range(300):
            file.write(os.urandom(1024 * 1024))
    cli.ok("-C", str(registry), "register", "fraud-detector", "--artifact", str(big), "--owner", "@a/b")
    drop_local_cache(registry)
    out = tmp_path / "out"
    out.mkdir()
    child = subprocess.Popen([sys.executable, "-m", "modelreg", "-C", str(registry), "get",
                              "fraud-detector/1", "-o", f"{out}/"], stderr=subprocess.DEVNULL)
    cache = registry / ".dvc" / "cache"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not _partial(cache, out):
        time.sleep(0.01)
    child.send_signal(signal.SIGKILL)
    child.wait()
    assert _partial(cache, out), "the download finished before it could be killed"
    cli.ok("-C", str(registry), "get", "fraud-detector/1", "-o", f"{out}/")
    assert [p.name for p in out.iterdir()] == ["model.pkl"]
    assert not list(cache.rglob(".modelreg-*")), "partial downloads must be swept"
    assert not list(atomic.journal_dir(registry).glob("*.journal"))[1:]


def _partial(cache: Path, out: Path) -> bool:
    """Some bytes of a partial download exist, in the cache's scratch or beside the output."""
    partial = [*cache.rglob(".modelreg-*"), *out.glob(".modelreg-*")]
    return any(p.is_file() and p.stat().st_size > 1024 * 1024 for p in partial) or any(
        p.is_dir() for p in partial)


def test_object_missing_from_remote(one_version: Path, tmp_path: Path, cli: Cli) -> None:
    shutil.rmtree(one_version / ".modelreg" / "remote")
    (one_version / ".modelreg" / "remote").mkdir()
    drop_local_cache(one_version)
    result = cli.fails("-C", str(one_version), "get", "fraud-detector/1", "-o", str(tmp_path / "m.pkl"))
    assert "the DVC remote has no object" in result.err and "restored or registered again" in result.err


def point_remote_at(root: Path, url: str) -> None:
    config = root / ".dvc" / "config"
    lines = [f"    url = {url}" if line.strip().startswith("url = ") else line
             for line in config.read_text().splitlines()]
    config.write_text("\n".join(lines) + "\n")


def closed_port() -> int:
    with socket.socket() as sock:  # bound, then closed: nothing listens there
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# A remote that failed or could not be reached is exit code 4 (a service), naming the remote; one that
# answered that it lacks the object is exit code 1, with the message about the object.


def test_a_local_remote_folder_that_is_gone_is_exit_4(one_version: Path, tmp_path: Path, cli: Cli) -> None:
    shutil.rmtree(one_version / ".modelreg" / "remote")
    drop_local_cache(one_version)
    out = tmp_path / "m.pkl"
    result = cli.fails("-C", str(one_version), "get", "fraud-detector/1", "-o", str(out), code=4)
    assert "the DVC remote 'storage' is the local folder" in result.err and "does not exist" in result.err
    assert not out.exists()


def test_an_http_remote_on_a_closed_port_is_exit_4(one_version: Path, tmp_path: Path, cli: Cli) -> None:
    port = closed_port()
    point_remote_at(one_version, f"http://127.0.0.1:{port}/store")
    drop_local_cache(one_version)
    result = cli.fails("-C", str(one_version), "get", "fraud-detector/1", "-o", str(tmp_path / "m.pkl"),
                       code=4)
    [line] = result.err.splitlines()
    assert line.startswith("error: models:/fraud-detector/1: the DVC remote 'storage' did not answer: ")
    assert f"127.0.0.1:{port}" in line and "check the remote in .dvc/config is reachable" in line
    assert "has no object" not in line  # never "missing" for a remote that was not reached


def test_an_http_remote_that_hangs_up_is_exit_4(one_version: Path, tmp_path: Path, cli: Cli) -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(16)

        def hang_up() -> None:
            while True:
                try:
                    conn, _ = server.accept()
                except OSError:
                    return  # the server socket was closed: the test is over
                with conn:
                    conn.recv(65536)

        threading.Thread(target=hang_up, daemon=True).start()
        point_remote_at(one_version, f"http://127.0.0.1:{server.getsockname()[1]}/store")
        drop_local_cache(one_version)
        result = cli.fails("-C", str(one_version), "get", "fraud-detector/1", "-o", str(tmp_path / "m.pkl"),
                           code=4)
    assert "the DVC remote 'storage' did not answer: ServerDisconnectedError" in result.err


def test_a_cause_chain_that_loops_is_read_to_its_end() -> None:
    from modelreg.edges import dvc

    missing = FileNotFoundError("no such object")
    missing.__cause__ = missing
    dvc._check_reached(None, missing)  # returns: nothing in the chain says the remote was not reached


@pytest.mark.parametrize(("status", "code", "message"), [
    (500, 4, "the DVC remote 'storage' did not answer: ClientResponseError: 500"),
    (403, 4, "the DVC remote 'storage' did not answer: ClientResponseError: 403"),
    (404, 1, "the DVC remote has no object"),  # it answered: the object is missing
])
def test_an_http_remote_that_answers_an_error(one_version: Path, tmp_path: Path, cli: Cli, status: int,
                                              code: int, message: str) -> None:
    drop_local_cache(one_version)
    with HttpSink() as sink:
        sink.answer(status, times=1000)
        point_remote_at(one_version, f"{sink.url}/store")
        result = cli.fails("-C", str(one_version), "get", "fraud-detector/1", "-o", str(tmp_path / "m.pkl"),
                           code=code)
    assert message in result.err
    assert sink.requests  # the remote was asked


def test_directory_artifact_round_trip(registry: Path, workdir: Path, tmp_path: Path, cli: Cli) -> None:
    folder = workdir / "saved"
    artifact(folder / "saved_model.pb", size=2000, seed=1)
    artifact(folder / "variables" / "variables.data-00000-of-00001", size=8000, seed=2)
    artifact(folder / "variables" / "variables.index", size=64, seed=3)
    cli.ok("-C", str(registry), "register", "tf-model", "-a", str(folder), "--owner", "@a/b")
    drop_local_cache(registry)
    out = tmp_path / "restored"
    cli.ok("-C", str(registry), "get", "tf-model/1", "-o", str(out))
    for rel in ("saved_model.pb", "variables/variables.data-00000-of-00001", "variables/variables.index"):
        assert (out / rel).read_bytes() == (folder / rel).read_bytes(), rel
    # The directory digest is checkable with standard tools (see modelreg.edges.hashing).
    listing = "".join(f"{hashlib.sha256((out / r).read_bytes()).hexdigest()}  {r}\n" for r in sorted(
        p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()))
    sha = cli.ok("-C", str(registry), "resolve", "tf-model/1", "--json").json["artifact"]["sha256"]
    assert hashlib.sha256(listing.encode()).hexdigest() == sha


def test_force_never_deletes_a_users_file_in_a_directory_artifact(registry: Path, workdir: Path,
                                                                   tmp_path: Path, cli: Cli) -> None:
    folder = workdir / "saved"
    artifact(folder / "saved_model.pb", size=2000, seed=1)
    artifact(folder / "variables" / "variables.index", size=64, seed=3)
    cli.ok("-C", str(registry), "register", "tf-model", "-a", str(folder), "--owner", "@a/b")
    downloads = f"{tmp_path / 'downloads'}/"
    cli.ok("-C", str(registry), "get", "tf-model/1", "-o", downloads)
    out = tmp_path / "downloads" / "saved"
    (out / "variables" / "variables.index").write_bytes(b"damaged")  # the artifact's own: replaced
    cli.ok("-C", str(registry), "get", "tf-model/1", "-o", downloads, "--force")
    index = "variables/variables.index"
    assert (out / index).read_bytes() == (folder / index).read_bytes()
    (out / "variables" / "notes.txt").write_text("a user's file")
    result = cli.fails("-C", str(registry), "get", "tf-model/1", "-o", downloads, "--force")
    assert "holds files that are not part of the artifact (saved/variables/notes.txt)" in result.err
    assert (out / "variables" / "notes.txt").read_text() == "a user's file"


def test_get_from_a_clone(one_version: Path, tmp_path: Path, cli: Cli) -> None:
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(one_version), str(clone))
    out = tmp_path / "from-clone.pkl"
    cli.ok("-C", str(clone), "get", "models:/fraud-detector/latest", "-o", str(out))
    assert out.stat().st_size == 50_000


def test_get_at_a_past_revision(one_version: Path, workdir: Path, tmp_path: Path, cli: Cli) -> None:
    register(cli, one_version, workdir, seed=8, size=1234)
    commit_all(one_version, "Register v2")
    out = tmp_path / "old.pkl"
    cli.ok("-C", str(one_version), "get", "fraud-detector/latest", "--at", "HEAD~1", "-o", str(out))
    assert out.stat().st_size == 50_000


@pytest.mark.parametrize(("entry", "message"), [
    ({"relpath": "../../escaped.bin"}, "which leaves the artifact"),
    ({"md5": "33/../../../../../../victim"}, "has an invalid hash"),
    # a file and a path below it: writing both would replace the file by a directory, or worse
    ({"nested": "weights.bin/escaped.bin"}, "has 'weights.bin/escaped.bin' inside a file"),
])
def test_hostile_directory_listing_touches_nothing(registry: Path, workdir: Path, tmp_path: Path, cli: Cli,
                                                   entry: dict, message: str) -> None:
    import json

    folder = workdir / "model-dir"
    artifact(folder / "weights.bin", size=100, seed=1)
    cli.ok("-C", str(registry), "register", "m", "-a", str(folder), "--owner", "@a/b")
    victim = tmp_path / "victim"
    victim.write_text("precious")
    # Forge a listing (with a matching md5, so DVC accepts it) with a hostile entry.
    child = hashlib.md5((folder / "weights.bin").read_bytes()).hexdigest()
    entries = [{"md5": child, "relpath": "weights.bin", **{k: v for k, v in entry.items() if k != "nested"}}]
    if "md5" in entry:
        entries[0]["md5"] = entry["md5"].replace("victim", str(victim).lstrip("/"))
    if "nested" in entry:
        entries.append({"md5": child, "relpath": entry["nested"]})
    listing = json.dumps(entries, sort_keys=True).encode()
    forged = hashlib.md5(listing).hexdigest() + ".dir"
    obj = remote_object(registry, forged)
    obj.parent.mkdir(parents=True, exist_ok=True)
    obj.write_bytes(listing)
    pointer = registry / "registry/m/v1/model-dir.dvc"
    old = pointer.read_text().split("md5: ")[1].split("\n")[0]
    pointer.write_text(pointer.read_text().replace(old, forged))
    drop_local_cache(registry)
    out = tmp_path / "deep" / "er" / "out"
    result = cli.fails("-C", str(registry), "get", "m/1", "-o", str(out))
    assert message in result.err
    assert not list(tmp_path.rglob("escaped.bin"))
    assert victim.read_text() == "precious"


@pytest.mark.parametrize("kind", ["zero", "fifo", "huge"])
def test_a_journal_that_is_not_what_it_claims_is_left_unread(registry: Path, tmp_path: Path,
                                                            kind: str) -> None:
    folder = atomic.journal_dir(registry)
    folder.mkdir(parents=True, exist_ok=True)
    journal = folder / "999999999.journal"  # no such process
    victim = tmp_path / ".modelreg-victim"
    victim.write_text("kept")
    if kind == "zero":
        os.symlink("/dev/zero", journal)
    elif kind == "fifo":
        os.mkfifo(journal)
    else:  # a journal naming its file far past the read cap is not followed to the end
        journal.write_text("x" * (atomic.JOURNAL_MAX_BYTES + 10) + f"\n{victim}\n")
    code = ("from modelreg.edges import atomic; from pathlib import Path; "
            f"print(atomic.sweep(Path({str(registry)!r})))")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                         check=False)
    assert run.returncode == 0, run.stderr
    assert victim.read_text() == "kept"


def test_journals_live_where_no_commit_can_plant_them(registry: Path) -> None:
    assert atomic.journal_dir(registry) == registry / ".git" / "modelreg" / "tmp"
