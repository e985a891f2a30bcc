"""Step Functions on the local cloud: real executions of Task (Lambda, through the local runtime), Parallel, Choice,
Map, Retry and Catch with AWS's semantics, EventBridge -> StartExecution, names, outputs and execution history."""

from __future__ import annotations

import hashlib
import itertools
import json

import pytest
from botocore.exceptions import ClientError

from localcloud.testing import wait_until
from tests.e2e.conftest import make_zip

pytestmark = pytest.mark.xdist_group("localcloud-stepfunctions")

STEP = """
import time

import boto3

class PermanentInputError(Exception):
    pass

def handler(event, context):
    op = event.get("op")
    if op == "double":
        return {"value": event["value"] * 2}
    if op == "reject":
        raise PermanentInputError(f"cannot use {event.get('value')!r}")
    if op == "reject-after-stop":  # fails only once the test has stopped its execution (bounded by the timeout)
        sfn = boto3.client("stepfunctions")
        while context.get_remaining_time_in_millis() > 1000:
            if sfn.describe_execution(executionArn=event["execution"])["status"] != "RUNNING":
                break
            time.sleep(0.05)
        raise PermanentInputError("failed after the stop")
    return event
"""

LAMBDA = "arn:aws:states:::lambda:invoke"


def task(function_arn: str, payload: dict, **extra) -> dict:
    return {
        "Type": "Task",
        "Resource": LAMBDA,
        "Parameters": {"FunctionName": function_arn, "Payload": payload},
        "OutputPath": "$.Payload",
        **extra,
    }


class Machines:
    def __init__(self, cloud, role_arn: str, name: str) -> None:
        self.cloud = cloud
        self.sfn = cloud.boto3_client("stepfunctions")
        self.role_arn = role_arn
        self.name = name
        lam = cloud.boto3_client("lambda")
        self.function_name = f"{name}-step"
        self.function_arn = lam.create_function(
            FunctionName=self.function_name,
            Runtime="python3.11",
            Role=role_arn,
            Handler="steps.app.handler",
            Code={"ZipFile": make_zip({"steps/__init__.py": "", "steps/app.py": STEP})},
            Timeout=10,
        )["FunctionArn"]

    def create(self, suffix: str, definition: dict) -> str:
        return self.sfn.create_state_machine(
            name=f"{self.name}-{suffix}", definition=json.dumps(definition), roleArn=self.role_arn
        )["stateMachineArn"]

    def finished(self, execution_arn: str, timeout: float = 30) -> dict:
        return wait_until(
            lambda: (
                (d := self.sfn.describe_execution(executionArn=execution_arn))["status"] != "RUNNING" and d
            ),
            timeout=timeout,
            what=f"execution {execution_arn} to finish",
        )

    def history(self, execution_arn: str) -> list[dict]:
        return self.sfn.get_execution_history(executionArn=execution_arn, maxResults=1000)["events"]


@pytest.fixture(scope="module")
def machines(cloud, role_arn) -> Machines:
    return Machines(cloud, role_arn, "sfn-e2e")


