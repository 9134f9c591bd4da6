"""The docs a newcomer reads: the generated command reference is current, and links resolve."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from modelreg.cli.main import COMMANDS
from modelreg.cli.reference import help_text, render

DOCS = Path(__file__).resolve().parents[1] / "docs"


def test_the_command_reference_is_current() -> None:
    committed = (DOCS / "reference" / "cli.md").read_text()
    assert committed == render(), "docs/reference/cli.md is stale: run scripts/generate-cli-reference"


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_command_has_examples(name: str) -> None:
    assert "Examples:" in help_text(name), f"modelreg {name} --help shows no example"


def test_links_between_docs_resolve() -> None:
    broken = []
    for page in [DOCS.parent / "README.md", *DOCS.rglob("*.md")]:
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", page.read_text()):
            if "://" in target or target.startswith("mailto:"):
                continue
            if not (page.parent / target).exists():
                broken.append(f"{page.relative_to(DOCS.parent)} -> {target}")
    assert not broken, broken
