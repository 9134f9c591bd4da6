"""Every git query and command modelreg runs goes through this module."""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
from collections.abc import Iterator, Sequence

from modelreg.errors import GitError, InputError, NotFoundError, ServiceError
from modelreg.formats import urls

#: a path as str or os.PathLike (pathlib stays off the read path: it costs 5 ms to import)
StrPath = str | os.PathLike[str]

_OBJECT_ID = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}(?:[T ][0-9:.]+(?:Z|[+-]\d{2}:?\d{2})?)?$")
#: what a person means as a date but modelreg does not read as one: other separators or orders
#: (2026/11/01, 01.11.2026, 2026-11-1), a compact date, or git's own relative words
_DATE_LIKE = re.compile(r"^(?:\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}(?:[T ,].*)?|\d{8}T.*|"
                        r"(?:yesterday|today|tomorrow|now|noon|midnight|last\b.*|next\b.*|.*\bago)|"
                        r"\d{4}-\d{2}-\d{2}.+)$", re.IGNORECASE)
DATE_FORMS = ("write a date as YYYY-MM-DD (e.g. 2026-11-01) or YYYY-MM-DDTHH:MM[:SS] with an optional "
              "zone (Z, +01:00), or give a commit, branch or tag")


def run(root: StrPath, *args: str, check: bool = True, input: bytes | None = None) -> str:
    """Run ``git ARGS`` in ``root``; on failure raise GitError with command and stderr."""
    proc = _spawn(root, args, input)
    if check and proc.returncode != 0:
        stderr = proc.stderr.decode("utf-8", "replace").strip()
        raise GitError(f"`git {' '.join(args)}` failed with exit code {proc.returncode}: {stderr}")
    return proc.stdout.decode("utf-8", "replace")


def _status(root: StrPath, *args: str) -> tuple[int, str]:
    """Run ``git ARGS`` in ``root`` where a non-zero exit is an answer, not a failure."""
    proc = _spawn(root, args, None)
    return proc.returncode, proc.stdout.decode("utf-8", "replace")


def _spawn(root: StrPath, args: Sequence[str], input: bytes | None) -> subprocess.CompletedProcess[bytes]:
    """The one place a git command is started (but ``cat-file --batch``, see BlobReader)."""
    options = _hooks_off(root)
    if args and args[0] in _NETWORK:
        return _spawn_bounded(root, args, input, options)
    return subprocess.run(["git", *options, *args], cwd=root, input=input, capture_output=True,
                          check=False, env=_env())


#: the real paths of directories holding repositories that are not the user's (a registry's
#: temporary clone): git runs no hook there, neither the user's (init.templateDir, core.hooksPath,
#: a hook manager such as pre-commit that would run what the repository's own config names) nor
#: any the repository could bring. ``-c`` outranks every configuration file and GIT_CONFIG_*.
_UNTRUSTED: set[str] = set()
NO_HOOKS = ("-c", "core.hooksPath=/dev/null")


@contextlib.contextmanager
def untrusted(root: StrPath) -> Iterator[None]:
    """While inside: every git command run in ``root`` or under it runs no hook."""
    path = os.path.realpath(root)
    _UNTRUSTED.add(path)
    try:
        yield
    finally:
        _UNTRUSTED.discard(path)


def _hooks_off(root: StrPath) -> tuple[str, ...]:
    if not _UNTRUSTED:
        return ()
    path = os.path.realpath(root)
    return NO_HOOKS if any(path == r or path.startswith(r + os.sep) for r in _UNTRUSTED) else ()


#: git commands that talk to a remote, and how long one may take in all ($MODELREG_GIT_TIMEOUT
#: seconds): a remote that accepts the connection and then sends nothing would hold git forever
_NETWORK = frozenset({"fetch", "push", "ls-remote", "pull", "clone",
                      # in a partial clone these fetch the file contents they write
                      "checkout", "sparse-checkout"})
