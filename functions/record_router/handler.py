"""Lambda entry point of the router (pipeline 2): SQS (the router queue: "Record Submitted" events and S3
"Object Created" events of records files) -> typed events on the domain bus, in PutEvents batches.

One invocation routes the records of every message in its batch together, so a batch of 10 single-record
messages is one PutEvents call, and a file of 100 records is 10 (``PUBLISH_BATCH_SIZE``, at most 10):

1. each message is parsed and its records classified (``logic.route_message``) under the sluice batch policy:
   a message that can never succeed (not an event we consume, a file that is gone) is recorded in the failures
   table and dead-lettered once; a transient error makes it a batch item failure;
2. all the events are published with ``sluice.publish.EventPublisher``: entries that fail with a retryable
   code are retried alone with backoff; entries the bus refuses for good are re-routed as "Record Unroutable";
3. a message any of whose events still could not be published is reported as a batch item failure: SQS
   delivers it again (its events are published again: the processors' writes are conditional on record_id, so
   a duplicate writes nothing) and after maxReceiveCount the redrive policy moves it to the DLQ. Nothing is
   dropped.

"Record Unroutable" events go to clients, which no conditional write protects: each is published once per
submission (``logic.unroutable_key``) through ``sluice.idempotency.Once`` on the idempotency table (claim with a
conditional write, publish in the batch, mark done; a failed publish releases the claim). A redelivered message
(a duplicate delivery, a retry after a timeout) skips the announcements made already; one whose announcement
another invocation is making right now is retried.

Terraform handler string: ``record_router.handler.handler``.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from sluice import aws
from sluice.batch import process_sqs_batch
from sluice.failures import FailureRecorder
from sluice.idempotency import Once
from sluice.observability import count, logger, metrics, tracer
from sluice.publish import DomainEvent, EventPublisher, PublishResult
from sluice.settings import BaseSettings, env, load_settings, positive_int

from . import logic

PIPELINE = "routing"
ONCE_PREFIX = "sluice.router.unroutable"


def _routes(raw: str) -> logic.Routes:
    return logic.Routes.parse(raw)


def _batch_size(raw: str) -> int:
    value = positive_int(raw)
    if value > 10:
        raise ValueError(f"must be 1-10 (PutEvents takes 10 entries), got {value}")
    return value


@dataclass(frozen=True, kw_only=True)
class RouterSettings(BaseSettings):
    bus_name: str = env("DOMAIN_BUS_NAME")
    routes: logic.Routes = env("ROUTED_TYPES", parse=_routes)  # noqa: RUF009 - env() returns a dataclasses.field
    dlq_url: str = env("DLQ_URL")
    publish_batch_size: int = env("PUBLISH_BATCH_SIZE", default=10, parse=_batch_size)
    publish_max_attempts: int = env("PUBLISH_MAX_ATTEMPTS", default=4, parse=positive_int)
    max_object_bytes: int = env("MAX_OBJECT_BYTES", default=logic.DEFAULT_MAX_OBJECT_BYTES, parse=positive_int)


@dataclass(frozen=True)
class Runtime:
    settings: RouterSettings
    s3: Any
    publisher: EventPublisher
    recorder: FailureRecorder
    once: Once | None = None  # publish-once guard of unroutable events (None without IDEMPOTENCY_TABLE)


@functools.cache
def runtime() -> Runtime:
    settings = load_settings(RouterSettings)
    once = None
    if settings.idempotency_table:
        once = Once(aws.client("dynamodb"), settings.idempotency_table, prefix=ONCE_PREFIX, claim_seconds=120)
    return Runtime(
        once=once,
        settings=settings,
        s3=aws.client("s3"),
        publisher=EventPublisher(
            aws.client("events"),
            settings.bus_name,
            batch_size=settings.publish_batch_size,
            max_attempts=settings.publish_max_attempts,
        ),
        recorder=FailureRecorder(
            pipeline=PIPELINE,
            dynamodb=aws.client("dynamodb"),
            sqs=aws.client("sqs"),
            table_name=settings.failures_table,
            dlq_url=settings.dlq_url,
        ),
    )


def _record_metrics(results: list[PublishResult]) -> None:
    routed: dict[str, int] = {}
    unroutable: dict[str, int] = {}
    for result in results:
        for event, _ in result.published:
            if event.detail_type == logic.ROUTED:
                routed[event.detail["data_type"]] = routed.get(event.detail["data_type"], 0) + 1
            else:
                unroutable[event.detail["reason_code"]] = unroutable.get(event.detail["reason_code"], 0) + 1
    for data_type, n in sorted(routed.items()):
        count("RecordsRouted", n, dimensions={"data_type": data_type})
    for reason, n in sorted(unroutable.items()):
        count("RecordsUnroutable", n, dimensions={"reason_code": reason})
    count("PutEventsCalls", sum(r.calls for r in results))
    count("PublishRetries", sum(r.retried_entries for r in results))


def guard(events: list[DomainEvent], once: Once | None) -> tuple[list[DomainEvent], set[Any], list[tuple[str, DomainEvent]]]:
    """Claim every unroutable event before it is published. Returns the events to publish (routed ones, and the
    unroutable ones claimed now), the tags of messages whose announcement another invocation is making (to be
    retried), and the claims to settle after publishing."""
    if once is None:
        return events, set(), []
    out: list[DomainEvent] = []
    busy: set[Any] = set()
    claimed: list[tuple[str, DomainEvent]] = []
    for event in events:
        if event.detail_type != logic.UNROUTABLE:
            out.append(event)
            continue
        key = logic.unroutable_key(event)
        answer = once.claim(key)
        if answer == "go":
            out.append(event)
            claimed.append((key, event))
        elif answer == "busy":
            busy.add(event.tag)
        # "done": announced before (this message is a redelivery): nothing to publish
    return out, busy, claimed


def settle(claimed: list[tuple[str, DomainEvent]], results: list[PublishResult], once: Once | None) -> None:
    """Mark the claimed events that were published; release the others so that the retry publishes them."""
    if once is None or not claimed:
        return
    published = {id(event) for result in results for event, _ in result.published}
    for key, event in claimed:
        try:
            if id(event) in published:
                once.done(key)
            else:
                once.release(key)
        except Exception:  # a mark lost leaves the claim to expire; a release lost delays the retry: both logged
            logger.exception("Could not settle the publish-once claim", extra={"record_id": event.detail.get("record_id")})


def publish(events: list[DomainEvent], publisher: EventPublisher, once: Once | None = None) -> tuple[set[Any], list[PublishResult]]:
    """Publish (unroutable events once each, see ``guard``); re-route entries refused for good as unroutable.
    Returns the tags (message ids) with events that are still unpublished, and the results (for metrics)."""
    events, busy, claimed = guard(events, once)
    first = publisher.publish(events)
    results = [first]
    unpublished = first.failed_tags(permanent=False) | busy
    refused = [f for f in first.failed if f.permanent]
    if refused:
        routed_at = logic.utc_now_iso()
        rerouted = []
        for failure in refused:
            logger.warning(
                "EventBridge refused a routed event; routing the record to unroutable",
                extra={"error_code": failure.code, "error": failure.message, "record_id": failure.event.detail.get("record_id")},
            )
            try:
                rerouted.append(logic.rejected(failure.event, failure.code, failure.message, routed_at))
            except Exception:  # the unroutable event itself cannot be built: keep the message for a retry
                logger.exception("Could not build the unroutable event")
                unpublished.add(failure.event.tag)
        rerouted, busy, more = guard(rerouted, once)
        claimed += more
        second = publisher.publish(rerouted)
        results.append(second)
        unpublished |= second.failed_tags() | busy
    settle(claimed, results, once)
    for failure in (f for r in results for f in r.failed if not f.permanent):
        logger.warning(
            "Event not published after retries; the message will be retried",
            extra={"error_code": failure.code, "error": failure.message, "attempts": failure.attempts, "message_id": failure.event.tag},
        )
    return unpublished, results


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    rt = runtime()
    outgoing: list[DomainEvent] = []

    def route(record: SQSRecord) -> dict[str, Any]:
        events = logic.route_message(
            record.body,
            s3=rt.s3,
            routes=rt.settings.routes,
            max_object_bytes=rt.settings.max_object_bytes,
            tag=record.message_id,
        )
        outgoing.extend(events)  # only once the whole message is classified: a failure adds nothing
        return {"events": len(events)}

    response = process_sqs_batch(
        event,
        context,
        route,
        recorder=rt.recorder,
        failure_metric="MessagesFailed",
        dead_letter_metric="MessagesDeadLettered",
        received_metric="MessagesReceived",
    )
    failed = {item["itemIdentifier"] for item in response.get("batchItemFailures", [])}
    unpublished, results = publish(outgoing, rt.publisher, rt.once)
    _record_metrics(results)
    failed |= {tag for tag in unpublished if tag is not None}
    logger.info(
        "Routed batch",
        extra={
            "events": len(outgoing),
            "put_events_calls": sum(r.calls for r in results),
            "retried_entries": sum(r.retried_entries for r in results),
            "messages_failed": len(failed),
        },
    )
    return {"batchItemFailures": [{"itemIdentifier": message_id} for message_id in sorted(failed)]}
