"""Model cards: the card a user registered, read into sections, and the card built from it as data.

A registered card (``card.md`` beside ``version.yaml``) is Markdown with optional
YAML front matter. Its ``## `` headings are matched, case-insensitively and with
common synonyms, to the sections of Mitchell et al., "Model Cards for Model
Reporting" (2019). The card modelreg builds (:func:`build`) takes each section's
prose from the user and every number from the manifest: metrics, slices,
params, the artifact's hashes, lineage. Numbers are never read out of prose.

:func:`missing_sections` is the decision the policy gate uses. Rendering is in
``cards_render.py``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from modelreg.errors import InputError
from modelreg.formats import names

if TYPE_CHECKING:
    from collections.abc import Iterable

    from modelreg.read.catalog import Catalog, ModelVersion

#: section key → title, in the order of the paper; the keys are what policies name
SECTIONS: dict[str, str] = {
    "model_details": "Model details",
    "intended_use": "Intended use",
    "factors": "Factors",
    "metrics": "Metrics",
    "evaluation_data": "Evaluation data",
    "training_data": "Training data",
    "quantitative_analyses": "Quantitative analyses",
    "ethical_considerations": "Ethical considerations",
    "caveats_and_recommendations": "Caveats and recommendations",
}

#: headings people write for each section (normalised: lower case, "&" as "and", no punctuation)
SYNONYMS: dict[str, tuple[str, ...]] = {
    "model_details": ("model details", "model detail", "model description", "model overview",
                      "details", "overview"),
    "intended_use": ("intended use", "intended uses", "intended use cases", "intended uses and limitations",
                     "uses", "use cases"),
    "factors": ("factors", "relevant factors", "evaluation factors"),
    "metrics": ("metrics", "performance metrics", "evaluation metrics", "model performance measures"),
    "evaluation_data": ("evaluation data", "evaluation dataset", "evaluation datasets", "eval data",
                        "test data", "testing data"),
    "training_data": ("training data", "training dataset", "training datasets", "train data"),
    "quantitative_analyses": ("quantitative analyses", "quantitative analysis", "results",
                              "evaluation results"),
    "ethical_considerations": ("ethical considerations", "ethics", "ethical concerns",
                               "bias risks and limitations"),
    "caveats_and_recommendations": ("caveats and recommendations", "caveats", "recommendations",
                                    "limitations", "known limitations", "limitations and recommendations"),
}
_BY_HEADING = {heading: key for key, headings in SYNONYMS.items() for heading in headings}

#: the largest card read, as ``register --card`` allows
MAX_BYTES = 1024 * 1024
#: the task type of the Hugging Face model-index when the card's front matter names none
DEFAULT_TASK = "other"
#: text that stands for "not written yet" (the Hugging Face template's placeholder among them)
_PLACEHOLDERS = {"[more information needed]", "more information needed", "todo", "tbd"}
_COMMENT = re.compile(r"<!--.*?(?:-->|\Z)", re.DOTALL)
_H2 = re.compile(r"^ {0,3}##[ \t]+(.*?)[ \t]*#*[ \t]*$")
_H1 = re.compile(r"^ {0,3}#[ \t]+(.*?)[ \t]*#*[ \t]*$")
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_TASK = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")

Cell = str | int | float | bool | None


def normalise(heading: str) -> str:
    """``**2. Intended Uses & Limitations:**`` → ``intended uses and limitations``."""
    text = re.sub(r"[*_`]", "", heading).lower().replace("&", " and ")
    text = re.sub(r"^\s*\d+(?:\.\d+)*[.)]?\s+", "", text)
    return " ".join(re.sub(r"[^\w\s]", " ", text).split())


def section_key(heading: str) -> str | None:
    """The Mitchell section a ``## `` heading stands for, or None."""
    return _BY_HEADING.get(normalise(heading))


def is_empty(prose: str) -> bool:
    """Only comments, sub-headings and placeholders, or nothing: not written."""
    for line in _COMMENT.sub("", prose).splitlines():
        text = line.strip()
        if text and not re.match(r"^#{1,6}(?:\s|$)", text) and text.lower().strip(" .:") not in _PLACEHOLDERS:
            return False
    return True


