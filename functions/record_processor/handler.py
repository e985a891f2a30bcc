"""Lambda entry point of a per-type processor (pipeline 2): SQS (its route queue, fed by the rule for its
``data_type``) -> the type's summary in the routed-records table, once per record.

The event is checked at the edge (``logic.parse_routed``): the envelope, that its data_type is this
processor's (``DATA_TYPE``), and the type's contract. Terraform deploys this package once per route.

Terraform handler string: ``record_processor.handler.handler``.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from sluice import aws
from sluice.batch import process_sqs_batch
from sluice.errors import PermanentError
from sluice.failures import FailureRecorder
from sluice.observability import count, logger, metrics, tracer
from sluice.settings import BaseSettings, env, load_settings

from . import logic


@dataclass(frozen=True, kw_only=True)
class ProcessorSettings(BaseSettings):
    data_type: str = env("DATA_TYPE")
    results_table: str = env("RESULTS_TABLE")
    dlq_url: str = env("DLQ_URL")


@dataclass(frozen=True)
class Runtime:
    settings: ProcessorSettings
    ports: logic.Ports
    recorder: FailureRecorder


@functools.cache
def runtime() -> Runtime:
    settings = load_settings(ProcessorSettings)
    dynamodb = aws.client("dynamodb")
    return Runtime(
        settings=settings,
        ports=logic.Ports(
            dynamodb=dynamodb,
            results_table=settings.results_table,
            processed_by=os.environ.get("AWS_LAMBDA_FUNCTION_NAME", settings.service_name),
        ),
        recorder=FailureRecorder(
            pipeline=f"routing-{settings.data_type}",
            dynamodb=dynamodb,
            sqs=aws.client("sqs"),
            table_name=settings.failures_table,
            dlq_url=settings.dlq_url,
        ),
    )


def handle_record(record: SQSRecord) -> dict[str, Any]:
    rt = runtime()
    try:
        routed = logic.parse_routed(record.body, rt.settings.data_type)
        with logger.append_context_keys(record_id=routed.record_id, correlation_id=routed.event_id):
            result = logic.process(routed, rt.ports)
    except PermanentError as err:
        if err.item_id is None:  # the failure record is keyed on the record when it has an id
            err.item_id = logic.record_id_of(record.body)
        raise
    count("RecordsProcessed" if result["status"] == logic.STATUS_PROCESSED else "RecordsDuplicate")
    logger.info("Record %s", result["status"], extra={"summary": result["summary"]})
    return result


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return process_sqs_batch(event, context, handle_record, recorder=runtime().recorder, failure_metric="RecordsFailed")
