"""Lambda entry point of the model retrainer: SQS (the retraining queue: ``RetrainingRequested`` events from the
domain bus and the scheduled rule's events) -> ``logic.run`` per message (batch size 1: a run trains a model).

Training runs in ``model_trainer`` (scikit-learn, the train layer), invoked synchronously (``TRAINER_FUNCTION``);
this function decodes the feedback images and evaluates with ONNX Runtime (the ml layer, imported on the first
run). A run's timings (data, training, evaluation) go to its log line and to metrics.

Terraform handler string: ``model_retrainer.handler.handler``. Event source mapping:
``FunctionResponseTypes = ["ReportBatchItemFailures"]``.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from sluice import aws
from sluice.batch import process_sqs_batch
from sluice.errors import InvalidEvent, failure_subject
from sluice.failures import FailureRecorder
from sluice.observability import MetricUnit, count, logger, metrics
from sluice.settings import BaseSettings, env, load_settings, positive_int

from . import logic

PIPELINE = "retraining"


def _flag(raw: str) -> bool:
    return raw.strip().lower() in ("1", "true", "yes")


def _share(raw: str) -> float:
    value = float(raw)
    if not 0 <= value <= 1:
        raise ValueError(f"must be between 0 and 1, got {value}")
    return value


@dataclass(frozen=True, kw_only=True)
class RetrainerSettings(BaseSettings):
    model_bucket: str = env("MODEL_BUCKET")
    model_name: str = env("MODEL_NAME", default="digits")
    feedback_table: str = env("FEEDBACK_TABLE")
    feedback_bucket: str = env("FEEDBACK_BUCKET")
    event_bus: str = env("EVENT_BUS_NAME")
    dlq_url: str = env("DLQ_URL")
    trainer_function: str = env("TRAINER_FUNCTION")
    threshold: int = env("RETRAIN_THRESHOLD", parse=positive_int)
    estimator: str = env("ESTIMATOR", default="svc")
    min_accuracy: float = env("MIN_ACCURACY", default=0.9, parse=_share)
    holdout_every: int = env("FEEDBACK_HOLDOUT_EVERY", default=5, parse=positive_int)
    claim_stale_seconds: int = env("CLAIM_STALE_SECONDS", default=1800, parse=positive_int)
    allow_test_switches: bool = env("ALLOW_TEST_SWITCHES", default=False, parse=_flag)


@dataclass(frozen=True)
class Runtime:
    ports: logic.Ports
    recorder: FailureRecorder
    trainer: Any


@functools.cache
def runtime() -> Runtime:
    s = load_settings(RetrainerSettings)
    dynamodb = aws.client("dynamodb")
    return Runtime(
        ports=logic.Ports(
            s3=aws.client("s3"),
            dynamodb=dynamodb,
            events=aws.client("events"),
            model_bucket=s.model_bucket,
            model_name=s.model_name,
            feedback_table=s.feedback_table,
            feedback_bucket=s.feedback_bucket,
            event_bus=s.event_bus,
            threshold=s.threshold,
            estimator=s.estimator,
            min_accuracy=s.min_accuracy,
            holdout_every=s.holdout_every,
            claim_stale_seconds=s.claim_stale_seconds,
            allow_test_switches=s.allow_test_switches,
        ),
        recorder=FailureRecorder(
            pipeline=PIPELINE,
            dynamodb=dynamodb,
            sqs=aws.client("sqs"),
            table_name=s.failures_table,
            dlq_url=s.dlq_url,
        ),
        trainer=functools.partial(invoke_trainer, _lambda_client(), s.trainer_function),
    )


def _lambda_client() -> Any:
    # Training takes minutes: the SDK's default 60 s read timeout would cut the synchronous invoke short, and a
    # retried invoke would train twice (the run itself is retried by SQS instead).
    import boto3
    from botocore.config import Config

    return boto3.session.Session().client(
        "lambda", config=aws.CONFIG.merge(Config(read_timeout=900, retries={"max_attempts": 1}))
    )


def invoke_trainer(client: Any, function_name: str, payload: dict[str, Any]) -> dict[str, Any]:
    """Run the model trainer synchronously; its errors become this run's error (the claim is given back)."""
    response = client.invoke(
        FunctionName=function_name, InvocationType="RequestResponse", Payload=json.dumps(payload).encode()
    )
    body = json.loads(response["Payload"].read() or b"null")
    if response.get("FunctionError"):
        raise RuntimeError(f"the trainer failed ({response['FunctionError']}): {str(body)[:500]}")
    return body


def _libraries() -> tuple[Any, Any]:
    from sluice_ml import model_store, preprocess

    return model_store, preprocess.features


def handle_record(record: SQSRecord) -> dict[str, Any]:
    try:
        event = json.loads(record.body)
    except ValueError:
        raise InvalidEvent("the message body is not JSON") from None
    request = logic.parse_request(event)
    with failure_subject(
        item_id=f"run/{request.request_id or request.event_id or record.message_id}",
        source=str(event.get("detail-type")),
    ):
        store, featurize = _libraries()
        rt = runtime()
        summary = logic.run(request, rt.ports, trainer=rt.trainer, store=store, featurize=featurize)
    count("RetrainingRuns", dimensions={"status": summary["status"]})
    for name, seconds in summary.get("timings", {}).items():
        metrics.add_metric(
            name=f"Retraining_{name.removesuffix('_s')}", unit=MetricUnit.Seconds, value=seconds
        )
    logger.info("retraining %s", summary["status"], extra={"retraining": summary})
    return summary


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics(capture_cold_start_metric=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return process_sqs_batch(
        event,
        context,
        handle_record,
        recorder=runtime().recorder,
        failure_metric="RetrainingRequestsFailed",
        dead_letter_metric="RetrainingRequestsDeadLettered",
        received_metric="RetrainingRequests",
        trace_records=False,
    )
