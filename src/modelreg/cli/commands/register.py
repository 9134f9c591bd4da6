from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import click

from modelreg.cli.common import emit_json, progress, registry
from modelreg.cli.completion import complete_model
from modelreg.edges.hashing import total_size
from modelreg.write import inputs, lineage
from modelreg.write.register import Registration
from modelreg.write.remote import scrub

if TYPE_CHECKING:
    from modelreg.edges.signing import SigningMethod

_FILE = click.Path(exists=True, dir_okay=False, path_type=Path)


class _KeyFile(click.Path):
    """A file holding a private key, whose value is never echoed: a value that names no file may be
    the key itself (pasted where its path belongs), and an error would print it to a CI log."""

    def convert(self, value: str | os.PathLike[str], param: click.Parameter | None,
                ctx: click.Context | None) -> str | bytes | os.PathLike[str]:
        try:
            return super().convert(value, param, ctx)
        except click.BadParameter:
            self.fail("no such file (the value is not shown: it may be a key); give the path of the "
                      "key's PEM file", param, ctx)


#: the password of an encrypted --sign-key, read from the environment (never from argv, which
#: other users can see in the process list)
PASSWORD_ENV = "MODELREG_SIGN_KEY_PASSWORD"


@click.command("register")
@click.argument("model", shell_complete=complete_model)
@click.option("--artifact", "-a", required=True, type=click.Path(exists=True, path_type=Path),
              help="The trained model: a file, or a directory (SavedModel, Hugging Face folder...).")
@click.option("--metrics", "metrics_file", type=_FILE,
              help="JSON or YAML file of metrics; slices nested under 'slices'.")
@click.option("--metric", "metric_pairs", multiple=True, metavar="NAME=VALUE",
              help="A metric (repeatable).")
@click.option("--params", "params_file", type=_FILE, help="JSON or YAML file of hyper-parameters.")
@click.option("--param", "param_pairs", multiple=True, metavar="NAME=VALUE",
              help="A hyper-parameter (repeatable); 6 is a number, gbtree a string.")
@click.option("--tag", "tag_pairs", multiple=True, metavar="KEY=VALUE", help="A tag (repeatable).")
@click.option("--description", "-m", default="", help="What this version is, in a sentence.")
@click.option("--framework", metavar="NAME[==VERSION]", help="e.g. xgboost==2.0.3")
@click.option("--format", "fmt", metavar="NAME",
              help="Artifact format (guessed from the file: pickle, onnx, safetensors...).")
@click.option("--dataset", "datasets", multiple=True, metavar="[NAME=]PATH",
              help="Training data, DVC-tracked or not; recorded with its hash (repeatable).")
@click.option("--run-id", help="Experiment-tracker run id.")
@click.option("--run-url", help="Experiment-tracker run URL.")
@click.option("--card", type=_FILE, help="Model card (Markdown), stored beside the manifest.")
@click.option("--code-repo", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="The training code's git repository, for lineage (default: the current directory).")
@click.option("--owner", "owners", multiple=True, metavar="@ORG/TEAM",
              help="Owner of a new model (repeatable); routes its reviews.")
@click.option("--policy", help="Policy of a new model (policies/NAME.yaml).")
@click.option("--model-description", metavar="TEXT", default="",
              help="A new model's description, one line (later: `modelreg describe MODEL TEXT`).")
@click.option("--branch", metavar="NAME",
              help="Create this branch and commit the version on it, ready for a PR (with --registry: "
              "the branch pushed, default modelreg/register-MODEL-vN).")
@click.option("--commit", is_flag=True, help="Commit the version on the current branch.")
@click.option("--registry", "registry_url", metavar="URL",
              help="Register into the registry at URL (what `git clone` takes, or a path) from here, "
              "e.g. a training repository: a temporary clone, a new branch, pushed.")
@click.option("--open-pr", is_flag=True,
              help="With --registry: open the pull request on GitHub (token from $GITHUB_TOKEN or "
              "$GH_TOKEN; API at $GITHUB_API_URL), its body the gate report.")
@click.option("--repo", metavar="OWNER/NAME",
              help="With --registry: the GitHub repository of the pull request (default: the URL's "
              "last two path segments).")
@click.option("--base", metavar="BRANCH",
              help="With --registry: the branch to register onto and open the PR into (default: the "
              "registry's default branch).")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.option("--sign", "sign", is_flag=True,
              help="Sign the artifact (OpenSSF Model Signing): give --sign-key, --sign-certificate "
              "or --sign-keyless. The bundle is written beside version.yaml as model.sig.")
