"""sluice.publish: PutEvents batching (10 entries, 256 KiB), per-entry retries, nothing dropped."""

from __future__ import annotations

import json
import random

import boto3
import pytest
from botocore.exceptions import ClientError
from sluice.errors import SchemaViolation
from sluice.publish import MAX_REQUEST_BYTES, DomainEvent, EventPublisher, entry_size


def event(n: int, size: int = 0, tag=None) -> DomainEvent:
    detail = {"n": n}
    if size:
        detail["pad"] = "x" * size
    return DomainEvent(source="test", detail_type="Thing", detail=detail, tag=tag if tag is not None else n)


class FakeEvents:
    """PutEvents that fails the entries `fail(n, attempt)` names, with the code it returns."""

    def __init__(self, fail=None, raise_on_call=None):
        self.calls: list[list[dict]] = []
        self.attempts: dict[int, int] = {}
        self._fail = fail or (lambda n, attempt: None)
        self._raise = raise_on_call

    def put_events(self, Entries):
        assert 1 <= len(Entries) <= 10
        assert (
            sum(entry_size(e["Source"], e["DetailType"], e["Detail"]) for e in Entries) <= MAX_REQUEST_BYTES
        )
        self.calls.append(Entries)
        if self._raise and self._raise(len(self.calls)):
            raise ClientError(
                {"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}}, "PutEvents"
            )
        results = []
        for entry in Entries:
            n = json.loads(entry["Detail"])["n"]
            self.attempts[n] = self.attempts.get(n, 0) + 1
            code = self._fail(n, self.attempts[n])
            results.append(
                {"ErrorCode": code, "ErrorMessage": f"{code} for {n}"} if code else {"EventId": f"id-{n}"}
            )
        return {"FailedEntryCount": sum(1 for r in results if "ErrorCode" in r), "Entries": results}


def publisher(client, **kwargs) -> tuple[EventPublisher, list[float]]:
    sleeps: list[float] = []
    return EventPublisher(client, "bus", sleep=sleeps.append, rng=random.Random(1), **kwargs), sleeps


def test_events_go_out_ten_per_request_in_order():
    client = FakeEvents()
    pub, sleeps = publisher(client)
    result = pub.publish([event(i) for i in range(25)])
    assert [len(c) for c in client.calls] == [10, 10, 5]
    assert result.calls == 3 and result.ok and not sleeps
    assert [e.detail["n"] for e, _ in result.published] == list(range(25))
    assert client.calls[0][0] == {
        "Source": "test",
        "DetailType": "Thing",
        "Detail": '{"n":0}',
        "EventBusName": "bus",
    }


def test_batch_size_one_is_the_per_record_baseline():
    client = FakeEvents()
    pub, _ = publisher(client, batch_size=1)
    assert pub.publish([event(i) for i in range(7)]).calls == 7


def test_requests_stay_under_256_kib():
    client = FakeEvents()
    pub, _ = publisher(client)
    result = pub.publish([event(i, size=100_000) for i in range(5)])
    assert [len(c) for c in client.calls] == [2, 2, 1]
    assert result.ok


def test_only_failed_entries_are_retried_with_backoff():
    client = FakeEvents(fail=lambda n, attempt: "ThrottlingException" if n % 3 == 0 and attempt < 3 else None)
    pub, sleeps = publisher(client, base_delay=0.1, max_delay=1.0)
    result = pub.publish([event(i) for i in range(12)])
    assert result.ok and len(result.published) == 12
    failing = [0, 3, 6, 9]
    assert [len(c) for c in client.calls] == [
        10,
        2,
        4,
        4,
    ]  # first pass, then only the 4 failed entries, twice
    assert sorted(json.loads(e["Detail"])["n"] for e in client.calls[2]) == failing
    assert result.retried_entries == 8
    assert len(sleeps) == 2 and 0 <= sleeps[0] <= 0.1 and 0 <= sleeps[1] <= 0.2


def test_entries_still_failing_after_max_attempts_are_returned_not_dropped():
    client = FakeEvents(fail=lambda n, attempt: "InternalFailure" if n == 4 else None)
    pub, sleeps = publisher(client, max_attempts=3)
    result = pub.publish([event(i, tag=f"m{i // 2}") for i in range(6)])
    assert len(result.published) == 5
    [failure] = result.failed
    assert (failure.event.detail["n"], failure.code, failure.permanent, failure.attempts) == (
        4,
        "InternalFailure",
        False,
        3,
    )
    assert result.failed_tags() == {"m2"} and client.attempts[4] == 3 and len(sleeps) == 2


def test_refused_entries_are_not_retried():
    client = FakeEvents(fail=lambda n, attempt: "InvalidArgument" if n == 1 else None)
    pub, sleeps = publisher(client)
    result = pub.publish([event(i) for i in range(3)])
    [failure] = result.failed
    assert failure.permanent and failure.code == "InvalidArgument" and client.attempts[1] == 1 and not sleeps
    assert result.failed_tags(permanent=True) == {1} and result.failed_tags(permanent=False) == set()


def test_a_failed_request_retries_all_its_entries():
    client = FakeEvents(raise_on_call=lambda call: call == 1)
    pub, sleeps = publisher(client)
    result = pub.publish([event(i) for i in range(4)])
    assert result.ok and result.calls == 2 and len(sleeps) == 1


def test_an_entry_too_large_for_any_request_fails_without_a_call():
    client = FakeEvents()
    pub, _ = publisher(client)
    result = pub.publish([event(1, size=MAX_REQUEST_BYTES)])
    assert client.calls == [] and result.failed[0].permanent and result.failed[0].code == "EntryTooLarge"


def test_batch_size_is_checked():
    with pytest.raises(ValueError, match="batch_size"):
        EventPublisher(FakeEvents(), "bus", batch_size=11)


def test_producers_validate_against_the_contract():
    with pytest.raises(SchemaViolation, match="record_unroutable"):
        DomainEvent.validated("record_unroutable", source="s", detail_type="d", detail={"record_id": "r"})


def test_entry_size_follows_aws_calculation():
    assert entry_size("src", "type", '{"a":1}', ["arn:x"], has_time=True) == 14 + 3 + 4 + 7 + 5
    assert event(1).size == len("test") + len("Thing") + len('{"n":1}')


def test_publishes_to_a_real_bus(aws):
    events = boto3.client("events", region_name="us-east-1")
    sqs = boto3.client("sqs", region_name="us-east-1")
    events.create_event_bus(Name="domain")
    url = sqs.create_queue(QueueName="seen")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name="all", EventBusName="domain", EventPattern=json.dumps({"source": ["test"]}))
    events.put_targets(Rule="all", EventBusName="domain", Targets=[{"Id": "q", "Arn": arn}])
    result = EventPublisher(events, "domain").publish([event(i) for i in range(12)])
    assert result.ok and result.calls == 2
    seen = set()
    while batch := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
        for message in batch:
            seen.add(json.loads(message["Body"])["detail"]["n"])
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    assert seen == set(range(12))
