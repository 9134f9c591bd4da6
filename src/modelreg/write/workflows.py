"""The GitHub Actions workflows ``modelreg init`` writes into a registry.

The gate (``modelreg check`` on every pull request and merge group) and the
approval check (``modelreg approvals`` on every pull request and review)
share their checkout and install steps. These exact files are what the tests
run under ``act``, install step included: the tests point uv at a wheel of the
working tree (``UV_FIND_LINKS``), so the step a user gets is the step that is
tested. They are hardened: a read-only token (``pull-requests: read`` only for
the approval job), no ``${{ }}`` expressions inside ``run:`` (values pass
through ``env:``), actions pinned by full SHA, ``pull_request`` (never
``pull_request_target``).

What the install step installs is ``install`` in ``modelreg.yaml`` (default:
this exact modelreg, as a runner can install it: ``formats/install.py``). It
goes into a virtual environment of its own under ``$RUNNER_TEMP``, with uv:
the gate needs DVC, and pip takes about 35 s to install its hundred-odd
packages where uv takes a few seconds.
"""

from __future__ import annotations

import re

from modelreg import __version__
from modelreg.edges import installed
from modelreg.errors import InputError
from modelreg.formats import install, names
from modelreg.formats.models import RegistryConfig
from modelreg.write import regions

CHECKOUT = "actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683 # v4.2.2"
#: the uv the install step uses, pinned exactly: it decides what gets installed
UV_VERSION = "0.13.8"
GATE_PATH = ".github/workflows/modelreg-gate.yml"
APPROVAL_PATH = ".github/workflows/modelreg-approval.yml"
DEPLOY_PATH = ".github/workflows/modelreg-deploy.yml"
RECONCILE_PATH = ".github/workflows/modelreg-reconcile.yml"
INSTALL_STEP = "Install modelreg"

# One pip requirement: a name with extras and a version specifier, `name @ URL`,
# or a URL. Without quotes, backslashes, `$`, braces or line breaks, it cannot
# end the YAML string it is written into nor form a `${{ }}` expression; the
# step passes it to uv as one quoted argument, and a leading letter keeps it
# from being read as an option.
_REQUIREMENT = re.compile(r"[A-Za-z][A-Za-z0-9 ._~:/@+=<>!,\[\]#%?&*-]*")
_MAX_LENGTH = 1000
_INSTALL_FIX = (f"give one pip requirement: modelreg=={__version__}, "
                "modelreg @ git+https://github.com/ORG/modelreg@TAG-OR-COMMIT, or the https URL of a wheel")

# The checkout and install steps every workflow shares.
_SETUP = """\
      - uses: {checkout}
        with:
          fetch-depth: 0
          persist-credentials: {persist}
      # MODELREG_INSTALL is `install` in modelreg.yaml. uv installs it into a virtual
      # environment of its own, in seconds where pip takes half a minute.
      - name: {install_step}
        env:
          MODELREG_INSTALL: "{install}"
        run: |
          python3 -m pip install --quiet --disable-pip-version-check --target "$RUNNER_TEMP/uv" uv=={uv}
          "$RUNNER_TEMP/uv/bin/uv" venv --quiet --python python3 "$RUNNER_TEMP/modelreg"
          "$RUNNER_TEMP/uv/bin/uv" pip install --python "$RUNNER_TEMP/modelreg/bin/python" "$MODELREG_INSTALL"
          "$RUNNER_TEMP/modelreg/bin/modelreg" --version
          echo "$RUNNER_TEMP/modelreg/bin" >> "$GITHUB_PATH"
"""

_GATE = """\
# Written by `modelreg init`: the gates every pull request to this registry must pass.
# `modelreg init --upgrade` rewrites it, keeping what you put between `# --- your ...` markers.
# How it works and how to adapt it: docs/ci.md in modelreg's documentation.
name: modelreg gate

on:
  pull_request:
  merge_group:

permissions:
  contents: read

concurrency:
  group: modelreg-gate-${{{{ github.event.pull_request.number || github.ref }}}}
  cancel-in-progress: true

jobs:
  gate:
    name: modelreg check
{runs_on}    timeout-minutes: 30
    steps:
{setup}{steps}      - name: Run the gates
        env:
          BASE_REF: ${{{{ github.base_ref || github.event.merge_group.base_ref }}}}
{env}        run: modelreg check --head --base "$BASE_REF" --format markdown
"""

