"""Reading an MLflow model registry: the one module of the import that imports ``mlflow``.

MLflow's own client reads it (``MlflowClient`` on the tracking and registry URIs),
so whatever store MLflow reads (a server, a database, a directory) can be imported.
Each version brings its run's metrics and parameters, and the commit MLflow tagged
the run with (``mlflow.source.git.commit``) as lineage; its artifacts are downloaded
by MLflow (``download_artifacts`` of the version's download URI) only when imported.

Stages, MLflow's legacy form of aliases, map as ``docs/migrate-from-mlflow.md``
says: ``Production`` and ``Staging`` become the aliases ``production`` and
``staging`` (the newest version in the stage, as ``models:/NAME/Production`` resolves
in MLflow), unless the model has an alias of that name; ``Archived`` archives the
version; ``None`` is nothing.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlparse

from modelreg.errors import InputError, ModelregError, NotFoundError, ServiceError
from modelreg.formats import urls
from modelreg.imports.source import SourceModel, SourceVersion, alias, finite, keyed, model_name, printable
from modelreg.write import inputs

if TYPE_CHECKING:
    from mlflow import MlflowClient

#: run tags that name the code a run came from (MLflow sets them when a run starts in a git checkout)
COMMIT_TAG = "mlflow.source.git.commit"
REPO_TAGS = ("mlflow.source.git.repoURL", "mlflow.gitRepoURL")
SOURCE_NAME_TAG = "mlflow.source.name"
#: MLflow's stages that are aliases here; Archived archives, None is nothing
STAGE_ALIASES = {"Production": "production", "Staging": "staging"}
_COMMIT = re.compile(r"^[0-9a-f]{40}(?:[0-9a-f]{24})?$")
#: an unreachable server fails in seconds, not after MLflow's default minutes of retries
#: (a user's own setting of these variables wins)
_HTTP_DEFAULTS = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "1", "MLFLOW_HTTP_REQUEST_TIMEOUT": "30",
                  "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
                  # the core prints nothing: MLflow's own download bar would write to the terminal
                  "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false"}


def read(tracking_uri: str, registry_uri: str | None = None,
         only: list[str] | None = None) -> list[SourceModel]:
    """The registered models at ``tracking_uri`` (all of them, or the ``only`` names), oldest
    version first. Raises InputError for a missing store or model, ServiceError when MLflow
    cannot be reached."""
    _check_store(tracking_uri, "--tracking-uri")
    if registry_uri:
        _check_store(registry_uri, "--registry-uri")
    with _mlflow_errors(tracking_uri):
        client = _client(tracking_uri, registry_uri)
        found = [client.get_registered_model(name) for name in only] if only else list(_all_models(client))
        return [_model(client, tracking_uri, registry_uri, rm) for rm in sorted(found, key=lambda m: m.name)]


def _check_store(uri: str, option: str) -> None:
    """A database or directory that does not exist is refused: MLflow would make an empty one,
    writing into someone's disk and then importing nothing."""
    parsed = urlparse(uri)
    if parsed.scheme.startswith("sqlite"):
        # sqlite:////abs/mlflow.db is /abs/mlflow.db, sqlite:///mlflow.db is relative
        path = unquote(uri.split(":///", 1)[1]) if ":///" in uri else ""
        if path and path != ":memory:" and not Path(path).is_file():
            raise InputError(f"no MLflow database at {shown(uri)}", field=option,
                             fix="give the sqlite URI of an existing MLflow store, e.g. sqlite:////abs/mlflow.db")
    elif parsed.scheme in ("", "file"):
        local = Path(unquote(parsed.path) if parsed.scheme == "file" else uri)
        if not local.is_dir():
            raise InputError(f"no MLflow store at {shown(uri)}", field=option,
                             fix="give the directory of an MLflow file store (mlruns) or a server's URL")


def _client(tracking_uri: str, registry_uri: str | None) -> MlflowClient:
    for name, value in _HTTP_DEFAULTS.items():
        os.environ.setdefault(name, value)
    from mlflow import MlflowClient

    return MlflowClient(tracking_uri=tracking_uri, registry_uri=registry_uri or tracking_uri)


