"""What the DLQ/replay tooling and `sluicectl status` need from the local cloud: SQS message move tasks that move
only the messages present when they start, EventBridge archives and time-window replays re-delivered with
`replay-name`, EMF documents from function output turned into CloudWatch metrics (percentiles included), and
PutDashboard."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from localcloud.testing import wait_until
from tests.e2e.conftest import make_zip

pytestmark = pytest.mark.e2e


def _depth(sqs, url):
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(attributes["ApproximateNumberOfMessagesNotVisible"])


def _drain(sqs, url, expected, timeout=20):
    found: list = []

    def probe():
        for message in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"]).get("Messages", []):
            found.append(message)
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        return len(found) >= expected

    wait_until(probe, timeout=timeout, what=f"{expected} messages in {url}", describe=lambda: [m["Body"] for m in found])
    return found


def test_move_task_moves_only_the_messages_present_when_it_starts(cloud, unique):
    sqs = cloud.boto3_client("sqs")
    dlq = sqs.create_queue(QueueName=f"{unique}-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    source = sqs.create_queue(QueueName=unique, Attributes={"RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 3})})["QueueUrl"]
    for i in range(3):
        sqs.send_message(QueueUrl=dlq, MessageBody=f"old-{i}")
    sqs.start_message_move_task(SourceArn=dlq_arn, MaxNumberOfMessagesPerSecond=1)
    for i in range(2):
        sqs.send_message(QueueUrl=dlq, MessageBody=f"new-{i}")
    task = wait_until(
        lambda: next((t for t in sqs.list_message_move_tasks(SourceArn=dlq_arn, MaxResults=1)["Results"] if t["Status"] == "COMPLETED"), None),
        timeout=30,
        what="move task completed",
    )
    assert task["ApproximateNumberOfMessagesToMove"] == 3
    assert task["ApproximateNumberOfMessagesMoved"] == 3
    assert sorted(m["Body"] for m in _drain(sqs, source, 3)) == ["old-0", "old-1", "old-2"]
    assert sorted(m["Body"] for m in _drain(sqs, dlq, 2)) == ["new-0", "new-1"]


def test_archive_keeps_matching_events_and_replay_redelivers_a_time_window(cloud, unique):
    events, sqs = cloud.boto3_client("events"), cloud.boto3_client("sqs")
    bus_arn = events.create_event_bus(Name=unique)["EventBusArn"]
    url = sqs.create_queue(QueueName=unique)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    other_url = sqs.create_queue(QueueName=f"{unique}-other")["QueueUrl"]
    other_arn = sqs.get_queue_attributes(QueueUrl=other_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    archive_arn = events.create_archive(ArchiveName=unique, EventSourceArn=bus_arn, EventPattern=json.dumps({"source": ["orders"]}))["ArchiveArn"]
    rule_arn = events.put_rule(Name=unique, EventBusName=unique, EventPattern=json.dumps({"source": ["orders"]}))["RuleArn"]
    events.put_targets(Rule=unique, EventBusName=unique, Targets=[{"Id": "q", "Arn": arn}])
    events.put_rule(Name=f"{unique}-other", EventBusName=unique, EventPattern=json.dumps({"source": ["orders"]}))
    events.put_targets(Rule=f"{unique}-other", EventBusName=unique, Targets=[{"Id": "q", "Arn": other_arn}])

    now = datetime.now(tz=UTC).replace(microsecond=0)
    entries = [
        {"Source": "orders", "DetailType": "Order", "Detail": json.dumps({"n": "early"}), "EventBusName": unique, "Time": now - timedelta(hours=2)},
        {"Source": "orders", "DetailType": "Order", "Detail": json.dumps({"n": "in-1"}), "EventBusName": unique, "Time": now - timedelta(minutes=30)},
        {"Source": "orders", "DetailType": "Order", "Detail": json.dumps({"n": "in-2"}), "EventBusName": unique, "Time": now - timedelta(minutes=20)},
        {"Source": "other", "DetailType": "Order", "Detail": json.dumps({"n": "not-archived"}), "EventBusName": unique, "Time": now - timedelta(minutes=25)},
    ]
    assert events.put_events(Entries=entries)["FailedEntryCount"] == 0
    _drain(sqs, url, 3)
    _drain(sqs, other_url, 3)
    wait_until(lambda: events.describe_archive(ArchiveName=unique)["EventCount"] == 3, timeout=20, what="3 events archived (the pattern's only)")

    events.start_replay(
        ReplayName=unique,
        EventSourceArn=archive_arn,
        EventStartTime=now - timedelta(hours=1),
        EventEndTime=now,
        Destination={"Arn": bus_arn, "FilterArns": [rule_arn]},
    )
    replay = wait_until(
        lambda: (r := events.describe_replay(ReplayName=unique))["State"] in ("COMPLETED", "FAILED") and r, timeout=30, what="replay done"
    )
    assert replay["State"] == "COMPLETED", replay
    assert replay["EventLastReplayedTime"] == now - timedelta(minutes=20)
    replayed = [json.loads(m["Body"]) for m in _drain(sqs, url, 2)]
    assert sorted(e["detail"]["n"] for e in replayed) == ["in-1", "in-2"]
    assert {e["replay-name"] for e in replayed} == {unique}
    # Only the filtered rule got the replay, and replayed events are not archived again.
    assert sqs.receive_message(QueueUrl=other_url, WaitTimeSeconds=1).get("Messages") is None
    assert events.describe_archive(ArchiveName=unique)["EventCount"] == 3


EMF_FUNCTION = """
import json, time

