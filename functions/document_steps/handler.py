"""Lambda entry points of pipeline 4's steps: one package, one function per step (Terraform handler strings
``document_steps.handler.<step>``), so each step has its own role, timeout, memory, logs and alarms.

Each handler is thin: read settings and clients once per container, call the step's logic, return the state.
A ``PermanentError`` (bad input) leaves as ``DocumentRejected`` with a JSON message {code, reason, stage}: the
state machine lists that name in a Retry with MaxAttempts 0 and catches it into the failure path. Anything else
is transient and retried by the state machine (1 s, 3 attempts, backoff 2).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from sluice import aws
from sluice.errors import PermanentError
from sluice.observability import count, logger, metrics, tracer
from sluice.settings import BaseSettings, env, load_settings, positive_int

from . import logic


class DocumentRejected(Exception):
    """The document can never succeed (the error name the state machine keys on)."""


@dataclass(frozen=True, kw_only=True)
class DocumentSettings(BaseSettings):
    output_bucket: str = env("OUTPUT_BUCKET")
    results_table: str | None = env("RESULTS_TABLE", default=None)
    max_bytes: int = env("MAX_DOCUMENT_BYTES", default=logic.DEFAULT_MAX_BYTES, parse=positive_int)
    max_pages: int = env("MAX_DOCUMENT_PAGES", default=logic.DEFAULT_MAX_PAGES, parse=positive_int)


@functools.cache
def settings() -> DocumentSettings:
    return load_settings(DocumentSettings)


def limits() -> logic.Limits:
    return logic.Limits(max_bytes=settings().max_bytes, max_pages=settings().max_pages)


def _execution(event: dict[str, Any]) -> str | None:
    return (event.get("execution") or {}).get("name") if isinstance(event.get("execution"), dict) else None


def step(
    name: str,
) -> Callable[[Callable[[dict[str, Any]], dict[str, Any]]], Callable[[dict[str, Any], LambdaContext], Any]]:
    """Observability and the error contract around one step's logic."""

    def decorate(
        run: Callable[[dict[str, Any]], dict[str, Any]],
    ) -> Callable[[dict[str, Any], LambdaContext], Any]:
        @logger.inject_lambda_context(clear_state=True)
        @tracer.capture_lambda_handler
        @metrics.log_metrics
        @functools.wraps(run)
        def handler(event: dict[str, Any], context: LambdaContext) -> Any:
            doc = event.get("document") if isinstance(event.get("document"), dict) else {}
            logger.append_keys(step=name, object_key=doc.get("key"), execution=_execution(event))
            try:
                return run(event)
            except PermanentError as exc:
                count("DocumentsRejected", dimensions={"code": exc.code})
                logger.warning(
                    "Document rejected", extra={"code": exc.code, "reason": exc.reason, "stage": exc.stage}
                )
                raise DocumentRejected(
                    json.dumps({"code": exc.code, "reason": exc.reason, "stage": exc.stage})
                ) from exc

        return handler

    return decorate


@dataclass(frozen=True, kw_only=True)
class StartSettings(BaseSettings):
    state_machine_arn: str = env("DOCUMENTS_STATE_MACHINE_ARN")


@functools.cache
def start_settings() -> StartSettings:
    return load_settings(StartSettings)


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def start(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """The trigger (EventBridge rule target, invoked asynchronously): start the document workflow once per
    document version. A duplicate event is a success that starts nothing; other errors are retried by Lambda's
    asynchronous invocation, then dead-lettered (the function's DLQ)."""
    doc = event.get("document") if isinstance(event.get("document"), dict) else {}
    logger.append_keys(step="start", object_key=doc.get("key"))
    outcome = logic.start_workflow(event, aws.client("stepfunctions"), start_settings().state_machine_arn)
    count("DocumentsStarted" if outcome["started"] else "DocumentsAlreadyStarted")
    logger.info("Document workflow started" if outcome["started"] else "Duplicate event: already started",
                extra={"execution": outcome["execution_name"]})
    return outcome


@step("extract")
def extract(event: dict[str, Any]) -> dict[str, Any]:
    return logic.extract(event, aws.client("s3"), settings().output_bucket, limits())


@step("sentiment")
def sentiment(event: dict[str, Any]) -> dict[str, Any]:
    return logic.sentiment_of(logic.read_text(event, aws.client("s3")))


@step("summarize")
def summarize(event: dict[str, Any]) -> dict[str, Any]:
    return logic.summary_of(logic.read_text(event, aws.client("s3")))


@step("store")
def store(event: dict[str, Any]) -> dict[str, Any]:
    if not settings().results_table:
        raise RuntimeError("RESULTS_TABLE is not set for the store step")
    stored = logic.store(
        event,
        aws.client("s3"),
        aws.client("dynamodb"),
        output_bucket=settings().output_bucket,
        results_table=settings().results_table,
        execution=_execution(event),
    )
    count("DocumentsProcessed", dimensions={"sentiment": stored["result"]["sentiment"]})
    return stored


@step("record_failure")
def record_failure(event: dict[str, Any]) -> dict[str, Any]:
    recorded = logic.record_failure(
        event, aws.client("dynamodb"), failures_table=settings().failures_table, execution=_execution(event)
    )
    count("DocumentsFailed", dimensions={"code": recorded["failure"]["error_code"]})
    return recorded


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def execution_ended(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Target of the rule on Step Functions' "Execution Status Change" events of the document workflow (TIMED_OUT,
    ABORTED, FAILED; invoked asynchronously): a failures-table item for the document, unless its Catch path (or
    an earlier delivery of the same event) wrote one. Errors are retried by Lambda, then dead-lettered."""
    detail = event.get("detail") if isinstance(event.get("detail"), dict) else {}
    logger.append_keys(step="execution_ended", execution=detail.get("name"), status=detail.get("status"))
    outcome = logic.record_execution_end(event, aws.client("dynamodb"), failures_table=load_settings(BaseSettings).failures_table)
    if outcome["recorded"]:
        count("DocumentsFailed", dimensions={"code": outcome["error_code"]})
        logger.warning("Document execution ended without succeeding", extra=outcome)
    else:
        logger.info("Document execution end already recorded", extra=outcome)
    return outcome
