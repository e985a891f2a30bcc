"""SQS: attributes read back the way SQS returns them (so `terraform plan` is clean and the provider's waiters
finish), no synchronous Lambda invocation inside SendMessage (the local cloud's pollers deliver), atomic
receives, and message visibility on the local cloud's clock."""

from __future__ import annotations

import json
import threading
from typing import Any

from ..clock import CLOCK

_receive_locks: dict[int, threading.Lock] = {}
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
