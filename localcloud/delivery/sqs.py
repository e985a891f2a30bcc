"""SQS → Lambda event source mappings with AWS semantics.

moto invokes the function inside SendMessage, one batch per send, ignores ReportBatchItemFailures and never
re-polls, so maxReceiveCount → DLQ never happens through a mapping. This poller does what the Lambda service
does (https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html):

- up to BatchSize messages per invocation, gathered for at most MaximumBatchingWindowInSeconds;
- messages stay in flight for the queue's visibility timeout while the function runs;
- success deletes the batch; a function error deletes nothing (all messages come back after the visibility
  timeout); with ReportBatchItemFailures only the listed items stay, and an invalid response fails the batch;
- the queue's redrive policy moves a message to its DLQ once its receive count reaches maxReceiveCount;
- FilterCriteria: messages that match no filter are deleted without invoking the function (patterns matched
  by localcloud.patterns, with EventBridge's semantics; a JSON body is matched as an object);
- ScalingConfig.MaximumConcurrency caps the concurrent batches per mapping.
"""

from __future__ import annotations

import collections
import contextlib
import json
import logging
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .. import patterns
from ..clock import CLOCK
from ..runtime.service import Throttled
from .base import Delivery, Worker

if TYPE_CHECKING:
    from moto.awslambda.models import EventSourceMapping
    from moto.sqs.models import Message

    from ..cloud import LocalCloud

log = logging.getLogger("localcloud.sqs")
MAX_RECEIVE = 10  # one ReceiveMessage returns at most 10 messages
MAX_BATCH_BYTES = 6 * 1024 * 1024  # the synchronous invocation payload limit


@dataclass
class MappingStats:
    batches: int = 0
    messages: int = 0
    deleted: int = 0
    item_failures: int = 0
    function_errors: int = 0
    throttles: int = 0
    filtered_out: int = 0
    duplicates: int = 0  # injected duplicate deliveries
    last_error: str | None = None
    batch_sizes: collections.Counter[int] = field(default_factory=collections.Counter)


def lambda_record(message: Message, queue_arn: str, region: str) -> dict[str, Any]:
    """A message as Lambda puts it in an SQS event's Records."""
    attributes = {
        "ApproximateReceiveCount": str(message.approximate_receive_count),
        "SentTimestamp": str(message.sent_timestamp),
        "SenderId": str(message.sender_id),
        "ApproximateFirstReceiveTimestamp": str(message.approximate_first_receive_timestamp),
    }
    if message.group_id:
        attributes["MessageGroupId"] = message.group_id
    if message.deduplication_id:
        attributes["MessageDeduplicationId"] = message.deduplication_id
    if getattr(message, "sequence_number", None):
        attributes["SequenceNumber"] = str(message.sequence_number)
    message_attributes = {
        name: {
            "stringValue": value.get("StringValue"),
            "binaryValue": value.get("BinaryValue"),
            "stringListValues": [],
            "binaryListValues": [],
            "dataType": value.get("DataType", "String"),
        }
        for name, value in (message.message_attributes or {}).items()
    }
    for value in message_attributes.values():
        if value["binaryValue"] is None:
            del value["binaryValue"]
        if value["stringValue"] is None:
            del value["stringValue"]
    record: dict[str, Any] = {
        "messageId": message.id,
        "receiptHandle": message.receipt_handle,
        "body": message.body,
        "attributes": attributes,
        "messageAttributes": message_attributes,
        "md5OfBody": message.body_md5,
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }
    if message_attributes:
        record["md5OfMessageAttributes"] = message.attribute_md5
    return record


def failed_items(response: bytes, batch_ids: set[str]) -> set[str] | None:
    """The message ids a ReportBatchItemFailures response keeps in the queue; None means 'fail the batch'."""
    if not response or response.strip() in (b"null", b""):
        return set()
    try:
        body = json.loads(response)
    except ValueError:
        return None
    if not isinstance(body, dict):
        return set()
    failures = body.get("batchItemFailures")
    if failures is None:
        return set()
    if not isinstance(failures, list):
        return None
    ids = set()
    for failure in failures:
        identifier = failure.get("itemIdentifier") if isinstance(failure, dict) else None
        if not identifier or identifier not in batch_ids:
            return None  # AWS treats an empty or unknown itemIdentifier as a failure of the whole batch
        ids.add(identifier)
    return ids


