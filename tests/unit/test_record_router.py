"""record_router: classification (logic) and the handler on moto: batching across messages, per-entry PutEvents
failures retried alone, refused entries re-routed as unroutable, nothing dropped."""

from __future__ import annotations

import importlib
import json
import uuid

import boto3
import pytest
from conftest import FAILURES_TABLE, LANDING_BUCKET, s3_object_created, sqs_event, sqs_record
from record_router import logic
from sluice import aws as sluice_aws
from sluice import contracts
from sluice.errors import InvalidEvent, ObjectNotFound, ObjectTooLarge

from sluicectl.routing import UNROUTABLE, RecordRun

BUS = "sluice-test-domain"
ROUTER_DLQ = "sluice-test-router-dlq"
ROUTES = logic.Routes.parse("image,text,tabular")
NOW = "2026-01-01T00:00:00.000Z"
ORIGIN = {"kind": "event", "event_id": "e-1", "source": "test"}


def classify(record):
    return logic.classify(
        record, origin=ORIGIN, fallback_id="event:e-1", routes=ROUTES, routed_at=NOW, tag="m"
    )


# ------------------------------------------------------------------------------------------------ logic


@pytest.mark.parametrize(
    "sample",
    RecordRun.new(60, seed=3, run_id="cafe0001").samples,
    ids=lambda s: f"{s.index}-{s.reason_code or s.expected}",
)
def test_every_sample_is_classified_as_the_samples_say(sample):
    try:
        record = json.loads(sample.line)
    except ValueError:
        assert sample.reason_code == "invalid_json"
        return
    event = classify(record)
    if sample.expected == UNROUTABLE:
        assert (event.detail_type, event.detail["reason_code"]) == (logic.UNROUTABLE, sample.reason_code)
        contracts.validate("record_unroutable", event.detail)
    else:
        assert (event.detail_type, event.detail["data_type"]) == (logic.ROUTED, sample.expected)
        contracts.validate(f"record_routed_{sample.expected}", event.detail)
        assert event.detail["record_id"] == sample.record_id and event.detail["origin"] == ORIGIN
    assert event.source == logic.SOURCE and event.tag == "m"


def test_unroutable_events_say_why_and_keep_the_record():
    event = classify({"record_id": "r1", "data_type": "audio", "payload": {"seconds": 3}})
    assert event.detail == {
        "record_id": "r1",
        "reason_code": "unknown_data_type",
        "reason": "no route for data_type 'audio' (routes: image, tabular, text)",
        "data_type": "audio",
        "record": {"record_id": "r1", "data_type": "audio", "payload": {"seconds": 3}},
        "routed_at": NOW,
        "origin": ORIGIN,
    }
    violation = classify({"record_id": "r2", "data_type": "text", "payload": {"text": ""}})
    assert violation.detail["reason_code"] == "schema_violation"
    assert "data.payload.text must be longer than or equal to 1 characters" in violation.detail["reason"]


@pytest.mark.parametrize(
    ("record", "code"),
    [
        ([1, 2], "invalid_record"),
        ({"data_type": "text"}, "invalid_record"),
        ({"record_id": "has space", "data_type": "text"}, "invalid_record"),
        ({"record_id": "r", "data_type": None}, "missing_data_type"),
        ({"record_id": "r", "data_type": "IMAGE"}, "invalid_data_type"),
        ({"record_id": "r", "data_type": {"kind": "image"}}, "invalid_data_type"),
        (
            {
                "record_id": "r",
                "data_type": "image",
                "payload": {"uri": "u", "width": 1, "height": 1, "format": "bmp"},
            },
            "schema_violation",
        ),
        (
            {"record_id": "r", "data_type": "tabular", "payload": {"columns": [], "rows": []}},
            "schema_violation",
        ),
        (
            {"record_id": "r", "data_type": "text", "payload": {"text": "x"}, "submitted_at": "yesterday"},
            "schema_violation",
        ),
        ({"record_id": "r", "data_type": "text", "payload": {"text": "x" * 300_000}}, "schema_violation"),
    ],
)
def test_unroutable_reasons(record, code):
    event = classify(record)
    assert event.detail["reason_code"] == code
    if code == "invalid_record":
        assert event.detail["record_id"] == "event:e-1"


def test_a_record_too_large_for_an_event_keeps_an_excerpt():
    big = {"record_id": "big", "data_type": "audio", "payload": {"blob": "x" * 100_000}}
    event = classify(big)
    assert "record" not in event.detail and len(event.detail["record_excerpt"]) == logic.EXCERPT_CHARS


def test_routes_are_parsed_and_checked():
    assert logic.Routes.parse(" image, text ,").types == {"image", "text"}
    with pytest.raises(ValueError, match="invalid data types"):
        logic.Routes.parse("Image")


