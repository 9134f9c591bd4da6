"""Every read command: list, show, resolve, history, diff, search; --json and --at on each."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.helpers import Cli, Scenarios, commit_all, copy_scenario, git, register, set_aliases


@pytest.fixture
def populated(scenarios: Scenarios, tmp_path: Path, cli: Cli) -> Path:
    """fraud-detector v1..v3 (v2 production, v3 staging, v1 archived) and churn v1, all committed:
    built once per session, a private copy."""
    return copy_scenario(scenarios.on_registry("populated", cli, _populate), tmp_path)


def _populate(cli: Cli, registry: Path, workdir: Path) -> None:
    register(cli, registry, workdir, "fraud-detector", "--tag", "team=fraud",
             metrics={"roc_auc": 0.95, "f1": 0.70}, seed=1)
    commit_all(registry, "Register fraud-detector v1", date="2026-11-01T10:00:00Z")
    register(cli, registry, workdir, "fraud-detector", "--tag", "team=fraud", "--param", "max_depth=6",
             metrics={"roc_auc": 0.97, "f1": 0.78}, seed=2)
    set_aliases(registry, "fraud-detector", {"production": 2})
    commit_all(registry, "Promote fraud-detector v2 (#12)", date="2026-11-05T10:00:00Z")
    git(registry, "tag", "release-1")
    register(cli, registry, workdir, "fraud-detector", "--tag", "team=fraud", "--param", "max_depth=8",
             metrics={"roc_auc": 0.975, "f1": 0.80}, seed=3)
    set_aliases(registry, "fraud-detector", {"production": 2, "staging": 3, "champion": 2}, archived=[1])
    commit_all(registry, "Merge pull request #15 from acme/fraud-v3", date="2026-11-10T10:00:00Z")
    register(cli, registry, workdir, "churn", "--tag", "team=growth", metrics={"roc_auc": 0.81}, seed=4)
    commit_all(registry, "Register churn v1", date="2026-11-12T10:00:00Z")


def test_list(populated: Path, cli: Cli) -> None:
    rows = cli.ok("-C", str(populated), "list", "--json").json
    by_name = {r["name"]: r for r in rows}
    assert set(by_name) == {"churn", "fraud-detector"}
    assert by_name["fraud-detector"]["aliases"] == {"production": 2, "staging": 3, "champion": 2}
    assert by_name["fraud-detector"]["latest"] == 3
    assert by_name["fraud-detector"]["versions"] == 3
    text = cli.ok("-C", str(populated), "list").out
    assert "production=v2" in text and "churn" in text


def test_list_filters(populated: Path, cli: Cli) -> None:
    assert [r["name"] for r in cli.ok("-C", str(populated), "list", "--alias", "production", "--json").json] \
        == ["fraud-detector"]
    assert [r["name"] for r in cli.ok("-C", str(populated), "list", "--tag", "team=growth", "--json").json] \
        == ["churn"]
    assert "No models match" in cli.ok("-C", str(populated), "list", "--tag", "team=nobody").out


def test_show_model_derives_stage_and_approval(populated: Path, cli: Cli) -> None:
    data = cli.ok("-C", str(populated), "show", "fraud-detector", "--json").json
    versions = {v["version"]: v for v in data["versions"]}
    assert (versions[1]["stage"], versions[1]["approval"]) == ("Archived", "PendingManualApproval")
    assert (versions[2]["stage"], versions[2]["approval"]) == ("Production", "Approved")
    assert (versions[3]["stage"], versions[3]["approval"]) == ("Staging", "Approved")
    assert versions[2]["aliases"] == ["champion", "production"]
    text = cli.ok("-C", str(populated), "show", "fraud-detector").out
    assert "Production" in text and "ROC_AUC" in text


def test_show_rejected_version(populated: Path, cli: Cli) -> None:
    set_aliases(populated, "fraud-detector", {"production": 2},
                rejected=[{"version": 3, "reason": "failed bias review"}])
    data = cli.ok("-C", str(populated), "show", "fraud-detector", "--json").json
    assert data["versions"][2]["approval"] == "Rejected"
    assert "v3 rejected: failed bias review" in cli.ok("-C", str(populated), "show", "fraud-detector").out


@pytest.mark.parametrize(("target", "version"), [("fraud-detector/3", 3), ("fraud-detector@champion", 2),
                                                  ("models:/fraud-detector/latest", 3)])
def test_show_one_version(populated: Path, cli: Cli, target: str, version: int) -> None:
    data = cli.ok("-C", str(populated), "show", target, "--json").json
    assert data["version"] == version
    assert data["manifest"]["model"] == "fraud-detector"
    assert "artifact:" in cli.ok("-C", str(populated), "show", target).out


@pytest.mark.parametrize(("uri", "version"), [
    ("models:/fraud-detector/2", 2), ("models:/fraud-detector@production", 2),
    ("models:/fraud-detector/latest", 3), ("models:/fraud-detector/Production", 2),
    ("models:/fraud-detector/staging", 3), ("fraud-detector/v1", 1), ("fraud-detector@champion", 2),
])
def test_resolve(populated: Path, cli: Cli, uri: str, version: int) -> None:
    data = cli.ok("-C", str(populated), "resolve", uri, "--json").json
    assert data["version"] == version
    md5 = data["artifact"]["md5"]
    assert data["remote"]["location"] == f"{populated}/.modelreg/remote/files/md5/{md5[:2]}/{md5[2:]}"
    assert Path(data["remote"]["location"]).is_file()
    assert len(data["artifact"]["sha256"]) == 64


def test_latest_skips_archived_and_rejected(populated: Path, cli: Cli) -> None:
    set_aliases(populated, "fraud-detector", {}, archived=[1],
                rejected=[{"version": 3, "reason": "leaks labels"}])
    assert cli.ok("-C", str(populated), "resolve", "fraud-detector/latest", "--json").json["version"] == 2


@pytest.mark.parametrize(("uri", "message"), [
    ("models:/nope/1", "no model named 'nope'"),
    ("models:/fraud-detector/9", "has no version 9"),
    ("models:/fraud-detector@canary", "has no alias 'canary' (aliases: champion, production, staging)"),
    ("models:/fraud-detector", "names a model but not a version"),
    ("models:/../etc/1", "is not a model URI"),
    ("models:/Fraud/1", "not a valid model name"),
    ("models:/fraud-detector/0", "versions start at 1"),
])
def test_resolve_errors(populated: Path, cli: Cli, uri: str, message: str) -> None:
    result = cli.fails("-C", str(populated), "resolve", uri)
    assert message in result.err
    assert len(result.err.strip().splitlines()) == 1


@pytest.mark.parametrize("at", ["release-1", "HEAD~2", "2026-11-06"])
def test_at_revision_reads_the_past(populated: Path, cli: Cli, at: str) -> None:
    # At release-1 (= HEAD~2 = the last commit before 6 November) v3 did not exist.
    data = cli.ok("-C", str(populated), "resolve", "fraud-detector/latest", "--at", at, "--json").json
    assert data["version"] == 2
    assert data["commit"] == git(populated, "rev-parse", "release-1").strip()
    assert cli.fails("-C", str(populated), "show", "fraud-detector/3", "--at", at).code == 1
    models = [r["name"] for r in cli.ok("-C", str(populated), "list", "--at", at, "--json").json]
    assert models == ["fraud-detector"]


def test_at_does_not_touch_the_work_tree(populated: Path, cli: Cli) -> None:
    (populated / "registry/fraud-detector/v3/version.yaml").write_text("garbage: [")
    status = git(populated, "status", "--porcelain")
    data = cli.ok("-C", str(populated), "show", "fraud-detector/3", "--at", "HEAD", "--json").json
    assert data["manifest"]["version"] == 3
    assert git(populated, "status", "--porcelain") == status
    result = cli.fails("-C", str(populated), "show", "fraud-detector/3")
    assert "registry/fraud-detector/v3/version.yaml:2: " in result.err


@pytest.mark.parametrize(("at", "message"), [("no-such-branch", "unknown revision 'no-such-branch'"),
                                             ("1999-01-01", "no commit on HEAD at or before 1999-01-01")])
def test_bad_revisions(populated: Path, cli: Cli, at: str, message: str) -> None:
    assert message in cli.fails("-C", str(populated), "list", "--at", at).err


def test_history(populated: Path, cli: Cli) -> None:
    events = cli.ok("-C", str(populated), "history", "fraud-detector", "--json").json
    summary = [(e["kind"], e["version"], e["alias"], e["previous"], e["pr"]) for e in events]
    assert summary == [
        ("registered", 3, None, None, 15),
        ("alias", 2, "champion", None, 15),
        ("alias", 3, "staging", None, 15),
        ("archived", 1, None, None, 15),
        ("registered", 2, None, None, 12),
        ("alias", 2, "production", None, 12),
        ("registered", 1, None, None, None),
    ]
    assert events[0]["author"] == "Alice Example"
    assert events[-1]["date"].startswith("2026-11-01")
    text = cli.ok("-C", str(populated), "history", "fraud-detector").out
    assert "production: (none) -> v2" in text and "#12" in text


def test_history_of_an_alias_move_and_rollback(populated: Path, cli: Cli) -> None:
    set_aliases(populated, "fraud-detector", {"production": 3, "staging": 3, "champion": 2}, archived=[1])
    commit_all(populated, "Promote v3 (#20)")
    set_aliases(populated, "fraud-detector", {"production": 2, "staging": 3, "champion": 2}, archived=[1])
    commit_all(populated, "Roll back production (#21)")
    events = cli.ok("-C", str(populated), "history", "fraud-detector", "--json").json
    assert [(e["alias"], e["previous"], e["version"], e["pr"]) for e in events[:2]] == \
        [("production", 3, 2, 21), ("production", 2, 3, 20)]


def test_history_follows_merges_on_main(populated: Path, cli: Cli, workdir: Path) -> None:
    git(populated, "switch", "-q", "-c", "feature")
    register(cli, populated, workdir, "fraud-detector", seed=9)
    commit_all(populated, "Register v4 on a branch")
    git(populated, "switch", "-q", "main")
    git(populated, "merge", "-q", "--no-ff", "-m", "Merge pull request #30 from acme/feature", "feature")
    events = cli.ok("-C", str(populated), "history", "fraud-detector", "--json").json
    assert (events[0]["kind"], events[0]["version"], events[0]["pr"]) == ("registered", 4, 30)


def test_diff(populated: Path, cli: Cli) -> None:
    data = cli.ok("-C", str(populated), "diff", "fraud-detector", "@production", "3", "--json").json
    rows = {(r["section"], r["key"]): r for r in data["rows"]}
    assert data["a"] == "models:/fraud-detector/2" and data["b"] == "models:/fraud-detector/3"
    assert rows[("metrics", "roc_auc")]["delta"] == pytest.approx(0.005)
    assert rows[("params", "max_depth")]["a"] == 6 and rows[("params", "max_depth")]["b"] == 8
    assert rows[("artifact", "sha256")]["changed"] is True
    assert rows[("tags", "team")]["changed"] is False
    text = cli.ok("-C", str(populated), "diff", "fraud-detector", "2", "3").out
    assert "+0.005" in text and "team" not in text
    assert "team" in cli.ok("-C", str(populated), "diff", "fraud-detector", "2", "3", "--all").out


def test_search(populated: Path, cli: Cli) -> None:
    def found(*where: str) -> list[tuple[str, int]]:
        args = [a for w in where for a in ("--where", w)]
        rows = cli.ok("-C", str(populated), "search", *args, "--json").json
        return [(r["model"], r["version"]) for r in rows]

    assert found("metrics.roc_auc>=0.96", "tags.team=fraud") == [("fraud-detector", 2), ("fraud-detector", 3)]
    assert found("metrics.roc_auc<0.9") == [("churn", 1)]
    assert found("stage=Production") == [("fraud-detector", 2)]
    assert found("alias=champion") == [("fraud-detector", 2)]
    assert found("params.max_depth>6") == [("fraud-detector", 3)]
    assert found("tags.team~gro") == [("churn", 1)]
    assert found("tags.team!=fraud") == [("churn", 1)]
    assert "No versions match" in cli.ok("-C", str(populated), "search", "-w", "metrics.roc_auc>1").out
    assert "is not a condition" in cli.fails("-C", str(populated), "search", "-w", "roc_auc").err


def test_empty_registry_reads(registry: Path, cli: Cli) -> None:
    assert "No models yet" in cli.ok("-C", str(registry), "list").out
    assert cli.ok("-C", str(registry), "list", "--json").json == []


# Hostile or broken files on the read path: a clear one-line error, never a traceback ------------

@pytest.mark.parametrize(("text", "message"), [
    ("aliases: {production: two}\n", "aliases.production: expected an integer, got a string 'two'"),
    ("aliases: [1, 2]\n", "aliases: expected a mapping, got a list"),
    ("a: &x [1]\nb: *x\n", "anchors and aliases"),
    ("- just\n- a list\n", "expected a mapping at the top level"),
    ("rejected:\n  2: bad\n", "keys must be strings"),
])
def test_hostile_model_yaml(populated: Path, cli: Cli, text: str, message: str) -> None:
    (populated / "registry/fraud-detector/model.yaml").write_text(text)
    result = cli.fails("-C", str(populated), "resolve", "fraud-detector@production")
    assert "registry/fraud-detector/model.yaml" in result.err
    assert message in result.err
    assert len(result.err.strip().splitlines()) == 1


def test_manifest_that_lies_about_its_place(populated: Path, cli: Cli) -> None:
    path = populated / "registry/fraud-detector/v2/version.yaml"
    path.write_text(path.read_text().replace("version: 2", "version: 3"))
    result = cli.fails("-C", str(populated), "show", "fraud-detector/2")
    assert "says fraud-detector/v3, but lives in fraud-detector/v2" in result.err


def test_pointer_leaving_its_directory(populated: Path, cli: Cli) -> None:
    path = populated / "registry/fraud-detector/v2/model.pkl.dvc"
    path.write_text(path.read_text().replace("path: model.pkl", "path: ../../../../etc/passwd"))
    result = cli.fails("-C", str(populated), "resolve", "fraud-detector/2")
    assert "outs[0].path" in result.err and "may not point outside" in result.err


def test_alias_names_in_uris_are_case_insensitive(populated: Path, cli: Cli) -> None:
    assert cli.ok("-C", str(populated), "resolve", "fraud-detector@Champion", "--json").json["version"] == 2
    assert "'latest' is reserved" in cli.fails("-C", str(populated), "resolve", "fraud-detector@latest").err


def test_stray_directories_fail_every_read_with_one_line(populated: Path, cli: Cli, workdir: Path) -> None:
    """A tree the format does not allow is refused by every read, the same way (tests/test_layout.py
    has every kind of stray entry): never silently skipped, nor listed as a model."""
    (populated / "registry/fraud-detector/v4").mkdir()
    (populated / "registry/fraud-detector/v4/model.pkl").write_text("a download left here")
    left_over = ("error: registry/fraud-detector/v4: exists but holds no version.yaml; it is left over "
                 "(a download into it, an interrupted registration); remove it")
    for args in (["resolve", "fraud-detector/latest"], ["show", "fraud-detector"], ["list"],
                 ["search", "-w", "model=fraud-detector"],
                 ["register", "fraud-detector", "-a", str(workdir / "fraud-detector-1/model.pkl")]):
        assert cli.fails("-C", str(populated), *args).err.strip() == left_over, args
    shutil.rmtree(populated / "registry/fraud-detector/v4")
    (populated / "registry/stray").mkdir()
    (populated / "registry/stray/notes.txt").write_text("not a model")
    assert cli.fails("-C", str(populated), "list", "--json").err.startswith(
        "error: registry/stray: holds no model.yaml; remove the directory")
    assert cli.ok("-C", str(populated), "resolve", "fraud-detector/latest", "--json").json["version"] == 3


# A value's type is checked on every read, with the error `check` gives --------------------------

def test_unquoted_version_number_is_the_same_error_on_every_path(populated: Path, cli: Cli) -> None:
    from modelreg import Registry
    from modelreg.errors import InputError

    git(populated, "switch", "-q", "-c", "unquoted")
    path = populated / "registry/fraud-detector/v3/version.yaml"
    path.write_text(path.read_text() + "framework:\n  name: xgboost\n  version: 1.10\n")
    commit_all(populated, "framework.version written unquoted")
    expected = ("registry/fraud-detector/v3/version.yaml:" + str(len(path.read_text().splitlines()))
                + ": framework.version: expected a string, got a number 1.1; quote it in YAML")
    errors = [cli.fails("-C", str(populated), *args).err
              for args in (["show", "fraud-detector/3"], ["show", "fraud-detector"],
                           ["resolve", "fraud-detector@staging"], ["diff", "fraud-detector", "2", "3"],
                           ["search", "-w", "metrics.roc_auc>0"],
                           ["show", "fraud-detector/3", "--at", "unquoted"])]
    for err in errors:
        assert expected in err, err
        assert "1.10" not in err.replace("1.10 is the number", "") and len(err.splitlines()) == 1
    with pytest.raises(InputError, match=r"framework\.version: expected a string, got a number 1\.1"):
        Registry(populated).resolve("models:/fraud-detector/3")
    # the gate reports the very same words
    gate = cli.fails("-C", str(populated), "check", "--all", "--offline", "--gate", "schema").out
    assert expected.replace(": framework", ": [schema] framework") in gate
    # and the quoted value reads as written
    path.write_text(path.read_text().replace("version: 1.10", 'version: "1.10"'))
    shown = cli.ok("-C", str(populated), "show", "fraud-detector/3", "--json").json
    assert shown["manifest"]["framework"]["version"] == "1.10"


def test_a_bad_type_is_not_served_from_the_memo(populated: Path, cli: Cli) -> None:
    path = populated / "registry/fraud-detector/v2/version.yaml"
    cli.ok("-C", str(populated), "show", "fraud-detector/2")  # memoises the good file
    path.write_text(path.read_text().replace("created_by:", "tags: {team: [1]}\ncreated_by:", 1)
                    .replace("tags:\n  team: fraud\n", ""))
    for _ in range(2):  # a rejected document is never memoised
        err = cli.fails("-C", str(populated), "show", "fraud-detector/2").err
        assert "tags.team: expected a string, got a list [1]" in err


def test_terminal_escapes_in_registry_text_are_shown_escaped(populated: Path, cli: Cli) -> None:
    path = populated / "registry/fraud-detector/model.yaml"
    text = path.read_text()
    path.write_text("\n".join(line for line in text.splitlines() if not line.startswith("description:"))
                    + '\ndescription: "evil\\e]0;pwned\\a\\u202eend"\n')
    out = cli.ok("-C", str(populated), "show", "fraud-detector").out
    assert "evil\\x1b]0;pwned\\x07\\u202eend" in out
    assert "\x1b" not in out and "\u202e" not in out
    data = cli.ok("-C", str(populated), "show", "fraud-detector", "--json").json
    assert data["description"] == "evil\x1b]0;pwned\x07\u202eend"  # JSON keeps the value, escaped


#: every command with --at, with the arguments it needs (the output paths under {out})
AT_COMMANDS = [["list"], ["show", "fraud-detector"], ["resolve", "fraud-detector/latest"],
               ["history", "fraud-detector", "--offline"], ["diff", "fraud-detector", "2", "3"],
               ["search", "--where", "metrics.roc_auc>0"], ["card", "fraud-detector/2"],
               ["get", "fraud-detector/2", "-o", "{out}/model.pkl"], ["site", "-o", "{out}/site"]]


@pytest.mark.parametrize("command", AT_COMMANDS, ids=lambda c: c[0])
def test_at_a_date_in_the_future_is_the_latest_commit(populated: Path, tmp_path: Path, cli: Cli,
                                                      command: list[str]) -> None:
    args = [a.replace("{out}", str(tmp_path / "future")) for a in command]
    future = cli.ok("-C", str(populated), *args, "--at", "2999-01-01T00:00Z").out
    now = [a.replace("{out}", str(tmp_path / "head")) for a in command]
    assert future.replace(str(tmp_path / "future"), "") == \
        cli.ok("-C", str(populated), *now, "--at", "HEAD").out.replace(str(tmp_path / "head"), "")


@pytest.mark.parametrize("command", AT_COMMANDS, ids=lambda c: c[0])
@pytest.mark.parametrize("at", ["2026/11/01", "01.11.2026", "2026-11-1", "yesterday", "2 weeks ago",
                                "2026-11-01x"])
def test_at_a_date_modelreg_does_not_read_says_so(populated: Path, tmp_path: Path, cli: Cli,
                                                  command: list[str], at: str) -> None:
    args = [a.replace("{out}", str(tmp_path / "out")) for a in command]
    err = cli.fails("-C", str(populated), *args, "--at", at).err
    assert err == (f"error: --at: {at!r} is not a date modelreg reads; write a date as YYYY-MM-DD "
                   "(e.g. 2026-11-01) or YYYY-MM-DDTHH:MM[:SS] with an optional zone (Z, +01:00), or give "
                   "a commit, branch or tag\n")
    assert not (tmp_path / "out").exists()  # nothing written


def test_a_tag_that_looks_like_a_date_is_still_a_tag(populated: Path, cli: Cli) -> None:
    git(populated, "tag", "2026.11.06", "release-1")
    at = cli.ok("-C", str(populated), "resolve", "fraud-detector/latest", "--at", "2026.11.06", "--json")
    assert at.json["version"] == 2


def test_a_revision_that_is_not_there_names_the_option(populated: Path, cli: Cli) -> None:
    assert cli.fails("-C", str(populated), "list", "--at", "no-such-branch").err.startswith(
        "error: --at: unknown revision 'no-such-branch'")
    assert cli.fails("-C", str(populated), "history", "fraud-detector", "--at", "1999-01-01").err.startswith(
        "error: --at: no commit on HEAD at or before 1999-01-01")
