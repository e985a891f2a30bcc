"""Pipeline 3 (async inference), the worker: a batch of S3 "Object Created" events (one per uploaded image under
``inputs/<job id>``) -> predictions in the jobs table and ``PredictionCompleted`` events on the domain bus.

Pure logic: AWS clients, names and the model come in as arguments; nothing here reads the environment or logs.

A batch goes through three phases, so that the model runs once per batch (ONNX Runtime on an [N, 64] tensor)
instead of once per image:

1. ``prepare`` each record: parse the event, fetch the image, decode and normalise it
   (``sluice_ml.preprocess``). An image that can never be classified (empty, not an image, not PNG/JPEG, too
   large, gone) is a *rejection*: the job will end ``failed`` with its code and reason;
2. ``infer``: one ``session.run`` over every prepared image;
3. ``finish`` each job with a conditional update (``awaiting_upload``/``queued`` -> ``succeeded``/``failed``,
   or ``failed`` with ``retries_exhausted`` -> anything, for a message redriven from the DLQ), then publish one
   ``PutEvents`` per 10 completions.

The per-image requests of phases 1 and 3 (the S3 GET, the job's update, the published mark) are independent of
each other: ``process_batch`` runs them through the ``map`` it is given, the builtin one after another (tests)
or a thread pool's (the handler), so a batch's requests are in flight together and the batch takes about one
round trip per phase instead of one per image.

Each record ends with an ``Item`` whose ``error`` decides what the SQS batch helper does with it:
``None`` (done), a ``PermanentError`` (the message itself is malformed or names no job: failure record + DLQ
at once), anything else (transient: retried; after ``max_receive_count`` receives SQS dead-letters it, and
on that last receive the job is first marked ``failed`` with ``retries_exhausted`` so that it ends).

Each ending is announced once. The delivery that ends a job also claims its event (``event_claimed_until``, in
the same conditional update) and marks it published (``event_published_at``) once PutEvents accepted it. A
redelivered message whose job already ended (a duplicate delivery, a retry after a timeout, two pollers at once)
publishes nothing when the event is marked published; when it is not (the first delivery failed to publish, or
died), it takes the claim with a conditional write once the previous claim has expired and publishes it; while
another delivery holds the claim it fails transiently (``PublishInProgress``) and is retried. Only a delivery
that dies between PutEvents and the mark can make a second event (after its claim expires).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
from botocore.exceptions import ClientError
from sluice import predictions
from sluice.errors import InvalidEvent, PermanentError
from sluice.events import S3ObjectRef, parse_s3_object_created
from sluice_ml import preprocess

DEFAULT_MAX_IMAGE_BYTES = 10_485_760
MAX_EVENTS_PER_PUT = 10
PROBABILITY_DIGITS = 4


CLAIM_SECONDS = 60  # how long a delivery may take to publish the event of the job it ended (> function timeout)
PUBLISHED = "event_published_at"
CLAIMED_UNTIL = "event_claimed_until"


# builtins.map or an Executor's map: calls fn on every item (in any order, or at once), yields in input order.
Mapper = Callable[[Callable[[Any], Any], Iterable[Any]], Iterator[Any]]


class PublishInProgress(RuntimeError):
    """Another delivery of the same job holds the claim on its event: transient, retried later."""


class UnknownJob(PermanentError):
    """The input object names no job (uploaded without POST /predictions, or the job expired)."""

    code = "unknown_job"
    stage = "finish"


def utc_iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, tz=UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class Ports:
    s3: Any
    dynamodb: Any
    events: Any
    jobs_table: str
    event_bus: str
    max_image_bytes: int = DEFAULT_MAX_IMAGE_BYTES
    max_pixels: int = preprocess.DEFAULT_MAX_PIXELS
    max_receive_count: int = 3
    clock: Callable[[], float] = field(default=time.time)


@dataclass
class Item:
    """One SQS record's way through the batch."""

    message_id: str
    receive_count: int
    ref: S3ObjectRef | None = None
    job_id: str | None = None
    features: np.ndarray | None = None
    rejection: preprocess.ImageRejected | None = None
    error: BaseException | None = None
    label: int | None = None
    probabilities: list[float] | None = None
    fetch_ms: float = 0.0
    preprocess_ms: float = 0.0
    inference_ms: float = 0.0  # this image's share of the batch's session.run
    outcome: str | None = None  # succeeded | failed | duplicate | gave_up
    entry: dict[str, Any] | None = None  # the PutEvents entry to publish

    @property
    def compute_ms(self) -> float:
        """Decode + normalise + inference: the per-image latency of the model path (no I/O)."""
        return self.preprocess_ms + self.inference_ms

    def summary(self) -> dict[str, Any]:
        return {"job_id": self.job_id, "status": self.outcome, "label": self.label}


