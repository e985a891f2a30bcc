"""Deterministic sample orders for the demo and the end-to-end tests.

``generate_orders(n, malformed_ratio, seed)`` returns ``n`` samples to upload to the landing bucket, exactly
``round(n * malformed_ratio)`` of them malformed, each with the outcome the ingest pipeline must produce:
``"valid"`` or the ``error_code`` of the permanent failure (see ``sluice.errors``). The same arguments always
give the same keys and bytes.

Keys use only ``[a-z0-9/-.]`` so they read the same URL-encoded or not (S3 URL-encodes keys in its events).
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

__all__ = ["MALFORMED_KINDS", "VALID", "Sample", "generate_orders"]

VALID = "valid"
CATEGORIES = ("electronics", "grocery", "books", "toys", "apparel")
_EPOCH = datetime(2024, 6, 1, tzinfo=UTC)
_CENTS = Decimal("0.01")


@dataclass(frozen=True)
class Sample:
    key: str
    body: bytes
    kind: str  # "valid" or one of MALFORMED_KINDS
    expected: str  # "valid" or the expected error_code
    order: dict[str, Any] | None = field(default=None, compare=False)  # the intended order (valid samples)
    total_items: int | None = None
    total_value: Decimal | None = None

    @property
    def is_valid(self) -> bool:
        return self.expected == VALID


def _order(rng: random.Random, seed: int, index: int) -> dict[str, Any]:
    items = []
    for _ in range(rng.randint(1, 5)):
        cents = rng.randint(50, 250_000)
        items.append(
            {
                "sku": f"SKU-{rng.randint(0, 99_999):05d}",
                "quantity": rng.randint(1, 5),
                "price": float(Decimal(cents) / 100),
            }
        )
    created = _EPOCH + timedelta(seconds=rng.randint(0, 90 * 86_400))
    return {
        "order_id": f"ord-{seed}-{index:05d}",
        "customer_id": f"cust-{rng.randint(1, 5_000):05d}",
        "category": rng.choice(CATEGORIES),
        "created_at": created.isoformat().replace("+00:00", "Z"),
        "currency": "USD",
        "items": items,
    }


def _dumps(order: Any) -> bytes:
    return json.dumps(order, separators=(",", ":")).encode("utf-8")


def _broken_json(order: dict[str, Any], rng: random.Random) -> bytes:
    body = _dumps(order)
    return body[: rng.randint(1, len(body) - 1)]  # a proper prefix of a JSON object is never valid JSON


def _not_utf8(order: dict[str, Any], rng: random.Random) -> bytes:
    order = {**order, "note": "livraison café, façade sud"}
    return json.dumps(order, ensure_ascii=False).encode("latin-1")


def _empty(order: dict[str, Any], rng: random.Random) -> bytes:
    return b""


def _negative_quantity(order: dict[str, Any], rng: random.Random) -> bytes:
    items = [dict(item) for item in order["items"]]
    items[rng.randrange(len(items))]["quantity"] = -rng.randint(1, 5)
    return _dumps({**order, "items": items})


def _missing_items(order: dict[str, Any], rng: random.Random) -> bytes:
    return _dumps({k: v for k, v in order.items() if k != "items"})


def _wrong_types(order: dict[str, Any], rng: random.Random) -> bytes:
    variant = rng.randrange(3)
    if variant == 0:
        return _dumps({**order, "customer_id": rng.randint(1, 5_000)})
    if variant == 1:
        return _dumps({**order, "items": {"sku": "SKU-00000", "quantity": 1, "price": 1.0}})
    items = [dict(item) for item in order["items"]]
    items[0]["quantity"] = str(items[0]["quantity"])
    return _dumps({**order, "items": items})


def _price_as_string(order: dict[str, Any], rng: random.Random) -> bytes:
    items = [dict(item) for item in order["items"]]
    index = rng.randrange(len(items))
    items[index]["price"] = f"{items[index]['price']:.2f}"
    return _dumps({**order, "items": items})


#: malformed kind -> (body maker, expected error_code)
MALFORMED_KINDS: dict[str, tuple[Callable[[dict[str, Any], random.Random], bytes], str]] = {
    "broken_json": (_broken_json, "invalid_json"),
    "not_utf8": (_not_utf8, "invalid_encoding"),
    "empty_body": (_empty, "empty_object"),
    "negative_quantity": (_negative_quantity, "schema_violation"),
    "missing_items": (_missing_items, "schema_violation"),
    "wrong_types": (_wrong_types, "schema_violation"),
    "price_as_string": (_price_as_string, "schema_violation"),
}


def _totals(order: dict[str, Any]) -> tuple[int, Decimal]:
    total_items = sum(item["quantity"] for item in order["items"])
    value = sum((item["quantity"] * Decimal(str(item["price"])) for item in order["items"]), Decimal(0))
    return total_items, value.quantize(_CENTS, rounding=ROUND_HALF_UP)


def generate_orders(
    n: int, malformed_ratio: float = 0.0, seed: int = 0, *, prefix: str = "incoming/"
) -> list[Sample]:
    """``n`` samples, exactly ``round(n * malformed_ratio)`` malformed, at deterministic positions and kinds.

    Keys are ``<prefix>order-<seed>-<index>.json`` (``prefix`` defaults to ``incoming/``, the prefix the
    pipeline's EventBridge rule matches); the kinds of the malformed samples rotate through
    ``MALFORMED_KINDS`` in a seed-dependent order, so any batch of 7 or more contains every kind.
    """
    if n < 0:
        raise ValueError("n must be >= 0")
    if not 0.0 <= malformed_ratio <= 1.0:
        raise ValueError("malformed_ratio must be within [0, 1]")
    rng = random.Random(seed)
    malformed_count = round(n * malformed_ratio)
    malformed_at = set(rng.sample(range(n), malformed_count))
    kinds = list(MALFORMED_KINDS)
    rng.shuffle(kinds)

    samples: list[Sample] = []
    malformed_seen = 0
    for index in range(n):
        order = _order(rng, seed, index)
        key = f"{prefix}order-{seed}-{index:05d}.json"
        if index in malformed_at:
            kind = kinds[malformed_seen % len(kinds)]
            malformed_seen += 1
            make, expected = MALFORMED_KINDS[kind]
            samples.append(Sample(key=key, body=make(order, rng), kind=kind, expected=expected))
        else:
            total_items, total_value = _totals(order)
            samples.append(
                Sample(
                    key=key,
                    body=_dumps(order),
                    kind=VALID,
                    expected=VALID,
                    order=order,
                    total_items=total_items,
                    total_value=total_value,
                )
            )
    return samples
