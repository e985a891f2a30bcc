"""sluice.failures and sluice.batch: failure records, direct dead-lettering, the SQS batch policy."""

from __future__ import annotations

import importlib
import json

import pytest
from conftest import FAILURES_TABLE, INGEST_DLQ_URL, Clients, sqs_event, sqs_record
from sluice.errors import InvalidJson, PermanentError, SchemaViolation
from sluice.failures import FailureRecorder


@pytest.fixture
def recorder(resources: Clients) -> FailureRecorder:
    return FailureRecorder(
        pipeline="ingest",
        dynamodb=resources.dynamodb,
        sqs=resources.sqs,
        table_name=FAILURES_TABLE,
        dlq_url=INGEST_DLQ_URL,
        clock=lambda: "2024-06-03T12:00:00.000Z",
    )


def dlq_messages(resources: Clients) -> list[dict]:
    messages = []
    while True:
        batch = resources.sqs.receive_message(
            QueueUrl=INGEST_DLQ_URL,
            MaxNumberOfMessages=10,
            MessageAttributeNames=["All"],
            VisibilityTimeout=0,
        ).get("Messages", [])
        new = [m for m in batch if m["MessageId"] not in {x["MessageId"] for x in messages}]
        if not new:
            return messages
        messages.extend(new)


def failure_items(resources: Clients) -> list[dict]:
    return resources.dynamodb.scan(TableName=FAILURES_TABLE, ConsistentRead=True)["Items"]


def test_records_the_failure_and_dead_letters_the_body_once(
    resources: Clients, recorder: FailureRecorder
) -> None:
    error = InvalidJson("object is not valid JSON: Expecting value")
    kwargs = dict(
        error=error, item_id="b/k#e", source="s3://b/k", body='{"x":1}', message_id="m-1", attempts=2
    )
    first = recorder.dead_letter(**kwargs)
    assert not first.already_dead_lettered and first.dlq_message_id

    (item,) = failure_items(resources)
    assert item == {
        "pipeline": {"S": "ingest"},
        "item_id": {"S": "b/k#e"},
        "error_code": {"S": "invalid_json"},
        "reason": {"S": "object is not valid JSON: Expecting value"},
        "stage": {"S": "parse"},
        "message_id": {"S": "m-1"},
        "first_seen_at": {"S": "2024-06-03T12:00:00.000Z"},
        "dead_lettered_at": {"S": "2024-06-03T12:00:00.000Z"},
        "source": {"S": "s3://b/k"},
        "attempts": {"N": "2"},
        "dlq_message_id": {"S": first.dlq_message_id},
    }
    (message,) = dlq_messages(resources)
    assert message["Body"] == '{"x":1}'
    assert {k: v["StringValue"] for k, v in message["MessageAttributes"].items()} == {
        "sluice-error-code": "invalid_json",
        "sluice-reason": "object is not valid JSON: Expecting value",
        "sluice-pipeline": "ingest",
        "sluice-source-message-id": "m-1",
        "sluice-item-id": "b/k#e",
        "sluice-stage": "parse",
    }

    again = recorder.dead_letter(**{**kwargs, "message_id": "m-2"})
    assert again.already_dead_lettered and again.dlq_message_id == first.dlq_message_id
    assert len(dlq_messages(resources)) == 1
    assert failure_items(resources) == [item]


def test_a_record_without_dlq_message_id_is_completed(resources: Clients, recorder: FailureRecorder) -> None:
    # A previous attempt crashed after writing the record, before the message reached the DLQ.
    resources.dynamodb.put_item(
        TableName=FAILURES_TABLE,
        Item={"pipeline": {"S": "ingest"}, "item_id": {"S": "b/k#e"}, "error_code": {"S": "invalid_json"}},
    )
    outcome = recorder.dead_letter(
        error=InvalidJson("bad"), item_id="b/k#e", source="s3://b/k", body="{", message_id="m-1"
    )
    assert not outcome.already_dead_lettered
    assert len(dlq_messages(resources)) == 1
    (item,) = failure_items(resources)
    assert item["dlq_message_id"] == {"S": outcome.dlq_message_id}


