"""Pipeline 1 (ingest) from the outside: upload a run of sample orders and count where every one of them ended.

Used by `sluicectl demo`, the end-to-end tests and the benchmarks, so all three count the same way. Every
count reads the pipeline's own state (results table, output bucket, failures table, queues), so it works the
same against the local cloud, LocalStack or AWS.
"""

from __future__ import annotations

import concurrent.futures
import json
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import unquote_plus

from .samples import Sample, generate_orders

PIPELINE = "ingest"


@dataclass(frozen=True)
class Run:
    """One batch of uploads under its own prefix, so counts never mix with earlier runs."""

    run_id: str
    samples: tuple[Sample, ...]

    @property
    def prefix(self) -> str:
        return f"incoming/run-{self.run_id}/"

    @property
    def valid(self) -> list[Sample]:
        return [s for s in self.samples if s.is_valid]

    @property
    def malformed(self) -> list[Sample]:
        return [s for s in self.samples if not s.is_valid]

    @classmethod
    def new(cls, objects: int, malformed_ratio: float, seed: int | None = None, run_id: str | None = None) -> Run:
        run_id = run_id or uuid.uuid4().hex[:8]
        seed = seed if seed is not None else int(run_id, 16) % 1_000_000
        return cls(run_id, tuple(generate_orders(objects, malformed_ratio, seed, prefix=f"incoming/run-{run_id}/")))


@dataclass
class Counts:
    uploaded: int = 0
    processed: int = 0  # rows in the results table
    outputs: int = 0  # processed/ objects in the output bucket
    failed: int = 0  # failure records
    dead_lettered: int = 0  # failure records whose message went to the DLQ
    in_queue: int = 0  # messages waiting or in flight in the ingest queue (all runs)

    @property
    def accounted(self) -> int:
        return self.processed + self.failed

    @property
    def lost(self) -> int:
        return self.uploaded - self.accounted

    def as_dict(self) -> dict[str, int]:
        return {**asdict(self), "lost": self.lost}


def upload(s3: Any, bucket: str, samples: Iterable[Sample], workers: int = 8) -> int:
    """Upload concurrently (as producers do); returns how many were uploaded."""
    items = list(samples)

    def put(sample: Sample) -> None:
        s3.put_object(Bucket=bucket, Key=sample.key, Body=sample.body, ContentType="application/json")

    with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(put, items))
    return len(items)


def _scan_count(dynamodb: Any, table: str, **kwargs: Any) -> int:
    total = 0
    paginator = dynamodb.get_paginator("scan")
    for page in paginator.paginate(TableName=table, Select="COUNT", **kwargs):
        total += page["Count"]
    return total


def _failure_records(dynamodb: Any, table: str, bucket: str, prefix: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    paginator = dynamodb.get_paginator("query")
    for page in paginator.paginate(
        TableName=table,
        KeyConditionExpression="#p = :p AND begins_with(item_id, :prefix)",
        ExpressionAttributeNames={"#p": "pipeline"},
        ExpressionAttributeValues={":p": {"S": PIPELINE}, ":prefix": {"S": f"{bucket}/{prefix}"}},
    ):
        items.extend(page["Items"])
    return items


def count(clients: Callable[[str], Any], outputs: dict[str, Any], run: Run) -> Counts:
    s3, dynamodb, sqs = clients("s3"), clients("dynamodb"), clients("sqs")
    landing, output = outputs["landing_bucket_name"], outputs["output_bucket_name"]
    processed = _scan_count(
        dynamodb,
        outputs["ingest_results_table_name"],
        FilterExpression="begins_with(object_key, :prefix)",
        ExpressionAttributeValues={":prefix": {"S": run.prefix}},
    )
    output_prefix = "processed/" + run.prefix.removeprefix("incoming/")
    outputs_count = sum(
        page.get("KeyCount", 0)
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=output, Prefix=output_prefix)
    )
    failures = _failure_records(dynamodb, outputs["failures_table_name"], landing, run.prefix)
    attributes = sqs.get_queue_attributes(
        QueueUrl=outputs["ingest_queue_url"],
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return Counts(
        uploaded=len(run.samples),
        processed=processed,
        outputs=outputs_count,
        failed=len(failures),
        dead_lettered=sum(1 for item in failures if item.get("dlq_message_id")),
        in_queue=int(attributes["ApproximateNumberOfMessages"]) + int(attributes["ApproximateNumberOfMessagesNotVisible"]),
    )


def peek(sqs: Any, queue_url: str) -> list[dict[str, Any]]:
    """Every message in a queue, left there: received (hidden while we read) then made visible again."""
    messages: dict[str, dict[str, Any]] = {}
    while True:
        batch = sqs.receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=10, VisibilityTimeout=60, MessageAttributeNames=["All"]
        ).get("Messages", [])
        if not batch:
            break
        for message in batch:
            messages.setdefault(message["MessageId"], message)
    handles = [m["ReceiptHandle"] for m in messages.values()]
    for start in range(0, len(handles), 10):
        sqs.change_message_visibility_batch(
            QueueUrl=queue_url,
            Entries=[{"Id": str(i), "ReceiptHandle": h, "VisibilityTimeout": 0} for i, h in enumerate(handles[start : start + 10])],
        )
    return list(messages.values())


def queue_depth(sqs: Any, queue_url: str) -> int:
    attributes = sqs.get_queue_attributes(
        QueueUrl=queue_url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(attributes["ApproximateNumberOfMessagesNotVisible"])


def wait_accounted(
    clients: Callable[[str], Any],
    outputs: dict[str, Any],
    run: Run,
    timeout: float,
    on_progress: Callable[[Counts], None] | None = None,
) -> Counts:
    """Wait until every object of `run` is processed or failed (or `timeout`); return the final counts.

    While the queue still holds messages only its depth is read (one cheap call); the full count (a table
    scan, a bucket listing, a query) runs when the queue looks drained, so waiting does not slow the pipeline.
    """
    deadline = time.monotonic() + timeout
    delay = 0.2
    while True:
        expired = time.monotonic() > deadline
        if expired or queue_depth(clients("sqs"), outputs["ingest_queue_url"]) == 0:
            counts = count(clients, outputs, run)
            if on_progress:
                on_progress(counts)
            if expired or counts.accounted >= len(run.samples):
                return counts
        time.sleep(delay)
        delay = min(delay * 1.5, 1.0)


def dlq_keys(sqs: Any, dlq_url: str, prefix: str) -> list[str]:
    """The landing keys of this run's messages in the DLQ (which stay there)."""
    keys = []
    for message in peek(sqs, dlq_url):
        try:
            key = unquote_plus(json.loads(message["Body"])["detail"]["object"]["key"])
        except (ValueError, KeyError, TypeError):
            continue
        if key.startswith(prefix):
            keys.append(key)
    return sorted(keys)
