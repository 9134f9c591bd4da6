"""Where modelreg may write: never into the registry it reads.

A deploy target's directory in ``modelreg.yaml``, or an output directory on the command line
(``site -o``, ``card -o``), that lands inside the registry would let modelreg write files the
gates then judge, or plant them in ``.git``. A path is resolved as the code that writes it
resolves it: ``~`` expanded where that code expands it, a relative path joined to the
registry's top directory (where ``modelreg.yaml`` is), then ``..`` and every symbolic link
followed (``os.path.realpath``), so a link that leads back into the repository is caught too.
"""

from __future__ import annotations

import os
from typing import Any

from modelreg.edges import git
from modelreg.errors import InputError
from modelreg.formats import names

#: target types whose ``path`` is a directory modelreg writes into, and whether ``~`` is expanded
#: there (deploy/targets/directory.py expands it; kserve.py does not)
WRITTEN_PATHS = {"directory": True, "kserve": False}

_TARGET_FIX = ("give a directory outside the repository: an absolute path such as /srv/models, "
               "or one beside the registry such as ../serving")


def resolve(root: str, path: str, *, expand_user: bool = False) -> str:
    """Where ``path`` (relative: to the registry's top directory) leads, every link followed."""
    return os.path.realpath(os.path.join(root, os.path.expanduser(path) if expand_user else path))


def _within(path: str, directory: str) -> bool:
    return path == directory or path.startswith(directory.rstrip(os.sep) + os.sep)


def repository(root: str) -> list[tuple[str, str]]:
    """The directories that are the registry (resolved): its top directory, the work tree of its
    git repository, and the git directory, each with how a message names it."""
    top, git_dir = git.repository_dirs(root)
    found = [(os.path.realpath(root), "the registry"), (top, "the registry's git repository"),
             (git_dir, "the registry's .git")]
    return [(path, what) for path, what in found if path]


def config_problems(root: str, config: Any, raw: bytes | None = None) -> list[InputError]:
    """Each path of ``modelreg.yaml`` (a ``RegistryConfig``) that modelreg writes into and that lands
    inside the registry's repository; ``raw`` (the file's bytes) gives the line."""
    from modelreg.formats import yamlio

    lines = yamlio.key_lines(raw) if raw is not None else {}
    protected = repository(root)
    out = []
    for env_name, env in sorted(config.environments.items()):
        for index, target in enumerate(env.targets):
            if target.type not in WRITTEN_PATHS:
                continue
            landed = resolve(root, target.path, expand_user=WRITTEN_PATHS[target.type])
            inside = next((what for directory, what in protected if _within(landed, directory)), None)
            if inside is None:
                continue
            key = ("environments", env_name, "targets", index, "path")
            out.append(InputError(f"{target.path!r} is inside {inside} ({landed}): a deployment would write "
                                  "into the registry itself", file=names.CONFIG_FILE, line=lines.get(key),
                                  field=".".join(map(str, key)), fix=_TARGET_FIX))
    return out


def check_output(root: str, path: str, option: str) -> None:
    """Refuse an output directory of a command (``site -o``) inside the models' tree or ``.git``.
    Raises InputError naming the option and the fix."""
    landed = resolve(os.getcwd(), path)
    _, git_dir = git.repository_dirs(root)
    models = os.path.realpath(os.path.join(root, names.REGISTRY_DIR))
    for directory, what in ((models, f"{names.REGISTRY_DIR}/"), (git_dir, ".git")):
        if directory and _within(landed, directory):
            raise InputError(f"{path} is inside the registry's {what} ({landed}): the files written there "
                             "would become part of the registry", field=option,
                             fix="write it outside registry/ and .git, e.g. -o _site")
