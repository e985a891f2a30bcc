"""Pipeline 3 end to end on the local cloud, with the real Terraform applied: images through the HTTP API (plain
HTTP, as curl sends them) -> S3 -> EventBridge -> SQS -> the ONNX worker -> DynamoDB + PredictionCompleted.
Every job submitted is counted where it ended."""

from __future__ import annotations

import hashlib
import io
import json
from concurrent.futures import ThreadPoolExecutor

import pytest
from PIL import Image

from localcloud.testing import wait_until
from sluicectl import inference as client
from sluicectl import ingest
from sluicectl import model as digits

pytestmark = pytest.mark.e2e

SIZES = (8, 28, 64, 100, 333)


@pytest.fixture(scope="module")
def served(deployed) -> dict:
    """The digits model trained (the candidate `make model` picks, alone: well under a second) and promoted."""
    trained = digits.train(("svc",))
    digits.publish(deployed.client("s3"), deployed.outputs["inference_model_bucket_name"], trained)
    return {"model": trained, "api": deployed.outputs["inference_api_url"]}


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def test_100_digits_through_the_http_api_all_end_and_are_classified(deployed, served) -> None:
    _, X_test, _, y_test = digits.load_split()
    images = []
    for i in range(100):
        size, fmt, invert = SIZES[i % len(SIZES)], ("PNG", "JPEG")[i % 2], i % 3 == 0
        images.append((digits.render_digit(X_test[i], size, fmt, invert=invert), f"image/{fmt.lower()}", int(y_test[i])))

    def send(index: int) -> client.Reply:
        data, content_type, _ = images[index]
        if index % 10 == 0:  # one in ten through a presigned upload URL, as large images go
            return client.submit_upload(served["api"], data, content_type)
        return client.submit(served["api"], data, content_type)

    with ThreadPoolExecutor(8) as pool:
        replies = list(pool.map(send, range(100)))
    assert [r.status for r in replies] == [202] * 100, [r.body for r in replies if r.status != 202]
    urls = [r.body["result_url"] for r in replies]
    assert all(r.headers.get("Location") == r.body["result_url"] for r in replies)
    assert len({r.body["job_id"] for r in replies}) == 100

    ended = client.wait_ended(urls, timeout=180)
    assert len(ended) == 100  # every job ended: nothing lost
    statuses = [ended[url]["status"] for url in urls]
    assert statuses.count("succeeded") == 100, [ended[u] for u in urls if ended[u]["status"] != "succeeded"][:3]
    correct = sum(ended[url]["result"]["label"] == label for url, (_, _, label) in zip(urls, images, strict=True))
    assert correct / 100 >= 0.95, f"accuracy {correct / 100}"
    for url in urls[:5]:
        body = ended[url]
        assert body["model"] == {"name": "digits", "version": served["model"].version}
        assert abs(sum(body["result"]["probabilities"]) - 1) < 0.01 and body["result"]["confidence"] == max(body["result"]["probabilities"])

    # The worker ran batches (more than one image per ONNX Runtime call) and nothing was dead-lettered.
    worker = deployed.outputs["inference_worker_function_name"]
    mapping = next(r for r in deployed.cloud.status()["deliveries"] if r.get("function") == worker)
    assert mapping["messages"] >= 100 and mapping["batches"] < mapping["messages"]
    assert ingest.peek(deployed.client("sqs"), deployed.outputs["inference_dlq_url"]) == []


