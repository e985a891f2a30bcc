"""What the stream mapping tests share: a consumer function that records every batch it completes in a FIFO
queue (so the order of invocations is kept), and readers for that queue and the on-failure destination."""

from __future__ import annotations

import json

from tests.e2e.conftest import make_zip

# Kinesis: data is JSON; {"crash": true} fails the invocation, {"fail": true} is reported as a batch item
# failure, {"sleep": s} makes the invocation last at least s seconds. DynamoDB: the same flags as attributes of the
# new image. Only completed batches are recorded, with when they started and ended (time.time()).
CONSUMER = """
import base64, json, os, time, uuid, boto3
SQS = boto3.client("sqs")

def _flags(record):
    if "kinesis" in record:
        return json.loads(base64.b64decode(record["kinesis"]["data"]))
    image = record["dynamodb"].get("NewImage") or {}
    return {k: True for k in ("crash", "fail") if k in image}

def handler(event, context):
    started = time.time()
    records = event["Records"]
    flags = [_flags(r) for r in records]
    time.sleep(max([float(f.get("sleep", 0)) for f in flags] + [0]))
    if any(f.get("crash") for f in flags):
        raise RuntimeError("crash")
    failures = [
        {"itemIdentifier": r["kinesis"]["sequenceNumber"] if "kinesis" in r else r["dynamodb"]["SequenceNumber"]}
        for r, f in zip(records, flags) if f.get("fail")
    ]
    SQS.send_message(
        QueueUrl=os.environ["SEEN_URL"],
        MessageBody=json.dumps(
            {"records": records, "flags": flags, "failures": failures, "started": started, "ended": time.time()}
        ),
        MessageGroupId="batches",
        MessageDeduplicationId=str(uuid.uuid4()),
    )
    return {"batchItemFailures": failures}
"""


class Consumer:
    """The consumer function, its FIFO 'seen' queue and an on-failure queue."""

    def __init__(self, cloud, role_arn: str, name: str) -> None:
        self.cloud = cloud
        self.sqs = cloud.boto3_client("sqs")
        self.lam = cloud.boto3_client("lambda")
        self.name = name
        self.seen_url = self.sqs.create_queue(
            QueueName=f"{name}-seen.fifo", Attributes={"FifoQueue": "true"}
        )["QueueUrl"]
        self.failure_url = self.sqs.create_queue(QueueName=f"{name}-onfailure")["QueueUrl"]
        self.failure_arn = self.queue_arn(self.failure_url)
        self.lam.create_function(
            FunctionName=name,
            Runtime="python3.11",
            Role=role_arn,
            Handler="fn.app.handler",
            Code={"ZipFile": make_zip({"fn/__init__.py": "", "fn/app.py": CONSUMER})},
            Timeout=10,
            Environment={"Variables": {"SEEN_URL": self.seen_url}},
        )
        self._batches: list[dict] = []
        self._failures: list[dict] = []

    def queue_arn(self, url: str) -> str:
        return self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]

    def map(self, source_arn: str, **options) -> str:
        spec = {"FunctionName": self.name, "EventSourceArn": source_arn, "StartingPosition": "TRIM_HORIZON", **options}
        self.mapping = self.lam.create_event_source_mapping(**spec)["UUID"]
        return self.mapping

    def batches(self) -> list[dict]:
        """Every batch recorded so far, in invocation order."""
        while True:
            messages = self.sqs.receive_message(QueueUrl=self.seen_url, MaxNumberOfMessages=10).get("Messages", [])
            if not messages:
                return self._batches
            for message in messages:
                self._batches.append(json.loads(message["Body"]))
                self.sqs.delete_message(QueueUrl=self.seen_url, ReceiptHandle=message["ReceiptHandle"])

    def failure_records(self) -> list[dict]:
        """Every on-failure invocation record so far."""
        while True:
            messages = self.sqs.receive_message(QueueUrl=self.failure_url, MaxNumberOfMessages=10).get("Messages", [])
            if not messages:
                return self._failures
            for message in messages:
                self._failures.append(json.loads(message["Body"]))
                self.sqs.delete_message(QueueUrl=self.failure_url, ReceiptHandle=message["ReceiptHandle"])

    def status(self) -> dict:
        return next(r for r in self.cloud.status()["deliveries"] if r.get("uuid") == self.mapping)
