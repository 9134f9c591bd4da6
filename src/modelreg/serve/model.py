"""The model a server answers for: a verified version, loaded, with what identifies it."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from modelreg import __version__
from modelreg.api import Registry
from modelreg.read.resolve import parse
from modelreg.serve import loaders, locate, safety
from modelreg.serve.protocol import Tensor, TensorSpec


@dataclass(frozen=True)
class ServedModel:
    name: str
    version: int
    sha256: str
    format: str
    #: the URI asked for, e.g. models:/fraud@production
    requested: str
    #: where the bytes came from, for people
    source: str
    predictor: loaders.Predictor
    notes: tuple[str, ...] = ()
    trusted_types: tuple[str, ...] = ()

    @property
    def uri(self) -> str:
        return f"models:/{self.name}/{self.version}"

    @property
    def inputs(self) -> list[TensorSpec]:
        return self.predictor.inputs

    def infer(self, inputs: list[Tensor], outputs: list[str] | None) -> list[Tensor]:
        return self.predictor.infer(inputs, outputs)

    def metadata(self) -> dict[str, Any]:
        """The protocol's model metadata (``GET /v2/models/NAME``), with modelreg's identity of it."""
        return {"name": self.name, "versions": [str(self.version)], "platform": self.predictor.platform,
                "inputs": [s.to_dict() for s in self.predictor.inputs],
                "outputs": [s.to_dict() for s in self.predictor.outputs],
                "parameters": {"sha256": self.sha256, "uri": self.uri, "requested": self.requested,
                               "format": self.format}}

    def to_dict(self) -> dict[str, Any]:
        return {"model": self.name, "version": self.version, "uri": self.uri, "requested": self.requested,
                "sha256": self.sha256, "format": self.format, "platform": self.predictor.platform,
                "source": self.source, "notes": list(self.notes), "trusted_types": list(self.trusted_types)}


def server_metadata() -> dict[str, Any]:
    """The protocol's server metadata (``GET /v2``)."""
    return {"name": "modelreg", "version": __version__, "extensions": ["binary_tensor_data"]}


def open_model(registry: str | os.PathLike[str], uri: str, *, env: str | None = None,
               trust_pickle: bool = False, trust_types: tuple[str, ...] = ()) -> ServedModel:
    """Find the version ``uri`` serves, verify its bytes, load them.

    A format that runs code is refused before a byte of it is read, unless ``trust_pickle``; so is
    a format whose library is not installed. The model's policy is honoured too: under
    ``artifact.code_execution: refuse`` such a format is refused even with ``trust_pickle``, and
    under ``scan`` the verified bytes are scanned before they are loaded.
    """
    reg = Registry(registry)
    found = locate.find(reg, uri, env=env)
    mv = found.mv
    fmt = loaders.artifact_format(mv.artifact, mv.source)
    rule = safety.rule_for(reg, mv)
    safety.check_format(rule, fmt, mv.uri)
    loaders.check_trust(fmt, mv.uri, trust_pickle=trust_pickle)
    loaders.require(fmt)  # before fetching: a missing library is known without the bytes
    data = locate.read_verified(reg, found)
    if fmt in loaders.RUNS_CODE:
        safety.check_bytes(rule, data, str(mv.artifact.get("path") or mv.uri), mv.uri)
    loaded = loaders.load(fmt, data, where=f"{mv.uri} ({found.path or mv.artifact.get('path')})",
                          trust_pickle=trust_pickle, trust_types=trust_types)
    return ServedModel(name=mv.model, version=mv.version, sha256=str(mv.artifact.get("sha256")), format=fmt,
                       requested=str(parse(uri)), source=found.source, predictor=loaded.predictor,
                       notes=found.notes, trusted_types=loaded.trusted_types)
