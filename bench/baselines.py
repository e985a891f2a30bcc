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
    cloud: Any,
    name: str,
    module: str,
    env: dict[str, str],
    memory: int,
    layers: Sequence[str] = (),
    *,
    handler: str = "handler",
    code: bytes | None = None,
) -> str:
    lam = cloud.boto3_client("lambda")
    arn = lam.create_function(
        FunctionName=name,
        Runtime=f"python{sys.version_info.major}.{sys.version_info.minor}",
        Role=_role(cloud),
        Handler=f"{module}.{handler}",
        Code={"ZipFile": code if code is not None else _zip(module)},
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
    """Invocations, mean duration, mean billed duration and mean CPU time of a function's invocations since ``since`` (its
    ``snapshot`` row when the measured phase began), and its configured memory: what the cost model needs."""
    now = cloud.status()["functions"].get(function, {})
    since = since or {}
    invocations = now.get("invocations", 0) - since.get("invocations", 0)
    total = now.get("duration_total_ms", 0) - since.get("duration_total_ms", 0)
    billed = now.get("billed_total_ms", 0) - since.get("billed_total_ms", 0)
    cpu = now.get("cpu_total_ms", 0) - since.get("cpu_total_ms", 0)
    cpu_invocations = now.get("cpu_invocations", 0) - since.get("cpu_invocations", 0)
    memory = cloud.boto3_client("lambda").get_function_configuration(FunctionName=function)["MemorySize"]
    return {
        "invocations": invocations,
        "mean_duration_ms": round(total / invocations, 3) if invocations else None,
        "mean_billed_ms": round(billed / invocations, 3) if invocations else None,
        # CPU time of the worker process within them: what Lambda's CPU share at this memory stretches (cost.py).
        "mean_cpu_ms": round(cpu / cpu_invocations, 3) if cpu_invocations else None,
        "memory_mb": memory,
    }


def figures_since(cloud: Any, since: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """``lambda_figures`` of every function of a ``snapshot``, since it was taken."""
    return {fn: lambda_figures(cloud, fn, row) for fn, row in since.items()}


def _measure(
    cloud: Any, functions: Sequence[str], table: str, total: int, produce: Callable[[], None]
) -> dict[str, Any]:
    since = snapshot(cloud, functions)
    started = time.perf_counter()
    produce()
    _wait_items(cloud, table, total, f"{total} naive results in {table}")
    elapsed = time.perf_counter() - started
    return {"seconds": round(elapsed, 2), "lambda": figures_since(cloud, since)}


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
    cloud: Any,
    images: Sequence[bytes],
    model_onnx: bytes,
    layers: Sequence[str],
    memory_mb: int,
    api_memory_mb: int,
    *,
    producers: int = 8,
) -> dict[str, Any]:
    """Seed 004, "Async Image Classifier": an HTTP API whose function saves each posted image to S3 and answers
    its result by ID (`naive/inference_api_handler.py`), and an S3 notification -> one invocation per image that
    downloads the model and builds its session every call (`naive/inference_handler.py`).

    Measured as ours is: ``producers`` clients POST the images through the API, then every result is polled
    through it until it is there (`sluicectl.inference.wait_ended`, the same policy), so both sides' figures
    include their front door, which the cost model charges both. Then, for reference, the worker alone: the same
    images uploaded straight to its bucket (``worker_only``)."""
    from concurrent.futures import ThreadPoolExecutor

    from sluicectl import inference as client

    suffix = uuid.uuid4().hex[:6]
    s3 = cloud.boto3_client("s3")
    images_bucket, models, table, name, api_name = (
        f"naive-images-{suffix}",
        f"naive-models-{suffix}",
        f"naive-predictions-{suffix}",
        f"naive-inference-{suffix}",
        f"naive-inference-api-{suffix}",
    )
    s3.create_bucket(Bucket=models)
    s3.put_object(Bucket=models, Key="model.onnx", Body=model_onnx)
    _table(cloud, table, "pk")
    env = {"MODEL_BUCKET": models, "MODEL_KEY": "model.onnx", "RESULTS_TABLE": table}
    arn = _function(cloud, name, "inference_handler", env, memory_mb, layers=layers)
    _bucket_to_lambda(cloud, images_bucket, arn)
    api_arn = _function(
        cloud, api_name, "inference_api_handler", {"IMAGES_BUCKET": images_bucket, "RESULTS_TABLE": table}, api_memory_mb
    )
    url = _http_api(cloud, api_name, api_arn, ["POST /images", "GET /results/{image_id}"])

    def submit(data: bytes) -> str:
        reply = client.http("POST", f"{url}/images", data, {"Content-Type": "image/png"})
        if reply.status != 202:
            raise RuntimeError(f"naive API POST /images: {reply.status} {reply.body}")
        return f"{url}/results/{reply.body['image_id']}"

    def through_api(batch: Sequence[bytes]) -> None:
        with ThreadPoolExecutor(producers) as pool:
            result_urls = list(pool.map(submit, batch))
        client.wait_ended(result_urls, timeout=300)

    def upload(prefix: str, batch: Sequence[bytes]) -> None:
        with ThreadPoolExecutor(producers) as pool:
            list(
                pool.map(
                    lambda item: s3.put_object(Bucket=images_bucket, Key=f"{prefix}/{item[0]:05d}", Body=item[1]),
                    enumerate(batch),
                )
            )

    through_api(images[:4])  # warm-up: both functions
    since = snapshot(cloud, [name, api_name])
    started = time.perf_counter()
    through_api(images)
    seconds = time.perf_counter() - started
    measured = {"seconds": round(seconds, 2), "lambda": figures_since(cloud, since)}
    worker_only = _measure(cloud, [name], table, 4 + 2 * len(images), lambda: upload("direct", images))
    return {
        "images": len(images),
        **measured,
        "images_per_s": round(len(images) / seconds, 1),
        "function": name,
        "api_function": api_name,
        "worker_only": {
            **worker_only,
            "images_per_s": round(len(images) / worker_only["seconds"], 1),
            "note": "the same images uploaded straight to the worker's bucket (no API, no result polling)",
        },
    }


def _http_api(cloud: Any, name: str, function_arn: str, routes: Sequence[str]) -> str:
    """An HTTP API whose routes all go to one function (AWS_PROXY, payload 2.0), on its $default stage; its URL."""
    api = cloud.boto3_client("apigatewayv2")
    api_id = api.create_api(Name=name, ProtocolType="HTTP")["ApiId"]
    integration = api.create_integration(
        ApiId=api_id, IntegrationType="AWS_PROXY", IntegrationUri=function_arn, PayloadFormatVersion="2.0"
    )["IntegrationId"]
    for route in routes:
        api.create_route(ApiId=api_id, RouteKey=route, Target=f"integrations/{integration}")
    api.create_stage(ApiId=api_id, StageName="$default", AutoDeploy=True)
    cloud.boto3_client("lambda").add_permission(
        FunctionName=function_arn,
        StatementId="apigateway",
        Action="lambda:InvokeFunction",
        Principal="apigateway.amazonaws.com",
    )
    return f"{cloud.api_endpoint()}/{api_id}"


def _vendored_zip(artifact_zip: Path, module: str, drop: str) -> bytes:
    """The naive module plus the third-party libraries of one of our function zips (everything but our own
    package ``drop``): the same library versions on both sides."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(artifact_zip) as source, zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as out:
        for info in source.infolist():
            if not info.filename.startswith(f"{drop}/"):
                out.writestr(info, source.read(info))
        out.writestr(f"{module}.py", (NAIVE / f"{module}.py").read_text())
    return buffer.getvalue()


NAIVE_DOCUMENT_STEPS = ("validate", "extract", "sentiment", "summarize", "store", "notify")


def document_definition(functions: dict[str, str]) -> dict[str, Any]:
    """Seed 001 pattern 3's state machine: one LambdaInvoke task per step (``OutputPath: $.Payload``, as the
    seed's CDK tasks generate), in sequence, each with the seed's retry (1 s, 3 attempts, backoff 2) and a catch
    into one Fail state."""
    states: dict[str, Any] = {}
    for index, step in enumerate(NAIVE_DOCUMENT_STEPS):
        name = step.capitalize()
        state: dict[str, Any] = {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {"FunctionName": functions[step], "Payload.$": "$"},
            "OutputPath": "$.Payload",
            "Retry": [
                {"ErrorEquals": ["States.ALL"], "IntervalSeconds": 1, "MaxAttempts": 3, "BackoffRate": 2}
            ],
            "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "ProcessingFailed"}],
        }
        if index + 1 < len(NAIVE_DOCUMENT_STEPS):
            state["Next"] = NAIVE_DOCUMENT_STEPS[index + 1].capitalize()
        else:
            state["End"] = True
        states[name] = state
    states["ProcessingFailed"] = {"Type": "Fail", "Cause": "Data Processing Failed", "Error": "DataPipelineError"}
    return {"Comment": "Naive document pipeline (seed 001 pattern 3)", "StartAt": "Validate", "States": states}


def _executions(sfn: Any, machine: str, status: str) -> list[dict[str, Any]]:
    found, kwargs = [], {"stateMachineArn": machine, "statusFilter": status, "maxResults": 1000}
    while True:
        page = sfn.list_executions(**kwargs)
        found += page["executions"]
        if not page.get("nextToken"):
            return found
        kwargs["nextToken"] = page["nextToken"]


def _wait_executions(sfn: Any, machine: str, expected: int, what: str, timeout: float = 900) -> None:
    def done() -> bool:
        failed = _executions(sfn, machine, "FAILED")
        if failed:
            described = sfn.describe_execution(executionArn=failed[0]["executionArn"])
            raise RuntimeError(f"{what}: {len(failed)} failed, e.g. {described.get('error')}: {described.get('cause')}")
        return len(_executions(sfn, machine, "SUCCEEDED")) >= expected

    wait_until(done, timeout=timeout, initial=0.2, maximum=1.0, what=what)


class NaiveDocuments:
    """S3 notification -> a trigger function per object -> StartExecution of a Standard workflow with one
    function per step (seed 001 pattern 3; seed 004's steps), clients and NLP models created in every call, the
    text carried in the state. Deployed once; ``burst`` times one wave of documents, so the bench can alternate
    waves of ours and of this one on the same cloud."""

    def __init__(self, cloud: Any, artifact_zip: Path, memory_mb: dict[str, int]) -> None:
        self.cloud = cloud
        suffix = uuid.uuid4().hex[:6]
        s3, sns = cloud.boto3_client("s3"), cloud.boto3_client("sns")
        self.sfn = cloud.boto3_client("stepfunctions")
        self.landing, output = f"naive-docs-{suffix}-landing", f"naive-docs-{suffix}-output"
        self.table = f"naive-docs-{suffix}"
        s3.create_bucket(Bucket=output)
        _table(cloud, self.table, "pk")
        topic = sns.create_topic(Name=f"naive-docs-{suffix}")["TopicArn"]
        code = _vendored_zip(artifact_zip, "document_handlers", drop="document_steps")
        env = {"OUTPUT_BUCKET": output, "RESULTS_TABLE": self.table, "TOPIC_ARN": topic}
        self.names = {step: f"naive-doc-{step}-{suffix}" for step in ("trigger", *NAIVE_DOCUMENT_STEPS)}
        arns = {
            step: _function(
                cloud, self.names[step], "document_handlers", env, memory_mb.get(step, 128), handler=step, code=code
            )
            for step in NAIVE_DOCUMENT_STEPS
        }
        self.machine = self.sfn.create_state_machine(
            name=f"naive-docs-{suffix}",
            definition=json.dumps(document_definition(arns)),
            roleArn=_role(cloud),
            type="STANDARD",
        )["stateMachineArn"]
        trigger = _function(
            cloud,
            self.names["trigger"],
            "document_handlers",
            {"STATE_MACHINE_ARN": self.machine},
            memory_mb.get("trigger", 128),
            handler="trigger",
            code=code,
        )
        _bucket_to_lambda(cloud, self.landing, trigger)
        self.finished = 0  # executions that have ended so far

    @property
    def functions(self) -> list[str]:
        return list(self.names.values())

    def _upload(self, docs: list[Any]) -> str:
        from sluicectl import documents as client

        run = client.Run.new("documents/")
        renamed = [client.Document(f"{run.prefix}{d.key}", d.body, d.kind, d.expected) for d in docs]
        client.upload(self.cloud.boto3_client, self.landing, run, renamed)
        return run.prefix

    def burst(self, docs: list[Any], what: str = "naive document workflows") -> dict[str, Any]:
        """Uploads `docs` at once and waits for their executions: seconds from the first upload to the last
        execution's end as Step Functions recorded it (stopDate; the waiting loop's polling cadence is not part of
        the pipeline), and the documents' prefix."""
        started, started_wall = time.perf_counter(), time.time()
        prefix = self._upload(docs)
        self.finished += len(docs)
        _wait_executions(self.sfn, self.machine, self.finished, f"{len(docs)} {what}")
        observed = time.perf_counter() - started
        stops = [e.get("stopDate") for e in _executions(self.sfn, self.machine, "SUCCEEDED")]
        seconds = max(s.timestamp() for s in stops) - started_wall if stops and all(stops) else observed
        return {"seconds": seconds, "observed_seconds": observed, "prefix": prefix}

    def one_at_a_time(self, docs: Sequence[Any]) -> None:
        """One document at a time, each waited for: the Lambda time per document without the run's own
        invocations competing for the two cores (on AWS each invocation has its own CPU share), the figure the
        cost model uses."""
        for doc in docs:
            self.burst([doc], "naive document workflow")

    def results(self, prefix: str) -> tuple[int, int]:
        """(results, sentiment right) of the documents under `prefix`."""
        rows = [
            item
            for item in self.cloud.boto3_client("dynamodb").scan(TableName=self.table)["Items"]
            if item["pk"]["S"].startswith(prefix)
        ]
        return len(rows), sum(f"-{item['sentiment']['S']}." in item["pk"]["S"] for item in rows)

    def transitions(self) -> float:
        histories = [
            self.sfn.get_execution_history(executionArn=e["executionArn"], maxResults=1000)["events"]
            for e in _executions(self.sfn, self.machine, "SUCCEEDED")[:5]
        ]
        return transitions(histories)


def transitions(histories: Sequence[list[dict[str, Any]]]) -> float:
    """Mean state transitions per execution (states entered, Parallel branches' states included), what a
    Standard workflow is billed for."""
    if not histories:
        return 0.0
    counts = [sum(1 for e in h if e["type"].endswith("StateEntered")) for h in histories]
    return sum(counts) / len(counts)


def stream(
    cloud: Any,
    model_onnx: bytes,
    layers: Sequence[str],
    memory_mb: int,
    shards: int,
    records: int,
    *,
    users: int,
    seed: int,
    threshold: float,
) -> dict[str, Any]:
    """Kinesis (as many shards as ours) -> the naive scorer with BatchSize 1: one invocation per transaction,
    clients, model download and ONNX Runtime session in every call, per-record GetItem/PutItem of the user's
    state, one PutEvents per alert (seed 001's stream processor, seed 004's rule). The same producer as ours; the
    records are put first and the mapping drains them (as ours' backlog phase), timed until the mapping has
    done them all."""
    from sluicectl import stream as client

    suffix = uuid.uuid4().hex[:6]
    s3, kinesis, lam = cloud.boto3_client("s3"), cloud.boto3_client("kinesis"), cloud.boto3_client("lambda")
    events = cloud.boto3_client("events")
    models, name, bus = f"naive-fraud-models-{suffix}", f"naive-fraud-{suffix}", f"naive-fraud-{suffix}"
    state_table, alerts_table = f"naive-fraud-state-{suffix}", f"naive-fraud-alerts-{suffix}"
    stream_name = f"naive-transactions-{suffix}"
    s3.create_bucket(Bucket=models)
    s3.put_object(Bucket=models, Key="model.onnx", Body=model_onnx)
    _table(cloud, state_table, "user_id")
    _table(cloud, alerts_table, "pk")
    events.create_event_bus(Name=bus)
    kinesis.create_stream(StreamName=stream_name, ShardCount=shards)
    wait_until(
        lambda: kinesis.describe_stream_summary(StreamName=stream_name)["StreamDescriptionSummary"][
            "StreamStatus"
        ]
        == "ACTIVE",
        timeout=60,
        what=stream_name,
    )
    stream_arn = kinesis.describe_stream_summary(StreamName=stream_name)["StreamDescriptionSummary"]["StreamARN"]
    env = {
        "MODEL_BUCKET": models,
        "MODEL_KEY": "model.onnx",
        "STATE_TABLE": state_table,
        "ALERTS_TABLE": alerts_table,
        "BUS_NAME": bus,
        "THRESHOLD": str(threshold),
    }
    _function(cloud, name, "stream_handler", env, memory_mb, layers=layers)
    mapping = lam.create_event_source_mapping(
        FunctionName=name, EventSourceArn=stream_arn, BatchSize=1, StartingPosition="TRIM_HORIZON"
    )["UUID"]
    warm = client.generate(2 * shards, users=shards, seed=seed + 1)
    before = client.mapping_row(cloud, mapping)
    client.produce(kinesis, stream_name, warm.samples)
    client.wait_done(cloud, mapping, int(before.get("records_done", 0)) + len(warm.samples), timeout=300)

    lam.update_event_source_mapping(UUID=mapping, Enabled=False)
    wait_until(lambda: client.mapping_row(cloud, mapping).get("enabled") is False, timeout=30, what="disabled")
    run = client.generate(records, users=users, seed=seed)
    before = client.mapping_row(cloud, mapping)
    client.produce(kinesis, stream_name, run.samples)
    since = snapshot(cloud, [name])
    started = time.perf_counter()
    lam.update_event_source_mapping(UUID=mapping, Enabled=True)
    row = client.wait_done(cloud, mapping, int(before.get("records_done", 0)) + records, timeout=900)
    elapsed = time.perf_counter() - started
    figures = lambda_figures(cloud, name, since[name])
    scored = sum(
        int(s.get("txn_count", 0)) for s in client.user_states(cloud.boto3_client("dynamodb"), state_table, run.users).values()
    )
    return {
        "records": records,
        "seconds": round(elapsed, 2),
        "records_per_second": round(records / elapsed, 1),
        "scored": scored,
        "on_failure": int(row.get("on_failure", 0)) - int(before.get("on_failure", 0)),
        "alerts": count_items(cloud.boto3_client("dynamodb"), alerts_table),
        "lambda": {name: figures},
        "function": name,
        "batch_size": 1,
        "shards": shards,
    }
