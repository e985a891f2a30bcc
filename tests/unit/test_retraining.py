"""Feedback and retraining with moto: labels are stored and counted once per job (duplicates and concurrent
labels included), the threshold requests retraining once, and the retrainer promotes a challenger that is not
worse than the current model on the same held-out set and refuses one that is."""

from __future__ import annotations

import base64
import importlib
import json
import sys
import uuid
from pathlib import Path

import boto3
import pytest

ROOT = Path(__file__).resolve().parents[2]
for layer in ("ml", "train"):
    if str(ROOT / "layers" / layer / "python") not in sys.path:
        sys.path.insert(0, str(ROOT / "layers" / layer / "python"))

import sluice_train  # noqa: E402
from sluice import contracts, feedback  # noqa: E402
from sluice_ml import model_store, preprocess  # noqa: E402

from sluicectl import model as digits  # noqa: E402

REGION = "us-east-1"
JOBS = "sluice-test-predictions"
INPUTS = "sluice-test-123456789012-inference-inputs"
MODELS = "sluice-test-123456789012-models"
FEEDBACK_TABLE = "sluice-test-feedback"
FEEDBACK_BUCKET = "sluice-test-123456789012-feedback"
BUS = "sluice-test-domain"
THRESHOLD = 4


def _table(ddb, name: str) -> None:
    ddb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "job_id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "job_id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )


class Stack:
    def __init__(self) -> None:
        self.s3 = boto3.client("s3", region_name=REGION)
        self.ddb = boto3.client("dynamodb", region_name=REGION)
        self.events = boto3.client("events", region_name=REGION)
        self.sqs = boto3.client("sqs", region_name=REGION)
        for bucket in (INPUTS, MODELS, FEEDBACK_BUCKET):
            self.s3.create_bucket(Bucket=bucket)
        self.s3.put_bucket_versioning(Bucket=MODELS, VersioningConfiguration={"Status": "Enabled"})
        _table(self.ddb, JOBS)
        _table(self.ddb, FEEDBACK_TABLE)
        self.events.create_event_bus(Name=BUS)
        self.inbox = self.sqs.create_queue(QueueName="inbox")["QueueUrl"]
        arn = self.sqs.get_queue_attributes(QueueUrl=self.inbox, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        self.events.put_rule(
            Name="all", EventBusName=BUS, EventPattern=json.dumps({"source": [{"prefix": "sluice."}]})
        )
        self.events.put_targets(Rule="all", EventBusName=BUS, Targets=[{"Id": "inbox", "Arn": arn}])

    def published(self) -> list[dict]:
        seen = []
        while batch := self.sqs.receive_message(QueueUrl=self.inbox, MaxNumberOfMessages=10).get(
            "Messages", []
        ):
            for message in batch:
                seen.append(json.loads(message["Body"]))
                self.sqs.delete_message(QueueUrl=self.inbox, ReceiptHandle=message["ReceiptHandle"])
        return seen

    def job(self, image: bytes, status: str = "succeeded", label: int = 3) -> str:
        job_id = uuid.uuid4().hex
        item = {
            "job_id": {"S": job_id},
            "status": {"S": status},
            "expires_at": {"N": "9999999999"},
            "label": {"N": str(label)},
            "model_version": {"S": "v0"},
        }
        self.ddb.put_item(TableName=JOBS, Item=item)
        self.s3.put_object(Bucket=INPUTS, Key=f"inputs/{job_id}", Body=image)
        return job_id

    def state(self) -> dict:
        return feedback.state(self.ddb, FEEDBACK_TABLE)


@pytest.fixture
def stack(aws) -> Stack:
    return Stack()


@pytest.fixture(scope="module")
def split():
    return sluice_train.digits_split()


def png(features) -> bytes:
    return digits.render_digit(features, 32)


# ------------------------------------------------------------------------------------------- feedback store


def test_a_label_is_stored_and_counted_once(stack) -> None:
    label = feedback.Label(job_id="a" * 32, label=3, image_key="k")
    feedback.record_label(stack.ddb, FEEDBACK_TABLE, label, "2026-01-01T00:00:00Z")
    with pytest.raises(feedback.Duplicate) as caught:
        feedback.record_label(
            stack.ddb,
            FEEDBACK_TABLE,
            feedback.Label(job_id="a" * 32, label=5, image_key="k"),
            "2026-01-01T00:00:01Z",
        )
    assert caught.value.existing.label == 3
    assert stack.state()["pending"] == 1 and stack.state()["labels_total"] == 1
    assert [x.label for x in feedback.read_labels(stack.ddb, FEEDBACK_TABLE)] == [3]


def test_the_threshold_requests_once_until_a_run_releases(stack) -> None:
    for n in range(THRESHOLD + 2):
        feedback.record_label(
            stack.ddb, FEEDBACK_TABLE, feedback.Label(job_id=f"{n:032x}", label=1, image_key="k"), "t"
        )
        won = feedback.request_retraining(
            stack.ddb,
            FEEDBACK_TABLE,
            threshold=THRESHOLD,
            request_id=f"{n:032x}",
            now="2026-01-01T00:00:00Z",
            stale_before="2025-12-31T23:00:00Z",
        )
        assert (won is not None) == (n == THRESHOLD - 1), n
    held = feedback.claim(
        stack.ddb,
        FEEDBACK_TABLE,
        run_id="r1",
        minimum=THRESHOLD,
        now="2026-01-01T00:01:00Z",
        stale_before="2025-12-31T23:00:00Z",
    )
    assert held.pending == THRESHOLD + 2
    assert (
        feedback.claim(
            stack.ddb,
            FEEDBACK_TABLE,
            run_id="r2",
            minimum=0,
            now="2026-01-01T00:01:00Z",
            stale_before="2025-12-31T23:00:00Z",
        )
        is None
    )
    feedback.record_label(
        stack.ddb, FEEDBACK_TABLE, feedback.Label(job_id="f" * 32, label=1, image_key="k"), "t"
    )  # arrives mid-run
    feedback.release(stack.ddb, FEEDBACK_TABLE, held, now="2026-01-01T00:02:00Z", outcome="promoted")
    state = stack.state()
    assert (
        state["pending"] == 1
        and "requested_at" not in state
        and "running_since" not in state
        and state["labels_total"] == THRESHOLD + 3
    )


# ---------------------------------------------------------------------------------------------- feedback API


@pytest.fixture
def api(unit_env, monkeypatch, stack):
    for name, value in {
        "JOBS_TABLE": JOBS, "INPUTS_BUCKET": INPUTS, "FEEDBACK_TABLE": FEEDBACK_TABLE, "FEEDBACK_BUCKET": FEEDBACK_BUCKET,
        "EVENT_BUS_NAME": BUS, "MODEL_NAME": "digits", "RETRAIN_THRESHOLD": str(THRESHOLD),
    }.items():  # fmt: skip
        monkeypatch.setenv(name, value)
    handler = importlib.import_module("feedback_api.handler")
    handler.ports.cache_clear()
    return handler


def post(api, lambda_context, body, *, b64: bool = False) -> tuple[int, dict]:
    raw = json.dumps(body) if not isinstance(body, str) else body
    event = {
        "routeKey": "POST /feedback",
        "rawPath": "/feedback",
        "headers": {"content-type": "application/json"},
        "isBase64Encoded": b64,
        "body": base64.b64encode(raw.encode()).decode() if b64 else raw,
    }
    response = api.handler(event, lambda_context)
    return response["statusCode"], json.loads(response["body"])


def test_post_feedback_records_copies_and_requests_retraining_once(api, stack, lambda_context, split) -> None:
    X_test = split[1]
    jobs = [stack.job(png(X_test[n])) for n in range(THRESHOLD + 1)]
    for n, job_id in enumerate(jobs):
        status, body = post(api, lambda_context, {"job_id": job_id, "label": 7}, b64=n == 0)
        assert status == 201, body
        assert body["retraining_requested"] is (n == THRESHOLD - 1) and body["pending_labels"] == n + 1
    assert post(api, lambda_context, {"job_id": jobs[0], "label": 7}) == (
        200,
        {"job_id": jobs[0], "label": 7, "status": "duplicate"},
    )
    status, body = post(api, lambda_context, {"job_id": jobs[0], "label": 2})
    assert (status, body["error"]["code"]) == (409, "label_conflict")
    assert stack.state()["pending"] == THRESHOLD + 1

    events = stack.published()
    assert [e["detail-type"] for e in events] == ["RetrainingRequested"]
    contracts.validate("retraining_requested", events[0]["detail"])
    assert (
        events[0]["detail"]["pending_labels"] == THRESHOLD and events[0]["detail"]["trigger"] == "threshold"
    )
    image = stack.s3.get_object(Bucket=FEEDBACK_BUCKET, Key=f"feedback/digits/images/{jobs[1]}")[
        "Body"
    ].read()
    assert image == png(X_test[1])
    stored = feedback.read_labels(stack.ddb, FEEDBACK_TABLE)
    assert {x.job_id for x in stored} == set(jobs) and all(
        x.predicted_label == 3 and x.model_version == "v0" for x in stored
    )


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ("not json", 400, "invalid_request"),
        ({"job_id": "x", "label": 1}, 400, "invalid_request"),
        ({"job_id": "a" * 32, "label": 10}, 400, "invalid_request"),
        ({"job_id": "a" * 32, "label": True}, 400, "invalid_request"),
        ({"job_id": "a" * 32, "label": 1, "extra": 1}, 400, "invalid_request"),
        ({"job_id": "a" * 32, "label": 1}, 404, "not_found"),
    ],
)
def test_post_feedback_refuses_bad_requests(api, stack, lambda_context, body, status, code) -> None:
    got, response = post(api, lambda_context, body)
    assert (got, response["error"]["code"]) == (status, code)
    assert stack.state()["pending"] == 0