@dataclass(frozen=True)
class RegisteredCard:
    """The card a user registered: front matter, title, and prose per section."""

    source: str
    metadata: dict[str, Any] = field(default_factory=dict)
    title: str | None = None
    summary: str = ""
    #: section key → the prose under its heading(s), as written
    sections: dict[str, str] = field(default_factory=dict)
    #: section key → 1-based line of its (first) heading in the file
    lines: dict[str, int] = field(default_factory=dict)
    #: headings that name no section of the paper, with their prose, in file order
    other: tuple[tuple[str, str], ...] = ()

    def prose(self, key: str) -> str | None:
        """The section's prose, or None when it is absent or has nothing written in it."""
        text = self.sections.get(key)
        return None if text is None or is_empty(text) else text.strip("\n")


def parse(data: bytes | str, source: str) -> RegisteredCard:
    """Read a registered card; front matter through the strict YAML loader. Raises InputError."""
    if isinstance(data, bytes):
        if len(data) > MAX_BYTES:
            raise InputError(f"is larger than {MAX_BYTES // 1024} KiB", file=source,
                             fix="keep the card to prose; numbers come from version.yaml")
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InputError(f"is not UTF-8 text (byte {exc.start})", file=source,
                             fix="save the card as UTF-8") from None
    lines = data.removeprefix("\ufeff").splitlines()
    metadata, start = _front_matter(lines, source)
    title, summary, sections, first, other = _split(lines, start)
    return RegisteredCard(source=source, metadata=metadata, title=title, summary=summary,
                          sections=sections, lines=first, other=tuple(other))


def _front_matter(lines: list[str], source: str) -> tuple[dict[str, Any], int]:
    """The front matter as a checked mapping, and the index of the body's first line."""
    if not lines or lines[0].rstrip() != "---":
        return {}, 0
    end = next((i for i in range(1, len(lines)) if lines[i].rstrip() in ("---", "...")), None)
    if end is None:
        raise InputError("the front matter opened by '---' on line 1 is never closed", file=source, line=1,
                         fix="end it with a line of '---'")
    from modelreg.formats import yamlio

    text = "\n".join(lines[1:end]) + "\n"
    try:
        doc = yamlio.loads(text, source)
    except InputError as exc:  # lines in the card, not in the front matter
        raise InputError(exc.detail, file=source, line=exc.line + 1 if exc.line else None,
                         field=exc.field, fix=exc.fix) from None
    if doc is None:
        return {}, end + 1
    if not isinstance(doc, dict):
        raise InputError("the front matter is not a mapping", file=source, line=2,
                         fix="write key: value pairs between the '---' lines")
    _check_metadata(doc, source, yamlio.key_lines(text))
    return doc, end + 1


def _check_metadata(doc: dict[str, Any], source: str, lines: dict[tuple[str | int, ...], int]) -> None:
    def fail(key: str, message: str, fix: str) -> None:
        line = lines.get((key,))
        raise InputError(message, file=source, line=line + 1 if line else None, field=key, fix=fix)

    if "model-index" in doc:
        fail("model-index", "numbers come from version.yaml, not from the card",
             "remove model-index; `modelreg card --format hf` writes it from the manifest")
    for key in ("title", "library_name"):
        if key in doc and not isinstance(doc[key], str):
            fail(key, "should be a string", "quote it")
    if "task" in doc and not (isinstance(doc["task"], str) and _TASK.fullmatch(doc["task"])):
        fail("task", "should be a task type such as tabular-classification",
             "use a Hugging Face task id: lower-case letters, digits and '-'")
    tags = doc.get("tags", [])
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        fail("tags", "should be a list of strings", "write tags: [fraud, tabular]")
    dataset = doc.get("evaluation_dataset", {"name": "-", "type": "-"})
    if not isinstance(dataset, dict) or not {"name", "type"} <= set(dataset) \
            or not set(dataset) <= {"name", "type", "split"} \
            or not all(isinstance(v, str) and v for v in dataset.values()):
        fail("evaluation_dataset", "should be a mapping of name, type and optionally split (strings)",
             "write evaluation_dataset: {name: Held-out transactions, type: custom, split: test}")


