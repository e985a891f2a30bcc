"""Step Functions on the local cloud: an EXPRESS machine run as a nested workflow from a STANDARD one with
``arn:aws:states:::states:startExecution.sync:2`` (pipeline 4's analysis): the parent waits for the child, gets its
output as JSON (``Output``), and a failed child fails the parent's task with ``States.TaskFailed`` whose cause is
the child's DescribeExecution (its error and cause inside), which Retry and Catch see like any task error."""

from __future__ import annotations

import json
import time

import pytest

from localcloud.testing import wait_until
from tests.e2e.localcloud.test_stepfunctions import STEP, Machines, task  # noqa: F401 (STEP: the same function)

pytestmark = pytest.mark.xdist_group("localcloud-stepfunctions")

SYNC2 = "arn:aws:states:::states:startExecution.sync:2"


@pytest.fixture(scope="module")
def machines(cloud, role_arn) -> Machines:
    return Machines(cloud, role_arn, "sfn-nested")


def express(machines: Machines, suffix: str, definition: dict) -> str:
    arn = machines.sfn.create_state_machine(
        name=f"{machines.name}-{suffix}",
        definition=json.dumps(definition),
        roleArn=machines.role_arn,
        type="EXPRESS",
    )["stateMachineArn"]
    assert machines.sfn.describe_state_machine(stateMachineArn=arn)["type"] == "EXPRESS"
    return arn


def child_definition(fn: str) -> dict:
    return {
        "StartAt": "Both",
        "States": {
            "Both": {
                "Type": "Parallel",
                "Branches": [
                    {"StartAt": "A", "States": {"A": task(fn, {"op": "double", "value.$": "$.value"}, End=True)}},
                    {"StartAt": "B", "States": {"B": task(fn, {"op.$": "$.op", "value.$": "$.value"}, End=True)}},
                ],
                "ResultPath": "$.analysis",
                "End": True,
            }
        },
    }


def parent_definition(child_arn: str) -> dict:
    return {
        "StartAt": "Nested",
        "States": {
            "Nested": {
                "Type": "Task",
                "Resource": SYNC2,
                "Parameters": {"StateMachineArn": child_arn, "Input.$": "$"},
                "OutputPath": "$.Output",
                "Retry": [{"ErrorEquals": ["States.TaskFailed"], "MaxAttempts": 0}],
                "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Caught"}],
                "End": True,
            },
            "Caught": {"Type": "Pass", "End": True},
        },
    }


def test_sync2_runs_an_express_child_and_returns_its_output(machines: Machines) -> None:
    child = express(machines, "child", child_definition(machines.function_arn))
    parent = machines.create("parent", parent_definition(child))
    started = time.monotonic()
    run = machines.sfn.start_execution(
        stateMachineArn=parent, name="ok-1", input=json.dumps({"op": "echo", "value": 3})
    )
    done = machines.finished(run["executionArn"])
    assert done["status"] == "SUCCEEDED", done
    # The child's output (JSON, not a string: .sync:2) is the parent's: the input plus the Parallel's results.
    assert json.loads(done["output"]) == {
        "op": "echo",
        "value": 3,
        "analysis": [{"value": 6}, {"op": "echo", "value": 3}],
    }
    # The parent's history shows one Task state for the whole nested workflow (one Standard transition).
    events = machines.history(run["executionArn"])
    entered = [e["stateEnteredEventDetails"]["name"] for e in events if e["type"].endswith("StateEntered")]
    assert entered == ["Nested"]
    scheduled = [e for e in events if e["type"] == "TaskScheduled"]
    assert scheduled[0]["taskScheduledEventDetails"]["resource"] == "startExecution.sync:2"
    succeeded = next(e for e in events if e["type"] == "TaskSucceeded")
    child_arn = json.loads(succeeded["taskSucceededEventDetails"]["output"])["ExecutionArn"]
    assert child_arn.split(":")[6] == f"{machines.name}-child"
    assert machines.sfn.describe_execution(executionArn=child_arn)["status"] == "SUCCEEDED"
    # The parent notices the child's end promptly (the wait is not a coarse poll).
    assert time.monotonic() - started < 5


