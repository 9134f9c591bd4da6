"""``modelreg init --upgrade``: the files modelreg generates, brought in step with this modelreg and
this ``modelreg.yaml``.

What is generated: the workflows (``workflows.py``: gate, approval, deploy, reconcile while there
are environments; the Pages workflow of ``site_workflow.py`` when the registry has it),
``schemas/`` and ``.github/CODEOWNERS``. Each is written afresh, except the lines between the
markers of ``regions.py``, which are kept verbatim. A workflow the registry does not have is not
written (``modelreg init`` writes what is missing: leaving one out is a choice), nor one whose
leading comments say ``# modelreg: hand-maintained``. The reconcile workflow comes and goes with
the environments, beside a deploy workflow: written with the first, deleted with the last (its
jobs would name environments that no longer exist).

:func:`plan` reads and decides (the schema gate calls :func:`workflow_changes` to fail a pull
request whose workflows are stale, naming this command); :func:`apply` writes every file or none.
"""

from __future__ import annotations

import dataclasses
import difflib
import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelreg import __version__
from modelreg.approvals import codeowners
from modelreg.edges import lock
from modelreg.edges.atomic import PREFIX
from modelreg.edges.snapshot import WorkTree
from modelreg.errors import ConflictError, InputError, NotARegistryError
from modelreg.formats import models, names, schema_files, yamlio
from modelreg.write import regions, site_workflow, workflows

if TYPE_CHECKING:
    from modelreg.edges.snapshot import Snapshot

COMMAND = "modelreg init --upgrade"
FIX = f"run `{COMMAND}` and commit the result"
_JOB = re.compile(r"^  ([A-Za-z0-9_-]+):[ \t]*$", re.MULTILINE)


@dataclass(frozen=True)
class FileUpgrade:
    """One generated file to create, rewrite or delete, and why."""

    path: str
    before: str | None
    after: str | None
    why: str
    #: regions of the user's (not as generated) that the new text keeps
    kept: tuple[str, ...] = ()
    #: regions of the user's that the new text has no place for (their job is gone)
    dropped: tuple[str, ...] = ()

    @property
    def action(self) -> str:
        return "create" if self.before is None else "delete" if self.after is None else "update"

    @property
    def workflow(self) -> bool:
        return self.path.startswith(".github/workflows/")

    def diff(self) -> str:
        before = (self.before or "").splitlines(keepends=True)
        after = (self.after or "").splitlines(keepends=True)
        lines = difflib.unified_diff(before, after,
                                     f"a/{self.path}" if self.before is not None else "/dev/null",
                                     f"b/{self.path}" if self.after is not None else "/dev/null")
        return "".join(line if line.endswith("\n") else f"{line}\n" for line in lines)

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "action": self.action, "why": self.why, "kept": list(self.kept),
                "dropped": list(self.dropped), "diff": self.diff()}


@dataclass(frozen=True)
class Upgrade:
    """What ``modelreg init --upgrade`` changed (or, with ``dry_run``, would change)."""

    root: str
    files: tuple[FileUpgrade, ...]
    #: workflows left alone: their leading comments say ``# modelreg: hand-maintained``
    hand_maintained: tuple[str, ...] = ()
    #: generated workflows the registry does not have, and that the upgrade does not add
    absent: tuple[str, ...] = ()
    dry_run: bool = False
    version: str = field(default=__version__)

    def to_dict(self) -> dict[str, Any]:
        return {"root": self.root, "modelreg": self.version, "dry_run": self.dry_run,
                "written": not self.dry_run and bool(self.files),
                "files": [f.to_dict() for f in self.files], "hand_maintained": list(self.hand_maintained),
                "absent": list(self.absent)}


@dataclass(frozen=True)
class WorkflowState:
    """The generated workflows of a snapshot against what this modelreg writes for it."""

    changes: tuple[FileUpgrade, ...]
    hand_maintained: tuple[str, ...]
    absent: tuple[str, ...]


def expected_workflows(snapshot: Snapshot) -> dict[str, str]:
    """The workflows this modelreg writes for the snapshot's modelreg.yaml (the Pages one only where
    the snapshot has it: it is opt-in)."""
    config = models.load_config(snapshot)
    expected = workflows.files(config)
    if snapshot.read(site_workflow.PATH) is not None:
        expected[site_workflow.PATH] = site_workflow.text(config)
    return expected


