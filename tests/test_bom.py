"""``modelreg bom``: a version as a CycloneDX 1.6 ML-BOM, checked by CycloneDX's own validator.

Every BOM a test here produces goes through ``cyclonedx-python-lib``'s
``JsonStrictValidator`` for schema version 1.6 (the official JSON Schema, formats
asserted: dates, IRIs), so a BOM that a CycloneDX tool would refuse fails the test.
"""

from __future__ import annotations

import json
import os
import re
import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator

from modelreg.api import Registry
from modelreg.cards import cyclonedx
from modelreg.errors import InputError
from tests import test_site
from tests.helpers import (
    Cli,
    artifact,
    build_file_tree,
    commit_all,
    copy_scenario,
    git,
    make_code_repo,
    metrics_file,
    register,
    set_aliases,
)

CARD = """\
---
title: Détecteur de fraude
task: tabular-classification
license: apache-2.0
---
# Fraud detector

Scores card transactions at authorisation time.

## Model details
Gradient-boosted trees, retrained weekly.

## Intended use
Real-time scoring of card-present transactions. Not for credit decisions.

## Ethical considerations
Declines hurt customers; the model risk team reviews every promotion.

## Limitations
Retrain monthly; watch the master card slice.

## Training data
October 2026 transactions, de-identified.

## How to call it
model.predict_proba(x)
"""

METRICS = {"roc_auc": 0.9724, "f1": 0.7964, "latency_p95_ms": 38,
           "slices": {"card_type=visa": {"roc_auc": 0.9731, "f1": 0.8012},
                      "card_type=master": {"roc_auc": 0.9708}}}

VALIDATOR = JsonStrictValidator(SchemaVersion.V1_6)


def valid(text: str) -> dict[str, Any]:
    """The BOM, after CycloneDX's strict validator for 1.6 found nothing wrong with it."""
    error = VALIDATOR.validate_str(text)
    assert error is None, f"{error}\n{text[:2000]}"
    doc: dict[str, Any] = json.loads(text)
    return doc


def _build(cli: Cli, root: Path, work: Path) -> None:
    """fraud v1: a file, its card, metrics with slices, params, a framework, a data set, a code
    commit and a run; fraud v2: a directory of files, no card."""
    code = make_code_repo(work / "code")
    (work / "card.md").write_text(CARD)
    (work / "transactions.csv").write_text("amount,label\n12.5,0\n990.0,1\n")
    metrics = metrics_file(work / "metrics.json", METRICS)
    cli.ok("-C", str(root), "register", "fraud", "--artifact", str(artifact(work / "model.pkl")),
           "--metrics", str(metrics), "--param", "max_depth=6", "--param", "eta=0.1",
           "--framework", "xgboost==2.0.3", "--dataset", f"transactions={work / 'transactions.csv'}",
           "--code-repo", str(code), "--run-id", "run-42", "--run-url", "https://mlflow.example/runs/42",
           "--card", str(work / "card.md"), "-m", "Fraud scoring, October data", "--owner", "@acme/fraud-ml")
    build_file_tree(work / "hf-model", {"config.json": "{}", "model.safetensors": b"\0" * 64,
                                        "tokenizer/vocab.txt": "a\nb\n"})
    cli.ok("-C", str(root), "register", "fraud", "--artifact", str(work / "hf-model"),
           "--metrics", str(metrics), "--code-repo", str(code), "-m", "A directory")
    commit_all(root, "Register fraud v1 and v2")


@pytest.fixture
def repo(scenarios: Any, cli: Cli, tmp_path: Path) -> Path:
    return copy_scenario(scenarios.on_registry("bom", cli, _build), tmp_path)


def bom(cli: Cli, root: Path, *args: str) -> dict[str, Any]:
    return valid(cli.ok("-C", str(root), "bom", *args).out)


def manifest(root: Path, version: int = 1) -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load((root / f"registry/fraud/v{version}/version.yaml").read_text())
    return doc


def edit(root: Path, version: int, change: dict[str, Any], drop: tuple[str, ...] = ()) -> None:
    """Change a manifest by hand, as a pull request could (reads accept what the schema does)."""
    doc = manifest(root, version)
    doc.update(change)
    for key in drop:
        doc.pop(key, None)
    (root / f"registry/fraud/v{version}/version.yaml").write_text(yaml.safe_dump(doc, sort_keys=False,
                                                                                 allow_unicode=True))