def test_records_files_are_json_lines():
    data = b'\xef\xbb\xbf{"a": 1}\r\n\n  \n[1,\n"x"\nNaN\n\xff\xfe\n'
    lines = list(logic.read_lines(data))
    assert [(line.number, line.value, line.error is None) for line in lines] == [
        (1, {"a": 1}, True),
        (4, None, False),
        (5, "x", True),
        (6, None, False),
        (7, None, False),
    ]
    assert "not UTF-8" in lines[-1].error


def test_messages_that_are_not_submissions_are_permanent_errors():
    with pytest.raises(InvalidEvent, match="not JSON"):
        logic.parse_message("{nope")
    with pytest.raises(InvalidEvent, match="expected a 'Record Submitted' event"):
        logic.parse_message(json.dumps({"source": "x", "detail-type": "Other", "detail": {}}))


# ------------------------------------------------------------------------------------------------ files on moto


@pytest.fixture
def landing(resources):
    return resources.s3


def put_file(s3, key: str, lines: list[str]) -> dict:
    body = ("\n".join(lines) + "\n").encode()
    etag = s3.put_object(Bucket=LANDING_BUCKET, Key=key, Body=body)["ETag"].strip('"')
    return s3_object_created(LANDING_BUCKET, key, etag, size=len(body))


def test_a_records_file_gives_one_event_per_line(landing):
    run = RecordRun.new(30, seed=5, run_id="f11e0001")  # 6 unroutable: one of each kind
    event = put_file(landing, "records/run-f11e0001/part.jsonl", [s.line for s in run.samples])
    events = logic.route_message(json.dumps(event), s3=landing, routes=ROUTES, routed_at=NOW, tag="m1")
    assert len(events) == 30
    for sample, routed in zip(run.samples, events, strict=True):
        expected = sample.expected if sample.expected != UNROUTABLE else None
        assert (
            routed.detail.get("data_type") == expected or routed.detail["reason_code"] == sample.reason_code
        )
        assert routed.detail["origin"]["line"] == sample.index + 1
        assert routed.detail["origin"]["key"] == "records/run-f11e0001/part.jsonl"
    bad = next(e for e in events if e.detail.get("reason_code") == "invalid_json")
    assert bad.detail["record_id"].startswith(f"s3://{LANDING_BUCKET}/records/run-f11e0001/part.jsonl#")
    assert bad.detail["record_excerpt"].startswith('{"record_id"')


def test_an_overwritten_file_routes_nothing_and_a_missing_file_is_permanent(landing):
    event = put_file(
        landing, "records/a.jsonl", ['{"record_id": "a", "data_type": "text", "payload": {"text": "x"}}']
    )
    landing.put_object(Bucket=LANDING_BUCKET, Key="records/a.jsonl", Body=b"{}\n")  # a newer version
    assert logic.route_message(json.dumps(event), s3=landing, routes=ROUTES) == []
    gone = s3_object_created(LANDING_BUCKET, "records/gone.jsonl", "0" * 32)
    with pytest.raises(ObjectNotFound):
        logic.route_message(json.dumps(gone), s3=landing, routes=ROUTES)
    with pytest.raises(ObjectTooLarge):
        logic.route_message(json.dumps(event), s3=landing, routes=ROUTES, max_object_bytes=2)


# ------------------------------------------------------------------------------------------------ the handler


class CountingEvents:
    """The real (moto) events client, counting PutEvents calls and failing the entries `fail` names."""

    def __init__(self, client, fail=None):
        self._client = client
        self.calls = 0
        self.entries = 0
        self._fail = fail or (lambda detail: None)

    def put_events(self, Entries):
        self.calls += 1
        self.entries += len(Entries)
        codes = [self._fail(json.loads(e["Detail"])) for e in Entries]
        passed = [e for e, code in zip(Entries, codes, strict=True) if not code]
        answered = iter(self._client.put_events(Entries=passed)["Entries"] if passed else [])
        results = [
            {"ErrorCode": code, "ErrorMessage": "injected"} if code else next(answered) for code in codes
        ]
        return {"FailedEntryCount": sum(1 for c in codes if c), "Entries": results}


