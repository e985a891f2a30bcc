"""Operations end to end on the deployed local stack, through the `sluicectl` commands a person would type: poison
messages dead-lettered, listed, inspected and redriven (processed once the fault is gone), a time window of the
domain bus's archive replayed, `status` showing DLQ depth, a function's errors and the functions' EMF metrics,
and the environment's dashboard and archives as Terraform declared them."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from typer.testing import CliRunner

from localcloud.testing import wait_until
from sluicectl import ingest
from sluicectl.cli import app

pytestmark = pytest.mark.e2e


def sluicectl(deployed, *args: str, input: str | None = None):
    """Run a sluicectl command against the session's local cloud; returns the result (exit code checked)."""
    result = CliRunner().invoke(app, [*args, "--env", "local"], input=input, env={"AWS_ENDPOINT_URL": deployed.cloud.endpoint})
    assert result.exit_code == 0, f"sluicectl {' '.join(args)} failed ({result.exit_code}):\n{result.output}\n{result.exception!r}"
    return result


def sluicectl_json(deployed, *args: str):
    return json.loads(sluicectl(deployed, *args, "--json").output)


def test_poison_messages_dead_lettered_listed_inspected_then_redriven_and_processed(deployed):
    outputs, cloud = deployed.outputs, deployed.cloud
    function = outputs["ingest_function_name"]
    dlq_name = outputs["ingest_dlq_name"]
    run = ingest.Run.new(4, 0.0)
    before = {r["name"]: r for r in sluicectl_json(deployed, "dlq", "list")}[dlq_name]["depth"]
    cloud.set_fault(function, error_rate=1.0)  # a dependency is down: every invocation fails (transient)
    try:
        ingest.upload(deployed.client("s3"), outputs["landing_bucket_name"], run.samples)

        def dead_lettered() -> bool:
            cloud.advance_clock(60 * 60)  # past the visibility timeout: each retry is due now
            return len(ingest.dlq_keys(deployed.client("sqs"), outputs["ingest_dlq_url"], run.prefix)) == 4

        wait_until(dead_lettered, timeout=120, what="the 4 objects dead-lettered after maxReceiveCount receives")

        # dlq list: the ingest DLQ with its depth, the age of its oldest message and its source queue.
        rows = {r["name"]: r for r in sluicectl_json(deployed, "dlq", "list")}
        row = rows[dlq_name]
        assert row["depth"] == before + 4 and row["sources"] == [outputs["ingest_queue_name"]]
        assert row["oldest_age_s"] is not None and row["oldest_age_s"] >= 0
        assert {q["dlq_name"] for q in outputs["queues"].values()} <= set(rows)  # every queue's DLQ is listed

        # dlq inspect: the messages with attributes and receive counts, left in the DLQ.
        messages = sluicectl_json(deployed, "dlq", "inspect", "ingest-dlq", "--limit", "100")
        ours = [m for m in messages if run.prefix in m["body"]]
        assert len(ours) == 4 and all(m["receive_count"] >= 1 and m["sent"] for m in ours)
        assert {r["name"]: r for r in sluicectl_json(deployed, "dlq", "list")}[dlq_name]["depth"] == before + 4

        # status: the DLQ depth and the function's injected errors with the last error.
        status = sluicectl_json(deployed, "status")
        assert {q["name"]: q["depth"] for q in status["queues"] if q["is_dlq"]}[dlq_name] == before + 4
        assert status["dead_lettered"] >= 4
        fn = status["functions"][function]
        assert fn["errors"] >= 3 and "InjectedFault" in fn["last_error"]  # each batch failed maxReceiveCount times
        rendered = sluicectl(deployed, "status").output
        assert dlq_name.removeprefix(outputs["prefix"] + "-") in rendered and "dead-lettered" in rendered
    finally:
        cloud.clear_faults(function)

    # The fault is gone: redrive (a native move task, with progress) brings them back and they are processed.
    dry = sluicectl(deployed, "dlq", "redrive", "ingest-dlq", "--dry-run").output
    assert "would move" in dry and outputs["ingest_queue_name"] in dry
    moved = sluicectl(deployed, "dlq", "redrive", "ingest-dlq").output
    assert "✓ moved" in moved
    counts = wait_until(
        lambda: (c := ingest.count(deployed.client, outputs, run)).processed == 4 and c,
        timeout=120,
        what="the redriven objects processed",
        describe=lambda: ingest.count(deployed.client, outputs, run).as_dict(),
    )
    assert counts.lost == 0 and counts.failed == 0 and counts.outputs == 4

    # The processor's EMF metrics reached CloudWatch: GetMetricData sees the objects it processed.
    service = [{"Name": "service", "Value": "ingest-processor"}]
    cloudwatch = deployed.client("cloudwatch")

    def processed_metric() -> float:
        end = datetime.now(tz=UTC) + timedelta(minutes=1)
        result = cloudwatch.get_metric_data(
            MetricDataQueries=[
                {"Id": "p", "MetricStat": {"Metric": {"Namespace": "Sluice", "MetricName": "ObjectsProcessed", "Dimensions": service}, "Period": 3600, "Stat": "Sum"}}
            ],
            StartTime=end - timedelta(hours=1),
            EndTime=end,
        )["MetricDataResults"][0]
        return sum(result["Values"])

    assert wait_until(lambda: processed_metric() >= 4, timeout=30, what="ObjectsProcessed in CloudWatch")
    metrics = {(m["service"], m["label"]): m for m in sluicectl_json(deployed, "status")["metrics"]}
    assert metrics[("ingest-processor", "ObjectsProcessed")]["total"] >= 4
    latency = metrics[("ingest-processor", "ProcessingLatency")]
    assert latency["p50"] is not None and latency["p99"] >= latency["p50"]


