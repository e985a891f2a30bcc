"""Lambda entry point of pipeline 5's audit function: the alerts table's DynamoDB Stream (INSERT/MODIFY, by the
mapping's filter) -> one audit record per alert in the audit bucket (``logic``).

Partial batch responses (Powertools ``BatchProcessor`` for DynamoDB Streams): a record that fails is reported,
Lambda retries from it; a record that is not an alert can never succeed and is reported every time, so after
bisecting and ``MaximumRetryAttempts`` its on-failure record goes to the destination queue.

Terraform handler string: ``fraud_audit.handler.handler``.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from sluice import aws
from sluice.observability import count, logger, metrics
from sluice.settings import BaseSettings, env, load_settings

from . import logic


@dataclass(frozen=True, kw_only=True)
class AuditSettings(BaseSettings):
    audit_bucket: str = env("AUDIT_BUCKET")
    audit_prefix: str = env("AUDIT_PREFIX", default="audit/")


@functools.cache
def ports() -> logic.Ports:
    settings = load_settings(AuditSettings)
    return logic.Ports(s3=aws.client("s3"), bucket=settings.audit_bucket, prefix=settings.audit_prefix)


processor = BatchProcessor(event_type=EventType.DynamoDBStreams)


def audit(record: DynamoDBRecord) -> dict[str, Any]:
    data = record.dynamodb
    meta = {
        "event_id": record.event_id,
        "event_name": str(record.event_name.name if record.event_name else ""),
        "event_source_arn": record.event_source_arn,
        "sequence_number": data.sequence_number if data else None,
        "approximate_creation_time": str(data.approximate_creation_date_time)
        if data and data.approximate_creation_date_time
        else None,
    }
    document = logic.audit_record(data.new_image if data else None, meta, logic.now())
    key, written = logic.write(ports(), document)
    count("AuditRecordsWritten" if written else "AuditRecordsAlreadyThere")
    return {"key": key, "written": written}


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics(capture_cold_start_metric=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    response = process_partial_response(
        event=event, record_handler=audit, processor=processor, context=context
    )
    logger.info(
        "batch done",
        extra={
            "records": len(event.get("Records") or []),
            "failed": len(response.get("batchItemFailures", [])),
        },
    )
    return response
