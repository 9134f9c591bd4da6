"""A modelreg registry as an MLflow model registry store, read-only.

MLflow builds it for ``MLFLOW_REGISTRY_URI=modelreg:...`` (entry point
``mlflow.model_registry_store``) and keeps one per URI for the process, so every call opens
the registry afresh: a ``git pull`` between two calls is seen by the second. Reads go through
:class:`modelreg.api.Registry` (the manifests parsed as ``modelreg show`` parses them);
``search_*`` filter, order and page with MLflow's own ``SearchModelUtils`` and
``SearchModelVersionUtils``, as MLflow's file store does. Every write is refused with
:class:`ReadOnly`: a modelreg registry changes by pull request.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, NoReturn

from mlflow.entities.model_registry import ModelVersion as MlflowVersion
from mlflow.entities.model_registry import RegisteredModel
from mlflow.entities.model_registry.model_version_stages import get_canonical_stage
from mlflow.exceptions import MlflowException
from mlflow.prompt.registry_utils import add_prompt_filter_string
from mlflow.protos.databricks_pb2 import (
    DATA_LOSS,
    INTERNAL_ERROR,
    INVALID_PARAMETER_VALUE,
    PERMISSION_DENIED,
    RESOURCE_DOES_NOT_EXIST,
    TEMPORARILY_UNAVAILABLE,
)
from mlflow.store.entities.paged_list import PagedList
from mlflow.store.model_registry import (
    SEARCH_MODEL_VERSION_MAX_RESULTS_THRESHOLD,
    SEARCH_REGISTERED_MODEL_MAX_RESULTS_THRESHOLD,
)
from mlflow.store.model_registry.abstract_store import AbstractStore
from mlflow.utils.search_utils import SearchModelUtils, SearchModelVersionUtils, SearchUtils

from modelreg.api import Registry
from modelreg.errors import InputError, IntegrityError, ModelregError, NotFoundError, ServiceError
from modelreg.integrations.mlflow import entities
from modelreg.integrations.mlflow.uri import RegistryUri, parse_registry

#: what to run instead of each write MLflow's client can make
_INSTEAD = {
    "create_registered_model": "`modelreg register MODEL --artifact PATH --owner @TEAM` (a new model's "
                               "first version)",
    "create_model_version": "`modelreg register MODEL --artifact PATH`",
    "copy_model_version": "`modelreg register MODEL --artifact PATH` (`modelreg get` fetches the bytes)",
    "set_registered_model_alias": "`modelreg promote MODEL VERSION --to ALIAS`",
    "transition_model_version_stage": "`modelreg promote MODEL VERSION --to production` (a stage is "
                                      "the alias of its name), or `modelreg archive MODEL VERSION`",
    "delete_registered_model_alias": "`modelreg demote MODEL --alias ALIAS`",
    "delete_model_version": "`modelreg archive MODEL VERSION` or `modelreg reject MODEL VERSION --reason "
                            "TEXT` (a version is never deleted)",
    "update_registered_model": "an edit of registry/MODEL/model.yaml (its description)",
    "set_registered_model_tag": "an edit of registry/MODEL/model.yaml (its tags)",
    "delete_registered_model_tag": "an edit of registry/MODEL/model.yaml (its tags)",
    "update_model_version": "`modelreg register` of a new version (a version's manifest is immutable)",
    "set_model_version_tag": "`modelreg register ... --tag KEY=VALUE` of a new version (a version's "
                             "manifest is immutable)",
    "delete_model_version_tag": "`modelreg register` of a new version (a version's manifest is immutable)",
}
_GENERIC = "`modelreg register`, `modelreg promote`, `modelreg demote` or `modelreg archive`"
#: the verbs of AbstractStore's methods that change something: each such method is refused
WRITE_VERBS = ("create", "update", "rename", "delete", "set", "transition", "copy", "link", "test")


class ReadOnly(MlflowException):
    """A write through MLflow to a modelreg registry: what to run instead, and that it is reviewed."""

    def __init__(self, method: str, registry: str) -> None:
        instead = _INSTEAD.get(method, _GENERIC)
        super().__init__(
            f"{method} is refused: {registry} is a modelreg registry, which MLflow reads but does not "
            f"change; every change goes through a pull request. Run {instead} in a clone, then commit "
            "and open a pull request (`--branch NAME --open-pr` does both)",
            error_code=PERMISSION_DENIED)


_CODES: tuple[tuple[type[ModelregError], int], ...] = (
    (NotFoundError, RESOURCE_DOES_NOT_EXIST), (InputError, INVALID_PARAMETER_VALUE),
    (IntegrityError, DATA_LOSS), (ServiceError, TEMPORARILY_UNAVAILABLE))


def as_mlflow(exc: ModelregError) -> MlflowException:
    """A modelreg error as the MlflowException MLflow's callers expect, with its fix."""
    code = next((c for kind, c in _CODES if isinstance(exc, kind)), INTERNAL_ERROR)
    return MlflowException(str(exc), error_code=code)


@contextmanager
def translated() -> Iterator[None]:
    try:
        yield
    except ModelregError as exc:
        raise as_mlflow(exc) from exc


