"""Fault injection: make a function fail, throttle or slow down at a chosen rate, to test what the pipelines do
when AWS misbehaves. Set through the control API (`POST /_localcloud/faults`) or `localcloud fault`."""

from __future__ import annotations

import random
import threading
from dataclasses import asdict, dataclass
from typing import Any


@dataclass
class FunctionFault:
    error_rate: float = 0.0  # the invocation fails with an InjectedFault error (the function never runs)
    throttle_rate: float = 0.0  # the invocation is throttled (429)
    remaining: int | None = None  # stop after this many injected faults (None: until cleared)

    def validate(self) -> None:
        for name in ("error_rate", "throttle_rate"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1, got {value}")


class Faults:
    def __init__(self, seed: int | None = None) -> None:
        self._faults: dict[str, FunctionFault] = {}
        self._lock = threading.Lock()
        self._random = random.Random(seed)
        self.injected: dict[str, int] = {}

    def set(self, function_name: str, **values: Any) -> FunctionFault:
        fault = FunctionFault(**values)
        fault.validate()
        with self._lock:
            self._faults[function_name] = fault
        return fault

    def clear(self, function_name: str | None = None) -> None:
        with self._lock:
            if function_name is None:
                self._faults.clear()
            else:
                self._faults.pop(function_name, None)

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {name: asdict(fault) for name, fault in self._faults.items()}

    def before_invoke(self, function_name: str) -> str | None:
        """'error', 'throttle' or None for the next invocation of `function_name`."""
        with self._lock:
            fault = self._faults.get(function_name)
            if fault is None or fault.remaining == 0:
                return None
            roll = self._random.random()
            kind = None
            if roll < fault.throttle_rate:
                kind = "throttle"
            elif roll < fault.throttle_rate + fault.error_rate:
                kind = "error"
            if kind is not None:
                self.injected[function_name] = self.injected.get(function_name, 0) + 1
                if fault.remaining is not None:
                    fault.remaining -= 1
            return kind