TIMEOUT_ENV = "MODELREG_GIT_TIMEOUT"
DEFAULT_TIMEOUT = 300.0


def _spawn_bounded(root: StrPath, args: Sequence[str], input: bytes | None, options: Sequence[str] = ()
                   ) -> subprocess.CompletedProcess[bytes]:
    """A git command that talks to a remote, stopped with everything it started (ssh, the remote
    helpers) when its time is up: ServiceError (exit code 4), naming the remote's command."""
    import signal

    limit = _timeout()
    proc = subprocess.Popen(["git", *options, *args], cwd=root,
                            stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=_env(),
                            start_new_session=True)  # its own process group: ssh and helpers go with it
    try:
        out, err = proc.communicate(input, timeout=limit)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):  # it ended between the timeout and the kill
            os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise ServiceError(f"`git {args[0]}` got no complete answer from the remote within {limit:g} s; "
                           "stopped", fix=f"check the network and the remote (`git remote -v`); "
                           f"{TIMEOUT_ENV}=SECONDS sets the limit (default {DEFAULT_TIMEOUT:g})") from None
    except BaseException:  # an interrupt (SIGTERM as SystemExit): git, in its own group, goes too
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise
    return subprocess.CompletedProcess(["git", *args], proc.returncode, out, err)


def _timeout() -> float:
    text = os.environ.get(TIMEOUT_ENV, "").strip()
    if not text:
        return DEFAULT_TIMEOUT
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 < value < float("inf"):
        raise InputError(f"{TIMEOUT_ENV}={text!r} is not a number of seconds",
                         fix=f"set it to a positive number such as 120, or unset it "
                             f"(default {DEFAULT_TIMEOUT:g})")
    return value


def _env() -> dict[str, str]:
    env = dict(os.environ)
    # Stable, parseable output whatever the user's configuration says.
    env["LC_ALL"] = "C"
    env["GIT_TERMINAL_PROMPT"] = "0"
    # An object is what its id hashes: what modelreg keeps is keyed by ids (the parse memo, the
    # trees found whole), which a replacement (`git replace`) would make lie.
    env["GIT_NO_REPLACE_OBJECTS"] = "1"
    env.pop("GIT_DIR", None)
    env.pop("GIT_WORK_TREE", None)
    return env


def toplevel(path: StrPath) -> str | None:
    code, out = _status(path, "rev-parse", "--show-toplevel")
    return out.strip() if code == 0 else None


def repository_dirs(root: StrPath) -> tuple[str | None, str | None]:
    """The top of the work tree and the (common) git directory of the repository holding ``root``,
    both resolved; (None, None) outside a repository."""
    code, out = _status(root, "rev-parse", "--show-toplevel", "--git-common-dir")
    lines = out.splitlines()
    if code != 0 or len(lines) != 2:
        return None, None
    return os.path.realpath(lines[0]), os.path.realpath(os.path.join(root, lines[1]))


def init(root: StrPath) -> None:
    run(root, "init", "--quiet", "--initial-branch=main")  # what GitHub and the workflows expect


