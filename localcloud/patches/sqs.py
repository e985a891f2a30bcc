"""SQS: attributes read back the way SQS returns them (so `terraform plan` is clean and the provider's waiters
finish), no synchronous Lambda invocation inside SendMessage (the local cloud's pollers deliver), atomic
receives, and message visibility on the local cloud's clock."""

from __future__ import annotations

import json
import threading
from typing import Any

from ..clock import CLOCK

_receive_locks: dict[int, threading.Lock] = {}
_sending = threading.local()  # set while moto's SendMessage runs (see `attributes` below)
_locks_guard = threading.Lock()


def _lock_for(queue: Any) -> threading.Lock:
    with _locks_guard:
        return _receive_locks.setdefault(id(queue), threading.Lock())


def install() -> None:
    from moto.sqs import models

    # Visibility timeouts, delays and retention are measured on the controllable clock.
    models.unix_time = CLOCK.time
    models.unix_time_millis = lambda: CLOCK.time() * 1000.0

    # moto invokes mapped functions inside SendMessage; the local cloud's pollers do it, with AWS semantics.
    models.Queue.lambda_event_source_mappings = property(lambda self: {}, lambda self, value: None)

    # RedriveAllowPolicy: moto drops it, and the provider then waits ~10 minutes for it to read back.
    if "RedriveAllowPolicy" not in models.Queue.BASE_ATTRIBUTES:
        models.Queue.BASE_ATTRIBUTES = [*models.Queue.BASE_ATTRIBUTES, "RedriveAllowPolicy"]
    models.Queue.redrive_allow_policy = None
    original_attributes = models.Queue.attributes.fget

    def attributes(self: Any) -> dict[str, Any]:
        if getattr(_sending, "active", False):
            # Inside SendMessage moto reads queue.attributes three times for ContentBasedDeduplication alone;
            # the full set counts every message of the queue (O(depth) per send, O(n²) to fill or redrive a queue).
            return {"ContentBasedDeduplication": "true" if self.content_based_deduplication else "false"} if self.fifo_queue else {}
        result = original_attributes(self)
        if self.redrive_policy:
            # SQS returns compact JSON; json.dumps' default spacing shows up as drift in `terraform plan`.
            result["RedrivePolicy"] = json.dumps(self.redrive_policy, separators=(",", ":"))
        if self.redrive_allow_policy:
            result["RedriveAllowPolicy"] = self.redrive_allow_policy
        else:
            result.pop("RedriveAllowPolicy", None)
        return {key: value for key, value in result.items() if value is not None}

    models.Queue.attributes = property(attributes)

    original_send_message = models.SQSBackend.send_message

    def send_message(self: Any, *args: Any, **kwargs: Any) -> Any:
        _sending.active = True
        try:
            return original_send_message(self, *args, **kwargs)
        finally:
            _sending.active = False

    models.SQSBackend.send_message = send_message

    original_set_attributes = models.Queue._set_attributes

    def set_attributes(self: Any, attributes: dict[str, Any], now: float | None = None) -> None:
        # An empty string clears an attribute (e.g. RedriveAllowPolicy) in SQS.
        if attributes.get("RedriveAllowPolicy") == "":
            attributes = {**attributes, "RedriveAllowPolicy": None}
        previous_policy = getattr(self, "policy", None)
        original_set_attributes(self, attributes, now)
        # moto forgets a queue's Policy whenever other attributes are set without it.
        self.policy = (attributes.get("Policy") or None) if "Policy" in attributes else previous_policy

    models.Queue._set_attributes = set_attributes

    original_receive = models.SQSBackend.receive_message

    def receive_message(
        self: Any,
        queue_name: str,
        count: int,
        wait_seconds_timeout: int,
        visibility_timeout: int,
        message_attribute_names: list[str] | None = None,
    ) -> list[Any]:
        """moto's receive checks visibility and marks messages received in separate steps without a lock, so two
        concurrent receivers can get the same message. SQS never hands a visible message to two receivers at
        once: hold a per-queue lock around a non-waiting receive, and wait for messages outside it."""
        queue = self.get_queue(queue_name)
        if visibility_timeout is None:
            visibility_timeout = queue.visibility_timeout
        deadline = CLOCK.time() + (wait_seconds_timeout or 0)
        lock = _lock_for(queue)
        while True:
            with lock:
                result = original_receive(self, queue_name, count, 0, visibility_timeout, message_attribute_names)
            if result or CLOCK.time() >= deadline:
                return result
            queue.wait_for_messages(min(1.0, max(0.01, deadline - CLOCK.time())))

    models.SQSBackend.receive_message = receive_message

    def is_message_valid_based_on_retention_period(self: Any, queue_name: str, message: Any) -> bool:
        # moto builds every attribute of the queue (counting all its messages) to read one, per message
        # received: O(n²) per receive on a deep queue, 10% of the server's CPU under load.
        queue = self.get_queue(queue_name)
        return int(queue.message_retention_period) + message.sent_timestamp / 1000 > CLOCK.time()

    models.SQSBackend.is_message_valid_based_on_retention_period = is_message_valid_based_on_retention_period

    # SQS limits a message's visibility to 12 hours from the receive that holds it; moto counts from when the message
    # was sent, so a message older than 12 hours (a DLQ on an advanced clock) could never be released again.
    original_mark_received = models.Message.mark_received

    def mark_received(self: Any, visibility_timeout: int | None = None) -> None:
        original_mark_received(self, visibility_timeout)
        self.last_received_ms = models.unix_time_millis()

    models.Message.mark_received = mark_received

    def change_message_visibility(self: Any, queue_name: str, receipt_handle: str, visibility_timeout: int) -> None:
        queue = self.get_queue(queue_name)
        for message in queue._messages:
            if message.had_receipt_handle(receipt_handle):
                received = getattr(message, "last_received_ms", None) or message.sent_timestamp
                if models.unix_time_millis() + int(visibility_timeout) * 1000 - received > 43200 * 1000:
                    from moto.sqs.exceptions import InvalidParameterValue

                    raise InvalidParameterValue(
                        f"Value {visibility_timeout} for parameter VisibilityTimeout is invalid. Reason: Total "
                        "VisibilityTimeout for the message is beyond the limit [43200 seconds]"
                    )
                message.change_visibility(visibility_timeout)
                if message.visible and message in queue.pending_messages:
                    queue.pending_messages.remove(message)
                return
        from moto.sqs.exceptions import ReceiptHandleIsInvalid

        raise ReceiptHandleIsInvalid

    models.SQSBackend.change_message_visibility = change_message_visibility
    _install_move_tasks()


