"""The local cloud's own costs: start time, and what the Lambda runtime adds to an invocation compared with
calling the same handler in-process (the floor)."""

from __future__ import annotations

import importlib.util
import io
import json
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from types import SimpleNamespace

from localcloud.testing import running_cloud

from .common import percentile, show, summary, write

HANDLER = "def handler(event, context):\n    return {'echo': event}\n"
WARM_INVOKES = 300


def _in_process(n: int) -> list[float]:
    folder = Path(tempfile.mkdtemp())
    (folder / "echo_handler.py").write_text(HANDLER)
    spec = importlib.util.spec_from_file_location("echo_handler", folder / "echo_handler.py")
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    context = SimpleNamespace(aws_request_id="x", get_remaining_time_in_millis=lambda: 3000)
    durations = []
    payload = json.dumps({"n": 1})
    for _ in range(n):
        started = time.perf_counter()
        module.handler(json.loads(payload), context)  # the runtime also decodes the event
        durations.append((time.perf_counter() - started) * 1000)
    return durations


def _zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("echo/__init__.py", "")
        archive.writestr("echo/app.py", HANDLER)
    return buffer.getvalue()


def run() -> dict:
    starts = []
    for _ in range(3):
        started = time.perf_counter()
        with running_cloud():
            starts.append(time.perf_counter() - started)
    in_process = _in_process(WARM_INVOKES)
    with running_cloud() as cloud:
        iam, lam = cloud.boto3_client("iam"), cloud.boto3_client("lambda")
        role = iam.create_role(RoleName="bench", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        lam.create_function(
            FunctionName="echo",
            Runtime=f"python{sys.version_info.major}.{sys.version_info.minor}",
            Role=role,
            Handler="echo.app.handler",
            Code={"ZipFile": _zip()},
        )
        started = time.perf_counter()
        lam.invoke(FunctionName="echo", Payload=b'{"n": 1}')["Payload"].read()
        cold_ms = (time.perf_counter() - started) * 1000
        warm = []
        for _ in range(WARM_INVOKES):
            started = time.perf_counter()
            lam.invoke(FunctionName="echo", Payload=b'{"n": 1}')["Payload"].read()
            warm.append((time.perf_counter() - started) * 1000)
        stats = cloud.status()["functions"]["echo"]
    floor = percentile(in_process, 0.5)
    runtime_p50 = stats[
        "duration_p50_ms"
    ]  # dispatch to the worker until its response, inside the local cloud
    result = {
        "start_seconds": summary(starts),
        "in_process_ms": summary(in_process),
        "cold_invoke_ms": round(cold_ms, 3),
        "init_ms": stats["init_mean_ms"],
        "warm_invoke_api_ms": summary(warm),
        "warm_runtime_roundtrip_ms_p50": runtime_p50,
        "warm_overhead_ms": round(percentile(warm, 0.5) - floor, 3),
        "warm_runtime_overhead_ms": round(runtime_p50 - floor, 3),
        "cold_overhead_ms": round(cold_ms - floor, 3),
        "ratio_warm_api_to_in_process": round(percentile(warm, 0.5) / floor, 1),
        "ratio_warm_runtime_to_in_process": round(runtime_p50 / floor, 1),
        "targets": {"warm_overhead_ms": 10},
    }
    show(
        "local Lambda runtime vs in-process handler",
        [
            ("local cloud start (s, p50 of 3)", result["start_seconds"]["p50"], "process start to healthy"),
            ("in-process handler call (ms, p50)", floor, "the floor"),
            ("cold invoke through the API (ms)", result["cold_invoke_ms"], f"init {result['init_ms']} ms"),
            (
                "warm invoke through the API (ms, p50)",
                result["warm_invoke_api_ms"]["p50"],
                "boto3 → server → runtime → back",
            ),
            ("warm runtime round trip (ms, p50)", runtime_p50, "dispatch → worker → response"),
            ("warm overhead vs in-process (ms)", result["warm_overhead_ms"], "target ≤ 10 ms"),
            ("ratio warm API / in-process", result["ratio_warm_api_to_in_process"], "times"),
        ],
    )
    write("runtime", result)
    return result
