"""Build a large registry fast, as a registry of merged pull requests looks (issue 17).

Two shapes, one commit per version (as a registry of merged pull requests has):

- ``deep``: 20 models, ``versions / 20`` versions each (20 x 5,000 at 100,000);
- ``wide``: 100 versions a model, ``versions / 100`` models (1,000 x 100 at 100,000).

The bulk goes through ``git fast-import``: each version is one commit adding
``registry/M/vN/version.yaml`` (valid per the shipped schema), its DVC pointer and
``.gitignore``; a model's first version also writes its ``model.yaml``, and every tenth
version of a model is followed by a promotion commit moving ``production`` and
``staging`` in ``model.yaml``. The models are registered round-robin, so every model's
versions span the whole history (the worst case for a path-limited ``git log``), one
commit every ten minutes from 2024-01-01. Then ``modelreg codeowners --write`` routes
the models' reviews, and the last ``--real`` versions (default 3) are registered by the
real ``modelreg register`` (real DVC, a local remote beside the registry).

A registry is built once under the cache directory and reused (``.complete`` marks it
whole). Import :func:`build` (``build("wide", 100_000, Path("/tmp/cache")) -> Path``) or::

    .venv/bin/python bench/build_registry.py --shape deep --versions 100000 --cache /tmp/mr-scale
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import VERSION, git_env, tool

SHAPES = ("deep", "wide")
#: the first commit's time (UTC) and the gap between commits
EPOCH = 1704067200  # 2024-01-01T00:00:00Z
STEP = 600
#: every PROMOTE_EVERY-th version of a model is promoted in a commit of its own
PROMOTE_EVERY = 10
MARKER = ".complete"


MODEL = """# yaml-language-server: $schema=../../schemas/model.schema.json
schema_version: 1
name: {name}
description: synthetic ({shape} shape)
owners:
- '@acme/ml'
tags:
  team: fraud