def test_replay_of_a_time_window_redelivers_the_archived_events(deployed, unique):
    outputs, events, sqs = deployed.outputs, deployed.client("events"), deployed.client("sqs")
    bus = outputs["domain_bus_name"]
    archive = outputs["event_archives"]["domain"]["name"]
    # A consumer of the domain bus that a person wants to catch up: its own rule and queue.
    url = sqs.create_queue(QueueName=f"{unique}-replayed")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    source = f"sluice.opstest.{uuid.uuid4().hex[:8]}"
    events.put_rule(Name=unique, EventBusName=bus, EventPattern=json.dumps({"source": [source]}))
    events.put_targets(Rule=unique, EventBusName=bus, Targets=[{"Id": "q", "Arn": arn}])
    try:
        now = datetime.now(tz=UTC) + timedelta(seconds=deployed.cloud.health()["clock_offset_s"])
        now = now.replace(microsecond=0)
        times = {"old": now - timedelta(hours=3), "in-1": now - timedelta(minutes=40), "in-2": now - timedelta(minutes=10)}
        archived_before = events.describe_archive(ArchiveName=archive)["EventCount"]
        entries = [{"Source": source, "DetailType": "Ops Test", "Detail": json.dumps({"n": n}), "EventBusName": bus, "Time": t} for n, t in times.items()]
        assert events.put_events(Entries=entries)["FailedEntryCount"] == 0

        received: list[dict] = []

        def drain(count: int) -> bool:
            for message in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", []):
                received.append(json.loads(message["Body"]))
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
            return len(received) >= count

        wait_until(lambda: drain(3), timeout=30, what="the 3 events delivered live")
        wait_until(lambda: events.describe_archive(ArchiveName=archive)["EventCount"] >= archived_before + 3, timeout=30, what="the 3 events archived")
        received.clear()

        window = ["--from", (now - timedelta(hours=1)).isoformat(), "--to", now.isoformat()]
        dry = sluicectl(deployed, "replay", "--bus", "domain", *window, "--rule", unique, "--dry-run").output
        assert f"would replay archive {archive}" in dry
        done = sluicectl(deployed, "replay", "--bus", "domain", *window, "--rule", unique).output
        assert "completed" in done
        wait_until(lambda: drain(2), timeout=30, what="the 2 events of the window replayed", describe=lambda: received)
        assert sorted(e["detail"]["n"] for e in received) == ["in-1", "in-2"]
        assert all(e["replay-name"].startswith(bus) for e in received)
        assert not drain(3)  # the event outside the window stays unreplayed
    finally:
        events.remove_targets(Rule=unique, EventBusName=bus, Ids=["q"])
        events.delete_rule(Name=unique, EventBusName=bus)
        sqs.delete_queue(QueueUrl=url)


def test_the_environment_has_its_dashboard_and_bus_archives(deployed):
    outputs = deployed.outputs
    body = json.loads(deployed.client("cloudwatch").get_dashboard(DashboardName=outputs["dashboard_name"])["DashboardBody"])
    alarm_widgets = [w for w in body["widgets"] if w["type"] == "alarm"]
    assert alarm_widgets and all(len(w["properties"]["alarms"]) <= 100 for w in alarm_widgets)  # CloudWatch's limit
    shown = [arn for w in alarm_widgets for arn in w["properties"]["alarms"]]
    assert sorted(shown) == sorted(outputs["dashboard_alarm_arns"])
    assert {arn.rsplit(":", 1)[1] for arn in shown} == set(outputs["alarm_names"])
    assert len(shown) == len(set(outputs["alarm_names"]))
    # Every alarm of the stack exists (nothing on the dashboard names an alarm Terraform did not create).
    existing = {
        a["AlarmName"]
        for page in deployed.client("cloudwatch").get_paginator("describe_alarms").paginate()
        for a in page["MetricAlarms"]
    }
    assert set(outputs["alarm_names"]) <= existing
    # PutDashboard wants `metrics` as a list of lines (lists) or expressions (objects), never one flat list.
    for widget in (w for w in body["widgets"] if w["type"] == "metric"):
        assert all(isinstance(m, list) or "expression" in m for m in widget["properties"]["metrics"]), widget["properties"]["title"]
    archives = {a["ArchiveName"]: a for a in deployed.client("events").list_archives()["Archives"]}
    for key, archive in outputs["event_archives"].items():
        assert archives[archive["name"]]["EventSourceArn"] == archive["event_source_arn"], key
        assert archives[archive["name"]]["RetentionDays"] == 1


def test_plan_stays_clean_with_the_archives_and_the_dashboard(deployed):
    assert deployed.terraform.plan_changes() == []
