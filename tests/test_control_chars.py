"""Control characters in free text (formats/text.py): refused where text comes in (the CLI, the
Python API, the gate for files), so commit messages and manifests never hold one; and escaped in
every output for text that holds one anyway (a commit subject, a card, a file committed before the
rule: test_read.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from modelreg.errors import InputError
from tests.helpers import Cli, commit_all, git, register, set_aliases

#: an escape that would retitle a terminal, a colour, a bidirectional override, a NUL
HOSTILE = ["bad\x1b]0;pwned\x07", "red \x1b[31mtext", "evil\u202etxt.exe", "nul\x00byte", "cr\rline"]


@pytest.fixture
def two(registry: Path, workdir: Path, cli: Cli) -> Path:
    register(cli, registry, workdir, "fraud", seed=1)
    register(cli, registry, workdir, "fraud", seed=2)
    commit_all(registry, "Register fraud v1, v2")
    return registry


def nothing_changed(root: Path, head: str) -> None:
    assert git(root, "rev-parse", "HEAD").strip() == head
    assert git(root, "status", "--porcelain").strip() == ""


@pytest.mark.parametrize("hostile", HOSTILE)
def test_refused_on_every_way_in(two: Path, workdir: Path, cli: Cli, hostile: str) -> None:
    head = git(two, "rev-parse", "HEAD").strip()
    for args, field in [(["reject", "fraud", "1", "--reason", hostile, "--commit"], "--reason"),
                        (["promote", "fraud", "1", "--to", "staging", "--commit", "--message", hostile],
                         "--message"),
                        (["archive", "fraud", "1", "--commit", "-m", hostile], "--message")]:
        err = cli.fails("-C", str(two), *args).err
        assert err.startswith(f"error: {field}: holds the control character \\"), err
        assert "newlines and tabs are the only control characters allowed" in err
        assert len(err.splitlines()) == 1
        nothing_changed(two, head)
    art = str(workdir / "fraud-1" / "model.pkl")
    for args, field in [(["-m", hostile], "--description"), (["--tag", f"k={hostile}"], "--tag k")]:
        err = cli.fails("-C", str(two), "register", "fraud", "-a", art, *args).err
        assert err.startswith(f"error: {field}: holds the control character"), err
        assert not (two / "registry/fraud/v3").exists()


def test_newlines_and_tabs_are_text(two: Path, cli: Cli) -> None:
    cli.ok("-C", str(two), "reject", "fraud", "1", "--reason", "worse recall\n\tsee the review", "--commit")
    doc = yaml.safe_load((two / "registry/fraud/model.yaml").read_text())
    assert doc["rejected"][0]["reason"] == "worse recall\n\tsee the review"


def test_the_python_api_refuses_them_too(two: Path) -> None:
    from modelreg import Registry

    with pytest.raises(InputError, match="--reason: holds the control character"):
        Registry(two).reject("fraud", 1, reason="x\x1b[2J")
    with pytest.raises(InputError, match="--message: holds the control character"):
        Registry(two).promote("fraud", 1, to="staging", commit=True, message="\x1b[2J")


def test_the_gate_refuses_them_in_files(two: Path, cli: Cli) -> None:
    set_aliases(two, "fraud", {}, rejected=[{"version": 1, "reason": "x\x1b[31my"}],
                description="a\u202eb")
    out = cli.fails("-C", str(two), "check").out
    assert "registry/fraud/model.yaml: [schema] description: holds the control character \\u202e; write " \
        "plain text: newlines and tabs are the only control characters allowed" in out, out


def test_text_from_git_is_escaped_in_every_output(two: Path, tmp_path: Path, cli: Cli) -> None:
    """Commit subjects and author names are anyone's text: shown escaped in text, HTML, Markdown."""
    import os
    import subprocess

    set_aliases(two, "fraud", {"staging": 2})
    git(two, "add", "-A")
    env = {**os.environ, "GIT_AUTHOR_NAME": "mallory \x1b]0;pwned\x07", "GIT_AUTHOR_EMAIL": "m@x"}
    subject = "Stage v2 \x1b[31mred\u202e (#7)"
    subprocess.run(["git", "commit", "-q", "-m", subject], cwd=two, env=env, check=True)
    raw = ("\x1b", "\x07", "\u202e")
    outputs = {"history": cli.ok("-C", str(two), "history", "fraud", "--offline").out,
               "audit": cli.ok("-C", str(two), "audit").out,
               "audit csv": cli.ok("-C", str(two), "audit", "--csv").out}
    cli.ok("-C", str(two), "site", "-o", str(tmp_path / "site"))
    outputs["site"] = "".join(p.read_text() for p in (tmp_path / "site").rglob("*.html"))
    for name, out in outputs.items():
        assert not any(c in out for c in raw), name
    assert [name for name, out in outputs.items() if "\\x1b" in out], outputs  # shown, escaped
    data = cli.ok("-C", str(two), "history", "fraud", "--offline", "--json").out
    assert "\\u001b" in data and not any(c in data for c in raw)  # JSON escapes them itself


def test_a_card_file_is_escaped_in_html(registry: Path, workdir: Path, tmp_path: Path, cli: Cli) -> None:
    card = workdir / "card.md"
    card.write_text("# Card\n\n## Intended use\n\nScoring \x1b[31mred\x1b[0m and \u202eevil `co\x1bde`.\n")
    register(cli, registry, workdir, "fraud", "--card", str(card), seed=1)
    out = tmp_path / "card.html"
    cli.ok("-C", str(registry), "card", "fraud/1", "--format", "html", "-o", str(out))
    page = out.read_text()
    assert "\\x1b[31mred" in page and "\\u202eevil" in page and "co\\x1bde" in page
    assert "\x1b" not in page and "\u202e" not in page


def test_register_refuses_them_anywhere_in_the_manifest(two: Path, workdir: Path, cli: Cli) -> None:
    params = workdir / "params.json"
    params.write_text('{"kernel": "rbf\\u001b[2J"}')
    err = cli.fails("-C", str(two), "register", "fraud", "-a", str(workdir / "fraud-1" / "model.pkl"),
                    "--params", str(params)).err
    assert err.startswith("error: the new version.yaml: params.kernel: holds the control character "
                          "\\x1b"), err
    assert not (two / "registry/fraud/v3").exists()
