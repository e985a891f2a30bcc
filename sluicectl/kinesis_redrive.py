"""Redrive of a Kinesis event source mapping's on-failure destination (`sluicectl dlq redrive <queue>` when the
queue holds Lambda's Kinesis invocation records).

Lambda sends only the metadata of a batch it gave up on (``KinesisBatchInfo``: stream, shard, first and last
sequence numbers, batch size), never the data; SQS has no message move task for it, because there is no source
queue. The redrive this module does:

1. read each on-failure record (left in the queue while it is worked on);
2. re-read its range from the stream (``GetShardIterator`` AT_SEQUENCE_NUMBER, ``GetRecords`` up to the last
   sequence number) while the stream still retains it;
3. invoke the mapping's function (``requestContext.functionArn``) synchronously with a Kinesis event of those
   records, *with their original shard, sequence numbers and event ids*: a consumer that de-duplicates on the
   sequence number (the fraud scorer does) skips records an earlier attempt already applied, so a redrive never
   applies a record twice. Re-putting the records would give them new sequence numbers and defeat that;
4. isolate what still fails the way the mapping does (partial batch responses; a failing first record is
   retried alone, three times) and write a failure record for each such record in the failures table (pipeline,
   ``<stream>/<shard>/<sequence>``, the function's error, the record's data): it can never succeed and now says
   why, without depending on the stream's retention;
5. delete the on-failure record once each record of its range is processed or has its failure record. A range
   the stream no longer holds in full (retention) is kept and reported.

Order: the records are reprocessed after later records of the same shard, as any replay is. A consumer that
drops records older than its last applied sequence number for the key would skip them; the scorer only skips
sequence numbers of the *same shard* it has applied, which a range given up on never includes (unless it
was applied by the attempt that failed).

Hand-written because neither AWS nor a library redrives Kinesis on-failure records.
"""

from __future__ import annotations

import base64
import contextlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

BATCH_INFO = "KinesisBatchInfo"
SINGLE_ATTEMPTS = 3  # a record failing alone is tried this many times before it gets a failure record
MAX_REASON = 1000
MAX_DATA_BYTES = 64 * 1024


@dataclass(frozen=True)
class FailedRange:
    """One on-failure record: a shard's range of records Lambda gave up on."""

    message_id: str
    receipt_handle: str
    stream_arn: str
    shard_id: str
    start: str
    end: str
    size: int
    function_arn: str
    condition: str

    @property
    def stream_name(self) -> str:
        return self.stream_arn.rsplit("/", 1)[-1]

    @property
    def function_name(self) -> str:
        return self.function_arn.split(":function:", 1)[-1].split(":", 1)[0]

    def covers(self, shard_id: str, sequence: str) -> bool:
        return shard_id == self.shard_id and int(self.start) <= int(sequence) <= int(self.end)


def parse_range(message: dict[str, Any]) -> FailedRange | None:
    """An SQS message (or its body, already parsed) -> the range it describes; None if it is not a Kinesis
    on-failure record."""
    try:
        body = json.loads(message["Body"]) if "Body" in message else message
        info = body[BATCH_INFO]
        context = body.get("requestContext") or {}
        return FailedRange(
            message_id=str(message.get("MessageId", "")),
            receipt_handle=str(message.get("ReceiptHandle", "")),
            stream_arn=str(info["streamArn"]),
            shard_id=str(info["shardId"]),
            start=str(info["startSequenceNumber"]),
            end=str(info["endSequenceNumber"]),
            size=int(info.get("batchSize") or 0),
            function_arn=str(context.get("functionArn", "")),
            condition=str(context.get("condition", "")),
        )
    except (ValueError, KeyError, TypeError):
        return None


def failed_ranges(sqs: Any, queue_url: str, *, hold_seconds: int = 60) -> list[FailedRange]:
    """Every Kinesis on-failure record in the queue, received and hidden for `hold_seconds` (released by
    `release`, deleted by `redrive`)."""
    seen: dict[str, FailedRange] = {}
    while True:
        messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, VisibilityTimeout=hold_seconds).get("Messages", [])
        if not messages:
            return list(seen.values())
        for message in messages:
            parsed = parse_range(message)
            if parsed is not None:
                seen.setdefault(parsed.message_id, parsed)
            else:  # not ours to redrive: leave it
                sqs.change_message_visibility(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0)