def shown(uri: str) -> str:
    """``uri`` as a message may show it: a password or token in it (``postgresql://u:pw@host``,
    ``https://token@host``) written as ``***``."""
    return urls.masked(uri)


@contextmanager
def _mlflow_errors(uri: str, missing: str | None = None) -> Iterator[None]:
    """MLflow's exceptions as modelreg's: a model that is not there is the user's to fix, a
    store that does not answer is a service failing (exit code 4). ``missing`` is the fix for
    something MLflow did not find, where that is not a model name (a version's artifacts)."""
    from mlflow.exceptions import MlflowException

    uri = shown(uri)

    try:
        yield
    except MlflowException as exc:
        message = shown(str(exc.message).splitlines()[0]) if exc.message else type(exc).__name__
        if exc.error_code in ("RESOURCE_DOES_NOT_EXIST", "NOT_FOUND"):
            raise NotFoundError(f"MLflow at {uri}: {message}",
                                fix=missing or "check --model against `mlflow models` / the MLflow UI"
                                ) from None
        if exc.error_code in ("INVALID_PARAMETER_VALUE", "BAD_REQUEST"):
            raise InputError(f"MLflow at {uri}: {message}", field="--tracking-uri",
                             fix="check the URI and --model") from None
        if "Max retries exceeded" in message or "Failed to establish" in message:
            why = re.search(r"\[Errno -?\d+\] ([^'\")]+)", message)
            raise ServiceError(f"MLflow at {uri} could not be reached"
                               + (f": {why.group(1).strip()}" if why else ""),
                               fix="check that the tracking URI is right and the server is up") from None
        raise ServiceError(f"MLflow at {uri} failed: {message[:300]}",
                           fix="check that the tracking URI is right and the server is up") from None
    except OSError as exc:  # requests' ConnectionError is an OSError
        raise ServiceError(f"MLflow at {uri} could not be reached: {type(exc).__name__}",
                           fix="check that the tracking URI is right and the server is up") from None
    except ImportError as exc:  # a store whose driver is not installed (mysql://, mssql://...)
        raise InputError(f"MLflow cannot open {uri}: {shown(str(exc))}", field="--tracking-uri",
                         fix="install the store's driver in this environment") from None
    except ModelregError:
        raise
    except Exception as exc:  # a database that refuses the connection (SQLAlchemy's errors), and the like
        first = shown(str(exc).splitlines()[0] if str(exc) else "")[:300]
        raise ServiceError(f"MLflow at {uri} failed: {type(exc).__name__}: {first}",
                           fix="check that the tracking URI is right and the store is up") from None


def _all_models(client: MlflowClient) -> Iterator[Any]:
    token = None
    while True:
        page = client.search_registered_models(max_results=100, page_token=token)
        yield from page
        token = page.token
        if not token:
            return


def _versions(client: MlflowClient, name: str) -> list[Any]:
    found: list[Any] = []
    token = None
    quoted = name.replace("'", "\\'")
    while True:
        page = client.search_model_versions(f"name = '{quoted}'", max_results=1000, page_token=token)
        found.extend(page)
        token = page.token
        if not token:
            return sorted(found, key=lambda mv: int(mv.version))


