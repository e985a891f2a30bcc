"""Pipeline 5's synthetic transaction stream: users, their habits, labelled fraud patterns, and the evaluation
of what the scorer flagged (used by ``sluicectl stream``, the fraud model's training, the e2e tests and
``bench/stream.py``).

Every user has a home city and a typical spend (10 % are big spenders). Transactions come in event-time order
across users (a heap of each user's next transaction); most are near home with a lognormal amount. Patterns
are injected at the given rates:

* ``rule`` (the seed's fraud): a card used > 1,200 miles from the previous transaction 5-50 minutes after it,
  for 5,200-15,000;
* ``anomaly`` (threshold anomaly): 12-40x the user's typical amount, at home;
* decoys the rule must not flag: ``travel`` (far away 2-8 hours later, normal amount), ``fast_small`` (far
  away within the hour, under 4,800), ``slow_big`` (far away and over 5,000, but 1.5-4 hours later),
  ``big_local`` (over 5,000 at home, big spenders only).

Labels are ground truth computed on the final sequence: a transaction is labelled ``rule`` when the seed's rule
holds against the user's true previous transaction (every injected ``rule`` case, and any accident the random
draws make), ``anomaly`` when injected as one, ``legit`` otherwise. The scorer sees none of this.
"""

from __future__ import annotations

import base64
import heapq
import json
import math
import random
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from .terraform import ROOT

RULE_REASON = "impossible_travel_high_amount"
MODEL_REASON = "model_score"

# (city, lat, lon): far enough apart that most pairs are > 1,000 miles.
CITIES = (
    ("New York", 40.7128, -74.0060),
    ("Los Angeles", 34.0522, -118.2437),
    ("Chicago", 41.8781, -87.6298),
    ("Houston", 29.7604, -95.3698),
    ("Miami", 25.7617, -80.1918),
    ("Seattle", 47.6062, -122.3321),
    ("Denver", 39.7392, -104.9903),
    ("Boston", 42.3601, -71.0589),
    ("Atlanta", 33.7490, -84.3880),
    ("San Francisco", 37.7749, -122.4194),
    ("London", 51.5074, -0.1278),
    ("Paris", 48.8566, 2.3522),
    ("Berlin", 52.5200, 13.4050),
    ("Madrid", 40.4168, -3.7038),
    ("Lagos", 6.5244, 3.3792),
    ("Cairo", 30.0444, 31.2357),
    ("Dubai", 25.2048, 55.2708),
    ("Mumbai", 19.0760, 72.8777),
    ("Singapore", 1.3521, 103.8198),
    ("Tokyo", 35.6762, 139.6503),
    ("Sydney", -33.8688, 151.2093),
    ("Sao Paulo", -23.5505, -46.6333),
    ("Mexico City", 19.4326, -99.1332),
    ("Toronto", 43.6532, -79.3832),
)
MERCHANTS = (
    ("grocer", "grocery"),
    ("fuel", "fuel"),
    ("cafe", "restaurants"),
    ("bistro", "restaurants"),
    ("pharmacy", "health"),
    ("electronics", "electronics"),
    ("jeweller", "jewellery"),
    ("airline", "travel"),
    ("hotel", "travel"),
    ("online-market", "online"),
    ("bookshop", "books"),
    ("gym", "services"),
)
PATTERNS = ("rule", "anomaly", "travel", "fast_small", "slow_big", "big_local")
DEFAULT_RATES = {
    "rule": 0.02,
    "anomaly": 0.02,
    "travel": 0.03,
    "fast_small": 0.02,
    "slow_big": 0.01,
    "big_local": 0.02,
}


def _fraud():
    """``sluice_ml.fraud`` from the ml layer's source: the scorer's own features and rule."""
    layer = str(ROOT / "layers" / "ml" / "python")
    if layer not in sys.path:
        sys.path.append(layer)
    from sluice_ml import fraud

    return fraud


def iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, tz=UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class User:
    user_id: str
    home: tuple[float, float]
    mean: float  # typical amount
    big_spender: bool
    at: tuple[float, float]  # where the user is now (home, or a city they travelled to)
    next_time: float
    next_kind: str = "normal"
    count: int = 0
    last: tuple[float, float] = (0.0, 0.0)  # where the previous transaction was