# The token: reading a pull request's reviews needs only `pull-requests: read`, which the
# job's own token has; listing a team's members needs the organisation's members read
# permission, which no Actions token can have, hence MODELREG_REVIEW_TOKEN when `from`
# names a team. The step gets it through env:, never inside run:.
_APPROVAL = """\
# Written by `modelreg init`: the approvals each promotion's policy asks for. Make its job,
# "modelreg approvals", a required status check of main. It runs again on every review.
# How it works and how to adapt it: docs/approvals.md in modelreg's documentation.
name: modelreg approval

on:
  pull_request:
    types: [opened, synchronize, reopened, edited]
  pull_request_review:
    types: [submitted, edited, dismissed]
  merge_group:

permissions: {{}}

concurrency:
  group: modelreg-approval-${{{{ github.event.pull_request.number || github.ref }}}}
  cancel-in-progress: true

jobs:
  approval:
    name: modelreg approvals
{runs_on}    timeout-minutes: 15
    permissions:
      contents: read  # the registry's files and history: which aliases the PR moves
      pull-requests: read  # the pull request and its reviews
    steps:
{setup}{steps}      # The PR's number and base come from the event; GITHUB_API_URL from the runner.
      - name: Check the approvals
        env:
          GITHUB_TOKEN: ${{{{ secrets.MODELREG_REVIEW_TOKEN || github.token }}}}
{env}        run: modelreg approvals --format markdown
"""


# A merge to main deploys: one job per environment, each in the GitHub environment of that
# name (so its protection rules, reviewers and secrets apply), one run at a time per
# environment and never cancelled half-way. The job pushes the ledger (git notes), so its
# checkout keeps the token: the one workflow with `contents: write`.
_DEPLOY = """\
# Written by `modelreg init`: a merge to main deploys the aliases it moved, and records it.
# One job per environment in modelreg.yaml: when they change, run `modelreg init --upgrade`.
# A `directory` target needs the runner that serves the models: change runs-on (in its marked
# region) to your self-hosted runner's labels.
# How it works: docs/deploy.md in modelreg's documentation.
name: modelreg deploy

on:
  push:
    branches: [main]
  workflow_dispatch:

permissions: {{}}

jobs:
{jobs}"""

_DEPLOY_JOB = """\
  {job}:
    name: {title}
{runs_on}    timeout-minutes: 60{environment}
    concurrency:
      group: modelreg-deploy-{group}
      cancel-in-progress: false
    permissions:
      contents: write  # the ledger: git notes pushed to refs/notes/modelreg
      pull-requests: read  # who approved each promotion, recorded with it{id_token}
    steps:
{setup}{steps}      - name: Deploy
        env:
          BEFORE: ${{{{ github.event.before }}}}
          AFTER: ${{{{ github.sha }}}}
          GITHUB_TOKEN: ${{{{ github.token }}}}
          # signs each ledger record (docs/security.md); to this step only, never on the command line
          MODELREG_LEDGER_KEY: ${{{{ secrets.MODELREG_LEDGER_KEY }}}}
{env}        run: modelreg deploy{only} --before "$BEFORE" --after "$AFTER" --push-ledger
"""

_RECONCILE = """\
# Written by `modelreg init`: finds drift (a target serving other bytes than main asks for, a
# failed or missing deployment) and redeploys it from the tip of main, on a schedule.
# How it works: docs/deploy.md in modelreg's documentation.
name: modelreg reconcile

on:
  schedule:
    - cron: "17 */6 * * *"
  workflow_dispatch:

permissions: {{}}

jobs:
{jobs}"""

_RECONCILE_JOB = """\
  {job}:
    name: {title}
{runs_on}    timeout-minutes: 60{environment}
    concurrency:
      group: modelreg-deploy-{group}
      cancel-in-progress: false
    permissions:
      contents: write  # the ledger: git notes pushed to refs/notes/modelreg{id_token}
    steps:
{setup}{steps}      - name: Status, then reconcile what drifted
        env:
          # signs each ledger record (docs/security.md); to this step only, never on the command line
          MODELREG_LEDGER_KEY: ${{{{ secrets.MODELREG_LEDGER_KEY }}}}
{env}        run: modelreg reconcile{only} --push-ledger
"""


