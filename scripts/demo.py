"""The whole loop, narrated: train, register signed, gate, approve, merge, deploy, block, roll back.

Run by ``scripts/demo`` (which installs everything first). It builds a registry in a
temporary directory (or $MODELREG_DEMO_DIR) with a bare ``origin``, a local DVC remote
and a ``directory`` deploy target, and runs the real workflows that ``modelreg init``
wrote under ``act``: the gate on each pull request, the approval check against a
local stand-in for GitHub's API (the only stand-in; the narration says so), and the
deploy workflow on each merge to main. It exits non-zero as soon as a step does not
behave as narrated.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
PROJECT = HERE.parent
sys.path.insert(0, str(PROJECT))
from tests.github_stub import GitHubStub  # noqa: E402  (the local stand-in for GitHub's API)

from modelreg import __version__  # noqa: E402
from modelreg.checks import GATES  # noqa: E402
from modelreg.write import workflows  # noqa: E402

BIN = Path(sys.executable).parent
REPO = "acme/registry"
BOLD, DIM, GREEN, RED, RESET = "\033[1m", "\033[2m", "\033[32m", "\033[31m", "\033[0m"
if not sys.stdout.isatty():
    BOLD = DIM = GREEN = RED = RESET = ""


class DemoFailed(SystemExit):
    pass


def say(text: str) -> None:
    print(f"\n{BOLD}▸ {text}{RESET}", flush=True)


def show(text: str) -> None:
    for line in text.rstrip().splitlines():
        print(f"  {line}")


def expect(ok: bool, what: str, output: str = "") -> None:
    if not ok:
        print(f"{RED}✗ not as narrated: {what}{RESET}\n{output[-4000:]}", file=sys.stderr)
        raise DemoFailed(1)
    print(f"  {GREEN}✓ {what}{RESET}")


class Demo:
    def __init__(self, work: Path, stub: GitHubStub) -> None:
        self.work = work
        self.root = work / "registry"
        self.stub = stub
        self.pr = 0
        # the demo signs every version it registers, with a key made for it (kept in its directory)
        self.key = work / "signing.pem"
        self.installs = self._installs()
        self.env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}",
                    "GIT_AUTHOR_NAME": "Alice Example", "GIT_AUTHOR_EMAIL": "alice@example.com",
                    "GIT_COMMITTER_NAME": "Alice Example", "GIT_COMMITTER_EMAIL": "alice@example.com"}

    # -- plumbing ---------------------------------------------------------------------------
    def run(self, *cmd: str, check: bool = True, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(list(cmd), cwd=cwd or self.root, env=self.env, capture_output=True,
                              text=True, check=False)
        if check and proc.returncode != 0:
            expect(False, f"`{' '.join(cmd)}` succeeds", proc.stdout + proc.stderr)
        return proc

    def modelreg(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return self.run(str(BIN / "modelreg"), *args, check=check)

    def git(self, *args: str) -> str:
        return self.run("git", *args).stdout

    def _installs(self) -> dict[str, str]:
        """The working tree's wheel, for the workflows' real install step; warm caches kept in .venv."""
        cache = PROJECT / ".venv" / "demo-cache"
        dist = cache / "dist"
        shutil.rmtree(dist, ignore_errors=True)
        dist.mkdir(parents=True)
        where = {"UV_FIND_LINKS": str(dist), "UV_CACHE_DIR": str(cache / "uv"),
                 "PIP_CACHE_DIR": str(cache / "pip")}
        env = {**os.environ, **where}
        uv = str(BIN / "uv")
        # built as the running version, which the workflows pin: git's tags give another one to a
        # commit made since .venv was installed
        subprocess.run([uv, "build", "--quiet", "--wheel", "--out-dir", str(dist), str(PROJECT)],
                       env={**env, "SETUPTOOLS_SCM_PRETEND_VERSION_FOR_MODELREG": __version__},
                       check=True, capture_output=True)
        subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary",
                        ":all:", "--dest", str(dist), f"uv=={workflows.UV_VERSION}"],
                       env=env, check=True, capture_output=True)
        # The wheel has the same version each time: the cache must not answer with a stale build.
        subprocess.run([uv, "cache", "clean", "--quiet", "modelreg"], env=env, check=True,
                       capture_output=True)
        # what the workflows install: the sign extra too (the demo's policy requires signatures)
        wanted = f"modelreg[sign]=={__version__}"
        # keyed by what decides the dependencies, not by the version: a commit gives a new version
        # (git's tags, hatch-vcs) but needs no new download
        warm = cache / f"warm-{hashlib.sha256((PROJECT / 'pyproject.toml').read_bytes()).hexdigest()[:16]}"
        if not warm.exists():  # the first demo fetches the dependencies once; every later install is offline
            venv = cache / "warm-venv"
            shutil.rmtree(venv, ignore_errors=True)  # one an earlier warm-up left
            subprocess.run([uv, "venv", "--quiet", str(venv)], env=env, check=True, capture_output=True)
            subprocess.run([uv, "pip", "install", "--quiet", "--python", str(venv / "bin/python"), wanted],
                           env=env, check=True, capture_output=True)
            warm.touch()
        return {**where, "UV_OFFLINE": "1", "PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(dist)}

    def act(self, event: str, payload: dict[str, object], workflow: str) -> subprocess.CompletedProcess[str]:
        payload_file = self.work / f"{event}-{time.monotonic_ns()}.json"
        payload_file.write_text(json.dumps(payload))
        path = os.pathsep.join(p for p in os.environ["PATH"].split(os.pathsep)
                               if not (Path(p) / "modelreg").exists())
        env = {**self.env, "PATH": path}
        env.pop("VIRTUAL_ENV", None)
        where = [a for k, v in self.installs.items() for a in ("--env", f"{k}={v}")]
        return subprocess.run(
            [str(BIN / "act"), event, "-e", str(payload_file), "-W", workflow, "-P",
             "ubuntu-latest=-self-hosted", "--no-cache-server", "--env", f"GITHUB_REPOSITORY={REPO}",
             "--env", f"GITHUB_API_URL={self.stub.url}", "--secret", "GITHUB_TOKEN=demo-token", *where],
            cwd=self.root, env=env, capture_output=True, text=True, timeout=600, check=False)

    # -- the user's loop --------------------------------------------------------------------
    def open_pr(self, branch: str, author: str = "alice") -> int:
        self.pr += 1
        head = self.git("rev-parse", branch).strip()
        self.stub.add_pull(REPO, self.pr, author=author, head_sha=head)
        return self.pr

    def gate(self, pr: int, branch: str) -> subprocess.CompletedProcess[str]:
        payload = {"pull_request": {"number": pr, "base": {"ref": "main"}, "head": {"ref": branch}}}
        return self.act("pull_request", payload, workflows.GATE_PATH)

    def approvals(self, pr: int, branch: str) -> subprocess.CompletedProcess[str]:
        payload = {"pull_request": {"number": pr, "base": {"ref": "main"}, "head": {"ref": branch},
                                    "user": {"login": "alice"}},
                   "review": {"state": "approved"}}
        return self.act("pull_request_review", payload, workflows.APPROVAL_PATH)

    def merge(self, pr: int, branch: str) -> str:
        before = self.git("rev-parse", "main").strip()
        self.git("switch", "-q", "main")
        self.git("merge", "-q", "--no-ff", "-m", f"Merge pull request #{pr} from acme/{branch}", branch)
        self.git("push", "-q", "origin", "main")
        after = self.git("rev-parse", "HEAD").strip()
        run = self.act("push", {"ref": "refs/heads/main", "before": before, "after": after,
                                "repository": {"full_name": REPO}}, workflows.DEPLOY_PATH)
        expect(run.returncode == 0, f"the deploy workflow ran for the merge of #{pr}",
               run.stdout + run.stderr)
        marks = ("✓ ", "✗ ", "No environment", "Nothing deployed")
        for line in run.stdout.splitlines():
            if "| " in line and any(mark in line for mark in marks):
                show(line.split("| ", 1)[1])
        return after

    def train_and_register(self, first: bool, recipe: str, branch: str, note: str) -> int:
        out = self.work / f"train-{recipe}"
        self.run(sys.executable, str(HERE / "train.py"), str(out), recipe)
        metrics = json.loads((out / "metrics.json").read_text())
        show(f"trained ({recipe}): roc_auc {metrics['roc_auc']}, accuracy {metrics['accuracy']}")
        owner = ["--owner", "@acme/oncology-ml"] if first else []
        done = self.modelreg("register", "cancer", "--artifact", str(out / "model.skops"), "--metrics",
                             str(out / "metrics.json"), "--params", str(out / "params.json"), "--framework",
                             "scikit-learn", "--tag", "team=oncology", "-m", note, *owner, "--sign-key",
                             str(self.key), "--branch", branch)
        show(done.stdout)
        return int(done.stdout.split()[2].lstrip("v"))


def main() -> None:
    work = Path(os.environ.get("MODELREG_DEMO_DIR") or tempfile.mkdtemp(prefix="modelreg-demo-"))
    work.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    with GitHubStub(token="demo-token") as stub:
        stub.add_team("acme", "model-risk", ["bob"])
        demo = Demo(work, stub)
        root = demo.root

        say("Create a registry: git, DVC with a local remote, policies, the workflows")
        demo.run(str(BIN / "modelreg"), "init", str(root), cwd=work)
        config = yaml.safe_load((root / "modelreg.yaml").read_text())
        config["environments"] = {"production": {"alias": "production", "targets": [
            {"type": "directory", "path": str(work / "serving"), "keep": 3}]}}
        (root / "modelreg.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
        (root / "policies/default.yaml").write_text(
            "schema_version: 1\nrequired: [description, metrics.roc_auc, lineage.code.commit]\n"
            "thresholds: {roc_auc: {min: 0.95}}\n"
            "promotion:\n  production:\n    approvals: {count: 1, from: ['@acme/model-risk']}\n")
        (root / workflows.DEPLOY_PATH).unlink()
        demo.modelreg("init", str(root))  # the deploy workflow, for the production environment
        demo.git("add", "-A")
        demo.git("commit", "-qm", "Create the registry")
        demo.git("init", "-q", "--bare", str(work / "origin.git"))
        demo.git("remote", "add", "origin", str(work / "origin.git"))
        demo.git("push", "-q", "origin", "main")
        show("policy: roc_auc >= 0.95; production needs one approval from @acme/model-risk")
        show(f"production is served from {work / 'serving'} (a `directory` target)")
        print(f"  {DIM}GitHub's API is played by a local stand-in on {stub.url}: the only stand-in; "
              f"git, DVC and the workflows (under act) are real.{RESET}")

        say("Make a signing key: every version is signed as it is registered (OpenSSF Model Signing)")
        demo.run("openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", str(demo.key),
                 cwd=work)
        demo.run("openssl", "ec", "-in", str(demo.key), "-pubout", "-out", str(work / "signing.pub"),
                 cwd=work)
        show(f"private key {demo.key}, public key {work / 'signing.pub'}")

        say("Train v1 and register it on a branch: artifact to the DVC remote, manifest to git")
        demo.train_and_register(True, "good", "register/v1", "logistic regression, C=0.05")
        pr = demo.open_pr("register/v1")
        say(f"Pull request #{pr}: the gate workflow runs `modelreg check` (under act)")
        run = demo.gate(pr, "register/v1")
        expect(run.returncode == 0 and f"all {len(GATES)} gates passed" in run.stdout, "every gate passes",
               run.stdout + run.stderr)
        demo.merge(pr, "register/v1")
        show("merged: v1 exists as a candidate; nothing serves it yet")
        verified = demo.modelreg("verify", "cancer/1", "--key", str(work / "signing.pub"), check=False)
        show(verified.stdout)
        expect(verified.returncode == 0 and verified.stdout.startswith("verified: cancer v1"),
               "v1's signature verifies: the signer's key, and every byte re-hashed now",
               verified.stdout + verified.stderr)

        say("Promote v1 to production: one line of model.yaml, its own pull request")
        show(demo.modelreg("promote", "cancer", "1", "--to", "production", "--branch", "promote/v1").stdout)
        pr = demo.open_pr("promote/v1")
        head = demo.git("rev-parse", "promote/v1").strip()
        stub.add_review(REPO, pr, "alice", "APPROVED", commit_id=head)
        run = demo.approvals(pr, "promote/v1")
        expect(run.returncode != 0 and "alice" in run.stdout, "the author's own approval does not count",
               run.stdout + run.stderr)
        stub.add_review(REPO, pr, "bob", "APPROVED", commit_id=head)
        run = demo.approvals(pr, "promote/v1")
        expect(run.returncode == 0, "an approval from @acme/model-risk (bob) meets the policy",
               run.stdout + run.stderr)
        demo.merge(pr, "promote/v1")
        link = work / "serving" / "cancer" / "production"
        expect(os.readlink(link) == "1", f"v1 is live: {link} -> 1")

        say("Train a broken v2: the gate blocks it, and the report says why")
        demo.git("switch", "-q", "main")
        demo.train_and_register(False, "weak", "register/v2", "decision stump, one feature")
        pr = demo.open_pr("register/v2")
        run = demo.gate(pr, "register/v2")
        blocked = "metrics.roc_auc" in run.stdout and "outside the threshold (>= 0.95)" in run.stdout
        expect(run.returncode != 0 and blocked, "the policy gate fails v2: roc_auc below 0.95",
               run.stdout + run.stderr)
        for line in run.stdout.splitlines():
            if "outside the threshold" in line and "::error" in line:
                show(line.rsplit("::", 1)[-1])
                break
        show("the pull request stays open: the broken model never reaches main")

        say("Train a better model: it passes, is merged, promoted with approval, and deployed")
        demo.git("switch", "-q", "main")
        demo.git("branch", "-q", "-D", "register/v2")
        better = demo.train_and_register(False, "better", "register/better", "logistic regression, C=0.5")
        show(f"registered as v{better}: the blocked one was never released, so its number is free")
        pr = demo.open_pr("register/better")
        run = demo.gate(pr, "register/better")
        expect(run.returncode == 0, f"every gate passes for v{better}", run.stdout + run.stderr)
        demo.merge(pr, "register/better")
        show(demo.modelreg("promote", "cancer", str(better), "--to", "production", "--branch",
                           "promote/better").stdout)
        pr = demo.open_pr("promote/better")
        head = demo.git("rev-parse", "promote/better").strip()
        stub.add_review(REPO, pr, "bob", "APPROVED", commit_id=head)
        run = demo.approvals(pr, "promote/better")
        expect(run.returncode == 0, "approved by @acme/model-risk", run.stdout + run.stderr)
        demo.merge(pr, "promote/better")
        expect(os.readlink(link) == str(better) and (work / "serving/cancer/1").is_dir(),
               f"v{better} is live; v1 is kept on the target for an instant rollback")

        say("Roll back: production goes back to v1, through a pull request like any change")
        show(demo.modelreg("rollback", "cancer", "--alias", "production", "--branch", "rollback/v1").stdout)
        pr = demo.open_pr("rollback/v1")
        stub.add_review(REPO, pr, "bob", "APPROVED", commit_id=demo.git("rev-parse", "rollback/v1").strip())
        run = demo.approvals(pr, "rollback/v1")
        expect(run.returncode == 0, "the rollback is approved", run.stdout + run.stderr)
        demo.merge(pr, "rollback/v1")
        expect(os.readlink(link) == "1", "v1 is live again (the switch is one rename)")

        say("What the registry answers, from any clone")
        demo.git("fetch", "-q", "origin", "refs/notes/modelreg:refs/notes/modelreg")
        show(demo.modelreg("show", "cancer").stdout)
        history = demo.modelreg("history", "cancer", "--offline").stdout
        show(history)
        expect("bob" in history, "history names who approved each promotion (recorded by the deploy job)")
        expect("not counted: alice (author)" in history,
               "and lists apart the approval that did not count: alice's own, as the author")
        status = demo.modelreg("status", check=False)
        show(status.stdout)
        expect(status.returncode == 0, "status: what main asks for is what production serves")
        site = demo.modelreg("site", "-o", str(work / "site"), check=False)
        if site.returncode == 0:
            show(f"the catalog: {work / 'site' / 'index.html'}")
    print(f"\n{BOLD}Demo complete in {time.monotonic() - started:.0f} s.{RESET} The registry is in {root}; "
          f"production is served from {work / 'serving'}.")


if __name__ == "__main__":
    main()