class _Poller(Worker):
    def __init__(self, delivery: SqsDelivery, mapping: EventSourceMapping, index: int) -> None:
        super().__init__(f"sqs-poller-{mapping.uuid[:8]}-{index}")
        self.delivery = delivery
        self.mapping = mapping
        self._held: list[Message] = []  # out-of-order fault: in flight, delivered with a later batch

    def run_once(self) -> None:
        mapping = self.mapping
        if not mapping.enabled:
            self.wait(0.5)
            return
        cloud = self.delivery.cloud
        from moto.sqs.models import sqs_backends

        arn_parts = mapping.event_source_arn.split(":")
        region, account, queue_name = arn_parts[3], arn_parts[4], arn_parts[5]
        backend = sqs_backends[account][region]
        try:
            queue = backend.get_queue(queue_name)
        except Exception:
            self.wait(1.0)  # the queue was deleted before the mapping: wait for reconcile to stop us
            return
        batch_size = int(mapping.batch_size or 10)
        window = float(mapping.max_batch_window or 0)
        visibility = int(queue.visibility_timeout or 30)
        messages: list[Message] = []
        size = 0
        deadline: float | None = None  # the batching window opens with the first message
        while not self.stopping and len(messages) < batch_size and size < MAX_BATCH_BYTES:
            remaining = 0.0
            if deadline is not None:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
            received = backend.receive_message(
                queue_name,
                min(MAX_RECEIVE, batch_size - len(messages)),
                wait_seconds_timeout=1 if deadline is None else 0,  # long-poll only while the batch is empty
                visibility_timeout=visibility,
                message_attribute_names=["All"],
            )
            if received:
                messages.extend(received)
                size += sum(len(m.body.encode()) for m in received)
                if deadline is None:
                    deadline = time.monotonic() + window
                if window <= 0:
                    break  # no batching window: invoke with what one receive returned, as Lambda does
            elif deadline is None:
                break
            else:
                self.wait(min(0.05, remaining))
        faults = cloud.faults
        if faults.out_of_order("sqs"):
            messages, held = faults.reorder(self._held + messages) if messages else (self._held, [])
            self._held = held
        elif self._held:
            messages, self._held = self._held + messages, []
        if not messages:
            return
        self._process(backend, queue, queue_name, region, messages, cloud)

    def _process(self, backend: Any, queue: Any, queue_name: str, region: str, messages: list[Message], cloud: LocalCloud) -> None:
        stats = self.delivery.stats[self.mapping.uuid]
        records = [lambda_record(m, queue.queue_arn, region) for m in messages]
        records = self._apply_filters(backend, queue_name, records, stats)
        if not records:
            return
        stats.batches += 1
        stats.messages += len(records)
        stats.batch_sizes[len(records)] += 1
        payload = json.dumps({"Records": records}).encode()
        visible_again = time.monotonic() + int(queue.visibility_timeout or 30)
        delay = 0.1
        while True:
            try:
                fn = cloud.lambdas.function(self.mapping.function_arn)
                result = cloud.lambdas.invoke(fn, payload)
                break
            except Throttled as exc:
                stats.throttles += 1
                stats.last_error = str(exc)
                # Lambda backs off and retries a throttled batch while its messages are still invisible; after
                # that they come back to the queue (their receive count grows), as on AWS.
                if self.stopping or time.monotonic() + delay >= visible_again - 1:
                    return
                self.wait(delay)
                delay = min(delay * 2, 2.0)
        if result.errored:
            stats.function_errors += 1
            stats.last_error = result.payload.decode("utf-8", "replace")[:500]
            return
        keep: set[str] = set()
        if "ReportBatchItemFailures" in (self.mapping.function_response_types or []):
            ids = {r["messageId"] for r in records}
            reported = failed_items(result.payload, ids)
            if reported is None:
                stats.function_errors += 1
                stats.last_error = f"invalid batchItemFailures response: {result.payload[:300]!r}"
                return
            keep = reported
            stats.item_failures += len(keep)
        for record in records:
            if record["messageId"] in keep:
                continue
            try:
                backend.delete_message(queue_name, record["receiptHandle"])
                stats.deleted += 1
            except Exception as exc:  # e.g. the receipt handle expired because the function outlived visibility
                stats.last_error = f"delete failed: {exc}"
        if cloud.faults.duplicate("sqs"):
            # At-least-once: the same messages are received a second time (here, by a second poller at once).
            stats.duplicates += 1
            threading.Thread(target=self._duplicate, args=(cloud, payload), name=f"{self.name}-dup", daemon=True).start()

    def _duplicate(self, cloud: LocalCloud, payload: bytes) -> None:
        stats = self.delivery.stats[self.mapping.uuid]
        try:
            fn = cloud.lambdas.function(self.mapping.function_arn)
            result = cloud.lambdas.invoke(fn, payload)
            if result.errored:
                stats.last_error = "duplicate delivery: " + result.payload.decode("utf-8", "replace")[:300]
        except Exception as exc:  # throttled or gone: the original delivery succeeded, nothing is owed
            stats.last_error = f"duplicate delivery: {exc}"

    def _apply_filters(self, backend: Any, queue_name: str, records: list[dict[str, Any]], stats: MappingStats) -> list[dict[str, Any]]:
        filters = ((self.mapping.filter_criteria or {}).get("Filters")) or []
        if not filters:
            return records
        compiled = []
        for item in filters:
            if not item.get("Pattern"):
                continue
            try:
                compiled.append(patterns.compile(item["Pattern"]))
            except patterns.PatternError as exc:  # refused at CreateEventSourceMapping: never drop messages over it
                stats.last_error = f"invalid filter pattern: {exc.reason}"
                return records
        kept = []
        for record in records:
            candidate = dict(record)
            with contextlib.suppress(ValueError):
                candidate["body"] = patterns.loads(record["body"])
            if any(p.matches(candidate) for p in compiled):
                kept.append(record)
            else:
                # AWS deletes messages that match no filter: they never reach the function.
                backend.delete_message(queue_name, record["receiptHandle"])
                stats.filtered_out += 1
        return kept