def test_post_feedback_needs_a_classified_image_that_still_exists(api, stack, lambda_context) -> None:
    queued = stack.job(b"\x89PNG...", status="queued")
    assert (
        post(api, lambda_context, {"job_id": queued, "label": 1})[1]["error"]["code"] == "job_not_succeeded"
    )
    gone = stack.job(b"\x89PNG...")
    stack.s3.delete_object(Bucket=INPUTS, Key=f"inputs/{gone}")
    status, body = post(api, lambda_context, {"job_id": gone, "label": 1})
    assert (status, body["error"]["code"]) == (410, "image_expired")
    assert stack.state()["pending"] == 0 and feedback.read_labels(stack.ddb, FEEDBACK_TABLE) == []


# --------------------------------------------------------------------------------------------------- retrainer


@pytest.fixture
def retrainer(unit_env):
    return importlib.import_module("model_retrainer.logic")


def weak_model(split) -> bytes:
    """A champion trained on 40 images: clearly worse than what the full training split gives."""
    X_train, _, y_train, _ = split
    return sluice_train.export_onnx(sluice_train.fit("logreg", X_train[:40], y_train[:40]), "digits")


def ports(retrainer, stack, **overrides):
    values = dict(
        s3=stack.s3, dynamodb=stack.ddb, events=stack.events, model_bucket=MODELS, model_name="digits", feedback_table=FEEDBACK_TABLE,
        feedback_bucket=FEEDBACK_BUCKET, event_bus=BUS, threshold=THRESHOLD, estimator="logreg", min_accuracy=0.5, allow_test_switches=True,
    )  # fmt: skip
    values.update(overrides)
    return retrainer.Ports(**values)


def feed(stack, split, count: int) -> list[str]:
    """``count`` labelled feedback images (digits from the held-out split, rendered as PNG), stored and counted."""
    _, X_test, _, y_test = split
    jobs = []
    for n in range(count):
        job_id = uuid.uuid4().hex
        key = feedback.feedback_image_key("digits", job_id)
        stack.s3.put_object(Bucket=FEEDBACK_BUCKET, Key=key, Body=png(X_test[n]))
        feedback.record_label(
            stack.ddb, FEEDBACK_TABLE, feedback.Label(job_id=job_id, label=int(y_test[n]), image_key=key), "t"
        )
        jobs.append(job_id)
    return jobs


