"""Retraining: how long a run's steps take, in-process (no local cloud: cheap), and what the worker's warm path
costs in S3 calls while it waits for a promotion.

* the trainer's step (``functions/model_trainer``: digits split + N feedback rows, fit, ONNX export) for 0, 100
  and 1,000 feedback labels, with the default estimator (calibrated RBF SVM) and logistic regression;
* the retrainer's evaluation (both models through ONNX Runtime on the same held-out set);
* ``ModelCache.get()`` on the warm path: S3 calls per 10,000 calls within the pointer TTL (the claim: zero), and
  the cost of one pointer re-read when the TTL has passed.

Writes bench/results/retraining.json.
"""

from __future__ import annotations

import base64
import json
import sys
import time

import numpy as np

from .common import ROOT, show, summary, write

for _path in ("layers/shared/python", "layers/ml/python", "layers/train/python", "functions"):
    if str(ROOT / _path) not in sys.path:
        sys.path.insert(0, str(ROOT / _path))


class CountingS3:
    """Just what ModelCache calls, counted; the model bytes and pointer are served from memory."""

    def __init__(self, pointer: bytes, model: bytes) -> None:
        self.objects = {"models/digits/current.json": pointer}
        self.model = model
        self.calls = 0

    def get_object(self, Bucket: str, Key: str) -> dict:
        import io

        self.calls += 1
        return {"Body": io.BytesIO(self.objects.get(Key, self.model))}


def _feedback(X: np.ndarray, y: np.ndarray, count: int) -> dict:
    rng = np.random.default_rng(7)
    picks = rng.integers(0, len(y), size=count)
    noisy = np.clip(X[picks] + rng.normal(0, 0.5, size=X[picks].shape), 0, 16)
    held = picks % 5 == 0
    return {
        "train": {"X": noisy[~held].round(4).tolist(), "y": y[picks][~held].tolist()},
        "held_out": {"X": noisy[held].round(4).tolist(), "y": y[picks][held].tolist()},
    }


def run() -> None:
    import sluice_train
    from model_retrainer.logic import onnx_accuracy
    from model_trainer.logic import train
    from sluice_ml import model_store

    X_train, _, y_train, _ = sluice_train.digits_split()
    rows = []
    results: dict = {"train": {}, "evaluate": {}}
    for estimator in ("svc", "logreg"):
        for count in (0, 100, 1000):
            payload = json.loads(
                json.dumps(
                    {
                        "run_id": "bench",
                        "model_name": "digits",
                        "estimator": estimator,
                        "feedback": _feedback(X_train, y_train, count),
                    }
                )
            )
            started = time.perf_counter()
            response = train(payload, sluice_train)
            seconds = time.perf_counter() - started
            onnx = base64.b64decode(response["onnx_b64"])
            X_eval, y_eval = (
                np.asarray(response["eval"]["X"], dtype=np.float32),
                np.asarray(response["eval"]["y"]),
            )
            started = time.perf_counter()
            accuracy = onnx_accuracy(onnx, X_eval, y_eval)
            evaluate = time.perf_counter() - started
            key = f"{estimator}_{count}"
            results["train"][key] = {
                "seconds": round(seconds, 3),
                "train_samples": response["train_samples"],
                "onnx_bytes": len(onnx),
                "response_bytes": len(json.dumps(response)),
            }
            results["evaluate"][key] = {
                "seconds": round(evaluate, 4),
                "held_out": len(y_eval),
                "accuracy": round(accuracy, 4),
            }
            rows.append(
                (
                    f"train {estimator}, {count} feedback labels (s)",
                    seconds,
                    f"{response['train_samples']} samples, ONNX {len(onnx) / 1024:.0f} KiB",
                )
            )
            rows.append(
                (
                    f"evaluate {estimator} with ONNX Runtime (s)",
                    evaluate,
                    f"{len(y_eval)} held out, accuracy {accuracy:.4f}",
                )
            )

    # The worker's warm path: ModelCache.get() within the TTL makes no S3 call; past it, one small GET.
    model = base64.b64decode(train({"estimator": "logreg", "feedback": {}}, sluice_train)["onnx_b64"])
    import hashlib

    pointer = model_store.Pointer(
        "digits",
        "v1",
        hashlib.sha256(model).hexdigest(),
        "models/digits/v1/model.onnx",
        "models/digits/v1/card.json",
        "now",
    )
    s3 = CountingS3(pointer.to_json().encode(), model)
    clock = [0.0]
    import tempfile

    with tempfile.TemporaryDirectory() as cache_dir:
        cache = model_store.ModelCache(
            s3, "bucket", "digits", pointer_ttl=5.0, cache_dir=cache_dir, clock=lambda: clock[0]
        )
        cache.get()
        cold_calls = s3.calls
        warm = []
        for _ in range(10_000):
            started = time.perf_counter()
            cache.get()
            warm.append((time.perf_counter() - started) * 1e6)
        warm_calls = s3.calls - cold_calls
        clock[0] = 6.0
        started = time.perf_counter()
        cache.get()
        recheck_ms = (time.perf_counter() - started) * 1000
        recheck_calls = s3.calls - cold_calls - warm_calls
    results["warm_path"] = {
        "s3_calls_per_10000_gets_within_ttl": warm_calls,
        "get_us": summary(warm),
        "first_load_s3_calls": cold_calls,
        "recheck_s3_calls": recheck_calls,
        "recheck_ms_in_memory_s3": round(recheck_ms, 3),
    }
    rows.append(("warm ModelCache.get(): S3 calls per 10,000 within the TTL", warm_calls, "target 0"))
    rows.append(("warm ModelCache.get() p50 (µs)", summary(warm)["p50"], "no I/O"))
    rows.append(
        (
            "after the TTL: S3 calls to re-check the pointer (same version)",
            recheck_calls,
            "one GET of current.json",
        )
    )
    path = write("retraining", results)
    show(f"retraining (in-process) → {path.relative_to(ROOT)}", rows)
