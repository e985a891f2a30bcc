"""sluicectl.samples: deterministic sample orders with an exact number of malformed ones."""

from __future__ import annotations

import re
from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ingest_processor import logic
from sluice.errors import PermanentError

from sluicectl.samples import MALFORMED_KINDS, VALID, generate_orders


@settings(max_examples=150, deadline=None)
@given(n=st.integers(0, 120), ratio=st.floats(0, 1), seed=st.integers(-(2**31), 2**31))
def test_exactly_round_n_ratio_malformed(n: int, ratio: float, seed: int) -> None:
    samples = generate_orders(n, ratio, seed)
    assert len(samples) == n
    assert sum(not s.is_valid for s in samples) == round(n * ratio)
    assert len({s.key for s in samples}) == n


def test_deterministic_per_seed() -> None:
    assert generate_orders(30, 0.3, seed=5) == generate_orders(30, 0.3, seed=5)
    assert [s.body for s in generate_orders(30, 0.3, seed=5)] != [
        s.body for s in generate_orders(30, 0.3, seed=6)
    ]


def test_keys_are_landing_keys_that_need_no_url_encoding() -> None:
    for sample in generate_orders(50, 0.5, seed=1):
        assert re.fullmatch(r"incoming/order-1-\d{5}\.json", sample.key), sample.key


def test_every_malformed_kind_appears_in_a_batch_of_seven() -> None:
    kinds = Counter(s.kind for s in generate_orders(7, 1.0, seed=3))
    assert set(kinds) == set(MALFORMED_KINDS)


@pytest.mark.parametrize("seed", range(5))
def test_each_sample_has_the_outcome_it_claims(seed: int) -> None:
    for sample in generate_orders(40, 0.5, seed=seed):
        if sample.expected == VALID:
            order = logic.parse_order(sample.body)
            assert order == sample.order
            totals = logic.compute_totals(order["items"])
            assert (totals.total_items, totals.total_value) == (sample.total_items, sample.total_value)
        else:
            with pytest.raises(PermanentError) as info:
                logic.parse_order(sample.body)
            assert info.value.code == sample.expected, (sample.kind, info.value)
            assert sample.expected == MALFORMED_KINDS[sample.kind][1]


@pytest.mark.parametrize(("n", "ratio"), [(-1, 0.1), (10, -0.1), (10, 1.5)])
def test_invalid_arguments(n: int, ratio: float) -> None:
    with pytest.raises(ValueError):
        generate_orders(n, ratio)
