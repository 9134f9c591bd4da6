"""The registry's file formats as pydantic models: the one source of truth for each format.

For developers only: nothing at run time imports this module (importing pydantic
and building the models costs more than a whole ``modelreg check``).
``scripts/generate-schemas`` writes the JSON Schemas generated from these models
into the package (``formats/schemas/``, shipped) and the example registry
(``schemas/``); a test keeps both current. At run time ``formats/shape.py``
validates against the shipped schemas and ``formats/records.py`` gives typed
access to a validated document; ``tests/test_formats_agree.py`` proves that
both agree with these models.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal, TypeVar

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    Strict,
    StringConstraints,
)

from modelreg.formats import shape
from modelreg.formats.names import (
    ALIAS_NAME,
    FILE_NAME,
    KEY_NAME,
    MODEL_NAME,
    REQUIREMENT,
    RESERVED_ALIASES,
)

SCHEMA_VERSION: Literal[1] = 1


def _not_reserved(alias: str) -> str:
    if alias in RESERVED_ALIASES:
        raise ValueError(f"{alias!r} is reserved")
    return alias


ModelName = Annotated[str, StringConstraints(pattern=MODEL_NAME.pattern, max_length=64)]
# ``not``/``propertyNames`` in the generated schema: editors refuse a reserved alias as the gate does.
AliasName = Annotated[str, StringConstraints(pattern=ALIAS_NAME.pattern), AfterValidator(_not_reserved),
                      Field(json_schema_extra={"not": {"enum": sorted(RESERVED_ALIASES)}})]
FileName = Annotated[str, StringConstraints(pattern=FILE_NAME.pattern)]
Key = Annotated[str, StringConstraints(pattern=KEY_NAME.pattern)]
SliceName = Annotated[str, StringConstraints(pattern=r"^[^\x00-\x1f]{1,128}$")]
PolicyName = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")]
Owner = Annotated[str, StringConstraints(
    pattern=r"^(?:@[A-Za-z0-9][A-Za-z0-9_.-]*(?:/[A-Za-z0-9][A-Za-z0-9_.-]*)?|[^@\s]+@[^@\s]+)$")]
#: whose approval counts: an owner, or an app's account by its login (``@renovate[bot]``), which a
#: rule must name for its approvals to count (docs/approvals.md)
Reviewer = Annotated[str, StringConstraints(
    pattern=r"^(?:@[A-Za-z0-9][A-Za-z0-9_.-]*(?:/[A-Za-z0-9][A-Za-z0-9_.-]*)?|@[A-Za-z0-9][A-Za-z0-9-]*\[bot\]"
            r"|[^@\s]+@[^@\s]+)$")]
Md5 = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{32}(?:\.dir)?$")]
Sha256 = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
VersionNumber = Annotated[int, Field(ge=1, le=999_999_999)]
Number = Annotated[float, Field(allow_inf_nan=False)]


def _text_only(value: Any) -> Any:
    if not isinstance(value, str) or not shape.pattern(shape.DATE_TIME).search(value):
        raise ValueError("write an ISO 8601 date and time with a zone, e.g. 2026-11-20T10:02:11Z")
    return value


def _calendar_pattern(schema: dict[str, Any]) -> None:
    # pydantic marks an AwareDatetime ``format: date-time`` (RFC 3339: seconds required, no space
    # before the time), which an editor asserting formats would hold against what modelreg accepts
    schema.pop("format", None)
    schema["pattern"] = shape.CALENDAR_DATE_TIME


# ISO 8601 text with a time zone: not a bare date, not a number of seconds, a date and time of the
# calendar. The schema says so with a pattern, so an editor refuses what this refuses.
Timestamp = Annotated[AwareDatetime, BeforeValidator(_text_only), Strict(False),
                      Field(json_schema_extra=_calendar_pattern)]
Duration = Annotated[str, StringConstraints(pattern=r"^\d+[smhdw]$")]
Scalar = str | int | Number | bool | None


def _not_a_boolean(value: Any) -> Any:
    if isinstance(value, bool):  # Literal[1] accepts True, which equals 1
        raise ValueError("should be 1")
    return value


SchemaVersion = Annotated[Literal[1], BeforeValidator(_not_a_boolean)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


M = TypeVar("M", bound=_Strict)


class Artifact(_Strict):
    path: FileName = Field(description="file or directory name beside version.yaml")
    type: Literal["file", "directory"] = "file"
    md5: Md5 = Field(description="DVC's md5 (ending in .dir for a directory)")
    sha256: Sha256 = Field(description="sha256 of the file; for a directory, of its listing")
    size: Annotated[int, Field(ge=0)]
    files: Annotated[int, Field(ge=0)] | None = None
    format: Key | None = None


class Framework(_Strict):
    name: Key
    version: str | None = None


class CodeLineage(_Strict):
    repo: str | None = None
    commit: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{40}(?:[0-9a-f]{24})?$")] | None = None
    branch: str | None = None
    dirty: bool = False


class Dataset(_Strict):
    name: str
    path: str | None = None
    version: str | None = None
    md5: Md5 | None = None
    sha256: Sha256 | None = None
    size: Annotated[int, Field(ge=0)] | None = None


class Run(_Strict):
    id: str | None = None
    url: str | None = None


class Lineage(_Strict):
    code: CodeLineage | None = None
    data: list[Dataset] = []
    run: Run | None = None


class VersionManifest(_Strict):
    """``registry/<model>/v<N>/version.yaml``: immutable once on main."""

    schema_version: SchemaVersion = SCHEMA_VERSION
    model: ModelName
    version: VersionNumber
    created_at: Timestamp
    created_by: str
    description: str = ""
    artifact: Artifact
    framework: Framework | None = None
    metrics: dict[Key, Number] = {}
    slices: dict[SliceName, dict[Key, Number]] = {}
    params: dict[Key, Scalar] = {}
    lineage: Lineage = Lineage()
    tags: dict[Key, str] = {}
    card: FileName | None = None
    signature: FileName | None = Field(
        default=None, description="the OpenSSF Model Signing bundle (Sigstore bundle JSON) beside "
        "version.yaml that signs the artifact's bytes (`modelreg register --sign`, `modelreg verify`)")


class Rejection(_Strict):
    version: VersionNumber
    reason: str
    by: str | None = None


class ModelManifest(_Strict):
    """``registry/<model>/model.yaml``: the model and its desired state."""

    schema_version: SchemaVersion = SCHEMA_VERSION
    name: ModelName
    description: str = ""
    owners: list[Owner] = []
    policy: PolicyName | None = None
    tags: dict[Key, str] = {}
    aliases: dict[AliasName, VersionNumber] = {}
    archived: list[VersionNumber] = []
    rejected: list[Rejection] = []


class Bounds(_Strict):
    min: Number | None = None
    max: Number | None = None


class SliceBounds(_Strict):
    min: Number | None = None
    max: Number | None = None
    max_gap: Annotated[float, Field(ge=0, allow_inf_nan=False)] | None = None


class Regression(_Strict):
    metric: Key
    against: AliasName
    max_drop: Annotated[float, Field(ge=0, allow_inf_nan=False)] | None = None
    max_rise: Annotated[float, Field(ge=0, allow_inf_nan=False)] | None = None


class ArtifactRules(_Strict):
    max_size: Annotated[int, Field(ge=0)] | None = None
    formats: list[Key] | None = None
    code_execution: Literal["allow", "scan", "refuse"] = Field(
        default="allow", description="files that run code when loaded (pickle, joblib, a pickle in a "
        "PyTorch zip, numpy object arrays, Keras Lambda layers), found by content: allow them, allow "
        "them when a scan finds no dangerous import (scan), or refuse them (refuse)")


class Approvals(_Strict):
    count: Annotated[int, Field(ge=0)] = 1
    from_: list[Reviewer] = Field(default=[], alias="from",
                                  description="users (@alice), teams (@org/team) and apps' accounts "
                                  "(@name[bot]) whose approval counts")
    allow_author: bool = Field(default=False, description="whether the PR's author may approve it")
    dismiss_stale: bool = Field(default=True, description="only approvals of the PR's head commit count")


class PromotionRule(_Strict):
    after: AliasName | None = None
    min_soak: Duration | None = None
    approvals: Approvals = Approvals()


#: the sections of a model card (Mitchell et al.), as ``cards.SECTIONS`` names them
CardSection = Literal["model_details", "intended_use", "factors", "metrics", "evaluation_data",
                      "training_data", "quantitative_analyses", "ethical_considerations",
                      "caveats_and_recommendations"]


class CardRules(_Strict):
    required_sections: list[CardSection] = Field(
        default=[], description="sections every new version's card must write (a version without a "
        "card fails)")


#: a PEM block written in the policy, or the path of a PEM file in the registry (read at the revision of
#: the policy that names it); ``policies/signing.py`` decodes the block, a key's or a certificate's
PemOrPath = Annotated[str, StringConstraints(
    max_length=20000,
    pattern=r"^(?:-----BEGIN [A-Z0-9 ]+-----\s[A-Za-z0-9+/=\s]+-----END [A-Z0-9 ]+-----\s*"
            r"|[A-Za-z0-9_][A-Za-z0-9_.-]*(?:/[A-Za-z0-9_][A-Za-z0-9_.-]*)*)$")]


class KeySigner(_Strict):
    """A signer known by its public key (``register --sign --sign-key``)."""

    kind: Literal["key"]
    public_key: PemOrPath = Field(description="the PEM public key itself, or the path of a PEM file in "
                                  "the registry (e.g. policies/keys/train.pub)")


class CertificateSigner(_Strict):
    """Signers whose certificate chains up to one of these certificate authorities."""

    kind: Literal["certificate"]
    certificate_chain: Annotated[list[PemOrPath], Field(min_length=1, max_length=16)] = Field(
        description="the CA certificates (PEM, or paths of PEM files in the registry) a signing "
        "certificate must chain up to")


class SigstoreSigner(_Strict):
    """A Sigstore keyless signer: the workload identity in the certificate Fulcio issued."""

    kind: Literal["sigstore"]
    identity: Annotated[str, StringConstraints(pattern=r"^[^\s]{1,1000}$")] = Field(
        description="the certificate's identity, e.g. a training workflow "
        "https://github.com/ORG/train/.github/workflows/train.yml@refs/heads/main")
    issuer: Annotated[str, StringConstraints(pattern=r"^https://[^\s]{1,2000}$")] = Field(
        description="the OIDC issuer, e.g. https://token.actions.githubusercontent.com")


AnySigner = Annotated[KeySigner | CertificateSigner | SigstoreSigner, Field(discriminator="kind")]


class SigningRules(_Strict):
    required: bool = Field(default=False, description="every new version must carry a signature bundle "
                           "that verifies against its bytes and one of the signers")
    signers: list[AnySigner] = Field(default=[], description="who may sign: public keys, certificate "
                                     "authorities, Sigstore identities")


class AppliesTo(_Strict):
    models: list[ModelName] = []
    tags: dict[Key, str] = {}


class Policy(_Strict):
    """``policies/<name>.yaml``: the gates a model's versions and promotions must pass."""

    schema_version: SchemaVersion = SCHEMA_VERSION
    description: str = ""
    applies_to: AppliesTo = AppliesTo()
    required: list[str] = []
    thresholds: dict[Key, Bounds] = {}
    slices: dict[Key, SliceBounds] = {}
    regression: list[Regression] = []
    artifact: ArtifactRules = ArtifactRules()
    card: CardRules = CardRules()
    signing: SigningRules = SigningRules()
    promotion: dict[AliasName, PromotionRule] = {}


