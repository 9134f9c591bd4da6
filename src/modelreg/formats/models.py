"""The registry's file formats at run time: validation and typed records, without pydantic.

The formats themselves are the pydantic models of ``formats/spec.py`` (the one
source of truth) and the JSON Schemas generated from them, which ship in the
package. Importing pydantic and building those models would cost more than a
whole ``modelreg check``, so at run time a document is validated by
``formats/shape.py`` against the shipped schema and read through a
:class:`~modelreg.formats.records.FormatRecord` built from it. For mypy each name
below *is* the pydantic class (``models.Policy``, ``models.RegistryConfig()``),
so callers are typed as if pydantic ran; ``tests/test_formats_agree.py`` proves
both paths accept, refuse and expose the same.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, Literal, TypeVar, cast

from modelreg.formats import records, shape
from modelreg.formats.names import CONFIG_FILE

if TYPE_CHECKING:
    from modelreg.edges.snapshot import Snapshot
    from modelreg.formats.spec import (
        AppliesTo,
        Approvals,
        Artifact,
        ArtifactRules,
        Bounds,
        CardRules,
        CardSection,
        CertificateSigner,
        CheckSettings,
        CodeLineage,
        CommandTarget,
        Dataset,
        DirectoryTarget,
        Environment,
        Framework,
        KeySigner,
        KServeTarget,
        LedgerSettings,
        Lineage,
        ModelManifest,
        Notification,
        Policy,
        PromotionRule,
        RegistryConfig,
        Regression,
        Rejection,
        Run,
        SigningRules,
        SigstoreSigner,
        SliceBounds,
        VersionManifest,
        WebhookTarget,
        _Strict,
    )

    M = TypeVar("M", bound=_Strict)
else:
    VersionManifest = records.Kind("version", "VersionManifest")
    Artifact = records.Kind("version", "Artifact")
    Framework = records.Kind("version", "Framework")
    CodeLineage = records.Kind("version", "CodeLineage")
    Dataset = records.Kind("version", "Dataset")
    Run = records.Kind("version", "Run")
    Lineage = records.Kind("version", "Lineage")
    ModelManifest = records.Kind("model", "ModelManifest")
    Rejection = records.Kind("model", "Rejection")
    Policy = records.Kind("policy", "Policy")
    AppliesTo = records.Kind("policy", "AppliesTo")
    Bounds = records.Kind("policy", "Bounds")
    SliceBounds = records.Kind("policy", "SliceBounds")
    Regression = records.Kind("policy", "Regression")
    ArtifactRules = records.Kind("policy", "ArtifactRules")
    CardRules = records.Kind("policy", "CardRules")
    SigningRules = records.Kind("policy", "SigningRules")
    KeySigner = records.Kind("policy", "KeySigner")
    CertificateSigner = records.Kind("policy", "CertificateSigner")
    SigstoreSigner = records.Kind("policy", "SigstoreSigner")
    Approvals = records.Kind("policy", "Approvals")
    PromotionRule = records.Kind("policy", "PromotionRule")
    RegistryConfig = records.Kind("config", "RegistryConfig")
    CheckSettings = records.Kind("config", "CheckSettings")
    Environment = records.Kind("config", "Environment")
    DirectoryTarget = records.Kind("config", "DirectoryTarget")
    CommandTarget = records.Kind("config", "CommandTarget")
    WebhookTarget = records.Kind("config", "WebhookTarget")
    KServeTarget = records.Kind("config", "KServeTarget")
    Notification = records.Kind("config", "Notification")
    LedgerSettings = records.Kind("config", "LedgerSettings")

__all__ = [
    "SCHEMAS", "SCHEMA_VERSION", "AppliesTo", "Approvals", "Artifact", "ArtifactRules", "Bounds",
    "CardRules", "CardSection", "CertificateSigner", "CheckSettings", "CodeLineage", "CommandTarget",
    "Dataset", "DirectoryTarget", "Environment", "Framework", "KServeTarget", "KeySigner", "LedgerSettings",
    "Lineage",
    "ModelManifest", "Notification", "Policy", "PromotionRule", "RegistryConfig", "Regression",
    "Rejection", "Run", "SigningRules", "SigstoreSigner", "SliceBounds", "VersionManifest",
    "WebhookTarget", "json_schema_text",
    "load_config", "validate",
]

SCHEMA_VERSION: Literal[1] = 1

#: schema file stem → the record type of the files it validates
SCHEMAS: dict[str, type[_Strict]] = {
    "version": VersionManifest,
    "model": ModelManifest,
    "policy": Policy,
    "config": RegistryConfig,
}

SHIPPED = os.path.join(os.path.dirname(__file__), "schemas")


def json_schema_text(name: str) -> str:
    """The JSON Schema this modelreg ships for one file format, as committed into registries."""
    with open(os.path.join(SHIPPED, f"{name}.schema.json"), encoding="utf-8") as file:
        return file.read()


def load_config(snapshot: Snapshot) -> RegistryConfig:
    """``modelreg.yaml`` of a snapshot, validated; the defaults when there is none.

    The one reader of the settings: init, the gates, policy selection, codeowners, deploy and serve
    call it; read once per snapshot. Raises InputError (file, line, field) when the file does not read.
    """
    from modelreg.formats import documents

    def build() -> RegistryConfig:
        data = documents.raw(snapshot, CONFIG_FILE)
        if data is None:
            return RegistryConfig()
        return validate(RegistryConfig, documents.parsed(snapshot, CONFIG_FILE), CONFIG_FILE, data)

    return documents.cached(snapshot, "config", CONFIG_FILE, build)


def validate(kind: type[M], data: Any, source: str, text: bytes | str | None = None) -> M:
    """Validate parsed YAML against a file format (or part of one); the first error becomes one
    InputError naming the file, line, field and fix. Returns the typed, read-only record."""
    light = cast(records.Kind, kind)
    shape.check(light.schema, data, source, text, light.definition)
    return cast("M", light.build(data))
