"""The Python API: one object per registry, mirroring the CLI.

Every command of ``modelreg`` is a thin wrapper over a method here (or over the
core function the method calls), and prints the record it returns: its text, or
``record.to_dict()`` for ``--json``. Keyword arguments have the names and
defaults of the command's options. docs/python-api.md has an example of each.

>>> reg = Registry(".")                       # the work tree
>>> old = Registry(".", at="v1.2")            # any commit, branch, tag or date
>>> mv = reg.resolve("models:/fraud-detector@champion")
>>> mv.metrics["roc_auc"], mv.aliases, mv.stage
>>> mv.download("out/")
>>> reg.promote("fraud-detector", 4, to="production", branch="promote/fraud-v4")
>>> register_remote("https://github.com/acme/registry.git", Registration(...), open_pr=True).pr_url
"""

from __future__ import annotations

import builtins
import os
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from modelreg.edges.snapshot import open_snapshot
from modelreg.errors import InputError, NotARegistryError
from modelreg.formats import names
from modelreg.read.catalog import Catalog, Model, ModelDetail, ModelVersion
from modelreg.read.resolve import resolve

if TYPE_CHECKING:
    from pathlib import Path

    from modelreg.approvals.rules import ApprovalReport
    from modelreg.cards import Card
    from modelreg.cards.cyclonedx import Bom
    from modelreg.checks import CheckReport
    from modelreg.deploy.run import Deployment
    from modelreg.deploy.status import Status
    from modelreg.edges.hashing import Progress
    from modelreg.edges.signing import Signer, SigningMethod
    from modelreg.formats.desired import DesiredState
    from modelreg.imports.apply import Imported
    from modelreg.imports.source import SourceModel
    from modelreg.read.artifacts import Downloaded
    from modelreg.read.audit import Trail
    from modelreg.read.diff import Compared
    from modelreg.read.history import History
    from modelreg.read.resolve import Located
    from modelreg.read.search import Found
    from modelreg.read.signatures import SignatureCheck
    from modelreg.write.register import Registered, Registration
    from modelreg.write.remote import RemoteRegistered
    from modelreg.write.renumber import Renumbered
    from modelreg.write.transitions import Applied, Edit, Planned
    from modelreg.write.upgrade import Upgrade

ENV_ROOT = "MODELREG_REGISTRY"
_NO_SPDX = ("SPDX 3 is not written: no validator of SPDX 3.0 JSON-LD is at hand (spdx-tools 0.8.5 models "
            "a draft of SPDX 3 and ships no validator for it), and modelreg writes no document it cannot "
            "check (docs/bom.md)")


def find_root(start: str | os.PathLike[str] | None = None) -> str:
    """The registry containing ``start`` (default: $MODELREG_REGISTRY, else the current directory)."""
    origin = candidate = os.path.realpath(start or os.environ.get(ENV_ROOT) or ".")
    while True:
        if os.path.isfile(os.path.join(candidate, names.CONFIG_FILE)):
            return candidate
        parent = os.path.dirname(candidate)
        if parent == candidate:
            break
        candidate = parent
    raise NotARegistryError(f"{origin} is not inside a modelreg registry (no {names.CONFIG_FILE})",
                            fix="run `modelreg init`, or pass --registry PATH")


class ModelSummary:
    """A model in ``modelreg list``: its counts, aliases and latest version."""

    def __init__(self, model: Model, latest: int | None, catalog: Catalog | None = None) -> None:
        self.model = model
        self.latest = latest
        self._catalog = catalog

    @property
    def latest_version(self) -> ModelVersion | None:
        """The latest version, read when asked (the table of ``modelreg list`` does not need it)."""
        if self.latest is None or self._catalog is None:
            return None
        return self._catalog.version(self.model.name, self.latest, with_pointer=False)

    def __repr__(self) -> str:
        return (f"<ModelSummary {self.model.name} latest={self.latest} versions={len(self.model.versions)} "
                f"aliases={self.model.aliases}>")

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.model.name, "description": self.model.description,
                "owners": self.model.owners, "aliases": self.model.aliases,
                "latest": self.latest, "versions": len(self.model.versions),
                "tags": self.model.tags,
                "latest_version": latest.to_dict() if (latest := self.latest_version) else None}