def _model(client: MlflowClient, tracking_uri: str, registry_uri: str | None, rm: Any) -> SourceModel:
    notes: list[str] = []
    name = model_name(rm.name)
    if name != rm.name:
        notes.append(f"MLflow model {rm.name!r} is imported as {name!r} "
                     "(its MLflow name in the tag mlflow.name)")
    versions = []
    for mv in _versions(client, rm.name):
        status = str(getattr(mv, "status", None) or "READY")
        if status == "READY":
            versions.append(mv)
        else:  # its bytes may not all be there yet (PENDING_REGISTRATION) or at all (FAILED_...)
            notes.append(f"version {mv.version} left out: its MLflow status is {status}, not READY")
    read = [_version(client, tracking_uri, registry_uri, rm.name, mv, notes) for mv in versions]
    aliases: dict[str, str] = {}
    for raw, version in sorted((rm.aliases or {}).items()):
        mapped = alias(raw)
        if mapped is None:
            notes.append(f"alias {raw!r} left out: not a modelreg alias name (docs/format.md)")
        else:
            aliases[mapped] = str(version)
    for stage, mapped in STAGE_ALIASES.items():
        in_stage = [mv for mv in versions if mv.current_stage == stage]
        if not in_stage:
            continue
        newest = str(max(int(mv.version) for mv in in_stage))
        if mapped in aliases:
            if aliases[mapped] != newest:
                notes.append(f"stage {stage} (version {newest}) not imported: the alias {mapped!r} "
                             f"points at version {aliases[mapped]}")
            continue
        aliases[mapped] = newest
        if len(in_stage) > 1:
            notes.append(f"stage {stage} holds versions {', '.join(mv.version for mv in in_stage)}: "
                         f"{mapped!r} points at the newest, {newest}, as models:/{rm.name}/{stage} does")
    tags = {k: printable(v) for k, v in keyed(dict(rm.tags or {}), "model tag", notes).items()}
    return SourceModel(name=name, source_name=rm.name, description=printable(rm.description or ""),
                       tags=tags, versions=tuple(read), aliases=aliases, notes=tuple(notes))


def _version(client: MlflowClient, tracking_uri: str, registry_uri: str | None, model: str, mv: Any,
             notes: list[str]) -> SourceVersion:
    what = f"version {mv.version}:"
    run = _run(client, mv)
    metrics: dict[str, float] = {}
    params: dict[str, Any] = {}
    code: dict[str, Any] = {}
    run_tags: dict[str, str] = {}
    if run is not None:
        metrics = finite(keyed(dict(run.data.metrics), f"{what} metric", notes), f"{what} metric", notes)
        params = {k: inputs.scalar(printable(v), "param")
                  for k, v in keyed(dict(run.data.params), f"{what} param", notes).items()}
        run_tags = dict(run.data.tags)
        code = _code(run_tags, what, notes)
    tags = {k: printable(str(v)) for k, v in keyed(dict(mv.tags or {}), f"{what} tag", notes).items()}
    if run is not None and SOURCE_NAME_TAG in run_tags and "mlflow.source.name" not in tags:
        tags["mlflow.source.name"] = printable(run_tags[SOURCE_NAME_TAG])[:1000]
    if mv.run_id:
        tags.setdefault("mlflow.run_id", str(mv.run_id))
    created = datetime.fromtimestamp((mv.creation_timestamp or 0) / 1000, tz=timezone.utc)
    user = mv.user_id or (run.info.user_id if run is not None else None) or None

    def fetch(dest: Path) -> Path:
        return _download(client, tracking_uri, registry_uri, model, str(mv.version), dest)

    return SourceVersion(
        key=str(mv.version), created_at=created, created_by=printable(user) if user else None,
        description=printable(mv.description or ""), tags=tags, metrics=metrics, params=params,
        code=code, run_id=mv.run_id or None, run_url=_run_url(tracking_uri, run),
        size=_size(client, tracking_uri, registry_uri, model, str(mv.version)),
        archived=mv.current_stage == "Archived", fetch=fetch)


def _run(client: MlflowClient, mv: Any) -> Any:
    """The run that made the version: its own, or (MLflow 3) its logged model's source run."""
    run_id = mv.run_id
    if not run_id and getattr(mv, "model_id", None):
        run_id = getattr(client.get_logged_model(mv.model_id), "source_run_id", None)
    if not run_id:
        return None
    from mlflow.exceptions import MlflowException

    try:
        return client.get_run(run_id)
    except MlflowException:  # a deleted run: the version still imports, without its metrics
        return None


