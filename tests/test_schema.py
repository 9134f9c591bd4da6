"""The JSON Schemas: generated from the models, committed, and in agreement with them."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml

from modelreg.errors import InputError
from modelreg.formats import models, spec
from tests.helpers import Cli, register, set_aliases

PROJECT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("name", sorted(models.SCHEMAS))
def test_shipped_and_committed_schemas_match_the_models(name: str) -> None:
    generated = spec.generate_json_schema_text(name)
    assert models.json_schema_text(name) == generated, "run scripts/generate-schemas"
    committed = (PROJECT / "schemas" / f"{name}.schema.json").read_text()
    assert committed == generated, "run scripts/generate-schemas"


def test_schema_check_and_write(registry: Path, cli: Cli) -> None:
    assert "up to date" in cli.ok("-C", str(registry), "schema", "--check").out
    stale = registry / "schemas" / "policy.schema.json"
    stale.write_text("{}")
    result = cli.fails("-C", str(registry), "schema", "--check")
    assert "schemas/policy.schema.json" in result.err and "schema --write" in result.err
    assert "wrote schemas/policy.schema.json" in cli.ok("-C", str(registry), "schema", "--write").out
    assert "nothing changed" in cli.ok("-C", str(registry), "schema", "--write").out


def test_schema_prints_one(cli: Cli) -> None:
    printed = json.loads(cli.ok("schema", "model").out)
    assert printed["title"] == "ModelManifest"
    assert "aliases" in printed["properties"]


def validator(name: str) -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(json.loads(models.json_schema_text(name)))


def test_json_schema_accepts_what_register_writes(registry: Path, workdir: Path, cli: Cli) -> None:
    register(cli, registry, workdir, "fraud-detector", "--param", "depth=6", "--tag", "team=x",
             metrics={"roc_auc": 0.9, "slices": {"a=b": {"roc_auc": 0.8}}})
    set_aliases(registry, "fraud-detector", {"production": 1},
                rejected=[{"version": 1, "reason": "demo"}], archived=[1])
    for name, rel in [("version", "registry/fraud-detector/v1/version.yaml"),
                      ("model", "registry/fraud-detector/model.yaml"),
                      ("policy", "policies/default.yaml"), ("config", "modelreg.yaml")]:
        doc = yaml.safe_load((registry / rel).read_text())
        validator(name).validate(doc)
        models.validate(models.SCHEMAS[name], doc, rel)


@pytest.mark.parametrize(("patch", "field"), [
    ({"metrics": {"auc": "high"}}, "metrics.auc"),
    ({"artifact": {"path": "../x", "md5": "0" * 32, "sha256": "0" * 64, "size": 1}}, "artifact.path"),
    ({"surprise": 1}, "surprise"),
    ({"version": 0}, "version"),
    ({"model": "Bad Name"}, "model"),
])
def test_json_schema_and_pydantic_reject_alike(patch: dict, field: str) -> None:
    doc = {"schema_version": 1, "model": "m", "version": 1, "created_at": "2026-11-20T10:02:11Z",
           "created_by": "alice",
           "artifact": {"path": "m.pkl", "md5": "0" * 32, "sha256": "0" * 64, "size": 1}}
    validator("version").validate(doc)
    bad = {**doc, **patch}
    assert not validator("version").is_valid(bad)
    with pytest.raises(InputError) as info:
        models.validate(models.VersionManifest, bad, "v.yaml")
    assert field in str(info.value)


def test_policy_rejects_unknown_fields_with_line(tmp_path: Path) -> None:
    text = "schema_version: 1\nthresholds:\n  roc_auc: {minimum: 0.9}\n"
    with pytest.raises(InputError) as info:
        models.validate(models.Policy, yaml.safe_load(text), "policies/p.yaml", text)
    assert str(info.value).startswith("policies/p.yaml:3: thresholds.roc_auc.minimum: unknown field")


def test_the_example_registry_is_valid() -> None:
    """The registry at the project's root, which the README and docs start from."""
    from modelreg.write.init import preset

    files = {"config": [PROJECT / "modelreg.yaml"], "policy": sorted((PROJECT / "policies").glob("*.yaml")),
             "model": sorted((PROJECT / "registry").glob("*/model.yaml")),
             "version": sorted((PROJECT / "registry").glob("*/v*/version.yaml"))}
    assert files["model"] and files["version"]
    for name, paths in files.items():
        for path in paths:
            text = path.read_text()
            doc = yaml.safe_load(text)
            validator(name).validate(doc)
            models.validate(models.SCHEMAS[name], doc, str(path), text)
    assert (PROJECT / "policies" / "default.yaml").read_text() == preset("default")


@pytest.mark.parametrize("value", ["2026-11-20", "2026-11-20T10:02:11", 1763632931, "1763632931"])
def test_created_at_needs_a_time_zone_and_text(value: object) -> None:
    doc = {"schema_version": 1, "model": "m", "version": 1, "created_at": value, "created_by": "alice",
           "artifact": {"path": "m.pkl", "md5": "0" * 32, "sha256": "0" * 64, "size": 1}}
    with pytest.raises(InputError) as info:
        models.validate(models.VersionManifest, doc, "v.yaml")
    assert "created_at" in str(info.value)


@pytest.mark.parametrize(("name", "doc"), [
    ("version", {"metrics": {"bad key": 1.0}}),
    ("model", {"aliases": {"Production": 1}}),
])
def test_json_schema_refuses_keys_the_models_refuse(name: str, doc: dict) -> None:
    errors = [e.message for e in validator(name).iter_errors(doc)]
    assert any("does not match any of the regexes" in m or "were unexpected" in m for m in errors), errors
