"""``modelreg init``: turn a directory into a registry, creating only what is missing.

Running it again changes nothing, and the result says so. The default DVC
remote is a local directory inside the registry (``.modelreg/remote``, kept
out of git) so the first ``register`` works with no set-up; any DVC remote
URL can be given instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from modelreg.approvals import codeowners
from modelreg.edges import dvc, git
from modelreg.edges.atomic import write_atomic
from modelreg.edges.snapshot import WorkTree
from modelreg.errors import ConflictError, InputError
from modelreg.formats import models, names, yamlio
from modelreg.write import workflows

DEFAULT_REMOTE_DIR = ".modelreg/remote"
REMOTE_NAME = "storage"
IGNORED = "/.modelreg/"
CONFIG_HEADER = "# yaml-language-server: $schema=schemas/config.schema.json"


@dataclass(frozen=True)
class Initialized:
    root: Path
    created: tuple[str, ...]
    remote: str | None
    #: the remote is the default, a folder inside this clone that no other clone can reach
    local_remote: bool = False
    #: the workflows it wrote install a modelreg no runner can install, why, and the ways out
    install_advice: str | None = None


#: the policies `init --policy NAME` copies (shipped in the wheel)
_PRESETS = resources.files("modelreg.policies").joinpath("presets")


def presets() -> list[str]:
    return sorted(p.name.removesuffix(".yaml") for p in _PRESETS.iterdir() if p.name.endswith(".yaml"))


def preset(name: str) -> str:
    if name not in presets():
        raise InputError(f"no policy preset named {name!r}", field="--policy",
                         fix=f"choose one of: {', '.join(presets())}")
    return _PRESETS.joinpath(f"{name}.yaml").read_text("utf-8")


def init(path: Path, *, remote: str | None = None, policy: str = "default",
         site_workflow: bool = False) -> Initialized:
    root = path.resolve()
    policy_text = preset(policy)
    config = models.load_config(WorkTree(str(root)))  # the workflows follow its `install`
    workflow_files = workflows.files(config)
    if site_workflow:  # publishing the catalog on GitHub Pages is a choice, not a default
        from modelreg.write import site_workflow as site

        workflow_files[site.PATH] = site.text(config)
    root.mkdir(parents=True, exist_ok=True)
    created: list[str] = []
    top = git.toplevel(root)
    if top is None:
        git.init(root)
        created.append(".git/")
    elif Path(top).resolve() != root:
        raise ConflictError(f"{root} is inside the git repository {top}",
                            fix=f"a registry is a repository of its own: run `modelreg init {top}` "
                            "or pick a directory outside it")

    remote_url = None
    if not (root / ".dvc").is_dir():
        remote_url = remote or str(root / DEFAULT_REMOTE_DIR)
        if remote is None:
            (root / DEFAULT_REMOTE_DIR).mkdir(parents=True, exist_ok=True)
        dvc.init(root, remote_url, REMOTE_NAME)
        created.append(".dvc/")
    elif remote is not None:
        raise ConflictError(".dvc/ exists already, so --remote was not applied",
                            fix=f"change it with `dvc remote add -d -f {REMOTE_NAME} {remote}`")

    files = {
        names.CONFIG_FILE: yamlio.dumps(models.RegistryConfig().model_dump(), CONFIG_HEADER),
        f"{names.POLICY_DIR}/{policy}.yaml": policy_text,
        f"{names.REGISTRY_DIR}/.gitkeep": "",
        **{f"{names.SCHEMA_DIR}/{n}.schema.json": models.json_schema_text(n) for n in models.SCHEMAS},
        **workflow_files,
    }
    for rel, text in files.items():
        target = root / rel
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(target, text)
            created.append(rel)
    # Last: it is generated from the files above (and any models already there).
    if not (root / codeowners.PATH).exists():
        codeowners.write(root)
        created.append(codeowners.PATH)
    if _ensure_ignored(root / ".gitignore"):
        created.append(".gitignore")
    # On an existing history, whatever its length: what makes `history` and `--at DATE` flat
    # (modelreg's own commits then keep it up to date; a new repository gets it with its first).
    git.write_commit_graph(root)
    advice = None
    if config.install is None and any(rel in workflow_files for rel in created):
        advice = workflows.default_install().advice
    return Initialized(root=root, created=tuple(created), remote=remote_url,
                       local_remote=remote_url is not None and remote is None, install_advice=advice)


def _ensure_ignored(gitignore: Path) -> bool:
    text = gitignore.read_text("utf-8") if gitignore.exists() else ""
    if IGNORED in text.splitlines():
        return False
    prefix = "" if not text or text.endswith("\n") else "\n"
    write_atomic(gitignore, f"{text}{prefix}# modelreg's local state (the default DVC remote)\n{IGNORED}\n")
    return True