def test_bad_inputs_get_the_documented_status_codes(deployed, served) -> None:
    api = served["api"]
    gif = b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"
    cases = [
        (client.submit(api, b"", "image/png"), 400, "empty"),
        (client.submit(api, b"this is text, not an image", "image/png"), 400, "invalid_image"),
        (client.submit(api, gif, "image/gif"), 415, "unsupported_media_type"),
        (client.submit(api, b"hello", "text/plain"), 415, "unsupported_media_type"),
        (client.submit(api, b"\x89PNG\r\n\x1a\n" + bytes(2_000_000), "image/png"), 413, "too_large"),
        (client.submit_upload(api, b"x", "image/png", declared_length=50_000_000), 413, "too_large"),
        (client.submit_upload(api, b"x", "image/webp"), 415, "unsupported_media_type"),
        (client.result(f"{api}/predictions/{'0' * 32}"), 404, "not_found"),
        (client.result(f"{api}/predictions/nope"), 404, "not_found"),
    ]
    for reply, status, code in cases:
        assert (reply.status, reply.body.get("error", {}).get("code")) == (status, code), reply.body
    assert client.http("GET", f"{api}/nowhere").status == 404  # no route: API Gateway's own 404


def test_every_route_needs_a_valid_api_key(deployed, served) -> None:
    """The authorizer (functions/api_authorizer) guards both routes: no key → 401 before it runs, a wrong or
    revoked key → 403, a key added at run time (sluicectl api-key add) works without a redeploy."""
    from sluicectl import api_keys

    api, png = served["api"], digits.render_digit(digits.load_split()[1][0], 8, "PNG")
    assert client.submit(api, png, api_key="").status == 401
    assert client.result(f"{api}/predictions/{'0' * 32}", api_key="").status == 401
    assert client.submit(api, png, api_key="sk_not-a-key").status == 403
    assert client.result(f"{api}/predictions/{'0' * 32}", api_key="sk_not-a-key").status == 403
    accepted = client.submit(api, png)  # the environment's development key
    assert accepted.status == 202, accepted.body
    client.wait_ended([accepted.body["result_url"]], timeout=60)

    ssm, parameter = deployed.client("ssm"), deployed.outputs["api_keys_parameter"]
    key = api_keys.add(ssm, parameter, "e2e-client")
    # A warm authorizer re-reads the key store after API_KEYS_MAX_AGE (1 s in the local environment).
    wait_until(lambda: client.submit(api, png, api_key=key).status == 202, timeout=20, what="the new key to be accepted")
    assert api_keys.revoke(ssm, parameter, "e2e-client")
    wait_until(lambda: client.submit(api, png, api_key=key).status == 403, timeout=20, what="the revoked key to be refused")
    assert client.submit(api, png).status == 202, "other keys keep working"


