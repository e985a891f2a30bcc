"""The retraining loop's second half: claim the new labels, train a challenger, evaluate it against the current
model on the same held-out set, promote it only if it is not worse, and say so with an event.

Triggers (all reach the function through the retraining queue): ``RetrainingRequested`` from the feedback API
when the new labels reach the threshold (``trigger`` ``threshold``, or ``manual`` from ``sluicectl retrain``), and
the scheduled rule (``Scheduled Event``: ``schedule``, trains only if there is at least one new label).

A run:

1. **claims** the labels (``sluice.feedback.claim``: a conditional write on the feedback store's state item; a
   duplicate delivery, or a request whose labels an earlier run already consumed, finds nothing to claim and
   ends ``skipped``);
2. builds the data: the digits training split + every feedback label whose job id hashes into the training
   share; the **held-out set** is the digits test split (the one the current model's card was measured on) +
   the feedback labels hashing into the held-out share (1 in ``holdout_every``): a deterministic split, so a
   label never moves between training and evaluation across runs;
3. has the challenger trained and exported to ONNX by ``functions/model_trainer`` (a synchronous invoke:
   scikit-learn does not fit in this function next to ONNX Runtime), and measures **both** the challenger and
   the current model (downloaded, checked against the pointer's sha256) with ONNX Runtime on that same set;
4. uploads the challenger and its model card (always: a rejected model stays auditable) and, if its accuracy
   is at least the current model's and at least ``min_accuracy``, moves the pointer with ``If-Match`` on the
   pointer's ETag (a promotion that happened meanwhile is not overwritten: the run fails and is retried);
5. publishes ``ModelPromoted`` or ``ModelRejected`` (contracts in the shared layer) and releases the claim,
   subtracting the labels it consumed. Any failure before that abandons the claim and re-raises (SQS retries).

Test switch: ``options.corrupt_labels`` trains on wrong labels (every digit shifted by one), to prove that a
worse challenger is refused. It is honoured only with ``allow_test_switches`` (the local environment).
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from botocore.exceptions import ClientError
from sluice import contracts, feedback
from sluice.errors import InvalidEvent
from sluice.publish import DomainEvent, EventPublisher

SOURCE = "sluice.retraining"
PROMOTED = "ModelPromoted"
REJECTED = "ModelRejected"
REQUESTED = "RetrainingRequested"
SCHEDULED = "Scheduled Event"

STATUS_SKIPPED = "skipped"
STATUS_PROMOTED = "promoted"
STATUS_REJECTED = "rejected"


def utc_now() -> datetime:
    return datetime.now(UTC)


def iso(ts: datetime) -> str:
    return ts.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class Ports:
    s3: Any
    dynamodb: Any
    events: Any
    model_bucket: str
    model_name: str
    feedback_table: str
    feedback_bucket: str
    event_bus: str
    threshold: int
    estimator: str = "svc"
    min_accuracy: float = 0.9
    holdout_every: int = 5
    claim_stale_seconds: int = 1800
    allow_test_switches: bool = False
    clock: Callable[[], datetime] = field(default=utc_now)


@dataclass(frozen=True)
class Request:
    trigger: str  # threshold | schedule | manual
    event_id: str | None = None
    request_id: str | None = None
    corrupt_labels: bool = False
    force: bool = False

    def minimum(self, threshold: int) -> int:
        """New labels a run needs before it trains."""
        if self.force:
            return 0
        return threshold if self.trigger == "threshold" else 1


def parse_request(event: Any) -> Request:
    if not isinstance(event, dict):
        raise InvalidEvent("the message is not an EventBridge event object")
    detail_type = event.get("detail-type")
    if detail_type == SCHEDULED:
        return Request(trigger="schedule", event_id=event.get("id"))
    if detail_type == REQUESTED:
        detail = contracts.validate("retraining_requested", event.get("detail"))
        options = detail.get("options") or {}
        return Request(
            trigger=detail["trigger"],
            event_id=event.get("id"),
            request_id=detail["request_id"],
            corrupt_labels=bool(options.get("corrupt_labels")),
            force=bool(options.get("force")),
        )
    raise InvalidEvent(f"unexpected event {str(detail_type)[:80]!r}: expected {REQUESTED} or {SCHEDULED}")


def in_holdout(job_id: str, every: int) -> bool:
    """Deterministic split of feedback: 1 in ``every`` jobs (by the hash of the id) is held out, for ever."""
    return int(hashlib.sha256(job_id.encode()).hexdigest()[:8], 16) % every == 0


def load_feedback(
    ports: Ports, featurize: Callable[[bytes], np.ndarray]
) -> tuple[list[tuple[str, np.ndarray, int]], dict[str, int]]:
    """(job id, features, label) of every feedback label whose image can be read and decoded."""
    rows: list[tuple[str, np.ndarray, int]] = []
    skipped: dict[str, int] = {}
    for label in feedback.read_labels(ports.dynamodb, ports.feedback_table):
        try:
            data = ports.s3.get_object(Bucket=ports.feedback_bucket, Key=label.image_key)["Body"].read()
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") not in ("NoSuchKey", "404"):
                raise
            skipped["image_missing"] = skipped.get("image_missing", 0) + 1
            continue
        try:
            rows.append((label.job_id, featurize(data), label.label))
        except ValueError:  # sluice_ml.preprocess.ImageRejected: not decodable, blank
            skipped["invalid_image"] = skipped.get("invalid_image", 0) + 1
    return rows, skipped


def split_feedback(rows: list[tuple[str, np.ndarray, int]], holdout_every: int) -> dict[str, dict[str, list]]:
    """The trainer's ``feedback`` payload: rows by the deterministic hash split, features as plain lists."""
    parts: dict[str, dict[str, list]] = {"train": {"X": [], "y": []}, "held_out": {"X": [], "y": []}}
    for job_id, features, label in rows:
        part = parts["held_out" if in_holdout(job_id, holdout_every) else "train"]
        part["X"].append([round(float(v), 4) for v in features])
        part["y"].append(int(label))
    return parts


