"""The GitHub Actions workflows ``modelreg init`` writes into a registry.

These exact files are what the tests run under ``act``. They are hardened:
a read-only token, no ``${{ }}`` expressions inside ``run:`` (values pass
through ``env:``), actions pinned by full SHA, ``pull_request`` (never
``pull_request_target``). The only difference under act is one ``if:``: act
runs the job on the host, where the modelreg under test is already on PATH.
"""

from __future__ import annotations

from modelreg import __version__

CHECKOUT = "actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683 # v4.2.2"

GATE = f"""\
# Written by `modelreg init`: the gates every pull request to this registry must pass.
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
    runs-on: ubuntu-latest
    timeout-minutes: 30
    steps:
      - uses: {CHECKOUT}
        with:
          fetch-depth: 0
          persist-credentials: false
      # Under act (which sets ACT=true) the job runs on the host, where the modelreg
      # under test is already on PATH; this is the only step that differs.
      - name: Install modelreg
        if: ${{{{ !env.ACT }}}}
        env:
          MODELREG_VERSION: "{__version__}"
        run: python3 -m pip install --user "modelreg==${{MODELREG_VERSION}}"
      - name: Run the gates
        env:
          BASE_REF: ${{{{ github.base_ref || github.event.merge_group.base_ref }}}}
        run: modelreg check --head --base "$BASE_REF" --format markdown
"""

#: path in a registry → text
FILES = {".github/workflows/modelreg-gate.yml": GATE}
