"""``modelreg register MODEL --registry URL``: from a training repository into a registry elsewhere.

A registry made by ``modelreg init`` and one commit is pushed to a bare repository, its DVC
remote a local directory shared by absolute path; a training repository with a commit and an
origin registers into it through ``file://`` URLs and plain paths, and opens the pull request on
the local GitHub stand-in. Every test points TMPDIR at a folder of its own and checks it is
empty at the end: the temporary clone never outlives the command.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import pytest

from tests.github_stub import GitHubStub
from tests.helpers import Cli, commit_all, copy_registry, git, make_code_repo, snapshot_tree
from tests.helpers import register as register_here

TOKEN = "t0ken-for-tests"


@pytest.fixture
def scratch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """TMPDIR for the command: where its temporary clone goes, and must be gone from."""
    path = tmp_path / "tmpdir"
    path.mkdir()
    monkeypatch.setenv("TMPDIR", str(path))
    monkeypatch.setattr(tempfile, "tempdir", str(path))
    return path


@pytest.fixture
def dvc_remote(tmp_path: Path) -> Path:
    path = tmp_path / "dvc-remote"
    path.mkdir()
    return path


@pytest.fixture
def bare(tmp_path: Path, registry: Path, dvc_remote: Path) -> Path:
    """The registry as a bare repository (what a server holds), its DVC remote shared by path."""
    shared = copy_registry(registry, tmp_path / "registry-shared", remote=str(dvc_remote))
    path = tmp_path / "registry.git"
    git(tmp_path, "clone", "--quiet", "--bare", str(shared), str(path))
    return path


@pytest.fixture
def train(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The training repository, the current directory, with the model and its metrics."""
    path = make_code_repo(tmp_path / "train")
    (path / "model.pkl").write_bytes(b"\x80\x04K\x01." + b"weights" * 100)  # a pickle of 1
    (path / "metrics.json").write_text(json.dumps({"roc_auc": 0.93}))
    (path / "bad-metrics.json").write_text(json.dumps({"roc_auc": "high"}))
    commit_all(path, "Model trained")
    monkeypatch.chdir(path)
    return path


@pytest.fixture
def github(monkeypatch: pytest.MonkeyPatch) -> Any:
    with GitHubStub(token=TOKEN) as stub:
        monkeypatch.setenv("GITHUB_API_URL", stub.url)
        monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
        yield stub


REGISTER = ("register", "fraud", "-a", "model.pkl", "--metrics", "metrics.json", "--owner", "@acme/fraud",
            "-m", "Gradient boosting, weekly retrain")


def branches(bare: Path) -> list[str]:
    return sorted(git(bare, "for-each-ref", "--format=%(refname:short)", "refs/heads").split())


def assert_left_nothing(scratch: Path, train: Path, before: dict[str, bytes]) -> None:
    assert list(scratch.iterdir()) == [], "the temporary clone was left behind"
    assert snapshot_tree(train) == before, "the training repository was changed"
    assert not git(train, "status", "--porcelain").strip()


def test_registers_pushes_and_opens_the_pull_request(cli: Cli, bare: Path, train: Path, scratch: Path,
                                                      dvc_remote: Path, github: GitHubStub) -> None:
    before = snapshot_tree(train)
    out = cli.ok(*REGISTER, "--registry", bare.as_uri(), "--open-pr", "--repo", "acme/registry").out
    assert "Pushed branch modelreg/register-fraud-v1" in out
    assert "Opened pull request https://github.com/acme/registry/pull/1" in out
    # the branch holds the version's files, nothing else
    changed = git(bare, "diff", "--name-only", "main", "modelreg/register-fraud-v1").split()
    assert sorted(changed) == [".github/CODEOWNERS", "registry/fraud/model.yaml",
                               "registry/fraud/v1/.gitignore", "registry/fraud/v1/model.pkl.dvc",
                               "registry/fraud/v1/version.yaml"]
    # the pull request: base, head, title, and the gate report as its body
    [post] = [r for r in github.requests if r.method == "POST"]
    assert post.path == "/repos/acme/registry/pulls"
    assert post.headers["authorization"] == f"Bearer {TOKEN}"
    assert post.body["base"] == "main" and post.body["head"] == "modelreg/register-fraud-v1"
    assert post.body["title"] == "Register fraud v1"
    assert "## modelreg check: passed" in post.body["body"]
    assert "### fraud v1 vs production (none yet)" in post.body["body"]
    # the lineage is the training repository's
    manifest = _manifest(bare, "modelreg/register-fraud-v1", "fraud", 1)
    code = manifest["lineage"]["code"]
    assert code["commit"] == git(train, "rev-parse", "HEAD").strip()
    assert code["repo"] == "https://github.com/acme/fraud.git"
    assert code["dirty"] is False
    # the artifact is in the shared DVC remote, under its md5
    md5 = manifest["artifact"]["md5"]
    stored = dvc_remote / "files" / "md5" / md5[:2] / md5[2:]
    assert stored.read_bytes() == (train / "model.pkl").read_bytes()
    assert_left_nothing(scratch, train, before)


