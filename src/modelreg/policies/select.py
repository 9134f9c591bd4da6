"""Which policy governs a model, and loading policies from a snapshot.

A model's policy is the one ``model.yaml`` names; failing that, the first
policy (by file name) whose ``applies_to`` matches the model; failing that,
the registry's ``default_policy`` (``modelreg.yaml``), normally ``default``.
A named or default policy that does not exist is an error, never "no policy".
"""

from __future__ import annotations

from typing import Any

from modelreg.errors import InputError
from modelreg.formats import models, names, yamlio
from modelreg.formats.snapshot import Snapshot


class Selected:
    """A policy chosen for a model."""

    def __init__(self, name: str, policy: models.Policy) -> None:
        self.name = name
        self.policy = policy


def load_all(snapshot: Snapshot) -> tuple[dict[str, models.Policy], list[InputError]]:
    """Every valid policy in ``policies/``, and the errors of the invalid ones."""
    policies: dict[str, models.Policy] = {}
    errors: list[InputError] = []
    for file in snapshot.listdir(names.POLICY_DIR):
        if not file.endswith(".yaml"):
            continue
        path = f"{names.POLICY_DIR}/{file}"
        data = snapshot.read(path)
        if data is None:
            continue
        try:
            policies[file.removesuffix(".yaml")] = models.validate(
                models.Policy, yamlio.loads(data, path), path, data)
        except InputError as exc:
            errors.append(exc)
    return policies, errors


def default_name(snapshot: Snapshot) -> str:
    data = snapshot.read(names.CONFIG_FILE)
    if data is None:
        return "default"
    try:
        doc = yamlio.loads(data, names.CONFIG_FILE)
    except InputError:
        return "default"  # reported by the schema gate
    value = doc.get("default_policy") if isinstance(doc, dict) else None
    return value if isinstance(value, str) else "default"


def select(policies: dict[str, models.Policy], default: str, model: str, model_doc: dict[str, Any],
           version_tags: dict[str, str]) -> Selected:
    named = model_doc.get("policy")
    if isinstance(named, str):
        if named not in policies:
            raise InputError(f"names the policy {named!r}, which is not in policies/",
                             file=names.model_file(model), field="policy",
                             fix=f"add policies/{named}.yaml, or name one of: {', '.join(sorted(policies))}")
        return Selected(named, policies[named])
    model_tags = model_doc.get("tags")
    tags = {**version_tags, **({str(k): str(v) for k, v in model_tags.items()}
                               if isinstance(model_tags, dict) else {})}
    for name in sorted(policies):
        rule = policies[name].applies_to
        if not rule.models and not rule.tags:
            continue
        if (not rule.models or model in rule.models) and all(tags.get(k) == v for k, v in rule.tags.items()):
            return Selected(name, policies[name])
    if default in policies:
        return Selected(default, policies[default])
    # Deleting the default policy must not switch the gate off.
    raise InputError(f"names the default policy {default!r}, which is not in policies/ (and no "
                     f"policy's applies_to matches {model})", file=names.CONFIG_FILE,
                     field="default_policy",
                     fix=f"restore policies/{default}.yaml "
                     "(an empty policy, `schema_version: 1`, gates nothing)")