def test_a_concurrent_duplicate_does_not_dead_letter_twice(
    resources: Clients, recorder: FailureRecorder
) -> None:
    # Another delivery (message m-1) created the record and is sending to the DLQ right now.
    resources.dynamodb.put_item(
        TableName=FAILURES_TABLE,
        Item={
            "pipeline": {"S": "ingest"},
            "item_id": {"S": "b/k#e"},
            "error_code": {"S": "invalid_json"},
            "message_id": {"S": "m-1"},
        },
    )
    outcome = recorder.dead_letter(
        error=InvalidJson("bad"), item_id="b/k#e", source="s3://b/k", body="{", message_id="m-2"
    )
    assert outcome.already_dead_lettered
    assert dlq_messages(resources) == []
    # The owner's own retry (same message id, e.g. after a crash before the send) does send.
    retry = recorder.dead_letter(
        error=InvalidJson("bad"), item_id="b/k#e", source="s3://b/k", body="{", message_id="m-1"
    )
    assert not retry.already_dead_lettered and len(dlq_messages(resources)) == 1


def test_a_redriven_message_that_fails_again_goes_back_to_the_dlq(
    resources: Clients, recorder: FailureRecorder
) -> None:
    kwargs = dict(item_id="b/k#e", source="s3://b/k", body="{", message_id="m-1")
    first = recorder.dead_letter(error=InvalidJson("bad"), **kwargs)
    redriven_attributes = {"sluice-error-code": {"stringValue": "invalid_json", "dataType": "String"}}
    second = recorder.dead_letter(
        error=SchemaViolation("order: still bad"), message_attributes=redriven_attributes, **kwargs
    )
    assert not second.already_dead_lettered and second.dlq_message_id != first.dlq_message_id
    assert len(dlq_messages(resources)) == 2
    (item,) = failure_items(resources)
    assert item["attempts"] == {"N": "2"}
    assert item["error_code"] == {"S": "schema_violation"}
    assert item["dlq_message_id"] == {"S": second.dlq_message_id}


def test_reason_is_made_printable_and_bounded(resources: Clients, recorder: FailureRecorder) -> None:
    recorder.dead_letter(
        error=PermanentError("bad\x00byte " + "x" * 5000, code="weird"),
        item_id="i",
        source="s",
        body="b",
        message_id="m",
    )
    (item,) = failure_items(resources)
    assert item["reason"]["S"].startswith("bad?byte x")
    assert len(item["reason"]["S"]) == 1000
    (message,) = dlq_messages(resources)
    assert len(message["MessageAttributes"]["sluice-reason"]["StringValue"]) == 256


# ------------------------------------------------------------------------------------------- batch policy


@pytest.fixture
def batch(unit_env):
    return importlib.import_module("sluice.batch")


def test_batch_policy(resources: Clients, recorder: FailureRecorder, batch, lambda_context) -> None:
    def handle(record):
        body = json.loads(record.body)
        if body["kind"] == "permanent":
            raise SchemaViolation("order: nope", item_id=f"item/{body['n']}", source="test")
        if body["kind"] == "transient":
            raise ConnectionError("throttled")
        return {"ok": body["n"]}

    event = sqs_event(
        sqs_record({"kind": "ok", "n": 1}, message_id="ok-1"),
        sqs_record({"kind": "permanent", "n": 2}, message_id="perm-2"),
        sqs_record({"kind": "transient", "n": 3}, message_id="trans-3"),
        sqs_record("not json at all", message_id="garbage-4"),
    )
    response = batch.process_sqs_batch(event, lambda_context, handle, recorder=recorder)
    # The JSONDecodeError of "not json at all" is not a PermanentError: transient by policy.
    assert response == {"batchItemFailures": [{"itemIdentifier": "trans-3"}, {"itemIdentifier": "garbage-4"}]}
    (item,) = failure_items(resources)
    assert item["item_id"] == {"S": "item/2"} and item["source"] == {"S": "test"}
    assert len(dlq_messages(resources)) == 1