def workflow_changes(snapshot: Snapshot, problems: list[InputError] | None = None) -> WorkflowState:
    """Which generated workflows of the snapshot differ from what this modelreg writes for it.

    Raises ``InputError`` (file, line) for a workflow whose markers are not whole or whose kept
    lines would not make YAML, or, with a ``problems`` list, adds it there and goes on with the
    next file (the gate reports every file); and for a modelreg.yaml that does not read.
    """
    expected = expected_workflows(snapshot)
    changes: list[FileUpgrade] = []
    hand: list[str] = []
    absent: list[str] = []
    for path in sorted({*expected, workflows.RECONCILE_PATH}):
        raw = snapshot.read(path)
        if raw is None:
            if path in expected:
                absent.append(path)
            continue
        try:
            text = _text(raw, path)
            if regions.hand_maintained(text):
                hand.append(path)
                continue
            change = _compare(path, text, expected.get(path))
        except InputError as exc:
            if problems is None:
                raise
            problems.append(exc)
            continue
        if change is not None:
            changes.append(change)
    return WorkflowState(tuple(changes), tuple(hand), tuple(absent))


def _compare(path: str, text: str, template: str | None) -> FileUpgrade | None:
    theirs = regions.read(text, path)
    if template is None:  # the reconcile workflow of environments modelreg.yaml no longer has
        return FileUpgrade(path, text, None, "runs jobs for environments that modelreg.yaml no longer has",
                           dropped=tuple(_own(theirs, {})))
    after = regions.fill(template, theirs)
    if after == text:
        return None
    _parses(after, path)
    defaults = regions.read(template, path)
    return FileUpgrade(path, text, after, _why(text, template),
                       kept=tuple(sorted(n for n in _own(theirs, defaults) if n in defaults)),
                       dropped=tuple(sorted(n for n in _own(theirs, defaults) if n not in defaults)))


def stale_workflows(snapshot: Snapshot) -> tuple[list[InputError], list[str]]:
    """For the schema gate: why each generated workflow is stale or cannot be compared, and what
    was not compared, as notes. Raises ``InputError`` for a modelreg.yaml that does not read."""
    problems: list[InputError] = []
    state = workflow_changes(snapshot, problems)
    notes = [f"{path} is hand-maintained (its first lines say so): not compared with what modelreg "
             "writes" for path in state.hand_maintained]
    if workflows.DEPLOY_PATH in state.absent and models.load_config(snapshot).environments:
        notes.append(f"modelreg.yaml has environments but there is no {workflows.DEPLOY_PATH}: a merge "
                     "deploys nothing from CI (`modelreg init` writes it)")
    return [*problems, *(InputError(f.why, file=f.path, fix=FIX) for f in state.changes)], notes


def plan(root: Path) -> Upgrade:
    """Every generated file of the registry at ``root`` that this modelreg would write otherwise."""
    _registry(root)
    tree = WorkTree(str(root))
    state = workflow_changes(tree)
    files = list(state.changes)
    absent = state.absent
    if workflows.RECONCILE_PATH in absent and tree.read(workflows.DEPLOY_PATH) is not None:
        # it comes and goes with the environments, beside the deploy workflow the registry chose to have
        text = expected_workflows(tree)[workflows.RECONCILE_PATH]
        files.append(FileUpgrade(workflows.RECONCILE_PATH, None, text,
                                 "is missing: modelreg.yaml has environments, whose drift it checks daily"))
        absent = tuple(p for p in absent if p != workflows.RECONCILE_PATH)
    for path in schema_files.stale(tree):
        raw = tree.read(path)
        files.append(FileUpgrade(path, None if raw is None else _text(raw, path),
                                 models.json_schema_text(Path(path).name.removesuffix(".schema.json")),
                                 "is missing" if raw is None else f"differs from what modelreg {__version__} "
                                 "generates"))
    why = codeowners.stale(tree)
    if why is not None:
        raw = tree.read(codeowners.PATH)
        files.append(FileUpgrade(codeowners.PATH, None if raw is None else _text(raw, codeowners.PATH),
                                 codeowners.render(tree), why))
    return Upgrade(str(root), tuple(files), state.hand_maintained, absent)