def kept_regions(job: str, *, env: bool = True) -> dict[str, str]:
    """The places of ``job`` that ``modelreg init --upgrade`` keeps as the user left them
    (``regions.py``): its runner, steps of theirs before modelreg's last step, and that step's
    ``env:`` (a DVC remote's credentials, from secrets)."""
    return {"runs_on": regions.marked(f"runs-on ({job})", "    ", "    runs-on: ubuntu-latest\n"),
            "steps": regions.marked(f"steps ({job})", "      "),
            "env": regions.marked(f"env ({job})", "          ") if env else ""}


def install_requirement(config: RegistryConfig) -> str:
    """What the workflows install: ``install`` from modelreg.yaml, or this exact modelreg (its release,
    git commit or wheel URL: ``default_install``) with the
    ``sign`` extra (the gate, deploy and reconcile verify artifact signatures where a policy requires
    them, and the deploy job signs and verifies ledger records where ``ledger.signers`` names any)."""
    if config.install is None:
        return default_install().requirement
    spec = config.install
    bad = next((char for char in spec if not _REQUIREMENT.fullmatch(f"a{char}")), None)
    if bad is not None:
        problem = f"{spec!r} holds {bad!r}, which cannot go into the gate workflow"
    elif not spec[:1].isascii() or not spec[:1].isalpha():
        problem = f"{spec!r} does not start with a package name or a URL"
    elif len(spec) > _MAX_LENGTH:
        problem = f"is {len(spec)} characters long; at most {_MAX_LENGTH} go into the gate workflow"
    else:
        return spec
    raise InputError(problem, file=names.CONFIG_FILE, field="install", fix=_INSTALL_FIX)


def default_install() -> install.InstallLine:
    """This modelreg's own line (``formats/install.py``), and why a runner cannot install it, if so."""
    return install.default(installed.running())


def files(config: RegistryConfig) -> dict[str, str]:
    """The workflows for a registry with this modelreg.yaml: path in the registry → text."""
    install = install_requirement(config)
    setup = _SETUP.format(checkout=CHECKOUT, install_step=INSTALL_STEP, install=install, uv=UV_VERSION,
                          persist="false")
    # The ledger is pushed with the checkout's token, so these jobs keep it (zizmor's artipacked:
    # nothing is uploaded as an artifact from them).
    pushing = _SETUP.format(checkout=CHECKOUT, install_step=INSTALL_STEP, install=install, uv=UV_VERSION,
                            persist="true  # zizmor: ignore[artipacked] the ledger push needs it")
    environments = sorted(config.environments)
    # keyless ledger signing (a Sigstore signer in modelreg.yaml) needs the job's OIDC token
    id_token = ("\n      id-token: write  # signs ledger records with Sigstore (keyless)"
                if any(s.kind == "sigstore" for s in config.ledger.signers) else "")
    deploy = [_DEPLOY_JOB.format(job=f"deploy-{name}", title=f"deploy {name}", group=name,
                                 only=f" --env {name}", environment=f"\n    environment: {name}",
                                 setup=pushing, id_token=id_token, **kept_regions(f"deploy-{name}"))
              for name in environments]
    reconcile = [_RECONCILE_JOB.format(job=f"reconcile-{name}", title=f"reconcile {name}", group=name,
                                       only=f" --env {name}", environment=f"\n    environment: {name}",
                                       setup=pushing, id_token=id_token, **kept_regions(f"reconcile-{name}"))
                 for name in environments]
    if not environments:  # still record every alias move in the ledger
        deploy = [_DEPLOY_JOB.format(job="record", title="record alias moves", group="main", only="",
                                     environment="", setup=pushing, id_token=id_token,
                                     **kept_regions("record"))]
    out = {GATE_PATH: _GATE.format(setup=setup, **kept_regions("gate")),
           APPROVAL_PATH: _APPROVAL.format(setup=setup, **kept_regions("approval")),
           DEPLOY_PATH: _DEPLOY.format(jobs="".join(deploy))}
    if reconcile:
        out[RECONCILE_PATH] = _RECONCILE.format(jobs="".join(reconcile))
    return out
