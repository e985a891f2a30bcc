"""SQS → Lambda event source mappings with AWS semantics: batching, partial failures, visibility, redrive."""

from __future__ import annotations

import json

import pytest

from localcloud.testing import wait_until
from tests.e2e.conftest import make_zip

pytestmark = pytest.mark.e2e

# Records the batches it sees in a queue of its own, fails bodies containing "poison" as items, raises on "crash".
CONSUMER = """
import json, os, boto3
SQS = boto3.client("sqs")

def handler(event, context):
    bodies = [r["body"] for r in event["Records"]]
    SQS.send_message(QueueUrl=os.environ["SEEN_URL"], MessageBody=json.dumps({
        "bodies": bodies, "counts": [r["attributes"]["ApproximateReceiveCount"] for r in event["Records"]],
        "attributes": [r["messageAttributes"] for r in event["Records"]],
    }))
    if any("crash" in b for b in bodies):
        raise RuntimeError("crash")
    return {"batchItemFailures": [{"itemIdentifier": r["messageId"]} for r in event["Records"] if "poison" in r["body"]]}
"""


class Setup:
    def __init__(self, cloud, role_arn, name, *, batch_size=10, window=0, visibility=30, max_receive=3, report_failures=True, filters=None):
        self.sqs = cloud.boto3_client("sqs")
        self.lam = cloud.boto3_client("lambda")
        self.dlq = self.sqs.create_queue(QueueName=f"{name}-dlq")["QueueUrl"]
        dlq_arn = self.arn(self.dlq)
        self.queue = self.sqs.create_queue(
            QueueName=name,
            Attributes={
                "VisibilityTimeout": str(visibility),
                "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": max_receive}),
            },
        )["QueueUrl"]
        self.seen = self.sqs.create_queue(QueueName=f"{name}-seen")["QueueUrl"]
        self.lam.create_function(
            FunctionName=name,
            Runtime="python3.11",
            Role=role_arn,
            Handler="fn.app.handler",
            Code={"ZipFile": make_zip({"fn/__init__.py": "", "fn/app.py": CONSUMER})},
            Timeout=5,
            Environment={"Variables": {"SEEN_URL": self.seen}},
        )
        mapping = {
            "FunctionName": name,
            "EventSourceArn": self.arn(self.queue),
            "BatchSize": batch_size,
            "MaximumBatchingWindowInSeconds": window,
        }
        if report_failures:
            mapping["FunctionResponseTypes"] = ["ReportBatchItemFailures"]
        if filters:
            mapping["FilterCriteria"] = {"Filters": [{"Pattern": json.dumps(f)} for f in filters]}
        self.mapping = self.lam.create_event_source_mapping(**mapping)["UUID"]

    def arn(self, url):
        return self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]

    def send(self, *bodies, **attributes):
        for start in range(0, len(bodies), 10):
            self.sqs.send_message_batch(
                QueueUrl=self.queue,
                Entries=[
                    {
                        "Id": str(i),
                        "MessageBody": body,
                        "MessageAttributes": {k: {"DataType": "String", "StringValue": v} for k, v in attributes.items()},
                    }
                    for i, body in enumerate(bodies[start : start + 10])
                ],
            )

    def depth(self, url):
        attrs = self.sqs.get_queue_attributes(
            QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
        )["Attributes"]
        return int(attrs["ApproximateNumberOfMessages"]) + int(attrs["ApproximateNumberOfMessagesNotVisible"])

    def batches(self):
        found = []
        while True:
            messages = self.sqs.receive_message(QueueUrl=self.seen, MaxNumberOfMessages=10).get("Messages", [])
            if not messages:
                return found
            for message in messages:
                found.append(json.loads(message["Body"]))
                self.sqs.delete_message(QueueUrl=self.seen, ReceiptHandle=message["ReceiptHandle"])

    def dlq_bodies(self):
        messages = self.sqs.receive_message(QueueUrl=self.dlq, MaxNumberOfMessages=10, VisibilityTimeout=60).get("Messages", [])
        return sorted(m["Body"] for m in messages)


