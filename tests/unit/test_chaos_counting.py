"""The reliability suite's counting (sluicectl/chaos.py) against moto: where a driver finds each input.

The routing case is the one `make chaos` once reported as lost: a fuzzed line whose record_id hypothesis made of
astral-plane characters and U+0016. Hypothesis is derandomized, so every run sends that same id; a second run on
the same local cloud finds it processed already (the processors write once per record_id), and its result row
names the first run's file. The record is processed, not lost."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from sluicectl import chaos
from tests.unit.conftest import REGION

ASTRAL_ID = "\U000140acù>;\U00049b74\u00d7\U00086df1\x16Ô"  # what hypothesis generated, U+0016 included
LINE = json.dumps({"record_id": ASTRAL_ID, "data_type": "text", "payload": {"text": "fuzz", "language": "en"}}).encode()


def clients(service: str) -> Any:
    return boto3.client(service, region_name=REGION)


@pytest.fixture
def outputs(aws: None) -> dict[str, Any]:
    s3, dynamodb, sqs = clients("s3"), clients("dynamodb"), clients("sqs")
    s3.create_bucket(Bucket="chaos-landing")
    dynamodb.create_table(
        TableName="chaos-routed",
        KeySchema=[{"AttributeName": "record_id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "record_id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    url = sqs.create_queue(QueueName="chaos-unroutable")["QueueUrl"]
    return {"landing_bucket_name": "chaos-landing", "routing_results_table_name": "chaos-routed", "routing_unroutable_queue_url": url}


def _row(record_id: str, key: str) -> dict[str, Any]:
    origin = {"bucket": "chaos-landing", "etag": "e", "key": key, "kind": "file", "line": 1}
    return {"record_id": {"S": record_id}, "data_type": {"S": "text"}, "origin": {"S": json.dumps(origin, sort_keys=True)}}


def _fuzz_run(outputs: dict[str, Any], run_id: str) -> tuple[chaos.RoutingDriver, chaos.Batch]:
    driver = chaos.RoutingDriver(clients, outputs, run_id)
    return driver, driver.send("fuzz", 1, [("wrong_types", LINE)])


def test_a_fuzzed_id_processed_by_an_earlier_run_counts_as_processed_not_lost(outputs) -> None:
    driver, batch = _fuzz_run(outputs, "run00002")
    assert chaos.RoutingDriver._record_id(LINE) == ASTRAL_ID
    assert driver.count([batch], [])[0].lost == 1  # nothing yet: the counting can fail

    # The first run's result: same id, the first run's file (the processor wrote nothing for the second).
    clients("dynamodb").put_item(TableName="chaos-routed", Item=_row(ASTRAL_ID, "records/chaos-run00001-fuzz/fuzz-0000-wrong_types.jsonl"))
    tally = driver.count([batch], [])[0]
    assert (tally.sent, tally.processed, tally.lost, tally.duplicates) == (1, 1, 0, 0)


def test_a_result_of_this_run_is_counted_once(outputs) -> None:
    driver, batch = _fuzz_run(outputs, "run00003")
    key = batch.items[0].rsplit(":", 1)[0]
    clients("dynamodb").put_item(TableName="chaos-routed", Item=_row(ASTRAL_ID, key))
    tally = driver.count([batch], [])[0]
    assert (tally.processed, tally.lost, tally.duplicates) == (1, 0, 0)


def test_an_unroutable_announcement_is_the_failure_record_even_if_the_id_was_processed_before(outputs) -> None:
    driver, batch = _fuzz_run(outputs, "run00004")
    key = batch.items[0].rsplit(":", 1)[0]
    clients("dynamodb").put_item(TableName="chaos-routed", Item=_row(ASTRAL_ID, "records/chaos-run00001-fuzz/x.jsonl"))
    event = {"id": "e-1", "detail": {"record_id": ASTRAL_ID, "origin": {"kind": "file", "key": key, "line": 1}}}
    clients("sqs").send_message(QueueUrl=outputs["routing_unroutable_queue_url"], MessageBody=json.dumps(event))
    tally = driver.count([batch], [])[0]
    assert (tally.failure_records, tally.processed, tally.lost, tally.duplicates) == (1, 0, 0, 0)
