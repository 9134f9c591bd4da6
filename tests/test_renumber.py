"""``modelreg renumber``: a registration branch whose number the base took meanwhile, moved to the
next free number on the base's tip, everything else kept, the gates re-run."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from tests.github_stub import GitHubStub
from tests.helpers import Cli, artifact, commit_all, git, register
from tests.test_signing import write_key


def _with_origin(registry: Path, tmp_path: Path) -> Path:
    """An empty bare repository added to ``registry`` as ``origin``."""
    origin = tmp_path / "origin.git"
    subprocess.run(["git", "init", "-q", "--bare", str(origin)], check=True)
    git(registry, "remote", "add", "origin", str(origin))
    return origin


def _two_branches(cli: Cli, registry: Path, workdir: Path, *extra: str) -> None:
    """fraud v1 on main; branch ``late`` registers v2 (with ``extra``); then main takes v2 from
    another registration (a pull request merged first)."""
    register(cli, registry, workdir, "fraud", "--commit", seed=1)
    register(cli, registry, workdir, "fraud", "--branch", "late", "-m", "late one", *extra, seed=2)
    git(registry, "switch", "-q", "main")
    register(cli, registry, workdir, "fraud", "--commit", "-m", "first merged", seed=3)
    git(registry, "switch", "-q", "late")


def _version(registry: Path, number: int) -> dict:
    return yaml.safe_load((registry / f"registry/fraud/v{number}/version.yaml").read_text())


def test_renumber_moves_the_taken_version_and_keeps_the_rest(registry: Path, workdir: Path, cli: Cli,
                                                            tmp_path: Path) -> None:
    key = write_key(tmp_path / "signing.pem")
    card = workdir / "card.md"
    card.write_text("# fraud\n\nThe late one, registered as v2.\n")
    _two_branches(cli, registry, workdir, "--sign-key", str(key), "--card", str(card))
    before = {p.name: p.read_bytes() for p in (registry / "registry/fraud/v2").iterdir()}
    old_tip = git(registry, "rev-parse", "HEAD").strip()
    failed = cli.fails("-C", str(registry), "check", "--head", "--base", "main").out
    assert "v2 is already taken on main" in failed

    result = cli.ok("-C", str(registry), "renumber", "--base", "main")
    assert "fraud v2 → v3" in result.out
    assert "all 7 gates passed" in result.out
    assert "card.md still mentions v2" in result.err  # the card is the author's text: kept, named
    # One commit on main's tip, by the registration's author, with the number in its subject.
    main = git(registry, "rev-parse", "main").strip()
    assert git(registry, "rev-parse", "HEAD^").strip() == main
    assert git(registry, "log", "-1", "--format=%s", "HEAD").strip() == "Register fraud v3"
    assert "fraud v2 → v3" in git(registry, "log", "-1", "--format=%b", "HEAD")
    assert git(registry, "log", "-1", "--format=%an %aI", "HEAD") == git(
        registry, "log", "-1", "--format=%an %aI", old_tip)
    assert git(registry, "diff", "--name-status", "main", "HEAD").split() == [
        "A", "registry/fraud/v3/.gitignore", "A", "registry/fraud/v3/card.md",
        "A", "registry/fraud/v3/model.pkl.dvc", "A", "registry/fraud/v3/model.sig",
        "A", "registry/fraud/v3/version.yaml"]
    # The files byte for byte, but for the one line that names the number.
    after = {p.name: p.read_bytes() for p in (registry / "registry/fraud/v3").iterdir()}
    assert after.keys() == before.keys()
    for name, data in before.items():
        if name == "version.yaml":
            assert after[name] == data.replace(b"\nversion: 2\n", b"\nversion: 3\n")
        else:
            assert after[name] == data, name
    assert _version(registry, 3)["description"] == "late one"
    assert _version(registry, 2)["description"] == "first merged"  # main's v2, untouched
    # The bundle binds the artifact's name and digests, not the number: it verifies as v3.
    out = cli.ok("-C", str(registry), "verify", "fraud/3", "--key", str(key.with_suffix(".pub"))).out
    assert out.startswith("verified: fraud v3")
    assert not git(registry, "status", "--porcelain").strip()


def test_renumber_json_and_an_artifact_checked_out_beside_its_pointer(registry: Path, workdir: Path,
                                                                    cli: Cli) -> None:
    _two_branches(cli, registry, workdir)
    # as `dvc pull` leaves it: the artifact beside its pointer, ignored by the version's .gitignore
    artifact(registry / "registry/fraud/v2/model.pkl", seed=2)
    data = cli.ok("-C", str(registry), "renumber", "--base", "main", "--json").json
    assert data["moves"] == [{"model": "fraud", "from": 2, "to": 3}]
    assert data["passed"] is True and data["pushed"] is False and data["base"] == "main"
    assert data["report"]["passed"] is True
    assert (registry / "registry/fraud/v3/model.pkl").read_bytes() == artifact(
        workdir / "again.pkl", seed=2).read_bytes()
    assert sorted(p.name for p in (registry / "registry/fraud/v2").iterdir()) == [
        ".gitignore", "model.pkl.dvc", "version.yaml"]  # main's v2, without the moved artifact
    cli.ok("-C", str(registry), "check", "--head", "--base", "main")


def test_renumber_moves_two_new_versions_past_the_base(registry: Path, workdir: Path, cli: Cli) -> None:
    register(cli, registry, workdir, "fraud", "--commit", seed=1)
    register(cli, registry, workdir, "fraud", "--branch", "two", "-m", "a", seed=2)
    register(cli, registry, workdir, "fraud", "--commit", "-m", "b", seed=3)  # v3 on the same branch
    git(registry, "switch", "-q", "main")
    for seed in (4, 5):
        register(cli, registry, workdir, "fraud", "--commit", seed=seed)
    git(registry, "switch", "-q", "two")
    data = cli.ok("-C", str(registry), "renumber", "--base", "main", "--json").json
    assert data["moves"] == [{"model": "fraud", "from": 2, "to": 4}, {"model": "fraud", "from": 3, "to": 5}]
    assert [_version(registry, n)["version"] for n in (4, 5)] == [4, 5]
    assert [_version(registry, n)["description"] for n in (4, 5)] == ["a", "b"]
    assert git(registry, "log", "-1", "--format=%s").strip() == "Register fraud v4, v5"


def test_renumber_refuses_when_there_is_nothing_to_renumber(registry: Path, workdir: Path, cli: Cli) -> None:
    register(cli, registry, workdir, "fraud", "--commit", seed=1)
    register(cli, registry, workdir, "fraud", "--branch", "fine", seed=2)
    tip = git(registry, "rev-parse", "HEAD")
    err = cli.fails("-C", str(registry), "renumber", "--base", "main").err
    assert err.startswith("error: nothing to renumber: fraud v2 is next on main")
    git(registry, "switch", "-q", "main")
    err = cli.fails("-C", str(registry), "renumber", "--base", "main").err
    assert "the branch to renumber is the base 'main' itself" in err
    git(registry, "switch", "-q", "--detach", "fine")
    assert "HEAD is detached" in cli.fails("-C", str(registry), "renumber", "--base", "main").err
    assert git(registry, "rev-parse", "fine") == tip


def test_renumber_refuses_a_branch_that_changes_more_than_new_versions(registry: Path, workdir: Path,
                                                                     cli: Cli) -> None:
    _two_branches(cli, registry, workdir)
    policy = registry / "policies/default.yaml"
    policy.write_text(policy.read_text() + "# loosened on the side\n")
    commit_all(registry, "and a policy edit")
    tip = git(registry, "rev-parse", "HEAD")
    err = cli.fails("-C", str(registry), "renumber", "--base", "main").err
    assert "late changes policies/default.yaml, which is not part of a new version" in err
    assert git(registry, "rev-parse", "HEAD") == tip  # nothing rewritten


def test_renumber_refuses_an_edit_of_a_released_version(registry: Path, workdir: Path, cli: Cli) -> None:
    _two_branches(cli, registry, workdir)
    manifest = registry / "registry/fraud/v1/version.yaml"
    manifest.write_text(manifest.read_text().replace("description: ''", "description: changed"))
    commit_all(registry, "and v1 rewritten")
    err = cli.fails("-C", str(registry), "renumber", "--base", "main").err
    assert "late changes registry/fraud/v1/version.yaml, which is not part of a new version" in err


def test_renumber_refuses_uncommitted_changes(registry: Path, workdir: Path, cli: Cli) -> None:
    _two_branches(cli, registry, workdir)
    manifest = registry / "registry/fraud/v2/version.yaml"
    manifest.write_text(manifest.read_text() + "# not committed\n")
    err = cli.fails("-C", str(registry), "renumber", "--base", "main").err
    assert "has uncommitted changes" in err
    assert manifest.read_text().endswith("# not committed\n")


def test_renumber_refuses_a_model_the_base_created_meanwhile(registry: Path, workdir: Path, cli: Cli) -> None:
    register(cli, registry, workdir, "churn", "--branch", "mine", seed=1)
    git(registry, "switch", "-q", "main")
    register(cli, registry, workdir, "churn", "--commit", "--owner", "@acme/other", seed=2)
    git(registry, "switch", "-q", "mine")
    err = cli.fails("-C", str(registry), "renumber", "--base", "main").err
    assert "registry/churn/model.yaml: main created model 'churn' too since this branch left it" in err


def test_renumber_a_new_model_both_branches_made_alike(registry: Path, workdir: Path, cli: Cli) -> None:
    """Two pipelines register a new model at once, with the same owners: the second's v1 becomes
    v2, and its model.yaml (the same bytes as main's now) is not part of its change any more."""
    register(cli, registry, workdir, "churn", "--branch", "mine", "-m", "mine", seed=1)
    git(registry, "switch", "-q", "main")
    register(cli, registry, workdir, "churn", "--branch", "theirs", "-m", "theirs", seed=2)
    git(registry, "switch", "-q", "main")
    git(registry, "merge", "-q", "--no-ff", "-m", "Merge theirs", "theirs")
    git(registry, "switch", "-q", "mine")
    data = cli.ok("-C", str(registry), "renumber", "--base", "main", "--json").json
    assert data["moves"] == [{"model": "churn", "from": 1, "to": 2}] and data["passed"] is True
    assert git(registry, "diff", "--name-only", "main", "HEAD").split() == [
        "registry/churn/v2/.gitignore", "registry/churn/v2/model.pkl.dvc", "registry/churn/v2/version.yaml"]


def test_renumber_push_replaces_only_its_own_tip(registry: Path, workdir: Path, cli: Cli,
                                                 tmp_path: Path) -> None:
    origin = _with_origin(registry, tmp_path)
    git(registry, "push", "-q", "origin", "main")
    register(cli, registry, workdir, "fraud", "--commit", seed=1)
    register(cli, registry, workdir, "fraud", "--branch", "late", "-m", "late", seed=2)
    git(registry, "push", "-q", "origin", "late")
    git(registry, "switch", "-q", "main")
    register(cli, registry, workdir, "fraud", "--commit", seed=3)
    git(registry, "push", "-q", "origin", "main")
    git(registry, "switch", "-q", "late")
    git(registry, "reset", "-q", "--hard", "HEAD")
    # origin/main is fetched first: the local main is not needed, origin's tip is the base
    git(registry, "branch", "-q", "-f", "main", "HEAD~1")
    data = cli.ok("-C", str(registry), "renumber", "--push", "--json").json
    assert data["base"] == "origin/main" and data["pushed"] is True
    assert data["moves"] == [{"model": "fraud", "from": 2, "to": 3}]
    assert git(origin, "rev-parse", "late") == git(registry, "rev-parse", "HEAD")
    # Someone else pushed to the branch meanwhile: the push refuses to replace their commit.
    git(registry, "switch", "-q", "main")
    git(registry, "reset", "-q", "--hard", "origin/main")
    register(cli, registry, workdir, "fraud", "--branch", "raced", "-m", "raced", seed=4)
    git(registry, "push", "-q", "origin", "raced", "late:main")  # late merged first: raced's v3 is taken
    other = tmp_path / "other"
    subprocess.run(["git", "clone", "-q", str(origin), str(other)], check=True)
    git(other, "switch", "-q", "raced")
    (other / "registry/fraud/v3/version.yaml").write_text("hijack: 1\n")
    git(other, "-c", "user.name=x", "-c", "user.email=x@x", "commit", "-qam", "someone else")
    git(other, "push", "-q", "origin", "raced")
    err = cli.fails("-C", str(registry), "renumber", "--push").err
    assert "the push failed" in err and "origin's raced moved since" in err
    assert "hijack" in git(origin, "show", "raced:registry/fraud/v3/version.yaml")


def test_renumber_pushes_a_right_number_even_where_another_gate_fails(registry: Path, workdir: Path, cli: Cli,
                                                                     tmp_path: Path) -> None:
    """The policy wants a description this registration lacks: its pull request fails on that with
    or without renumbering; the number is put right and pushed, and the exit code says the rest."""
    origin = _with_origin(registry, tmp_path)
    register(cli, registry, workdir, "fraud", "--commit", seed=1)
    git(registry, "push", "-q", "origin", "main")
    register(cli, registry, workdir, "fraud", "--branch", "bare", seed=2)  # no description
    git(registry, "push", "-q", "origin", "bare")
    git(registry, "switch", "-q", "main")
    register(cli, registry, workdir, "fraud", "--commit", "-m", "merged first", seed=3)
    git(registry, "push", "-q", "origin", "main")
    git(registry, "switch", "-q", "bare")
    result = cli("-C", str(registry), "renumber", "--push", "--json")
    assert result.code == 1
    data = result.json
    assert data["moves"] == [{"model": "fraud", "from": 2, "to": 3}]
    assert data["passed"] is False and data["numbered"] is True and data["pushed"] is True
    assert data["report"]["gates"]["policy"]["passed"] is False
    assert git(origin, "rev-parse", "bare") == git(registry, "rev-parse", "HEAD")


def test_renumber_push_retitles_the_open_pull_request(registry: Path, workdir: Path, cli: Cli, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """Reviewers see the number the branch now registers: the pull request from the branch gets the
    renumbered commit's subject as its title and the new gate report as its body; in the registry
    --repo names (a training repository's run has its own GITHUB_REPOSITORY)."""
    _with_origin(registry, tmp_path)
    _two_branches(cli, registry, workdir)
    git(registry, "push", "-q", "origin", "main", "late")
    with GitHubStub(token="t0ken") as gh:
        gh.add_pull("acme/registry", 7, author="pipeline", head_sha="0" * 40)["head"]["ref"] = "late"
        gh.add_pull("acme/registry", 8, author="other", head_sha="0" * 40)  # another branch's: untouched
        monkeypatch.setenv("GITHUB_API_URL", gh.url)
        monkeypatch.setenv("GITHUB_TOKEN", "t0ken")
        monkeypatch.setenv("GITHUB_REPOSITORY", "acme/training")
        data = cli.ok("-C", str(registry), "renumber", "--push", "--json", "--repo", "acme/registry").json
    assert data["pushed"] is True, data["warnings"]
    assert data["pr_url"] == "https://github.com/acme/registry/pull/7", data["warnings"]
    assert [u["number"] for u in gh.updated] == [7]
    assert "v3" in gh.updated[0]["title"] and "v2" not in gh.updated[0]["title"]
    assert "modelreg check" in gh.updated[0]["body"] and "fraud v3" in gh.updated[0]["body"]
    assert "title" not in gh.pulls[("acme/registry", 8)]


def test_renumber_push_warns_when_the_pull_request_cannot_be_updated(registry: Path, workdir: Path, cli: Cli,
                                                                    tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """The branch is pushed either way; a pull request left with the old number is said, not hidden."""
    _with_origin(registry, tmp_path)
    _two_branches(cli, registry, workdir)
    git(registry, "push", "-q", "origin", "main", "late")
    with GitHubStub(token="t0ken") as gh:
        gh.fail("/repos/acme/registry/pulls", 500)
        monkeypatch.setenv("GITHUB_API_URL", gh.url)
        monkeypatch.setenv("GITHUB_TOKEN", "t0ken")
        monkeypatch.setenv("GITHUB_REPOSITORY", "acme/registry")
        data = cli.ok("-C", str(registry), "renumber", "--push", "--json").json
    assert data["pushed"] is True and data["pr_url"] is None
    assert any("keeps its old title and body" in w for w in data["warnings"])


def test_renumber_push_does_not_bring_back_a_branch_deleted_on_origin(registry: Path, workdir: Path, cli: Cli,
                                                                      tmp_path: Path) -> None:
    """A deletion on origin (its pull request closed, the branch removed) is a change the push must not
    overwrite: renumber refuses rather than re-create it."""
    origin = _with_origin(registry, tmp_path)
    _two_branches(cli, registry, workdir)
    git(registry, "push", "-q", "origin", "main", "late")
    git(registry, "fetch", "-q", "origin")
    git(origin, "branch", "-q", "-D", "late")
    err = cli.fails("-C", str(registry), "renumber", "--push").err
    assert "the push failed" in err and "deleted it" in err
    assert "late" not in git(origin, "branch", "--list")


def test_renumber_push_creates_a_branch_origin_never_had(registry: Path, workdir: Path, cli: Cli,
                                                          tmp_path: Path) -> None:
    origin = _with_origin(registry, tmp_path)
    _two_branches(cli, registry, workdir)
    git(registry, "push", "-q", "origin", "main")
    data = cli.ok("-C", str(registry), "renumber", "--push", "--json").json
    assert data["pushed"] is True
    assert git(origin, "rev-parse", "late") == git(registry, "rev-parse", "HEAD")
