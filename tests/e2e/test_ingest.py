"""Pipeline 1 end to end on the local cloud, with the real Terraform applied: S3 → EventBridge → SQS → Lambda →
DynamoDB + S3, failure records and the DLQ. Every object uploaded is counted where it ended."""

from __future__ import annotations

import json
import shutil
import uuid
from decimal import Decimal
from pathlib import Path

import pytest

from localcloud.testing import wait_until
from sluicectl import ingest

pytestmark = pytest.mark.e2e


def run_until_accounted(deployed, run: ingest.Run, timeout: float = 120) -> ingest.Counts:
    ingest.upload(deployed.client("s3"), deployed.outputs["landing_bucket_name"], run.samples)
    counts = ingest.wait_accounted(deployed.client, deployed.outputs, run, timeout=timeout)
    assert counts.accounted == len(run.samples), f"run {run.run_id} not accounted for: {counts.as_dict()}"
    return counts


def test_200_objects_with_10_percent_malformed_all_accounted_for(deployed):
    run = ingest.Run.new(200, 0.1, seed=7)
    counts = run_until_accounted(deployed, run)
    assert counts.processed == 180 and counts.outputs == 180
    assert counts.failed == 20 and counts.dead_lettered == 20
    assert counts.lost == 0 and counts.uploaded == counts.processed + counts.failed

    # The results hold the seed's totals.
    dynamodb = deployed.client("dynamodb")
    for sample in run.valid[:10]:
        item = dynamodb.get_item(TableName=deployed.outputs["ingest_results_table_name"], Key={"object_key": {"S": sample.key}})["Item"]
        assert int(item["total_items"]["N"]) == sample.total_items
        assert Decimal(item["total_value"]["N"]) == sample.total_value
        body = deployed.client("s3").get_object(Bucket=deployed.outputs["output_bucket_name"], Key=item["output_key"]["S"])["Body"].read()
        assert json.loads(body)["order_id"] == sample.order["order_id"]

    # Each malformed object has a failure record with the reason it can never succeed.
    records = {
        item["item_id"]["S"].split("/", 1)[1].rsplit("#", 1)[0]: item
        for item in ingest._failure_records(dynamodb, deployed.outputs["failures_table_name"], deployed.outputs["landing_bucket_name"], run.prefix)
    }
    assert set(records) == {s.key for s in run.malformed}
    for sample in run.malformed:
        assert records[sample.key]["error_code"]["S"] == sample.expected
        assert records[sample.key]["reason"]["S"]

    # The DLQ holds exactly the poison objects, each once.
    keys = ingest.dlq_keys(deployed.client("sqs"), deployed.outputs["ingest_dlq_url"], run.prefix)
    assert keys == sorted(s.key for s in run.malformed)


def _object_created_event(deployed, key: str) -> str:
    """The event EventBridge delivered for `key`, as a duplicate delivery would carry it again."""
    landing = deployed.outputs["landing_bucket_name"]
    head = deployed.client("s3").head_object(Bucket=landing, Key=key)
    return json.dumps(
        {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": "Object Created",
            "source": "aws.s3",
            "account": "123456789012",
            "time": "2026-01-01T00:00:00Z",
            "region": "us-east-1",
            "resources": [f"arn:aws:s3:::{landing}"],
            "detail": {
                "version": "0",
                "bucket": {"name": landing},
                "object": {"key": key, "size": head["ContentLength"], "etag": head["ETag"].strip('"'), "sequencer": "0"},
                "request-id": "R",
                "requester": "123456789012",
                "source-ip-address": "127.0.0.1",
                "reason": "PutObject",
            },
        }
    )


