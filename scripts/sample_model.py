"""Train a tiny, deterministic logistic-regression "model" for the demo.

Pure Python on synthetic data, so the demo needs no ML framework: writes
model.json (the weights), metrics.json (accuracy, AUC, per-slice AUC) and
params.json into the directory given.
"""

from __future__ import annotations

import json
import math
import random
import sys
from pathlib import Path


def make_data(n: int, seed: int) -> list[tuple[list[float], int, str]]:
    rng = random.Random(seed)
    rows = []
    for _ in range(n):
        segment = rng.choice(["visa", "master"])
        x = [rng.gauss(0, 1), rng.gauss(0, 1), 1.0 if segment == "visa" else 0.0]
        logit = 1.8 * x[0] - 1.1 * x[1] + 0.3 * x[2]
        y = 1 if rng.random() < 1 / (1 + math.exp(-logit)) else 0
        rows.append((x, y, segment))
    return rows


def train(rows: list[tuple[list[float], int, str]], epochs: int, lr: float) -> list[float]:
    w = [0.0, 0.0, 0.0, 0.0]
    for _ in range(epochs):
        grad = [0.0] * 4
        for x, y, _ in rows:
            p = predict(w, x)
            for i, xi in enumerate([*x, 1.0]):
                grad[i] += (p - y) * xi
        w = [wi - lr * g / len(rows) for wi, g in zip(w, grad, strict=True)]
    return w


def predict(w: list[float], x: list[float]) -> float:
    z = sum(wi * xi for wi, xi in zip(w, [*x, 1.0], strict=True))
    return 1 / (1 + math.exp(-z))


def auc(scores: list[tuple[float, int]]) -> float:
    pos = [s for s, y in scores if y == 1]
    neg = [s for s, y in scores if y == 0]
    wins = sum(1.0 if p > n else 0.5 if p == n else 0.0 for p in pos for n in neg)
    return wins / (len(pos) * len(neg))


def main(out: Path, epochs: int) -> None:
    train_rows, test_rows = make_data(800, seed=1), make_data(400, seed=2)
    w = train(train_rows, epochs=epochs, lr=0.5)
    scored = [(predict(w, x), y, seg) for x, y, seg in test_rows]
    metrics = {
        "accuracy": round(sum((s > 0.5) == bool(y) for s, y, _ in scored) / len(scored), 4),
        "roc_auc": round(auc([(s, y) for s, y, _ in scored]), 4),
        "slices": {f"card_type={seg}": {"roc_auc": round(auc([(s, y) for s, y, g in scored if g == seg]), 4)}
                   for seg in ("visa", "master")},
    }
    out.mkdir(parents=True, exist_ok=True)
    (out / "model.json").write_text(json.dumps({"kind": "logistic-regression", "weights": w}, indent=2))
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2))
    (out / "params.json").write_text(json.dumps({"epochs": epochs, "learning_rate": 0.5}, indent=2))


if __name__ == "__main__":
    main(Path(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else 50)
