"""The local Lambda runtime: built zips in warm execution environments, with AWS's contract."""

from __future__ import annotations

import base64
import json

import pytest
from botocore.exceptions import ClientError

from localcloud.testing import wait_until
from tests.e2e.conftest import make_zip

pytestmark = pytest.mark.e2e

HANDLER = """
import os, sys, time, json, tempfile
import boto3

LOADED_AT = time.time()
S3 = boto3.client("s3")

def handler(event, context):
    action = event.get("action") if isinstance(event, dict) else None
    if action == "fail":
        raise ValueError("asked to fail")
    if action == "sleep":
        time.sleep(event["seconds"])
    if action == "spin":  # burns this much CPU time, however long the host takes to give it
        started = time.process_time()
        while time.process_time() - started < event["seconds"]:
            pass
    if action == "exit":
        os._exit(3)
    if action == "s3":
        S3.create_bucket(Bucket=event["bucket"])
        return {"buckets": [b["Name"] for b in S3.list_buckets()["Buckets"]]}
    if action == "import":
        __import__(event["module"])
        return {"imported": event["module"]}
    print("handled", json.dumps(event))
    return {
        "pid": os.getpid(),
        "loaded_at": LOADED_AT,
        "remaining_ms": context.get_remaining_time_in_millis(),
        "request_id": context.aws_request_id,
        "function_name": context.function_name,
        "env": {k: os.environ.get(k) for k in ("AWS_ENDPOINT_URL", "AWS_LAMBDA_FUNCTION_NAME", "GREETING", "AWS_REGION", "_X_AMZN_TRACE_ID")},
        "tmp": tempfile.gettempdir(),
        "event": event,
    }
"""


def create(cloud, role_arn, name, files, handler="fn.app.handler", **kwargs):
    client = cloud.boto3_client("lambda")
    client.create_function(
        FunctionName=name,
        Runtime="python3.11",
        Role=role_arn,
        Handler=handler,
        Code={"ZipFile": make_zip(files)},
        Timeout=kwargs.pop("Timeout", 5),
        **kwargs,
    )
    return client


def invoke(client, name, payload, **kwargs):
    response = client.invoke(FunctionName=name, Payload=json.dumps(payload).encode(), **kwargs)
    return response, json.loads(response["Payload"].read() or b"null")


@pytest.fixture
def echo(cloud, role_arn, unique):
    client = create(
        cloud, role_arn, unique, {"fn/__init__.py": "", "fn/app.py": HANDLER}, Environment={"Variables": {"GREETING": "hello"}}
    )
    return client, unique


def test_invoke_returns_the_handler_result_with_the_aws_contract(echo, cloud):
    client, name = echo
    response, body = invoke(client, name, {"x": 1})
    assert response["StatusCode"] == 200 and "FunctionError" not in response
    assert body["event"] == {"x": 1}
    assert body["function_name"] == name
    assert 0 < body["remaining_ms"] <= 5000
    assert body["env"]["AWS_ENDPOINT_URL"] == cloud.endpoint
    assert body["env"]["GREETING"] == "hello"
    assert body["env"]["AWS_REGION"] == "us-east-1"
    assert body["env"]["_X_AMZN_TRACE_ID"].startswith("Root=1-")


def test_warm_environment_is_reused_and_cold_start_is_reported(echo, cloud):
    client, name = echo
    _, first = invoke(client, name, {})
    _, second = invoke(client, name, {})
    assert first["pid"] == second["pid"] and first["loaded_at"] == second["loaded_at"]
    assert first["request_id"] != second["request_id"]
    lines = [line["message"] for line in cloud.logs(name)]
    reports = [line for line in lines if line.startswith("REPORT")]
    assert len(reports) == 2
    assert "Init Duration" in reports[0] and "Init Duration" not in reports[1]
    status = cloud.status()["functions"][name]
    assert status["invocations"] == 2 and status["cold_starts"] == 1