def _split(lines: list[str], start: int) -> tuple[str | None, str, dict[str, str], dict[str, int],
                                                  list[tuple[str, str]]]:
    """Title, summary, prose per section, the first line of each section, and unmatched sections."""
    title: str | None = None
    chunks: list[tuple[str | None, int, list[str]]] = [(None, 0, [])]  # (heading, line, body)
    fence: str | None = None
    for index in range(start, len(lines)):
        line = lines[index]
        opening = _FENCE.match(line)
        if fence is not None:
            if opening and opening.group(1)[0] == fence[0] and len(opening.group(1)) >= len(fence):
                fence = None
        elif opening:
            fence = opening.group(1)
        elif (h2 := _H2.match(line)) is not None:
            chunks.append((h2.group(1), index + 1, []))
            continue
        elif title is None and len(chunks) == 1 and (h1 := _H1.match(line)) is not None:
            title = h1.group(1)
            continue
        chunks[-1][2].append(line)
    sections: dict[str, str] = {}
    first: dict[str, int] = {}
    other: list[tuple[str, str]] = []
    for heading, number, body in chunks[1:]:
        text = "\n".join(body).strip("\n")
        key = section_key(heading or "")
        if key is None:
            other.append((heading or "", text))
        elif key in sections:  # a section written in two places: both parts, in order
            sections[key] = f"{sections[key]}\n\n{text}"
        else:
            sections[key], first[key] = text, number
    return title, "\n".join(chunks[0][2]).strip("\n"), sections, first, other


def missing_sections(card: RegisteredCard | None, required: Iterable[str]) -> list[str]:
    """The required section keys the card lacks or leaves empty (all of them without a card)."""
    return [key for key in required if card is None or card.prose(key) is None]


def card_file(model: str, version: int, name: str) -> str:
    """The repository path of a version's card, from the ``card`` field of its manifest."""
    names.check_file_name(name, what="card")
    return f"{names.version_dir(model, version)}/{name}"


def read_registered(catalog: Catalog, mv: ModelVersion) -> RegisteredCard | None:
    """The card ``mv`` names, read from the catalog's snapshot (None when it names none)."""
    name = mv.data.get("card")
    if not isinstance(name, str) or not name:
        return None
    try:
        path = card_file(mv.model, mv.version, name)
    except InputError as exc:
        raise InputError(exc.detail, file=mv.source, field="card", fix=exc.fix) from None
    data = catalog.snapshot.read(path)
    if data is None:
        raise InputError(f"names the card {name!r}, which is not beside it", file=mv.source, field="card",
                         fix=f"add {path}, or register a version whose card is there")
    return parse(data, path)


# The card as data ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Table:
    headers: tuple[str, ...]
    rows: tuple[tuple[Cell, ...], ...]

    def to_dict(self) -> dict[str, Any]:
        return {"headers": list(self.headers), "rows": [list(r) for r in self.rows]}


@dataclass(frozen=True)
class Section:
    key: str
    title: str
    #: the user's prose; None is "Not provided"
    prose: str | None
    #: (label, value) pairs from the manifest
    facts: tuple[tuple[str, Cell], ...] = ()
    #: (caption, table) from the manifest
    tables: tuple[tuple[str, Table], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"key": self.key, "title": self.title, "prose": self.prose,
                "facts": [list(f) for f in self.facts],
                "tables": [{"caption": c, **t.to_dict()} for c, t in self.tables]}


@dataclass(frozen=True)
class Card:
    model: str
    version: int
    title: str
    summary: str
    sections: tuple[Section, ...]
    #: the user's sections that are not among the paper's, as (heading, prose)
    other: tuple[tuple[str, str], ...]
    metrics: dict[str, float]
    framework: str | None
    task: str
    evaluation_dataset: dict[str, str]
    #: the card's front matter, as written (for the Hugging Face README's metadata)
    metadata: dict[str, Any]
    #: where the numbers and the prose came from
    sources: tuple[str, ...]

    @property
    def missing(self) -> list[str]:
        return [s.key for s in self.sections if s.prose is None]

    def to_dict(self) -> dict[str, Any]:
        return {"model": self.model, "version": self.version, "title": self.title, "summary": self.summary,
                "sections": [s.to_dict() for s in self.sections],
                "other_sections": [{"title": t, "prose": p} for t, p in self.other],
                "missing": self.missing, "metrics": self.metrics, "framework": self.framework,
                "task": self.task, "evaluation_dataset": self.evaluation_dataset,
                "metadata": self.metadata, "sources": list(self.sources)}


def for_version(catalog: Catalog, mv: ModelVersion) -> Card:
    """The card of one version: its registered card's prose and its manifest's numbers."""
    registered = read_registered(catalog, mv)
    return build(mv, registered, owners=catalog.model(mv.model).owners)


