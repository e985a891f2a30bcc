"""Pipeline 2 (fan-out routing): classify raw records by ``data_type`` into typed events.

Pure logic: no environment, no logging, no metrics; the S3 client comes in as an argument. Every record becomes
exactly one event:

* ``Record Routed`` (source ``sluice.router``) with ``data_type`` one of the routes, its detail validated
  against the contract ``record_routed_<data_type>`` (the producer side of the contract);
* ``Record Unroutable`` with a ``reason_code`` and a ``reason`` for everything else: not JSON, not an object,
  no usable ``record_id``, no ``data_type``, a ``data_type`` with no route, a payload that breaks its type's
  contract, a record too large for an event.

Message-level problems (a body that is no event we consume, a records file that is gone or too large) raise
``sluice.errors.PermanentError`` subclasses; anything else (S3 throttling, timeouts) propagates as transient.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError
from sluice.errors import InvalidEvent, ObjectNotFound, ObjectTooLarge, SchemaViolation
from sluice.events import S3ObjectRef, parse_s3_object_created
from sluice.publish import MAX_REQUEST_BYTES, DomainEvent

SOURCE = "sluice.router"
ROUTED = "Record Routed"
UNROUTABLE = "Record Unroutable"
SUBMITTED = "Record Submitted"
RECORDS_PREFIX = "records/"
DEFAULT_MAX_OBJECT_BYTES = 10 * 1024 * 1024

ROUTED_CONTRACT = "record_routed_{}"
UNROUTABLE_CONTRACT = "record_unroutable"

DATA_TYPE = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
RECORD_ID = re.compile(r"^[^\s]{1,256}$")
KEEP_RECORD_BYTES = 64 * 1024  # an unroutable event carries the record itself up to this size, else an excerpt
EXCERPT_CHARS = 1000
MAX_REASON = 1000

_NOT_FOUND = {"NoSuchKey", "NoSuchVersion", "404"}
_PRECONDITION_FAILED = {"PreconditionFailed", "412"}


def utc_now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class Routes:
    """The data types that have a route (the keys of the Terraform routes map, in ROUTED_TYPES)."""

    types: frozenset[str]

    @classmethod
    def parse(cls, text: str) -> Routes:
        types = frozenset(t.strip() for t in text.split(",") if t.strip())
        bad = sorted(t for t in types if not DATA_TYPE.match(t))
        if bad:
            raise ValueError(f"invalid data types {bad}: use [a-z][a-z0-9_]*")
        if not types:
            raise ValueError("no routes")
        return cls(types)

    def __str__(self) -> str:
        return ", ".join(sorted(self.types))


# ------------------------------------------------------------------------------------------------ inputs


@dataclass(frozen=True)
class Submitted:
    """One record from a "Record Submitted" event."""

    record: Any
    event_id: str
    source: str

    @property
    def origin(self) -> dict[str, Any]:
        return {"kind": "event", "event_id": self.event_id, "source": self.source}

    @property
    def fallback_id(self) -> str:
        return f"event:{self.event_id}"


@dataclass(frozen=True)
class RecordsFile:
    """A JSON-lines file of records that landed under records/."""

    ref: S3ObjectRef


def parse_message(body: str) -> Submitted | RecordsFile:
    """The SQS body (an EventBridge event) -> what to route. Raises InvalidEvent for anything else."""
    try:
        event = json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise InvalidEvent(f"message body is not JSON: {str(exc)[:200]}") from None
    if not isinstance(event, dict):
        raise InvalidEvent("message body is not a JSON object")
    if event.get("source") == "aws.s3":
        return RecordsFile(parse_s3_object_created(event))
    if event.get("detail-type") == SUBMITTED:
        event_id = event.get("id")
        if not isinstance(event_id, str) or not event_id:
            raise InvalidEvent("a Record Submitted event without an id")
        return Submitted(record=event.get("detail"), event_id=event_id, source=str(event.get("source", "")))
    raise InvalidEvent(
        f"expected a '{SUBMITTED}' event or an S3 'Object Created' event, got detail-type="
        f"{event.get('detail-type')!r} source={event.get('source')!r}"
    )


def fetch_records_file(s3: Any, ref: S3ObjectRef, max_bytes: int) -> bytes | None:
    """The file's bytes (pinned to the event's version or ETag); None if it was overwritten since the event."""
    if ref.size is not None and ref.size > max_bytes:
        raise ObjectTooLarge(f"records file is {ref.size} bytes; the limit is {max_bytes}")
    params: dict[str, Any] = {"Bucket": ref.bucket, "Key": ref.key}
    if ref.version_id:
        params["VersionId"] = ref.version_id
    else:
        params["IfMatch"] = f'"{ref.etag}"'
    try:
        response = s3.get_object(**params)
    except ClientError as exc:
        code = str(exc.response.get("Error", {}).get("Code", ""))
        if code in _NOT_FOUND:
            raise ObjectNotFound(f"{ref.uri} (version {ref.version_id or ref.etag}) does not exist: {code}") from None
        if code in _PRECONDITION_FAILED:
            return None
        raise
    body = response["Body"]
    try:
        data = body.read(max_bytes + 1)
    finally:
        body.close()
    if len(data) > max_bytes:
        raise ObjectTooLarge(f"records file is larger than the limit of {max_bytes} bytes")
    return data


@dataclass(frozen=True)
class Line:
    number: int  # 1-based, counting every line of the file
    value: Any = None
    error: str | None = None  # why the line is not a JSON value
    text: str = ""


def read_lines(data: bytes) -> Iterator[Line]:
    """JSON lines: one value per line; blank lines are skipped; a line that is not JSON is an error line."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    for number, raw in enumerate(data.split(b"\n"), start=1):
        raw = raw.rstrip(b"\r")
        if not raw.strip():
            continue
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            yield Line(number, error=f"line is not UTF-8: {exc.reason} at byte {exc.start}", text=raw.decode("utf-8", "replace"))
            continue
        try:
            yield Line(number, value=json.loads(text, parse_constant=_reject_constant), text=text)
        except (ValueError, RecursionError) as exc:
            yield Line(number, error=f"line is not valid JSON: {str(exc)[:200]}", text=text)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def file_origin(ref: S3ObjectRef, line: int) -> dict[str, Any]:
    return {"kind": "file", "bucket": ref.bucket, "key": ref.key, "etag": ref.etag, "line": line}


