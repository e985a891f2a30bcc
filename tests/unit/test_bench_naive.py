"""The naive baselines of pipelines 3, 4 and 5 (bench/naive/) with moto: they must answer the same question as ours
(right sentiment, a summary, the seed's rule), or the benchmark would compare speed of different work."""

from __future__ import annotations

import base64
import json
import sys
from pathlib import Path
from typing import Any

import boto3
import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "layers" / "ml" / "python"))

from sluice_ml import fraud  # noqa: E402

from bench import baselines  # noqa: E402
from bench.naive import document_handlers as docs  # noqa: E402
from bench.naive import inference_api_handler, stream_handler  # noqa: E402
from sluicectl import documents as generator  # noqa: E402

BUCKET, OUTPUT, TABLE = "naive-landing", "naive-output", "naive-results"


@pytest.fixture
def clients(aws: None, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    s3, ddb, sns = boto3.client("s3"), boto3.client("dynamodb"), boto3.client("sns")
    for bucket in (BUCKET, OUTPUT):
        s3.create_bucket(Bucket=bucket)
    ddb.create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    topic = sns.create_topic(Name="naive-docs")["TopicArn"]
    monkeypatch.setenv("OUTPUT_BUCKET", OUTPUT)
    monkeypatch.setenv("RESULTS_TABLE", TABLE)
    monkeypatch.setenv("TOPIC_ARN", topic)
    return {"s3": s3, "dynamodb": ddb}


@pytest.mark.parametrize("index", [0, 1, 2, 3])  # PDF positive, PDF negative, text positive, text negative
def test_documents_chain_gets_the_sentiment_right_and_stores_it(clients: dict[str, Any], index: int) -> None:
    doc = generator.generate(4, "documents/run-x/", seed=11, bad=False)[index]
    clients["s3"].put_object(Bucket=BUCKET, Key=doc.key, Body=doc.body)
    state: dict[str, Any] = {"bucket": BUCKET, "key": doc.key}
    for step in baselines.NAIVE_DOCUMENT_STEPS:  # what the workflow does: each output is the next input
        state = getattr(docs, step)(state, None)
    assert state["sentiment"] == doc.expected
    item = clients["dynamodb"].get_item(TableName=TABLE, Key={"pk": {"S": state["document_id"]}})["Item"]
    assert item["sentiment"]["S"] == doc.expected
    assert f"-{doc.expected}." in item["pk"]["S"]  # what the benchmark counts as "sentiment right"
    assert len(json.loads(item["summary"]["S"])) == 3
    stored = json.loads(clients["s3"].get_object(Bucket=OUTPUT, Key=f"results/{doc.key}.json")["Body"].read())
    assert "text" not in stored and stored["keywords"]


def test_documents_validate_refuses_a_fake_pdf(clients: dict[str, Any]) -> None:
    clients["s3"].put_object(Bucket=BUCKET, Key="documents/x.pdf", Body=b"not a pdf at all")
    with pytest.raises(ValueError, match="not a PDF"):
        docs.validate({"bucket": BUCKET, "key": "documents/x.pdf"}, None)


def test_documents_trigger_starts_one_execution_per_record(aws: None, monkeypatch: pytest.MonkeyPatch) -> None:
    started: list[dict[str, Any]] = []

    class FakeSfn:
        def start_execution(self, **kwargs: Any) -> None:
            started.append(kwargs)

    monkeypatch.setattr(docs.boto3, "client", lambda name: FakeSfn())
    monkeypatch.setenv("STATE_MACHINE_ARN", "arn:machine")
    records = [{"s3": {"bucket": {"name": BUCKET}, "object": {"key": f"documents/a+{i}.txt"}}} for i in range(2)]
    docs.trigger({"Records": records}, None)
    assert [json.loads(s["input"]) for s in started] == [
        {"bucket": BUCKET, "key": "documents/a 0.txt"},
        {"bucket": BUCKET, "key": "documents/a 1.txt"},
    ]
    assert {s["stateMachineArn"] for s in started} == {"arn:machine"}


def test_naive_workflow_is_the_seeds_sequence_of_lambda_invoke_tasks() -> None:
    arns = {step: f"arn:fn:{step}" for step in baselines.NAIVE_DOCUMENT_STEPS}
    definition = baselines.document_definition(arns)
    order, name = [], definition["StartAt"]
    while name:
        state = definition["States"][name]
        order.append(name)
        assert state["Resource"] == "arn:aws:states:::lambda:invoke"
        assert state["OutputPath"] == "$.Payload"
        assert state["Catch"][0]["Next"] == "ProcessingFailed"
        assert state["Retry"][0] == {
            "ErrorEquals": ["States.ALL"],
            "IntervalSeconds": 1,
            "MaxAttempts": 3,
            "BackoffRate": 2,
        }
        name = state.get("Next")
        if name is None:
            assert state["End"] is True
    assert order == ["Validate", "Extract", "Sentiment", "Summarize", "Store", "Notify"]
    assert [definition["States"][s]["Parameters"]["FunctionName"] for s in order] == list(arns.values())
    assert definition["States"]["ProcessingFailed"]["Type"] == "Fail"


def test_transitions_count_states_entered_per_execution() -> None:
    def history(states: int) -> list[dict[str, Any]]:
        events = [{"type": "ExecutionStarted"}]
        for _ in range(states):
            events += [{"type": "TaskStateEntered"}, {"type": "TaskStateExited"}]
        return [*events, {"type": "ParallelStateEntered"}, {"type": "ExecutionSucceeded"}]

    assert baselines.transitions([history(5), history(7)]) == 7.0  # (6 + 8) / 2
    assert baselines.transitions([]) == 0.0


def _txn(tid: str, amount: float, lat: float, lon: float, time: str) -> dict[str, Any]:
    return {
        "transaction_id": tid,
        "user_id": "u1",
        "amount": amount,
        "location": {"lat": lat, "lon": lon},
        "time": time,
    }


def test_stream_score_applies_the_seeds_rule_against_the_users_state() -> None:
    rule = fraud.Rule()
    state, assessment, probability, reasons = stream_handler.score(
        _txn("t1", 40.0, 40.7128, -74.0060, "2026-12-01T10:00:00.000Z"), None, rule, None, 0.7
    )
    assert reasons == [] and probability is None and state.count == 1 and assessment.distance_miles is None
    # London 20 minutes later for 9,000: > 1,000 miles within the hour, over 5,000.
    state, assessment, _, reasons = stream_handler.score(
        _txn("t2", 9000.0, 51.5074, -0.1278, "2026-12-01T10:20:00.000Z"), state, rule, None, 0.7
    )
    assert reasons == ["impossible_travel_high_amount"]
    assert assessment.distance_miles > 3000 and state.count == 2 and state.last_lat == 51.5074


def test_stream_score_adds_the_model_reason_at_the_threshold() -> None:
    import numpy as np

    class Session:
        def __init__(self, probability: float) -> None:
            self.probability = probability

        def run(self, _: Any, feeds: dict[str, Any]) -> tuple[Any, Any]:
            assert feeds["input"].shape == (1, len(fraud.FEATURES))
            return np.array([1]), np.array([[1 - self.probability, self.probability]], dtype=np.float32)

    record = _txn("t1", 40.0, 40.7, -74.0, "2026-12-01T10:00:00.000Z")
    assert stream_handler.score(record, None, fraud.Rule(), Session(0.7), 0.7)[3] == ["model_score"]
    assert stream_handler.score(record, None, fraud.Rule(), Session(0.69), 0.7)[3] == []


def test_stream_state_item_round_trips() -> None:
    state = fraud.UserState("u1", 1.5, -2.25, 1_700_000_000.0, count=3, amount_mean=12.5, amount_max=40.0)
    assert stream_handler.state_from_item(stream_handler.state_item(state)) == state


def test_stream_handler_reads_and_writes_the_state_once_per_record(
    aws: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    ddb = boto3.client("dynamodb")
    for table, key in (("state", "user_id"), ("alerts", "pk")):
        ddb.create_table(
            TableName=table,
            KeySchema=[{"AttributeName": key, "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": key, "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
    boto3.client("s3").create_bucket(Bucket="models")
    boto3.client("s3").put_object(Bucket="models", Key="model.onnx", Body=b"onnx")
    boto3.client("events").create_event_bus(Name="bus")
    for name, value in {
        "MODEL_BUCKET": "models",
        "MODEL_KEY": "model.onnx",
        "STATE_TABLE": "state",
        "ALERTS_TABLE": "alerts",
        "BUS_NAME": "bus",
        "THRESHOLD": "0.7",
    }.items():
        monkeypatch.setenv(name, value)
    sessions: list[bytes] = []

    class Session:
        def __init__(self, model: bytes, providers: list[str]) -> None:
            sessions.append(model)

        def run(self, _: Any, feeds: dict[str, Any]) -> tuple[Any, Any]:
            import numpy as np

            return np.array([0]), np.array([[0.9, 0.1]], dtype=np.float32)

    monkeypatch.setattr(stream_handler.ort, "InferenceSession", Session)

    def event(record: dict[str, Any]) -> dict[str, Any]:
        return {"Records": [{"kinesis": {"data": base64.b64encode(json.dumps(record).encode()).decode()}}]}

    stream_handler.handler(event(_txn("t1", 40.0, 40.7128, -74.0060, "2026-12-01T10:00:00.000Z")), None)
    stream_handler.handler(event(_txn("t2", 9000.0, 51.5074, -0.1278, "2026-12-01T10:20:00.000Z")), None)
    assert sessions == [b"onnx", b"onnx"]  # a model download and a session per call
    item = ddb.get_item(TableName="state", Key={"user_id": {"S": "u1"}})["Item"]
    assert item["txn_count"]["N"] == "2"
    alerts = ddb.scan(TableName="alerts")["Items"]
    assert [a["pk"]["S"] for a in alerts] == ["t2"]
    assert json.loads(alerts[0]["alert"]["S"])["reasons"] == ["impossible_travel_high_amount"]


def test_inference_api_saves_a_posted_image_and_answers_its_result_once_the_worker_wrote_it(
    clients: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Seed 004's two endpoints, as the naive throughput run drives them: POST /images (a binary body arrives
    base64-encoded) -> S3 uploads/<id> (what the naive worker is notified of); GET /results/{id}: 404 until the
    worker's row exists (keyed by the object key), then 200 "succeeded" with its label."""
    monkeypatch.setenv("IMAGES_BUCKET", BUCKET)
    image = b"\x89PNG\r\n\x1a\n-not-really"
    posted = inference_api_handler.handler(
        {"routeKey": "POST /images", "body": base64.b64encode(image).decode(), "isBase64Encoded": True}, None
    )
    assert posted["statusCode"] == 202
    image_id = json.loads(posted["body"])["image_id"]
    assert clients["s3"].get_object(Bucket=BUCKET, Key=f"uploads/{image_id}")["Body"].read() == image

    def result() -> dict[str, Any]:
        return inference_api_handler.handler(
            {"routeKey": "GET /results/{image_id}", "pathParameters": {"image_id": image_id}}, None
        )

    assert result()["statusCode"] == 404 and json.loads(result()["body"])["status"] == "pending"
    clients["dynamodb"].put_item(
        TableName=TABLE, Item={"pk": {"S": f"uploads/{image_id}"}, "label": {"N": "7"}, "probabilities": {"S": "[]"}}
    )
    assert result()["statusCode"] == 200
    assert json.loads(result()["body"]) == {"image_id": image_id, "status": "succeeded", "label": 7}
    assert inference_api_handler.handler({"routeKey": "GET /other"}, None)["statusCode"] == 404