def onnx_accuracy(model: bytes, X: np.ndarray, y: np.ndarray) -> float:
    """Share of ``X`` an ONNX model labels as ``y``, run by ONNX Runtime (what the worker serves with)."""
    import onnxruntime as ort

    session = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
    labels = session.run(None, {session.get_inputs()[0].name: X.astype(np.float32)})[0]
    return float((np.asarray(labels) == np.asarray(y)).mean())


@dataclass
class Champion:
    version: str
    sha256: str
    etag: str
    onnx: bytes


def read_champion(ports: Ports, store: Any) -> Champion | None:
    """The model the pointer names now (with the pointer's ETag, for the compare-and-swap), or None."""
    try:
        response = ports.s3.get_object(Bucket=ports.model_bucket, Key=store.pointer_key(ports.model_name))
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
            return None
        raise
    pointer = store.Pointer.from_json(response["Body"].read())
    data = ports.s3.get_object(Bucket=ports.model_bucket, Key=pointer.model_key)["Body"].read()
    if hashlib.sha256(data).hexdigest() != pointer.sha256:
        raise RuntimeError(
            f"s3://{ports.model_bucket}/{pointer.model_key} does not match the pointer's sha256"
        )
    return Champion(pointer.version, pointer.sha256, response["ETag"], data)


@dataclass
class Outcome:
    status: str
    detail: dict[str, Any]
    timings: dict[str, float]


