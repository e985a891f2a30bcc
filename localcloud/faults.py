"""Fault injection: make AWS misbehave on purpose, to test what the pipelines do when it does.

Function faults (per function name), rolled once per invocation:

* ``error_rate``: the invocation fails with ``InjectedFault`` before the function runs;
* ``throttle_rate``: the invocation is refused with 429 TooManyRequestsException (``Throttled``); every event
  source backs off and retries, as AWS does;
* ``timeout_rate``: the function runs to the end (its side effects happen) but the invocation reports
  ``Sandbox.Timedout``, as when a function does its work and is stopped before it returns: the event source
  sees an error and delivers the same events again.

Delivery faults (per source: ``sqs``, ``kinesis``, ``dynamodb``, ``eventbridge``), the at-least-once delivery AWS
documents for every one of them:

* ``duplicate_rate``: a batch (or an EventBridge target delivery) that succeeded is delivered a second time;
  SQS delivers the duplicate concurrently, as when two pollers receive the same message;
* ``out_of_order`` (SQS only): messages are shuffled within a batch and some are held back to a later batch.

Set through the control API (``PUT /_localcloud/faults/<function>``, ``PUT /_localcloud/delivery-faults/<source>``),
``LocalCloudClient.set_fault`` / ``set_delivery_fault`` or ``python -m localcloud fault``.
"""

from __future__ import annotations

import random
import threading
from collections import Counter
from dataclasses import asdict, dataclass
from typing import Any

SOURCES = ("sqs", "kinesis", "dynamodb", "eventbridge")
KINDS = ("throttle", "error", "timeout")


def _check_rate(name: str, value: float) -> None:
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} must be between 0 and 1, got {value}")


@dataclass
class FunctionFault:
    error_rate: float = 0.0  # the invocation fails with an InjectedFault error (the function never runs)
    throttle_rate: float = 0.0  # the invocation is throttled (429)
    timeout_rate: float = 0.0  # the function runs, then the invocation reports Sandbox.Timedout
    remaining: int | None = None  # stop after this many injected faults (None: until cleared)

    def validate(self) -> None:
        for name in ("error_rate", "throttle_rate", "timeout_rate"):
            _check_rate(name, getattr(self, name))
        if self.error_rate + self.throttle_rate + self.timeout_rate > 1.0:
            raise ValueError("error_rate + throttle_rate + timeout_rate must be at most 1")


@dataclass
class DeliveryFault:
    duplicate_rate: float = 0.0  # a successful delivery is made a second time
    out_of_order: bool = False  # SQS: shuffle batches and hold some messages back to a later batch

    def validate(self, source: str) -> None:
        if source not in SOURCES:
            raise ValueError(f"source must be one of {', '.join(SOURCES)}, got {source!r}")
        _check_rate("duplicate_rate", self.duplicate_rate)
        if self.out_of_order and source != "sqs":
            raise ValueError("out_of_order is supported for sqs only")


class Faults:
    def __init__(self, seed: int | None = None) -> None:
        self._faults: dict[str, FunctionFault] = {}
        self._deliveries: dict[str, DeliveryFault] = {}
        self._lock = threading.Lock()
        self._random = random.Random(seed)
        self.injected: dict[str, int] = {}  # per function: every injected function fault
        self.by_kind: Counter[str] = Counter()  # "throttle", "error", "timeout", "duplicate:<source>", "reordered:sqs"

    # -- function faults -----------------------------------------------------------------------------------------
    def set(self, function_name: str, **values: Any) -> FunctionFault:
        fault = FunctionFault(**values)
        fault.validate()
        with self._lock:
            self._faults[function_name] = fault
        return fault

    def clear(self, function_name: str | None = None) -> None:
        """Clear one function's fault, or every fault (functions and deliveries) when no name is given."""
        with self._lock:
            if function_name is None:
                self._faults.clear()
                self._deliveries.clear()
            else:
                self._faults.pop(function_name, None)

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {name: asdict(fault) for name, fault in self._faults.items()}

    def before_invoke(self, function_name: str) -> str | None:
        """'throttle', 'error', 'timeout' or None for the next invocation of `function_name`."""
        with self._lock:
            fault = self._faults.get(function_name)
            if fault is None or fault.remaining == 0:
                return None
            roll = self._random.random()
            kind = None
            edge = 0.0
            for name, rate in (("throttle", fault.throttle_rate), ("error", fault.error_rate), ("timeout", fault.timeout_rate)):
                edge += rate
                if roll < edge:
                    kind = name
                    break
            if kind is not None:
                self.injected[function_name] = self.injected.get(function_name, 0) + 1
                self.by_kind[kind] += 1
                if fault.remaining is not None:
                    fault.remaining -= 1
            return kind

    # -- delivery faults -----------------------------------------------------------------------------------------
    def set_delivery(self, source: str, **values: Any) -> DeliveryFault:
        fault = DeliveryFault(**values)
        fault.validate(source)
        with self._lock:
            self._deliveries[source] = fault
        return fault

    def clear_delivery(self, source: str | None = None) -> None:
        with self._lock:
            if source is None:
                self._deliveries.clear()
            else:
                self._deliveries.pop(source, None)

    def delivery_snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {source: asdict(fault) for source, fault in self._deliveries.items()}

    def duplicate(self, source: str) -> bool:
        """Whether this successful delivery from `source` is to be made a second time."""
        with self._lock:
            fault = self._deliveries.get(source)
            if fault is None or fault.duplicate_rate <= 0 or self._random.random() >= fault.duplicate_rate:
                return False
            self.by_kind[f"duplicate:{source}"] += 1
            return True

    def out_of_order(self, source: str) -> bool:
        with self._lock:
            fault = self._deliveries.get(source)
            return bool(fault and fault.out_of_order)

    def reorder(self, items: list[Any], hold_rate: float = 0.3) -> tuple[list[Any], list[Any]]:
        """Shuffle `items`; return (deliver now, hold back for a later batch). Holds back at most half."""
        with self._lock:
            order = list(range(len(items)))
            self._random.shuffle(order)
            held_at = {i for i in order[1:] if self._random.random() < hold_rate}
            held_at = set(sorted(held_at)[: len(order) // 2])
            now = [items[i] for i in order if i not in held_at]
            held = [items[i] for i in order if i in held_at]
            shuffled = order
            if held or len(shuffled) > 1:
                self.by_kind["reordered:sqs"] += len(held) or 1
            return now, held

    def report(self) -> dict[str, Any]:
        return {
            "faults": self.snapshot(),
            "deliveries": self.delivery_snapshot(),
            "injected": dict(self.injected),
            "by_kind": dict(self.by_kind),
        }
