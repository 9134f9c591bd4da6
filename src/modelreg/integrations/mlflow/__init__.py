"""MLflow clients read a modelreg registry: ``MLFLOW_REGISTRY_URI=modelreg:///path/to/clone``.

MLflow finds the plugin through the entry points in pyproject.toml:
``mlflow.model_registry_store`` (``store.ModelregRegistryStore``: the registry's models,
versions, aliases and tags as MLflow's entities, read-only) and ``mlflow.artifact_repository``
(``artifacts.ModelregArtifactRepository``: a version's bytes, verified by sha256 as
``modelreg get`` verifies them). ``uri`` parses the URIs; ``entities`` is the mapping of
modelreg's manifests onto MLflow's objects (docs/mlflow-clients.md has the table). MLflow is
imported in this package and nowhere else in modelreg.
"""