def test_a_plain_path_and_json(cli: Cli, bare: Path, train: Path, scratch: Path) -> None:
    before = snapshot_tree(train)
    data = cli.ok(*REGISTER, "--registry", str(bare), "--branch", "train/fraud", "--json").json
    assert data["branch"] == "train/fraud" and data["version"] == 1 and data["base"] == "main"
    assert data["pr_url"] is None and data["gates_passed"] is True
    assert data["report"].startswith("## modelreg check: passed")
    assert data["commit"] == git(bare, "rev-parse", "train/fraud").strip()
    assert data["lineage"]["code"]["commit"] == git(train, "rev-parse", "HEAD").strip()
    assert branches(bare) == ["main", "train/fraud"]
    assert_left_nothing(scratch, train, before)


def test_a_server_that_serves_partial_clones(cli: Cli, bare: Path, train: Path, scratch: Path) -> None:
    """Where the server filters (GitHub does), the clone has no file contents until read: the
    registration, the gates and their reads of the base fetch what they need on the way."""
    git(bare, "config", "uploadpack.allowFilter", "true")
    git(bare, "config", "uploadpack.allowAnySHA1InWant", "true")
    data = cli.ok(*REGISTER, "--registry", bare.as_uri(), "--json").json
    assert data["gates_passed"] is True and data["branch"] == "modelreg/register-fraud-v1"
    assert list(scratch.iterdir()) == []


