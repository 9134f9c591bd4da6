"""``show MODEL`` never hides a column silently: metrics left out for width are named under
the table, and ``--metrics a,b`` / ``--all-metrics`` choose them; ``--json`` has every metric."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import Cli, Scenarios, commit_all, copy_scenario, register

METRICS = {"roc_auc": 0.97, "f1": 0.8, "precision": 0.81, "recall": 0.74, "latency_p95_ms": 41.5,
           "calibration_error_expected": 0.0123}


def _wide(cli: Cli, root: Path, work: Path) -> None:
    for seed in (1, 2):
        metrics = {k: v + seed / 1000 for k, v in METRICS.items()}
        register(cli, root, work, "fraud", metrics=metrics, seed=seed)
    register(cli, root, work, "plain", metrics={"accuracy": 0.9}, seed=9)
    commit_all(root, "Register fraud v1, v2 and plain v1")


@pytest.fixture
def wide(scenarios: Scenarios, tmp_path: Path, cli: Cli) -> Path:
    return copy_scenario(scenarios.on_registry("wide", cli, _wide), tmp_path)


def header(out: str) -> list[str]:
    return next(line for line in out.splitlines() if line.startswith("VERSION")).split()


def test_metrics_left_out_for_width_are_named(wide: Path, cli: Cli) -> None:
    out = cli.ok("-C", str(wide), "show", "fraud").out
    shown = [h.lower() for h in header(out)[5:]]
    assert 0 < len(shown) <= 3
    left = [m for m in sorted(METRICS) if m not in shown]
    assert out.splitlines()[-2:] == [
        f"{len(left)} metrics not shown, for width: " + ", ".join(left),
        "Choose with --metrics NAME,NAME or --all-metrics; --json has every metric."]
    assert all(len(line) <= 100 for line in out.splitlines())


def test_nothing_left_out_says_nothing(wide: Path, cli: Cli) -> None:
    out = cli.ok("-C", str(wide), "show", "plain").out
    assert header(out)[5:] == ["ACCURACY"] and "not shown" not in out


def test_metrics_and_all_metrics_choose(wide: Path, cli: Cli) -> None:
    out = cli.ok("-C", str(wide), "show", "fraud", "--metrics", "latency_p95_ms, roc_auc").out
    assert header(out)[5:] == ["LATENCY_P95_MS", "ROC_AUC"] and "not shown" not in out
    assert "41.502" in out and "0.972" in out
    out = cli.ok("-C", str(wide), "show", "fraud", "--all-metrics").out
    assert sorted(h.lower() for h in header(out)[5:]) == sorted(METRICS) and "not shown" not in out
    assert len(cli.ok("-C", str(wide), "show", "fraud", "--all-metrics", "--json").json["versions"][0]
               ["metrics"]) == len(METRICS)


@pytest.mark.parametrize(("args", "code", "message"), [
    (["fraud", "--metrics", "roc_auc,auc"], 1, "--metrics: no version reports auc; name some of "),
    (["fraud", "--metrics", " , "], 2, "name at least one metric"),
    (["fraud", "--metrics", "f1", "--all-metrics"], 2, "give one or the other"),
    (["fraud/1", "--all-metrics"], 2, "fraud/1 is one version, shown whole"),
])
def test_a_choice_that_cannot_be_made_is_an_error_and_prints_nothing(wide: Path, cli: Cli, args: list[str],
                                                                     code: int, message: str) -> None:
    failed = cli.fails("-C", str(wide), "show", *args, code=code)
    assert message in failed.err and failed.out == ""


def test_json_has_every_metric(wide: Path, cli: Cli) -> None:
    versions = cli.ok("-C", str(wide), "show", "fraud", "--json").json["versions"]
    assert all(set(v["metrics"]) == set(METRICS) for v in versions)
