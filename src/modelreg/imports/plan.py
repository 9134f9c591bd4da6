"""What an import would do: a pure function of the source's models and the registry's state.

A source version is imported once: each imported version records the source's
identifier in a tag (``mlflow.version: "3"``, ``gto.version: v1.2.0``), and a version
whose identifier is already recorded under its model is skipped. New versions take
the next numbers in the source's order, so MLflow's numbers are kept when they run
from 1 without a gap and nothing else was registered (the plan says every mapping
that differs). Aliases are added, never moved: an alias the registry already points
elsewhere is left as it is and noted (moving it is a promotion, reviewed as one).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from modelreg.errors import ConflictError, InputError
from modelreg.formats import names
from modelreg.imports.source import MODEL_TAG, SOURCE_TAG, SourceModel, SourceVersion

#: how each source is named in the plan and in commit messages
LABELS = {"mlflow": "MLflow", "gto": "GTO"}


@dataclass(frozen=True)
class Existing:
    """A model as the registry holds it now (absent: ``exists`` False)."""

    exists: bool = False
    #: version number -> the source identifier its tags record (None: not imported from this source)
    versions: dict[int, str | None] = field(default_factory=dict)
    aliases: dict[str, int] = field(default_factory=dict)
    archived: frozenset[int] = frozenset()
    #: the source model's name recorded in model.yaml's tags, if any
    source_name: str | None = None


@dataclass(frozen=True)
class VersionStep:
    number: int
    source: SourceVersion

    def to_dict(self, kind: str) -> dict[str, Any]:
        return {"version": self.number, f"{kind}_version": self.source.key,
                "created_at": self.source.created_at.isoformat(), "bytes": self.source.size}


@dataclass(frozen=True)
class ModelStep:
    source: SourceModel
    #: model.yaml is written (the model is new to the registry)
    create: bool
    versions: tuple[VersionStep, ...]
    #: source identifiers already imported, with the version each became
    skipped: dict[str, int]
    aliases: dict[str, int]
    archive: tuple[int, ...]
    notes: tuple[str, ...]
    #: a new model's alias moves as the source made them, oldest first: (alias, version or None
    #: for a removal, the source's name of the move), before ``aliases`` settles the end state
    history: tuple[tuple[str, int | None, str], ...] = ()

    @property
    def name(self) -> str:
        return self.source.name

    @property
    def empty(self) -> bool:
        return not (self.create or self.versions or self.aliases or self.archive)

    @property
    def bytes(self) -> int | None:
        sizes = [v.source.size for v in self.versions]
        return None if None in sizes else sum(s or 0 for s in sizes)

    def to_dict(self, kind: str) -> dict[str, Any]:
        return {"model": self.name, f"{kind}_name": self.source.source_name, "create": self.create,
                "versions": [v.to_dict(kind) for v in self.versions],
                "already_imported": dict(self.skipped), "aliases": dict(self.aliases),
                "archive": list(self.archive), "bytes": self.bytes, "notes": list(self.notes),
                "history": [{"alias": a, "version": v, "source": what} for a, v, what in self.history]}


@dataclass(frozen=True)
class Plan:
    kind: str
    models: tuple[ModelStep, ...]

    @property
    def label(self) -> str:
        return LABELS[self.kind]

    @property
    def empty(self) -> bool:
        return all(m.empty for m in self.models)

    @property
    def bytes(self) -> int | None:
        sizes = [m.bytes for m in self.models]
        return None if None in sizes else sum(s or 0 for s in sizes)

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.kind, "models": [m.to_dict(self.kind) for m in self.models],
                "versions": sum(len(m.versions) for m in self.models), "bytes": self.bytes}


def renamed(kind: str, sources: Iterable[SourceModel], renames: Mapping[str, str]) -> list[SourceModel]:
    """``sources`` with the names ``--rename SOURCE_NAME=NAME`` gives them here."""
    sources = list(sources)
    known = {s.source_name for s in sources}
    for source_name, name in renames.items():
        if source_name not in known:
            raise InputError(f"--rename {source_name}={name}: the {LABELS[kind]} model {source_name!r} is "
                             "not imported", field="--rename",
                             fix=f"give a model name as {LABELS[kind]} spells it (one of --model's)")
        names.check_model_name(name)
    out = []
    for source in sources:
        new = renames.get(source.source_name)
        if new is not None:
            notes = tuple(n for n in source.notes if " is imported as " not in n)
            tag = MODEL_TAG.format(kind=kind)
            source = replace(source, name=new, notes=(
                f"{LABELS[kind]} model {source.source_name!r} is imported as {new!r} (--rename; its "
                f"{LABELS[kind]} name in the tag {tag})", *notes))
        out.append(source)
    return out


def plan(kind: str, sources: Iterable[SourceModel], existing: dict[str, Existing]) -> Plan:
    """The plan for importing ``sources`` into a registry whose models are ``existing``."""
    sources = list(sources)
    seen: dict[str, str] = {}
    for source in sources:
        if source.name in seen:
            raise ConflictError(f"{LABELS[kind]} models {seen[source.name]!r} and {source.source_name!r} "
                                f"would both be imported as {source.name!r}",
                                fix=f"import one under another name: --rename '{source.source_name}=NAME' "
                                "(or leave one out with --model)")
        seen[source.name] = source.source_name
    return Plan(kind, tuple(_model(kind, s, existing.get(s.name, Existing())) for s in sources))


def _model(kind: str, source: SourceModel, have: Existing) -> ModelStep:
    label = LABELS[kind]
    notes = list(source.notes)
    if have.exists and have.source_name not in (None, source.source_name):
        raise ConflictError(f"model {source.name!r} was imported from the {label} model "
                            f"{have.source_name!r}, not {source.source_name!r}",
                            fix=f"import it under another name with --rename '{source.source_name}=NAME', "
                            "or leave it out with --model")
    if have.exists and have.source_name is None and source.name != source.source_name:
        # "Fraud Detector" is not "fraud-detector": appending to a model someone else owns,
        # because two names normalise alike, would be a surprise found in review at best
        raise ConflictError(f"the {label} model {source.source_name!r} would be imported as {source.name!r}, "
                            f"a model that exists here and was not imported from {label}",
                            fix=f"import it under another name with --rename '{source.source_name}=NAME', "
                            "or leave it out with --model")
    imported = {key: number for number, key in have.versions.items() if key is not None}
    skipped: dict[str, int] = {}
    steps: list[VersionStep] = []
    number = max(have.versions, default=0)
    for version in source.versions:
        if version.key in imported:
            skipped[version.key] = imported[version.key]
            continue
        number += 1
        steps.append(VersionStep(number, version))
        if kind == "mlflow" and version.key != str(number):
            notes.append(f"MLflow version {version.key} becomes v{number} (its number is kept in "
                         f"the tag {SOURCE_TAG.format(kind=kind)})")
    numbers = {**skipped, **{s.source.key: s.number for s in steps}}
    aliases = _aliases(label, source, have, numbers, notes)
    archive = _archive(label, source, have, numbers, set(aliases.values()) | set(have.aliases.values()),
                       notes)
    history = tuple((name, numbers.get(key) if key is not None else None, what)
                    for name, key, what in source.history
                    if key is None or key in numbers) if not have.exists else ()
    create = not have.exists and bool(steps)
    if have.exists and have.source_name is None and steps and have.versions:
        notes.append(f"model {source.name!r} exists here and was not imported from {label}: its "
                     f"{label} versions are added after v{max(have.versions)}")
    if not have.exists and not steps:
        notes.append("no version to import: the model is not created")
    return ModelStep(source, create, tuple(steps), skipped, aliases, tuple(archive), tuple(notes),
                     history)


def _aliases(label: str, source: SourceModel, have: Existing, numbers: dict[str, int],
             notes: list[str]) -> dict[str, int]:
    """The source's aliases the registry lacks; one it points elsewhere is noted, not moved."""
    aliases: dict[str, int] = {}
    for name, key in sorted(source.aliases.items()):
        target = numbers.get(key)
        if target is None:
            notes.append(f"alias {name!r} points at {label} version {key}, which is not imported")
        elif name in have.aliases and have.aliases[name] != target:
            notes.append(f"alias {name!r} is v{have.aliases[name]} here and v{target} in {label}: left "
                         f"as it is (promote it to move it)")
        elif name not in have.aliases:
            aliases[name] = target
    return aliases


def _archive(label: str, source: SourceModel, have: Existing, numbers: dict[str, int], held: set[int],
             notes: list[str]) -> list[int]:
    """The versions the source retired, unless an alias points at them."""
    archive = []
    for version in source.versions:
        target = numbers.get(version.key)
        if not version.archived or target is None or target in have.archived:
            continue
        if target in held:
            notes.append(f"v{target} is archived in {label} but an alias points at it: not archived")
        else:
            archive.append(target)
    return archive


def model_tags(kind: str, source: SourceModel) -> dict[str, str]:
    """The tags a new model.yaml gets: the source's, and the source model's name."""
    return {**source.tags, MODEL_TAG.format(kind=kind): source.source_name}


def version_tags(kind: str, version: SourceVersion) -> dict[str, str]:
    """The tags a version records: the source's, and the identifier that makes the import idempotent."""
    return {**version.tags, SOURCE_TAG.format(kind=kind): version.key}
