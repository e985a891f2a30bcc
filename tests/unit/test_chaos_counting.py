"""The reliability suite's counting (sluicectl/chaos.py) against moto: where a driver finds each input.

The routing case is the one `make chaos` once reported as lost: a fuzzed line whose record_id hypothesis made of
astral-plane characters and U+0016. Hypothesis is derandomized, so every run sends that same id; a second run on
the same local cloud finds it processed already (the processors write once per record_id), and its result row
names the first run's file. The record is processed, not lost."""

from __future__ import annotations

import json
import uuid
from collections import Counter
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


# ------------------------------------------------------------------------------------------------ the feedback driver


@pytest.fixture
def feedback_outputs(aws: None) -> dict[str, Any]:
    s3, dynamodb = clients("s3"), clients("dynamodb")
    for bucket in ("chaos-inputs", "chaos-feedback"):
        s3.create_bucket(Bucket=bucket)
    for name in ("chaos-jobs", "chaos-labels"):
        dynamodb.create_table(
            TableName=name,
            KeySchema=[{"AttributeName": "job_id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "job_id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
    return {
        "feedback_url": "http://api.invalid/feedback",
        "feedback_table_name": "chaos-labels",
        "feedback_bucket_name": "chaos-feedback",
        "feedback_api_function_name": "chaos-feedback-api",
        "inference_inputs_bucket_name": "chaos-inputs",
        "inference_jobs_table_name": "chaos-jobs",
        "inference_model_name": "digits",
    }


def _state() -> dict[str, Any]:
    from sluice import feedback

    return feedback.state(clients("dynamodb"), "chaos-labels")


class FakeFeedbackApi:
    """POST /feedback as the function answers it (sluice.feedback stores and counts), failing the first `fail`
    calls with 503 (a throttled or failing function behind the HTTP API)."""

    def __init__(self, fail: int = 0) -> None:
        self.fail, self.calls = fail, 0

    def __call__(self, method: str, url: str, data: bytes, headers: dict[str, str]) -> Any:
        from sluice import feedback

        from sluicectl.inference import Reply

        self.calls += 1
        if self.calls <= self.fail:
            return Reply(503, {"message": "Service Unavailable"})
        named = chaos.FeedbackDriver._named(data)
        if named is None or not 0 <= named[1] <= 9:
            return Reply(400, {"error": {"code": "invalid_request"}})
        job, label = named
        if "Item" not in clients("dynamodb").get_item(TableName="chaos-jobs", Key={"job_id": {"S": job}}):
            return Reply(404, {"error": {"code": "not_found"}})
        try:
            feedback.record_label(clients("dynamodb"), "chaos-labels", feedback.Label(job, label, f"feedback/digits/images/{job}"), "2026-01-01T00:00:00Z")
        except feedback.Duplicate as duplicate:
            if duplicate.existing and duplicate.existing.label != label:
                return Reply(409, {"error": {"code": "label_conflict"}})
            return Reply(200, {"status": "duplicate"})
        return Reply(201, {"status": "recorded"})


def test_the_feedback_driver_counts_labels_refusals_and_retries_and_leaves_the_store_as_found(feedback_outputs, monkeypatch) -> None:
    from sluicectl import inference

    api = FakeFeedbackApi(fail=2)
    monkeypatch.setattr(inference, "http", api)
    monkeypatch.setattr(chaos.time, "sleep", lambda _: None)
    clients("dynamodb").put_item(TableName="chaos-labels", Item={"job_id": {"S": "#state"}, "pending": {"N": "2"}, "labels_total": {"N": "7"}})
    driver = chaos.FeedbackDriver(clients, feedback_outputs, "run00007")
    driver.WORKERS = 1  # moto in process is not thread-safe
    driver.prepare()
    assert _state()["request_id"] == "chaos-run00007"  # held: no threshold crossing requests a training
    batch = driver.send("baseline", 12)
    statuses = Counter(status for status, _ in driver.replies.values())
    # per 6: 3 new labels (201), an unknown job (404), the same label again (200), another label (409)
    assert statuses == Counter({201: 6, 404: 2, 200: 2, 409: 2}) and api.calls == 14  # the two 503s were retried
    tally = driver.count([batch], [])[0]
    assert (tally.sent, tally.processed, tally.failure_records, tally.duplicates, tally.lost) == (12, 8, 4, 0, 0)

    fuzz = chaos.fuzz_bodies(driver.template(), 10, huge_bytes=2000)
    fuzzed = driver.send("fuzz", 10, fuzz)
    tallies = driver.count([batch, fuzzed], [])
    assert sum(t.lost for t in tallies) == 0 and sum(t.duplicates for t in tallies) == 0
    assert tallies[1].failure_records > 0

    driver.finish()
    state = _state()
    assert (state["pending"], state["labels_total"], state.get("request_id")) == (2, 7, None)
    assert [i for i in clients("dynamodb").scan(TableName="chaos-labels")["Items"] if i["job_id"]["S"] != "#state"] == []
    assert clients("dynamodb").scan(TableName="chaos-jobs")["Items"] == []


def test_a_label_counted_twice_is_a_duplicate_and_an_unanswered_submission_is_lost_unless_stored(feedback_outputs) -> None:
    driver = chaos.FeedbackDriver(clients, feedback_outputs, "run00008")
    driver.prepare()
    job = driver.new_job()
    stored, unanswered = "run00008-faults-00000", "run00008-faults-00001"
    driver.wanted = {stored: (job, 4), unanswered: (uuid.uuid4().hex, 4)}
    driver.replies = {stored: (502, "Internal Server Error"), unanswered: (503, "Service Unavailable")}  # retries used up
    batch = chaos.Batch("faults", [stored, unanswered])
    assert driver.count([batch], [])[0].lost == 2  # nothing stored yet: the counting can fail

    from sluice import feedback

    feedback.record_label(clients("dynamodb"), "chaos-labels", feedback.Label(job, 4, "k"), "2026-01-01T00:00:00Z")
    tally = driver.count([batch], [])[0]
    assert (tally.processed, tally.lost, tally.duplicates) == (1, 1, 0)  # the function stored it, then failed

    clients("dynamodb").update_item(TableName="chaos-labels", Key={"job_id": {"S": "#state"}}, UpdateExpression="ADD labels_total :one", ExpressionAttributeValues={":one": {"N": "1"}})
    assert driver.count([batch], [])[0].duplicates == 1  # counted twice for one label item


def test_the_suite_shares_one_patient_client_per_service_across_its_threads() -> None:
    """A saturated local cloud answers late, not never: the suite's clients wait minutes and retry, and the
    drivers' threads share them (creating boto3 clients concurrently is not thread-safe)."""
    import threading

    made: list[tuple[str, Any]] = []

    def factory(service: str, config: Any) -> object:
        made.append((service, config))
        return object()

    client = chaos.patient_clients(factory)
    got: list[object] = []
    threads = [threading.Thread(target=lambda: got.append(client("dynamodb"))) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({id(c) for c in got}) == 1 and client("s3") is not got[0]
    assert [service for service, _ in made] == ["dynamodb", "s3"]
    config = made[0][1]
    # botocore rewrites `retries` in place ({"max_attempts": 5} -> {"total_max_attempts": 6}) once a client uses it.
    attempts = config.retries.get("total_max_attempts", config.retries.get("max_attempts", 0) + 1)
    assert config.read_timeout >= 120 and config.retries["mode"] == "standard" and attempts == 6
