"""A version as a CycloneDX 1.6 ML-BOM (JSON): the model, its framework and its data, with its card.

The model is a component of type ``machine-learning-model`` whose ``modelCard``
holds what the manifest records (task, datasets, every metric and every
per-slice value) and what the registered card writes (intended use, ethical
considerations, caveats); the training data are ``data`` components with their
digests, the framework a ``framework`` component. Every value comes from the
files at the revision read and from git: nothing is asked of DVC or GitHub, so
the catalog (``site``) writes one per version at the cost of a JSON dump.

The document is deterministic: ``metadata.timestamp`` is the manifest's
``created_at`` (not now), keys keep the manifest's order, and the serial number
is a UUID derived from the model, the version, the artifact's sha256 and the
rest of the document: the same registry files give the same bytes, and any
change to what the BOM says gives it a new serial number (CycloneDX asks for a
new one for a changed BOM; it also recommends a fresh one per run, which a
reproducible document cannot have).

Hashes are integrity claims, so ``hashes`` holds SHA-256 only: DVC's md5 is
its content address (for a directory, the md5 of DVC's listing, not of the
bytes) and MD5 resists no collision; it is kept as a property
(``modelreg:dvc:md5``). Free text is carried as written: JSON escapes control
characters, and :func:`dumps` writes ASCII only, so no byte of a BOM can act on
a terminal, and escapes ``<``, ``>`` and ``&``, so no tag appears in it.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from modelreg.cards import SECTIONS, RegisteredCard, read_registered
from modelreg.errors import InputError

if TYPE_CHECKING:
    from collections.abc import Iterable
    from pathlib import Path

    from modelreg.read.catalog import Catalog, ModelVersion
    from modelreg.read.history import Event

SPEC_VERSION = "1.6"
SCHEMA = "http://cyclonedx.org/schema/bom-1.6.schema.json"
#: what ``modelreg bom --format`` offers; ``spdx`` is refused with the reason (docs/bom.md)
FORMATS = ("cyclonedx", "spdx")
#: what ``site`` names the BOM it writes beside each version's page, ``models/<model>/v<N>.bom.cdx.json``
#: (beside it, not in a directory of its own: a directory per version costs as much as the BOM)
SITE_SUFFIX = ".bom.cdx.json"
#: where the approvers of a change come from (``read/history.py``), as an annotation says it:
#: a record, not a proof
_RECORDED = {"ledger": "the deploy job's ledger (git notes; its record not signed, or no signers named)",
             "github": "GitHub's API (asked now)"}
#: the namespace of the serial numbers (a UUID 5 of this URL)
_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://modelreg.dev/bom")
#: card sections → where CycloneDX's model card has a place for them
_CONSIDERATIONS = {"intended_use": "useCases", "caveats_and_recommendations": "technicalLimitations"}
#: the created_at forms the version schema accepts, as RFC 3339 needs them: 'T', seconds, a colon in the zone
_TIME = re.compile(r"(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2})(:\d{2}(?:\.\d+)?)?(?:(Z)|([+-]\d{2}):?(\d{2}))")
# RFC 3986, without IP literals: what every IRI-reference validator accepts
_P = r"(?:[A-Za-z0-9\-._~!$&'()*+,;=:@]|%[0-9A-Fa-f]{2})"
_URI = re.compile(rf"[A-Za-z][A-Za-z0-9+.\-]*://(?:(?:[A-Za-z0-9\-._~!$&'()*+,;=:]|%[0-9A-Fa-f]{{2}})*@)?"
                  rf"(?:[A-Za-z0-9\-._~!$&'()*+,;=]|%[0-9A-Fa-f]{{2}})*(?::[0-9]*)?(?:/{_P}*)*"
                  rf"(?:\?(?:{_P}|[/?])*)?(?:#(?:{_P}|[/?])*)?")
#: git's scp-like remote, ``git@github.com:acme/fraud.git``: the same place as ``ssh://git@github.com/acme/...``
_SCP = re.compile(r"([A-Za-z0-9._-]+@)?([A-Za-z0-9.-]+):(?!//)([A-Za-z0-9._~/-][A-Za-z0-9._~/+-]*)")
#: the schemes a repository or a run is reached by; any other (``javascript:``, ``data:``) stays a property
_SCHEMES = frozenset({"https", "http", "ssh", "git", "git+ssh", "git+https", "file"})


@dataclass(frozen=True)
class Bom:
    """One version's bill of materials: ``document`` is the CycloneDX JSON as a dictionary."""

    model: str
    version: int
    document: dict[str, Any]
    #: ``dumps(document, indent=None)``, made once while the serial number was derived
    compact: str

    @property
    def serial_number(self) -> str:
        return str(self.document["serialNumber"])

    def to_dict(self) -> dict[str, Any]:
        return self.document

    def dumps(self, *, indent: int | None = 2) -> str:
        return self.compact if indent is None else dumps(self.document, indent=indent)