@dataclass
class BatchResult:
    items: list[Item]
    model_version: str | None = None
    inference_ms: float = 0.0  # the one session.run of the batch
    inferred: int = 0
    model: Any = None  # the LoadedModel that served the batch

    def by_message_id(self) -> dict[str, Item]:
        return {item.message_id: item for item in self.items}


# --- phase 1: prepare -------------------------------------------------------------------------------------------


def _receive_count(record: dict[str, Any]) -> int:
    try:
        return int((record.get("attributes") or {}).get("ApproximateReceiveCount", 1))
    except (TypeError, ValueError):
        return 1


def _fetch(ref: S3ObjectRef, ports: Ports) -> bytes:
    if ref.size is not None and ref.size > ports.max_image_bytes:
        raise preprocess.ImageRejected("too_large", f"{ref.size} bytes is over the limit of {ports.max_image_bytes}")
    try:
        response = ports.s3.get_object(Bucket=ref.bucket, Key=ref.key)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
            raise preprocess.ImageRejected("input_missing", f"the uploaded image {ref.uri} no longer exists") from None
        raise
    length = int(response.get("ContentLength") or 0)
    if length > ports.max_image_bytes:
        response["Body"].close()
        raise preprocess.ImageRejected("too_large", f"{length} bytes is over the limit of {ports.max_image_bytes}")
    return response["Body"].read()


def prepare(record: dict[str, Any], ports: Ports) -> Item:
    item = Item(message_id=str(record.get("messageId")), receive_count=_receive_count(record))
    try:
        item.ref = parse_s3_object_created(record.get("body") or "")
        item.job_id = predictions.job_id_from_key(item.ref.key)
        if item.job_id is None:
            raise InvalidEvent(f"{item.ref.uri} is not an input of a prediction job (inputs/<32 hex digits>)")
        started = time.perf_counter()
        data = _fetch(item.ref, ports)
        fetched = time.perf_counter()
        item.fetch_ms = (fetched - started) * 1000.0
        item.features = preprocess.features(data, max_pixels=ports.max_pixels)
        item.preprocess_ms = (time.perf_counter() - fetched) * 1000.0
    except preprocess.ImageRejected as rejection:
        item.rejection = rejection
    except PermanentError as err:
        if item.ref is not None:
            err.item_id = err.item_id or item.ref.item_id
            err.source = err.source or item.ref.uri
        item.error = err
    except Exception as exc:  # transient: S3 throttled or unreachable, ...
        item.error = exc
    return item


# --- phase 2: infer ---------------------------------------------------------------------------------------------


def infer(items: list[Item], models: Any) -> BatchResult:
    """One session.run over every prepared image. ``models.get()`` gives the model to serve
    (``sluice_ml.model_store.ModelCache``); if there is none, every prepared image fails transiently."""
    result = BatchResult(items)
    ready = [item for item in items if item.features is not None and item.error is None]
    if not ready:
        return result
    try:
        model = models.get()
    except Exception as exc:
        for item in ready:
            item.error = exc
        return result
    started = time.perf_counter()
    labels, probabilities = model.predict(np.stack([item.features for item in ready]))
    result.inference_ms = (time.perf_counter() - started) * 1000.0
    result.model_version = model.version
    result.inferred = len(ready)
    share = result.inference_ms / len(ready)
    for item, label, row in zip(ready, labels, probabilities, strict=True):
        item.label = int(label)
        item.probabilities = [round(float(p), PROBABILITY_DIGITS) for p in row]
        item.inference_ms = share
    result.model = model
    return result


