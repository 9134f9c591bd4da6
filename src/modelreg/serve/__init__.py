"""``modelreg serve``: answer predictions for the version an alias serves, over HTTP on 127.0.0.1.

The pieces, in the order a start-up goes through them:

- ``locate.py``: which version, and its bytes: from the ``directory`` target of the
  environment that serves the alias when its link is there, else fetched through DVC.
  Either way the bytes are checked against the manifest's sha256 before anything reads
  them, and the very bytes checked are the ones loaded (no second read to swap).
- ``loaders.py``: the artifact's format to a predictor: skops (safe by construction),
  ONNX (onnxruntime), joblib and pickle (which run code: only when asked to).
- ``protocol.py``: the Open Inference Protocol (KServe v2) JSON, parsed strictly;
  ``binary.py`` its binary tensor data extension (tensors as raw bytes after the JSON),
  ``encoding.py`` compressed request bodies (gzip, deflate, inflated only up to the limit).
- ``server.py``: the HTTP server (standard library) that routes the protocol's endpoints.

Nothing here imports numpy, scikit-learn or onnxruntime until a model is loaded: they come
with the optional ``serve`` extra (``pip install 'modelreg[serve]'``).
"""