def handler(event, context):
    for latency in event["latencies"]:
        print(json.dumps({
            "_aws": {"Timestamp": int(time.time() * 1000), "CloudWatchMetrics": [{
                "Namespace": "OpsTest", "Dimensions": [["service"]],
                "Metrics": [{"Name": "Processed", "Unit": "Count"}, {"Name": "ProcessingLatency", "Unit": "Milliseconds"}]}]},
            "service": event["service"], "Processed": 1, "ProcessingLatency": latency,
        }))
    return len(event["latencies"])
"""


def test_emf_output_becomes_cloudwatch_metrics_with_percentiles(cloud, role_arn, unique):
    lam, cloudwatch = cloud.boto3_client("lambda"), cloud.boto3_client("cloudwatch")
    lam.create_function(
        FunctionName=unique, Runtime="python3.11", Role=role_arn, Handler="fn.handler", Code={"ZipFile": make_zip({"fn.py": EMF_FUNCTION})}, Timeout=10
    )
    latencies = list(range(1, 101))  # p50 = 50, p99 = 99
    response = lam.invoke(FunctionName=unique, Payload=json.dumps({"service": unique, "latencies": latencies}))
    assert "FunctionError" not in response, response["Payload"].read()
    dimensions = [{"Name": "service", "Value": unique}]

    def query(qid, name, stat):
        return {"Id": qid, "MetricStat": {"Metric": {"Namespace": "OpsTest", "MetricName": name, "Dimensions": dimensions}, "Period": 3600, "Stat": stat}}

    def metrics():
        end = datetime.now(tz=UTC) + timedelta(minutes=1)
        results = cloudwatch.get_metric_data(
            MetricDataQueries=[query("sum", "Processed", "Sum"), query("p50", "ProcessingLatency", "p50"), query("p99", "ProcessingLatency", "p99")],
            StartTime=end - timedelta(hours=1),
            EndTime=end,
        )["MetricDataResults"]
        return {r["Id"]: sum(r["Values"]) for r in results}

    # The function's log lines are forwarded as they are read: wait until all 100 documents have landed.
    wait_until(lambda: metrics()["sum"] >= 100, timeout=20, what="the 100 EMF documents as metrics")
    values = metrics()
    assert values == {"sum": 100.0, "p50": 50.0, "p99": 99.0}
    assert cloud.status()["emf"]["documents"] >= 100


def test_put_dashboard_is_stored(cloud, unique):
    cloudwatch = cloud.boto3_client("cloudwatch")
    body = {"widgets": [{"type": "text", "x": 0, "y": 0, "width": 6, "height": 2, "properties": {"markdown": "# ops"}}]}
    cloudwatch.put_dashboard(DashboardName=unique, DashboardBody=json.dumps(body))
    assert json.loads(cloudwatch.get_dashboard(DashboardName=unique)["DashboardBody"]) == body
    assert unique in [d["DashboardName"] for d in cloudwatch.list_dashboards(DashboardNamePrefix=unique)["DashboardEntries"]]


def test_visibility_counts_from_the_receive_not_from_the_send(cloud, unique):
    """SQS's 12-hour visibility limit runs from the receive; a DLQ message older than 12 hours can still be read
    and released (sluicectl dlq inspect does that)."""
    sqs = cloud.boto3_client("sqs")
    url = sqs.create_queue(QueueName=unique)["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="old")
    cloud.advance_clock(13 * 3600)
    (message,) = sqs.receive_message(QueueUrl=url, VisibilityTimeout=30)["Messages"]
    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0)
    (again,) = sqs.receive_message(QueueUrl=url, VisibilityTimeout=30)["Messages"]  # released: visible at once
    assert again["Body"] == "old"
    with pytest.raises(sqs.exceptions.ClientError, match="43200"):
        sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=again["ReceiptHandle"], VisibilityTimeout=43201)