def dumps(document: dict[str, Any], *, indent: int | None = 2) -> str:
    """The BOM as JSON text: ASCII only (every other character escaped), and no ``<``, ``>`` or
    ``&`` (escaped too: a server or browser that sniffs a JSON file as HTML finds no tag in it).
    ``indent=None`` writes it compact, on one line: json's C encoder, several times faster than
    the indented form (the catalog writes one per version)."""
    separators = (",", ":") if indent is None else None
    text = json.dumps(document, indent=indent, separators=separators, ensure_ascii=True, allow_nan=False)
    # three replaces: several times faster than str.translate on a text that is ASCII already
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026") + "\n"


def for_version(catalog: Catalog, mv: ModelVersion, events: Iterable[Event] = (), *,
                tool_version: str = "") -> Bom:
    """The BOM of ``mv``: its manifest, its registered card (an error when it is named but absent
    or does not read), its model's owners, and the history ``events`` of its model (who approved
    the moves of an alias to it; the commit that registered it)."""
    registered = read_registered(catalog, mv)
    return build(mv, registered, owners=catalog.model(mv.model).owners, events=events,
                 tool_version=tool_version)


def build(mv: ModelVersion, registered: RegisteredCard | None, *, owners: Iterable[str] = (),
          events: Iterable[Event] = (), tool_version: str = "", card_problem: str | None = None) -> Bom:
    """The BOM of ``mv`` from what is given: a pure function of the files and the history read.
    ``card_problem``: why the card the manifest names could not be read (said in the metadata)."""
    data, art = mv.data, mv.artifact
    ref = mv.uri
    lineage = _mapping(data.get("lineage"))
    datasets = [d for d in lineage.get("data") or [] if isinstance(d, dict)]
    data_refs = [f"{ref}#data/{i}" for i in range(len(datasets))]
    framework = _mapping(data.get("framework"))
    framework_ref = f"{ref}#framework" if framework.get("name") else None
    mine = [e for e in events if e.version == mv.version]
    model: dict[str, Any] = {"type": "machine-learning-model", "bom-ref": ref, "name": mv.model,
                             "version": str(mv.version)}
    if mv.description:
        model["description"] = mv.description
    sha256 = art.get("sha256")
    if isinstance(sha256, str):  # the schema's Sha256: 64 lower-case hex digits, as CycloneDX's pattern
        model["hashes"] = [{"alg": "SHA-256", "content": sha256}]
    license_name = registered.metadata.get("license") if registered else None
    if isinstance(license_name, str) and license_name:
        model["licenses"] = [{"license": {"name": license_name}}]
    code = _mapping(lineage.get("code"))
    references = _references(code, _mapping(lineage.get("run")))
    if references:
        model["externalReferences"] = references
    if isinstance(code.get("commit"), str):
        model["pedigree"] = {"commits": [{"uid": code["commit"]}],
                             "notes": "the training code's commit (version.yaml lineage.code)"}
    model["properties"] = _model_properties(mv, owners, mine)
    model["modelCard"] = _model_card(mv, registered, data_refs)
    components = [model]
    if framework_ref is not None:
        component = {"type": "framework", "bom-ref": framework_ref, "name": str(framework["name"])}
        if isinstance(framework.get("version"), str):
            component["version"] = framework["version"]
        components.append(component)
    components += [_dataset(d, r) for d, r in zip(datasets, data_refs, strict=True)]
    depends = [r for r in (framework_ref, *data_refs) if r is not None]
    document: dict[str, Any] = {
        "$schema": SCHEMA, "bomFormat": "CycloneDX", "specVersion": SPEC_VERSION,
        "serialNumber": "", "version": 1,
        "metadata": _metadata(mv, registered, tool_version, card_problem),
        "components": components,
        "dependencies": [{"ref": ref, "dependsOn": depends}, *({"ref": r, "dependsOn": []} for r in depends)],
    }
    annotations = _annotations(mv, ref, mine)
    if annotations:
        document["annotations"] = annotations
    compact = dumps(document, indent=None)
    serial = document["serialNumber"] = serial_number(mv.model, mv.version, str(sha256),
                                                      hashlib.sha256(compact.encode()).hexdigest())
    # the first "serialNumber" of the text is the document's own: its key comes before any other text
    compact = compact.replace('"serialNumber":""', f'"serialNumber":"{serial}"', 1)
    return Bom(mv.model, mv.version, document, compact)


