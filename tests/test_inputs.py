"""Every file a user hands modelreg obeys the same rules: what it claims to be, within the size
cap, strict JSON as strict YAML; a refusal is one line and writes nothing."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import pytest

from modelreg.edges import snapshot
from modelreg.errors import InputError
from modelreg.formats import yamlio
from modelreg.write import inputs
from tests.helpers import Cli, artifact, commit_all, metrics_file, register, snapshot_tree

# Strict JSON ----------------------------------------------------------------------------------


def test_duplicate_json_keys_are_refused_with_their_line(tmp_path: Path) -> None:
    path = tmp_path / "metrics.json"
    path.write_text('{\n  "roc_auc": 0.97,\n  "f1": 0.8,\n  "roc_auc": 0.5\n}\n')
    with pytest.raises(InputError, match=r"metrics\.json:4: duplicate key 'roc_auc'; keep one of them"):
        inputs.read_data_file(path, "--metrics")


def test_duplicate_keys_in_nested_json_objects(tmp_path: Path) -> None:
    path = metrics_file(tmp_path / "m.json", {})
    path.write_text('{"slices": {"visa": {"auc": 0.9, "auc": 0.1}}}')
    with pytest.raises(InputError, match="duplicate key 'auc'"):
        inputs.read_data_file(path, "--metrics")


@pytest.mark.parametrize("depth", [33, 100_000])
def test_deep_json_is_refused_cleanly(tmp_path: Path, depth: int) -> None:
    path = tmp_path / "params.json"
    path.write_text('{"a": ' + "[" * depth + "]" * depth + "}")
    with pytest.raises(InputError, match=r"params\.json:1: nesting deeper than 32 levels"):
        inputs.read_data_file(path, "--params")


def test_brackets_inside_json_strings_do_not_count_as_nesting(tmp_path: Path) -> None:
    path = tmp_path / "params.json"
    path.write_text('{"note": "' + "[{" * 100 + '\\" [[[", "depth": 6}')
    assert inputs.read_data_file(path, "--params")["depth"] == 6


def test_json_nan_names_its_field(tmp_path: Path) -> None:
    path = tmp_path / "metrics.json"
    path.write_text('{"slices": {"visa": {"auc": NaN}}}')
    with pytest.raises(InputError, match=r"slices\.visa\.auc: nan is not a finite number"):
        inputs.read_data_file(path, "--metrics")


def test_a_huge_file_is_refused_before_it_is_read(tmp_path: Path) -> None:
    path = tmp_path / "metrics.json"
    with open(path, "wb") as out:  # 50 MB, sparse, starting with a secret the error must not echo
        out.write(b'{"token": "SECRET-DO-NOT-ECHO"')
        out.truncate(50 * 1024 * 1024)
    tracemalloc.start()
    try:
        with pytest.raises(InputError, match=r"is 52,428,800 bytes, over the limit of 1,048,576") as exc:
            inputs.read_data_file(path, "--metrics")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 1024 * 1024, f"{peak:,} bytes allocated: the file was read"
    assert "SECRET" not in str(exc.value)


def test_the_registry_read_cap_is_the_loaders() -> None:
    assert snapshot.MAX_FILE_BYTES == yamlio.MAX_BYTES


# What a file claims to be ---------------------------------------------------------------------


@pytest.fixture
def fifo(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "pipe.json"
    os.mkfifo(path)
    yield path


@pytest.fixture
def unix_socket(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "sock.json"
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(path))
    yield path
    server.close()


def test_devices_fifos_and_sockets_are_refused_at_once(fifo: Path, unix_socket: Path) -> None:
    for path, what in ((Path("/dev/zero"), "a character device"), (fifo, "a FIFO"),
                       (unix_socket, "a socket")):
        with pytest.raises(InputError, match=f"is {what}, not a regular file"):
            inputs.read_data_file(path, "--metrics")
        with pytest.raises(InputError, match=f"is {what}, not a regular file or directory"):
            inputs.kind(path, "--artifact")


def _modelreg(registry: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """In a child process with a deadline: a guard that failed would block on the FIFO forever."""
    return subprocess.run([sys.executable, "-m", "modelreg", "-C", str(registry), *args],
                          capture_output=True, text=True, timeout=60, check=False)


@pytest.mark.parametrize("option", ["--artifact", "--metrics", "--params", "--card", "--dataset"])
@pytest.mark.parametrize("special", ["/dev/zero", "fifo"])
def test_register_refuses_special_files_and_writes_nothing(registry: Path, workdir: Path, option: str,
                                                           special: str) -> None:
    source = Path(special)
    if special == "fifo":
        source = workdir / "special.json"
        os.mkfifo(source)
    files = {"--artifact": str(artifact(workdir / "model.pkl")), "--metrics": None, "--params": None,
             "--card": None, "--dataset": None}
    files[option] = str(source)
    args = [arg for key, value in files.items() if value for arg in (key, value)]
    before = snapshot_tree(registry)
    run = _modelreg(registry, "register", "m", "--owner", "@acme/x", *args)
    assert run.returncode == 1, run.stderr
    what = "a character device" if special == "/dev/zero" else "a FIFO"
    assert f"{source} is {what}, not a regular file" in run.stderr, run.stderr
    assert len(run.stderr.strip().splitlines()) == 1
    assert snapshot_tree(registry) == before


def test_a_fifo_inside_an_artifact_directory_is_refused(registry: Path, workdir: Path) -> None:
    folder = workdir / "model"
    artifact(folder / "weights.bin")
    os.mkfifo(folder / "stream")
    before = snapshot_tree(registry)
    run = _modelreg(registry, "register", "m", "--owner", "@acme/x", "--artifact", str(folder))
    assert run.returncode == 1 and "stream is a FIFO, not a regular file" in run.stderr, run.stderr
    assert snapshot_tree(registry) == before


# Symbolic links: followed only within the directory they are in -------------------------------


def test_a_card_linking_outside_its_directory_is_refused(registry: Path, workdir: Path, tmp_path: Path,
                                                         cli: Cli) -> None:
    secret = tmp_path / "secret" / "id_rsa"
    secret.parent.mkdir()
    secret.write_text("PRIVATE KEY\n")
    os.symlink(secret, workdir / "card.md")
    before = snapshot_tree(registry)
    err = cli.fails("-C", str(registry), "register", "m", "--owner", "@acme/x", "--artifact",
                    str(artifact(workdir / "model.pkl")), "--card", str(workdir / "card.md")).err
    assert f"--card: {workdir / 'card.md'} is a symbolic link to {secret}, outside {workdir}" in err
    assert snapshot_tree(registry) == before


def test_a_link_within_its_directory_is_followed(registry: Path, workdir: Path, cli: Cli) -> None:
    (workdir / "CARD-v2.md").write_text("# Fraud detector\n")
    os.symlink("CARD-v2.md", workdir / "card.md")
    artifact(workdir / "models" / "model-v2.pkl")
    os.symlink("model-v2.pkl", workdir / "models" / "model.pkl")
    cli.ok("-C", str(registry), "register", "m", "--owner", "@acme/x", "--artifact",
           str(workdir / "models" / "model.pkl"), "--card", str(workdir / "card.md"))
    assert (registry / "registry/m/v1/card.md").read_text() == "# Fraud detector\n"
    assert not (registry / "registry/m/v1/card.md").is_symlink()


def test_an_artifact_linking_outside_its_directory_is_refused(registry: Path, workdir: Path,
                                                              tmp_path: Path, cli: Cli) -> None:
    real = artifact(tmp_path / "elsewhere" / "model.pkl")
    os.symlink(real, workdir / "model.pkl")
    err = cli.fails("-C", str(registry), "register", "m", "--owner", "@acme/x", "--artifact",
                    str(workdir / "model.pkl")).err
    assert "--artifact:" in err and "is a symbolic link to" in err


def test_a_linked_directory_leading_outside_is_refused(registry: Path, workdir: Path, tmp_path: Path,
                                                       cli: Cli) -> None:
    secret = tmp_path / "secret"
    secret.mkdir()
    (secret / "id_rsa").write_text("PRIVATE KEY\n")
    artifact(secret / "model.pkl")
    os.symlink(secret, workdir / "sub")
    before = snapshot_tree(registry)
    for option, name in (("--card", "id_rsa"), ("--artifact", "model.pkl")):
        args = ["--artifact", str(artifact(workdir / "m.pkl"))] if option == "--card" else []
        err = cli.fails("-C", str(registry), "register", "m", "--owner", "@acme/x", *args, option,
                        str(workdir / "sub" / name)).err
        assert f"its directory {workdir / 'sub'} is a symbolic link to {secret}, outside {workdir}" in err
    assert snapshot_tree(registry) == before


def test_a_stale_lock_with_an_impossible_pid_is_taken_over(registry: Path) -> None:
    from modelreg.edges import lock

    lock.path_for(registry).write_text(f'{{"pid": {"9" * 30}, "host": "{os.uname().nodename}"}}')
    with lock.held(registry, "register m"):
        assert '"register m"' in lock.path_for(registry).read_text()


def test_a_card_that_is_not_utf8_is_refused(registry: Path, workdir: Path, cli: Cli) -> None:
    (workdir / "card.md").write_bytes(b"# caf\xe9\n")
    err = cli.fails("-C", str(registry), "register", "m", "--owner", "@acme/x", "--artifact",
                    str(artifact(workdir / "model.pkl")), "--card", str(workdir / "card.md")).err
    assert "card.md is not UTF-8 text (byte 5)" in err


def test_an_oversized_card_is_refused(registry: Path, workdir: Path, cli: Cli) -> None:
    with open(workdir / "card.md", "wb") as out:
        out.truncate(2 * 1024 * 1024)
    err = cli.fails("-C", str(registry), "register", "m", "--owner", "@acme/x", "--artifact",
                    str(artifact(workdir / "model.pkl")), "--card", str(workdir / "card.md")).err
    assert "--card:" in err and "over the limit of 1,048,576" in err


# Registry files in the work tree ---------------------------------------------------------------


@pytest.fixture
def one_model(registry: Path, workdir: Path, cli: Cli) -> Path:
    register(cli, registry, workdir, "fraud")
    commit_all(registry, "Register fraud v1")
    return registry


def test_a_registry_file_linking_out_of_the_repository_is_refused(one_model: Path, tmp_path: Path,
                                                                   cli: Cli) -> None:
    outside = tmp_path / "outside.yaml"
    outside.write_text((one_model / "registry/fraud/model.yaml").read_text())
    (one_model / "registry/fraud/model.yaml").unlink()
    os.symlink(outside, one_model / "registry/fraud/model.yaml")
    err = cli.fails("-C", str(one_model), "show", "fraud").err
    # the tree's rule (formats/layout.py, tests/test_layout.py), the same line at every revision
    assert err.startswith("error: registry/fraud/model.yaml: is a symbolic link; a registry holds regular")
    # a file outside registry/ is refused as it is read
    policy = one_model / "policies/default.yaml"
    (tmp_path / "policy.yaml").write_text(policy.read_text())
    policy.unlink()
    os.symlink(tmp_path / "policy.yaml", policy)
    err = cli.fails("-C", str(one_model), "check", "--offline", "--all").err
    assert "policies/default.yaml: cannot be read" in err and "not symbolic links" in err


def test_a_registry_file_that_is_a_fifo_is_refused_without_blocking(one_model: Path) -> None:
    path = one_model / "registry/fraud/model.yaml"
    path.unlink()
    os.mkfifo(path)
    for command in (["show", "fraud"], ["check", "--offline"]):
        run = _modelreg(one_model, *command)
        assert run.returncode == 1
        # show fails on the file; check reports it as the schema gate's finding on that file
        assert re.search(r"registry/fraud/model\.yaml: (\[schema\] )?is not a regular file",
                         run.stderr + run.stdout), run


def test_an_oversized_registry_file_is_refused_by_name(one_model: Path, cli: Cli) -> None:
    path = one_model / "registry/fraud/model.yaml"
    with open(path, "ab") as out:
        out.write(b"#" * (2 * 1024 * 1024) + b"\n")
    err = cli.fails("-C", str(one_model), "show", "fraud").err
    assert "registry/fraud/model.yaml: file is larger than 1024 KiB" in err


def test_a_linked_model_directory_leaving_the_repository_is_refused(one_model: Path, tmp_path: Path,
                                                                    cli: Cli) -> None:
    import shutil

    elsewhere = tmp_path / "elsewhere"
    shutil.move(str(one_model / "registry/fraud"), elsewhere)
    os.symlink(elsewhere, one_model / "registry/fraud")
    err = cli.fails("-C", str(one_model), "show", "fraud").err
    assert err.startswith("error: registry/fraud: is a symbolic link; a registry holds regular files")
    # a linked directory outside registry/ is refused as a file below it is read
    shutil.move(str(one_model / "policies"), tmp_path / "policies")
    os.symlink(tmp_path / "policies", one_model / "policies")
    os.unlink(one_model / "registry/fraud")
    shutil.move(str(elsewhere), one_model / "registry/fraud")
    err = cli.fails("-C", str(one_model), "check", "--offline", "--all").err
    assert "policies/default.yaml: is reached through a symbolic link that leaves the repository" in err
