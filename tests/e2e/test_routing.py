"""Pipeline 2 end to end on the local cloud, with the real Terraform applied: typed routing (PutEvents and records
files -> router -> rules by data_type -> per-type queues and processors; the rest unroutable, with the reason),
the S3 fan-out to independent consumers, and completion through SNS to the client's queue. Every record and
every upload is counted where it ended."""

from __future__ import annotations

import json

import pytest

from localcloud.testing import wait_until
from sluicectl import routing
from sluicectl.ingest import peek

pytestmark = pytest.mark.e2e


def test_300_mixed_records_each_reach_only_their_types_processor(deployed):
    outputs, clients = deployed.outputs, deployed.client
    run = routing.RecordRun.new(300, seed=42)
    by_event = [s for s in run.samples if not s.file_only][::2]  # half as PutEvents, the rest (and what only a file can carry) as files
    by_file = [s for s in run.samples if s not in by_event]
    routing.submit_events(clients("events"), outputs["domain_bus_name"], by_event)
    routing.upload_files(clients("s3"), outputs["landing_bucket_name"], run, by_file)

    counts = routing.wait_routed(clients, outputs, run, timeout=180)
    expected = run.expected_counts()
    assert counts.lost == 0 and counts.accounted == 300, counts.as_dict()
    assert dict(counts.by_type) == {t: expected[t] for t in routing.TYPES}
    assert counts.misrouted == 0
    # Each type's records were processed by that type's processor and no other.
    assert dict(counts.processed_by) == {outputs["routing_routes"][t]["function_name"]: expected[t] for t in routing.TYPES}
    # Unknown or malformed: in the unroutable queue, each with its reason.
    assert counts.unroutable == expected[routing.UNROUTABLE] == 60
    assert counts.reasons == run.expected_reasons()
    details = routing.unroutable_events(clients("sqs"), outputs["routing_unroutable_queue_url"], run.run_id)
    assert all(d["reason"] and d["origin"]["kind"] in ("event", "file") for d in details)
    # No processor refused an event (a misrouted one would be a wrong_route failure record).
    failures = clients("dynamodb").scan(TableName=outputs["failures_table_name"], ConsistentRead=True)["Items"]
    assert not [f for f in failures if f["pipeline"]["S"].startswith("routing") and f["item_id"]["S"].startswith(run.run_id)]
    # Nothing waits in a route queue or a DLQ.
    sqs = clients("sqs")
    for route in outputs["routing_routes"].values():
        assert routing.queue_depth(sqs, route["queue_url"]) == 0 and routing.queue_depth(sqs, route["dlq_url"]) == 0
    assert routing.queue_depth(sqs, outputs["routing_router_dlq_url"]) == 0


def test_the_router_batches_put_events(deployed):
    """One invocation publishes every record of its batch together: far fewer PutEvents calls than records."""
    outputs, clients, cloud = deployed.outputs, deployed.client, deployed.cloud
    router = outputs["routing_router_function_name"]
    before_calls = cloud.status()["requests"].get("events.PutEvents", 0)
    before_invocations = cloud.status()["functions"].get(router, {}).get("invocations", 0)
    run = routing.RecordRun.new(200, 0.0, seed=5)
    routing.upload_files(clients("s3"), outputs["landing_bucket_name"], run, run.samples, per_file=100)
    counts = routing.wait_routed(clients, outputs, run, timeout=120)
    assert counts.routed == 200 and counts.lost == 0
    status = cloud.status()
    calls = status["requests"].get("events.PutEvents", 0) - before_calls
    invocations = status["functions"][router]["invocations"] - before_invocations
    assert invocations <= 2  # two files: two messages
    assert calls <= 25  # 200 events, 10 per PutEvents (+ a few retries at most)


def test_deployed_rules_match_through_the_test_event_pattern_api(deployed):
    events = deployed.client("events")
    patterns = deployed.outputs["routing_event_patterns"]
    route = deployed.outputs["routing_routes"]["image"]["rule_name"]
    event = {"id": "1", "account": "123456789012", "source": "sluice.router", "time": "2026-01-01T00:00:00Z", "region": "us-east-1",
             "resources": [], "detail-type": "Record Routed", "detail": {"record_id": "r", "data_type": "image"}}
    unroutable = next(name for name in patterns if name.endswith("routing-unroutable"))
    assert events.test_event_pattern(EventPattern=patterns[route], Event=json.dumps(event))["Result"] is True
    assert events.test_event_pattern(EventPattern=patterns[unroutable], Event=json.dumps(event))["Result"] is False
    event["detail"]["data_type"] = "audio"
    assert events.test_event_pattern(EventPattern=patterns[route], Event=json.dumps(event))["Result"] is False
    assert events.test_event_pattern(EventPattern=patterns[unroutable], Event=json.dumps(event))["Result"] is True