def model_of(doc: dict[str, Any]) -> dict[str, Any]:
    [model] = [c for c in doc["components"] if c["type"] == "machine-learning-model"]
    return model


def props(item: dict[str, Any]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for p in item.get("properties", []):
        out.setdefault(p["name"], []).append(p["value"])
    return out


# the document ---------------------------------------------------------------------------------------

def test_a_file_artifact_with_card_lineage_and_slices(repo: Path, cli: Cli) -> None:
    doc = bom(cli, repo, "fraud/1")
    m = manifest(repo)
    assert (doc["bomFormat"], doc["specVersion"], doc["version"]) == ("CycloneDX", "1.6", 1)
    assert doc["metadata"]["timestamp"] == m["created_at"]  # when it was registered, not now
    model = model_of(doc)
    assert (model["name"], model["version"], model["bom-ref"]) == ("fraud", "1", "models:/fraud/1")
    assert model["description"] == "Fraud scoring, October data"
    assert model["hashes"] == [{"alg": "SHA-256", "content": m["artifact"]["sha256"]}]  # no MD5 claimed
    p = props(model)
    assert p["modelreg:dvc:md5"] == [m["artifact"]["md5"]] and p["modelreg:created_by"] == [m["created_by"]]
    assert p["modelreg:owner"] == ["@acme/fraud-ml"]
    assert p["modelreg:artifact:sha256-of"] == ["the file's bytes"]
    commit = m["lineage"]["code"]["commit"]
    assert model["externalReferences"][0] == {
        "type": "vcs", "url": "https://github.com/acme/fraud.git",
        "comment": f"the training code commit {commit} branch main"}
    assert model["externalReferences"][1]["url"] == "https://mlflow.example/runs/42"
    assert model["pedigree"]["commits"] == [{"uid": commit}]
    assert model["licenses"] == [{"license": {"name": "apache-2.0"}}]
    card = model["modelCard"]
    assert card["modelParameters"]["task"] == "tabular-classification"
    # every metric, and every per-slice value with its slice, exactly as recorded
    assert card["quantitativeAnalysis"]["performanceMetrics"] == [
        {"type": "roc_auc", "value": "0.9724"}, {"type": "f1", "value": "0.7964"},
        {"type": "latency_p95_ms", "value": "38"},
        {"type": "roc_auc", "value": "0.9731", "slice": "card_type=visa"},
        {"type": "f1", "value": "0.8012", "slice": "card_type=visa"},
        {"type": "roc_auc", "value": "0.9708", "slice": "card_type=master"}]
    considerations = card["considerations"]
    assert considerations["useCases"] == [
        "Real-time scoring of card-present transactions. Not for credit decisions."]
    assert considerations["technicalLimitations"] == ["Retrain monthly; watch the master card slice."]
    assert considerations["ethicalConsiderations"] == [
        {"name": "Declines hurt customers; the model risk team reviews every promotion."}]
    cp = props(card)
    assert cp["modelreg:param:max_depth"] == ["6"] and cp["modelreg:param:eta"] == ["0.1"]
    assert cp["modelreg:card:training_data"] == ["October 2026 transactions, de-identified."]
    assert cp["modelreg:card:title"] == ["Fraud detector"]
    assert cp["modelreg:card:other"] == ["How to call it\n\nmodel.predict_proba(x)"]
    # the data set: a data component with its digest, which the model card refers to
    [data] = [c for c in doc["components"] if c["type"] == "data"]
    dataset = m["lineage"]["data"][0]
    assert data["name"] == "transactions"
    assert data["hashes"] == [{"alg": "SHA-256", "content": dataset["sha256"]}]
    assert props(data)["modelreg:dvc:md5"] == [dataset["md5"]]
    assert card["modelParameters"]["datasets"] == [{"ref": data["bom-ref"]}]
    [framework] = [c for c in doc["components"] if c["type"] == "framework"]
    assert (framework["name"], framework["version"]) == ("xgboost", "2.0.3")
    assert doc["dependencies"][0] == {"ref": "models:/fraud/1",
                                      "dependsOn": [framework["bom-ref"], data["bom-ref"]]}
    # who registered it, and in which commit of the registry
    registered = git(repo, "log", "--format=%H", "-1", "--", "registry/fraud/v1").strip()
    assert p["modelreg:registered:commit"] == [registered]
    [note] = doc["annotations"]
    assert note["annotator"] == {"individual": {"name": m["created_by"]}} and registered in note["text"]


def test_the_same_files_give_the_same_bytes_and_a_change_a_new_serial(repo: Path, cli: Cli) -> None:
    first = cli.ok("-C", str(repo), "bom", "fraud/1").out
    assert cli.ok("-C", str(repo), "bom", "fraud/1", "--json").out == first
    assert cli.ok("-C", str(repo), "bom", "models:/fraud/1").out == first
    doc = json.loads(first)
    serial = doc["serialNumber"]
    assert re.fullmatch(r"urn:uuid:[0-9a-f-]{36}", serial) and uuid.UUID(serial[9:]).version == 5
    # derived from the model, version, sha256 and the rest of the document
    doc["serialNumber"] = ""
    digest = __import__("hashlib").sha256(cyclonedx.dumps(doc, indent=None).encode()).hexdigest()
    assert serial == cyclonedx.serial_number("fraud", 1, manifest(repo)["artifact"]["sha256"], digest)
    with Registry(repo) as reg:
        assert reg.bom("fraud/1").to_dict() == json.loads(first)
    set_aliases(repo, "fraud", {"production": 1})  # what the BOM says changes: a new serial number
    second = bom(cli, repo, "fraud/1")
    assert second["serialNumber"] != serial and props(model_of(second))["modelreg:alias"] == ["production"]


def test_a_directory_artifact(repo: Path, cli: Cli) -> None:
    doc = bom(cli, repo, "fraud/2")
    m = manifest(repo, 2)
    model = model_of(doc)
    assert model["hashes"] == [{"alg": "SHA-256", "content": m["artifact"]["sha256"]}]
    p = props(model)
    assert p["modelreg:artifact:type"] == ["directory"] and p["modelreg:artifact:files"] == ["3"]
    assert p["modelreg:dvc:md5"] == [m["artifact"]["md5"]] and m["artifact"]["md5"].endswith(".dir")
    assert "listing" in p["modelreg:artifact:sha256-of"][0]
    assert "considerations" not in model["modelCard"]  # no card


def test_a_version_with_no_card_no_lineage_and_no_metrics(repo: Path, cli: Cli) -> None:
    edit(repo, 2, {}, drop=("metrics", "slices", "params", "lineage", "framework", "description"))
    doc = bom(cli, repo, "fraud/2")
    assert [c["type"] for c in doc["components"]] == ["machine-learning-model"]
    model = model_of(doc)
    assert model["modelCard"] == {} and "externalReferences" not in model and "pedigree" not in model
    assert doc["dependencies"] == [{"ref": "models:/fraud/2", "dependsOn": []}]


def test_control_characters_and_unicode_are_carried_escaped(repo: Path, cli: Cli) -> None:
    hostile = ("red \x1b[31m\x07 bell, \x9b2J C1, \u202e reversed, 詐欺 🕵️, \x7f "
               "<script>alert(1)</script> &amp;")
    m = manifest(repo)
    m["lineage"]["data"][0]["name"] = f"données {hostile}"
    edit(repo, 1, {"description": hostile, "created_by": "Zoë \x1b]0;owned\x07",
                   "params": {"note": hostile, "max_depth": 6}, "tags": {"team": hostile},
                   "lineage": m["lineage"],
                   "slices": {"pays=España": {"roc_auc": 0.9}, "card_type=visa": {"roc_auc": 0.97}}})
    card = repo / "registry/fraud/v1/card.md"
    card.write_text(card.read_text().replace("decisions.", f"decisions. {hostile}"))
    out = cli.ok("-C", str(repo), "bom", "fraud/1").out
    assert out.isascii() and "\x1b" not in out  # nothing in it can act on a terminal
    assert not {"<", ">", "&"} & set(out)  # nor be sniffed as HTML: <script> is \u003cscript\u003e
    doc = valid(out)
    model = model_of(doc)
    assert model["description"] == hostile  # as written, nothing lost
    assert props(model_of(doc))["modelreg:created_by"] == ["Zoë \x1b]0;owned\x07"]
    assert hostile in model["modelCard"]["considerations"]["useCases"][0]
    assert {"type": "roc_auc", "value": "0.9", "slice": "pays=España"} in \
        model["modelCard"]["quantitativeAnalysis"]["performanceMetrics"]
    assert [c["name"] for c in doc["components"] if c["type"] == "data"] == [f"données {hostile}"]


def test_huge_and_tiny_numbers_are_written_exactly(repo: Path, cli: Cli) -> None:
    edit(repo, 1, {"metrics": {"big": 1.7976931348623157e308, "tiny": 5e-324, "neg": -1e300,
                               "count": 10**30, "zero": 0},
                   "slices": {"s=1": {"big": 1e308}},
                   "params": {"seed": 10**40, "flag": True, "none": None, "rate": 3e-05}})
    doc = bom(cli, repo, "fraud/1")
    card = model_of(doc)["modelCard"]
    values = {(p["type"], p.get("slice")): p["value"]
              for p in card["quantitativeAnalysis"]["performanceMetrics"]}
    assert values == {("big", None): "1.7976931348623157e+308", ("tiny", None): "5e-324",
                      ("neg", None): "-1e+300", ("count", None): str(10**30), ("zero", None): "0",
                      ("big", "s=1"): "1e+308"}
    assert float(values[("big", None)]) == 1.7976931348623157e308  # exact, never rounded
    p = props(card)
    assert (p["modelreg:param:seed"], p["modelreg:param:flag"], p["modelreg:param:none"],
            p["modelreg:param:rate"]) == ([str(10**40)], ["true"], ["null"], ["3e-05"])


@pytest.mark.parametrize(("created_at", "expected"), [
    ("2026-11-22 08:49+0100", "2026-11-22T08:49:00+01:00"),
    ("2026-11-22T08:49:08.123456789-05:30", "2026-11-22T08:49:08.123456789-05:30"),
    ("2024-02-29T23:59:59Z", "2024-02-29T23:59:59Z"),
])
def test_every_created_at_the_format_allows_is_an_rfc3339_timestamp(repo: Path, cli: Cli, created_at: str,
                                                                   expected: str) -> None:
    edit(repo, 1, {"created_at": created_at})
    doc = bom(cli, repo, "fraud/1")
    assert doc["metadata"]["timestamp"] == expected == doc["annotations"][0]["timestamp"]


@pytest.mark.parametrize(("repo_url", "run_url", "vcs", "run"), [
    ("git@github.com:acme/fraud.git", "https://mlflow.example/runs/42",
     "ssh://git@github.com/acme/fraud.git", "https://mlflow.example/runs/42"),
    ("/srv/training code/fraud", "javascript:alert(1)", "file:///srv/training%20code/fraud", None),
    ("not a url at all", "https://mlflow.example/runs/a b", None, None),
    ("javascript://%0aalert(1)", "data:text/html,<script>alert(1)</script>", None, None),
])
def test_urls_are_references_only_when_they_are_urls(repo: Path, cli: Cli, repo_url: str, run_url: str,
                                                     vcs: str | None, run: str | None) -> None:
    m = manifest(repo)
    m["lineage"]["code"]["repo"] = repo_url
    m["lineage"]["run"]["url"] = run_url
    edit(repo, 1, {"lineage": m["lineage"]})
    model = model_of(bom(cli, repo, "fraud/1"))
    refs = {r["type"]: r["url"] for r in model.get("externalReferences", [])}
    assert (refs.get("vcs"), refs.get("build-system")) == (vcs, run)
    p = props(model)  # what is no URL stays, as a property
    assert p["modelreg:code:repo"] == [repo_url] and p["modelreg:run:url"] == [run_url]


# the command -----------------------------------------------------------------------------------------

def test_output_file_is_written_whole_and_json_says_what(repo: Path, cli: Cli, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    target = out / "fraud.cdx.json"
    target.write_text("old")
    result = cli.ok("-C", str(repo), "bom", "fraud/1", "-o", str(target))
    doc = valid(target.read_text())
    assert result.out == f"wrote {target} (fraud v1, CycloneDX 1.6 ML-BOM, {doc['serialNumber']})\n"
    assert os.listdir(out) == ["fraud.cdx.json"]  # nothing left beside it
    record = cli.ok("-C", str(repo), "bom", "fraud/1", "-o", str(target), "--json").json
    assert record == {"output": str(target), "model": "fraud", "version": 1, "format": "cyclonedx",
                      "spec_version": "1.6", "serial_number": doc["serialNumber"]}


def test_a_link_at_the_output_is_replaced_not_written_through(repo: Path, cli: Cli, tmp_path: Path) -> None:
    out, victim = tmp_path / "out", tmp_path / "victim.json"
    out.mkdir()
    victim.write_text("keep me")
    (out / "bom.json").symlink_to(victim)
    cli.ok("-C", str(repo), "bom", "fraud/1", "-o", str(out / "bom.json"))
    assert victim.read_text() == "keep me" and not (out / "bom.json").is_symlink()
    valid((out / "bom.json").read_text())


@pytest.mark.parametrize("where", ["registry/fraud/v1/bom.json", "registry/bom.json", ".git/bom.json"])
def test_output_inside_the_registry_is_refused_and_nothing_is_written(repo: Path, cli: Cli,
                                                                       where: str) -> None:
    before = git(repo, "status", "--porcelain", "--ignored")
    err = cli.fails("-C", str(repo), "bom", "fraud/1", "-o", str(repo / where)).err
    assert err.startswith("error: ") and "--output" in err and "would become part of the registry" in err
    assert len(err.strip().splitlines()) == 1
    assert not (repo / where).exists() and git(repo, "status", "--porcelain", "--ignored") == before


def test_output_that_is_a_directory_or_has_none_is_refused(repo: Path, cli: Cli, tmp_path: Path) -> None:
    err = cli.fails("-C", str(repo), "bom", "fraud/1", "-o", str(tmp_path), code=2).err
    assert f"'{tmp_path}' is a directory" in err
    err = cli.fails("-C", str(repo), "bom", "fraud/1", "-o", str(tmp_path / "nowhere" / "b.json")).err
    assert "nowhere does not exist" in err and not (tmp_path / "nowhere").exists()


def test_spdx_is_refused_with_the_reason(repo: Path, cli: Cli, tmp_path: Path) -> None:
    result = cli.fails("-C", str(repo), "bom", "fraud/1", "--format", "spdx", "-o", str(tmp_path / "b.json"))
    assert result.out == "" and "SPDX 3 is not written" in result.err and "--format cyclonedx" in result.err
    assert not (tmp_path / "b.json").exists()
    with Registry(repo) as reg, pytest.raises(InputError, match="SPDX 3"):
        reg.bom("fraud/1", format="spdx")


def test_aliases_uris_and_past_revisions(repo: Path, cli: Cli) -> None:
    head = git(repo, "rev-parse", "HEAD").strip()
    set_aliases(repo, "fraud", {"production": 2})
    commit_all(repo, "Promote fraud v2")
    doc = bom(cli, repo, "models:/fraud@production")
    assert model_of(doc)["bom-ref"] == "models:/fraud/2"
    assert props(doc["metadata"])["modelreg:registry:commit"] == ["(the work tree)"]
    old = bom(cli, repo, "fraud/2", "--at", head)
    assert props(doc["metadata"]) != props(old["metadata"])
    assert props(old["metadata"])["modelreg:registry:commit"] == [head]
    assert "modelreg:alias" not in props(model_of(old))  # not yet promoted then
    err = cli.fails("-C", str(repo), "bom", "fraud/9").err
    assert "model 'fraud' has no version 9" in err


def test_a_card_named_but_absent_is_an_error(repo: Path, cli: Cli) -> None:
    (repo / "registry/fraud/v1/card.md").unlink()
    err = cli.fails("-C", str(repo), "bom", "fraud/1").err
    assert "registry/fraud/v1/version.yaml: card: names the card 'card.md', which is not beside it" in err


def test_help(cli: Cli) -> None:
    out = cli.ok("bom", "--help").out
    assert "--format [cyclonedx|spdx]" in out and "-o, --output" in out and "--at REV" in out
    assert "modelreg bom models:/fraud-detector@production -o fraud-detector.cdx.json" in out


# the catalog -----------------------------------------------------------------------------------------

@pytest.fixture
def catalog(tmp_path_factory: pytest.TempPathFactory, cli: Cli, code_repo: Path) -> Path:
    """The site tests' scenario (promotions approved, every merge deployed: the ledger holds the
    approvers), built once per session and shared with them."""
    if "root" not in test_site._BUILT:
        base = tmp_path_factory.mktemp("site-registry")
        root = base / "registry"
        cli.ok("init", str(root))
        commit_all(root, "Create the registry", date="2026-10-30T08:00:00Z")
        (base / "work").mkdir()
        with pytest.MonkeyPatch.context() as patch:
            test_site._build_catalog(root, base / "work", code_repo, cli, patch)
        test_site._BUILT["root"] = root
    return test_site._BUILT["root"]


def test_the_site_writes_and_links_a_bom_per_version(catalog: Path, cli: Cli, tmp_path: Path) -> None:
    out = tmp_path / "site"
    report = cli.ok("-C", str(catalog), "site", "-o", str(out), "--json").json
    assert (report["pages"], report["boms"]) == (12, 8)
    boms = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.bom.cdx.json"))
    assert len(boms) == 8 and "models/fraud-detector/v4.bom.cdx.json" in boms
    for rel in boms:
        model, version = re.fullmatch(r"models/(.+)/v(\d+)\.bom\.cdx\.json", rel).groups()  # type: ignore[union-attr]
        text = (out / rel).read_text()
        # the catalog's BOM is the command's (written compact: one line)
        assert valid(text) == json.loads(cli.ok("-C", str(catalog), "bom", f"{model}/{version}").out), rel
        assert text.count("\n") == 1 and text.isascii() and "<" not in text
        page = (out / f"models/{model}/v{version}.html").read_text()
        assert f'<a href="v{version}.bom.cdx.json" type="application/vnd.cyclonedx+json">' in page
    doc = json.loads((out / "models/fraud-detector/v4.bom.cdx.json").read_text())
    approvals = [a for a in doc["annotations"] if a["text"].startswith("approved")]
    # PR 9 moved production, staging and champion to v4 (carol, dave); PR 13 moved production back (bob)
    assert sorted({a["annotator"]["individual"]["name"] for a in approvals}) == ["bob", "carol", "dave"]
    said = "as the deploy job's ledger (git notes; its record not signed, or no signers named) records it"
    assert all(a["text"].endswith(said) for a in approvals)
    assert any("pull request #9" in a["text"] and "alias production" in a["text"] for a in approvals)
    # a rebuild at an older revision removes the BOMs of the versions gone, and lists them apart
    again = cli.ok("-C", str(catalog), "site", "-o", str(out), "--at", "2026-11-13", "--json").json
    assert "models/fraud-detector/v5.bom.cdx.json" in again["removed_boms"]
    assert all(r.endswith(".html") for r in again["removed"])
    assert not (out / "models/fraud-detector/v5.bom.cdx.json").exists()
    assert not (out / "models/churn").exists()  # churn is gone, its BOMs with it


@pytest.mark.parametrize(("written", "expected"), [
    ("2026-11-22T08:49:08Z", "2026-11-22T08:49:08Z"), ("2026-11-22 08:49Z", "2026-11-22T08:49:00Z"),
    ("2026-02-30T00:00:00Z", None), ("2026-11-22T24:00:00Z", None), ("2026-11-22T08:49:60Z", None),
    ("2026-11-22T08:49:08+2400", None), ("0000-01-01T00:00:00Z", None), ("yesterday", None), (None, None),
])
def test_a_time_that_is_no_rfc3339_timestamp_is_left_out(written: str | None, expected: str | None) -> None:
    """An approval's time comes from the ledger, which anyone who may push can write."""
    assert cyclonedx.timestamp(written) == expected


def test_the_compact_text_is_the_document(repo: Path) -> None:
    """The catalog writes the text made while the serial number was derived, not a second dump."""
    edit(repo, 1, {"description": 'a "serialNumber":"" in the text'})
    with Registry(repo) as reg:
        made = reg.bom("fraud/1")
    assert made.dumps(indent=None) == cyclonedx.dumps(made.to_dict(), indent=None)
    assert json.loads(made.dumps(indent=None)) == json.loads(made.dumps()) == made.to_dict()
    valid(made.dumps(indent=None))


def test_a_version_not_committed_yet(registry: Path, workdir: Path, cli: Cli) -> None:
    """Right after ``register``, before the commit: no registry commit to name, and still valid."""
    register(cli, registry, workdir)
    doc = bom(cli, registry, "fraud-detector/1")
    assert "modelreg:registered:commit" not in props(model_of(doc))
    assert "registry commit" not in doc["annotations"][0]["text"]
    assert props(doc["metadata"])["modelreg:registry:commit"] == ["(the work tree)"]
