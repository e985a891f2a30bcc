"""Pipeline 5's scorer (functions/fraud_scorer) with moto: the seed's rule on haversine distances, per-user state
carried inside a batch and across batches with a constant number of DynamoDB calls, the poison record policy
(score up to it, report it and the rest; fail the invocation when it is first), retries that do not count twice,
model scores and thresholds, alerts published 10 per call and written to the alerts table."""

from __future__ import annotations

import base64
import json
import math
import sys
import uuid
from pathlib import Path
from typing import Any

import boto3
import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "layers" / "ml" / "python"))

from fraud_scorer import logic  # noqa: E402
from sluice import contracts  # noqa: E402
from sluice.publish import EventPublisher  # noqa: E402
from sluice_ml import fraud  # noqa: E402

from sluicectl import stream  # noqa: E402

FEATURES = "sluice-test-fraud-features"
ALERTS = "sluice-test-fraud-alerts"
NY = (40.7128, -74.0060)
LA = (34.0522, -118.2437)
NEWARK = (40.7357, -74.1724)
T0 = 1_780_000_000.0


class Events:
    def __init__(self, fail: bool = False) -> None:
        self.calls: list[list[dict]] = []
        self.fail = fail

    def put_events(self, Entries):
        if self.fail:
            return {
                "FailedEntryCount": len(Entries),
                "Entries": [
                    {"ErrorCode": "ThrottlingException", "ErrorMessage": "slow down"} for _ in Entries
                ],
            }
        self.calls.append(Entries)
        return {"FailedEntryCount": 0, "Entries": [{"EventId": str(uuid.uuid4())} for _ in Entries]}

    @property
    def details(self) -> list[dict]:
        return [json.loads(e["Detail"]) for call in self.calls for e in call]


class Counting:
    """A DynamoDB client that counts its calls."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.calls: dict[str, int] = {}

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.client, name)

        def call(**kwargs: Any) -> Any:
            self.calls[name] = self.calls.get(name, 0) + 1
            return method(**kwargs)

        return call


class FakeModel:
    """A model whose score is a function of the feature vector (the amount ratio column)."""

    name, version, input_name = "fraud", "test1", "input"

    def __init__(self) -> None:
        self.runs = 0
        self.session = self

    def run(self, _outputs, feeds):
        self.runs += 1
        matrix = feeds["input"]
        ratio = matrix[:, fraud.FEATURES.index("log_amount_ratio")]
        score = 1 / (1 + np.exp(-(ratio - math.log(10)) * 4))
        return [(score >= 0.5).astype(np.int64), np.stack([1 - score, score], axis=1).astype(np.float32)]


@pytest.fixture
def env(aws: None):
    ddb = boto3.client("dynamodb", region_name="us-east-1")
    for name, key in ((FEATURES, "user_id"), (ALERTS, "alert_id")):
        ddb.create_table(
            TableName=name,
            KeySchema=[{"AttributeName": key, "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": key, "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
    events = Events()
    counting = Counting(ddb)
    ports = logic.Ports(
        dynamodb=counting,
        publisher=EventPublisher(events, "bus", sleep=lambda s: None),
        features_table=FEATURES,
        alerts_table=ALERTS,
        threshold=0.7,
        clock=lambda: T0 + 10_000,
        sleep=lambda s: None,
    )
    return ports, events, counting, ddb


_seq = iter(range(1, 10**9))


def txn(
    user: str, where: tuple[float, float], minutes: float, amount: float = 50.0, tid: str | None = None
) -> dict:
    return {
        "transaction_id": tid or f"t-{uuid.uuid4().hex[:10]}",
        "user_id": user,
        "amount": amount,
        "currency": "USD",
        "location": {"lat": where[0], "lon": where[1]},
        "time": stream.iso(T0 + minutes * 60),
        "merchant": {"id": "m-1", "category": "grocery"},
    }


def record(body: dict | bytes, shard: str = "shardId-000000000000") -> dict:
    sequence = f"{49600000000000000000 + next(_seq)}"
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return {
        "kinesis": {
            "partitionKey": "k",
            "sequenceNumber": sequence,
            "data": base64.b64encode(data).decode(),
            "approximateArrivalTimestamp": T0,
        },
        "eventID": f"{shard}:{sequence}",
        "eventSourceARN": "arn:aws:kinesis:us-east-1:123456789012:stream/sluice-test-transactions",
        "eventSource": "aws:kinesis",
        "eventName": "aws:kinesis:record",
    }


def state(ddb, user: str) -> dict:
    """The user's item, its packed features alongside (as stream.user_states reads it)."""
    return stream.user_states(ddb, FEATURES, [user]).get(user, {})


def test_haversine_new_york_to_los_angeles() -> None:
    assert fraud.haversine_miles(*NY, *LA) == pytest.approx(2445, abs=5)
    assert fraud.haversine_miles(*NY, *NY) == 0