@pytest.fixture
def router(resources, monkeypatch):
    sqs, events = resources.sqs, boto3.client("events", region_name="us-east-1")
    dlq_url = sqs.create_queue(QueueName=ROUTER_DLQ)["QueueUrl"]
    seen_url = sqs.create_queue(QueueName="seen")["QueueUrl"]
    seen_arn = sqs.get_queue_attributes(QueueUrl=seen_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    events.create_event_bus(Name=BUS)
    events.put_rule(Name="all", EventBusName=BUS, EventPattern=json.dumps({"source": ["sluice.router"]}))
    events.put_targets(Rule="all", EventBusName=BUS, Targets=[{"Id": "q", "Arn": seen_arn}])
    for name, value in {
        "DOMAIN_BUS_NAME": BUS,
        "ROUTED_TYPES": "image,text,tabular",
        "DLQ_URL": dlq_url,
        "PUBLISH_MAX_ATTEMPTS": "3",
        "POWERTOOLS_SERVICE_NAME": "record-router",
    }.items():
        monkeypatch.setenv(name, value)
    handler = importlib.import_module("record_router.handler")

    class Router:
        module = handler

        def use(self, client):
            sluice_aws.reset()
            sluice_aws._clients["events"] = client
            handler.runtime.cache_clear()
            return client

        def published(self):
            found = []
            while batch := sqs.receive_message(QueueUrl=seen_url, MaxNumberOfMessages=10).get("Messages", []):
                for message in batch:
                    found.append(json.loads(message["Body"]))
                    sqs.delete_message(QueueUrl=seen_url, ReceiptHandle=message["ReceiptHandle"])
            return found

    return Router()


def submitted(record, event_id=None) -> dict:
    return {
        "version": "0",
        "id": event_id or str(uuid.uuid4()),
        "detail-type": "Record Submitted",
        "source": "sluice.producer",
        "account": "123456789012",
        "time": "2026-01-01T00:00:00Z",
        "region": "us-east-1",
        "resources": [],
        "detail": record,
    }


def test_ten_single_record_messages_are_one_put_events_call(router, resources, lambda_context):
    counting = router.use(CountingEvents(boto3.client("events", region_name="us-east-1")))
    run = RecordRun.new(10, 0.0, seed=1, run_id="ba7c0001")
    event = sqs_event(
        *(sqs_record(submitted(s.record), message_id=f"m{i}") for i, s in enumerate(run.samples))
    )
    assert router.module.handler(event, lambda_context) == {"batchItemFailures": []}
    assert (counting.calls, counting.entries) == (1, 10)
    published = router.published()
    assert sorted(e["detail"]["record_id"] for e in published) == sorted(s.record_id for s in run.samples)
    assert {e["detail-type"] for e in published} == {"Record Routed"}


def test_files_and_events_route_together_and_failures_of_messages_stay_apart(
    router, resources, lambda_context
):
    counting = router.use(CountingEvents(boto3.client("events", region_name="us-east-1")))
    run = RecordRun.new(30, seed=2, run_id="ba7c0002")
    file_event = put_file(resources.s3, "records/run-ba7c0002/part.jsonl", [s.line for s in run.samples])
    extra = {"record_id": "ba7c0002-extra", "data_type": "text", "payload": {"text": "hello"}}
    gone = s3_object_created(LANDING_BUCKET, "records/gone.jsonl", "0" * 32)
    event = sqs_event(
        sqs_record(file_event, message_id="file"),
        sqs_record(submitted(extra), message_id="one"),
        sqs_record(gone, message_id="gone"),
        sqs_record("{garbage", message_id="garbage"),
    )
    assert router.module.handler(event, lambda_context) == {"batchItemFailures": []}
    assert counting.entries == 31 and counting.calls == 4
    published = router.published()
    assert len(published) == 31
    unroutable = [e for e in published if e["detail-type"] == "Record Unroutable"]
    assert len(unroutable) == sum(1 for s in run.samples if s.expected == UNROUTABLE)
    # The two messages that can never succeed are recorded and dead-lettered, not retried.
    failures = resources.dynamodb.scan(TableName=FAILURES_TABLE)["Items"]
    assert sorted(f["error_code"]["S"] for f in failures) == ["invalid_event", "object_not_found"]
    assert {f["pipeline"]["S"] for f in failures} == {"routing"}


def test_entries_that_keep_failing_fail_only_their_messages(router, resources, lambda_context):
    # Records "-00003" always fail with a retryable code; the others go through.
    counting = router.use(
        CountingEvents(
            boto3.client("events", region_name="us-east-1"),
            fail=lambda d: "InternalFailure" if d["record_id"].endswith("-00003") else None,
        )
    )
    run = RecordRun.new(6, 0.0, seed=1, run_id="ba7c0003")
    event = sqs_event(
        *(sqs_record(submitted(s.record), message_id=f"m{i}") for i, s in enumerate(run.samples))
    )
    assert router.module.handler(event, lambda_context) == {"batchItemFailures": [{"itemIdentifier": "m3"}]}
    assert counting.calls == 3  # one request, then the failing entry alone, twice (PUBLISH_MAX_ATTEMPTS=3)
    assert sorted(e["detail"]["record_id"] for e in router.published()) == [
        s.record_id for s in run.samples if s.index != 3
    ]


def test_entries_the_bus_refuses_are_rerouted_as_unroutable(router, resources, lambda_context):
    router.use(
        CountingEvents(
            boto3.client("events", region_name="us-east-1"),
            fail=lambda d: (
                "InvalidArgument" if d.get("data_type") == "image" and "reason_code" not in d else None
            ),
        )
    )
    run = RecordRun.new(3, 0.0, seed=1, run_id="ba7c0004")
    event = sqs_event(
        *(sqs_record(submitted(s.record), message_id=f"m{i}") for i, s in enumerate(run.samples))
    )
    assert router.module.handler(event, lambda_context) == {"batchItemFailures": []}
    published = {e["detail"]["record_id"]: e for e in router.published()}
    image = next(s for s in run.samples if s.expected == "image")
    assert published[image.record_id]["detail-type"] == "Record Unroutable"
    assert published[image.record_id]["detail"]["reason_code"] == "rejected"
    assert len(published) == 3


def test_per_record_mode_publishes_one_event_per_call(router, resources, lambda_context, monkeypatch):
    monkeypatch.setenv("PUBLISH_BATCH_SIZE", "1")
    counting = router.use(CountingEvents(boto3.client("events", region_name="us-east-1")))
    run = RecordRun.new(4, 0.0, seed=1, run_id="ba7c0005")
    event = sqs_event(
        *(sqs_record(submitted(s.record), message_id=f"m{i}") for i, s in enumerate(run.samples))
    )
    router.module.handler(event, lambda_context)
    assert (counting.calls, counting.entries) == (4, 4)


# ------------------------------------------------------------------------------------------------ publish once


def _unroutable_batch(run_id: str) -> tuple[dict, list]:
    run = RecordRun.new(10, 0.5, seed=3, run_id=run_id)
    samples = [s for s in run.samples if not s.file_only]
    event = sqs_event(*(sqs_record(submitted(s.record, event_id=f"{run_id}-e{i}"), message_id=f"m{i}") for i, s in enumerate(samples)))
    return event, samples


def test_a_redelivered_message_announces_its_unroutable_records_once(router, resources, lambda_context):
    router.use(boto3.client("events", region_name="us-east-1"))
    event, samples = _unroutable_batch("ba7c0006")
    bad = sorted(s.record_id for s in samples if s.expected == UNROUTABLE)
    assert bad
    assert router.module.handler(event, lambda_context) == {"batchItemFailures": []}
    first = [e for e in router.published() if e["detail-type"] == "Record Unroutable"]
    assert sorted(e["detail"]["record_id"] for e in first) == bad
    # The same messages again (a duplicate delivery, or a retry after a timeout): routed events may be published
    # again (the processors' writes are conditional), unroutable ones never.
    assert router.module.handler(event, lambda_context) == {"batchItemFailures": []}
    again = router.published()
    assert [e for e in again if e["detail-type"] == "Record Unroutable"] == []
    assert len(again) == len(samples) - len(bad)


def test_an_unroutable_event_that_could_not_be_published_is_published_by_the_retry(router, resources, lambda_context):
    failing = router.use(CountingEvents(boto3.client("events", region_name="us-east-1"), fail=lambda d: "InternalFailure" if "reason_code" in d else None))
    event, samples = _unroutable_batch("ba7c0007")
    bad = {s.record_id for s in samples if s.expected == UNROUTABLE}
    response = router.module.handler(event, lambda_context)
    assert {f["itemIdentifier"] for f in response["batchItemFailures"]} == {f"m{i}" for i, s in enumerate(samples) if s.record_id in bad}
    assert failing.calls > 1 and not [e for e in router.published() if e["detail-type"] == "Record Unroutable"]
    router.use(boto3.client("events", region_name="us-east-1"))  # EventBridge is back: the claims were released
    assert router.module.handler(event, lambda_context) == {"batchItemFailures": []}
    assert sorted(e["detail"]["record_id"] for e in router.published() if e["detail-type"] == "Record Unroutable") == sorted(bad)


def test_an_announcement_in_progress_elsewhere_makes_the_message_retry(router, resources, lambda_context):
    router.use(boto3.client("events", region_name="us-east-1"))
    event, samples = _unroutable_batch("ba7c0008")
    index, sample = next((i, s) for i, s in enumerate(samples) if s.expected == UNROUTABLE)
    rt = router.module.runtime()
    message = json.loads(event["Records"][index]["body"])
    [announcement] = router.module.logic.route_message(json.dumps(message), s3=resources.s3, routes=rt.settings.routes, max_object_bytes=1000, tag="x")
    assert rt.once.claim(router.module.logic.unroutable_key(announcement)) == "go"  # another invocation, still running
    response = router.module.handler(event, lambda_context)
    assert response == {"batchItemFailures": [{"itemIdentifier": f"m{index}"}]}
    assert sample.record_id not in {e["detail"]["record_id"] for e in router.published() if e["detail-type"] == "Record Unroutable"}
