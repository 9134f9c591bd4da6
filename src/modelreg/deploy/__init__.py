"""Merge to main deploys: what moved, where it goes, how it goes live, and the record of it.

- ``plan.py``: pure. Which aliases moved between two revisions, and which
  environments (``modelreg.yaml``'s ``environments``) serve them.
- ``targets/``: one module per kind of target (``directory``, ``command``,
  ``webhook``, ``kserve``) behind one small interface; the table in
  ``targets/__init__.py`` maps a ``type:`` to its module.
- ``ledger.py``: the append-only record of alias moves and deployment attempts,
  in git notes (``refs/notes/modelreg``), pushed with fetch-merge-retry.
- ``run.py``: the deployment itself: guards, verified bytes, activation on
  every target (or none), the record.
- ``status.py``: desired state against what the ledger and the targets say.
"""
