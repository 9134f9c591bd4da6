"""``modelreg card`` and card policies: the registered card's prose, the manifest's numbers."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import get_args

import pytest
import yaml

from modelreg import cards
from modelreg.cards.render import inline_html, prose_html
from modelreg.errors import InputError
from modelreg.formats import models, spec
from tests.helpers import Cli, artifact, commit_all, git, metrics_file, set_aliases

CARD = """\
---
title: Fraud detector
task: tabular-classification
license: apache-2.0
tags: [fraud, tabular]
evaluation_dataset: {name: Held-out transactions 2026-10, type: custom, split: test}
---
# Fraud detector

Scores card transactions at authorisation time.

## 1. Model Details
Gradient-boosted trees, retrained weekly by the fraud team.

## Intended Uses & Limitations
Real-time scoring of card-present transactions. Not for credit decisions.

## Factors
Card network and merchant country.

## Evaluation data
<!-- say which data -->
Two weeks of held-out transactions.

## Training Data
October 2026 transactions, de-identified.

## Results
The model reaches an AUC of about 0.97 on every slice.

## Ethical considerations
Declines hurt customers. <script>alert("pwned")</script> <img src=x onerror=alert(1)>
See [the review](javascript:alert(1)) and [the policy](https://example.com/policy?a=1&b=2).

## Caveats and Recommendations
Retrain monthly; watch the master card slice.

## How to call it

```python
## not a heading: inside a fence
model.predict_proba(x)
```
"""

METRICS = {"roc_auc": 0.9724, "f1": 0.7964, "latency_p95_ms": 38,
           "slices": {"card_type=visa": {"roc_auc": 0.9731, "f1": 0.8012},
                      "card_type=master": {"roc_auc": 0.9708}}}

POLICY = """\
schema_version: 1
card:
  required_sections: [intended_use, ethical_considerations, factors]
"""


def _run(env: dict[str, str], cwd: Path, *args: str) -> str:
    proc = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, f"{' '.join(args)}:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Built once: main has a policy requiring card sections; the branch `feature` registers fraud v1
    with the card above, metrics with slices, params, a framework, a data set and a code commit."""
    top = tmp_path_factory.mktemp("cards")
    home = top / "home"
    home.mkdir()
    (home / ".gitconfig").write_text("[user]\n\tname = Alice Example\n\temail = alice@example.com\n"
                                     "[init]\n\tdefaultBranch = main\n[commit]\n\tgpgsign = false\n")
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("GITHUB_", "MODELREG_")) and k != "GIT_DIR"}
    env.update(HOME=str(home), GIT_CONFIG_GLOBAL=str(home / ".gitconfig"), GIT_CONFIG_NOSYSTEM="1",
               DVC_NO_ANALYTICS="1")
    modelreg = (sys.executable, "-m", "modelreg")
    root, work, code = top / "registry", top / "work", top / "code"
    work.mkdir()
    code.mkdir()
    _run(env, code, "git", "init", "-q")
    (code / "train.py").write_text("print('training')\n")
    _run(env, code, "git", "add", "-A")
    _run(env, code, "git", "commit", "-q", "-m", "Training code")
    _run(env, top, *modelreg, "init", str(root))
    (root / "policies" / "default.yaml").write_text(POLICY)
    _run(env, root, "git", "add", "-A")
    _run(env, root, "git", "commit", "-q", "-m", "Create the registry")
    _run(env, root, "git", "switch", "-q", "-c", "feature")
    (work / "card.md").write_text(CARD)
    (work / "transactions.csv").write_text("amount,label\n12.5,0\n990.0,1\n")
    _run(env, root, *modelreg, "register", "fraud", "--artifact", str(artifact(work / "model.pkl")),
         "--metrics", str(metrics_file(work / "metrics.json", METRICS)), "--param", "max_depth=6",
         "--param", "eta=0.1", "--framework", "scikit-learn==1.5.2", "--dataset",
         f"transactions={work / 'transactions.csv'}", "--code-repo", str(code), "--run-id", "run-42",
         "--run-url", "https://mlflow.example/runs/42", "--card", str(work / "card.md"),
         "-m", "Fraud scoring, October data", "--owner", "@acme/fraud-ml")
    _run(env, root, "git", "add", "-A")
    _run(env, root, "git", "commit", "-q", "-m", "Register fraud v1")
    yield root


