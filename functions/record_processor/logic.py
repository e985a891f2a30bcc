"""Pipeline 2 (fan-out routing): the per-type processors' pure steps.

* ``parse_routed``: the SQS body (an EventBridge "Record Routed" event) checked at the edge: its envelope, that
  it carries this processor's data type (``WrongRoute`` otherwise: the routing rules are wrong), and the
  type's contract ``record_routed_<type>``;
* ``SUMMARIZERS``: one function per data type (a new route needs one here and a contract in the layer);
* ``write_result``: the result item, created once (``attribute_not_exists(record_id)``): a duplicate delivery
  of the same record writes nothing; the same record_id with another data type is an ``OutputConflict``.

Every input problem raises a ``sluice.errors.PermanentError`` subclass; anything else is transient.
"""

from __future__ import annotations

import collections
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError
from sluice import contracts
from sluice.errors import InvalidEvent, OutputConflict, PermanentError, SchemaViolation

ROUTER_SOURCE = "sluice.router"
ROUTED = "Record Routed"
CONTRACT = "record_routed_{}"

STATUS_PROCESSED = "processed"
STATUS_DUPLICATE = "duplicate"


class WrongRoute(PermanentError):
    """An event of another data type reached this processor: a routing rule matches what it should not."""

    code = "wrong_route"
    stage = "route"


def utc_now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class Routed:
    event_id: str
    detail: dict[str, Any]

    @property
    def record_id(self) -> str:
        return str(self.detail["record_id"])

    @property
    def data_type(self) -> str:
        return str(self.detail["data_type"])


def parse_routed(body: str, data_type: str) -> Routed:
    try:
        event = json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise InvalidEvent(f"message body is not JSON: {str(exc)[:200]}") from None
    if not isinstance(event, dict) or event.get("source") != ROUTER_SOURCE or event.get("detail-type") != ROUTED:
        got = (event.get("source"), event.get("detail-type")) if isinstance(event, dict) else type(event).__name__
        raise InvalidEvent(f"expected a '{ROUTED}' event from {ROUTER_SOURCE}, got {got}")
    detail = event.get("detail")
    if not isinstance(detail, dict):
        raise InvalidEvent("the event has no detail object")
    got_type = detail.get("data_type")
    if got_type != data_type:
        raise WrongRoute(f"this is the {data_type} processor; it received data_type {got_type!r}")
    contracts.validate(CONTRACT.format(data_type), detail)
    return Routed(event_id=str(event.get("id", "")), detail=detail)


def record_id_of(body: str) -> str | None:
    """The record_id in a message body, if one can be read (to key a failure record on it)."""
    try:
        record_id = json.loads(body)["detail"]["record_id"]
    except (ValueError, RecursionError, KeyError, TypeError):
        return None
    return record_id if isinstance(record_id, str) and 0 < len(record_id) <= 256 else None


# ------------------------------------------------------------------------------------------------ summarisers

_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?", re.UNICODE)


def summarize_image(payload: Mapping[str, Any]) -> dict[str, Any]:
    width, height = int(payload["width"]), int(payload["height"])
    orientation = "square" if width == height else ("landscape" if width > height else "portrait")
    return {
        "format": payload["format"],
        "megapixels": round(width * height / 1_000_000, 3),
        "aspect_ratio": round(width / height, 4),
        "orientation": orientation,
        "labels": len(payload.get("labels", [])),
    }


def summarize_text(payload: Mapping[str, Any]) -> dict[str, Any]:
    text = str(payload["text"])
    words = [w.lower() for w in _WORD.findall(text)]
    common = collections.Counter(w for w in words if len(w) >= 3).most_common(3)
    return {
        "characters": len(text),
        "words": len(words),
        "lines": text.count("\n") + 1,
        "top_words": [w for w, _ in common],
        "language": payload.get("language"),
    }


def summarize_tabular(payload: Mapping[str, Any]) -> dict[str, Any]:
    columns = list(payload["columns"])
    rows = payload["rows"]
    for index, row in enumerate(rows):
        if len(row) != len(columns):
            raise SchemaViolation(f"rows[{index}] has {len(row)} cells; the header has {len(columns)} columns")
    stats = {}
    for position, name in enumerate(columns):
        numbers = [r[position] for r in rows if isinstance(r[position], (int, float)) and not isinstance(r[position], bool)]
        if numbers:
            stats[name] = {
                "min": min(numbers),
                "max": max(numbers),
                "mean": round(sum(numbers) / len(numbers), 6),
                "count": len(numbers),
            }
    return {"rows": len(rows), "columns": len(columns), "numeric_columns": stats}


SUMMARIZERS: dict[str, Callable[[Mapping[str, Any]], dict[str, Any]]] = {
    "image": summarize_image,
    "text": summarize_text,
    "tabular": summarize_tabular,
}


def summarize(data_type: str, payload: Mapping[str, Any]) -> dict[str, Any]:
    try:
        summarizer = SUMMARIZERS[data_type]
    except KeyError:
        raise PermanentError(f"no summariser for data_type {data_type!r}", code="unsupported_type") from None
    return summarizer(payload)


# ------------------------------------------------------------------------------------------------ the result


def result_item(routed: Routed, summary: Mapping[str, Any], processed_by: str, processed_at: str) -> dict[str, Any]:
    detail = routed.detail
    item = {
        "record_id": {"S": routed.record_id},
        "data_type": {"S": routed.data_type},
        "processed_by": {"S": processed_by},
        "processed_at": {"S": processed_at},
        "routed_at": {"S": str(detail["routed_at"])},
        "event_id": {"S": routed.event_id or "-"},
        "origin": {"S": json.dumps(detail["origin"], sort_keys=True)},
        "summary": {"S": json.dumps(summary, sort_keys=True)},
    }
    if isinstance(detail.get("submitted_at"), str):
        item["submitted_at"] = {"S": detail["submitted_at"]}
    return item


def write_result(dynamodb: Any, table: str, item: Mapping[str, Any]) -> bool:
    """Create the result once. True if written; False if this record was already processed (same type)."""
    try:
        dynamodb.put_item(
            TableName=table,
            Item=item,
            ConditionExpression="attribute_not_exists(record_id)",
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
        return True
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
            raise
        existing = exc.response.get("Item")
    if existing is None:
        existing = dynamodb.get_item(TableName=table, Key={"record_id": item["record_id"]}, ConsistentRead=True).get("Item", {})
    existing_type = existing.get("data_type", {}).get("S")
    if existing_type != item["data_type"]["S"]:
        raise OutputConflict(
            f"record {item['record_id']['S']} was already processed as {existing_type!r}, not {item['data_type']['S']!r}"
        )
    return False


@dataclass(frozen=True)
class Ports:
    dynamodb: Any
    results_table: str
    processed_by: str
    clock: Callable[[], str] = utc_now_iso


def process(routed: Routed, ports: Ports) -> dict[str, Any]:
    summary = summarize(routed.data_type, routed.detail["payload"])
    written = write_result(
        ports.dynamodb, ports.results_table, result_item(routed, summary, ports.processed_by, ports.clock())
    )
    return {
        "record_id": routed.record_id,
        "data_type": routed.data_type,
        "status": STATUS_PROCESSED if written else STATUS_DUPLICATE,
        "summary": summary,
    }
