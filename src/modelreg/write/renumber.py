"""Moving a registration branch's new versions to the next free numbers on the base's tip.

Two pipelines that register the same model at the same time both claim the next
number; the numbering gate rightly fails the one merged second. ``renumber``
takes such a branch and makes it one commit on the base's tip in which each new
``registry/<model>/v<N>/`` is ``v<K>``, K the next free number there: the files
are the branch's own, byte for byte, but for the ``version:`` line of
``version.yaml``. Nothing else names the number: the DVC pointer names the
artifact's file, and a signature bundle binds the artifact's name and digests
(``edges/signing.py``), so it verifies unchanged under the new number. A card is
the author's text and is kept as it is, even where it mentions the old number.

It refuses a branch that changes anything but new version directories (an edit
of ``model.yaml``, a policy, a released version): moving those is a person's
call. The branch is rewritten in the work tree's checkout (which must be clean),
so a failure before the commit puts it back where it was; the gates then run on
the result, and ``push`` force-pushes the branch, only over the tip it replaces,
once the numbering gate passes on it: another gate's finding (a threshold, an
artifact the remote lacks) was the branch's before and is its pull request's to
show, with the right number.
"""

from __future__ import annotations

import contextlib
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from modelreg.edges import git
from modelreg.errors import ConflictError, GitError, InputError, ModelregError
from modelreg.formats import names

_VERSION_PATH = re.compile(r"^registry/([^/]+)/v([1-9][0-9]{0,8})/(.+)$")
_CODEOWNERS = ".github/CODEOWNERS"


@dataclass(frozen=True)
class Move:
    model: str
    old: int
    new: int

    def to_dict(self) -> dict[str, Any]:
        return {"model": self.model, "from": self.old, "to": self.new}


@dataclass
class Renumbered:
    """What ``renumber`` did: the moves, the commit on the base's tip, the gates on it."""

    branch: str
    base: str
    base_commit: str
    old_commit: str
    commit: str
    moves: list[Move]
    passed: bool = False
    #: whether the numbering gate passes on the result (what ``push`` waits for)
    numbered: bool = False
    pushed: bool = False
    #: the branch's open pull request, retitled and given the new report after the push
    pr_url: str | None = None
    #: the gate report (``checks.report.CheckReport``) of the renumbered branch
    report: Any = None
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"branch": self.branch, "base": self.base, "base_commit": self.base_commit,
                "old_commit": self.old_commit, "commit": self.commit,
                "moves": [m.to_dict() for m in self.moves], "passed": self.passed,
                "numbered": self.numbered,
                "pushed": self.pushed, "pr_url": self.pr_url, "warnings": self.warnings,
                "report": None if self.report is None else self.report.to_dict()}


def plan(root: Path, base: str | None = None, *, fetch: bool = True) -> tuple[str, str, str, list[Move]]:
    """(branch, base ref, base commit, moves) for the branch checked out at ``root``; raises when
    the branch cannot be renumbered or needs no renumbering."""
    from modelreg.read.change import find_base

    branch = git.current_branch(root)
    if branch is None:
        raise InputError("HEAD is detached: renumber moves the versions of a branch",
                         fix="switch to the registration branch (`git switch BRANCH`) and run it again")
    if fetch and git.remote_url(root) is not None:
        wanted = (base or "main").removeprefix("origin/").removeprefix("refs/heads/")
        if base is None or base.startswith("origin/") or not git.branch_exists(root, wanted):
            with contextlib.suppress(ModelregError):  # no such branch on origin: find_base says so
                git.fetch_branch(root, wanted)
    base_ref, base_commit = find_base(str(root), base)
    if base_ref.removeprefix("origin/") == branch and not base_ref.startswith("origin/"):
        raise InputError(f"the branch to renumber is the base {base_ref!r} itself", field="--base",
                         fix="run it on the registration branch, with --base naming the branch it "
                         "merges into")
    head = git.run(root, "rev-parse", "HEAD").strip()
    fork = git.merge_base(root, head, base_commit)
    if fork is None:
        raise InputError(f"{branch} shares no history with {base_ref}", field="--base",
                         fix="name the branch the registration was made from")
    new = _new_versions(root, fork, head, branch)
    if not new:
        raise InputError(f"{branch} adds no version since it left {base_ref}: nothing to renumber",
                         fix="run it on a branch made by `modelreg register --branch`")
    moves: list[Move] = []
    for model in sorted({m for m, _ in new}):
        listing = git.ls_tree(root, base_commit, names.model_dir(model))
        taken = [n for n in map(names.parse_version_dir, listing) if n]
        _new_model_conflict(root, fork, base_commit, head, model, base_ref)
        expected = max(taken, default=0) + 1
        for number in sorted(n for m, n in new if m == model):
            moves.append(Move(model, number, expected))
            expected += 1
    if all(m.old == m.new for m in moves):
        listed = ", ".join(f"{m.model} v{m.new}" for m in moves)
        raise InputError(f"nothing to renumber: {listed} {'is' if len(moves) == 1 else 'are'} next on "
                         f"{base_ref}", fix="the numbering gate passes as it is; push the branch")
    return branch, base_ref, base_commit, moves


