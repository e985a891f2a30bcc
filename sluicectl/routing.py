"""Pipeline 2 (fan-out routing) from the outside: make runs of mixed records and uploads, submit them the two ways
producers do, and count where every one ended.

Used by `sluicectl route`, `sluicectl fanout`, the end-to-end tests and the benchmark, so all of them count the
same way. Every count reads the pipeline's own state (the routed-records table, the unroutable queue, the jobs
table, the completions queue), so it works against the local cloud, LocalStack or AWS alike.

Records:

* ``RecordRun.new(n, seed=...)``: ``n`` records with ids ``<run>-<index>``; by default 80% routable (image,
  text, tabular in turn) and 20% unroutable, each with the reason code the router must give;
* ``submit_events``: "Record Submitted" events on the domain bus, 10 per PutEvents, each detail validated
  against the producer contract (``record_submitted``) first;
* ``upload_files``: JSON-lines files under ``records/run-<run>/`` in the landing bucket; only files can carry
  lines that are not JSON or records without an id, so ``file_only`` samples go there.

Uploads: ``UploadRun.new(n)``: text, CSV, JSON and PNG objects under ``uploads/run-<run>/``.
"""

from __future__ import annotations

import concurrent.futures
import functools
import json
import random
import struct
import time
import uuid
import zlib
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .ingest import peek, queue_depth

ROOT = Path(__file__).resolve().parent.parent
CONTRACTS = ROOT / "layers" / "shared" / "python" / "sluice" / "contracts"
TYPES = ("image", "text", "tabular")
UNROUTABLE = "unroutable"
PRODUCER_SOURCE = "sluice.producer"
SUBMITTED = "Record Submitted"

# Unroutable kinds in the order they are mixed in, and whether only a records file can carry them.
UNROUTABLE_KINDS: tuple[tuple[str, bool], ...] = (
    ("unknown_data_type", False),
    ("missing_data_type", False),
    ("schema_violation", False),
    ("invalid_data_type", False),
    ("invalid_json", True),
    ("invalid_record", True),
)


@dataclass(frozen=True)
class RecordSample:
    index: int
    record_id: str | None
    line: str  # the JSON text (what a records file holds on its line)
    expected: str  # a data type, or "unroutable"
    reason_code: str | None = None
    file_only: bool = False

    @property
    def record(self) -> Any:
        return json.loads(self.line)


def _payload(data_type: str, rng: random.Random, index: int) -> dict[str, Any]:
    if data_type == "image":
        return {
            "uri": f"s3://images/{index:05d}.png",
            "width": rng.randint(16, 4096),
            "height": rng.randint(16, 4096),
            "format": rng.choice(["jpeg", "png", "gif", "webp"]),
            "labels": rng.sample(["cat", "dog", "car", "tree", "sky"], k=rng.randint(0, 3)),
        }
    if data_type == "text":
        words = ["event", "driven", "pipelines", "route", "records", "by", "type", "with", "contracts"]
        return {"text": " ".join(rng.choice(words) for _ in range(rng.randint(3, 40))), "language": "en"}
    columns = ["id", "score", "label"]
    return {"columns": columns, "rows": [[i, round(rng.random() * 100, 3), rng.choice(["a", "b"])] for i in range(rng.randint(0, 20))]}


def _unroutable(kind: str, rng: random.Random, record_id: str, index: int) -> str:
    if kind == "unknown_data_type":
        return json.dumps({"record_id": record_id, "data_type": rng.choice(["audio", "video"]), "payload": {"seconds": 3}})
    if kind == "missing_data_type":
        return json.dumps({"record_id": record_id, "payload": {"text": "no type"}})
    if kind == "schema_violation":
        return json.dumps({"record_id": record_id, "data_type": "image", "payload": {"uri": "s3://x/y.png", "width": 0, "height": 10, "format": "png"}})
    if kind == "invalid_data_type":
        return json.dumps({"record_id": record_id, "data_type": rng.choice([42, "Image/PNG"]), "payload": {}})
    if kind == "invalid_json":
        return '{"record_id": "' + record_id + '", "data_type": "text", '  # truncated: not JSON
    if kind == "invalid_record":
        return json.dumps({"data_type": "text", "payload": {"text": "who am I"}})
    raise ValueError(kind)