@dataclass
class Sample:
    """One record of the stream: what is sent, and what the generator knows about it."""

    index: int
    user_id: str
    transaction_id: str
    kind: str  # normal | one of PATTERNS | poison
    label: str = "legit"  # legit | rule | anomaly | poison
    record: dict[str, Any] | None = None  # None for a poison record
    raw: bytes = b""

    @property
    def data(self) -> bytes:
        return self.raw if self.record is None else json.dumps(self.record, separators=(",", ":")).encode()

    @property
    def fraud(self) -> bool:
        return self.label in ("rule", "anomaly")


@dataclass
class StreamRun:
    run_id: str
    samples: list[Sample]
    users: list[str]

    @property
    def labels(self) -> Counter[str]:
        return Counter(s.label for s in self.samples)

    @property
    def kinds(self) -> Counter[str]:
        return Counter(s.kind for s in self.samples)

    def by_transaction(self) -> dict[str, Sample]:
        return {s.transaction_id: s for s in self.samples}


def _near(rng: random.Random, point: tuple[float, float], miles: float = 15.0) -> tuple[float, float]:
    """A point within ``miles`` of ``point``."""
    distance = miles * math.sqrt(rng.random())
    bearing = rng.uniform(0, 2 * math.pi)
    dlat = distance / 69.0 * math.cos(bearing)
    dlon = distance / (69.0 * max(0.2, math.cos(math.radians(point[0])))) * math.sin(bearing)
    return (round(point[0] + dlat, 5), round(point[1] + dlon, 5))


def _far_city(
    rng: random.Random, origin: tuple[float, float], min_miles: float = 1200.0
) -> tuple[float, float]:
    haversine = _fraud().haversine_miles
    far = [(lat, lon) for _, lat, lon in CITIES if haversine(origin[0], origin[1], lat, lon) > min_miles]
    return _near(rng, rng.choice(far), 10.0)


def _gap(rng: random.Random, kind: str) -> float:
    """Seconds from the previous transaction to one of this kind."""
    if kind in ("rule", "fast_small"):
        return rng.uniform(5 * 60, 50 * 60)
    if kind == "travel":
        return rng.uniform(2 * 3600, 8 * 3600)
    if kind == "slow_big":
        return rng.uniform(1.5 * 3600, 4 * 3600)
    return max(120.0, rng.expovariate(1 / (4 * 3600)))


def _pick_kind(rng: random.Random, user: User, rates: dict[str, float]) -> str:
    draw = rng.random()
    for kind in PATTERNS:
        rate = rates.get(kind, 0.0)
        if draw < rate:
            if kind == "big_local" and not user.big_spender:
                return "normal"
            return kind
        draw -= rate
    return "normal"


