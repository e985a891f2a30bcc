"""Fraud scoring features and the seed's rule, shared by the scorer (serving) and the trainer (training), so the
model sees the same numbers in both places.

Per user the feature store keeps the last location and time and rolling amount features (``UserState``). For a
transaction the scorer computes, against the user's state *before* it:

* the great-circle distance from the previous transaction (haversine, miles) and the seconds since it;
* the rule of seed 004: ``amount > 5,000`` and ``moved > 1,000 miles`` within ``1 hour`` (``Rule``);
* the model's input vector (``FEATURES``): log amount, log distance, log hours since, log implied speed, log
  ratio of the amount to the user's rolling mean, and whether the user is new.

Then ``UserState.advance`` folds the transaction in. A transaction older than the state's last one (late
arrival) is scored against the last location but does not move it back in time.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

EARTH_RADIUS_MILES = 3958.7613
#: The rolling mean amount is an exponentially weighted mean with this weight for the newest transaction.
EWMA_ALPHA = 0.1
#: Cap on "time since the previous transaction" for a new user or a long gap (30 days).
MAX_GAP_SECONDS = 30 * 86400.0
#: Names and order of the model's input columns (float32 [N, len(FEATURES)]).
FEATURES = (
    "log_amount",
    "log_distance_miles",
    "log_hours_since",
    "log_speed_mph",
    "log_amount_ratio",
    "new_user",
)


def haversine_miles(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance between two points in degrees, in statute miles."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi = phi2 - phi1
    dlambda = math.radians(lon2 - lon1)
    a = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlambda / 2) ** 2
    return 2 * EARTH_RADIUS_MILES * math.asin(min(1.0, math.sqrt(a)))


@dataclass(frozen=True)
class Rule:
    """Seed 004: a transaction over ``amount`` more than ``distance_miles`` from the user's previous one, within
    ``window_seconds`` of it."""

    amount: float = 5000.0
    distance_miles: float = 1000.0
    window_seconds: float = 3600.0

    def hit(self, amount: float, distance_miles: float | None, seconds_since: float | None) -> bool:
        if distance_miles is None or seconds_since is None:
            return False
        return (
            amount > self.amount
            and distance_miles > self.distance_miles
            and abs(seconds_since) <= self.window_seconds
        )


@dataclass(frozen=True)
class UserState:
    """What the feature store holds for a user."""

    user_id: str
    last_lat: float
    last_lon: float
    last_time: float  # epoch seconds of the latest transaction seen (event time)
    count: int = 0
    amount_mean: float = 0.0  # exponentially weighted
    amount_max: float = 0.0
    late: int = 0  # transactions that arrived older than last_time
    last_transaction_id: str = ""
    last_sequence: str = ""  # stream sequence number of the last transaction applied (retries skip up to it)
    last_shard: str = ""

    def advance(self, txn: Txn, *, sequence: str = "", shard: str = "") -> UserState:
        """The state after ``txn``."""
        late = txn.time < self.last_time
        mean = (
            txn.amount if self.count == 0 else (1 - EWMA_ALPHA) * self.amount_mean + EWMA_ALPHA * txn.amount
        )
        moved = (
            {}
            if late
            else {
                "last_lat": txn.lat,
                "last_lon": txn.lon,
                "last_time": txn.time,
                "last_transaction_id": txn.transaction_id,
            }
        )
        return replace(
            self,
            count=self.count + 1,
            amount_mean=mean,
            amount_max=max(self.amount_max, txn.amount),
            late=self.late + int(late),
            last_sequence=sequence or self.last_sequence,
            last_shard=shard or self.last_shard,
            **moved,
        )

    @classmethod
    def first(cls, txn: Txn, *, sequence: str = "", shard: str = "") -> UserState:
        return cls(
            user_id=txn.user_id,
            last_lat=txn.lat,
            last_lon=txn.lon,
            last_time=txn.time,
            count=1,
            amount_mean=txn.amount,
            amount_max=txn.amount,
            last_transaction_id=txn.transaction_id,
            last_sequence=sequence,
            last_shard=shard,
        )


@dataclass(frozen=True)
class Txn:
    transaction_id: str
    user_id: str
    amount: float
    lat: float
    lon: float
    time: float  # epoch seconds (event time)
    merchant: str = ""

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> Txn:
        """A `transaction` event (its JSON Schema already checked). ValueError if its time is not ISO 8601 with a
        time zone."""
        return cls(
            transaction_id=record["transaction_id"],
            user_id=record["user_id"],
            amount=float(record["amount"]),
            lat=float(record["location"]["lat"]),
            lon=float(record["location"]["lon"]),
            time=epoch_seconds(record["time"]),
            merchant=str((record.get("merchant") or {}).get("id", "")),
        )


def epoch_seconds(text: str) -> float:
    """An ISO 8601 time with a zone ("Z" accepted) as epoch seconds."""
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise ValueError(f"time {text!r} is not ISO 8601: {exc}") from None
    if moment.tzinfo is None:
        raise ValueError(f"time {text!r} has no time zone")
    return moment.timestamp()


@dataclass(frozen=True)
class Assessment:
    """A transaction measured against the user's state before it."""

    distance_miles: float | None  # None for a new user
    seconds_since: float | None
    rule_hit: bool
    vector: tuple[float, ...]


def assess(txn: Txn, state: UserState | None, rule: Rule) -> Assessment:
    if state is None:
        vector = (math.log1p(txn.amount), 0.0, math.log1p(MAX_GAP_SECONDS / 3600.0), 0.0, 0.0, 1.0)
        return Assessment(None, None, False, vector)
    distance = haversine_miles(state.last_lat, state.last_lon, txn.lat, txn.lon)
    seconds = txn.time - state.last_time
    gap = min(max(abs(seconds), 1.0), MAX_GAP_SECONDS)
    hours = gap / 3600.0
    speed = distance / hours
    ratio = math.log((txn.amount + 1.0) / (state.amount_mean + 1.0))
    vector = (math.log1p(txn.amount), math.log1p(distance), math.log1p(hours), math.log1p(speed), ratio, 0.0)
    return Assessment(distance, seconds, rule.hit(txn.amount, distance, seconds), vector)