def test_from_a_directory_that_is_no_repository(cli: Cli, tmp_path: Path, bare: Path, scratch: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """Any directory will do: the lineage then has no code, and says nothing of the registry clone."""
    here = tmp_path / "plain"
    here.mkdir()
    (here / "model.pkl").write_bytes(b"\x80\x04K\x01.")
    monkeypatch.chdir(here)
    data = cli.ok("register", "fraud", "-a", "model.pkl", "--metric", "roc_auc=0.9", "--owner",
                  "@acme/fraud", "-m", "From a notebook", "--registry", str(bare), "--json").json
    assert "code" not in data["lineage"]
    assert sorted(p.name for p in here.iterdir()) == ["model.pkl"]
    assert list(scratch.iterdir()) == []


def test_other_models_are_not_checked_out_but_count(cli: Cli, tmp_path: Path, registry: Path,
                                                    dvc_remote: Path, workdir: Path, train: Path,
                                                    scratch: Path) -> None:
    """The clone checks out no version of another model, yet a new model's CODEOWNERS and the
    gates see every model (they read the commits): the gates pass, churn keeps its owners."""
    shared = copy_registry(registry, tmp_path / "two-models", remote=str(dvc_remote))
    register_here(cli, shared, workdir, "churn", "-m", "Churn model", "--commit")
    data = cli.ok(*REGISTER, "--registry", str(shared / ".git"), "--json").json
    assert data["gates_passed"] is True and ".github/CODEOWNERS" in data["files"]
    owners = git(shared, "show", f"{data['branch']}:.github/CODEOWNERS")
    assert "/registry/churn/" in owners and "/registry/fraud/" in owners
    assert list(scratch.iterdir()) == []


def test_a_server_that_stops_answering_midway_is_given_up_on(cli: Cli, tmp_path: Path, bare: Path,
                                                              train: Path, scratch: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """The clone's first answer comes (commits and trees), then the file contents the checkout
    asks for never do: stopped after MODELREG_GIT_TIMEOUT, with nothing left."""
    import time

    git(bare, "config", "uploadpack.allowFilter", "true")
    git(bare, "config", "uploadpack.allowAnySHA1InWant", "true")
    hook = tmp_path / "slow-pack"
    served = tmp_path / "served-once"
    hook.write_text(f'#!/bin/sh\nif [ -e {served} ]; then sleep 60; fi\ntouch {served}\nexec "$@"\n')
    hook.chmod(0o755)
    git(train, "config", "--global", "uploadpack.packObjectsHook", str(hook))  # global only, by git's rule
    monkeypatch.setenv("MODELREG_GIT_TIMEOUT", "3")
    started = time.monotonic()
    err = cli.fails(*REGISTER, "--registry", bare.as_uri(), code=4).err
    assert "`git checkout` got no complete answer from the remote within 3 s" in err
    assert time.monotonic() - started < 30
    assert branches(bare) == ["main"] and list(scratch.iterdir()) == []


def test_a_relative_path_is_from_here(cli: Cli, bare: Path, train: Path, scratch: Path) -> None:
    out = cli.ok(*REGISTER, "--registry", "../registry.git").out
    assert "Pushed branch modelreg/register-fraud-v1" in out and str(bare) in out
    assert branches(bare) == ["main", "modelreg/register-fraud-v1"]


def test_the_python_api(bare: Path, train: Path, scratch: Path, github: GitHubStub) -> None:
    from modelreg.api import register_remote
    from modelreg.write.register import Registration

    result = register_remote(f"file://{bare}", Registration(
        model="fraud", artifact=Path("model.pkl"), metrics={"roc_auc": 0.93}, owners=["@acme/fraud"],
        description="Weekly retrain"), open_pr=True, repo="acme/registry")
    assert (result.branch, result.version, result.pr_url) == (
        "modelreg/register-fraud-v1", 1, "https://github.com/acme/registry/pull/1")
    assert result.commit == git(bare, "rev-parse", result.branch).strip()
    assert list(scratch.iterdir()) == []


def test_the_repository_comes_from_the_url(cli: Cli, tmp_path: Path, bare: Path, train: Path,
                                           scratch: Path, github: GitHubStub) -> None:
    """OWNER/NAME are the URL's last two path segments, ``.git`` stripped."""
    nested = tmp_path / "acme" / "model-registry.git"
    nested.parent.mkdir()
    bare.rename(nested)
    cli.ok(*REGISTER, "--registry", nested.as_uri(), "--open-pr")
    assert [r.path for r in github.requests if r.method == "POST"] == ["/repos/acme/model-registry/pulls"]


def test_a_second_version_numbers_on(cli: Cli, bare: Path, train: Path, scratch: Path) -> None:
    cli.ok(*REGISTER, "--registry", str(bare))
    git(bare, "update-ref", "refs/heads/main", "modelreg/register-fraud-v1")  # the PR merged
    out = cli.ok(*REGISTER, "--registry", str(bare)).out
    assert "Pushed branch modelreg/register-fraud-v2" in out


# -- failures: nothing left behind ---------------------------------------------------------------


def test_an_unreachable_registry(cli: Cli, tmp_path: Path, train: Path, scratch: Path) -> None:
    before = snapshot_tree(train)
    err = cli.fails(*REGISTER, "--registry", (tmp_path / "nowhere.git").as_uri(), code=4).err
    assert "could not clone the registry" in err and "nothing was registered" in err
    assert len(err.strip().splitlines()) == 1
    assert_left_nothing(scratch, train, before)


def test_a_branch_that_exists_is_refused_before_anything(cli: Cli, bare: Path, train: Path,
                                                         scratch: Path, dvc_remote: Path) -> None:
    git(bare, "branch", "modelreg/register-fraud-v1", "main")
    before = snapshot_tree(train)
    err = cli.fails(*REGISTER, "--registry", str(bare)).err
    assert "refused the branch modelreg/register-fraud-v1" in err and "nothing was pushed" in err
    assert git(bare, "rev-parse", "modelreg/register-fraud-v1") == git(bare, "rev-parse", "main")
    assert not (dvc_remote / "files").exists(), "the artifact was pushed before the branch was known free"
    assert_left_nothing(scratch, train, before)


def test_a_push_the_server_refuses(cli: Cli, bare: Path, train: Path, scratch: Path) -> None:
    """A branch that appears between the clone and the push (another pipeline), or a server rule,
    refuses the push: a PushRejected, with what the pipeline needs to try again."""
    hook = bare / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\necho 'branch taken' >&2\nexit 1\n")
    hook.chmod(0o755)
    before = snapshot_tree(train)
    err = cli.fails(*REGISTER, "--registry", str(bare)).err
    assert "refused the branch modelreg/register-fraud-v1" in err and "nothing was pushed" in err
    assert branches(bare) == ["main"]
    assert_left_nothing(scratch, train, before)


def _git_running_after(tmp_path: Path, name: str, pattern: str, script: str) -> Path:
    """A folder ``name`` with a ``git`` that runs ``script`` (sh) after each git command whose
    arguments match the ``case`` ``pattern``."""
    import shutil

    wrapper = tmp_path / name
    wrapper.mkdir()
    (wrapper / "git").write_text(f'#!/bin/sh\n"{shutil.which("git")}" "$@"\ncode=$?\n'
                                 f'case " $* " in {pattern}) {script};; esac\nexit $code\n')
    (wrapper / "git").chmod(0o755)
    return wrapper


def _after_commit(tmp_path: Path, script: str) -> Path:
    """A ``git`` that runs ``script`` after each ``git commit``: what a hook did before no hook ran
    in the clone."""
    return _git_running_after(tmp_path, "git-wrapper", '*" commit "*', script)


def test_the_push_is_a_compare_and_swap(cli: Cli, tmp_path: Path, bare: Path, train: Path,
                                        scratch: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Another pipeline pushes the same branch between the clone and the push (here: a git that
    does so when the clone commits; no hook runs in the clone): the push is refused, though the
    commit would fast-forward the branch, since the lease says the branch must not exist."""
    wrapper = _after_commit(tmp_path, f'git --git-dir="{bare}" branch modelreg/register-fraud-v1 main')
    monkeypatch.setenv("PATH", f"{wrapper}{os.pathsep}{os.environ['PATH']}")
    err = cli.fails(*REGISTER, "--registry", str(bare)).err
    assert "refused the branch modelreg/register-fraud-v1" in err and "nothing was pushed" in err
    assert git(bare, "rev-parse", "modelreg/register-fraud-v1") == git(bare, "rev-parse", "main")
    assert list(scratch.iterdir()) == []


def test_a_refused_push_says_which_number_it_held(bare: Path, train: Path, scratch: Path) -> None:
    """What a pipeline needs to move to the next number: the error's class and its data."""
    from modelreg.api import register_remote
    from modelreg.write.register import Registration
    from modelreg.write.remote import PushRejected

    git(bare, "branch", "modelreg/register-fraud-v1", "main")
    with pytest.raises(PushRejected) as caught:
        register_remote(str(bare), Registration(model="fraud", artifact=Path("model.pkl"),
                                                owners=["@acme/fraud"]))
    assert (caught.value.model, caught.value.version, caught.value.branch) == (
        "fraud", 1, "modelreg/register-fraud-v1")
    assert list(scratch.iterdir()) == []


@pytest.mark.parametrize("status", [422, 500])
def test_a_pull_request_github_refuses_deletes_the_branch(cli: Cli, bare: Path, train: Path, scratch: Path,
                                                          github: GitHubStub, status: int) -> None:
    if status == 422:  # GitHub's answer when a pull request for that head is open already
        github.add_pull("acme/registry", 9, author="alice", head_sha="0" * 40)["head"]["ref"] = \
            "modelreg/register-fraud-v1"
    else:
        github.fail("/repos/acme/registry/pulls", 500)
    before = snapshot_tree(train)
    err = cli.fails(*REGISTER, "--registry", str(bare), "--open-pr", "--repo", "acme/registry", code=4).err
    assert "pull request for fraud v1 was not opened" in err
    assert "the branch modelreg/register-fraud-v1 was pushed and has been deleted again" in err
    if status == 422:
        assert "A pull request already exists for acme:modelreg/register-fraud-v1" in err
    assert len(err.strip().splitlines()) == 1
    assert branches(bare) == ["main"]
    assert_left_nothing(scratch, train, before)


def test_open_pr_without_a_token_stops_before_anything(cli: Cli, bare: Path, train: Path,
                                                       scratch: Path, dvc_remote: Path) -> None:
    before = snapshot_tree(train)
    err = cli.fails(*REGISTER, "--registry", str(bare), "--open-pr", "--repo", "acme/registry").err
    assert "no token to open the pull request on acme/registry" in err and "GITHUB_TOKEN" in err
    assert branches(bare) == ["main"] and not (dvc_remote / "files").exists()
    assert_left_nothing(scratch, train, before)


def test_gh_token_is_read_too(cli: Cli, bare: Path, train: Path, scratch: Path, github: GitHubStub,
                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GITHUB_TOKEN")
    monkeypatch.setenv("GH_TOKEN", TOKEN)
    cli.ok(*REGISTER, "--registry", str(bare), "--open-pr", "--repo", "acme/registry")
    assert len(github.created) == 1


@pytest.mark.parametrize(("args", "words"), [
    (("register", "../../etc", "-a", "model.pkl", "--owner", "@a/b"), "is not a valid model name"),
    ((*REGISTER, "--branch", "../main"), "--branch: '../main' is not a valid branch name"),
    ((*REGISTER, "--branch", "-delete"), "--branch: '-delete' is not a valid branch name"),
    ((*REGISTER, "--base", "--upload-pack=touch x"), "is not a valid branch name"),
    ((*REGISTER, "--repo", "acme/../etc"), "is not a GitHub repository name"),
])
def test_names_that_try_to_escape(cli: Cli, bare: Path, train: Path, scratch: Path,
                                  args: tuple[str, ...], words: str) -> None:
    before = snapshot_tree(train)
    result = cli(*args, "--registry", str(bare))
    assert result.code != 0 and words in result.err
    assert branches(bare) == ["main"]
    assert_left_nothing(scratch, train, before)


def test_a_url_that_is_an_option(cli: Cli, train: Path, scratch: Path) -> None:
    err = cli.fails(*REGISTER, "--registry=--upload-pack=touch pwned").err
    assert "is not a registry URL" in err
    assert not (train / "pwned").exists()


def test_a_bad_metrics_file_pushes_nothing(cli: Cli, bare: Path, train: Path, scratch: Path,
                                           dvc_remote: Path) -> None:
    before = snapshot_tree(train)
    err = cli.fails("register", "fraud", "-a", "model.pkl", "--metrics", "bad-metrics.json", "--owner",
                    "@acme/fraud", "--registry", str(bare)).err
    assert "bad-metrics.json" in err and "roc_auc" in err
    assert branches(bare) == ["main"] and not (dvc_remote / "files").exists()
    assert_left_nothing(scratch, train, before)


def test_an_invalid_registration_fails_in_the_clone_and_pushes_nothing(cli: Cli, bare: Path, train: Path,
                                                                       scratch: Path) -> None:
    """A new model without an owner: refused by ``register`` inside the clone, before any push."""
    before = snapshot_tree(train)
    err = cli.fails("register", "fraud", "-a", "model.pkl", "--registry", str(bare)).err
    assert "needs an owner" in err
    assert branches(bare) == ["main"]
    assert_left_nothing(scratch, train, before)


def test_a_registry_whose_remote_lives_in_a_clone_is_refused(cli: Cli, tmp_path: Path, registry: Path,
                                                            train: Path, scratch: Path) -> None:
    """``init``'s default remote is ``.modelreg/remote`` inside one clone: from elsewhere it is
    unreachable (or another person's folder), so the registration stops, naming the fix."""
    path = tmp_path / "default.git"
    git(tmp_path, "clone", "--quiet", "--bare", str(registry), str(path))
    before = snapshot_tree(train)
    err = cli.fails(*REGISTER, "--registry", str(path)).err
    assert "keeps artifacts in the DVC remote 'storage', a folder inside a clone of the registry" in err
    assert "configure a shared DVC remote" in err
    assert not (registry / ".modelreg" / "remote" / "files").exists()
    assert branches(path) == ["main"]
    assert_left_nothing(scratch, train, before)


def test_a_relative_local_remote_is_refused(cli: Cli, tmp_path: Path, registry: Path, train: Path,
                                            scratch: Path) -> None:
    config = registry / ".dvc" / "config"
    # relative to .dvc/: the clone's own registry/ folder, which exists, and goes with the clone
    config.write_text(config.read_text().replace(str(registry / ".modelreg" / "remote"), "../registry"))
    commit_all(registry, "A relative remote")
    path = tmp_path / "relative.git"
    git(tmp_path, "clone", "--quiet", "--bare", str(registry), str(path))
    err = cli.fails(*REGISTER, "--registry", str(path)).err
    assert "a folder inside a clone of the registry" in err
    assert list(scratch.iterdir()) == []


@pytest.mark.parametrize("relative", ["../../..", "../../../.."])
def test_a_relative_remote_that_leaves_the_clone_is_refused(cli: Cli, tmp_path: Path, registry: Path,
                                                           train: Path, scratch: Path, relative: str) -> None:
    """``../../..`` from the clone's .dvc/ is TMPDIR (or above), a folder that exists: still the
    clone's own relative path, never a shared remote."""
    config = registry / ".dvc" / "config"
    config.write_text(config.read_text().replace(str(registry / ".modelreg" / "remote"), relative))
    commit_all(registry, "A relative remote outside the clone")
    path = tmp_path / "relative-out.git"
    git(tmp_path, "clone", "--quiet", "--bare", str(registry), str(path))
    err = cli.fails(*REGISTER, "--registry", str(path)).err
    assert "a path relative to a clone of the registry" in err and "configure a shared DVC remote" in err
    assert branches(path) == ["main"] and list(scratch.iterdir()) == []
    assert not (scratch.parent / "files").exists() and not (tmp_path.parent / "files").exists()


def _link_in(shared: Path, link: str, target: Path) -> None:
    import shutil

    if (shared / link).is_dir() and not (shared / link).is_symlink():
        shutil.rmtree(shared / link)
    (shared / link).unlink(missing_ok=True)
    (shared / link).symlink_to(target)
    git(shared, "add", "--force", link)
    git(shared, "commit", "--quiet", "-m", f"{link} is a link")


@pytest.mark.parametrize("link", [".dvc/config.local", ".dvc/cache", ".dvc", ".dvc/tmp", "registry/fraud",
                                  ".github/CODEOWNERS", ".github"])
def test_a_symbolic_link_where_modelreg_writes_is_refused(cli: Cli, tmp_path: Path, registry: Path,
                                                          dvc_remote: Path, train: Path, scratch: Path,
                                                          link: str) -> None:
    """A hostile registry commits a link to have the registration write anywhere the user may."""
    shared = copy_registry(registry, tmp_path / "linked", remote=str(dvc_remote))
    outside = tmp_path / "outside"
    if link in (".dvc", ".github"):  # a directory elsewhere, holding what the registry's did
        import shutil

        shutil.copytree(shared / link, outside)
        git(shared, "rm", "-r", "--quiet", "--cached", link)
        shutil.rmtree(shared / link)
    elif link.endswith(("config.local", "CODEOWNERS")):
        outside.write_text("mine\n")
    else:
        outside.mkdir()
    before = snapshot_tree(outside) if outside.is_dir() else {"": outside.read_bytes()}
    _link_in(shared, link, outside)
    err = cli.fails(*REGISTER, "--registry", str(shared / ".git")).err
    assert "holds a symbolic link at" in err and "nothing was registered" in err
    assert (snapshot_tree(outside) if outside.is_dir() else {"": outside.read_bytes()}) == before
    assert list(scratch.iterdir()) == [] and not (dvc_remote / "files").exists()


def test_the_dvc_cache_stays_in_the_clone(cli: Cli, tmp_path: Path, registry: Path, dvc_remote: Path,
                                         train: Path, scratch: Path) -> None:
    """A ``cache.dir`` committed in the registry's config would keep a copy of the artifact
    outside the temporary clone."""
    shared = copy_registry(registry, tmp_path / "cache-elsewhere", remote=str(dvc_remote))
    elsewhere = tmp_path / "dvc-cache"
    with (shared / ".dvc" / "config").open("a") as config:
        config.write(f"[cache]\n    dir = {elsewhere}\n")
    commit_all(shared, "A cache elsewhere")
    cli.ok(*REGISTER, "--registry", str(shared / ".git"))
    assert not elsewhere.exists()
    assert list(scratch.iterdir()) == []
    assert (dvc_remote / "files").is_dir()


def test_registering_here_prints_json(cli: Cli, registry: Path, workdir: Path) -> None:
    (workdir / "model.pkl").write_bytes(b"\x80\x04K\x01.")
    data = cli.ok("-C", str(registry), "register", "fraud", "-a", str(workdir / "model.pkl"), "--metric",
                  "roc_auc=0.9", "--owner", "@acme/fraud", "--json").json
    assert data["version"] == 1 and data["directory"] == "registry/fraud/v1" and data["commit"] is None


def test_not_a_registry(cli: Cli, tmp_path: Path, train: Path, scratch: Path) -> None:
    other = make_code_repo(tmp_path / "other")
    err = cli.fails(*REGISTER, "--registry", str(other)).err
    assert "is not a modelreg registry" in err
    assert list(scratch.iterdir()) == []


def test_a_registry_without_dvc(cli: Cli, tmp_path: Path, registry: Path, train: Path, scratch: Path) -> None:
    import shutil

    shutil.rmtree(registry / ".dvc")
    commit_all(registry, "No DVC")
    err = cli.fails(*REGISTER, "--registry", str(registry / ".git")).err
    assert f"the registry {registry / '.git'} has no .dvc directory" in err and str(scratch) not in err
    assert list(scratch.iterdir()) == []


def test_a_registry_without_a_default_remote(cli: Cli, registry: Path, train: Path, scratch: Path) -> None:
    config = registry / ".dvc" / "config"
    config.write_text(config.read_text().replace("remote = storage", ""))
    commit_all(registry, "No default remote")
    err = cli.fails(*REGISTER, "--registry", str(registry / ".git")).err
    assert "no remote specified in the registry" in err and "dvc remote add -d" in err
    assert str(scratch) not in err and list(scratch.iterdir()) == []


def test_a_base_that_does_not_exist(cli: Cli, bare: Path, train: Path, scratch: Path) -> None:
    err = cli.fails(*REGISTER, "--registry", str(bare), "--base", "release").err
    assert "has no branch release" in err
    assert list(scratch.iterdir()) == []


def test_a_base_that_is_a_tag_is_refused(cli: Cli, bare: Path, train: Path, scratch: Path) -> None:
    git(bare, "tag", "v0", "main")
    err = cli.fails(*REGISTER, "--registry", str(bare), "--base", "v0").err
    assert "v0 is not a branch of the registry" in err and "--base" in err
    assert branches(bare) == ["main"] and list(scratch.iterdir()) == []


def test_registry_only_options_need_registry(cli: Cli, registry: Path, train: Path) -> None:
    err = cli.fails("-C", str(registry), *REGISTER, "--open-pr", code=2).err
    assert "--open-pr, --repo and --base go with --registry URL" in err
    err = cli.fails(*REGISTER, "--registry", "x", "--commit", code=2).err
    assert "--commit is for a registry here" in err


def test_a_token_in_the_url_is_never_shown(cli: Cli, train: Path, scratch: Path) -> None:
    err = cli.fails(*REGISTER, "--registry", "http://user:s3cret-token@127.0.0.1:9/acme/registry.git",
                    code=4).err
    assert "s3cret-token" not in err and "***@127.0.0.1" in err


def test_a_password_with_a_raw_at_is_hidden_whole(cli: Cli, train: Path, scratch: Path) -> None:
    err = cli.fails(*REGISTER, "--registry", "http://user:SEC@RET123@127.0.0.1:9/acme/registry.git",
                    code=4).err
    assert "SEC" not in err and "RET123" not in err and "***@127.0.0.1" in err


def test_scrubbers_hide_up_to_the_last_at() -> None:
    from modelreg.write.remote import scrub

    assert scrub("https://u:p@ss@host/x and ssh://a@b@h:22/y") == "https://***@host/x and ssh://***@h:22/y"


HOOKS = ("pre-commit", "prepare-commit-msg", "commit-msg", "post-commit", "post-checkout", "pre-push",
         "reference-transaction", "post-index-change", "pre-auto-gc", "post-rewrite")


def _hooks(directory: Path, marker: Path) -> Path:
    directory.mkdir(parents=True)
    for hook in HOOKS:
        (directory / hook).write_text(f'#!/bin/sh\necho "{hook} $PWD" >> {marker}\n')
        (directory / hook).chmod(0o755)
    return directory


@pytest.mark.parametrize("where", ["init.templateDir", "core.hooksPath"])
def test_no_hook_runs_in_the_clone(cli: Cli, tmp_path: Path, bare: Path, train: Path, scratch: Path,
                                   where: str) -> None:
    """The registry is not the user's: hooks (the user's, which a hook manager such as pre-commit
    would point at the clone's own config) would run code the registry's authors chose."""
    marker = tmp_path / "hooks-ran"
    hooks = _hooks(tmp_path / "template" / "hooks", marker)
    git(train, "config", "--global", where, str(hooks.parent if where == "init.templateDir" else hooks))
    cli.ok(*REGISTER, "--registry", str(bare))
    ran = marker.read_text() if marker.exists() else ""  # the training repository's own may run: it is theirs
    assert str(scratch) not in ran and os.path.realpath(scratch) not in ran, ran
    assert branches(bare) == ["main", "modelreg/register-fraud-v1"]
    assert list(scratch.iterdir()) == []


def test_hooks_still_run_in_the_users_own_registry(cli: Cli, tmp_path: Path, registry: Path,
                                                   workdir: Path) -> None:
    """``register --commit`` in the user's own registry: their hooks are their choice."""
    marker = tmp_path / "hooks-ran"
    git(registry, "config", "core.hooksPath", str(_hooks(tmp_path / "own-hooks", marker)))
    (workdir / "model.pkl").write_bytes(b"weights")
    cli.ok("-C", str(registry), "register", "fraud", "-a", str(workdir / "model.pkl"),
           "--owner", "@acme/fraud", "--commit")
    assert "post-commit" in marker.read_text().split()


def test_a_cancelled_job_leaves_no_clone(tmp_path: Path, bare: Path, train: Path, scratch: Path) -> None:
    """SIGTERM (what a cancelled CI job gets) while the clone exists: it is removed on the way out."""
    import signal
    import subprocess
    import sys
    import time

    # a git that, after the clone's commit, says so and takes 3 s (no hook runs in the clone)
    started = tmp_path / "committing"
    wrapper = _after_commit(tmp_path, f'touch "{started}"; sleep 3')
    proc = subprocess.Popen([sys.executable, "-m", "modelreg", *REGISTER, "--registry", str(bare)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env={**os.environ, "PATH": f"{wrapper}{os.pathsep}{os.environ['PATH']}"})
    ends = time.monotonic() + 120
    while not started.exists() and proc.poll() is None and time.monotonic() < ends:
        time.sleep(0.05)
    assert started.exists(), proc.communicate()
    proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=60)
    assert proc.returncode == 128 + signal.SIGTERM
    time.sleep(3.5)  # the hook's sleep ends; git writes nothing more
    assert list(scratch.iterdir()) == []
    assert branches(bare) == ["main"]


# -- GitHub's REST API: the client and promote --open-pr -----------------------------------------


def test_create_pull_scrubs_the_token(github: GitHubStub) -> None:
    from modelreg.edges.github import Client
    from modelreg.errors import ServiceError

    github.fail("/repos/acme/registry/pulls", 403, body={"message": f"token {TOKEN} may not write"})
    with pytest.raises(ServiceError) as caught:
        Client(token=TOKEN).create_pull("acme/registry", base="main", head="b", title="t", body="")
    assert TOKEN not in str(caught.value) and "pull-requests: write" in str(caught.value)


def test_create_pull_cuts_a_body_github_would_refuse(github: GitHubStub) -> None:
    from modelreg.edges.github import MAX_PULL_BODY, Client

    Client(token=TOKEN).create_pull("acme/registry", base="main", head="b", title="t", body="x" * 100_000)
    [created] = github.created
    assert len(created["body"]) == MAX_PULL_BODY and "modelreg check --head" in created["body"]


def test_create_pull_refuses_a_bad_name(github: GitHubStub) -> None:
    from modelreg.edges.github import Client
    from modelreg.errors import InputError

    with pytest.raises(InputError):
        Client(token=TOKEN).create_pull("acme/../x", base="main", head="b", title="t", body="")
    assert github.requests == []


def test_promote_open_pr_uses_the_api_with_a_token(cli: Cli, tmp_path: Path, bare: Path, train: Path,
                                                   scratch: Path, github: GitHubStub,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    cli.ok(*REGISTER, "--registry", str(bare))
    git(bare, "update-ref", "refs/heads/main", "modelreg/register-fraud-v1")
    work = tmp_path / "work-clone"
    git(tmp_path, "clone", "--quiet", str(bare), str(work))
    monkeypatch.setenv("GITHUB_REPOSITORY", "acme/registry")
    monkeypatch.setenv("PATH", os.pathsep.join(p for p in os.environ["PATH"].split(os.pathsep)
                                               if not (Path(p) / "gh").exists()))
    out = cli.ok("-C", str(work), "promote", "fraud", "1", "--to", "staging", "--open-pr").out
    assert "https://github.com/acme/registry/pull/1" in out
    [created] = github.created
    assert created["head"] == "modelreg/promote-fraud" and created["base"] == "main"
    assert "## modelreg check" in created["body"]


def _manifest(bare: Path, branch: str, model: str, number: int) -> dict[str, Any]:
    from modelreg.formats import yamlio

    text = git(bare, "show", f"{branch}:registry/{model}/v{number}/version.yaml")
    data = yamlio.loads(text, "version.yaml")
    assert isinstance(data, dict)
    return data


def test_promote_open_pr_says_the_branch_is_pushed_when_the_api_fails(
        cli: Cli, tmp_path: Path, bare: Path, train: Path, scratch: Path, github: GitHubStub,
        monkeypatch: pytest.MonkeyPatch) -> None:
    cli.ok(*REGISTER, "--registry", str(bare))
    git(bare, "update-ref", "refs/heads/main", "modelreg/register-fraud-v1")
    work = tmp_path / "work-clone"
    git(tmp_path, "clone", "--quiet", str(bare), str(work))
    monkeypatch.setenv("GITHUB_REPOSITORY", "acme/registry")
    github.fail("/repos/acme/registry/pulls", 403, body={"message": "Resource not accessible by integration"})
    err = cli.fails("-C", str(work), "promote", "fraud", "1", "--to", "staging", "--open-pr", code=4).err
    assert "pushed branch modelreg/promote-fraud, but the pull request was not opened" in err
    assert "Resource not accessible by integration" in err and "pull-requests: write" in err
    assert len(err.strip().splitlines()) == 1


def test_open_pr_needs_a_repository_it_can_name(cli: Cli, tmp_path: Path, train: Path, scratch: Path,
                                                github: GitHubStub) -> None:
    err = cli.fails(*REGISTER, "--registry", "file:///registry.git", "--open-pr").err
    assert "cannot tell the GitHub repository of 'file:///registry.git'" in err and "--repo" in err
    assert github.requests == [] and list(scratch.iterdir()) == []


def test_a_bad_api_url_stops_before_anything(cli: Cli, bare: Path, train: Path, scratch: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    monkeypatch.setenv("GITHUB_API_URL", "ftp://example.com")
    err = cli.fails(*REGISTER, "--registry", str(bare), "--open-pr", "--repo", "acme/registry").err
    assert "GITHUB_API_URL" in err
    assert branches(bare) == ["main"] and list(scratch.iterdir()) == []


def test_an_answer_without_a_url_deletes_the_branch(cli: Cli, bare: Path, train: Path, scratch: Path,
                                                    github: GitHubStub) -> None:
    github.fail("/repos/acme/registry/pulls", 201, body={"number": 1})
    err = cli.fails(*REGISTER, "--registry", str(bare), "--open-pr", "--repo", "acme/registry", code=4).err
    assert "`html_url` is missing" in err and "has been deleted again" in err
    assert branches(bare) == ["main"] and list(scratch.iterdir()) == []


def test_a_job_cancelled_while_the_pull_request_opens_leaves_no_branch(
        bare: Path, train: Path, scratch: Path, github: GitHubStub) -> None:
    import signal
    import subprocess
    import sys
    import time

    github.fail("/repos/acme/registry/pulls", 201, body={"html_url": "https://x/1"}, delay=8)
    proc = subprocess.Popen([sys.executable, "-m", "modelreg", *REGISTER, "--registry", str(bare),
                             "--open-pr", "--repo", "acme/registry"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    ends = time.monotonic() + 120
    while "POST" not in [r.method for r in github.requests] and proc.poll() is None \
            and time.monotonic() < ends:
        time.sleep(0.05)
    assert branches(bare) == ["main", "modelreg/register-fraud-v1"], proc.communicate()
    proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=60)
    assert proc.returncode == 128 + signal.SIGTERM
    assert branches(bare) == ["main"] and list(scratch.iterdir()) == []


def _after_push(tmp_path: Path, script: str) -> Path:
    """A ``git`` that runs ``script`` after the push of the branch (not after its deletion)."""
    return _git_running_after(tmp_path, "git-after-push", '*" HEAD:refs/heads/"*', script)


def test_a_push_that_times_out_after_landing_takes_the_branch_back(
        cli: Cli, tmp_path: Path, bare: Path, train: Path, scratch: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The server took the branch, then the answer never came: the branch is deleted again (with a
    lease on our commit), not left behind without its pull request."""
    wrapper = _after_push(tmp_path, "sleep 60")
    monkeypatch.setenv("PATH", f"{wrapper}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("MODELREG_GIT_TIMEOUT", "15")
    err = cli.fails(*REGISTER, "--registry", str(bare), code=4).err
    assert "got no complete answer from the remote" in err
    assert branches(bare) == ["main"] and list(scratch.iterdir()) == []


@pytest.mark.parametrize("signame", ["SIGINT", "SIGTERM"])
def test_a_job_stopped_during_the_push_takes_the_branch_back(tmp_path: Path, bare: Path, train: Path,
                                                            scratch: Path, signame: str) -> None:
    import signal
    import subprocess
    import sys
    import time

    pushed = tmp_path / "pushed"
    wrapper = _after_push(tmp_path, f'touch "{pushed}"; sleep 30')
    proc = subprocess.Popen([sys.executable, "-m", "modelreg", *REGISTER, "--registry", str(bare)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PATH": f"{wrapper}{os.pathsep}{os.environ['PATH']}"})
    ends = time.monotonic() + 120
    while not pushed.exists() and proc.poll() is None and time.monotonic() < ends:
        time.sleep(0.05)
    assert branches(bare) == ["main", "modelreg/register-fraud-v1"], proc.communicate()
    signum = getattr(signal, signame)
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + signum, err
    assert len(err.strip().splitlines()) == 1, err
    assert f"stopped by {signame}" in err and "has been deleted again" in err
    assert branches(bare) == ["main"] and list(scratch.iterdir()) == []


def test_a_pull_request_opened_though_its_answer_was_lost_is_reported(
        cli: Cli, bare: Path, train: Path, scratch: Path, github: GitHubStub) -> None:
    """GitHub opened the pull request but its answer could not be read: it is found (an open pull
    request from the branch) and reported, not closed by deleting its branch."""
    github.add_pull("acme/registry", 5, author="bot", head_sha="0" * 40)["head"]["ref"] = \
        "modelreg/register-fraud-v1"  # what GitHub did with the POST below
    github.fail("/repos/acme/registry/pulls", 201, body="{not json", times=1)
    out = cli.ok(*REGISTER, "--registry", str(bare), "--open-pr", "--repo", "acme/registry").out
    assert "https://github.com/acme/registry/pull/5" in out
    assert branches(bare) == ["main", "modelreg/register-fraud-v1"] and list(scratch.iterdir()) == []