def generate(
    count: int,
    *,
    users: int = 200,
    seed: int = 7,
    rates: dict[str, float] | None = None,
    run_id: str | None = None,
    start: float | None = None,
    poison: Sequence[int] = (),
) -> StreamRun:
    """``count`` transactions (plus a poison record at each index in ``poison``), in event-time order."""
    rng = random.Random(seed)
    rates = {**DEFAULT_RATES, **(rates or {})}
    run_id = run_id or uuid.uuid4().hex[:8]
    start = time.time() if start is None else start
    population: list[User] = []
    for number in range(users):
        _, lat, lon = rng.choice(CITIES)
        home = _near(rng, (lat, lon), 20.0)
        big = rng.random() < 0.1
        mean = rng.uniform(800, 2500) if big else math.exp(rng.uniform(math.log(15), math.log(200)))
        population.append(
            User(f"{run_id}-u{number:05d}", home, mean, big, home, start + rng.uniform(0, 4 * 3600))
        )
    heap = [(u.next_time, i) for i, u in enumerate(population)]
    heapq.heapify(heap)
    samples: list[Sample] = []
    poison_at = sorted(set(poison))
    total = count + len(poison_at)
    while len(samples) < total:
        if poison_at and len(samples) == poison_at[0]:
            poison_at.pop(0)
            user = population[rng.randrange(users)]
            tid = f"{run_id}-poison-{len(samples):07d}"
            raw = b'{"transaction_id": "' + tid.encode() + b'", "amount": '  # truncated JSON: can never parse
            samples.append(Sample(len(samples), user.user_id, tid, "poison", "poison", None, raw))
            continue
        when, i = heapq.heappop(heap)
        user = population[i]
        kind = user.next_kind if user.count else "normal"
        amount = round(user.mean * math.exp(rng.gauss(0, 0.5)), 2)
        location = _near(rng, user.at)
        if kind == "rule":
            amount, location = round(rng.uniform(5200, 15000), 2), _far_city(rng, user.last)
        elif kind == "anomaly":
            amount = round(user.mean * rng.uniform(12, 40), 2)
        elif kind == "fast_small":
            amount, location = min(amount, 4800.0), _far_city(rng, user.last)
        elif kind in ("travel", "slow_big"):
            user.at = _far_city(rng, user.last)  # the user really went there
            location = user.at
            if kind == "slow_big":
                amount = round(rng.uniform(5200, 12000), 2)
        elif kind == "big_local":
            amount = round(rng.uniform(5200, 9000), 2)
        merchant, category = rng.choice(MERCHANTS)
        tid = f"{run_id}-{len(samples):07d}"
        record = {
            "transaction_id": tid,
            "user_id": user.user_id,
            "amount": max(0.01, amount),
            "currency": "USD",
            "location": {"lat": location[0], "lon": location[1]},
            "time": iso(when),
            "merchant": {"id": f"m-{merchant}-{rng.randrange(50):02d}", "category": category},
        }
        samples.append(Sample(len(samples), user.user_id, tid, kind, "legit", record))
        user.count += 1
        user.last = location
        user.next_kind = _pick_kind(rng, user, rates)
        if (
            user.next_kind in ("normal", "anomaly", "big_local")
            and user.at != user.home
            and rng.random() < 0.5
        ):
            user.at = user.home  # back home
        user.next_time = when + _gap(rng, user.next_kind)
        heapq.heappush(heap, (user.next_time, i))
    _label(samples)
    return StreamRun(run_id, samples, [u.user_id for u in population])


def _label(samples: list[Sample]) -> None:
    """Ground truth: the seed's rule against each user's true previous transaction; injected anomalies."""
    fraud = _fraud()
    rule = fraud.Rule()
    previous: dict[str, dict[str, Any]] = {}
    for sample in samples:
        if sample.record is None:
            continue
        record = sample.record
        before = previous.get(sample.user_id)
        if before is not None:
            distance = fraud.haversine_miles(
                before["location"]["lat"],
                before["location"]["lon"],
                record["location"]["lat"],
                record["location"]["lon"],
            )
            seconds = _epoch(record["time"]) - _epoch(before["time"])
            if rule.hit(record["amount"], distance, seconds):
                sample.label = "rule"
        if sample.label == "legit" and sample.kind == "anomaly":
            sample.label = "anomaly"
        previous[sample.user_id] = record