class CheckSettings(_Strict):
    """How ``modelreg check`` treats artifacts."""

    verify_sha256: bool = Field(
        default=True, description="download each new version's artifact and check its sha256")
    verify_max_size: Annotated[int, Field(ge=0)] | None = Field(
        default=None, description="skip the sha256 download for artifacts larger than this many bytes")


EnvName = Annotated[str, StringConstraints(pattern=ALIAS_NAME.pattern)]
EnvVar = Annotated[str, StringConstraints(pattern=r"^[A-Z_][A-Z0-9_]{0,127}$")]
Url = Annotated[str, StringConstraints(pattern=r"^https?://[^\s]{1,2000}$")]
LocalPath = Annotated[str, StringConstraints(pattern=r"^[^\x00-\x1f]{1,1000}$")]


class DirectoryTarget(_Strict):
    """A model repository on disk: ROOT/MODEL/VERSION/ and an atomic pointer per alias."""

    type: Literal["directory"]
    path: LocalPath = Field(description="the root directory (relative paths: to the registry)")
    keep: Annotated[int, Field(ge=1, le=1000)] = Field(
        default=3, description="versions kept per model, the serving ones always among them")


class CommandTarget(_Strict):
    """A command run with the model in MODELREG_* environment variables; its exit code decides."""

    type: Literal["command"]
    run: Annotated[list[Annotated[str, StringConstraints(min_length=1)]], Field(min_length=1)] = Field(
        description="the program and its arguments (no shell)")
    timeout: Duration = "10m"
    env: list[EnvVar] = Field(default=[], description="variables of the job's environment passed to the "
                              "command (it gets only PATH, HOME, LANG, LC_ALL, MODELREG_* and these)")
    secret_env: list[EnvVar] = Field(default=[], description="variables passed to the command that hold "
                                     "secrets: their values are masked in the output recorded")


