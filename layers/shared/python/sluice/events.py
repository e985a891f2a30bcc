"""Small, strict models of the AWS events sluice functions consume.

Plain dataclasses on purpose: parsing an event costs microseconds and importing this module does not pull
pydantic in (~100-250 ms of cold start); Powertools' parser models stay available in the layer for functions
that want them.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote_plus

from .errors import InvalidEvent

__all__ = ["S3ObjectRef", "parse_s3_object_created"]


@dataclass(frozen=True)
class S3ObjectRef:
    """One S3 object version named by an "Object Created" event. ``key`` is already URL-decoded."""

    bucket: str
    key: str
    etag: str
    version_id: str | None = None
    size: int | None = None
    sequencer: str | None = None
    event_id: str | None = None
    event_time: str | None = None  # ISO 8601, UTC
    request_id: str | None = None

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.key}"

    @property
    def item_id(self) -> str:
        """Stable identity of this object version: ``<bucket>/<key>#<etag>``."""
        return f"{self.bucket}/{self.key}#{self.etag}"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> S3ObjectRef:
        return cls(**data)


def _require(mapping: Any, name: str, path: str) -> Any:
    if not isinstance(mapping, dict) or name not in mapping:
        raise InvalidEvent(f"missing field {path}{name}")
    return mapping[name]


def _require_str(mapping: Any, name: str, path: str) -> str:
    value = _require(mapping, name, path)
    if not isinstance(value, str) or not value:
        raise InvalidEvent(f"field {path}{name} must be a non-empty string")
    return value


def _event_time(value: Any) -> str | None:
    # AWS sends an ISO 8601 string; moto's S3 -> EventBridge integration sends epoch seconds.
    try:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            parsed = datetime.fromtimestamp(value, tz=UTC)
        elif isinstance(value, str) and value:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        else:
            return None
    except (ValueError, OverflowError, OSError):
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_s3_object_created(body: str | bytes | dict[str, Any]) -> S3ObjectRef:
    """Parse an EventBridge "Object Created" event from ``aws.s3`` (the body of an SQS record).

    The object key is URL-decoded the way AWS documents for S3 event notifications (``unquote_plus``: ``+`` is a
    space, ``%XX`` an escaped byte). The ETag is required: it identifies the object version for idempotency.
    ``eTag`` (moto's spelling) is accepted as well as ``etag``.

    Raises InvalidEvent for anything else.
    """
    if isinstance(body, dict):
        event: Any = body
    else:
        try:
            event = json.loads(body)
        except (ValueError, RecursionError) as exc:
            raise InvalidEvent(f"message body is not JSON: {exc}") from None
    if not isinstance(event, dict):
        raise InvalidEvent("message body is not a JSON object")
    source = event.get("source")
    detail_type = event.get("detail-type")
    if source != "aws.s3" or detail_type != "Object Created":
        raise InvalidEvent(
            f"expected an 'Object Created' event from 'aws.s3', got detail-type={detail_type!r} "
            f"source={source!r}"
        )
    detail = _require(event, "detail", "")
    bucket = _require_str(_require(detail, "bucket", "detail."), "name", "detail.bucket.")
    obj = _require(detail, "object", "detail.")
    key = unquote_plus(_require_str(obj, "key", "detail.object."))
    etag = obj.get("etag", obj.get("eTag")) if isinstance(obj, dict) else None
    if not isinstance(etag, str) or not etag.strip('"'):
        raise InvalidEvent("field detail.object.etag must be a non-empty string")
    size = obj.get("size")
    if size is not None and (isinstance(size, bool) or not isinstance(size, int) or size < 0):
        raise InvalidEvent("field detail.object.size must be a non-negative integer")
    version_id = obj.get("version-id")
    if version_id is not None and (not isinstance(version_id, str) or not version_id):
        raise InvalidEvent("field detail.object.version-id must be a non-empty string when present")
    sequencer = obj.get("sequencer")
    event_id = event.get("id")
    request_id = detail.get("request-id")
    return S3ObjectRef(
        bucket=bucket,
        key=key,
        etag=etag.strip('"'),
        version_id=version_id,
        size=size,
        sequencer=sequencer if isinstance(sequencer, str) else None,
        event_id=event_id if isinstance(event_id, str) else None,
        event_time=_event_time(event.get("time")),
        request_id=request_id if isinstance(request_id, str) else None,
    )
