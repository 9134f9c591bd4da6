"""A DVC remote that is down, unreachable or refuses the credentials is reported as that, on every
path that talks to it (get, register, check, deploy; serve in test_serve.py): the remote's name, its
URL without credentials, what to check. An object missing from a remote that answered keeps its own
message (test_get.py)."""

from __future__ import annotations

import json
import re
import shutil
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import yaml

from tests.helpers import Cli, commit_all, register
from tests.http_sink import HttpSink

SECRET = "hunter2-s3cr3t"


def closed_port() -> int:
    with socket.socket() as sock:  # bound, then closed: nothing listens there
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def point_remote_at(root: Path, url: str, **settings: str) -> None:
    """The default remote's URL (and settings such as a password, in .dvc/config.local as DVC keeps
    credentials)."""
    config = root / ".dvc" / "config"
    config.write_text(re.sub(r"url = .*", f"url = {url}", config.read_text()))
    if settings:
        name = re.search(r"remote = (\S+)", config.read_text())
        assert name is not None
        lines = [f"['remote \"{name.group(1)}\"']"] + [f"    {k} = {v}" for k, v in settings.items()]
        (root / ".dvc" / "config.local").write_text("\n".join(lines) + "\n")


@contextmanager
def remote(kind: str) -> Iterator[tuple[str, dict[str, str], str]]:
    """(URL, settings, what the message must say) for a remote that is down in one way."""
    if kind == "closed port":
        port = closed_port()
        yield f"http://127.0.0.1:{port}/store", {}, "nothing answered at that address"
        return
    if kind == "ssh closed port":  # the password DVC keeps in config.local is never shown
        port = closed_port()
        yield f"ssh://alice@127.0.0.1:{port}/store", {"password": SECRET}, "nothing answered at that address"
        return
    with HttpSink() as sink:
        status = {"500": 500, "401": 401}[kind]
        sink.answer(status, times=10_000)
        settings = {"auth": "basic", "user": "alice", "password": SECRET} if status == 401 else {}
        words = "refused the credentials (HTTP 401)" if status == 401 else "it failed (HTTP 500)"
        yield sink.url.replace("http://", f"http://alice:{SECRET}@") + "/store", settings, words


KINDS = ["closed port", "ssh closed port", "500", "401"]


def assert_diagnosed(err: str, url: str, words: str) -> None:
    [line] = err.strip().splitlines()
    assert "'storage'" in line, line
    shown = re.sub(r"(?<=://)[^/@]+@", "***@", url)
    assert f"the default remote is 'storage' ({shown})" in line, line
    assert words in line, line
    assert SECRET not in line, line
    assert "has no object" not in line and "is not in the DVC remote" not in line, line
    assert "register" not in line.split(";", 1)[-1].split("default remote")[0], line


@pytest.fixture
def one_version(registry: Path, workdir: Path, cli: Cli) -> Path:
    register(cli, registry, workdir, size=5_000, seed=7)
    commit_all(registry, "Register v1")
    return registry


@pytest.mark.parametrize("kind", KINDS)
def test_get(one_version: Path, tmp_path: Path, cli: Cli, kind: str) -> None:
    shutil.rmtree(one_version / ".dvc" / "cache")
    with remote(kind) as (url, settings, words):
        point_remote_at(one_version, url, **settings)
        err = cli.fails("-C", str(one_version), "get", "fraud-detector/1", "-o", str(tmp_path / "m.pkl"),
                        code=4).err
    assert_diagnosed(err, url, words)
    assert not (tmp_path / "m.pkl").exists()


@pytest.mark.parametrize("kind", KINDS)
def test_register_push(one_version: Path, workdir: Path, cli: Cli, kind: str) -> None:
    with remote(kind) as (url, settings, words):
        point_remote_at(one_version, url, **settings)
        result = cli("-C", str(one_version), "register", "fraud-detector", "-a",
                     str(workdir / "fraud-detector-7" / "model.pkl"))
    assert result.code == 4, result.err
    assert_diagnosed(result.err, url, words)
    assert not (one_version / "registry/fraud-detector/v2").exists()  # nothing half-registered


