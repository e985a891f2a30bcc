"""The digits classifier: train it on the dataset scikit-learn ships, export it to ONNX, describe it in a model
card, and publish it to the model bucket (scripts/train_model.py is the command line; tests and benchmarks
call these functions).

Nothing is downloaded: ``sklearn.datasets.load_digits`` reads the copy of the UCI optdigits test set bundled
with scikit-learn (1,797 8x8 images, values 0-16). The split and every estimator are seeded, so the same
versions of scikit-learn and skl2onnx produce byte-identical ONNX files, and the version (a content hash)
is the same on every machine.

Model selection is honest: candidates are compared by 5-fold cross-validation on the training split only; the
held-out split is used once, to measure the chosen model, and that accuracy goes into the card.
"""

from __future__ import annotations

import hashlib
import io
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from .terraform import ROOT

NAME = "digits"
SEED = 42
TEST_SIZE = 0.25
MIN_ACCURACY = 0.95
INPUT_NAME = "input"
OPSET = {"": 17, "ai.onnx.ml": 3}


def load_split(seed: int = SEED) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(X_train, X_test, y_train, y_test) of the bundled digits, stratified, seeded."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    X, y = load_digits(return_X_y=True)
    return train_test_split(X.astype(np.float32), y, test_size=TEST_SIZE, random_state=seed, stratify=y)


def _candidates(seed: int) -> dict[str, Callable[[], Any]]:
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC

    return {
        # RBF SVM with sigmoid-calibrated probabilities (one calibrated model, not an ensemble of 5).
        "svc": lambda: make_pipeline(
            StandardScaler(), CalibratedClassifierCV(SVC(C=10.0, gamma="scale", random_state=seed), ensemble=False, cv=5)
        ),
        "logreg": lambda: make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=2000)),
    }


CANDIDATES = ("svc", "logreg")


@dataclass
class TrainedModel:
    name: str
    version: str
    onnx: bytes
    card: dict[str, Any]

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.onnx).hexdigest()

    @property
    def accuracy(self) -> float:
        return float(self.card["held_out"]["accuracy"])


def _to_onnx(pipeline: Any, name: str) -> bytes:
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import FloatTensorType

    classifier = pipeline.steps[-1][1]
    with warnings.catch_warnings():  # skl2onnx reads SVC attributes scikit-learn 1.9 marks deprecated
        warnings.simplefilter("ignore", category=FutureWarning)
        model = _convert(convert_sklearn, FloatTensorType, pipeline, classifier)
    model.graph.name = name  # skl2onnx names the graph with a random uuid: the only non-deterministic byte
    return model.SerializeToString()


def _convert(convert_sklearn: Any, FloatTensorType: Any, pipeline: Any, classifier: Any) -> Any:
    return convert_sklearn(
        pipeline,
        initial_types=[(INPUT_NAME, FloatTensorType([None, 64]))],
        options={id(classifier): {"zipmap": False}},  # probabilities as a tensor, not a list of dicts
        target_opset=OPSET,
    )


def train(candidates: tuple[str, ...] = CANDIDATES, seed: int = SEED, version: str | None = None) -> TrainedModel:
    """Pick the best candidate by cross-validation on the training split, refit it, export it, measure it."""
    import onnx
    import onnxruntime as ort
    import skl2onnx
    import sklearn
    from sklearn.model_selection import cross_val_score

    known = _candidates(seed)
    unknown = [c for c in candidates if c not in known]
    if unknown or not candidates:
        raise ValueError(f"unknown candidate(s) {unknown}: choose from {', '.join(known)}")
    started = time.perf_counter()
    X_train, X_test, y_train, y_test = load_split(seed)
    scores: dict[str, float] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=FutureWarning)
        if len(candidates) > 1:
            for candidate in candidates:
                scores[candidate] = float(cross_val_score(known[candidate](), X_train, y_train, cv=5).mean())
            chosen = max(candidates, key=lambda c: (scores[c], -candidates.index(c)))
        else:
            chosen = candidates[0]
        pipeline = known[chosen]().fit(X_train, y_train)
    data = _to_onnx(pipeline, NAME)
    sha256 = hashlib.sha256(data).hexdigest()
    # The held-out accuracy is measured with ONNX Runtime on the exported graph: what is served, not the
    # scikit-learn object it came from.
    session = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    labels, _ = session.run(None, {INPUT_NAME: X_test})
    accuracy = float((labels == y_test).mean())
    per_class = {str(c): round(float((labels[y_test == c] == c).mean()), 4) for c in range(10)}
    version = version or sha256[:12]
    card = {
        "name": NAME,
        "version": version,
        "sha256": sha256,
        "format": "onnx",
        "opset": OPSET,
        "size_bytes": len(data),
        "task": "classify a handwritten digit 0-9",
        "input": {
            "name": INPUT_NAME,
            "dtype": "float32",
            "shape": [None, 64],
            "meaning": "8x8 image in row order, light ink on a dark background, each value 0-16 (sluice_ml.preprocess)",
        },
        "outputs": {
            "label": {"dtype": "int64", "shape": [None]},
            "probabilities": {"dtype": "float32", "shape": [None, 10], "meaning": "class probabilities, index = digit"},
        },
        "estimator": {"chosen": chosen, "candidates": list(candidates), "cv_accuracy": {k: round(v, 4) for k, v in scores.items()}, "repr": repr(pipeline)},
        "training_data": {
            "dataset": "scikit-learn digits (UCI optdigits), bundled with scikit-learn; nothing downloaded",
            "samples": int(len(X_train) + len(X_test)),
            "train": len(X_train),
            "held_out": len(X_test),
            "split": f"stratified, test_size={TEST_SIZE}, random_state={seed}",
        },
        "held_out": {"accuracy": round(accuracy, 4), "per_class_recall": per_class, "samples": len(y_test)},
        "min_accuracy": MIN_ACCURACY,
        "libraries": {"scikit-learn": sklearn.__version__, "skl2onnx": skl2onnx.__version__, "onnx": onnx.__version__, "onnxruntime": ort.__version__},
        "training_seconds": round(time.perf_counter() - started, 2),
        "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    return TrainedModel(NAME, version, data, card)


def render_digit(features: np.ndarray, size: int | tuple[int, int], fmt: str = "PNG", invert: bool = False) -> bytes:
    """A dataset digit (64 values 0-16) as an image file of the given size: nearest-neighbour upscaling, light on
    dark (as the dataset) or, with ``invert``, dark on light (as ink on paper)."""
    from PIL import Image

    pixels = (np.asarray(features, dtype=np.float32).reshape(8, 8) / 16.0 * 255.0).round().astype(np.uint8)
    if invert:
        pixels = 255 - pixels
    width, height = (size, size) if isinstance(size, int) else size
    image = Image.fromarray(pixels, mode="L").resize((width, height), Image.Resampling.NEAREST)
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **({"quality": 95} if fmt.upper() in ("JPEG", "JPG") else {}))
    return buffer.getvalue()


def model_store() -> Any:
    """``sluice_ml.model_store`` from the ml layer's source (the layout the worker reads is defined there once)."""
    layer = str(ROOT / "layers" / "ml" / "python")
    if layer not in sys.path:
        sys.path.append(layer)
    from sluice_ml import model_store as store

    return store


def publish(s3: Any, bucket: str, model: TrainedModel, *, promote: bool = True) -> Any:
    """Upload the model and its card to the model bucket; with ``promote``, move the current pointer to it."""
    return model_store().publish(s3, bucket, model.name, model.version, model.onnx, model.card, promote=promote)
