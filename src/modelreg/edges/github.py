"""The one module that speaks to GitHub's REST API: pull requests, their reviews, team members,
a reviewer's permission on the repository; and the one write, opening a pull request.

Standard library only. ``GITHUB_API_URL`` (default https://api.github.com) and
``GITHUB_TOKEN`` come from the environment; the constructor's arguments override them.
Opening a pull request (:func:`create_pull`) also takes the GitHub CLI's ``GH_TOKEN``.

Every failure becomes one :class:`~modelreg.errors.ServiceError` line that names the
resource and says what to do; a failure is never read as "no reviews" or "no members".
The token travels only to the scheme and host of ``GITHUB_API_URL``: a redirect or a
next-page link to another host is refused, not followed, and no message repeats the token.
Names that reach a URL (repositories, organisations, team slugs, commit ids) can come
from files in a pull request, so each is checked against a strict pattern first.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from email.message import Message
from typing import Any

from modelreg import __version__
from modelreg.edges import deadline
from modelreg.edges.secrets import Scrubber
from modelreg.errors import InputError, ServiceError

API_URL_ENV = "GITHUB_API_URL"
TOKEN_ENV = "GITHUB_TOKEN"
#: where the GitHub CLI keeps a token, read when ``GITHUB_TOKEN`` is unset
GH_TOKEN_ENV = "GH_TOKEN"
REPOSITORY_ENV = "GITHUB_REPOSITORY"
DEFAULT_API_URL = "https://api.github.com"
#: one request, as a whole: however slowly GitHub (or whatever answers) sends
DEFAULT_TIMEOUT = 10.0
#: one call, every page of it together
DEFAULT_TOTAL = 60.0
API_VERSION = "2022-11-28"
PER_PAGE = 100
#: a bound on every page loop: 100 pages of 100 is far beyond any real PR or team
MAX_PAGES = 100
#: `gh pr create` (it may prompt, or wait on the network): stopped after this long
GH_TIMEOUT = 120.0
#: a bound on one answer's size, so a hostile server cannot fill the memory
MAX_BODY = 16 * 1024 * 1024

#: the longest pull request body GitHub takes, in characters
MAX_PULL_BODY = 65536
_CUT = "\n\n… (cut here: GitHub takes 65,536 characters; `modelreg check --head` shows the rest)\n"

# GitHub's own rules, slightly relaxed where old accounts break them; none admits "/", "..", "%".
_OWNER = r"[A-Za-z0-9][A-Za-z0-9-]{0,38}"
OWNER_NAME = re.compile(rf"^{_OWNER}$")
#: a person's login (the form an owner's name has); an app's account adds ``[bot]``
LOGIN = OWNER_NAME
REPO_NAME = re.compile(rf"^{_OWNER}/[A-Za-z0-9._-]{{1,100}}$")
TEAM_SLUG = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
_LINK = re.compile(r'<([^<>]*)>\s*;\s*rel="([^"]*)"')
_REMOTE = re.compile(r"(?:https://(?:[^@/]+@)?github\.com/|(?:ssh://)?git@github\.com[:/])"
                     r"([^/]+/[^/]+?)(?:\.git)?/?")


@dataclass(frozen=True)
class PullRequest:
    number: int
    author: str
    head_sha: str
    base_ref: str
    html_url: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Review:
    """One review; ``user`` is None for a review by a deleted account (GitHub may also show it
    as the placeholder account ``ghost``: see :func:`is_deleted`)."""

    user: str | None
    state: str  # APPROVED, CHANGES_REQUESTED, COMMENTED, DISMISSED or PENDING
    commit_id: str | None
    submitted_at: str | None
    #: the account's ``type``: "User", "Bot" (an app's account), "Organization"; None when not given.
    #: Not part of a review's identity (who, what, of which commit, when)
    user_type: str | None = field(default=None, compare=False)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Access:
    """A person's permission on a repository, as ``GET /repos/{owner}/{repo}/collaborators/{username}/
    permission`` answers: ``permission`` is the base role (admin, write, read or none: GitHub maps
    maintain to write and triage to read), ``role_name`` the role itself (maintain, triage, or a
    custom role's name)."""

    login: str
    permission: str
    role_name: str | None
    user_type: str | None

    @property
    def can_write(self) -> bool:
        """Whether GitHub would count this person's approval toward required reviews."""
        return self.permission in WRITE_PERMISSIONS


#: the base roles whose approvals count toward GitHub's required reviews ("maintain" too, should
#: a server name it rather than map it to "write")
WRITE_PERMISSIONS = frozenset({"admin", "maintain", "write"})
#: the login GitHub shows for an account that was deleted
GHOST = "ghost"
#: review states that decide nothing (a comment, a pending draft)
NOT_A_DECISION = frozenset({"COMMENTED", "PENDING"})


def is_deleted(login: str | None) -> bool:
    """Whether a review's author no longer exists: GitHub gives ``user: null``, or the ``ghost``
    placeholder that stands for every deleted account."""
    return login is None or login.lower() == GHOST


def is_bot(login: str, user_type: str | None) -> bool:
    """Whether an account is an app's (``type: Bot``, or a login ending ``[bot]``): nobody's review."""
    return user_type == "Bot" or login.lower().endswith("[bot]")


def latest_decisions(reviews: Sequence[Review]) -> tuple[dict[str, Review], set[str], bool]:
    """Each reviewer's deciding review (by lower-case login), who had approved before it, and
    whether a deleted account reviewed."""
    latest: dict[str, Review] = {}
    approved_before: set[str] = set()
    deleted = False
    for review in reviews:
        if review.state in NOT_A_DECISION:
            continue
        if is_deleted(review.user):
            deleted = True
            continue
        assert review.user is not None
        login = review.user.lower()
        if login in latest and latest[login].state == "APPROVED":
            approved_before.add(login)
        latest[login] = review
    return latest, approved_before, deleted


def approvers(reviews: Sequence[Review]) -> list[Review]:
    """The reviewers who approve, read as the approval rules read reviews (``approvals.rules``):
    each one's latest review that is a decision, when it is APPROVED (so not dismissed, nor
    followed by changes requested). In the order they approved. No rule applies: this is who
    approved, not whose approval counts."""
    latest, _, _ = latest_decisions(reviews)
    approving = [review for review in latest.values() if review.state == "APPROVED"]
    return sorted(approving, key=lambda review: review.submitted_at or "")


@dataclass(frozen=True)
class _Call:
    """What a request is about, for the messages of its failures."""

    what: str  # e.g. "pull request acme/registry#7"
    not_found: str  # the fix for a 404
    forbidden: str  # the fix for a 403


class ApiError(ServiceError):
    """GitHub's API answered with an error status (``status``): the request reached it and was
    refused, or failed there (a 4xx is a refusal: nothing was done)."""

    def __init__(self, message: str, *, fix: str | None = None, status: int) -> None:
        super().__init__(message, fix=fix)
        self.status = status


class Client:
    """GitHub's REST API: ``Client().pull("acme/registry", 7)``; one write, :meth:`create_pull`."""

    def __init__(self, api_url: str | None = None, token: str | None = None, *,
                 timeout: float = DEFAULT_TIMEOUT, max_pages: int = MAX_PAGES,
                 token_name: str = TOKEN_ENV, total: float = DEFAULT_TOTAL) -> None:
        """``token_name`` names where the token came from, for messages about it."""
        self.api_url = _check_api_url(api_url if api_url is not None
                                      else os.environ.get(API_URL_ENV) or DEFAULT_API_URL)
        self._token = token if token is not None else os.environ.get(TOKEN_ENV, "")
        self.token_name = token_name
        self.timeout = timeout
        self.total = total
        self.max_pages = max_pages
        self._origin = _origin(self.api_url)
        self._opener = deadline.opener(_SameOriginRedirects(self._origin))
        self._scrubber = Scrubber([self._token] if self._token else [])

    # -- the endpoints -------------------------------------------------------------------------

    def pull(self, repo: str, number: int) -> PullRequest:
        owner, name = check_repo(repo)
        number = _check_number(number)
        call = self._repo_call(f"pull request {repo}#{number}", repo,
                               f"check the repository name {repo} and the PR number {number}")
        data = self._get_one(f"/repos/{_q(owner)}/{_q(name)}/pulls/{number}", call)
        return _pull(data, call.what)

    def reviews(self, repo: str, number: int) -> list[Review]:
        """Every review of the PR, in the order GitHub gives them: oldest first."""
        owner, name = check_repo(repo)
        number = _check_number(number)
        call = self._repo_call(f"reviews of pull request {repo}#{number}", repo,
                               f"check the repository name {repo} and the PR number {number}")
        items = self._get_all(f"/repos/{_q(owner)}/{_q(name)}/pulls/{number}/reviews", call)
        return [_review(item, call.what) for item in items]

    def team_members(self, org: str, team_slug: str) -> set[str]:
        """The logins of the team's members (child teams' members included, as GitHub lists them)."""
        check_org(org)
        check_team_slug(team_slug)
        handle = f"@{org}/{team_slug}"
        call = _Call(
            what=f"members of team {handle}",
            not_found=(f"check the team {handle} (write the team's slug, as in its URL); GitHub also "
                       "answers 404 when the token cannot see the organisation's teams"),
            forbidden=("listing team members needs a token with the organisation's members read "
                       "permission (classic token: read:org; fine-grained: Members read); the "
                       "GITHUB_TOKEN of GitHub Actions cannot have it, so store such a token as a "
                       f"secret and pass it to the job as {self.token_name}"),
        )
        items = self._get_all(f"/orgs/{_q(org)}/teams/{_q(team_slug)}/members", call)
        return {_text(item, "login", call.what) for item in items}

    def permission(self, repo: str, login: str) -> Access | None:
        """``login``'s permission on ``repo``; None when the account does not exist (a 404, ``user:
        null``, or the ``ghost`` placeholder). The pull request was read with the same token, so a
        404 here is about the person, not the repository."""
        owner, name = check_repo(repo)
        if not LOGIN.fullmatch(login):
            raise InputError(f"{login!r} is not a GitHub login", fix="check the reviews GitHub listed")
        call = _Call(
            what=f"the permission of @{login} on {repo}",
            not_found=f"check the repository name {repo}",
            forbidden=(f"the token in {self.token_name} needs to read {repo}'s collaborators (fine-grained: "
                       "Metadata read, which every token that can read the repository has)"),
        )
        path = f"{self.api_url}/repos/{_q(owner)}/{_q(name)}/collaborators/{_q(login)}/permission"
        data, _ = self._request(path, call, time.monotonic() + self.total, missing_ok=True)
        if data is None:
            return None
        user = _field(data, "user", call.what)
        if user is None or is_deleted(_text(data, "user.login", call.what)):
            return None
        if _text(data, "user.login", call.what).lower() != login.lower():
            raise _shape(call.what, "user.login", f"is not {login}")
        return Access(login=_text(data, "user.login", call.what),
                      permission=_text(data, "permission", call.what),
                      role_name=_optional_text(data, "role_name", call.what),
                      user_type=_optional_text(user, "type", call.what))

    def create_pull(self, repo: str, *, base: str, head: str, title: str, body: str) -> str:
        """Open a pull request from the branch ``head`` into ``base`` (``POST /repos/{o}/{r}/pulls``);
        its web URL. GitHub's 422 (a pull request for ``head`` exists, or ``head`` has nothing
        ``base`` lacks) is one line with GitHub's own reason."""
        owner, name = check_repo(repo)
        for value, option in ((base, "base"), (head, "head")):
            if not value or any(c.isspace() or ord(c) < 32 for c in value):
                raise InputError(f"{value!r} is not a branch name", field=option, fix="name a branch")
        call = self._pulls_call(f"a pull request from {head} into {base} of {repo}", repo,
                                "open pull requests on", " (--repo OWNER/NAME)")
        payload = {"title": title, "head": head, "base": base, "body": _fit(body),
                   "maintainer_can_modify": False}
        data, _ = self._request(f"{self.api_url}/repos/{_q(owner)}/{_q(name)}/pulls", call,
                                time.monotonic() + self.total, payload=payload)
        return _web_url(data, call.what)

    def update_pull_of(self, repo: str, head: str, *, title: str, body: str) -> str | None:
        """Retitle the open pull request from the branch ``head`` of ``repo`` and replace its body
        (``PATCH /repos/{o}/{r}/pulls/{n}``, found by ``GET .../pulls?head=OWNER:BRANCH``); its web
        URL, None when no pull request from that branch is open."""
        owner, name = check_repo(repo)
        call = self._pulls_call(f"the pull request from {head} in {repo}", repo, "write pull requests on")
        found = self._open_pull_from(owner, name, head, call)
        if found is None:
            return None
        number = _integer(found, "number", call.what)
        data, _ = self._request(f"{self.api_url}/repos/{_q(owner)}/{_q(name)}/pulls/{number}", call,
                                time.monotonic() + self.total, payload={"title": title, "body": _fit(body)},
                                method="PATCH")
        return _web_url(data, call.what)

    def pull_of(self, repo: str, head: str) -> str | None:
        """The web URL of the open pull request from the branch ``head`` of ``repo`` (``GET
        .../pulls?head=OWNER:BRANCH``), None when there is none."""
        owner, name = check_repo(repo)
        call = _Call(what=f"the pull request from {head} in {repo}",
                     not_found=f"check the repository name {repo}",
                     forbidden=f"the token in {self.token_name} needs to read pull requests on {repo}")
        found = self._open_pull_from(owner, name, head, call)
        return None if found is None else _web_url(found, call.what)

    def _open_pull_from(self, owner: str, name: str, head: str, call: _Call) -> Any:
        query = urllib.parse.urlencode({"head": f"{owner}:{head}", "state": "open"})
        found = self._get_one(f"/repos/{_q(owner)}/{_q(name)}/pulls?{query}", call)
        if not isinstance(found, list):
            raise _shape(call.what, "pulls", "is not a list")
        # GitHub filters by head; a server that does not is not believed beyond the branch named
        matching = [p for p in found if _text(p, "head.ref", call.what) == head]
        return matching[0] if matching else None

    def _pulls_call(self, what: str, repo: str, needs: str, hint: str = "") -> _Call:
        """A call that writes ``repo``'s pull requests: what a 404 and a 403 mean for it."""
        return _Call(
            what=what,
            not_found=(f"check the repository name {repo}{hint}; GitHub also answers 404 when the token in "
                       f"{self.token_name} cannot see the repository"),
            forbidden=(f"the token in {self.token_name} needs to {needs} {repo} "
                       "(fine-grained: Pull requests read and write; in a workflow: "
                       "`permissions: pull-requests: write`)"),
        )

    # -- HTTP ----------------------------------------------------------------------------------

    def _repo_call(self, what: str, repo: str, not_found: str) -> _Call:
        return _Call(
            what=what,
            not_found=f"{not_found}; a private repository also answers 404 when the token cannot read it",
            forbidden=(f"the token in {self.token_name} needs read access to the pull requests of {repo} "
                       "(in a workflow: `permissions: pull-requests: read`)"),
        )

    def _get_one(self, path: str, call: _Call) -> Any:
        data, _ = self._request(self.api_url + path, call, time.monotonic() + self.total)
        return data

    def _get_all(self, path: str, call: _Call) -> list[Any]:
        """Every item of a paginated list, following ``Link: rel="next"`` on GITHUB_API_URL only."""
        url: str | None = f"{self.api_url}{path}?per_page={PER_PAGE}"
        items: list[Any] = []
        ends = time.monotonic() + self.total
        for _ in range(self.max_pages):
            assert url is not None
            data, headers = self._request(url, call, ends)
            if not isinstance(data, list):
                raise self._error(f"unexpected answer from GitHub's API for {call.what}: "
                                  f"expected a list, got {type(data).__name__}")
            items.extend(data)
            url = _next_link(headers.get("Link", ""))
            if url is None:
                return items
            if not self._same_origin(url):
                raise self._error(
                    f"GitHub's API gave a next-page link for {call.what} to another host "
                    f"({self._scrub(_origin(url))}); not followed, so the token stays with {self._origin}",
                    fix=f"check {API_URL_ENV}")
        raise self._error(f"{call.what} runs past {self.max_pages} pages of {PER_PAGE}; stopped there",
                          fix="this is far beyond any real pull request or team: check "
                          f"{API_URL_ENV}")

    def _same_origin(self, url: str) -> bool:
        base_path = urllib.parse.urlsplit(self.api_url).path
        return _origin(url) == self._origin and urllib.parse.urlsplit(url).path.startswith(base_path)

    def _headers(self) -> dict[str, str]:
        headers = {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": API_VERSION,
                   "User-Agent": f"modelreg/{__version__}"}
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        return headers

    def _request(self, url: str, call: _Call, ends: float, *, missing_ok: bool = False,
                 payload: dict[str, Any] | None = None, method: str = "POST") -> tuple[Any, Message]:
        """One GET (with ``payload``, a POST of it as JSON, or ``method``), over within ``timeout`` (and by
        ``ends``, the call's end) whatever the server does: the JSON answer and its headers; with
        ``missing_ok``, (None, headers) for a 404."""
        sent = self._headers()
        data = None
        if payload is not None:
            data = json.dumps(payload).encode("utf-8")
            sent["Content-Type"] = "application/json"
        request = urllib.request.Request(url, data=data, headers=sent,
                                         method="GET" if payload is None else method)
        left = ends - time.monotonic()
        try:
            answer = deadline.request(self._opener, request, deadline=min(self.timeout, left),
                                      max_bytes=MAX_BODY)
            body, headers, truncated = answer.body, answer.headers, answer.truncated
        except urllib.error.HTTPError as exc:
            if missing_ok and exc.code == 404:
                return None, exc.headers
            raise self._http_error(exc, call) from exc
        except deadline.DeadlineExceeded as exc:
            raise self._unreachable(exc, call, all_pages=left < self.timeout) from exc
        except urllib.error.URLError as exc:
            reason = exc.reason if isinstance(exc.reason, BaseException) else OSError(str(exc.reason))
            raise self._unreachable(reason, call) from exc
        except (OSError, http.client.HTTPException) as exc:  # a read that timed out, a dropped connection
            raise self._unreachable(exc, call) from exc
        if truncated:
            raise self._error(f"GitHub's API answered {call.what} with more than {MAX_BODY} bytes; "
                              "refused", fix=f"check {API_URL_ENV}")
        try:
            return json.loads(body), headers
        except ValueError as exc:
            raise self._error(f"GitHub's API answered {call.what} with malformed JSON "
                              f"({self._scrub(str(exc))})",
                              fix=f"retry; if it persists, check that {API_URL_ENV} ({self.api_url}) "
                              "is GitHub's REST API") from exc

    def _http_error(self, exc: urllib.error.HTTPError, call: _Call) -> ServiceError:
        code, headers = exc.code, exc.headers
        said = self._scrub(_server_message(exc))
        status = f"{code} {said}" if said else str(code)

        def answered(message: str, *, fix: str | None = None) -> ServiceError:
            return ApiError(" ".join(message.splitlines()), fix=fix, status=code)

        if code in (403, 429) and (headers.get("X-RateLimit-Remaining") == "0"
                                   or headers.get("Retry-After") or code == 429):
            return answered(f"GitHub's API rate limit was hit on {call.what} ({status})",
                               fix=_rate_limit_fix(headers, authenticated=bool(self._token),
                                                   token_name=self.token_name))
        if code == 401:
            fix = (f"the token in {self.token_name} is missing, invalid or expired: set {self.token_name} "
                   "to a valid token" if self._token else f"no token was sent: set {self.token_name}")
            return answered(f"GitHub's API refused {call.what} (401 unauthorised: {said or 'no reason'})",
                               fix=fix)
        if code == 403:
            return answered(f"GitHub's API refused {call.what} ({status})", fix=call.forbidden)
        if code == 404:
            return answered(f"{call.what} not found (404 from {self._origin})", fix=call.not_found)
        if 300 <= code < 400:
            where = self._scrub(_origin(headers.get("Location", "") or "")) or "nowhere"
            if where == self._origin:
                return answered(f"GitHub's API redirected {call.what} too many times ({status})",
                                   fix=f"check {API_URL_ENV}")
            return answered(f"GitHub's API redirected {call.what} to another host ({where}); not "
                               f"followed, so the token stays with {self._origin}",
                               fix=f"check {API_URL_ENV}")
        if code == 422:  # only a write is validated: GitHub's reasons are in the message
            return answered(f"GitHub's API refused {call.what} (422 {said or 'Unprocessable Entity'})",
                               fix="a pull request for that branch may be open already, or the branch "
                               "may have no commit its base lacks")
        if code >= 500:
            return answered(f"GitHub's API failed on {call.what} ({status})",
                               fix="GitHub may be having an outage (https://www.githubstatus.com); "
                               "retry the job")
        return answered(f"GitHub's API answered {call.what} with {status}")

    def _unreachable(self, reason: BaseException, call: _Call, *, all_pages: bool = False) -> ServiceError:
        if isinstance(reason, TimeoutError):
            within = f"{self.total:g} s for all pages" if all_pages else f"{self.timeout:g} s"
            return self._error(f"GitHub's API at {self.api_url} did not answer within {within} "
                               f"({call.what})", fix="retry; if it keeps happening, check "
                               f"{API_URL_ENV} or GitHub's status (https://www.githubstatus.com)")
        if isinstance(reason, ConnectionRefusedError):
            why = "connection refused"
        elif isinstance(reason, OSError) and reason.strerror:
            why = reason.strerror
        else:
            why = str(reason) or type(reason).__name__
        return self._error(f"cannot reach GitHub's API at {self.api_url}: {self._scrub(why)} ({call.what})",
                           fix=f"check {API_URL_ENV} and the network")

    def _error(self, message: str, *, fix: str | None = None) -> ServiceError:
        return ServiceError(" ".join(message.splitlines()), fix=fix)

    def _scrub(self, text: str) -> str:
        """Text from the server, without the token (in any common encoding): a hostile or buggy
        server may echo it back."""
        return self._scrubber(text)


class _SameOriginRedirects(urllib.request.HTTPRedirectHandler):
    """Follows redirects on GITHUB_API_URL's own scheme and host (a renamed repository), no other:
    urllib would otherwise forward the Authorization header to wherever the server points."""

    def __init__(self, origin: str) -> None:
        self.origin = origin

    def redirect_request(self, req: urllib.request.Request, fp: Any, code: int, msg: str,
                         headers: http.client.HTTPMessage, newurl: str) -> urllib.request.Request | None:
        if _origin(newurl) != self.origin:
            return None  # urllib then raises the 3xx as an HTTPError
        return super().redirect_request(req, fp, code, msg, headers, newurl)


# -- names ---------------------------------------------------------------------------------------


def check_repo(repo: str) -> tuple[str, str]:
    """``owner/name`` → (owner, name), or InputError before the name reaches a URL."""
    if not REPO_NAME.fullmatch(repo) or repo.split("/")[1] in (".", ".."):
        raise InputError(f"{repo!r} is not a GitHub repository name",
                         fix="write it as owner/name, e.g. acme/model-registry")
    owner, name = repo.split("/")
    return owner, name


def repo_of_url(url: str) -> str | None:
    """``owner/name`` of a github.com remote URL (https, ssh or scp-like), else None."""
    match = _REMOTE.fullmatch(url.strip())
    if match is None or not REPO_NAME.fullmatch(match[1]):
        return None
    return match[1]


def find_repo(root: str, given: str | None = None) -> str | None:
    """The repository a registry's pull requests live in: ``given`` (--repo), else
    $GITHUB_REPOSITORY, else its ``origin`` when that is on github.com; None when unknown."""
    from modelreg.edges import git

    if given:
        check_repo(given)
        return given
    if os.environ.get(REPOSITORY_ENV):
        return os.environ[REPOSITORY_ENV]
    url = git.remote_url(root)
    return repo_of_url(url) if url else None


def check_org(org: str) -> str:
    if not OWNER_NAME.fullmatch(org):
        raise InputError(f"{org!r} is not a GitHub organisation name",
                         fix="use letters, digits and '-', as in the organisation's URL")
    return org


def check_team_slug(slug: str) -> str:
    if not TEAM_SLUG.fullmatch(slug):
        raise InputError(f"{slug!r} is not a GitHub team slug",
                         fix="write the team's slug as in its URL, e.g. model-risk")
    return slug


def _check_number(number: int) -> int:
    if isinstance(number, bool) or not isinstance(number, int) or number < 1:
        raise InputError(f"{number!r} is not a pull request number", fix="give a positive integer")
    return number


def _check_api_url(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment \
            or "@" in parts.netloc:
        raise InputError(f"{url!r} is not an http(s) URL of GitHub's API", field=API_URL_ENV,
                         fix="set it to https://api.github.com, or https://HOST/api/v3 for GitHub "
                         "Enterprise Server")
    return url.rstrip("/")


def _q(segment: str) -> str:
    return urllib.parse.quote(segment, safe="")


def _origin(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower() if parts.scheme and parts.netloc else ""


def _next_link(header: str) -> str | None:
    for url, rels in _LINK.findall(header):
        if "next" in rels.split():
            return str(url)
    return None


# -- answers -------------------------------------------------------------------------------------


def _server_message(exc: urllib.error.HTTPError) -> str:
    """GitHub's own one-line reason ({"message": ...}), when the body has one."""
    try:
        data = json.loads(exc.read(64 * 1024))
    except (OSError, ValueError, http.client.HTTPException):
        return ""
    message = data.get("message") if isinstance(data, dict) else None
    said = " ".join(message.split())[:200] if isinstance(message, str) else ""
    # A 422's reasons are in ``errors`` ("A pull request already exists for acme:branch.")
    errors = data.get("errors") if isinstance(data, dict) else None
    details = [" ".join(e["message"].split())[:200] for e in errors or []
               if isinstance(e, dict) and isinstance(e.get("message"), str)] \
        if isinstance(errors, list) else []
    return ": ".join(part for part in (said, "; ".join(details[:3])) if part)


def _rate_limit_fix(headers: Message, *, authenticated: bool, token_name: str) -> str:
    parts = []
    reset = headers.get("X-RateLimit-Reset", "")
    if reset.isdigit():
        when = datetime.fromtimestamp(int(reset), tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        parts.append(f"it resets at {when}")
    retry_after = headers.get("Retry-After", "")
    if retry_after.isdigit():
        parts.append(f"retry after {int(retry_after)} s")
    if not parts:
        parts.append("retry later")
    if not authenticated:
        parts.append(f"set {token_name}: authenticated requests have a higher limit")
    return "; ".join(parts)


def _pull(data: Any, what: str) -> PullRequest:
    return PullRequest(
        number=_integer(data, "number", what),
        author=_text(data, "user.login", what),
        head_sha=_text(data, "head.sha", what),
        base_ref=_text(data, "base.ref", what),
        html_url=_optional_text(data, "html_url", what) or "",
    )


def _review(data: Any, what: str) -> Review:
    user = _field(data, "user", what)
    return Review(
        user=None if user is None else _text(data, "user.login", what),
        state=_text(data, "state", what),
        commit_id=_optional_text(data, "commit_id", what),
        submitted_at=_optional_text(data, "submitted_at", what),
        user_type=None if user is None else _optional_text(user, "type", what),
    )


_MISSING = object()


def _field(data: Any, dotted: str, what: str) -> Any:
    value = data
    for key in dotted.split("."):
        value = value.get(key, _MISSING) if isinstance(value, Mapping) else _MISSING
        if value is _MISSING:
            raise _shape(what, dotted, "is missing")
    return value


def _text(data: Any, dotted: str, what: str) -> str:
    value = _field(data, dotted, what)
    if not isinstance(value, str) or not value:
        raise _shape(what, dotted, "is not a non-empty string")
    return value


def _fit(body: str) -> str:
    """A pull request's body GitHub takes: a longer one is refused (422), and the whole request with it."""
    return body if len(body) <= MAX_PULL_BODY else body[:MAX_PULL_BODY - len(_CUT)] + _CUT


def _web_url(data: Any, what: str) -> str:
    """``html_url``: an http(s) address on one line, without spaces or control characters (it is
    printed, and the action writes it to GITHUB_OUTPUT, where a line break would add outputs)."""
    url = _text(data, "html_url", what)
    if not url.startswith(("https://", "http://")) or any(c.isspace() or ord(c) < 32 or ord(c) == 127
                                                          for c in url):
        raise _shape(what, "html_url", "is not a web address")
    return url


def _optional_text(data: Any, dotted: str, what: str) -> str | None:
    value = data.get(dotted) if isinstance(data, Mapping) else None  # top-level fields only
    if value is not None and not isinstance(value, str):
        raise _shape(what, dotted, "is not a string")
    return value


def _integer(data: Any, dotted: str, what: str) -> int:
    value = _field(data, dotted, what)
    if isinstance(value, bool) or not isinstance(value, int):
        raise _shape(what, dotted, "is not an integer")
    return value


def _shape(what: str, dotted: str, problem: str) -> ServiceError:
    return ServiceError(f"unexpected answer from GitHub's API for {what}: `{dotted}` {problem}",
                        fix=f"check that {API_URL_ENV} is GitHub's REST API")


def token() -> tuple[str, str] | None:
    """The token to write with and the variable it came from: ``GITHUB_TOKEN``, else ``GH_TOKEN``."""
    for name in (TOKEN_ENV, GH_TOKEN_ENV):
        value = os.environ.get(name, "").strip()
        if value:
            return value, name
    return None


_WRITE_TOKEN_FIX = f"set {TOKEN_ENV} (or {GH_TOKEN_ENV}) to a token that may write pull requests on it"


def _tokened(doing: str, fix: str = _WRITE_TOKEN_FIX) -> Client:
    """A client with the token of :func:`token`; ServiceError naming ``doing`` when none is set."""
    found = token()
    if found is None:
        raise ServiceError(f"no token to {doing} with", fix=fix)
    return Client(token=found[0], token_name=found[1])


def create_pull(repo: str, base: str, head: str, title: str, body: str) -> str:
    """Open a pull request through the REST API at ``GITHUB_API_URL`` with the token of
    :func:`token`; its URL. ServiceError when no token is set."""
    return _tokened(f"open a pull request on {repo}").create_pull(repo, base=base, head=head, title=title,
                                                                  body=body)


def update_pull_of(repo: str, head: str, title: str, body: str) -> str | None:
    """:meth:`Client.update_pull_of` with the token of :func:`token`; ServiceError when none is set."""
    return _tokened(f"update the pull request from {head} on {repo}").update_pull_of(repo, head, title=title,
                                                                                   body=body)


def pull_of(repo: str, head: str) -> str | None:
    """:meth:`Client.pull_of` with the token of :func:`token`; ServiceError when none is set."""
    return _tokened(f"look for the pull request from {head} on {repo}",
                    fix=f"set {TOKEN_ENV} (or {GH_TOKEN_ENV})").pull_of(repo, head)


def open_pull_request(root: str, *, base: str, head: str, title: str, body: str) -> str | None:
    """Open a pull request with the GitHub CLI (``gh``), when it is installed; return its URL.

    ``gh`` brings the user's own login and host; None means it is not installed (the caller
    shows the compare URL instead).
    """
    import shutil
    import subprocess

    gh = shutil.which("gh")
    if gh is None:
        return None
    try:
        proc = subprocess.run([gh, "pr", "create", "--base", base, "--head", head, "--title", title,
                               "--body-file", "-"], cwd=root, input=body, capture_output=True, text=True,
                              check=False, timeout=GH_TIMEOUT)
    except subprocess.TimeoutExpired:
        raise ServiceError(f"`gh pr create` did not finish within {GH_TIMEOUT:g} s",
                           fix="the branch is pushed; open the pull request by hand, or check "
                           "`gh auth status` and the network") from None
    if proc.returncode != 0:
        raise ServiceError(f"`gh pr create` failed with exit code {proc.returncode}: "
                           f"{' '.join(proc.stderr.split())[:500]}",
                           fix="the branch is pushed; open the pull request by hand, or run `gh auth login`")
    return proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else None
