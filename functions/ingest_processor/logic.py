"""Pipeline 1 (event-triggered processing): one landed order object -> processed JSON + a result item.

Pure logic: AWS clients and names come in through ``Ports``; nothing here reads the environment, logs or emits
metrics. Every input problem raises a ``sluice.errors.PermanentError`` subclass; anything else (throttling, a
missing output bucket, timeouts) propagates unchanged and is treated as transient by the caller.

Writes are conditional, so a redelivered event never writes anything twice:

* output object ``processed/<key without incoming/>`` with ``IfNoneMatch="*"``; if it exists already and was
  produced from the same source ETag (object metadata ``source-etag``) it is kept as is;
* result item with ``attribute_not_exists(object_key)``; if it exists with the same ETag it is kept as is.

The first version of a landing key wins: a *different* version of an already processed key is an
``OutputConflict`` (dead-lettered for an operator to decide), never a silent overwrite.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal, localcontext
from typing import Any

from botocore.exceptions import ClientError
from sluice import contracts
from sluice.errors import (
    EmptyObject,
    InvalidEncoding,
    InvalidJson,
    ObjectNotFound,
    ObjectTooLarge,
    OutputConflict,
    SchemaViolation,
)
from sluice.events import S3ObjectRef

INCOMING_PREFIX = "incoming/"
PROCESSED_PREFIX = "processed/"
CONTRACT = "order"
DEFAULT_MAX_OBJECT_BYTES = 1_048_576
CENTS = Decimal("0.01")

# Object metadata on the processed output (S3 user metadata must be ASCII: ETags and timestamps are).
META_SOURCE_ETAG = "source-etag"
META_PROCESSED_AT = "processed-at"

STATUS_PROCESSED = "processed"
STATUS_DUPLICATE = "duplicate"
STATUS_SUPERSEDED = "superseded"

_NOT_FOUND = {"NoSuchKey", "NoSuchVersion", "404"}
_PRECONDITION_FAILED = {"PreconditionFailed", "412"}


def utc_now() -> datetime:
    return datetime.now(UTC)


def iso(ts: datetime) -> str:
    return ts.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class Ports:
    """What the logic needs from the outside world."""

    s3: Any
    dynamodb: Any
    output_bucket: str
    results_table: str
    max_object_bytes: int = DEFAULT_MAX_OBJECT_BYTES
    clock: Callable[[], datetime] = field(default=utc_now)


@dataclass(frozen=True)
class Totals:
    total_items: int
    total_value: Decimal
    item_count: int


# --------------------------------------------------------------------------------------------- pure steps


def output_key_for(key: str) -> str:
    return PROCESSED_PREFIX + key.removeprefix(INCOMING_PREFIX)


def compute_totals(items: Iterable[Mapping[str, Any]]) -> Totals:
    """Σ quantity, Σ quantity * price rounded half-up to cents (exact decimal arithmetic), number of lines."""
    total_items = 0
    item_count = 0
    with localcontext() as ctx:
        ctx.prec = 50
        value = Decimal(0)
        for item in items:
            quantity = int(item["quantity"])
            total_items += quantity
            value += quantity * _decimal(item["price"])
            item_count += 1
        total_value = value.quantize(CENTS, rounding=ROUND_HALF_UP)
    return Totals(total_items=total_items, total_value=total_value, item_count=item_count)


def _decimal(number: int | float | Decimal) -> Decimal:
    # str() of a float is its shortest round-trip repr, i.e. the literal that was in the JSON document.
    return number if isinstance(number, Decimal) else Decimal(str(number))


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _finite_float(literal: str) -> float:
    value = float(literal)
    if not math.isfinite(value):
        raise ValueError(f"number {literal[:40]} is out of range")
    return value


def parse_order(body: bytes) -> dict[str, Any]:
    """Bytes of a landed object -> a validated order. Raises only PermanentError subclasses."""
    if not body:
        raise EmptyObject("object is empty")
    try:
        text = body.decode("utf-8-sig")  # UTF-8, with an optional byte order mark
    except UnicodeDecodeError as exc:
        raise InvalidEncoding(f"object is not UTF-8: {exc.reason} at byte {exc.start}") from None
    if not text.strip():
        raise EmptyObject("object contains only whitespace")
    try:
        data = json.loads(text, parse_constant=_reject_constant, parse_float=_finite_float)
    except RecursionError:
        raise InvalidJson("JSON nested too deeply") from None
    except ValueError as exc:  # json.JSONDecodeError, huge integers, NaN/Infinity
        raise InvalidJson(f"object is not valid JSON: {str(exc)[:200]}") from None
    contracts.validate(CONTRACT, data)
    for name in ("order_id", "customer_id", "category"):
        _require_unicode(data[name], name)
    return data


def _require_unicode(value: str, name: str) -> None:
    # JSON escapes can smuggle lone surrogates ("\ud800") that no UTF-8 store accepts.
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise SchemaViolation(f"{CONTRACT}: data.{name} is not valid Unicode text") from None


def build_output(
    order: Mapping[str, Any], totals: Totals, ref: S3ObjectRef, processed_at: str
) -> dict[str, Any]:
    """The processed document: the order as uploaded plus totals and provenance (computed fields win)."""
    output = dict(order)
    output.update(
        total_items=totals.total_items,
        # Exact: the contract bounds totals to < 1e12, i.e. <= 15 significant digits with cents.
        total_value=float(totals.total_value),
        item_count=totals.item_count,
        processed_at=processed_at,
        source_bucket=ref.bucket,
        source_key=ref.key,
        source_etag=ref.etag,
    )
    if ref.version_id:
        output["source_version_id"] = ref.version_id
    return output


def result_item(
    order: Mapping[str, Any], totals: Totals, ref: S3ObjectRef, output_key: str, processed_at: str
) -> dict[str, Any]:
    """The results-table item (DynamoDB attribute values)."""
    item = {
        "object_key": {"S": ref.key},
        "etag": {"S": ref.etag},
        "order_id": {"S": order["order_id"]},
        "customer_id": {"S": order["customer_id"]},
        "category": {"S": order["category"]},
        "total_items": {"N": str(totals.total_items)},
        "total_value": {"N": str(totals.total_value)},
        "item_count": {"N": str(totals.item_count)},
        "processed_at": {"S": processed_at},
        "output_key": {"S": output_key},
        "source_bucket": {"S": ref.bucket},
    }
    if ref.version_id:
        item["version_id"] = {"S": ref.version_id}
    return item


# ------------------------------------------------------------------------------------------------- adapters


def _error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def fetch_object(s3: Any, ref: S3ObjectRef, max_bytes: int) -> bytes | None:
    """The object's bytes; None if the key was overwritten since the event (a newer event will follow).

    The version is pinned by ``VersionId`` when the event has one, otherwise by ``If-Match`` on the event's ETag,
    so the bytes processed are always the bytes the event (and the idempotency key) describe.
    """
    if ref.size is not None and ref.size > max_bytes:
        raise ObjectTooLarge(f"object is {ref.size} bytes; the limit is {max_bytes}")
    params: dict[str, Any] = {"Bucket": ref.bucket, "Key": ref.key}
    if ref.version_id:
        params["VersionId"] = ref.version_id
    else:
        params["IfMatch"] = f'"{ref.etag}"'
    try:
        response = s3.get_object(**params)
    except ClientError as exc:
        code = _error_code(exc)
        if code in _NOT_FOUND:
            raise ObjectNotFound(
                f"{ref.uri} (version {ref.version_id or ref.etag}) does not exist: {code}"
            ) from None
        if code in _PRECONDITION_FAILED:
            return None
        raise
    body = response["Body"]
    try:
        length = response.get("ContentLength")
        if length is not None and length > max_bytes:
            raise ObjectTooLarge(f"object is {length} bytes; the limit is {max_bytes}")
        data = body.read(max_bytes + 1)
    finally:
        body.close()
    if len(data) > max_bytes:
        raise ObjectTooLarge(f"object is larger than the limit of {max_bytes} bytes")
    return data


def write_output(
    s3: Any, *, bucket: str, key: str, document: Mapping[str, Any], source_etag: str, processed_at: str
) -> tuple[bool, str]:
    """Create the output object once. Returns (written, processed_at of the object that is in place)."""
    body = json.dumps(document, separators=(",", ":")).encode("utf-8")
    try:
        s3.put_object(
            Bucket=bucket,
            Key=key,
            Body=body,
            ContentType="application/json",
            Metadata={META_SOURCE_ETAG: source_etag, META_PROCESSED_AT: processed_at},
            IfNoneMatch="*",
        )
        return True, processed_at
    except ClientError as exc:
        if _error_code(exc) not in _PRECONDITION_FAILED:
            raise
    metadata = s3.head_object(Bucket=bucket, Key=key).get("Metadata", {})
    existing_etag = metadata.get(META_SOURCE_ETAG)
    if existing_etag != source_etag:
        raise OutputConflict(
            f"s3://{bucket}/{key} already exists, produced from ETag {existing_etag!r}, not {source_etag!r}; "
            "upload changed content under a new key"
        )
    return False, metadata.get(META_PROCESSED_AT, processed_at)


def write_result(dynamodb: Any, *, table: str, item: Mapping[str, Any]) -> bool:
    """Create the result item once. Returns whether it was written (False: already there, same ETag)."""
    try:
        dynamodb.put_item(
            TableName=table,
            Item=item,
            ConditionExpression="attribute_not_exists(object_key)",
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
        return True
    except ClientError as exc:
        if _error_code(exc) != "ConditionalCheckFailedException":
            raise
        existing = exc.response.get("Item")
    if existing is None:  # older endpoints do not return the item
        existing = dynamodb.get_item(
            TableName=table, Key={"object_key": item["object_key"]}, ConsistentRead=True
        ).get("Item", {})
    existing_etag = existing.get("etag", {}).get("S")
    if existing_etag != item["etag"]["S"]:
        raise OutputConflict(
            f"result for {item['object_key']['S']} already recorded from ETag {existing_etag!r}, "
            f"not {item['etag']['S']!r}"
        )
    return False


# --------------------------------------------------------------------------------------------- the use case


def process_object(ref: S3ObjectRef, ports: Ports) -> dict[str, Any]:
    """Fetch, validate, transform and store one landed object. Returns a JSON-serialisable summary."""
    output_key = output_key_for(ref.key)
    summary: dict[str, Any] = {"object_key": ref.key, "etag": ref.etag, "output_key": output_key}
    body = fetch_object(ports.s3, ref, ports.max_object_bytes)
    if body is None:
        return {**summary, "status": STATUS_SUPERSEDED}
    order = parse_order(body)
    totals = compute_totals(order["items"])
    processed_at = iso(ports.clock())
    wrote_output, processed_at = write_output(
        ports.s3,
        bucket=ports.output_bucket,
        key=output_key,
        document=build_output(order, totals, ref, processed_at),
        source_etag=ref.etag,
        processed_at=processed_at,
    )
    wrote_result = write_result(
        ports.dynamodb,
        table=ports.results_table,
        item=result_item(order, totals, ref, output_key, processed_at),
    )
    return {
        **summary,
        "status": STATUS_PROCESSED if (wrote_output or wrote_result) else STATUS_DUPLICATE,
        "order_id": order["order_id"],
        "total_items": totals.total_items,
        "total_value": str(totals.total_value),
        "item_count": totals.item_count,
        "bytes": len(body),
        "processed_at": processed_at,
    }
