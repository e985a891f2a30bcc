"""Feedback and retraining end to end on the local cloud: predictions through the HTTP API, labels through
POST /feedback past the threshold -> RetrainingRequested -> the retrainer (and its trainer) -> a challenger better
than the current model is promoted and the worker serves it without a redeploy; a challenger trained on corrupted
labels is refused and the pointer stays."""

from __future__ import annotations

import json
import sys
import time
import uuid

import pytest

from localcloud.testing import wait_until
from sluicectl import inference as client
from sluicectl import ingest, retraining
from sluicectl import model as digits
from tests.e2e.conftest import ROOT

pytestmark = pytest.mark.e2e


class Inbox:
    """Every sluice.feedback / sluice.retraining event on the domain bus, through a rule to a queue of the test's."""

    def __init__(self, deployed, name: str) -> None:
        self.sqs = deployed.client("sqs")
        self.url = self.sqs.create_queue(QueueName=name)["QueueUrl"]
        arn = self.sqs.get_queue_attributes(QueueUrl=self.url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        events = deployed.client("events")
        bus = deployed.outputs["domain_bus_name"]
        events.put_rule(
            Name=name,
            EventBusName=bus,
            EventPattern=json.dumps({"source": ["sluice.feedback", "sluice.retraining"]}),
        )
        events.put_targets(Rule=name, EventBusName=bus, Targets=[{"Id": "inbox", "Arn": arn}])
        self.events: list[dict] = []

    def read(self) -> list[dict]:
        while batch := self.sqs.receive_message(QueueUrl=self.url, MaxNumberOfMessages=10).get(
            "Messages", []
        ):
            for message in batch:
                self.events.append(json.loads(message["Body"]))
                self.sqs.delete_message(QueueUrl=self.url, ReceiptHandle=message["ReceiptHandle"])
        return self.events

    def of(self, detail_type: str) -> list[dict]:
        return [e for e in self.read() if e["detail-type"] == detail_type]


@pytest.fixture(scope="module")
def loop(deployed) -> dict:
    """A deliberately weak current model (logistic regression on 40 images), and an inbox for the loop's events."""
    sys.path.insert(0, str(ROOT / "layers" / "train" / "python"))
    import sluice_train

    X_train, _, y_train, _ = sluice_train.digits_split()
    onnx = sluice_train.export_onnx(sluice_train.fit("logreg", X_train[:40], y_train[:40]), "digits")
    version = f"weak-{uuid.uuid4().hex[:6]}"
    store = digits.model_store()
    store.publish(
        deployed.client("s3"),
        deployed.outputs["inference_model_bucket_name"],
        "digits",
        version,
        onnx,
        {"name": "digits", "version": version},
    )
    return {
        "weak": version,
        "inbox": Inbox(deployed, f"retraining-inbox-{uuid.uuid4().hex[:6]}"),
        "api": deployed.outputs["inference_api_url"],
    }


def classify(api: str, images: list[bytes], timeout: float = 120.0) -> list[dict]:
    replies = [client.submit(api, image) for image in images]
    assert [r.status for r in replies] == [202] * len(images), [r.body for r in replies]
    ended = client.wait_ended([r.body["result_url"] for r in replies], timeout=timeout)
    return [ended[r.body["result_url"]] for r in replies]


def wait_served(api: str, version: str, image: bytes, timeout: float = 60.0) -> float:
    """Seconds until a new prediction is served by ``version`` (the worker re-reads the pointer after its TTL)."""
    started = time.monotonic()
    wait_until(
        lambda: classify(api, [image])[0]["model"]["version"] == version,
        timeout=timeout,
        what=f"the worker serving {version}",
        maximum=2.0,
    )
    return time.monotonic() - started


def pointer(deployed) -> dict:
    key = f"models/{deployed.outputs['inference_model_name']}/current.json"
    return json.loads(
        deployed.client("s3")
        .get_object(Bucket=deployed.outputs["inference_model_bucket_name"], Key=key)["Body"]
        .read()
    )


def test_labels_past_the_threshold_promote_a_better_model_that_the_worker_serves(deployed, loop) -> None:
    outputs, ddb = deployed.outputs, deployed.client("dynamodb")
    threshold, table = outputs["retraining_label_threshold"], outputs["feedback_table_name"]
    _, X_test, _, y_test = digits.load_split()
    images = [digits.render_digit(X_test[200 + n], 48) for n in range(threshold)]
    # The worker's first cold start: on a loaded machine its init can pass Lambda's 10 s init limit, and the
    # message then comes back only after the queue's visibility timeout (a retry, as on AWS): wait for it.
    classify(loop["api"], images[:1], timeout=420)
    wait_served(loop["api"], loop["weak"], images[0])

    jobs = classify(loop["api"], images)
    assert [j["status"] for j in jobs] == ["succeeded"] * threshold and {
        j["model"]["version"] for j in jobs
    } == {loop["weak"]}
    before = retraining.feedback_state(ddb, table)
    assert before.get("pending", 0) == 0, before

    replies = [
        retraining.post_feedback(outputs["feedback_url"], job["job_id"], int(y_test[200 + n]))
        for n, job in enumerate(jobs)
    ]
    asked_at = time.monotonic()
    assert [r.status for r in replies] == [201] * threshold, [r.body for r in replies]
    assert [r.body["retraining_requested"] for r in replies] == [False] * (threshold - 1) + [True]
    # A retried label counts nothing; a different label for a labelled job is refused.
    again = retraining.post_feedback(outputs["feedback_url"], jobs[0]["job_id"], int(y_test[200]))
    assert (again.status, again.body["status"]) == (200, "duplicate")
    other = retraining.post_feedback(outputs["feedback_url"], jobs[0]["job_id"], (int(y_test[200]) + 1) % 10)
    assert (other.status, other.body["error"]["code"]) == (409, "label_conflict")

    state = retraining.wait_run_after(ddb, table, before.get("last_run_id"), timeout=300)
    decided = time.monotonic()
    assert state["last_outcome"] == "promoted", state
    assert state["pending"] == 0 and state["labels_total"] >= threshold
    (requested,) = loop["inbox"].of("RetrainingRequested")
    assert requested["detail"]["pending_labels"] == threshold
    (promoted,) = loop["inbox"].of("ModelPromoted")
    detail = promoted["detail"]
    assert detail["champion"]["version"] == loop["weak"] and detail["feedback"]["claimed"] == threshold
    assert (
        detail["challenger"]["accuracy"] > detail["champion"]["accuracy"]
        and detail["challenger"]["accuracy"] >= 0.95
    )
    current = pointer(deployed)
    assert current["version"] == detail["challenger"]["version"] != loop["weak"]
    card = json.loads(
        deployed.client("s3")
        .get_object(Bucket=outputs["inference_model_bucket_name"], Key=current["card_key"])["Body"]
        .read()
    )
    assert card["evaluation"]["decision"] == "promoted" and card["retraining"]["claimed_labels"] == threshold

    pickup = wait_served(loop["api"], current["version"], images[1])
    print(
        f"\nretraining: threshold label -> decision {decided - asked_at:.1f} s; promotion -> served by the worker {pickup:.1f} s"
    )
    assert ingest.peek(deployed.client("sqs"), outputs["retraining_dlq_url"]) == []


def test_a_worse_challenger_is_refused_and_the_pointer_stays(deployed, loop) -> None:
    outputs, ddb = deployed.outputs, deployed.client("dynamodb")
    table = outputs["feedback_table_name"]
    before, served = retraining.feedback_state(ddb, table), pointer(deployed)
    retraining.request_retraining(
        deployed.client("events"),
        outputs["domain_bus_name"],
        outputs["inference_model_name"],
        outputs["retraining_label_threshold"],
        corrupt_labels=True,
    )
    state = retraining.wait_run_after(ddb, table, before.get("last_run_id"), timeout=300)
    assert state["last_outcome"] == "rejected", state
    (rejected,) = loop["inbox"].of("ModelRejected")
    detail = rejected["detail"]
    assert (
        detail["champion"]["version"] == served["version"]
        and detail["challenger"]["accuracy"] < detail["champion"]["accuracy"]
    )
    assert pointer(deployed) == served
    card = json.loads(
        deployed.client("s3")
        .get_object(Bucket=outputs["inference_model_bucket_name"], Key=detail["challenger"]["card_key"])[
            "Body"
        ]
        .read()
    )
    assert (
        card["evaluation"]["decision"] == "rejected"
        and card["training_data"]["labels_corrupted_for_test"] is True
    )
    _, X_test, _, _ = digits.load_split()
    assert (
        classify(loop["api"], [digits.render_digit(X_test[0], 32)])[0]["model"]["version"]
        == served["version"]
    )
