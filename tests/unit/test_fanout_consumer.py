"""fanout_consumer: content sniffing, the three consumers, the job, and one completion per upload."""

from __future__ import annotations

import importlib
import json
import struct

import boto3
import pytest
from conftest import FAILURES_TABLE, LANDING_BUCKET, OUTPUT_BUCKET, s3_object_created, sqs_event, sqs_record
from fanout_consumer import logic
from sluice import aws as sluice_aws
from sluice import contracts
from sluice.errors import OutputConflict
from sluice.events import S3ObjectRef

from sluicectl.routing import UploadRun, _png

JOBS = "sluice-test-fanout-jobs"
BUS = "sluice-test-domain"
GIF = b"GIF89a" + struct.pack("<HH", 320, 200) + b"\x00" * 20
JPEG = (
    b"\xff\xd8\xff\xe0"
    + struct.pack(">H", 16)
    + b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    + b"\xff\xdb"
    + struct.pack(">H", 4)
    + b"\x00\x00"
    + b"\xff\xc0"
    + struct.pack(">HBHHB", 17, 8, 480, 640, 3)
    + b"\x00" * 9
    + b"\xff\xd9"
)
EICAR = b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"


@pytest.mark.parametrize(
    ("data", "fmt"),
    [
        (_png(3, 2), "png"),
        (GIF, "gif"),
        (JPEG, "jpeg"),
        (b"%PDF-1.7", "pdf"),
        (b'{"a": 1}', "json"),
        (b"a,b\n1,2\n", "csv"),
        (b"hello\n", "text"),
        (b"\x00\x01\x02", "binary"),
        (b"RIFF\x00\x00\x00\x00WEBPVP8 ", "webp"),
    ],
)
def test_sniff(data, fmt):
    assert logic.sniff(data) == fmt


def test_image_sizes_from_headers():
    assert logic.image_size(_png(7, 5), "png") == (7, 5)
    assert logic.image_size(GIF, "gif") == (320, 200)
    assert logic.image_size(JPEG, "jpeg") == (640, 480)
    assert logic.image_size(b"\xff\xd8\xff", "jpeg") is None


REF = S3ObjectRef(bucket=LANDING_BUCKET, key="uploads/a.csv", etag="0cc175b9c0f1b6a831c399e269772661", size=1)


def test_metadata_and_checksum():
    meta = logic.extract_metadata(b"id,value\n1,2\n3,4\n", REF)
    assert meta == {"format": "csv", "size": 17, "lines": 3, "columns": ["id", "value"]}
    assert logic.extract_metadata(b'{"b": 1, "a": [2]}', REF)["keys"] == ["a", "b"]
    assert logic.extract_metadata(_png(9, 4), REF)["width"] == 9
    clean = logic.checksum_scan(b"a", REF)
    assert clean["etag_verified"] is True and clean["verdict"] == "clean"
    assert clean["sha256"] == "ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb"
    flagged = logic.checksum_scan(EICAR, REF)
    assert (
        flagged["flags"] == ["eicar_signature"]
        and flagged["verdict"] == "flagged"
        and flagged["etag_verified"] is False
    )
    multipart = S3ObjectRef(bucket="b", key="k", etag="abc-2")
    assert logic.checksum_scan(b"x", multipart)["etag_verified"] is None


def test_previews_are_written_once(resources):
    ref = S3ObjectRef(bucket=LANDING_BUCKET, key="uploads/run-1/a.txt", etag="e1")
    preview = logic.build_preview(b"one\ntwo\n", ref, "now")
    assert preview["excerpt"] == "one\ntwo"
    key = logic.preview_key(ref)
    assert key == "previews/run-1/a.txt.json"
    assert logic.write_preview(resources.s3, OUTPUT_BUCKET, key, preview, "e1") is True
    assert logic.write_preview(resources.s3, OUTPUT_BUCKET, key, preview, "e1") is False
    with pytest.raises(OutputConflict):
        logic.write_preview(resources.s3, OUTPUT_BUCKET, key, preview, "e2")


# ------------------------------------------------------------------------------------------------ handlers