def release(sqs: Any, queue_url: str, ranges: list[FailedRange]) -> None:
    for item in ranges:
        with contextlib.suppress(Exception):  # already deleted or the handle expired: visible again anyway
            sqs.change_message_visibility(QueueUrl=queue_url, ReceiptHandle=item.receipt_handle, VisibilityTimeout=0)


def is_on_failure_queue(sqs: Any, queue_url: str) -> bool:
    """Whether the queue's messages are Kinesis on-failure records (sampled, left in the queue)."""
    messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, VisibilityTimeout=5).get("Messages", [])
    for message in messages:
        sqs.change_message_visibility(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0)
    return bool(messages) and all(parse_range(m) is not None for m in messages)


def read_range(kinesis: Any, item: FailedRange, *, page: int = 1000) -> list[dict[str, Any]]:
    """The records of the range, in order, from the stream (fewer than `size` if the stream trimmed them)."""
    iterator = kinesis.get_shard_iterator(
        StreamName=item.stream_name,
        ShardId=item.shard_id,
        ShardIteratorType="AT_SEQUENCE_NUMBER",
        StartingSequenceNumber=item.start,
    )["ShardIterator"]
    end = int(item.end)
    out: list[dict[str, Any]] = []
    while iterator:
        response = kinesis.get_records(ShardIterator=iterator, Limit=page)
        for record in response.get("Records", []):
            if int(record["SequenceNumber"]) > end:
                return out
            out.append(record)
        if not response.get("Records") and not response.get("MillisBehindLatest"):
            return out  # at the tip
        iterator = response.get("NextShardIterator")
    return out


def lambda_event(records: list[dict[str, Any]], item: FailedRange, region: str) -> dict[str, Any]:
    """The Kinesis event Lambda would have sent for `records` (original sequence numbers and event ids)."""
    events = []
    for record in records:
        arrival = record.get("ApproximateArrivalTimestamp")
        events.append(
            {
                "kinesis": {
                    "kinesisSchemaVersion": "1.0",
                    "partitionKey": record["PartitionKey"],
                    "sequenceNumber": record["SequenceNumber"],
                    "data": base64.b64encode(record["Data"]).decode(),
                    "approximateArrivalTimestamp": arrival.timestamp() if isinstance(arrival, datetime) else time.time(),
                },
                "eventSource": "aws:kinesis",
                "eventVersion": "1.0",
                "eventID": f"{item.shard_id}:{record['SequenceNumber']}",
                "eventName": "aws:kinesis:record",
                "invokeIdentityArn": "",
                "awsRegion": region,
                "eventSourceARN": item.stream_arn,
            }
        )
    return {"Records": events}


@dataclass
class Stuck:
    """A record that still fails after the redrive: it got a failure record."""

    shard_id: str
    sequence: str
    partition_key: str
    reason: str


@dataclass
class RedriveResult:
    ranges: int = 0
    records: int = 0  # records read back from the stream
    reprocessed: int = 0  # records the function took (applied now, or skipped as applied before)
    stuck: list[Stuck] = field(default_factory=list)
    kept: int = 0  # on-failure records left in the queue (range no longer in the stream in full)
    invocations: int = 0


def _invoke(lam: Any, function: str, event: dict[str, Any]) -> tuple[str | None, int | None]:
    """(error, lowest failed index): error is set when the invocation failed as a whole."""
    response = lam.invoke(FunctionName=function, Payload=json.dumps(event).encode())
    payload = response["Payload"].read()
    if response.get("FunctionError"):
        try:
            detail = json.loads(payload)
            text = f"{detail.get('errorType', 'Error')}: {detail.get('errorMessage', '')}"
        except (ValueError, AttributeError):
            text = payload.decode("utf-8", "replace")
        return text or "function error", None
    try:
        failures = (json.loads(payload) or {}).get("batchItemFailures") or []
    except (ValueError, AttributeError):
        failures = []
    sequences = [r["kinesis"]["sequenceNumber"] for r in event["Records"]]
    indexes = [sequences.index(f["itemIdentifier"]) for f in failures if f.get("itemIdentifier") in sequences]
    if failures and not indexes:
        return "invalid batchItemFailures response", None
    return None, (min(indexes) if indexes else None)