def test_bad_images_the_api_cannot_see_end_as_failed_jobs_with_reasons(deployed, served) -> None:
    api = served["api"]
    good = digits.render_digit(digits.load_split()[1][0], 64)
    gif = b"GIF89a" + good[6:]  # GIF bytes behind a PNG upload
    submitted = {
        "truncated": client.submit(api, good[: len(good) // 2], "image/png"),
        "blank": client.submit(api, _png(Image.new("L", (64, 64), 255)), "image/png"),
        "gif_uploaded_as_png": client.submit_upload(api, gif, "image/png"),
        "text_uploaded_as_jpeg": client.submit_upload(api, b"not an image at all", "image/jpeg"),
        "empty_upload": client.submit_upload(api, b"", "image/png", declared_length=10),
    }
    assert {name: r.status for name, r in submitted.items()} == dict.fromkeys(submitted, 202)
    ended = client.wait_ended([r.body["result_url"] for r in submitted.values()], timeout=120)
    errors = {name: ended[r.body["result_url"]] for name, r in submitted.items()}
    assert {name: body["status"] for name, body in errors.items()} == dict.fromkeys(submitted, "failed")
    assert {name: body["error"]["code"] for name, body in errors.items()} == {
        "truncated": "invalid_image",
        "blank": "invalid_image",
        "gif_uploaded_as_png": "unsupported_media_type",
        "text_uploaded_as_jpeg": "invalid_image",
        "empty_upload": "empty",
    }
    assert all(body["error"]["reason"] for body in errors.values())


def test_the_served_model_is_the_one_its_card_describes(deployed, served) -> None:
    s3, bucket = deployed.client("s3"), deployed.outputs["inference_model_bucket_name"]
    pointer = json.loads(s3.get_object(Bucket=bucket, Key="models/digits/current.json")["Body"].read())
    card = json.loads(s3.get_object(Bucket=bucket, Key=pointer["card_key"])["Body"].read())
    model = s3.get_object(Bucket=bucket, Key=pointer["model_key"])["Body"].read()
    assert hashlib.sha256(model).hexdigest() == card["sha256"] == pointer["sha256"]
    assert card["held_out"]["accuracy"] >= 0.95 and card["input"]["shape"] == [None, 64]
    reply = client.submit(served["api"], digits.render_digit(digits.load_split()[1][1], 32))
    body = client.wait_ended([reply.body["result_url"]])[reply.body["result_url"]]
    assert body["model"]["version"] == card["version"] == pointer["version"]


def test_a_message_that_keeps_failing_is_dead_lettered_after_3_receives_and_redriven(deployed, served) -> None:
    outputs, sqs, cloud = deployed.outputs, deployed.client("sqs"), deployed.cloud
    worker = outputs["inference_worker_function_name"]
    cloud.set_fault(worker, error_rate=1.0)  # every invocation fails: the worker cannot even start
    try:
        reply = client.submit(served["api"], digits.render_digit(digits.load_split()[1][2], 64))
        assert reply.status == 202
        job_id = reply.body["job_id"]

        def dead_lettered() -> bool:
            cloud.advance_clock(3600)  # past the visibility timeout: the next receive is due now
            return any(job_id in m["Body"] for m in ingest.peek(sqs, outputs["inference_dlq_url"]))

        wait_until(dead_lettered, timeout=90, what="the job's message dead-lettered after 3 receives")
    finally:
        cloud.clear_faults(worker)
    assert client.result(reply.body["result_url"]).body["status"] == "queued"  # not lost: waiting in the DLQ

    sqs.start_message_move_task(SourceArn=outputs["inference_dlq_arn"])  # the cause is fixed: redrive
    body = client.wait_ended([reply.body["result_url"]], timeout=90)[reply.body["result_url"]]
    assert body["status"] == "succeeded"


def test_a_malformed_message_is_dead_lettered_at_once_with_a_failure_record(deployed, served) -> None:
    outputs, sqs = deployed.outputs, deployed.client("sqs")
    marker = f"not-an-event-{served['model'].version}"
    sqs.send_message(QueueUrl=outputs["inference_queue_url"], MessageBody=json.dumps({"marker": marker}))
    wait_until(
        lambda: any(marker in m["Body"] for m in ingest.peek(sqs, outputs["inference_dlq_url"])),
        timeout=60,
        what="the malformed message in the DLQ",
    )
    message = next(m for m in ingest.peek(sqs, outputs["inference_dlq_url"]) if marker in m["Body"])
    # Dead-lettered by the worker itself (its attributes say why), not by the redrive after 3 receives.
    assert message["MessageAttributes"]["sluice-error-code"]["StringValue"] == "invalid_event"


def test_a_promoted_version_is_served_without_a_redeploy(deployed, served) -> None:
    s3, bucket = deployed.client("s3"), deployed.outputs["inference_model_bucket_name"]
    trained = served["model"]
    promoted = digits.TrainedModel(trained.name, f"{trained.version}-b", trained.onnx, {**trained.card, "version": f"{trained.version}-b"})
    digits.publish(s3, bucket, promoted)
    image = digits.render_digit(digits.load_split()[1][3], 64)

    def served_version() -> str | None:
        reply = client.submit(served["api"], image)
        return client.wait_ended([reply.body["result_url"]])[reply.body["result_url"]]["model"]["version"] == promoted.version

    # The local environment re-reads the pointer every 5 s (MODEL_POINTER_TTL_SECONDS).
    wait_until(served_version, timeout=60, what="jobs served by the promoted version")
    digits.publish(s3, bucket, trained)  # back to the original for whatever runs next