@dataclass(frozen=True)
class RecordRun:
    run_id: str
    samples: tuple[RecordSample, ...]

    @classmethod
    def new(cls, records: int, unroutable_ratio: float = 0.2, seed: int | None = None, run_id: str | None = None) -> RecordRun:
        run_id = run_id or uuid.uuid4().hex[:8]
        rng = random.Random(seed if seed is not None else int(run_id, 16) % 1_000_000)
        unroutable = round(records * unroutable_ratio)
        # Spread the unroutable records evenly through the run.
        bad = {round(i * records / unroutable) for i in range(unroutable)} if unroutable else set()
        samples = []
        kinds = 0
        routable = 0
        for index in range(records):
            record_id = f"{run_id}-{index:05d}"
            if index in bad:
                kind, file_only = UNROUTABLE_KINDS[kinds % len(UNROUTABLE_KINDS)]
                kinds += 1
                samples.append(
                    RecordSample(index, None if kind in ("invalid_json", "invalid_record") else record_id,
                                 _unroutable(kind, rng, record_id, index), UNROUTABLE, kind, file_only)
                )
                continue
            data_type = TYPES[routable % len(TYPES)]
            routable += 1
            record = {
                "record_id": record_id,
                "data_type": data_type,
                "payload": _payload(data_type, rng, index),
                "submitted_at": "2026-01-01T00:00:00Z",
                "producer": "sluicectl",
            }
            samples.append(RecordSample(index, record_id, json.dumps(record), data_type))
        return cls(run_id, tuple(samples))

    @property
    def prefix(self) -> str:
        return f"records/run-{self.run_id}/"

    def expected_counts(self) -> Counter[str]:
        return Counter(s.expected for s in self.samples)

    def expected_reasons(self) -> Counter[str]:
        return Counter(s.reason_code for s in self.samples if s.reason_code)


# ------------------------------------------------------------------------------------------------ producing


@functools.cache
def _submitted_validator() -> Callable[[Any], None]:
    import jsonschema

    schema = json.loads((CONTRACTS / "record_submitted.schema.json").read_text())
    validator = jsonschema.Draft7Validator(schema, format_checker=jsonschema.FormatChecker())
    return validator.validate


def submit_events(events: Any, bus: str, samples: Sequence[RecordSample], workers: int = 4) -> int:
    """PutEvents "Record Submitted" (10 entries per call), each detail validated first. Returns the calls made.
    Entries that fail are sent again (a producer must not drop them either)."""
    validate = _submitted_validator()
    entries = []
    for sample in samples:
        if sample.file_only:
            raise ValueError(f"sample {sample.index} ({sample.reason_code}) can only travel in a records file")
        record = sample.record
        validate(record)
        entries.append({"Source": PRODUCER_SOURCE, "DetailType": SUBMITTED, "Detail": json.dumps(record), "EventBusName": bus})
    chunks = [entries[i : i + 10] for i in range(0, len(entries), 10)]

    def put(chunk: list[dict[str, Any]]) -> int:
        pending = chunk
        for attempt in range(8):
            response = events.put_events(Entries=pending)
            if not response.get("FailedEntryCount"):
                return attempt + 1
            pending = [e for e, r in zip(pending, response["Entries"], strict=True) if r.get("ErrorCode")]
            time.sleep(0.05 * 2**attempt)
        raise RuntimeError(f"{len(pending)} entries could not be submitted")

    with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:
        return sum(pool.map(put, chunks))


def upload_files(s3: Any, bucket: str, run: RecordRun, samples: Sequence[RecordSample], per_file: int = 100) -> list[str]:
    """JSON-lines files of ``per_file`` records under the run's prefix; returns their keys."""
    keys = []
    for start in range(0, len(samples), per_file):
        chunk = samples[start : start + per_file]
        key = f"{run.prefix}part-{chunk[0].index:05d}.jsonl"  # named by its first record: unique in the run
        s3.put_object(Bucket=bucket, Key=key, Body=("\n".join(s.line for s in chunk) + "\n").encode(), ContentType="application/x-ndjson")
        keys.append(key)
    return keys


