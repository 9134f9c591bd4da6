"""The install line the workflows carry: what ``init`` writes for each way modelreg can be installed,
what it says when no runner can install it, and the gate's warnings (``formats/install.py``).

The real installs (a wheel, a git URL, then ``uv pip install`` of the line init wrote) are in
tests/test_packaging.py; here, the decisions on the ``direct_url.json`` an installer records, and
the running modelreg as the tests run it (a source tree on the path).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from modelreg import __version__
from modelreg.edges.installed import Installed, running
from modelreg.formats import install
from modelreg.formats.models import RegistryConfig
from modelreg.write import workflows
from tests.helpers import Cli, commit_all, regenerate_workflows

COMMIT = "0123456789abcdef0123456789abcdef01234567"


def line(version: str, direct: dict[str, object] | None) -> install.InstallLine:
    return install.default(Installed(version, direct))


def test_a_release_from_an_index_is_pinned_and_served() -> None:
    assert line("0.2.0", None) == install.InstallLine("modelreg[sign]==0.2.0")
    assert line("1.0.0rc1", None).unserved is None  # indexes serve pre-releases


@pytest.mark.parametrize("version", ["0.2.1.dev3+gabc1234", "0.2.1.dev3", "0.2.0+local"])
def test_a_development_build_is_pinned_but_said_unserved(version: str) -> None:
    got = line(version, None)
    assert got.requirement == f"modelreg[sign]=={version}"
    assert got.unserved == f"{version} is a development build, not a release"
    assert got.advice is not None and "git URL at a tag or commit" in got.advice
    assert "https URL of a wheel" in got.advice


def test_a_git_install_is_written_at_its_exact_commit() -> None:
    got = line("0.2.1.dev3+gabc1234", {"url": "https://github.com/acme/modelreg.git",
                                       "vcs_info": {"vcs": "git", "commit_id": COMMIT,
                                                    "requested_revision": "main"}})
    assert got == install.InstallLine(f"modelreg[sign] @ git+https://github.com/acme/modelreg.git@{COMMIT}")


def test_a_git_install_in_a_subdirectory_keeps_it() -> None:
    got = line("0.2.0", {"url": "https://example.com/mono.git", "subdirectory": "tools/modelreg",
                         "vcs_info": {"vcs": "git", "commit_id": COMMIT}})
    assert got.requirement == f"modelreg[sign] @ git+https://example.com/mono.git@{COMMIT}#subdirectory=tools/modelreg"


def test_credentials_in_the_installed_url_never_reach_the_workflow() -> None:
    got = line("0.2.0", {"url": "https://x-access-token:ghp_SECRET@github.com/acme/modelreg.git",
                         "vcs_info": {"vcs": "git", "commit_id": COMMIT}})
    assert "SECRET" not in got.requirement and "x-access-token" not in got.requirement
    assert got.requirement == f"modelreg[sign] @ git+https://github.com/acme/modelreg.git@{COMMIT}"
    wheel = line("0.2.0", {"url": "https://user:pw@files.example.com/modelreg-0.2.0-py3-none-any.whl",
                           "archive_info": {}})
    assert wheel.requirement == "modelreg[sign] @ https://files.example.com/modelreg-0.2.0-py3-none-any.whl"
    # an ssh URL's `git@` is a user name, kept
    ssh = line("0.2.0", {"url": "ssh://git@github.com/acme/modelreg.git",
                         "vcs_info": {"vcs": "git", "commit_id": COMMIT}})
    assert ssh.requirement == f"modelreg[sign] @ git+ssh://git@github.com/acme/modelreg.git@{COMMIT}"


def test_a_url_that_cannot_go_into_a_workflow_falls_back_to_the_pin() -> None:
    got = line("0.2.0", {"url": 'https://example.com/a"b/${{ secrets.X }}.git',
                         "vcs_info": {"vcs": "git", "commit_id": COMMIT}})
    assert got.requirement == "modelreg[sign]==0.2.0"
    assert got.unserved is not None


def test_a_local_git_clone_is_exact_but_said_unreachable() -> None:
    got = line("0.2.0", {"url": "file:///home/me/modelreg", "vcs_info": {"vcs": "git", "commit_id": COMMIT}})
    assert got.requirement == f"modelreg[sign] @ git+file:///home/me/modelreg@{COMMIT}"
    assert got.unserved == "it names a git URL on this machine, which no runner can reach"


def test_a_wheel_url_is_written_and_a_local_wheel_is_pinned() -> None:
    url = "https://files.example.com/modelreg-0.2.0-py3-none-any.whl"
    assert line("0.2.0", {"url": url, "archive_info": {"hashes": {}}}) == install.InstallLine(
        f"modelreg[sign] @ {url}")
    local = line("0.2.0", {"url": "file:///tmp/dist/modelreg-0.2.0-py3-none-any.whl", "archive_info": {}})
    assert local.requirement == "modelreg[sign]==0.2.0"
    assert local.unserved == ("this modelreg was installed from the file "
                              "/tmp/dist/modelreg-0.2.0-py3-none-any.whl")


@pytest.mark.parametrize(("info", "what"), [({"editable": True}, "an editable checkout"),
                                            ({}, "the directory")])
def test_a_directory_install_is_pinned_and_said_unserved(info: dict[str, object], what: str) -> None:
    got = line("0.2.0", {"url": "file:///home/me/modelreg", "dir_info": info})
    assert got == install.InstallLine("modelreg[sign]==0.2.0",
                                      f"this modelreg was installed from {what} /home/me/modelreg")


def test_the_tests_run_modelreg_from_a_source_tree_or_an_editable_checkout() -> None:
    # scripts/test installs this checkout editable; a developer may put src/ on the path over
    # another install: either way no index serves the code that runs, and the line says so
    here = running()
    editable = (here.direct_url or {}).get("dir_info", {}).get("editable") is True
    assert (here.source_tree is not None or editable) and not here.from_index
    got = workflows.default_install()
    assert got.requirement == f"modelreg[sign]=={__version__}"
    checkout = Path(__file__).resolve().parents[1]
    assert got.unserved == (f"this modelreg runs from {here.source_tree}" if here.source_tree else
                            f"this modelreg was installed from an editable checkout {checkout}")
    assert workflows.install_requirement(RegistryConfig()) == got.requirement


@pytest.mark.parametrize(("requirement", "version"), [
    ("modelreg[sign]==0.2.0", "0.2.0"), ("modelreg === 0.3.1", "0.3.1"), ("modelreg<0.4", "0.4"),
    ("modelreg[sign] @ git+https://github.com/acme/modelreg@v0.2.1", "0.2.1"),
    ("modelreg @ https://example.com/dist/modelreg-0.2.0-py3-none-any.whl", "0.2.0"),
    ("modelreg @ https://example.com/dist/modelreg-0.2.0.tar.gz", "0.2.0"),
    (f"modelreg @ git+https://github.com/acme/modelreg@{COMMIT}", None),
    ("modelreg>=0.2", None), ("modelreg", None)])
def test_the_version_a_line_names(requirement: str, version: str | None) -> None:
    assert install.named_version(requirement) == version


def test_versions_order_as_pep_440_says() -> None:
    assert install.older("0.1.0", "0.2.0") and install.older("0.2.0.dev5", "0.2.0")
    assert install.older("0.2.0rc1", "0.2.0") and install.older("0.2.0.dev1", "0.2.0rc1")
    assert not install.older("0.2", "0.2.0") and not install.older("0.2.0.post1", "0.2.0")
    assert not install.older("1.0.0", "0.2.0") and not install.older("nonsense", "0.2.0")


# The gate's warnings: notes, never failures.


def notes(cli: Cli, root: Path) -> list[str]:
    report = cli.ok("-C", str(root), "check", "--all", "--format", "json").json
    assert report["passed"]
    return list(report["notes"])


def test_init_says_when_no_runner_can_install_what_it_wrote(tmp_path: Path, cli: Cli) -> None:
    out = cli.ok("init", str(tmp_path / "reg")).out
    assert (f"Note: the workflows install modelreg[sign]=={__version__}, which no package index serves: "
            "this modelreg ") in out
    assert "runs from the source tree" in out or "was installed from an editable checkout" in out
    assert "set `install:` in modelreg.yaml to a git URL at a tag or commit" in out
    # with install set, the user chose: nothing to say
    other = tmp_path / "other"
    other.mkdir()
    (other / "modelreg.yaml").write_text('install: "modelreg[sign] @ https://example.com/modelreg-0.2.0-py3-none-any.whl"\n')
    assert "Note: the workflows" not in cli.ok("init", str(other)).out


def test_the_gate_warns_while_install_is_unset(registry: Path, cli: Cli) -> None:
    found = notes(cli, registry)
    # a release number: only where the running modelreg came from tells (here, a source tree)
    why = ("this modelreg runs from the source tree" if install.is_release(__version__)
           else f"{__version__} is a development build, not a release")
    assert [n for n in found if workflows.GATE_PATH in n and f"install modelreg[sign]=={__version__}, which "
            f"no package index serves: {why}" in n], found


def test_the_gate_warns_of_a_development_build_or_a_local_url(registry: Path, cli: Cli) -> None:
    path = registry / workflows.GATE_PATH
    # a line edited by hand: the file is the user's now (else the gate fails it as stale)
    text = "# modelreg: hand-maintained\n" + path.read_text()
    pinned = f'MODELREG_INSTALL: "modelreg[sign]=={__version__}"'
    path.write_text(text.replace(pinned, 'MODELREG_INSTALL: "modelreg[sign]==0.3.0.dev2+g1234abc"'))
    commit_all(registry, "a dev build")
    assert any("0.3.0.dev2+g1234abc is a development build, not a release" in n for n in notes(cli, registry))
    path.write_text(text.replace(pinned, f'MODELREG_INSTALL: "modelreg @ git+file:///home/me/modelreg@{COMMIT}"'))
    commit_all(registry, "a local clone")
    assert any("it names a file: URL, on one machine only" in n for n in notes(cli, registry))


def test_the_gate_says_nothing_of_a_line_a_runner_can_install(registry: Path, cli: Cli) -> None:
    config = registry / "modelreg.yaml"
    doc = yaml.safe_load(config.read_text())
    doc["install"] = f"modelreg[sign] @ git+https://github.com/acme/modelreg@{COMMIT}"
    config.write_text(yaml.safe_dump(doc))
    regenerate_workflows(registry)
    commit_all(registry, "install from git")
    assert not [n for n in notes(cli, registry) if "install" in n]


@pytest.mark.parametrize(("requirement", "warned"), [
    ("modelreg[sign]==0.1.0", True), ("modelreg[sign] @ git+https://github.com/acme/modelreg@v0.1.9", True),
    ("modelreg[sign]==0.2.0", False), ("modelreg[sign]>=0.1", False)])
def test_the_gate_warns_when_install_is_older_than_the_registry_needs(
        registry: Path, cli: Cli, requirement: str, warned: bool) -> None:
    config = registry / "modelreg.yaml"
    doc = yaml.safe_load(config.read_text())
    doc["install"] = requirement
    config.write_text(yaml.safe_dump(doc))
    regenerate_workflows(registry)
    commit_all(registry, "pin modelreg")
    older = [n for n in notes(cli, registry) if "older than this registry's files need" in n]
    assert bool(older) == warned, older
    if warned:
        assert older[0].startswith("modelreg.yaml: install names modelreg 0.1.")
        assert "0.2.0 is the first release that reads schema_version 1" in older[0]
