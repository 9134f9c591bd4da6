"""How the running modelreg was installed: its distribution's version and PEP 610 ``direct_url.json``.

pip and uv write ``direct_url.json`` when a distribution came from a URL or a path (a git URL, a
wheel or archive, a directory, an editable checkout) and not when it came from a package index.
``write/install_line.py`` turns this into the line the workflows install. Only ``init`` and the
gate's install notes read it: ``importlib.metadata`` is imported here, never on the read path.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import modelreg


@dataclass(frozen=True)
class Installed:
    version: str
    #: the parsed ``direct_url.json``; None when the distribution came from an index (or has none)
    direct_url: dict[str, Any] | None
    #: why the running code is not an installed distribution's (a source tree on the path), or None
    source_tree: str | None = None

    @property
    def from_index(self) -> bool:
        """Installed by name from a package index, so an index serves this version."""
        return self.direct_url is None and self.source_tree is None


def running() -> Installed:
    """The distribution the running ``modelreg`` package belongs to, as its installer recorded it."""
    from importlib import metadata

    package = Path(modelreg.__file__).resolve().parent
    try:
        dist = metadata.distribution("modelreg")
    except metadata.PackageNotFoundError:
        return Installed(modelreg.__version__, None, source_tree=f"the source tree {package.parent}")
    text = dist.read_text("direct_url.json")
    try:
        direct = json.loads(text) if text else None
    except ValueError:  # written by an installer we do not know: nothing can be said of its origin
        direct = {}
    if not isinstance(direct, dict) and direct is not None:
        direct = {}
    if direct is None:
        elsewhere = not _inside(package, Path(str(dist.locate_file(""))))
    elif "dir_info" in direct:  # installed from a directory: is the running code that directory's?
        source = unquote(urlsplit(str(direct.get("url", ""))).path)
        elsewhere = not source or not _inside(package, Path(source))
    else:
        elsewhere = False
    if elsewhere or dist.version != modelreg.__version__:
        # The package on the path is not the installed one (PYTHONPATH=src over another install):
        # what the index serves says nothing of the code that runs.
        return Installed(modelreg.__version__, None, source_tree=f"the source tree {package.parent}")
    return Installed(dist.version, direct)


def _inside(path: Path, folder: Path) -> bool:
    try:
        path.relative_to(folder.resolve())
    except ValueError:
        return False
    return True
