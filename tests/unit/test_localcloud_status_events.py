"""Step Functions status change events on the local cloud: built only when a rule of the bus could match
(EventsDelivery.wants), and shaped like AWS's (localcloud.patches.stepfunctions.status_change_event)."""

from __future__ import annotations

import datetime
import json
import types

import boto3
import pytest
from moto import mock_aws

from localcloud.delivery.eventbridge import EventsDelivery
from localcloud.patches.stepfunctions import STATUS_CHANGE, status_change_event

ACCOUNT, REGION = "123456789012", "us-east-1"


@pytest.fixture
def events():
    with mock_aws():
        yield boto3.client("events", region_name=REGION)


def wants(source: str = "aws.states", detail_type: str = STATUS_CHANGE) -> bool:
    # `wants` reads only moto's rules: no delivery (threads) needed.
    return EventsDelivery.wants(None, ACCOUNT, REGION, "default", source, detail_type)  # type: ignore[arg-type]


def test_only_a_rule_that_could_match_source_and_detail_type_wants_the_event(events) -> None:
    assert not wants()
    events.put_rule(Name="s3", EventPattern=json.dumps({"source": ["aws.s3"], "detail-type": ["Object Created"]}))
    events.put_rule(Name="other-type", EventPattern=json.dumps({"source": ["aws.states"], "detail-type": ["Other"]}))
    events.put_rule(Name="off", EventPattern=json.dumps({"source": ["aws.states"]}), State="DISABLED")
    events.put_rule(Name="schedule", ScheduleExpression="rate(1 hour)")
    assert not wants()
    # Fields below the header do not count: the detail is matched at delivery.
    events.put_rule(
        Name="sfn",
        EventPattern=json.dumps({"source": [{"prefix": "aws.st"}], "detail": {"status": ["FAILED"]}}),
    )
    assert wants() and not wants(source="aws.s3x")


def test_a_pattern_without_source_or_with_or_may_match_anything(events) -> None:
    events.put_rule(Name="detail-only", EventPattern=json.dumps({"detail": {"status": ["FAILED"]}}))
    assert wants()
    events.delete_rule(Name="detail-only")
    events.put_rule(Name="or", EventPattern=json.dumps({"$or": [{"source": ["a"]}, {"detail-type": ["b"]}]}))
    assert wants()


def test_status_change_event_has_aws_shape() -> None:
    start = datetime.datetime(2026, 12, 3, 0, 0, tzinfo=datetime.UTC)
    machine = types.SimpleNamespace(arn=f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:m", type="STANDARD")
    execution = types.SimpleNamespace(
        exec_arn=f"arn:aws:states:{REGION}:{ACCOUNT}:execution:m:e",
        state_machine=machine,
        name="e",
        account_id=ACCOUNT,
        region_name=REGION,
        start_date=start,
        stop_date=start + datetime.timedelta(seconds=2),
        input_data={"document": {"key": "a"}},
        output={"ok": True},
        error=None,
        cause=None,
    )
    running = status_change_event(execution, "RUNNING")
    assert (running["source"], running["detail-type"], running["resources"]) == ("aws.states", STATUS_CHANGE, [execution.exec_arn])
    assert running["detail"]["stopDate"] is None and running["detail"]["output"] is None
    done = status_change_event(execution, "SUCCEEDED")["detail"]
    assert done["stateMachineArn"] == machine.arn and done["status"] == "SUCCEEDED"
    assert done["stopDate"] - done["startDate"] == 2000 and json.loads(done["output"]) == {"ok": True}
    assert json.loads(done["input"]) == {"document": {"key": "a"}}
    execution.error, execution.cause = "States.Timeout", None
    timed_out = status_change_event(execution, "TIMED_OUT")["detail"]
    assert timed_out["output"] is None and timed_out["error"] == "States.Timeout"
