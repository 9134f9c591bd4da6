"""Registering from outside the registry: clone it, register on a new branch, push, open the PR.

A training pipeline runs in its own repository. ``register_remote`` clones the
registry (a partial clone: blobs are fetched when read) into a temporary
directory that is removed however it ends, registers there with
:func:`modelreg.write.register.register` (the lineage names the *training*
repository: the current directory, or ``code_repo``), runs every gate on the
new commit for the pull request's body, pushes the branch (only if no branch
of that name exists on the remote: a compare-and-swap on the server) and
opens the pull request through GitHub's REST API.

Nothing is left half done: a failure before the push leaves nothing on the
remote but, perhaps, the artifact's bytes in the DVC remote (stored by their
hash: a later registration of the same bytes reuses them); from the push on,
a pull request that cannot be opened, a git timeout, SIGINT or SIGTERM has the
pushed branch deleted again (with a lease on the commit pushed), and the error
says so (or, when even the deletion failed, which branch is left and how to
open or delete it). A pull request whose answer was lost is looked for first.

The registry is not trusted with the user's machine: no git hook runs in the
clone, and a symbolic link where the registration writes is refused.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import stat
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelreg.edges import dvc, git
from modelreg.edges.hashing import Progress, no_progress
from modelreg.errors import ConflictError, InputError, ModelregError, NotARegistryError, ServiceError
from modelreg.formats import names, urls
from modelreg.write.register import Registered, Registration, register

if TYPE_CHECKING:
    from modelreg.checks import CheckReport

#: the prefix of the temporary directory a registration clones into (in $TMPDIR)
TEMP_PREFIX = "modelreg-register-"
#: the default remote ``modelreg init`` sets: a folder inside one clone, which no other reaches
LOCAL_REMOTE = ".modelreg/remote"
#: the user and password of a URL (``https://user:token@host``), never shown: up to the last ``@``
#: before the host, as a password may hold a raw ``@`` (``https://u:p@ss@host``)
@dataclass(frozen=True)
class RemoteRegistered:
    """A version registered on a branch of a remote registry: what ``register --registry`` prints."""

    registered: Registered
    url: str
    branch: str
    base: str
    commit: str
    #: the pull request's web URL (with ``open_pr``), else None
    pr_url: str | None = None
    #: GitHub's page that opens the pull request by hand, when the registry is on github.com
    compare_url: str | None = None
    #: OWNER/NAME the pull request was opened on
    repo: str | None = None
    #: whether every gate passed on the branch (the pull request's body is their report)
    gates_passed: bool = True
    report_markdown: str = ""
    warnings: tuple[str, ...] = field(default=())

    @property
    def model(self) -> str:
        return self.registered.model

    @property
    def version(self) -> int:
        return self.registered.version

    def to_dict(self) -> dict[str, Any]:
        return {"model": self.model, "version": self.version, "registry": scrub(self.url),
                "branch": self.branch, "base": self.base, "commit": self.commit, "pr_url": self.pr_url,
                "compare_url": self.compare_url, "repo": self.repo, "gates_passed": self.gates_passed,
                "directory": self.registered.directory, "files": list(self.registered.files),
                "artifact": self.registered.manifest["artifact"],
                "lineage": self.registered.manifest.get("lineage", {}), "warnings": list(self.warnings),
                "report": self.report_markdown}


class PushRejected(ConflictError):
    """The registry refused the branch: one of that name exists already (another pipeline took
    the version number), or a rule of the server refused it. Nothing was pushed; ``version`` is the
    number this registration had taken, ``reason`` git's words."""

    def __init__(self, message: str, *, model: str, version: int | None, branch: str, reason: str,
                 fix: str) -> None:
        super().__init__(message, fix=fix)
        self.model = model
        self.version = version
        self.branch = branch
        self.reason = reason