def _number(version: str | int) -> int:
    text = str(version)
    if not text.isascii() or not text.isdigit() or int(text) < 1:
        raise MlflowException(f"{version!r} is not a version number (1, 2, ...)",
                              error_code=INVALID_PARAMETER_VALUE)
    return int(text)


def _bounded(max_results: Any, limit: int) -> int:
    if not isinstance(max_results, int) or isinstance(max_results, bool) or not 1 <= max_results <= limit:
        raise MlflowException(f"max_results must be an integer from 1 to {limit}, not {max_results!r}",
                              error_code=INVALID_PARAMETER_VALUE)
    return max_results


def _page(items: list[Any], max_results: int, page_token: str | None) -> PagedList[Any]:
    start = SearchUtils.parse_start_offset_from_page_token(page_token)
    end = start + max_results
    return PagedList(items[start:end], SearchUtils.create_page_token(end) if end < len(items) else None)


class ModelregRegistryStore(AbstractStore):
    """MLflow's model registry store over a modelreg registry (see the module's docstring)."""

    def __init__(self, store_uri: str | None = None, tracking_uri: str | None = None) -> None:
        super().__init__(store_uri, tracking_uri)
        with translated():
            self.registry: RegistryUri = parse_registry(store_uri or "modelreg:")

    @contextmanager
    def _open(self) -> Iterator[Registry]:
        with translated(), Registry(self.registry.root, at=self.registry.at) as reg:
            yield reg

    def _versions(self, reg: Registry, name: str) -> list[MlflowVersion]:
        return [entities.model_version(self.registry, mv) for mv in reg.versions(name)]

    def _registered(self, reg: Registry, name: str) -> RegisteredModel:
        model = reg.model(name)
        versions = self._versions(reg, name)
        return entities.registered_model(model, versions, entities.latest_per_stage(model, versions, None))

    # reads ---------------------------------------------------------------------------------------

    def get_registered_model(self, name: str) -> RegisteredModel:
        with self._open() as reg:
            return self._registered(reg, name)

    def search_registered_models(self, filter_string: str | None = None, max_results: int | None = None,
                                 order_by: list[str] | None = None,
                                 page_token: str | None = None) -> PagedList[RegisteredModel]:
        limit = _bounded(max_results, SEARCH_REGISTERED_MODEL_MAX_RESULTS_THRESHOLD)
        with self._open() as reg:
            models = [self._registered(reg, name) for name in reg.models()]
        found = SearchModelUtils.filter(models, add_prompt_filter_string(filter_string, is_prompt=False))
        return _page(SearchModelUtils.sort(found, order_by), limit, page_token)

    def get_latest_versions(self, name: str, stages: list[str] | None = None) -> list[MlflowVersion]:
        canonical = [get_canonical_stage(s) for s in stages or []]  # MLflow's error for an unknown one
        with self._open() as reg:
            return entities.latest_per_stage(reg.model(name), self._versions(reg, name), canonical)

    def get_model_version(self, name: str, version: str | int) -> MlflowVersion:
        number = _number(version)
        with self._open() as reg:
            return entities.model_version(self.registry, reg.version(name, number))

    def get_model_version_download_uri(self, name: str, version: str | int) -> str:
        return str(self.get_model_version(name, version).source)

    def get_model_version_by_alias(self, name: str, alias: str) -> MlflowVersion:
        with self._open() as reg:
            model = reg.model(name)
            if alias not in model.aliases:
                known = ", ".join(sorted(model.aliases)) or "none"
                raise MlflowException(
                    f"Registered model alias {alias} not found (model {name!r} has: {known})",
                    error_code=RESOURCE_DOES_NOT_EXIST)
            return entities.model_version(self.registry, reg.version(name, model.aliases[alias]))

    def search_model_versions(self, filter_string: str | None = None, max_results: int | None = None,
                              order_by: list[str] | None = None,
                              page_token: str | None = None) -> PagedList[MlflowVersion]:
        limit = _bounded(max_results, SEARCH_MODEL_VERSION_MAX_RESULTS_THRESHOLD)
        with self._open() as reg:
            versions = [v for name in reg.models() for v in self._versions(reg, name)]
        found = SearchModelVersionUtils.filter(versions,
                                               add_prompt_filter_string(filter_string, is_prompt=False))
        ordered = SearchModelVersionUtils.sort(
            found, order_by or ["last_updated_timestamp DESC", "name ASC", "version_number DESC"])
        return _page(ordered, limit, page_token)


def _refusal(method: str) -> Callable[..., NoReturn]:
    def refuse(self: ModelregRegistryStore, *args: Any, **kwargs: Any) -> NoReturn:
        raise ReadOnly(method, str(self.registry))
    refuse.__name__ = refuse.__qualname__ = method
    refuse.__doc__ = f"Refused: {_INSTEAD.get(method, _GENERIC)} and a pull request instead."
    return refuse


#: every method of MLflow's store that writes, whether MLflow declares it abstract or builds it on
#: the abstract ones (prompts, webhooks): refused here, not left to fail somewhere inside MLflow
WRITES = sorted(name for name in dir(AbstractStore)
                if not name.startswith("_") and name.split("_")[0] in WRITE_VERBS
                and callable(getattr(AbstractStore, name)))
for _method in WRITES:
    setattr(ModelregRegistryStore, _method, _refusal(_method))
