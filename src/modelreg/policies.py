"""Which policy governs a model, and loading policies from a snapshot.

A model's policy is the one ``model.yaml`` names; failing that, the first
policy (by file name) whose ``applies_to`` matches the model; failing that,
the registry's ``default_policy`` (``modelreg.yaml``), normally ``default``.
"""

from __future__ import annotations

from typing import Any

from modelreg import names, schema, yamlio
from modelreg.errors import InputError
from modelreg.snapshot import Snapshot


class Selected:
    """A policy chosen for a model, and why."""

    def __init__(self, name: str, policy: schema.Policy, reason: str) -> None:
        self.name = name
        self.policy = policy
        self.reason = reason


def load_all(snapshot: Snapshot) -> tuple[dict[str, schema.Policy], list[InputError]]:
    """Every valid policy in ``policies/``, and the errors of the invalid ones."""
    policies: dict[str, schema.Policy] = {}
    errors: list[InputError] = []
    for file in snapshot.listdir(names.POLICY_DIR):
        if not file.endswith(".yaml"):
            continue
        path = f"{names.POLICY_DIR}/{file}"
        data = snapshot.read(path)
        if data is None:
            continue
        try:
            policies[file.removesuffix(".yaml")] = schema.validate(
                schema.Policy, yamlio.loads(data, path), path, data)
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


def select(policies: dict[str, schema.Policy], default: str, model: str, model_doc: dict[str, Any],
           version_tags: dict[str, str]) -> Selected | None:
    named = model_doc.get("policy")
    if isinstance(named, str):
        if named not in policies:
            raise InputError(f"names the policy {named!r}, which is not in policies/",
                             file=names.model_file(model), field="policy",
                             fix=f"add policies/{named}.yaml, or name one of: {', '.join(sorted(policies))}")
        return Selected(named, policies[named], f"named in {names.model_file(model)}")
    tags = {**version_tags, **{str(k): str(v) for k, v in (model_doc.get("tags") or {}).items()}}
    for name in sorted(policies):
        rule = policies[name].applies_to
        if not rule.models and not rule.tags:
            continue
        if (not rule.models or model in rule.models) and all(tags.get(k) == v for k, v in rule.tags.items()):
            return Selected(name, policies[name], "applies_to matches")
    if default in policies:
        return Selected(default, policies[default], "the registry's default policy")
    return None
