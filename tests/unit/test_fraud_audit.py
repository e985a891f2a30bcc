"""Pipeline 5's audit function (functions/fraud_audit) with moto: an alert item's stream record becomes one audit
record in S3 under the alert's day, written once (If-None-Match), and a record that holds no alert is a batch
item failure."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import boto3
import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "layers" / "ml" / "python"))

from fraud_audit import logic  # noqa: E402
from fraud_scorer import logic as scorer  # noqa: E402

BUCKET = "sluice-test-123456789012-fraud-audit"
STREAM_ARN = (
    "arn:aws:dynamodb:us-east-1:123456789012:table/sluice-test-fraud-alerts/stream/2026-01-01T00:00:00.000"
)

DETAIL = {
    "alert_id": "0123456789abcdef0123456789abcdef",
    "transaction_id": "run-0000042",
    "user_id": "run-u00001",
    "amount": 7200.0,
    "location": {"lat": 34.05, "lon": -118.24},
    "previous_location": {"lat": 40.71, "lon": -74.0},
    "distance_miles": 2445.6,
    "seconds_since_previous": 1800.0,
    "transaction_time": "2026-12-03T10:00:00.000Z",
    "reasons": ["impossible_travel_high_amount"],
    "model": {"name": "fraud", "version": "abc", "score": 0.99, "threshold": 0.7},
    "detected_at": "2026-12-03T10:00:01.000Z",
    "source": {"shard_id": "shardId-000000000000", "sequence_number": "4960001"},
}


def stream_record(image: dict | None, event_name: str = "INSERT", sequence: str = "100") -> dict:
    dynamodb: dict = {
        "Keys": {"alert_id": {"S": DETAIL["alert_id"]}},
        "SequenceNumber": sequence,
        "SizeBytes": 100,
        "StreamViewType": "NEW_IMAGE",
        "ApproximateCreationDateTime": 1780000000,
    }
    if image is not None:
        dynamodb["NewImage"] = image
    return {
        "eventID": f"e{sequence}",
        "eventName": event_name,
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": "us-east-1",
        "eventSourceARN": STREAM_ARN,
        "dynamodb": dynamodb,
    }


@pytest.fixture
def audit_handler(aws, monkeypatch):
    boto3.client("s3", region_name="us-east-1").create_bucket(Bucket=BUCKET)
    monkeypatch.setenv("AUDIT_BUCKET", BUCKET)
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "fraud-audit")
    from fraud_audit import handler

    handler.ports.cache_clear()
    yield handler
    handler.ports.cache_clear()


def test_an_alert_becomes_one_audit_record_under_its_day(audit_handler, lambda_context) -> None:
    item = scorer.alert_item(DETAIL, now=1780000000.0)
    response = audit_handler.handler({"Records": [stream_record(item)]}, lambda_context)
    assert response == {"batchItemFailures": []}
    s3 = boto3.client("s3", region_name="us-east-1")
    key = f"audit/2026-12-03/{DETAIL['alert_id']}.json"
    document = json.loads(s3.get_object(Bucket=BUCKET, Key=key)["Body"].read())
    assert document["alert"] == DETAIL
    assert document["stream"]["event_name"] == "INSERT" and document["stream"]["sequence_number"] == "100"
    assert document["stream"]["event_source_arn"] == STREAM_ARN and document["audited_at"].endswith("Z")


def test_a_rewritten_alert_keeps_its_first_audit_record(audit_handler, lambda_context) -> None:
    item = scorer.alert_item(DETAIL, now=1780000000.0)
    audit_handler.handler({"Records": [stream_record(item)]}, lambda_context)
    response = audit_handler.handler({"Records": [stream_record(item, "MODIFY", "200")]}, lambda_context)
    assert response == {"batchItemFailures": []}
    s3 = boto3.client("s3", region_name="us-east-1")
    objects = s3.list_objects_v2(Bucket=BUCKET)["Contents"]
    assert len(objects) == 1
    document = json.loads(s3.get_object(Bucket=BUCKET, Key=objects[0]["Key"])["Body"].read())
    assert document["stream"]["sequence_number"] == "100"  # the first one, unchanged


def test_a_record_without_an_alert_is_a_batch_item_failure(audit_handler, lambda_context) -> None:
    good = stream_record(scorer.alert_item(DETAIL, now=1780000000.0), sequence="300")
    response = audit_handler.handler(
        {"Records": [good, stream_record(None, "MODIFY", "301")]}, lambda_context
    )
    assert response == {"batchItemFailures": [{"itemIdentifier": "301"}]}


@pytest.mark.parametrize(
    "image",
    [
        None,
        {"alert_id": "x"},
        {"alert_id": "x", "detail": "not json"},
        {"alert_id": "other", "detail": json.dumps(DETAIL)},
    ],
)
def test_what_is_not_an_alert(image) -> None:
    with pytest.raises(logic.NotAnAlert):
        logic.audit_record(image, {}, 0.0)


def test_audit_keys() -> None:
    assert logic.audit_key("audit/", DETAIL) == f"audit/2026-12-03/{DETAIL['alert_id']}.json"
    assert logic.audit_key("audit/", {"alert_id": "a"}) == "audit/undated/a.json"
