"""Training, export and evaluation of the digits classifier inside Lambda (the model retrainer's layer).

The same recipe as ``scripts/train_model.py`` (``sluicectl.model``), which trains the first model on a laptop:
the copy of the UCI digits that scikit-learn ships (nothing downloaded), a seeded stratified split, scikit-learn
pipelines exported to ONNX with skl2onnx (input ``input`` float32 [N, 64], outputs ``label`` and
``probabilities``), so a challenger is served exactly like the model it replaces. Accuracy is measured by the
model retrainer with ONNX Runtime on the exported graph (the bytes that would be served): ONNX Runtime is in
the ml layer, which does not fit in one function with this layer (see README, "Feedback and retraining").
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

__all__ = ["ESTIMATORS", "INPUT_NAME", "OPSET", "digits_split", "export_onnx", "fit"]

SEED = 42
TEST_SIZE = 0.25
INPUT_NAME = "input"
OPSET = {"": 17, "ai.onnx.ml": 3}


def digits_split(seed: int = SEED) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(X_train, X_test, y_train, y_test) of the bundled digits: the split the first model was trained on."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    X, y = load_digits(return_X_y=True)
    return train_test_split(X.astype(np.float32), y, test_size=TEST_SIZE, random_state=seed, stratify=y)


def _svc(seed: int) -> Any:
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC

    return make_pipeline(
        StandardScaler(),
        CalibratedClassifierCV(SVC(C=10.0, gamma="scale", random_state=seed), ensemble=False, cv=5),
    )


def _logreg(seed: int) -> Any:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=2000, random_state=seed))


ESTIMATORS: dict[str, Callable[[int], Any]] = {"svc": _svc, "logreg": _logreg}


def fit(estimator: str, X: np.ndarray, y: np.ndarray, seed: int = SEED) -> Any:
    if estimator not in ESTIMATORS:
        raise ValueError(f"unknown estimator {estimator!r}: choose from {', '.join(ESTIMATORS)}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=FutureWarning)
        return ESTIMATORS[estimator](seed).fit(X, y)


def export_onnx(pipeline: Any, name: str) -> bytes:
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import FloatTensorType

    classifier = pipeline.steps[-1][1]
    with warnings.catch_warnings():  # skl2onnx reads SVC attributes scikit-learn 1.9 marks deprecated
        warnings.simplefilter("ignore", category=FutureWarning)
        model = convert_sklearn(
            pipeline,
            initial_types=[(INPUT_NAME, FloatTensorType([None, 64]))],
            options={id(classifier): {"zipmap": False}},
            target_opset=OPSET,
        )
    model.graph.name = name  # skl2onnx names the graph with a random uuid: the only non-deterministic byte
    return model.SerializeToString()
