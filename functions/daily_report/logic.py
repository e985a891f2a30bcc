"""Scheduled daily report (seed 001, pattern 5): yesterday's processed objects of the ingest pipeline,
aggregated by category, written once per day to the output bucket.

The day is taken from the triggering event, never from the wall clock: an EventBridge scheduled event carries
its *scheduled* time in ``time``, so a run that starts late, is retried by SQS, or is replayed days later still
reports the day before that time. An explicit ``detail.date`` (``sluicectl daily-report --date``) names the day
directly.

Input: the ingest results table (one item per processed object: ``category``, ``total_items``,
``total_value``, ``item_count``, ``processed_at`` as ``YYYY-MM-DDTHH:MM:SS.sssZ``). Output, under
``reports/<YYYY-MM-DD>/`` in the output bucket:

* ``by_category.csv``: one row per category, then a ``TOTAL`` row;
* ``report.json``: the same figures plus where they came from; written last with ``If-None-Match: *``, so it
  marks a finished report and a second run for the same day (a duplicate delivery, a replay) writes nothing.
  ``detail.force`` rewrites both files (the bucket is versioned: the old report stays as a noncurrent version).

The results table has no index on the processing day, so the day is read with a Scan filtered on
``processed_at`` (a projection of the five attributes needed). That reads the whole table once a day; at a few
million objects a day a GSI on a ``processed_day`` attribute written by the ingest processor would make it a
Query (noted in the README).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from botocore.exceptions import ClientError
from sluice.errors import InvalidEvent

REPORTS_PREFIX = "reports/"
JSON_NAME = "report.json"
CSV_NAME = "by_category.csv"
REPORT_KIND = "ingest-daily-by-category"
TOTAL_ROW = "TOTAL"
CSV_FIELDS = ("category", "objects", "total_items", "total_value", "item_count")

STATUS_WRITTEN = "written"
STATUS_EXISTS = "exists"
STATUS_REWRITTEN = "rewritten"

_PRECONDITION_FAILED = {"PreconditionFailed", "412"}
_PROJECTION = "category, total_items, total_value, item_count, processed_at"


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Ports:
    s3: Any
    dynamodb: Any
    results_table: str
    output_bucket: str
    clock: Callable[[], datetime] = field(default=utc_now)


@dataclass(frozen=True)
class Request:
    """What a run reports: the day, whether to overwrite, and what triggered it (for the report's provenance)."""

    day: date
    force: bool = False
    event_id: str | None = None
    scheduled_time: str | None = None


# --------------------------------------------------------------------------------------------- pure steps


def _parse_time(value: Any) -> datetime:
    if not isinstance(value, str) or not value:
        raise InvalidEvent("the event has no time")
    try:
        stamp = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidEvent(f"the event time {value[:40]!r} is not an ISO 8601 timestamp") from None
    return stamp.replace(tzinfo=UTC) if stamp.tzinfo is None else stamp.astimezone(UTC)


def _parse_day(value: Any) -> date:
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise InvalidEvent(f"detail.date {str(value)[:40]!r} is not a YYYY-MM-DD date") from None


def parse_request(event: Mapping[str, Any]) -> Request:
    """An EventBridge event (scheduled, or a replay) -> the day to report: ``detail.date``, else the day before
    the event's ``time`` (UTC)."""
    if not isinstance(event, Mapping):
        raise InvalidEvent("the message is not an EventBridge event object")
    detail = event.get("detail") or {}
    if not isinstance(detail, Mapping):
        raise InvalidEvent("the event detail is not an object")
    scheduled = event.get("time")
    if detail.get("date") is not None:
        day = _parse_day(detail["date"])
    else:
        day = (_parse_time(scheduled) - timedelta(days=1)).date()
    return Request(
        day=day,
        force=bool(detail.get("force", False)),
        event_id=event.get("id") if isinstance(event.get("id"), str) else None,
        scheduled_time=scheduled if isinstance(scheduled, str) else None,
    )


def day_window(day: date) -> tuple[str, str]:
    """[start, end) of the day as processed_at strings compare: ``YYYY-MM-DD`` <= stamp < next day."""
    return day.isoformat(), (day + timedelta(days=1)).isoformat()


def _number(attribute: Mapping[str, Any] | None) -> Decimal:
    if not attribute or "N" not in attribute:
        return Decimal(0)
    return Decimal(attribute["N"])


def aggregate(items: Iterable[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """Result items (DynamoDB attribute values) -> per category: objects, Σ items, Σ value (exact), Σ lines."""
    totals: dict[str, dict[str, Any]] = {}
    for item in items:
        category = item.get("category", {}).get("S") or "(none)"
        row = totals.setdefault(
            category, {"objects": 0, "total_items": 0, "total_value": Decimal(0), "item_count": 0}
        )
        row["objects"] += 1
        row["total_items"] += int(_number(item.get("total_items")))
        row["total_value"] += _number(item.get("total_value"))
        row["item_count"] += int(_number(item.get("item_count")))
    return dict(sorted(totals.items()))


def _plain(row: Mapping[str, Any]) -> dict[str, Any]:
    # Money stays exact: a string with two decimals, not a float.
    return {**row, "total_value": f"{row['total_value']:.2f}"}


def build_report(
    request: Request,
    by_category: Mapping[str, Mapping[str, Any]],
    *,
    scanned: int,
    table: str,
    generated_at: datetime,
) -> dict[str, Any]:
    start, end = day_window(request.day)
    overall = {"objects": 0, "total_items": 0, "total_value": Decimal(0), "item_count": 0}
    for row in by_category.values():
        for key in overall:
            overall[key] += row[key]
    return {
        "report": REPORT_KIND,
        "date": request.day.isoformat(),
        "generated_at": generated_at.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "trigger": {
            "event_id": request.event_id,
            "scheduled_time": request.scheduled_time,
            "forced": request.force,
        },
        "source": {"table": table, "processed_at": {"from": start, "to": end}, "items_scanned": scanned},
        "totals": {**_plain(overall), "categories": len(by_category)},
        "categories": {name: _plain(row) for name, row in by_category.items()},
    }


def to_csv(report: Mapping[str, Any]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_FIELDS, lineterminator="\n")
    writer.writeheader()
    for name, row in report["categories"].items():
        writer.writerow({"category": name, **{k: row[k] for k in CSV_FIELDS[1:]}})
    writer.writerow({"category": TOTAL_ROW, **{k: report["totals"][k] for k in CSV_FIELDS[1:]}})
    return buffer.getvalue()


def report_keys(day: date) -> tuple[str, str]:
    folder = f"{REPORTS_PREFIX}{day.isoformat()}/"
    return folder + JSON_NAME, folder + CSV_NAME


# ------------------------------------------------------------------------------------------------- adapters


def scan_day(dynamodb: Any, table: str, day: date) -> tuple[list[dict[str, Any]], int]:
    """The day's result items (paginated Scan, filtered and projected server-side), and how many were scanned."""
    start, end = day_window(day)
    paginator = dynamodb.get_paginator("scan")
    items: list[dict[str, Any]] = []
    scanned = 0
    for page in paginator.paginate(
        TableName=table,
        ProjectionExpression=_PROJECTION,
        FilterExpression="processed_at >= :start AND processed_at < :end",
        ExpressionAttributeValues={":start": {"S": start}, ":end": {"S": end}},
        ConsistentRead=True,
    ):
        items.extend(page.get("Items", []))
        scanned += int(page.get("ScannedCount", 0))
    return items, scanned


def _exists(s3: Any, bucket: str, key: str) -> bool:
    try:
        s3.head_object(Bucket=bucket, Key=key)
        return True
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
            return False
        raise


def run(request: Request, ports: Ports) -> dict[str, Any]:
    """Build and store the report of ``request.day`` once. Returns a summary (status, keys, totals)."""
    json_key, csv_key = report_keys(request.day)
    summary: dict[str, Any] = {"date": request.day.isoformat(), "report_key": json_key, "csv_key": csv_key}
    if not request.force and _exists(ports.s3, ports.output_bucket, json_key):
        return {**summary, "status": STATUS_EXISTS}  # cheap exit before the scan; the conditional put decides
    items, scanned = scan_day(ports.dynamodb, ports.results_table, request.day)
    report = build_report(
        request, aggregate(items), scanned=scanned, table=ports.results_table, generated_at=ports.clock()
    )
    body = (json.dumps(report, indent=2, sort_keys=True) + "\n").encode()
    # The CSV first, unconditionally (same figures on a retry); the JSON last and once: it marks completion.
    ports.s3.put_object(
        Bucket=ports.output_bucket, Key=csv_key, Body=to_csv(report).encode(), ContentType="text/csv"
    )
    extra = {} if request.force else {"IfNoneMatch": "*"}
    try:
        ports.s3.put_object(
            Bucket=ports.output_bucket, Key=json_key, Body=body, ContentType="application/json", **extra
        )
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") not in _PRECONDITION_FAILED:
            raise
        return {**summary, "status": STATUS_EXISTS}  # a concurrent run finished first
    return {
        **summary,
        "status": STATUS_REWRITTEN if request.force else STATUS_WRITTEN,
        "totals": report["totals"],
    }
