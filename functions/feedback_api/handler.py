"""Lambda entry point of ``POST /feedback`` (API Gateway HTTP API, payload 2.0): labelled predictions for the
retraining loop (``logic`` documents the request, the counting and the status codes).

Terraform handler string: ``feedback_api.handler.handler``.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from sluice import aws
from sluice.observability import count, logger, metrics
from sluice.settings import BaseSettings, env, load_settings, positive_int

from . import logic


@dataclass(frozen=True, kw_only=True)
class FeedbackSettings(BaseSettings):
    jobs_table: str = env("JOBS_TABLE")
    inputs_bucket: str = env("INPUTS_BUCKET")
    feedback_table: str = env("FEEDBACK_TABLE")
    feedback_bucket: str = env("FEEDBACK_BUCKET")
    event_bus: str = env("EVENT_BUS_NAME")
    model_name: str = env("MODEL_NAME", default="digits")
    threshold: int = env("RETRAIN_THRESHOLD", parse=positive_int)


@functools.cache
def ports() -> logic.Ports:
    s = load_settings(FeedbackSettings)
    return logic.Ports(
        s3=aws.client("s3"),
        dynamodb=aws.client("dynamodb"),
        events=aws.client("events"),
        jobs_table=s.jobs_table,
        inputs_bucket=s.inputs_bucket,
        feedback_table=s.feedback_table,
        feedback_bucket=s.feedback_bucket,
        event_bus=s.event_bus,
        model_name=s.model_name,
        threshold=s.threshold,
    )


runtime = ports  # the unit tests' cache reset looks for `runtime`


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    response = logic.route(event, ports())
    code = response.body.get("error", {}).get("code") if response.status >= 400 else None
    count("FeedbackRequests", dimensions={"status": str(response.status)})
    if response.body.get("retraining_requested"):
        count("RetrainingRequested")
    logger.info(
        "%s -> %s",
        event.get("routeKey"),
        response.status,
        extra={"status": response.status, "error_code": code, "job_id": response.body.get("job_id")},
    )
    return {
        "statusCode": response.status,
        "headers": {"Content-Type": "application/json", "Cache-Control": "no-store"},
        "body": json.dumps(response.body),
        "isBase64Encoded": False,
    }