@pytest.mark.parametrize(
    ("minutes", "amount", "where", "hit"),
    [
        (30, 6000, LA, True),  # the seed's case
        (60, 6000, LA, True),  # exactly an hour: within
        (61, 6000, LA, False),  # too late: could have flown
        (30, 4999, LA, False),  # too small
        (30, 6000, NEWARK, False),  # not far
    ],
)
def test_the_seed_rule(env, minutes, amount, where, hit) -> None:
    ports, events, _, _ = env
    result = logic.process_batch(
        [record(txn("u1", NY, 0)), record(txn("u1", where, minutes, amount))], ports, None
    )
    assert result.scored == 2 and not result.errors()
    assert [a["reasons"] for a in result.alerts] == ([[logic.RULE_REASON]] if hit else [])
    if hit:
        alert = events.details[0]
        contracts.validate("fraud_suspected", alert)
        assert alert["distance_miles"] == pytest.approx(2445, abs=5) and alert["previous_location"] == {
            "lat": NY[0],
            "lon": NY[1],
        }
        assert alert["model"] is None and alert["seconds_since_previous"] == minutes * 60


def test_state_is_carried_across_batches_with_one_read_and_few_writes_per_batch(env) -> None:
    ports, _, counting, ddb = env
    users = [f"u{i}" for i in range(60)]
    first = [record(txn(u, NY, 0)) for u in users]
    logic.process_batch(first, ports, None)
    assert counting.calls == {
        "batch_get_item": 1,
        "batch_write_item": 3,
    }  # 60 users: one read, 25 + 25 + 10 written
    counting.calls.clear()
    second = [record(txn(u, LA, 20, amount=7000)) for u in users]
    result = logic.process_batch(second, ports, None)  # the previous location comes from the table
    assert len(result.alerts) == 60 and all(a["reasons"] == [logic.RULE_REASON] for a in result.alerts)
    assert counting.calls == {"batch_get_item": 1, "batch_write_item": 3 + 3}  # state + 60 alerts
    item = state(ddb, "u7")
    assert item["txn_count"] == 2 and item["lat"] == pytest.approx(LA[0])


def test_a_users_transactions_in_one_batch_see_each_other_in_order(env) -> None:
    ports, _, _, ddb = env
    batch = [
        record(txn("u1", NY, 0)),
        record(txn("u2", NY, 1)),
        record(txn("u1", LA, 10, 8000)),
        record(txn("u1", NY, 20, 9000, tid="back")),
    ]
    result = logic.process_batch(batch, ports, None)
    assert [a["transaction_id"] for a in result.alerts][1:] == ["back"]  # LA after NY, then NY after LA
    assert state(ddb, "u1")["last_transaction_id"] == "back" and state(ddb, "u1")["txn_count"] == 3


def test_a_poison_record_is_reported_with_everything_after_it(env) -> None:
    ports, _, _, ddb = env
    batch = [
        record(txn("u1", NY, 0)),
        record(txn("u2", NY, 0)),
        record(b'{"transaction_id": "x", '),
        record(txn("u3", NY, 0)),
    ]
    result = logic.process_batch(batch, ports, None)
    errors = result.errors()
    assert list(errors) == [batch[2]["kinesis"]["sequenceNumber"], batch[3]["kinesis"]["sequenceNumber"]]
    assert isinstance(errors[batch[2]["kinesis"]["sequenceNumber"]], logic.UnscorableRecord)
    assert isinstance(errors[batch[3]["kinesis"]["sequenceNumber"]], logic.NotAttempted)
    assert result.scored == 2 and state(ddb, "u3") == {}  # retried later, after the poison


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        json.dumps({"transaction_id": "x", "user_id": "u"}).encode(),
        json.dumps({**txn("u", NY, 0), "amount": -1}).encode(),
        json.dumps({**txn("u", NY, 0), "location": {"lat": 91, "lon": 0}}).encode(),
        json.dumps({**txn("u", NY, 0), "time": "yesterday at noon"}).encode(),
    ],
)
def test_records_that_can_never_be_scored(body) -> None:
    with pytest.raises(logic.UnscorableRecord):
        logic.parse(record(body))


def test_a_retried_batch_does_not_count_twice(env) -> None:
    ports, events, _, ddb = env
    batch = [record(txn("u1", NY, 0)), record(txn("u1", LA, 10, 9000))]
    logic.process_batch(batch, ports, None)
    again = logic.process_batch(batch, ports, None)  # e.g. the invocation timed out after writing
    assert again.duplicates == 2 and again.scored == 0 and len(events.details) == 1
    assert state(ddb, "u1")["txn_count"] == 2