def test_each_invocation_s_cpu_time_is_measured_apart_from_its_waiting(echo, cloud):
    """The cost model stretches CPU time, not waiting, to a function's share of a vCPU: the runtime must tell them
    apart. Readings are in 10 ms clock ticks, hence the margins."""
    client, name = echo
    invoke(client, name, {})  # the cold start's init is not an invocation's CPU time

    def measured(action: str) -> tuple[float, int]:
        before = cloud.status()["functions"][name]
        for _ in range(3):
            response, body = invoke(client, name, {"action": action, "seconds": 0.3})
            assert "FunctionError" not in response, body
        after = cloud.status()["functions"][name]
        return after["cpu_total_ms"] - before["cpu_total_ms"], after["cpu_invocations"] - before["cpu_invocations"]

    spun, spun_count = measured("spin")
    slept, slept_count = measured("sleep")
    assert spun_count == slept_count == 3
    assert 3 * 300 - 60 <= spun < 3 * 300 + 300, spun
    assert slept < 150, slept  # 0.9 s asleep: only the runtime client's own work is CPU


def test_function_calls_aws_through_the_local_cloud(echo, cloud, unique):
    client, name = echo
    _, body = invoke(client, name, {"action": "s3", "bucket": f"{unique}-bucket"})
    assert f"{unique}-bucket" in body["buckets"]
    assert f"{unique}-bucket" in [b["Name"] for b in cloud.boto3_client("s3").list_buckets()["Buckets"]]


def test_unhandled_error_is_a_function_error_with_the_log_tail(echo):
    client, name = echo
    response, body = invoke(client, name, {"action": "fail"}, LogType="Tail")
    assert response["FunctionError"] == "Unhandled"
    assert body["errorType"] == "ValueError" and body["errorMessage"] == "asked to fail"
    tail = base64.b64decode(response["LogResult"]).decode()
    assert "ValueError" in tail and "REPORT RequestId" in tail


def test_timeout_kills_the_environment_and_the_next_invoke_is_cold(cloud, role_arn, unique):
    client = create(cloud, role_arn, unique, {"fn/__init__.py": "", "fn/app.py": HANDLER}, Timeout=1)
    _, before = invoke(client, unique, {})
    response, body = invoke(client, unique, {"action": "sleep", "seconds": 3})
    assert response["FunctionError"] == "Unhandled"
    assert "Task timed out after 1.00 seconds" in body["errorMessage"]
    _, after = invoke(client, unique, {})
    assert after["pid"] != before["pid"]


def test_crashing_runtime_is_reported_and_replaced(echo):
    client, name = echo
    _, before = invoke(client, name, {})
    response, body = invoke(client, name, {"action": "exit"})
    assert response["FunctionError"] == "Unhandled" and body["errorType"] == "Runtime.ExitError"
    _, after = invoke(client, name, {})
    assert after["pid"] != before["pid"]


def test_import_error_at_init_is_reported(cloud, role_arn, unique):
    client = create(cloud, role_arn, unique, {"fn/__init__.py": "", "fn/app.py": "import not_a_module\n"})
    response, body = invoke(client, unique, {})
    assert response["FunctionError"] == "Unhandled"
    assert body["errorType"] == "Runtime.ImportModuleError"
    assert "not_a_module" in body["errorMessage"]


def test_function_sees_only_its_zip_its_layers_and_the_runtime(cloud, role_arn, unique):
    """A dependency the developer has installed but the zip lacks fails locally as it would on AWS."""
    client = cloud.boto3_client("lambda")
    layer = client.publish_layer_version(
        LayerName=unique,
        Content={"ZipFile": make_zip({"python/sharedlib.py": "VALUE = 42\n"})},
        CompatibleRuntimes=["python3.11"],
    )
    create(
        cloud,
        role_arn,
        unique,
        {"fn/__init__.py": "", "fn/app.py": HANDLER + "\nimport sharedlib\n"},
        Layers=[layer["LayerVersionArn"]],
    )
    _, ok = invoke(client, unique, {"action": "import", "module": "sharedlib"})
    assert ok == {"imported": "sharedlib"}
    _, boto = invoke(client, unique, {"action": "import", "module": "boto3"})
    assert boto == {"imported": "boto3"}  # the runtime provides the SDK, as AWS's does
    response, missing = invoke(client, unique, {"action": "import", "module": "typer"})  # in the venv, not the zip
    assert response["FunctionError"] == "Unhandled" and missing["errorType"] == "ModuleNotFoundError"


def test_new_code_replaces_warm_environments(echo):
    client, name = echo
    _, before = invoke(client, name, {})
    client.update_function_code(
        FunctionName=name, ZipFile=make_zip({"fn/__init__.py": "", "fn/app.py": "def handler(e, c):\n    return 'v2'\n"})
    )
    _, after = invoke(client, name, {})
    assert after == "v2" and before != "v2"


