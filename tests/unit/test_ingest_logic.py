"""ingest_processor.logic: parsing, totals, fetching and conditional writes (no handler, no Powertools)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from conftest import LANDING_BUCKET, OUTPUT_BUCKET, RESULTS_TABLE, Clients
from ingest_processor import logic
from sluice.errors import (
    EmptyObject,
    InvalidEncoding,
    InvalidJson,
    ObjectNotFound,
    ObjectTooLarge,
    OutputConflict,
    PermanentError,
    SchemaViolation,
)
from sluice.events import S3ObjectRef

ORDER = {
    "order_id": "ord-1",
    "customer_id": "cust-1",
    "category": "electronics",
    "created_at": "2024-06-01T10:00:00Z",
    "items": [
        {"sku": "A", "quantity": 2, "price": 19.99},
        {"sku": "B", "quantity": 3, "price": 0.1},
        {"sku": "C", "quantity": 1, "price": 5},
    ],
}
NOW = datetime(2024, 6, 3, 12, 0, 5, 123000, tzinfo=UTC)


def body(order: object = ORDER) -> bytes:
    return json.dumps(order).encode()


# ------------------------------------------------------------------------------------------------- totals


def test_totals_are_exact_decimals() -> None:
    totals = logic.compute_totals(ORDER["items"])
    assert totals == logic.Totals(total_items=6, total_value=Decimal("45.28"), item_count=3)
    assert str(totals.total_value) == "45.28"


@pytest.mark.parametrize(
    ("price", "expected"),
    [(0.005, "0.01"), (0.004, "0.00"), (1.125, "1.13"), (2.675, "2.68"), (0, "0.00")],
)
def test_total_value_rounds_half_up_to_cents(price: float, expected: str) -> None:
    assert logic.compute_totals([{"quantity": 1, "price": price}]).total_value == Decimal(expected)


def test_integral_float_quantity_is_counted_as_an_integer() -> None:
    totals = logic.compute_totals([{"quantity": 2.0, "price": 1.5}])
    assert totals.total_items == 2 and isinstance(totals.total_items, int)


@pytest.mark.parametrize(
    ("key", "output"),
    [
        ("incoming/a.json", "processed/a.json"),
        ("incoming/2024/06/a.json", "processed/2024/06/a.json"),
        ("elsewhere/a.json", "processed/elsewhere/a.json"),
    ],
)
def test_output_key(key: str, output: str) -> None:
    assert logic.output_key_for(key) == output


# -------------------------------------------------------------------------------------------- parse_order


def test_valid_order_parses() -> None:
    assert logic.parse_order(body()) == ORDER


def test_utf8_byte_order_mark_is_accepted() -> None:
    assert logic.parse_order(b"\xef\xbb\xbf" + body()) == ORDER


@pytest.mark.parametrize(
    ("raw", "error", "reason"),
    [
        (b"", EmptyObject, "object is empty"),
        (b" \n\t ", EmptyObject, "only whitespace"),
        (
            b'{"order_id": "caf\xe9"}',
            InvalidEncoding,
            "object is not UTF-8: invalid continuation byte at byte",
        ),
        (json.dumps(ORDER).encode("utf-16"), InvalidEncoding, "object is not UTF-8"),
        (b'{"order_id": ', InvalidJson, "object is not valid JSON: Expecting value"),
        (b"order_id,customer_id\n1,2\n", InvalidJson, "object is not valid JSON"),
        (body()[:-1], InvalidJson, "object is not valid JSON"),
        (body({**ORDER, "items": [{"sku": "A", "quantity": 1, "price": float("nan")}]}), InvalidJson, "NaN"),
        (
            body({**ORDER, "items": [{"sku": "A", "quantity": 1, "price": float("inf")}]}),
            InvalidJson,
            "Infinity",
        ),
        (body()[:-1] + b', "x": 1e400}', InvalidJson, "out of range"),
        (b'{"n": ' + b"9" * 5000 + b"}", InvalidJson, "object is not valid JSON"),
        (b"[" * 200_000 + b"]" * 200_000, InvalidJson, "nested too deeply"),
        (b"[]", SchemaViolation, "order: data must be object"),
        (b'"just a string"', SchemaViolation, "order: data must be object"),
        (body({**ORDER, "order_id": "\ud800"}), SchemaViolation, "data.order_id is not valid Unicode"),
    ],
)
def test_parse_order_failures(raw: bytes, error: type[PermanentError], reason: str) -> None:
    with pytest.raises(error) as info:
        logic.parse_order(raw)
    assert reason in info.value.reason


# ------------------------------------------------------------------------------------------ S3 adapters


@pytest.fixture
def ports(resources: Clients) -> logic.Ports:
    return logic.Ports(
        s3=resources.s3,
        dynamodb=resources.dynamodb,
        output_bucket=OUTPUT_BUCKET,
        results_table=RESULTS_TABLE,
        clock=lambda: NOW,
    )


def put(resources: Clients, key: str, data: bytes, bucket: str = LANDING_BUCKET) -> S3ObjectRef:
    response = resources.s3.put_object(Bucket=bucket, Key=key, Body=data)
    return S3ObjectRef(
        bucket=bucket,
        key=key,
        etag=response["ETag"].strip('"'),
        version_id=response.get("VersionId"),
        size=len(data),
    )


class ExplodingS3:
    def __getattr__(self, name: str):
        raise AssertionError(f"S3 must not be called ({name})")


def test_too_large_per_event_size_is_rejected_without_a_get() -> None:
    ref = S3ObjectRef(bucket="b", key="k", etag="e", size=2_000_000)
    with pytest.raises(ObjectTooLarge, match="object is 2000000 bytes; the limit is 1048576"):
        logic.fetch_object(ExplodingS3(), ref, 1_048_576)


def test_too_large_per_content_length(resources: Clients) -> None:
    ref = put(resources, "incoming/big.json", b"x" * 101)
    ref = S3ObjectRef(bucket=ref.bucket, key=ref.key, etag=ref.etag)  # the event had no size
    with pytest.raises(ObjectTooLarge, match="object is 101 bytes; the limit is 100"):
        logic.fetch_object(resources.s3, ref, 100)
    assert logic.fetch_object(resources.s3, ref, 101) == b"x" * 101


def test_missing_object_and_missing_version(resources: Clients) -> None:
    with pytest.raises(ObjectNotFound, match="NoSuchKey"):
        logic.fetch_object(
            resources.s3, S3ObjectRef(bucket=LANDING_BUCKET, key="incoming/gone.json", etag="e"), 100
        )
    resources.s3.put_bucket_versioning(Bucket=LANDING_BUCKET, VersioningConfiguration={"Status": "Enabled"})
    ref = put(resources, "incoming/v.json", b"{}")
    stale = S3ObjectRef(bucket=ref.bucket, key=ref.key, etag=ref.etag, version_id="not-a-version")
    with pytest.raises(ObjectNotFound, match="NoSuchVersion"):
        logic.fetch_object(resources.s3, stale, 100)


def test_the_version_named_by_the_event_is_fetched(resources: Clients) -> None:
    resources.s3.put_bucket_versioning(Bucket=LANDING_BUCKET, VersioningConfiguration={"Status": "Enabled"})
    first = put(resources, "incoming/v.json", b'{"v":1}')
    put(resources, "incoming/v.json", b'{"v":2}')
    assert logic.fetch_object(resources.s3, first, 100) == b'{"v":1}'


def test_an_overwritten_unversioned_object_is_superseded(resources: Clients) -> None:
    first = put(resources, "incoming/o.json", b'{"v":1}')
    put(resources, "incoming/o.json", b'{"v":2}')
    assert logic.fetch_object(resources.s3, first, 100) is None


def test_missing_bucket_is_not_permanent(resources: Clients) -> None:
    from botocore.exceptions import ClientError

    with pytest.raises(ClientError, match="NoSuchBucket"):
        logic.fetch_object(resources.s3, S3ObjectRef(bucket="sluice-test-nope", key="k", etag="e"), 100)


# ------------------------------------------------------------------------------------- the whole use case


def test_process_object_writes_output_and_result(resources: Clients, ports: logic.Ports) -> None:
    ref = put(resources, "incoming/ord-1.json", body())
    summary = logic.process_object(ref, ports)
    assert summary == {
        "object_key": "incoming/ord-1.json",
        "etag": ref.etag,
        "output_key": "processed/ord-1.json",
        "status": "processed",
        "order_id": "ord-1",
        "total_items": 6,
        "total_value": "45.28",
        "item_count": 3,
        "bytes": len(body()),
        "processed_at": "2024-06-03T12:00:05.123Z",
    }
    obj = resources.s3.get_object(Bucket=OUTPUT_BUCKET, Key="processed/ord-1.json")
    assert obj["ContentType"] == "application/json"
    assert obj["Metadata"] == {"source-etag": ref.etag, "processed-at": "2024-06-03T12:00:05.123Z"}
    assert json.loads(obj["Body"].read()) == {
        **ORDER,
        "total_items": 6,
        "total_value": 45.28,
        "item_count": 3,
        "processed_at": "2024-06-03T12:00:05.123Z",
        "source_bucket": LANDING_BUCKET,
        "source_key": "incoming/ord-1.json",
        "source_etag": ref.etag,
    }
    item = resources.dynamodb.get_item(
        TableName=RESULTS_TABLE, Key={"object_key": {"S": "incoming/ord-1.json"}}
    )
    assert item["Item"] == {
        "object_key": {"S": "incoming/ord-1.json"},
        "etag": {"S": ref.etag},
        "order_id": {"S": "ord-1"},
        "customer_id": {"S": "cust-1"},
        "category": {"S": "electronics"},
        "total_items": {"N": "6"},
        "total_value": {"N": "45.28"},
        "item_count": {"N": "3"},
        "processed_at": {"S": "2024-06-03T12:00:05.123Z"},
        "output_key": {"S": "processed/ord-1.json"},
        "source_bucket": {"S": LANDING_BUCKET},
    }


def test_process_object_twice_writes_nothing_the_second_time(resources: Clients, ports: logic.Ports) -> None:
    resources.s3.put_bucket_versioning(Bucket=OUTPUT_BUCKET, VersioningConfiguration={"Status": "Enabled"})
    ref = put(resources, "incoming/ord-1.json", body())
    logic.process_object(ref, ports)
    later = logic.Ports(**{**ports.__dict__, "clock": lambda: datetime(2030, 1, 1, tzinfo=UTC)})
    summary = logic.process_object(ref, later)
    assert summary["status"] == "duplicate"
    assert summary["processed_at"] == "2024-06-03T12:00:05.123Z"  # the output's, not the clock's
    versions = resources.s3.list_object_versions(Bucket=OUTPUT_BUCKET, Prefix="processed/")["Versions"]
    assert len(versions) == 1


def test_result_is_completed_with_the_outputs_timestamp(resources: Clients, ports: logic.Ports) -> None:
    # First attempt wrote the output, then failed before the result item.
    ref = put(resources, "incoming/ord-1.json", body())
    order = logic.parse_order(body())
    totals = logic.compute_totals(order["items"])
    logic.write_output(
        resources.s3,
        bucket=OUTPUT_BUCKET,
        key="processed/ord-1.json",
        document=logic.build_output(order, totals, ref, "2024-06-03T11:59:00.000Z"),
        source_etag=ref.etag,
        processed_at="2024-06-03T11:59:00.000Z",
    )
    summary = logic.process_object(ref, ports)
    assert summary["status"] == "processed"
    item = resources.dynamodb.get_item(TableName=RESULTS_TABLE, Key={"object_key": {"S": ref.key}})["Item"]
    assert item["processed_at"] == {"S": "2024-06-03T11:59:00.000Z"}


def test_a_different_version_of_a_processed_key_is_a_conflict(resources: Clients, ports: logic.Ports) -> None:
    first = put(resources, "incoming/ord-1.json", body())
    logic.process_object(first, ports)
    second = put(resources, "incoming/ord-1.json", body({**ORDER, "category": "books"}))
    with pytest.raises(OutputConflict, match="already exists, produced from ETag"):
        logic.process_object(second, ports)
    output = json.loads(
        resources.s3.get_object(Bucket=OUTPUT_BUCKET, Key="processed/ord-1.json")["Body"].read()
    )
    assert output["category"] == "electronics"


def test_result_conflict_is_detected_too(resources: Clients, ports: logic.Ports) -> None:
    resources.dynamodb.put_item(
        TableName=RESULTS_TABLE, Item={"object_key": {"S": "incoming/ord-1.json"}, "etag": {"S": "other"}}
    )
    ref = put(resources, "incoming/ord-1.json", body())
    with pytest.raises(OutputConflict, match="already recorded from ETag 'other'"):
        logic.process_object(ref, ports)


def test_superseded_object_writes_nothing(resources: Clients, ports: logic.Ports) -> None:
    first = put(resources, "incoming/ord-1.json", body())
    put(resources, "incoming/ord-1.json", body({**ORDER, "category": "books"}))
    assert logic.process_object(first, ports)["status"] == "superseded"
    assert resources.s3.list_objects_v2(Bucket=OUTPUT_BUCKET).get("KeyCount") == 0