# --- phase 3: finish --------------------------------------------------------------------------------------------

# A job ends from an open state, or again from a give-up (a message redriven from the DLQ may still succeed).
_CONDITION = (
    "attribute_exists(job_id) AND (#status IN (:awaiting, :queued) OR (#status = :failed AND error_code = :exhausted))"
)
# A give-up ends only an open job: two copies of one message that both exhaust their receives (a duplicate
# delivery), or a redriven message that fails again, must not announce the same failure twice.
_OPEN = "attribute_exists(job_id) AND #status IN (:awaiting, :queued)"


def _update(
    ports: Ports, job_id: str, assignments: dict[str, dict[str, Any]], remove: Iterable[str] = (), condition: str = _CONDITION
) -> dict[str, Any] | None:
    """Conditionally end the job. Returns None when it ended now, else the stored item (which has ended before)."""
    names = {"#status": "status"}
    values: dict[str, Any] = {
        token: value
        for token, value in (
            (":awaiting", {"S": predictions.AWAITING_UPLOAD}),
            (":queued", {"S": predictions.QUEUED}),
            (":failed", {"S": predictions.FAILED}),
            (":exhausted", {"S": predictions.RETRIES_EXHAUSTED}),
        )
        if token in condition  # DynamoDB refuses values the expressions do not use
    }
    sets = []
    for name, value in assignments.items():
        names[f"#{name}"] = name
        values[f":v_{name}"] = value
        sets.append(f"#{name} = :v_{name}")
    expression = "SET " + ", ".join(sets)
    removals = [name for name in remove if name not in assignments]
    if removals:
        expression += " REMOVE " + ", ".join(removals)
    try:
        ports.dynamodb.update_item(
            TableName=ports.jobs_table,
            Key={"job_id": {"S": job_id}},
            UpdateExpression=expression,
            ConditionExpression=condition,
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
        return None
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
            raise
        old = exc.response.get("Item")
    if old is None:  # endpoints that do not return the item
        old = ports.dynamodb.get_item(TableName=ports.jobs_table, Key={"job_id": {"S": job_id}}, ConsistentRead=True).get("Item")
    if not old:
        raise UnknownJob(f"job {job_id} does not exist (never created through the API, or expired)")
    return old


def _entry(ports: Ports, detail: dict[str, Any]) -> dict[str, Any]:
    return {
        "Source": predictions.EVENT_SOURCE,
        "DetailType": predictions.EVENT_DETAIL_TYPE,
        "EventBusName": ports.event_bus,
        "Detail": json.dumps(detail, separators=(",", ":")),
    }


def _detail_from_stored(stored: dict[str, Any]) -> dict[str, Any]:
    job = predictions.from_dynamodb(stored)
    detail: dict[str, Any] = {
        "job_id": job["job_id"],
        "status": job["status"],
        "completed_at": job.get("completed_at") or utc_iso(0),
        "model": {"name": job["model_name"], "version": job["model_version"]} if job.get("model_version") else None,
    }
    if job["status"] == predictions.SUCCEEDED:
        detail.update(label=job["label"], confidence=job["confidence"])
    else:
        detail["error_code"] = job.get("error_code") or "unknown"
    return detail


def finish(item: Item, ports: Ports, model: Any | None) -> None:
    """End the item's job (succeeded with its prediction, or failed with its rejection) and prepare its event."""
    assert item.job_id is not None
    now = utc_iso(ports.clock())
    common = {
        "completed_at": {"S": now},
        "attempts": {"N": str(item.receive_count)},
        CLAIMED_UNTIL: {"N": str(round(ports.clock() + CLAIM_SECONDS, 3))},  # this delivery publishes the event
    }
    model_ref = {"name": model.name, "version": model.version} if model is not None and item.label is not None else None
    if item.rejection is not None:
        assignments = {
            **common,
            "status": {"S": predictions.FAILED},
            "error_code": {"S": item.rejection.code},
            "reason": {"S": item.rejection.reason[:1000]},
        }
        detail = {"job_id": item.job_id, "status": predictions.FAILED, "completed_at": now, "error_code": item.rejection.code, "model": None}
        stored = _update(ports, item.job_id, assignments, remove=("label", "confidence", "probabilities", "model_name", "model_version", PUBLISHED))
        item.outcome = predictions.FAILED
    else:
        assert item.label is not None and item.probabilities is not None and model is not None
        confidence = max(item.probabilities)
        assignments = {
            **common,
            "status": {"S": predictions.SUCCEEDED},
            "label": {"N": str(item.label)},
            "confidence": {"N": str(confidence)},
            "probabilities": {"L": [{"N": str(p)} for p in item.probabilities]},
            "model_name": {"S": model.name},
            "model_version": {"S": model.version},
        }
        detail = {"job_id": item.job_id, "status": predictions.SUCCEEDED, "completed_at": now, "label": item.label, "confidence": confidence, "model": model_ref}
        stored = _update(ports, item.job_id, assignments, remove=("error_code", "reason", PUBLISHED))
        item.outcome = predictions.SUCCEEDED
    if stored is not None:  # ended before (a redelivery): change nothing; publish its event only if still owed
        item.outcome = "duplicate"
        if not claim_event(ports, item.job_id, stored):
            return
        detail = _detail_from_stored(stored)
    item.entry = _entry(ports, detail)


def claim_event(ports: Ports, job_id: str, stored: dict[str, Any]) -> bool:
    """For a job that ended before: True if this delivery is to publish its event (it was never published and
    nobody holds the claim: claimed now); False if it was published. Raises PublishInProgress while another
    delivery holds an unexpired claim."""
    if PUBLISHED in stored:
        return False
    now = ports.clock()
    try:
        ports.dynamodb.update_item(
            TableName=ports.jobs_table,
            Key={"job_id": {"S": job_id}},
            UpdateExpression="SET #c = :until",
            ConditionExpression="attribute_exists(job_id) AND attribute_not_exists(#p) AND (attribute_not_exists(#c) OR #c < :now)",
            ExpressionAttributeNames={"#c": CLAIMED_UNTIL, "#p": PUBLISHED},
            ExpressionAttributeValues={":until": {"N": str(round(now + CLAIM_SECONDS, 3))}, ":now": {"N": str(round(now, 3))}},
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
        return True
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
            raise
        current = exc.response.get("Item") or {}
    if PUBLISHED in current:
        return False
    raise PublishInProgress(f"the completion event of job {job_id} is being published by another delivery")


def mark_published(ports: Ports, job_id: str) -> None:
    """The event of the job's ending was accepted by PutEvents: no redelivery publishes it again."""
    ports.dynamodb.update_item(
        TableName=ports.jobs_table,
        Key={"job_id": {"S": job_id}},
        UpdateExpression="SET #p = :now REMOVE #c",
        ExpressionAttributeNames={"#p": PUBLISHED, "#c": CLAIMED_UNTIL},
        ExpressionAttributeValues={":now": {"S": utc_iso(ports.clock())}},
    )


def release_claim(ports: Ports, job_id: str) -> None:
    """Publishing failed: let the next delivery publish at once instead of waiting for the claim to expire."""
    ports.dynamodb.update_item(
        TableName=ports.jobs_table,
        Key={"job_id": {"S": job_id}},
        UpdateExpression="REMOVE #c",
        ExpressionAttributeNames={"#c": CLAIMED_UNTIL},
    )


def give_up(item: Item, ports: Ports) -> None:
    """The last receive failed transiently: end the job ``failed`` (``retries_exhausted``) before SQS dead-letters
    the message, so every accepted job ends. A redrive from the DLQ may still make it succeed."""
    assert item.job_id is not None and item.error is not None
    now = utc_iso(ports.clock())
    reason = f"gave up after {item.receive_count} attempts: {type(item.error).__name__}: {item.error}"[:1000]
    try:
        stored = _update(
            ports,
            item.job_id,
            {
                "status": {"S": predictions.FAILED},
                "error_code": {"S": predictions.RETRIES_EXHAUSTED},
                "reason": {"S": reason},
                "completed_at": {"S": now},
                "attempts": {"N": str(item.receive_count)},
            },
            remove=(PUBLISHED, CLAIMED_UNTIL),
            condition=_OPEN,
        )
        if stored is None:
            item.outcome = "gave_up"
            detail = {"job_id": item.job_id, "status": predictions.FAILED, "completed_at": now, "error_code": predictions.RETRIES_EXHAUSTED, "model": None}
            response = ports.events.put_events(Entries=[_entry(ports, detail)])
            if not response.get("FailedEntryCount"):
                mark_published(ports, item.job_id)
    except Exception:  # best effort: the message still goes to the DLQ, where an operator sees it
        pass


def publish(items: list[Item], ports: Ports, map_: Mapper = map) -> None:
    """PutEvents for every finished item, 10 per call; an entry that fails makes its item fail (transiently)."""
    pending = [item for item in items if item.entry is not None and item.error is None]
    for start in range(0, len(pending), MAX_EVENTS_PER_PUT):
        chunk = pending[start : start + MAX_EVENTS_PER_PUT]
        try:
            response = ports.events.put_events(Entries=[item.entry for item in chunk])
        except Exception as exc:
            for item in chunk:
                item.error = exc
            _settle_claims(chunk, ports, map_)
            continue
        for item, entry in zip(chunk, response.get("Entries", []), strict=False):
            if entry.get("ErrorCode"):
                item.error = RuntimeError(f"PutEvents: {entry['ErrorCode']}: {entry.get('ErrorMessage')}")
        _settle_claims(chunk, ports, map_)


def _settle_claim(item: Item, ports: Ports) -> None:
    """After PutEvents: mark the item's published event, or release the claim of one that was not. Best effort:
    a mark that fails leaves the claim to expire (a later redelivery may then publish again); a release that fails
    only delays the retry's publish until the claim expires."""
    if item.job_id is None:
        return
    try:
        if item.error is None:
            mark_published(ports, item.job_id)
        else:
            release_claim(ports, item.job_id)
    except Exception:  # best effort, see above
        return


def _settle_claims(items: list[Item], ports: Ports, map_: Mapper = map) -> None:
    _each(map_, lambda item: _settle_claim(item, ports), items)


def _each(map_: Mapper, fn: Callable[[Any], Any], items: Iterable[Any]) -> None:
    """``fn`` on every item through ``map_``, results dropped. Iterated to the end because builtins.map calls
    ``fn`` only as it is iterated, and iterating an Executor's map is what waits for every call to end."""
    for _ in map_(fn, items):
        pass


def _finish_or_fail(item: Item, ports: Ports, model: Any | None) -> None:
    try:
        finish(item, ports, model)
    except Exception as exc:  # recorded on the item: the batch helper retries or dead-letters it
        item.error = exc


def process_batch(records: list[dict[str, Any]], ports: Ports, models: Any, map_: Mapper = map) -> BatchResult:
    """The three phases over a batch; ``map_`` runs the per-image requests (see the module's docstring). Every
    function it runs catches its own errors into the item, so none escapes the map."""
    items = list(map_(lambda record: prepare(record, ports), records))
    result = infer(items, models)
    _each(map_, lambda item: _finish_or_fail(item, ports, result.model), [i for i in items if i.error is None])
    publish(items, ports, map_)
    for item in items:
        transient = item.error is not None and not isinstance(item.error, PermanentError)
        if transient and item.job_id is not None and item.receive_count >= ports.max_receive_count:
            give_up(item, ports)
    return result
