"""Lambda entry point of pipeline 3's worker: SQS (S3 "Object Created" events for inputs/<job id>) -> a batch of
predictions (``logic`` documents the phases and the error policy).

The init phase (module import, once per execution environment) imports ONNX Runtime, numpy and Pillow, reads
the model pointer and loads the model: from ``/tmp`` when this environment has it, else from S3 into ``/tmp``
(``sluice_ml.model_store``). Warm invocations reuse the session and make no S3 call for the model until
``MODEL_POINTER_TTL_SECONDS`` have passed; then one GET of the pointer shows whether a new version was
promoted. If no model is published yet, init still succeeds and the batches fail transiently (retried) until
one is.

No X-Ray SDK: creating Powertools' Tracer costs ~250 ms of init (measured), a third of the budget; Lambda's
active tracing still records each invocation, and per-image timings go to metrics and the batch log line.

Terraform handler string: ``inference_worker.handler.handler``. Event source mapping:
``FunctionResponseTypes = ["ReportBatchItemFailures"]``.
"""

from __future__ import annotations

import time

_INIT_STARTED = time.perf_counter()

# The ML runtime first, timed on its own: the init log line splits the cost between it, the SDK and the model.
import numpy  # noqa: E402, F401
import onnxruntime  # noqa: E402, F401
import PIL.Image  # noqa: E402, F401

_ML_IMPORTED = time.perf_counter()

import functools  # noqa: E402
import os  # noqa: E402
from concurrent.futures import ThreadPoolExecutor  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from typing import Any  # noqa: E402

from aws_lambda_powertools.utilities.typing import LambdaContext  # noqa: E402
from sluice import aws  # noqa: E402
from sluice.batch import process_sqs_batch  # noqa: E402
from sluice.failures import FailureRecorder  # noqa: E402
from sluice.observability import MetricUnit, count, logger, metrics  # noqa: E402
from sluice.settings import BaseSettings, env, load_settings, positive_int  # noqa: E402
from sluice_ml.model_store import ModelCache  # noqa: E402

from . import logic  # noqa: E402

PIPELINE = "inference"
# The batch's per-image requests in flight together (logic.process_batch). 10: the event source mapping's batch
# size, and botocore's connection pool per client (max_pool_connections), so no request waits for a connection.
# Threads start on the first batch and are reused by every warm invocation; no X-Ray SDK here (see above), so no
# trace context to carry into them.
IO_THREADS = 10
_io = ThreadPoolExecutor(max_workers=IO_THREADS, thread_name_prefix="image-io")


def _seconds(raw: str) -> float:
    value = float(raw)
    if value < 0:
        raise ValueError(f"must be >= 0, got {value}")
    return value


@dataclass(frozen=True, kw_only=True)
class WorkerSettings(BaseSettings):
    jobs_table: str = env("JOBS_TABLE")
    model_bucket: str = env("MODEL_BUCKET")
    model_name: str = env("MODEL_NAME", default="digits")
    model_pointer_ttl: float = env("MODEL_POINTER_TTL_SECONDS", default=60.0, parse=_seconds)
    event_bus: str = env("EVENT_BUS_NAME")
    dlq_url: str = env("DLQ_URL")
    max_image_bytes: int = env("MAX_IMAGE_BYTES", default=logic.DEFAULT_MAX_IMAGE_BYTES, parse=positive_int)
    max_pixels: int = env("MAX_IMAGE_PIXELS", default=logic.preprocess.DEFAULT_MAX_PIXELS, parse=positive_int)
    max_receive_count: int = env("MAX_RECEIVE_COUNT", default=3, parse=positive_int)


@dataclass(frozen=True)
class Runtime:
    settings: WorkerSettings
    models: ModelCache


@functools.cache
def runtime() -> Runtime:
    """Settings and the model cache: once per execution environment (at init on Lambda)."""
    settings = load_settings(WorkerSettings)
    models = ModelCache(aws.client("s3"), settings.model_bucket, settings.model_name, pointer_ttl=settings.model_pointer_ttl)
    return Runtime(settings, models)


