"""Pipeline 5, the scorer: a batch of Kinesis transaction records (one shard, in order) -> per-user features in
the feature store, a rule verdict and a model score per transaction, ``FraudSuspected`` alerts.

Pure logic: AWS clients, names and the model come in as arguments; nothing here reads the environment or logs.

Designed for throughput against one DynamoDB/EventBridge endpoint: the number of calls depends on the batch,
not on its records (per-record calls made an earlier version 4x slower than the poller):

1. ``parse`` the records in order, up to the first that can never be scored (not JSON, breaks the
   ``transaction`` contract). That record and every one after it are not scored in this invocation: they are
   reported as failures, so Lambda retries from it; when it is the first of the batch, every record fails, the
   invocation fails and Lambda bisects the batch down to that one record, retries it and sends its on-failure
   record. The others are all scored;
2. one ``BatchGetItem`` for the state of every user in the batch (100 keys a call);
3. each transaction in order: assessed against its user's state (``sluice_ml.fraud``: haversine distance and
   time from the previous transaction, the seed's rule, the model's input vector), then folded into the state.
   A user's transactions are in one shard (partition key) and in order inside the batch, so the state carried
   from one to the next is right without a read per record. A record whose sequence number is not past the
   state's last one was already applied (a retried batch) and is skipped;
4. one ``session.run`` of the model over the whole batch;
5. alerts (rule hit, or model score >= threshold): ``PutEvents`` 10 per call (``sluice.publish``), then one
   ``BatchWriteItem`` per 25 into the alerts table (its stream feeds the audit function), then the users' new
   state, ``BatchWriteItem`` 25 per call. Effects run in that order, so a failure part-way leaves nothing
   unpublished: the retried batch publishes again (at least once: alert ids are stable per record) and
   rewrites the same items.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
from sluice import contracts
from sluice.errors import PermanentError, SchemaViolation
from sluice.publish import DomainEvent, EventPublisher
from sluice_ml.fraud import Assessment, Rule, Txn, UserState, assess

SOURCE = "sluice.fraud"
DETAIL_TYPE = "FraudSuspected"
RULE_REASON = "impossible_travel_high_amount"
MODEL_REASON = "model_score"
BATCH_GET_KEYS = 100
BATCH_WRITE_ITEMS = 25
ALERT_TTL_SECONDS = 90 * 86400
STATE_TTL_SECONDS = 180 * 86400


class UnscorableRecord(PermanentError):
    """The record can never be scored (not JSON, not a transaction)."""

    code = "unscorable_record"
    stage = "parse"


class NotAttempted(Exception):
    """An earlier record of the batch failed: this one is retried after it (Kinesis keeps the order)."""


class WriteIncomplete(RuntimeError):
    """DynamoDB left items unprocessed after every retry (throttling): the batch is retried."""


class PublishIncomplete(RuntimeError):
    """Alerts could not be published: the batch is retried."""


def utc_iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, tz=UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class Ports:
    dynamodb: Any
    publisher: EventPublisher
    features_table: str
    alerts_table: str
    rule: Rule = field(default_factory=Rule)
    threshold: float = 0.7
    clock: Callable[[], float] = field(default=time.time)
    sleep: Callable[[float], None] = field(default=time.sleep)
    write_attempts: int = 6


@dataclass
class Item:
    """One record's way through the batch."""

    sequence: str
    shard: str
    event_id: str
    source_arn: str
    txn: Txn | None = None
    record: dict[str, Any] | None = None
    assessment: Assessment | None = None
    previous: UserState | None = None
    score: float | None = None
    reasons: list[str] = field(default_factory=list)
    duplicate: bool = False  # already applied by an earlier attempt of this batch
    error: BaseException | None = None

    @property
    def alert_id(self) -> str:
        return hashlib.sha256(f"{self.source_arn}|{self.event_id}".encode()).hexdigest()[:32]


@dataclass
class BatchResult:
    items: list[Item]
    model_version: str | None = None
    scored: int = 0
    alerts: list[dict[str, Any]] = field(default_factory=list)
    duplicates: int = 0
    late: int = 0
    calls: dict[str, int] = field(default_factory=dict)
    timings_ms: dict[str, float] = field(default_factory=dict)

    def errors(self) -> dict[str, BaseException]:
        """Sequence number -> why the record is reported as a batch item failure."""
        return {item.sequence: item.error for item in self.items if item.error is not None}


def parse(record: dict[str, Any]) -> tuple[Txn, dict[str, Any]]:
    """A Kinesis event record -> the transaction (UnscorableRecord if it can never be scored)."""
    try:
        body = json.loads(base64.b64decode(record["kinesis"]["data"], validate=True))
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise UnscorableRecord(f"data is not base64 JSON: {exc}") from None
    try:
        contracts.validate("transaction", body)
    except SchemaViolation as exc:
        raise UnscorableRecord(str(exc)) from None
    try:
        txn = Txn.from_record(body)
    except ValueError as exc:
        raise UnscorableRecord(str(exc)) from None
    if not math.isfinite(txn.amount):
        raise UnscorableRecord("amount is not finite")
    return txn, body