# -- message move tasks (DLQ redrive) -------------------------------------------------------------------------
# moto lacks StartMessageMoveTask / ListMessageMoveTasks / CancelMessageMoveTask, the API behind the console's
# "Start DLQ redrive" and the DLQ tooling. A task moves every message present when it starts, at most
# MaxNumberOfMessagesPerSecond, to DestinationArn or, without one, back to the queue whose redrive policy names
# this DLQ. Messages sent to the DLQ after the task started are not moved (SQS's behaviour).

_tasks: dict[str, dict[str, Any]] = {}
_tasks_lock = threading.Lock()


def _queue_by_arn(backend: Any, arn: str) -> Any:
    for queue in backend.queues.values():
        if queue.queue_arn == arn:
            return queue
    from moto.sqs.exceptions import QueueDoesNotExist

    raise QueueDoesNotExist()


def _redrive_source(backend: Any, dlq_arn: str) -> Any:
    sources = [q for q in backend.queues.values() if (q.redrive_policy or {}).get("deadLetterTargetArn") == dlq_arn]
    if len(sources) != 1:
        from moto.sqs.exceptions import InvalidParameterValue

        raise InvalidParameterValue(
            f"{dlq_arn} is the dead-letter queue of {len(sources)} queues: give DestinationArn"
        )
    return sources[0]


