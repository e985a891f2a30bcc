"""Naive baselines deployed on the same local cloud as the pipeline they are compared with.

Each baseline is a handler under ``bench/naive/`` in the seed articles' style (one invocation per record, no
batching, clients and models created per call), zipped here and created through boto3 with its own buckets,
tables, bus, rules and queues, named ``naive-<pipeline>-<suffix>``: nothing of the production Terraform is touched.
The same inputs go through them (same producers, same samples) and completion is read from the baseline's own
results table, so the throughput and the Lambda durations (for the cost model) come from the same run as ours.
"""

from __future__ import annotations

import io
import json
import sys
import time
import uuid
import zipfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from localcloud.testing import wait_until

NAIVE = Path(__file__).resolve().parent / "naive"


# ----------------------------------------------------------------------------------------------- plumbing


def _zip(module: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(f"{module}.py", (NAIVE / f"{module}.py").read_text())
    return buffer.getvalue()


def _role(cloud: Any) -> str:
    iam = cloud.boto3_client("iam")
    try:
        return iam.get_role(RoleName="naive-bench")["Role"]["Arn"]
    except iam.exceptions.NoSuchEntityException:
        return iam.create_role(RoleName="naive-bench", AssumeRolePolicyDocument="{}")["Role"]["Arn"]


def _function(
    cloud: Any, name: str, module: str, env: dict[str, str], memory: int, layers: Sequence[str] = ()
) -> str:
    lam = cloud.boto3_client("lambda")
    arn = lam.create_function(
        FunctionName=name,
        Runtime=f"python{sys.version_info.major}.{sys.version_info.minor}",
        Role=_role(cloud),
        Handler=f"{module}.handler",
        Code={"ZipFile": _zip(module)},
        Timeout=60,
        MemorySize=memory,
        Environment={"Variables": env},
        Layers=list(layers),
    )["FunctionArn"]
    wait_until(
        lambda: lam.get_function_configuration(FunctionName=name).get("State") in (None, "Active"),
        timeout=60,
        what=name,
    )
    return arn


def _table(cloud: Any, name: str, key: str) -> str:
    ddb = cloud.boto3_client("dynamodb")
    ddb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": key, "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": key, "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    return name


def _bucket_to_lambda(cloud: Any, bucket: str, function_arn: str) -> None:
    s3, lam = cloud.boto3_client("s3"), cloud.boto3_client("lambda")
    s3.create_bucket(Bucket=bucket)
    lam.add_permission(
        FunctionName=function_arn,
        StatementId=f"s3-{bucket}",
        Action="lambda:InvokeFunction",
        Principal="s3.amazonaws.com",
        SourceArn=f"arn:aws:s3:::{bucket}",
    )
    s3.put_bucket_notification_configuration(
        Bucket=bucket,
        NotificationConfiguration={
            "LambdaFunctionConfigurations": [
                {"LambdaFunctionArn": function_arn, "Events": ["s3:ObjectCreated:*"]}
            ]
        },
    )


def count_items(dynamodb: Any, table: str) -> int:
    total, kwargs = 0, {"TableName": table, "Select": "COUNT"}
    while True:
        page = dynamodb.scan(**kwargs)
        total += page["Count"]
        if "LastEvaluatedKey" not in page:
            return total
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _wait_items(cloud: Any, table: str, expected: int, what: str, timeout: float = 900) -> None:
    ddb = cloud.boto3_client("dynamodb")
    wait_until(
        lambda: count_items(ddb, table) >= expected, timeout=timeout, initial=0.2, maximum=0.5, what=what
    )


def snapshot(cloud: Any, functions: Sequence[str]) -> dict[str, dict[str, Any]]:
    """Each function's cumulative stats in the local cloud (invocations, total and billed milliseconds)."""
    stats = cloud.status()["functions"]
    return {fn: stats.get(fn, {}) for fn in functions}


def lambda_figures(cloud: Any, function: str, since: dict[str, Any] | None = None) -> dict[str, Any]:
    """Invocations, mean duration and mean billed duration of a function's invocations since ``since`` (its
    ``snapshot`` row when the measured phase began), and its configured memory: what the cost model needs."""
    now = cloud.status()["functions"].get(function, {})
    since = since or {}
    invocations = now.get("invocations", 0) - since.get("invocations", 0)
    total = now.get("duration_total_ms", 0) - since.get("duration_total_ms", 0)
    billed = now.get("billed_total_ms", 0) - since.get("billed_total_ms", 0)
    memory = cloud.boto3_client("lambda").get_function_configuration(FunctionName=function)["MemorySize"]
    return {
        "invocations": invocations,
        "mean_duration_ms": round(total / invocations, 3) if invocations else None,
        "mean_billed_ms": round(billed / invocations, 3) if invocations else None,
        "memory_mb": memory,
    }


def _measure(
    cloud: Any, functions: Sequence[str], table: str, total: int, produce: Callable[[], None]
) -> dict[str, Any]:
    since = snapshot(cloud, functions)
    started = time.perf_counter()
    produce()
    _wait_items(cloud, table, total, f"{total} naive results in {table}")
    elapsed = time.perf_counter() - started
    figures = {fn: lambda_figures(cloud, fn, since[fn]) for fn in functions}
    return {"seconds": round(elapsed, 2), "lambda": figures}


# ----------------------------------------------------------------------------------------------- pipelines


def ingest(cloud: Any, objects: int, memory_mb: int) -> dict[str, Any]:
    """S3 notification -> one invocation per object (seed 001 pattern 1); the same sample orders as ours."""
    from sluicectl import ingest as client

    suffix = uuid.uuid4().hex[:6]
    landing, output, table, name = (
        f"naive-ingest-{suffix}-landing",
        f"naive-ingest-{suffix}-output",
        f"naive-ingest-{suffix}",
        f"naive-ingest-{suffix}",
    )
    cloud.boto3_client("s3").create_bucket(Bucket=output)
    _table(cloud, table, "pk")
    arn = _function(
        cloud, name, "ingest_handler", {"OUTPUT_BUCKET": output, "RESULTS_TABLE": table}, memory_mb
    )
    _bucket_to_lambda(cloud, landing, arn)
    s3 = cloud.boto3_client("s3")
    warm = client.Run.new(8, 0.0, seed=3)
    client.upload(s3, landing, warm.samples, workers=8)
    _wait_items(cloud, table, len(warm.samples), "naive ingest warm-up")
    run = client.Run.new(objects, 0.0, seed=5)
    measured = _measure(
        cloud,
        [name],
        table,
        len(warm.samples) + objects,
        lambda: client.upload(s3, landing, run.samples, workers=8),
    )
    return {
        "objects": objects,
        **measured,
        "objects_per_second": round(objects / measured["seconds"], 1),
        "function": name,
    }


def routing(cloud: Any, records: int, memory_mb: int) -> dict[str, Any]:
    """Bus rule -> router invoked once per record (client per call, one PutEvents per record) -> a rule per type
    -> a queue per type -> processor with BatchSize 1 (seed 001 pattern 2). Same producer and records as ours."""
    from sluicectl import routing as client

    suffix = uuid.uuid4().hex[:6]
    events, lam, sqs = cloud.boto3_client("events"), cloud.boto3_client("lambda"), cloud.boto3_client("sqs")
    bus, table = f"naive-routing-{suffix}", _table(cloud, f"naive-routing-{suffix}", "record_id")
    router, processor = f"naive-router-{suffix}", f"naive-processor-{suffix}"
    events.create_event_bus(Name=bus)
    router_arn = _function(cloud, router, "router_handler", {"BUS_NAME": bus}, memory_mb)
    _function(cloud, processor, "processor_handler", {"RESULTS_TABLE": table}, memory_mb)
    rule_arn = events.put_rule(
        Name=f"{bus}-submitted",
        EventBusName=bus,
        EventPattern=json.dumps({"detail-type": [client.SUBMITTED]}),
    )["RuleArn"]
    lam.add_permission(
        FunctionName=router,
        StatementId="events",
        Action="lambda:InvokeFunction",
        Principal="events.amazonaws.com",
        SourceArn=rule_arn,
    )
    events.put_targets(
        Rule=f"{bus}-submitted", EventBusName=bus, Targets=[{"Id": "router", "Arn": router_arn}]
    )
    for data_type in client.TYPES:
        queue_url = sqs.create_queue(QueueName=f"{bus}-{data_type}")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        pattern = {"source": ["naive.router"], "detail": {"data_type": [data_type]}}
        events.put_rule(Name=f"{bus}-{data_type}", EventBusName=bus, EventPattern=json.dumps(pattern))
        events.put_targets(
            Rule=f"{bus}-{data_type}", EventBusName=bus, Targets=[{"Id": "queue", "Arn": queue_arn}]
        )
        lam.create_event_source_mapping(FunctionName=processor, EventSourceArn=queue_arn, BatchSize=1)
    warm = client.RecordRun.new(12, 0.0, seed=11)
    client.submit_events(events, bus, warm.samples)
    _wait_items(cloud, table, len(warm.samples), "naive routing warm-up", timeout=300)
    run = client.RecordRun.new(records, 0.0, seed=13)
    calls: list[int] = []
    measured = _measure(
        cloud,
        [router, processor],
        table,
        len(warm.samples) + records,
        lambda: calls.append(client.submit_events(events, bus, run.samples, workers=4)),
    )
    return {
        "records": records,
        **measured,
        "routed_events_per_second": round(records / measured["seconds"], 1),
        "router_put_events_calls": measured["lambda"][router]["invocations"],
        "functions": {"router": router, "processor": processor},
    }


def inference(
    cloud: Any, images: Sequence[bytes], model_onnx: bytes, layers: Sequence[str], memory_mb: int
) -> dict[str, Any]:
    """S3 notification -> one invocation per image that downloads the model and builds its session every call
    (seed 004, "Async Image Classifier"). Images are uploaded straight to its bucket, 8 producers."""
    from concurrent.futures import ThreadPoolExecutor

    suffix = uuid.uuid4().hex[:6]
    s3 = cloud.boto3_client("s3")
    images_bucket, models, table, name = (
        f"naive-images-{suffix}",
        f"naive-models-{suffix}",
        f"naive-predictions-{suffix}",
        f"naive-inference-{suffix}",
    )
    s3.create_bucket(Bucket=models)
    s3.put_object(Bucket=models, Key="model.onnx", Body=model_onnx)
    _table(cloud, table, "pk")
    env = {"MODEL_BUCKET": models, "MODEL_KEY": "model.onnx", "RESULTS_TABLE": table}
    arn = _function(cloud, name, "inference_handler", env, memory_mb, layers=layers)
    _bucket_to_lambda(cloud, images_bucket, arn)

    def upload(prefix: str, batch: Sequence[bytes]) -> None:
        with ThreadPoolExecutor(8) as pool:
            list(
                pool.map(
                    lambda item: s3.put_object(
                        Bucket=images_bucket, Key=f"{prefix}/{item[0]:05d}", Body=item[1]
                    ),
                    enumerate(batch),
                )
            )

    upload("warm", images[:4])
    _wait_items(cloud, table, 4, "naive inference warm-up", timeout=300)
    measured = _measure(cloud, [name], table, 4 + len(images), lambda: upload("run", images))
    return {
        "images": len(images),
        **measured,
        "images_per_s": round(len(images) / measured["seconds"], 1),
        "function": name,
    }
