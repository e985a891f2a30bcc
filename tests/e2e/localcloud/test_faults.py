"""Fault injection: function errors, timeouts and throttles; duplicate and out-of-order deliveries; the control API."""

from __future__ import annotations

import json

import pytest

from localcloud.client import LocalCloudError
from localcloud.testing import wait_until
from tests.e2e.localcloud.streams import Consumer
from tests.e2e.localcloud.test_kinesis import Stream
from tests.e2e.localcloud.test_sqs import Setup

pytestmark = pytest.mark.e2e


@pytest.fixture(autouse=True)
def no_faults_left(cloud):
    """Delivery faults are per source for the whole local cloud: never leave one for the next test."""
    yield
    cloud.clear_faults()


def _seen_bodies(batches: list[dict]) -> list[str]:
    return [body for batch in batches for body in batch["bodies"]]


def _mapping_status(cloud, setup: Setup) -> dict:
    return next(r for r in cloud.status()["deliveries"] if r.get("uuid") == setup.mapping)


def test_a_timed_out_invocation_has_run_and_its_messages_are_delivered_again(cloud, role_arn, unique):
    setup = Setup(cloud, role_arn, unique, visibility=30)
    cloud.set_fault(unique, timeout_rate=1.0, remaining=1)
    setup.send("only-once")
    seen: list[dict] = []

    def delivered(n: int) -> bool:
        seen.extend(setup.batches())
        return len(_seen_bodies(seen)) >= n

    wait_until(lambda: delivered(1), timeout=20, what="the first (timed-out) delivery ran")
    assert setup.depth(setup.queue) == 1  # reported as an error: the message stays
    cloud.advance_clock(31)
    wait_until(lambda: delivered(2) and setup.depth(setup.queue) == 0, timeout=20, what="redelivered and deleted")
    assert _seen_bodies(seen) == ["only-once", "only-once"]
    assert [c for b in seen for c in b["counts"]] == ["1", "2"]
    assert "Sandbox.Timedout" in (_mapping_status(cloud, setup)["last_error"] or "")
    assert cloud.faults()["by_kind"].get("timeout", 0) >= 1


def test_a_throttled_batch_is_retried_with_backoff_while_its_messages_are_in_flight(cloud, role_arn, unique):
    setup = Setup(cloud, role_arn, unique, visibility=30)
    cloud.set_fault(unique, throttle_rate=1.0, remaining=3)
    setup.send("a", "b")
    wait_until(lambda: setup.depth(setup.queue) == 0, timeout=30, what="queue drained after the throttles")
    batches = setup.batches()
    assert sorted(_seen_bodies(batches)) == ["a", "b"]
    assert {c for b in batches for c in b["counts"]} == {"1"}  # retried inside one receive: no extra receive
    assert _mapping_status(cloud, setup)["throttles"] >= 3
    assert setup.depth(setup.dlq) == 0


def test_function_errors_at_a_rate_end_in_the_dlq_after_max_receive(cloud, role_arn, unique):
    setup = Setup(cloud, role_arn, unique, visibility=30, max_receive=2)
    cloud.set_fault(unique, error_rate=1.0)
    setup.send("doomed")
    for attempt in (1, 2):
        wait_until(lambda n=attempt: _mapping_status(cloud, setup)["function_errors"] >= n, timeout=20, what=f"failed attempt {attempt}")
        cloud.advance_clock(31)
    wait_until(lambda: setup.depth(setup.dlq) == 1, timeout=20, what="dead-lettered")
    assert setup.batches() == []  # the function never ran
    assert cloud.faults()["injected"][unique] >= 2


def test_sqs_duplicate_delivery_invokes_twice_with_the_same_message(cloud, role_arn, unique):
    setup = Setup(cloud, role_arn, unique)
    cloud.set_delivery_fault("sqs", duplicate_rate=1.0)
    setup.send("twice")
    seen: list[dict] = []

    def both() -> bool:
        seen.extend(setup.batches())
        return len(seen) >= 2

    wait_until(both, timeout=20, what="two deliveries")
    assert _seen_bodies(seen) == ["twice", "twice"]
    assert setup.depth(setup.queue) == 0
    assert _mapping_status(cloud, setup)["duplicates"] >= 1


