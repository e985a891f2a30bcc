"""Unit-test fixtures: in-process moto (``mock_aws``), fake AWS environment, resources, Lambda context.

* ``layers/shared/python`` and ``functions/`` are put on ``sys.path`` (as the Lambda runtime does with
  ``/opt/python`` and the function zip root).
* The environment is set per test with ``monkeypatch`` (autouse), never at import: collecting tests/unit next to
  tests/e2e in one run must not rewrite the e2e tests' environment. Any ``AWS_ENDPOINT_URL*`` or profile from
  the developer's shell is removed so nothing can reach a real endpoint or the local cloud.
* Handler modules read Powertools settings when first imported: import them through the fixtures (e.g.
  ``ingest_handler``), which run after the environment is in place.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

ROOT = Path(__file__).resolve().parents[2]
EVENTS = ROOT / "tests" / "events"
for _path in (ROOT / "layers" / "shared" / "python", ROOT / "functions"):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

ACCOUNT = "123456789012"
REGION = "us-east-1"
PREFIX = "sluice-test"
LANDING_BUCKET = f"{PREFIX}-{ACCOUNT}-landing"
OUTPUT_BUCKET = f"{PREFIX}-{ACCOUNT}-output"
RESULTS_TABLE = f"{PREFIX}-ingest-results"
FAILURES_TABLE = f"{PREFIX}-failures"
IDEMPOTENCY_TABLE = f"{PREFIX}-idempotency"
INGEST_QUEUE = f"{PREFIX}-ingest"
INGEST_DLQ = f"{PREFIX}-ingest-dlq"
INGEST_QUEUE_ARN = f"arn:aws:sqs:{REGION}:{ACCOUNT}:{INGEST_QUEUE}"
INGEST_DLQ_URL = f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/{INGEST_DLQ}"

UNIT_ENV = {
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SECURITY_TOKEN": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "SLUICE_ENV": "test",
    "POWERTOOLS_SERVICE_NAME": "ingest_processor",
    "POWERTOOLS_METRICS_NAMESPACE": "Sluice",
    "POWERTOOLS_LOG_LEVEL": "INFO",
    "POWERTOOLS_TRACE_DISABLED": "1",
    "POWERTOOLS_DEV": "false",
    "IDEMPOTENCY_TABLE": IDEMPOTENCY_TABLE,
    "FAILURES_TABLE": FAILURES_TABLE,
    "OUTPUT_BUCKET": OUTPUT_BUCKET,
    "RESULTS_TABLE": RESULTS_TABLE,
    "DLQ_URL": INGEST_DLQ_URL,
    "MAX_OBJECT_BYTES": "1048576",
}


@pytest.fixture(autouse=True)
def unit_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    for name in list(os.environ):
        if name.startswith("AWS_ENDPOINT_URL") or name in {"AWS_PROFILE", "AWS_CONFIG_FILE"}:
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)
    for name, value in UNIT_ENV.items():
        monkeypatch.setenv(name, value)
    _reset_caches()
    yield UNIT_ENV
    _reset_caches()


def _reset_caches() -> None:
    """Forget process-wide caches (clients, settings, handler runtimes) between tests."""
    if "sluice.aws" in sys.modules:
        sys.modules["sluice.aws"].reset()
    if "sluice.settings" in sys.modules:
        sys.modules["sluice.settings"].load_settings.cache_clear()
    functions = str(ROOT / "functions")
    for module in list(sys.modules.values()):  # every function's cached runtime (settings + clients)
        if (getattr(module, "__file__", None) or "").startswith(functions):
            cached = getattr(module, "runtime", None)
            if hasattr(cached, "cache_clear"):
                cached.cache_clear()
    observability = sys.modules.get("sluice.observability")
    if observability is not None:
        observability.metrics.clear_metrics()


def load_event(name: str) -> dict[str, Any]:
    return json.loads((EVENTS / f"{name}.json").read_text())


# ------------------------------------------------------------------------------------------------ AWS


@pytest.fixture
def aws() -> Iterator[None]:
    """moto's in-process mock of every service, with no resources."""
    with mock_aws():
        yield


@dataclass
class Clients:
    s3: Any
    dynamodb: Any
    sqs: Any


def _table(ddb: Any, name: str, hash_key: str, range_key: str | None = None, ttl: str | None = None) -> None:
    keys = [{"AttributeName": hash_key, "KeyType": "HASH"}]
    attrs = [{"AttributeName": hash_key, "AttributeType": "S"}]
    if range_key:
        keys.append({"AttributeName": range_key, "KeyType": "RANGE"})
        attrs.append({"AttributeName": range_key, "AttributeType": "S"})
    ddb.create_table(
        TableName=name, KeySchema=keys, AttributeDefinitions=attrs, BillingMode="PAY_PER_REQUEST"
    )
    if ttl:
        ddb.update_time_to_live(
            TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl}
        )


