from __future__ import annotations

import json

import click

from modelreg.cli.common import registry

_LOOPBACK = ("127.0.0.1", "::1", "localhost")


@click.command("serve")
@click.argument("uri")
@click.option("--port", type=click.IntRange(0, 65535), default=8080, show_default=True,
              help="The port to listen on; 0 picks a free one (printed).")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="The address to listen on. UNSAFE beyond 127.0.0.1: there is no authentication and "
              "no TLS; put a proxy that has both in front instead.")
@click.option("--env", "env", metavar="NAME",
              help="Serve what this environment's directory target holds (default: any environment "
              "that serves the alias).")
@click.option("--trust-pickle", is_flag=True,
              help="Allow a joblib or pickle artifact. Loading one RUNS ANY CODE it contains, as you: "
              "only for files from people you trust. Its sha256 is checked against the registry first. "
              "A policy's artifact.code_execution outranks it: refuse refuses, scan scans first.")
@click.option("--trust-type", "trust_types", multiple=True, metavar="TYPE",
              help="A type skops does not trust by default (e.g. sklearn.tree._tree.Tree) that you have "
              "reviewed; repeat for each.")
@click.option("--max-request-bytes", type=click.IntRange(1), default=16 * 1024 * 1024, show_default=True,
              help="The largest request body accepted, as sent and once decompressed (413 beyond).")
@click.option("--quiet", "-q", is_flag=True, help="Do not log requests to stderr.")
@click.option("--json", "as_json", is_flag=True,
              help="Print what is served (url, version, sha256, ...) as one JSON object, then serve.")
def command(uri: str, port: int, host: str, env: str | None, trust_pickle: bool, trust_types: tuple[str, ...],
            max_request_bytes: int, quiet: bool, as_json: bool) -> None:
    """Serve predictions of a deployed model over HTTP (the Open Inference Protocol).

    Loads the version URI names (MODEL@ALIAS, MODEL/VERSION, MODEL/latest): for an
    alias, the version deployed on the directory target of the environment that
    serves it, else the artifact fetched from the DVC remote. The file's sha256 must
    match the version's manifest, or nothing is served. Then it answers, until
    interrupted, what KServe, Triton and MLServer answer:
    GET /v2/health/ready, GET /v2/models/NAME, POST /v2/models/NAME/infer.
    Responses name the version and sha256 served (X-Modelreg-Version,
    X-Modelreg-Sha256, and model_version and parameters.sha256 in the body).
    Tensors travel as JSON or as binary data (the protocol's binary tensor
    extension, the default of tritonclient and KServe's client); request bodies
    may be gzip or deflate compressed.

    Formats: skops and joblib/pickle (scikit-learn), and ONNX (onnxruntime); they
    need `pip install 'modelreg[serve]'`. skops and ONNX load without running code.
    WARNING: joblib and pickle files run any code they contain when loaded; they
    are refused unless you pass --trust-pickle, and always where the model's
    policy sets artifact.code_execution: refuse (under scan, the verified bytes
    are scanned before they are loaded).

    \b
    Examples:
      modelreg serve fraud-detector@production
      modelreg serve models:/fraud-detector/3 --port 0
      modelreg serve fraud-detector@staging --env staging --trust-pickle
      curl -s localhost:8080/v2/models/fraud-detector/infer -d \\
        '{"inputs": [{"name": "input-0", "shape": [1, 4], "datatype": "FP64", "data": [5.1, 3.5, 1.4, 0.2]}]}'
    """
    from modelreg.serve.model import open_model
    from modelreg.serve.server import InferenceServer

    reg = registry()
    model = open_model(reg.root, uri, env=env, trust_pickle=trust_pickle, trust_types=trust_types)
    log = _no_log if quiet else _log
    server = InferenceServer(model, host, port, max_body=max_request_bytes, log=log)
    try:
        for note in model.notes:
            click.echo(f"note: {note}", err=True)
        if model.trusted_types:
            click.echo(f"note: loaded the types you trusted: {', '.join(model.trusted_types)}", err=True)
        if host not in _LOOPBACK:
            click.echo(f"warning: listening on {host}: anyone who can reach it can call the model; "
                       "there is no authentication or TLS", err=True)
        if model.format in ("joblib", "pickle"):
            click.echo(f"note: {model.format} file loaded because of --trust-pickle", err=True)
        if as_json:  # one line, so that a script can read it and go on reading the log
            click.echo(json.dumps({"url": server.url, **model.to_dict()}))
        else:
            click.echo(f"Serving {model.name} v{model.version} ({model.format}, sha256 {model.sha256[:12]}) "
                       f"from {model.source}")
            click.echo(f"{server.url}/v2/models/{model.name}  (Open Inference Protocol; Ctrl-C stops)")
        server.serve_forever()
    except KeyboardInterrupt:
        click.echo("stopped", err=True)
    finally:
        server.server_close()


def _log(line: str) -> None:
    click.echo(line, err=True)


def _no_log(_: str) -> None:
    return