def resolve_revision(root: StrPath, rev: str, *, option: str | None = None) -> str:
    """Commit id for a commit, branch, tag, or a date (the last commit on HEAD at or before it: a
    date in the future is the latest commit). ``option`` names where a person gave ``rev``."""
    where = f"{option}: " if option else ""
    if _DATE.match(rev):
        # a date to come means the latest commit (and git cannot read every one: 2999 is no date)
        if _check_date(rev):
            commit = run(root, "rev-list", "-1", "HEAD", check=False).strip()
        else:  # git reads the date (its rules: a date alone is at the time of day now) and HEAD
            moment, _, head = run(root, "rev-parse", f"--before={rev}", "HEAD", check=False).partition("\n")
            from modelreg.edges.logs import first_parent_before  # it runs git through this module

            commit = ""
            try:
                if moment.startswith("--min-age=") and _OBJECT_ID.fullmatch(head.strip()):
                    seconds = int(moment[len("--min-age="):])
                    commit = first_parent_before(str(root), head.strip(), seconds) or ""
            except (OverflowError, ValueError):  # a date git reads and 64 bits do not hold: git walks
                commit = run(root, "rev-list", "-1", "--first-parent", f"--before={rev}", "HEAD",
                             check=False).strip()
        if not commit:
            raise NotFoundError(f"{where}no commit on HEAD at or before {rev}",
                                fix="pick a later date, or a commit or tag")
        return commit
    code, out = _status(root, "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}")
    if code != 0:
        if _DATE_LIKE.match(rev.strip()):  # not a ref either: a date in a form modelreg does not read
            raise InputError(f"{rev!r} is not a date modelreg reads", field=option, fix=DATE_FORMS)
        raise NotFoundError(f"{where}unknown revision {rev!r}",
                            fix="give a commit, branch, tag, or a date such as 2026-11-01")
    return out.strip()


def _check_date(rev: str) -> bool:
    """Refuse a date that does not exist: git would read ``2026-13-45`` as some other date.
    Whether it is in the future (a date without a zone is local time, as git reads it)."""
    from datetime import date, datetime

    try:
        day = date.fromisoformat(rev[:10])
    except ValueError:
        year, month, number = (int(part) for part in rev[:10].split("-"))
        reason = f"there is no month {month}" if not 1 <= month <= 12 else \
            f"{year}-{month:02d} has no day {number}"
        raise InputError(f"{rev!r} is not a valid date: {reason}",
                         fix="write a date as YYYY-MM-DD (e.g. 2026-11-01), or give a commit, branch or tag"
                         ) from None
    zone = re.sub(r"([+-]\d{2})(\d{2})$", r"\1:\2", rev[10:].replace("Z", "+00:00"))
    try:
        moment = datetime.fromisoformat(rev[:10] + zone.replace(" ", "T", 1)) if zone else None
    except ValueError:
        raise InputError(f"{rev!r} is not a valid date and time", fix="write YYYY-MM-DDTHH:MM[:SS] "
                         "with an optional zone (Z, +01:00), e.g. 2026-11-01T09:30") from None
    if moment is None:
        return day > date.today()
    now = datetime.now(moment.tzinfo) if moment.tzinfo else datetime.now()
    return moment > now


def is_ancestor(root: StrPath, ancestor: str, descendant: str) -> bool:
    return _status(root, "merge-base", "--is-ancestor", ancestor, descendant)[0] == 0


def git_dir(root: StrPath) -> str:
    """The repository's git directory (``.git``, or a worktree's own), as an absolute path."""
    return run(root, "rev-parse", "--absolute-git-dir").strip()


def switch(root: StrPath, branch: str) -> None:
    run(root, "switch", "--quiet", branch)


def delete_branch(root: StrPath, branch: str) -> None:
    run(root, "branch", "--quiet", "-D", branch)


def head_commit(root: StrPath) -> str | None:
    out = run(root, "rev-parse", "--verify", "--quiet", "HEAD", check=False).strip()
    return out or None


def current_branch(root: StrPath) -> str | None:
    out = run(root, "symbolic-ref", "--quiet", "--short", "HEAD", check=False).strip()
    return out or None


def is_dirty(root: StrPath) -> bool:
    return bool(run(root, "status", "--porcelain", "--untracked-files=no").strip())


def remote_url(root: StrPath, name: str = "origin") -> str | None:
    out = run(root, "remote", "get-url", name, check=False).strip()
    return out or None