def test_choice_map_parallel_and_tasks_run_through_the_lambda_runtime(machines: Machines) -> None:
    fn = machines.function_arn
    arn = machines.create(
        "shapes",
        {
            "StartAt": "Classify",
            "States": {
                "Classify": {
                    "Type": "Choice",
                    "Choices": [{"Variable": "$.kind", "StringEquals": "numbers", "Next": "DoubleEach"}],
                    "Default": "Unknown",
                },
                "DoubleEach": {
                    "Type": "Map",
                    "ItemsPath": "$.values",
                    "MaxConcurrency": 2,
                    "ItemProcessor": {
                        "ProcessorConfig": {"Mode": "INLINE"},
                        "StartAt": "Double",
                        "States": {
                            "Double": {
                                **task(fn, {"op": "double", "value.$": "$"}),
                                "OutputPath": "$.Payload.value",
                                "End": True,
                            }
                        },
                    },
                    "ResultPath": "$.doubled",
                    "Next": "Both",
                },
                "Both": {
                    "Type": "Parallel",
                    "Branches": [
                        {
                            "StartAt": "First",
                            "States": {
                                "First": {
                                    **task(fn, {"op": "double", "value.$": "$.doubled[0]"}),
                                    "End": True,
                                }
                            },
                        },
                        {
                            "StartAt": "Label",
                            "States": {"Label": {"Type": "Pass", "Result": "side", "End": True}},
                        },
                    ],
                    "ResultPath": "$.parallel",
                    "End": True,
                },
                "Unknown": {"Type": "Fail", "Error": "UnknownKind", "Cause": "kind is not numbers"},
            },
        },
    )
    ok = machines.sfn.start_execution(
        stateMachineArn=arn, input=json.dumps({"kind": "numbers", "values": [1, 2, 3]})
    )
    other = machines.sfn.start_execution(stateMachineArn=arn, input=json.dumps({"kind": "letters"}))
    done = machines.finished(ok["executionArn"])
    assert done["status"] == "SUCCEEDED", done
    assert json.loads(done["output"]) == {
        "kind": "numbers",
        "values": [1, 2, 3],
        "doubled": [2, 4, 6],
        "parallel": [{"value": 4}, "side"],
    }
    failed = machines.finished(other["executionArn"])
    assert (failed["status"], failed["error"], failed["cause"]) == (
        "FAILED",
        "UnknownKind",
        "kind is not numbers",
    )
    # The tasks ran in the local runtime: 3 map items + 1 parallel branch.
    stats = machines.cloud.status()["functions"][machines.function_name]
    assert stats["invocations"] >= 4
    types = [e["type"] for e in machines.history(ok["executionArn"])]
    for expected in (
        "ChoiceStateEntered",
        "MapStateEntered",
        "MapIterationSucceeded",
        "ParallelStateEntered",
        "TaskSucceeded",
        "ExecutionSucceeded",
    ):
        assert expected in types


