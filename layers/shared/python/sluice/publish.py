"""Publishing domain events to an EventBridge bus: validated, batched, and per-entry failures never dropped.

    publisher = EventPublisher(aws.client("events"), bus_name)
    event = DomainEvent.validated("record_routed_image", source="sluice.router", detail_type="Record Routed",
                                  detail=detail, tag=message_id)        # SchemaViolation if it breaks the contract
    result = publisher.publish([event, ...])
    result.failed                                                         # what could not be published, with why

``PutEvents`` takes at most 10 entries and 256 KiB per request and answers per entry: a request can succeed
while some entries fail (``ErrorCode`` on the entry, ``FailedEntryCount`` > 0). The publisher:

* packs events into requests of at most ``batch_size`` entries (1-10) and 256 KiB, in order;
* retries only the entries that failed with a retryable code (throttling, internal failure, anything
  unknown), with exponential backoff and full jitter, up to ``max_attempts`` tries per entry; a request that
  fails as a whole (after botocore's own retries) counts as a failed try for each of its entries;
* never retries entries the bus refused for good (``InvalidArgument``, ``MalformedDetail``, ...) or that are
  too large to send: they come back in ``failed`` with ``permanent=True``;
* returns what was published (with event ids) and what was not, so the caller decides: report the source
  message as a batch item failure (retried by SQS, dead-lettered after maxReceiveCount), or route it elsewhere.

Entry sizes follow https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-putevent-size.html.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from . import contracts

__all__ = [
    "MAX_BATCH_ENTRIES",
    "MAX_REQUEST_BYTES",
    "PERMANENT_ENTRY_ERRORS",
    "DomainEvent",
    "EventPublisher",
    "Failure",
    "PublishResult",
    "entry_size",
]

MAX_BATCH_ENTRIES = 10
MAX_REQUEST_BYTES = 256 * 1024
TIME_BYTES = 14  # an entry with a Time counts 14 bytes for it
#: Per-entry error codes that no retry can fix.
PERMANENT_ENTRY_ERRORS = frozenset(
    {"InvalidArgument", "MalformedDetail", "ValidationException", "AccessDeniedException", "NotAuthorizedForSourceException"}
)
TOO_LARGE = "EntryTooLarge"


@dataclass(frozen=True)
class DomainEvent:
    """One event to publish. ``tag`` is the caller's (e.g. the SQS message it came from); never sent."""

    source: str
    detail_type: str
    detail: dict[str, Any]
    resources: tuple[str, ...] = ()
    tag: Hashable = None
    _detail_json: str = field(default="", repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self._detail_json:
            text = json.dumps(self.detail, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
            object.__setattr__(self, "_detail_json", text)

    @classmethod
    def validated(
        cls,
        contract: str,
        *,
        source: str,
        detail_type: str,
        detail: dict[str, Any],
        resources: Sequence[str] = (),
        tag: Hashable = None,
    ) -> DomainEvent:
        """An event whose detail satisfies ``contract`` (raises SchemaViolation otherwise): producers validate."""
        contracts.validate(contract, detail)
        return cls(source=source, detail_type=detail_type, detail=detail, resources=tuple(resources), tag=tag)

    @property
    def detail_json(self) -> str:
        return self._detail_json

    def entry(self, bus_name: str) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "Source": self.source,
            "DetailType": self.detail_type,
            "Detail": self._detail_json,
            "EventBusName": bus_name,
        }
        if self.resources:
            entry["Resources"] = list(self.resources)
        return entry

    @property
    def size(self) -> int:
        return entry_size(self.source, self.detail_type, self._detail_json, self.resources)


def entry_size(source: str, detail_type: str, detail: str, resources: Sequence[str] = (), has_time: bool = False) -> int:
    """Bytes a PutEvents entry counts towards the 256 KiB limit (AWS's documented calculation)."""
    size = TIME_BYTES if has_time else 0
    size += len(source.encode("utf-8")) + len(detail_type.encode("utf-8")) + len(detail.encode("utf-8"))
    return size + sum(len(r.encode("utf-8")) for r in resources)


@dataclass(frozen=True)
class Failure:
    event: DomainEvent
    code: str
    message: str
    permanent: bool
    attempts: int


@dataclass
class PublishResult:
    published: list[tuple[DomainEvent, str]] = field(default_factory=list)  # (event, EventBridge event id)
    failed: list[Failure] = field(default_factory=list)
    calls: int = 0  # PutEvents requests made
    retried_entries: int = 0  # entries sent again after a retryable failure

    @property
    def ok(self) -> bool:
        return not self.failed

    def failed_tags(self, *, permanent: bool | None = None) -> set[Hashable]:
        return {f.event.tag for f in self.failed if permanent is None or f.permanent is permanent}


class EventPublisher:
    def __init__(
        self,
        client: Any,
        bus_name: str,
        *,
        batch_size: int = MAX_BATCH_ENTRIES,
        max_attempts: int = 4,
        base_delay: float = 0.05,
        max_delay: float = 2.0,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        if not 1 <= batch_size <= MAX_BATCH_ENTRIES:
            raise ValueError(f"batch_size must be between 1 and {MAX_BATCH_ENTRIES}, got {batch_size}")
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self._client = client
        self.bus_name = bus_name
        self.batch_size = batch_size
        self.max_attempts = max_attempts
        self._base_delay = base_delay
        self._max_delay = max_delay
        self._sleep = sleep
        self._rng = rng or random.Random()

    def batches(self, events: Sequence[DomainEvent]) -> list[list[DomainEvent]]:
        """Consecutive requests of at most batch_size entries and MAX_REQUEST_BYTES."""
        requests: list[list[DomainEvent]] = []
        current: list[DomainEvent] = []
        current_bytes = 0
        for event in events:
            size = event.size
            if current and (len(current) >= self.batch_size or current_bytes + size > MAX_REQUEST_BYTES):
                requests.append(current)
                current, current_bytes = [], 0
            current.append(event)
            current_bytes += size
        if current:
            requests.append(current)
        return requests

    def publish(self, events: Sequence[DomainEvent]) -> PublishResult:
        result = PublishResult()
        pending: list[DomainEvent] = []
        for event in events:
            if event.size > MAX_REQUEST_BYTES:
                result.failed.append(
                    Failure(event, TOO_LARGE, f"entry is {event.size} bytes; PutEvents allows {MAX_REQUEST_BYTES}", True, 0)
                )
            else:
                pending.append(event)
        attempt = 0
        last_error: dict[int, tuple[str, str]] = {}
        while pending:
            attempt += 1
            retry: list[DomainEvent] = []
            for request in self.batches(pending):
                result.calls += 1
                for event, outcome in zip(request, self._put(request), strict=True):
                    if "EventId" in outcome and not outcome.get("ErrorCode"):
                        result.published.append((event, outcome["EventId"]))
                        continue
                    code = str(outcome.get("ErrorCode") or "Unknown")
                    message = str(outcome.get("ErrorMessage") or "")
                    if code in PERMANENT_ENTRY_ERRORS:
                        result.failed.append(Failure(event, code, message, True, attempt))
                    else:
                        last_error[id(event)] = (code, message)
                        retry.append(event)
            if not retry:
                break
            if attempt >= self.max_attempts:
                for event in retry:
                    code, message = last_error[id(event)]
                    result.failed.append(Failure(event, code, message, False, attempt))
                break
            result.retried_entries += len(retry)
            self._sleep(self._backoff(attempt))
            pending = retry
        return result

    def _put(self, request: list[DomainEvent]) -> list[dict[str, Any]]:
        try:
            response = self._client.put_events(Entries=[event.entry(self.bus_name) for event in request])
        except ClientError as exc:
            # The request as a whole failed (after botocore's retries): throttled, denied, the bus missing, ...
            # Not the entries' fault, so retryable: what still fails is reported and retried later by the
            # caller's event source, after the cause (often configuration) is fixed.
            error = exc.response.get("Error", {})
            failure = {"ErrorCode": f"Request{error.get('Code') or 'Failed'}", "ErrorMessage": str(error.get("Message", ""))}
            return [failure] * len(request)
        except BotoCoreError as exc:  # connection errors after botocore's retries: retry the whole request
            return [{"ErrorCode": type(exc).__name__, "ErrorMessage": str(exc)}] * len(request)
        entries = response.get("Entries") or []
        if len(entries) != len(request):  # never seen; treat the missing answers as retryable failures
            entries = list(entries) + [{"ErrorCode": "MissingEntryResult"}] * (len(request) - len(entries))
        return entries

    def _backoff(self, attempt: int) -> float:
        """Full jitter: a random delay up to base * 2^(attempt-1), capped."""
        ceiling = min(self._max_delay, self._base_delay * 2 ** (attempt - 1))
        return self._rng.uniform(0, ceiling)