@click.option("--sign-key", type=_KeyFile(exists=True, dir_okay=False, path_type=Path), metavar="FILE",
              help=f"EC private key (PEM) to sign with; if encrypted, its password in ${PASSWORD_ENV}.")
@click.option("--sign-certificate", type=_FILE, metavar="FILE",
              help="The signing certificate (PEM) of --sign-key: sign with a certificate chain.")
@click.option("--sign-chain", type=_FILE, multiple=True, metavar="FILE",
              help="Intermediate CA certificate (PEM) to put in the bundle with --sign-certificate "
              "(repeatable).")
@click.option("--sign-keyless", is_flag=True,
              help="Sign with Sigstore as this GitHub Actions job's identity (needs 'permissions: "
              "id-token: write' and Sigstore's public services).")
def command(model: str, artifact: Path, metrics_file: Path | None, metric_pairs: tuple[str, ...],
            params_file: Path | None, param_pairs: tuple[str, ...], tag_pairs: tuple[str, ...],
            description: str, framework: str | None, fmt: str | None, datasets: tuple[str, ...],
            run_id: str | None, run_url: str | None, card: Path | None, code_repo: Path | None,
            owners: tuple[str, ...], policy: str | None, model_description: str, branch: str | None,
            commit: bool, registry_url: str | None, open_pr: bool, repo: str | None, base: str | None,
            as_json: bool,
            sign: bool, sign_key: Path | None, sign_certificate: Path | None,
            sign_chain: tuple[Path, ...], sign_keyless: bool) -> None:
    """Register a new version of MODEL.

    Hashes the artifact (md5 for DVC, sha256 for verification), pushes it to
    the DVC remote, and writes registry/MODEL/vN/ with version.yaml and the
    DVC pointer. The code commit (and whether the tree was dirty) is recorded
    as lineage. Nothing is written if any input is invalid or the push fails.
    Where the model's policy sets artifact.code_execution (scan or refuse), every
    file of the artifact is first read for code that runs when it is loaded
    (pickles, found by content), and a refused one names the file and the import.

    \b
    Examples:
      modelreg register fraud-detector --artifact model.pkl --metrics metrics.json \\
          --param max_depth=6 --tag team=fraud --owner @acme/fraud-ml
      modelreg register bert-intent -a ./hf-model/ --metric f1=0.91 --branch register/bert-v2
      modelreg register fraud-detector -a model.pkl --metric auc=0.93 --sign-key signing.pem
      modelreg register fraud-detector -a model.pkl --metric auc=0.93 --sign-keyless   # in Actions

    From a training repository (or any directory), into a registry elsewhere:
    the registry is cloned into a temporary directory (removed however the
    command ends), the version registered on a new branch and pushed; with
    --open-pr the pull request is opened. The lineage records the training
    repository's commit and remote. The artifact goes to the registry's DVC
    remote (credentials from the environment, as DVC reads them).

    \b
      modelreg register fraud-detector -a model.pkl --metrics metrics.json \\
          --registry https://github.com/acme/model-registry.git --open-pr
    """
    if registry_url is None and (open_pr or repo or base):
        raise click.UsageError("--open-pr, --repo and --base go with --registry URL (register into a "
                               "registry elsewhere); in a registry, register with --branch NAME, then "
                               "push it and open the pull request")
    if registry_url is not None and commit:
        raise click.UsageError("--commit is for a registry here; with --registry the version is "
                               "committed on a new branch (--branch NAME)")
    method = _signing_method(sign, sign_key, sign_certificate, sign_chain, sign_keyless)
    metrics: dict[str, float] = {}
    slices: dict[str, dict[str, float]] = {}
    if metrics_file:
        metrics, slices = inputs.split_metrics(inputs.read_data_file(metrics_file, "--metrics"),
                                               str(metrics_file))
    for key, value in inputs.assignments(metric_pairs, "--metric").items():
        metrics[key] = inputs.metric_value(value, key)
    params = inputs.read_data_file(params_file, "--params") if params_file else {}
    params.update({k: inputs.scalar(v, f"--param {k}")
                   for k, v in inputs.assignments(param_pairs, "--param").items()})
    fw = None
    if framework:
        name, _, version = framework.partition("==")
        fw = {"name": name, **({"version": version} if version else {})}
    registration = Registration(
        model=model, artifact=artifact, metrics=metrics, slices=slices, params=params,
        tags=inputs.assignments(tag_pairs, "--tag"), description=description, framework=fw,
        format=fmt, datasets=[lineage.dataset(d) for d in datasets], run_id=run_id,
        run_url=run_url, card=card, code_repo=code_repo, owners=list(owners), policy=policy,
        model_description=model_description, sign=method,
    )
    if registry_url is not None:
        _register_remote(registry_url, registration, branch=branch, base=base, open_pr=open_pr,
                         repo=repo, as_json=as_json, signed=method is not None)
        return
    reg = registry()
    with progress(f"Hashing {artifact.name}", total_size(artifact)) as advance:
        result = reg.register(registration, branch=branch, commit=commit, progress=advance)
    if as_json:
        emit_json({"model": result.model, "version": result.version, "directory": result.directory,
                   "files": list(result.files), "commit": result.commit, "branch": result.branch,
                   "manifest": result.manifest, "warnings": list(result.warnings)})
        return
    art = result.manifest["artifact"]
    click.echo(f"Registered {result.model} v{result.version}  "
               f"({art['size']:,} bytes, sha256 {art['sha256'][:12]})")
    click.echo(f"  {result.directory}/")
    if method is not None:
        click.echo(f"  signed ({_METHOD_WORDS[method.kind]}): {result.directory}/"
                   f"{result.manifest['signature']}")
    for warning in result.warnings:
        click.echo(f"warning: {warning}", err=True)
    if result.commit:
        where = f" on branch {result.branch}" if result.branch else ""
        click.echo(f"Committed {result.commit[:12]}{where}. Next: push it and open a pull request.")
    else:
        click.echo(f"Next: git add {' '.join(result.paths)} && git commit, then open a pull request.")