def reprocess(lam: Any, item: FailedRange, records: list[dict[str, Any]], region: str, *, batch_size: int = 100) -> tuple[int, list[tuple[dict[str, Any], str]], int]:
    """Invoke the function over `records` in order; returns (records taken, [(record, error)] stuck, invocations)."""
    taken, stuck, invocations = 0, [], 0
    i, size, attempts = 0, batch_size, 0
    while i < len(records):
        chunk = records[i : i + size]
        error, lowest = _invoke(lam, item.function_name, lambda_event(chunk, item, region))
        invocations += 1
        if error is None and lowest is None:
            taken += len(chunk)
            i += len(chunk)
            size, attempts = batch_size, 0
        elif error is None and lowest is not None and lowest > 0:
            taken += lowest  # the records before the lowest reported failure are done
            i += lowest
        elif len(chunk) > 1:
            size = max(1, len(chunk) // 2)  # bisect, as the mapping does
        else:
            attempts += 1
            if attempts >= SINGLE_ATTEMPTS:
                stuck.append((chunk[0], error or "reported as a batch item failure"))
                i += 1
                size, attempts = batch_size, 0
            else:
                time.sleep(0.2 * attempts)
    return taken, stuck, invocations


def failure_item(pipeline: str, item: FailedRange, record: dict[str, Any], reason: str, now: str) -> dict[str, Any]:
    data = bytes(record["Data"])
    out = {
        "pipeline": {"S": pipeline},
        "item_id": {"S": f"{item.stream_name}/{item.shard_id}/{record['SequenceNumber']}"},
        "error_code": {"S": "unprocessable_record"},
        "reason": {"S": reason[:MAX_REASON] or "unprocessable"},
        "stage": {"S": "redrive"},
        "message_id": {"S": item.message_id},
        "first_seen_at": {"S": now},
        "source": {"S": item.stream_arn},
        "attempts": {"N": str(SINGLE_ATTEMPTS)},
        "partition_key": {"S": str(record["PartitionKey"])},
        "data_b64": {"S": base64.b64encode(data[:MAX_DATA_BYTES]).decode()},
    }
    if len(data) > MAX_DATA_BYTES:
        out["data_truncated_from"] = {"N": str(len(data))}
    return out


def redrive(
    clients: Callable[[str], Any],
    queue_url: str,
    *,
    failures_table: str,
    pipeline: str,
    batch_size: int = 100,
    dry_run: bool = False,
    on_progress: Callable[[int, int], None] | None = None,
) -> RedriveResult:
    """Reprocess every range in the on-failure queue (see the module docstring); `on_progress(done, total)`."""
    sqs, kinesis, lam, dynamodb = clients("sqs"), clients("kinesis"), clients("lambda"), clients("dynamodb")
    region = sqs.meta.region_name
    ranges = failed_ranges(sqs, queue_url, hold_seconds=300)
    result = RedriveResult(ranges=len(ranges))
    if dry_run:
        result.records = sum(r.size for r in ranges)
        release(sqs, queue_url, ranges)
        return result
    for done, item in enumerate(ranges, start=1):
        records = read_range(kinesis, item)
        result.records += len(records)
        if len(records) < item.size:
            result.kept += 1  # the stream trimmed part of the range: leave the record for an operator
            release(sqs, queue_url, [item])
            continue
        taken, stuck, invocations = reprocess(lam, item, records, region, batch_size=batch_size)
        result.reprocessed += taken
        result.invocations += invocations
        now = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        for record, reason in stuck:
            with contextlib.suppress(dynamodb.exceptions.ConditionalCheckFailedException):  # recorded before
                dynamodb.put_item(
                    TableName=failures_table,
                    Item=failure_item(pipeline, item, record, reason, now),
                    ConditionExpression="attribute_not_exists(item_id)",
                )
            result.stuck.append(Stuck(item.shard_id, record["SequenceNumber"], str(record["PartitionKey"]), reason))
        sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=item.receipt_handle)
        if on_progress:
            on_progress(done, len(ranges))
    return result