def _epoch(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


# --- producing ------------------------------------------------------------------------------------------------


@dataclass
class Produced:
    sent: int = 0
    seconds: float = 0.0
    per_shard: Counter[str] = field(default_factory=Counter)
    positions: dict[str, tuple[str, str]] = field(default_factory=dict)  # transaction id -> (shard, sequence)

    @property
    def rate(self) -> float:
        return self.sent / self.seconds if self.seconds else 0.0


def produce(
    kinesis: Any,
    stream: str,
    samples: Sequence[Sample],
    *,
    rate: float | None = None,
    chunk: int = 500,
    on_progress: Callable[[int], None] | None = None,
) -> Produced:
    """PutRecords (partition key = the user: a user's transactions stay in one shard, in order), paced to
    ``rate`` records/s when given; records a throttled call refused are sent again, in order."""
    produced = Produced()
    started = time.perf_counter()
    for offset in range(0, len(samples), chunk):
        batch = list(samples[offset : offset + chunk])
        while batch:
            response = kinesis.put_records(
                StreamName=stream, Records=[{"Data": s.data, "PartitionKey": s.user_id} for s in batch]
            )
            retry = []
            for sample, result in zip(batch, response["Records"], strict=True):
                if result.get("ErrorCode"):
                    retry.append(sample)
                    continue
                produced.per_shard[result["ShardId"]] += 1
                produced.positions[sample.transaction_id] = (result["ShardId"], result["SequenceNumber"])
                produced.sent += 1
            if retry:
                # A failed entry and the ones after it for the same user would reorder: send the rest again in order.
                time.sleep(0.1)
            batch = retry
        if on_progress:
            on_progress(produced.sent)
        if rate:
            ahead = produced.sent / rate - (time.perf_counter() - started)
            if ahead > 0:
                time.sleep(ahead)  # pacing the producer to the chosen rate
    produced.seconds = time.perf_counter() - started
    return produced


# --- reading results and scoring the scorer --------------------------------------------------------------------


def _deserialize(item: dict[str, Any]) -> dict[str, Any]:
    from boto3.dynamodb.types import TypeDeserializer

    deserializer = TypeDeserializer()
    return {k: deserializer.deserialize(v) for k, v in item.items()}


def alerts_for(dynamodb: Any, table: str, run_id: str) -> dict[str, dict[str, Any]]:
    """The run's alerts in the alerts table, by transaction id (detail decoded)."""
    out: dict[str, dict[str, Any]] = {}
    kwargs: dict[str, Any] = {
        "TableName": table,
        "FilterExpression": "begins_with(transaction_id, :run)",
        "ExpressionAttributeValues": {":run": {"S": f"{run_id}-"}},
    }
    while True:
        page = dynamodb.scan(**kwargs)
        for item in page.get("Items", []):
            row = _deserialize(item)
            detail = json.loads(row["detail"])
            out[detail["transaction_id"]] = detail
        if "LastEvaluatedKey" not in page:
            return out
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def user_states(dynamodb: Any, table: str, users: Iterable[str]) -> dict[str, dict[str, Any]]:
    """The feature store's items for ``users`` (BatchGetItem, 100 keys a call)."""
    users = list(users)
    out: dict[str, dict[str, Any]] = {}
    for offset in range(0, len(users), 100):
        keys = [{"user_id": {"S": u}} for u in users[offset : offset + 100]]
        request: dict[str, Any] = {table: {"Keys": keys}}
        while request:
            response = dynamodb.batch_get_item(RequestItems=request)
            for item in response["Responses"].get(table, []):
                row = _deserialize(item)
                features = json.loads(row.pop("features", "{}"))
                row.update(
                    features, late_count=features.get("late", 0), last_transaction_id=features.get("txn")
                )
                out[row["user_id"]] = row
            request = response.get("UnprocessedKeys") or {}
    return out


@dataclass
class Evaluation:
    sent: int
    poison: int
    scored: int  # transactions the feature store counted
    alerts: int
    rule_tp: int
    rule_fp: int
    rule_fn: int
    any_tp: int
    any_fp: int
    any_fn: int
    late: int  # transactions the scorer saw out of event-time order
    last_mismatch: int  # users whose last transaction in the store is not the last one sent
    by_kind: dict[str, dict[str, int]]

    @staticmethod
    def _ratio(a: int, b: int) -> float:
        return a / b if b else 1.0

    @property
    def rule_recall(self) -> float:
        return self._ratio(self.rule_tp, self.rule_tp + self.rule_fn)

    @property
    def rule_precision(self) -> float:
        return self._ratio(self.rule_tp, self.rule_tp + self.rule_fp)

    @property
    def recall(self) -> float:
        return self._ratio(self.any_tp, self.any_tp + self.any_fn)

    @property
    def precision(self) -> float:
        return self._ratio(self.any_tp, self.any_tp + self.any_fp)

    def as_dict(self) -> dict[str, Any]:
        return {
            **{k: v for k, v in self.__dict__.items()},
            "rule_recall": round(self.rule_recall, 4),
            "rule_precision": round(self.rule_precision, 4),
            "recall": round(self.recall, 4),
            "precision": round(self.precision, 4),
        }


def evaluate(
    run: StreamRun, alerts: dict[str, dict[str, Any]], states: dict[str, dict[str, Any]]
) -> Evaluation:
    transactions = [s for s in run.samples if s.record is not None]
    rule_tp = rule_fp = rule_fn = any_tp = any_fp = any_fn = 0
    by_kind: dict[str, dict[str, int]] = {}
    for sample in transactions:
        alert = alerts.get(sample.transaction_id)
        rule_flag = alert is not None and RULE_REASON in alert["reasons"]
        row = by_kind.setdefault(sample.kind, {"sent": 0, "alerts": 0, "rule": 0, "model": 0})
        row["sent"] += 1
        row["alerts"] += alert is not None
        row["rule"] += rule_flag
        row["model"] += alert is not None and MODEL_REASON in alert["reasons"]
        is_rule = sample.label == "rule"
        rule_tp += is_rule and rule_flag
        rule_fn += is_rule and not rule_flag
        rule_fp += rule_flag and not is_rule
        any_tp += sample.fraud and alert is not None
        any_fn += sample.fraud and alert is None
        any_fp += alert is not None and not sample.fraud
    last_sent: dict[str, str] = {}
    for sample in transactions:
        last_sent[sample.user_id] = sample.transaction_id
    return Evaluation(
        sent=len(run.samples),
        poison=sum(1 for s in run.samples if s.record is None),
        scored=sum(int(s.get("txn_count", 0)) for s in states.values()),
        alerts=len(alerts),
        rule_tp=rule_tp,
        rule_fp=rule_fp,
        rule_fn=rule_fn,
        any_tp=any_tp,
        any_fp=any_fp,
        any_fn=any_fn,
        late=sum(int(s.get("late_count", 0)) for s in states.values()),
        last_mismatch=sum(
            1 for u, t in last_sent.items() if states.get(u, {}).get("last_transaction_id") != t
        ),
        by_kind=by_kind,
    )


def kinesis_event(
    samples: Sequence[Sample], shard: str = "shardId-000000000000", arn: str = ""
) -> dict[str, Any]:
    """A Lambda Kinesis event holding ``samples`` (unit tests and the in-process benchmark)."""
    arn = arn or "arn:aws:kinesis:us-east-1:123456789012:stream/sluice-test-transactions"
    records = []
    for number, sample in enumerate(samples, start=1):
        sequence = f"{49600000000000000000000000000000000000000000000000 + sample.index * 10 + number}"
        records.append(
            {
                "kinesis": {
                    "kinesisSchemaVersion": "1.0",
                    "partitionKey": sample.user_id,
                    "sequenceNumber": sequence,
                    "data": base64.b64encode(sample.data).decode(),
                    "approximateArrivalTimestamp": time.time(),
                },
                "eventSource": "aws:kinesis",
                "eventVersion": "1.0",
                "eventID": f"{shard}:{sequence}",
                "eventName": "aws:kinesis:record",
                "invokeIdentityArn": "arn:aws:iam::123456789012:role/test",
                "awsRegion": "us-east-1",
                "eventSourceARN": arn,
            }
        )
    return {"Records": records}


# --- the local cloud: the scorer's mapping ----------------------------------------------------------------------


def mapping_row(cloud: Any, uuid_: str) -> dict[str, Any]:
    """The local cloud's delivery status of an event source mapping (records_done, batches, iterator age, ...)."""
    return next((r for r in cloud.status()["deliveries"] if r.get("uuid") == uuid_), {})


def wait_done(
    cloud: Any, uuid_: str, target: int, timeout: float, on_progress: Callable[[int], None] | None = None
) -> dict[str, Any]:
    """Wait until the mapping has finished ``target`` records in all (bounded backoff); its last status row."""
    deadline = time.monotonic() + timeout
    delay = 0.1
    while True:
        row = mapping_row(cloud, uuid_)
        done = int(row.get("records_done", 0))
        if on_progress:
            on_progress(done)
        if done >= target or time.monotonic() > deadline:
            return row
        time.sleep(delay)
        delay = min(1.0, delay * 1.5)


def model_published(s3: Any, bucket: str, name: str) -> bool:
    try:
        s3.head_object(Bucket=bucket, Key=f"models/{name}/current.json")
        return True
    except Exception:
        return False