def _register_remote(url: str, registration: Registration, *, branch: str | None, base: str | None,
                     open_pr: bool, repo: str | None, as_json: bool, signed: bool) -> None:
    from modelreg.api import register_remote

    with progress(f"Hashing {registration.artifact.name}", total_size(registration.artifact)) as advance:
        result = register_remote(url, registration, branch=branch, base=base, open_pr=open_pr, repo=repo,
                                 progress=advance)
    for warning in result.warnings:
        click.echo(f"warning: {warning}", err=True)
    if not result.gates_passed:
        click.echo(f"warning: the gates fail on {result.branch}: the pull request's checks will fail "
                   "(its body, the gate report, says why)", err=True)
    if as_json:
        emit_json(result.to_dict())
        return
    art = result.registered.manifest["artifact"]
    click.echo(f"Registered {result.model} v{result.version}  "
               f"({art['size']:,} bytes, sha256 {art['sha256'][:12]})")
    if signed:
        click.echo(f"  signed: {result.registered.directory}/{result.registered.manifest['signature']}")
    click.echo(f"Pushed branch {result.branch} ({result.commit[:12]}) to {scrub(result.url)}, "
               f"onto {result.base}")
    if result.pr_url:
        click.echo(f"Opened pull request {result.pr_url}")
    elif result.compare_url:
        click.echo(f"Next: open the pull request at {result.compare_url} (or pass --open-pr)")
    else:
        click.echo(f"Next: open a pull request from {result.branch} into {result.base}")


_METHOD_WORDS = {"key": "key", "certificate": "certificate", "sigstore": "Sigstore keyless"}


def _signing_method(sign: bool, key: Path | None, certificate: Path | None, chain: tuple[Path, ...],
                    keyless: bool) -> SigningMethod | None:
    """How to sign, from the options; usage errors (exit code 2) for what does not go together."""
    if not (sign or key or certificate or chain or keyless):
        return None
    from modelreg.edges.signing import SigningMethod

    if keyless and (key or certificate or chain):
        raise click.UsageError("--sign-keyless signs with Sigstore: give it without --sign-key, "
                               "--sign-certificate or --sign-chain")
    if keyless:
        return SigningMethod("sigstore")
    if (certificate or chain) and not key:
        raise click.UsageError("--sign-certificate needs the private key of its certificate: --sign-key FILE")
    if chain and not certificate:
        raise click.UsageError("--sign-chain goes with --sign-certificate FILE")
    if not key:
        raise click.UsageError("--sign needs a method: --sign-key FILE (with --sign-certificate FILE for a "
                               "certificate chain) or --sign-keyless")
    password = os.environ.get(PASSWORD_ENV)
    secret = password.encode("utf-8") if password else None
    if certificate:
        return SigningMethod("certificate", private_key=key, password=secret, certificate=certificate,
                             chain=chain)
    return SigningMethod("key", private_key=key, password=secret)