def serial_number(model: str, version: int, sha256: str, content: str) -> str:
    """``urn:uuid:`` of a UUID 5 over the version, its artifact's sha256 and ``content``: the
    SHA-256 of the document (its ``serialNumber`` empty) as ``dumps(document, indent=None)``."""
    return f"urn:uuid:{uuid.uuid5(_NAMESPACE, f'{model}/{version}/{sha256}/{content}')}"


def timestamp(text: Any) -> str | None:
    """A time the version schema accepts, written as RFC 3339 needs it (the same instant); None
    for anything else."""
    match = _TIME.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        return None
    day, minute, seconds, utc, hours, minutes = match.groups()
    written = f"{day}T{minute}{seconds or ':00'}{'Z' if utc else f'{hours}:{minutes}'}"
    try:  # a date of the calendar, an hour of the day (microseconds are enough to judge by)
        datetime.fromisoformat(re.sub(r"(\.\d{6})\d+", r"\1", written).replace("Z", "+00:00"))
    except ValueError:
        return None
    return written


def url(text: Any) -> str | None:
    """``text`` as a URI a CycloneDX validator accepts (git's ``user@host:path`` as ``ssh://``, a
    local path as ``file://``), or None: a value that is no such URL stays a property only."""
    if not isinstance(text, str):
        return None
    if _URI.fullmatch(text):
        return text if text.split(":", 1)[0].lower() in _SCHEMES else None
    scp = _SCP.fullmatch(text)
    if scp is not None:
        return f"ssh://{scp.group(1) or ''}{scp.group(2)}/{scp.group(3).lstrip('/')}"
    if text.startswith("/") and not text.startswith("//"):  # a repository on this machine
        local = "file://" + quote(text, safe="/-._~")
        return local if _URI.fullmatch(local) else None
    return None


