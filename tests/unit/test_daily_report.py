"""daily_report: the day comes from the event's time (or detail.date), the day's results are aggregated by
category exactly, and the report is written once per day (moto)."""

from __future__ import annotations

import csv
import importlib
import io
import json
from datetime import date

import pytest
from conftest import FAILURES_TABLE, INGEST_DLQ_URL, OUTPUT_BUCKET, RESULTS_TABLE, sqs_event, sqs_record
from sluice.errors import InvalidEvent


@pytest.fixture
def report(unit_env):
    return importlib.import_module("daily_report.logic")


@pytest.fixture
def report_handler(unit_env):
    return importlib.import_module("daily_report.handler")


def scheduled(time: str, **detail) -> dict:
    return {
        "version": "0",
        "id": "7bf73129-1428-4cd3-a780-95db273d1602",
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "time": time,
        "resources": ["arn:aws:events:us-east-1:123456789012:rule/sluice-test-daily-report"],
        "detail": detail,
    }


def put_result(
    resources, key: str, category: str, processed_at: str, items: int, value: str, lines: int = 1
) -> None:
    resources.dynamodb.put_item(
        TableName=RESULTS_TABLE,
        Item={
            "object_key": {"S": key},
            "etag": {"S": "e"},
            "category": {"S": category},
            "total_items": {"N": str(items)},
            "total_value": {"N": value},
            "item_count": {"N": str(lines)},
            "processed_at": {"S": processed_at},
        },
    )


def seed(resources) -> None:
    # 2026-03-14: toys 2 objects, books 1; the neighbours must not count (edges at both ends of the day).
    put_result(resources, "incoming/a.json", "toys", "2026-03-14T00:00:00.000Z", 3, "10.10", 2)
    put_result(resources, "incoming/b.json", "toys", "2026-03-14T23:59:59.999Z", 1, "0.20")
    put_result(resources, "incoming/c.json", "books", "2026-03-14T12:00:00.000Z", 5, "99.99", 3)
    put_result(resources, "incoming/d.json", "toys", "2026-03-13T23:59:59.999Z", 7, "70.00")
    put_result(resources, "incoming/e.json", "books", "2026-03-15T00:00:00.000Z", 9, "90.00")


def read(resources, key: str) -> bytes:
    return resources.s3.get_object(Bucket=OUTPUT_BUCKET, Key=key)["Body"].read()


@pytest.mark.parametrize(
    ("time", "day"),
    [
        ("2026-03-15T00:05:00Z", date(2026, 3, 14)),
        ("2026-03-15T23:59:59Z", date(2026, 3, 14)),  # a late run still reports the day before its schedule
        ("2026-03-01T00:05:00+00:00", date(2026, 2, 28)),
        ("2026-03-15T01:00:00+02:00", date(2026, 3, 13)),  # 2026-03-14T23:00Z: the day is UTC
    ],
)
def test_the_day_is_the_day_before_the_scheduled_time(report, time, day) -> None:
    assert report.parse_request(scheduled(time)).day == day


def test_an_explicit_date_wins_and_bad_events_are_permanent(report) -> None:
    request = report.parse_request(scheduled("2026-03-15T00:05:00Z", date="2026-01-02", force=True))
    assert request.day == date(2026, 1, 2) and request.force
    for bad in (
        scheduled(""),
        scheduled("yesterday"),
        scheduled("2026-03-15T00:05:00Z", date="14/03/2026"),
        [],
        {"detail": "x", "time": "2026-03-15T00:00:00Z"},
    ):
        with pytest.raises(InvalidEvent):
            report.parse_request(bad)