@pytest.mark.parametrize("kind", KINDS)
def test_check_asks_the_remote(one_version: Path, workdir: Path, cli: Cli, kind: str) -> None:
    register(cli, one_version, workdir, seed=8, size=3000)
    shutil.rmtree(one_version / ".dvc" / "cache")
    with remote(kind) as (url, settings, words):
        point_remote_at(one_version, url, **settings)
        out = cli.fails("-C", str(one_version), "check", "--gate", "artifact").out
    [finding] = [line for line in out.splitlines() if "[artifact]" in line]
    assert_diagnosed(finding, url, words)


def test_a_remote_that_answers_it_lacks_the_object_is_still_missing(one_version: Path, tmp_path: Path,
                                                                   cli: Cli) -> None:
    shutil.rmtree(one_version / ".dvc" / "cache")
    with HttpSink() as sink:
        sink.answer(404, times=10_000)
        point_remote_at(one_version, f"{sink.url}/store")
        err = cli.fails("-C", str(one_version), "get", "fraud-detector/1", "-o", str(tmp_path / "m.pkl")).err
    assert "the DVC remote has no object" in err and "restored or registered again" in err


def test_deploy_fetch(one_version: Path, tmp_path: Path, cli: Cli) -> None:
    path = one_version / "modelreg.yaml"
    config = yaml.safe_load(path.read_text())
    config["environments"] = {"production": {"alias": "production", "targets": [
        {"type": "directory", "path": str(tmp_path / "srv")}]}}
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    model = one_version / "registry/fraud-detector/model.yaml"
    model.write_text(yaml.safe_dump({**yaml.safe_load(model.read_text()), "aliases": {"production": 1}}))
    commit_all(one_version, "Serve v1")
    shutil.rmtree(one_version / ".dvc" / "cache")
    with remote("401") as (url, settings, words):
        point_remote_at(one_version, url, **settings)
        result = cli("-C", str(one_version), "deploy", "--json")
    assert result.code == 1, result.err  # a failed deployment, recorded (docs/deploy.md)
    record = json.dumps(json.loads(result.out))
    assert "'storage'" in record and words in record and SECRET not in record + result.err
    assert "has no object" not in record



@pytest.mark.parametrize(("folder", "words"), [
    ("/sys/modelreg-remote", "refused access (permission denied)"),  # root too may not write there
    ("/proc/modelreg-remote", "that folder does not exist and cannot be made"),
])
def test_a_local_remote_that_refuses_writes(one_version: Path, workdir: Path, cli: Cli, folder: str,
                                            words: str) -> None:
    point_remote_at(one_version, folder)
    result = cli("-C", str(one_version), "register", "fraud-detector", "-a",
                 str(workdir / "fraud-detector-7" / "model.pkl"))
    assert result.code == 4, result.err
    [line] = result.err.strip().splitlines()
    assert f"the default remote is 'storage' ({folder})" in line and words in line, line
    assert not (one_version / "registry/fraud-detector/v2").exists()


def test_credentials_are_scrubbed_from_whatever_dvc_says(one_version: Path) -> None:
    """DVC and its libraries may echo a URL or a setting in an error: neither reaches a message."""
    from modelreg.edges import dvc

    point_remote_at(one_version, f"https://bob:{SECRET}@example.invalid/store", auth="basic", user="bob",
                    password="pw-" + SECRET)
    with dvc._open(one_version) as repo:
        said = f"GET https://bob:{SECRET}@example.invalid/store failed; password pw-{SECRET}"
        scrubbed = dvc._scrub(said, repo)
        where = dvc._where(repo)
    assert scrubbed == "GET https://***@example.invalid/store failed; password ***"
    assert where == "'storage' (https://***@example.invalid/store)"