def test_a_failed_child_fails_the_task_with_its_error_inside_the_cause(machines: Machines) -> None:
    child = express(machines, "child-fails", child_definition(machines.function_arn))
    parent = machines.create("parent-catches", parent_definition(child))
    run = machines.sfn.start_execution(
        stateMachineArn=parent, name="reject-1", input=json.dumps({"op": "reject", "value": 3})
    )
    done = machines.finished(run["executionArn"])
    assert done["status"] == "SUCCEEDED", done
    error = json.loads(done["output"])["error"]
    assert error["Error"] == "States.TaskFailed"
    child = json.loads(error["Cause"])
    assert child["Status"] == "FAILED" and child["Error"] == "PermanentInputError"
    assert "cannot use 3" in child["Cause"]
    # Not retried: one child execution, one TaskFailed.
    events = machines.history(run["executionArn"])
    assert sum(e["type"] == "TaskFailed" for e in events) == 1
    assert sum(e["type"] == "TaskScheduled" for e in events) == 1


def test_the_parent_moves_on_as_soon_as_the_child_ends(machines: Machines) -> None:
    """moto asked DescribeExecution every 0.5 s (0.25 s late on average); the local cloud watches the child."""
    child = express(machines, "child-quick", {"StartAt": "Done", "States": {"Done": {"Type": "Pass", "End": True}}})
    parent = machines.create("parent-quick", parent_definition(child))
    gaps = []
    for i in range(4):
        run = machines.sfn.start_execution(stateMachineArn=parent, name=f"quick-{i}", input="{}")
        assert machines.finished(run["executionArn"])["status"] == "SUCCEEDED"
        events = machines.history(run["executionArn"])
        succeeded = next(e for e in events if e["type"] == "TaskSucceeded")
        child_arn = json.loads(succeeded["taskSucceededEventDetails"]["output"])["ExecutionArn"]
        stopped = machines.sfn.describe_execution(executionArn=child_arn)["stopDate"]
        gaps.append((succeeded["timestamp"] - stopped).total_seconds())
    assert sum(gaps) / len(gaps) < 0.2, gaps


def test_stopping_the_parent_ends_its_wait_for_a_running_child(machines: Machines) -> None:
    """The waiting task is woken by its own child's end or by a stop: a stopped parent does not wait out a child
    that runs for minutes."""
    child = express(
        machines, "child-long", {"StartAt": "Hold", "States": {"Hold": {"Type": "Wait", "Seconds": 600, "End": True}}}
    )
    parent = machines.create("parent-stopped", parent_definition(child))
    arn = machines.sfn.start_execution(stateMachineArn=parent, name="stopped-1", input="{}")["executionArn"]
    wait_until(
        lambda: any(e["type"] == "TaskSubmitted" for e in machines.history(arn)),
        timeout=30,
        what="the nested execution started",
    )
    machines.sfn.stop_execution(executionArn=arn, error="Stopped", cause="by the test")
    assert machines.finished(arn, timeout=60)["status"] == "ABORTED"


def test_starting_a_missing_machine_fails_the_task_with_the_api_error(machines: Machines) -> None:
    """The workflow's own Step Functions calls run in-process; their errors still reach it as AWS names them."""
    missing = machines.function_arn.replace(":lambda:", ":states:").split(":function:")[0] + ":stateMachine:absent"
    parent = machines.create("parent-missing", parent_definition(missing))
    run = machines.sfn.start_execution(stateMachineArn=parent, name="missing-1", input="{}")
    done = machines.finished(run["executionArn"])
    assert done["status"] == "SUCCEEDED", done  # caught
    error = json.loads(done["output"])["error"]
    assert error["Error"] == "StepFunctions.StateMachineDoesNotExistException", error
