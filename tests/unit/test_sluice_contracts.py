"""sluice.contracts: schemas shipped as package data and validate(name, data)."""

from __future__ import annotations

import copy

import jsonschema
import pytest
from sluice import contracts
from sluice.errors import PermanentError, SchemaViolation

VALID = {
    "order_id": "ord-1",
    "customer_id": "cust-1",
    "category": "books",
    "created_at": "2024-06-01T10:00:00Z",
    "items": [{"sku": "SKU-1", "quantity": 2, "price": 9.99}],
    "channel": "web",
}


def test_order_contract_is_shipped_and_is_a_valid_draft7_schema() -> None:
    assert "order" in contracts.available()
    jsonschema.Draft7Validator.check_schema(contracts.load_schema("order"))


def test_valid_order_passes_and_allows_extra_top_level_fields() -> None:
    assert contracts.validate("order", copy.deepcopy(VALID)) == VALID


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda o: o.pop("items"), "data must contain ['items'] properties"),
        (
            lambda o: o["items"][0].update(quantity=0),
            "data.items[0].quantity must be bigger than or equal to 1",
        ),
        (lambda o: o["items"][0].update(quantity=1.5), "data.items[0].quantity must be integer"),
        (lambda o: o["items"][0].update(price="9.99"), "data.items[0].price must be number"),
        (
            lambda o: o["items"][0].update(price=-0.01),
            "data.items[0].price must be bigger than or equal to 0",
        ),
        (
            lambda o: o["items"][0].update(colour="red"),
            "data.items[0] must not contain {'colour'} properties",
        ),
        (lambda o: o.update(items=[]), "data.items must contain at least 1 items"),
        (lambda o: o.update(created_at="yesterday"), "data.created_at must be date-time"),
        (lambda o: o.update(customer_id=42), "data.customer_id must be string"),
    ],
)
def test_violations_raise_schema_violation_with_the_validator_message(mutate, message: str) -> None:
    order = copy.deepcopy(VALID)
    mutate(order)
    with pytest.raises(SchemaViolation) as info:
        contracts.validate("order", order)
    assert isinstance(info.value, PermanentError)
    assert info.value.code == "schema_violation"
    assert info.value.reason == f"order: {message}"


def test_too_many_items() -> None:
    order = {**VALID, "items": [{"sku": "S", "quantity": 1, "price": 1}] * 1001}
    with pytest.raises(SchemaViolation, match="must contain less than or equal to 1000 items"):
        contracts.validate("order", order)


@pytest.mark.parametrize("name", ["nope", "../order", "Order", ""])
def test_unknown_or_malformed_contract_names_are_programming_errors(name: str) -> None:
    with pytest.raises(LookupError):
        contracts.validate(name, {})
