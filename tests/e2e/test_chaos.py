"""The reliability suite on the local cloud with the real Terraform applied (a smaller sample than `make chaos`):
every pipeline through a baseline, faults (errors, timeouts, throttles, duplicate and out-of-order delivery), a
burst and fuzzed bad input, then the faults removed and every DLQ redriven. Every input ends processed, in a
failure record or in a DLQ; none is lost and none is produced twice."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from sluicectl import chaos, retraining

pytestmark = pytest.mark.e2e
FEEDBACK_BEFORE: dict = {}  # the feedback store's state before the run (the feedback driver leaves it as found)


@pytest.fixture(scope="module")
def report(deployed) -> chaos.Report:
    # Small on purpose (CI time): seven pipelines x (6 + 6 + 24 + 10 + 3) inputs.
    FEEDBACK_BEFORE.update(retraining.feedback_state(deployed.client("dynamodb"), deployed.outputs["feedback_table_name"]))
    result = chaos.run(deployed.cloud, deployed.outputs, scale=6, burst=4, fuzz=10, timeout=300)
    if os.environ.get("SLUICE_CHAOS_REPORT"):  # where to keep the tallies (a CI artifact, the README's figures)
        Path(os.environ["SLUICE_CHAOS_REPORT"]).write_text(json.dumps(result.as_dict(), indent=1))
    return result


@pytest.mark.parametrize("pipeline", list(chaos.DRIVERS))
def test_nothing_is_lost_or_duplicated_after_faults_burst_fuzz_and_redrive(report, pipeline) -> None:
    phases = {t.phase: t for t in report.pipelines[pipeline]}
    final = phases["after redrive"]
    assert final.sent == sum(t.sent for name, t in phases.items() if name != "after redrive") > 0
    assert (final.lost, final.duplicates) == (0, 0), [t.as_dict() for t in report.pipelines[pipeline]]
    assert final.processed > 0
    if pipeline != "fanout":  # the fan-out takes any bytes: no input of its is bad, only too large ones would be
        assert final.failure_records > 0  # bad input ends in a failure record
    if chaos.DRIVERS[pipeline].dead_letters:
        assert phases["outage"].in_dlq == phases["outage"].sent  # the outage filled the DLQs; the redrive emptied them
    assert final.in_dlq == 0


def test_a_fuzzed_record_sent_again_by_a_later_run_is_processed_not_lost(report, deployed) -> None:
    """The input `make chaos` once reported lost: hypothesis (derandomized) gives a fuzzed line the same record_id
    in every run, here astral-plane characters and U+0016. The second run's line finds the record processed (the
    processor writes once per record_id); its result is the first run's row, which names the first run's file."""
    import uuid

    record_id = "\U000140acù>;\U00049b74\u00d7\U00086df1\x16Ô"
    line = json.dumps({"record_id": record_id, "data_type": "text", "payload": {"text": "fuzz", "language": "en"}}).encode()
    tallies = []
    for _ in range(2):
        driver = chaos.RoutingDriver(deployed.cloud.boto3_client, deployed.outputs, uuid.uuid4().hex[:8])
        batch = driver.send("fuzz", 1, [("wrong_types", line)])
        tallies.append(chaos.settle(deployed.cloud, [driver], {"routing": [batch]}, timeout=120)["routing"][0])
    assert [(t.sent, t.processed, t.lost, t.duplicates) for t in tallies] == [(1, 1, 0, 0)] * 2, [t.as_dict() for t in tallies]
    row = deployed.client("dynamodb").get_item(TableName=deployed.outputs["routing_results_table_name"], Key={"record_id": {"S": record_id}}, ConsistentRead=True)["Item"]
    assert row["record_id"]["S"] == record_id  # the id went through EventBridge, SQS and DynamoDB unchanged


def test_the_feedback_driver_started_no_training_and_left_the_store_as_found(report, deployed) -> None:
    """Its labels, counts and retraining-request mark are gone (the retraining e2e test, later in a session,
    expects no pending label), and no retraining run ended meanwhile."""
    after = retraining.feedback_state(deployed.client("dynamodb"), deployed.outputs["feedback_table_name"])
    keys = ("pending", "labels_total", "request_id", "last_run_id")
    assert {k: after.get(k) or None for k in keys} == {k: FEEDBACK_BEFORE.get(k) or None for k in keys}, (FEEDBACK_BEFORE, after)  # 0 = none


def test_the_faults_were_injected_and_then_cleared(report, deployed) -> None:
    by_kind = report.injected["by_kind"]
    for kind in ("error", "timeout", "throttle", "duplicate:sqs", "duplicate:eventbridge", "reordered:sqs"):
        assert by_kind.get(kind, 0) > 0, by_kind
    left = deployed.cloud.faults()
    assert left["faults"] == {} and left["deliveries"] == {}


def test_fuzzed_bodies_cover_every_kind_deterministically() -> None:
    template = {"order_id": "o-1", "items": [{"sku": "A", "quantity": 1, "price": 1.5}]}
    bodies = chaos.fuzz_bodies(template, 15, huge_bytes=5000)
    assert bodies == chaos.fuzz_bodies(template, 15, huge_bytes=5000)
    assert {kind for kind, _ in bodies} == set(chaos.FUZZ_KINDS) and len(bodies) == 15

    for kind, body in bodies:
        if kind == "broken_json":
            with pytest.raises(ValueError):
                json.loads(body)
        if kind == "huge":
            assert len(body) > 5000
        if kind == "bad_encoding":
            with pytest.raises(UnicodeDecodeError):
                body.decode("utf-8")
