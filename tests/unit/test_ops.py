"""sluicectl's operations logic (sluicectl/ops.py) and commands (sluicectl/ops_cli.py) against moto in process:
DLQ discovery, inspect without consuming, redrive through message move tasks, purge with confirmation, replay
planning, the status snapshot, and the local cloud's EMF parsing."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from rich.console import Console
from typer.testing import CliRunner

from localcloud.runtime.metrics import metric_data
from sluicectl import ops, ops_cli
from sluicectl.cli import app
from tests.unit.conftest import REGION

PREFIX = "sluice-ops"


def clients(service: str) -> Any:
    return boto3.client(service, region_name=REGION)


def _queue(sqs: Any, name: str, dlq_arn: str | None = None) -> tuple[str, str]:
    attributes = {"RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 3})} if dlq_arn else {}
    url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    return url, sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]


@pytest.fixture
def queues(aws: None) -> dict[str, tuple[str, str]]:
    sqs = clients("sqs")
    made = {}
    made["ingest-dlq"] = _queue(sqs, f"{PREFIX}-ingest-dlq")
    made["ingest"] = _queue(sqs, f"{PREFIX}-ingest", made["ingest-dlq"][1])
    made["shared-dlq"] = _queue(sqs, f"{PREFIX}-shared-dlq")
    made["a"] = _queue(sqs, f"{PREFIX}-a", made["shared-dlq"][1])
    made["b"] = _queue(sqs, f"{PREFIX}-b", made["shared-dlq"][1])
    made["target-dlq"] = _queue(sqs, f"{PREFIX}-target-dlq")  # an EventBridge target DLQ: no source queue
    made["other"] = _queue(sqs, "someone-else-dlq")
    return made


def _send(url: str, *bodies: str, **attributes: str) -> None:
    sqs = clients("sqs")
    for body in bodies:
        sqs.send_message(
            QueueUrl=url, MessageBody=body, MessageAttributes={k: {"DataType": "String", "StringValue": v} for k, v in attributes.items()}
        )


def _visible(url: str) -> int:
    return int(clients("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])["Attributes"]["ApproximateNumberOfMessages"])


# -- queues --------------------------------------------------------------------------------------------------------


def test_discover_marks_dlqs_with_their_sources_and_the_oldest_age(queues):
    _send(queues["ingest-dlq"][0], "poison-1", "poison-2")
    found = {q.name: q for q in ops.discover_queues(clients, PREFIX, now=time.time() + 120)}
    assert "someone-else-dlq" not in found
    dlq = found[f"{PREFIX}-ingest-dlq"]
    assert dlq.is_dlq and dlq.sources == [f"{PREFIX}-ingest"] and dlq.depth == 2
    assert 119 <= dlq.oldest_age_s < 180  # measured against the (clock-offset) `now`
    assert sorted(found[f"{PREFIX}-shared-dlq"].sources) == [f"{PREFIX}-a", f"{PREFIX}-b"]
    assert found[f"{PREFIX}-target-dlq"].is_dlq and found[f"{PREFIX}-target-dlq"].sources == []
    ingest = found[f"{PREFIX}-ingest"]
    assert not ingest.is_dlq and ingest.dlq_name == f"{PREFIX}-ingest-dlq" and ingest.max_receive_count == 3
    assert found[f"{PREFIX}-target-dlq"].oldest_age_s is None  # empty: nothing to age
    assert _visible(queues["ingest-dlq"][0]) == 2  # measuring the age consumed nothing


@pytest.mark.parametrize("ref", ["ingest-dlq", f"{PREFIX}-ingest-dlq", "URL", "ARN"])
def test_resolve_queue_by_short_name_full_name_url_or_arn(queues, ref):
    url, arn = queues["ingest-dlq"]
    ref = {"URL": url, "ARN": arn}.get(ref, ref)
    assert ops.resolve_queue(clients, ref, PREFIX).arn == arn


def test_resolve_unknown_queue_says_what_was_tried(queues):
    with pytest.raises(ops.OpsError, match="nope"):
        ops.resolve_queue(clients, "nope", PREFIX)


def test_peek_shows_messages_and_leaves_them_in_the_queue(queues):
    url = queues["ingest-dlq"][0]
    _send(url, *[json.dumps({"n": i, "pad": "x" * 300}) for i in range(12)], ERROR_CODE="FAILED_DELIVERY")
    seen = ops.peek(clients("sqs"), url, limit=11)
    assert len(seen) == 11 and len({m.message_id for m in seen}) == 11
    first = seen[0]
    assert first.message_attributes == {"ERROR_CODE": "FAILED_DELIVERY"}
    assert first.receive_count == 1 and first.sent is not None
    assert len(first.preview(80)) == 80 and first.preview(80).endswith("…")
    assert _visible(url) == 12  # every message visible again at once


# -- redrive -------------------------------------------------------------------------------------------------------


def test_plan_redrive_goes_back_to_the_only_source(queues):
    _send(queues["ingest-dlq"][0], "m1", "m2")
    plan = ops.plan_redrive(clients, "ingest-dlq", PREFIX)
    assert plan.destination_arn == queues["ingest"][1] and plan.destination_name == f"{PREFIX}-ingest" and plan.messages == 2


@pytest.mark.parametrize(("dlq", "message"), [("shared-dlq", "DLQ of 2 queues"), ("target-dlq", "no queue dead-letters"), ("ingest", "not a dead-letter queue")])
def test_plan_redrive_asks_for_a_destination_when_it_cannot_tell(queues, dlq, message):
    with pytest.raises(ops.OpsError, match=message):
        ops.plan_redrive(clients, dlq, PREFIX)


def test_plan_redrive_with_an_explicit_destination(queues):
    plan = ops.plan_redrive(clients, "target-dlq", PREFIX, to="a")
    assert plan.destination_arn == queues["a"][1]


@pytest.fixture
def move_tasks() -> None:
    """moto has no message move tasks; the local cloud's implementation serves them (in process too)."""
    from localcloud.patches import sqs as sqs_patch

    sqs_patch._install_move_tasks()