@pytest.fixture
def repo(built: Path, tmp_path: Path) -> Path:
    """A private copy of the built registry, on its feature branch."""
    root = tmp_path / "registry"
    shutil.copytree(built, root, symlinks=True)
    return root


def manifest(root: Path) -> dict:  # type: ignore[type-arg]
    return yaml.safe_load((root / "registry/fraud/v1/version.yaml").read_text())  # type: ignore[no-any-return]


# parsing ------------------------------------------------------------------------------------------

def test_sections_are_matched_by_heading_with_synonyms() -> None:
    card = cards.parse(CARD.encode(), "card.md")
    assert card.title == "Fraud detector"
    assert card.summary == "Scores card transactions at authorisation time."
    assert card.metadata["evaluation_dataset"]["split"] == "test"
    assert card.prose("model_details") == "Gradient-boosted trees, retrained weekly by the fraud team."
    assert card.prose("intended_use").startswith("Real-time scoring")  # "Intended Uses & Limitations"
    assert card.prose("quantitative_analyses") is not None  # "Results"
    assert card.prose("metrics") is None
    assert [h for h, _ in card.other] == ["How to call it"]
    assert "## not a heading: inside a fence" in card.other[0][1]
    assert card.lines["factors"] == 18


def test_the_section_keys_are_the_policy_schemas() -> None:
    assert list(get_args(spec.CardSection)) == list(cards.SECTIONS) == list(cards.SYNONYMS)


@pytest.mark.parametrize("body", ["", "<!-- describe the intended use -->\n", "[More Information Needed]\n",
                                  "### Direct use\n\nTODO\n"])
def test_a_section_with_nothing_written_is_missing(body: str) -> None:
    card = cards.parse(f"## Intended use\n{body}## Factors\nCountry.\n", "card.md")
    assert cards.missing_sections(card, ["intended_use", "factors"]) == ["intended_use"]
    assert cards.missing_sections(None, ["factors"]) == ["factors"]


@pytest.mark.parametrize(("text", "expected"), [
    ("---\ntitle: [1\n---\n", r"card.md:3: did not find expected ',' or ']'"),
    ("---\ntitle: x\n", "never closed"),
    ("---\nmodel-index: []\n---\n", "card.md:2: model-index: numbers come from version.yaml"),
    ("---\na: 1\nevaluation_dataset: {name: x}\n---\n", "card.md:3: evaluation_dataset: should be"),
    ("---\ntags: a\n---\n", "tags: should be a list of strings"),
    ("---\ntask: Tabular Classification\n---\n", "task: should be a task type"),
    ("---\na: &x 1\nb: *x\n---\n", "anchors and aliases"),
])
def test_front_matter_is_strict_yaml(text: str, expected: str) -> None:
    with pytest.raises(InputError, match=expected):
        cards.parse(text.encode(), "card.md")


def test_a_card_that_is_not_utf8_is_refused() -> None:
    with pytest.raises(InputError, match=r"card.md: is not UTF-8 text \(byte 2\)"):
        cards.parse(b"# \xe9\n", "card.md")


# rendering ----------------------------------------------------------------------------------------