def test_model_scores_raise_alerts_at_the_threshold_in_one_run(env) -> None:
    ports, events, _, ddb = env
    model = FakeModel()
    batch = [record(txn(f"u{i}", NY, 0, 40)) for i in range(25)] + [
        record(txn(f"u{i}", NY, 60, 40 * 30)) for i in range(25)
    ]
    result = logic.process_batch(batch, ports, model)
    assert model.runs == 1
    assert len(result.alerts) == 25 and all(a["reasons"] == [logic.MODEL_REASON] for a in result.alerts)
    assert all(a["model"]["score"] >= 0.7 and a["model"]["version"] == "test1" for a in result.alerts)
    assert [len(call) for call in events.calls] == [10, 10, 5]  # PutEvents, 10 entries a call
    for detail in events.details:
        contracts.validate("fraud_suspected", detail)
    items = ddb.scan(TableName=ALERTS)["Items"]
    assert len(items) == 25 and {i["reasons"]["SS"][0] for i in items} == {logic.MODEL_REASON}
    assert json.loads(items[0]["detail"]["S"])["alert_id"] == items[0]["alert_id"]["S"]


def test_alerts_that_cannot_be_published_fail_the_batch_before_any_state_is_written(env) -> None:
    ports, _, _, ddb = env
    broken = logic.Ports(
        **{
            **ports.__dict__,
            "publisher": EventPublisher(Events(fail=True), "bus", sleep=lambda s: None, max_attempts=2),
        }
    )
    with pytest.raises(logic.PublishIncomplete):
        logic.process_batch([record(txn("u1", NY, 0)), record(txn("u1", LA, 5, 9000))], broken, None)
    assert state(ddb, "u1") == {}


def test_a_late_transaction_does_not_move_the_user_back_in_time(env) -> None:
    ports, _, _, ddb = env
    result = logic.process_batch(
        [record(txn("u1", NY, 100, tid="now")), record(txn("u1", LA, 50, tid="earlier"))], ports, None
    )
    assert result.late == 1
    item = state(ddb, "u1")
    assert item["last_transaction_id"] == "now" and item["late_count"] == 1


def test_the_generator_labels_every_injected_rule_case_and_keeps_users_in_time_order() -> None:
    run = stream.generate(3000, users=100, seed=5, poison=[10])
    injected = [s for s in run.samples if s.kind == "rule"]
    assert injected and all(s.label == "rule" for s in injected)
    assert run.labels["poison"] == 1 and len(run.samples) == 3001
    last: dict[str, str] = {}
    for s in run.samples:
        if s.record:
            assert s.record["time"] >= last.get(s.user_id, "")
            last[s.user_id] = s.record["time"]
            contracts.validate("transaction", s.record)


def _handler_on(ports, monkeypatch):
    """The scorer's handler module wired to `ports` (the moto tables and bus), without a model."""
    for name, value in {
        "FEATURES_TABLE": FEATURES,
        "ALERTS_TABLE": ALERTS,
        "EVENT_BUS_NAME": "bus",
        "MODEL_BUCKET": "models",
    }.items():
        monkeypatch.setenv(name, value)
    from fraud_scorer import handler

    runtime = handler.Runtime(settings=None, models=None, ports=ports)  # type: ignore[arg-type]
    monkeypatch.setattr(handler, "runtime", lambda: runtime)
    monkeypatch.setattr(handler, "current_model", lambda rt: None)
    return handler


def test_the_handler_answers_a_partial_batch_response_and_fails_when_the_first_record_is_poison(
    env, monkeypatch, lambda_context
) -> None:
    from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError

    ports, _, _, _ = env
    handler = _handler_on(ports, monkeypatch)
    batch = [record(txn("u1", NY, 0)), record(b"{"), record(txn("u2", NY, 0))]
    response = handler.handler({"Records": batch}, lambda_context)
    assert [f["itemIdentifier"] for f in response["batchItemFailures"]] == [
        r["kinesis"]["sequenceNumber"] for r in batch[1:]
    ]
    with pytest.raises(BatchProcessingError):
        handler.handler({"Records": batch[1:]}, lambda_context)  # Lambda bisects


def test_the_handler_counts_alert_reasons_in_one_emf_document_per_reason_and_batch(
    env, monkeypatch, lambda_context, capsys
) -> None:
    ports, _, _, _ = env
    handler = _handler_on(ports, monkeypatch)
    users = [f"emf-{i}" for i in range(7)]
    batch = [record(txn(u, NY, 0)) for u in users] + [record(txn(u, LA, 20, amount=7000)) for u in users]
    capsys.readouterr()
    response = handler.handler({"Records": batch}, lambda_context)
    assert response["batchItemFailures"] == []
    documents = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    reasons = [d for d in documents if "FraudAlertReasons" in d]
    assert len(reasons) == 1, reasons  # not one per alert
    assert reasons[0]["reason"] == logic.RULE_REASON and reasons[0]["FraudAlertReasons"] == [7.0]
