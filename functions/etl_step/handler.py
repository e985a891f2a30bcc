"""Lambda entry point of the generic ETL machine's steps: ``{"step": "extract" | "transform" | "load", ...}``.
Terraform handler string: ``etl_step.handler.handler``. Bad input leaves as ``InvalidInput`` (never retried by
the machine), anything else is transient."""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from sluice import aws
from sluice.errors import InvalidEvent, PermanentError
from sluice.observability import logger, tracer
from sluice.settings import BaseSettings, env, load_settings

from . import logic


class InvalidInput(Exception):
    """The input can never succeed (the error name the state machine keys on)."""


@dataclass(frozen=True, kw_only=True)
class EtlSettings(BaseSettings):
    output_bucket: str = env("OUTPUT_BUCKET")


@functools.cache
def settings() -> EtlSettings:
    return load_settings(EtlSettings)


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    step = event.get("step")
    state = event.get("state") or {}
    try:
        if step == "extract":
            return logic.extract(state, aws.client("s3"))
        if step == "transform":
            return logic.transform(state)
        if step == "load":
            return logic.load(
                state,
                aws.client("s3"),
                settings().output_bucket,
                str(event.get("run_id") or context.aws_request_id),
            )
        raise InvalidEvent(f"unknown step {step!r}", stage="dispatch")
    except PermanentError as exc:
        raise InvalidInput(json.dumps({"code": exc.code, "reason": exc.reason, "stage": exc.stage})) from exc