def fetch_branch(root: StrPath, branch: str = "main", remote: str = "origin") -> None:
    """Bring ``remote``'s ``branch`` to ``refs/remotes/REMOTE/BRANCH`` (what the remote says now).

    ServiceError (exit code 4) when the remote cannot be reached; NotFoundError when it answered
    without that branch."""
    proc = _spawn(root, ["fetch", "--quiet", "--no-tags", remote,
                         f"+refs/heads/{branch}:refs/remotes/{remote}/{branch}"], None)
    if proc.returncode == 0:
        return
    stderr = proc.stderr.decode("utf-8", "replace").strip()
    if "couldn't find remote ref" in stderr:
        raise NotFoundError(f"{remote} has no branch {branch}",
                            fix=f"push it (`git push {remote} {branch}`), then deploy")
    last = stderr.splitlines()[-1] if stderr else f"exit code {proc.returncode}"
    raise ServiceError(f"could not fetch {branch} from {remote} "
                       f"({urls.masked(remote_url(root, remote) or '')}): {urls.masked(last)}",
                       fix="check the network and your access to it, or pass --offline to trust "
                           f"{remote}/{branch} as last fetched")


def has_commit(root: StrPath, commit: str) -> bool:
    """Whether this clone has ``commit`` (a full id)."""
    return _status(root, "cat-file", "-e", f"{commit}^{{commit}}")[0] == 0


def user_name(root: StrPath) -> str | None:
    """Who git records as the author of the next commit: ``GIT_AUTHOR_NAME`` (how CI jobs set an
    identity) before ``user.name``, as git itself takes them."""
    given = os.environ.get("GIT_AUTHOR_NAME", "").strip()
    if given:
        return given
    out = run(root, "config", "user.name", check=False).strip()
    return out or None


def ls_tree(root: StrPath, commit: str, directory: str) -> list[str]:
    """Names of the entries directly inside ``directory`` at ``commit``."""
    out = run(root, "ls-tree", "--name-only", "-z", commit, "--", f"{directory.rstrip('/')}/")
    return [p.rsplit("/", 1)[-1] for p in out.split("\0") if p]


def ls_blobs(root: StrPath, commit: str, directory: str) -> dict[str, str]:
    """Every file below ``directory`` at ``commit``, as path → blob id."""
    return {path: blob for path, (_, blob) in ls_entries(root, commit, directory, recursive=True).items()
            if blob is not None}


def ls_entries(root: StrPath, commit: str, directory: str, *,
               recursive: bool) -> dict[str, tuple[str, str | None]]:
    """The entries below ``directory`` at ``commit`` (every file and submodule with ``recursive``,
    else the names directly inside it), as path → (git mode, blob id; None for a tree or a
    submodule). The mode tells a file (100644, 100755) from a symbolic link (120000), a
    submodule (160000) and a directory (040000)."""
    recurse = ["-r"] if recursive else []
    out = run(root, "ls-tree", *recurse, "-z", commit, "--", f"{directory.rstrip('/')}/")
    entries: dict[str, tuple[str, str | None]] = {}
    for record in out.split("\0"):
        meta, _, path = record.partition("\t")
        fields = meta.split()  # "<mode> <type> <id>"
        if len(fields) == 3 and path:
            entries[path] = (fields[0], fields[2] if fields[1] == "blob" else None)
    return entries


def merge_base(root: StrPath, a: str, b: str) -> str | None:
    out = run(root, "merge-base", a, b, check=False).strip()
    return out or None


def changes_since(root: StrPath, commit: str, paths: Sequence[str], *,
                  until: str | None = None, staged: bool = False) -> dict[str, str]:
    """Files that differ between ``commit`` and ``until`` (a commit), the index (``staged``), or
    the work tree with its untracked files: path → A, M or D.

    Against a commit or the index git compares without looking at the work tree, in time
    proportional to the change; against the work tree it stats every file and walks every
    directory.
    """
    revisions = [commit, until] if until else ["--cached", commit] if staged else [commit]
    out = run(root, "diff", "--name-status", "--no-renames", "-z", *revisions, "--", *paths)
    fields = [f for f in out.split("\0") if f]
    changes = dict(zip(fields[1::2], (s[:1] for s in fields[0::2]), strict=True))
    if until is None and not staged:
        untracked = run(root, "ls-files", "--others", "--exclude-standard", "-z", "--", *paths)
        changes.update({path: "A" for path in untracked.split("\0") if path})
    return changes