# ------------------------------------------------------------------------------------------------ counting


@dataclass
class RoutingCounts:
    submitted: int = 0
    by_type: Counter[str] = field(default_factory=Counter)  # distinct records in the results table, by data type
    processed_by: Counter[str] = field(default_factory=Counter)  # by function that wrote them
    unroutable: int = 0  # distinct records in the unroutable queue
    reasons: Counter[str] = field(default_factory=Counter)
    misrouted: int = 0  # results whose data type is not the one the record was submitted with
    duplicates_in_unroutable: int = 0

    @property
    def routed(self) -> int:
        return sum(self.by_type.values())

    @property
    def accounted(self) -> int:
        return self.routed + self.unroutable

    @property
    def lost(self) -> int:
        return self.submitted - self.accounted

    def as_dict(self) -> dict[str, Any]:
        return {
            "submitted": self.submitted,
            "routed": self.routed,
            "by_type": dict(sorted(self.by_type.items())),
            "unroutable": self.unroutable,
            "reasons": dict(sorted(self.reasons.items())),
            "misrouted": self.misrouted,
            "lost": self.lost,
        }


def results(dynamodb: Any, table: str, run_id: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    for page in dynamodb.get_paginator("scan").paginate(
        TableName=table,
        FilterExpression="begins_with(record_id, :run)",
        ExpressionAttributeValues={":run": {"S": f"{run_id}-"}},
        ConsistentRead=True,
    ):
        items.extend(page["Items"])
    return items


def unroutable_events(sqs: Any, queue_url: str, run_id: str) -> list[dict[str, Any]]:
    """The "Record Unroutable" details of this run in the unroutable queue (left there)."""
    found = []
    for message in peek(sqs, queue_url):
        try:
            detail = json.loads(message["Body"])["detail"]
        except (ValueError, KeyError, TypeError):
            continue
        origin = detail.get("origin") or {}
        if detail.get("record_id", "").startswith(f"{run_id}-") or f"run-{run_id}/" in str(origin.get("key", "")):
            found.append(detail)
    return found


def count_routing(clients: Callable[[str], Any], outputs: dict[str, Any], run: RecordRun, *, with_unroutable: bool = True) -> RoutingCounts:
    expected = {s.record_id: s.expected for s in run.samples if s.record_id}
    counts = RoutingCounts(submitted=len(run.samples))
    for item in results(clients("dynamodb"), outputs["routing_results_table_name"], run.run_id):
        data_type = item["data_type"]["S"]
        counts.by_type[data_type] += 1
        counts.processed_by[item["processed_by"]["S"]] += 1
        if expected.get(item["record_id"]["S"]) != data_type:
            counts.misrouted += 1
    if with_unroutable:
        seen: dict[str, dict[str, Any]] = {}
        details = unroutable_events(clients("sqs"), outputs["routing_unroutable_queue_url"], run.run_id)
        for detail in details:
            seen.setdefault(detail["record_id"], detail)
        counts.unroutable = len(seen)
        counts.duplicates_in_unroutable = len(details) - len(seen)
        counts.reasons = Counter(d["reason_code"] for d in seen.values())
    return counts


def wait_routed(
    clients: Callable[[str], Any],
    outputs: dict[str, Any],
    run: RecordRun,
    timeout: float,
    on_progress: Callable[[RoutingCounts], None] | None = None,
) -> RoutingCounts:
    """Wait until every record of ``run`` is in the results table or the unroutable queue (or ``timeout``).

    While the router queue or a route queue still holds messages only their depths are read (cheap calls); the
    results table is scanned when they look drained, so waiting does not slow the pipeline it measures."""
    routable = sum(1 for s in run.samples if s.expected != UNROUTABLE)
    queues = [outputs["routing_router_queue_url"], *(r["queue_url"] for r in outputs["routing_routes"].values())]
    deadline = time.monotonic() + timeout
    delay = 0.1
    while True:
        expired = time.monotonic() > deadline
        if not expired and any(queue_depth(clients("sqs"), url) for url in queues):
            time.sleep(delay)
            delay = min(delay * 1.5, 0.5)
            continue
        counts = count_routing(clients, outputs, run, with_unroutable=False)
        if on_progress:
            on_progress(counts)
        if expired or counts.routed >= routable:
            counts = count_routing(clients, outputs, run)
            if on_progress:
                on_progress(counts)
            if expired or counts.accounted >= len(run.samples):
                return counts
        time.sleep(delay)
        delay = min(delay * 1.5, 1.0)


# ------------------------------------------------------------------------------------------------ the S3 fan-out


def _png(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    raw = b"".join(b"\x00" + b"\x80" * width for _ in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


@dataclass(frozen=True)
class Upload:
    key: str
    body: bytes
    kind: str


@dataclass(frozen=True)
class UploadRun:
    run_id: str
    uploads: tuple[Upload, ...]

    @property
    def prefix(self) -> str:
        return f"uploads/run-{self.run_id}/"

    @classmethod
    def new(cls, objects: int, run_id: str | None = None) -> UploadRun:
        run_id = run_id or uuid.uuid4().hex[:8]
        uploads = []
        for i in range(objects):
            kind = ("text", "csv", "json", "png")[i % 4]
            key = f"uploads/run-{run_id}/{i:04d}.{ {'text': 'txt', 'csv': 'csv', 'json': 'json', 'png': 'png'}[kind] }"
            if kind == "text":
                body = f"upload {i}\nline two\nline three\n".encode()
            elif kind == "csv":
                body = "id,value\n" + "".join(f"{n},{n * i}\n" for n in range(5))
                body = body.encode()
            elif kind == "json":
                body = json.dumps({"upload": i, "tags": ["a", "b"]}).encode()
            else:
                body = _png(4 + i % 7, 3 + i % 5)
            uploads.append(Upload(key, body, kind))
        return cls(run_id, tuple(uploads))


def upload_objects(s3: Any, bucket: str, uploads: Iterable[Upload], workers: int = 8) -> int:
    items = list(uploads)
    with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(lambda u: s3.put_object(Bucket=bucket, Key=u.key, Body=u.body), items))
    return len(items)


def jobs(dynamodb: Any, table: str, run: UploadRun) -> dict[str, dict[str, Any]]:
    """The jobs of this run's uploads, by object key."""
    found = {}
    for page in dynamodb.get_paginator("scan").paginate(
        TableName=table,
        FilterExpression="begins_with(object_key, :p)",
        ExpressionAttributeValues={":p": {"S": run.prefix}},
        ConsistentRead=True,
    ):
        for item in page["Items"]:
            found[item["object_key"]["S"]] = item
    return found


def done_by(jobs_: dict[str, dict[str, Any]]) -> Counter[str]:
    """How many jobs each consumer has finished."""
    return Counter(name for item in jobs_.values() for name in item.get("done", {}).get("SS", []))


def receive_completions(sqs: Any, queue_url: str, run: UploadRun, into: dict[str, dict[str, Any]], wait: int = 1) -> dict[str, dict[str, Any]]:
    """Read (and delete) completion messages; keep this run's, by object key (a redelivery is counted once)."""
    while True:
        messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=wait).get("Messages", [])
        if not messages:
            return into
        for message in messages:
            event = json.loads(message["Body"])  # raw message delivery: the EventBridge event itself
            detail = event.get("detail", {})
            if str(detail.get("key", "")).startswith(run.prefix):
                into.setdefault(detail["key"], detail)
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
        wait = 0


__all__ = [
    "TYPES",
    "UNROUTABLE",
    "RecordRun",
    "RecordSample",
    "RoutingCounts",
    "Upload",
    "UploadRun",
    "count_routing",
    "done_by",
    "jobs",
    "queue_depth",
    "receive_completions",
    "submit_events",
    "upload_files",
    "upload_objects",
    "wait_routed",
]
