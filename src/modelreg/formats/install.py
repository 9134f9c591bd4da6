"""The install line of the generated workflows (``MODELREG_INSTALL``): what version it names, whether a
runner can fetch it, which modelreg a registry's files need, and the line ``init`` writes when
modelreg.yaml sets no ``install``: this very modelreg, as a fresh GitHub runner can install it.

- from a package index, a release → ``modelreg[sign]==X.Y.Z``
- from a git URL → ``modelreg[sign] @ git+URL@COMMIT`` (the exact commit ``direct_url.json`` records)
- from a wheel or archive URL → ``modelreg[sign] @ URL``
- from a local path, an editable checkout, a local wheel or clone, a source tree, a dev build →
  still the exact pin (or the local URL), with ``unserved`` saying why a runner cannot install it
  and the two ways out. ``init`` prints it; the schema gate repeats it while ``install`` is unset.

Pure: what was installed is read by ``edges/installed.py``.

What a registry needs is a simple rule (docs/ci.md): every file carries a ``schema_version``, and
modelreg.yaml's is the registry's format; the first release of modelreg that reads a format is
``FIRST_READING[format]``. A later format, or a field a later release adds to a format, adds a row
(and the release that brings it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from modelreg.formats import names

if TYPE_CHECKING:
    from modelreg.edges.installed import Installed

#: where the generated workflows live (`modelreg-*.yml`)
WORKFLOW_DIR = ".github/workflows"
#: the first release of modelreg that reads each schema_version (v0.2.0: the first release at all)
FIRST_READING: dict[int, str] = {1: "0.2.0"}

# PEP 440, normalised: a release (pre-releases too, an index serves them) has no dev nor local part
_RELEASE = re.compile(r"\d+(\.\d+)*((a|b|rc)\d+)?(\.post\d+)?")
_VERSION = re.compile(r"(?P<release>\d+(?:\.\d+)*)(?P<pre>(?:a|b|rc)\d+)?(?P<post>\.post\d+)?"
                      r"(?P<dev>\.dev\d+)?(?:\+[A-Za-z0-9.]+)?")
# `modelreg[extras]==V`, `===V`, `<V`, `<=V`: a version the requirement pins or caps it at
_NAMED = re.compile(r"modelreg\s*(?:\[[^\]]*\])?\s*(?:===?|<=?)\s*v?(?P<version>[0-9][0-9A-Za-z.+!]*)\s*$",
                    re.I)
# a git URL at a tag that is a version (`@v0.2.0`), a wheel or an sdist named by its version
_TAG = re.compile(r"@v?(?P<version>\d+(?:\.\d+)+(?:(?:a|b|rc)\d+)?)(?:#.*)?$")
_ARCHIVE = re.compile(r"/modelreg-(?P<version>\d[^-/]*?)(?:-[^/]*\.whl|\.tar\.gz|\.zip)(?:#.*)?$", re.I)
# the line the workflows carry: `MODELREG_INSTALL: "..."` (write/workflows.py)
_LINE = re.compile(r'^\s*MODELREG_INSTALL:\s*"(?P<line>[^"\n]*)"\s*$', re.M)


def is_release(version: str) -> bool:
    """A version a package index can serve to anyone: no dev part, no local part (``+...``)."""
    return _RELEASE.fullmatch(version) is not None


def _key(version: str) -> tuple[tuple[int, ...], int, int] | None:
    match = _VERSION.fullmatch(version)
    if match is None:
        return None
    release = tuple(int(p) for p in match["release"].split("."))
    release += (0,) * (6 - len(release))  # 0.2 == 0.2.0
    # a dev release comes before its pre-releases, which come before the final, then the posts
    phase = 0 if match["dev"] and not match["pre"] else 1 if match["pre"] else 3 if match["post"] else 2
    return release, phase, int(match["dev"][4:]) if match["dev"] else 1 << 30


def older(version: str, than: str) -> bool:
    """``version`` comes before ``than`` (PEP 440 order, enough of it for modelreg's own versions);
    False when either cannot be read."""
    a, b = _key(version), _key(than)
    return a is not None and b is not None and a < b


def named_version(requirement: str) -> str | None:
    """The version an install line names: pinned (``==``) or capped, a git tag, a wheel's file name.
    None when it names none (a bare name, ``>=``, a git commit)."""
    for pattern in (_NAMED, _TAG, _ARCHIVE):
        match = pattern.search(requirement.strip())
        if match:
            return match["version"]
    return None


def on_this_machine(requirement: str) -> bool:
    """A ``file:`` URL (a local git clone, a local wheel): no runner can fetch it."""
    return re.search(r"(^|[\s@+])file:", requirement) is not None


def needed(schema_version: int) -> str | None:
    """The first release that reads a registry in this format."""
    return FIRST_READING.get(schema_version)


def lines(workflow_text: str) -> list[str]:
    """The install lines a workflow file carries."""
    return [m["line"] for m in _LINE.finditer(workflow_text)]


#: the workflows verify artifact signatures and sign ledger records: modelreg's `sign` extra
EXTRAS = "[sign]"
WAYS_OUT = (f"set `install:` in {names.CONFIG_FILE} to a git URL at a tag or commit "
            "(modelreg[sign] @ git+https://github.com/ORG/modelreg@v0.2.0) or to the https URL of a wheel")


@dataclass(frozen=True)
class InstallLine:
    requirement: str
    #: why no runner can install it, or None
    unserved: str | None = None

    @property
    def advice(self) -> str | None:
        """The plain sentence ``init`` prints and the gate repeats, or None when a runner can install it."""
        if self.unserved is None:
            return None
        return (f"the workflows install {self.requirement}, which no package index serves: {self.unserved}; "
                f"{WAYS_OUT}")


def default(installed: Installed) -> InstallLine:
    pin = f"modelreg{EXTRAS}=={installed.version}"
    if installed.source_tree is not None:
        return InstallLine(pin, f"this modelreg runs from {installed.source_tree}")
    direct = installed.direct_url
    if direct is None:
        if is_release(installed.version):
            return InstallLine(pin)
        return InstallLine(pin, f"{installed.version} is a development build, not a release")
    url = _public(str(direct.get("url", "")))
    vcs = direct.get("vcs_info")
    if isinstance(vcs, dict) and vcs.get("vcs") == "git" and isinstance(vcs.get("commit_id"), str) and url:
        line = f"modelreg{EXTRAS} @ git+{url}@{vcs['commit_id']}{_subdirectory(direct)}"
        return _checked(line, pin, "a git URL on this machine")
    if isinstance(direct.get("archive_info"), dict) and url and not on_this_machine(url):
        return _checked(f"modelreg{EXTRAS} @ {url}{_subdirectory(direct)}", pin, "")
    info = direct.get("dir_info")
    editable = isinstance(info, dict) and info.get("editable") is True
    what = "an editable checkout" if editable else "the directory" if isinstance(info, dict) else "the file"
    return InstallLine(pin, f"this modelreg was installed from {what} {urlsplit(url).path or '(unknown)'}")


def _checked(line: str, pin: str, local: str) -> InstallLine:
    """The URL line when a runner can fetch it; a local git clone's is still exact (it installs here)
    but said so; one that cannot go into a workflow falls back to the pin."""
    if not names.REQUIREMENT.fullmatch(line):
        return InstallLine(pin, "it was installed from a URL that cannot go into a workflow")
    if on_this_machine(line):
        return InstallLine(line, f"it names {local}, which no runner can reach")
    return InstallLine(line)


def _subdirectory(direct: dict[str, Any]) -> str:
    sub = direct.get("subdirectory")
    return f"#subdirectory={sub}" if isinstance(sub, str) and sub else ""


def _public(url: str) -> str:
    """The URL without credentials: a token in it must not be written into a committed workflow
    (``git@`` of an ssh URL is a user name, not a secret)."""
    parts = urlsplit(url)
    if parts.username is None or (parts.username == "git" and parts.password is None):
        return url
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return urlunsplit(parts._replace(netloc=host))
