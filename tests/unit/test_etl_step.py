"""The generic ETL's steps (functions/etl_step) with moto."""

from __future__ import annotations

import importlib
import json
from typing import Any

import pytest

from tests.unit.conftest import LANDING_BUCKET, OUTPUT_BUCKET


@pytest.fixture
def etl(unit_env: dict[str, str]) -> Any:
    module = importlib.import_module("etl_step.handler")
    module.settings.cache_clear()
    yield module
    module.settings.cache_clear()


def source(s3: Any, body: bytes, key: str = "etl/run.json") -> dict[str, Any]:
    s3.put_object(Bucket=LANDING_BUCKET, Key=key, Body=body)
    return {"source": {"bucket": LANDING_BUCKET, "key": key}}


def test_extract_transform_load(etl, resources, lambda_context) -> None:
    records = [
        {"id": "1", "name": "  ada   lovelace ", "amount": 10.25},
        {"id": "2", "name": "Ada Lovelace", "amount": 4},
        {"id": "3", "name": "Grace Hopper", "amount": 1.5},
        {"name": "no id", "amount": 1},
        {"id": "5", "name": "bad amount", "amount": "7"},
        {"id": "6", "name": "boolean", "amount": True},
        "not a record",
    ]
    state = etl.handler(
        {"step": "extract", "state": source(resources.s3, json.dumps(records).encode())}, lambda_context
    )
    assert len(state["records"]) == 7
    state = etl.handler({"step": "transform", "state": state}, lambda_context)
    assert state["transformed"]["rejected"] == 4 and state["transformed"]["totals"] == {
        "Ada Lovelace": 14.25,
        "Grace Hopper": 1.5,
    }
    assert "records" not in state
    state = etl.handler({"step": "load", "state": state, "run_id": "run-1"}, lambda_context)
    assert state["loaded"] == {
        "bucket": OUTPUT_BUCKET,
        "key": "etl/loaded/run-1.json",
        "records": 3,
        "rejected": 4,
        "totals": {"Ada Lovelace": 14.25, "Grace Hopper": 1.5},
    }
    body = json.loads(
        resources.s3.get_object(Bucket=OUTPUT_BUCKET, Key="etl/loaded/run-1.json")["Body"].read()
    )
    assert [r["name"] for r in body["records"]] == ["Ada Lovelace", "Ada Lovelace", "Grace Hopper"]


@pytest.mark.parametrize(
    ("event", "code"),
    [
        ({"step": "extract", "state": {}}, "invalid_event"),
        ({"step": "load", "state": {}}, "invalid_event"),
        ({"step": "nope", "state": {}}, "invalid_event"),
    ],
)
def test_bad_input_is_invalid_input(etl, resources, lambda_context, event, code) -> None:
    with pytest.raises(etl.InvalidInput) as raised:
        etl.handler(event, lambda_context)
    assert json.loads(str(raised.value))["code"] == code


def test_a_source_that_is_not_a_json_array_is_invalid_input(etl, resources, lambda_context) -> None:
    for body, code in ((b"not json", "invalid_json"), (b'{"a": 1}', "schema_violation")):
        with pytest.raises(etl.InvalidInput) as raised:
            etl.handler({"step": "extract", "state": source(resources.s3, body)}, lambda_context)
        assert json.loads(str(raised.value))["code"] == code
