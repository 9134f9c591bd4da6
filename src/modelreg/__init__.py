"""modelreg: a model registry that is a git repository.

>>> from modelreg import Registry
>>> reg = Registry(".")
>>> mv = reg.resolve("models:/fraud-detector@champion")
>>> mv.metrics["roc_auc"]
>>> path = mv.download("out/")
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any


def _version() -> str:
    try:  # written by hatch-vcs whenever modelreg is built or installed (pyproject.toml)
        from modelreg._version import __version__ as built
    except ImportError:  # a source tree on the path that was never built: the installed one's, if any
        from importlib.metadata import PackageNotFoundError, version

        try:
            return version("modelreg")
        except PackageNotFoundError:
            return "0.0.0+unknown"
    return str(built)


__version__ = _version()
__all__ = ["ModelVersion", "ModelregError", "Registry", "__version__", "load_model", "load_path"]

if TYPE_CHECKING:
    from modelreg.api import Registry, load_path
    from modelreg.errors import ModelregError
    from modelreg.integrations.load import load_model
    from modelreg.read.catalog import ModelVersion


def __getattr__(name: str) -> Any:
    # Lazy so that `import modelreg` (and the CLI's start-up) stays cheap.
    if name in ("Registry", "load_path"):
        from modelreg import api

        return getattr(api, name)
    if name == "load_model":
        from modelreg.integrations.load import load_model

        return load_model
    if name == "ModelVersion":
        from modelreg.read.catalog import ModelVersion

        return ModelVersion
    if name == "ModelregError":
        from modelreg.errors import ModelregError

        return ModelregError
    raise AttributeError(name)