def test_redelivered_events_write_nothing_twice(deployed):
    run = ingest.Run.new(10, 0.0)
    run_until_accounted(deployed, run)
    outputs, s3, dynamodb, sqs = deployed.outputs, deployed.client("s3"), deployed.client("dynamodb"), deployed.client("sqs")
    before = {
        s.key: dynamodb.get_item(TableName=outputs["ingest_results_table_name"], Key={"object_key": {"S": s.key}})["Item"]
        for s in run.samples
    }
    function = outputs["ingest_function_name"]
    invocations = deployed.cloud.status()["functions"][function]["invocations"]

    for start in range(0, 10, 10):  # the same batch, delivered again with new message ids
        sqs.send_message_batch(
            QueueUrl=outputs["ingest_queue_url"],
            Entries=[{"Id": str(i), "MessageBody": _object_created_event(deployed, s.key)} for i, s in enumerate(run.samples[start : start + 10])],
        )
    wait_until(
        lambda: deployed.cloud.status()["functions"][function]["invocations"] > invocations
        and ingest.count(deployed.client, outputs, run).in_queue == 0,
        timeout=60,
        what="the redelivered batch processed",
    )
    counts = ingest.count(deployed.client, outputs, run)
    assert counts.processed == 10 and counts.failed == 0 and counts.outputs == 10
    output_prefix = "processed/" + run.prefix.removeprefix("incoming/")
    versions = s3.list_object_versions(Bucket=outputs["output_bucket_name"], Prefix=output_prefix)["Versions"]
    assert len(versions) == 10  # one version per object: nothing was written twice
    after = {
        s.key: dynamodb.get_item(TableName=outputs["ingest_results_table_name"], Key={"object_key": {"S": s.key}})["Item"]
        for s in run.samples
    }
    assert after == before


def test_transient_failures_retry_then_dead_letter_then_redrive_processes_all(deployed):
    outputs, sqs, cloud = deployed.outputs, deployed.client("sqs"), deployed.cloud
    function = outputs["ingest_function_name"]
    run = ingest.Run.new(5, 0.0)
    cloud.set_fault(function, error_rate=1.0)  # every invocation fails: a dependency is down
    try:
        ingest.upload(deployed.client("s3"), outputs["landing_bucket_name"], run.samples)

        def dead_lettered() -> bool:
            cloud.advance_clock(60 * 60)  # past the visibility timeout: the next receive is due now
            return len(ingest.dlq_keys(sqs, outputs["ingest_dlq_url"], run.prefix)) == 5

        wait_until(dead_lettered, timeout=90, what="the 5 objects dead-lettered after maxReceiveCount receives")
    finally:
        cloud.clear_faults(function)
    counts = ingest.count(deployed.client, outputs, run)
    assert counts.processed == 0 and counts.failed == 0  # transient: no failure record, retried, then the DLQ

    # The fault is gone: a native redrive (StartMessageMoveTask) brings every message back and they succeed.
    sqs.start_message_move_task(SourceArn=outputs["ingest_dlq_arn"])
    counts = wait_until(
        lambda: (c := ingest.count(deployed.client, outputs, run)).processed == 5 and c,
        timeout=90,
        what="the redriven objects processed",
        describe=lambda: ingest.count(deployed.client, outputs, run).as_dict(),
    )
    assert counts.lost == 0 and counts.failed == 0


def test_plan_after_apply_shows_no_changes(deployed):
    assert deployed.terraform.plan_changes() == []


def test_a_one_function_change_redeploys_only_that_function(deployed, artifacts, tmp_path):
    changed = tmp_path / "dist"
    shutil.copytree(artifacts, changed)
    manifest = json.loads((changed / "manifest.json").read_text())
    entry = manifest["artifacts"]["functions/ingest_processor"]
    zip_path = changed / entry["path"]
    import base64
    import hashlib
    import zipfile

    with zipfile.ZipFile(zip_path, "a") as archive:
        archive.writestr("ingest_processor/CHANGED.txt", "a new release\n")
    digest = hashlib.sha256(zip_path.read_bytes()).digest()
    entry.update(sha256=digest.hex(), sha256_base64=base64.b64encode(digest).decode(), size=zip_path.stat().st_size)
    (changed / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    changes = deployed.terraform.plan_changes({"artifacts_dir": str(Path(changed))})
    assert [c["address"] for c in changes] == ["module.stack.module.ingest_processor.aws_lambda_function.this"]
    assert changes[0]["actions"] == ["update"]