def test_successful_batches_are_deleted_and_batch_size_is_respected(cloud, role_arn, unique):
    setup = Setup(cloud, role_arn, unique, batch_size=5, window=1)
    setup.send(*[f"ok-{i}" for i in range(20)], origin="test")
    wait_until(lambda: setup.depth(setup.queue) == 0, timeout=30, what="queue drained")
    batches = wait_until(setup.batches, timeout=10, what="batches recorded")
    sizes = [len(b["bodies"]) for b in batches]
    assert sum(sizes) == 20 and max(sizes) <= 5
    assert sorted(body for b in batches for body in b["bodies"]) == sorted(f"ok-{i}" for i in range(20))
    assert batches[0]["attributes"][0]["origin"]["stringValue"] == "test"
    assert setup.depth(setup.dlq) == 0


def test_batching_window_gathers_messages_into_one_invocation(cloud, role_arn, unique):
    setup = Setup(cloud, role_arn, unique, batch_size=50, window=2)
    setup.send(*[f"ok-{i}" for i in range(30)])
    wait_until(lambda: setup.depth(setup.queue) == 0, timeout=30, what="queue drained")
    sizes = [len(b["bodies"]) for b in wait_until(setup.batches, timeout=10, what="batches")]
    assert sum(sizes) == 30 and max(sizes) > 10  # more than one ReceiveMessage's worth in a single invocation


def test_reported_item_failures_are_retried_then_dead_lettered(cloud, role_arn, unique):
    setup = Setup(cloud, role_arn, unique, batch_size=10, visibility=30, max_receive=3)
    setup.send("ok-1", "poison-1", "ok-2", "poison-2")
    seen: list[dict] = []

    def attempts() -> int:
        seen.extend(setup.batches())
        return sum("poison-1" in b["bodies"] for b in seen)

    for attempt in (1, 2, 3):
        wait_until(lambda n=attempt: attempts() >= n, timeout=20, what=f"delivery attempt {attempt}")
        cloud.advance_clock(31)  # the failed messages stay invisible for 30 s: skip the wait
    wait_until(lambda: setup.depth(setup.dlq) == 2, timeout=20, what="two messages in the DLQ", describe=lambda: setup.depth(setup.queue))
    assert setup.dlq_bodies() == ["poison-1", "poison-2"]
    assert setup.depth(setup.queue) == 0
    poison_counts = [c for b in seen for body, c in zip(b["bodies"], b["counts"], strict=True) if body == "poison-1"]
    assert poison_counts == ["1", "2", "3"]  # received maxReceiveCount times, then moved on the 4th receive
    ok_deliveries = [body for b in seen for body in b["bodies"] if body.startswith("ok")]
    assert sorted(ok_deliveries) == ["ok-1", "ok-2"]  # successes were deleted after the first batch


def test_function_error_returns_the_whole_batch_after_the_visibility_timeout(cloud, role_arn, unique):
    setup = Setup(cloud, role_arn, unique, batch_size=10, visibility=30, max_receive=5)
    setup.send("ok-1", "crash-1")
    first = wait_until(setup.batches, timeout=20, what="first attempt")
    assert setup.depth(setup.queue) == 2  # both in flight, nothing deleted
    cloud.advance_clock(31)
    second = wait_until(setup.batches, timeout=20, what="second attempt")
    assert sorted(first[0]["bodies"]) == sorted(second[0]["bodies"]) == ["crash-1", "ok-1"]
    assert second[0]["counts"] == ["2", "2"]
    setup.lam.delete_event_source_mapping(UUID=setup.mapping)


def test_without_report_batch_item_failures_a_success_deletes_everything(cloud, role_arn, unique):
    setup = Setup(cloud, role_arn, unique, report_failures=False)
    setup.send("ok-1", "poison-1")
    wait_until(lambda: setup.depth(setup.queue) == 0, timeout=20, what="queue drained")
    assert setup.depth(setup.dlq) == 0