class WebhookTarget(_Strict):
    """A JSON event POSTed to a URL, signed with HMAC-SHA256 when a secret is configured."""

    type: Literal["webhook"]
    url: Url
    secret_env: EnvVar | None = Field(default=None, description="the environment variable holding "
                                      "the signing secret (never the secret itself)")
    retries: Annotated[int, Field(ge=0, le=10)] = 3
    timeout: Duration = "10s"


class KServeTarget(_Strict):
    """An InferenceService manifest per environment, written where a GitOps controller syncs."""

    type: Literal["kserve"]
    path: LocalPath = Field(description="the directory Argo CD or Flux syncs (relative: to the registry)")
    namespace: Annotated[str, StringConstraints(pattern=r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")] = "default"
    storage_uri: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9+.-]*://[^\s]{1,1000}$")] | None = \
        Field(default=None, description="where the cluster reads the artifact; {model}, {version}, "
              "{md5}, {sha256} are filled in (default: the object in the DVC remote)")


AnyTarget = Annotated[DirectoryTarget | CommandTarget | WebhookTarget | KServeTarget,
                   Field(discriminator="type")]


class Environment(_Strict):
    """Where an alias is served: the targets a merge that moves it deploys to."""

    alias: AliasName
    targets: Annotated[list[AnyTarget], Field(min_length=1)]
    models: list[ModelName] = Field(default=[], description="only these models (default: every model)")


class Notification(_Strict):
    """A webhook told of every alias move and deployment outcome."""

    type: Literal["webhook", "slack"]
    url: Url
    secret_env: EnvVar | None = None


#: who may sign deployment records: a public key (inline or a file in the registry, read at main's
#: revision) or the deploy workflow's Sigstore identity; the same shapes as a policy's signers
LedgerSigner = Annotated[KeySigner | SigstoreSigner, Field(discriminator="kind")]


class LedgerSettings(_Strict):
    """Who may sign deployment records (docs/security.md): once signers are named, a record not
    signed by one of them is never proof that something is deployed."""

    signers: list[LedgerSigner] = Field(default=[], description="the keys and Sigstore identities "
                                        "whose signatures on ledger records count")


class RegistryConfig(_Strict):
    """``modelreg.yaml`` at the root: marks the registry and holds its settings."""

    schema_version: SchemaVersion = SCHEMA_VERSION
    default_policy: PolicyName = Field(
        default="default", description="the policy of models that name none and match no applies_to")
    admins: list[Owner] = Field(
        default=[], description="owners of modelreg.yaml, policies/, schemas/ and .github/ in CODEOWNERS")
    install: Annotated[str, StringConstraints(pattern=REQUIREMENT.pattern)] | None = Field(
        default=None, description="what the workflows pip-install (default: the modelreg that wrote them)")
    check: CheckSettings = CheckSettings()
    environments: dict[EnvName, Environment] = Field(
        default={}, description="where each alias is deployed when a merge moves it")
    notify: list[Notification] = []
    ledger: LedgerSettings = LedgerSettings()


#: schema file stem → (model, path pattern it validates)
SCHEMAS: dict[str, type[_Strict]] = {
    "version": VersionManifest,
    "model": ModelManifest,
    "policy": Policy,
    "config": RegistryConfig,
}


def generate_json_schema(name: str) -> dict[str, Any]:
    """The JSON Schema of one file format, generated from its model (slow: for developers)."""
    schema = _closed(SCHEMAS[name].model_json_schema(by_alias=True))
    return {"$schema": "https://json-schema.org/draft/2020-12/schema",
            "$id": f"https://modelreg.dev/schemas/v1/{name}.schema.json", **schema}


def _closed(node: Any) -> Any:
    """Refuse keys outside ``patternProperties``, as the models do (pydantic leaves them open)."""
    if isinstance(node, dict):
        node = {k: _closed(v) for k, v in node.items()}
        if "patternProperties" in node and "additionalProperties" not in node:
            node["additionalProperties"] = False
    elif isinstance(node, list):
        node = [_closed(v) for v in node]
    return node


def generate_json_schema_text(name: str) -> str:
    return json.dumps(generate_json_schema(name), indent=2, sort_keys=False) + "\n"
