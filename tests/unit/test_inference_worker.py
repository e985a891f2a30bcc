"""Pipeline 3's worker logic (functions/inference_worker/logic.py) with moto: batches end jobs once, bad images
fail jobs with reasons, poison messages are permanent, transient failures give up on the last receive."""

from __future__ import annotations

import json
import sys
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import boto3
import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "layers" / "ml" / "python"))

from inference_worker import logic  # noqa: E402
from sluice import contracts  # noqa: E402
from sluice.errors import PermanentError  # noqa: E402
from sluice_ml import model_store  # noqa: E402

from sluicectl import model as digits  # noqa: E402

JOBS = "sluice-test-predictions"
INPUTS = "sluice-test-123456789012-inference-inputs"
MODELS = "sluice-test-123456789012-models"


class Events:
    def __init__(self, fail: bool = False) -> None:
        self.entries: list[dict] = []
        self.fail = fail

    def put_events(self, Entries):
        if self.fail:
            raise RuntimeError("EventBridge is down")
        self.entries += Entries
        return {"FailedEntryCount": 0, "Entries": [{"EventId": str(uuid.uuid4())} for _ in Entries]}


@pytest.fixture(scope="module")
def trained() -> digits.TrainedModel:
    return digits.train(("svc",))


@pytest.fixture
def env(aws: None, trained, tmp_path):
    s3 = boto3.client("s3", region_name="us-east-1")
    ddb = boto3.client("dynamodb", region_name="us-east-1")
    for bucket in (INPUTS, MODELS):
        s3.create_bucket(Bucket=bucket)
    ddb.create_table(
        TableName=JOBS,
        KeySchema=[{"AttributeName": "job_id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "job_id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    digits.publish(s3, MODELS, trained)
    events = Events()
    ports = logic.Ports(s3=s3, dynamodb=ddb, events=events, jobs_table=JOBS, event_bus="sluice-test-domain")
    models = model_store.ModelCache(s3, MODELS, "digits", cache_dir=tmp_path)
    return ports, models, events


def job(ports, data: bytes, status: str = "queued") -> tuple[str, dict]:
    job_id = uuid.uuid4().hex
    ports.dynamodb.put_item(TableName=JOBS, Item={"job_id": {"S": job_id}, "status": {"S": status}, "created_at": {"S": "2026-01-01T00:00:00Z"}, "expires_at": {"N": "9999999999"}})
    put = ports.s3.put_object(Bucket=INPUTS, Key=f"inputs/{job_id}", Body=data)
    event = {
        "version": "0", "id": str(uuid.uuid4()), "detail-type": "Object Created", "source": "aws.s3",
        "account": "123456789012", "time": "2026-01-01T00:00:00Z", "region": "us-east-1", "resources": [],
        "detail": {"bucket": {"name": INPUTS}, "object": {"key": f"inputs/{job_id}", "size": len(data), "etag": put["ETag"].strip('"')}},
    }  # fmt: skip
    return job_id, {"messageId": str(uuid.uuid4()), "body": json.dumps(event), "attributes": {"ApproximateReceiveCount": "1"}}


def stored(ports, job_id: str) -> dict:
    return ports.dynamodb.get_item(TableName=JOBS, Key={"job_id": {"S": job_id}})["Item"]


def test_a_batch_is_classified_in_one_call_and_every_job_ends_with_an_event(env, trained) -> None:
    ports, models, events = env
    _, X_test, _, y_test = digits.load_split()
    jobs = [job(ports, digits.render_digit(X_test[i], 64, invert=i % 2 == 0)) for i in range(10)]
    result = logic.process_batch([record for _, record in jobs], ports, models)
    assert result.inferred == 10 and result.model_version == trained.version
    assert [item.error for item in result.items] == [None] * 10
    labels = [int(stored(ports, job_id)["label"]["N"]) for job_id, _ in jobs]
    assert sum(label == y for label, y in zip(labels, y_test[:10], strict=True)) >= 9
    assert {stored(ports, job_id)["status"]["S"] for job_id, _ in jobs} == {"succeeded"}
    assert len(events.entries) == 10
    for entry in events.entries:
        assert entry["Source"] == "sluice.inference" and entry["DetailType"] == "PredictionCompleted"
        contracts.validate("prediction_completed", json.loads(entry["Detail"]))


def test_a_bad_image_fails_its_job_with_the_reason_and_the_rest_of_the_batch_succeeds(env) -> None:
    ports, models, events = env
    good_id, good = job(ports, digits.render_digit(digits.load_split()[1][0], 32))
    bad_id, bad = job(ports, b"GIF89a....")
    empty_id, empty = job(ports, b"")
    result = logic.process_batch([good, bad, empty], ports, models)
    assert [item.error for item in result.items] == [None, None, None]  # handled: nothing to retry
    assert stored(ports, good_id)["status"]["S"] == "succeeded"
    assert (stored(ports, bad_id)["status"]["S"], stored(ports, bad_id)["error_code"]["S"]) == ("failed", "unsupported_media_type")
    assert stored(ports, empty_id)["error_code"]["S"] == "empty" and stored(ports, empty_id)["reason"]["S"]
    details = [json.loads(e["Detail"]) for e in events.entries]
    for detail in details:
        contracts.validate("prediction_completed", detail)
    assert sorted(d["status"] for d in details) == ["failed", "failed", "succeeded"]


def test_a_redelivered_message_changes_nothing_and_publishes_nothing(env) -> None:
    ports, models, events = env
    job_id, record = job(ports, digits.render_digit(digits.load_split()[1][0], 32))
    logic.process_batch([record], ports, models)
    before = stored(ports, job_id)
    assert logic.PUBLISHED in before and logic.CLAIMED_UNTIL not in before
    result = logic.process_batch([record], ports, models)
    assert result.items[0].outcome == "duplicate" and result.items[0].error is None
    assert stored(ports, job_id) == before
    assert [json.loads(e["Detail"])["job_id"] for e in events.entries] == [job_id]  # announced once


def test_a_concurrent_delivery_waits_for_the_claim_then_publishes_only_if_still_owed(env) -> None:
    ports, models, events = env
    now = [1_000_000.0]
    clocked = logic.Ports(**{**ports.__dict__, "clock": lambda: now[0]})
    job_id, record = job(clocked, digits.render_digit(digits.load_split()[1][0], 32))
    # A first delivery ended the job and holds the claim, but has not published yet (still running, or died).
    clocked.dynamodb.update_item(
        TableName=JOBS, Key={"job_id": {"S": job_id}}, UpdateExpression="SET #s = :s, label = :l, confidence = :c, model_name = :m, model_version = :v, #c = :u",
        ExpressionAttributeNames={"#s": "status", "#c": logic.CLAIMED_UNTIL},
        ExpressionAttributeValues={":s": {"S": "succeeded"}, ":l": {"N": "3"}, ":c": {"N": "0.9"}, ":m": {"S": "digits"}, ":v": {"S": "v1"}, ":u": {"N": str(now[0] + 60)}},
    )  # fmt: skip
    second = logic.process_batch([record], clocked, models)
    assert isinstance(second.items[0].error, logic.PublishInProgress) and not isinstance(second.items[0].error, PermanentError)
    assert events.entries == []
    now[0] += 61  # the first delivery died: its claim expired
    third = logic.process_batch([record], clocked, models)
    assert third.items[0].error is None
    assert [json.loads(e["Detail"])["job_id"] for e in events.entries] == [job_id]
    assert logic.PUBLISHED in stored(ports, job_id)
    logic.process_batch([record], clocked, models)
    assert len(events.entries) == 1


@pytest.mark.parametrize("body", ["not json", json.dumps({"source": "aws.s3", "detail-type": "Object Created", "detail": {"bucket": {"name": INPUTS}, "object": {"key": "other/x", "etag": "e"}}})])
def test_a_malformed_message_is_a_permanent_error(env, body: str) -> None:
    ports, models, _ = env
    result = logic.process_batch([{"messageId": "m1", "body": body}], ports, models)
    assert isinstance(result.items[0].error, PermanentError)


def test_an_image_for_no_job_is_a_permanent_error(env) -> None:
    ports, models, _ = env
    job_id, record = job(ports, digits.render_digit(digits.load_split()[1][0], 32))
    ports.dynamodb.delete_item(TableName=JOBS, Key={"job_id": {"S": job_id}})
    result = logic.process_batch([record], ports, models)
    assert isinstance(result.items[0].error, logic.UnknownJob)


def test_no_model_is_transient_until_the_last_receive_which_ends_the_job(env, tmp_path) -> None:
    ports, _, events = env
    empty = model_store.ModelCache(ports.s3, "sluice-test-no-models", "digits", cache_dir=tmp_path / "none")
    ports.s3.create_bucket(Bucket="sluice-test-no-models")
    job_id, record = job(ports, digits.render_digit(digits.load_split()[1][0], 32))
    first = logic.process_batch([record], ports, empty)
    assert isinstance(first.items[0].error, model_store.ModelUnavailable) and not isinstance(first.items[0].error, PermanentError)
    assert stored(ports, job_id)["status"]["S"] == "queued"  # retried by SQS

    record["attributes"]["ApproximateReceiveCount"] = "3"
    last = logic.process_batch([record], ports, empty)
    assert last.items[0].error is not None  # still a failure: SQS dead-letters the message
    item = stored(ports, job_id)
    assert (item["status"]["S"], item["error_code"]["S"]) == ("failed", "retries_exhausted") and "ModelUnavailable" in item["reason"]["S"]
    assert json.loads(events.entries[-1]["Detail"])["error_code"] == "retries_exhausted"


def test_two_copies_of_a_message_that_both_give_up_announce_the_failure_once(env, tmp_path) -> None:
    """A duplicate delivery is a second SQS message with its own receive count: both copies may exhaust their
    receives. The job fails once and one event says so; the second give-up changes nothing."""
    ports, _, events = env
    empty = model_store.ModelCache(ports.s3, "sluice-test-no-models", "digits", cache_dir=tmp_path / "none")
    ports.s3.create_bucket(Bucket="sluice-test-no-models")
    job_id, record = job(ports, digits.render_digit(digits.load_split()[1][0], 32))
    record["attributes"]["ApproximateReceiveCount"] = "3"
    copy = {**record, "messageId": str(uuid.uuid4())}
    logic.process_batch([record], ports, empty)
    first = stored(ports, job_id)
    second = logic.process_batch([copy], ports, empty)
    assert second.items[0].error is not None  # still dead-lettered: the DLQ holds both copies for a redrive
    assert stored(ports, job_id) == first
    announced = [json.loads(e["Detail"]) for e in events.entries if json.loads(e["Detail"])["job_id"] == job_id]
    assert [(d["status"], d["error_code"]) for d in announced] == [("failed", "retries_exhausted")]


def test_a_redriven_job_that_gave_up_can_still_succeed(env) -> None:
    ports, models, _ = env
    job_id, record = job(ports, digits.render_digit(digits.load_split()[1][0], 32))
    ports.dynamodb.update_item(
        TableName=JOBS, Key={"job_id": {"S": job_id}}, UpdateExpression="SET #s = :f, error_code = :e",
        ExpressionAttributeNames={"#s": "status"}, ExpressionAttributeValues={":f": {"S": "failed"}, ":e": {"S": "retries_exhausted"}},
    )  # fmt: skip
    logic.process_batch([record], ports, models)
    item = stored(ports, job_id)
    assert item["status"]["S"] == "succeeded" and "error_code" not in item


def test_an_event_that_cannot_be_published_is_retried(env) -> None:
    ports, models, _ = env
    failing = logic.Ports(**{**ports.__dict__, "events": Events(fail=True)})
    job_id, record = job(failing, digits.render_digit(digits.load_split()[1][0], 32))
    result = logic.process_batch([record], failing, models)
    assert isinstance(result.items[0].error, RuntimeError)  # transient: redelivered, then published
    item = stored(ports, job_id)
    assert item["status"]["S"] == "succeeded" and logic.PUBLISHED not in item and logic.CLAIMED_UNTIL not in item
    _, _, events = env
    retried = logic.process_batch([record], ports, models)  # the claim was released: published at once
    assert retried.items[0].error is None and retried.items[0].outcome == "duplicate"
    assert [json.loads(e["Detail"])["status"] for e in events.entries] == ["succeeded"]
    logic.process_batch([record], ports, models)
    assert len(events.entries) == 1


def test_the_model_runs_on_a_float32_batch(env) -> None:
    _, models, _ = env
    labels, probabilities = models.get().predict(np.zeros((4, 64), dtype=np.float32))
    assert labels.shape == (4,) and np.allclose(probabilities.sum(axis=1), 1, atol=1e-3)


class _Meeting:
    """A client whose ``operation`` waits at a barrier: the calls pass only if enough of them are in flight at once."""

    def __init__(self, client, operation: str, barrier: threading.Barrier) -> None:
        self._client, self._operation, self._barrier = client, operation, barrier

    def __getattr__(self, name: str):
        attr = getattr(self._client, name)
        if name != self._operation:
            return attr

        def call(**kwargs):
            self._barrier.wait()
            return attr(**kwargs)

        return call


@pytest.mark.parametrize("concurrent", [True, False])
def test_the_batch_per_image_requests_are_in_flight_together_with_a_pool(env, concurrent: bool) -> None:
    """With a thread pool's map (the handler's), the batch's image GETs, then its job updates, then its published
    marks are each in flight together: barriers that need all four at once pass. One after another (the builtin
    map), the first GET waits alone and the barrier breaks: each image fails transiently, none is lost."""
    ports, models, events = env
    _, X_test, _, _ = digits.load_split()
    jobs = [job(ports, digits.render_digit(X_test[i], 32)) for i in range(4)]
    timeout = 5.0 if concurrent else 0.2
    meeting = logic.Ports(
        **{
            **ports.__dict__,
            "s3": _Meeting(ports.s3, "get_object", threading.Barrier(4, timeout=timeout)),
            "dynamodb": _Meeting(ports.dynamodb, "update_item", threading.Barrier(4, timeout=timeout)),
        }
    )
    with ThreadPoolExecutor(4) as pool:
        result = logic.process_batch([record for _, record in jobs], meeting, models, pool.map if concurrent else map)
    if concurrent:
        assert [item.error for item in result.items] == [None] * 4 and result.inferred == 4
        assert {stored(ports, job_id)["status"]["S"] for job_id, _ in jobs} == {"succeeded"}
        assert all(logic.PUBLISHED in stored(ports, job_id) for job_id, _ in jobs)  # the marks met too
        assert len(events.entries) == 4
    else:
        assert all(isinstance(item.error, threading.BrokenBarrierError) for item in result.items)
        assert {stored(ports, job_id)["status"]["S"] for job_id, _ in jobs} == {"queued"} and not events.entries
