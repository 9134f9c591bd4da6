"""The GitHub Actions workflow that publishes the catalog to GitHub Pages.

On every push to main, a ``build`` job runs ``modelreg site -o _site`` with
the same checkout and install steps as the gate (``workflows.py``) and uploads
the directory as the Pages artifact; a ``deploy`` job publishes it. Only the
deploy job may write to Pages (``pages: write``, ``id-token: write``); the
build job reads. Actions are pinned by full SHA, nothing from the event goes
into ``run:``.

The build job keeps the checkout's token (``persist-credentials: true``) for one
reason: fetching the deployment ledger (git notes, ``refs/notes/modelreg``),
which ``actions/checkout`` does not fetch and a private repository serves only
with the token. Only ``_site/`` is uploaded, never ``.git/``.
"""

from __future__ import annotations

from modelreg.formats.models import RegistryConfig
from modelreg.write import workflows

PATH = ".github/workflows/modelreg-site.yml"
UPLOAD_PAGES = "actions/upload-pages-artifact@7b1f4a764d45c48632c6b24a0339c27f5614fb0b # v4.0.0"
DEPLOY_PAGES = "actions/deploy-pages@d6db90164ac5ed86f2b6aed7e0febac5b3c0c03e # v4.0.5"
OUTPUT = "_site"

_SITE = """\
# Written by modelreg: publishes the registry's catalog (`modelreg site`) to GitHub Pages on
# every push to main. Turn Pages on first: Settings > Pages > Source: GitHub Actions.
# How it works and how to adapt it: docs/site.md in modelreg's documentation.
name: modelreg site

on:
  push:
    branches: [main]
  workflow_dispatch:

permissions: {{}}

# One publication at a time, and never one cancelled half-way (as GitHub's Pages starter does).
concurrency:
  group: modelreg-site
  cancel-in-progress: false

jobs:
  build:
    name: build the catalog
{runs_on}    timeout-minutes: 30
    permissions:
      contents: read  # the registry's files, its history and the ledger's notes
    steps:
{setup}{steps}      # actions/checkout fetches branches and tags, not the notes the deploy job records.
      - name: Fetch the deployment ledger
        run: git fetch --quiet origin "+refs/notes/modelreg:refs/notes/modelreg" || echo "No ledger yet."
      - name: Build the catalog
        run: modelreg site -o {output}
      - name: Upload the catalog
        uses: {upload}
        with:
          path: {output}

  deploy:
    name: publish to GitHub Pages
    needs: build
    runs-on: ubuntu-latest
    timeout-minutes: 15
    permissions:
      pages: write  # publish the artifact the build job uploaded
      id-token: write  # prove to Pages which run built it
    environment:
      name: github-pages
      url: ${{{{ steps.deployment.outputs.page_url }}}}
    steps:
      - name: Publish
        id: deployment
        uses: {deploy}
"""


def text(config: RegistryConfig) -> str:
    """The workflow for a registry with this modelreg.yaml (its ``install``), for ``PATH``."""
    # The checkout and install steps are the gate's own (workflows._SETUP), so the install
    # step the act tests run is the one this workflow runs too.
    setup = workflows._SETUP.format(
        checkout=workflows.CHECKOUT, install_step=workflows.INSTALL_STEP,
        install=workflows.install_requirement(config), uv=workflows.UV_VERSION,
        persist="true  # zizmor: ignore[artipacked] the ledger fetch needs it; only _site/ is uploaded")
    return _SITE.format(setup=setup, output=OUTPUT, upload=UPLOAD_PAGES, deploy=DEPLOY_PAGES,
                        **workflows.kept_regions("build", env=False))