def build(mv: ModelVersion, registered: RegisteredCard | None, *, owners: list[str] | None = None) -> Card:
    reg = registered or RegisteredCard(source="")
    data = mv.data
    metrics = {k: v for k, v in _mapping(data.get("metrics")).items() if _is_number(v)}
    slices = {str(n): {k: v for k, v in _mapping(s).items() if _is_number(v)}
              for n, s in _mapping(data.get("slices")).items()}
    framework = _mapping(data.get("framework"))
    facts = {
        "model_details": _details(mv, owners or [], framework),
        "factors": ((("Slices evaluated", ", ".join(slices)),) if slices else ()),
    }
    tables = {
        "model_details": _table("Parameters", ("Parameter", "Value"),
                                [(k, _cell(v)) for k, v in _mapping(data.get("params")).items()]),
        "metrics": _table("Overall", ("Metric", "Value"), list(metrics.items())),
        "training_data": _datasets(_mapping(data.get("lineage")).get("data")),
        "quantitative_analyses": _slice_table(metrics, slices),
    }
    sections = tuple(Section(key, title, reg.prose(key), facts.get(key, ()), tables.get(key, ()))
                     for key, title in SECTIONS.items())
    dataset = reg.metadata.get("evaluation_dataset") or {"name": "Evaluation data", "type": "custom"}
    title = reg.metadata.get("title") or reg.title or f"Model card: {mv.model} v{mv.version}"
    return Card(model=mv.model, version=mv.version, title=str(title), summary=reg.summary,
                sections=sections, other=reg.other, metrics=metrics,
                framework=str(framework["name"]) if framework.get("name") else None,
                task=str(reg.metadata.get("task") or DEFAULT_TASK), evaluation_dataset=dict(dataset),
                metadata=dict(reg.metadata), sources=(mv.source, *((reg.source,) if reg.source else ())))


def _details(mv: ModelVersion, owners: list[str], framework: dict[str, Any]) -> tuple[tuple[str, Cell], ...]:
    data, art = mv.data, mv.artifact
    lineage = _mapping(data.get("lineage"))
    code, run = _mapping(lineage.get("code")), _mapping(lineage.get("run"))
    rows: list[tuple[str, Cell]] = [
        ("Model", mv.model), ("Version", mv.version), ("URI", mv.uri),
        ("Description", data.get("description")), ("Owners", ", ".join(owners) or None),
        ("Created at", data.get("created_at")), ("Created by", data.get("created_by")),
        ("Framework", " ".join(str(v) for v in (framework.get("name"), framework.get("version")) if v)
         or None),
        ("Aliases", ", ".join(mv.aliases) or None), ("Stage", mv.stage), ("Approval", mv.approval),
        ("Artifact", art.get("path")), ("Artifact format", art.get("format")),
        ("Artifact size (bytes)", art.get("size")), ("Artifact sha256", art.get("sha256")),
        ("Artifact md5", art.get("md5")),
        ("Code repository", code.get("repo")), ("Code commit", code.get("commit")),
        ("Code branch", code.get("branch")), ("Uncommitted changes", code.get("dirty") or None),
        ("Run id", run.get("id")), ("Run URL", run.get("url")),
        ("Tags", ", ".join(f"{k}={v}" for k, v in mv.tags.items()) or None),
        ("Registry commit", mv.commit),
    ]
    return tuple((label, _cell(value)) for label, value in rows if value not in (None, ""))


def _datasets(value: Any) -> tuple[tuple[str, Table], ...]:
    items = [d for d in value if isinstance(d, dict)] if isinstance(value, list) else []
    rows = [tuple(_cell(d.get(k)) for k in ("name", "version", "path", "size", "md5", "sha256"))
            for d in items]
    return _table("Data sets (lineage)", ("Data set", "Version", "Path", "Size (bytes)", "md5", "sha256"),
                  rows)


def _slice_table(metrics: dict[str, float], slices: dict[str, dict[str, float]]
                 ) -> tuple[tuple[str, Table], ...]:
    if not slices:
        return ()
    columns = list(dict.fromkeys([*metrics, *(m for s in slices.values() for m in s)]))
    rows: list[tuple[Cell, ...]] = [("(overall)", *(metrics.get(m) for m in columns))]
    rows += [(name, *(scores.get(m) for m in columns)) for name, scores in slices.items()]
    return _table("Per slice", ("Slice", *columns), rows)


def _table(caption: str, headers: tuple[str, ...], rows: list[tuple[Cell, ...]]
           ) -> tuple[tuple[str, Table], ...]:
    return ((caption, Table(headers, tuple(rows))),) if rows else ()


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _cell(value: Any) -> Cell:
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)