def upgrade(root: Path, *, dry_run: bool = False) -> Upgrade:
    """Plan, and unless ``dry_run`` write, the upgrade of the registry at ``root``."""
    root = root.resolve()
    _registry(root)
    if dry_run:
        return dataclasses.replace(plan(root), dry_run=True)
    with lock.held(root, COMMAND):
        done = plan(root)
        try:
            apply(root, done.files)
        except OSError as exc:
            where = exc.filename or root
            raise ConflictError(f"cannot write {where}: {exc.strerror or exc}; every file is as it was",
                                fix="make it writable (a file, not a directory), then run the upgrade "
                                "again") from None
    return done


def apply(root: Path, files: tuple[FileUpgrade, ...]) -> None:
    """Write every file or none: each new text goes to a temporary file beside its target first;
    only when all are written are they renamed into place (and a failure then puts back those
    already renamed)."""
    targets = [_target(root, f.path) for f in files]
    # the bytes as they are (a CRLF checkout's line ends too), to put back on a failure
    originals = {target: target.read_bytes() if target.is_file() else None for target in targets}
    staged: list[tuple[Path, Path]] = []
    done: list[Path] = []
    try:
        for target, change in zip(targets, files, strict=True):
            if change.after is None:
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, name = tempfile.mkstemp(dir=target.parent, prefix=f"{PREFIX}{target.name}.", suffix=".tmp")
            staged.append((Path(name), target))
            with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as out:
                out.write(change.after)
            os.chmod(name, 0o644)
        for tmp, target in staged:
            os.replace(tmp, target)
            done.append(target)
        for target, change in zip(targets, files, strict=True):
            if change.after is None:
                target.unlink()
                done.append(target)
    except BaseException:
        for target in reversed(done):  # as they were
            original = originals[target]
            if original is None:
                target.unlink(missing_ok=True)
            else:
                target.write_bytes(original)
        raise
    finally:
        for tmp, _ in staged:
            tmp.unlink(missing_ok=True)


def _registry(root: Path) -> None:
    if not (root / names.CONFIG_FILE).is_file():
        raise NotARegistryError(f"{root} is not a registry (no {names.CONFIG_FILE})",
                                fix="run `modelreg init` to make one; --upgrade brings an existing one "
                                "in step")


def _target(root: Path, rel: str) -> Path:
    """Where ``rel`` is written: refused when a directory on the way is a link (a clone could
    point ``.github`` anywhere on this machine)."""
    target = root / rel
    parent = target.parent
    while parent != root:
        if parent.is_symlink():
            raise ConflictError(f"{parent.relative_to(root)} is a symbolic link; modelreg writes "
                                f"{rel} only inside the registry",
                                fix="replace the link with a directory, then run the upgrade again")
        parent = parent.parent
    return target


def _parses(after: str, path: str) -> None:
    """A rewritten workflow is YAML that GitHub can read: the lines kept between markers are the
    user's, and may not fit the lines around them. Only a file that changes is parsed (the check
    of a current one costs no parse)."""
    try:
        yamlio.loads(after, path)
    except InputError as exc:
        at = f" (line {exc.line} of the file as it would be rewritten)" if exc.line else ""
        raise InputError(f"would not be valid YAML with the lines kept between its markers{at}: {exc.detail}",
                         file=path, fix="fix the YAML between the `# --- your` markers (keep their "
                         "indentation), then run `modelreg init --upgrade` again") from None


def _text(raw: bytes, path: str) -> str:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"is not UTF-8 (byte {exc.start})", file=path,
                         fix="restore the file from git, or delete it and run `modelreg init`") from None
    # A checkout with core.autocrlf has CRLF line ends in the work tree: the same file.
    return text.replace("\r\n", "\n")


def _own(theirs: dict[str, str], defaults: dict[str, str]) -> list[str]:
    """The regions whose lines are the user's, not what the template puts there (in a region of
    that kind: ``runs-on (record)`` as written is not the user's though the job is gone)."""
    by_kind = {name.split(" (")[0]: lines for name, lines in defaults.items()}
    return [name for name, lines in theirs.items()
            if lines.strip() and lines != defaults.get(name, by_kind.get(name.split(" (")[0]))]


def _why(text: str, template: str) -> str:
    have, want = _JOB.findall(text), _JOB.findall(template)
    missing = [job for job in want if job not in have]
    extra = [job for job in have if job not in want]
    parts = []
    if missing:
        parts.append(f"has no job {', '.join(missing)}")
    if extra:
        parts.append(f"has the job {', '.join(extra)} that modelreg.yaml no longer asks for")
    why = f"differs from what modelreg {__version__} writes for this modelreg.yaml"
    return f"{' and '.join(parts)}: it {why}" if parts else why
