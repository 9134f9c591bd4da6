"""The command line as a user meets it: help, version, exit codes, start-up cost."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from modelreg import __version__
from modelreg.cli.main import COMMANDS, EXIT_FAILED, EXIT_INTERNAL, EXIT_SERVICE, EXIT_USAGE
from modelreg.errors import ModelregError, RemoteError, ServiceError
from tests.helpers import Cli, commit_all, register

READ_COMMANDS = ["list", "show", "resolve", "history", "diff", "search"]


def _leaf_commands() -> list[str]:
    """Every command, a group's (``import``) as its subcommands (``import mlflow``)."""
    from modelreg.cli.reference import subcommands

    return [f"{name} {sub}" if sub else name for name in sorted(COMMANDS)
            for sub in (subcommands(name) or [""])]


@pytest.mark.parametrize("name", sorted(set(COMMANDS) | set(_leaf_commands())))
def test_every_command_has_help_with_examples(cli: Cli, name: str) -> None:
    result = cli.ok(*name.split(), "--help")
    assert "Examples:" in result.out
    assert f"modelreg {name}" in result.out.split("Examples:")[1]


@pytest.mark.parametrize("name", READ_COMMANDS)
def test_every_read_command_has_json_and_at(cli: Cli, name: str) -> None:
    out = cli.ok(name, "--help").out
    assert "--json" in out and "--at REV" in out


def test_top_level_help_lists_commands(cli: Cli) -> None:
    out = cli.ok("--help").out
    for name, summary in COMMANDS.items():
        assert name in out and summary[:30] in out


def test_version(cli: Cli) -> None:
    assert __version__ in cli.ok("--version").out


def test_usage_errors_exit_2(cli: Cli) -> None:
    assert "No such command" in cli.fails("frobnicate", code=2).err
    assert "Missing argument" in cli.fails("resolve", code=2).err
    assert "--artifact" in cli.fails("register", "m", code=2).err


def _once_options(name: str) -> list[tuple[str, bool]]:
    """(the option's first spelling, whether it is a flag) for each option of a command that takes
    one value: declared neither multiple nor count."""
    import click

    from modelreg.cli.main import cli as group

    command: click.Command | None = group
    for part in name.split():
        assert isinstance(command, click.Group)
        command = command.get_command(click.Context(command), part)
    assert command is not None
    return [(p.opts[0], p.is_flag) for p in command.params if isinstance(p, click.Option)
            and not p.multiple and not p.count and p.name != "help"]


@pytest.mark.parametrize("name", _leaf_commands())
def test_every_option_given_twice_is_refused_on_every_command(cli: Cli, name: str) -> None:
    options = _once_options(name)
    assert options, name
    for option, flag in options:
        twice = [option, option] if flag else [option, "1", option, "2"]
        err = cli.fails(*name.split(), *twice, code=EXIT_USAGE).err
        spelled = err.strip().splitlines()
        assert len(spelled) == 1 and spelled[0].startswith("Error: ") and \
            "was given more than once; give it once" in spelled[0] and option in spelled[0], (name, err)


def test_repeated_options_of_the_group_and_multiple_options(cli: Cli, registry: Path) -> None:
    assert "--registry/-C was given more than once" in cli.fails("-C", str(registry), "-C", str(registry),
                                                                  "list", code=EXIT_USAGE).err
    cli.ok("-C", str(registry), "list", "--tag", "a=b", "--tag", "c=d")  # multiple=True: repeatable
    assert cli.fails("-C", str(registry), "list", "--json", "--json", code=EXIT_USAGE).out == ""


def test_each_exit_code_means_one_thing() -> None:
    assert (EXIT_FAILED, EXIT_USAGE, EXIT_INTERNAL, EXIT_SERVICE) == (1, 2, 3, 4)
    assert ModelregError.exit_code == EXIT_FAILED
    assert ServiceError.exit_code == RemoteError.exit_code == EXIT_SERVICE  # GitHub's API, the DVC remote


def test_a_bug_is_exit_3_and_says_so(registry: Path, cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("something nobody expected")

    # an exception no part of modelreg raises on purpose, from below every layer
    monkeypatch.setattr(subprocess, "run", broken)
    monkeypatch.setattr(subprocess, "Popen", broken)
    result = cli.fails("-C", str(registry), "list", "--at", "HEAD", code=EXIT_INTERNAL)
    assert result.err.startswith("internal error: RuntimeError: something nobody expected\n"
                                 "This is a bug in modelreg; please report it")


def test_python_dash_m(registry: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "modelreg", "-C", str(registry), "list", "--json"],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0 and proc.stdout.strip() == "[]"


def test_errors_go_to_stderr_as_one_line(registry: Path, cli: Cli) -> None:
    result = cli.fails("-C", str(registry), "show", "nope")
    assert result.out == ""
    assert result.err.startswith("error: no model named 'nope'") and "modelreg list" in result.err


def test_registry_from_environment(registry: Path, cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MODELREG_REGISTRY", str(registry))
    assert cli.ok("list", "--json").json == []


def test_read_path_imports_neither_dvc_nor_pydantic(registry: Path, workdir: Path, cli: Cli) -> None:
    """The promise behind the read-path speed target: reads never import DVC or pydantic (nor the
    pickle scanner)."""
    register(cli, registry, workdir)
    commit_all(registry, "v1")
    probe = ("import sys, runpy; sys.argv = ['modelreg', '-C', sys.argv[1]] + sys.argv[2:]\n"
             "try:\n    runpy.run_module('modelreg', run_name='__main__')\n"
             "except SystemExit as e:\n    assert not e.code, e.code\n"
             "heavy = sorted({m.split('.')[0] for m in sys.modules} & {'dvc', 'dvc_data', 'pydantic', "
             "'jsonschema', 'model_signing', 'sigstore', 'OpenSSL', 'picklescan', 'cryptography', "
             "'securesystemslib', 'cyclonedx', 'mlflow', 'gto'})\n"
             # how modelreg was installed (importlib.metadata) is init's and the gate's question only
             "heavy += [m for m in ('modelreg.edges.installed',) if m in sys.modules]\nprint('HEAVY', heavy)")
    for args in (["resolve", "fraud-detector/1"], ["show", "fraud-detector"], ["list"],
                 ["resolve", "fraud-detector/latest", "--at", "HEAD"], ["history", "fraud-detector"],
                 ["search", "-w", "metrics.f1>0"], ["diff", "fraud-detector", "1", "1"],
                 ["bom", "fraud-detector/1"]):
        proc = subprocess.run([sys.executable, "-c", probe, str(registry), *args],
                              capture_output=True, text=True, check=False)
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.strip().splitlines()[-1] == "HEAVY []", (args, proc.stdout)
