"""Train a real, small scikit-learn model for the demo, on the breast-cancer data set scikit-learn ships.

Usage: python scripts/train.py OUT_DIR {good|weak|better}

Writes OUT_DIR/model.skops (the estimator, saved with skops, which loads without running
pickled code), OUT_DIR/metrics.json (ROC AUC, accuracy, and ROC AUC per slice of tumour
size, on a held-out split) and OUT_DIR/params.json.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.tree import DecisionTreeClassifier
from skops.io import dump

RECIPES = {
    # a sound model
    "good": lambda: make_pipeline(StandardScaler(), LogisticRegression(C=0.05, max_iter=500)),
    # a stump on one feature: what a broken training job produces
    "weak": lambda: DecisionTreeClassifier(max_depth=1, random_state=0),
    # a slightly better regularised model
    "better": lambda: make_pipeline(StandardScaler(), LogisticRegression(C=0.5, max_iter=500)),
}


def main(out: Path, recipe: str) -> None:
    data = load_breast_cancer()
    x, y = data.data, data.target
    if recipe == "weak":
        x = x[:, [9]]  # mean fractal dimension: nearly useless on its own
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.3, random_state=7, stratify=y)
    model = RECIPES[recipe]().fit(x_train, y_train)
    scores = model.predict_proba(x_test)[:, 1]
    _, radius_test = train_test_split(data.data[:, 0], test_size=0.3, random_state=7, stratify=y)
    big = radius_test > 14  # slices by the tumour's mean radius, on the held-out rows
    metrics = {
        "roc_auc": round(float(roc_auc_score(y_test, scores)), 4),
        "accuracy": round(float(accuracy_score(y_test, model.predict(x_test))), 4),
        "slices": {f"radius={name}": {"roc_auc": round(float(roc_auc_score(y_test[mask], scores[mask])), 4)}
                   for name, mask in (("large", big), ("small", ~big)) if len(set(y_test[mask])) == 2},
    }
    out.mkdir(parents=True, exist_ok=True)
    dump(model, out / "model.skops")
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2))
    (out / "params.json").write_text(json.dumps({"recipe": recipe, "features": int(x.shape[1])}))


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2])