class Registry:
    def __init__(self, path: str | os.PathLike[str] = ".", *, at: str | None = None) -> None:
        self.top = find_root(path)
        self.at = at
        self.catalog = Catalog(open_snapshot(self.top, at))

    def close(self) -> None:
        """Stop the git process a registry read at a revision holds (``with Registry(...)``)."""
        self.catalog.snapshot.close()

    def __enter__(self) -> Registry:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def root(self) -> Path:
        """The registry's top directory (``top`` is the same as a str)."""
        from pathlib import Path  # off the CLI's read path, which uses `top`

        return Path(self.top)

    @property
    def commit(self) -> str | None:
        """The commit read from, or None for the work tree."""
        return self.catalog.snapshot.commit

    # reads ------------------------------------------------------------------

    def models(self) -> builtins.list[str]:
        return self.catalog.model_names()

    def model(self, name: str) -> Model:
        return self.catalog.model(name)

    def version(self, name: str, number: int) -> ModelVersion:
        return self.catalog.version(name, number)

    def versions(self, name: str) -> builtins.list[ModelVersion]:
        return self.catalog.versions(name)

    def resolve(self, uri: str) -> ModelVersion:
        return resolve(self.catalog, uri)

    def locate(self, uri: str) -> Located:
        """The version ``uri`` names with its artifact's hashes and remote location
        (``modelreg resolve``)."""
        from modelreg.read.resolve import locate

        return locate(self.catalog, uri)

    def card(self, target: str) -> Card:
        """The model card of the version ``target`` names: the registered card's prose and the
        manifest's numbers, as ``modelreg card`` (``modelreg.cards.render.render`` formats it)."""
        from modelreg import cards

        return cards.for_version(self.catalog, self.resolve(target))

    def bom(self, target: str, *, format: str = "cyclonedx") -> Bom:
        """The bill of materials of the version ``target`` names, as ``modelreg bom``: a CycloneDX
        1.6 ML-BOM built from the manifest, the registered card, the model's owners and its
        history (the commit that registered it, whose approvals of the moves of an alias to it
        counted, as the deploy job's ledger recorded them: GitHub is not asked). ``format`` is
        ``cyclonedx``; ``spdx`` is refused, with the reason (docs/bom.md)."""
        from modelreg import __version__
        from modelreg.cards import cyclonedx

        if format != "cyclonedx":
            raise InputError(_NO_SPDX if format == "spdx" else f"unknown format {format!r}",
                             field="--format", fix="use --format cyclonedx")
        from modelreg.read.ledger_trust import at_main

        mv = self.resolve(target)
        events = cyclonedx.believed(self.history(mv.model, offline=True, verify=True),
                                    signers_named=at_main(self.top).configured)
        return cyclonedx.for_version(self.catalog, mv, events, tool_version=__version__)

    def show(self, target: str) -> ModelDetail | ModelVersion:
        """A model with all its versions (``target`` a model name), or one version (a URI such as
        ``fraud-detector/3`` or ``fraud-detector@champion``), as ``modelreg show``."""
        if re.fullmatch(r"[^/@:]+", target):
            return ModelDetail(self.model(target), self.versions(target))
        return self.resolve(target)

    def list(self, *, tags: dict[str, str] | None = None,
             alias: str | None = None) -> builtins.list[ModelSummary]:
        """Models with aliases and latest version; ``tags`` match model or latest-version tags."""
        out = []
        alias = names.alias_input(alias) if alias else None
        for name in self.models():
            model = self.catalog.model(name)
            if alias and alias not in model.aliases:
                continue
            if tags and not self._has_tags(model, tags):
                continue
            out.append(ModelSummary(model, model.latest, self.catalog))
        self.catalog.save_memos()
        return out

    def _has_tags(self, model: Model, wanted: dict[str, str]) -> bool:
        have = dict(model.tags)
        if model.latest is not None:
            have = {**self.catalog.version(model.name, model.latest, with_pointer=False).tags, **have}
        return all(have.get(k) == v for k, v in wanted.items())

    def audit(self, *, since: str | None = None, until: str | None = None, model: str | None = None,
              github: bool = False, verify: bool = False) -> Trail:
        """The audit trail, oldest first, as ``modelreg audit``: registrations, alias moves with
        their PR and approvers (those that counted, the others apart), and deployments, each with
        its ``source``; ledger records git does not bear out as ``unmatched`` entries, deployments
        the targets show and the ledger lost as ``ledger-lost``; ``warnings`` counts the records
        left out. ``since`` and ``until`` are ISO 8601 dates or times (UTC unless a zone is given;
        a date as ``until`` includes that day); ``github`` asks GitHub's API whose approvals counted
        where the ledger does not hold them; ``verify`` judges each ledger record's signature
        against the signers ``modelreg.yaml`` on main names (``signature``: verified, unverified or
        forged; without it, unchecked)."""
        from modelreg.approvals.merged import with_counted
        from modelreg.deploy.status import lost_records
        from modelreg.read.audit import Entry, Trail, parse_time, trail
        from modelreg.read.ledger_trust import at_main

        self._work_tree("audit")
        entries = trail(self.root, since=parse_time(since, "--since") if since else None,
                        until=parse_time(until, "--until", end_of_day=True) if until else None,
                        model=model, approvers=with_counted if github else None,
                        trust=at_main(self.root) if verify else None)
        # what the targets that can tell show and the ledger does not have: a finding of now, listed
        # after the period's events whatever the period
        lost = [Entry(x.time, x.model, "ledger-lost", x.alias, None, x.version, x.environment, None,
                      x.commit, None, None, None, None, x.describe(), source="target")
                for x in lost_records(self.root, model=model)]
        return Trail(entries + lost, entries.warnings)

    def history(self, name: str, *, repo: str | None = None, offline: bool = False,
                verify: bool = False) -> History:
        """Every change to the model, newest first, with whose approval of each pull request
        counted under the policy of the change, and whose did not, when GitHub can be asked (see
        ``approvals.merged``), else those the deploy job counted (the ledger); and the deployments
        the ledger recorded, each with its ``source``. Ledger records git does not bear out are in
        ``unmatched``, and ``warnings`` counts the records left out. ``verify`` judges each ledger
        record's signature against the signers ``modelreg.yaml`` on main names (each ledger fact's
        ``signature``: verified, unverified or forged; without it, unchecked)."""
        from modelreg.approvals.merged import with_counted
        from modelreg.edges import git
        from modelreg.read.history import history, with_ledger

        self.catalog.model(name)
        trust = None
        if verify:
            from modelreg.read.ledger_trust import at_main

            trust = at_main(self.top)
        with git.BlobReader(self.top) as blobs:  # one cat-file for the model's revisions and the ledger
            events = history(self.top, name, self.commit, blobs=blobs)
            events = with_counted(self.top, name, events, repo=repo, offline=offline, blobs=blobs)
            return with_ledger(self.top, name, events, self.commit, blobs=blobs, trust=trust)

    def diff(self, name: str, a: str | int, b: str | int) -> Compared:
        """Compare two versions of ``name``; ``a`` and ``b`` are numbers (3, "3", "v3"), aliases
        ("@production"), "latest", or whole URIs, as ``modelreg diff`` takes them. The result
        unpacks as ``(version_a, version_b, rows)``."""
        from modelreg.read.diff import Compared, diff

        left, right = (self.resolve(_as_uri(name, ref)) for ref in (a, b))
        return Compared(left, right, diff(left, right))

    def search(self, where: Iterable[str], *, model: str | None = None, order_by: str | Iterable[str] = (),
               limit: int | None = None) -> Found:
        """Versions whose fields satisfy every ``where`` condition, as ``modelreg search``: sorted
        by each ``order_by`` key (``"metrics.roc_auc DESC"``; versions lacking a key last, counted
        in ``Found.missing``), the first ``limit`` of them. A list: ``reg.search([], order_by=
        ["metrics.roc_auc DESC"], limit=1)[0]`` is the best version."""
        from modelreg.read.search import parse, parse_order, search

        conditions = [parse(w) for w in where]
        keys = [order_by] if isinstance(order_by, str) else order_by  # one key, as a string, is one key
        order = [parse_order(key) for text in keys for key in text.split(",")]  # MLflow: "a DESC, b"
        models = [model] if model else self.models()
        return search((mv for m in models for mv in self.catalog.versions(m)), conditions, order=order,
                      limit=limit)

    # writes and transfers ---------------------------------------------------

    def register(self, registration: Registration, *, sign: SigningMethod | None = None,
                 **options: Any) -> Registered:
        """Register a new version in the work tree (see :func:`modelreg.write.register.register`);
        ``sign`` (or ``registration.sign``) signs its artifact, as ``register --sign-key``."""
        import dataclasses

        from modelreg.write.register import register

        self._work_tree("register into")
        if sign is not None:
            registration = dataclasses.replace(registration, sign=sign)
        try:
            return register(self.root, registration, **options)
        finally:
            self._reread()

    def import_mlflow(self, tracking_uri: str, *, registry_uri: str | None = None, models: Sequence[str] = (),
                      branch: str = "modelreg/import-mlflow", owners: Sequence[str] = (),
                      dry_run: bool = False, progress: Progress | None = None,
                      renames: Mapping[str, str] | None = None, policy: str | None = None) -> Imported:
        """Import MLflow's registered models (all, or ``models``) on ``branch``, as
        ``modelreg import mlflow``: only what an earlier import did not bring. ``renames`` maps
        an MLflow model's name to the name it gets here (``--rename``)."""
        from modelreg.imports import mlflow_source

        def read() -> builtins.list[SourceModel]:
            return mlflow_source.read(tracking_uri, registry_uri, list(models))

        return self._import("mlflow", read, branch=branch, owners=owners, dry_run=dry_run, progress=progress,
                            renames=renames, policy=policy)

    def import_gto(self, path: str | os.PathLike[str], *, models: Sequence[str] = (),
                   branch: str = "modelreg/import-gto", owners: Sequence[str] = (),
                   dry_run: bool = False, progress: Progress | None = None,
                   renames: Mapping[str, str] | None = None, policy: str | None = None) -> Imported:
        """Import the artifacts of the GTO repository at ``path`` on ``branch``, as
        ``modelreg import gto`` (``renames``: an artifact's name to the model name it gets here)."""
        from modelreg.imports import gto_source

        return self._import("gto", lambda: gto_source.read(path, list(models)),
                            branch=branch, owners=owners, dry_run=dry_run, progress=progress, renames=renames,
                            policy=policy)

    def _import(self, kind: str, read: Callable[[], builtins.list[SourceModel]], *, branch: str,
                owners: Sequence[str], dry_run: bool, progress: Progress | None,
                renames: Mapping[str, str] | None, policy: str | None) -> Imported:
        from modelreg.imports.apply import run

        self._work_tree("import into")
        try:
            return run(self.root, kind, read, branch=branch, owners=list(owners), dry_run=dry_run,
                       renames=renames, policy=policy, **({"progress": progress} if progress else {}))
        finally:
            self._reread()

    def download(self, uri: str, dest: str | os.PathLike[str], *, force: bool = False) -> Path:
        return self.resolve(uri).download(dest, force=force)

    def get(self, uri: str, output: str | os.PathLike[str] = ".", *, force: bool = False,
            progress: Progress | None = None) -> Downloaded:
        """Download the artifact ``uri`` names, verified by sha256, as ``modelreg get``: to
        ``output``, a path or a directory to write the artifact's own name into."""
        from modelreg.read.artifacts import Downloaded, download

        mv = self.resolve(uri)
        path = download(mv, output, force=force, **({"progress": progress} if progress else {}))
        return Downloaded(mv, path)

    def verify(self, uri: str, signers: Sequence[Signer], *,
               progress: Progress | None = None) -> SignatureCheck:
        """Verify the signature bundle of the version ``uri`` names against its artifact's bytes
        (fetched as ``get`` fetches them, re-hashed now) and the allowed ``signers`` (none given:
        the signers of the model's policy in this registry's files, key files read from them),
        as ``modelreg verify``; raises SignatureError (exit code 1) with what failed."""
        from dataclasses import replace

        from modelreg.edges.signing import SignatureError
        from modelreg.policies import signing
        from modelreg.read import signatures

        mv = self.resolve(uri)
        source = None
        if not signers:
            rule = signing.at(self.catalog.snapshot, mv.model, mv.data)
            if not rule.signers:
                raise SignatureError(f"no allowed signer to verify {mv.model} v{mv.version} against: "
                                     f"{rule.describe()} and lists no signers", file=mv.source,
                                     field="signature", fix="name a signer with --key PUB.pem, "
                                     "--certificate-chain CA.pem or --identity/--issuer, or list the "
                                     "signers in the policy (docs/signing.md)")
            signers, source = [t.signer() for t in rule.signers], f"policy {rule.policy}"
        check = signatures.verify(self.catalog.snapshot, mv, signers,
                                  **({"progress": progress} if progress else {}))
        return replace(check, signers_from=source)

    # changes to desired state: each checked by the gates, written, and (on request) committed,
    # pushed and proposed as a pull request; ``Applied.to_dict()`` is their --json

    def promote(self, model: str, version: int | str | None = None, *, to: str,
                branch: str | None = None, commit: bool = False, push: bool = False, open_pr: bool = False,
                message: str | None = None, base: str | None = None, dry_run: bool = False) -> Applied:
        """Point alias ``to`` at ``version`` of ``model`` (a number, or None when ``model`` is a
        URI such as ``fraud-detector@challenger``), as ``modelreg promote MODEL VERSION --to ALIAS``."""
        return self.promote_all([(model, version, to)], branch=branch, commit=commit, push=push,
                                open_pr=open_pr, message=message, base=base, dry_run=dry_run)

    def promote_all(self, promotions: Iterable[tuple[str, int | str | None, str]], *,
                    branch: str | None = None, commit: bool = False, push: bool = False,
                    open_pr: bool = False, message: str | None = None, base: str | None = None,
                    dry_run: bool = False) -> Applied:
        """Several ``(model, version, alias)`` promotions in one commit: one review, one merge,
        one deployment (``modelreg promote a 3 --to production b 7 --to production``)."""
        from modelreg.read.resolve import parse

        self._work_tree("promote in")
        wanted = [(parse(f"models:/{model}/{version}" if version is not None else model),
                   names.alias_input(alias)) for model, version, alias in promotions]

        def plan(catalog: Catalog) -> dict[str, Edit]:
            # resolved under the registry's lock, from the files the change is checked against
            edits: dict[str, Edit] = {}
            for ref, alias in wanted:
                found = resolve(catalog, ref)
                edits[found.model] = _then(edits.get(found.model), found.version, alias)
            return edits

        return self._publish("promote", plan, models=sorted({ref.model for ref, _ in wanted}), branch=branch,
                             commit=commit, push=push, open_pr=open_pr, message=message, base=base,
                             dry_run=dry_run)

    def rollback(self, model: str, *, alias: str, to: int | None = None, branch: str | None = None,
                 commit: bool = False, push: bool = False, open_pr: bool = False, message: str | None = None,
                 base: str | None = None, dry_run: bool = False) -> Applied:
        """Move ``alias`` back to the version it held before (from the first-parent git history),
        or to version ``to``, as ``modelreg rollback``."""
        from modelreg.read.history import history
        from modelreg.write import transitions

        self._work_tree("roll back in")
        alias = names.alias_input(alias)
        events = history(self.top, model)

        def back(state: DesiredState) -> DesiredState:
            target = to if to is not None else transitions.rollback_target(state, alias, events)
            return transitions.promote(state, target, alias)

        return self._publish(f"rollback {model}", {model: back}, branch=branch, commit=commit, push=push,
                             open_pr=open_pr, message=message, base=base, dry_run=dry_run)

    def demote(self, model: str, *, alias: str, branch: str | None = None, commit: bool = False,
               push: bool = False, open_pr: bool = False, message: str | None = None, base: str | None = None,
               dry_run: bool = False) -> Applied:
        """Remove ``alias`` from ``model``, as ``modelreg demote``."""
        from modelreg.write import transitions

        self._work_tree("demote in")
        alias = names.alias_input(alias)
        return self._publish(f"demote {model}", {model: lambda s: transitions.demote(s, alias)},
                             branch=branch, commit=commit, push=push, open_pr=open_pr, message=message,
                             base=base, dry_run=dry_run)

    def archive(self, model: str, version: int, *, branch: str | None = None, commit: bool = False,
                push: bool = False, open_pr: bool = False, message: str | None = None,
                base: str | None = None, dry_run: bool = False) -> Applied:
        """Archive ``version`` of ``model``: kept, never served, skipped by ``latest``."""
        from modelreg.write import transitions

        self._work_tree("archive in")
        return self._publish(f"archive {model}", {model: lambda s: transitions.archive(s, version)},
                             branch=branch, commit=commit, push=push, open_pr=open_pr, message=message,
                             base=base, dry_run=dry_run)

    def reject(self, model: str, version: int, *, reason: str, branch: str | None = None,
               commit: bool = False, push: bool = False, open_pr: bool = False, message: str | None = None,
               base: str | None = None, dry_run: bool = False) -> Applied:
        """Reject ``version`` of ``model`` with ``reason``, recorded with your git user name."""
        from modelreg.edges import git
        from modelreg.write import transitions

        self._work_tree("reject in")
        by = git.user_name(self.root)
        return self._publish(f"reject {model}",
                             {model: lambda s: transitions.reject(s, version, reason, by)},
                             branch=branch, commit=commit, push=push, open_pr=open_pr, message=message,
                             base=base, dry_run=dry_run)

    def describe(self, model: str, description: str, *, branch: str | None = None, commit: bool = False,
                 push: bool = False, open_pr: bool = False, message: str | None = None,
                 base: str | None = None, dry_run: bool = False) -> Applied:
        """Set ``model``'s description in its model.yaml (one line, at most 1000 characters; empty
        clears it), checked by the gates and published as a promotion is, as ``modelreg describe``."""
        from modelreg.formats.text import check_description

        self._work_tree("describe in")
        text = check_description(description, "DESCRIPTION")
        return self._publish(f"describe {model}", {model: lambda state: state},
                             fields={model: {"description": text}}, branch=branch, commit=commit, push=push,
                             open_pr=open_pr, message=message, base=base, dry_run=dry_run)

    def _publish(self, verb: str, edits: dict[str, Edit] | Planned, **options: Any) -> Applied:
        from modelreg.write.publish import publish

        try:
            return publish(self.root, verb, edits, **options)
        finally:
            self._reread()

    def _reread(self) -> None:
        """Read the work tree afresh after a write: the catalog keeps what it has read."""
        self.catalog = Catalog(open_snapshot(self.top, None))

    # gates, approvals and deployments ----------------------------------------

    def check(self, *, base: str | None = None, all: bool = False, head: bool = False,
              staged: bool = False, verify_artifacts: bool = False, offline: bool = False,
              gates: Sequence[str] = ()) -> CheckReport:
        """Run the gates on what changed since the base branch, as ``modelreg check``; the report's
        ``passed`` says whether every gate passed."""
        from modelreg.checks import GATES, run_checks
        from modelreg.checks.context import Options

        self._work_tree("check")
        if head and staged:
            raise InputError("head and staged are exclusive", field="--head/--staged",
                             fix="check a commit, or the index")
        unknown = sorted(set(gates) - set(GATES))
        if unknown:
            raise InputError(f"unknown gate {', '.join(unknown)}", field="--gate",
                             fix=f"choose from {', '.join(GATES)}")
        from modelreg.write.upgrade import stale_workflows

        return run_checks(self.top, base=base, only=list(gates) or None,
                          options=Options(check_all=all, verify_artifacts=verify_artifacts,
                                          offline=offline, head=head, staged=staged,
                                          stale_workflows=stale_workflows))

    def upgrade(self, *, dry_run: bool = False) -> Upgrade:
        """Rewrite the files modelreg generates (workflows, schemas/, CODEOWNERS) as this modelreg
        writes them for this modelreg.yaml, keeping the user's marked regions, as ``modelreg init
        --upgrade``; the result lists each file's change and its diff."""
        from modelreg.write.upgrade import upgrade

        self._work_tree("upgrade")
        try:
            return upgrade(self.root, dry_run=dry_run)
        finally:
            self._reread()

    def renumber(self, *, base: str | None = None, push: bool = False, offline: bool = False,
                 repo: str | None = None) -> Renumbered:
        """Move the checked-out registration branch's new versions to the next free numbers on the
        base's tip, as ``modelreg renumber`` (see :mod:`modelreg.write.renumber`)."""
        from modelreg.write.renumber import renumber

        self._work_tree("renumber in")
        try:
            return renumber(self.root, base, push=push, offline=offline, repo=repo)
        finally:
            self._reread()

    def approvals(self, pr: int, *, repo: str | None = None, base: str | None = None) -> ApprovalReport:
        """Whether pull request ``pr``'s reviews meet the approval rules of the promotions HEAD
        makes, as ``modelreg approvals``; GitHub's API is asked only when a move is gated."""
        from modelreg.approvals.pull_request import check

        self._work_tree("check approvals of")
        return check(self.top, pr=pr, repo=repo, base_ref=base)

    def deploy(self, *, after: str | None = None, before: str | None = None, env: str | None = None,
               dry_run: bool = False, push_ledger: bool = False, offline: bool = False) -> Deployment:
        """Deploy the aliases that moved up to ``after`` (default: HEAD), as ``modelreg deploy``:
        ``origin``'s main is fetched first, unless ``offline``."""
        from modelreg.deploy.run import deploy

        self._work_tree("deploy from")
        return deploy(self.root, after=after, before=before, only=env, dry_run=dry_run,
                      push_ledger=push_ledger, offline=offline)

    def status(self, *, env: str | None = None, fast: bool = False, verify: bool = False) -> Status:
        """Desired state on main against what the targets serve and the ledger, as ``modelreg
        status``: every deployed byte hashed (``verify``, the default), or with ``fast`` only the
        files whose size, mtime or ctime changed. ``ok`` only when every row is live (bytes hashed
        now); ``drifted`` when anything drifted."""
        from modelreg.deploy.status import status

        self._work_tree("read the status of")
        if fast and verify:
            raise InputError("fast and verify exclude each other", field="status",
                             fix="verify (the default) hashes every file; fast hashes only changed ones")
        return status(self.root, only=env, fast=fast)

    def reconcile(self, *, env: str | None = None, dry_run: bool = False, push_ledger: bool = False,
                  offline: bool = False, verify: bool = True) -> Deployment:
        """Redeploy what :meth:`status` finds drifted, as ``modelreg reconcile``. Every deployed
        byte is hashed (``verify`` is always so, and kept for callers that pass it)."""
        from modelreg.deploy.run import reconcile

        self._work_tree("reconcile")
        return reconcile(self.root, only=env, dry_run=dry_run, push_ledger=push_ledger, offline=offline)

    def _work_tree(self, verb: str) -> None:
        if self.at:
            raise NotARegistryError(f"cannot {verb} a past revision", fix="open the registry without at=")


