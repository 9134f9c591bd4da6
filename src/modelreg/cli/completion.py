"""Shell completion: model names, ``MODEL@`` aliases and ``MODEL/`` versions, from the registry.

click answers the shell (``eval "$(_MODELREG_COMPLETE=bash_source modelreg)"``, see
docs/getting-started.md); the functions here are the ``shell_complete`` of the MODEL and URI
arguments. A completion never fails: outside a registry, or on a broken file, it offers nothing.
click's completion machinery is imported only when a shell asks.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import click

from modelreg.errors import ModelregError

if TYPE_CHECKING:
    from click.shell_completion import CompletionItem

    from modelreg.api import Registry

COMPLETE_VAR = "_MODELREG_COMPLETE"
#: the command line up to the cursor, and bash's word breaks (the script install() writes passes both)
LINE_VAR = "MODELREG_COMP_LINE"
BREAKS_VAR = "MODELREG_COMP_WORDBREAKS"
#: word breaks that bash leaves in the word it replaces (its readline ``rl_special_prefixes``)
_KEPT_BREAKS = "$@"


def _registry(ctx: click.Context) -> Registry | None:
    from modelreg.api import Registry

    try:
        return Registry(ctx.find_root().params.get("registry") or ".")
    except ModelregError:
        return None


def complete_model(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    """Model names starting with ``incomplete``."""
    from click.shell_completion import CompletionItem

    reg = _registry(ctx)
    if reg is None:
        return []
    return [CompletionItem(name) for name in reg.models() if name.startswith(incomplete)]


def complete_uri(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    """``fraud`` → ``fraud-detector`` (with ``fraud-detector@`` and ``fraud-detector/`` when it is the
    only match); ``fraud-detector@`` → its aliases; ``fraud-detector/`` → its versions and
    ``latest``. The same after ``models:/``."""
    from click.shell_completion import CompletionItem

    reg = _registry(ctx)
    if reg is None:
        return []
    prefix = "models:/" if incomplete.startswith("models:/") else ""
    rest = incomplete[len(prefix):]
    try:
        if "@" in rest or "/" in rest:
            sep = "@" if "@" in rest else "/"
            name, _, partial = rest.partition(sep)
            choices = _refs(reg, name, aliases=sep == "@", versions=sep == "/")
            return [CompletionItem(f"{prefix}{name}{sep}{ref.lstrip('@')}", help=note)
                    for ref, note in choices if ref.lstrip("@").startswith(partial)]
        found = [n for n in reg.models() if n.startswith(rest)]
    except (ModelregError, OSError):
        return []
    if len(found) == 1:  # the shell completes the name, and shows what may follow it
        name = found[0]
        return [CompletionItem(f"{prefix}{name}"), CompletionItem(f"{prefix}{name}@", help="an alias"),
                CompletionItem(f"{prefix}{name}/", help="a version, or latest")]
    return [CompletionItem(f"{prefix}{name}") for name in found]


def complete_ref(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    """A version of the MODEL argument before it, as ``diff`` takes one: ``3``, ``@production``,
    ``latest``."""
    from click.shell_completion import CompletionItem

    reg = _registry(ctx)
    model = ctx.params.get("model")
    if reg is None or not isinstance(model, str):
        return []
    try:
        choices = _refs(reg, model, aliases=True, versions=True)
    except (ModelregError, OSError):
        return []
    return [CompletionItem(ref, help=note) for ref, note in choices if ref.startswith(incomplete)]


def _refs(reg: Registry, name: str, *, aliases: bool, versions: bool) -> list[tuple[str, str]]:
    """``(@alias, vN)``, ``(N, stage)`` and ``(latest, vN)`` of a model."""
    model = reg.model(name)
    out = [(f"@{alias}", f"v{v}") for alias, v in sorted(model.aliases.items())] if aliases else []
    if versions:
        out += [(str(v), model.stage(v)) for v in reversed(model.versions)]
        if model.latest is not None:
            out.append(("latest", f"v{model.latest}"))
    return out


def install() -> None:
    """Teach click's bash completion the words bash splits.

    bash cuts a word at ``@`` and ``:`` (``COMP_WORDBREAKS``): ``fraud-detector@pro`` reaches a
    completer as ``fraud-detector``, ``@``, ``pro``, and bash then replaces only ``@pro`` (only
    ``/fra`` of ``models:/fra``). The script this class writes also passes the line as typed and
    the word breaks; completions are found on the line's words, and answered with the part bash
    replaces.
    """
    from click.shell_completion import BashComplete, add_completion_class, split_arg_string

    class Bash(BashComplete):
        source_template = BashComplete.source_template.replace(
            "COMP_CWORD=$COMP_CWORD ", f'COMP_CWORD=$COMP_CWORD {LINE_VAR}="${{COMP_LINE:0:COMP_POINT}}" '
            f'{BREAKS_VAR}="$COMP_WORDBREAKS" ')
        #: how much of each answer bash keeps as typed (the text before the word break)
        cut = 0

        def get_completion_args(self) -> tuple[list[str], str]:
            line = os.environ.get(LINE_VAR)
            if line is None:
                return super().get_completion_args()
            words = split_arg_string(line)
            incomplete = words.pop() if words and not line[-1:].isspace() else ""
            breaks = set(os.environ.get(BREAKS_VAR, "")) - set(" \t\n")
            at = max((i for i, c in enumerate(incomplete) if c in breaks), default=-1)
            self.cut = at if at >= 0 and incomplete[at] in _KEPT_BREAKS else at + 1
            return words[1:], incomplete

        def format_completion(self, item: CompletionItem) -> str:
            return f"{item.type},{item.value[self.cut:]}"

    add_completion_class(Bash)
