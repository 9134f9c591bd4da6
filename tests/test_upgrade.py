"""``modelreg init --upgrade`` and the schema gate's check that generated workflows are current:
real registries (``modelreg init``, real git), the real ``modelreg check`` entry point."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from modelreg.edges.snapshot import WorkTree
from modelreg.formats import models
from modelreg.write import workflows
from tests.helpers import Cli, commit_all, git, snapshot_tree

DEPLOY = workflows.DEPLOY_PATH
GATE = workflows.GATE_PATH
RECONCILE = workflows.RECONCILE_PATH
UPGRADE = "modelreg init --upgrade"
OPEN = "      # --- your steps (gate): kept by modelreg init --upgrade ---\n"
CLOSE = "      # --- end of your steps (gate) ---\n"
ENV_CLOSE = "          # --- end of your env (gate) ---\n"


def config(root: Path) -> models.RegistryConfig:
    return models.load_config(WorkTree(str(root)))


def set_environments(root: Path, environments: dict[str, str], srv: Path) -> None:
    """Environments in modelreg.yaml as a user edits them (name → the alias it serves)."""
    path = root / "modelreg.yaml"
    doc = yaml.safe_load(path.read_text())
    doc["environments"] = {name: {"alias": alias, "targets": [{"type": "directory", "path": str(srv / name)}]}
                           for name, alias in environments.items()}
    path.write_text(yaml.safe_dump(doc, sort_keys=False))


def check(cli: Cli, root: Path, *, passes: bool) -> str:
    args = ("-C", str(root), "check", "--offline", "--gate", "schema")
    result = cli.ok(*args) if passes else cli.fails(*args)
    return result.out


def upgrade(cli: Cli, root: Path, *args: str) -> str:
    return cli.ok("init", str(root), "--upgrade", *args).out


def jobs(root: Path, rel: str) -> list[str]:
    return list(yaml.safe_load((root / rel).read_text())["jobs"])


def edit(root: Path, rel: str, old: str, new: str) -> None:
    path = root / rel
    text = path.read_text()
    assert text.count(old) == 1, (rel, old)
    path.write_text(text.replace(old, new))


def test_a_new_environment_fails_the_gate_until_upgrade_writes_its_deploy_job(
        registry: Path, tmp_path: Path, cli: Cli) -> None:
    check(cli, registry, passes=True)
    git(registry, "switch", "-q", "-c", "serve")
    set_environments(registry, {"production": "production"}, tmp_path)
    commit_all(registry, "Serve production")
    out = cli.fails("-C", str(registry), "check", "--head", "--offline").out
    assert (f"{DEPLOY}: [schema] has no job deploy-production and has the job record that modelreg.yaml no "
            f"longer asks for: it differs from what modelreg") in out
    assert f"run `{UPGRADE}` and commit the result" in out

    out = upgrade(cli, registry)
    assert f"rewrote {DEPLOY}: has no job deploy-production" in out
    assert "+  deploy-production:\n" in out and "-  record:\n" in out  # the diff
    assert f"created {RECONCILE}" in out or f"wrote {RECONCILE}" in out, out
    assert jobs(registry, DEPLOY) == ["deploy-production"]
    assert (registry / DEPLOY).read_text() == workflows.files(config(registry))[DEPLOY]
    commit_all(registry, "modelreg init --upgrade")
    cli.ok("-C", str(registry), "check", "--head", "--offline")

    # A second environment: one more job, the first one's as it was.
    set_environments(registry, {"production": "production", "staging": "staging"}, tmp_path)
    out = check(cli, registry, passes=False)
    assert f"{DEPLOY}: [schema] has no job deploy-staging:" in out
    upgrade(cli, registry)
    assert jobs(registry, DEPLOY) == ["deploy-production", "deploy-staging"]
    check(cli, registry, passes=True)
    assert "nothing changed" in upgrade(cli, registry)


def test_what_the_user_keeps_between_markers_survives_the_upgrade(registry: Path, tmp_path: Path,
                                                                  cli: Cli) -> None:
    step = ("      - name: Install the S3 plugin of DVC\n"
            "        run: $RUNNER_TEMP/uv/bin/uv pip install --python $RUNNER_TEMP/modelreg/bin/python "
            "dvc-s3\n")
    env = "          AWS_ACCESS_KEY_ID: ${{ secrets.AWS_ACCESS_KEY_ID }}  # the DVC remote's\n"
    edit(registry, GATE, CLOSE, f"{step}{CLOSE}")
    edit(registry, GATE, ENV_CLOSE, f"{env}{ENV_CLOSE}")
    edit(registry, DEPLOY, "    runs-on: ubuntu-latest\n", "    runs-on: [self-hosted, serving]\n")
    check(cli, registry, passes=True)  # edits in their places are the user's: the files are current
    set_environments(registry, {"production": "production"}, tmp_path)
    # a newer modelreg's gate (here: another install line) is a difference too
    edit(registry, GATE, f'MODELREG_INSTALL: "{workflows.install_requirement(config(registry))}"',
         'MODELREG_INSTALL: "modelreg[sign]==0.0.9"')

    out = upgrade(cli, registry)
    assert f"rewrote {GATE}" in out
    assert "  kept your steps (gate)\n" in out and "  kept your env (gate)\n" in out
    assert "  dropped your runs-on (record): its job is gone" in out  # the job became deploy-production
    gate = (registry / GATE).read_text()
    assert step in gate and env in gate and "modelreg[sign]==0.0.9" not in gate
    steps = yaml.safe_load(gate)["jobs"]["gate"]["steps"]
    names = [s.get("name") for s in steps]
    assert names.index("Install the S3 plugin of DVC") == names.index("Run the gates") - 1
    assert steps[-1]["env"]["AWS_ACCESS_KEY_ID"] == "${{ secrets.AWS_ACCESS_KEY_ID }}"
    check(cli, registry, passes=True)

    # The runner of a job that stays is kept across upgrades.
    edit(registry, DEPLOY, "    runs-on: ubuntu-latest\n", "    runs-on: [self-hosted, serving]\n")
    set_environments(registry, {"production": "production", "staging": "staging"}, tmp_path)
    out = upgrade(cli, registry)
    assert "  kept your runs-on (deploy-production)\n" in out
    doc = yaml.safe_load((registry / DEPLOY).read_text())["jobs"]
    assert doc["deploy-production"]["runs-on"] == ["self-hosted", "serving"]
    assert doc["deploy-staging"]["runs-on"] == "ubuntu-latest"


def test_edits_outside_the_markers_fail_the_gate_and_are_replaced_saying_so(registry: Path, cli: Cli) -> None:
    edit(registry, GATE, "    timeout-minutes: 30\n", "    timeout-minutes: 45\n")
    out = check(cli, registry, passes=False)
    assert f"{GATE}: [schema] differs from what modelreg" in out and UPGRADE in out

    before = snapshot_tree(registry)
    out = upgrade(cli, registry, "--dry-run")
    assert snapshot_tree(registry) == before  # --dry-run writes nothing
    assert f"would rewrite {GATE}" in out and "Nothing written (--dry-run)." in out
    assert "edits of yours there are replaced" in out
    assert "-    timeout-minutes: 45\n+    timeout-minutes: 30\n" in out
    result = cli.ok("init", str(registry), "--upgrade", "--dry-run", "--json").json
    assert snapshot_tree(registry) == before
    assert result["dry_run"] is True and result["written"] is False
    [change] = result["files"]
    assert (change["path"], change["action"]) == (GATE, "update")
    assert "+    timeout-minutes: 30\n" in change["diff"]

    result = cli.ok("init", str(registry), "--upgrade", "--json").json
    assert result["written"] is True and [f["path"] for f in result["files"]] == [GATE]
    assert "timeout-minutes: 30\n" in (registry / GATE).read_text()
    check(cli, registry, passes=True)


@pytest.mark.parametrize(("change", "offset", "message"), [
    ((ENV_CLOSE, ""), 5, "opens `your env (gate)`, which is never closed"),
    ((OPEN, ""), 0, "closes `your steps (gate)`, which is not open here"),
    ((CLOSE, CLOSE.replace("(gate)", "(approval)")), 1,
     "closes `your steps (approval)`, which is not open here (`your steps (gate)` is, since line {open})"),
    ((CLOSE, CLOSE.replace("your", "you")), 1,
     "looks like a marker of a kept region but is not one modelreg reads"),
    ((CLOSE, CLOSE + OPEN + CLOSE), 2, "opens `your steps (gate)` a second time"),
    ((OPEN, OPEN + "      # --- your env (gate): kept by modelreg init --upgrade ---\n"), 1,
     "opens `your env (gate)` inside `your steps (gate)` (line {open}), which is not closed"),
])
def test_markers_that_are_not_whole_are_a_clear_error_and_nothing_is_written(
        registry: Path, cli: Cli, change: tuple[str, str], offset: int, message: str) -> None:
    opening = (registry / GATE).read_text().splitlines(keepends=True).index(OPEN) + 1
    line, message = opening + offset, message.format(open=opening)
    edit(registry, GATE, *change)
    (registry / "schemas/model.schema.json").write_text("{}\n")  # stale too: still not written
    before = snapshot_tree(registry)
    out = check(cli, registry, passes=False)
    assert f"{GATE}:{line}: [schema] {message}; each `# --- your NAME (JOB)" in out
    err = cli.fails("init", str(registry), "--upgrade").err
    assert err.startswith(f"error: {GATE}:{line}: {message}") and len(err.strip().splitlines()) == 1, err
    assert snapshot_tree(registry) == before


def test_a_workflow_the_registry_lacks_is_not_demanded_nor_written(registry: Path, tmp_path: Path,
                                                                    cli: Cli) -> None:
    (registry / workflows.APPROVAL_PATH).unlink()
    check(cli, registry, passes=True)
    out = upgrade(cli, registry)
    assert f"not written {workflows.APPROVAL_PATH}" in out and "nothing changed" in out
    assert not (registry / workflows.APPROVAL_PATH).exists()
    # Environments with no deploy workflow: not a failure (deploying otherwise is a choice), but said.
    (registry / DEPLOY).unlink()
    set_environments(registry, {"production": "production"}, tmp_path)
    out = check(cli, registry, passes=True)
    assert f"modelreg.yaml has environments but there is no {DEPLOY}: a merge deploys nothing" in out


def test_a_hand_maintained_workflow_is_left_alone_and_the_report_says_so(registry: Path, tmp_path: Path,
                                                                         cli: Cli) -> None:
    text = (registry / DEPLOY).read_text()
    mine = "\n# modelreg: hand-maintained (our own deploy job)\n" + text.replace("timeout-minutes: 60",
                                                                              "timeout-minutes: 5")
    (registry / DEPLOY).write_text(mine)
    set_environments(registry, {"production": "production"}, tmp_path)
    out = check(cli, registry, passes=True)
    assert f"{DEPLOY} is hand-maintained (its first lines say so): not compared" in out
    out = upgrade(cli, registry)
    assert f"left alone {DEPLOY}: it is hand-maintained" in out
    assert (registry / DEPLOY).read_text() == mine


def test_crlf_line_ends_are_the_same_file(registry: Path, cli: Cli) -> None:
    schemas = sorted(str(p.relative_to(registry)) for p in (registry / "schemas").glob("*.schema.json"))
    assert schemas
    for rel in (GATE, DEPLOY, *schemas):
        path = registry / rel
        path.write_bytes(path.read_bytes().replace(b"\n", b"\r\n"))
    before = snapshot_tree(registry)
    check(cli, registry, passes=True)
    assert "nothing changed" in upgrade(cli, registry)
    assert snapshot_tree(registry) == before


def test_the_reconcile_workflow_comes_with_the_first_environment_and_goes_with_the_last(
        registry: Path, tmp_path: Path, cli: Cli) -> None:
    set_environments(registry, {"production": "production"}, tmp_path)
    out = upgrade(cli, registry)  # the first environment brings the reconcile workflow
    assert f"{RECONCILE}" in out and "is missing: modelreg.yaml has environments" in out
    assert jobs(registry, RECONCILE) == ["reconcile-production"]
    check(cli, registry, passes=True)
    set_environments(registry, {}, tmp_path)
    out = check(cli, registry, passes=False)
    assert f"{RECONCILE}: [schema] runs jobs for environments that modelreg.yaml no longer has" in out
    out = upgrade(cli, registry)
    assert f"deleted {RECONCILE}" in out and not (registry / RECONCILE).exists()
    assert jobs(registry, DEPLOY) == ["record"]
    check(cli, registry, passes=True)


def test_stale_schemas_and_codeowners_are_upgraded_too(registry: Path, cli: Cli) -> None:
    (registry / "schemas/model.schema.json").write_text("{}\n")
    (registry / "schemas/policy.schema.json").unlink()
    out = check(cli, registry, passes=False)
    assert f"schemas/model.schema.json: [schema] is missing or differs from what this modelreg generates; " \
           f"run `{UPGRADE}` and commit the result" in out
    doc = yaml.safe_load((registry / "modelreg.yaml").read_text())
    (registry / "modelreg.yaml").write_text(yaml.safe_dump({**doc, "admins": ["@acme/ml-platform"]}))
    out = upgrade(cli, registry)
    assert "rewrote schemas/model.schema.json" in out and "rewrote .github/CODEOWNERS: differs" in out
    assert "created schemas/policy.schema.json: is missing" in out
    assert (registry / "schemas/model.schema.json").read_text() == models.json_schema_text("model")
    assert "@acme/ml-platform" in (registry / ".github/CODEOWNERS").read_text()
    check(cli, registry, passes=True)


def test_a_failed_write_leaves_every_file_as_it_was(registry: Path, tmp_path: Path, cli: Cli) -> None:
    set_environments(registry, {"production": "production"}, tmp_path)
    (registry / "schemas/model.schema.json").write_text("{}\n")
    # CODEOWNERS, written last, cannot be: a directory stands where the file goes.
    codeowners = registry / ".github/CODEOWNERS"
    if codeowners.exists():
        codeowners.unlink()
    codeowners.mkdir()
    (registry / "modelreg.yaml").write_text((registry / "modelreg.yaml").read_text().replace(
        "admins: []", "admins: ['@acme/ml-platform']"))
    before = snapshot_tree(registry)
    err = cli.fails("init", str(registry), "--upgrade").err
    assert "cannot write" in err and "every file is as it was" in err
    assert snapshot_tree(registry) == before
    assert not [p for p in (registry / ".github").rglob("*") if p.name.startswith(".modelreg-")]


@pytest.mark.parametrize("inside", [False, True])
def test_a_linked_github_directory_is_refused(registry: Path, tmp_path: Path, cli: Cli, inside: bool) -> None:
    elsewhere = registry / "shadow" if inside else tmp_path / "elsewhere"
    (registry / ".github").rename(elsewhere)
    (registry / ".github").symlink_to(elsewhere)
    edit(registry, GATE, "    timeout-minutes: 30\n", "    timeout-minutes: 45\n")
    before = (elsewhere / "workflows/modelreg-gate.yml").read_text()
    err = cli.fails("init", str(registry), "--upgrade").err
    assert err.startswith("error: .github") and "symbolic link" in err
    assert (elsewhere / "workflows/modelreg-gate.yml").read_text() == before


def test_upgrade_needs_a_registry_and_refuses_init_options(tmp_path: Path, registry: Path, cli: Cli) -> None:
    err = cli.fails("init", str(tmp_path / "nothing"), "--upgrade").err
    assert "is not a registry (no modelreg.yaml)" in err and not (tmp_path / "nothing").exists()
    cli.fails("init", str(registry), "--upgrade", "--remote", "s3://x/y", code=2)
    cli.fails("init", str(registry), "--dry-run", code=2)


def test_the_python_api_upgrades_as_the_command_does(registry: Path, tmp_path: Path) -> None:
    from modelreg import Registry

    set_environments(registry, {"production": "production"}, tmp_path)
    with Registry(registry) as reg:
        assert not reg.check(offline=True, gates=["schema"]).passed
        planned = reg.upgrade(dry_run=True)
        assert [(f.path, f.action) for f in planned.files] == [(DEPLOY, "update"), (RECONCILE, "create")]
        assert "+  deploy-production:\n" in planned.files[0].diff()
        assert jobs(registry, DEPLOY) == ["record"]  # nothing written
        assert reg.upgrade().to_dict()["written"] is True
        assert jobs(registry, DEPLOY) == ["deploy-production"]
        assert reg.check(offline=True, gates=["schema"]).passed


def test_plain_init_on_a_stale_registry_points_at_the_upgrade(registry: Path, tmp_path: Path,
                                                               cli: Cli) -> None:
    assert "generated file" not in cli.ok("init", str(registry)).out
    set_environments(registry, {"production": "production"}, tmp_path)
    out = cli.ok("init", str(registry)).out  # writes the missing reconcile workflow, not the stale deploy one
    assert f"created {RECONCILE}" in out
    assert (f"1 generated file(s) differ from what this modelreg writes ({DEPLOY}): "
            "`modelreg init --upgrade --dry-run` shows the diff.") in out
    assert jobs(registry, DEPLOY) == ["record"]


def test_a_changed_install_rewrites_every_workflow_the_pages_one_included(registry: Path, cli: Cli) -> None:
    from modelreg.write import site_workflow

    cli.ok("init", str(registry), "--site-workflow")
    close = "      # --- end of your steps (build) ---\n"
    step = "      - name: Say hello\n        run: echo hello\n"
    edit(registry, site_workflow.PATH, close, f"{step}{close}")
    check(cli, registry, passes=True)
    wheel = "https://files.example.com/modelreg-0.1.0-py3-none-any.whl"
    (registry / "modelreg.yaml").write_text(
        (registry / "modelreg.yaml").read_text().replace("install: null", f"install: {wheel}"))
    out = check(cli, registry, passes=False)
    for rel in (GATE, workflows.APPROVAL_PATH, DEPLOY, site_workflow.PATH):
        assert f"{rel}: [schema] differs from what modelreg" in out
    out = upgrade(cli, registry)
    assert "  kept your steps (build)\n" in out
    for rel in (GATE, workflows.APPROVAL_PATH, DEPLOY, site_workflow.PATH):
        assert f'MODELREG_INSTALL: "{wheel}"' in (registry / rel).read_text()
    assert step in (registry / site_workflow.PATH).read_text()
    check(cli, registry, passes=True)


def test_kept_lines_that_break_the_yaml_are_refused_before_a_byte_is_written(registry: Path, tmp_path: Path,
                                                                              cli: Cli) -> None:
    edit(registry, GATE, CLOSE, f"    - name: badly indented\n{CLOSE}")
    edit(registry, GATE, "    timeout-minutes: 30\n", "    timeout-minutes: 45\n")  # so the file is rewritten
    set_environments(registry, {"production": "production"}, tmp_path)  # and another one with it
    before = snapshot_tree(registry)
    err = cli.fails("init", str(registry), "--upgrade").err
    assert err.startswith(f"error: {GATE}: would not be valid YAML with the lines kept between its markers "
                          "(line "), err
    assert snapshot_tree(registry) == before
    out = check(cli, registry, passes=False)
    assert f"{GATE}: [schema] would not be valid YAML" in out
    assert f"{DEPLOY}: [schema] has no job deploy-production" in out  # each file is reported
