"""Lambda entry point of pipeline 5's scorer: a Kinesis batch of transactions -> features, scores, alerts
(``logic`` documents the phases, the calls per batch and the order of effects).

Partial batch responses (Powertools ``BatchProcessor`` for Kinesis, mapping with ``ReportBatchItemFailures``):
a record that can never be scored and every record after it are reported, so Lambda checkpoints before it and
retries from it. When that record is the first of the batch, every record is reported, Powertools fails the
invocation, and with ``BisectBatchOnFunctionError`` Lambda halves the batch until the record is alone; after
``MaximumRetryAttempts`` its on-failure record goes to the destination queue and the shard moves on. A
transient error (DynamoDB throttling past the retries, the bus refusing alerts) fails the whole invocation the
same way.

The init phase imports ONNX Runtime and numpy and loads the model (``sluice_ml.model_store``: from ``/tmp`` or
S3, the pointer re-read at most every ``MODEL_POINTER_TTL_SECONDS``), so warm invocations make no S3 call. With
no model published yet, the rule alone scores (alerts carry ``model: null``) and a warning is logged.

Terraform handler string: ``fraud_scorer.handler.handler``.
"""

from __future__ import annotations

import time

_INIT_STARTED = time.perf_counter()

import numpy  # noqa: E402, F401
import onnxruntime  # noqa: E402, F401

_ML_IMPORTED = time.perf_counter()

import collections  # noqa: E402
import functools  # noqa: E402
import os  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from typing import Any  # noqa: E402

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response  # noqa: E402
from aws_lambda_powertools.utilities.data_classes.kinesis_stream_event import KinesisStreamRecord  # noqa: E402
from aws_lambda_powertools.utilities.typing import LambdaContext  # noqa: E402
from sluice import aws  # noqa: E402
from sluice.observability import MetricUnit, count, logger, metrics  # noqa: E402
from sluice.publish import EventPublisher  # noqa: E402
from sluice.settings import BaseSettings, env, load_settings  # noqa: E402
from sluice_ml.fraud import Rule  # noqa: E402
from sluice_ml.model_store import ModelCache, ModelUnavailable  # noqa: E402

from . import logic  # noqa: E402


def _non_negative(raw: str) -> float:
    value = float(raw)
    if value < 0:
        raise ValueError(f"must be >= 0, got {value}")
    return value


@dataclass(frozen=True, kw_only=True)
class ScorerSettings(BaseSettings):
    features_table: str = env("FEATURES_TABLE")
    alerts_table: str = env("ALERTS_TABLE")
    event_bus: str = env("EVENT_BUS_NAME")
    model_bucket: str = env("MODEL_BUCKET")
    model_name: str = env("MODEL_NAME", default="fraud")
    model_pointer_ttl: float = env("MODEL_POINTER_TTL_SECONDS", default=60.0, parse=_non_negative)
    model_threshold: float = env("MODEL_THRESHOLD", default=0.7, parse=_non_negative)
    rule_amount: float = env("RULE_AMOUNT", default=5000.0, parse=_non_negative)
    rule_distance_miles: float = env("RULE_DISTANCE_MILES", default=1000.0, parse=_non_negative)
    rule_window_seconds: float = env("RULE_WINDOW_SECONDS", default=3600.0, parse=_non_negative)


@dataclass(frozen=True)
class Runtime:
    settings: ScorerSettings
    models: ModelCache
    ports: logic.Ports


@functools.cache
def runtime() -> Runtime:
    """Settings, clients and the model cache: once per execution environment."""
    settings = load_settings(ScorerSettings)
    models = ModelCache(
        aws.client("s3"), settings.model_bucket, settings.model_name, pointer_ttl=settings.model_pointer_ttl
    )
    # The batch's calls are built by `logic` from parsed, contract-checked records: no client-side validation
    # (botocore walking every attribute of 100 items was the largest share of the function's CPU).
    ports = logic.Ports(
        dynamodb=aws.client("dynamodb", validate=False),
        publisher=EventPublisher(aws.client("events", validate=False), settings.event_bus),
        features_table=settings.features_table,
        alerts_table=settings.alerts_table,
        rule=Rule(settings.rule_amount, settings.rule_distance_miles, settings.rule_window_seconds),
        threshold=settings.model_threshold,
    )
    return Runtime(settings, models, ports)


def current_model(rt: Runtime) -> Any | None:
    try:
        return rt.models.get()
    except ModelUnavailable as exc:
        logger.warning("no fraud model: scoring with the rule alone", extra={"reason": str(exc)})
        count("ScoredWithoutModel")
        return None


def _init() -> dict[str, Any]:
    info: dict[str, Any] = {"ml_imports_ms": round((_ML_IMPORTED - _INIT_STARTED) * 1000, 1)}
    try:
        model = runtime().models.get()
        info.update(
            model_version=model.version, model_from=model.loaded_from, model_load_ms=round(model.load_ms, 1)
        )
    except Exception as exc:  # no model yet: the rule scores alone until one is published
        info["model_error"] = str(exc)
    info["init_ms"] = round((time.perf_counter() - _INIT_STARTED) * 1000, 1)
    logger.info("init done", extra={"init": info})
    return info


INIT = _init() if os.environ.get("AWS_LAMBDA_FUNCTION_NAME") else {}
processor = BatchProcessor(event_type=EventType.KinesisDataStreams)


def _report(result: logic.BatchResult, handler_ms: float) -> None:
    count("TransactionsScored", result.scored)
    count("FraudAlerts", len(result.alerts))
    # One EMF document per reason and batch (its value the batch's count), not one per alert: same sums in
    # CloudWatch, a few log events per invocation instead of one per alert.
    reasons = collections.Counter(reason for alert in result.alerts for reason in alert["reasons"])
    for reason, alerts in sorted(reasons.items()):
        count("FraudAlertReasons", alerts, dimensions={"reason": reason})
    if result.duplicates:
        count("TransactionsAlreadyScored", result.duplicates)
    metrics.add_metric(name="BatchScoringLatency", unit=MetricUnit.Milliseconds, value=round(handler_ms, 3))
    errors = result.errors()
    logger.info(
        "batch done",
        extra={
            "batch": {
                "records": len(result.items),
                "scored": result.scored,
                "alerts": len(result.alerts),
                "duplicates": result.duplicates,
                "late": result.late,
                "failed": len(errors),
                "first_failure": next((f"{seq}: {err}" for seq, err in errors.items()), None),
                "model_version": result.model_version,
                "calls": result.calls,
                "timings_ms": {k: round(v, 3) for k, v in result.timings_ms.items()},
                "handler_ms": round(handler_ms, 3),
            }
        },
    )


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics(capture_cold_start_metric=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    started = time.perf_counter()
    rt = runtime()
    result = logic.process_batch(event.get("Records") or [], rt.ports, current_model(rt))
    errors = result.errors()

    def outcome(record: KinesisStreamRecord) -> None:
        error = errors.get(record.kinesis.sequence_number)
        if error is not None:
            raise error

    _report(result, (time.perf_counter() - started) * 1000.0)
    # Raises BatchProcessingError when every record failed: the invocation fails and Lambda bisects the batch.
    return process_partial_response(event=event, record_handler=outcome, processor=processor, context=context)
