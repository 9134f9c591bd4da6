"""github.py against the local stand-in of GitHub's REST API: real HTTP on 127.0.0.1."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from modelreg.edges import github
from modelreg.edges.github import Client, PullRequest, Review
from modelreg.errors import InputError, ServiceError
from tests.github_stub import GitHubStub

TOKEN = "ghp_s3cr3tT0kenValue42"
REPO = "acme/registry"
HEAD = "a1" * 20
OLD = "b2" * 20
PULL = "/repos/acme/registry/pulls/7"
REVIEWS = "/repos/acme/registry/pulls/7/reviews"
MEMBERS = "/orgs/acme/teams/model-risk/members"


@pytest.fixture
def stub() -> Iterator[GitHubStub]:
    with GitHubStub(token=TOKEN) as gh:
        gh.add_pull(REPO, 7, author="alice", head_sha=HEAD)
        gh.add_team("acme", "model-risk", ["bob", "Carol"])
        yield gh


@pytest.fixture
def client(stub: GitHubStub, monkeypatch: pytest.MonkeyPatch) -> Client:
    monkeypatch.setenv("GITHUB_API_URL", stub.url)
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    return Client(timeout=0.5)


@pytest.fixture
def other_host() -> Iterator[GitHubStub]:
    """A second server: a different host:port, where the token must never go."""
    with GitHubStub() as gh:
        yield gh


# -- answers ----------------------------------------------------------------------------------------


def test_pull_is_a_typed_record(client: Client) -> None:
    pull = client.pull(REPO, 7)
    assert pull == PullRequest(number=7, author="alice", head_sha=HEAD, base_ref="main",
                               html_url="https://github.com/acme/registry/pull/7")
    assert pull.to_dict()["head_sha"] == HEAD


def test_reviews_follow_the_link_header_across_pages(stub: GitHubStub, client: Client) -> None:
    stub.page_size = 2
    for i, user in enumerate(["bob", "carol", "dave", "erin", "frank"]):
        stub.add_review(REPO, 7, user, "APPROVED" if i % 2 == 0 else "COMMENTED", commit_id=HEAD,
                        submitted_at=f"2026-11-20T10:0{i}:00Z")
    stub.add_review(REPO, 7, None, "APPROVED", commit_id=OLD)  # a deleted account
    reviews = client.reviews(REPO, 7)
    assert [r.user for r in reviews] == ["bob", "carol", "dave", "erin", "frank", None]
    assert reviews[0] == Review(user="bob", state="APPROVED", commit_id=HEAD,
                                submitted_at="2026-11-20T10:00:00Z")
    assert [(r.path, r.query.get("page")) for r in stub.requests] == [
        (REVIEWS, None), (REVIEWS, "2"), (REVIEWS, "3")]
    assert stub.requests[0].query["per_page"] == "100"


def test_team_members_are_paged_too(stub: GitHubStub, client: Client) -> None:
    stub.page_size = 2
    stub.add_team("acme", "ml", ["a1", "b2", "c3", "d4", "e5"])
    assert client.team_members("acme", "ml") == {"a1", "b2", "c3", "d4", "e5"}
    assert len(stub.requests) == 3


def test_every_request_carries_the_token_and_api_headers(stub: GitHubStub, client: Client) -> None:
    client.pull(REPO, 7)
    client.team_members("acme", "model-risk")
    for request in stub.requests:
        assert request.headers["authorization"] == f"Bearer {TOKEN}"
        assert request.headers["accept"] == "application/vnd.github+json"
        assert request.headers["x-github-api-version"] == "2022-11-28"
        assert request.headers["user-agent"].startswith("modelreg/")


def test_constructor_arguments_override_the_environment(stub: GitHubStub,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITHUB_API_URL", "http://127.0.0.1:9/nowhere")
    monkeypatch.setenv("GITHUB_TOKEN", "not-this-one")
    assert Client(stub.url + "/", TOKEN).pull(REPO, 7).number == 7
    assert stub.requests[0].headers["authorization"] == f"Bearer {TOKEN}"


def test_a_redirect_on_the_same_host_is_followed_with_the_token(stub: GitHubStub, client: Client) -> None:
    # GitHub answers 301 for a renamed repository
    stub.fail("/repos/acme/old-name/pulls/7", 301, headers={"Location": stub.url + PULL}, body="")
    assert client.pull("acme/old-name", 7).number == 7
    assert [r.path for r in stub.requests] == ["/repos/acme/old-name/pulls/7", PULL]
    assert stub.requests[1].headers["authorization"] == f"Bearer {TOKEN}"


# -- failures ---------------------------------------------------------------------------------------


def test_401_without_a_token_says_to_set_one(stub: GitHubStub, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GITHUB_TOKEN", raising=False)
    client = Client(stub.url)
    with pytest.raises(ServiceError, match=r"refused pull request acme/registry#7 \(401 unauthorised: "
                       r"Bad credentials\); no token was sent: set GITHUB_TOKEN$"):
        client.pull(REPO, 7)
    assert "authorization" not in stub.requests[0].headers


def test_401_with_a_bad_token_names_the_variable(stub: GitHubStub) -> None:
    client = Client(stub.url, "expired-token-9", token_name="MODELREG_GITHUB_TOKEN")
    with pytest.raises(ServiceError, match=r"401 unauthorised: Bad credentials\); the token in "
                       r"MODELREG_GITHUB_TOKEN is missing, invalid or expired") as info:
        client.reviews(REPO, 7)
    assert "expired-token-9" not in str(info.value)
    assert info.value.exit_code == 4  # a service failed: not a bug (3), not a gate (1)


def test_403_on_team_members_explains_the_token_it_needs(stub: GitHubStub, client: Client) -> None:
    stub.fail(MEMBERS, 403, body={"message": "Resource not accessible by integration"})
    with pytest.raises(ServiceError, match=r"refused members of team @acme/model-risk \(403 Resource not "
                       r"accessible by integration\); listing team members needs a token with the "
                       r"organisation's members read permission .*read:org.* the GITHUB_TOKEN of GitHub "
                       r"Actions cannot have it, so store such a token as a secret and pass it to the "
                       r"job as GITHUB_TOKEN$"):
        client.team_members("acme", "model-risk")


def test_403_on_reviews_names_the_permission(stub: GitHubStub, client: Client) -> None:
    stub.fail(REVIEWS, 403, body={"message": "Must have admin rights to Repository."})
    with pytest.raises(ServiceError, match=r"refused reviews of pull request acme/registry#7 \(403 Must "
                       r"have admin rights to Repository\.\); .*`permissions: pull-requests: read`"):
        client.reviews(REPO, 7)


def test_404_names_the_pull_request(client: Client) -> None:
    with pytest.raises(ServiceError, match=r"^pull request acme/registry#8 not found \(404 from "
                       r"http://127\.0\.0\.1:\d+\); check the repository name acme/registry and the PR "
                       r"number 8"):
        client.pull(REPO, 8)


def test_404_names_the_team(client: Client) -> None:
    with pytest.raises(ServiceError, match=r"^members of team @acme/risk not found .*check the team "
                       r"@acme/risk \(write the team's slug"):
        client.team_members("acme", "risk")


def test_rate_limit_gives_the_reset_time(stub: GitHubStub, client: Client) -> None:
    stub.fail(REVIEWS, 403, headers={"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "1800000000"},
              body={"message": "API rate limit exceeded for installation ID 1."})
    with pytest.raises(ServiceError, match=r"rate limit was hit on reviews of pull request acme/registry#7 "
                       r"\(403 API rate limit exceeded .*\); it resets at 2027-01-15T08:00:00Z$"):
        client.reviews(REPO, 7)


def test_secondary_rate_limit_gives_retry_after(stub: GitHubStub, client: Client) -> None:
    stub.fail(PULL, 429, headers={"Retry-After": "30"},
              body={"message": "You have exceeded a secondary rate limit."})
    with pytest.raises(ServiceError, match=r"rate limit was hit on pull request acme/registry#7 "
                       r"\(429 .*\); retry after 30 s$"):
        client.pull(REPO, 7)


def test_server_error(stub: GitHubStub, client: Client) -> None:
    stub.fail(PULL, 502, body="<html>Bad gateway</html>")
    with pytest.raises(ServiceError, match=r"^GitHub's API failed on pull request acme/registry#7 \(502\); "
                       r"GitHub may be having an outage"):
        client.pull(REPO, 7)


def test_timeout(stub: GitHubStub) -> None:
    stub.fail(PULL, 200, delay=3)
    start = time.monotonic()
    with pytest.raises(ServiceError, match=r"^GitHub's API at http://127\.0\.0\.1:\d+ did not answer "
                       r"within 0\.3 s \(pull request acme/registry#7\)"):
        Client(stub.url, TOKEN, timeout=0.3).pull(REPO, 7)
    assert time.monotonic() - start < 2


def test_connection_refused_on_a_closed_port() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(ServiceError, match=rf"^cannot reach GitHub's API at http://127\.0\.0\.1:{port}: "
                       r"connection refused \(pull request acme/registry#7\); check GITHUB_API_URL"):
        Client(f"http://127.0.0.1:{port}", TOKEN, timeout=0.5).pull(REPO, 7)


def test_malformed_json(stub: GitHubStub, client: Client) -> None:
    stub.fail(PULL, 200, body='{"number": 7,')
    with pytest.raises(ServiceError, match=r"answered pull request acme/registry#7 with malformed JSON"):
        client.pull(REPO, 7)


def test_unexpected_shape(stub: GitHubStub, client: Client) -> None:
    stub.fail(PULL, 200, body={"number": 7, "user": {"login": "alice"}, "head": {}})
    with pytest.raises(ServiceError, match=r"unexpected answer from GitHub's API for pull request "
                       r"acme/registry#7: `head\.sha` is missing"):
        client.pull(REPO, 7)
    stub.fail(REVIEWS, 200, body={"message": "not a list"})
    with pytest.raises(ServiceError, match=r"for reviews of pull request acme/registry#7: expected a "
                       r"list, got dict"):
        client.reviews(REPO, 7)


def test_a_next_link_to_another_host_is_not_followed(stub: GitHubStub, client: Client,
                                                     other_host: GitHubStub) -> None:
    stub.page_size = 1
    stub.add_review(REPO, 7, "bob", "APPROVED", commit_id=HEAD)
    stub.add_review(REPO, 7, "carol", "CHANGES_REQUESTED", commit_id=HEAD)
    stub.link_base = other_host.url
    with pytest.raises(ServiceError, match=r"next-page link for reviews of pull request acme/registry#7 "
                       rf"to another host \({other_host.url}\); not followed, so the token stays with "
                       rf"{stub.url}"):
        client.reviews(REPO, 7)
    assert other_host.requests == []


def test_a_redirect_to_another_host_is_not_followed(stub: GitHubStub, client: Client,
                                                    other_host: GitHubStub) -> None:
    stub.fail(PULL, 302, headers={"Location": other_host.url + PULL}, body="")
    with pytest.raises(ServiceError, match=rf"redirected pull request acme/registry#7 to another host "
                       rf"\({other_host.url}\); not followed"):
        client.pull(REPO, 7)
    assert other_host.requests == []


def test_the_page_loop_is_bounded(stub: GitHubStub) -> None:
    stub.page_size = 1
    for user in ("bob", "carol", "dave"):
        stub.add_review(REPO, 7, user, "APPROVED", commit_id=HEAD)
    with pytest.raises(ServiceError, match=r"reviews of pull request acme/registry#7 runs past 2 pages"):
        Client(stub.url, TOKEN, max_pages=2).reviews(REPO, 7)
    assert len(stub.requests) == 2


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://api.github.com", "api.github.com",
                                 "https://user:pw@api.github.com", "https://api.github.com/?x=1"])
def test_only_an_http_api_url_is_accepted(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITHUB_API_URL", url)
    with pytest.raises(InputError, match=r"GITHUB_API_URL: .* is not an http\(s\) URL of GitHub's API"):
        Client()


@pytest.mark.parametrize("repo", ["acme", "acme/..", "../acme/registry", "acme/registry/pulls",
                                  "acme/reg?x=1", "acme/reg%2F..", "-acme/registry", "acme/re g"])
def test_a_bad_repository_name_never_reaches_a_url(repo: str, stub: GitHubStub, client: Client) -> None:
    with pytest.raises(InputError, match="is not a GitHub repository name"):
        client.pull(repo, 7)
    with pytest.raises(InputError, match="is not a GitHub repository name"):
        client.reviews(repo, 7)
    assert stub.requests == []


@pytest.mark.parametrize(("org", "slug", "error"), [
    ("acme", "../../repos/x", "is not a GitHub team slug"),
    ("acme", "model risk", "is not a GitHub team slug"),
    ("acme", "", "is not a GitHub team slug"),
    ("ac/me", "risk", "is not a GitHub organisation name"),
    ("..", "risk", "is not a GitHub organisation name"),
])
def test_a_bad_team_never_reaches_a_url(org: str, slug: str, error: str, stub: GitHubStub,
                                        client: Client) -> None:
    with pytest.raises(InputError, match=error):
        client.team_members(org, slug)
    assert stub.requests == []


@pytest.mark.parametrize("number", [0, -1, True])
def test_a_bad_pull_number_is_refused(number: int, client: Client) -> None:
    with pytest.raises(InputError, match="is not a pull request number"):
        client.pull(REPO, number)


@pytest.mark.parametrize(("status", "headers", "body"), [
    (403, {}, {"message": f"token {TOKEN} lacks scope"}),
    (404, {}, {"message": TOKEN}),
    (429, {"Retry-After": "5"}, {"message": f"slow down {TOKEN}"}),
    (500, {}, {"message": f"boom Bearer {TOKEN}"}),
    (200, {}, f"not json {TOKEN}"),
    (302, {"Location": f"http://{TOKEN}.example/"}, ""),
])
def test_the_token_never_appears_in_a_message(status: int, headers: dict[str, str],
                                              body: str | dict[str, Any], stub: GitHubStub,
                                              client: Client) -> None:
    # A hostile or buggy server echoing the token back must not get it printed into a CI log.
    stub.fail(PULL, status, headers=headers, body=body)
    with pytest.raises(ServiceError) as info:
        client.pull(REPO, 7)
    assert TOKEN not in str(info.value)


def test_the_token_never_appears_in_a_timeout_message(stub: GitHubStub) -> None:
    stub.fail(PULL, 200, delay=3)
    with pytest.raises(ServiceError, match="did not answer") as info:
        Client(stub.url, TOKEN, timeout=0.2).pull(REPO, 7)
    assert TOKEN not in str(info.value)


def test_the_token_never_appears_when_the_server_speaks_no_http() -> None:
    # http.client puts a bad status line into its error: here the line carries the token
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        port = server.getsockname()[1]

        def answer() -> None:
            conn, _ = server.accept()
            with conn:
                conn.recv(65536)
                conn.sendall(f"HELLO {TOKEN}\r\n\r\n".encode())

        thread = threading.Thread(target=answer, daemon=True)
        thread.start()
        with pytest.raises(ServiceError, match=rf"^cannot reach GitHub's API at http://127\.0\.0\.1:{port}: "
                           r".*\*\*\*") as info:
            Client(f"http://127.0.0.1:{port}", TOKEN, timeout=0.5).pull(REPO, 7)
        thread.join(timeout=2)
    assert TOKEN not in str(info.value)


def test_an_oversized_answer_is_refused(stub: GitHubStub, client: Client,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(github, "MAX_BODY", 1000)
    stub.fail(PULL, 200, body={"number": 7, "padding": "x" * 2000})
    with pytest.raises(ServiceError, match=r"acme/registry#7 with more than 1000 bytes; refused"):
        client.pull(REPO, 7)


@pytest.mark.parametrize("url", ["https://github.com/a/b/pull/1\nversion=666", "https://x/1 y",
                                 "https://x/1\r", "https://x/\x1b[31m", "javascript:alert(1)"])
def test_a_pull_request_url_must_be_one_clean_line(url: str, stub: GitHubStub, client: Client) -> None:
    """The URL is printed and written to the action's GITHUB_OUTPUT: a line break would add outputs."""
    stub.fail("/repos/acme/registry/pulls", 201, body={"html_url": url}, times=1)
    with pytest.raises(ServiceError, match="html_url` is not a web address"):
        client.create_pull("acme/registry", base="main", head="b", title="t", body="")
    stub.add_pull("acme/registry", 3, author="bot", head_sha="0" * 40)
    stub.pulls[("acme/registry", 3)]["head"]["ref"] = "b"
    stub.fail("/repos/acme/registry/pulls/3", 200, body={"html_url": url})
    with pytest.raises(ServiceError, match="html_url` is not a web address"):
        client.update_pull_of("acme/registry", "b", title="t", body="")
