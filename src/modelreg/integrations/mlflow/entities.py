"""modelreg's manifests as MLflow's entities: the one place the mapping is written down.

========================  ===============================================================
MLflow                    modelreg
========================  ===============================================================
RegisteredModel.name      the model's directory, ``registry/<name>/``
.description, .tags       ``model.yaml`` ``description``, ``tags``
.aliases                  ``model.yaml`` ``aliases`` (alias → version number)
.creation_timestamp       the earliest ``created_at`` of its versions (ms since the epoch)
.last_updated_timestamp   the latest ``created_at`` of its versions
.latest_versions          the newest version in each stage (``get_latest_versions``)
ModelVersion.version      ``v<N>``, as the number N (as MLflow's sqlite and file stores give it)
.creation_timestamp       ``created_at``; ``last_updated_timestamp`` the same (immutable)
.user_id                  ``created_by``
.description, .tags       ``version.yaml`` ``description``, ``tags``
.current_stage            ``Production``/``Staging`` from the aliases ``production``/``staging``,
                          ``Archived`` from ``archived``, else ``None`` (``read/catalog.py``)
.aliases                  the aliases pointing at it
.run_id, .run_link        ``lineage.run.id``, ``lineage.run.url``
.source                   the artifact's ``modelreg:`` URI (its path in the clone)
.status                   ``READY``: a version on the branch read is complete
.metrics, .params         ``metrics`` (step 0, at ``created_at``), ``params`` (as strings)
========================  ===============================================================
"""

from __future__ import annotations

from datetime import datetime

from mlflow.entities import Metric
from mlflow.entities.logged_model_parameter import LoggedModelParameter
from mlflow.entities.model_registry import (
    ModelVersion as MlflowVersion,
)
from mlflow.entities.model_registry import (
    ModelVersionTag,
    RegisteredModel,
    RegisteredModelAlias,
    RegisteredModelTag,
)
from mlflow.entities.model_registry.model_version_status import ModelVersionStatus

from modelreg.integrations.mlflow.uri import RegistryUri
from modelreg.read.catalog import Model, ModelVersion

READY = ModelVersionStatus.to_string(ModelVersionStatus.READY)
#: the stages MLflow knows, in its spelling; a modelreg version is in exactly one
STAGES = ("None", "Staging", "Production", "Archived")


def millis(timestamp: str) -> int | None:
    """``created_at`` (ISO 8601, UTC) as MLflow's milliseconds since the epoch."""
    if not timestamp:
        return None
    return int(datetime.fromisoformat(timestamp.replace("Z", "+00:00")).timestamp() * 1000)


def model_version(registry: RegistryUri, mv: ModelVersion) -> MlflowVersion:
    run = mv.lineage.get("run") or {}
    created = millis(mv.created_at)
    return MlflowVersion(
        # an int, as MLflow's own sqlite and file stores give it (its annotation says str)
        name=mv.model, version=mv.version,  # type: ignore[arg-type]
        creation_timestamp=created or 0,
        last_updated_timestamp=created, description=mv.description,
        user_id=str(mv.data.get("created_by") or ""), current_stage=mv.stage,
        source=registry.artifact_uri(mv.model, mv.version, str(mv.artifact.get("path", ""))),
        run_id=run.get("id"), status=READY, run_link=run.get("url"), aliases=list(mv.aliases),
        tags=[ModelVersionTag(k, v) for k, v in mv.tags.items()],
        metrics=[Metric(k, float(v), created or 0, 0) for k, v in mv.metrics.items()],
        params=[LoggedModelParameter(str(k), str(v)) for k, v in mv.params.items()],
    )


def registered_model(model: Model, versions: list[MlflowVersion],
                     latest: list[MlflowVersion]) -> RegisteredModel:
    times = [v.creation_timestamp for v in versions if v.creation_timestamp]
    return RegisteredModel(
        name=model.name, creation_timestamp=min(times) if times else None,
        last_updated_timestamp=max(times) if times else None, description=model.description,
        latest_versions=latest, tags=[RegisteredModelTag(k, v) for k, v in model.tags.items()],
        aliases=[RegisteredModelAlias(a, v) for a, v in sorted(model.aliases.items())],
    )


def latest_per_stage(model: Model, versions: list[MlflowVersion],
                     stages: list[str] | None) -> list[MlflowVersion]:
    """The newest version in each of ``stages`` (all but ``Archived`` when None), in MLflow's
    stage order. Rejected versions are in no stage's answer: ``models:/M/latest`` is modelreg's
    ``latest``, the newest version neither archived nor rejected."""
    wanted = [s for s in STAGES if s != "Archived"] if not stages else \
        [s for s in STAGES if s.lower() in {x.lower() for x in stages}]
    newest: dict[str, MlflowVersion] = {}
    for v in versions:
        number = int(v.version)
        if number in model.rejected or v.current_stage not in wanted:
            continue
        if v.current_stage not in newest or int(newest[v.current_stage].version) < number:
            newest[v.current_stage] = v
    return [newest[s] for s in wanted if s in newest]