# --- the feature store ----------------------------------------------------------------------------------------


def _num(value: float | int) -> dict[str, str]:
    return {"N": repr(round(float(value), 6)) if isinstance(value, float) else str(value)}


def state_item(state: UserState, now: float) -> dict[str, Any]:
    """The feature store's item: the features packed in one attribute (what the scorer reads back), the count
    for people and queries, the TTL. Few attributes on purpose: the local cloud's DynamoDB (moto) spends time
    per attribute on every write, quadratically in their number."""
    features = {
        "lat": state.last_lat,
        "lon": state.last_lon,
        "time": state.last_time,
        "count": state.count,
        "mean": round(state.amount_mean, 6),
        "max": state.amount_max,
        "late": state.late,
        "txn": state.last_transaction_id,
        "seq": state.last_sequence,
        "shard": state.last_shard,
        "updated_at": utc_iso(now),
    }
    return {
        "user_id": {"S": state.user_id},
        "features": {"S": json.dumps(features, separators=(",", ":"))},
        "txn_count": _num(state.count),
        "expires_at": _num(int(now + STATE_TTL_SECONDS)),
    }


def state_from_item(item: dict[str, Any]) -> UserState:
    features = json.loads(item["features"]["S"])
    return UserState(
        user_id=item["user_id"]["S"],
        last_lat=float(features["lat"]),
        last_lon=float(features["lon"]),
        last_time=float(features["time"]),
        count=int(features["count"]),
        amount_mean=float(features["mean"]),
        amount_max=float(features["max"]),
        late=int(features["late"]),
        last_transaction_id=str(features["txn"]),
        last_sequence=str(features["seq"]),
        last_shard=str(features["shard"]),
    )


def read_states(ports: Ports, users: Sequence[str], calls: dict[str, int]) -> dict[str, UserState]:
    """One BatchGetItem per 100 users (plus retries of unprocessed keys)."""
    states: dict[str, UserState] = {}
    for offset in range(0, len(users), BATCH_GET_KEYS):
        request: dict[str, Any] = {
            ports.features_table: {
                "Keys": [{"user_id": {"S": u}} for u in users[offset : offset + BATCH_GET_KEYS]]
            }
        }
        for attempt in range(ports.write_attempts):
            calls["batch_get_item"] = calls.get("batch_get_item", 0) + 1
            response = ports.dynamodb.batch_get_item(RequestItems=request)
            for item in response.get("Responses", {}).get(ports.features_table, []):
                state = state_from_item(item)
                states[state.user_id] = state
            request = response.get("UnprocessedKeys") or {}
            if not request:
                break
            ports.sleep(min(1.0, 0.05 * 2**attempt))
        if request:
            raise WriteIncomplete(
                f"BatchGetItem left {len(request[ports.features_table]['Keys'])} keys unprocessed"
            )
    return states


def write_items(ports: Ports, table: str, items: Sequence[dict[str, Any]], calls: dict[str, int]) -> None:
    """BatchWriteItem, 25 puts a call; unprocessed items are sent again with backoff (boto3 does not)."""
    for offset in range(0, len(items), BATCH_WRITE_ITEMS):
        pending = [{"PutRequest": {"Item": item}} for item in items[offset : offset + BATCH_WRITE_ITEMS]]
        for attempt in range(ports.write_attempts):
            calls["batch_write_item"] = calls.get("batch_write_item", 0) + 1
            response = ports.dynamodb.batch_write_item(RequestItems={table: pending})
            pending = (response.get("UnprocessedItems") or {}).get(table, [])
            if not pending:
                break
            ports.sleep(min(1.0, 0.05 * 2**attempt))
        if pending:
            raise WriteIncomplete(f"BatchWriteItem left {len(pending)} items of {table} unprocessed")


# --- the batch ------------------------------------------------------------------------------------------------


def _sequence_after(sequence: str, last: str) -> bool:
    try:
        return int(sequence) > int(last)
    except ValueError:
        return True