def _new_versions(root: Path, fork: str, head: str, branch: str) -> set[tuple[str, int]]:
    """The (model, number) of each version directory the branch adds; InputError naming the first
    path it changes that is not in one (renumbering moves new versions only). A new model's
    ``model.yaml`` and the CODEOWNERS lines routing it may come along: such a branch needs no
    renumbering (the model is new on the base too) or cannot have it (the base made the model)."""
    changes = git.changes_since(root, fork, [], until=head)
    new: set[tuple[str, int]] = set()
    for path, status in changes.items():
        match = _VERSION_PATH.match(path)
        if match and status == "A" and not git.ls_tree(root, fork, path.rsplit("/", 1)[0]):
            new.add((match.group(1), int(match.group(2))))
    made = {names.model_file(m) for m, _ in new}
    others = sorted(path for path, status in changes.items()
                    if (match := _VERSION_PATH.match(path)) is None
                    or (match.group(1), int(match.group(2))) not in new
                    if not (status == "A" and path in made)
                    and not (path == _CODEOWNERS and any(changes.get(f) == "A" for f in made)))
    if others:
        more = f" (and {len(others) - 1} more)" if len(others) > 1 else ""
        raise InputError(f"{branch} changes {others[0]}{more}, which is not part of a new version: "
                         "renumber moves new versions only", file=others[0],
                         fix="renumber by hand, or register the version again on a fresh branch")
    return new


def _new_model_conflict(root: Path, fork: str, base_commit: str, head: str, model: str,
                        base_ref: str) -> None:
    """A model the branch creates that the base has created meanwhile: fine when both made the same
    ``model.yaml`` (two pipelines registering a new model with the same owners and policy), a
    conflict renumbering cannot settle otherwise."""
    model_file = names.model_file(model)
    at_fork = _blob_id(root, fork, model_file)
    at_base = _blob_id(root, base_commit, model_file)
    if at_fork is None and at_base is not None and at_base != _blob_id(root, head, model_file):
        raise ConflictError(f"{model_file}: {base_ref} created model {model!r} too since this branch left "
                            "it, with other owners, policy or description",
                            fix="register the version again on a branch from the base's tip (the model "
                                "exists now, so without --owner/--policy)")


def _blob_id(root: Path, commit: str, path: str) -> str | None:
    """The blob at ``path`` in ``commit``, None when it holds none."""
    directory = path.rsplit("/", 1)[0] if "/" in path else ""
    entry = git.ls_entries(root, commit, directory, recursive=False).get(path)
    return None if entry is None else entry[1]


