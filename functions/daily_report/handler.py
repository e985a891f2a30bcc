"""Lambda entry point of the daily report: SQS (the scheduled EventBridge rule's events, or a replay put on the
queue by ``sluicectl daily-report --date``) -> ``logic.run`` per event.

Idempotent per day: ``reports/<date>/report.json`` is created with ``If-None-Match: *``, so a redelivered
message or a second firing for the same day writes nothing (``logic`` documents the rest).

Terraform handler string: ``daily_report.handler.handler``. Event source mapping:
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
from sluice.observability import count, logger, metrics
from sluice.settings import BaseSettings, env, load_settings

from . import logic

PIPELINE = "daily-report"


@dataclass(frozen=True, kw_only=True)
class ReportSettings(BaseSettings):
    results_table: str = env("RESULTS_TABLE")
    output_bucket: str = env("OUTPUT_BUCKET")
    dlq_url: str = env("DLQ_URL")


@dataclass(frozen=True)
class Runtime:
    ports: logic.Ports
    recorder: FailureRecorder


@functools.cache
def runtime() -> Runtime:
    settings = load_settings(ReportSettings)
    dynamodb = aws.client("dynamodb")
    return Runtime(
        ports=logic.Ports(
            s3=aws.client("s3"),
            dynamodb=dynamodb,
            results_table=settings.results_table,
            output_bucket=settings.output_bucket,
        ),
        recorder=FailureRecorder(
            pipeline=PIPELINE,
            dynamodb=dynamodb,
            sqs=aws.client("sqs"),
            table_name=settings.failures_table,
            dlq_url=settings.dlq_url,
        ),
    )


def handle_record(record: SQSRecord) -> dict[str, Any]:
    try:
        event = json.loads(record.body)
    except ValueError:
        raise InvalidEvent("the message body is not JSON") from None
    request = logic.parse_request(event)
    with failure_subject(
        item_id=f"report/{request.day.isoformat()}", source=str(event.get("id") or record.message_id)
    ):
        summary = logic.run(request, runtime().ports)
    count("DailyReports", dimensions={"status": summary["status"]})
    logger.info("daily report %s: %s", summary["date"], summary["status"], extra={"report": summary})
    return summary


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics(capture_cold_start_metric=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return process_sqs_batch(
        event,
        context,
        handle_record,
        recorder=runtime().recorder,
        failure_metric="DailyReportsFailed",
        dead_letter_metric="DailyReportsDeadLettered",
        received_metric="DailyReportRequests",
        trace_records=False,
    )
