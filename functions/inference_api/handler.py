"""Lambda entry point of pipeline 3's HTTP API (API Gateway HTTP API, AWS_PROXY integration, payload 2.0):
``POST /predictions`` and ``GET /predictions/{id}`` (``logic`` documents both and their status codes).

No X-Ray SDK (``sluice.observability.tracer`` is never touched): it would add ~250 ms to every cold start of a
function whose latency a client waits on; Lambda's active tracing still records each invocation.

Terraform handler string: ``inference_api.handler.handler``.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from typing import Any

import boto3
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.config import Config
from sluice import aws
from sluice.observability import count, logger, metrics
from sluice.settings import BaseSettings, env, load_settings, positive_int

from . import logic


@dataclass(frozen=True, kw_only=True)
class ApiSettings(BaseSettings):
    jobs_table: str = env("JOBS_TABLE")
    inputs_bucket: str = env("INPUTS_BUCKET")
    max_inline_bytes: int = env("MAX_INLINE_BYTES", default=logic.DEFAULT_MAX_INLINE_BYTES, parse=positive_int)
    max_image_bytes: int = env("MAX_IMAGE_BYTES", default=logic.DEFAULT_MAX_IMAGE_BYTES, parse=positive_int)
    upload_expires_seconds: int = env("UPLOAD_URL_EXPIRES_SECONDS", default=logic.DEFAULT_UPLOAD_EXPIRES_SECONDS, parse=positive_int)
    job_ttl_seconds: int = env("JOB_TTL_SECONDS", default=logic.DEFAULT_JOB_TTL_SECONDS, parse=positive_int)


@functools.cache
def ports() -> logic.Ports:
    """Settings and clients, built on the first invocation and reused by the warm environment."""
    settings = load_settings(ApiSettings)
    # Upload URLs must be SigV4: S3 refuses other signatures for objects encrypted with SSE-KMS, and botocore
    # presigns S3 URLs with SigV2 unless told otherwise.
    s3 = boto3.session.Session().client("s3", config=aws.CONFIG.merge(Config(signature_version="s3v4")))
    return logic.Ports(
        s3=s3,
        dynamodb=aws.client("dynamodb"),
        jobs_table=settings.jobs_table,
        inputs_bucket=settings.inputs_bucket,
        max_inline_bytes=settings.max_inline_bytes,
        max_image_bytes=settings.max_image_bytes,
        upload_expires_seconds=settings.upload_expires_seconds,
        job_ttl_seconds=settings.job_ttl_seconds,
    )


def to_http(response: logic.Response) -> dict[str, Any]:
    """The payload 2.0 response API Gateway turns into the HTTP response."""
    return {
        "statusCode": response.status,
        "headers": {"Content-Type": "application/json", "Cache-Control": "no-store", **response.headers},
        "body": json.dumps(response.body),
        "isBase64Encoded": False,
    }


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request_id = (event.get("requestContext") or {}).get("requestId")
    with logger.append_context_keys(route=event.get("routeKey"), api_request_id=request_id):
        response = logic.route(event, ports())
        code = response.body.get("error", {}).get("code") if response.status >= 400 else None
        count("ApiRequests", dimensions={"route": str(event.get("routeKey")), "status": str(response.status)})
        if response.status == 202:
            count("PredictionsAccepted")
        logger.info("%s -> %s", event.get("routeKey"), response.status, extra={"status": response.status, "error_code": code, "job_id": response.body.get("job_id")})
        return to_http(response)