def renumber(root: Path, base: str | None = None, *, push: bool = False, offline: bool = False,
             fetch: bool = True, repo: str | None = None) -> Renumbered:
    """Rewrite the branch checked out at ``root`` as one commit on the base's tip with its new
    versions renumbered (see the module's docstring), then run the gates on it; with ``push``,
    force-push it over the tip it replaced (once the numbering gate passes on it)."""
    from modelreg.checks import run_checks
    from modelreg.checks.context import Options

    if repo is not None:  # refused before anything moves, not after the push
        from modelreg.edges import github

        github.check_repo(repo)
    if git.is_dirty(root) or _untracked(root):
        raise InputError(f"{root} has uncommitted changes", fix="commit or stash them, then renumber")
    branch, base_ref, base_commit, moves = plan(root, base, fetch=fetch)
    old = git.run(root, "rev-parse", "HEAD").strip()
    author = git.run(root, "log", "-1", "--format=%an <%ae>%n%aI%n%B", old).split("\n", 2)
    files = _files(root, old, moves)
    routes = _touches_codeowners(root, base_commit, old)
    message = _message(author[2].strip(), moves, base_ref)
    scratch = Path(tempfile.mkdtemp(prefix="modelreg-renumber-"))
    try:
        kept = _set_aside(root, moves, scratch)
        try:
            git.run(root, "reset", "--quiet", "--hard", base_commit)
            written = []
            for rel, (mode, data) in files.items():
                target = root / rel
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(data)
                if mode == "100755":
                    target.chmod(0o755)
                written.append(rel)
            if routes:  # the routes of the new model, made afresh on the base's CODEOWNERS
                from modelreg.approvals import codeowners

                with contextlib.suppress(InputError):  # a broken file: the schema gate reports it
                    if codeowners.write(root):
                        written.append(codeowners.PATH)
            git.add(root, written)
            git.run(root, "commit", "--quiet", "--no-verify", "--author", author[0], "--date", author[1],
                    "--message", message, "--", *written)
        except BaseException:
            git.run(root, "reset", "--quiet", "--hard", old, check=False)
            _put_back(root, kept, {(m.model, m.new): m.old for m in moves})
            raise
        _put_back(root, kept, {})
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    commit = git.run(root, "rev-parse", "HEAD").strip()
    report = run_checks(str(root), base=base_ref, options=Options(head=True, offline=offline))
    result = Renumbered(branch=branch, base=base_ref, base_commit=base_commit, old_commit=old, commit=commit,
                        moves=moves, passed=report.passed, report=report)
    result.warnings = [f"{names.version_dir(m.model, m.new)}/{name} still mentions v{m.old}: a card is "
                       "kept as its author wrote it" for m in moves for name in _cards_naming(root, m)]
    numbering = report.results.get("numbering")
    result.numbered = numbering is not None and not numbering.findings
    if push and result.numbered:
        _push(root, branch, old)
        result.pushed = True
        _update_pull(root, result, repo)
    return result


def _update_pull(root: Path, result: Renumbered, given: str | None) -> None:
    """Give the branch's open pull request the new number in its title and the new gate report as
    its body, where a token and the repository are known; a failure is a warning (the branch is
    pushed, and the gate's summary on that push shows the new report)."""
    from modelreg.checks import report as render
    from modelreg.edges import github

    repo = github.find_repo(str(root), given) if github.token() else None
    if repo is None:
        result.warnings.append(f"the pull request from {result.branch}, if any, still has its old title and "
                               "body: set GITHUB_TOKEN (and --repo) to update them")
        return
    title = git.run(root, "log", "-1", "--format=%s", result.commit).strip()
    try:
        result.pr_url = github.update_pull_of(repo, result.branch, title, render.markdown(result.report))
    except ModelregError as exc:
        result.warnings.append(f"renumbered and pushed, but the pull request from {result.branch} keeps its "
                               f"old title and body: {exc.message}")


def _touches_codeowners(root: Path, base_commit: str, head: str) -> bool:
    fork = git.merge_base(root, head, base_commit) or head
    return _blob_id(root, fork, _CODEOWNERS) != _blob_id(root, head, _CODEOWNERS)


def _untracked(root: Path) -> bool:
    return bool(git.run(root, "ls-files", "--others", "--exclude-standard", "--", names.REGISTRY_DIR).strip())


def _files(root: Path, head: str, moves: list[Move]) -> dict[str, tuple[str, bytes]]:
    """Every file of each moved version, at its new path, as (git mode, bytes); version.yaml's
    ``version:`` set to the new number (its one line, byte for byte otherwise). A new model's
    model.yaml is not among them: a version moves only where the base has the model already."""
    out: dict[str, tuple[str, bytes]] = {}
    with git.BlobReader(root) as blobs:
        for move in moves:
            old_dir = names.version_dir(move.model, move.old)
            new_dir = names.version_dir(move.model, move.new)
            for path, (mode, blob) in git.ls_entries(root, head, old_dir, recursive=True).items():
                data = None if blob is None or mode not in ("100644", "100755") else blobs.read(blob)
                if data is None:
                    raise InputError(f"{path} is not a regular file", file=path,
                                     fix="a version directory holds regular files only (the schema gate "
                                     "says so): remove it on the branch")
                if path == f"{old_dir}/{names.VERSION_FILE}":
                    data = _set_version(data, move, path)
                out[f"{new_dir}/{path[len(old_dir) + 1:]}"] = (mode, data)
    return out


_VERSION_LINE = re.compile(rb"^version: ([0-9]+)[ \t]*(\r?\n)", re.MULTILINE)