def test_redrive_moves_the_dlq_back_with_progress(queues, move_tasks):
    _send(queues["ingest-dlq"][0], "m1", "m2", "m3")
    sqs = clients("sqs")
    plan = ops.plan_redrive(clients, "ingest-dlq", PREFIX)
    ops.start_redrive(sqs, plan)
    updates: list[dict] = []
    task = ops.wait_move_task(sqs, plan.dlq.arn, on_progress=updates.append, timeout=20, interval=0.05)
    assert task["Status"] == "COMPLETED" and task["ApproximateNumberOfMessagesMoved"] == 3
    assert updates and updates[-1]["Status"] == "COMPLETED"
    assert _visible(queues["ingest"][0]) == 3 and _visible(queues["ingest-dlq"][0]) == 0


def test_redrive_command_dry_run_moves_nothing_and_the_real_one_moves_all(queues, move_tasks):
    _send(queues["ingest-dlq"][0], "m1", "m2")
    runner = CliRunner()
    dry = runner.invoke(app, ["dlq", "redrive", "ingest-dlq", "--dry-run", "--env", "dev", "--prefix", PREFIX])
    assert dry.exit_code == 0, dry.output
    assert "would move 2 message(s)" in dry.output and _visible(queues["ingest-dlq"][0]) == 2
    real = runner.invoke(app, ["dlq", "redrive", "ingest-dlq", "--env", "dev", "--prefix", PREFIX])
    assert real.exit_code == 0, real.output
    assert "moved 2 message(s)" in real.output
    assert _visible(queues["ingest"][0]) == 2 and _visible(queues["ingest-dlq"][0]) == 0


# -- purge ---------------------------------------------------------------------------------------------------------


