"""A local stand-in for the few GitHub REST endpoints modelreg calls: the tests' only stand-in.

A ThreadingHTTPServer on 127.0.0.1 (a free port) answers from in-memory data, so a
subprocess (a workflow under act) can call it while the test thread waits:

    with GitHubStub(token="t0ken") as gh:
        gh.add_pull("acme/registry", 7, author="alice", head_sha=HEAD)
        gh.add_review("acme/registry", 7, "bob", "APPROVED", commit_id=HEAD)
        gh.add_team("acme", "model-risk", ["bob", "carol"])
        gh.set_user("carol", "read")             # carol may read the repository, not write
        gh.delete_user("dave")                   # dave's account is gone (a 404)
        env = {"GITHUB_API_URL": gh.url, "GITHUB_TOKEN": "t0ken"}

A person the test has not described has write access (what most tests' reviewers need);
a login ending ``[bot]`` is an app's account (``type: Bot``) with no permission record (a 404).

``POST /repos/{owner}/{repo}/pulls`` opens a pull request as GitHub does: recorded in ``pulls``
(its JSON body in ``created``), answered with ``html_url`` and ``number``; a second one for the same
head while the first is open gets GitHub's 422.

Lists are paged with ``Link: <...>; rel="next"`` (``page_size`` forces several pages),
every request is recorded (``requests``), and ``fail(path, ...)`` makes a path answer a
given status, headers and body, after an optional delay (to trigger a timeout).
"""

from __future__ import annotations

import json
import re
import threading
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any