def _completions(deployed, run: routing.UploadRun, into: dict) -> dict:
    return routing.receive_completions(deployed.client("sqs"), deployed.outputs["completions_queue_url"], run, into)


def test_every_upload_reaches_every_consumer_and_completes_once(deployed):
    outputs, clients = deployed.outputs, deployed.client
    run = routing.UploadRun.new(8)
    routing.upload_objects(clients("s3"), outputs["landing_bucket_name"], run.uploads)
    clients("s3").put_object(Bucket=outputs["landing_bucket_name"], Key=f"{run.prefix}empty/", Body=b"")  # filtered out by the rule

    completions: dict = {}
    wait_until(lambda: len(_completions(deployed, run, completions)) == 8, timeout=90, what="8 completions in the client's queue",
               describe=lambda: routing.done_by(routing.jobs(clients("dynamodb"), outputs["fanout_jobs_table_name"], run)))
    assert sorted(completions) == sorted(u.key for u in run.uploads)
    for upload in run.uploads:
        detail = completions[upload.key]
        assert set(detail["consumers"]) == set(outputs["fanout_consumers"])
        assert detail["consumers"]["checksum"]["verdict"] == "clean" and detail["consumers"]["checksum"]["etag_verified"] is True
        assert detail["consumers"]["metadata"]["format"] == {"text": "text", "csv": "csv", "json": "json", "png": "png"}[upload.kind]
        preview = detail["consumers"]["preview"]
        body = clients("s3").get_object(Bucket=preview["preview_bucket"], Key=preview["preview_key"])["Body"].read()
        assert json.loads(body)["source"].endswith(upload.key)
    jobs = routing.jobs(clients("dynamodb"), outputs["fanout_jobs_table_name"], run)
    assert set(jobs) == {u.key for u in run.uploads}  # no job for the empty object
    assert routing.done_by(jobs) == {name: 8 for name in outputs["fanout_consumers"]}
    assert _completions(deployed, run, {}) == {}  # exactly one completion each: nothing more arrives


def test_a_failing_consumer_does_not_stop_the_others_and_a_redrive_finishes_its_work(deployed):
    outputs, clients, cloud = deployed.outputs, deployed.client, deployed.cloud
    consumers = outputs["fanout_consumers"]
    failing = consumers["preview"]
    others = [name for name in consumers if name != "preview"]
    sqs, dynamodb = clients("sqs"), clients("dynamodb")
    run = routing.UploadRun.new(6)
    keys = sorted(u.key for u in run.uploads)

    def dead_lettered() -> list[str]:
        found = []
        for message in peek(sqs, failing["dlq_url"]):
            key = json.loads(message["Body"])["detail"]["object"]["key"]
            if key.startswith(run.prefix):
                found.append(key)
        return sorted(found)

    completions: dict = {}
    cloud.set_fault(failing["function_name"], error_rate=1.0)  # every preview invocation fails: its dependency is down
    try:
        routing.upload_objects(clients("s3"), outputs["landing_bucket_name"], run.uploads)
        # The other consumers finish every object meanwhile.
        wait_until(
            lambda: all(routing.done_by(routing.jobs(dynamodb, outputs["fanout_jobs_table_name"], run))[n] == 6 for n in others),
            timeout=90, what="the other consumers done with every upload",
        )

        def all_dead_lettered() -> bool:
            cloud.advance_clock(60 * 60)  # past the visibility timeout: the next receive is due now
            return dead_lettered() == keys

        wait_until(all_dead_lettered, timeout=120, what="the 6 preview messages dead-lettered after maxReceiveCount receives")
    finally:
        cloud.clear_faults(failing["function_name"])
    # The failing consumer's DLQ holds exactly the failed messages, each once; no job completed.
    assert dead_lettered() == keys
    jobs = routing.jobs(dynamodb, outputs["fanout_jobs_table_name"], run)
    assert routing.done_by(jobs) == {**{n: 6 for n in others}}
    assert _completions(deployed, run, completions) == {}
    assert routing.queue_depth(sqs, failing["queue_url"]) == 0

    # The fault is gone: a native redrive brings every message back, the consumer processes them all, and the
    # jobs complete: the client learns it from its queue.
    sqs.start_message_move_task(SourceArn=failing["dlq_arn"])
    wait_until(lambda: len(_completions(deployed, run, completions)) == 6, timeout=90, what="6 completions after the redrive",
               describe=lambda: routing.done_by(routing.jobs(dynamodb, outputs["fanout_jobs_table_name"], run)))
    assert sorted(completions) == keys
    assert routing.done_by(routing.jobs(dynamodb, outputs["fanout_jobs_table_name"], run)) == {n: 6 for n in consumers}
    assert dead_lettered() == []
