"""Stream → Lambda event source mappings (Kinesis, DynamoDB Streams) with the Lambda service's semantics
(https://docs.aws.amazon.com/lambda/latest/dg/with-kinesis.html, .../with-ddb.html):

- one poller per shard; a shard's records reach the function in order, one batch at a time (with
  ParallelizationFactor 1, the default: see below);
- the checkpoint moves only past records that are done (processed, filtered out, or sent to the on-failure
  destination), so a stopped or disabled mapping resumes where it was;
- BatchSize records per invocation (and at most 6 MB), gathered for at most MaximumBatchingWindowInSeconds
  (measured on the controllable clock: advancing it closes an open window);
- StartingPosition TRIM_HORIZON, LATEST (the shard's tip when the mapping was created) or AT_TIMESTAMP;
- a function error retries the batch (MaximumRetryAttempts, -1 = until the records expire); with
  BisectBatchOnFunctionError a failed batch is split in two first, halves in order, and splitting does not use
  up the retry quota; records older than MaximumRecordAgeInSeconds are not sent again;
- ReportBatchItemFailures: records before the lowest reported sequence number are done, the batch is retried
  from there (an unknown or empty itemIdentifier fails the whole batch, as on AWS);
- DestinationConfig.OnFailure (SQS or SNS): an invocation record with the batch's metadata (shard, first and
  last sequence numbers, arrival times, size), not the data, as Lambda sends it;
- FilterCriteria: records that match no filter are skipped (and checkpointed) without an invocation;
- ParallelizationFactor (1-10): up to that many batches of one shard in flight at once. Records are dealt to
  that many lanes by a hash of their partition key (Kinesis) or item keys (DynamoDB Streams), each lane batching
  and retrying its own records in order, so one key's records keep their order and are never in two concurrent
  batches. The checkpoint is the lowest position not done; the reader stays at most two batches per lane ahead
  of it, so a lane stuck on a failing batch holds the shard back no further than that. Records done past the
  checkpoint are remembered, so a disabled or restarted mapping resumes without sending them again.

Not supported: tumbling windows, enhanced fan-out consumers as the event source, S3 on-failure destinations,
retention trimming (records stay until the stream is deleted).
"""

from __future__ import annotations

import collections
import itertools
import json
import logging
import threading
import time
import uuid
import zlib
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from .. import patterns
from ..clock import CLOCK
from ..runtime.service import Throttled
from . import targets
from .base import Delivery, Worker

if TYPE_CHECKING:
    from moto.awslambda.models import EventSourceMapping

    from ..cloud import LocalCloud

log = logging.getLogger("localcloud.streams")
MAX_PAYLOAD_BYTES = 6 * 1024 * 1024  # the synchronous invocation payload limit
RECENT = 2000  # samples kept for percentiles in the status


@dataclass
class StreamRecord:
    position: int  # index in the shard: the checkpoint is a position
    sequence: str
    arrival: float  # seconds since the epoch, on the local cloud's clock
    event: dict[str, Any]  # the record as Lambda puts it in the event's Records
    size: int  # bytes it adds to the event, roughly


class ShardSource(ABC):
    """One shard of a stream, as a poller reads it."""

    batch_info_key: str  # "KinesisBatchInfo" | "DDBStreamBatchInfo"

    def __init__(self, shard_id: str, source_arn: str) -> None:
        self.shard_id = shard_id
        self.source_arn = source_arn

    @abstractmethod
    def identity(self) -> int | None:
        """Changes when the shard is replaced (stream deleted and re-created); None when it is gone."""

    @abstractmethod
    def length(self) -> int:
        """Records in the shard so far."""

    @abstractmethod
    def read(self, start: int, end: int) -> list[StreamRecord]:
        """Records at positions [start, end)."""

    @abstractmethod
    def signal(self) -> threading.Condition | None:
        """Notified when records are appended."""

    @abstractmethod
    def arrival_at(self, position: int) -> float | None:
        """Arrival time of the record at `position`, None past the end."""

    @abstractmethod
    def filter_view(self, record: StreamRecord) -> dict[str, Any]:
        """What FilterCriteria patterns are matched against."""

    @abstractmethod
    def order_key(self, record: StreamRecord) -> str:
        """What order is kept by when a shard is read in parallel (ParallelizationFactor > 1)."""

    def first_at_or_after(self, timestamp: float) -> int:
        """The position of the first record that arrived at or after `timestamp` (AT_TIMESTAMP)."""
        low, high = 0, self.length()
        while low < high:
            middle = (low + high) // 2
            arrival = self.arrival_at(middle)
            if arrival is not None and arrival < timestamp:
                low = middle + 1
            else:
                high = middle
        return low