def test_purge_asks_first_and_honours_dry_run_and_yes(queues):
    url = queues["ingest-dlq"][0]
    _send(url, "m1", "m2")
    runner = CliRunner()
    base = ["dlq", "purge", "ingest-dlq", "--env", "dev", "--prefix", PREFIX]
    dry = runner.invoke(app, [*base, "--dry-run"])
    assert dry.exit_code == 0 and "would delete 2" in dry.output and _visible(url) == 2
    refused = runner.invoke(app, base, input="n\n")
    assert refused.exit_code == 1 and "nothing deleted" in refused.output and _visible(url) == 2
    done = runner.invoke(app, [*base, "--yes"])
    assert done.exit_code == 0, done.output
    assert _visible(url) == 0


def test_list_and_inspect_commands(queues):
    _send(queues["ingest-dlq"][0], '{"bad": json', ERROR_CODE="BOOM")
    runner = CliRunner()
    listed = runner.invoke(app, ["dlq", "list", "--env", "dev", "--prefix", PREFIX, "--json"])
    assert listed.exit_code == 0, listed.output
    rows = {r["name"]: r for r in json.loads(listed.output)}
    assert set(rows) == {f"{PREFIX}-ingest-dlq", f"{PREFIX}-shared-dlq", f"{PREFIX}-target-dlq"}
    assert rows[f"{PREFIX}-ingest-dlq"]["depth"] == 1 and rows[f"{PREFIX}-ingest-dlq"]["sources"] == [f"{PREFIX}-ingest"]
    inspected = runner.invoke(app, ["dlq", "inspect", "ingest-dlq", "--env", "dev", "--prefix", PREFIX, "--json"])
    assert inspected.exit_code == 0, inspected.output
    (message,) = json.loads(inspected.output)
    assert message["body"] == '{"bad": json' and message["message_attributes"] == {"ERROR_CODE": "BOOM"}
    assert _visible(queues["ingest-dlq"][0]) == 1


# -- replay --------------------------------------------------------------------------------------------------------

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("now", NOW),
        ("15m", NOW - timedelta(minutes=15)),
        ("-2h", NOW - timedelta(hours=2)),
        ("1d", NOW - timedelta(days=1)),
        ("2026-12-03T10:30:00Z", datetime(2026, 12, 3, 10, 30, tzinfo=UTC)),
        ("2026-12-03T10:30:00", datetime(2026, 12, 3, 10, 30, tzinfo=UTC)),
        ("2026-12-03T11:30:00+01:00", datetime(2026, 12, 3, 10, 30, tzinfo=UTC)),
        ("1796300000", datetime.fromtimestamp(1796300000, tz=UTC)),
    ],
)
def test_parse_time(text, expected):
    assert ops.parse_time(text, NOW) == expected


def test_parse_time_refuses_nonsense():
    with pytest.raises(ops.OpsError, match="cannot read the time"):
        ops.parse_time("yesterday-ish", NOW)


def test_bus_names():
    assert ops.bus_name("default", PREFIX) == "default"
    assert ops.bus_name("domain", PREFIX) == f"{PREFIX}-domain"
    assert ops.bus_name(f"{PREFIX}-domain", PREFIX) == f"{PREFIX}-domain"
    assert ops.bus_name(f"arn:aws:events:{REGION}:123456789012:event-bus/x", PREFIX) == "x"


def test_replay_plan_finds_the_bus_archive_and_runs(aws):
    events, sqs = clients("events"), clients("sqs")
    bus_arn = events.create_event_bus(Name=f"{PREFIX}-domain")["EventBusArn"]
    with pytest.raises(ops.OpsError, match="no enabled archive"):
        ops.plan_replay(clients, "domain", PREFIX, NOW - timedelta(hours=1), NOW)
    events.create_archive(ArchiveName=f"{PREFIX}-domain", EventSourceArn=bus_arn)
    _, arn = _queue(sqs, f"{PREFIX}-seen")
    rule_arn = events.put_rule(Name=f"{PREFIX}-r", EventBusName=f"{PREFIX}-domain", EventPattern=json.dumps({"source": ["t"]}))["RuleArn"]
    events.put_targets(Rule=f"{PREFIX}-r", EventBusName=f"{PREFIX}-domain", Targets=[{"Id": "q", "Arn": arn}])
    plan = ops.plan_replay(clients, "domain", PREFIX, NOW - timedelta(hours=1), NOW, rules=[f"{PREFIX}-r"])
    assert plan.archive_name == f"{PREFIX}-domain" and plan.bus_arn == bus_arn and plan.filter_arns == [rule_arn]
    assert plan.name.startswith(f"{PREFIX}-domain-") and len(plan.name) <= 64
    ops.start_replay(events, plan)
    states: list[dict] = []
    result = ops.wait_replay(events, plan.name, on_progress=states.append, timeout=10, interval=0.05)
    assert result["State"] == "COMPLETED" and ops.replay_fraction(result, plan) == 1.0
    with pytest.raises(ops.OpsError, match="window is empty"):
        ops.plan_replay(clients, "domain", PREFIX, NOW, NOW - timedelta(minutes=1))
    with pytest.raises(ops.OpsError, match="no event bus"):
        ops.plan_replay(clients, "nope", PREFIX, NOW - timedelta(hours=1), NOW)


