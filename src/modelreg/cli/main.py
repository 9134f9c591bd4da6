"""The ``modelreg`` command: parses arguments, dispatches, maps errors to exit codes.

Exit codes: 0 ok; 1 a gate failed or the input was wrong; 2 usage; 3 internal error (a bug);
4 a service modelreg depends on (GitHub's API, the DVC remote) failed or could not be reached.
Subcommands are imported only when invoked, so ``modelreg resolve`` never
pays for what ``modelreg register`` needs.
"""

from __future__ import annotations

import importlib
import keyword
import os
import sys
from typing import Any

import click

from modelreg import __version__
from modelreg.formats.text import UNPRINTABLE

COMMANDS = {
    "init": "Create a registry in a directory (or make an existing repository one).",
    "register": "Register a new model version: artifact to DVC, manifest to git.",
    "list": "List models with their aliases and latest version.",
    "show": "Show a model's versions, or one version whole.",
    "resolve": "Resolve a model URI to a version, its hashes and remote location.",
    "get": "Download a version's artifact, verified by sha256.",
    "verify": "Verify a version's signature bundle against its artifact's bytes and the allowed signers.",
    "history": "Registrations and alias moves of a model, from the git log.",
    "diff": "Compare two versions: metrics, params, lineage, tags.",
    "card": "Write a version's model card (Markdown, HTML or a Hugging Face README).",
    "bom": "Write a version's bill of materials: a CycloneDX 1.6 ML-BOM (JSON).",
    "search": "Find versions by metrics, tags, params or stage.",
    "promote": "Point an alias at a version (checked by the gates; one commit, one pull request).",
    "rollback": "Move an alias back to the version it held before, from the git history.",
    "demote": "Remove an alias from a model.",
    "archive": "Archive a version: kept, never served.",
    "reject": "Reject a version, with the reason.",
    "describe": "Set a model's description (a model.yaml change, checked and published as a promotion).",
    "deploy": "Deploy the aliases a merge moved: verified bytes, every target or none, the ledger.",
    "status": "Desired state on main against what the ledger and the targets serve; drift.",
    "reconcile": "Redeploy what drifted, from the tip of main.",
    "serve": "Serve a deployed version's predictions over HTTP (Open Inference Protocol), verified.",
    "audit": "Export the audit trail (history and deployment ledger) as a table, JSON or CSV.",
    "site": "Write the registry as a static HTML catalog (GitHub Pages): models, versions, charts.",
    "import": "Import another registry (MLflow, GTO): versions, aliases and artifacts, on one branch.",
    "renumber": "Move a registration branch's new versions to the next free numbers on its base.",
    "check": "Run the gates (schema, immutability, numbering, artifact, signature, policy, promotion).",
    "approvals": "Check a pull request's reviews against the approval rules of its promotions.",
    "schema": "Print or regenerate the JSON Schemas of the registry's files.",
    "codeowners": "Print or regenerate .github/CODEOWNERS from owners, policies and admins.",
}

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERNAL, EXIT_SERVICE = 0, 1, 2, 3, 4


class RepeatedOption(click.ClickException):
    """An option given twice: click would keep the last value silently (exit code 2, one line)."""

    exit_code = EXIT_USAGE


def refuse_repeats(command: click.Command, ctx: click.Context, args: list[str]) -> None:
    """Refuse an option given more than once (``--to a --to b``, ``--verify --no-verify``), unless
    it is declared ``multiple=True`` or ``count=True``: one value per option, as written."""
    if ctx.resilient_parsing:  # a shell asking for completions: nothing is run
        return
    try:
        _, _, order = command.make_parser(ctx).parse_args(args=list(args))
    except click.UsageError:
        return  # the real parse reports it
    seen: set[str | None] = set()
    for param in order:
        if not isinstance(param, click.Option) or param.multiple or param.count:
            continue
        if param.name in seen:
            spelled = "/".join([*param.opts, *param.secondary_opts])
            raise RepeatedOption(f"{spelled} was given more than once; give it once")
        seen.add(param.name)


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in COMMANDS:
            return None
        module_name = name.replace("-", "_") + ("_" if keyword.iskeyword(name) else "")  # import_.py
        module = importlib.import_module(f"modelreg.cli.commands.{module_name}")
        command: click.Command = module.command
        return command

    def resolve_command(self, ctx: click.Context, args: list[str]
                        ) -> tuple[str | None, click.Command | None, list[str]]:
        # one place for every subcommand: its options given twice are refused before it parses them
        name, command, rest = super().resolve_command(ctx, args)
        if command is not None:
            refuse_repeats(command, ctx, rest)
        return name, command, rest

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        refuse_repeats(self, ctx, args)  # the group's own options (-C twice); it stops at the command
        return super().parse_args(ctx, args)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # Short help from the table above, so `modelreg --help` imports no subcommand.
        with formatter.section("Commands"):
            formatter.write_dl(list(COMMANDS.items()))


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"],
                                               "max_content_width": 100})
@click.version_option(__version__, "-V", "--version", prog_name="modelreg")
@click.option("--registry", "-C", "registry", metavar="PATH", envvar="MODELREG_REGISTRY",
              help="The registry to use (default: the one containing the current directory).")
@click.pass_context
def cli(ctx: click.Context, registry: str | None) -> None:
    """A model registry that is a git repository.

    \b
    Typical loop:
      modelreg init
      modelreg register fraud-detector --artifact model.pkl --metrics metrics.json --owner @acme/fraud
      modelreg show fraud-detector
      modelreg get models:/fraud-detector@production -o model.pkl

    Every read command takes --json and --at REV (a commit, branch, tag or date).
    """
    ctx.obj = registry


class _Printable:
    """A text stream that writes control and bidirectional-override characters as escapes: text
    from registry files (descriptions, reasons, tags) reaches the terminal, and escape sequences
    in it could retitle the window, hide lines or reverse text. JSON output escapes them itself."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        return int(self._stream.write(text.translate(UNPRINTABLE)))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def main(argv: list[str] | None = None) -> Any:

    stdout = sys.stdout
    sys.stdout = _Printable(stdout)
    try:
        code = _run(argv)
    finally:
        sys.stdout = stdout
    sys.exit(code or 0)


def _run(argv: list[str] | None) -> Any:
    from modelreg.errors import ModelregError

    if os.environ.get("_MODELREG_COMPLETE"):  # a shell asks for completions (cli/completion.py)
        from modelreg.cli.completion import install

        install()
    try:
        code = cli.main(args=argv, prog_name="modelreg", standalone_mode=False)
    except click.exceptions.Exit as exc:
        code = exc.exit_code
    except click.ClickException as exc:
        exc.show()
        code = EXIT_USAGE
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        code = EXIT_FAILED
    except ModelregError as exc:
        click.echo(f"error: {exc}".translate(UNPRINTABLE), err=True)
        code = exc.exit_code
    except KeyboardInterrupt:
        click.echo("interrupted; nothing was left half-written", err=True)
        code = 130
    except Exception as exc:  # the one place an unexpected error becomes exit code 3, and only it
        click.echo(f"internal error: {type(exc).__name__}: {exc}\n"
                   "This is a bug in modelreg; please report it with the command you ran "
                   "(MODELREG_DEBUG=1 shows the traceback).", err=True)
        if os.environ.get("MODELREG_DEBUG"):
            raise
        code = EXIT_INTERNAL
    return code