def test_sqs_out_of_order_delivery_reorders_but_delivers_each_message_once(cloud, role_arn, unique):
    setup = Setup(cloud, role_arn, unique, batch_size=10)
    cloud.set_delivery_fault("sqs", out_of_order=True)
    sent = [f"m-{i:02d}" for i in range(30)]
    setup.send(*sent)
    wait_until(lambda: setup.depth(setup.queue) == 0, timeout=30, what="queue drained")
    seen = _seen_bodies(wait_until(setup.batches, timeout=10, what="batches"))
    assert sorted(seen) == sent  # every message once: reordering loses and repeats nothing
    assert seen != sent
    assert cloud.faults()["by_kind"].get("reordered:sqs", 0) > 0


def test_eventbridge_duplicate_delivery_sends_the_same_event_twice(cloud, unique):
    sqs, events = cloud.boto3_client("sqs"), cloud.boto3_client("events")
    url = sqs.create_queue(QueueName=unique)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.create_event_bus(Name=unique)
    events.put_rule(Name=unique, EventBusName=unique, EventPattern=json.dumps({"source": ["chaos.test"]}))
    events.put_targets(Rule=unique, EventBusName=unique, Targets=[{"Id": "q", "Arn": arn}])
    cloud.set_delivery_fault("eventbridge", duplicate_rate=1.0)
    event_id = events.put_events(Entries=[{"Source": "chaos.test", "DetailType": "T", "Detail": "{}", "EventBusName": unique}])["Entries"][0]["EventId"]
    found: list[dict] = []

    def both() -> bool:
        for message in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
            found.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        return len(found) >= 2

    wait_until(both, timeout=20, what="the event twice")
    assert [e["id"] for e in found] == [event_id, event_id]


def test_kinesis_duplicate_delivery_sends_a_successful_batch_again(cloud, role_arn, unique):
    stream = Stream(cloud, unique)
    consumer = Consumer(cloud, role_arn, unique)
    cloud.set_delivery_fault("kinesis", duplicate_rate=1.0)
    stream.put({"n": 1}, {"n": 2})
    consumer.map(stream.arn, BatchSize=10)
    wait_until(lambda: len(consumer.batches()) >= 2, timeout=30, what="the batch twice")
    batches = consumer.batches()
    sequences = [[r["kinesis"]["sequenceNumber"] for r in b["records"]] for b in batches]
    assert sequences[0] == sequences[1]
    assert consumer.status()["duplicates"] >= 1


def test_the_control_api_validates_and_reports_faults(cloud):
    with pytest.raises(LocalCloudError, match="400"):
        cloud.set_fault("anything", error_rate=1.5)
    with pytest.raises(LocalCloudError, match="400"):
        cloud.set_fault("anything", error_rate=0.6, timeout_rate=0.6)
    with pytest.raises(LocalCloudError, match="400"):
        cloud.set_delivery_fault("kinesis", out_of_order=True)
    with pytest.raises(LocalCloudError, match="400"):
        cloud.set_delivery_fault("carrier-pigeon", duplicate_rate=0.1)
    cloud.set_fault("fn-a", timeout_rate=0.25)
    cloud.set_delivery_fault("dynamodb", duplicate_rate=0.5)
    report = cloud.faults()
    assert report["faults"]["fn-a"]["timeout_rate"] == 0.25
    assert report["deliveries"]["dynamodb"] == {"duplicate_rate": 0.5, "out_of_order": False}
    assert cloud.status()["delivery_faults"]["dynamodb"]["duplicate_rate"] == 0.5
    cloud.clear_faults()
    assert cloud.faults()["faults"] == {} and cloud.faults()["deliveries"] == {}