def test_replay_fraction_follows_the_last_replayed_event():
    plan = ops.ReplayPlan("b", "arn", "a", "arn", 0, NOW - timedelta(hours=1), NOW, [], "n")
    assert ops.replay_fraction({"State": "RUNNING", "EventLastReplayedTime": NOW - timedelta(minutes=15)}, plan) == 0.75
    assert ops.replay_fraction({"State": "STARTING"}, plan) == 0.0


def test_replay_dry_run_command(aws):
    events = clients("events")
    bus_arn = events.create_event_bus(Name=f"{PREFIX}-domain")["EventBusArn"]
    events.create_archive(ArchiveName=f"{PREFIX}-domain", EventSourceArn=bus_arn)
    result = CliRunner().invoke(app, ["replay", "--bus", "domain", "--from", "2h", "--to", "now", "--dry-run", "--env", "dev", "--prefix", PREFIX])
    assert result.exit_code == 0, result.output
    assert f"would replay archive {PREFIX}-domain" in result.output and "every rule" in result.output
    assert events.list_replays().get("Replays", []) == []


# -- status --------------------------------------------------------------------------------------------------------


@pytest.fixture
def percentiles() -> None:
    from localcloud.patches import cloudwatch

    cloudwatch.install()


def test_emf_metrics_sums_counts_and_latency_percentiles(aws, percentiles):
    cloudwatch = clients("cloudwatch")
    service = [{"Name": "service", "Value": "ingest-processor"}]
    cloudwatch.put_metric_data(
        Namespace="Sluice",
        MetricData=[
            {"MetricName": "ObjectsProcessed", "Dimensions": service, "Values": [1.0], "Counts": [7.0], "Unit": "Count"},
            {"MetricName": "ProcessingLatency", "Dimensions": service, "Values": [float(v) for v in range(1, 101)], "Unit": "Milliseconds"},
            {"MetricName": "PredictionsFailed", "Dimensions": [*service, {"Name": "error_code", "Value": "TOO_BIG"}], "Value": 2.0},
            {"MetricName": "NoService", "Value": 1.0},
        ],
    )
    rows = {m.label: m for m in ops.emf_metrics(cloudwatch, window_s=600)}
    assert set(rows) == {"ObjectsProcessed", "ProcessingLatency", "PredictionsFailed{error_code=TOO_BIG}"}
    assert rows["ObjectsProcessed"].total == 7 and rows["ObjectsProcessed"].p50 is None
    latency = rows["ProcessingLatency"]
    assert (latency.samples, latency.p50, latency.p99) == (100, 50.0, 99.0)
    assert rows["PredictionsFailed{error_code=TOO_BIG}"].total == 2 and rows["PredictionsFailed{error_code=TOO_BIG}"].service == "ingest-processor"