def test_filter_criteria_drop_non_matching_messages_without_invoking(cloud, role_arn, unique):
    setup = Setup(cloud, role_arn, unique, filters=[{"body": {"kind": ["order"]}}])
    setup.send(json.dumps({"kind": "order", "n": 1}), json.dumps({"kind": "noise"}), "not json")
    wait_until(lambda: setup.depth(setup.queue) == 0, timeout=20, what="queue drained")
    bodies = [body for b in wait_until(setup.batches, timeout=10, what="batches") for body in b["bodies"]]
    assert bodies == [json.dumps({"kind": "order", "n": 1})]
    row = next(r for r in cloud.status()["deliveries"] if r.get("uuid") == setup.mapping)
    assert row["filtered_out"] == 2


def test_filter_criteria_use_event_pattern_semantics_and_invalid_filters_are_refused(cloud, role_arn, unique):
    setup = Setup(cloud, role_arn, unique, filters=[{"body": {"lines": {"sku": ["A"], "qty": [{"numeric": [">", 1]}]}}}])
    wanted = json.dumps({"n": 2, "lines": [{"sku": "B", "qty": 1}, {"sku": "A", "qty": 2}]})
    setup.send(json.dumps({"n": 1, "lines": [{"sku": "A", "qty": 1}, {"sku": "B", "qty": 5}]}), wanted)
    wait_until(lambda: setup.depth(setup.queue) == 0, timeout=20, what="queue drained")
    bodies = [body for b in wait_until(setup.batches, timeout=10, what="batches") for body in b["bodies"]]
    assert bodies == [wanted]
    with pytest.raises(setup.lam.exceptions.InvalidParameterValueException, match="Invalid filter pattern definition"):
        setup.lam.update_event_source_mapping(
            UUID=setup.mapping, FilterCriteria={"Filters": [{"Pattern": json.dumps({"body": {"n": [{"numeric": ["!", 1]}]}})}]}
        )


def test_disabled_mapping_stops_polling(cloud, role_arn, unique):
    setup = Setup(cloud, role_arn, unique)
    setup.lam.update_event_source_mapping(UUID=setup.mapping, Enabled=False)
    setup.send("ok-1")
    with pytest.raises(AssertionError):
        wait_until(setup.batches, timeout=2, what="no invocation while disabled")
    setup.lam.update_event_source_mapping(UUID=setup.mapping, Enabled=True)
    wait_until(lambda: setup.depth(setup.queue) == 0, timeout=20, what="drained once enabled")


def test_message_move_task_redrives_the_dlq_to_its_source_queue(cloud, unique):
    sqs = cloud.boto3_client("sqs")
    dlq = sqs.create_queue(QueueName=f"{unique}-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    source = sqs.create_queue(
        QueueName=unique, Attributes={"RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 3})}
    )["QueueUrl"]
    for i in range(3):
        sqs.send_message(QueueUrl=dlq, MessageBody=f"m{i}", MessageAttributes={"why": {"DataType": "String", "StringValue": "poison"}})
    handle = sqs.start_message_move_task(SourceArn=dlq_arn)["TaskHandle"]
    assert handle
    task = wait_until(
        lambda: next((t for t in sqs.list_message_move_tasks(SourceArn=dlq_arn)["Results"] if t["Status"] == "COMPLETED"), None),
        timeout=20,
        what="move task completed",
    )
    assert task["ApproximateNumberOfMessagesMoved"] == 3
    moved = sqs.receive_message(QueueUrl=source, MaxNumberOfMessages=10, MessageAttributeNames=["All"])["Messages"]
    assert sorted(m["Body"] for m in moved) == ["m0", "m1", "m2"]
    assert moved[0]["MessageAttributes"]["why"]["StringValue"] == "poison"
    assert sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["ApproximateNumberOfMessages"])["Attributes"]["ApproximateNumberOfMessages"] == "0"