def _move(task: dict[str, Any], backend: Any, source: Any, destination: Any, snapshot: set[str]) -> None:
    """Move the messages whose ids are in `snapshot` (those present when the task started, as SQS does: messages
    that arrive later stay), visible ones only, at most MaxNumberOfMessagesPerSecond.

    Messages are taken from the source under its receive lock, up to 100 at a time, and the source list is
    rebuilt once per chunk: moto's receive + delete cost O(queue length) per message (88 messages/s on a
    2,000-message DLQ), this costs it once per chunk."""
    import time

    rate = float(task.get("MaxNumberOfMessagesPerSecond") or 500)
    chunk = max(1, min(100, int(rate)))
    remaining = set(snapshot)
    try:
        while task["Status"] == "RUNNING" and remaining:
            started = time.monotonic()
            with _lock_for(source):
                picked = []
                for message in source._messages:
                    if message.id in remaining and message.visible and not message.delayed:
                        picked.append(message)
                        if len(picked) >= chunk:
                            break
                if picked:
                    ids = {m.id for m in picked}
                    source._messages = [m for m in source._messages if m.id not in ids]
                    for message in picked:
                        source.pending_messages.discard(message)
            if not picked:
                break  # what is left of the snapshot is in flight (or was deleted): SQS moves visible messages only
            for message in picked:
                backend.send_message(
                    destination.name,
                    message.body,
                    message_attributes=message.message_attributes or None,
                    group_id=message.group_id,
                    deduplication_id=message.deduplication_id,
                )
                remaining.discard(message.id)
                task["ApproximateNumberOfMessagesMoved"] += 1
            time.sleep(max(0.0, len(picked) / rate - (time.monotonic() - started)))
        if task["Status"] == "RUNNING":
            task["Status"] = "COMPLETED"
        elif task["Status"] == "CANCELLING":
            task["Status"] = "CANCELLED"
    except Exception as exc:  # reported through ListMessageMoveTasks, as SQS does
        task["Status"] = "FAILED"
        task["FailureReason"] = str(exc)


def _install_move_tasks() -> None:
    import uuid

    from moto.core.responses import ActionResult
    from moto.sqs import responses

    def start_message_move_task(self: Any) -> Any:
        source_arn = self._get_param("SourceArn")
        destination_arn = self._get_param("DestinationArn")
        backend = self.sqs_backend
        source = _queue_by_arn(backend, source_arn)
        destination = _queue_by_arn(backend, destination_arn) if destination_arn else _redrive_source(backend, source_arn)
        with _tasks_lock:
            if any(t["SourceArn"] == source_arn and t["Status"] == "RUNNING" for t in _tasks.values()):
                from moto.sqs.exceptions import InvalidParameterValue

                raise InvalidParameterValue(f"a message move task is already running for {source_arn}")
            handle = uuid.uuid4().hex
            snapshot = {m.id for m in list(source._messages)}
            task = {
                "TaskHandle": handle,
                "Status": "RUNNING",
                "SourceArn": source_arn,
                "DestinationArn": destination.queue_arn,
                "MaxNumberOfMessagesPerSecond": self._get_param("MaxNumberOfMessagesPerSecond"),
                "ApproximateNumberOfMessagesMoved": 0,
                "ApproximateNumberOfMessagesToMove": len(snapshot),
                "StartedTimestamp": int(CLOCK.time() * 1000),
            }
            _tasks[handle] = task
        threading.Thread(target=_move, args=(task, backend, source, destination, snapshot), name=f"sqs-move-{handle[:8]}", daemon=True).start()
        return ActionResult({"TaskHandle": handle})

    def list_message_move_tasks(self: Any) -> Any:
        source_arn = self._get_param("SourceArn")
        limit = int(self._get_param("MaxResults") or 1)
        found = sorted(
            (dict(t) for t in _tasks.values() if t["SourceArn"] == source_arn),
            key=lambda t: t["StartedTimestamp"],
            reverse=True,
        )
        for task in found:
            if task["Status"] != "RUNNING":
                task.pop("TaskHandle", None)  # SQS returns the handle of running tasks only
            if task.get("MaxNumberOfMessagesPerSecond") is None:
                task.pop("MaxNumberOfMessagesPerSecond", None)
        return ActionResult({"Results": found[:limit]})

    def cancel_message_move_task(self: Any) -> Any:
        task = _tasks.get(self._get_param("TaskHandle"))
        if task is None or task["Status"] != "RUNNING":
            from moto.sqs.exceptions import InvalidParameterValue

            raise InvalidParameterValue("no running task with that handle")
        task["Status"] = "CANCELLING"
        return ActionResult({"ApproximateNumberOfMessagesMoved": task["ApproximateNumberOfMessagesMoved"]})

    responses.SQSResponse.start_message_move_task = start_message_move_task
    responses.SQSResponse.list_message_move_tasks = list_message_move_tasks
    responses.SQSResponse.cancel_message_move_task = cancel_message_move_task