def _retrying(fn: str, catch: bool) -> dict:
    step = task(
        fn,
        {"op": "double", "value.$": "$.value"},
        Retry=[
            {
                "ErrorEquals": ["InjectedFault", "Lambda.TooManyRequestsException"],
                "IntervalSeconds": 1,
                "MaxAttempts": 3,
                "BackoffRate": 2,
            }
        ],
        Next="Done",
    )
    if catch:
        step["Catch"] = [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Record"}]
    states = {"Step": step, "Done": {"Type": "Succeed"}}
    if catch:
        states["Record"] = {"Type": "Pass", "Next": "Failed"}
        states["Failed"] = {"Type": "Fail", "Error": "StepFailed", "Cause": "retries exhausted"}
    return {"StartAt": "Step", "States": states}


def test_retry_with_backoff_recovers_from_a_transient_fault_and_history_shows_it(machines: Machines) -> None:
    arn = machines.create("retry", _retrying(machines.function_arn, catch=False))
    machines.cloud.set_fault(machines.function_name, error_rate=1.0, remaining=2)
    try:
        started = machines.sfn.start_execution(stateMachineArn=arn, input='{"value": 21}')
        done = machines.finished(started["executionArn"])
    finally:
        machines.cloud.clear_faults(machines.function_name)
    assert done["status"] == "SUCCEEDED", done
    assert json.loads(done["output"])["value"] == 42
    events = machines.history(started["executionArn"])
    failed = [e for e in events if e["type"] == "TaskFailed"]
    scheduled = [e for e in events if e["type"] == "TaskScheduled"]
    assert len(failed) == 2 and len(scheduled) == 3
    assert all(e["taskFailedEventDetails"]["error"] == "InjectedFault" for e in failed)
    # Backoff: 1 s, then 2 s between attempts.
    gaps = [(b["timestamp"] - a["timestamp"]).total_seconds() for a, b in itertools.pairwise(scheduled)]
    assert gaps[0] >= 0.9 and gaps[1] >= 1.9, gaps


def test_retries_exhausted_go_to_catch_and_fail(machines: Machines) -> None:
    arn = machines.create("catch", _retrying(machines.function_arn, catch=True))
    machines.cloud.set_fault(machines.function_name, error_rate=1.0, remaining=4)
    try:
        started = machines.sfn.start_execution(stateMachineArn=arn, input='{"value": 1}')
        done = machines.finished(started["executionArn"], timeout=40)
    finally:
        machines.cloud.clear_faults(machines.function_name)
    assert (done["status"], done["error"], done["cause"]) == ("FAILED", "StepFailed", "retries exhausted")
    events = machines.history(started["executionArn"])
    assert sum(e["type"] == "TaskScheduled" for e in events) == 4  # the first attempt + 3 retries
    caught = next(e for e in events if e["type"] == "PassStateEntered")
    error = json.loads(caught["stateEnteredEventDetails"]["input"])["error"]
    assert error["Error"] == "InjectedFault"


def test_permanent_errors_are_not_retried(machines: Machines) -> None:
    fn = machines.function_arn
    definition = {
        "StartAt": "Step",
        "States": {
            "Step": task(
                fn,
                {"op": "reject", "value.$": "$.value"},
                Retry=[
                    {
                        "ErrorEquals": ["InjectedFault"],
                        "IntervalSeconds": 1,
                        "MaxAttempts": 3,
                        "BackoffRate": 2,
                    }
                ],
                Catch=[{"ErrorEquals": ["PermanentInputError"], "ResultPath": "$.error", "Next": "Rejected"}],
                End=True,
            ),
            "Rejected": {"Type": "Fail", "ErrorPath": "$.error.Error", "CausePath": "$.error.Cause"},
        },
    }
    arn = machines.create("permanent", definition)
    started = machines.sfn.start_execution(stateMachineArn=arn, input='{"value": "x"}')
    done = machines.finished(started["executionArn"])
    assert (done["status"], done["error"]) == ("FAILED", "PermanentInputError")
    assert "cannot use 'x'" in json.loads(done["cause"])["errorMessage"]
    assert sum(e["type"] == "TaskScheduled" for e in machines.history(started["executionArn"])) == 1


def test_a_stopped_execution_stays_aborted_when_its_running_task_fails_afterwards(machines: Machines) -> None:
    """StopExecution is final: the Lambda task running at the stop fails a moment later; the execution is ABORTED
    (moto's interpreter recorded the task's error over the stop, so it ended FAILED)."""
    payload = {"op": "reject-after-stop", "execution.$": "$$.Execution.Id"}
    arn = machines.create("stop-final", {"StartAt": "Slow", "States": {"Slow": task(machines.function_arn, payload, End=True)}})

    def errors() -> int:
        return machines.cloud.status()["functions"].get(machines.function_name, {}).get("errors", 0)

    before = errors()
    run = machines.sfn.start_execution(stateMachineArn=arn, input="{}")["executionArn"]
    wait_until(
        lambda: any(e["type"] == "TaskStarted" for e in machines.history(run)), what="the slow task to start"
    )
    machines.sfn.stop_execution(executionArn=run, error="Operator", cause="stopped by the test")
    done = machines.finished(run)
    assert done["status"] == "ABORTED", done
    # Once the task has failed (it waited for the stop), the execution is still ABORTED, its history ends there.
    wait_until(lambda: errors() > before, what="the task's failure")
    assert machines.sfn.describe_execution(executionArn=run)["status"] == "ABORTED"
    ends = [e for e in machines.history(run) if e["type"].startswith("Execution") and e["type"] != "ExecutionStarted"]
    assert [e["type"] for e in ends] == ["ExecutionAborted"], ends
    assert ends[0]["executionAbortedEventDetails"] == {"error": "Operator", "cause": "stopped by the test"}


def test_names_outputs_and_repeated_executions(machines: Machines) -> None:
    arn = machines.create(
        "names", {"StartAt": "Hello", "States": {"Hello": {"Type": "Pass", "Result": "hello", "End": True}}}
    )
    sfn = machines.sfn
    # Unnamed executions get distinct names (moto: ARNs ending ':None' collided); a second execution runs too.
    first = sfn.start_execution(stateMachineArn=arn)["executionArn"]
    second = sfn.start_execution(stateMachineArn=arn)["executionArn"]
    assert first != second and not first.endswith(":None")
    for execution_arn in (first, second):
        done = machines.finished(execution_arn)
        assert done["status"] == "SUCCEEDED" and json.loads(done["output"]) == "hello"
    # A name is used once: the same name again starts nothing new.
    named = sfn.start_execution(stateMachineArn=arn, name="once", input="{}")["executionArn"]
    machines.finished(named)
    with pytest.raises(ClientError) as raised:
        sfn.start_execution(stateMachineArn=arn, name="once", input="{}")
    assert raised.value.response["Error"]["Code"] == "ExecutionAlreadyExists"
    assert [e["name"] for e in sfn.list_executions(stateMachineArn=arn)["executions"]].count("once") == 1
    for bad in ("a" * 81, "has space", "slash/name", "colon:name"):
        with pytest.raises(ClientError) as raised:
            sfn.start_execution(stateMachineArn=arn, name=bad)
        assert raised.value.response["Error"]["Code"] == "InvalidName", bad


def test_validate_definition_and_versions_answer(machines: Machines) -> None:
    sfn = machines.sfn
    good = json.dumps({"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}})
    assert sfn.validate_state_machine_definition(definition=good)["result"] == "OK"
    bad = sfn.validate_state_machine_definition(
        definition=json.dumps({"StartAt": "A", "States": {"A": {"Type": "Nope"}}})
    )
    assert bad["result"] == "FAIL" and bad["diagnostics"]
    arn = machines.create("versions", json.loads(good))
    assert sfn.list_state_machine_versions(stateMachineArn=arn)["stateMachineVersions"] == []


def test_eventbridge_rule_starts_executions_with_its_input_transformer(machines: Machines) -> None:
    cloud = machines.cloud
    arn = machines.create(
        "from-events", {"StartAt": "Echo", "States": {"Echo": {"Type": "Pass", "End": True}}}
    )
    events = cloud.boto3_client("events")
    rule = f"{machines.name}-to-sfn"
    events.put_rule(Name=rule, EventPattern=json.dumps({"source": ["sfn.e2e"]}))
    events.put_targets(
        Rule=rule,
        Targets=[
            {
                "Id": "machine",
                "Arn": arn,
                "RoleArn": machines.role_arn,
                "InputTransformer": {
                    "InputPathsMap": {"key": "$.detail.key"},
                    "InputTemplate": '{"document": <key>, "origin": "events"}',
                },
            }
        ],
    )
    events.put_events(
        Entries=[{"Source": "sfn.e2e", "DetailType": "t", "Detail": json.dumps({"key": "docs/a.pdf"})}]
    )
    listed = wait_until(
        lambda: machines.sfn.list_executions(stateMachineArn=arn)["executions"],
        what="an execution started by the rule",
    )
    done = machines.finished(listed[0]["executionArn"])
    assert json.loads(done["output"]) == {"document": "docs/a.pdf", "origin": "events"}


def test_start_execution_integration_names_the_child_and_catches_duplicates(machines: Machines) -> None:
    """A parent starts a child named by a hash of its input (States.Hash); a second parent with the same input
    meets ExecutionAlreadyExists, caught as StepFunctions.ExecutionAlreadyExistsException: one child."""
    child = machines.create(
        "child", {"StartAt": "Work", "States": {"Work": {"Type": "Wait", "Seconds": 1, "End": True}}}
    )
    parent = machines.create(
        "parent",
        {
            "StartAt": "StartChild",
            "States": {
                "StartChild": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::states:startExecution",
                    "Parameters": {
                        "StateMachineArn": child,
                        "Name.$": "States.Hash(States.Format('{}#{}', $.key, $.etag), 'SHA-256')",
                        "Input": {"key.$": "$.key", "parent.$": "$$.Execution.Id"},
                    },
                    "Catch": [
                        {
                            "ErrorEquals": ["StepFunctions.ExecutionAlreadyExistsException"],
                            "ResultPath": "$.duplicate",
                            "Next": "AlreadyStarted",
                        }
                    ],
                    "End": True,
                },
                "AlreadyStarted": {"Type": "Succeed"},
            },
        },
    )
    sfn = machines.sfn
    first = sfn.start_execution(
        stateMachineArn=parent, input=json.dumps({"key": "docs/a b.pdf", "etag": "e1"})
    )["executionArn"]
    done = machines.finished(first)
    assert done["status"] == "SUCCEEDED", done
    started = json.loads(done["output"])
    expected_name = hashlib.sha256(b"docs/a b.pdf#e1").hexdigest()
    assert started["ExecutionArn"].endswith(f":{expected_name}") and "StartDate" in started
    second = sfn.start_execution(
        stateMachineArn=parent, input=json.dumps({"key": "docs/a b.pdf", "etag": "e1"})
    )["executionArn"]
    duplicate = machines.finished(second)
    assert duplicate["status"] == "SUCCEEDED"
    assert (
        json.loads(duplicate["output"])["duplicate"]["Error"]
        == "StepFunctions.ExecutionAlreadyExistsException"
    )
    assert [e["name"] for e in sfn.list_executions(stateMachineArn=child)["executions"]] == [expected_name]


def test_standard_executions_put_status_change_events_on_the_default_bus(machines: Machines) -> None:
    """AWS's "Step Functions Execution Status Change" events: RUNNING, then the end status, for Standard executions
    only, to a rule's target (here a queue) through the EventBridge delivery."""
    cloud = machines.cloud
    sfn, events, sqs = machines.sfn, cloud.boto3_client("events"), cloud.boto3_client("sqs")
    passing = machines.create("status-pass", {"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": {"ok": 1}, "End": True}}})
    failing = machines.create(
        "status-fail", {"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "Broken", "Cause": "on purpose"}}}
    )
    waiting = machines.create("status-wait", {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 60, "End": True}}})
    slow = machines.create(
        "status-timeout", {"TimeoutSeconds": 1, "StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 30, "End": True}}}
    )
    express = sfn.create_state_machine(
        name=f"{machines.name}-status-express",
        definition=json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}),
        roleArn=machines.role_arn,
        type="EXPRESS",
    )["stateMachineArn"]
    url = sqs.create_queue(QueueName=f"{machines.name}-status-events")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    rule = f"{machines.name}-status"
    events.put_rule(
        Name=rule,
        EventPattern=json.dumps(
            {
                "source": ["aws.states"],
                "detail-type": ["Step Functions Execution Status Change"],
                "detail": {"stateMachineArn": [passing, failing, waiting, slow, express]},
            }
        ),
    )
    events.put_targets(Rule=rule, Targets=[{"Id": "queue", "Arn": queue_arn}])

    quick = sfn.start_execution(stateMachineArn=express, input="{}")["executionArn"]
    machines.finished(quick)
    ok = sfn.start_execution(stateMachineArn=passing, name="ok", input=json.dumps({"document": {"key": "a"}}))["executionArn"]
    bad = sfn.start_execution(stateMachineArn=failing, name="bad", input="{}")["executionArn"]
    late = sfn.start_execution(stateMachineArn=slow, name="late", input="{}")["executionArn"]
    stopped = sfn.start_execution(stateMachineArn=waiting, name="stopped", input="{}")["executionArn"]
    wait_until(
        lambda: sfn.describe_execution(executionArn=stopped)["status"] == "RUNNING", what="the waiting execution"
    )
    sfn.stop_execution(executionArn=stopped, error="Stop", cause="stopped by the test")

    received: list[dict] = []

    def collect() -> bool:
        for message in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", []):
            received.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        return len(received) >= 8

    wait_until(collect, timeout=60, what="eight status change events")
    by = {(e["detail"]["name"], e["detail"]["status"]): e for e in received}
    assert sorted(by) == sorted(
        [("ok", "RUNNING"), ("ok", "SUCCEEDED"), ("bad", "RUNNING"), ("bad", "FAILED"), ("stopped", "RUNNING"), ("stopped", "ABORTED"), ("late", "RUNNING"), ("late", "TIMED_OUT")]
    ), "Standard executions only (none for the Express one), each status once"
    done = by[("ok", "SUCCEEDED")]
    assert done["source"] == "aws.states" and done["detail-type"] == "Step Functions Execution Status Change"
    assert done["resources"] == [ok] and done["account"] and done["region"] and done["id"] and done["time"]
    detail = done["detail"]
    assert detail["executionArn"] == ok and detail["stateMachineArn"] == passing
    assert json.loads(detail["input"]) == {"document": {"key": "a"}} and json.loads(detail["output"]) == {"ok": 1}
    assert isinstance(detail["startDate"], int) and detail["stopDate"] >= detail["startDate"]
    assert by[("ok", "RUNNING")]["detail"]["stopDate"] is None and by[("ok", "RUNNING")]["detail"]["output"] is None
    failed = by[("bad", "FAILED")]["detail"]
    assert (failed["executionArn"], failed["error"], failed["cause"], failed["output"]) == (bad, "Broken", "on purpose", None)
    assert by[("stopped", "ABORTED")]["detail"]["executionArn"] == stopped
    assert sfn.describe_execution(executionArn=stopped)["status"] == "ABORTED"
    assert by[("late", "TIMED_OUT")]["detail"]["executionArn"] == late and by[("late", "TIMED_OUT")]["detail"]["stopDate"]
