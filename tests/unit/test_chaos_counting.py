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


# ------------------------------------------------------------------------------------------------ the stream driver


@pytest.fixture
def stream_outputs(aws: None) -> dict[str, Any]:
    kinesis, dynamodb, sqs = clients("kinesis"), clients("dynamodb"), clients("sqs")
    kinesis.create_stream(StreamName="chaos-transactions", ShardCount=1)
    for name, keys in (("chaos-features", ["user_id"]), ("chaos-failures", ["pipeline", "item_id"])):
        dynamodb.create_table(
            TableName=name,
            KeySchema=[{"AttributeName": k, "KeyType": "HASH" if i == 0 else "RANGE"} for i, k in enumerate(keys)],
            AttributeDefinitions=[{"AttributeName": k, "AttributeType": "S"} for k in keys],
            BillingMode="PAY_PER_REQUEST",
        )
    url = sqs.create_queue(QueueName="chaos-scorer-failures")["QueueUrl"]
    return {
        "stream_name": "chaos-transactions",
        "fraud_features_table_name": "chaos-features",
        "failures_table_name": "chaos-failures",
        "fraud_scorer_failures_queue_url": url,
        "fraud_scorer_function_name": "chaos-scorer",
    }


def _scored(user: str, count: int) -> None:
    clients("dynamodb").put_item(TableName="chaos-features", Item={"user_id": {"S": user}, "txn_count": {"N": str(count)}})


def test_the_stream_driver_counts_scored_given_up_failed_and_applied_twice(stream_outputs) -> None:
    driver = chaos.StreamDriver(clients, stream_outputs, "run00005")
    batch = driver.send("baseline", 10)
    poison = [item for item in batch.items if driver.keys[item] is None]
    assert len(batch.items) == 10 and len(poison) == 1
    assert driver.count([batch], [])[0].lost == 10

    good = [item for item in batch.items if item not in poison]
    for item in good[:-1]:
        _scored(driver.keys[item][0], 1)
    _scored(driver.keys[good[-1]][0], 2)  # applied twice
    (shard, sequence), = [position for position, item in driver.positions.items() if item == poison[0]]
    info = {"shardId": shard, "startSequenceNumber": sequence, "endSequenceNumber": sequence, "batchSize": 1, "streamArn": "arn:aws:kinesis:us-east-1:123456789012:stream/chaos-transactions"}
    clients("sqs").send_message(QueueUrl=stream_outputs["fraud_scorer_failures_queue_url"], MessageBody=json.dumps({"requestContext": {}, "KinesisBatchInfo": info}))
    tally = driver.count([batch], [])[0]
    assert (tally.processed, tally.in_dlq, tally.failure_records, tally.duplicates, tally.lost) == (9, 1, 0, 1, 0)

    # The redrive found the poison record failing still: its failure record replaces the on-failure record.
    clients("sqs").purge_queue(QueueUrl=stream_outputs["fraud_scorer_failures_queue_url"])
    clients("dynamodb").put_item(TableName="chaos-failures", Item={"pipeline": {"S": "stream"}, "item_id": {"S": f"chaos-transactions/{shard}/{sequence}"}})
    tally = driver.count([batch], [])[0]
    assert (tally.processed, tally.in_dlq, tally.failure_records, tally.lost) == (9, 0, 1, 0)


def test_a_fuzzed_user_named_by_an_earlier_run_counts_from_where_it_was(stream_outputs) -> None:
    body = json.dumps({"transaction_id": "t", "user_id": "hypothesis-user", "amount": 1, "location": {"lat": 0, "lon": 0}, "time": "2026-01-01T00:00:00Z"}).encode()
    _scored("hypothesis-user", 3)  # three earlier runs
    driver = chaos.StreamDriver(clients, stream_outputs, "run00006")
    batch = driver.send("fuzz", 1, [("wrong_types", body)])
    assert driver.count([batch], [])[0].lost == 1
    _scored("hypothesis-user", 4)
    tally = driver.count([batch], [])[0]
    assert (tally.processed, tally.duplicates, tally.lost) == (1, 0, 0)
