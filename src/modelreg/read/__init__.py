"""Answers read from a snapshot: the catalog, resolve, search, diff, history, audit, artifacts."""
