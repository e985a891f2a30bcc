"""Prediction jobs (pipeline 3, async ML inference): the job record both the API and the worker read and write,
its states, and what a client is shown.

Jobs table (``JOBS_TABLE``): hash key ``job_id`` (S, 32 hex digits), TTL attribute ``expires_at`` (epoch s).

States::

    awaiting_upload --(the client PUTs the image to the presigned URL)--> queued ... as below
    queued --(worker)--> succeeded | failed

``queued`` is written by the API when it has the image (inline) and ``awaiting_upload`` when it handed out an
upload URL; only the worker moves a job to ``succeeded`` or ``failed``, with a conditional update from
``awaiting_upload``/``queued`` (so a redelivered message changes nothing), or from ``failed`` with
``retries_exhausted`` (a message an operator redrove from the DLQ). An ``awaiting_upload`` job whose URL
expired unused is shown as ``expired``; the TTL removes every job ``JOB_TTL_SECONDS`` after it was created.

The image lives at ``s3://<inputs bucket>/inputs/<job_id>`` whichever way it came.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

__all__ = [
    "AWAITING_UPLOAD",
    "EVENT_DETAIL_TYPE",
    "EVENT_SOURCE",
    "FAILED",
    "INPUT_PREFIX",
    "QUEUED",
    "RETRIES_EXHAUSTED",
    "SUCCEEDED",
    "SUPPORTED_MEDIA_TYPES",
    "input_key",
    "is_job_id",
    "job_id_from_key",
    "sniff",
    "view",
]

AWAITING_UPLOAD = "awaiting_upload"
QUEUED = "queued"
SUCCEEDED = "succeeded"
FAILED = "failed"
EXPIRED = "expired"  # shown only: an awaiting_upload job past its upload URL's expiry
RETRIES_EXHAUSTED = "retries_exhausted"

INPUT_PREFIX = "inputs/"
EVENT_SOURCE = "sluice.inference"
EVENT_DETAIL_TYPE = "PredictionCompleted"
SUPPORTED_MEDIA_TYPES = ("image/png", "image/jpeg")

_JOB_ID = re.compile(r"^[0-9a-f]{32}$")

# Magic numbers: what the bytes are, whatever the request said.
_SIGNATURES = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"BM", "image/bmp"),
    (b"II*\x00", "image/tiff"),
    (b"MM\x00*", "image/tiff"),
    (b"\x00\x00\x01\x00", "image/x-icon"),
)


def sniff(data: bytes) -> str | None:
    """The image media type the bytes are (PNG, JPEG or another format we recognise), or None."""
    for signature, media_type in _SIGNATURES:
        if data.startswith(signature):
            return media_type
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def is_job_id(value: Any) -> bool:
    return isinstance(value, str) and bool(_JOB_ID.match(value))


def input_key(job_id: str) -> str:
    return f"{INPUT_PREFIX}{job_id}"


def job_id_from_key(key: str) -> str | None:
    """The job an input object belongs to (None when the key is not inputs/<job id>)."""
    job_id = key.removeprefix(INPUT_PREFIX) if key.startswith(INPUT_PREFIX) else ""
    return job_id if is_job_id(job_id) else None


def _plain(value: Any) -> Any:
    """A DynamoDB (resource-style) value as JSON: Decimals become int or float."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def from_dynamodb(item: dict[str, Any]) -> dict[str, Any]:
    """A low-level DynamoDB item ({"S": ...}, {"N": ...}, ...) as plain Python values."""

    def convert(value: dict[str, Any]) -> Any:
        (kind, raw), = value.items()
        if kind == "S":
            return raw
        if kind == "N":
            number = Decimal(raw)
            return int(number) if number == number.to_integral_value() else float(number)
        if kind == "BOOL":
            return bool(raw)
        if kind == "NULL":
            return None
        if kind == "L":
            return [convert(v) for v in raw]
        if kind == "M":
            return {k: convert(v) for k, v in raw.items()}
        return raw

    return {key: convert(value) for key, value in item.items()}


def view(job: dict[str, Any], now_epoch: float) -> dict[str, Any]:
    """What GET /predictions/{id} shows for a job record (plain values, see ``from_dynamodb``)."""
    job = _plain(job)
    status = job["status"]
    if status == AWAITING_UPLOAD and now_epoch > float(job.get("upload_expires_at") or 0):
        status = EXPIRED
    shown: dict[str, Any] = {"job_id": job["job_id"], "status": status, "created_at": job.get("created_at")}
    if job.get("completed_at"):
        shown["completed_at"] = job["completed_at"]
    if job["status"] == SUCCEEDED:
        shown["result"] = {
            "label": job["label"],
            "confidence": job["confidence"],
            "probabilities": job.get("probabilities", []),
        }
    if job["status"] == FAILED:
        shown["error"] = {"code": job.get("error_code"), "reason": job.get("reason")}
    if job.get("model_version"):
        shown["model"] = {"name": job.get("model_name"), "version": job["model_version"]}
    return shown
