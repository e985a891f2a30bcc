"""ingest_processor.handler end to end on moto: SQS batch in, outputs / results / failures / DLQ out."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from botocore.exceptions import ClientError
from conftest import (
    FAILURES_TABLE,
    IDEMPOTENCY_TABLE,
    INGEST_DLQ_URL,
    LANDING_BUCKET,
    OUTPUT_BUCKET,
    RESULTS_TABLE,
    Clients,
    s3_object_created,
    sqs_event,
    sqs_record,
)
from sluice.settings import SettingsError

from sluicectl.samples import generate_orders


def order(n: int = 1, **overrides: object) -> dict:
    return {
        "order_id": f"ord-{n}",
        "customer_id": "cust-7",
        "category": "toys",
        "created_at": "2024-06-01T10:00:00Z",
        "items": [{"sku": "A", "quantity": n, "price": 2.5}, {"sku": "B", "quantity": 1, "price": 0.99}],
        **overrides,
    }


def encode(doc: object) -> bytes:
    return json.dumps(doc).encode()


def result(resources: Clients, key: str) -> dict | None:
    return resources.dynamodb.get_item(
        TableName=RESULTS_TABLE, Key={"object_key": {"S": key}}, ConsistentRead=True
    ).get("Item")


def results(resources: Clients) -> list[dict]:
    return resources.dynamodb.scan(TableName=RESULTS_TABLE, ConsistentRead=True)["Items"]


def failures(resources: Clients) -> list[dict]:
    return resources.dynamodb.scan(TableName=FAILURES_TABLE, ConsistentRead=True)["Items"]


def dlq(resources: Clients) -> list[dict]:
    seen: dict[str, dict] = {}
    while True:
        batch = resources.sqs.receive_message(
            QueueUrl=INGEST_DLQ_URL,
            MaxNumberOfMessages=10,
            MessageAttributeNames=["All"],
            VisibilityTimeout=0,
        ).get("Messages", [])
        fresh = [m for m in batch if m["MessageId"] not in seen]
        if not fresh:
            return list(seen.values())
        seen.update((m["MessageId"], m) for m in fresh)


def output(resources: Clients, key: str) -> dict:
    return json.loads(resources.s3.get_object(Bucket=OUTPUT_BUCKET, Key=key)["Body"].read())


def test_valid_batch_writes_outputs_and_results(ingest_handler, upload, resources, lambda_context) -> None:
    events = [upload(f"incoming/ord-{n}.json", encode(order(n))) for n in (1, 2, 3)]
    records = [sqs_record(e, message_id=f"m-{i}") for i, e in enumerate(events)]

    assert ingest_handler.handler(sqs_event(*records), lambda_context) == {"batchItemFailures": []}

    for n in (1, 2, 3):
        expected_value = (n * Decimal("2.5") + Decimal("0.99")).quantize(Decimal("0.01"))
        doc = output(resources, f"processed/ord-{n}.json")
        assert (doc["total_items"], doc["item_count"]) == (n + 1, 2)
        assert Decimal(str(doc["total_value"])) == expected_value
        assert doc["source_key"] == f"incoming/ord-{n}.json" and doc["source_bucket"] == LANDING_BUCKET
        item = result(resources, f"incoming/ord-{n}.json")
        assert item["total_items"] == {"N": str(n + 1)}
        assert Decimal(item["total_value"]["N"]) == expected_value
        assert item["order_id"] == {"S": f"ord-{n}"}
        assert item["output_key"] == {"S": f"processed/ord-{n}.json"}
        assert item["etag"] == {"S": events[n - 1]["detail"]["object"]["etag"]}
    assert failures(resources) == [] and dlq(resources) == []


def test_mixed_batch_reports_only_transient_failures(
    ingest_handler, upload, resources, lambda_context
) -> None:
    good = upload("incoming/good.json", encode(order()))
    bad_json = upload("incoming/bad.json", b'{"order_id": ')
    schema = upload("incoming/schema.json", encode(order(items=[])))
    transient = s3_object_created("sluice-test-no-such-bucket", "incoming/x.json", "e" * 32)
    event = sqs_event(
        sqs_record(good, message_id="good"),
        sqs_record(bad_json, message_id="bad-json"),
        sqs_record(transient, message_id="transient"),
        sqs_record(schema, message_id="schema"),
        sqs_record("{not an event", message_id="garbage"),
    )

    assert ingest_handler.handler(event, lambda_context) == {
        "batchItemFailures": [{"itemIdentifier": "transient"}]
    }

    assert [i["object_key"]["S"] for i in results(resources)] == ["incoming/good.json"]
    assert sorted(f["error_code"]["S"] for f in failures(resources)) == [
        "invalid_event",
        "invalid_json",
        "schema_violation",
    ]
    assert sorted(
        m["MessageAttributes"]["sluice-source-message-id"]["StringValue"] for m in dlq(resources)
    ) == [
        "bad-json",
        "garbage",
        "schema",
    ]


PERMANENT_CASES = {
    "empty_object": b"",
    "invalid_encoding": '{"order_id": "café"}'.encode("latin-1"),
    "invalid_json": b'{"order_id": "1",',
    "schema_violation": encode(order(items=[{"sku": "A", "quantity": -1, "price": 1}])),
}


@pytest.mark.parametrize("code", [*PERMANENT_CASES, "object_not_found", "object_too_large", "invalid_event"])
def test_each_permanent_error_is_recorded_and_dead_lettered_once(
    code: str, ingest_handler, upload, resources, lambda_context, monkeypatch
) -> None:
    key = f"incoming/{code}.json"
    if code in PERMANENT_CASES:
        body = json.dumps(upload(key, PERMANENT_CASES[code]))
    elif code == "object_not_found":
        body = json.dumps(s3_object_created(LANDING_BUCKET, key, "0" * 32, size=10))
    elif code == "object_too_large":
        monkeypatch.setenv("MAX_OBJECT_BYTES", "64")
        body = json.dumps(upload(key, encode(order())))
    else:
        body = json.dumps({"detail-type": "Object Created", "source": "aws.s3", "detail": {"bucket": {}}})
    record = sqs_record(body, message_id="msg-1", receive_count=1)

    assert ingest_handler.handler(sqs_event(record), lambda_context) == {"batchItemFailures": []}

    (failure,) = failures(resources)
    assert failure["pipeline"] == {"S": "ingest"}
    assert failure["error_code"] == {"S": code}
    assert failure["message_id"] == {"S": "msg-1"}
    assert failure["attempts"] == {"N": "1"}
    assert failure["reason"]["S"]
    if code == "invalid_event":
        assert failure["item_id"]["S"].startswith("message/sha256:")
        assert failure["source"]["S"].startswith("arn:aws:sqs:")
    else:
        etag = json.loads(body)["detail"]["object"]["etag"]
        assert failure["item_id"] == {"S": f"{LANDING_BUCKET}/{key}#{etag}"}
        assert failure["source"] == {"S": f"s3://{LANDING_BUCKET}/{key}"}
    (message,) = dlq(resources)
    assert message["Body"] == body
    attributes = {k: v["StringValue"] for k, v in message["MessageAttributes"].items()}
    assert attributes["sluice-error-code"] == code
    assert attributes["sluice-pipeline"] == "ingest"
    assert attributes["sluice-source-message-id"] == "msg-1"
    assert attributes["sluice-reason"] == failure["reason"]["S"][:256]
    assert failure["dlq_message_id"] == {"S": message["MessageId"]}
    assert results(resources) == []

    # The same object delivered again (new SQS message id, as a second EventBridge delivery would be).
    again = sqs_record(body, message_id="msg-2")
    assert ingest_handler.handler(sqs_event(again), lambda_context) == {"batchItemFailures": []}
    assert failures(resources) == [failure]
    assert len(dlq(resources)) == 1


def test_output_conflict_is_dead_lettered_and_the_first_output_kept(
    ingest_handler, upload, resources, lambda_context
) -> None:
    first = upload("incoming/ord-1.json", encode(order(1)))
    assert ingest_handler.handler(sqs_event(sqs_record(first)), lambda_context) == {"batchItemFailures": []}
    second = upload("incoming/ord-1.json", encode(order(5)))
    assert ingest_handler.handler(sqs_event(sqs_record(second)), lambda_context) == {"batchItemFailures": []}
    (failure,) = failures(resources)
    assert failure["error_code"] == {"S": "output_conflict"} and failure["stage"] == {"S": "write"}
    assert output(resources, "processed/ord-1.json")["total_items"] == 2


def test_transient_error_is_a_batch_item_failure_and_retry_succeeds(
    ingest_handler, upload, resources, lambda_context
) -> None:
    resources.s3.delete_bucket(Bucket=OUTPUT_BUCKET)
    event = upload("incoming/ord-1.json", encode(order()))
    record = sqs_record(event, message_id="m-1")

    assert ingest_handler.handler(sqs_event(record), lambda_context) == {
        "batchItemFailures": [{"itemIdentifier": "m-1"}]
    }
    assert failures(resources) == [] and dlq(resources) == [] and results(resources) == []
    # The idempotency record was released, so the retry does the work.
    assert resources.dynamodb.scan(TableName=IDEMPOTENCY_TABLE)["Items"] == []

    resources.s3.create_bucket(Bucket=OUTPUT_BUCKET)
    retry = sqs_record(event, message_id="m-1", receive_count=2)
    assert ingest_handler.handler(sqs_event(retry), lambda_context) == {"batchItemFailures": []}
    assert result(resources, "incoming/ord-1.json") is not None


def test_transient_client_error_after_the_output_was_written(
    ingest_handler, upload, resources, lambda_context, monkeypatch
) -> None:
    resources.s3.put_bucket_versioning(Bucket=OUTPUT_BUCKET, VersioningConfiguration={"Status": "Enabled"})
    event = upload("incoming/ord-1.json", encode(order()))
    ddb = ingest_handler.runtime().ports.dynamodb
    real_put_item = ddb.put_item

    def throttled(**kwargs):
        if kwargs["TableName"] == RESULTS_TABLE:
            raise ClientError(
                {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow down"}},
                "PutItem",
            )
        return real_put_item(**kwargs)

    monkeypatch.setattr(ddb, "put_item", throttled)
    response = ingest_handler.handler(sqs_event(sqs_record(event, message_id="m-1")), lambda_context)
    assert response == {"batchItemFailures": [{"itemIdentifier": "m-1"}]}
    assert failures(resources) == [] and results(resources) == []
    written = resources.s3.head_object(Bucket=OUTPUT_BUCKET, Key="processed/ord-1.json")

    monkeypatch.setattr(ddb, "put_item", real_put_item)
    response = ingest_handler.handler(
        sqs_event(sqs_record(event, message_id="m-1", receive_count=2)), lambda_context
    )
    assert response == {"batchItemFailures": []}
    versions = resources.s3.list_object_versions(Bucket=OUTPUT_BUCKET, Prefix="processed/")["Versions"]
    assert len(versions) == 1
    item = result(resources, "incoming/ord-1.json")
    assert item["processed_at"] == {"S": written["Metadata"]["processed-at"]}


def test_redelivery_writes_nothing_twice(ingest_handler, upload, resources, lambda_context) -> None:
    resources.s3.put_bucket_versioning(Bucket=OUTPUT_BUCKET, VersioningConfiguration={"Status": "Enabled"})
    events = [upload(f"incoming/ord-{n}.json", encode(order(n))) for n in (1, 2)]
    batch = sqs_event(*(sqs_record(e, message_id=f"m-{i}") for i, e in enumerate(events)))

    assert ingest_handler.handler(batch, lambda_context) == {"batchItemFailures": []}
    before = sorted(results(resources), key=lambda i: i["object_key"]["S"])

    # Same messages again; then the same objects under new message ids (a duplicate S3/EventBridge delivery);
    # then with the idempotency records gone (expired) and a cold container: the conditional writes hold.
    assert ingest_handler.handler(batch, lambda_context) == {"batchItemFailures": []}
    duplicates = sqs_event(*(sqs_record(e, message_id=f"dup-{i}") for i, e in enumerate(events)))
    assert ingest_handler.handler(duplicates, lambda_context) == {"batchItemFailures": []}
    for item in resources.dynamodb.scan(TableName=IDEMPOTENCY_TABLE)["Items"]:
        resources.dynamodb.delete_item(TableName=IDEMPOTENCY_TABLE, Key={"id": item["id"]})
    ingest_handler.runtime.cache_clear()
    assert ingest_handler.handler(duplicates, lambda_context) == {"batchItemFailures": []}

    versions = resources.s3.list_object_versions(Bucket=OUTPUT_BUCKET, Prefix="processed/")["Versions"]
    assert sorted(v["Key"] for v in versions) == ["processed/ord-1.json", "processed/ord-2.json"]
    assert sorted(results(resources), key=lambda i: i["object_key"]["S"]) == before
    assert failures(resources) == [] and dlq(resources) == []


def test_url_encoded_key(ingest_handler, upload, resources, lambda_context) -> None:
    event = upload("incoming/spring sale/order #1+2.json", encode(order()), encode_key=True)
    assert event["detail"]["object"]["key"] == "incoming/spring+sale/order+%231%2B2.json"
    assert ingest_handler.handler(sqs_event(sqs_record(event)), lambda_context) == {"batchItemFailures": []}
    assert output(resources, "processed/spring sale/order #1+2.json")["order_id"] == "ord-1"
    assert result(resources, "incoming/spring sale/order #1+2.json") is not None


def test_versioned_landing_bucket(ingest_handler, upload, resources, lambda_context) -> None:
    resources.s3.put_bucket_versioning(Bucket=LANDING_BUCKET, VersioningConfiguration={"Status": "Enabled"})
    event = upload("incoming/ord-1.json", encode(order(1)))
    assert event["detail"]["object"]["version-id"]
    assert ingest_handler.handler(sqs_event(sqs_record(event)), lambda_context) == {"batchItemFailures": []}
    item = result(resources, "incoming/ord-1.json")
    assert item["version_id"] == {"S": event["detail"]["object"]["version-id"]}
    assert output(resources, "processed/ord-1.json")["source_version_id"] == item["version_id"]["S"]


def test_superseded_event_is_handled_and_the_newer_one_processed(
    ingest_handler, upload, resources, lambda_context
) -> None:
    old = upload("incoming/ord-1.json", encode(order(1)))
    new = upload("incoming/ord-1.json", encode(order(4)))
    batch = sqs_event(sqs_record(old, message_id="old"), sqs_record(new, message_id="new"))
    assert ingest_handler.handler(batch, lambda_context) == {"batchItemFailures": []}
    assert output(resources, "processed/ord-1.json")["total_items"] == 5
    assert failures(resources) == []


def test_metrics_are_emitted_as_emf(ingest_handler, upload, resources, lambda_context, capsys) -> None:
    good = upload("incoming/good.json", encode(order()))
    bad = upload("incoming/bad.json", b"")
    ingest_handler.handler(sqs_event(sqs_record(good), sqs_record(bad)), lambda_context)
    documents = [
        json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith('{"_aws"')
    ]
    by_metric = {
        metric["Name"]: doc for doc in documents for metric in doc["_aws"]["CloudWatchMetrics"][0]["Metrics"]
    }
    assert by_metric["ObjectsProcessed"]["ObjectsProcessed"] == [1.0]
    assert by_metric["ObjectBytes"]["ObjectBytes"] == [float(len(encode(order())))]
    assert "ProcessingLatency" in by_metric
    failed = by_metric["ObjectsFailed"]
    assert failed["error_code"] == "empty_object" and failed["service"] == "ingest_processor"
    assert failed["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "Sluice"
    assert by_metric["ObjectsDeadLettered"]["ObjectsDeadLettered"] == [1.0]


@pytest.mark.filterwarnings("ignore:No application metrics to publish")
def test_missing_configuration_names_the_variable(
    ingest_handler, resources, lambda_context, monkeypatch
) -> None:
    monkeypatch.delenv("OUTPUT_BUCKET")
    monkeypatch.delenv("DLQ_URL")
    with pytest.raises(
        SettingsError,
        match=r"IngestSettings: missing required environment variable\(s\): DLQ_URL, OUTPUT_BUCKET",
    ):
        ingest_handler.handler(sqs_event(sqs_record("{}")), lambda_context)


def test_the_canonical_sample_event(ingest_handler, resources, lambda_context) -> None:
    from conftest import load_event

    # The object of the canonical event does not exist in this test account: a permanent object_not_found.
    assert ingest_handler.handler(load_event("sqs_eventbridge_s3_object_created"), lambda_context) == {
        "batchItemFailures": []
    }
    (failure,) = failures(resources)
    assert failure["error_code"] == {"S": "object_not_found"}


def test_generated_samples_through_the_handler(ingest_handler, upload, resources, lambda_context) -> None:
    samples = generate_orders(24, malformed_ratio=0.4, seed=11)
    events = [upload(s.key, s.body) for s in samples]
    for start in range(0, len(events), 10):  # SQS delivers at most 10 messages per batch
        chunk = [sqs_record(e) for e in events[start : start + 10]]
        assert ingest_handler.handler(sqs_event(*chunk), lambda_context) == {"batchItemFailures": []}

    got = {
        f["item_id"]["S"].split("#")[0].removeprefix(f"{LANDING_BUCKET}/"): f["error_code"]["S"]
        for f in failures(resources)
    }
    assert got == {s.key: s.expected for s in samples if not s.is_valid}
    assert len(got) == round(24 * 0.4) == len(dlq(resources))
    processed = {i["object_key"]["S"]: i for i in results(resources)}
    assert set(processed) == {s.key for s in samples if s.is_valid}
    for sample in samples:
        if sample.is_valid:
            item = processed[sample.key]
            assert Decimal(item["total_value"]["N"]) == sample.total_value
            assert int(item["total_items"]["N"]) == sample.total_items
