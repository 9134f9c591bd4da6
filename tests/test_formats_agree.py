"""The run-time validator and records agree with the pydantic models they are generated from.

At run time nothing imports pydantic: ``formats/shape.py`` walks a document against
the shipped JSON Schema and ``formats/records.py`` builds the typed record. Here a
corpus of valid documents and of documents mutated in every place (wrong types,
NaN and infinity, extra keys, bad and reserved names, bad dates, negative sizes,
...) goes through both the pydantic model (``formats/spec.py``) and the run-time
path; every disagreement is listed, and none is allowed. The same corpus goes
through jsonschema with the shipped schemas (what an editor applies): there the
only differences allowed are the two JSON Schema cannot express, documented in
``docs/format.md`` ("What the schemas cannot say").
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import re
from collections.abc import Iterator
from typing import Any

import jsonschema
import pydantic
import pytest
import yaml

from modelreg.errors import InputError
from modelreg.formats import models, records, spec

MD5, SHA = "0" * 32, "0" * 64

VALID: dict[str, list[dict[str, Any]]] = {
    "version": [
        {"schema_version": 1, "model": "m", "version": 1, "created_at": "2026-11-20T10:02:11Z",
         "created_by": "alice", "artifact": {"path": "m.pkl", "md5": MD5, "sha256": SHA, "size": 1}},
        {"schema_version": 1, "model": "fraud.v2", "version": 42, "created_at": "2026-11-20 10:02:11.5+01:00",
         "created_by": "alice", "description": "text",
         "artifact": {"path": "model", "type": "directory", "md5": MD5 + ".dir", "sha256": SHA, "size": 0,
                      "files": 3, "format": "onnx"},
         "framework": {"name": "sklearn", "version": "1.10"},
         "metrics": {"roc_auc": 0.9, "count": 3}, "slices": {"country=FR": {"roc_auc": 0.8}},
         "params": {"depth": 6, "lr": 0.1, "name": "x", "on": True, "none": None},
         "lineage": {"code": {"repo": "r", "commit": "a" * 40, "branch": "main", "dirty": True},
                     "data": [{"name": "train", "path": "d", "version": "1", "md5": MD5, "sha256": SHA,
                               "size": 5}],
                     "run": {"id": "1", "url": "https://x"}},
         "tags": {"team": "x"}, "card": "README.md"},
    ],
    "model": [
        {"schema_version": 1, "name": "m"},
        {"schema_version": 1, "name": "fraud", "description": "d", "owners": ["@alice", "@org/team", "a@b.c"],
         "policy": "strict", "tags": {"risk": "high"}, "aliases": {"production": 3, "staging": 4},
         "archived": [1, 2], "rejected": [{"version": 2, "reason": "bad", "by": "@bob"},
                                          {"version": 5, "reason": "worse"}]},
    ],
    "policy": [
        {},
        {"schema_version": 1, "description": "d", "applies_to": {"models": ["m"], "tags": {"risk": "high"}},
         "required": ["roc_auc"], "thresholds": {"roc_auc": {"min": 0.5, "max": 1}},
         "slices": {"roc_auc": {"min": 0.1, "max_gap": 0.2}},
         "regression": [{"metric": "roc_auc", "against": "production", "max_drop": 0.01, "max_rise": 2}],
         "artifact": {"max_size": 10, "formats": ["onnx"]},
         "card": {"required_sections": ["intended_use", "caveats_and_recommendations"]},
         "promotion": {"production": {"after": "staging", "min_soak": "2d",
                                      "approvals": {"count": 2, "from": ["@org/ml"], "allow_author": True,
                                                    "dismiss_stale": False}},
                       "staging": {}}},
    ],
    "config": [
        {},
        {"schema_version": 1, "default_policy": "strict", "admins": ["@org/admins"],
         "install": "modelreg==1.2", "check": {"verify_sha256": False, "verify_max_size": 10},
         "environments": {
             "production": {"alias": "production", "models": ["m"], "targets": [
                 {"type": "directory", "path": "/srv/models", "keep": 5},
                 {"type": "command", "run": ["deploy", "--fast"], "timeout": "5m"},
                 {"type": "webhook", "url": "https://example.com/h", "secret_env": "HOOK", "retries": 0},
                 {"type": "kserve", "path": "../gitops", "namespace": "ml", "storage_uri": "s3://b/{model}"}]},
             "staging": {"alias": "staging", "targets": [{"type": "directory", "path": "/srv/staging"}]}},
         "notify": [{"type": "slack", "url": "https://hooks.slack.com/x"},
                    {"type": "webhook", "url": "http://127.0.0.1:1/x", "secret_env": "S"}]},
    ],
}

#: values put in every place of every valid document
VALUES: list[Any] = [None, True, False, 0, 1, -1, 1.5, -0.5, 10**12, float("nan"), float("inf"),
                     float("-inf"), "", "x", "1", "latest", "Bad Name", "a\nb", "a\x1b[2Jb", "../x",
                     "2026-11-20",
                     [], [1], ["x"], {}, {"x": 1}]

#: names put as keys into every mapping
KEYS = ["surprise", "latest", "bad key", "Production", "", "x" * 200, "a\nb", "from_", "type"]

DATES = ["2026-11-20T10:02:11Z", "2026-11-20 10:02:11Z", "2026-11-20T10:02Z", "2026-11-20T10:02:11+01:00",
         "2026-11-20T10:02:11+0100", "2026-11-20T10:02:11+01", "2026-11-20T10:02:11.123456Z",
         "2026-11-20T10:02:11.123456789Z", "2026-11-20T10:02:11,5Z", "2026-11-20t10:02:11Z",
         "2026-11-20T10:02:11z", "2026-13-20T10:02:11Z", "2026-02-30T10:02:11Z", "2026-11-20T25:02:11Z",
         "2026-11-20T10:02:60Z", "2026-11-20T23:59:60Z", "2026-11-20", "2026-11-20T10:02:11",
         "20261120T100211Z", "2026-11-20T10:02:11 Z", "2026-11-20T10:02:11-00:00",
         "2026-11-20T10:02:11+24:00", "2026-11-20T10:02:11+23:59", " 2026-11-20T10:02:11Z",
         "2026-11-20T10:02:11Z\n", "2026-11-20T10:02:11.Z",
         "1763632931", "2026-11-20T10Z", "0000-01-01T00:00:00Z", "9999-12-31T23:59:59Z",
         "2026-11-20T10:02:11+01:00:00", "2026-11-20_10:02:11Z", "2024-02-29T00:00Z", "2026-02-29T00:00Z",
         "2000-02-29T00:00Z", "1900-02-29T00:00Z", "2026-04-31T00:00Z", "2026-04-30T00:00Z",
         "2026-11-20T10:02:11+01:60", "2026-11-20T24:00:00Z", "0001-01-01T00:00Z", "2026-11-20T10:60Z",
         "2026-00-10T00:00Z", "2026-11-00T00:00Z"]

#: what JSON Schema cannot refuse in one file (docs/format.md, "What the schemas cannot say"):
#: numbers that are not finite (JSON has none). A date outside the calendar it can: the pattern says it.
BEYOND_THE_SCHEMA = re.compile(r"= -?(?:nan|inf)$")


def paths(doc: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield prefix
    if isinstance(doc, dict):
        for key, value in doc.items():
            yield from paths(value, (*prefix, key))
    elif isinstance(doc, list):
        for index, value in enumerate(doc):
            yield from paths(value, (*prefix, index))


def get(doc: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        doc = doc[part]
    return doc


def put(doc: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    result = copy.deepcopy(doc)
    get(result, path[:-1])[path[-1]] = value
    return result


def mutations() -> Iterator[tuple[str, str, Any]]:
    for name, docs in VALID.items():
        for doc in docs:
            for path in paths(doc):
                where = ".".join(map(str, path))
                for value in VALUES:
                    yield name, f"{where} = {value!r}", put(doc, path, value)
                target = get(doc, path)
                if isinstance(target, dict):
                    sample = next(iter(target.values()), 1)
                    for key in KEYS:
                        yield name, f"{where}[{key!r}] added", put(doc, path, {**target, key: sample})
                    for key in target:
                        yield name, f"{where} without {key}", put(
                            doc, path, {k: v for k, v in target.items() if k != key})
                if isinstance(target, list) and target:
                    yield name, f"{where} doubled", put(doc, path, target + target)
            if name == "version":
                for date in DATES:
                    yield name, f"created_at = {date!r}", put(doc, ("created_at",), date)


def by_pydantic(name: str, doc: Any) -> tuple[pydantic.BaseModel | None, str]:
    try:
        return spec.SCHEMAS[name].model_validate(doc, by_alias=True), ""
    except pydantic.ValidationError as exc:
        error = exc.errors(include_url=False)[0]
        return None, f"{'.'.join(map(str, error['loc']))}: {error['msg']}"


def at_run_time(name: str, doc: Any) -> tuple[Any, str]:
    try:
        return models.validate(models.SCHEMAS[name], doc, f"{name}.yaml"), ""
    except InputError as exc:
        return None, str(exc)


def differences(model: Any, record: Any, where: str = "") -> list[str]:
    """Every place where the record does not expose what the pydantic instance does."""
    if isinstance(model, pydantic.BaseModel):
        if not isinstance(record, records.FormatRecord):
            return [f"{where}: {type(model).__name__} but {record!r}"]
        fields = set(type(model).model_fields)
        exposed = {records._attribute(k) for k in record._fields}
        found = [f"{where}: fields {sorted(fields)} but {sorted(exposed)}"] if fields != exposed else []
        for field in sorted(fields & exposed):
            found += differences(getattr(model, field), getattr(record, field), f"{where}.{field}")
        return found
    if isinstance(model, list | dict):
        if type(model) is not type(record) or len(model) != len(record):
            return [f"{where}: {model!r} but {record!r}"]
        keys = range(len(model)) if isinstance(model, list) else list(model)
        if isinstance(model, dict) and set(model) != set(record):
            return [f"{where}: keys {sorted(model)} but {sorted(record)}"]
        return [d for k in keys for d in differences(model[k], record[k], f"{where}[{k!r}]")]
    if isinstance(model, dt.datetime):
        same = isinstance(record, dt.datetime) and model == record and model.utcoffset() == record.utcoffset()
        return [] if same else [f"{where}: {model!r} but {record!r}"]
    if type(model) is not type(record) or model != record:
        return [f"{where}: {model!r} ({type(model).__name__}) but {record!r} ({type(record).__name__})"]
    return []


def test_the_corpus_is_large_and_covers_every_format() -> None:
    cases = list(mutations())
    assert len(cases) > 3000
    assert {name for name, _, _ in cases} == set(spec.SCHEMAS)


def test_pydantic_and_the_run_time_validator_accept_and_refuse_alike() -> None:
    disagreements = []
    for name, what, doc in mutations():
        model, pydantic_error = by_pydantic(name, doc)
        record, error = at_run_time(name, doc)
        if (model is None) != (record is None):
            disagreements.append(f"{name}: {what}: pydantic says {pydantic_error or 'valid'}; "
                                 f"modelreg says {error or 'valid'}")
        elif model is not None:
            disagreements += [f"{name}: {what}: {d}" for d in differences(model, record)]
    assert not disagreements, "\n".join(disagreements)


def editor_validators() -> dict[str, jsonschema.Draft202012Validator]:
    """The shipped schemas as an editor applies them: the draft they declare, formats asserted."""
    out = {}
    for name in VALID:
        schema = json.loads(models.json_schema_text(name))
        assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
        out[name] = jsonschema.Draft202012Validator(
            schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
    return out


def test_the_shipped_schemas_refuse_what_the_run_time_validator_refuses() -> None:
    validators = editor_validators()
    disagreements, beyond = [], set()
    for name, what, doc in mutations():
        _, error = at_run_time(name, doc)
        schema_valid = validators[name].is_valid(doc)
        if schema_valid == (not error):
            continue
        if schema_valid and BEYOND_THE_SCHEMA.search(what):
            beyond.add(what.split(" = ")[-1][:11])
        else:
            disagreements.append(f"{name}: {what}: modelreg says {error or 'valid'}; the schema says "
                                 f"{'valid' if schema_valid else 'invalid'}")
    assert not disagreements, "\n".join(disagreements)
    assert beyond == {"nan", "inf", "-inf"}, beyond


@pytest.mark.parametrize(("name", "doc"), [(n, d) for n, docs in VALID.items() for d in docs])
def test_a_record_exposes_what_the_model_does(name: str, doc: dict[str, Any]) -> None:
    model = spec.SCHEMAS[name].model_validate(doc, by_alias=True)
    record = models.validate(models.SCHEMAS[name], doc, f"{name}.yaml")
    assert differences(model, record) == []
    assert record.model_dump() == model.model_dump()
    assert record.model_dump(by_alias=True) == model.model_dump(by_alias=True)
    assert record == models.validate(models.SCHEMAS[name], copy.deepcopy(doc), "again.yaml")


def test_defaults_and_constructed_records_match_the_models() -> None:
    assert differences(spec.RegistryConfig(), models.RegistryConfig()) == []
    assert models.RegistryConfig().model_dump() == spec.RegistryConfig().model_dump()
    assert differences(spec.CheckSettings(verify_sha256=False, verify_max_size=3),
                       models.CheckSettings(verify_sha256=False, verify_max_size=3)) == []
    assert differences(spec.Approvals.model_validate({"from": ["@a"]}),
                       models.Approvals.model_validate({"from": ["@a"]})) == []
    assert differences(spec.RegistryConfig.model_construct(install="x y"),
                       models.RegistryConfig.model_construct(install="x y")) == []
    with pytest.raises(InputError, match="verify_max_size: -1 is below the minimum 0"):
        models.CheckSettings(verify_max_size=-1)


def test_every_model_has_a_run_time_kind() -> None:
    def walk(cls: type[pydantic.BaseModel]) -> Iterator[type[pydantic.BaseModel]]:
        yield cls
        for field in cls.model_fields.values():
            for arg in _classes(field.annotation):
                yield from walk(arg)

    names = {cls.__name__ for root in spec.SCHEMAS.values() for cls in walk(root)}
    assert {n for n in names if isinstance(getattr(models, n, None), records.Kind)} == names


def _classes(annotation: Any) -> Iterator[type[pydantic.BaseModel]]:
    from typing import get_args

    if isinstance(annotation, type) and issubclass(annotation, pydantic.BaseModel):
        yield annotation
    for arg in get_args(annotation):
        yield from _classes(arg)


def test_a_record_is_read_only() -> None:
    config = models.RegistryConfig()
    with pytest.raises(AttributeError, match="read-only"):
        config.default_policy = "x"  # type: ignore[misc]  # frozen, as the pydantic model
    with pytest.raises(AttributeError, match="no field 'nope'"):
        config.nope  # type: ignore[attr-defined]  # not a field  # noqa: B018


def test_a_record_copies_and_pickles() -> None:
    import pickle

    config = models.validate(models.RegistryConfig, VALID["config"][1], "modelreg.yaml")
    assert copy.deepcopy(config) == config == pickle.loads(pickle.dumps(config))
    assert copy.copy(config).environments["production"].targets[0].keep == 5
    assert isinstance(config, models.RegistryConfig) and not isinstance(config, models.Policy)
    assert isinstance(config.environments["production"].targets[1], models.CommandTarget)


# The gate itself: `modelreg check` on each mutated file, against the editor's verdict ------------

#: what the gate refuses and the schema of one file does not: rules across files or across values,
#: and control characters in free text, left to the gate so that readers (which validate against the
#: schemas) still read a file written before that rule (docs/format.md, "What the schemas cannot
#: say"); each a finding matched by its gate and words
GATE_ONLY = {
    "free text holds no control character": re.compile(r"\[schema\] \S+: holds the control character "),
    "a manifest names its directory": re.compile(r"\[schema\] (?:name: names the model|version: says .* "
                                                 r"but lives in)"),
    "CODEOWNERS is generated from owners, policies and admins": re.compile(r"^\.github/CODEOWNERS: "),
    "a named policy exists as a file": re.compile(r"\] (?:default_)?policy: names the (?:default )?"
                                                  r"policy .*, which is not in policies/"),
    "versions named in model.yaml exist": re.compile(r"\[promotion\] .*which does not exist"),
    "an alias points at a live version": re.compile(r"\[promotion\] .*points at v\d+, which (?:is archived|"
                                                    r"was rejected)"),
    "a version meets its policy": re.compile(r"\[policy\] "),
    "a target's path is outside the repository (the file system decides)": re.compile(
        r"\[schema\] \S+\.path: .* is inside the registry"),
}


class _Plain(yaml.SafeDumper):
    def ignore_aliases(self, data: Any) -> bool:  # the strict loader refuses anchors: write values out
        return True


def _text(doc: Any) -> bytes:
    return yaml.dump(doc, Dumper=_Plain, sort_keys=False, allow_unicode=True).encode()


def _where(name: str, doc: Any) -> dict[str, bytes]:
    """The files a mutated document lands as in the corpus registry: a version with its pointer."""
    text = _text(doc)
    if name == "config":
        return {"modelreg.yaml": text}
    if name == "policy":
        return {"policies/strict.yaml": text}
    good = isinstance(doc, dict)
    if name == "model":
        model = doc.get("name") if good and doc.get("name") in ("m", "fraud") else "m"
        return {f"registry/{model}/model.yaml": text}
    model, number = (doc.get("model"), doc.get("version")) if good else (None, None)
    if not isinstance(number, int) or isinstance(number, bool) or not 1 <= number <= 10**6 or \
            (model, number) not in (("m", 1), ("fraud.v2", 42)):
        model, number = "m", 1  # a new version, where a manifest that names another lands
    files = {f"registry/{model}/v{number}/version.yaml": text}
    art = doc.get("artifact") if good else None
    if isinstance(art, dict) and isinstance(art.get("path"), str) and re.fullmatch(r"[A-Za-z0-9][\w.+-]*",
                                                                                     art["path"]):
        pointer = {"md5": art.get("md5"), "size": art.get("size"), "hash": "md5", "path": art["path"]}
        if art.get("files") is not None:
            pointer["nfiles"] = art["files"]
        files[f"registry/{model}/v{number}/{art['path']}.dvc"] = _text({"outs": [pointer]})
    return files


@pytest.fixture(scope="module")
def corpus_registry(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A committed registry the mutated files land in: models m (no version yet), fraud (v1 to v5,
    as the valid model.yaml names them) and fraud.v2 (v1 to v41), the policy 'strict', current
    schemas, CODEOWNERS."""
    import subprocess

    from modelreg.approvals import codeowners
    from modelreg.edges.snapshot import WorkTree

    root = tmp_path_factory.mktemp("corpus")
    files: dict[str, bytes] = {"modelreg.yaml": b"schema_version: 1\n",
                               "policies/default.yaml": b"schema_version: 1\n",
                               "policies/strict.yaml": b"schema_version: 1\n"}
    files.update({f"schemas/{n}.schema.json": models.json_schema_text(n).encode() for n in VALID})
    for model, count in (("m", 0), ("fraud", 5), ("fraud.v2", 41)):
        files[f"registry/{model}/model.yaml"] = _text({"schema_version": 1, "name": model,
                                                       "owners": ["@alice"]})
        for number in range(1, count + 1):
            manifest = {**VALID["version"][0], "model": model, "version": number}
            files[f"registry/{model}/v{number}/version.yaml"] = _text(manifest)
            files[f"registry/{model}/v{number}/m.pkl.dvc"] = _text(
                {"outs": [{"md5": MD5, "size": 1, "hash": "md5", "path": "m.pkl"}]})
    for path, data in files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_bytes(data)
    text = codeowners.render(WorkTree(str(root)))
    (root / codeowners.PATH).parent.mkdir(parents=True, exist_ok=True)
    (root / codeowners.PATH).write_text(text)
    for args in (["init", "-q", "-b", "main"], ["add", "-A"],
                 ["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "corpus"]):
        subprocess.run(["git", *args], cwd=root, check=True)
    return str(root)


def test_the_gate_refuses_what_the_shipped_schemas_refuse_and_no_more(corpus_registry: str) -> None:
    """Each mutated file through `modelreg check` (offline: its gates, in process, the file as a
    command would write it) and through jsonschema with the shipped schema. They must agree, but
    for the rules of GATE_ONLY above. Every file the schema accepts is run, and a sample of the rest
    (the gate refuses those with the run-time validator, which agrees with the schema above)."""
    from modelreg.checks import run_checks
    from modelreg.checks.context import Options

    validators = editor_validators()
    disagreements, across = [], set()
    for index, (name, what, doc) in enumerate(mutations()):
        schema_valid = validators[name].is_valid(doc)
        if not schema_valid and index % 40:
            continue
        report = run_checks(corpus_registry, base="main",
                            options=Options(overlay=_where(name, doc), offline=True))
        findings = [str(f) for result in report.results.values() for f in result.findings]
        if schema_valid:
            rules = {rule for f in findings for rule, words in GATE_ONLY.items() if words.search(f)}
            unexplained = [f for f in findings if not any(w.search(f) for w in GATE_ONLY.values())]
            across |= rules
            if unexplained and not BEYOND_THE_SCHEMA.search(what):
                disagreements.append(f"{name}: {what}: the schema accepts it; the gate says {unexplained[0]}")
        elif not findings:
            disagreements.append(f"{name}: {what}: the schema refuses it; the gate accepts it")
    assert not disagreements, f"{len(disagreements)}:\n" + "\n".join(disagreements)
    assert across == set(GATE_ONLY), across  # each allowance is needed