aliases:{aliases}
archived: []
rejected: []
"""


def layout(shape: str, versions: int) -> tuple[int, int]:
    """(models, versions per model) of a shape at ``versions`` versions in all."""
    if shape == "deep":
        return 20, max(1, versions // 20)
    if shape == "wide":
        return max(1, versions // 100), min(100, versions)
    raise ValueError(f"unknown shape {shape!r}: one of {', '.join(SHAPES)}")


def model_name(index: int) -> str:
    return f"m{index:04d}"


def build(shape: str, versions: int, dest: Path, *, real: int = 3) -> Path:
    """The registry of ``shape`` with ``versions`` versions in all, built under ``dest`` (a cache
    directory) or found there from an earlier build; its top directory is returned. The last
    ``real`` versions (of the first model) are registered by ``modelreg register``."""
    root = Path(dest) / f"{shape}-{versions}"
    if (root / "registry" / ".git" / MARKER).exists():
        return root / "registry"
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    started = time.perf_counter()
    reg = root / "registry"
    env = git_env()
    mr = tool("modelreg")
    subprocess.run([mr, "init", str(reg), "--remote", str(root / "remote")], check=True,
                   stdout=subprocess.DEVNULL, env=env)
    _git(reg, env, "add", "-A")
    _git(reg, env, "commit", "-qm", "Initialize the registry", env_time=EPOCH - STEP)
    models, per_model = layout(shape, versions)
    bulk = versions - real if models * per_model == versions else models * per_model - real
    proc = subprocess.Popen(["git", "fast-import", "--quiet", "--done"], cwd=reg, env=env,
                            stdin=subprocess.PIPE)
    assert proc.stdin is not None
    for chunk in _stream(shape, models, per_model, bulk):
        proc.stdin.write(chunk)
    proc.stdin.close()
    if proc.wait() != 0:
        raise SystemExit("git fast-import failed")
    _git(reg, env, "reset", "--hard", "-q", "main")
    imported = time.perf_counter()
    subprocess.run([mr, "codeowners", "--write"], cwd=reg, check=True, stdout=subprocess.DEVNULL, env=env)
    _git(reg, env, "add", "-A")
    _git(reg, env, "commit", "-qm", "Route the models' reviews (#0)", env_time=EPOCH + STEP * (bulk + 1))
    _register_real(reg, root, env, shape, bulk, real)
    _git(reg, env, "gc", "-q")  # a CI clone is packed; and no automatic gc during the timings
    info = {"shape": shape, "versions": versions, "models": models, "per_model": per_model,
            "real_registrations": real, "commits": int(_git(reg, env, "rev-list", "--count", "HEAD")),
            "import_seconds": round(imported - started, 1),
            "build_seconds": round(time.perf_counter() - started, 1)}
    (reg / ".git" / "bench-build.json").write_text(json.dumps(info, indent=2))
    (reg / ".git" / MARKER).write_text("")
    return reg


def build_info(registry: Path) -> dict[str, object]:
    """What :func:`build` recorded of a registry it built (shape, counts, build time)."""
    data: dict[str, object] = json.loads((registry / ".git" / "bench-build.json").read_text())
    return data


def clone(registry: Path, dest: Path) -> Path:
    """A copy of a built registry to change (``cp -a``: the work tree, the objects, the memo)."""
    subprocess.run(["cp", "-a", str(registry), str(dest)], check=True)
    return dest


def _git(root: Path, env: dict[str, str], *args: str, env_time: int | None = None) -> str:
    if env_time is not None:
        stamp = f"@{env_time} +0000"
        env = {**env, "GIT_AUTHOR_DATE": stamp, "GIT_COMMITTER_DATE": stamp}
    return subprocess.run(["git", *args], cwd=root, env=env, check=True, stdout=subprocess.PIPE,
                          text=True).stdout.strip()


def _data(text: str) -> bytes:
    raw = text.encode()
    return b"data %d\n%s\n" % (len(raw), raw)


def _aliases(production: int | None, staging: int | None) -> str:
    pairs = [(a, v) for a, v in (("production", production), ("staging", staging)) if v is not None]
    return "".join(f"\n  {a}: {v}" for a, v in pairs) if pairs else " {}"


def _stream(shape: str, models: int, per_model: int, bulk: int) -> Iterator[bytes]:
    """The fast-import commands: ``bulk`` versions round-robin over the models, promotions between."""
    yield b"blob\nmark :1\n" + _data("/model.pkl\n")
    tick = 0
    done = 0
    for n in range(1, per_model + 1):
        for m in range(models):
            if done == bulk:
                yield b"done\n"
                return
            done += 1
            name = model_name(m)
            tick += 1
            when = EPOCH + tick * STEP
            seed = f"{name}/{n}".encode()
            md5, sha = hashlib.md5(seed).hexdigest(), hashlib.sha256(seed).hexdigest()
            created = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(when))
            version = VERSION.format(model=name, n=n, created=created,
                                     description=f"XGBoost; trained on week {n}", md5=md5, sha=sha,
                                     size=1000 + n, auc=round(0.9 + n / 100000, 5),
                                     commit=hashlib.sha1(seed).hexdigest())
            pointer = f"outs:\n- md5: {md5}\n  size: {1000 + n}\n  hash: md5\n  path: model.pkl\n"
            top = f"registry/{name}/v{n}"
            out = [_commit(when, f"Register {name} v{n} (#{tick})", first=tick == 1),
                   f"M 100644 inline {top}/version.yaml\n".encode(), _data(version),
                   f"M 100644 inline {top}/model.pkl.dvc\n".encode(), _data(pointer),
                   f"M 100644 :1 {top}/.gitignore\n".encode()]
            if n == 1:
                out += [f"M 100644 inline registry/{name}/model.yaml\n".encode(),
                        _data(MODEL.format(name=name, shape=shape, aliases=_aliases(None, None)))]
            yield b"".join(out)
            if n % PROMOTE_EVERY == 0:
                tick += 1
                # staging gets the new version; production the one staging held
                yield b"".join([_commit(EPOCH + tick * STEP, f"Promote {name} v{n} (#{tick})"),
                                f"M 100644 inline registry/{name}/model.yaml\n".encode(),
                                _data(MODEL.format(name=name, shape=shape,
                                                   aliases=_aliases(max(1, n - PROMOTE_EVERY), n)))])
    yield b"done\n"


def _commit(when: int, subject: str, *, first: bool = False) -> bytes:
    """A commit on main; the first one continues the branch ``init`` committed."""
    who = f"bench <bench@example.com> {when} +0000"
    start = b"from refs/heads/main^0\n" if first else b""
    return f"commit refs/heads/main\nauthor {who}\ncommitter {who}\n".encode() + _data(subject) + start


def _register_real(reg: Path, root: Path, env: dict[str, str], shape: str, bulk: int, real: int) -> None:
    """The last ``real`` versions through ``modelreg register``, each committed (real DVC, local
    remote), as the first model's next versions."""
    if real <= 0:
        return
    work = root / "artifacts"
    work.mkdir(exist_ok=True)
    mr = tool("modelreg")
    name = model_name(0)
    for i in range(real):
        artifact = work / f"model-{i}.pkl"
        artifact.write_bytes(os.urandom(4096))
        subprocess.run([mr, "register", name, "--artifact", str(artifact), "--owner", "@acme/ml",
                        "--metric", f"roc_auc=0.9{i}", "--description", "registered for real",
                        "--commit"], cwd=reg, check=True, stdout=subprocess.DEVNULL, env=env)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shape", choices=SHAPES, default="deep")
    parser.add_argument("--versions", type=int, default=1000)
    parser.add_argument("--real", type=int, default=3, help="versions registered by `modelreg register`")
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "modelreg-scale")
    args = parser.parse_args()
    started = time.perf_counter()
    reg = build(args.shape, args.versions, args.cache, real=args.real)
    info = build_info(reg)
    print(json.dumps({**info, "path": str(reg), "this_run_seconds": round(time.perf_counter() - started, 1)}))


if __name__ == "__main__":
    main()