@dataclass
class Recorded:
    """One request the stub received; header names in lower case (HTTP ignores their case)."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    #: the JSON body of a POST, parsed (None for a GET or a body that is not JSON)
    body: Any = None


@dataclass
class Failure:
    """A canned answer for one path, instead of the data: an error, a delay, a malformed body."""

    status: int = 500
    headers: dict[str, str] = field(default_factory=dict)
    body: str | bytes = '{"message": "Server Error"}'
    delay: float = 0.0
    times: int | None = None  # how many requests it answers; None: all of them


_PULL = re.compile(r"^/repos/([^/]+/[^/]+)/pulls/(\d+)$")
_REVIEWS = re.compile(r"^/repos/([^/]+/[^/]+)/pulls/(\d+)/reviews$")
_MEMBERS = re.compile(r"^/orgs/([^/]+)/teams/([^/]+)/members$")
_PULLS = re.compile(r"^/repos/([^/]+/[^/]+)/pulls$")
_PERMISSION = re.compile(r"^/repos/([^/]+/[^/]+)/collaborators/([^/]+)/permission$")
#: GitHub's base role (``permission``) for each role (``role_name``): maintain reads as write, triage
#: as read
_BASE_ROLE = {"admin": "admin", "maintain": "write", "write": "write", "triage": "read", "read": "read",
              "none": "none"}


class GitHubStub:
    def __init__(self, *, token: str | None = None, page_size: int = 100) -> None:
        """With ``token``, a request without ``Authorization: Bearer <token>`` gets GitHub's 401."""
        self.token = token
        self.page_size = page_size
        #: where next-page links point: this server unless a test points them elsewhere
        self.link_base: str | None = None
        self.pulls: dict[tuple[str, int], dict[str, Any]] = {}
        self.reviews: dict[tuple[str, int], list[dict[str, Any]]] = {}
        self.teams: dict[tuple[str, str], list[str]] = {}
        #: login (lower case) → the account: its login, type, role and permission; or how it is gone
        self.users: dict[str, dict[str, Any]] = {}
        self.failures: dict[str, Failure] = {}
        self.requests: list[Recorded] = []
        #: the bodies of the pull requests opened through POST, in order
        self.created: list[dict[str, Any]] = []
        #: the edits of pull requests received through PATCH (number, title, body), in order
        self.updated: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- data ----------------------------------------------------------------------------------

    def add_pull(self, repo: str, number: int, *, author: str, head_sha: str, base_ref: str = "main",
                 merged_at: str | None = None, merge_commit_sha: str | None = None) -> dict[str, Any]:
        pull = {
            "number": number, "state": "closed" if merged_at else "open",
            "html_url": f"https://github.com/{repo}/pull/{number}",
            "user": {"login": author, "type": "User"},
            "head": {"sha": head_sha, "ref": f"pr-{number}"},
            "base": {"sha": "0" * 40, "ref": base_ref},
            "merged_at": merged_at, "merge_commit_sha": merge_commit_sha,
        }
        self.pulls[(repo, number)] = pull
        self.reviews.setdefault((repo, number), [])
        return pull

    def add_review(self, repo: str, number: int, user: str | None, state: str, *,
                   commit_id: str | None, submitted_at: str | None = None,
                   user_type: str | None = None) -> dict[str, Any]:
        """A review by ``user`` (None: a deleted account, as GitHub shows it, ``user: null``; "ghost":
        the placeholder it shows elsewhere), of ``user_type``, else the type :meth:`set_user` gave
        the account (an app's account, "Bot", when its login ends ``[bot]``)."""
        reviews = self.reviews.setdefault((repo, number), [])
        review = {
            "id": 1000 + len(reviews),
            "user": None if user is None else {"login": user, "type": user_type or self.type_of(user)},
            "body": "", "state": state, "commit_id": commit_id,
            "submitted_at": submitted_at or f"2026-11-20T10:{len(reviews) % 60:02d}:00Z",
            "html_url": f"https://github.com/{repo}/pull/{number}#pullrequestreview-{1000 + len(reviews)}",
        }
        reviews.append(review)
        return review

    def add_team(self, org: str, slug: str, members: list[str]) -> None:
        self.teams[(org, slug)] = list(members)

    def set_user(self, login: str, role: str = "write", *, permission: str | None = None,
                 type: str = "User") -> None:
        """The account ``login``: its ``role_name`` (admin, maintain, write, triage, read, none, or a
        custom role, then with ``permission``, its base role) and ``type`` (User, Bot)."""
        self.users[login.lower()] = {"login": login, "type": type, "role_name": role,
                                     "permission": permission or _BASE_ROLE[role]}

    def delete_user(self, login: str, *, answer: str = "404") -> None:
        """``login``'s account no longer exists: the permission call answers 404 (``answer="404"``),
        or 200 with ``user: null`` ("null"), or with the ``ghost`` placeholder ("ghost")."""
        self.users[login.lower()] = {"login": login, "deleted": answer}

    def type_of(self, login: str) -> str:
        user = self.users.get(login.lower(), {})
        return str(user.get("type") or ("Bot" if login.lower().endswith("[bot]") else "User"))

    def fail(self, path: str, status: int = 500, *, headers: dict[str, str] | None = None,
             body: str | bytes | dict[str, Any] = '{"message": "Server Error"}', delay: float = 0.0,
             times: int | None = None) -> None:
        """Make ``path`` (no query string; "*" for every path) answer this instead of its data."""
        raw = json.dumps(body) if isinstance(body, dict) else body
        self.failures[path] = Failure(status, dict(headers or {}), raw, delay, times)

    def paths(self) -> list[str]:
        with self._lock:
            return [r.path for r in self.requests]

    # -- server --------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        assert self._server is not None, "start the stub first (with GitHubStub() as stub)"
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> GitHubStub:
        self._stopping.clear()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        # a short poll interval: shutdown() waits for it, once per test
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.02,), name="github-stub",
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()  # wakes handlers sleeping on a delay
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self) -> GitHubStub:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    # -- answers -------------------------------------------------------------------------------

    def _record(self, handler: BaseHTTPRequestHandler) -> Recorded:
        parts = urllib.parse.urlsplit(handler.path)
        query = dict(urllib.parse.parse_qsl(parts.query))
        body: Any = None
        length = int(handler.headers.get("Content-Length") or 0)
        if length:
            try:
                body = json.loads(handler.rfile.read(length))
            except ValueError:
                body = None
        recorded = Recorded(handler.command, parts.path, query,
                            {name.lower(): value for name, value in handler.headers.items()}, body)
        with self._lock:
            self.requests.append(recorded)
        return recorded

    def _failure(self, path: str) -> Failure | None:
        with self._lock:
            for key in (path, "*"):
                failure = self.failures.get(key)
                if failure is None or failure.times == 0:
                    continue
                if failure.times is not None:
                    failure.times -= 1
                return failure
        return None

    def _answer(self, request: Recorded) -> tuple[int, dict[str, str], Any]:
        """(status, headers, JSON-able body) from the data."""
        if self.token is not None and request.headers.get("authorization") != f"Bearer {self.token}":
            return 401, {}, {"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest"}
        path = request.path
        if request.method == "POST":
            m = _PULLS.match(path)
            return self._create_pull(m[1], request.body) if m else _not_found()
        if request.method == "PATCH":
            m = _PULL.match(path)
            return self._update_pull(m[1], int(m[2]), request.body) if m else _not_found()
        if m := _PULLS.match(path):  # GET: the open pull requests, filtered by head=OWNER:BRANCH
            owner, _, branch = request.query.get("head", "").partition(":")
            state = request.query.get("state", "open")
            return self._page(request, [p for (r, _), p in sorted(self.pulls.items())
                                        if r == m[1] and (not branch or (p["head"]["ref"] == branch
                                                                         and owner == r.split("/")[0]))
                                        and state in ("all", p["state"])])
        if m := _PULL.match(path):
            pull = self.pulls.get((m[1], int(m[2])))
            return (200, {}, pull) if pull else _not_found()
        if m := _REVIEWS.match(path):
            key = (m[1], int(m[2]))
            return self._page(request, self.reviews[key]) if key in self.pulls else _not_found()
        if m := _MEMBERS.match(path):
            members = self.teams.get((m[1], m[2]))
            if members is None:
                return _not_found()
            return self._page(request, [{"login": login, "type": "User"} for login in members])
        if m := _PERMISSION.match(path):
            return self._permission(urllib.parse.unquote(m[2]))
        return _not_found()

    def _create_pull(self, repo: str, body: Any) -> tuple[int, dict[str, str], Any]:
        """GitHub's answers to opening a pull request: 201 with the new one, 422 when a field is
        missing or one for the same head is open already."""
        fields = ("title", "head", "base")
        if not isinstance(body, dict) or not all(isinstance(body.get(f), str) and body[f] for f in fields):
            return 422, {}, {"message": "Validation Failed", "errors": [
                {"resource": "PullRequest", "code": "missing_field", "field": "head"}]}
        owner = repo.split("/")[0]
        with self._lock:
            if any(r == repo and p["state"] == "open" and p["head"]["ref"] == body["head"]
                   for (r, _), p in self.pulls.items()):
                return 422, {}, {"message": "Validation Failed", "errors": [
                    {"resource": "PullRequest", "code": "custom",
                     "message": f"A pull request already exists for {owner}:{body['head']}."}]}
            number = max((n for r, n in self.pulls if r == repo), default=0) + 1
            self.created.append(dict(body))
            pull = self.add_pull(repo, number, author="modelreg-bot", head_sha="0" * 40,
                                 base_ref=body["base"])
            pull["head"]["ref"] = body["head"]
            pull.update(title=body["title"], body=body.get("body") or "")
        return 201, {}, pull

    def _update_pull(self, repo: str, number: int, body: Any) -> tuple[int, dict[str, str], Any]:
        """GitHub's answer to editing a pull request's title and body: 200 with the pull request."""
        with self._lock:
            pull = self.pulls.get((repo, number))
            if pull is None:
                return _not_found()
            if not isinstance(body, dict):
                return 422, {}, {"message": "Validation Failed"}
            self.updated.append({"number": number, **body})
            pull.update({k: v for k, v in body.items() if k in ("title", "body", "state")})
        return 200, {}, pull

    def _permission(self, login: str) -> tuple[int, dict[str, str], Any]:
        """GitHub's answer for ``login``'s permission: an account the test did not describe has write
        access, an app's account (``[bot]``) and a deleted one have none to give (404)."""
        user = self.users.get(login.lower())
        if user is None:
            if login.lower().endswith("[bot]"):
                return _not_found()
            user = {"login": login, "type": "User", "role_name": "write", "permission": "write"}
        gone = user.get("deleted")
        if gone == "404":
            return _not_found()
        if gone is not None:
            account = None if gone == "null" else {"login": "ghost", "type": "User"}
            return 200, {}, {"permission": "none", "role_name": "none", "user": account}
        base = user["permission"]
        account = {"login": user["login"], "type": user["type"], "role_name": user["role_name"],
                   "permissions": {"admin": base == "admin",
                                   "maintain": user["role_name"] in ("admin", "maintain"),
                                   "push": base in ("admin", "write"), "triage": base != "none",
                                   "pull": base != "none"}}
        return 200, {}, {"permission": user["permission"], "role_name": user["role_name"], "user": account}

    def _page(self, request: Recorded, items: list[Any]) -> tuple[int, dict[str, str], Any]:
        per_page = min(int(request.query.get("per_page", "30")), self.page_size)
        page = int(request.query.get("page", "1"))
        chunk = items[(page - 1) * per_page:page * per_page]
        last = max(1, -(-len(items) // per_page))
        headers = {}
        if page < last:
            base = self.link_base or self.url
            query = {**request.query, "per_page": str(per_page)}
            after, final = ({**query, "page": str(n)} for n in (page + 1, last))
            headers["Link"] = (f'<{base}{request.path}?{urllib.parse.urlencode(after)}>; rel="next", '
                               f'<{base}{request.path}?{urllib.parse.urlencode(final)}>; rel="last"')
        return 200, headers, chunk


def _not_found() -> tuple[int, dict[str, str], Any]:
    return 404, {}, {"message": "Not Found", "documentation_url": "https://docs.github.com/rest"}


def _handler_for(stub: GitHubStub) -> Callable[..., BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.do_GET()  # the same recording, failures and answers; _answer tells them apart

        def do_PATCH(self) -> None:
            self.do_GET()

        def do_GET(self) -> None:
            request = stub._record(self)
            failure = stub._failure(request.path)
            if failure is not None:
                if failure.delay and stub._stopping.wait(failure.delay):
                    return
                body = failure.body.encode() if isinstance(failure.body, str) else failure.body
                self._send(failure.status, failure.headers, body)
                return
            status, headers, data = stub._answer(request)
            self._send(status, headers, json.dumps(data).encode())

        def _send(self, status: int, headers: dict[str, str], body: bytes) -> None:
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (a timeout under test)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # keep test output clean; the requests are recorded instead

    return Handler