def test_unidentified_permanent_failures_are_keyed_by_body_hash(
    resources: Clients, recorder: FailureRecorder, batch, lambda_context
) -> None:
    def handle(record):
        raise InvalidJson("nope")

    event = sqs_event(sqs_record("same body", message_id="a"), sqs_record("same body", message_id="b"))
    assert batch.process_sqs_batch(event, lambda_context, handle, recorder=recorder) == {
        "batchItemFailures": []
    }
    (item,) = failure_items(resources)
    assert item["item_id"]["S"] == batch.unidentified_item_id("same body")
    assert item["source"]["S"].startswith("arn:aws:sqs:")
    assert len(dlq_messages(resources)) == 1


def test_an_entirely_failed_batch_is_reported_not_raised(
    recorder: FailureRecorder, batch, lambda_context
) -> None:
    def handle(record):
        raise TimeoutError("slow")

    event = sqs_event(sqs_record("x", message_id="a"), sqs_record("y", message_id="b"))
    response = batch.process_sqs_batch(event, lambda_context, handle, recorder=recorder)
    assert response == {"batchItemFailures": [{"itemIdentifier": "a"}, {"itemIdentifier": "b"}]}


def test_if_recording_the_failure_fails_the_record_is_retried(
    resources: Clients, batch, lambda_context
) -> None:
    broken = FailureRecorder(
        pipeline="ingest",
        dynamodb=resources.dynamodb,
        sqs=resources.sqs,
        table_name="no-such-table",
        dlq_url=INGEST_DLQ_URL,
    )

    def handle(record):
        raise InvalidJson("nope")

    response = batch.process_sqs_batch(
        sqs_event(sqs_record("x", message_id="a")), lambda_context, handle, recorder=broken
    )
    assert response == {"batchItemFailures": [{"itemIdentifier": "a"}]}
    assert dlq_messages(resources) == []


def test_records_are_deferred_when_the_invocation_is_near_its_timeout(recorder: FailureRecorder, batch, lambda_context) -> None:
    """A record started too close to the timeout could be stopped half done (an event published, its
    idempotency record not saved) and redone on redelivery: it is deferred instead. The first always runs."""
    handled: list[str] = []

    def handle(record):
        handled.append(record.message_id)
        lambda_context.remaining_ms -= 20_000  # each record takes 20 s of a 60 s budget

    event = sqs_event(*(sqs_record({"n": n}, message_id=f"m{n}") for n in range(4)))
    response = batch.process_sqs_batch(event, lambda_context, handle, recorder=recorder)
    # 60 s -> m0 -> 40 s -> m1 -> 20 s -> m2 (20 s >= 25 % of 60 s) -> 0 s: m3 deferred, never started.
    assert handled == ["m0", "m1", "m2"]
    assert response == {"batchItemFailures": [{"itemIdentifier": "m3"}]}

    handled.clear()
    lambda_context.remaining_ms = 1_000  # began with little time: the first record still runs
    response = batch.process_sqs_batch(event, lambda_context, lambda r: handled.append(r.message_id), recorder=recorder)
    assert handled == ["m0", "m1", "m2", "m3"]  # nothing consumed the budget, nothing deferred


def test_reserve_time_defers_a_side_effect_only_inside_a_batch_short_of_time(recorder: FailureRecorder, batch, lambda_context) -> None:
    """``reserve_time`` guards one side effect inside a record (the first record too); outside a batch it is a no-op."""
    batch.reserve_time("anything")  # no batch running: nothing to guard
    published: list[str] = []

    def handle(record):
        lambda_context.remaining_ms -= 20_000 if record.message_id == "slow" else 0
        batch.reserve_time(f"publishing {record.message_id}")
        published.append(record.message_id)

    event = sqs_event(sqs_record({"n": 1}, message_id="fast"), sqs_record({"n": 2}, message_id="slow"))
    lambda_context.remaining_ms = 40_000  # fast: 40 s left; slow: 20 s left (>= 10 s), published
    assert batch.process_sqs_batch(event, lambda_context, handle, recorder=recorder) == {"batchItemFailures": []}
    lambda_context.remaining_ms = 25_000  # slow: 5 s left of 25 s (< 25 %): deferred before its side effect
    response = batch.process_sqs_batch(event, lambda_context, handle, recorder=recorder)
    assert response == {"batchItemFailures": [{"itemIdentifier": "slow"}]}
    assert published == ["fast", "slow", "fast"]
    batch.reserve_time("after the batch")  # the batch's clock is gone with it
