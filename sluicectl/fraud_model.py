"""The fraud model: a small gradient-boosted tree ensemble trained on the synthetic stream's labelled patterns
(``sluicectl.stream``), exported to ONNX, described by a model card, published to the model bucket under
``models/fraud/`` (scripts/train_fraud_model.py is the command line; ``make fraud-model``).

Training replays generated streams through the scorer's own feature code (``sluice_ml.fraud``: the same
``UserState.advance`` and ``assess`` the Lambda runs), so the columns are computed identically in training and
serving. Labels: ``rule`` and ``anomaly`` are fraud, everything else (the decoys included) is not. The held-out
set is another stream (another seed, other users); its precision and recall at the serving threshold go into
the card, and the script refuses to publish under ``MIN_RECALL`` / ``MIN_PRECISION``.

Deterministic: seeded generators and estimator, and the graph name fixed, so the same library versions give the
same bytes and the same version (the first 12 hex digits of the sha256).
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import stream
from .model import OPSET, TrainedModel, model_store

NAME = "fraud"
INPUT_NAME = "input"
SEED = 11
TRAIN_TRANSACTIONS = 60_000
HELD_OUT_TRANSACTIONS = 20_000
THRESHOLD = 0.7
MIN_RECALL = 0.9
MIN_PRECISION = 0.9
# Training oversamples the patterns (about 1 in 5 transactions) so the trees see enough of each.
TRAIN_RATES = {
    "rule": 0.05,
    "anomaly": 0.05,
    "travel": 0.04,
    "fast_small": 0.04,
    "slow_big": 0.03,
    "big_local": 0.03,
}


def features(run: stream.StreamRun) -> tuple[np.ndarray, np.ndarray]:
    """(X float32 [N, len(FEATURES)], y {0, 1}) by replaying ``run`` through the scorer's feature code."""
    fraud = stream._fraud()
    rule = fraud.Rule()
    states: dict[str, Any] = {}
    rows, labels = [], []
    for sample in run.samples:
        if sample.record is None:
            continue
        record = sample.record
        txn = fraud.Txn.from_record(record)
        state = states.get(txn.user_id)
        rows.append(fraud.assess(txn, state, rule).vector)
        labels.append(1 if sample.fraud else 0)
        states[txn.user_id] = state.advance(txn) if state is not None else fraud.UserState.first(txn)
    return np.asarray(rows, dtype=np.float32), np.asarray(labels, dtype=np.int64)


@dataclass
class Metrics:
    precision: float
    recall: float
    positives: int
    samples: int


def measure(scores: np.ndarray, y: np.ndarray, threshold: float = THRESHOLD) -> Metrics:
    flagged = scores >= threshold
    tp = int((flagged & (y == 1)).sum())
    precision = tp / int(flagged.sum()) if flagged.sum() else 1.0
    recall = tp / int((y == 1).sum()) if (y == 1).sum() else 1.0
    return Metrics(round(precision, 4), round(recall, 4), int((y == 1).sum()), len(y))


def train(
    seed: int = SEED,
    version: str | None = None,
    train_size: int = TRAIN_TRANSACTIONS,
    held_out_size: int = HELD_OUT_TRANSACTIONS,
) -> TrainedModel:
    import onnx
    import onnxruntime as ort
    import skl2onnx
    import sklearn
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import FloatTensorType
    from sklearn.ensemble import GradientBoostingClassifier

    started = time.perf_counter()
    fraud = stream._fraud()
    training = stream.generate(
        train_size, users=2000, seed=seed, rates=TRAIN_RATES, run_id="train", start=1.7e9
    )
    held_out = stream.generate(held_out_size, users=600, seed=seed + 1, run_id="held", start=1.7e9)
    X_train, y_train = features(training)
    X_test, y_test = features(held_out)
    estimator = GradientBoostingClassifier(n_estimators=80, max_depth=3, learning_rate=0.2, random_state=seed)
    estimator.fit(X_train, y_train)
    model = convert_sklearn(
        estimator,
        initial_types=[(INPUT_NAME, FloatTensorType([None, len(fraud.FEATURES)]))],
        options={id(estimator): {"zipmap": False}},
        target_opset=OPSET,
    )
    model.graph.name = NAME  # skl2onnx names the graph with a random uuid: the only non-deterministic byte
    data = model.SerializeToString()
    sha256 = hashlib.sha256(data).hexdigest()
    # Measured with ONNX Runtime on the exported graph: what is served.
    session = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    _, probabilities = session.run(None, {INPUT_NAME: X_test})
    scores = np.asarray(probabilities)[:, 1]
    held = measure(scores, y_test)
    kinds = [s.kind for s in held_out.samples if s.record is not None]
    per_kind = {
        kind: round(float((scores[[k == kind for k in kinds]] >= THRESHOLD).mean()), 4)
        for kind in sorted(set(kinds))
    }
    version = version or sha256[:12]
    card = {
        "name": NAME,
        "version": version,
        "sha256": sha256,
        "format": "onnx",
        "opset": OPSET,
        "size_bytes": len(data),
        "task": "score a card transaction against its user's history: probability that it is fraud",
        "input": {
            "name": INPUT_NAME,
            "dtype": "float32",
            "shape": [None, len(fraud.FEATURES)],
            "columns": list(fraud.FEATURES),
            "meaning": "sluice_ml.fraud.assess: the transaction against the user's state before it",
        },
        "outputs": {
            "label": {"dtype": "int64", "shape": [None]},
            "probabilities": {"dtype": "float32", "shape": [None, 2], "meaning": "[not fraud, fraud]"},
        },
        "threshold": THRESHOLD,
        "estimator": {"repr": repr(estimator)},
        "training_data": {
            "generator": "sluicectl.stream.generate (synthetic; labelled rule / anomaly / decoys)",
            "train": {
                "transactions": len(y_train),
                "fraud": int(y_train.sum()),
                "seed": seed,
                "rates": TRAIN_RATES,
            },
            "held_out": {
                "transactions": len(y_test),
                "fraud": int(y_test.sum()),
                "seed": seed + 1,
                "rates": stream.DEFAULT_RATES,
            },
        },
        "held_out": {"precision": held.precision, "recall": held.recall, "flag_rate_by_kind": per_kind},
        "min_recall": MIN_RECALL,
        "min_precision": MIN_PRECISION,
        "libraries": {
            "scikit-learn": sklearn.__version__,
            "skl2onnx": skl2onnx.__version__,
            "onnx": onnx.__version__,
            "onnxruntime": ort.__version__,
        },
        "training_seconds": round(time.perf_counter() - started, 2),
        "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    return TrainedModel(NAME, version, data, card)


def good_enough(model: TrainedModel) -> bool:
    held = model.card["held_out"]
    return held["recall"] >= MIN_RECALL and held["precision"] >= MIN_PRECISION


def publish(s3: Any, bucket: str, model: TrainedModel, *, promote: bool = True) -> Any:
    return model_store().publish(
        s3, bucket, model.name, model.version, model.onnx, model.card, promote=promote
    )