def test_lambda_metrics_from_cloudwatch_with_the_last_error_line(aws):
    cloudwatch, logs = clients("cloudwatch"), clients("logs")
    name = f"{PREFIX}-ingest-processor"
    dims = [{"Name": "FunctionName", "Value": name}]
    cloudwatch.put_metric_data(
        Namespace="AWS/Lambda",
        MetricData=[{"MetricName": "Invocations", "Dimensions": dims, "Value": 10.0}, {"MetricName": "Errors", "Dimensions": dims, "Value": 2.0}],
    )
    logs.create_log_group(logGroupName=f"/aws/lambda/{name}")
    logs.create_log_stream(logGroupName=f"/aws/lambda/{name}", logStreamName="s")
    stamp = int(time.time() * 1000)
    logs.put_log_events(
        logGroupName=f"/aws/lambda/{name}",
        logStreamName="s",
        logEvents=[{"timestamp": stamp, "message": "INFO fine"}, {"timestamp": stamp + 1, "message": "[ERROR] KeyError: 'bucket'"}],
    )
    info = ops.lambda_metrics(clients, [name], window_s=600)[name]
    assert (info.invocations, info.errors, info.throttles) == (10, 2, 0)
    assert info.last_error == "[ERROR] KeyError: 'bucket'"


def test_snapshot_and_render_highlight_a_non_empty_dlq(queues, percentiles):
    _send(queues["ingest-dlq"][0], "poison")
    status = {
        "clock_offset_s": 0,
        "functions": {
            f"{PREFIX}-ingest-processor": {"invocations": 5, "errors": 3, "throttles": 0, "last_error": "ValueError: boom"},
            "someone-else": {"invocations": 1, "errors": 0, "throttles": 0, "last_error": None},
        },
    }
    snap = ops.snapshot(clients, PREFIX, window_s=600, local_status=status)
    assert snap.dead_lettered == 1 and set(snap.functions) == {f"{PREFIX}-ingest-processor"}
    assert {q.name for q in snap.work_queues} == {f"{PREFIX}-ingest", f"{PREFIX}-a", f"{PREFIX}-b"}
    console = Console(record=True, width=200)
    console.print(ops_cli.render(snap))
    text = console.export_text()
    assert "1 dead-lettered" in text and "ingest-dlq" in text and "ValueError: boom" in text
    assert "no EMF metrics in the window" in text


def test_status_command_json(queues):
    _send(queues["shared-dlq"][0], "x")
    result = CliRunner().invoke(app, ["status", "--env", "dev", "--prefix", PREFIX, "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["dead_lettered"] == 1
    assert {q["name"]: q["depth"] for q in data["queues"] if q["is_dlq"]}[f"{PREFIX}-shared-dlq"] == 1


# -- the local cloud's EMF parsing ---------------------------------------------------------------------------------


def test_emf_documents_become_metric_data_per_dimension_set():
    document = {
        "_aws": {
            "Timestamp": 1796300000000,
            "CloudWatchMetrics": [
                {"Namespace": "Sluice", "Dimensions": [["service"], ["service", "route"]], "Metrics": [{"Name": "Latency", "Unit": "Milliseconds"}, {"Name": "Missing"}]}
            ],
        },
        "service": "api",
        "route": "POST /x",
        "Latency": [5, 5, 7],
    }
    ((namespace, data),) = metric_data(document)
    assert namespace == "Sluice"
    assert [d["Dimensions"] for d in data] == [[{"Name": "service", "Value": "api"}], [{"Name": "service", "Value": "api"}, {"Name": "route", "Value": "POST /x"}]]
    assert data[0]["Values"] == [5.0, 7.0] and data[0]["Counts"] == [2.0, 1.0] and data[0]["Unit"] == "Milliseconds"
    assert data[0]["Timestamp"] == datetime.fromtimestamp(1796300000, tz=UTC).replace(tzinfo=None)


@pytest.mark.parametrize(
    "document",
    [
        {"message": "plain log line"},
        {"_aws": {"Timestamp": 1}},
        {"_aws": {"CloudWatchMetrics": [{"Namespace": "S", "Dimensions": [["service"]], "Metrics": [{"Name": "M"}]}]}, "M": 1},  # no service value
        {"_aws": {"CloudWatchMetrics": [{"Namespace": "S", "Metrics": [{"Name": "M"}]}]}, "M": "not a number"},
    ],
)
def test_non_emf_or_broken_documents_give_nothing(document):
    assert metric_data(document) == []
