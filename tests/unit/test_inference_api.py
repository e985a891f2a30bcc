"""Pipeline 3's HTTP API (functions/inference_api) with moto: status codes, job records, upload URLs."""

from __future__ import annotations

import base64
import importlib
import io
import json
from typing import Any
from urllib.parse import urlparse

import boto3
import pytest
from PIL import Image

JOBS = "sluice-test-predictions"
INPUTS = "sluice-test-123456789012-inference-inputs"


def _png(size: int = 16) -> bytes:
    buffer = io.BytesIO()
    Image.new("L", (size, size), 0).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture
def api(aws: None, monkeypatch: pytest.MonkeyPatch):
    for name, value in {
        "JOBS_TABLE": JOBS,
        "INPUTS_BUCKET": INPUTS,
        "MAX_INLINE_BYTES": "2048",
        "MAX_IMAGE_BYTES": "100000",
        "POWERTOOLS_SERVICE_NAME": "inference-api",
    }.items():
        monkeypatch.setenv(name, value)
    ddb = boto3.client("dynamodb", region_name="us-east-1")
    ddb.create_table(
        TableName=JOBS,
        KeySchema=[{"AttributeName": "job_id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "job_id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    boto3.client("s3", region_name="us-east-1").create_bucket(Bucket=INPUTS)
    return importlib.import_module("inference_api.handler")


def request(
    method: str, path: str, body: bytes = b"", content_type: str | None = None, raw_path: str | None = None
) -> dict[str, Any]:
    route = "POST /predictions" if method == "POST" else "GET /predictions/{id}"
    headers = {"host": "abc123.execute-api.us-east-1.amazonaws.com", "x-forwarded-proto": "https"}
    if content_type:
        headers["content-type"] = content_type
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route,
        "rawPath": raw_path or path,
        "headers": headers,
        "requestContext": {
            "http": {"method": method, "path": raw_path or path},
            "requestId": "r1",
            "stage": "$default",
        },
        "isBase64Encoded": bool(body) and not (content_type or "").startswith("application/json"),
    }
    if body:
        event["body"] = base64.b64encode(body).decode() if event["isBase64Encoded"] else body.decode()
    if method == "GET":
        event["pathParameters"] = {"id": path.rsplit("/", 1)[-1]}
    return event


def call(api, event: dict[str, Any], lambda_context) -> tuple[int, dict[str, Any], dict[str, str]]:
    response = api.handler(event, lambda_context)
    return response["statusCode"], json.loads(response["body"]), response["headers"]


def test_an_inline_png_is_accepted_queued_and_stored(api, lambda_context) -> None:
    status, body, headers = call(api, request("POST", "/predictions", _png(), "image/png"), lambda_context)
    assert status == 202 and body["status"] == "queued"
    job_id = body["job_id"]
    assert (
        body["result_url"]
        == f"https://abc123.execute-api.us-east-1.amazonaws.com/predictions/{job_id}"
        == headers["Location"]
    )
    item = boto3.client("dynamodb", region_name="us-east-1").get_item(
        TableName=JOBS, Key={"job_id": {"S": job_id}}
    )["Item"]
    assert (
        item["status"]["S"] == "queued"
        and item["input_key"]["S"] == f"inputs/{job_id}"
        and int(item["expires_at"]["N"]) > 0
    )
    obj = boto3.client("s3", region_name="us-east-1").get_object(Bucket=INPUTS, Key=f"inputs/{job_id}")
    assert obj["Body"].read() == _png() and obj["ContentType"] == "image/png"

    status, shown, _ = call(api, request("GET", f"/predictions/{job_id}"), lambda_context)
    assert status == 200 and shown == {
        "job_id": job_id,
        "status": "queued",
        "created_at": item["created_at"]["S"],
    }


def test_the_result_url_keeps_the_stage_or_local_prefix(api, lambda_context) -> None:
    event = request("POST", "/predictions", _png(), "image/png", raw_path="/abc123/predictions")
    event["headers"].update(host="127.0.0.1:4581", **{"x-forwarded-proto": "http"})
    _, body, _ = call(api, event, lambda_context)
    assert body["result_url"] == f"http://127.0.0.1:4581/abc123/predictions/{body['job_id']}"


def test_bytes_decide_when_the_content_type_is_generic(api, lambda_context) -> None:
    status, body, _ = call(
        api, request("POST", "/predictions", _png(), "application/x-www-form-urlencoded"), lambda_context
    )
    assert status == 202, body


@pytest.mark.parametrize(
    ("body", "content_type", "status", "code"),
    [
        (b"", "image/png", 400, "empty"),
        (b"definitely not an image", "image/png", 400, "invalid_image"),
        (b"GIF89a\x01\x00\x01\x00\x00\x00\x00;", "image/png", 415, "unsupported_media_type"),
        (b"GIF89a\x01\x00\x01\x00\x00\x00\x00;", "image/gif", 415, "unsupported_media_type"),
        (b"hello", "text/plain", 415, "unsupported_media_type"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 3000, "image/png", 413, "too_large"),
        (b"not json", "application/json", 400, "invalid_request"),
        (b'{"content_type": "image/gif"}', "application/json", 415, "unsupported_media_type"),
        (b'{"content_type": "image/png", "content_length": 100001}', "application/json", 413, "too_large"),
        (b'{"content_type": "image/png", "content_length": 0}', "application/json", 400, "empty"),
        (b'{"content_length": 10}', "application/json", 400, "invalid_request"),
    ],
)
def test_what_the_api_can_know_is_answered_with_a_status_code(
    api, lambda_context, body, content_type, status, code
) -> None:
    got, payload, _ = call(api, request("POST", "/predictions", body, content_type), lambda_context)
    assert (got, payload["error"]["code"]) == (status, code), payload
    assert (
        boto3.client("dynamodb", region_name="us-east-1").scan(TableName=JOBS)["Count"] == 0
    )  # no job created


def test_a_large_image_gets_a_presigned_upload_url(api, lambda_context) -> None:
    status, body, _ = call(
        api,
        request(
            "POST",
            "/predictions",
            b'{"content_type": "image/jpeg", "content_length": 50000}',
            "application/json",
        ),
        lambda_context,
    )
    assert status == 202 and body["status"] == "awaiting_upload"
    upload = body["upload"]
    assert upload["method"] == "PUT" and upload["headers"] == {"Content-Type": "image/jpeg"}
    url = urlparse(upload["url"])
    assert url.path.endswith(f"/inputs/{body['job_id']}") and "X-Amz-Signature=" in url.query
    status, shown, _ = call(api, request("GET", f"/predictions/{body['job_id']}"), lambda_context)
    assert status == 200 and shown["status"] == "awaiting_upload"


def test_an_upload_never_made_shows_as_expired(api, lambda_context, monkeypatch) -> None:
    _, body, _ = call(
        api,
        request("POST", "/predictions", b'{"content_type": "image/png"}', "application/json"),
        lambda_context,
    )
    ports = api.ports()
    monkeypatch.setattr(
        api, "ports", lambda: type(ports)(**{**ports.__dict__, "clock": lambda: ports.clock() + 3600})
    )
    _, shown, _ = call(api, request("GET", f"/predictions/{body['job_id']}"), lambda_context)
    assert shown["status"] == "expired"


@pytest.mark.parametrize("job_id", ["0" * 32, "not-a-job-id", "../../etc"])
def test_an_unknown_job_is_404(api, lambda_context, job_id: str) -> None:
    status, body, _ = call(api, request("GET", f"/predictions/{job_id}"), lambda_context)
    assert status == 404 and body["error"]["code"] == "not_found"


def test_a_failed_store_leaves_no_queued_job(api, lambda_context, monkeypatch) -> None:
    ports = api.ports()

    class BrokenS3:
        def put_object(self, **kwargs):
            raise RuntimeError("S3 is down")

    monkeypatch.setattr(api, "ports", lambda: type(ports)(**{**ports.__dict__, "s3": BrokenS3()}))
    with pytest.raises(RuntimeError):
        api.handler(request("POST", "/predictions", _png(), "image/png"), lambda_context)
    assert boto3.client("dynamodb", region_name="us-east-1").scan(TableName=JOBS)["Count"] == 0