def test_aggregates_exactly_by_category(report) -> None:
    items = [
        {
            "category": {"S": "toys"},
            "total_items": {"N": "1"},
            "total_value": {"N": "0.10"},
            "item_count": {"N": "1"},
        },
        {
            "category": {"S": "toys"},
            "total_items": {"N": "2"},
            "total_value": {"N": "0.20"},
            "item_count": {"N": "2"},
        },
        {
            "category": {"S": "apparel"},
            "total_items": {"N": "4"},
            "total_value": {"N": "999999999999.99"},
            "item_count": {"N": "1"},
        },
    ]
    totals = report.aggregate(items)
    assert list(totals) == ["apparel", "toys"]
    assert totals["toys"] == {
        "objects": 2,
        "total_items": 3,
        "total_value": report.Decimal("0.30"),
        "item_count": 3,
    }


def test_handler_writes_the_report_of_yesterday_once(report_handler, resources, lambda_context) -> None:
    seed(resources)
    event = sqs_event(sqs_record(scheduled("2026-03-15T00:05:00Z"), message_id="m1"))
    assert report_handler.handler(event, lambda_context) == {"batchItemFailures": []}

    doc = json.loads(read(resources, "reports/2026-03-14/report.json"))
    assert doc["date"] == "2026-03-14" and doc["trigger"]["scheduled_time"] == "2026-03-15T00:05:00Z"
    assert doc["categories"] == {
        "books": {"objects": 1, "total_items": 5, "total_value": "99.99", "item_count": 3},
        "toys": {"objects": 2, "total_items": 4, "total_value": "10.30", "item_count": 3},
    }
    assert doc["totals"] == {
        "objects": 3,
        "total_items": 9,
        "total_value": "110.29",
        "item_count": 6,
        "categories": 2,
    }
    assert doc["source"]["items_scanned"] == 5
    rows = list(csv.DictReader(io.StringIO(read(resources, "reports/2026-03-14/by_category.csv").decode())))
    assert [r["category"] for r in rows] == ["books", "toys", "TOTAL"] and rows[-1]["total_value"] == "110.29"

    # A redelivery or a second firing for the same day, after more results arrived: nothing is rewritten.
    put_result(resources, "incoming/late.json", "toys", "2026-03-14T10:00:00.000Z", 1, "1.00")
    assert report_handler.handler(
        sqs_event(sqs_record(scheduled("2026-03-15T09:00:00Z"), message_id="m2")), lambda_context
    ) == {"batchItemFailures": []}
    versions = resources.s3.list_object_versions(
        Bucket=OUTPUT_BUCKET, Prefix="reports/2026-03-14/report.json"
    ).get("Versions", [])
    assert len(versions) == 1 and json.loads(read(resources, "reports/2026-03-14/report.json")) == doc

    # force rewrites it with the late result
    forced = scheduled("2026-03-15T09:00:00Z", date="2026-03-14", force=True)
    assert report_handler.handler(sqs_event(sqs_record(forced, message_id="m3")), lambda_context) == {
        "batchItemFailures": []
    }
    assert json.loads(read(resources, "reports/2026-03-14/report.json"))["totals"]["objects"] == 4


def test_a_day_without_results_has_an_empty_report(report_handler, resources, lambda_context) -> None:
    seed(resources)
    report_handler.handler(sqs_event(sqs_record(scheduled("2030-01-01T00:05:00Z"))), lambda_context)
    doc = json.loads(read(resources, "reports/2029-12-31/report.json"))
    assert (
        doc["categories"] == {} and doc["totals"]["objects"] == 0 and doc["totals"]["total_value"] == "0.00"
    )


def test_a_malformed_event_is_recorded_and_dead_lettered_once(
    report_handler, resources, lambda_context
) -> None:
    response = report_handler.handler(sqs_event(sqs_record("not json", message_id="bad")), lambda_context)
    assert response == {"batchItemFailures": []}
    failures = resources.dynamodb.scan(TableName=FAILURES_TABLE)["Items"]
    assert [f["pipeline"]["S"] for f in failures] == ["daily-report"]
    dead = resources.sqs.receive_message(QueueUrl=INGEST_DLQ_URL, MaxNumberOfMessages=10).get("Messages", [])
    assert [m["Body"] for m in dead] == ["not json"]
    assert resources.s3.list_objects_v2(Bucket=OUTPUT_BUCKET, Prefix="reports/").get("KeyCount") == 0
