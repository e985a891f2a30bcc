"""Lambda entry point of a fan-out consumer (pipeline 2): SQS (this consumer's queue, one of the targets of the
uploads rule) -> the consumer's result on the upload's job; the consumer that completes the job publishes
"Upload Processed" on the domain bus.

Publishing is a side effect no write can make conditional, so it goes through Powertools idempotency
(``sluice.idempotency``) keyed on the job id: a redelivered message, or two consumers finishing at once,
publish one completion (the second waits: ``IdempotencyAlreadyInProgressError`` is transient and retried), and
a record whose work used the invocation's time up to ``sluice.batch``'s reserve is deferred before publishing.

Terraform deploys this package once per consumer (``CONSUMER``). Handler string: ``fanout_consumer.handler.handler``.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from sluice import aws
from sluice.batch import process_sqs_batch, reserve_time
from sluice.errors import failure_subject
from sluice.events import parse_s3_object_created
from sluice.failures import FailureRecorder
from sluice.idempotency import Idempotent, make_idempotent
from sluice.observability import count, logger, metrics, tracer
from sluice.publish import DomainEvent, EventPublisher
from sluice.settings import BaseSettings, env, load_settings, non_empty, positive_int

from . import logic

COMPLETION_KEY_PREFIX = "sluice.fanout.completion"


def _consumer(raw: str) -> str:
    name = non_empty(raw)
    if name not in logic.CONSUMERS:
        raise ValueError(f"must be one of {', '.join(logic.CONSUMERS)}, got {name!r}")
    return name


def _names(raw: str) -> tuple[str, ...]:
    names = tuple(sorted({n.strip() for n in raw.split(",") if n.strip()}))
    if not names:
        raise ValueError("must name at least one consumer")
    return names


@dataclass(frozen=True, kw_only=True)
class ConsumerSettings(BaseSettings):
    consumer: str = env("CONSUMER", parse=_consumer)
    expected_consumers: tuple[str, ...] = env("EXPECTED_CONSUMERS", parse=_names)
    jobs_table: str = env("JOBS_TABLE")
    bus_name: str = env("DOMAIN_BUS_NAME")
    dlq_url: str = env("DLQ_URL")
    output_bucket: str | None = env("OUTPUT_BUCKET", default=None)
    max_object_bytes: int = env("MAX_OBJECT_BYTES", default=logic.DEFAULT_MAX_OBJECT_BYTES, parse=positive_int)


@dataclass(frozen=True)
class Runtime:
    settings: ConsumerSettings
    ports: logic.Ports
    recorder: FailureRecorder
    complete: Idempotent


@functools.cache
def runtime() -> Runtime:
    settings = load_settings(ConsumerSettings)
    if settings.idempotency_table is None:
        raise RuntimeError("fan-out consumers publish completions idempotently: IDEMPOTENCY_TABLE is required")
    dynamodb = aws.client("dynamodb")
    publisher = EventPublisher(aws.client("events"), settings.bus_name)

    def publish_completion(job: dict[str, Any]) -> dict[str, Any]:
        event = DomainEvent.validated(logic.CONTRACT, source=logic.SOURCE, detail_type=logic.COMPLETED, detail=job)
        result = publisher.publish([event])
        if not result.ok:
            failure = result.failed[0]
            raise RuntimeError(f"could not publish the completion of {job['job_id']}: {failure.code}: {failure.message}")
        return {"job_id": job["job_id"], "event_id": result.published[0][1]}

    return Runtime(
        settings=settings,
        ports=logic.Ports(
            s3=aws.client("s3"),
            dynamodb=dynamodb,
            jobs_table=settings.jobs_table,
            output_bucket=settings.output_bucket,
            max_object_bytes=settings.max_object_bytes,
        ),
        recorder=FailureRecorder(
            pipeline=f"fanout-{settings.consumer}",
            dynamodb=dynamodb,
            sqs=aws.client("sqs"),
            table_name=settings.failures_table,
            dlq_url=settings.dlq_url,
        ),
        complete=make_idempotent(
            publish_completion,
            data_keyword_argument="job",
            key_jmespath="job_id",
            # One key for the job whichever consumer completes it: every consumer's function has its own name,
            # and Powertools' default prefix (the function name) would let each of them publish a completion.
            key_prefix=COMPLETION_KEY_PREFIX,
            table_name=settings.idempotency_table,
            dynamodb_client=dynamodb,
            expires_after_seconds=7 * 24 * 3600,
        ),
    )


def handle_record(record: SQSRecord) -> dict[str, Any]:
    rt = runtime()
    settings = rt.settings
    ref = parse_s3_object_created(record.body)
    with (
        logger.append_context_keys(correlation_id=ref.event_id, object_key=ref.key, job_id=logic.job_id(ref)),
        failure_subject(item_id=ref.item_id, source=ref.uri),
    ):
        result = logic.CONSUMERS[settings.consumer](ref, rt.ports)
        job = logic.record_result(rt.ports.dynamodb, settings.jobs_table, ref, settings.consumer, result, rt.ports.clock())
        count("UploadsConsumed")
        completed = None
        if logic.is_complete(job, settings.expected_consumers):
            detail = logic.completion_detail(job, settings.expected_consumers, rt.ports.clock())
            # Not with the invocation nearly out of time: stopped between PutEvents and the idempotency record,
            # the redelivery would announce the job again (the result above is already recorded, idempotently).
            reserve_time(f"the completion of {detail['job_id']}")
            completed = rt.complete.function(job=detail)
            count("UploadsCompleted")
            logger.info("Upload processed by every consumer", extra={"completion": completed})
    return {"job_id": logic.job_id(ref), "result": result, "completed": completed}


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    rt = runtime()
    rt.complete.config.register_lambda_context(context)
    return process_sqs_batch(event, context, handle_record, recorder=rt.recorder, failure_metric="UploadsFailed")
