"""What a newcomer stumbled on (issue 9): each fixed, each shown here on a real registry."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from modelreg import Registry
from modelreg.errors import InputError, NotFoundError
from modelreg.read.search import MANIFEST_FIELDS
from modelreg.read.suggest import closest, one_edit_apart
from modelreg.write.register import Registration
from tests.helpers import (
    Cli,
    Scenarios,
    artifact,
    commit_all,
    copy_scenario,
    git,
    make_code_repo,
    metrics_file,
    register,
    set_aliases,
)

ALIASES = "(aliases: challenger, champion, production, staging)"
FIELD_FORMS = ("FIELD is metrics.NAME, params.NAME, tags.NAME, another path into version.yaml "
               "(framework.name, artifact.format), or stage, approval, alias, model, version")


@pytest.fixture
def fraud(scenarios: Scenarios, tmp_path: Path, cli: Cli) -> Path:
    """fraud-detector as the design brief sketches it: four versions with metrics, slices, params,
    lineage (code, data, run), a card; production and champion on v3, staging and challenger on
    v4, v1 archived, v2 rejected. All committed: built once per session, a private copy."""
    return copy_scenario(scenarios.on_registry("fraud", cli, _fraud), tmp_path)


def _fraud(cli: Cli, registry: Path, workdir: Path) -> None:
    code_repo = make_code_repo(workdir / "code")
    data = artifact(workdir / "transactions.parquet", size=2000, seed=99)
    card = workdir / "card.md"
    card.write_text("# Fraud detector\n")
    for v in (1, 2, 3, 4):
        art = artifact(workdir / f"v{v}" / "model.pkl", seed=v)
        mfile = metrics_file(workdir / f"metrics-{v}.json", {
            "roc_auc": 0.97 + v / 1000, "f1": 0.79 + v / 1000, "precision": 0.81 + v / 1000,
            "recall": 0.7 + v / 100, "latency_p95_ms": 40 + v + 0.5,
            "slices": {"card_type=visa": {"roc_auc": 0.973 + v / 10000},
                       "card_type=master": {"roc_auc": 0.970 + v / 10000}}})
        owner = ("--owner", "@acme/fraud-ml", "--policy", "default") if v == 1 else ()
        cli.ok("-C", str(registry), "register", "fraud-detector", "--artifact", str(art),
               "--metrics", str(mfile), "--param", f"max_depth={5 + v}", "--param", "eta=0.1",
               "--param", "objective=binary:logistic", "--tag", "team=fraud", "--tag", "risk=high",
               "--framework", "xgboost==2.0.3", "--dataset", f"transactions={data}",
               "--run-id", f"5f1e8c3a9b2d4e6f8a1b3c5d7e9f0a2{v}",
               "--run-url", f"https://mlflow.acme.internal/#/experiments/12/runs/5f1e8c3a9b2d4e6f8a1b3c5d7e9f0a2{v}",
               "--card", str(card), "-m", "XGBoost; trained on 2024-11 data",
               "--code-repo", str(code_repo), *owner)
    set_aliases(registry, "fraud-detector", {"production": 3, "staging": 4, "champion": 3, "challenger": 4},
                description="Real-time fraud scoring at authorisation time", archived=[1],
                rejected=[{"version": 2, "reason": "failed bias review"}])
    commit_all(registry, "fraud-detector v1..v4")


# search: a condition that cannot mean anything is an error showing the right form ---------------

@pytest.mark.parametrize(("where", "message"), [
    ("roc_auc>0.9", """unknown field 'roc_auc'; did you mean "metrics.roc_auc>0.9"? """ + FIELD_FORMS),
    ("team=fraud", """unknown field 'team'; did you mean "tags.team=fraud"? """ + FIELD_FORMS),
    ("metric.f1>=0.7", """unknown field 'metric.f1'; did you mean "metrics.f1>=0.7"? """ + FIELD_FORMS),
    ("metrics.roc_auc>=abc", "'abc' is not a number, and >= compares numbers; write a number, as in "
                             '"metrics.roc_auc>=0.95"; text compares with =, != or ~'),
    ("created_at>2026-11-01", "'2026-11-01' is not a number, and > compares numbers; write a number, as in "
                              '"metrics.roc_auc>0.95"; text compares with =, != or ~'),
    ("stage=prod", """'prod' is not a stage; did you mean "stage=Production"? stage is one of None, """
                   "Staging, Production, Archived (in any case)"),
    ("approval!=ok", "'ok' is not an approval; approval is one of PendingManualApproval, Approved, Rejected "
                     "(in any case)"),
])
def test_search_refuses_what_cannot_match(fraud: Path, cli: Cli, where: str, message: str) -> None:
    result = cli.fails("-C", str(fraud), "search", "-w", where)
    assert result.err == f"error: --where: {message}\n"
    assert result.out == ""


def test_search_stage_approval_and_alias_match_in_any_case(fraud: Path, cli: Cli) -> None:
    def found(where: str) -> list[int]:
        return [r["version"] for r in cli.ok("-C", str(fraud), "search", "-w", where, "--json").json]

    assert found("stage=production") == found("stage=Production") == found("stage=PRODUCTION") == [3]
    assert found("approval=rejected") == [2]
    assert found("alias=Champion") == [3]
    assert found("stage!=none") == [1, 3, 4]
    assert "No versions match." in cli.ok("-C", str(fraud), "search", "-w", "metrics.roc_auc>1").out


def test_search_errors_in_python_too(fraud: Path) -> None:
    with pytest.raises(InputError, match=r"unknown field 'roc_auc'; did you mean \"metrics\.roc_auc>0\.9\""):
        Registry(fraud).search(["roc_auc>0.9"])


def test_search_knows_every_field_of_version_yaml() -> None:
    schema = Path(__file__).parent.parent / "src/modelreg/formats/schemas/version.schema.json"
    assert tuple(json.loads(schema.read_text())["properties"]) == MANIFEST_FIELDS


# typos: the closest existing name, never "create the typo" -----------------------------------

@pytest.mark.parametrize(("args", "message"), [
    (["show", "fraud-detecter"],
     "no model named 'fraud-detecter'; did you mean 'fraud-detector'? (models: fraud-detector)"),
    (["resolve", "fraud-detector@prodution"],
     f"model 'fraud-detector' has no alias 'prodution'; did you mean 'production'? {ALIASES}"),
    (["get", "fraud-detector@stagng"],
     f"model 'fraud-detector' has no alias 'stagng'; did you mean 'staging'? {ALIASES}"),
    (["show", "fraud-detector/Prod"],
     f"model 'fraud-detector' has no alias 'prod'; did you mean 'production'? {ALIASES}"),
    (["diff", "fraud-detector", "@champoin", "4"],
     f"model 'fraud-detector' has no alias 'champoin'; did you mean 'champion'? {ALIASES}"),
    # nothing alike: the list, and how to create one
    (["resolve", "fraud-detector@canary"],
     f"model 'fraud-detector' has no alias 'canary' {ALIASES}; set aliases.canary in "
     "registry/fraud-detector/model.yaml"),
    (["show", "churn"], "no model named 'churn'; run `modelreg list` to see the registered models"),
])
def test_unknown_names_suggest_the_closest(fraud: Path, cli: Cli, args: list[str], message: str) -> None:
    assert cli.fails("-C", str(fraud), *args).err == f"error: {message}\n"


def test_unknown_names_suggest_the_closest_in_python(fraud: Path) -> None:
    with pytest.raises(NotFoundError, match=r"^no model named 'fraud_detector'; did you mean 'fraud-dete"):
        Registry(fraud).resolve("fraud_detector/1")
    with pytest.raises(NotFoundError, match=r"has no alias 'staing'; did you mean 'staging'\? \(aliases: "):
        Registry(fraud).resolve("models:/fraud-detector@staing")


@pytest.mark.parametrize(("a", "b", "expected"), [
    ("fraud-detecter", "fraud-detector", True),  # replaced
    ("fraud-detector2", "fraud-detector", True),  # inserted
    ("fraud-detectr", "fraud-detector", True),  # deleted
    ("fraud-detcetor", "fraud-detector", True),  # two neighbours swapped
    ("fraud-detector", "fraud-detector", False),
    ("fraud-scorer", "fraud-detector", False),
    ("churn-v10", "churn-v2", False),
])
def test_one_edit_apart(a: str, b: str, expected: bool) -> None:
    assert one_edit_apart(a, b) is expected and one_edit_apart(b, a) is expected


def test_closest_prefers_likeness_then_a_unique_prefix() -> None:
    assert closest("prodution", ["production", "staging"]) == "production"
    assert closest("prod", ["production", "staging"]) == "production"
    assert closest("cha", ["challenger", "champion"]) is None  # two fit: none is suggested
    assert closest("canary", ["production", "staging"]) is None


def test_registering_a_near_duplicate_model_warns_and_registers(fraud: Path, workdir: Path, cli: Cli) -> None:
    result = register(cli, fraud, workdir, "fraud-detecter", seed=7)
    assert result.err == ("warning: 'fraud-detecter' is a new model, one edit away from the existing "
                          "model 'fraud-detector'; if you meant that one, delete registry/fraud-detecter/ "
                          "and register again as fraud-detector\n")
    assert (fraud / "registry/fraud-detecter/v1/version.yaml").is_file()  # a warning, not a refusal
    assert register(cli, fraud, workdir, "fraud-scorer", seed=8).err == ""
    assert register(cli, fraud, workdir, "fraud-detecter", seed=9).err == ""  # a new version: no warning
    new = Registration(model="fraud-detectors", artifact=artifact(workdir / "x.pkl"), owners=["@acme/ml"])
    done = Registry(fraud).register(new)
    assert done.warnings == ("'fraud-detectors' is a new model, one edit away from the existing model "
                             "'fraud-detector'; if you meant that one, delete registry/fraud-detectors/ and "
                             "register again as fraud-detector",)


# --at with a date that does not exist --------------------------------------------------------

@pytest.mark.parametrize(("at", "reason"), [("2026-13-45", "there is no month 13"),
                                            ("2026-02-30", "2026-02 has no day 30"),
                                            ("2026-00-01", "there is no month 0")])
def test_an_impossible_date_is_named_as_such(fraud: Path, cli: Cli, at: str, reason: str) -> None:
    expected = (f"error: '{at}' is not a valid date: {reason}; write a date as YYYY-MM-DD (e.g. 2026-11-01), "
                "or give a commit, branch or tag\n")
    for command in (["list"], ["show", "fraud-detector"], ["resolve", "fraud-detector/1"],
                    ["history", "fraud-detector"]):
        assert cli.fails("-C", str(fraud), *command, "--at", at).err == expected
    with pytest.raises(InputError, match=f"'{at}' is not a valid date: {reason}"):
        Registry(fraud, at=at)


def test_a_real_date_before_the_first_commit_is_still_too_early(fraud: Path, cli: Cli) -> None:
    early = cli.fails("-C", str(fraud), "list", "--at", "2020-02-29").err
    assert "no commit on HEAD at or before 2020-02-29" in early
    assert "not a valid date and time" in cli.fails("-C", str(fraud), "list", "--at", "2026-11-01T25:00").err


# the Python API: diff takes numbers, records say what they are --------------------------------

def test_python_diff_takes_numbers_as_the_cli_does(fraud: Path) -> None:
    reg = Registry(fraud)
    left, right, rows = reg.diff("fraud-detector", 3, 4)
    assert (left.version, right.version) == (3, 4)
    same = reg.diff("fraud-detector", "3", "v4")[2]
    assert [(r.key, r.a, r.b) for r in rows] == [(r.key, r.a, r.b) for r in same]
    assert reg.diff("fraud-detector", 3, "@staging")[1].version == 4


def test_records_have_a_readable_repr(fraud: Path) -> None:
    reg = Registry(fraud)
    assert repr(reg.model("fraud-detector")) == (
        "<Model fraud-detector versions=[1, 2, 3, 4] aliases={'production': 3, 'staging': 4, 'champion': 3, "
        "'challenger': 4} latest=4>")
    assert repr(reg.resolve("fraud-detector@champion")) == \
        "<ModelVersion models:/fraud-detector/3 aliases=['champion', 'production'] stage=Production>"
    rows = {(r.section, r.key): r for r in reg.diff("fraud-detector", 3, 4)[2]}
    assert repr(rows[("params", "max_depth")]) == "<FieldDiff params.max_depth: 8 -> 9 (+1)>"
    assert repr(rows[("tags", "team")]) == "<FieldDiff tags.team: 'fraud' -> 'fraud'>"
    assert repr(reg.list()[0]) == ("<ModelSummary fraud-detector latest=4 versions=4 aliases={"
                                   "'production': 3, 'staging': 4, 'champion': 3, 'challenger': 4}>")
    from modelreg.read.resolve import parse

    assert repr(parse("fraud-detector/Production")) == "<Reference models:/fraud-detector@production>"


# the first registration's "Next:" names model.yaml --------------------------------------------

def test_first_registration_says_to_add_model_yaml(registry: Path, workdir: Path, cli: Cli) -> None:
    first = register(cli, registry, workdir, "fraud-detector", seed=1)
    assert first.out.splitlines()[-1] == (
        "Next: git add registry/fraud-detector/v1 registry/fraud-detector/model.yaml .github/CODEOWNERS "
        "&& git commit, then open a pull request.")
    # what it says to add is everything the registration wrote
    git(registry, "add", *first.out.splitlines()[-1].removeprefix("Next: git add ").split(" && ")[0].split())
    assert git(registry, "status", "--porcelain") == "\n".join(
        ["M  .github/CODEOWNERS", *(f"A  registry/fraud-detector/{p}" for p in [
            "model.yaml", "v1/.gitignore", "v1/model.pkl.dvc", "v1/version.yaml"])]) + "\n"
    commit_all(registry, "v1")
    second = register(cli, registry, workdir, "fraud-detector", seed=2)
    assert second.out.splitlines()[-1] == \
        "Next: git add registry/fraud-detector/v2 && git commit, then open a pull request."


# the default remote is a folder in this clone ------------------------------------------------

def test_init_says_the_default_remote_is_not_shared(tmp_path: Path, cli: Cli) -> None:
    # (where no runner can install this modelreg, a note says so too: tests/test_install_line.py)
    out = [line for line in cli.ok("init", str(tmp_path / "reg")).out.splitlines()
           if not line.startswith("Note: the workflows install")]
    assert out[-3:] == [
        "Artifacts go to .modelreg/remote, a folder inside this clone that teammates cannot reach.",
        "  For a team, set a shared remote: dvc remote add -d -f storage s3://BUCKET/PATH "
        "(or ssh://, gs://, azure://)",
        "Next: commit these files, then `modelreg register MODEL --artifact FILE --owner @team`."]
    shared = cli.ok("init", str(tmp_path / "shared"), "--remote", "s3://acme-ml/registry").out
    assert "  artifacts go to the DVC remote s3://acme-ml/registry\n" in shared
    assert "teammates" not in shared


def test_get_from_a_clone_that_cannot_reach_the_folder_remote(registry: Path, workdir: Path, cli: Cli,
                                                              tmp_path: Path) -> None:
    register(cli, registry, workdir, "fraud-detector", seed=1)
    commit_all(registry, "v1")
    out = tmp_path / "model.pkl"
    # Where the folder is there but lost the object, the message is the one about the object.
    shutil.rmtree(registry / ".dvc" / "cache")
    objects = registry / ".modelreg" / "remote" / "files"
    shutil.move(objects, tmp_path / "objects")
    assert "the DVC remote has no object" in cli.fails("-C", str(registry), "get", "fraud-detector/1", "-o",
                                                       str(out)).err
    shutil.move(tmp_path / "objects", objects)
    # A teammate's machine: the folder the remote names, inside the registering clone, is not there.
    moved = tmp_path / "alices-laptop"
    shutil.move(registry, moved)
    clone = tmp_path / "bobs-clone"
    git(tmp_path, "clone", "-q", str(moved), str(clone))
    result = cli.fails("-C", str(clone), "get", "fraud-detector/1", "-o", str(out), code=4)
    assert result.err == (
        f"error: models:/fraud-detector/1: the DVC remote 'storage' is the local folder {registry}/.modelreg/"
        f"remote, which does not exist on this machine; nothing was written to {out}; the default remote, "
        ".modelreg/remote, is a folder inside the clone that registered the artifacts, which other clones "
        "cannot reach: set a shared remote (`dvc remote add -d -f storage s3://BUCKET/PATH`), copy that "
        "folder's contents into it, and commit .dvc/config\n")
    assert not out.exists()


# 100 columns ---------------------------------------------------------------------------------

def test_show_and_diff_fit_100_columns(fraud: Path, cli: Cli) -> None:
    views = {" ".join(args): cli.ok("-C", str(fraud), *args).out for args in (
        ["show", "fraud-detector"], ["show", "fraud-detector/3"], ["show", "fraud-detector@staging"],
        ["diff", "fraud-detector", "3", "4"], ["diff", "fraud-detector", "1", "4", "--all"],
        ["search", "-w", "tags.team=fraud"])}
    for view, text in views.items():
        too_wide = [line for line in text.splitlines() if len(line) > 100]
        assert not too_wide, f"modelreg {view}:\n" + "\n".join(too_wide)
    manifest = Registry(fraud).version("fraud-detector", 3).data
    sha256, commit = manifest["artifact"]["sha256"], manifest["lineage"]["code"]["commit"]
    one = views["show fraud-detector/3"]
    assert f"  sha256: {sha256[:12]}\n" in one and f"    commit: {commit[:12]}\n" in one and sha256 not in one
    assert one.endswith("# hashes shortened; --json shows them whole\n")
    table = views["show fraud-detector"].splitlines()
    assert table[2].split() == ["VERSION", "CREATED", "ALIASES", "STAGE", "APPROVAL", "F1", "LATENCY_P95_MS"]
    assert table[4].split()[2:5] == ["champion,production", "Production", "Approved"]
    diff = views["diff fraud-detector 3 4"]
    assert re.search(rf"^artifact +sha256 +{sha256[:12]} +\w{{12}} +-$", diff, re.MULTILINE)
    assert "…" in views["diff fraud-detector 1 4 --all"]  # the run URLs, cut
    # --json keeps every hash and value whole
    data = cli.ok("-C", str(fraud), "show", "fraud-detector/3", "--json").json
    assert data["manifest"]["artifact"]["sha256"] == sha256
    rows = cli.ok("-C", str(fraud), "diff", "fraud-detector", "3", "4", "--json").json["rows"]
    assert {r["key"]: r["a"] for r in rows if r["section"] == "artifact"}["sha256"] == sha256


# shell completion ----------------------------------------------------------------------------

def complete(cli: Cli, monkeypatch: pytest.MonkeyPatch, words: str, shell: str = "bash") -> list[str]:
    """What click answers the shell, asked the way click documents: COMP_WORDS and COMP_CWORD."""
    cword = len(words.split()) - (0 if words.endswith(" ") else 1)
    monkeypatch.setenv("_MODELREG_COMPLETE", f"{shell}_complete")
    monkeypatch.setenv("COMP_WORDS", words)
    monkeypatch.setenv("COMP_CWORD", str(cword))
    out = cli.ok().out
    if shell == "zsh":  # type, value, help: three lines each
        lines = out.splitlines()
        return [f"{lines[i + 1]}:{lines[i + 2]}" for i in range(0, len(lines), 3)]
    return [line.split(",", 1)[1] for line in out.splitlines() if line]


def test_completion_of_models_aliases_and_versions(fraud: Path, workdir: Path, cli: Cli,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    register(cli, fraud, workdir, "churn", seed=5)
    root = f"modelreg -C {fraud}"
    assert complete(cli, monkeypatch, f"{root} show ") == ["churn", "fraud-detector"]
    assert complete(cli, monkeypatch, f"{root} show fr") == [
        "fraud-detector", "fraud-detector@", "fraud-detector/"]
    assert complete(cli, monkeypatch, f"{root} resolve fraud-detector@") == [
        f"fraud-detector@{a}" for a in ("challenger", "champion", "production", "staging")]
    assert complete(cli, monkeypatch, f"{root} get models:/fraud-detector@st") == [
        "models:/fraud-detector@staging"]
    assert complete(cli, monkeypatch, f"{root} show fraud-detector/") == [
        f"fraud-detector/{v}" for v in ("4", "3", "2", "1", "latest")]
    assert complete(cli, monkeypatch, f"{root} diff fr") == ["fraud-detector"]
    assert complete(cli, monkeypatch, f"{root} diff fraud-detector @c") == ["@challenger", "@champion"]
    assert complete(cli, monkeypatch, f"{root} diff fraud-detector 3 l") == ["latest"]
    assert complete(cli, monkeypatch, f"{root} register ch") == ["churn"]
    assert complete(cli, monkeypatch, f"{root} search --model c") == ["churn"]
    assert complete(cli, monkeypatch, f"{root} resolve fraud-detector@", "zsh") == [
        "fraud-detector@challenger:v4", "fraud-detector@champion:v3", "fraud-detector@production:v3",
        "fraud-detector@staging:v4"]
    assert complete(cli, monkeypatch, f"{root} diff fraud-detector 3 ", "zsh")[-3:] == [
        "2:None", "1:Archived", "latest:v4"]


def test_completion_outside_a_registry_offers_nothing(tmp_path: Path, cli: Cli,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert complete(cli, monkeypatch, "modelreg show fr") == []
    assert complete(cli, monkeypatch, "modelreg sh") == ["show"]


def test_completion_in_bash_as_documented(fraud: Path) -> None:
    """The documented line, in a real bash, with the words as bash splits them: it cuts at @ and :
    and replaces only what follows the cut (or, for @, the @ too)."""
    docs = (Path(__file__).parent.parent / "docs/getting-started.md").read_text()
    line = 'eval "$(_MODELREG_COMPLETE=bash_source modelreg)"'
    assert line in docs
    script = line + r"""
try() {  # the line as typed, then COMP_WORDS as bash splits it
    COMP_LINE="$1"; COMP_POINT=${#COMP_LINE}; shift; COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
    COMPREPLY=(); _modelreg_completion modelreg; echo "${COMPREPLY[*]}"
}
try "modelreg show fraud-detector@pro" modelreg show fraud-detector @ pro
try "modelreg get fraud-detector@" modelreg get fraud-detector @
try "modelreg resolve models:/fraud" modelreg resolve models : /fraud
try "modelreg diff fraud-detector @st" modelreg diff fraud-detector @ st
try "modelreg show fraud" modelreg show fraud
"""
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
           "MODELREG_REGISTRY": str(fraud)}
    proc = subprocess.run(["bash", "--norc", "-c", script], capture_output=True, text=True, env=env,
                          check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == [
        "@production",
        "@challenger @champion @production @staging",
        "/fraud-detector /fraud-detector@ /fraud-detector/",
        "@staging",
        "fraud-detector fraud-detector@ fraud-detector/",
    ]