class SqsDelivery(Delivery):
    name = "sqs"

    def __init__(self, cloud: LocalCloud) -> None:
        super().__init__(cloud)
        self._pollers: dict[str, list[_Poller]] = {}
        self._config: dict[str, tuple[Any, ...]] = {}
        self.stats: dict[str, MappingStats] = collections.defaultdict(MappingStats)
        self._lock = threading.Lock()

    def _mappings(self) -> dict[str, EventSourceMapping]:
        from moto.awslambda.models import lambda_backends

        found = {}
        for regions in lambda_backends.values():
            for backend in regions.values():
                for uuid, mapping in list(backend._event_source_mappings.items()):
                    if ":sqs:" in mapping.event_source_arn:
                        found[uuid] = mapping
        return found

    def reconcile(self) -> None:
        mappings = self._mappings()
        with self._lock:
            for uuid in list(self._pollers):
                mapping = mappings.get(uuid)
                if mapping is None or self._config[uuid] != self._shape(mapping):
                    for poller in self._pollers.pop(uuid):
                        poller.stop(join=False)
                    del self._config[uuid]
            for uuid, mapping in mappings.items():
                if uuid in self._pollers:
                    continue
                concurrency = int((mapping.scaling_config or {}).get("MaximumConcurrency") or 1000)
                count = max(1, min(concurrency, self.cloud.config.sqs_pollers_per_mapping))
                pollers = [_Poller(self, mapping, i) for i in range(count)]
                for poller in pollers:
                    poller.start()
                self._pollers[uuid] = pollers
                self._config[uuid] = self._shape(mapping)

    @staticmethod
    def _shape(mapping: EventSourceMapping) -> tuple[Any, ...]:
        return (mapping.event_source_arn, mapping.function_arn, json.dumps(mapping.scaling_config, sort_keys=True, default=str))

    def stop(self) -> None:
        with self._lock:
            for pollers in self._pollers.values():
                for poller in pollers:
                    poller.stop(join=False)
            self._pollers.clear()

    def status(self) -> list[dict[str, Any]]:
        mappings = self._mappings()
        rows = []
        for uuid, mapping in mappings.items():
            stats = self.stats[uuid]
            rows.append(
                {
                    "kind": "sqs",
                    "uuid": uuid,
                    "source": mapping.event_source_arn.split(":")[-1],
                    "function": mapping.function_arn.split(":")[-1],
                    "enabled": bool(mapping.enabled),
                    "pollers": len(self._pollers.get(uuid, [])),
                    "batches": stats.batches,
                    "messages": stats.messages,
                    "deleted": stats.deleted,
                    "item_failures": stats.item_failures,
                    "function_errors": stats.function_errors,
                    "throttles": stats.throttles,
                    "filtered_out": stats.filtered_out,
                    "duplicates": stats.duplicates,
                    "mean_batch": round(stats.messages / stats.batches, 2) if stats.batches else None,
                    "last_error": stats.last_error,
                    "at": CLOCK.time(),
                }
            )
        return rows