@pytest.fixture
def resources(aws: None) -> Clients:
    """The ingest pipeline's resources, named as Terraform names them (prefix ``sluice-test``)."""
    s3 = boto3.client("s3", region_name=REGION)
    ddb = boto3.client("dynamodb", region_name=REGION)
    sqs = boto3.client("sqs", region_name=REGION)
    for bucket in (LANDING_BUCKET, OUTPUT_BUCKET):
        s3.create_bucket(Bucket=bucket)
    _table(ddb, RESULTS_TABLE, "object_key")
    _table(ddb, FAILURES_TABLE, "pipeline", "item_id")
    _table(ddb, IDEMPOTENCY_TABLE, "id", ttl="expiration")
    dlq_url = sqs.create_queue(QueueName=INGEST_DLQ)["QueueUrl"]
    assert dlq_url == INGEST_DLQ_URL, dlq_url
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    sqs.create_queue(
        QueueName=INGEST_QUEUE,
        Attributes={"RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "3"})},
    )
    return Clients(s3=s3, dynamodb=ddb, sqs=sqs)


# -------------------------------------------------------------------------------------------- Lambda


@dataclass
class FakeLambdaContext:
    function_name: str = f"{PREFIX}-ingest-processor"
    function_version: str = "$LATEST"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{PREFIX}-ingest-processor"
    aws_request_id: str = "c6af9ac6-7b61-11e6-9a41-93e8deadbeef"
    log_group_name: str = f"/aws/lambda/{PREFIX}-ingest-processor"
    log_stream_name: str = "2024/06/03/[$LATEST]0123456789abcdef"
    remaining_ms: int = 60_000

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


@pytest.fixture
def lambda_context() -> FakeLambdaContext:
    return FakeLambdaContext(aws_request_id=str(uuid.uuid4()))


@pytest.fixture
def ingest_handler(unit_env: dict[str, str]) -> Any:
    """``ingest_processor.handler``, imported after the unit environment is set."""
    return importlib.import_module("ingest_processor.handler")


# ----------------------------------------------------------------------------------------- events


def s3_object_created(
    bucket: str,
    key: str,
    etag: str,
    *,
    size: int | None = None,
    version_id: str | None = None,
    event_id: str | None = None,
) -> dict[str, Any]:
    """An EventBridge "Object Created" event (the canonical sample with bucket/key/etag replaced)."""
    event = load_event("eventbridge_s3_object_created")
    event["id"] = event_id or str(uuid.uuid4())
    event["resources"] = [f"arn:aws:s3:::{bucket}"]
    event["detail"]["bucket"]["name"] = bucket
    obj = event["detail"]["object"]
    obj.update(key=key, etag=etag)
    if size is None:
        obj.pop("size")
    else:
        obj["size"] = size
    if version_id is not None:
        obj["version-id"] = version_id
    return event


def sqs_record(body: str | dict[str, Any], *, message_id: str | None = None, receive_count: int = 1) -> dict:
    """An SQS record as the Lambda event source mapping delivers it (the canonical sample, body replaced)."""
    record = json.loads(json.dumps(load_event("sqs_eventbridge_s3_object_created")["Records"][0]))
    record["messageId"] = message_id or str(uuid.uuid4())
    record["body"] = body if isinstance(body, str) else json.dumps(body)
    record["attributes"]["ApproximateReceiveCount"] = str(receive_count)
    record["eventSourceARN"] = INGEST_QUEUE_ARN
    return record


def sqs_event(*records: dict[str, Any]) -> dict[str, Any]:
    return {"Records": list(records)}


@pytest.fixture
def upload(resources: Clients):
    """Upload ``body`` to the landing bucket; return the EventBridge event S3 would send for it."""

    def _upload(key: str, body: bytes, *, bucket: str = LANDING_BUCKET, encode_key: bool = False) -> dict:
        response = resources.s3.put_object(Bucket=bucket, Key=key, Body=body)
        event_key = key
        if encode_key:
            from urllib.parse import quote_plus

            event_key = quote_plus(key, safe="/")
        return s3_object_created(
            bucket,
            event_key,
            response["ETag"].strip('"'),
            size=len(body),
            version_id=response.get("VersionId"),
        )

    return _upload
