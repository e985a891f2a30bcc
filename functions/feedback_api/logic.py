"""``POST /feedback`` on the inference HTTP API: a labelled prediction for the retraining loop.

Request: ``{"job_id": "<32 hex>", "label": 0-9}`` (JSON). The job must exist and have succeeded (its image
was classified). Then:

1. the job's image is copied (server-side ``CopyObject``) from the inputs bucket, where it expires, to the
   feedback bucket (``feedback/<model>/images/<job id>``), where the retrainer reads it;
2. the label is stored **and counted** in one DynamoDB transaction (``sluice.feedback.record_label``): one item
   per job id, so a duplicate or concurrent second label for a job stores nothing and counts nothing;
3. if the count of new labels reached ``threshold`` and no request is outstanding, one conditional write makes
   this request the one that publishes ``RetrainingRequested`` on the domain bus.

Responses: ``201`` recorded (with the pending count and whether retraining was requested); ``200`` the same
label was already recorded (idempotent retry); ``409`` ``label_conflict`` the job already has another label
(the first label wins: a label is evidence, not a setting); ``409`` ``job_not_succeeded``; ``404``
``not_found``; ``410`` ``image_expired`` (the input is gone); ``400`` ``invalid_request``.
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError
from sluice import feedback, predictions
from sluice.publish import DomainEvent, EventPublisher

ROUTE = "POST /feedback"
SOURCE = "sluice.feedback"
DETAIL_TYPE = "RetrainingRequested"
DEFAULT_STALE_SECONDS = 3600


def utc_iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, tz=UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class Ports:
    s3: Any
    dynamodb: Any
    events: Any
    jobs_table: str
    inputs_bucket: str
    feedback_table: str
    feedback_bucket: str
    event_bus: str
    model_name: str
    threshold: int
    request_stale_seconds: int = DEFAULT_STALE_SECONDS
    clock: Callable[[], float] = field(default=time.time)
    new_id: Callable[[], str] = field(default=lambda: uuid.uuid4().hex)


@dataclass
class Response:
    status: int
    body: dict[str, Any]


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message

    def response(self) -> Response:
        return Response(self.status, {"error": {"code": self.code, "message": self.message}})


def parse_body(event: dict[str, Any]) -> tuple[str, int]:
    raw = event.get("body") or ""
    try:
        text = base64.b64decode(raw).decode("utf-8") if event.get("isBase64Encoded") else raw
        body = json.loads(text)
    except ValueError:
        raise ApiError(
            400, "invalid_request", 'the body must be JSON: {"job_id": "<id>", "label": 0-9}'
        ) from None
    if not isinstance(body, dict) or set(body) - {"job_id", "label"}:
        raise ApiError(400, "invalid_request", 'the body must be {"job_id": "<id>", "label": 0-9}')
    job_id, label = body.get("job_id"), body.get("label")
    if not predictions.is_job_id(job_id):
        raise ApiError(400, "invalid_request", "job_id must be a prediction job id (32 hex digits)")
    if isinstance(label, bool) or not isinstance(label, int) or not 0 <= label <= 9:
        raise ApiError(400, "invalid_request", "label must be an integer digit 0-9")
    return job_id, label


def _job(ports: Ports, job_id: str) -> dict[str, Any]:
    item = ports.dynamodb.get_item(
        TableName=ports.jobs_table, Key={"job_id": {"S": job_id}}, ConsistentRead=True
    ).get("Item")
    if not item or int(item.get("expires_at", {}).get("N", "0")) < ports.clock():
        raise ApiError(404, "not_found", f"no prediction job {job_id}")
    job = predictions.from_dynamodb(item)
    if job.get("status") != predictions.SUCCEEDED:
        raise ApiError(
            409,
            "job_not_succeeded",
            f"job {job_id} is {job.get('status')}: only a classified image can be labelled",
        )
    return job


def _copy_image(ports: Ports, job_id: str) -> str:
    key = feedback.feedback_image_key(ports.model_name, job_id)
    try:
        ports.s3.copy_object(
            Bucket=ports.feedback_bucket,
            Key=key,
            CopySource={"Bucket": ports.inputs_bucket, "Key": predictions.input_key(job_id)},
            MetadataDirective="REPLACE",
            Metadata={"job-id": job_id},
            ContentType="application/octet-stream",
        )
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
            raise ApiError(410, "image_expired", f"the image of job {job_id} is no longer stored") from None
        raise
    return key


def _request_retraining(ports: Ports, now: float) -> bool:
    request_id = ports.new_id()
    pending = feedback.request_retraining(
        ports.dynamodb,
        ports.feedback_table,
        threshold=ports.threshold,
        request_id=request_id,
        now=utc_iso(now),
        stale_before=utc_iso(now - ports.request_stale_seconds),
    )
    if pending is None:
        return False
    detail = {
        "request_id": request_id,
        "model_name": ports.model_name,
        "trigger": "threshold",
        "pending_labels": pending,
        "threshold": ports.threshold,
        "requested_at": utc_iso(now),
    }
    event = DomainEvent.validated(
        "retraining_requested", source=SOURCE, detail_type=DETAIL_TYPE, detail=detail
    )
    if not EventPublisher(ports.events, ports.event_bus).publish([event]).ok:
        # The label is stored and counted; clearing the mark lets the next label (or the schedule) request again.
        feedback.withdraw_request(ports.dynamodb, ports.feedback_table, request_id)
        return False
    return True


def record(event: dict[str, Any], ports: Ports) -> Response:
    job_id, label = parse_body(event)
    job = _job(ports, job_id)
    image_key = _copy_image(ports, job_id)
    now = ports.clock()
    entry = feedback.Label(
        job_id=job_id,
        label=label,
        image_key=image_key,
        source="api",
        predicted_label=job.get("label"),
        model_version=job.get("model_version"),
    )
    try:
        feedback.record_label(ports.dynamodb, ports.feedback_table, entry, utc_iso(now))
    except feedback.Duplicate as duplicate:
        existing = duplicate.existing
        if existing is not None and existing.label != label:
            raise ApiError(
                409, "label_conflict", f"job {job_id} is already labelled {existing.label}"
            ) from None
        return Response(200, {"job_id": job_id, "label": label, "status": "duplicate"})
    requested = _request_retraining(ports, now)
    pending = feedback.state(ports.dynamodb, ports.feedback_table)["pending"]
    body = {
        "job_id": job_id,
        "label": label,
        "status": "recorded",
        "predicted_label": job.get("label"),
        "pending_labels": pending,
        "threshold": ports.threshold,
        "retraining_requested": requested,
    }
    return Response(201, body)


def route(event: dict[str, Any], ports: Ports) -> Response:
    try:
        if event.get("routeKey") != ROUTE:
            raise ApiError(404, "not_found", f"no route {event.get('routeKey')}")
        return record(event, ports)
    except ApiError as err:
        return err.response()