def register_remote(url: str, reg: Registration, *, branch: str | None = None, base: str | None = None,
                    open_pr: bool = False, repo: str | None = None,
                    progress: Progress = no_progress) -> RemoteRegistered:
    """Register ``reg`` into the registry at ``url`` (any URL git clones, or a path) on a new
    branch, push it, and with ``open_pr`` open its pull request on GitHub (OWNER/NAME from the
    URL's last two path segments, or ``repo``; the token from GITHUB_TOKEN or GH_TOKEN)."""
    from modelreg.edges import github

    names.check_model_name(reg.model)
    _check_url(url)
    for name, option in ((branch, "--branch"), (base, "--base")):
        if name is not None:
            _check_branch_name(name, option)
    if repo is not None:
        github.check_repo(repo)
    pr_repo = repo or (_repo_of(url) if open_pr else github.repo_of_url(url))
    if open_pr and github.token() is None:
        raise InputError(f"no token to open the pull request on {pr_repo} with", field="--open-pr",
                         fix=f"set {github.TOKEN_ENV} (or {github.GH_TOKEN_ENV}) to a token that may "
                         "open pull requests on it; nothing was pushed")
    if open_pr:
        github.Client()  # a GITHUB_API_URL that is no API's URL: refused now, not after the push
    # The process stays where the user is: their paths (artifact, card, keys) read as given, and
    # the lineage is the current directory's repository (or code_repo), not the clone's.
    url = _absolute(url, Path.cwd())
    with _terminate_as_exit():
        scratch = Path(tempfile.mkdtemp(prefix=TEMP_PREFIX))
        try:
            # the registry is not the user's: git runs no hook in its clone (see git.untrusted)
            with git.untrusted(scratch):
                return _register_in_clone(scratch / "registry", url, reg, branch=branch, base=base,
                                          open_pr=open_pr, repo=pr_repo, progress=progress)
        finally:
            remove_tree(scratch)


@contextlib.contextmanager
def _terminate_as_exit() -> Iterator[None]:
    """SIGTERM (a cancelled CI job) as SystemExit, so the temporary clone is removed on the way
    out; only in the main thread, and only where nobody else handles SIGTERM."""
    if threading.current_thread() is not threading.main_thread() or \
            signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
        yield
        return

    def stop(signum: int, _frame: Any) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _register_in_clone(clone: Path, url: str, reg: Registration, *, branch: str | None,
                       base: str | None, open_pr: bool, repo: str | None,
                       progress: Progress) -> RemoteRegistered:
    _clone(clone, url, base, reg.model)
    into = git.current_branch(clone) or "main"
    if not (clone / names.CONFIG_FILE).is_file():
        raise NotARegistryError(f"{scrub(url)} is not a modelreg registry: its branch {into} has no "
                                f"{names.CONFIG_FILE}", fix="check --registry, or --base")
    _check_no_links(clone, url, reg.model)
    _own_cache(clone)
    _check_dvc_remote(clone, url)
    _copy_identity(reg.code_repo or Path.cwd(), clone)
    number = _next_version(clone, reg.model)
    name = branch or f"modelreg/register-{reg.model}-v{number}"
    _check_branch_name(name, "--branch")
    if git.attempt(clone, "rev-parse", "--verify", "--quiet", f"refs/remotes/origin/{name}")[0] == 0:
        raise _taken(reg.model, number, name, url, "it exists already on the registry")
    registered = register(clone, reg, branch=name, commit=True, progress=progress)
    assert registered.commit is not None  # commit=True
    report = _gates(clone, into)
    from modelreg.checks import report as render

    body = render.markdown(report)
    # From the push on, whatever stops the command (a failure, a timeout, SIGINT or SIGTERM) takes
    # the branch back: no branch is left on the registry without its pull request, silently.
    step = "push"
    pr_url = None
    try:
        _push(clone, url, registered, name)
        step = "after"
        title = git.run(clone, "log", "-1", "--format=%s", registered.commit).strip()
        if open_pr:
            assert repo is not None
            step = "pull"
            pr_url = _open_pull(repo, name, into, title, body)
    except PushRejected:
        raise  # refused by the server: nothing was pushed
    except BaseException as exc:
        raise _withdraw(clone, url, repo, registered, name, into, step, exc) from exc
    return RemoteRegistered(registered=registered, url=url, branch=name, base=into,
                            commit=registered.commit, pr_url=pr_url,
                            compare_url=None if pr_url else _compare_url(url, repo, into, name),
                            repo=repo, gates_passed=report.passed, report_markdown=body,
                            warnings=registered.warnings)


# -- the steps ------------------------------------------------------------------------------------