def requested(trigger: str = "threshold", **options) -> dict:
    detail = {
        "request_id": uuid.uuid4().hex,
        "model_name": "digits",
        "trigger": trigger,
        "pending_labels": THRESHOLD,
        "threshold": THRESHOLD,
        "requested_at": "2026-01-01T00:00:00Z",
    }
    if options:
        detail["options"] = options
    return {
        "id": str(uuid.uuid4()),
        "detail-type": "RetrainingRequested",
        "source": "sluice.feedback",
        "detail": detail,
    }


def current(stack) -> model_store.Pointer:
    return model_store.read_pointer(stack.s3, MODELS, "digits")


def trainer(payload: dict) -> dict:
    """The model trainer function, in-process, its request and response through JSON as over Lambda."""
    from model_trainer import logic as trainer_logic

    return json.loads(json.dumps(trainer_logic.train(json.loads(json.dumps(payload)), sluice_train)))


def run(retrainer, stack, event, **overrides) -> dict:
    return retrainer.run(
        retrainer.parse_request(event),
        ports(retrainer, stack, **overrides),
        trainer=trainer,
        store=model_store,
        featurize=preprocess.features,
    )


def test_a_better_challenger_is_promoted_and_a_worse_one_refused(retrainer, stack, split) -> None:
    weak = weak_model(split)
    model_store.publish(stack.s3, MODELS, "digits", "weak", weak, {"name": "digits"})
    feed(stack, split, THRESHOLD + 2)

    summary = run(retrainer, stack, requested())
    assert summary["status"] == "promoted", summary
    assert (
        summary["challenger"]["accuracy"] > summary["champion"]["accuracy"]
        and summary["champion"]["version"] == "weak"
    )
    assert summary["feedback"] == {
        "labels": THRESHOLD + 2,
        "train": summary["feedback"]["train"],
        "claimed": THRESHOLD + 2,
    }
    assert summary["held_out"]["samples"] == 450 + summary["held_out"]["feedback_samples"]
    pointer = current(stack)
    assert pointer.version == summary["challenger"]["version"]
    card = json.loads(stack.s3.get_object(Bucket=MODELS, Key=pointer.card_key)["Body"].read())
    assert card["evaluation"]["decision"] == "promoted" and card["sha256"] == pointer.sha256
    (event,) = stack.published()
    assert event["detail-type"] == "ModelPromoted" and event["source"] == "sluice.retraining"
    contracts.validate("model_promoted", event["detail"])
    assert stack.state()["pending"] == 0 and stack.state()["last_outcome"] == "promoted"

    # The same request delivered again: nothing left to claim.
    assert run(retrainer, stack, requested())["status"] == "skipped"
    # A challenger trained on corrupted labels is refused; the pointer stays.
    feed(stack, split, 1)
    summary = run(retrainer, stack, requested("manual", corrupt_labels=True))
    assert (
        summary["status"] == "rejected"
        and summary["challenger"]["accuracy"] < 0.5 <= summary["champion"]["accuracy"]
    )
    assert current(stack) == pointer
    rejected_card = json.loads(
        stack.s3.get_object(Bucket=MODELS, Key=summary["challenger"]["card_key"])["Body"].read()
    )
    assert (
        rejected_card["evaluation"]["decision"] == "rejected"
        and rejected_card["training_data"]["labels_corrupted_for_test"]
    )
    (event,) = stack.published()
    assert event["detail-type"] == "ModelRejected"
    contracts.validate("model_rejected", event["detail"])
    assert stack.state()["pending"] == 0


def test_the_test_switch_is_ignored_where_not_allowed(retrainer, stack, split) -> None:
    feed(stack, split, THRESHOLD)
    summary = run(retrainer, stack, requested(corrupt_labels=True), allow_test_switches=False)
    assert summary["status"] == "promoted" and summary["champion"] is None  # first model: no champion