def test_reserved_concurrency_zero_throttles(echo):
    client, name = echo
    client.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=0)
    with pytest.raises(ClientError) as error:
        invoke(client, name, {})
    assert error.value.response["Error"]["Code"] == "TooManyRequestsException"


def test_async_invoke_retries_twice_then_sends_a_failure_record(cloud, role_arn, unique):
    sqs = cloud.boto3_client("sqs")
    queue_url = sqs.create_queue(QueueName=f"{unique}-failures")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    client = create(cloud, role_arn, unique, {"fn/__init__.py": "", "fn/app.py": HANDLER})
    client.put_function_event_invoke_config(
        FunctionName=unique, MaximumRetryAttempts=2, DestinationConfig={"OnFailure": {"Destination": queue_arn}}
    )
    response = client.invoke(FunctionName=unique, InvocationType="Event", Payload=b'{"action": "fail"}')
    assert response["StatusCode"] == 202
    messages = wait_until(
        lambda: sqs.receive_message(QueueUrl=queue_url, WaitTimeSeconds=1).get("Messages"), timeout=30, what="failure record"
    )
    record = json.loads(messages[0]["Body"])
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 3
    assert record["requestPayload"] == {"action": "fail"}
    assert record["responsePayload"]["errorType"] == "ValueError"
    assert cloud.status()["functions"][unique]["invocations"] == 3


def test_injected_faults_fail_invocations_until_cleared(echo, cloud):
    client, name = echo
    cloud.set_fault(name, error_rate=1.0, remaining=2)
    results = [invoke(client, name, {})[0].get("FunctionError") for _ in range(3)]
    assert results == ["Unhandled", "Unhandled", None]
    cloud.clear_faults(name)


def test_create_function_repeated_identically_answers_as_created(cloud, role_arn, unique):
    """The Terraform provider retries a CreateFunction that timed out; the retry meets the function its first call
    created. Same code and configuration: answered as created. Other code under the same name: 409, as on AWS."""
    lam = cloud.boto3_client("lambda")
    spec = {"FunctionName": unique, "Runtime": "python3.11", "Role": role_arn, "Handler": "fn.app.handler"}
    code = make_zip({"fn/__init__.py": "", "fn/app.py": "def handler(e, c):\n    return 1\n"})
    first = lam.create_function(**spec, Code={"ZipFile": code})
    again = lam.create_function(**spec, Code={"ZipFile": code})
    assert again["FunctionArn"] == first["FunctionArn"] and again["CodeSha256"] == first["CodeSha256"]
    with pytest.raises(ClientError) as raised:
        lam.create_function(**spec, Code={"ZipFile": make_zip({"fn/__init__.py": "", "fn/app.py": "def handler(e, c):\n    return 2\n"})})
    assert raised.value.response["Error"]["Code"] == "ResourceConflictException"


SLOW_INIT = "import time\ntime.sleep(SECONDS)  # past the init phase's 10 s\n\ndef handler(event, context):\n    return {'remaining_ms': context.get_remaining_time_in_millis()}\n"


def test_an_init_past_10_s_goes_on_within_the_invocation_and_its_timeout(cloud, role_arn, unique):
    """AWS: an init that takes over 10 s is retried at the first invocation with the function timeout, not failed.
    With 20 s the invocation succeeds, the init's overrun billed in it (and taken from the handler's time); an init
    that outlasts 10 s + a 1 s timeout times out. A slow host's cold start (an I/O stall) is slow, not an error."""
    client = create(cloud, role_arn, unique, {"fn/__init__.py": "", "fn/app.py": SLOW_INIT.replace("SECONDS", "10.5")}, Timeout=20)
    response, body = invoke(client, unique, {})
    assert "FunctionError" not in response, body
    assert body["remaining_ms"] < 20_000
    messages = [line["message"] for line in cloud.logs(unique, lines=50)]
    assert any("INIT_REPORT" in m and "Status: timeout" in m for m in messages), messages

    short = f"{unique}-short"
    client = create(cloud, role_arn, short, {"fn/__init__.py": "", "fn/app.py": SLOW_INIT.replace("SECONDS", "12.5")}, Timeout=1)
    response, body = invoke(client, short, {})
    assert response["FunctionError"] == "Unhandled" and body["errorType"] == "Sandbox.Timedout", body