def _clone(clone: Path, url: str, base: str | None, model: str) -> None:
    """A partial clone (every commit and tree, blobs when read) and a sparse checkout of ``base``
    (by default the remote's default branch): every file but the versions of other models, which
    a registration never reads (the gates read the commits, not the work tree). A registry of
    100,000 versions then checks out, and is removed, in a few hundred files."""
    branch = ["--branch", base] if base else []
    # --template=: none of the user's template hooks is copied in (none would run: git.untrusted)
    code, _, err = git.attempt(clone.parent, "clone", "--quiet", "--template=", "--filter=blob:none",
                               "--no-checkout", *branch, "--", url, str(clone))
    if code != 0:
        why = _last_line(err)
        if base and "not found in upstream" in err:
            raise InputError(f"the registry {scrub(url)} has no branch {base}", field="--base",
                             fix="name the branch pull requests merge into (e.g. main)")
        raise ServiceError(f"could not clone the registry {scrub(url)}: {why}",
                           fix="check --registry and your access to it (git's credentials: an SSH key, "
                           "a credential helper); nothing was registered")
    # and none for a tool that runs git itself in the clone (DVC)
    git.run(clone, "config", "core.hooksPath", os.devnull)
    # `clone --branch` takes a tag too (a detached HEAD): the pull request merges into a branch
    if base and git.attempt(clone, "rev-parse", "--verify", "--quiet", f"refs/remotes/origin/{base}")[0] != 0:
        raise InputError(f"{base} is not a branch of the registry {scrub(url)} (a tag?)", field="--base",
                         fix="name the branch pull requests merge into (e.g. main); nothing was registered")
    # gitignore-style patterns: everything, but registry/*/ other than each model.yaml (the
    # names of models, for near-duplicate warnings and CODEOWNERS) and this model's directory.
    # A git without sparse checkouts checks out everything: the same registration, slower.
    git.attempt(clone, "sparse-checkout", "set", "--no-cone", "/*", "!/registry/*/",
                "/registry/*/model.yaml", f"/registry/{model}/")
    code, _, err = git.attempt(clone, "checkout", "--quiet")
    if code != 0:
        raise ServiceError(f"could not check out the registry {scrub(url)}: {_last_line(err)}",
                           fix="check that it has commits on its default branch (or --base); nothing "
                           "was registered")


def _check_dvc_remote(clone: Path, url: str) -> None:
    """The artifact goes to the registry's default DVC remote, as its committed ``.dvc/config``
    names it (credentials from the environment, as DVC reads them). A local folder is refused
    unless it is a shared one that exists here: the default ``.modelreg/remote`` lives in one
    clone, and a relative path would land in the temporary clone, removed at the end."""
    if not (clone / ".dvc").is_dir():
        raise InputError(f"the registry {scrub(url)} has no .dvc directory", file=".dvc",
                         fix="run `modelreg init` in a clone of it (or `dvc init` and a default remote), "
                         "and commit .dvc/; nothing was registered")
    try:
        where = dvc.default_remote(clone)
    except InputError as exc:  # DVC names the directory: the temporary clone, gone when it is read
        raise InputError(exc.detail.replace(str(clone), f"the registry {scrub(url)}"), file=".dvc/config",
                         fix=exc.fix) from None
    if where.protocol != "local":
        return
    path = os.path.realpath(where.path)
    inside = path == os.path.realpath(clone) or path.startswith(os.path.realpath(clone) + os.sep)
    # DVC reads a relative path from .dvc/: wherever it lands, it is the clone's, not a shared place
    relative = _relative_local(_committed_url(clone, where.name))
    if inside or relative or path.endswith(os.sep + LOCAL_REMOTE.replace("/", os.sep)) or \
            not os.path.isdir(path):
        what = ("a folder inside a clone of the registry" if inside or path.endswith(LOCAL_REMOTE)
                else "a path relative to a clone of the registry" if relative
                else "a local folder that does not exist here")
        raise InputError(f"the registry {scrub(url)} keeps artifacts in the DVC remote {where.name!r}, "
                         f"{what} ({where.path}), which a registration from elsewhere cannot reach",
                         file=".dvc/config",
                         fix=f"configure a shared DVC remote in the registry (`dvc remote add -d -f "
                         f"{where.name} s3://BUCKET/PATH`, or ssh://, gs://, azure://, or an absolute "
                         "path every user shares) and commit .dvc/config; nothing was registered")


def _committed_url(clone: Path, remote: str) -> str | None:
    """The ``url`` of DVC remote ``remote`` as the registry's ``.dvc/config`` holds it (DVC makes
    a relative path absolute when it reads it); None when the file does not say."""
    import configparser

    parser = configparser.ConfigParser(interpolation=None, strict=False)
    try:
        parser.read_string((clone / ".dvc" / "config").read_text("utf-8"))
    except (OSError, UnicodeDecodeError, configparser.Error):
        return None
    for section in parser.sections():  # ['remote "NAME"'], as DVC writes it, or [remote "NAME"]
        named = re.fullmatch(r"""\s*'?\s*remote\s+"(.*)"\s*'?\s*""", section)
        if named and named[1] == remote:
            return parser.get(section, "url", fallback=None)
    return None