def test_markdown_card_has_the_manifests_numbers_and_the_users_prose(repo: Path, cli: Cli) -> None:
    out = cli.ok("-C", str(repo), "card", "fraud/1").out
    doc = manifest(repo)
    assert out.startswith("# Fraud detector\n")
    for title in cards.SECTIONS.values():
        assert f"\n## {title}\n" in out
    assert "Real-time scoring of card-present transactions." in out
    assert "Retrain monthly; watch the master card slice." in out
    assert "| roc_auc | 0.9724 |" in out and "| f1 | 0.7964 |" in out and "| latency_p95_ms | 38 |" in out
    assert "| Slice | roc_auc | f1 | latency_p95_ms |" in out
    assert "| (overall) | 0.9724 | 0.7964 | 38 |" in out
    assert "| card_type=visa | 0.9731 | 0.8012 | - |" in out
    assert "| card_type=master | 0.9708 | - | - |" in out
    assert "| max_depth | 6 |" in out and "| eta | 0.1 |" in out
    assert f"| Artifact sha256 | {doc['artifact']['sha256']} |" in out
    assert f"| Artifact size (bytes) | {doc['artifact']['size']} |" in out
    assert f"| Code commit | {doc['lineage']['code']['commit']} |" in out
    data = doc["lineage"]["data"][0]
    assert f"| transactions | - | {data['path']} | {data['size']} | {data['md5']} | {data['sha256']} |" in out
    assert "| Run id | run-42 |" in out and "| Run URL | https://mlflow.example/runs/42 |" in out
    assert f"| Created at | {doc['created_at']} |" in out and "| Framework | scikit-learn 1.5.2 |" in out
    assert "| Owners | @acme/fraud-ml |" in out
    assert "## Metrics\n\n_Not provided._\n" in out  # the card writes no metrics section
    assert "\n## How to call it\n" in out


def test_every_read_option_works(repo: Path, cli: Cli) -> None:
    commit = git(repo, "rev-parse", "HEAD").strip()
    data = cli.ok("-C", str(repo), "card", "models:/fraud/1", "--at", commit, "--json").json
    assert data["metrics"] == {"roc_auc": 0.9724, "f1": 0.7964, "latency_p95_ms": 38}
    assert data["missing"] == ["metrics"]
    assert ["Registry commit", commit] in data["sections"][0]["facts"]
    assert cli.fails("-C", str(repo), "card", "fraud/1", "--at", "main").err.startswith(
        "error: no model named 'fraud' at ")


def test_alias_uri_and_a_version_without_card(repo: Path, workdir: Path, cli: Cli) -> None:
    cli.ok("-C", str(repo), "register", "fraud", "--artifact", str(artifact(workdir / "m.pkl", seed=2)),
           "--metric", "roc_auc=0.5")
    set_aliases(repo, "fraud", {"staging": 2})
    out = cli.ok("-C", str(repo), "card", "fraud@staging").out
    assert out.startswith("# Model card: fraud v2\n")
    assert out.count("_Not provided._") == len(cards.SECTIONS)
    assert "| roc_auc | 0.5 |" in out and "| Aliases | staging |" in out
    meta = yaml.safe_load(cli.ok("-C", str(repo), "card", "fraud/2", "-f", "hf").out.split("---\n")[1])
    assert meta == {"tags": ["modelreg"], "model-index": [{"name": "fraud", "results": [{
        "task": {"type": "other"}, "dataset": {"name": "Evaluation data", "type": "custom"},
        "metrics": [{"type": "roc_auc", "value": 0.5, "name": "roc_auc"}]}]}]}


def test_html_card_escapes_what_the_card_says(repo: Path, cli: Cli) -> None:
    page = cli.ok("-C", str(repo), "card", "fraud/1", "--format", "html").out
    assert "<script" not in page and "<img" not in page
    assert "&lt;script&gt;alert(&quot;pwned&quot;)&lt;/script&gt;" in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
    assert 'href="javascript' not in page and "[the review](javascript:alert(1))" in page
    assert '<a href="https://example.com/policy?a=1&amp;b=2" rel="nofollow noopener noreferrer">' in page
    assert "default-src 'none'" in page
    assert '<td class="n">0.9724</td>' in page and '<p class="not-provided">Not provided.</p>' in page
    assert "<pre><code>## not a heading: inside a fence\nmodel.predict_proba(x)</code></pre>" in page


