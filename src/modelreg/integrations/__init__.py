"""modelreg inside other tools: what a third-party library calls, and what returns its objects.

``mlflow/`` is the MLflow plugin (a model registry store and an artifact repository, installed
through MLflow's entry points), the only place that imports MLflow; ``load`` is
``modelreg.load_model``, a version's artifact loaded as its framework's object. Both sit above
the API and ``serve/`` and use them; nothing in modelreg imports this package but the lazy
facade in ``modelreg/__init__.py``.
"""
