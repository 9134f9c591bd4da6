"""``modelreg serve`` through tritonclient: JSON against binary tensor data, with and without gzip.

Serves a scikit-learn model (iris, LogisticRegression) in this process on 127.0.0.1 and asks
``tritonclient.http`` for ``predict_proba`` of ROWS rows of 4 FP64 features, each way RUNS
times (the best is reported), checking every answer against the model's own. Also times the
protocol parser alone on 16 MiB of binary FP64 (the default body limit).

Usage: .venv/bin/python bench/serve.py [--rows N] [--runs N]
"""

from __future__ import annotations

import argparse
import json
import threading
import time

import numpy as np
import tritonclient.http as triton
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression

from common import report
from modelreg.serve.model import ServedModel
from modelreg.serve.predictors import SklearnPredictor
from modelreg.serve.protocol import parse_infer_request
from modelreg.serve.server import InferenceServer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    features, labels = load_iris(return_X_y=True)
    model = LogisticRegression(max_iter=1000).fit(features, labels)
    served = ServedModel("iris", 1, "0" * 64, "skops", "models:/iris/1", "bench", SklearnPredictor(model))
    server = InferenceServer(served, "127.0.0.1", 0, max_body=256 << 20)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    client = triton.InferenceServerClient(server.url.removeprefix("http://"), network_timeout=600)
    rows = np.resize(features, (args.rows, 4))
    expected = model.predict_proba(rows)
    out = []
    for binary_data in (True, False):
        for compression in (None, "gzip"):
            tensor = triton.InferInput("input-0", list(rows.shape), "FP64")
            tensor.set_data_from_numpy(rows, binary_data=binary_data)
            asked = [triton.InferRequestedOutput("predict_proba", binary_data=binary_data)]
            times = []
            for _ in range(args.runs):
                start = time.perf_counter()
                result = client.infer("iris", [tensor], outputs=asked,
                                      request_compression_algorithm=compression,
                                      response_compression_algorithm=compression)
                times.append(time.perf_counter() - start)
                assert np.allclose(result.as_numpy("predict_proba"), expected)
            out.append({"what": f"infer {args.rows} rows, {'binary' if binary_data else 'JSON'}"
                        f"{', gzip both ways' if compression else ''}", "seconds": min(times)})
    client.close()
    server.shutdown()
    big = np.resize(features, ((16 << 20) // 32, 4))
    raw = big.tobytes()
    head = json.dumps({"inputs": [{"name": "x", "shape": list(big.shape), "datatype": "FP64",
                                   "parameters": {"binary_data_size": len(raw)}}]}).encode()
    times = []
    for _ in range(args.runs):
        start = time.perf_counter()
        parse_infer_request(head + raw, len(head))
        times.append(time.perf_counter() - start)
    out.append({"what": "parse 16 MiB of binary FP64", "seconds": min(times)})
    report("serve", out)


if __name__ == "__main__":
    main()
