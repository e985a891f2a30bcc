"""Function logs: one file per function under <home>/logs, a tail in memory, and CloudWatch Logs in moto.

Every line a function prints, plus the START/END/REPORT lines Lambda itself writes, goes to all three, so
`localcloud logs FN`, `aws logs tail /aws/lambda/FN` and a test asserting on the tail see the same thing.
Listeners (e.g. the EMF metric extractor) get every line too.
"""

from __future__ import annotations

import collections
import contextlib
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..clock import CLOCK


@dataclass(frozen=True)
class LogLine:
    timestamp_ms: int
    function_name: str
    stream: str
    request_id: str | None
    message: str


Listener = Callable[[LogLine], None]


class LogStore:
    def __init__(self, logs_dir: Path, account_id: str, region: str, tail_lines: int = 2000) -> None:
        self._dir = logs_dir
        self._dir.mkdir(parents=True, exist_ok=True)
        self._account_id = account_id
        self._region = region
        self._tails: dict[str, collections.deque[LogLine]] = collections.defaultdict(
            lambda: collections.deque(maxlen=tail_lines)
        )
        self._lock = threading.Lock()
        self._files: dict[str, object] = {}
        self._listeners: list[Listener] = []
        self._known_streams: set[tuple[str, str]] = set()

    def add_listener(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def path(self, function_name: str) -> Path:
        return self._dir / f"{function_name}.log"

    def write(self, function_name: str, stream: str, message: str, request_id: str | None = None) -> None:
        line = LogLine(int(CLOCK.time() * 1000), function_name, stream, request_id, message.rstrip("\n"))
        with self._lock:
            self._tails[function_name].append(line)
            handle = self._files.get(function_name)
            if handle is None:
                handle = self.path(function_name).open("a", encoding="utf-8", buffering=1)
                self._files[function_name] = handle
            handle.write(f"{line.timestamp_ms} {stream} {line.message}\n")  # type: ignore[attr-defined]
            # moto's logs backend is not thread-safe ("to be thread safe this would need a lock"): this is it.
            self._to_cloudwatch(line)
        for listener in self._listeners:
            with contextlib.suppress(Exception):  # a broken listener must never break a function's logging
                listener(line)

    def tail(self, function_name: str, lines: int = 100) -> list[LogLine]:
        with self._lock:
            return list(self._tails.get(function_name, ()))[-lines:]

    def lines_for(self, request_id: str) -> list[LogLine]:
        with self._lock:
            return [line for tail in self._tails.values() for line in tail if line.request_id == request_id]

    def functions(self) -> list[str]:
        with self._lock:
            return sorted(self._tails)

    def close(self) -> None:
        with self._lock:
            for handle in self._files.values():
                handle.close()  # type: ignore[attr-defined]
            self._files.clear()

    def _to_cloudwatch(self, line: LogLine) -> None:
        from moto.logs.models import logs_backends

        backend = logs_backends[self._account_id][self._region]
        group = f"/aws/lambda/{line.function_name}"
        key = (group, line.stream)
        try:
            if key not in self._known_streams:
                if group not in backend.groups:
                    backend.create_log_group(group, tags={})
                if line.stream not in backend.groups[group].streams:
                    backend.create_log_stream(group, line.stream)
                self._known_streams.add(key)
            backend.put_log_events(group, line.stream, [{"timestamp": line.timestamp_ms, "message": line.message}])
        except Exception:
            # The group may be deleted by `terraform destroy` while a function still runs: keep the file log.
            self._known_streams.discard(key)