def _then(earlier: Edit | None, version: int, alias: str) -> Edit:
    """A promotion after ``earlier`` ones of the same model, in the order they were given."""
    from modelreg.write.transitions import promote

    def edit(state: DesiredState) -> DesiredState:
        return promote(earlier(state) if earlier else state, version, alias)
    return edit


def _as_uri(model: str, ref: str | int) -> str:
    if isinstance(ref, int):
        ref = str(ref)
    if ref.startswith("models:/"):
        return ref
    if ref.startswith("@"):
        return f"models:/{model}{ref}"
    return f"models:/{model}/{ref}"


def load_path(uri: str, *, registry: str | os.PathLike[str] = ".",
              dest: str | os.PathLike[str] | None = None) -> Path:
    """Download the artifact ``uri`` names (verified) and return its local path.

    Without ``dest`` it lands in ``<registry>/.modelreg/artifacts/<model>/v<N>/``
    and is reused, after a fresh sha256 check, on the next call.
    """
    from modelreg.read.artifacts import download, target_path, verify_existing

    reg = Registry(registry)
    mv = reg.resolve(uri)
    if dest is None:
        folder = reg.root / ".modelreg" / "artifacts" / mv.model / f"v{mv.version}"
        existing = target_path(mv, f"{folder}/")
        if existing.exists() and verify_existing(mv, existing):
            return existing
        return download(mv, f"{folder}/", force=True)
    return download(mv, dest)


def register_remote(registry_url: str, registration: Registration, *, branch: str | None = None,
                    base: str | None = None, open_pr: bool = False, repo: str | None = None,
                    sign: SigningMethod | None = None, progress: Progress | None = None) -> RemoteRegistered:
    """Register a new version into the registry at ``registry_url`` from anywhere (a training
    repository), as ``modelreg register MODEL --registry URL``: a temporary partial clone, a new
    branch (``modelreg/register-MODEL-vN`` unless ``branch``), pushed, and with ``open_pr`` its pull
    request on GitHub (token from GITHUB_TOKEN or GH_TOKEN; OWNER/NAME from the URL, or ``repo``).
    The result has ``branch``, ``commit``, ``version`` and ``pr_url``; a branch the registry refuses
    (its name taken) raises :class:`modelreg.write.remote.PushRejected` and pushes nothing."""
    import dataclasses

    from modelreg.write.remote import register_remote as run

    if sign is not None:
        registration = dataclasses.replace(registration, sign=sign)
    return run(registry_url, registration, branch=branch, base=base, open_pr=open_pr, repo=repo,
               **({"progress": progress} if progress else {}))