def _code(tags: dict[str, str], what: str, notes: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    repo = next((tags[t] for t in REPO_TAGS if tags.get(t)), None)
    if repo:  # https://user:token@host/... must not end up committed in a manifest
        out["repo"] = urls.without_credentials(printable(repo))
    commit = tags.get(COMMIT_TAG, "").strip().lower()
    if commit and _COMMIT.fullmatch(commit):
        out["commit"] = commit
    elif commit:
        notes.append(f"{what} the run's {COMMIT_TAG} {commit!r} is not a full commit hash: left out")
    if out and tags.get("mlflow.source.git.branch"):
        out["branch"] = printable(tags["mlflow.source.git.branch"])
    return out


def _run_url(tracking_uri: str, run: Any) -> str | None:
    """The run's page in the MLflow UI, when the tracking URI is a server's."""
    if run is None or urlparse(tracking_uri).scheme.lower() not in ("http", "https"):
        return None
    base = urls.without_credentials(tracking_uri.rstrip("/"))
    return f"{base}/#/experiments/{run.info.experiment_id}/runs/{run.info.run_id}"


def _size(client: MlflowClient, tracking_uri: str, registry_uri: str | None, model: str,
          version: str) -> int | None:
    """Bytes the version's artifacts hold, listed without downloading them (None: unknown).
    The store's own URIs go with the listing: a ``runs:/`` or ``models:/`` download URI resolved
    without them would open MLflow's default store, creating ``mlflow.db`` in the current directory."""
    from mlflow.exceptions import MlflowException
    from mlflow.store.artifact.artifact_repository_registry import get_artifact_repository

    try:
        repo = get_artifact_repository(client.get_model_version_download_uri(model, version),
                                       tracking_uri=tracking_uri, registry_uri=registry_uri or tracking_uri)
        total = 0
        todo_paths: list[str | None] = [None]  # None: the top of the version's artifacts
        while todo_paths:
            path = todo_paths.pop()
            for info in repo.list_artifacts(path):
                if info.is_dir:
                    todo_paths.append(info.path)
                else:
                    total += int(info.file_size or 0)
        return total
    except (MlflowException, OSError, NotImplementedError):
        return None


def _links(uri: str, tracking_uri: str, registry_uri: str | None) -> list[str]:
    """The symbolic links in a version's artifacts, when MLflow keeps them in a local directory
    (a ``runs:/`` or ``models:/`` URI followed to the repository under it)."""
    from mlflow.exceptions import MlflowException
    from mlflow.store.artifact.artifact_repository_registry import get_artifact_repository

    try:
        repo: Any = get_artifact_repository(uri, tracking_uri=tracking_uri,
                                            registry_uri=registry_uri or tracking_uri)
        while getattr(repo, "repo", None) is not None:  # runs:/ and models:/ wrap the real one
            repo = repo.repo
        uri = str(repo.artifact_uri)
    except (MlflowException, OSError, NotImplementedError):
        return []
    parsed = urlparse(uri)
    if parsed.scheme not in ("", "file"):
        return []
    top = Path(unquote(parsed.path) if parsed.scheme == "file" else uri)
    if top.is_symlink():
        return [str(top)]
    if not top.is_dir():
        return []
    return sorted(str(p.relative_to(top)) for p in top.rglob("*") if p.is_symlink())


def _download(client: MlflowClient, tracking_uri: str, registry_uri: str | None, model: str, version: str,
              dest: Path) -> Path:
    """The version's artifacts as MLflow downloads them: ``dest/model``, an MLflow model directory
    (with its ``MLmodel``) registered as a directory artifact, or the one file a version's source is."""
    import mlflow.artifacts

    uri = client.get_model_version_download_uri(model, version)
    where = f"{model!r} version {version}'s artifacts at {shown(uri)}"
    links = _links(uri, tracking_uri, registry_uri)
    if links:  # MLflow refuses to download through them, with a message that names neither
        raise InputError(f"{where}: {links[0]} is a symbolic link; an import copies files only",
                         fix="replace the link with the file it points to in MLflow's artifact store, "
                             "or leave the model out with --model")
    with _mlflow_errors(tracking_uri, missing=f"check {where}: a file there is missing or unreadable"):
        scratch = dest / "download"
        scratch.mkdir()
        got = Path(mlflow.artifacts.download_artifacts(artifact_uri=uri, dst_path=str(scratch),
                                                       tracking_uri=tracking_uri,
                                                       registry_uri=registry_uri or tracking_uri))
    if got.is_file():
        return got
    # where the directory lands under dst_path depends on the artifact repository (its contents,
    # or a directory named after the URI's last part): named ``model`` here either way
    target = dest / "model"
    got.rename(target)
    return target
