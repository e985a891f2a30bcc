"""A controllable clock.

AWS time passes on its own; tests cannot wait 30 s for a visibility timeout or a day for a daily schedule. Every
time-dependent behaviour of the local cloud (message visibility, schedules, retry delays) reads this clock, and
`advance()` moves it forward for all of them at once. It never goes backwards.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime


class Clock:
    def __init__(self) -> None:
        self._offset = 0.0
        self._lock = threading.Lock()
        self._listeners: list[Callable[[], None]] = []

    def time(self) -> float:
        """Seconds since the epoch, like time.time(), plus every advance so far."""
        return time.time() + self._offset

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.time(), tz=UTC)

    @property
    def offset(self) -> float:
        return self._offset

    def advance(self, seconds: float) -> float:
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        with self._lock:
            self._offset += seconds
            listeners = list(self._listeners)
        for listener in listeners:
            listener()
        return self._offset

    def on_advance(self, listener: Callable[[], None]) -> None:
        """Call `listener` after every advance (schedulers use it to fire what became due)."""
        with self._lock:
            self._listeners.append(listener)


CLOCK = Clock()


def iso_now() -> str:
    """The clock's now in the format EventBridge puts in an event's `time`."""
    return CLOCK.now().strftime("%Y-%m-%dT%H:%M:%SZ")
