"""Operations tooling on the local cloud: DLQ redrive (SQS message move task) messages/s, archive replay events/s
to an SQS target, EMF documents/s turned into CloudWatch metrics, and how long one `sluicectl status` snapshot
takes. Each run checks its count (nothing lost) before it reports a rate."""

from __future__ import annotations

import io
import json
import time
import zipfile
from datetime import UTC, datetime, timedelta

from localcloud.testing import running_cloud, wait_until
from sluicectl import ops

from .common import show, summary, write

REDRIVE = 2_000  # messages moved back from a DLQ
REPLAY = 1_000  # archived events replayed
EMF_DOCS = 2_000  # EMF documents printed by one function invocation
STATUS_QUEUES = 20  # queue pairs the status snapshot reads
PREFIX = "sluice-bench"

EMF_HANDLER = """
import json, time

def handler(event, context):
    for i in range(event["n"]):
        print(json.dumps({"_aws": {"Timestamp": int(time.time() * 1000), "CloudWatchMetrics": [{"Namespace": "Bench",
            "Dimensions": [["service"]], "Metrics": [{"Name": "Done", "Unit": "Count"}, {"Name": "Latency", "Unit": "Milliseconds"}]}]},
            "service": "bench", "Done": 1, "Latency": i % 100}))
    return event["n"]
"""


def _zip(text: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("fn.py", text)
    return buffer.getvalue()


def _queue(sqs, name: str, dlq_arn: str | None = None) -> tuple[str, str]:
    attributes = {"RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 3})} if dlq_arn else {}
    url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    return url, sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]


def _send(sqs, url: str, count: int) -> None:
    for start in range(0, count, 10):
        sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": f"m{start + i}"} for i in range(min(10, count - start))])


def _depth(sqs, url: str) -> int:
    return int(sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])["Attributes"]["ApproximateNumberOfMessages"])


