"""Which policy governs a model, and loading policies from a snapshot.

A model's policy is the one ``model.yaml`` names; failing that, the first
policy (by file name) whose ``applies_to`` matches the model; failing that,
the registry's ``default_policy`` (``modelreg.yaml``), normally ``default``.
A named or default policy that does not exist is an error, never "no policy".
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from modelreg.edges.snapshot import Snapshot
from modelreg.errors import InputError
from modelreg.formats import documents, models, names

if TYPE_CHECKING:
    from modelreg.read.change import Change


class Selected:
    """A policy chosen for a model."""

    def __init__(self, name: str, policy: models.Policy) -> None:
        self.name = name
        self.policy = policy


def load_all(snapshot: Snapshot) -> tuple[dict[str, models.Policy], list[InputError]]:
    """Every valid policy in ``policies/``, and the errors of the invalid ones (each file read once
    per snapshot, by ``documents.policy_file``; the whole answer too)."""
    return documents.cached(snapshot, "policies", names.POLICY_DIR, lambda: _load_all(snapshot))


def _load_all(snapshot: Snapshot) -> tuple[dict[str, models.Policy], list[InputError]]:
    policies: dict[str, models.Policy] = {}
    errors: list[InputError] = []
    for file in snapshot.listdir(names.POLICY_DIR):
        if not file.endswith(".yaml"):
            continue
        try:
            policy = documents.policy_file(snapshot, f"{names.POLICY_DIR}/{file}")
        except InputError as exc:
            errors.append(exc)
            continue
        if policy is not None:
            policies[file.removesuffix(".yaml")] = policy
    return policies, errors


def default_name(snapshot: Snapshot) -> str:
    """The registry's ``default_policy``; ``default`` when modelreg.yaml does not read (the schema
    gate reports it)."""
    try:
        return models.load_config(snapshot).default_policy
    except InputError:
        return "default"


def tags_of(doc: dict[str, Any]) -> dict[str, str]:
    """A manifest's tags, as text (what ``applies_to.tags`` matches)."""
    tags = doc.get("tags")
    return {str(k): str(v) for k, v in tags.items()} if isinstance(tags, dict) else {}


def select(policies: dict[str, models.Policy], default: str, model: str, model_doc: dict[str, Any],
           version_tags: dict[str, str]) -> Selected:
    named = model_doc.get("policy")
    if isinstance(named, str):
        if named not in policies:
            raise InputError(f"names the policy {named!r}, which is not in policies/",
                             file=names.model_file(model), field="policy",
                             fix=f"add policies/{named}.yaml, or name one of: {', '.join(sorted(policies))}")
        return Selected(named, policies[named])
    tags = {**version_tags, **tags_of(model_doc)}
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


def for_head(change: Change, model: str, version_tags: dict[str, str]) -> Selected:
    """The policy that governs ``model`` after the change (raises InputError when it names none)."""
    policies, _ = load_all(change.head)
    return select(policies, default_name(change.head), model,
                  change.document(change.head, names.model_file(model)) or {}, version_tags)


def governing(change: Change, model: str, version_tags: dict[str, str], *,
              alias: str | None = None) -> list[Selected]:
    """The policy that governs ``model`` after the change, and the one that governed it before
    (the base's model.yaml, policies, default and version tags), when that one differs.

    A pull request must pass both: otherwise it could relax the rules that judge it, by
    naming another policy in model.yaml, changing the tags an ``applies_to`` matches, the
    default policy, or the policy file itself, in the same change. For a model the change
    creates, "before" is what the base's policies would choose for it (a policy the change
    adds judges nothing yet: the base's default does), so adding a model together with a
    laxer default, or a new lenient policy it names, does not escape the base's rules.
    """
    head = for_head(change, model, version_tags)
    base_doc = change.document(change.base, names.model_file(model))
    base_policies, _ = load_all(change.base)
    tags = _base_tags(change, model, alias)
    if base_doc is None:  # a new model: judged as the base's files would judge it
        base_doc = dict(change.document(change.head, names.model_file(model)) or {})
        if base_doc.get("policy") not in base_policies:
            base_doc.pop("policy", None)
        tags = version_tags
    try:
        base = select(base_policies, default_name(change.base), model, base_doc, tags)
    except InputError:
        return [head]  # the base's own selection was broken: the head's is what is checked
    same = base.name == head.name and base.policy == head.policy
    return [head] if same else [head, Selected(f"{base.name} (on {change.base_ref})", base.policy)]


def _base_tags(change: Change, model: str, alias: str | None) -> dict[str, str]:
    """The tags that chose the policy before the change: those of the version the alias
    points at on the base (else the model's newest version there). Never the tags the
    change brings: a version tagged ``risk: low`` must not pick its own, weaker, rules."""
    state = change.desired(change.base, model)
    number = state.aliases.get(alias) if state is not None and alias is not None else None
    if number is None:
        versions = change.versions(change.base, model)
        number = max(versions) if versions else None
    doc = change.document(change.base, names.version_file(model, number)) if number else None
    return tags_of(doc) if doc else {}
