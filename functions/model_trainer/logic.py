"""Fit a challenger and export it to ONNX: the training step of a retraining run, invoked synchronously by the
model retrainer (which prepares the feedback data, evaluates and decides).

Why a separate function: scikit-learn + scipy + skl2onnx + onnx (the train layer) and ONNX Runtime + numpy +
Pillow (the ml layer) together are over Lambda's 250 MiB unzipped limit for a function and its layers (README,
"Feedback and retraining", has the sizes). The retrainer keeps ONNX Runtime, which the evaluation must use
(measure the bytes that will be served); this function keeps scikit-learn.

Request (JSON): ``{"run_id", "model_name", "estimator", "feedback": {"train": {"X": [[64 values]...], "y": [...]},
"held_out": {"X": ..., "y": ...}}, "corrupt_labels": bool}``. Response: ``{"onnx_b64", "eval": {"X", "y"},
"train_samples", "estimator_repr", "opset", "input_name", "training_seconds"}``: the challenger and the held-out
set (the digits test split + the feedback held out) both models are measured on.
"""

from __future__ import annotations

import base64
import time
from typing import Any

import numpy as np
from sluice.errors import InvalidEvent


def _matrix(part: Any, name: str) -> tuple[np.ndarray, np.ndarray]:
    try:
        X = np.asarray(part.get("X") or [], dtype=np.float32).reshape(-1, 64)
        y = np.asarray(part.get("y") or [], dtype=np.int64)
    except (AttributeError, TypeError, ValueError) as exc:
        raise InvalidEvent(
            f"feedback.{name} must be {{'X': [[64 numbers]...], 'y': [digits]}}: {exc}"
        ) from None
    if len(X) != len(y) or (len(y) and (y.min() < 0 or y.max() > 9)):
        raise InvalidEvent(f"feedback.{name}: X and y differ in length or a label is not a digit")
    return X, y


def train(request: dict[str, Any], lib: Any) -> dict[str, Any]:
    started = time.perf_counter()
    feedback = request.get("feedback") or {}
    X_fb, y_fb = _matrix(feedback.get("train") or {}, "train")
    X_ho, y_ho = _matrix(feedback.get("held_out") or {}, "held_out")
    X_train, X_test, y_train, y_test = lib.digits_split()
    X_fit, y_fit = np.vstack([X_train, X_fb]), np.concatenate([y_train, y_fb])
    if request.get("corrupt_labels"):
        y_fit = (y_fit + 1) % 10  # the test switch: every label wrong
    try:
        pipeline = lib.fit(str(request.get("estimator", "svc")), X_fit, y_fit)
    except ValueError as exc:  # an unknown estimator
        raise InvalidEvent(str(exc)) from None
    onnx = lib.export_onnx(pipeline, str(request.get("model_name", "digits")))
    X_eval, y_eval = np.vstack([X_test, X_ho]), np.concatenate([y_test, y_ho])
    return {
        "onnx_b64": base64.b64encode(onnx).decode(),
        "eval": {"X": np.round(X_eval, 4).tolist(), "y": y_eval.astype(int).tolist()},
        "train_samples": len(y_fit),
        "estimator_repr": repr(pipeline),
        "opset": lib.OPSET,
        "input_name": lib.INPUT_NAME,
        "training_seconds": round(time.perf_counter() - started, 3),
    }