def run() -> None:
    results: dict = {}
    with running_cloud() as cloud:
        clients = cloud.boto3_client
        sqs, events, lam, cloudwatch = clients("sqs"), clients("events"), clients("lambda"), clients("cloudwatch")

        # -- redrive ----------------------------------------------------------------------------------------------
        dlq_url, dlq_arn = _queue(sqs, f"{PREFIX}-redrive-dlq")
        source_url, _ = _queue(sqs, f"{PREFIX}-redrive", dlq_arn)
        _send(sqs, dlq_url, REDRIVE)
        plan = ops.plan_redrive(clients, "redrive-dlq", PREFIX)
        started = time.perf_counter()
        ops.start_redrive(sqs, plan, rate=None)
        task = ops.wait_move_task(sqs, dlq_arn, timeout=300, interval=0.05, max_interval=0.2)
        redrive_s = time.perf_counter() - started
        assert task["ApproximateNumberOfMessagesMoved"] == REDRIVE and _depth(sqs, source_url) == REDRIVE, task
        results["redrive"] = {"messages": REDRIVE, "seconds": round(redrive_s, 3), "messages_per_s": round(REDRIVE / redrive_s, 1)}

        # -- replay -----------------------------------------------------------------------------------------------
        bus_arn = events.create_event_bus(Name=f"{PREFIX}-bus")["EventBusArn"]
        archive_arn = events.create_archive(ArchiveName=f"{PREFIX}-bus", EventSourceArn=bus_arn)["ArchiveArn"]
        target_url, target_arn = _queue(sqs, f"{PREFIX}-replayed")
        events.put_rule(Name=f"{PREFIX}-rule", EventBusName=f"{PREFIX}-bus", EventPattern=json.dumps({"source": ["bench"]}))
        events.put_targets(Rule=f"{PREFIX}-rule", EventBusName=f"{PREFIX}-bus", Targets=[{"Id": "q", "Arn": target_arn}])
        now = datetime.now(tz=UTC) + timedelta(seconds=cloud.health()["clock_offset_s"])
        for start in range(0, REPLAY, 10):
            events.put_events(
                Entries=[
                    {"Source": "bench", "DetailType": "Bench", "Detail": json.dumps({"n": start + i}), "EventBusName": f"{PREFIX}-bus", "Time": now - timedelta(minutes=5)}
                    for i in range(10)
                ]
            )
        wait_until(lambda: events.describe_archive(ArchiveName=f"{PREFIX}-bus")["EventCount"] >= REPLAY, timeout=120, what="events archived")
        wait_until(lambda: _depth(sqs, target_url) >= REPLAY, timeout=120, what="live deliveries")
        sqs.purge_queue(QueueUrl=target_url)
        started = time.perf_counter()
        events.start_replay(ReplayName=f"{PREFIX}-replay", EventSourceArn=archive_arn, EventStartTime=now - timedelta(hours=1), EventEndTime=now, Destination={"Arn": bus_arn})
        replay = ops.wait_replay(events, f"{PREFIX}-replay", timeout=300, interval=0.05, max_interval=0.2)
        replay_s = time.perf_counter() - started
        assert replay["State"] == "COMPLETED", replay
        wait_until(lambda: _depth(sqs, target_url) >= REPLAY, timeout=60, what="replayed deliveries")
        results["replay"] = {"events": REPLAY, "seconds": round(replay_s, 3), "events_per_s": round(REPLAY / replay_s, 1)}

        # -- EMF → CloudWatch -------------------------------------------------------------------------------------
        role = clients("iam").create_role(RoleName="bench-ops", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        lam.create_function(FunctionName=f"{PREFIX}-emf", Runtime="python3.11", Role=role, Handler="fn.handler", Code={"ZipFile": _zip(EMF_HANDLER)}, Timeout=60)
        lam.invoke(FunctionName=f"{PREFIX}-emf", Payload=json.dumps({"n": 1}))  # cold start out of the measurement
        before = cloud.status()["emf"]["documents"]
        started = time.perf_counter()
        lam.invoke(FunctionName=f"{PREFIX}-emf", Payload=json.dumps({"n": EMF_DOCS}))
        wait_until(lambda: cloud.status()["emf"]["documents"] - before >= EMF_DOCS, timeout=120, what="EMF documents forwarded")
        emf_s = time.perf_counter() - started
        rows = {m.name: m for m in ops.emf_metrics(cloudwatch, namespace="Bench", window_s=600)}
        assert rows["Done"].total == EMF_DOCS + 1, rows
        results["emf"] = {"documents": EMF_DOCS, "seconds": round(emf_s, 3), "documents_per_s": round(EMF_DOCS / emf_s, 1), "latency_p99": rows["Latency"].p99}

        # -- status snapshot --------------------------------------------------------------------------------------
        for i in range(STATUS_QUEUES):
            dlq = _queue(sqs, f"{PREFIX}-s{i}-dlq")
            _queue(sqs, f"{PREFIX}-s{i}", dlq[1])
        timings = []
        for _ in range(5):
            started = time.perf_counter()
            snap = ops.snapshot(clients, PREFIX, window_s=600, local_status=cloud.status())
            timings.append(time.perf_counter() - started)
        assert len(snap.queues) >= 2 * STATUS_QUEUES
        results["status_snapshot_s"] = summary(timings) | {"queues": len(snap.queues), "metrics": len(snap.metrics)}

    show(
        "operations on the local cloud",
        [
            ("DLQ redrive (move task, default rate)", f"{results['redrive']['messages_per_s']:.0f} msg/s", f"{REDRIVE} messages in {results['redrive']['seconds']:.1f} s"),
            ("archive replay to an SQS target", f"{results['replay']['events_per_s']:.0f} events/s", f"{REPLAY} events in {results['replay']['seconds']:.1f} s"),
            ("EMF → CloudWatch metrics", f"{results['emf']['documents_per_s']:.0f} docs/s", f"{EMF_DOCS} documents, p99 {results['emf']['latency_p99']}"),
            ("sluicectl status snapshot (p50)", f"{results['status_snapshot_s']['p50'] * 1000:.0f} ms", f"{results['status_snapshot_s']['queues']} queues"),
        ],
    )
    write("ops", results)