def retrain(
    request: Request,
    held: feedback.Claim,
    ports: Ports,
    *,
    trainer: Callable[[dict[str, Any]], dict[str, Any]],
    store: Any,
    featurize: Callable[[bytes], np.ndarray],
) -> Outcome:
    timings: dict[str, float] = {}
    started = time.perf_counter()
    rows, skipped = load_feedback(ports, featurize)
    parts = split_feedback(rows, ports.holdout_every)
    timings["data_s"] = time.perf_counter() - started

    corrupt = request.corrupt_labels and ports.allow_test_switches
    mark = time.perf_counter()
    trained = trainer(
        {
            "run_id": held.run_id,
            "model_name": ports.model_name,
            "estimator": ports.estimator,
            "feedback": parts,
            "corrupt_labels": corrupt,
        }
    )
    onnx = base64.b64decode(trained["onnx_b64"])
    X_eval = np.asarray(trained["eval"]["X"], dtype=np.float32)
    y_eval = np.asarray(trained["eval"]["y"], dtype=np.int64)
    timings["train_s"] = time.perf_counter() - mark

    mark = time.perf_counter()
    challenger_accuracy = onnx_accuracy(onnx, X_eval, y_eval)
    champion = read_champion(ports, store)
    champion_accuracy = onnx_accuracy(champion.onnx, X_eval, y_eval) if champion else None
    timings["evaluate_s"] = time.perf_counter() - mark

    sha256 = hashlib.sha256(onnx).hexdigest()
    version = sha256[:12]
    if challenger_accuracy < ports.min_accuracy:
        promote, reason = (
            False,
            f"challenger accuracy {challenger_accuracy:.4f} is under the minimum {ports.min_accuracy}",
        )
    elif champion is not None and challenger_accuracy < champion_accuracy:
        promote, reason = (
            False,
            f"challenger accuracy {challenger_accuracy:.4f} is worse than the current model's {champion_accuracy:.4f}",
        )
    elif champion is None:
        promote, reason = True, f"no current model; challenger accuracy {challenger_accuracy:.4f}"
    else:
        promote, reason = (
            True,
            f"challenger accuracy {challenger_accuracy:.4f} >= current model's {champion_accuracy:.4f}",
        )
    now = iso(ports.clock())
    held_out = {"samples": len(y_eval), "feedback_samples": len(parts["held_out"]["y"])}
    card = {
        "name": ports.model_name,
        "version": version,
        "sha256": sha256,
        "format": "onnx",
        "opset": trained["opset"],
        "size_bytes": len(onnx),
        "task": "classify a handwritten digit 0-9",
        "input": {"name": trained["input_name"], "dtype": "float32", "shape": [None, 64]},
        "estimator": {"chosen": ports.estimator, "repr": trained["estimator_repr"]},
        "training_data": {
            "dataset": "scikit-learn digits (training split) + labelled feedback images",
            "samples": trained["train_samples"],
            "feedback_train": len(parts["train"]["y"]),
            "feedback_skipped": skipped,
            "labels_corrupted_for_test": corrupt,
        },
        "held_out": {
            **held_out,
            "accuracy": round(challenger_accuracy, 4),
            "split": "digits test split + feedback jobs with sha256(job_id) % "
            + str(ports.holdout_every)
            + " == 0",
        },
        "evaluation": {
            "champion": {"version": champion.version, "accuracy": round(champion_accuracy, 4)}
            if champion
            else None,
            "challenger_accuracy": round(challenger_accuracy, 4),
            "min_accuracy": ports.min_accuracy,
            "decision": STATUS_PROMOTED if promote else STATUS_REJECTED,
            "reason": reason,
        },
        "retraining": {
            "run_id": held.run_id,
            "trigger": request.trigger,
            "request_id": request.request_id,
            "claimed_labels": held.pending,
        },
        "training_seconds": trained["training_seconds"],
        "created_at": now,
    }
    pointer = store.publish(
        ports.s3, ports.model_bucket, ports.model_name, version, onnx, card, promote=False, now=now
    )
    if promote and (champion is None or champion.sha256 != sha256):
        # Compare-and-swap of the pointer: only if it still names the model this run was measured against.
        condition = {"IfMatch": champion.etag} if champion else {"IfNoneMatch": "*"}
        ports.s3.put_object(
            Bucket=ports.model_bucket,
            Key=store.pointer_key(ports.model_name),
            Body=pointer.to_json().encode(),
            ContentType="application/json",
            **condition,
        )
    detail = {
        "run_id": held.run_id,
        "model_name": ports.model_name,
        "challenger": {
            "version": version,
            "sha256": sha256,
            "accuracy": round(challenger_accuracy, 4),
            "model_key": pointer.model_key,
            "card_key": pointer.card_key,
        },
        "champion": {"version": champion.version, "accuracy": round(champion_accuracy, 4)}
        if champion
        else None,
        "held_out": held_out,
        "feedback": {"labels": len(rows), "train": len(parts["train"]["y"]), "claimed": held.pending},
        "trigger": request.trigger,
        "decided_at": now,
        "reason": reason,
    }
    timings["total_s"] = time.perf_counter() - started
    return Outcome(STATUS_PROMOTED if promote else STATUS_REJECTED, detail, timings)


def run(
    request: Request,
    ports: Ports,
    *,
    trainer: Callable[[dict[str, Any]], dict[str, Any]],
    store: Any,
    featurize: Callable[[bytes], np.ndarray],
) -> dict[str, Any]:
    """One retraining run (see the module docstring). Returns a JSON-serialisable summary."""
    now = ports.clock()
    run_id = uuid.uuid4().hex
    held = feedback.claim(
        ports.dynamodb,
        ports.feedback_table,
        run_id=run_id,
        minimum=request.minimum(ports.threshold),
        now=iso(now),
        stale_before=iso(now - timedelta(seconds=ports.claim_stale_seconds)),
    )
    if held is None:
        return {
            "status": STATUS_SKIPPED,
            "trigger": request.trigger,
            "reason": "no new labels to claim, or another run holds the claim",
        }
    try:
        outcome = retrain(request, held, ports, trainer=trainer, store=store, featurize=featurize)
        contract = "model_promoted" if outcome.status == STATUS_PROMOTED else "model_rejected"
        event = DomainEvent.validated(
            contract,
            source=SOURCE,
            detail_type=PROMOTED if outcome.status == STATUS_PROMOTED else REJECTED,
            detail=outcome.detail,
        )
        result = EventPublisher(ports.events, ports.event_bus).publish([event])
        if not result.ok:
            raise RuntimeError(
                f"could not publish {event.detail_type}: {result.failed[0].code} {result.failed[0].message}"
            )
    except BaseException:
        feedback.abandon(ports.dynamodb, ports.feedback_table, held)
        raise
    feedback.release(
        ports.dynamodb, ports.feedback_table, held, now=iso(ports.clock()), outcome=outcome.status
    )
    return {
        "status": outcome.status,
        "trigger": request.trigger,
        **outcome.detail,
        "timings": {k: round(v, 3) for k, v in outcome.timings.items()},
    }


def dumps(summary: dict[str, Any]) -> str:
    return json.dumps(summary, sort_keys=True)
