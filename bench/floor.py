"""The floor: our own handler called in-process on the same messages, with no Lambda runtime and no poller.

The function's event source mapping is disabled, the pipeline's inputs are produced as usual so that the real
messages pile up in its queue, and a child process (the function's environment variables, the source folders on
``sys.path``, ``AWS_ENDPOINT_URL`` aimed at the local cloud) receives them 10 at a time, calls the handler with
an SQS event built from them, deletes what succeeded, and reports the time spent inside the handler. The mapping
is enabled again afterwards. What the local cloud adds on top of this floor (runtime, poller, deliveries) is the
ratio the report shows.

Run as ``python -m bench.floor SPEC.json`` by ``measure``; the result is written to the file the spec names
(the handler's own logs go to stdout).
"""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from localcloud.testing import wait_until

ROOT = Path(__file__).resolve().parent.parent
SOURCES = [ROOT / "functions", ROOT / "layers" / "shared" / "python", ROOT / "layers" / "ml" / "python"]


def mapping_uuid(lam: Any, function: str) -> str:
    mappings = lam.list_event_source_mappings()["EventSourceMappings"]
    [mapping] = [m for m in mappings if m["FunctionArn"].endswith(f":function:{function}")]
    return mapping["UUID"]


def set_mapping(lam: Any, uuid: str, enabled: bool) -> None:
    lam.update_event_source_mapping(UUID=uuid, Enabled=enabled)
    wait_until(
        lambda: lam.get_event_source_mapping(UUID=uuid)["State"] == ("Enabled" if enabled else "Disabled"),
        timeout=30,
        what="mapping state",
    )


def _delivered(cloud: Any, uuid: str) -> int:
    return next((row["messages"] for row in cloud.status()["deliveries"] if row.get("uuid") == uuid), 0)


def queue_depth(sqs: Any, queue_url: str) -> int:
    attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["ApproximateNumberOfMessages"])[
        "Attributes"
    ]
    return int(attributes["ApproximateNumberOfMessages"])


def measure(cloud: Any, function: str, queue_url: str, messages: int, produce: Any) -> dict[str, Any]:
    """Disable the function's mapping, ``produce()`` (which must put ``messages`` messages in its queue), call the
    handler in-process on them, enable the mapping again."""
    lam, sqs = cloud.boto3_client("lambda"), cloud.boto3_client("sqs")
    uuid = mapping_uuid(lam, function)
    set_mapping(lam, uuid, False)
    try:
        time.sleep(
            1.5
        )  # a poller's long poll (1 s) in flight when the mapping was disabled may still take a batch
        delivered = _delivered(cloud, uuid)
        before = queue_depth(sqs, queue_url)
        produce()

        def queued() -> bool:  # every message produced is waiting, or was taken by that last poll
            return queue_depth(sqs, queue_url) + _delivered(cloud, uuid) - delivered >= before + messages

        wait_until(queued, timeout=300, what=f"{messages} messages queued")
        config = lam.get_function_configuration(FunctionName=function)
        with tempfile.TemporaryDirectory() as folder:
            spec_path, out_path = Path(folder) / "spec.json", Path(folder) / "result.json"
            queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
                "Attributes"
            ]["QueueArn"]
            spec = {
                "handler": config["Handler"],
                "queue_url": queue_url,
                "queue_arn": queue_arn,
                "messages": queue_depth(sqs, queue_url),
                "function": function,
                "memory": config["MemorySize"],
                "out": str(out_path),
            }
            spec_path.write_text(json.dumps(spec))
            env = {
                **os.environ,
                **config.get("Environment", {}).get("Variables", {}),
                "AWS_ENDPOINT_URL": cloud.endpoint,
                "AWS_ACCESS_KEY_ID": "test",
                "AWS_SECRET_ACCESS_KEY": "test",
                "AWS_DEFAULT_REGION": cloud.region,
                "AWS_REGION": cloud.region,
                "AWS_LAMBDA_FUNCTION_NAME": function,
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(config["MemorySize"]),
                "POWERTOOLS_TRACE_DISABLED": "true",
                "PYTHONPATH": os.pathsep.join(str(p) for p in SOURCES),
            }
            subprocess.run(
                [sys.executable, "-m", "bench.floor", str(spec_path)],
                env=env,
                cwd=ROOT,
                check=True,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                timeout=900,
            )
            return json.loads(out_path.read_text())
    finally:
        set_mapping(lam, uuid, True)


def _child(spec: dict[str, Any]) -> dict[str, Any]:
    import boto3

    module_name, _, attribute = spec["handler"].rpartition(".")
    started = time.perf_counter()
    handler = getattr(importlib.import_module(module_name), attribute)
    import_ms = (time.perf_counter() - started) * 1000
    sqs = boto3.client("sqs")
    context = SimpleNamespace(
        function_name=spec["function"],
        function_version="$LATEST",
        memory_limit_in_mb=spec["memory"],
        invoked_function_arn=f"arn:aws:lambda:{os.environ['AWS_REGION']}:000000000000:function:{spec['function']}",
        aws_request_id="floor",
        log_group_name="floor",
        log_stream_name="floor",
        get_remaining_time_in_millis=lambda: 60_000,
    )
    handler_seconds, done, batches, failed, idle = 0.0, 0, 0, 0, 0
    wall = time.perf_counter()
    while done < spec["messages"] and idle < 5:
        received = sqs.receive_message(
            QueueUrl=spec["queue_url"],
            MaxNumberOfMessages=10,
            WaitTimeSeconds=1,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        if not received:
            idle += 1
            continue
        idle = 0
        event = {
            "Records": [
                {
                    "messageId": m["MessageId"],
                    "receiptHandle": m["ReceiptHandle"],
                    "body": m["Body"],
                    "attributes": m.get("Attributes", {}),
                    "messageAttributes": {},
                    "md5OfBody": m["MD5OfBody"],
                    "eventSource": "aws:sqs",
                    "eventSourceARN": spec["queue_arn"],
                    "awsRegion": os.environ["AWS_REGION"],
                }
                for m in received
            ]
        }
        started = time.perf_counter()
        response = handler(event, context) or {}
        handler_seconds += time.perf_counter() - started
        failures = {f["itemIdentifier"] for f in response.get("batchItemFailures", [])}
        ok = [m for m in received if m["MessageId"] not in failures]
        if ok:
            sqs.delete_message_batch(
                QueueUrl=spec["queue_url"],
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(ok)],
            )
        done += len(received)
        failed += len(failures)
        batches += 1
    return {
        "messages": done,
        "failed": failed,
        "batches": batches,
        "import_ms": round(import_ms, 1),
        "handler_seconds": round(handler_seconds, 3),
        "wall_seconds": round(time.perf_counter() - wall, 3),
        "handler_ms_per_batch": round(handler_seconds * 1000 / max(1, batches), 3),
        "records_per_second_in_handler": round(done / handler_seconds, 1) if handler_seconds else None,
    }


if __name__ == "__main__":
    spec_ = json.loads(Path(sys.argv[1]).read_text())
    Path(spec_["out"]).write_text(json.dumps(_child(spec_)))
