"""The shape every delivery follows: a supervisor calls `reconcile()` twice a second; the delivery starts,
updates or stops its worker threads to match what moto holds (mappings created or deleted by Terraform,
disabled, reconfigured). Adding an event source is writing one subclass."""

from __future__ import annotations

import logging
import threading
from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..cloud import LocalCloud

log = logging.getLogger("localcloud.delivery")


class Delivery(ABC):
    name: str = "delivery"

    def __init__(self, cloud: LocalCloud) -> None:
        self.cloud = cloud

    @abstractmethod
    def reconcile(self) -> None:
        """Match running workers to moto's current state. Must be cheap: it runs every 0.5 s."""

    def stop(self) -> None:  # noqa: B027 - a delivery without threads has nothing to stop
        """Stop every worker thread."""

    def status(self) -> list[dict[str, Any]]:
        """One row per worker for `localcloud status`."""
        return []


class Worker:
    """A named daemon thread with a stop flag; `run_once` is called until stopped."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, join: bool = True) -> None:
        self._stop.set()
        if join and self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join(timeout=10)

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def wait(self, seconds: float) -> bool:
        """Sleep unless stopped; True when stopped."""
        return self._stop.wait(seconds)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.run_once()
            except Exception:
                log.exception("%s failed; retrying in 1 s", self.name)
                self._stop.wait(1.0)

    def run_once(self) -> None:
        raise NotImplementedError