def process_batch(records: Sequence[dict[str, Any]], ports: Ports, model: Any | None) -> BatchResult:
    """Score ``records`` (one shard's batch, in order). ``model``: a LoadedModel or None (rule only)."""
    started = time.perf_counter()
    items = [
        Item(
            sequence=str(r.get("kinesis", {}).get("sequenceNumber", "")),
            shard=str(r.get("eventID", "")).split(":", 1)[0],
            event_id=str(r.get("eventID", "")),
            source_arn=str(r.get("eventSourceARN", "")),
        )
        for r in records
    ]
    result = BatchResult(items, model_version=getattr(model, "version", None))
    calls = result.calls

    # 1. parse up to the first record that can never be scored
    scorable: list[Item] = []
    for index, (item, record) in enumerate(zip(items, records, strict=True)):
        try:
            item.txn, item.record = parse(record)
        except UnscorableRecord as exc:
            item.error = exc
            for later in items[index + 1 :]:
                later.error = NotAttempted(f"record {item.sequence} before it failed")
            break
        scorable.append(item)
    parsed = time.perf_counter()

    # 2. the users' state, one read per 100 users
    users = list(dict.fromkeys(item.txn.user_id for item in scorable if item.txn is not None))
    states = read_states(ports, users, calls) if users else {}
    read = time.perf_counter()

    # 3. assess in order, carrying each user's state
    touched: dict[str, UserState] = {}
    to_score: list[Item] = []
    for item in scorable:
        txn = item.txn
        assert txn is not None
        state = states.get(txn.user_id)
        if (
            state is not None
            and state.last_shard == item.shard
            and not _sequence_after(item.sequence, state.last_sequence)
        ):
            item.duplicate = True
            result.duplicates += 1
            continue
        item.previous = state
        item.assessment = assess(txn, state, ports.rule)
        result.late += int(state is not None and txn.time < state.last_time)
        states[txn.user_id] = (
            state.advance(txn, sequence=item.sequence, shard=item.shard)
            if state is not None
            else UserState.first(txn, sequence=item.sequence, shard=item.shard)
        )
        touched[txn.user_id] = states[txn.user_id]
        to_score.append(item)
    assessed = time.perf_counter()

    # 4. one model run for the batch
    if model is not None and to_score:
        matrix = np.asarray(
            [item.assessment.vector for item in to_score if item.assessment], dtype=np.float32
        )
        _, probabilities = model.session.run(None, {model.input_name: matrix})
        for item, probability in zip(to_score, np.asarray(probabilities)[:, 1], strict=True):
            item.score = round(float(probability), 6)
    inferred = time.perf_counter()

    # 5. alerts, then the state
    now = ports.clock()
    for item in to_score:
        assert item.assessment is not None
        if item.assessment.rule_hit:
            item.reasons.append(RULE_REASON)
        if item.score is not None and item.score >= ports.threshold:
            item.reasons.append(MODEL_REASON)
        if item.reasons:
            result.alerts.append(alert_detail(item, model, ports.threshold, now))
    if result.alerts:
        events = [
            DomainEvent.validated(
                "fraud_suspected",
                source=SOURCE,
                detail_type=DETAIL_TYPE,
                detail=detail,
                tag=detail["alert_id"],
            )
            for detail in result.alerts
        ]
        published = ports.publisher.publish(events)
        calls["put_events"] = published.calls
        if not published.ok:
            failure = published.failed[0]
            raise PublishIncomplete(
                f"{len(published.failed)} alert(s) not published: {failure.code} {failure.message}"
            )
        write_items(ports, ports.alerts_table, [alert_item(detail, now) for detail in result.alerts], calls)
    published_at = time.perf_counter()
    if touched:
        write_items(
            ports, ports.features_table, [state_item(state, now) for state in touched.values()], calls
        )
    result.scored = len(to_score)
    ended = time.perf_counter()
    result.timings_ms = {
        "parse": (parsed - started) * 1000,
        "read_state": (read - parsed) * 1000,
        "assess": (assessed - read) * 1000,
        "model": (inferred - assessed) * 1000,
        "alerts": (published_at - inferred) * 1000,
        "write_state": (ended - published_at) * 1000,
        "total": (ended - started) * 1000,
    }
    return result


def alert_detail(item: Item, model: Any | None, threshold: float, now: float) -> dict[str, Any]:
    txn, assessment, record = item.txn, item.assessment, item.record
    assert txn is not None and assessment is not None and record is not None
    previous = item.previous
    detail: dict[str, Any] = {
        "alert_id": item.alert_id,
        "transaction_id": txn.transaction_id,
        "user_id": txn.user_id,
        "amount": txn.amount,
        "location": {"lat": txn.lat, "lon": txn.lon},
        "previous_location": None
        if previous is None
        else {"lat": previous.last_lat, "lon": previous.last_lon},
        "distance_miles": None if assessment.distance_miles is None else round(assessment.distance_miles, 1),
        "seconds_since_previous": None
        if assessment.seconds_since is None
        else round(assessment.seconds_since, 1),
        "transaction_time": record["time"],
        "reasons": list(item.reasons),
        "model": None
        if model is None or item.score is None
        else {
            "name": str(model.name),
            "version": str(model.version),
            "score": item.score,
            "threshold": threshold,
        },
        "detected_at": utc_iso(now),
        "source": {"shard_id": item.shard, "sequence_number": item.sequence},
    }
    if "currency" in record:
        detail["currency"] = record["currency"]
    if "merchant" in record:
        detail["merchant"] = record["merchant"]
    return detail


def alert_item(detail: dict[str, Any], now: float) -> dict[str, Any]:
    """The alerts table's item: keys to query by, and the event's detail as published."""
    model = detail.get("model") or {}
    item = {
        "alert_id": {"S": detail["alert_id"]},
        "transaction_id": {"S": detail["transaction_id"]},
        "user_id": {"S": detail["user_id"]},
        "reasons": {"SS": list(detail["reasons"])},
        "detected_at": {"S": detail["detected_at"]},
        "detail": {"S": json.dumps(detail, separators=(",", ":"), sort_keys=True)},
        "expires_at": _num(int(now + ALERT_TTL_SECONDS)),
    }
    if "score" in model:
        item["score"] = _num(float(model["score"]))
    return item