@pytest.mark.parametrize(("text", "expected"), [
    ("a <b>bold</b> move", "a &lt;b&gt;bold&lt;/b&gt; move"),
    ("**strong** and *em* and `<code>`",
     "<strong>strong</strong> and <em>em</em> and <code>&lt;code&gt;</code>"),
    ('[x](https://e.com/"onmouseover=alert)', "x (https://e.com/&quot;onmouseover=alert)"),
    ("[x](data:text/html,hi)", "x (data:text/html,hi)"),
    ("**<i>x</i>**", "<strong>&lt;i&gt;x&lt;/i&gt;</strong>"),
])
def test_inline_html_is_a_safe_subset(text: str, expected: str) -> None:
    assert inline_html(text).startswith(expected)


def test_prose_html_blocks() -> None:
    assert prose_html("### Risks\n- one\n- two <x>\n\nText\nmore\n<!-- hidden -->") == (
        "<h3>Risks</h3>\n<ul><li>one</li><li>two &lt;x&gt;</li></ul>\n<p>Text more</p>")


def test_hf_readme_front_matter_has_the_manifests_metrics(repo: Path, cli: Cli) -> None:
    readme = cli.ok("-C", str(repo), "card", "fraud/latest", "--format", "hf").out
    assert readme.startswith("---\n")
    front, body = readme[4:].split("\n---\n", 1)
    meta = yaml.safe_load(front)
    doc = manifest(repo)
    assert meta["library_name"] == "sklearn" and meta["license"] == "apache-2.0"
    assert meta["tags"] == ["fraud", "tabular", "modelreg"]
    assert "title" not in meta and "evaluation_dataset" not in meta
    (entry,) = meta["model-index"]
    assert entry["name"] == "fraud"
    (result,) = entry["results"]
    assert result["task"] == {"type": "tabular-classification"}
    assert result["dataset"] == {"name": "Held-out transactions 2026-10", "type": "custom", "split": "test"}
    assert {m["type"]: m["value"] for m in result["metrics"]} == doc["metrics"]
    assert all(m["name"] == m["type"] for m in result["metrics"])
    assert "| card_type=visa | 0.9731 | 0.8012 | - |" in body and "## Ethical considerations" in body


def test_output_file_is_written_atomically(repo: Path, tmp_path: Path, cli: Cli) -> None:
    target = tmp_path / "out" / "README.md"
    target.parent.mkdir()
    target.write_text("old")
    result = cli.ok("-C", str(repo), "card", "fraud/1", "--format", "hf", "-o", str(target))
    assert result.out == f"wrote {target} (fraud v1, hf; not provided: metrics)\n"
    assert target.read_text().startswith("---\nlibrary_name: sklearn\n")
    assert os.listdir(target.parent) == ["README.md"]  # nothing left beside it
    err = cli.fails("-C", str(repo), "card", "fraud/1", "-o", str(tmp_path / "nowhere" / "card.md")).err
    assert "nowhere does not exist" in err



def test_a_link_at_the_output_is_replaced_not_written_through(repo: Path, tmp_path: Path, cli: Cli) -> None:
    out, victim = tmp_path / "out", tmp_path / "victim.md"
    out.mkdir()
    victim.write_text("keep me")
    (out / "notes.txt").write_text("a user's file")
    (out / "card.md").symlink_to(victim)
    cli.ok("-C", str(repo), "card", "fraud/1", "-o", str(out / "card.md"))
    assert victim.read_text() == "keep me"
    assert not (out / "card.md").is_symlink() and (out / "card.md").read_text().startswith("#")
    assert sorted(os.listdir(out)) == ["card.md", "notes.txt"]

def test_a_card_named_but_absent_is_an_error(repo: Path, cli: Cli) -> None:
    (repo / "registry/fraud/v1/card.md").unlink()
    err = cli.fails("-C", str(repo), "card", "fraud/1").err
    assert "registry/fraud/v1/version.yaml: card: names the card 'card.md', which is not beside it" in err


