from __future__ import annotations

from pathlib import Path

import click

from modelreg.cli.common import emit_json, progress, registry
from modelreg.cli.completion import complete_uri

_FILE = click.Path(exists=True, dir_okay=False, path_type=Path)


@click.command("verify")
@click.argument("uri", shell_complete=complete_uri)
@click.option("--key", "keys", type=_FILE, multiple=True, metavar="PUB.pem",
              help="An allowed signer's EC public key (PEM) (repeatable).")
@click.option("--certificate-chain", "chains", type=_FILE, multiple=True, metavar="CA.pem",
              help="CA certificates (PEM) to trust: a signing certificate issued under them is allowed "
              "(repeatable; together one trust store).")
@click.option("--identity", metavar="IDENTITY",
              help="Sigstore keyless: the certificate identity allowed, e.g. a workflow's "
              "https://github.com/ORG/REPO/.github/workflows/train.yml@refs/heads/main (with --issuer).")
@click.option("--issuer", metavar="URL",
              help="Sigstore keyless: the OIDC issuer, e.g. https://token.actions.githubusercontent.com.")
@click.option("--at", "at", metavar="REV", help="Resolve the URI as of a commit, branch, tag or date.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def command(uri: str, keys: tuple[Path, ...], chains: tuple[Path, ...], identity: str | None,
            issuer: str | None, at: str | None, as_json: bool) -> None:
    """Verify a version's signature against its artifact's bytes and the allowed signers.

    Reads the bundle version.yaml names (written by `register --sign`), takes
    the artifact's bytes as `modelreg get` does (from the local DVC cache, or
    fetched from the remote), hashes every file now, and checks that the
    bundle is signed by an allowed signer, binds the sha256 version.yaml
    records, and signs exactly these files: a changed, added, removed or
    renamed file fails. Exit code 0 only when all of that holds.

    \b
    Examples:
      modelreg verify fraud-detector/3 --key signing.pub
      modelreg verify models:/fraud-detector@production --certificate-chain ca.pem --json
      modelreg verify fraud-detector/4 --issuer https://token.actions.githubusercontent.com \\
          --identity https://github.com/acme/ml/.github/workflows/train.yml@refs/heads/main
    """
    from modelreg.edges.signing import Signer

    if bool(identity) != bool(issuer):
        raise click.UsageError("--identity and --issuer go together (a Sigstore signer is both)")
    signers = [Signer.from_key_file(key) for key in keys]
    if chains:
        signers.append(Signer.from_chain_files(chains))
    if identity and issuer:
        signers.append(Signer(kind="sigstore", identity=identity, issuer=issuer))
    reg = registry(at)
    mv = reg.resolve(uri)
    size = mv.artifact.get("size")
    size = size if isinstance(size, int) and not isinstance(size, bool) else 0
    with progress(f"Verifying {mv.model} v{mv.version}", size) as advance:
        check = reg.verify(mv.uri, signers, progress=advance)
    if as_json:
        emit_json(check.to_dict())
        return
    verified = check.verified
    plural = "s" if verified.files != 1 else ""
    click.echo(f"verified: {mv.model} v{mv.version} ({check.bundle})")
    allowed = verified.signer.describe()
    click.echo(f"  signed by {verified.signed_by}" + (" (an allowed signer)" if allowed == verified.signed_by
                                                      else f", allowed as {allowed}"))
    if check.signers_from:
        click.echo(f"  allowed signers: those of {check.signers_from} in this clone's files")
    click.echo(f"  {verified.files} file{plural} hashed in this run (bytes from the {check.source}), "
               f"sha256 {verified.digest[:12]} as version.yaml records")
