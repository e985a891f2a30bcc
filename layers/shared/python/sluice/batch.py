"""SQS batch processing with the sluice error policy, so an SQS-triggered function is a few lines::

    def handle(record: SQSRecord) -> dict: ...      # raise PermanentError for inputs that can never succeed

    def handler(event, context):
        return process_sqs_batch(event, context, handle, recorder=recorder())

Per record (Powertools ``BatchProcessor`` + ``process_partial_response``; the event source mapping must have
``FunctionResponseTypes = ["ReportBatchItemFailures"]``):

* success: nothing to report;
* ``PermanentError``: failure record + the original body sent to the DLQ (``FailureRecorder``), then the record
  counts as handled: it is not a batch item failure and is never retried;
* anything else (transient): reported in ``batchItemFailures``; SQS redelivers it after the visibility timeout
  and the queue's redrive policy dead-letters it after ``maxReceiveCount``.

If recording the permanent failure itself fails (DynamoDB or SQS unavailable), the record is reported as a
batch item failure and the whole policy runs again on redelivery (it is idempotent).

Records run one after another, so a slow batch can reach the function's timeout mid-record: Lambda stops the
environment wherever it is, and a side effect no write can make conditional (an event published, its
idempotency record not yet saved) is done again on redelivery. So a record after the first is started only
while at least ``DEADLINE_RESERVE_SHARE`` of the time the invocation began with is left; the rest are
deferred (batch item failures, ``RecordsDeferred``) and SQS delivers them again after the visibility timeout.
The first record always runs, so every invocation makes progress. Powertools' batch utility has no such
guard (it stops nothing before the timeout), hence this one.

The same holds inside a record: a handler calls ``reserve_time(what)`` right before such a side effect, and a
record whose earlier work used the budget up to the reserve is deferred (``DeadlineNear``) before the side effect
instead of being stopped just after it. That narrows the window, it cannot close it: a side effect still in flight
when Lambda stops the environment may have happened.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from . import observability
from .errors import PermanentError
from .failures import FailureRecorder
from .observability import count, logger

__all__ = [
    "DEADLINE_RESERVE_SHARE",
    "TRANSIENT",
    "DeadlineNear",
    "process_sqs_batch",
    "reserve_time",
    "unidentified_item_id",
]

#: ``error_code`` dimension used for transient failures in the failure metric.
TRANSIENT = "transient"

#: Share of the invocation's starting time budget that must be left to start another record (see above).
DEADLINE_RESERVE_SHARE = 0.25


class DeadlineNear(RuntimeError):
    """Too little time left in the invocation to start this record: deferred to a redelivery (transient)."""


# The running batch's clock: (remaining milliseconds, the budget the invocation began with), or None outside one.
_CLOCK: ContextVar[tuple[Callable[[], int], int] | None] = ContextVar("sluice_batch_clock", default=None)


def _short_of_time() -> tuple[int, int] | None:
    """(ms left, ms budget) when less than the reserve is left in the running batch, else None."""
    clock = _CLOCK.get()
    if clock is None:
        return None
    remaining, budget_ms = clock
    left = remaining()
    return (left, budget_ms) if left < DEADLINE_RESERVE_SHARE * budget_ms else None


def reserve_time(what: str) -> None:
    """Raise ``DeadlineNear`` (transient: the record is redelivered) unless at least ``DEADLINE_RESERVE_SHARE`` of
    the invocation's budget is left for ``what``, a side effect that cannot be made conditional. A no-op outside
    ``process_sqs_batch`` or without a Lambda context."""
    short = _short_of_time()
    if short is not None:
        count("RecordsDeferred")
        raise DeadlineNear(f"{short[0]} ms left of {short[1]}: {what} deferred to a redelivery")


def unidentified_item_id(body: str) -> str:
    """Failure identity of a message whose content could not be identified (e.g. a malformed event)."""
    return "message/sha256:" + hashlib.sha256(body.encode("utf-8", "surrogatepass")).hexdigest()


def _annotate(subsegment: Any, key: str, value: str) -> None:
    # The X-Ray SDK yields None instead of a subsegment when there is no segment to attach to.
    if subsegment is not None:
        subsegment.put_annotation(key, value)


def _receive_count(record: SQSRecord) -> int:
    try:
        return int(record.attributes.approximate_receive_count)
    except (KeyError, TypeError, ValueError):
        return 1


def process_sqs_batch(
    event: dict[str, Any],
    context: Any,
    record_handler: Callable[[SQSRecord], Any],
    *,
    recorder: FailureRecorder,
    failure_metric: str = "RecordsFailed",
    dead_letter_metric: str = "RecordsDeadLettered",
    received_metric: str = "RecordsReceived",
    trace_records: bool = True,
) -> dict[str, Any]:
    """Run ``record_handler`` over the SQS batch ``event``; return the partial batch response.

    ``received_metric`` counts the records of the batch; ``failure_metric`` is counted with an ``error_code``
    dimension (the permanent error's code, or ``transient``); ``dead_letter_metric`` counts messages actually
    sent to the DLQ. ``trace_records`` opens an X-Ray subsegment per record (Powertools Tracer); without it the
    Tracer is never created (see ``sluice.observability``).
    """

    remaining = getattr(context, "get_remaining_time_in_millis", None)
    clock = _CLOCK.set((remaining, remaining()) if callable(remaining) else None)
    started = 0

    def guarded(record: SQSRecord) -> Any:
        nonlocal started
        started += 1
        if started > 1:
            reserve_time(f"record {record.message_id}")
        with (
            logger.append_context_keys(message_id=record.message_id),
            (
                observability.tracer.provider.in_subsegment("## sqs_record")
                if trace_records
                else contextlib.nullcontext()
            ) as subsegment,
        ):
            _annotate(subsegment, "message_id", record.message_id)
            try:
                return record_handler(record)
            except PermanentError as err:
                _annotate(subsegment, "error_code", err.code)
                return _dead_letter(record, err)
            except Exception:
                # Logged with its traceback by BatchProcessor's failure handler; retried by SQS. The subsegment
                # records the exception as it leaves the block.
                count(failure_metric, dimensions={"error_code": TRANSIENT})
                raise

    def _dead_letter(record: SQSRecord, err: PermanentError) -> dict[str, Any]:
        item_id = err.item_id or unidentified_item_id(record.body)
        source = err.source or record.event_source_arn or "unknown"
        outcome = recorder.dead_letter(
            error=err,
            item_id=item_id,
            source=source,
            body=record.body,
            message_id=record.message_id,
            attempts=_receive_count(record),
            message_attributes=record.get("messageAttributes") or {},
        )
        count(failure_metric, dimensions={"error_code": err.code})
        if outcome.already_dead_lettered:
            logger.info(
                "Permanent failure already recorded and dead-lettered; skipping",
                extra={"error_code": err.code, "item_id": item_id},
            )
        else:
            count(dead_letter_metric)
            logger.warning(
                "Permanent failure: recorded and dead-lettered",
                extra={
                    "error_code": err.code,
                    "stage": err.stage,
                    "reason": err.reason,
                    "item_id": item_id,
                    "dlq_message_id": outcome.dlq_message_id,
                },
            )
        return {
            "status": "dead_lettered",
            "error_code": err.code,
            "item_id": item_id,
            "dlq_message_id": outcome.dlq_message_id,
        }

    records = event.get("Records") if isinstance(event, dict) else None
    if isinstance(records, list):
        count(received_metric, len(records))
    processor = BatchProcessor(
        event_type=EventType.SQS,
        raise_on_entire_batch_failure=False,
        logger=logger,
    )
    try:
        return process_partial_response(event=event, record_handler=guarded, processor=processor, context=context)
    finally:
        _CLOCK.reset(clock)