@functools.cache
def ports() -> tuple[logic.Ports, FailureRecorder]:
    """The other clients, on the first invocation (DynamoDB, EventBridge and SQS are not needed to load a model)."""
    settings = runtime().settings
    dynamodb, sqs = aws.client("dynamodb"), aws.client("sqs")
    return (
        logic.Ports(
            s3=aws.client("s3"),
            dynamodb=dynamodb,
            events=aws.client("events"),
            jobs_table=settings.jobs_table,
            event_bus=settings.event_bus,
            max_image_bytes=settings.max_image_bytes,
            max_pixels=settings.max_pixels,
            max_receive_count=settings.max_receive_count,
        ),
        FailureRecorder(pipeline=PIPELINE, dynamodb=dynamodb, sqs=sqs, table_name=settings.failures_table, dlq_url=settings.dlq_url),
    )


def _init() -> dict[str, Any]:
    """Load the model now, in the init phase; log where the time went."""
    imported = time.perf_counter()
    info: dict[str, Any] = {
        "ml_imports_ms": round((_ML_IMPORTED - _INIT_STARTED) * 1000, 1),  # numpy, onnxruntime, Pillow
        "other_imports_ms": round((imported - _ML_IMPORTED) * 1000, 1),  # boto3, Powertools, sluice
    }
    try:
        models = runtime().models
        ready = time.perf_counter()
        info["s3_client_ms"] = round((ready - imported) * 1000, 1)
        model = models.get()
        info.update(model_version=model.version, model_from=model.loaded_from, model_load_ms=round((time.perf_counter() - ready) * 1000, 1))
    except Exception as exc:  # no model yet (or S3 unreachable): batches retry until there is one
        info["model_error"] = str(exc)
    info["init_ms"] = round((time.perf_counter() - _INIT_STARTED) * 1000, 1)
    logger.info("init done", extra={"init": info})
    return info


# On Lambda the init phase loads the model; tests build the runtime themselves.
INIT = _init() if os.environ.get("AWS_LAMBDA_FUNCTION_NAME") else {}


def _report(result: logic.BatchResult, handler_ms: float) -> None:
    outcomes: dict[str, int] = {}
    for item in result.items:
        key = item.outcome or ("error" if item.error is not None else "none")
        outcomes[key] = outcomes.get(key, 0) + 1
        if item.outcome == "failed" and item.rejection is not None:
            count("PredictionsFailed", dimensions={"error_code": item.rejection.code})
    count("PredictionsSucceeded", outcomes.get("succeeded", 0))
    inferred = [item for item in result.items if item.label is not None]
    for item in inferred:
        metrics.add_metric(name="ImageLatency", unit=MetricUnit.Milliseconds, value=round(item.compute_ms, 3))
    if result.inferred:
        metrics.add_metric(name="BatchInferenceLatency", unit=MetricUnit.Milliseconds, value=round(result.inference_ms, 3))
    logger.info(
        "batch done",
        extra={
            "batch": {
                "records": len(result.items),
                "inferred": result.inferred,
                "outcomes": outcomes,
                "model_version": result.model_version,
                "inference_ms": round(result.inference_ms, 3),
                "compute_ms": [round(item.compute_ms, 3) for item in inferred],
                "fetch_ms": [round(item.fetch_ms, 3) for item in result.items if item.fetch_ms],
                "handler_ms": round(handler_ms, 3),
            }
        },
    )


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics(capture_cold_start_metric=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    started = time.perf_counter()
    rt = runtime()
    worker_ports, recorder = ports()
    result = logic.process_batch(event.get("Records") or [], worker_ports, rt.models, _io.map)
    items = result.by_message_id()

    def outcome(record: Any) -> dict[str, Any]:
        item = items[record.message_id]
        if item.error is not None:
            raise item.error
        return item.summary()

    response = process_sqs_batch(
        event,
        context,
        outcome,
        recorder=recorder,
        failure_metric="PredictionMessagesFailed",
        dead_letter_metric="PredictionMessagesDeadLettered",
        received_metric="PredictionMessagesReceived",
        trace_records=False,
    )
    _report(result, (time.perf_counter() - started) * 1000.0)
    return response