@dataclass
class MappingStats:
    batches: int = 0  # invocations
    records_done: int = 0  # = succeeded + on_failure + filtered_out
    succeeded: int = 0
    on_failure: int = 0  # records described by on-failure records (sent, or dropped when no destination)
    on_failure_records_sent: int = 0  # invocation records delivered to the destination
    filtered_out: int = 0
    function_errors: int = 0
    item_failures: int = 0
    retries: int = 0
    bisects: int = 0
    expired: int = 0
    throttles: int = 0
    duplicates: int = 0  # injected duplicate deliveries
    destination_errors: int = 0
    last_error: str | None = None
    iterator_age_ms: float = 0.0  # AWS's IteratorAge: age of the last record of the last batch when invoked
    batch_sizes: collections.Counter[int] = field(default_factory=collections.Counter)
    recent_iterator_age_ms: collections.deque[float] = field(default_factory=lambda: collections.deque(maxlen=RECENT))
    recent_batch_ms: collections.deque[float] = field(default_factory=lambda: collections.deque(maxlen=RECENT))


def _pct(values: collections.deque[float], p: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, round(p * (len(ordered) - 1)))], 3)


def _iso_ms(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def reported_failures(response: bytes, sequences: list[str]) -> int | None:
    """Index in the batch of the lowest reported failure; len(batch) when none; None = the whole batch failed."""
    if not response or response.strip() in (b"null", b""):
        return len(sequences)
    try:
        body = json.loads(response)
    except ValueError:
        return None
    if not isinstance(body, dict) or body.get("batchItemFailures") is None:
        return len(sequences)
    failures = body["batchItemFailures"]
    if not isinstance(failures, list):
        return None
    index = {sequence: i for i, sequence in enumerate(sequences)}
    lowest = len(sequences)
    for failure in failures:
        identifier = failure.get("itemIdentifier") if isinstance(failure, dict) else None
        if not identifier or str(identifier) not in index:
            return None  # AWS fails the whole batch on an empty or unknown itemIdentifier
        lowest = min(lowest, index[str(identifier)])
    return lowest


@dataclass
class _Checkpoint:
    position: int  # every record before it is done
    identity: int | None
    done: set[int] = field(default_factory=set)  # positions done past `position` (parallel lanes finish out of order)


class ShardPoller(Worker):
    def __init__(self, delivery: StreamDelivery, mapping: EventSourceMapping, source: ShardSource) -> None:
        super().__init__(f"{delivery.name}-{mapping.uuid[:8]}-{source.shard_id[-8:]}")
        self.delivery = delivery
        self.mapping = mapping
        self.source = source
        self._local = threading.local()  # per lane: the request id of its last invocation
        self._progress = threading.Condition()  # notified when the checkpoint moves

    # -- state -------------------------------------------------------------------------------------------------
    @property
    def key(self) -> tuple[str, str]:
        return (self.mapping.uuid, self.source.shard_id)

    @property
    def stats(self) -> MappingStats:
        return self.delivery.stats[self.mapping.uuid]

    def _position(self) -> int | None:
        identity = self.source.identity()
        if identity is None:
            return None
        checkpoint = self.delivery.checkpoints.get(self.key)
        if checkpoint is None or checkpoint.identity != identity:
            checkpoint = _Checkpoint(self._start_position(), identity)
            self.delivery.checkpoints[self.key] = checkpoint
        return checkpoint.position

    def _start_position(self) -> int:
        mapping = self.mapping
        starting = (mapping.starting_position or "TRIM_HORIZON").upper()
        if starting == "LATEST":
            tips = getattr(mapping, "localcloud_tips", None) or {}
            return int(tips.get(self.source.shard_id, self.source.length()))
        if starting == "AT_TIMESTAMP":
            value = mapping.starting_position_timestamp
            stamp = value.timestamp() if isinstance(value, datetime) else float(value or 0)
            return self.source.first_at_or_after(stamp)
        return 0

    def _settle(self, records: list[StreamRecord]) -> None:
        """`records` are done: the checkpoint moves past every record done without a gap before it."""
        checkpoint = self.delivery.checkpoints[self.key]
        with self._progress:
            done = checkpoint.done
            done.update(r.position for r in records if r.position >= checkpoint.position)
            start = checkpoint.position
            while checkpoint.position in done:
                done.discard(checkpoint.position)
                checkpoint.position += 1
            if checkpoint.position != start:
                self._progress.notify_all()

    # -- the loop ----------------------------------------------------------------------------------------------
    def run_once(self) -> None:
        mapping = self.mapping
        if not mapping.enabled:
            self.wait(0.5)
            return
        position = self._position()
        if position is None:
            self.wait(0.5)  # the stream is gone: reconcile stops us
            return
        batch_size = int(mapping.batch_size or 100)
        factor = _factor(mapping)
        if factor > 1:
            self._run_lanes(factor, batch_size)
            return
        window = float(mapping.max_batch_window or 0)
        signal = self.source.signal()
        opened: float | None = None
        while not self.stopping:
            available = self.source.length() - position
            if available and opened is None:
                opened = CLOCK.time()  # the window opens with the first record
            timeout = _batch_wait(available, batch_size, opened, window)
            if timeout is None:
                break
            if signal is None:
                self.wait(timeout)
            else:
                with signal:
                    if self.source.length() - position == available:
                        signal.wait(timeout)
            if not mapping.enabled:
                return
        if self.stopping:
            return
        records = self.source.read(position, position + batch_size)
        if records:
            self._process(self._fit(records))

    def _fit(self, records: list[StreamRecord]) -> list[StreamRecord]:
        """At most 6 MB of event: fewer records per batch when they are large."""
        size = 100
        for count, record in enumerate(records):
            size += record.size
            if size > MAX_PAYLOAD_BYTES and count > 0:
                return records[:count]
        return records

    def _run_lanes(self, factor: int, batch_size: int) -> None:
        """ParallelizationFactor > 1: this thread reads the shard and deals its records to `factor` lanes (a thread
        each) by their order key, until the mapping is disabled or stopped or its factor or batch size change;
        then the lanes finish the invocation they are in and what they hold is dropped, to be read again from
        the checkpoint (records done past it are skipped)."""
        mapping = self.mapping
        identity = self.source.identity()
        checkpoint = self.delivery.checkpoints[self.key]
        over = threading.Event()

        def halted() -> bool:
            return over.is_set() or self.stopping or not mapping.enabled

        lanes = [_Lane(self, index, halted, over) for index in range(factor)]
        for lane in lanes:
            lane.start()
        # Read-ahead: at most two batches per lane past the checkpoint.
        ahead = 2 * batch_size * factor
        cursor = checkpoint.position
        signal = self.source.signal()
        try:
            while not halted():
                if (
                    _factor(mapping) != factor
                    or int(mapping.batch_size or 100) != batch_size
                    or self.source.identity() != identity
                ):
                    return
                length = self.source.length()
                end = min(length, checkpoint.position + ahead)
                if cursor < end:
                    records = self.source.read(cursor, min(end, cursor + batch_size * factor))
                    if records:
                        cursor = records[-1].position + 1
                        dealt: dict[int, list[StreamRecord]] = collections.defaultdict(list)
                        done = checkpoint.done
                        for record in records:
                            if record.position not in done:  # done before a restart
                                dealt[_lane_of(self.source.order_key(record), factor)].append(record)
                        for index, chunk in dealt.items():
                            lanes[index].put(chunk)
                        continue
                if cursor < length:  # as far ahead as allowed: wait for the checkpoint to move
                    with self._progress:
                        if checkpoint.position + ahead <= cursor:
                            self._progress.wait(0.1)
                elif signal is None:
                    self.wait(0.5)
                else:
                    with signal:
                        if self.source.length() == length:
                            signal.wait(0.5)
        finally:
            over.set()
            for lane in lanes:
                lane.join()

    def _process(self, records: list[StreamRecord], halted: Callable[[], bool] | None = None) -> None:
        """Resolve `records` (in order) completely, unless stopped; the checkpoint follows."""
        mapping = self.mapping
        pending: collections.deque[tuple[list[StreamRecord], int]] = collections.deque([(records, 0)])
        throttle_delay = 0.1
        while pending:
            if (halted is not None and halted()) or self.stopping or not mapping.enabled:
                return  # the checkpoint stays before what is unresolved
            batch, retries = pending.popleft()
            batch = self._drop_expired(batch, retries)
            if not batch:
                continue
            kept = self._apply_filters(batch)
            if not kept:
                self._done(batch, succeeded=0)
                continue
            outcome = self._invoke(kept)
            if outcome == "throttled":
                # Throttles do not count as retries: back off (exponentially, up to 2 s) and send the batch again.
                pending.appendleft((batch, retries))
                self.wait(throttle_delay)
                throttle_delay = min(throttle_delay * 2, 2.0)
                continue
            throttle_delay = 0.1
            if outcome is None:
                if self.delivery.cloud.faults.duplicate(self.delivery.name.split("-")[0]):
                    # At-least-once: the batch is sent again (as after a checkpoint that did not stick).
                    self._count(duplicates=1)
                    self._invoke(kept)
                self._done(batch, succeeded=len(kept))
                continue
            if isinstance(outcome, int):  # ReportBatchItemFailures: kept[outcome] is the lowest failure
                failed_from = kept[outcome].position
                done = [r for r in batch if r.position < failed_from]
                if done:
                    self._done(done, succeeded=outcome)
                remaining = [r for r in batch if r.position >= failed_from]
                self._count(item_failures=1)
                self._failed(pending, remaining, retries, bisect=False)
                continue
            self._failed(pending, batch, retries, bisect=bool(mapping.bisect_on_error))

    def _failed(self, pending: collections.deque[tuple[list[StreamRecord], int]], batch: list[StreamRecord], retries: int, bisect: bool) -> None:
        mapping = self.mapping
        if bisect and len(batch) > 1:
            middle = len(batch) // 2
            self._count(bisects=1)
            # Halves keep the retry count: "splitting a batch does not count towards the retry quota".
            pending.appendleft((batch[middle:], retries))
            pending.appendleft((batch[:middle], retries))
            return
        max_retries = -1 if mapping.max_retry_attempts is None else int(mapping.max_retry_attempts)
        if max_retries != -1 and retries >= max_retries:
            self._on_failure(batch, "RetryAttemptsExhausted", retries + 1)
            return
        self._count(retries=1)
        self.wait(min(self.delivery.cloud.config.stream_retry_delay * 2**retries, 1.0))
        pending.appendleft((batch, retries + 1))

    def _drop_expired(self, batch: list[StreamRecord], retries: int) -> list[StreamRecord]:
        max_age = self.mapping.max_record_age
        if max_age is None or int(max_age) == -1:
            return batch
        now = CLOCK.time()
        expired = [r for r in batch if now - r.arrival > int(max_age)]
        if not expired:
            return batch
        # Records arrive in order, so the expired ones are a prefix of the batch.
        self._count(expired=len(expired))
        self._on_failure(expired, "RecordAgeExceeded", retries)
        return [r for r in batch if now - r.arrival <= int(max_age)]

    def _apply_filters(self, batch: list[StreamRecord]) -> list[StreamRecord]:
        filters = ((self.mapping.filter_criteria or {}).get("Filters")) or []
        if not filters:
            return batch
        patterns = self.delivery.patterns(filters)
        return [r for r in batch if any(p.matches(self.source.filter_view(r)) for p in patterns)]

    def _invoke(self, kept: list[StreamRecord]) -> int | str | None:
        """None = success; an int = index of the lowest reported item failure; "error" or "throttled"."""
        stats = self.stats
        cloud = self.delivery.cloud
        now = CLOCK.time()
        age_ms = max(0.0, (now - kept[-1].arrival) * 1000)
        stats.iterator_age_ms = round(age_ms, 3)
        stats.recent_iterator_age_ms.append(age_ms)
        payload = json.dumps({"Records": [r.event for r in kept]}).encode()
        started = time.perf_counter()
        try:
            fn = cloud.lambdas.function(self.mapping.function_arn)
            result = cloud.lambdas.invoke(fn, payload)
        except Throttled as exc:
            self._count(str(exc), throttles=1)
            return "throttled"
        except Exception as exc:  # the function was deleted, its code is broken, ...
            self._count(f"{type(exc).__name__}: {exc}", function_errors=1)
            self._local.last_request = None
            return "error"
        stats.recent_batch_ms.append((time.perf_counter() - started) * 1000)
        self._count(batches=1)
        with self.delivery.stats_lock:
            stats.batch_sizes[len(kept)] += 1
        self._local.last_request = result.request_id
        if result.errored:
            self._count(result.payload.decode("utf-8", "replace")[:500], function_errors=1)
            return "error"
        if "ReportBatchItemFailures" in (self.mapping.function_response_types or []):
            lowest = reported_failures(result.payload, [r.sequence for r in kept])
            if lowest is None:
                self._count(f"invalid batchItemFailures response: {result.payload[:300]!r}", function_errors=1)
                return "error"
            if lowest < len(kept):
                return lowest
        return None

    def _count(self, error: str | None = None, **deltas: int) -> None:
        """Add `deltas` to the mapping's counters (and note `error`) under one lock: the shards and the lanes of a
        mapping count into the same stats from their own threads."""
        stats = self.stats
        with self.delivery.stats_lock:
            for name, delta in deltas.items():
                setattr(stats, name, getattr(stats, name) + delta)
            if error is not None:
                stats.last_error = error

    def _done(self, records: list[StreamRecord], succeeded: int) -> None:
        """`records` are done: `succeeded` of them reached the function, the others were filtered out."""
        self._count(succeeded=succeeded, filtered_out=len(records) - succeeded, records_done=len(records))
        self._settle(records)

    def _on_failure(self, records: list[StreamRecord], condition: str, invoke_count: int) -> None:
        self._count(on_failure=len(records), records_done=len(records))
        destination = ((self.mapping.destination_config or {}).get("OnFailure") or {}).get("Destination")
        if destination:
            record = {
                "requestContext": {
                    "requestId": getattr(self._local, "last_request", None) or str(uuid.uuid4()),
                    "functionArn": self.mapping.function_arn,
                    "condition": condition,
                    "approximateInvokeCount": invoke_count,
                },
                "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
                "version": "1.0",
                "timestamp": _iso_ms(CLOCK.time()),
                self.source.batch_info_key: {
                    "shardId": self.source.shard_id,
                    "startSequenceNumber": records[0].sequence,
                    "endSequenceNumber": records[-1].sequence,
                    "approximateArrivalOfFirstRecord": _iso_ms(records[0].arrival),
                    "approximateArrivalOfLastRecord": _iso_ms(records[-1].arrival),
                    "batchSize": len(records),
                    "streamArn": self.source.source_arn,
                },
            }
            try:
                targets.send(self.delivery.cloud, destination, record)
                self._count(on_failure_records_sent=1)
            except targets.DeliveryError as exc:
                self._count(f"on-failure destination {destination}: {exc}", destination_errors=1)
                log.error("mapping %s: on-failure destination failed: %s", self.mapping.uuid, exc)
        self._settle(records)

    def lag(self) -> tuple[int, float]:
        """Records not yet done in this shard, and the age (s) of the oldest of them."""
        checkpoint = self.delivery.checkpoints.get(self.key)
        if checkpoint is None:
            return 0, 0.0
        length = self.source.length()
        if checkpoint.position >= length:
            return 0, 0.0
        arrival = self.source.arrival_at(checkpoint.position)
        return length - checkpoint.position, max(0.0, CLOCK.time() - arrival) if arrival is not None else 0.0


def _factor(mapping: EventSourceMapping) -> int:
    return max(1, min(10, int(mapping.parallelization_factor or 1)))


def _lane_of(key: str, factor: int) -> int:
    return zlib.crc32(key.encode()) % factor


def _batch_wait(available: int, batch_size: int, opened: float | None, window: float) -> float | None:
    """None when a batch is ready: `batch_size` records, or some and the batching window (opened with the first of
    them at `opened`) closed; otherwise how long to wait for more records before looking again. Shared by a shard's
    reader (ParallelizationFactor 1) and its lanes (above 1)."""
    if available >= batch_size:
        return None
    if not available:
        return 0.5
    now = CLOCK.time()
    deadline = (now if opened is None else opened) + window
    if now >= deadline:
        return None
    return min(0.1, deadline - now)


class _Lane:
    """One of a shard's ParallelizationFactor batchers: the records whose order key it was dealt, in order, in
    batches of the mapping's size gathered for at most its batching window, resolved one batch at a time."""

    def __init__(self, poller: ShardPoller, index: int, halted: Callable[[], bool], over: threading.Event) -> None:
        self.poller = poller
        self.halted = halted
        self.over = over
        self.records: collections.deque[StreamRecord] = collections.deque()
        self.opened: float | None = None  # when the batching window opened (the clock), None when empty
        self.cond = threading.Condition()
        self.thread = threading.Thread(target=self._run, name=f"{poller.name}-lane{index}", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def join(self) -> None:
        with self.cond:
            self.cond.notify_all()
        if self.thread.is_alive() and threading.current_thread() is not self.thread:
            self.thread.join(timeout=30)

    def put(self, records: list[StreamRecord]) -> None:
        with self.cond:
            if not self.records:
                self.opened = CLOCK.time()
            self.records.extend(records)
            self.cond.notify_all()

    def _run(self) -> None:
        try:
            while not self.halted():
                batch = self._next_batch()
                if batch:
                    self.poller._process(batch, self.halted)
        except Exception:
            log.exception("%s failed: the shard is read again from its checkpoint", self.thread.name)
            self.over.set()

    def _next_batch(self) -> list[StreamRecord]:
        mapping = self.poller.mapping
        with self.cond:
            while True:
                if self.halted():
                    return []
                batch_size = int(mapping.batch_size or 100)
                timeout = _batch_wait(len(self.records), batch_size, self.opened, float(mapping.max_batch_window or 0))
                if timeout is None:
                    break
                self.cond.wait(timeout)
            batch = self.poller._fit(list(itertools.islice(self.records, batch_size)))
            for _ in batch:
                self.records.popleft()
            self.opened = CLOCK.time() if self.records else None
            return batch


class StreamDelivery(Delivery):
    """Pollers for the mappings whose source ARN has `service` (kinesis, dynamodb), one per shard."""

    service = ""

    def __init__(self, cloud: LocalCloud) -> None:
        super().__init__(cloud)
        self._pollers: dict[tuple[str, str], ShardPoller] = {}
        self.checkpoints: dict[tuple[str, str], _Checkpoint] = {}
        self.stats: dict[str, MappingStats] = collections.defaultdict(MappingStats)
        self.stats_lock = threading.Lock()
        self._patterns: dict[str, list[Any]] = {}
        self._lock = threading.Lock()

    @abstractmethod
    def shards(self, mapping: EventSourceMapping) -> list[ShardSource]:
        """The mapping's source shards as they are now (empty when the source is gone)."""

    def mappings(self) -> dict[str, EventSourceMapping]:
        from moto.awslambda.models import lambda_backends

        found = {}
        for regions in lambda_backends.values():
            for backend in regions.values():
                for uuid_, mapping in list(backend._event_source_mappings.items()):
                    if mapping.event_source_arn.split(":")[2] == self.service:
                        found[uuid_] = mapping
        return found

    def patterns(self, filters: list[dict[str, Any]]) -> list[Any]:
        # One pattern engine for every filter in the local cloud (rules, SQS and stream filters): EventBridge's
        # semantics. An invalid pattern was refused at CreateEventSourceMapping (patches/lambda_).
        key = json.dumps(filters, sort_keys=True)
        if key not in self._patterns:
            self._patterns[key] = [patterns.compile(f["Pattern"]) for f in filters if f.get("Pattern")]
        return self._patterns[key]

    def reconcile(self) -> None:
        mappings = self.mappings()
        with self._lock:
            wanted: dict[tuple[str, str], tuple[EventSourceMapping, ShardSource]] = {}
            for uuid_, mapping in mappings.items():
                for source in self.shards(mapping):
                    wanted[(uuid_, source.shard_id)] = (mapping, source)
            for key in list(self._pollers):
                if key not in wanted or self._pollers[key].mapping is not wanted[key][0]:
                    self._pollers.pop(key).stop(join=False)
            for key, (mapping, source) in wanted.items():
                if key not in self._pollers:
                    poller = ShardPoller(self, mapping, source)
                    self._pollers[key] = poller
                    poller.start()
            for key in list(self.checkpoints):
                if key[0] not in mappings:
                    del self.checkpoints[key]

    def stop(self) -> None:
        with self._lock:
            for poller in self._pollers.values():
                poller.stop(join=False)
            self._pollers.clear()

    def status(self) -> list[dict[str, Any]]:
        rows = []
        with self._lock:
            pollers = list(self._pollers.values())
        for uuid_, mapping in self.mappings().items():
            stats = self.stats[uuid_]
            mine = [p for p in pollers if p.mapping.uuid == uuid_]
            lags = [p.lag() for p in mine]
            rows.append(
                {
                    "kind": self.service,
                    "uuid": uuid_,
                    "source": mapping.event_source_arn.split(":", 5)[-1],
                    "function": mapping.function_arn.split(":")[6] if mapping.function_arn.count(":") >= 6 else mapping.function_arn,
                    "enabled": bool(mapping.enabled),
                    "shards": len(mine),
                    "parallelization_factor": int(mapping.parallelization_factor or 1),
                    "batches": stats.batches,
                    "records_done": stats.records_done,
                    "succeeded": stats.succeeded,
                    "on_failure": stats.on_failure,
                    "on_failure_records_sent": stats.on_failure_records_sent,
                    "filtered_out": stats.filtered_out,
                    "function_errors": stats.function_errors,
                    "item_failures": stats.item_failures,
                    "retries": stats.retries,
                    "bisects": stats.bisects,
                    "expired": stats.expired,
                    "throttles": stats.throttles,
                    "duplicates": stats.duplicates,
                    "destination_errors": stats.destination_errors,
                    "lag_records": sum(n for n, _ in lags),
                    "oldest_pending_age_ms": round(max((age for _, age in lags), default=0.0) * 1000, 3),
                    "iterator_age_ms": stats.iterator_age_ms,
                    "iterator_age_ms_p50": _pct(stats.recent_iterator_age_ms, 0.5),
                    "iterator_age_ms_p99": _pct(stats.recent_iterator_age_ms, 0.99),
                    "batch_ms_p50": _pct(stats.recent_batch_ms, 0.5),
                    "batch_ms_p99": _pct(stats.recent_batch_ms, 0.99),
                    "mean_batch": round(sum(k * v for k, v in stats.batch_sizes.items()) / stats.batches, 2) if stats.batches else None,
                    "checkpoints": {
                        shard: self.checkpoints[(u, shard)].position for (u, shard) in list(self.checkpoints) if u == uuid_
                    },
                    "last_error": stats.last_error,
                    "at": CLOCK.time(),
                }
            )
        return rows
