"""An MLflow model directory, verified by modelreg, loaded by MLflow itself."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

from modelreg.errors import ModelregError

EXTRA = "pip install 'modelreg[mlflow]'"


def load(path: Path) -> Any:
    """``mlflow.pyfunc.load_model`` of the directory at ``path`` (its ``PyFuncModel``)."""
    if importlib.util.find_spec("mlflow") is None:
        raise ModelregError(f"{path.name} is an MLflow model directory, and loading one needs mlflow, "
                            "which is not installed", fix=EXTRA)
    import mlflow.pyfunc

    return mlflow.pyfunc.load_model(str(path))