def _set_version(data: bytes, move: Move, path: str) -> bytes:
    lines = _VERSION_LINE.findall(data)
    if len(lines) != 1 or int(lines[0][0]) != move.old:
        raise InputError(f"{path} does not hold one top-level `version: {move.old}` line", file=path,
                         field="version", fix="set it to the directory's number and run renumber again")
    return _VERSION_LINE.sub(lambda m: b"version: %d%s" % (move.new, m.group(2)), data, count=1)


def _message(original: str, moves: list[Move], base_ref: str) -> str:
    """The branch's last message, its subject naming the new numbers; a note of the moves below."""
    subject, _, body = original.partition("\n")
    if len(moves) == 1:
        move = moves[0]
        subject = re.sub(rf"\b{re.escape(move.model)} v{move.old}\b", f"{move.model} v{move.new}", subject)
    else:  # several versions squashed into one commit: the subject lists them
        subject = "Register " + "; ".join(
            f"{model} " + ", ".join(f"v{m.new}" for m in moves if m.model == model)
            for model in dict.fromkeys(m.model for m in moves))
    was = ", ".join(f"{m.model} v{m.old} → v{m.new}" for m in moves if m.old != m.new)
    note = f"Renumbered onto {base_ref} by `modelreg renumber`: {was}."
    return "\n\n".join(part for part in (subject, body.strip(), note) if part)


def _set_aside(root: Path, moves: list[Move], scratch: Path) -> dict[tuple[str, int], Path]:
    """What git does not hold in the old version directories (the artifact ``dvc pull`` checked out
    beside its pointer, ignored by its .gitignore), moved out of the way of the reset."""
    kept = {}
    for move in moves:
        directory = root / names.version_dir(move.model, move.old)
        if directory.is_dir():
            tracked = set(git.run(root, "ls-files", "-z", "--", names.version_dir(move.model, move.old))
                          .split("\0"))
            extra = [p for p in directory.iterdir()
                     if f"{names.version_dir(move.model, move.old)}/{p.name}" not in tracked]
            if extra:
                keep = scratch / f"{move.model}-{move.old}"
                keep.mkdir()
                for item in extra:
                    shutil.move(str(item), keep / item.name)
                kept[(move.model, move.old)] = keep
    # After the reset the old numbers are the base's versions, so the moved files go to the new ones.
    return {(m.model, m.new): kept[(m.model, m.old)] for m in moves if (m.model, m.old) in kept}


def _put_back(root: Path, kept: dict[tuple[str, int], Path], back: dict[tuple[str, int], int]) -> None:
    """Move the set-aside files into their version's directory: the new one, or (``back``: new
    number → old) the old one when the renumbering is undone."""
    for (model, number), keep in kept.items():
        target = root / names.version_dir(model, back.get((model, number), number))
        target.mkdir(parents=True, exist_ok=True)
        for item in keep.iterdir():
            if not (target / item.name).exists():
                shutil.move(str(item), target / item.name)


def _cards_naming(root: Path, move: Move) -> list[str]:
    from modelreg.formats import yamlio

    directory = root / names.version_dir(move.model, move.new)
    try:
        manifest = yamlio.loads((directory / names.VERSION_FILE).read_bytes(), names.VERSION_FILE)
    except (OSError, InputError, UnicodeDecodeError):
        return []
    card = manifest.get("card") if isinstance(manifest, dict) else None
    if not isinstance(card, str) or not (directory / card).is_file():
        return []
    text = (directory / card).read_text("utf-8", "replace")
    return [card] if re.search(rf"\bv{move.old}\b", text) else []


def _push(root: Path, branch: str, old: str) -> None:
    """Force-push ``branch``, but only over the tip it replaced: where origin had the branch when it
    was last fetched, origin must still have it at ``old`` (a push or a deletion since is refused);
    where it never had it, origin must still have none."""
    tracked = git.run(root, "rev-parse", "--verify", "--quiet", f"refs/remotes/origin/{branch}",
                      check=False).strip()
    expected = old if tracked else ""
    try:
        git.run(root, "push", "--quiet", f"--force-with-lease=refs/heads/{branch}:{expected}", "origin",
                f"HEAD:refs/heads/{branch}")
    except GitError as exc:
        raise GitError(f"renumbered {branch} here, but the push failed: {exc.message}",
                       fix=f"origin's {branch} moved since (someone else pushed to it, or deleted it): "
                       f"fetch and look, then push with `git push --force-with-lease origin {branch}` "
                       "if this one should win") from exc
