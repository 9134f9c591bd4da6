"""``search --order-by --limit``: "the best version", in the CLI and the API.

The scenario has versions that lack the sort key (they come last in both directions, and
the output says how many), ties (broken by the next key), and text and number fields.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from modelreg.api import Registry
from modelreg.errors import InputError
from tests.helpers import Cli, Scenarios, commit_all, copy_scenario, register

#: fraud's versions: roc_auc (None: not reported), f1
FRAUD = {1: (0.91, 0.70), 2: (None, 0.75), 3: (0.95, 0.72), 4: (0.93, 0.72), 5: (None, 0.60)}


def _ranked(cli: Cli, root: Path, work: Path) -> None:
    for version, (roc_auc, f1) in FRAUD.items():
        metrics = {"f1": f1, **({"roc_auc": roc_auc} if roc_auc is not None else {})}
        register(cli, root, work, "fraud", "--param", f"depth={version % 3}", metrics=metrics, seed=version)
    register(cli, root, work, "churn", metrics={"roc_auc": 0.99, "f1": 0.72}, seed=20)
    commit_all(root, "Register fraud v1..v5 and churn v1")


@pytest.fixture
def ranked(scenarios: Scenarios, tmp_path: Path, cli: Cli) -> Path:
    return copy_scenario(scenarios.on_registry("ranked", cli, _ranked), tmp_path)


def order(cli: Cli, root: Path, *args: str) -> list[str]:
    return [f"{r['model']}/{r['version']}" for r in cli.ok("-C", str(root), "search", *args, "--json").json]


def test_the_best_version_in_one_line(ranked: Path, cli: Cli) -> None:
    best = cli.ok("-C", str(ranked), "search", "--model", "fraud", "--order-by", "metrics.roc_auc DESC",
                  "--limit", "1")
    rows = [line.split()[:2] for line in best.out.splitlines()[1:] if line.startswith("fraud")]
    assert rows == [["fraud", "3"]], best.out
    assert "2 of 5 matching versions lack metrics.roc_auc: sorted last." in best.out
    assert "Showing 1 of 5 matching versions (--limit)." in best.out


def test_versions_lacking_the_key_come_last_in_both_directions(ranked: Path, cli: Cli) -> None:
    fraud = ("--model", "fraud")
    assert order(cli, ranked, *fraud, "--order-by", "metrics.roc_auc DESC") == [
        "fraud/3", "fraud/4", "fraud/1", "fraud/2", "fraud/5"]
    assert order(cli, ranked, *fraud, "--order-by", "metrics.roc_auc asc") == [
        "fraud/1", "fraud/4", "fraud/3", "fraud/2", "fraud/5"]
    assert order(cli, ranked, *fraud, "--order-by", "metrics.roc_auc") == [
        "fraud/1", "fraud/4", "fraud/3", "fraud/2", "fraud/5"]
    run = cli.ok("-C", str(ranked), "search", *fraud, "--order-by", "metrics.roc_auc", "--json")
    assert run.err == "2 of 5 matching versions lack metrics.roc_auc: sorted last.\n"  # JSON stays JSON


def test_later_keys_break_ties_and_where_still_filters(ranked: Path, cli: Cli) -> None:
    # f1 0.72 twice (v3, v4): the version, descending, breaks the tie
    assert order(cli, ranked, "--order-by", "metrics.f1 DESC", "--order-by", "version DESC",
                 "-w", "model=fraud") == ["fraud/2", "fraud/4", "fraud/3", "fraud/1", "fraud/5"]
    assert order(cli, ranked, "-w", "metrics.f1>=0.72", "--order-by", "model",
                 "--order-by", "version DESC") == ["churn/1", "fraud/4", "fraud/3", "fraud/2"]
    assert order(cli, ranked, "--order-by", "metrics.roc_auc DESC", "--limit", "2") == ["churn/1", "fraud/3"]
    assert order(cli, ranked, "--order-by", "params.depth DESC", "--order-by", "version",
                 "--model", "fraud") == ["fraud/2", "fraud/5", "fraud/1", "fraud/4", "fraud/3"]
    assert order(cli, ranked, "--order-by", "created_at", "--order-by", "model") == order(
        cli, ranked, "--order-by", "created_at ASC", "--order-by", "model ASC")


@pytest.mark.parametrize(("args", "message"), [
    (["--order-by", "metrics.roc_auc DOWN"], "--order-by: 'metrics.roc_auc DOWN' is not a sort key"),
    (["--order-by", "roc_auc DESC"], 'unknown field \'roc_auc\' (did you mean "metrics.roc_auc DESC"?'),
    (["--order-by", "metrics.roc_auc DESC extra"], "is not a sort key"),
    (["--order-by", ""], "is not a sort key"),
])
def test_a_sort_key_that_cannot_mean_anything_is_an_error(ranked: Path, cli: Cli, args: list[str],
                                                          message: str) -> None:
    failed = cli.fails("-C", str(ranked), "search", *args)
    assert message.split(" (")[0] in failed.err and failed.out == ""


def test_a_key_no_version_has_says_what_they_do_have(ranked: Path, cli: Cli) -> None:
    out = cli.ok("-C", str(ranked), "search", "--order-by", "metrics.rocauc", "DESC").out
    assert out.splitlines()[-1] == ("6 of 6 matching versions lack metrics.rocauc: sorted last. "
                                    "Did you mean metrics.roc_auc?")
    assert Registry(ranked).search([], order_by=["params.dept"]).close == {"params.dept": "params.depth"}
    assert Registry(ranked).search([], order_by=["metrics.zzz"]).close == {}


def test_limit_must_be_positive(ranked: Path, cli: Cli) -> None:
    assert "--limit" in cli.fails("-C", str(ranked), "search", "--limit", "0", code=2).err
    with pytest.raises(InputError, match="--limit"):
        Registry(ranked).search([], limit=0)


def test_the_api_orders_and_limits_as_the_cli(ranked: Path, cli: Cli) -> None:
    reg = Registry(ranked)
    found = reg.search(["model=fraud"], order_by=["metrics.roc_auc DESC"], limit=1)
    assert [mv.version for mv in found] == [3]
    assert found.missing == {"metrics.roc_auc": 2} and found.matched == 5
    one = reg.search(["model=fraud"], order_by="metrics.roc_auc DESC")  # one key given as a string
    assert [mv.version for mv in one] == [3, 4, 1, 2, 5]
    everything = reg.search([], order_by=["metrics.roc_auc DESC", "version"])
    assert [mv.to_dict() for mv in everything] == cli.ok(
        "-C", str(ranked), "search", "--order-by", "metrics.roc_auc DESC", "--order-by", "version",
        "--json").json
    assert [f"{mv.model}/{mv.version}" for mv in reg.search([])] == [
        "churn/1", *(f"fraud/{n}" for n in FRAUD)]  # no order asked: by model, then version, as before
    with pytest.raises(InputError, match=r"unknown field 'metric\.f1'"):
        reg.search([], order_by=["metric.f1"])


def test_the_direction_may_be_a_word_of_its_own_as_mlflow_users_write_it(ranked: Path, cli: Cli) -> None:
    quoted = order(cli, ranked, "--order-by", "metrics.roc_auc DESC", "--order-by", "version DESC")
    words = ("--order-by", "metrics.roc_auc", "DESC", "--order-by", "version", "desc")
    assert order(cli, ranked, *words) == quoted
    assert order(cli, ranked, "--order-by=metrics.roc_auc", "DESC", "--order-by=version DESC") == quoted
    assert order(cli, ranked, "--order-by", "metrics.roc_auc DESC, version DESC") == quoted  # MLflow's list
    best = Registry(ranked).search([], order_by=["metrics.roc_auc DESC,version"], limit=1)
    assert [(mv.model, mv.version) for mv in best] == [("churn", 1)]
    twice = cli.fails("-C", str(ranked), "search", "--order-by", "version DESC", "DESC")
    assert "not a sort key" in twice.err
    assert "unexpected extra argument (UP)" in cli.fails("-C", str(ranked), "search", "--order-by", "version",
                                                         "UP", code=2).err


def test_tags_that_read_as_numbers_compare_and_sort_as_numbers(registry: Path, workdir: Path,
                                                               cli: Cli) -> None:
    """`--tag score=10` is text in version.yaml; 10 still ranks above 5 and 1_000 above both, as the help
    says of numbers; text tags stay text."""
    for seed, score in enumerate(("5", "10", "1_000", "2", "n/a"), start=1):
        register(cli, registry, workdir, "t", "--tag", f"score={score}", seed=seed)
    commit_all(registry, "five versions")
    ranked = order(cli, registry, "--model", "t", "--order-by", "tags.score")
    assert ranked == ["t/4", "t/1", "t/2", "t/3", "t/5"]
    assert order(cli, registry, "--model", "t", "-w", "tags.score>=6") == ["t/2", "t/3"]