def test_schedule_trains_only_with_new_labels_and_the_threshold_needs_enough(retrainer, stack, split) -> None:
    scheduled = {
        "id": "e",
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "time": "2026-01-04T03:00:00Z",
        "detail": {},
    }
    assert run(retrainer, stack, scheduled)["status"] == "skipped"
    feed(stack, split, 1)
    assert run(retrainer, stack, requested())["status"] == "skipped"  # 1 < threshold
    assert run(retrainer, stack, scheduled)["status"] == "promoted"


def test_a_failed_run_gives_the_claim_back(retrainer, stack, split) -> None:
    feed(stack, split, THRESHOLD)

    def broken(payload: dict) -> dict:
        raise RuntimeError("the trainer failed (Unhandled): MemoryError")

    with pytest.raises(RuntimeError):
        retrainer.run(
            retrainer.parse_request(requested()),
            ports(retrainer, stack),
            trainer=broken,
            store=model_store,
            featurize=preprocess.features,
        )
    assert stack.state()["pending"] == THRESHOLD and "running_since" not in stack.state()
    assert run(retrainer, stack, requested())["status"] == "promoted"


def test_feedback_holdout_is_deterministic(retrainer) -> None:
    ids = [f"{n:032x}" for n in range(1000)]
    held = [job for job in ids if retrainer.in_holdout(job, 5)]
    assert held == [job for job in ids if retrainer.in_holdout(job, 5)] and 150 < len(held) < 250


def test_the_trainer_refuses_malformed_requests(unit_env) -> None:
    from model_trainer import logic as trainer_logic
    from sluice.errors import PermanentError

    for bad in (
        {"feedback": {"train": {"X": [[1, 2]], "y": [1]}}},
        {"feedback": {"train": {"X": [[0] * 64], "y": [12]}}},
        {"estimator": "forest"},
    ):
        with pytest.raises(PermanentError):
            trainer_logic.train(bad, sluice_train)


def test_bad_requests_are_permanent(retrainer) -> None:
    from sluice.errors import PermanentError

    for bad in (
        [],
        {"detail-type": "Object Created"},
        {"detail-type": "RetrainingRequested", "detail": {"trigger": "threshold"}},
    ):
        with pytest.raises(PermanentError):
            retrainer.parse_request(bad)


def test_the_retrainer_handler_runs_a_request_with_the_trainer_invoked_over_lambda(
    unit_env, monkeypatch, stack, lambda_context, split
) -> None:
    """The handler's wiring: settings, the synchronous invoke of the trainer (its response parsed as over Lambda)."""
    for name, value in {
        "MODEL_BUCKET": MODELS, "FEEDBACK_TABLE": FEEDBACK_TABLE, "FEEDBACK_BUCKET": FEEDBACK_BUCKET, "EVENT_BUS_NAME": BUS,
        "DLQ_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/sluice-test-retraining-dlq", "TRAINER_FUNCTION": "sluice-test-model-trainer",
        "RETRAIN_THRESHOLD": str(THRESHOLD), "ESTIMATOR": "logreg", "MIN_ACCURACY": "0.5",
    }.items():  # fmt: skip
        monkeypatch.setenv(name, value)
    handler = importlib.import_module("model_retrainer.handler")
    handler.runtime.cache_clear()
    invoked = []

    class FakeLambda:
        def invoke(self, FunctionName, InvocationType, Payload):
            import io

            invoked.append((FunctionName, InvocationType))
            return {
                "StatusCode": 200,
                "Payload": io.BytesIO(json.dumps(trainer(json.loads(Payload))).encode()),
            }

    monkeypatch.setattr(handler, "_lambda_client", FakeLambda)
    feed(stack, split, THRESHOLD)
    record = {
        "messageId": "m1",
        "body": json.dumps(requested()),
        "attributes": {"ApproximateReceiveCount": "1"},
        "eventSource": "aws:sqs",
    }
    assert handler.handler({"Records": [record]}, lambda_context) == {"batchItemFailures": []}
    assert invoked == [("sluice-test-model-trainer", "RequestResponse")]
    assert stack.state()["last_outcome"] == "promoted" and current(stack).version
