"""DVC's file formats, read and written without importing DVC.

Importing DVC costs over a second, so the read path parses ``.dvc`` pointers
and ``.dvc/config`` itself. The layouts are DVC 3's: objects live at
``<remote>/files/md5/<first two hex>/<rest>``, a directory is a ``.dir``
object listing its files.
"""

from __future__ import annotations

import os
import re
from typing import TYPE_CHECKING, Any

from modelreg.errors import InputError, NotFoundError
from modelreg.formats.names import FILE_NAME

if TYPE_CHECKING:
    from modelreg.edges.snapshot import Snapshot

MD5 = re.compile(r"^[0-9a-f]{32}(?:\.dir)?$")
OBJECT_PREFIX = "files/md5"


class Pointer:
    """One ``.dvc`` file: the artifact's name beside it, its md5 and size."""

    def __init__(self, path: str, md5: str, size: int, nfiles: int | None = None) -> None:
        self.path = path
        self.md5 = md5
        self.size = size
        self.nfiles = nfiles

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Pointer) and vars(self) == vars(other)

    def __repr__(self) -> str:
        return f"Pointer({self.path!r}, {self.md5!r}, {self.size}, nfiles={self.nfiles})"

    @property
    def is_dir(self) -> bool:
        return self.md5.endswith(".dir")

    def to_yaml(self) -> str:
        out: dict[str, Any] = {"md5": self.md5, "size": self.size}
        if self.nfiles is not None:
            out["nfiles"] = self.nfiles
        out.update({"hash": "md5", "path": self.path})
        from modelreg.formats import yamlio

        return yamlio.dumps({"outs": [out]})


def parse_pointer(data: bytes, source: str) -> Pointer:
    from modelreg.formats import yamlio  # lazily: reads answered from the memo never load PyYAML

    return pointer_from(yamlio.loads(data, source), source)


def pointer_from(doc: Any, source: str) -> Pointer:
    """Check a parsed ``.dvc`` document and take its one output."""
    outs = doc.get("outs") if isinstance(doc, dict) else None
    if not isinstance(outs, list) or len(outs) != 1 or not isinstance(outs[0], dict):
        raise InputError("expected exactly one entry", file=source, field="outs",
                         fix="track one artifact per .dvc file")
    out = outs[0]
    path, md5, size = out.get("path"), out.get("md5"), out.get("size")
    if not isinstance(path, str) or not FILE_NAME.fullmatch(path):
        raise InputError(f"{path!r} must be a plain file name beside the .dvc file",
                         file=source, field="outs[0].path",
                         fix="DVC pointers in a registry may not point outside their directory")
    if not isinstance(md5, str) or not MD5.fullmatch(md5):
        raise InputError(f"{md5!r} is not an md5 hash", file=source, field="outs[0].md5",
                         fix="re-register the artifact")
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise InputError(f"{size!r} is not a size in bytes", file=source, field="outs[0].size",
                         fix="re-register the artifact")
    if out.get("hash", "md5") != "md5":
        raise InputError(f"hash {out.get('hash')!r} is not supported", file=source,
                         field="outs[0].hash", fix="use DVC 3's default md5 hashing")
    nfiles = out.get("nfiles")
    return Pointer(path=path, md5=md5, size=size,
                   nfiles=nfiles if isinstance(nfiles, int) else None)


def object_path(md5: str) -> str:
    return f"{OBJECT_PREFIX}/{md5[:2]}/{md5[2:]}"


class Remote:
    def __init__(self, name: str, url: str) -> None:
        self.name = name
        self.url = url

    def location(self, md5: str) -> str:
        return f"{self.url.rstrip('/')}/{object_path(md5)}"


def default_remote(snapshot: Snapshot) -> Remote:
    """The default DVC remote, from ``.dvc/config`` (at the snapshot) and ``.dvc/config.local``."""
    import configparser

    parser = configparser.ConfigParser(interpolation=None)
    try:
        shared = snapshot.read(".dvc/config")
        if shared is not None:
            parser.read_string(shared.decode("utf-8", "replace"), source=".dvc/config")
        local = os.path.join(snapshot.root, ".dvc", "config.local")
        if os.path.isfile(local):
            parser.read(local, encoding="utf-8")
    except configparser.Error as exc:
        raise InputError(f"DVC configuration error: {exc}".replace("\n", " "), file=".dvc/config",
                         fix="check .dvc/config and .dvc/config.local (`dvc config --list`)") from None
    name = parser.get("core", "remote", fallback=None)
    if not name:
        raise NotFoundError("no default DVC remote in .dvc/config",
                            fix="run `modelreg init --remote URL` or `dvc remote add -d NAME URL`")
    for section in (f"'remote \"{name}\"'", f'remote "{name}"'):
        if parser.has_section(section) and parser.has_option(section, "url"):
            return Remote(name, _absolute(snapshot.root, parser.get(section, "url")))
    raise NotFoundError(f"the default remote {name!r} has no url in .dvc/config",
                        fix=f"run `dvc remote modify {name} url URL`")


def _absolute(root: str, url: str) -> str:
    # DVC resolves a relative local remote against the directory of its config file.
    if "://" in url or os.path.isabs(url):
        return url
    return os.path.normpath(os.path.join(root, ".dvc", url))
