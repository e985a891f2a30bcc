"""Scheduled EventBridge rules and EventBridge Scheduler schedules fire on the local cloud's clock; a schedule
can be fired now through the control API and the CLI."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
from datetime import datetime, timedelta

import pytest

from localcloud.testing import wait_until
from tests.e2e.conftest import ROOT, make_zip

pytestmark = pytest.mark.e2e

RECORDER = """
import json, os, boto3
SQS = boto3.client("sqs")

def handler(event, context):
    SQS.send_message(QueueUrl=os.environ["SEEN_URL"], MessageBody=json.dumps(event))
"""


class Inbox:
    """A queue that collects what a target receives."""

    def __init__(self, cloud, name: str) -> None:
        self.sqs = cloud.boto3_client("sqs")
        self.url = self.sqs.create_queue(QueueName=name)["QueueUrl"]
        self.arn = self.sqs.get_queue_attributes(QueueUrl=self.url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        self.messages: list = []

    def read(self) -> list:
        while True:
            batch = self.sqs.receive_message(QueueUrl=self.url, MaxNumberOfMessages=10, MessageAttributeNames=["All"]).get("Messages", [])
            if not batch:
                return self.messages
            for message in batch:
                self.messages.append(json.loads(message["Body"]))
                self.sqs.delete_message(QueueUrl=self.url, ReceiptHandle=message["ReceiptHandle"])

    def wait(self, count: int, timeout: float = 20) -> list:
        return wait_until(lambda: len(self.read()) >= count and self.messages, timeout=timeout, what=f"{count} messages in {self.url}")


def _rule(cloud, name: str, expression: str, target_arn: str, **target) -> str:
    events = cloud.boto3_client("events")
    arn = events.put_rule(Name=name, ScheduleExpression=expression)["RuleArn"]
    events.put_targets(Rule=name, Targets=[{"Id": "t", "Arn": target_arn, **target}])
    return arn


def _parse(stamp: str) -> datetime:
    return datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ")


def test_rate_rule_fires_every_due_occurrence_once_in_order_on_clock_advance(cloud, unique):
    inbox = Inbox(cloud, unique)
    rule_arn = _rule(cloud, unique, "rate(5 minutes)", inbox.arn)
    cloud.advance_clock(16 * 60)
    events = inbox.wait(3)
    with pytest.raises(AssertionError):
        inbox.wait(4, timeout=1.5)  # exactly three occurrences in 16 minutes
    times = sorted(_parse(e["time"]) for e in events)
    assert [b - a for a, b in itertools.pairwise(times)] == [timedelta(minutes=5)] * 2
    event = events[0]
    assert event["detail-type"] == "Scheduled Event" and event["source"] == "aws.events"
    assert event["resources"] == [rule_arn] and event["detail"] == {}
    assert event["account"] == "123456789012" and event["region"] == "us-east-1" and event["version"] == "0"


def test_cron_rule_fires_at_its_times(cloud, unique):
    inbox = Inbox(cloud, unique)
    _rule(cloud, unique, "cron(0 12 * * ? *)", inbox.arn, Input=json.dumps({"job": "daily"}))
    row = next(r for r in cloud.schedules() if r["name"] == unique)
    assert row["next"][0].endswith("T12:00:00Z") and len(row["next"]) == 5
    cloud.advance_clock(48 * 3600)
    assert inbox.wait(2) == [{"job": "daily"}, {"job": "daily"}]  # a constant Input replaces the event
    with pytest.raises(AssertionError):
        inbox.wait(3, timeout=1.5)


def test_input_transformer_sees_the_scheduled_time(cloud, unique):
    inbox = Inbox(cloud, unique)
    _rule(
        cloud,
        unique,
        "cron(30 0 * * ? *)",
        inbox.arn,
        InputTransformer={"InputPathsMap": {"t": "$.time"}, "InputTemplate": '{"day": <t>}'},
    )
    cloud.advance_clock(24 * 3600)
    (message,) = inbox.wait(1)
    assert message["day"].endswith("T00:30:00Z")


def test_disabled_rule_does_not_fire(cloud, unique):
    inbox = Inbox(cloud, unique)
    _rule(cloud, unique, "rate(1 minute)", inbox.arn)
    cloud.boto3_client("events").disable_rule(Name=unique)
    cloud.advance_clock(5 * 60)
    with pytest.raises(AssertionError):
        inbox.wait(1, timeout=1.5)
    assert next(r for r in cloud.schedules() if r["name"] == unique)["enabled"] is False


def test_fire_now_through_the_control_api_and_the_cli(cloud, unique):
    inbox = Inbox(cloud, unique)
    rule_arn = _rule(cloud, unique, "cron(0 3 1 1 ? *)", inbox.arn)  # once a year
    before = next(r for r in cloud.schedules() if r["name"] == unique)["next"]
    fired = cloud.fire_schedule(unique)
    assert fired["arn"] == rule_arn
    (event,) = inbox.wait(1)
    assert event["id"] == fired["id"] and event["resources"] == [rule_arn] and event["time"] == fired["time"]
    assert next(r for r in cloud.schedules() if r["name"] == unique)["next"] == before  # its next firing is unchanged

    env = {**os.environ, "LOCALCLOUD_HOME": str(cloud.home), "LOCALCLOUD_PORT": cloud.endpoint.rsplit(":", 1)[1]}
    result = subprocess.run([sys.executable, "-m", "localcloud", "schedule", "fire", unique], env=env, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["arn"] == rule_arn
    inbox.wait(2)
    listing = subprocess.run([sys.executable, "-m", "localcloud", "schedule", "list", "--json"], env=env, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert unique in {row["name"] for row in json.loads(listing.stdout)}
    missing = subprocess.run([sys.executable, "-m", "localcloud", "schedule", "fire", "no-such-rule"], env=env, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert missing.returncode == 1


def _schedule(cloud, name: str, expression: str, target: dict, **options) -> str:
    scheduler = cloud.boto3_client("scheduler")
    return scheduler.create_schedule(
        Name=name,
        ScheduleExpression=expression,
        FlexibleTimeWindow={"Mode": "OFF"},
        Target={"RoleArn": "arn:aws:iam::123456789012:role/scheduler", **target},
        **options,
    )["ScheduleArn"]


def test_scheduler_schedule_to_sqs_with_context_attributes(cloud, unique):
    inbox = Inbox(cloud, unique)
    arn = _schedule(
        cloud,
        unique,
        "rate(1 hour)",
        {"Arn": inbox.arn, "Input": json.dumps({"at": "<aws.scheduler.scheduled-time>", "by": "<aws.scheduler.schedule-arn>"})},
    )
    cloud.advance_clock(3 * 3600 + 60)
    messages = inbox.wait(3)
    assert all(m["by"] == arn for m in messages)
    times = sorted(_parse(m["at"]) for m in messages)
    assert [b - a for a, b in itertools.pairwise(times)] == [timedelta(hours=1)] * 2


def test_scheduler_schedule_to_lambda_and_event_bus(cloud, role_arn, unique):
    inbox = Inbox(cloud, unique)
    lam = cloud.boto3_client("lambda")
    lam.create_function(
        FunctionName=unique,
        Runtime="python3.11",
        Role=role_arn,
        Handler="fn.app.handler",
        Code={"ZipFile": make_zip({"fn/__init__.py": "", "fn/app.py": RECORDER})},
        Environment={"Variables": {"SEEN_URL": inbox.url}},
    )
    function_arn = lam.get_function(FunctionName=unique)["Configuration"]["FunctionArn"]
    _schedule(cloud, f"{unique}-fn", "cron(0 6 * * ? *)", {"Arn": function_arn, "Input": json.dumps({"task": "lambda"})})

    events = cloud.boto3_client("events")
    bus_arn = events.create_event_bus(Name=unique)["EventBusArn"]
    events.put_rule(Name=unique, EventBusName=unique, EventPattern=json.dumps({"source": ["sluice.scheduler"]}))
    events.put_targets(Rule=unique, EventBusName=unique, Targets=[{"Id": "q", "Arn": inbox.arn}])
    schedule_arn = _schedule(
        cloud,
        f"{unique}-bus",
        "cron(0 6 * * ? *)",
        {
            "Arn": bus_arn,
            "Input": json.dumps({"task": "bus"}),
            "EventBridgeParameters": {"DetailType": "DailyReport", "Source": "sluice.scheduler"},
        },
    )
    cloud.advance_clock(24 * 3600)
    messages = inbox.wait(2)
    by_kind = {("detail" in m): m for m in messages}
    assert by_kind[False] == {"task": "lambda"}
    bus_event = by_kind[True]
    assert bus_event["detail"] == {"task": "bus"} and bus_event["detail-type"] == "DailyReport"
    assert bus_event["resources"] == [schedule_arn]


def test_one_time_schedule_fires_once_and_deletes_itself(cloud, unique):
    inbox = Inbox(cloud, unique)
    now = datetime.fromisoformat(cloud.advance_clock(0)["now"])
    at = (now + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%S")
    _schedule(cloud, unique, f"at({at})", {"Arn": inbox.arn, "Input": '{"once": true}'}, ActionAfterCompletion="DELETE")
    cloud.advance_clock(3 * 3600)
    assert inbox.wait(1) == [{"once": True}]
    scheduler = cloud.boto3_client("scheduler")
    wait_until(lambda: unique not in {s["Name"] for s in scheduler.list_schedules()["Schedules"]}, timeout=10, what="schedule deleted")