def untracked_directories(root: StrPath, paths: Sequence[str]) -> list[str]:
    """Directories of the work tree below ``paths`` that git holds nothing of and does not ignore,
    empty ones included (which no diff lists), each with a trailing ``/``."""
    out = run(root, "ls-files", "--others", "--directory", "--exclude-standard", "-z", "--", *paths)
    return [path for path in out.split("\0") if path.endswith("/")]


def first_ref(root: StrPath, candidates: Sequence[str]) -> tuple[str, str] | None:
    """The first of ``candidates`` (short names such as origin/main, main, v1.0 or a commit) that
    exists, with the commit it points at; one git call for branch names."""
    full = [f"refs/remotes/{c}" if c.startswith("origin/") else f"refs/heads/{c}" for c in candidates]
    out = run(root, "for-each-ref", "--format=%(refname) %(objectname) %(*objectname)", *full, check=False)
    found = {}
    for line in out.splitlines():
        name, oid, *peeled = line.split()
        found[name] = peeled[0] if peeled else oid
    for short, name in zip(candidates, full, strict=True):
        if name in found:
            return short, found[name]
    for short in candidates:  # tags and commit ids
        commit = run(root, "rev-parse", "--verify", "--quiet", f"{short}^{{commit}}", check=False).strip()
        if commit:
            return short, commit
    return None


def branch_exists(root: StrPath, branch: str) -> bool:
    return bool(run(root, "rev-parse", "--verify", "--quiet", f"refs/heads/{branch}", check=False).strip())


def ls_index(root: StrPath, directory: str) -> dict[str, tuple[str, str]]:
    """Every staged entry below ``directory`` (files, links, submodules), as path → (git mode,
    object id)."""
    out = run(root, "ls-files", "--stage", "-z", "--", f"{directory.rstrip('/')}/")
    entries = {}
    for record in out.split("\0"):
        meta, _, path = record.partition("\t")
        fields = meta.split()  # "<mode> <id> <stage>"; stage 0 is the merged, staged entry
        if len(fields) == 3 and fields[2] == "0" and path:
            entries[path] = (fields[0], fields[1])
    return entries


def switch_new_branch(root: StrPath, branch: str) -> None:
    run(root, "switch", "--quiet", "--create", branch)


def add(root: StrPath, paths: Sequence[str]) -> None:
    run(root, "add", "--", *paths)


def commit(root: StrPath, message: str, paths: Sequence[str]) -> str:
    run(root, "commit", "--quiet", "--message", message, "--", *paths)
    refresh_commit_graph(root)
    return run(root, "rev-parse", "HEAD").strip()


def refresh_commit_graph(root: StrPath) -> None:
    """Add the commits made since to the commit-graph with changed-path Bloom filters: a new layer
    of only those commits, so the cost is the change's, not the history's. Without such a graph, a
    first one is written whole on a short history (up to :data:`GRAPH_FIRST_WRITE` commits: a new
    registry gets it with its first commits); a longer one costs a walk of the whole history (about
    30 s of CPU at 100,000 commits), which a registration should not pay: ``modelreg init`` run on
    the registry writes it. Only a speed-up: every read is the same without it, so a failure to
    write it is not an error."""
    if has_bloom_graph(root):
        _status(root, "commit-graph", "write", "--reachable", "--changed-paths", "--split")
        return
    code, out = _status(root, "rev-list", "--count", f"--max-count={GRAPH_FIRST_WRITE + 1}", "HEAD")
    if code == 0 and out.strip().isdigit() and int(out) <= GRAPH_FIRST_WRITE:
        write_commit_graph(root)


#: the longest history a commit writes a first commit-graph for (well under a second)
GRAPH_FIRST_WRITE = 5000