def text(value: Any) -> str:
    """A manifest value as recorded: floats in their shortest exact form, never rounded."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    return str(value)


def save(content: str, output: Path) -> None:
    """Write the BOM to ``output`` whole or not at all; a link there is replaced, not written
    through (:mod:`modelreg.edges.outdir`)."""
    from modelreg.edges.outdir import OutDir  # the write path only

    if not output.parent.is_dir():  # (a directory at ``output`` is refused by the option's type)
        raise InputError(f"{output.parent} does not exist", field="--output",
                         fix="create the directory first, or write elsewhere")
    OutDir(output.parent).write_text(output.name, content)


# the parts ----------------------------------------------------------------------------------------

def _metadata(mv: ModelVersion, registered: RegisteredCard | None, tool_version: str,
              card_problem: str | None) -> dict[str, Any]:
    tool: dict[str, Any] = {"type": "application", "name": "modelreg"}
    if tool_version:
        tool["version"] = tool_version
    out: dict[str, Any] = {}
    when = timestamp(mv.data.get("created_at"))
    if when is not None:
        out["timestamp"] = when
    out["tools"] = {"components": [tool]}
    sources = [mv.source, *((registered.source,) if registered and registered.source else ())]
    props = [_prop("modelreg:source", s) for s in sources]
    if card_problem is not None:
        props.append(_prop("modelreg:card:not-read", card_problem))
    props.append(_prop("modelreg:registry:commit", mv.commit if mv.commit else "(the work tree)"))
    out["properties"] = props
    return out


def _model_properties(mv: ModelVersion, owners: Iterable[str], mine: list[Event]) -> list[dict[str, str]]:
    data, art = mv.data, mv.artifact
    lineage = _mapping(data.get("lineage"))
    code, run = _mapping(lineage.get("code")), _mapping(lineage.get("run"))
    directory = art.get("type") == "directory"
    props = [_prop("modelreg:uri", mv.uri),
             _prop("modelreg:created_at", data.get("created_at")),
             _prop("modelreg:created_by", data.get("created_by"))]
    props += [_prop("modelreg:owner", o) for o in owners]
    props += [_prop(f"modelreg:artifact:{k}", art[k]) for k in ("path", "type", "format", "size", "files")
              if art.get(k) is not None]
    props.append(_prop("modelreg:artifact:sha256-of",
                       "the sha256sum listing of the directory's files (docs/format.md)" if directory
                       else "the file's bytes"))
    if art.get("md5") is not None:
        props.append(_prop("modelreg:dvc:md5", art["md5"]))
    props += [_prop(f"modelreg:code:{k}", code[k]) for k in ("repo", "commit", "branch", "dirty")
              if code.get(k) is not None]
    props += [_prop(f"modelreg:run:{k}", run[k]) for k in ("id", "url") if run.get(k) is not None]
    props += [_prop("modelreg:tag", f"{k}={v}") for k, v in mv.tags.items()]
    props += [_prop("modelreg:alias", a) for a in mv.aliases]
    props += [_prop("modelreg:stage", mv.stage), _prop("modelreg:approval", mv.approval)]
    for event in mine:
        if event.kind == "registered":
            props.append(_prop("modelreg:registered:commit", event.commit))
            if event.pr is not None:
                props.append(_prop("modelreg:registered:pull-request", event.pr))
    return props


def _references(code: dict[str, Any], run: dict[str, Any]) -> list[dict[str, str]]:
    out = []
    repo = url(code.get("repo"))
    if repo is not None:
        said = [f"commit {code['commit']}" if code.get("commit") else "",
                f"branch {code['branch']}" if code.get("branch") else "",
                "with uncommitted changes" if code.get("dirty") else ""]
        out.append({"type": "vcs", "url": repo,
                    "comment": " ".join(["the training code", *filter(None, said)])})
    run_url = url(run.get("url"))
    if run_url is not None:
        out.append({"type": "build-system", "url": run_url,
                    "comment": f"the training run {run['id']}" if run.get("id") else "the training run"})
    return out


def _model_card(mv: ModelVersion, registered: RegisteredCard | None, data_refs: list[str]) -> dict[str, Any]:
    card: dict[str, Any] = {}
    parameters: dict[str, Any] = {}
    task = registered.metadata.get("task") if registered else None
    if isinstance(task, str) and task:
        parameters["task"] = task
    if data_refs:
        parameters["datasets"] = [{"ref": r} for r in data_refs]
    if parameters:
        card["modelParameters"] = parameters
    metrics = _performance(mv)
    if metrics:
        card["quantitativeAnalysis"] = {"performanceMetrics": metrics}
    considerations = _considerations(registered)
    if considerations:
        card["considerations"] = considerations
    props = [_prop(f"modelreg:param:{k}", text(v)) for k, v in mv.params.items()]
    if registered is not None:
        if registered.title:
            props.append(_prop("modelreg:card:title", registered.title))
        if registered.summary.strip():
            props.append(_prop("modelreg:card:summary", registered.summary.strip("\n")))
        props += [_prop(f"modelreg:card:{key}", prose) for key in SECTIONS
                  if key not in _CONSIDERATIONS and key != "ethical_considerations"
                  and (prose := registered.prose(key)) is not None]
        props += [_prop("modelreg:card:other", f"{heading}\n\n{prose}")
                  for heading, prose in registered.other]
    if props:
        card["properties"] = props
    return card


def _performance(mv: ModelVersion) -> list[dict[str, str]]:
    out = [{"type": str(name), "value": text(value)} for name, value in mv.metrics.items() if _number(value)]
    slices = _mapping(mv.data.get("slices"))
    for name, values in slices.items():
        out += [{"type": str(metric), "value": text(value), "slice": str(name)}
                for metric, value in _mapping(values).items() if _number(value)]
    return out


def _considerations(registered: RegisteredCard | None) -> dict[str, Any]:
    if registered is None:
        return {}
    out: dict[str, Any] = {}
    for key, field in _CONSIDERATIONS.items():
        prose = registered.prose(key)
        if prose is not None:
            out[field] = [prose]
    ethics = registered.prose("ethical_considerations")
    if ethics is not None:
        out["ethicalConsiderations"] = [{"name": ethics}]
    return out


def _dataset(item: dict[str, Any], ref: str) -> dict[str, Any]:
    name = str(item.get("name") or "")
    component: dict[str, Any] = {"type": "data", "bom-ref": ref, "name": name}
    if isinstance(item.get("version"), str):
        component["version"] = item["version"]
    sha256 = item.get("sha256")
    if isinstance(sha256, str):
        component["hashes"] = [{"alg": "SHA-256", "content": sha256}]
    props = [_prop(f"modelreg:data:{k}", item[k]) for k in ("path", "size") if item.get(k) is not None]
    if item.get("md5") is not None:
        props.append(_prop("modelreg:dvc:md5", item["md5"]))
    if props:
        component["properties"] = props
    component["data"] = [{"type": "dataset", "name": name,
                          "description": "training or evaluation data (version.yaml lineage.data)"}]
    return component


def _annotations(mv: ModelVersion, ref: str, mine: list[Event]) -> list[dict[str, Any]]:
    """Who registered the version (as its manifest says) and whose approval of each move of an
    alias to it counted (as the history read says, with where that comes from)."""
    out = []
    registered_at = timestamp(mv.data.get("created_at"))
    by = mv.data.get("created_by")
    if registered_at is not None and isinstance(by, str) and by:
        commit = next((e.commit for e in mine if e.kind == "registered"), None)
        where = f" in registry commit {commit}" if commit else ""
        out.append({"subjects": [ref], "annotator": {"individual": {"name": by}}, "timestamp": registered_at,
                    "text": f"registered {mv.uri}{where} (version.yaml created_by)"})
    for event in mine:
        if event.kind != "alias" or not event.approvers:
            continue
        pr = f" in pull request #{event.pr}" if event.pr is not None else ""
        for approver in event.approvers:
            when = timestamp(approver.at) or timestamp(event.date)
            if when is None:
                continue
            out.append({"subjects": [ref], "annotator": {"individual": {"name": approver.login}},
                        "timestamp": when,
                        "text": f"approved pointing the alias {event.alias} at {mv.uri}{pr} (commit "
                                f"{event.commit}), an approval that counted under the policy as "
                                f"{_recorded(event)} records it"})
    return out


def believed(events: Iterable[Event], *, signers_named: bool) -> list[Event]:
    """``events`` with the ledger's approvers kept only where its record is believed, as deploy and
    status believe it: once modelreg.yaml names ledger signers, verified records only; without,
    unverified ones too; a forged or unchecked record never."""
    from dataclasses import replace

    from modelreg.read.ledger_trust import UNVERIFIED, VERIFIED

    trusted = {VERIFIED} if signers_named else {VERIFIED, UNVERIFIED}
    return [e if e.approvers_source != "ledger" or e.signature is None or e.signature.state in trusted
            else replace(e, approvers=None, not_counted=None) for e in events]


def _recorded(event: Event) -> str:
    if event.approvers_source == "ledger" and event.signature is not None \
            and event.signature.state == "verified":
        return "the deploy job's ledger (git notes; its record's signature verified)"
    return _RECORDED.get(str(event.approvers_source), "an unknown source")


def _prop(name: str, value: Any) -> dict[str, str]:
    return {"name": name, "value": text(value)}


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)