def line_record_id(ref: S3ObjectRef, line: int) -> str:
    """The id of a line whose record_id cannot be read: stable for the file version and line."""
    readable = f"s3://{ref.bucket}/{ref.key}#{ref.etag}:L{line}"
    if len(readable) <= 512:
        return readable
    return "file:" + hashlib.sha256(readable.encode("utf-8", "surrogatepass")).hexdigest() + f":L{line}"


# ------------------------------------------------------------------------------------------------ classification


def _excerpt(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    return text[:EXCERPT_CHARS]


def unroutable(
    *,
    record_id: str,
    reason_code: str,
    reason: str,
    origin: dict[str, Any],
    routed_at: str,
    record: Any = None,
    record_text: str | None = None,
    tag: Any = None,
) -> DomainEvent:
    """A "Record Unroutable" event: the record (or an excerpt) with the reason it could not be routed."""
    detail: dict[str, Any] = {
        "record_id": record_id,
        "reason_code": reason_code,
        "reason": reason[:MAX_REASON] or reason_code,
        "routed_at": routed_at,
        "origin": origin,
    }
    if isinstance(record, dict):
        data_type = record.get("data_type")
        if isinstance(data_type, str) and data_type:
            detail["data_type"] = data_type[:256]
        if isinstance(record.get("submitted_at"), str):
            detail["submitted_at"] = record["submitted_at"][:64]
    if record_text is not None:
        detail["record_excerpt"] = record_text[:EXCERPT_CHARS]
    elif record is not None:
        try:
            encoded = json.dumps(record, ensure_ascii=False, allow_nan=False)
        except (TypeError, ValueError):  # e.g. NaN: keep what can be shown
            encoded = ""
            detail["record_excerpt"] = repr(record)[:EXCERPT_CHARS]
        if encoded and len(encoded.encode("utf-8")) <= KEEP_RECORD_BYTES:
            detail["record"] = record
        elif encoded:
            detail["record_excerpt"] = encoded[:EXCERPT_CHARS]
    return DomainEvent.validated(UNROUTABLE_CONTRACT, source=SOURCE, detail_type=UNROUTABLE, detail=detail, tag=tag)


def unroutable_key(event: DomainEvent) -> str:
    """What makes two "Record Unroutable" events the same announcement: the record and the submission it came in
    (an event id, or a file version and line). A redelivered message yields the same key; a new submission does not."""
    return json.dumps([event.detail.get("record_id"), event.detail.get("origin")], sort_keys=True, separators=(",", ":"))


def classify(
    record: Any,
    *,
    origin: dict[str, Any],
    fallback_id: str,
    routes: Routes,
    routed_at: str,
    tag: Any = None,
) -> DomainEvent:
    """One raw record -> a "Record Routed" event for its type, or a "Record Unroutable" event saying why."""

    def reject(code: str, reason: str, record_id: str) -> DomainEvent:
        return unroutable(
            record_id=record_id, reason_code=code, reason=reason, origin=origin, routed_at=routed_at, record=record, tag=tag
        )

    if not isinstance(record, dict):
        return reject("invalid_record", f"a record must be a JSON object, got {type(record).__name__}", fallback_id)
    record_id = record.get("record_id")
    if not isinstance(record_id, str) or not RECORD_ID.match(record_id):
        return reject("invalid_record", "record_id is missing or not 1-256 non-blank characters", fallback_id)
    if record.get("data_type") is None:
        return reject("missing_data_type", "the record has no data_type", record_id)
    data_type = record["data_type"]
    if not isinstance(data_type, str) or not DATA_TYPE.match(data_type):
        return reject("invalid_data_type", f"data_type must match [a-z][a-z0-9_]{{0,31}}, got {_excerpt(data_type)[:80]!r}", record_id)
    if data_type not in routes.types:
        return reject("unknown_data_type", f"no route for data_type {data_type!r} (routes: {routes})", record_id)
    detail: dict[str, Any] = {
        "record_id": record_id,
        "data_type": data_type,
        "payload": record.get("payload"),
        "routed_at": routed_at,
        "origin": origin,
    }
    for optional in ("submitted_at", "producer"):
        if optional in record:
            detail[optional] = record[optional]
    try:
        event = DomainEvent.validated(ROUTED_CONTRACT.format(data_type), source=SOURCE, detail_type=ROUTED, detail=detail, tag=tag)
    except SchemaViolation as exc:
        return reject("schema_violation", exc.reason, record_id)
    except LookupError:
        return reject("unknown_data_type", f"data_type {data_type!r} has a route but no contract", record_id)
    except (TypeError, ValueError) as exc:  # not encodable as JSON (e.g. NaN)
        return reject("invalid_record", f"the record cannot be encoded as JSON: {exc}", record_id)
    if event.size > MAX_REQUEST_BYTES:
        return reject("too_large", f"the routed event would be {event.size} bytes; EventBridge allows {MAX_REQUEST_BYTES}", record_id)
    return event


def rejected(failure_event: DomainEvent, code: str, message: str, routed_at: str) -> DomainEvent:
    """The bus refused a routed event for good (e.g. InvalidArgument): route the record to unroutable instead."""
    detail = failure_event.detail
    record = {k: detail[k] for k in ("record_id", "data_type", "payload", "submitted_at") if k in detail}
    return unroutable(
        record_id=str(detail.get("record_id", "unknown")),
        reason_code="rejected" if code != "EntryTooLarge" else "too_large",
        reason=f"EventBridge refused the routed event: {code}: {message}",
        origin=detail.get("origin") or {"kind": "event"},
        routed_at=routed_at,
        record=record,
        tag=failure_event.tag,
    )


def route_message(
    body: str,
    *,
    s3: Any,
    routes: Routes,
    max_object_bytes: int = DEFAULT_MAX_OBJECT_BYTES,
    routed_at: str | None = None,
    tag: Any = None,
) -> list[DomainEvent]:
    """Every record of one SQS message -> its event. A records file that was overwritten since its event gives
    no events (the newer version has its own event)."""
    routed_at = routed_at or utc_now_iso()
    submission = parse_message(body)
    if isinstance(submission, Submitted):
        return [
            classify(
                submission.record,
                origin=submission.origin,
                fallback_id=submission.fallback_id,
                routes=routes,
                routed_at=routed_at,
                tag=tag,
            )
        ]
    ref = submission.ref
    data = fetch_records_file(s3, ref, max_object_bytes)
    if data is None:
        return []
    events = []
    for line in read_lines(data):
        origin = file_origin(ref, line.number)
        if line.error is not None:
            events.append(
                unroutable(
                    record_id=line_record_id(ref, line.number),
                    reason_code="invalid_json",
                    reason=line.error,
                    origin=origin,
                    routed_at=routed_at,
                    record_text=line.text,
                    tag=tag,
                )
            )
            continue
        events.append(
            classify(line.value, origin=origin, fallback_id=line_record_id(ref, line.number), routes=routes, routed_at=routed_at, tag=tag)
        )
    return events