def write_commit_graph(root: StrPath) -> bool:
    """Write the commit-graph of every reachable commit whole, with changed-path Bloom filters
    (``git log -- PATH`` then skips the commits that do not touch PATH without reading their
    trees, and walks read commits from the graph instead of the objects). False when git could
    not (no commits yet, an old git): reads do not need it."""
    if head_commit(root) is None:
        return False
    return _status(root, "commit-graph", "write", "--reachable", "--changed-paths", "--split=replace")[0] == 0


def has_bloom_graph(root: StrPath) -> bool:
    """Whether the repository has a commit-graph whose every layer holds changed-path Bloom filters
    (git uses them only then). Read from the files' chunk tables: no process."""
    info = os.path.join(_git_dir(root), "objects", "info")
    chain = os.path.join(info, "commit-graphs", "commit-graph-chain")
    try:
        with open(chain, encoding="ascii") as file:
            layers = [os.path.join(info, "commit-graphs", f"graph-{h}.graph") for h in file.read().split()]
    except FileNotFoundError:
        layers = [os.path.join(info, "commit-graph")]
    except (OSError, ValueError):
        return False
    for layer in layers or [""]:
        try:
            with open(layer, "rb") as file:
                head = file.read(8 + 12 * 16)  # the header, then the chunk table (12 bytes an entry)
        except OSError:
            return False
        if head[:4] != b"CGPH" or b"BIDX" not in head:
            return False
    return True


def _git_dir(root: StrPath) -> str:
    """``root/.git``, or where a ``.git`` file (a worktree, a submodule) points: where the objects are."""
    dot_git = os.path.join(root, ".git")
    if os.path.isfile(dot_git):
        with contextlib.suppress(OSError, ValueError), open(dot_git, encoding="utf-8") as file:
            line = file.read().strip()
            if line.startswith("gitdir:"):
                return _common(os.path.join(root, line[len("gitdir:"):].strip()))
    return dot_git


def _common(git_dir: str) -> str:
    """A worktree's git directory keeps its objects in the main one (its ``commondir``)."""
    with contextlib.suppress(OSError), open(os.path.join(git_dir, "commondir"), encoding="utf-8") as file:
        return os.path.join(git_dir, file.read().strip())
    return git_dir


def log(root: StrPath, fmt: str, paths: Sequence[str], *extra: str) -> str:
    """``git log`` of the first-parent history touching ``paths`` (merges as one change)."""
    return run(root, "log", "--first-parent", "-m", "--no-renames", "--no-show-signature", f"--format={fmt}",
               *extra, "--", *paths)


def log_walked_by(jobs: int, root: StrPath, fmt: str, paths: Sequence[str], start: str, *extra: str) -> str:
    """:func:`log` from ``start``, the same text, walked by up to ``jobs`` git processes at once,
    each a stretch of the first-parent chain (a walk of a long history that diffs every commit
    is bound by the CPU: a registry of 100,000 commits takes some 20 s in one process)."""
    chain = run(root, "rev-list", "--first-parent", start).split() if jobs > 1 else []
    if len(chain) < jobs * _STRETCH_MIN:
        return log(root, fmt, paths, *extra, start)
    size = -(-len(chain) // jobs)
    stretches = [[chain[i], *([f"^{chain[i + size]}"] if i + size < len(chain) else [])]
                 for i in range(0, len(chain), size)]
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=len(stretches)) as pool:  # each thread waits on its git
        return "".join(pool.map(lambda revs: log(root, fmt, paths, *extra, *revs), stretches))


#: the fewest commits a process of :func:`log_walked_by` is given
_STRETCH_MIN = 2000


def subjects(root: StrPath, commits: Sequence[str]) -> dict[str, str]:
    """Commit → its subject line, in one ``git log``."""
    if not commits:
        return {}
    out = run(root, "log", "--no-walk=unsorted", "--format=%H%x00%s", *dict.fromkeys(commits), "--")
    return dict(line.split("\0", 1) for line in out.splitlines() if "\0" in line)