def test_help(cli: Cli) -> None:
    out = cli.ok("card", "--help").out
    assert "--format [markdown|html|hf]" in out and "-o, --output" in out and "--at REV" in out
    assert "modelreg card fraud-detector@staging --format hf -o README.md" in out


# the policy gate ----------------------------------------------------------------------------------

def check(cli: Cli, root: Path, code: int) -> str:
    result = cli("-C", str(root), "check")
    assert result.code == code, f"exit {result.code}\n{result.out}\n{result.err}"
    return result.out


def test_a_card_with_the_required_sections_passes(repo: Path, cli: Cli) -> None:
    assert "all 7 gates passed" in check(cli, repo, 0)


def test_a_card_lacking_required_sections_fails_naming_them(repo: Path, cli: Cli) -> None:
    path = repo / "registry/fraud/v1/card.md"
    text = path.read_text().replace("Card network and merchant country.", "[More Information Needed]")
    path.write_text(text.split("## Ethical considerations")[0])
    out = check(cli, repo, 1)
    assert ("registry/fraud/v1/card.md:18: [policy] the model card lacks the required sections "
            "Ethical considerations (ethical_considerations), Factors (factors); add "
            "'## Ethical considerations', '## Factors' with text under each") in out
    assert "(policy default)" in out and "Intended use" not in out


def test_a_version_without_a_card_fails(repo: Path, cli: Cli) -> None:
    path = repo / "registry/fraud/v1/version.yaml"
    path.write_text(path.read_text().replace("card: card.md\n", ""))
    (repo / "registry/fraud/v1/card.md").unlink()
    out = check(cli, repo, 1)
    assert ("registry/fraud/v1/version.yaml: [policy] card: there is no model card; the policy requires "
            "one with the sections intended_use, ethical_considerations, factors") in out
    assert "'## Intended use', '## Ethical considerations', '## Factors'" in out


def test_a_card_whose_front_matter_is_broken_fails(repo: Path, cli: Cli) -> None:
    path = repo / "registry/fraud/v1/card.md"
    path.write_text(path.read_text().replace("license: apache-2.0", "license: apache-2.0\nlicense: mit"))
    out = check(cli, repo, 1)
    assert "registry/fraud/v1/card.md:5: [policy] duplicate key 'license'" in out


def test_a_policy_without_card_rules_reads_no_card(repo: Path, cli: Cli) -> None:
    git(repo, "switch", "-q", "main")
    (repo / "policies/default.yaml").write_text("schema_version: 1\n")
    commit_all(repo, "No card rules")
    git(repo, "switch", "-q", "feature")
    git(repo, "merge", "-q", "--no-edit", "main")
    (repo / "registry/fraud/v1/card.md").write_text("---\nbroken: [\n---\n")
    assert "all 7 gates passed" in check(cli, repo, 0)


def test_a_policy_names_sections_by_key() -> None:
    with pytest.raises(InputError, match=r"card.required_sections.0: 'intended use' is not one of "
                       r"model_details, intended_use,"):
        models.validate(models.Policy, {"card": {"required_sections": ["intended use"]}}, "p.yaml")


def test_a_card_named_but_missing_fails(repo: Path, cli: Cli) -> None:
    (repo / "registry/fraud/v1/card.md").unlink()
    out = check(cli, repo, 1)
    assert ("[policy] card: names the card 'card.md', which is not beside version.yaml; "
            "add registry/fraud/v1/card.md, written as the policy asks (policy default)") in out


def test_a_card_that_is_a_link_is_not_followed(repo: Path, tmp_path: Path, cli: Cli) -> None:
    card = repo / "registry/fraud/v1/card.md"
    outside = tmp_path / "elsewhere.md"
    outside.write_text(card.read_text())
    card.unlink()
    card.symlink_to(outside)
    out = check(cli, repo, 1)
    assert "registry/fraud/v1/card.md: [policy] cannot be read" in out
