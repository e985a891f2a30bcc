"""The reliability suite's feedback driver (``chaos.EXTRA_DRIVERS``: run when named, ``sluicectl chaos --pipeline
feedback``) on the local cloud: labels through POST /feedback under faults on the feedback function (errors,
timeouts, throttles: the API answers 5xx and the client retries), a burst and fuzzed bodies. Every submission ends
processed (its label stored, counted once) or refused with a reason; no training starts and the store is left as
it was found (the retraining e2e test, later in the same session, expects no pending label)."""

from __future__ import annotations

import pytest

from sluicectl import chaos, retraining

pytestmark = pytest.mark.e2e


def test_every_label_is_stored_once_or_refused_under_faults_burst_and_fuzz(deployed) -> None:
    dynamodb, table = deployed.client("dynamodb"), deployed.outputs["feedback_table_name"]
    before = retraining.feedback_state(dynamodb, table)
    report = chaos.run(deployed.cloud, deployed.outputs, pipelines=["feedback"], scale=6, burst=4, fuzz=10, timeout=300)
    phases = {t.phase: t for t in report.pipelines["feedback"]}
    final = phases["after redrive"]
    assert final.sent == sum(t.sent for name, t in phases.items() if name != "after redrive") > 0
    assert (final.lost, final.duplicates, final.in_dlq) == (0, 0, 0), [t.as_dict() for t in report.pipelines["feedback"]]
    assert final.processed > 0 and final.failure_records > 0
    assert report.injected["by_kind"].get("error", 0) + report.injected["by_kind"].get("throttle", 0) > 0, report.injected
    after = retraining.feedback_state(dynamodb, table)
    assert (after.get("pending", 0), after.get("labels_total", 0), after.get("requested_at")) == (
        before.get("pending", 0), before.get("labels_total", 0), before.get("requested_at")
    ), (before, after)
    assert after.get("last_run_id") == before.get("last_run_id")  # no training started
    print("\nchaos · feedback:", [t.as_dict() for t in report.pipelines["feedback"]])