def first_parents(root: StrPath, commits: Sequence[str]) -> dict[str, str | None]:
    """Commit → its first parent (None for a root commit), in one ``git log``."""
    if not commits:
        return {}
    out = run(root, "log", "--no-walk=unsorted", "--format=%H %P", *dict.fromkeys(commits), "--")
    found: dict[str, str | None] = {}
    for line in out.splitlines():
        commit, *parents = line.split()
        found[commit] = parents[0] if parents else None
    return found


class BlobReader:
    """One long-lived ``git cat-file --batch`` process: many reads, one start-up."""

    def __init__(self, root: StrPath) -> None:
        self._root = root
        self._proc: subprocess.Popen[bytes] | None = None

    def read(self, spec: str) -> bytes | None:
        """Contents of ``REV:path`` (or a blob id), or None when it does not exist."""
        found = self._object(spec)
        return found[2] if found is not None and found[1] == "blob" else None

    def read_blob(self, spec: str) -> tuple[str, bytes] | None:
        """The blob id and contents of ``REV:path``, or None when it is no blob."""
        found = self._object(spec)
        return (found[0], found[2]) if found is not None and found[1] == "blob" else None

    def read_tree(self, spec: str) -> dict[str, str] | None:
        """The entries of the directory ``REV:path`` as name → git mode (``40000`` a directory,
        ``120000`` a symbolic link, ``160000`` a submodule), or None when it is no directory.
        Read through the running ``cat-file``: listing a directory starts no process."""
        found = self.read_tree_ids(spec)
        return None if found is None else {name: mode for name, (mode, _) in found[1].items()}

    def read_tree_ids(self, spec: str) -> tuple[str, dict[str, tuple[str, str]]] | None:
        """The directory ``REV:path`` as its tree's own id and name → (git mode, object id), or None
        when it is no directory. The ids are what caches of what a tree holds are keyed by."""
        found = self._object(spec)
        if found is None or found[1] != "tree":
            return None
        oid, _, data = found
        width = len(oid) // 2  # a tree entry is "<mode> <name>\0" and the raw object id
        entries: dict[str, tuple[str, str]] = {}
        at = 0
        while at < len(data):
            space = data.index(b" ", at)
            nul = data.index(b"\0", space)
            entries[data[space + 1:nul].decode("utf-8", "surrogateescape")] = (
                data[at:space].decode(), data[nul + 1:nul + 1 + width].hex())
            at = nul + 1 + width
        return oid, entries

    def _object(self, spec: str) -> tuple[str, str, bytes] | None:
        """(object id, type, contents) of ``spec``, or None when it does not exist."""
        if "\n" in spec:
            return None
        proc = self._start()
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.write(spec.encode() + b"\n")
        proc.stdin.flush()
        header = proc.stdout.readline().decode()
        if header.endswith((" missing\n", " ambiguous\n")):
            return None
        oid, kind, size = header.rsplit(" ", 2)
        return oid, kind, proc.stdout.read(int(size.strip()) + 1)[:-1]

    def _start(self) -> subprocess.Popen[bytes]:
        if self._proc is None:
            self._proc = subprocess.Popen(["git", "cat-file", "--batch"], cwd=self._root,
                                          stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                          stderr=subprocess.DEVNULL, env=_env())
        return self._proc

    def close(self) -> None:
        if self._proc is not None:
            assert self._proc.stdin is not None
            self._proc.stdin.close()
            self._proc.wait()
            if self._proc.stdout is not None:
                self._proc.stdout.close()
            self._proc = None

    def __enter__(self) -> BlobReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def attempt(root: StrPath, *args: str) -> tuple[int, str, str]:
    """Run ``git ARGS`` where the caller reads a failure itself: (exit code, stdout, stderr)."""
    proc = _spawn(root, args, None)
    return proc.returncode, proc.stdout.decode("utf-8", "replace"), proc.stderr.decode("utf-8", "replace")
