"""Property tests: the totals transform, and parse_order on arbitrary input."""

from __future__ import annotations

import json
from decimal import ROUND_HALF_UP, Decimal

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from ingest_processor import logic
from sluice.errors import PermanentError

CENTS = Decimal("0.01")

quantities = st.integers(min_value=1, max_value=10_000)
# Prices as uploaders write them: up to 4 decimals, within the contract's bounds.
prices = st.decimals(min_value=0, max_value=100_000, places=4, allow_nan=False, allow_infinity=False).map(
    lambda d: float(d) if d != d.to_integral_value() else int(d)
)
items = st.lists(
    st.fixed_dictionaries({"sku": st.text(min_size=1, max_size=8), "quantity": quantities, "price": prices}),
    min_size=1,
    max_size=50,
)


def reference_value(lines: list[dict]) -> Decimal:
    exact = sum((Decimal(line["quantity"]) * Decimal(repr(line["price"])) for line in lines), Decimal(0))
    return exact.quantize(CENTS, rounding=ROUND_HALF_UP)


@settings(max_examples=300, deadline=None)
@given(items)
def test_totals_match_the_definition(lines: list[dict]) -> None:
    totals = logic.compute_totals(lines)
    assert totals.total_items == sum(line["quantity"] for line in lines)
    assert totals.item_count == len(lines)
    assert totals.total_value == reference_value(lines)
    assert totals.total_value.as_tuple().exponent == -2
    assert Decimal(0) <= totals.total_value <= Decimal(1000 * 10_000 * 100_000)
    # Within a cent of the naive float formula of the reference pattern.
    naive = sum(line["quantity"] * line["price"] for line in lines)
    assert abs(float(totals.total_value) - naive) <= 0.005 + 1e-9 * max(naive, 1)
    # The JSON number written to the output reads back as the exact total.
    assert Decimal(repr(float(totals.total_value))) == totals.total_value


@settings(max_examples=200, deadline=None)
@given(items, items)
def test_item_counts_are_additive(a: list[dict], b: list[dict]) -> None:
    ta, tb, tab = logic.compute_totals(a), logic.compute_totals(b), logic.compute_totals(a + b)
    assert tab.total_items == ta.total_items + tb.total_items
    assert tab.item_count == ta.item_count + tb.item_count
    assert abs(tab.total_value - (ta.total_value + tb.total_value)) <= CENTS


@settings(max_examples=200, deadline=None)
@given(items, st.permutations(range(50)))
def test_totals_do_not_depend_on_line_order(lines: list[dict], order: list[int]) -> None:
    shuffled = [lines[i] for i in order if i < len(lines)]
    assert logic.compute_totals(shuffled) == logic.compute_totals(lines)


# --------------------------------------------------------------------------------------------- fuzzing

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4)
    ),
    max_leaves=20,
)
near_orders = st.fixed_dictionaries(
    {
        "order_id": st.one_of(st.text(max_size=3), json_values),
        "customer_id": st.one_of(st.text(min_size=1, max_size=3), json_values),
        "category": st.sampled_from(["books", "toys", ""]) | json_values,
        "created_at": st.sampled_from(["2024-06-01T10:00:00Z", "2024-06-01", "x"]) | json_values,
        "items": st.lists(
            st.fixed_dictionaries(
                {
                    "sku": st.text(max_size=3) | json_values,
                    "quantity": st.integers(-2, 3) | json_values,
                    "price": st.floats(-1, 10) | st.text(max_size=4) | json_values,
                },
                optional={"extra": json_values},
            ),
            max_size=3,
        )
        | json_values,
    },
    optional={"note": json_values},
)


def parse_or_permanent(raw: bytes) -> dict | None:
    try:
        return logic.parse_order(raw)
    except PermanentError as err:
        assert err.code in {"empty_object", "invalid_encoding", "invalid_json", "schema_violation"}
        assert err.reason
        return None


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=512))
@example(b"\xff\xfe{")
@example(b"\xef\xbb\xbf")
@example(b"NaN")
@example(b"[" * 50_000)
@example(b'{"a": 1e999}')
@example(b'"\\ud800"')
def test_arbitrary_bytes_raise_nothing_but_permanent_errors(raw: bytes) -> None:
    parse_or_permanent(raw)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=256))
def test_arbitrary_text_raises_nothing_but_permanent_errors(text: str) -> None:
    parse_or_permanent(text.encode("utf-8", "surrogatepass"))


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_arbitrary_json_raises_nothing_but_permanent_errors(value: object) -> None:
    parse_or_permanent(json.dumps(value).encode())


@settings(max_examples=500, deadline=None)
@given(near_orders)
def test_near_valid_orders_either_parse_with_computable_totals_or_fail_permanently(doc: dict) -> None:
    order = parse_or_permanent(json.dumps(doc).encode())
    if order is not None:
        totals = logic.compute_totals(order["items"])
        assert totals.item_count == len(order["items"]) >= 1
        assert totals.total_items >= totals.item_count
        assert totals.total_value >= 0
        for name in ("order_id", "customer_id", "category"):
            order[name].encode("utf-8")  # storable in DynamoDB


valid_orders = st.fixed_dictionaries(
    {
        "order_id": st.text(min_size=1, max_size=20),
        "customer_id": st.text(min_size=1, max_size=20),
        "category": st.sampled_from(["electronics", "grocery", "books", "toys", "apparel"]),
        "created_at": st.datetimes(timezones=st.just(__import__("datetime").UTC)).map(
            lambda ts: ts.isoformat().replace("+00:00", "Z")
        ),
        "items": items,
    },
    optional={"channel": st.text(max_size=5), "tags": st.lists(st.text(max_size=5), max_size=3)},
)


@settings(max_examples=300, deadline=None)
@given(valid_orders)
def test_every_order_within_the_contract_parses_unchanged(doc: dict) -> None:
    assert logic.parse_order(json.dumps(doc).encode()) == doc
    assert logic.parse_order(json.dumps(doc, ensure_ascii=False).encode("utf-8", "surrogatepass")) == doc