@pytest.fixture
def fanout(resources, monkeypatch):
    dynamodb, sqs = resources.dynamodb, resources.sqs
    dynamodb.create_table(
        TableName=JOBS,
        KeySchema=[{"AttributeName": "job_id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "job_id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    events = boto3.client("events", region_name="us-east-1")
    events.create_event_bus(Name=BUS)
    seen = sqs.create_queue(QueueName="completions")["QueueUrl"]
    seen_arn = sqs.get_queue_attributes(QueueUrl=seen, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(
        Name="done",
        EventBusName=BUS,
        EventPattern=json.dumps({"source": ["sluice.fanout"], "detail-type": ["Upload Processed"]}),
    )
    events.put_targets(Rule="done", EventBusName=BUS, Targets=[{"Id": "q", "Arn": seen_arn}])
    dlqs = {c: sqs.create_queue(QueueName=f"sluice-test-fanout-{c}-dlq")["QueueUrl"] for c in logic.CONSUMERS}
    for name, value in {
        "EXPECTED_CONSUMERS": "metadata,checksum,preview",
        "JOBS_TABLE": JOBS,
        "DOMAIN_BUS_NAME": BUS,
    }.items():
        monkeypatch.setenv(name, value)
    handler = importlib.import_module("fanout_consumer.handler")

    class Fanout:
        def run(self, consumer, event, context):
            monkeypatch.setenv("CONSUMER", consumer)
            monkeypatch.setenv("DLQ_URL", dlqs[consumer])
            monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", f"fanout-{consumer}")
            # Each consumer is its own function, as deployed: Powertools' default key prefix is this name.
            monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", f"sluice-test-fanout-{consumer}")
            if consumer == "preview":
                monkeypatch.setenv("OUTPUT_BUCKET", OUTPUT_BUCKET)
            else:
                monkeypatch.delenv("OUTPUT_BUCKET", raising=False)
            sluice_aws.reset()
            handler.runtime.cache_clear()
            from sluice.settings import load_settings

            load_settings.cache_clear()
            return handler.handler(event, context)

        def completions(self):
            found = []
            while batch := sqs.receive_message(QueueUrl=seen, MaxNumberOfMessages=10).get("Messages", []):
                for message in batch:
                    found.append(json.loads(message["Body"]))
                    sqs.delete_message(QueueUrl=seen, ReceiptHandle=message["ReceiptHandle"])
            return found

        def job(self, ref):
            return dynamodb.get_item(
                TableName=JOBS, Key={"job_id": {"S": logic.job_id(ref)}}, ConsistentRead=True
            ).get("Item")

    return Fanout()


def upload(s3, key: str, body: bytes) -> dict:
    etag = s3.put_object(Bucket=LANDING_BUCKET, Key=key, Body=body)["ETag"].strip('"')
    return s3_object_created(LANDING_BUCKET, key, etag, size=len(body))


def test_three_consumers_complete_a_job_once(fanout, resources, lambda_context):
    uploads = UploadRun.new(4, run_id="f0f0").uploads
    events = [upload(resources.s3, u.key, u.body) for u in uploads]
    batch = sqs_event(*(sqs_record(e, message_id=f"m{i}") for i, e in enumerate(events)))
    for consumer in ("metadata", "checksum"):
        assert fanout.run(consumer, batch, lambda_context) == {"batchItemFailures": []}
    assert fanout.completions() == []  # two of three: not complete
    ref = S3ObjectRef(bucket=LANDING_BUCKET, key=uploads[3].key, etag=events[3]["detail"]["object"]["etag"])
    assert set(fanout.job(ref)["done"]["SS"]) == {"metadata", "checksum"}
    assert fanout.run("preview", batch, lambda_context) == {"batchItemFailures": []}
    completions = fanout.completions()
    assert sorted(c["detail"]["key"] for c in completions) == sorted(u.key for u in uploads)
    for completion in completions:
        contracts.validate("upload_processed", completion["detail"])
        assert set(completion["detail"]["consumers"]) == {"metadata", "checksum", "preview"}
    png = next(c["detail"] for c in completions if c["detail"]["key"].endswith(".png"))
    assert (
        png["consumers"]["metadata"]["format"] == "png"
        and png["consumers"]["preview"]["width"] == uploads[3].body[19]
    )
    preview = json.loads(
        resources.s3.get_object(Bucket=OUTPUT_BUCKET, Key="previews/run-f0f0/0000.txt.json")["Body"].read()
    )
    assert preview["excerpt"].startswith("upload 0")

    # Redelivered messages (any consumer) change nothing and publish no second completion.
    assert fanout.run("metadata", batch, lambda_context) == {"batchItemFailures": []}
    assert fanout.run("preview", batch, lambda_context) == {"batchItemFailures": []}
    assert fanout.completions() == []


def test_the_completion_is_deferred_not_published_when_the_invocation_is_nearly_out_of_time(
    fanout, resources, lambda_context, monkeypatch
):
    """Stopped by its timeout between PutEvents and its idempotency record, a consumer would announce the job again
    on redelivery: a completing record whose work used the time up to the reserve is deferred before publishing."""
    uploads = UploadRun.new(1, run_id="d1d1").uploads
    created = upload(resources.s3, uploads[0].key, uploads[0].body)
    batch = sqs_event(sqs_record(created, message_id="late"))
    for consumer in ("metadata", "checksum"):
        assert fanout.run(consumer, batch, lambda_context) == {"batchItemFailures": []}
    preview = logic.CONSUMERS["preview"]

    def slow_preview(ref, ports):
        lambda_context.remaining_ms -= 50_000  # 60 s -> 10 s, under a quarter of the budget
        return preview(ref, ports)

    monkeypatch.setitem(logic.CONSUMERS, "preview", slow_preview)
    assert fanout.run("preview", batch, lambda_context) == {"batchItemFailures": [{"itemIdentifier": "late"}]}
    assert fanout.completions() == []
    assert set(fanout.job(S3ObjectRef(bucket=LANDING_BUCKET, key=uploads[0].key, etag=created["detail"]["object"]["etag"]))["done"]["SS"]) == {
        "metadata",
        "checksum",
        "preview",
    }  # the result is recorded: only the announcement waits

    monkeypatch.setitem(logic.CONSUMERS, "preview", preview)
    lambda_context.remaining_ms = 60_000  # the redelivery: a fresh invocation, at the usual pace
    assert fanout.run("preview", batch, lambda_context) == {"batchItemFailures": []}
    assert [c["detail"]["key"] for c in fanout.completions()] == [uploads[0].key]


def test_a_missing_object_is_recorded_and_dead_lettered(fanout, resources, lambda_context):
    gone = s3_object_created(LANDING_BUCKET, "uploads/gone.txt", "0" * 32)
    assert fanout.run("checksum", sqs_event(sqs_record(gone, message_id="g")), lambda_context) == {
        "batchItemFailures": []
    }
    [failure] = resources.dynamodb.scan(TableName=FAILURES_TABLE)["Items"]
    assert (failure["pipeline"]["S"], failure["error_code"]["S"]) == ("fanout-checksum", "object_not_found")