def _relative_local(url: str | None) -> bool:
    """Whether a DVC remote's URL is a relative local path (no scheme, not absolute, not ``~``)."""
    if not url:
        return False
    url = url.strip().strip("'\"")
    return not (re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*://", url) or os.path.isabs(url) or url.startswith("~"))


#: where a registration writes in the clone (DVC: .dvc/ and the version's .gitignore; modelreg: the
#: model's directory, CODEOWNERS), besides the version's own files under registry/MODEL/
_WRITTEN = (".dvc", ".dvcignore", ".github", ".github/CODEOWNERS", "registry")


def _check_no_links(clone: Path, url: str, model: str) -> None:
    """No symbolic link where the registration writes: a registry can commit one (``.dvc``,
    ``.dvc/config.local``, ``.dvc/cache``, ``registry/MODEL``...) to have a write land in any
    file the user may write, outside the clone. Checked on what git checked out, before any write."""
    tops = [*_WRITTEN, names.model_dir(model)]
    found = [path for path in tops if os.path.islink(clone / path)]
    for top in (".dvc", names.model_dir(model)):
        if not found and (clone / top).is_dir():
            # os.walk does not follow links: a link is listed, never entered
            for folder, dirs, files in os.walk(clone / top):
                found += [os.path.relpath(os.path.join(folder, entry), clone) for entry in (*dirs, *files)
                          if os.path.islink(os.path.join(folder, entry))]
    if found:
        path = found[0].replace(os.sep, "/")
        raise InputError(f"the registry {scrub(url)} holds a symbolic link at {path}, where a registration "
                         "writes; refused (a write through it would land outside the clone)", file=path,
                         fix="replace the link with the file or directory itself in the registry (or remove "
                         "it); nothing was registered")


def _own_cache(clone: Path) -> None:
    """DVC's cache beside the clone, in the temporary directory, whatever the registry's committed
    ``.dvc/config`` says (a ``cache.dir`` elsewhere would keep a copy of the artifact after the
    clone is gone, and a committed ``.dvc/cache`` link would put it anywhere): ``config.local`` is
    not in git and overrides it. Written without following a link (checked already: twice)."""
    if (clone / ".dvc").is_dir():  # else the remote's check says the registry has no .dvc
        cache = clone.parent / "dvc-cache"
        fd = os.open(clone / ".dvc" / "config.local", os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW,
                     0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as config:
            config.write(f"[cache]\n    dir = \"{cache}\"\n")  # quoted: a comma or # in TMPDIR


def _copy_identity(code: Path, clone: Path) -> None:
    """The commit in the clone is the user's: their name and e-mail as the training repository
    sees them (its own configuration included), when set."""
    for key in ("user.name", "user.email"):
        code_, out, _ = git.attempt(code, "config", key)
        if code_ == 0 and out.strip():
            git.run(clone, "config", key, out.strip())


def _next_version(clone: Path, model: str) -> int:
    """The number ``register`` will take in a fresh clone (nothing else writes into it)."""
    directory = clone / names.model_dir(model)
    found = [n for n in map(names.parse_version_dir, os.listdir(directory)) if n] \
        if directory.is_dir() else []
    return max(found, default=0) + 1


def _gates(clone: Path, into: str) -> CheckReport:
    """Every gate on the new commit against the base: the pull request's body."""
    from modelreg.checks import run_checks
    from modelreg.checks.context import Options

    return run_checks(str(clone), base=f"origin/{into}", options=Options(head=True))


def _push(clone: Path, url: str, registered: Registered, name: str) -> None:
    """Push the branch only if none of that name exists on the remote: the lease of an empty
    value is checked by the server as it updates the ref, so two pipelines cannot both win it."""
    code, out, err = git.attempt(clone, "push", "--porcelain", "--no-verify",
                                 f"--force-with-lease=refs/heads/{name}:",
                                 "origin", f"HEAD:refs/heads/{name}")
    if code == 0:
        return
    refused = [line for line in out.splitlines() if line.startswith("!")]  # "!<tab>ref<tab>[rejected] why"
    if refused:
        raise _taken(registered.model, registered.version, name, url, refused[0].split("\t")[-1].strip())
    raise ServiceError(f"could not push the branch {name} to the registry {scrub(url)}: {_last_line(err)}",
                       fix="check the network and your right to push to it; nothing was pushed (the "
                       "artifact's bytes may be in the DVC remote, stored by their hash)")


def _open_pull(repo: str, name: str, into: str, title: str, body: str) -> str:
    """The pull request's URL. When GitHub's answer is not a refusal (a timeout, a 5xx, a body
    that cannot be read, an interrupt) it may have opened it all the same: an open pull request
    from the branch is looked for before the caller deletes the branch (and a retry opens a second)."""
    from modelreg.edges import github

    try:
        return github.create_pull(repo, base=into, head=name, title=title, body=body)
    except BaseException as exc:
        if isinstance(exc, InputError) or (isinstance(exc, github.ApiError) and 400 <= exc.status < 500):
            raise  # refused: nothing was opened
        try:
            found = github.pull_of(repo, name)
        except ModelregError:
            found = None  # not known either: the branch is deleted, as when nothing was opened
        if found is None:
            raise
        if isinstance(exc, ModelregError):
            return found
        raise _Opened(found) from exc


class _Opened(Exception):
    """An interrupt while opening the pull request, which GitHub had opened: nothing to take back."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.url = url


class Interrupted(ModelregError):
    """SIGINT or SIGTERM once the branch was pushed; exit code 128 + the signal's number."""

    def __init__(self, message: str, *, fix: str | None = None, signum: int) -> None:
        super().__init__(message, fix=fix)
        self.exit_code = 128 + signum


def _withdraw(clone: Path, url: str, repo: str | None, registered: Registered, name: str, into: str,
              step: str, exc: BaseException) -> BaseException:
    """Delete the branch ``name`` the command pushed (or may have: ``step`` is where it stopped),
    only if it still holds our commit; the error to raise, saying what is left."""
    signum = _signal_of(exc.__cause__ if isinstance(exc, _Opened) else exc)
    stopped = f"stopped by {signal.Signals(signum).name}" if signum else "stopped"
    if isinstance(exc, _Opened):
        return Interrupted(f"{stopped}; the pull request {exc.url} was opened (its branch is {name})",
                           signum=signum or signal.SIGTERM)
    gone, why = _delete_pushed(clone, registered.commit or "", name)
    where, delete = scrub(url), f"git push {scrub(url)} --delete {name}"
    compare = _compare_url(url, repo, into, name)
    if signum:
        if gone:
            return Interrupted(f"{stopped} after the push of {name}; the branch has been deleted again, so "
                               f"nothing is left on the registry {where}", signum=signum)
        return Interrupted(f"{stopped}; the branch {name} may be left on {where} without its pull request "
                           f"(deleting it failed: {why})", fix=f"delete it: {delete}", signum=signum)
    if not isinstance(exc, ModelregError):
        return exc  # a bug: the branch taken back if it could be, the error as it is
    if step == "pull" and gone:
        return ServiceError(f"the pull request for {registered.model} v{registered.version} was not "
                            f"opened: {exc.message}; the branch {name} was pushed and has been deleted "
                            "again, so nothing is left on the registry",
                            fix=f"{exc.fix + '; then ' if exc.fix else ''}run the command again")
    if step == "pull":
        return ServiceError(f"the branch {name} IS pushed to {where}, but the pull request was not "
                            f"opened ({exc.message}) and deleting the branch failed ({why})",
                            fix=f"open the pull request by hand{f' at {compare}' if compare else ''}, or "
                            f"delete the branch: {delete}")
    if gone and step == "after":
        exc.message = f"{exc.message}; the branch {name} was pushed and has been deleted again"
    if gone:
        return exc  # a failed push says nothing was pushed
    return ServiceError(f"{exc.message}; the branch {name} may be left on {where} (deleting it failed: "
                        f"{why})", fix=f"delete it: {delete}")


def _signal_of(exc: BaseException | None) -> int | None:
    """The signal an exception stands for: SIGINT (KeyboardInterrupt), SIGTERM (SystemExit(143),
    from :func:`_terminate_as_exit`)."""
    if isinstance(exc, KeyboardInterrupt):
        return signal.SIGINT
    if isinstance(exc, SystemExit) and isinstance(exc.code, int) and exc.code > 128:
        return exc.code - 128
    return None


def _delete_pushed(clone: Path, commit: str, name: str) -> tuple[bool, str]:
    """Delete the branch on the remote if it holds ``commit`` (a lease: a branch someone moved
    since is theirs); (whether the branch is gone, git's words when it is not)."""
    try:
        code, _, err = git.attempt(clone, "push", "--quiet", "--no-verify",
                                   f"--force-with-lease=refs/heads/{name}:{commit}", "origin",
                                   "--delete", f"refs/heads/{name}")
        if code == 0:
            return True, ""
        # the lease fails when there is no such branch too: the push never landed
        listed, out, _ = git.attempt(clone, "ls-remote", "origin", f"refs/heads/{name}")
        return listed == 0 and not out.strip(), _last_line(err)
    except ModelregError as exc:  # a git that times out again
        return False, exc.message


# -- helpers --------------------------------------------------------------------------------------


def remove_tree(path: Path) -> None:
    """Remove ``path`` and everything under it, read-only files and directories too (git's packs,
    DVC's cache): the temporary clone must not outlive the command."""

    def writable(func: Any, target: str, _exc: Any) -> None:
        parent = os.path.dirname(target)
        os.chmod(parent, os.stat(parent).st_mode | stat.S_IWUSR | stat.S_IXUSR)
        if os.path.isdir(target) and not os.path.islink(target):
            os.chmod(target, os.stat(target).st_mode | stat.S_IWUSR | stat.S_IXUSR | stat.S_IRUSR)
        func(target)

    if path.exists():
        shutil.rmtree(path, onerror=writable)  # onerror: onexc is 3.12+


def scrub(url: str) -> str:
    """``url`` without the user and password it may carry (a token in an https URL)."""
    return urls.masked(url)


def _check_url(url: str) -> None:
    if not url or url.startswith("-") or any(ord(c) < 32 for c in url):
        raise InputError(f"{scrub(url)!r} is not a registry URL", field="--registry",
                         fix="give what `git clone` takes: https://github.com/OWNER/NAME.git, "
                         "git@github.com:OWNER/NAME.git, file:///PATH or a path")


def _absolute(url: str, cwd: Path) -> str:
    """A relative path names a directory from where the user is (the clone runs elsewhere);
    URLs (``scheme://``) and scp-like ``host:path`` are as given, as git reads them."""
    if "://" in url or re.match(r"^[^/]*:", url) or os.path.isabs(url):
        return url
    return os.path.abspath(cwd / url)


def _check_branch_name(name: str, option: str) -> None:
    code, _, _ = git.attempt(".", "check-ref-format", "--branch", name)
    if code != 0 or name.startswith("-"):
        raise InputError(f"{name!r} is not a valid branch name", field=option,
                         fix="use letters, digits, '-', '_', '.' and '/' (see `git check-ref-format`)")


def _repo_of(url: str) -> str:
    """OWNER/NAME: the URL's last two path segments, ``.git`` stripped (``--repo`` overrides)."""
    from modelreg.edges import github

    path = re.sub(r"^[a-z][a-z0-9+.-]*://[^/]*", "", url.strip())  # scheme://host
    path = re.sub(r"^[^/:]+@[^/:]+:", "", path)  # scp-like git@host:
    segments = [s for s in path.rstrip("/").split("/") if s]
    repo = "/".join(segments[-2:]).removesuffix(".git") if len(segments) >= 2 else ""
    try:
        github.check_repo(repo)
    except InputError:
        raise InputError(f"cannot tell the GitHub repository of {scrub(url)!r}", field="--repo",
                         fix="pass --repo OWNER/NAME") from None
    return repo


def _compare_url(url: str, repo: str | None, base: str, branch: str) -> str | None:
    from modelreg.edges import github

    named = repo or github.repo_of_url(url)
    return f"https://github.com/{named}/compare/{base}...{branch}?expand=1" if named else None


def _taken(model: str, version: int | None, branch: str, url: str, reason: str) -> PushRejected:
    held = f"{model} v{version}" if version is not None else model
    return PushRejected(f"the registry {scrub(url)} refused the branch {branch} ({reason}); nothing was "
                        "pushed", model=model, version=version, branch=branch, reason=reason,
                        fix=f"another registration may hold {held} on that branch, not merged yet: merge "
                        "or close its pull request, then run the command again (or pick another "
                        "--branch)")


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return scrub(lines[-1]) if lines else "no message"
