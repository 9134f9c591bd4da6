"""Target ``kserve``: an InferenceService manifest per model and environment, for GitOps to sync.

Layout, below ``path`` (relative paths: to the registry)::

    <path>/<namespace>/<environment>/<model>.yaml

one KServe ``InferenceService`` (``serving.kserve.io/v1beta1``) per model per
environment. modelreg writes the file (atomically); a GitOps controller (Argo
CD, Flux) watching the directory applies it, and KServe rolls the predictor to
the new ``storageUri``. What the cluster then serves is the controller's
business: :meth:`KServe.serving` reports what the manifest asks for
(``verified=False``).

The manifest:

- ``metadata.name``: ``<model>-<environment>`` when that is already a valid
  name, else the same with every character outside ``[a-z0-9-]`` made ``-``, a
  leading digit prefixed with ``m-``, cut to length, and six hex digits of the
  sha256 of ``<model>-<environment>`` appended so two models cannot map to one
  name. The environment is always part of it: environments may share a
  namespace, and a name must not change when another environment is added.
  At most :data:`NAME_MAX` (53) characters, a DNS-1035 label: KServe's admission
  webhook requires ``[a-z]([-a-z0-9]*[a-z0-9])?`` and names the predictor's
  Service ``<name>-predictor``, itself a label of at most 63 characters.
  Before writing, the other manifests of the namespace are read: one of
  another model or environment with the same name is refused (use another
  namespace for one of the environments).
- labels ``app.kubernetes.io/managed-by: modelreg`` and ``modelreg.dev/model``,
  ``/environment``, ``/alias``, ``/version`` (each where it is a valid label
  value); annotations ``modelreg.dev/model``, ``/environment``, ``/alias``,
  ``/version``, ``/sha256``, ``/md5``, ``/commit``, ``/uri``.
- ``spec.predictor.model.modelFormat.name`` from the version's
  ``artifact.format`` (:data:`FORMATS`; an artifact without a known format is
  refused), ``protocolVersion: v2`` where the format's runtime speaks only that
  (MLflow, served by MLServer).
- ``spec.predictor.model.storageUri``: ``storage_uri`` with ``{model}``,
  ``{version}``, ``{md5}`` and ``{sha256}`` filled in; without it, the object in
  the registry's default DVC remote (read from ``.dvc/config``, no DVC import),
  whose bytes are verified by sha256 first. A remote the cluster cannot read
  (a local directory, ssh, azure://) is refused. Note that DVC stores objects
  under their md5 without a file name: KServe's sklearn and xgboost servers find
  the model file by its extension, so for them ``storage_uri`` should point at a
  copy kept under its name.

:func:`validate` checks a manifest against the rules KServe and Kubernetes
document for these fields before anything is written.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any

from modelreg.deploy.targets import Activation, Serving, TargetOutcome
from modelreg.edges.atomic import write_atomic
from modelreg.edges.outdir import OutDir
from modelreg.edges.snapshot import WorkTree
from modelreg.errors import ConflictError, ModelregError
from modelreg.formats import models, yamlio
from modelreg.formats.pointers import default_remote

API_VERSION = "serving.kserve.io/v1beta1"
KIND = "InferenceService"
#: KServe names the predictor's Service ``<name>-predictor``, a DNS-1035 label (≤ 63)
NAME_MAX = 63 - len("-predictor")
PREFIX = "modelreg.dev/"
#: the first line of every manifest written
HEADER = "# Written by `modelreg deploy`: change registry/{model}/model.yaml, not this file."

#: ``artifact.format`` in version.yaml → KServe's ``modelFormat.name``
FORMATS: dict[str, str] = {
    "pickle": "sklearn",
    "joblib": "sklearn",
    "sklearn": "sklearn",
    "onnx": "onnx",
    "xgboost": "xgboost",
    "lightgbm": "lightgbm",
    "pytorch": "pytorch",
    "tf-savedmodel": "tensorflow",
    "tensorflow": "tensorflow",
    "huggingface": "huggingface",
    "mlflow": "mlflow",
}
#: formats whose serving runtime speaks only the Open Inference Protocol (KServe's MLflow docs)
PROTOCOLS: dict[str, str] = {"mlflow": "v2"}
#: storageUri schemes KServe's storage initializer downloads from (Azure Blob is https://)
STORAGE_PREFIXES = ("gs://", "s3://", "pvc://", "file://", "https://", "http://", "hdfs://", "webhdfs://",
                    "oci://", "hf://")

_DNS1035 = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
_DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_QUALIFIED = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
#: Kubernetes' limit on all of an object's annotations together
_ANNOTATIONS_MAX = 256 * 1024


def isvc_name(model: str, environment: str) -> str:
    """The InferenceService's name for ``model`` in ``environment`` (see the module's docstring)."""
    base = f"{model}-{environment}"
    if len(base) <= NAME_MAX and _DNS1035.fullmatch(base):
        return base
    mapped = re.sub(r"[^a-z0-9-]", "-", base.lower())
    if not mapped[:1].isalpha():
        mapped = f"m-{mapped}"
    digest = hashlib.sha256(base.encode()).hexdigest()[:6]
    return f"{mapped[:NAME_MAX - 7].rstrip('-')}-{digest}"


def manifest_path(base: Path, namespace: str, environment: str, model: str) -> Path:
    return base / namespace / environment / f"{model}.yaml"


def inference_service(act: Activation, *, namespace: str, model_format: str,
                      storage_uri: str) -> dict[str, Any]:
    """The InferenceService document for ``act`` (not validated: see :func:`validate`)."""
    labels = {"app.kubernetes.io/managed-by": "modelreg"}
    for key, value in (("model", act.model), ("environment", act.environment), ("alias", act.alias),
                       ("version", str(act.version))):
        if len(value) <= 63 and _LABEL_VALUE.fullmatch(value):
            labels[PREFIX + key] = value
    annotations = {PREFIX + key: value for key, value in (
        ("model", act.model), ("environment", act.environment), ("alias", act.alias),
        ("version", str(act.version)), ("sha256", act.sha256), ("md5", act.md5), ("commit", act.commit),
        ("uri", act.uri))}
    model: dict[str, Any] = {"modelFormat": {"name": model_format}}
    if model_format in PROTOCOLS:
        model["protocolVersion"] = PROTOCOLS[model_format]
    model["storageUri"] = storage_uri
    return {
        "apiVersion": API_VERSION,
        "kind": KIND,
        "metadata": {"name": isvc_name(act.model, act.environment), "namespace": namespace,
                     "labels": labels, "annotations": annotations},
        "spec": {"predictor": {"model": model}},
    }


def validate(doc: Any) -> list[str]:
    """What in ``doc`` KServe or Kubernetes would refuse (empty: nothing), field by field.

    The rules: KServe's admission webhook (the name's pattern, one predictor
    implementation, no ``name`` in ``predictor.model``, the storage URI schemes
    its storage initializer supports) and Kubernetes' object metadata (DNS-1123
    namespace, qualified label and annotation keys, label values of at most 63
    characters, annotations of at most 256 KiB in all).
    """
    if not isinstance(doc, dict):
        return ["the manifest is not a mapping"]
    problems = []
    if doc.get("apiVersion") != API_VERSION:
        problems.append(f"apiVersion: should be {API_VERSION}")
    if doc.get("kind") != KIND:
        problems.append(f"kind: should be {KIND}")
    problems += _validate_metadata(doc.get("metadata"))
    problems += _validate_spec(doc.get("spec"))
    return problems


def _validate_metadata(meta: Any) -> list[str]:
    if not isinstance(meta, dict):
        return ["metadata: required"]
    problems = []
    name = meta.get("name")
    if not isinstance(name, str) or not _DNS1035.fullmatch(name):
        problems.append(f"metadata.name: {name!r} is not a DNS-1035 label ([a-z]([-a-z0-9]*[a-z0-9])?)")
    elif len(name) > NAME_MAX:
        problems.append(f"metadata.name: {name!r} is longer than {NAME_MAX} characters "
                        "(KServe's <name>-predictor Service must fit 63)")
    namespace = meta.get("namespace")
    if not isinstance(namespace, str) or len(namespace) > 63 or not _DNS1123_LABEL.fullmatch(namespace):
        problems.append(f"metadata.namespace: {namespace!r} is not a DNS-1123 label")
    for field, limit in (("labels", 63), ("annotations", None)):
        entries = meta.get(field, {})
        if not isinstance(entries, dict):
            problems.append(f"metadata.{field}: should be a mapping")
            continue
        for key, value in entries.items():
            if not _qualified_key(key):
                problems.append(f"metadata.{field}: {key!r} is not a qualified name ([prefix/]name)")
            if not isinstance(value, str):
                problems.append(f"metadata.{field}.{key}: should be a string, got {type(value).__name__}")
            elif limit is not None and (len(value) > limit or not _LABEL_VALUE.fullmatch(value)):
                problems.append(f"metadata.{field}.{key}: {value!r} is not a valid label value")
        if field == "annotations" and sum(len(str(k)) + len(str(v)) for k, v in entries.items()) \
                > _ANNOTATIONS_MAX:
            problems.append("metadata.annotations: larger than 256 KiB in all")
    return problems


def _validate_spec(spec: Any) -> list[str]:
    predictor = spec.get("predictor") if isinstance(spec, dict) else None
    if not isinstance(predictor, dict):
        return ["spec.predictor: required"]
    model = predictor.get("model")
    if not isinstance(model, dict):
        return ["spec.predictor.model: required"]
    problems = []
    others = sorted(k for k, v in predictor.items() if k != "model" and isinstance(v, dict))
    if others:
        problems.append(f"spec.predictor: exactly one implementation allowed, also found {', '.join(others)}")
    if "name" in model:
        problems.append("spec.predictor.model.name: not allowed (KServe names the model after the service)")
    fmt = model.get("modelFormat")
    if not isinstance(fmt, dict) or not isinstance(fmt.get("name"), str) or not fmt["name"]:
        problems.append("spec.predictor.model.modelFormat.name: required")
    uri = model.get("storageUri")
    if not isinstance(uri, str) or not uri:
        problems.append("spec.predictor.model.storageUri: required")
    elif problem := storage_problem(uri):
        problems.append(f"spec.predictor.model.storageUri: {problem}")
    protocol = model.get("protocolVersion")
    if protocol is not None and protocol not in ("v1", "v2", "grpc-v2"):
        problems.append(f"spec.predictor.model.protocolVersion: {protocol!r} is not v1, v2 or grpc-v2")
    return problems


def storage_problem(uri: str) -> str | None:
    """Why the cluster could not read ``uri`` (None: a scheme KServe's storage initializer reads)."""
    if any(c.isspace() for c in uri):
        return f"{uri!r} contains white space"
    if uri.startswith(STORAGE_PREFIXES):
        return None
    scheme = uri.split("://", 1)[0] + "://" if "://" in uri else None
    if scheme is None:
        return (f"{uri!r} is a path on this machine, which the cluster cannot read; "
                "set storage_uri (e.g. s3://bucket/models/{model}/{version})")
    return f"{scheme} is not a scheme KServe downloads from ({', '.join(STORAGE_PREFIXES)})"


def _qualified_key(key: Any) -> bool:
    if not isinstance(key, str):
        return False
    prefix, _, name = key.rpartition("/")
    if prefix and (len(prefix) > 253 or not _DNS1123_SUBDOMAIN.fullmatch(prefix)):
        return False
    return len(name) <= 63 and bool(_QUALIFIED.fullmatch(name))


def fill(template: str, values: dict[str, str]) -> str:
    """``template`` with ``{name}`` placeholders filled; an unknown one is a ValueError.

    Not ``str.format``: the template comes from modelreg.yaml, and format's
    ``{model.__class__}`` field syntax must not reach into Python objects.
    """
    def one(match: re.Match[str]) -> str:
        key = match.group(1)
        if key not in values:
            raise ValueError(f"storage_uri: unknown placeholder {{{key}}}; use "
                             + ", ".join(f"{{{k}}}" for k in values))
        return values[key]

    return _PLACEHOLDER.sub(one, template)


#: what makes a model KServe cannot load servable, where re-registering the same file would not
_NO_RUNTIME = {
    "skops": "KServe's sklearn server loads only joblib or pickle files (model.joblib, model.pkl) and no "
             "KServe runtime reads skops; to serve this model on KServe, register a new version converted to "
             "ONNX (skl2onnx; loads without running code) or saved with joblib.dump as model.joblib, whose "
             "loading runs any code in the file (the model's policy must allow it: artifact.code_execution "
             "refuse rejects it, scan checks it at registration, and KServe loads it unscanned); or keep "
             "skops and deploy this model with a `directory` target (`modelreg serve` loads skops without "
             "running code) or a `command` target",
}


def unservable(fmt: object) -> str:
    """Why a version with ``artifact.format`` ``fmt`` cannot be deployed to KServe, and what would help."""
    known = ", ".join(sorted(FORMATS))
    if not isinstance(fmt, str) or not fmt:
        return (f"artifact.format is not set; KServe needs one of {known}: register a version with "
                "`--format NAME`, or deploy this model with another target")
    if fmt in _NO_RUNTIME:
        return f"artifact.format {fmt!r} has no KServe model format: {_NO_RUNTIME[fmt]}"
    return (f"artifact.format {fmt!r} has no KServe model format; KServe needs one of {known}: export the "
            "model to one of them and register a version with `--format NAME`, or deploy this model with a "
            "`directory` or `command` target")


class KServe:
    def __init__(self, base: Path, namespace: str, storage_uri: str | None, root: Path) -> None:
        self.base = base
        self.namespace = namespace
        self.storage_uri = storage_uri
        self.root = root
        self.name = f"kserve {base / namespace}"

    def path(self, environment: str, model: str) -> Path:
        return manifest_path(self.base, self.namespace, environment, model)

    def activate(self, act: Activation) -> TargetOutcome:
        artifact = act.manifest.get("artifact")
        fmt = artifact.get("format") if isinstance(artifact, dict) else None
        if not isinstance(fmt, str) or fmt not in FORMATS:
            return TargetOutcome(False, self.name, f"{act.model} v{act.version}: {unservable(fmt)}")
        uri = self._storage_uri(act)
        if isinstance(uri, TargetOutcome):
            return uri
        doc = inference_service(act, namespace=self.namespace, model_format=FORMATS[fmt], storage_uri=uri)
        problems = validate(doc)
        path = self.path(act.environment, act.model)
        if not problems:
            problems = self._name_taken(doc["metadata"]["name"], path)
        if problems:
            return TargetOutcome(False, self.name, "; ".join(problems), {"path": str(path)})
        text = yamlio.dumps(doc, header=HEADER.replace("{model}", act.model))
        try:
            changed = _read(path) != text.encode()
            if changed:  # no link inside the GitOps directory is written through
                self.base.mkdir(parents=True, exist_ok=True)
                write_atomic(OutDir(self.base).path(path.relative_to(self.base).as_posix()), text)
        except OSError as exc:
            return TargetOutcome(False, self.name, f"{path}: cannot be written: {exc.strerror or exc}",
                                 {"path": str(path)})
        except ConflictError as exc:
            return TargetOutcome(False, self.name, str(exc), {"path": str(path)})
        detail = {"path": str(path), "name": doc["metadata"]["name"], "namespace": self.namespace,
                  "storage_uri": uri, "model_format": FORMATS[fmt], "changed": changed}
        verb = "wrote" if changed else "unchanged:"
        return TargetOutcome(True, self.name, f"{verb} {path}", detail)

    def _storage_uri(self, act: Activation) -> str | TargetOutcome:
        if self.storage_uri is not None:
            try:
                uri = fill(self.storage_uri, {"model": act.model, "version": str(act.version),
                                              "md5": act.md5, "sha256": act.sha256})
            except ValueError as exc:
                return TargetOutcome(False, self.name, str(exc))
            return uri
        if act.md5.endswith(".dir"):
            return TargetOutcome(False, self.name,
                                 f"{act.model} v{act.version} is a directory, which the DVC remote stores "
                                 "as separate objects; set storage_uri to where the cluster reads it")
        try:
            uri = default_remote(WorkTree(str(self.root))).location(act.md5)
        except ModelregError as exc:
            return TargetOutcome(False, self.name, f"no storage_uri and no DVC remote to point at: {exc}")
        problem = storage_problem(uri)
        if problem:
            return TargetOutcome(False, self.name, f"the DVC remote: {problem}")
        try:
            act.local_path()  # the cluster reads the remote object: its bytes must be the version's
        except (ModelregError, OSError) as exc:
            return TargetOutcome(False, self.name,
                                 f"the artifact in the DVC remote could not be verified: {exc}")
        return uri

    def _name_taken(self, name: str, path: Path) -> list[str]:
        """Another manifest of the namespace with the same name, which the cluster would conflate."""
        for other in sorted((self.base / self.namespace).glob("*/*.yaml")):
            if other == path:
                continue
            doc = _load(other)
            meta = doc.get("metadata") if isinstance(doc, dict) else None
            if isinstance(meta, dict) and meta.get("name") == name:
                return [f"metadata.name: {name!r} is also the name in {other}; "
                        "give one of the environments another namespace"]
        return []

    def serving(self, model: str, alias: str, *, verify: bool = False) -> Serving | None:
        """What the manifests of ``model`` ask for under ``alias`` (every environment serving it).

        The cluster's state is not read: ``verified`` is always False.
        """
        found: dict[str, tuple[int | None, str | None]] = {}
        folder = self.base / self.namespace
        for path in sorted(folder.glob(f"*/{model}.yaml")) if folder.is_dir() else []:
            doc = _load(path)
            meta = doc.get("metadata") if isinstance(doc, dict) else None
            notes = meta.get("annotations") if isinstance(meta, dict) else None
            if not isinstance(notes, dict):
                return Serving(None, None, drift=f"{path} is not a manifest modelreg can read")
            if notes.get(PREFIX + "model") != model or notes.get(PREFIX + "alias") != alias:
                continue
            version = notes.get(PREFIX + "version")
            sha = notes.get(PREFIX + "sha256")
            found[path.parent.name] = (int(version) if isinstance(version, str) and version.isdigit()
                                       else None, sha if isinstance(sha, str) else None)
        if not found:
            return Serving(None, None)
        if len(set(found.values())) > 1:
            listing = ", ".join(f"{env}: v{v}" for env, (v, _) in sorted(found.items()))
            return Serving(None, None, drift=f"the environments serving {alias} disagree ({listing})")
        version, sha = next(iter(found.values()))
        return Serving(version, sha, verified=False)


def _read(path: Path) -> bytes | None:
    try:
        with open(path, "rb") as file:
            return file.read(yamlio.MAX_BYTES + 1)
    except (FileNotFoundError, NotADirectoryError):
        return None


def _load(path: Path) -> Any:
    try:
        data = _read(path)
        return None if data is None else yamlio.loads(data, str(path))
    except (ModelregError, OSError):
        return None


def make(config: models.KServeTarget, root: Path) -> KServe:
    base = Path(config.path)
    return KServe(base if base.is_absolute() else root / base, config.namespace, config.storage_uri,
                        root)
