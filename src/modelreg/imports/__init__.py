"""Imports from other registries (MLflow, GTO) into a modelreg registry, on one branch.

Each source is read by one module, the only one that imports its library
(``mlflow_source``, ``gto_source``), into the plain records of ``source``; ``plan``
decides, as a pure function, what is new against the registry; ``apply`` writes it
through ``write/register.py`` (the same validation, hashing, DVC push and checks as
``modelreg register``), one commit per version.
"""
