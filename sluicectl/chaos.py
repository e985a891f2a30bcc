"""The reliability suite (`sluicectl chaos`, `make chaos`): every pipeline under injected faults, a burst and fuzzed
bad input, then the faults removed and every DLQ redriven; every input counted where it ended.

Phases, for every pipeline at once (faults are set per function and per event source on the local cloud):

1. ``baseline``: ``scale`` inputs, no fault;
2. ``faults``: function errors, timeouts (the function runs, then reports a timeout) and throttles at a rate,
   duplicate delivery on every event source, out-of-order SQS delivery;
3. ``burst``: 10 x ``scale`` inputs at once, faults still on;
4. ``fuzz``: bad input generated with hypothesis (broken JSON, wrong types, huge and empty bodies, bad
   encodings), faults still on;
5. ``outage``: every function behind an event source fails every time, so what is sent now ends in a DLQ once
   its receives are used up (the local cloud's clock skips the visibility timeouts), or in the stream scorer's
   on-failure destination once its retries are; pipelines without a DLQ (``Driver.dead_letters`` False: the
   document workflow, whose steps Step Functions retries) keep the faults of phases 2-4;
6. ``redrive``: faults removed, every DLQ with messages redriven with SQS StartMessageMoveTask, then drivers with a
   ``redrive`` of their own (the stream: Kinesis on-failure ranges re-read and reprocessed,
   ``sluicectl.kinesis_redrive``), then every input of every phase counted again.

Pipelines (``DRIVERS``): ingest, routing, fanout, inference, documents, stream, feedback. Every input ends in exactly one
place: ``processed`` (the pipeline's result), a ``failure record`` (the input can never succeed and says why), or
``in DLQ`` (retries exhausted, waiting for a redrive: an SQS DLQ, a Kinesis on-failure record); anything else is
``lost``. ``duplicates`` are inputs whose result was produced more than once: two results where one is
expected, or one event published twice (two event ids: a redelivery of the *same* event, which EventBridge and
SQS may do, is not a duplicate the pipeline made, and every consumer de-duplicates it by event id).

Drivers read the pipelines' own state (tables, buckets, queues), so the counting works on any deployment;
faults need the local cloud. The invariant: after the redrive, lost = 0 and duplicates = 0 for every pipeline.
"""

from __future__ import annotations

import contextlib
import json
import re
import threading
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote_plus

from botocore.config import Config
from botocore.exceptions import BotoCoreError

from . import ingest, routing
from .ingest import peek

PHASES = ("baseline", "faults", "burst", "fuzz", "outage", "redrive")
PROCESSED, FAILED, IN_DLQ = "processed", "failure record", "in DLQ"

# Faults while phases 2-4 run: rates per invocation of every function, duplicates per delivery.
FUNCTION_FAULTS = {"error_rate": 0.08, "timeout_rate": 0.05, "throttle_rate": 0.1}
DELIVERY_FAULTS = {
    "sqs": {"duplicate_rate": 0.1, "out_of_order": True},
    "eventbridge": {"duplicate_rate": 0.1},
    "kinesis": {"duplicate_rate": 0.1},
    "dynamodb": {"duplicate_rate": 0.1},
}


# ------------------------------------------------------------------------------------------------ tallies


@dataclass
class Tally:
    phase: str
    sent: int = 0
    processed: int = 0
    failure_records: int = 0
    in_dlq: int = 0
    duplicates: int = 0
    seconds: float = 0.0

    @property
    def lost(self) -> int:
        return self.sent - self.processed - self.failure_records - self.in_dlq

    @property
    def accounted(self) -> int:
        return self.processed + self.failure_records + self.in_dlq

    def add(self, other: Tally) -> None:
        self.sent += other.sent
        self.processed += other.processed
        self.failure_records += other.failure_records
        self.in_dlq += other.in_dlq
        self.duplicates += other.duplicates

    def as_dict(self) -> dict[str, Any]:
        return {
            "phase": self.phase,
            "sent": self.sent,
            "processed": self.processed,
            "failure_records": self.failure_records,
            "in_dlq": self.in_dlq,
            "duplicates": self.duplicates,
            "lost": self.lost,
            "seconds": round(self.seconds, 1),
        }


def tally(phase: str, items: Iterable[Any], where: dict[Any, str], results: Counter[Any]) -> Tally:
    """Count `items` by where they ended (`where`: item -> PROCESSED/FAILED/IN_DLQ) and how many results each made."""
    out = Tally(phase)
    for item in items:
        out.sent += 1
        place = where.get(item)
        if place == PROCESSED:
            out.processed += 1
        elif place == FAILED:
            out.failure_records += 1
        elif place == IN_DLQ:
            out.in_dlq += 1
        out.duplicates += max(0, results.get(item, 0) - 1)
    return out


@dataclass
class Batch:
    """The inputs one phase sent to one pipeline."""

    phase: str
    items: list[Any] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)


# ------------------------------------------------------------------------------------------------ fuzzing


FUZZ_KINDS = ("broken_json", "wrong_types", "huge", "empty", "bad_encoding")


def fuzz_bodies(template: dict[str, Any], count: int, *, huge_bytes: int, seed: int = 0) -> list[tuple[str, bytes]]:
    """`count` bad bodies derived from a valid `template` document, spread over FUZZ_KINDS, generated by hypothesis
    (deterministic for a seed). Hypothesis drives the generation: its strategies shrink nothing here, they only
    generate, so we collect examples from a @given run instead of calling .example() (meant for the REPL)."""
    from hypothesis import strategies as st

    scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=20))
    wrong = st.one_of(scalars, st.lists(scalars, max_size=3), st.dictionaries(st.text(max_size=5), scalars, max_size=3))
    keys = sorted(template)
    text = json.dumps(template)

    def broken(cut: int) -> bytes:
        body = text[: max(1, min(cut, len(text) - 1))]
        return body.encode()

    def retyped(choice: tuple[str, Any]) -> bytes:
        key, value = choice
        doc = dict(template)
        if isinstance(doc.get(key), type(value)) and value == doc.get(key):
            value = [value]
        doc[key] = value
        return json.dumps(doc).encode()

    def huge(pad: str) -> bytes:
        doc = dict(template)
        doc["padding"] = pad * (huge_bytes // max(1, len(pad)) + 1)
        return json.dumps(doc).encode()

    def encoded(choice: tuple[str, str]) -> bytes:
        encoding, extra = choice
        doc = dict(template)
        doc[keys[0]] = f"{doc.get(keys[0])}-{extra}é€"
        data = json.dumps(doc, ensure_ascii=False)
        if encoding == "invalid-utf8":
            return data.encode() + b"\xff\xfe\xc3\x28"
        return data.encode(encoding, errors="replace")

    strategies = {
        "broken_json": st.integers(min_value=1, max_value=len(text)).map(broken),
        "wrong_types": st.tuples(st.sampled_from(keys), wrong).map(retyped),
        "huge": st.sampled_from(["x", "ab", "é"]).map(huge),
        "empty": st.sampled_from([b"", b" ", b"\n", b"{}", b"null", b"[]"]),
        "bad_encoding": st.tuples(st.sampled_from(["utf-16", "utf-32", "latin-1", "cp1252", "invalid-utf8"]), st.text(max_size=8)).map(encoded),
    }
    out: list[tuple[str, bytes]] = []
    for index, kind in enumerate(FUZZ_KINDS):
        wanted = count // len(FUZZ_KINDS) + (1 if index < count % len(FUZZ_KINDS) else 0)
        if wanted == 0:
            continue
        found = _collect(strategies[kind], max(wanted * 3, 10))
        if kind == "huge":  # one huge body of each pad is plenty (and cheap to send)
            found = found[:1]
        out.extend((kind, body) for body in (found * wanted)[:wanted])
    return out


def _collect(strategy: Any, examples: int) -> list[bytes]:
    from hypothesis import HealthCheck, Phase, given, settings

    found: list[bytes] = []

    @settings(max_examples=examples, database=None, derandomize=True, phases=[Phase.generate], deadline=None, suppress_health_check=list(HealthCheck))
    @given(strategy)
    def collect(body: bytes) -> None:
        if body not in found:
            found.append(body)

    collect()
    return found


# ------------------------------------------------------------------------------------------------ shared readers


def dlq_bodies(sqs: Any, outputs: dict[str, Any]) -> list[dict[str, Any]]:
    """Every message in every DLQ of the stack (left there), as JSON where it is JSON."""
    out = []
    for queue in outputs.get("queues", {}).values():
        url = queue.get("dlq_url")
        if not url:
            continue
        for message in peek(sqs, url):
            try:
                out.append(json.loads(message["Body"]))
            except ValueError:
                out.append({"raw": message["Body"]})
    return out


def s3_key(event: dict[str, Any]) -> str | None:
    """The object key of an S3 "Object Created" EventBridge event (URL-decoded as S3 sends it encoded)."""
    try:
        return unquote_plus(event["detail"]["object"]["key"])
    except (KeyError, TypeError):
        return None


def failure_items(dynamodb: Any, table: str, pipeline: str, prefix: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    for page in dynamodb.get_paginator("query").paginate(
        TableName=table,
        KeyConditionExpression="#p = :p AND begins_with(item_id, :prefix)",
        ExpressionAttributeNames={"#p": "pipeline"},
        ExpressionAttributeValues={":p": {"S": pipeline}, ":prefix": {"S": prefix}},
        ConsistentRead=True,
    ):
        items.extend(page["Items"])
    return items


def key_of_item_id(item_id: str, bucket: str) -> str:
    """`<bucket>/<key>#<etag>` -> key."""
    return item_id.removeprefix(f"{bucket}/").rsplit("#", 1)[0]


def queue_depths(sqs: Any, urls: Iterable[str]) -> tuple[int, int]:
    visible = hidden = 0
    for url in urls:
        attributes = sqs.get_queue_attributes(
            QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
        )["Attributes"]
        visible += int(attributes["ApproximateNumberOfMessages"])
        hidden += int(attributes["ApproximateNumberOfMessagesNotVisible"])
    return visible, hidden


#: The suite's clients wait out a saturated local cloud: a 10x burst through seven pipelines keeps the one
#: server process busy for minutes, and a request queued behind that must not end the run (a ReadTimeout is a
#: slow answer, not a lost one). Retried like the SDK's standard mode does, with room for more attempts.
PATIENT = Config(connect_timeout=10, read_timeout=300, retries={"max_attempts": 5, "mode": "standard"})


def patient_clients(factory: Callable[..., Any]) -> Callable[[str], Any]:
    """One client per service from `factory` (``cloud.boto3_client``-like: service, config=...), created once
    (creating a boto3 client is not thread-safe and costs ~10 ms) and shared by the drivers' threads (calls on
    a client are thread-safe)."""
    made: dict[str, Any] = {}
    lock = threading.Lock()

    def client(service: str) -> Any:
        with lock:
            if service not in made:
                made[service] = factory(service, config=PATIENT)
            return made[service]

    return client


# ------------------------------------------------------------------------------------------------ drivers


class Driver:
    """One pipeline: send a phase's inputs, then say where each ended."""

    name = "pipeline"

    def __init__(self, clients: Callable[[str], Any], outputs: dict[str, Any], run_id: str) -> None:
        self.clients = clients
        self.outputs = outputs
        self.run_id = run_id

    def functions(self) -> list[str]:
        """Functions behind event sources: every fault applies (AWS retries them)."""
        raise NotImplementedError

    #: Whether the pipeline dead-letters what its retries cannot finish (a DLQ, an on-failure destination): the
    #: outage phase fails its functions every time and expects every input of the phase in a DLQ.
    dead_letters = True

    def sync_functions(self) -> list[str]:
        """Functions called synchronously by a client: errors and throttles only (the client retries those; a
        timeout after the work was done needs a client idempotency key, which no API here takes yet)."""
        return []

    def queues(self) -> list[str]:
        """The pipeline's work queues (not DLQs): while they hold messages, the pipeline is busy."""
        raise NotImplementedError

    def send(self, phase: str, count: int, fuzz: list[tuple[str, bytes]] | None = None) -> Batch:
        raise NotImplementedError

    def count(self, batches: list[Batch], dlq: list[dict[str, Any]]) -> list[Tally]:
        raise NotImplementedError

    def template(self) -> dict[str, Any]:
        raise NotImplementedError

    huge_bytes = 1_100_000


class IngestDriver(Driver):
    """Pipeline 1: order files uploaded to the landing bucket -> results table + output bucket, or a failure record."""

    name = "ingest"

    def functions(self) -> list[str]:
        return [self.outputs["ingest_function_name"]]

    def queues(self) -> list[str]:
        return [self.outputs["ingest_queue_url"]]

    def template(self) -> dict[str, Any]:
        sample = next(s for s in ingest.Run.new(5, 0.0, seed=1).samples if s.is_valid)
        return json.loads(sample.body)

    huge_bytes = 1_100_000

    def send(self, phase: str, count: int, fuzz: list[tuple[str, bytes]] | None = None) -> Batch:
        prefix = f"incoming/chaos-{self.run_id}-{phase}/"
        s3 = self.clients("s3")
        bucket = self.outputs["landing_bucket_name"]
        if fuzz is None:
            run = ingest.Run(f"{self.run_id}{phase}", tuple(ingest.generate_orders(count, 0.1, seed=hash(phase) % 1000, prefix=prefix)))
            ingest.upload(s3, bucket, run.samples)
            keys = [s.key for s in run.samples]
        else:
            keys = [f"{prefix}fuzz-{i:04d}-{kind}.json" for i, (kind, _) in enumerate(fuzz)]
            items = [ingest.Sample(key=k, body=body, kind=kind, expected="?") for k, (kind, body) in zip(keys, fuzz, strict=True)]
            ingest.upload(s3, bucket, items)
        return Batch(phase, keys, {"prefix": prefix})

    def count(self, batches: list[Batch], dlq: list[dict[str, Any]]) -> list[Tally]:
        dynamodb = self.clients("dynamodb")
        bucket = self.outputs["landing_bucket_name"]
        prefix = f"incoming/chaos-{self.run_id}-"
        results: Counter[str] = Counter()
        for page in dynamodb.get_paginator("scan").paginate(
            TableName=self.outputs["ingest_results_table_name"],
            FilterExpression="begins_with(object_key, :p)",
            ExpressionAttributeValues={":p": {"S": prefix}},
            ConsistentRead=True,
        ):
            results.update(item["object_key"]["S"] for item in page["Items"])
        where: dict[str, str] = {}
        for event in dlq:
            key = s3_key(event)
            if key and key.startswith(prefix):
                where[key] = IN_DLQ
        for item in failure_items(dynamodb, self.outputs["failures_table_name"], "ingest", f"{bucket}/{prefix}"):
            key = key_of_item_id(item["item_id"]["S"], bucket)
            where[key] = FAILED
            results[key] += 0
        made: Counter[str] = Counter()
        for key, n in results.items():
            if n:
                # A key both processed and failure-recorded ended twice: that is a duplicate too.
                made[key] = n + (1 if where.get(key) == FAILED else 0)
                where[key] = PROCESSED
        return [tally(b.phase, b.items, where, made) for b in batches]


class RoutingDriver(Driver):
    """Pipeline 2's router: records as "Record Submitted" events and in records files -> a typed processor's result
    (routing results table) or a "Record Unroutable" event with a reason (the unroutable queue)."""

    name = "routing"

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.unroutable: dict[str, set[str]] = defaultdict(set)  # item -> event ids of its unroutable events
        self.line_items: dict[tuple[str, int], str] = {}  # (file key, line) -> item
        self.foreign_ids: dict[str, str] = {}  # record ids of fuzzed lines that do not carry the run id -> item

    def functions(self) -> list[str]:
        names = self.outputs["function_names"]
        return [self.outputs["routing_router_function_name"], *(v for k, v in names.items() if k.startswith("record_processor"))]

    def queues(self) -> list[str]:
        return [self.outputs["routing_router_queue_url"], *(r["queue_url"] for r in self.outputs["routing_routes"].values())]

    def template(self) -> dict[str, Any]:
        return {"record_id": f"{self.run_id}-fuzz", "data_type": "text", "payload": {"text": "fuzz", "language": "en"}}

    huge_bytes = 300_000

    def send(self, phase: str, count: int, fuzz: list[tuple[str, bytes]] | None = None) -> Batch:
        s3, bucket = self.clients("s3"), self.outputs["landing_bucket_name"]
        prefix = f"records/chaos-{self.run_id}-{phase}/"
        if fuzz is None:
            run = routing.RecordRun.new(count, 0.2, seed=len(phase), run_id=f"{self.run_id}{phase}")
            by_event = [s for s in run.samples if not s.file_only]
            by_file = [s for s in run.samples if s.file_only]
            routing.submit_events(self.clients("events"), self.outputs["domain_bus_name"], by_event)
            items = [str(s.record_id) for s in by_event]
            if by_file:
                key = f"{prefix}part-00000.jsonl"
                for line, sample in enumerate(by_file, start=1):
                    item = f"{key}:L{line}"
                    self.line_items[(key, line)] = item
                    if sample.record_id:
                        self.line_items[(sample.record_id, 0)] = item
                    items.append(item)
                s3.put_object(Bucket=bucket, Key=key, Body=("\n".join(s.line for s in by_file) + "\n").encode())
            return Batch(phase, items, {"prefix": prefix})
        # Fuzz: one bad line per file, so each body is read as exactly one record (blank bodies would be skipped
        # as blank lines: they are sent with a line of their own prefixed by nothing, so we send "" as '""').
        items = []
        for i, (kind, body) in enumerate(fuzz):
            key = f"{prefix}fuzz-{i:04d}-{kind}.jsonl"
            record_id = f"{self.run_id}-fuzz{phase}{i:04d}"
            body = body.replace(f"{self.run_id}-fuzz".encode(), record_id.encode())
            line = body.replace(b"\n", b" ").replace(b"\r", b" ")
            if not line.strip():
                line = b'""'
            s3.put_object(Bucket=bucket, Key=key, Body=line + b"\n")
            item = f"{key}:L1"
            self.line_items[(key, 1)] = item
            self.line_items[(record_id, 0)] = item
            named = self._record_id(line)
            if named is not None and named != record_id:
                # Hypothesis replaced the id with one of its own: the same one in every run (it is
                # derandomized), so it may have been processed by an earlier run on this cloud already.
                self.line_items[(named, 0)] = item
                self.foreign_ids[named] = item
            items.append(item)
        return Batch(phase, items, {"prefix": prefix})

    @staticmethod
    def _record_id(line: bytes) -> str | None:
        """The record_id a line names, read as the router reads it (UTF-8 JSON), if it has one."""
        try:
            record = json.loads(line.decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError):
            return None
        record_id = record.get("record_id") if isinstance(record, dict) else None
        # The router's rule for a usable id (record_router.logic.RECORD_ID): else it routes a fallback id.
        return record_id if isinstance(record_id, str) and re.fullmatch(r"[^\s]{1,256}", record_id) else None

    def _read_unroutable(self) -> None:
        """Drain this run's "Record Unroutable" events from the unroutable queue (the pipeline's client side)."""
        sqs = self.clients("sqs")
        url = self.outputs["routing_unroutable_queue_url"]
        while True:
            messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages", [])
            if not messages:
                return
            for message in messages:
                try:
                    event = json.loads(message["Body"])
                    detail = event["detail"]
                except (ValueError, KeyError, TypeError):
                    detail, event = {}, {}
                item = self._item_of(detail)
                if item is not None:
                    self.unroutable[item].add(event.get("id", message["MessageId"]))
                    sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
                else:  # another run's: leave it
                    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0)

    def _item_of(self, detail: dict[str, Any]) -> str | None:
        origin = detail.get("origin") or {}
        if origin.get("kind") == "file":
            item = self.line_items.get((str(origin.get("key")), int(origin.get("line") or 0)))
            if item:
                return item
        record_id = str(detail.get("record_id", ""))
        if (record_id, 0) in self.line_items:
            return self.line_items[(record_id, 0)]
        if record_id.startswith(self.run_id):
            return record_id
        return None

    def count(self, batches: list[Batch], dlq: list[dict[str, Any]]) -> list[Tally]:
        self._read_unroutable()
        where: dict[str, str] = {}
        made: Counter[str] = Counter()
        file_items: dict[str, list[str]] = defaultdict(list)
        for (key, line), item in self.line_items.items():
            if line:
                file_items[key].append(item)
        for event in dlq:
            detail = event.get("detail") if isinstance(event, dict) else None
            key = s3_key(event) if isinstance(event, dict) else None
            if key and key in file_items:
                for item in file_items[key]:
                    where[item] = IN_DLQ
            elif isinstance(detail, dict):
                item = self._item_of(detail)
                if item:
                    where[item] = IN_DLQ
        for item, ids in self.unroutable.items():
            where[item] = FAILED
            made[item] += len(ids)
        rows = []
        for page in self.clients("dynamodb").get_paginator("scan").paginate(
            TableName=self.outputs["routing_results_table_name"],
            # By id, or by the file it came in: a fuzzed line may carry a valid record under a foreign id.
            FilterExpression="begins_with(record_id, :run) OR contains(origin, :files)",
            ExpressionAttributeValues={":run": {"S": self.run_id}, ":files": {"S": f"records/chaos-{self.run_id}-"}},
            ConsistentRead=True,
        ):
            rows.extend(page["Items"])
        for row in rows:
            try:
                origin = json.loads(row.get("origin", {}).get("S", "{}"))
            except ValueError:
                origin = {}
            item = self._item_of({"record_id": row["record_id"]["S"], "origin": origin}) or row["record_id"]["S"]
            made[item] += 1
            where[item] = PROCESSED
        # A record whose id was processed before this run (an earlier run sent the same fuzzed id): the processor
        # found its result and wrote nothing (exactly once per record_id), so the result is the earlier row,
        # which names the earlier file. Processed, not lost; not a duplicate either (no second result).
        seen = {row["record_id"]["S"] for row in rows}
        earlier = [record_id for record_id, item in self.foreign_ids.items() if record_id not in seen and where.get(item) is None]
        for record_id in self._existing(earlier):
            item = self.foreign_ids[record_id]
            made[item] += 1
            where[item] = PROCESSED
        return [tally(b.phase, b.items, where, made) for b in batches]

    def _existing(self, record_ids: list[str]) -> set[str]:
        """Which of `record_ids` have a result row (BatchGetItem by key)."""
        table = self.outputs["routing_results_table_name"]
        found: set[str] = set()
        for start in range(0, len(record_ids), 100):
            pending: dict[str, Any] = {table: {"Keys": [{"record_id": {"S": r}} for r in record_ids[start : start + 100]], "ConsistentRead": True, "ProjectionExpression": "record_id"}}
            while pending:
                response = self.clients("dynamodb").batch_get_item(RequestItems=pending)
                found.update(row["record_id"]["S"] for row in response["Responses"].get(table, []))
                pending = response.get("UnprocessedKeys") or {}
        return found


class FanoutDriver(Driver):
    """Pipeline 2's S3 fan-out: uploads -> three consumers -> one "Upload Processed" completion per upload."""

    name = "fanout"

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.completions: dict[str, set[str]] = defaultdict(set)  # key -> completion event ids

    def functions(self) -> list[str]:
        return [c["function_name"] for c in self.outputs["fanout_consumers"].values()]

    def queues(self) -> list[str]:
        return [c["queue_url"] for c in self.outputs["fanout_consumers"].values()]

    def template(self) -> dict[str, Any]:
        return {"upload": 1, "tags": ["a", "b"], "note": "fuzz"}

    huge_bytes = 200_000

    def send(self, phase: str, count: int, fuzz: list[tuple[str, bytes]] | None = None) -> Batch:
        prefix = f"uploads/chaos-{self.run_id}-{phase}/"
        if fuzz is None:
            run = routing.UploadRun.new(count, run_id="x")
            uploads = [routing.Upload(prefix + u.key.rsplit("/", 1)[1], u.body, u.kind) for u in run.uploads]
        else:
            uploads = [routing.Upload(f"{prefix}fuzz-{i:04d}-{kind}.bin", body, kind) for i, (kind, body) in enumerate(fuzz)]
        routing.upload_objects(self.clients("s3"), self.outputs["landing_bucket_name"], uploads)
        # Empty objects (folder markers) never enter the fan-out: its rule matches size > 0 only, by design.
        return Batch(phase, [u.key for u in uploads if u.body], {"prefix": prefix, "filtered_empty": sum(1 for u in uploads if not u.body)})

    def _read_completions(self) -> None:
        sqs = self.clients("sqs")
        url = self.outputs["completions_queue_url"]
        mine = f"uploads/chaos-{self.run_id}-"
        while True:
            messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages", [])
            if not messages:
                return
            for message in messages:
                try:
                    event = json.loads(message["Body"])
                    key = str(event.get("detail", {}).get("key", ""))
                except (ValueError, AttributeError):
                    event, key = {}, ""
                if key.startswith(mine):
                    self.completions[key].add(event.get("id", message["MessageId"]))
                    sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
                else:
                    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0)

    def count(self, batches: list[Batch], dlq: list[dict[str, Any]]) -> list[Tally]:
        self._read_completions()
        dynamodb = self.clients("dynamodb")
        bucket = self.outputs["landing_bucket_name"]
        prefix = f"uploads/chaos-{self.run_id}-"
        where: dict[str, str] = {}
        for event in dlq:
            key = s3_key(event) if isinstance(event, dict) else None
            if key and key.startswith(prefix):
                where[key] = IN_DLQ
        for consumer in self.outputs["fanout_consumers"]:
            for item in failure_items(dynamodb, self.outputs["failures_table_name"], f"fanout-{consumer}", f"{bucket}/{prefix}"):
                where[key_of_item_id(item["item_id"]["S"], bucket)] = FAILED
        made: Counter[str] = Counter()
        for key, ids in self.completions.items():
            made[key] = len(ids)
            if where.get(key) != FAILED:
                where[key] = PROCESSED
        return [tally(b.phase, b.items, where, made) for b in batches]


class InferenceDriver(Driver):
    """Pipeline 3: images through the HTTP API -> the worker -> a job that ended (succeeded, or failed with a
    reason: the failure record) and one PredictionCompleted event. A request the API refuses (4xx) is a failure
    record too: the caller holds the reason."""

    name = "inference"
    TAP = "chaos-tap"

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.refused: set[str] = set()
        self.events: dict[str, set[tuple[str, str]]] = defaultdict(set)  # job id -> (status, event id) announced
        self._tap_url: str | None = None
        self._images: list[bytes] | None = None

    def functions(self) -> list[str]:
        return [self.outputs["inference_worker_function_name"]]

    def sync_functions(self) -> list[str]:
        return [self.outputs["inference_api_function_name"]]

    def queues(self) -> list[str]:
        return [self.outputs["inference_queue_url"]]

    def template(self) -> dict[str, Any]:
        return {"content_type": "image/png", "content_length": 1000}

    huge_bytes = 1_200_000

    def prepare(self) -> None:
        """A model to serve (trained and promoted when the bucket has none) and a tap on PredictionCompleted."""
        from . import inference as api
        from . import model as digits

        api.use_api_key(self.outputs)  # the environment's development key, unless $SLUICE_API_KEY is set
        s3 = self.clients("s3")
        bucket = self.outputs["inference_model_bucket_name"]
        try:
            s3.head_object(Bucket=bucket, Key=f"models/{self.outputs.get('inference_model_name', 'digits')}/current.json")
        except Exception:
            digits.publish(s3, bucket, digits.train(("svc",)))
        sqs, events = self.clients("sqs"), self.clients("events")
        name = f"{self.outputs['prefix']}-{self.TAP}"
        self._tap_url = sqs.create_queue(QueueName=name)["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=self._tap_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        bus = self.outputs["domain_bus_name"]
        events.put_rule(Name=name, EventBusName=bus, EventPattern=json.dumps({"source": ["sluice.inference"], "detail-type": ["PredictionCompleted"]}))
        events.put_targets(Rule=name, EventBusName=bus, Targets=[{"Id": "tap", "Arn": arn}])
        _, X_test, _, _ = digits.load_split()
        self._images = [digits.render_digit(X_test[i], 28, ("PNG", "JPEG")[i % 2]) for i in range(50)]

    def send(self, phase: str, count: int, fuzz: list[tuple[str, bytes]] | None = None) -> Batch:
        from concurrent.futures import ThreadPoolExecutor

        from . import inference as api

        if self._images is None:
            self.prepare()
        assert self._images is not None
        url = self.outputs["inference_api_url"]
        if fuzz is None:
            requests = [(self._images[i % len(self._images)], ("image/png", "image/jpeg")[i % 2 % 2]) for i in range(count)]
        else:
            types = ("image/png", "application/json", "image/jpeg", "application/octet-stream", "text/plain")
            requests = [(body, types[i % len(types)]) for i, (_, body) in enumerate(fuzz)]

        def submit(request: tuple[bytes, str]) -> str:
            body, content_type = request
            reply = None
            for attempt in range(6):  # a throttled or failing API answers 5xx/429: a client retries those
                reply = api.submit(url, body, content_type)
                if reply.status < 500 and reply.status != 429:
                    break
                time.sleep(0.2 * 2**attempt)
            assert reply is not None
            if reply.status == 202 and isinstance(reply.body.get("upload"), dict):
                # A (fuzzed) JSON body that asked for an upload URL: a client uploads next, so do we, with the
                # same bytes. Without the upload the job waits for it until it expires, as designed.
                upload = reply.body["upload"]
                put = api.http(upload["method"], upload["url"], body, upload.get("headers") or {})
                if put.status >= 300:
                    refused = f"refused-{uuid.uuid4().hex[:12]}-upload-{put.status}"
                    self.refused.add(refused)
                    return refused
            if reply.status == 202:
                return str(reply.body["job_id"])
            refused = f"refused-{uuid.uuid4().hex[:12]}-{reply.status}"
            if reply.status < 500:
                self.refused.add(refused)
            return refused

        with ThreadPoolExecutor(8) as pool:
            items = list(pool.map(submit, requests))
        return Batch(phase, items)

    def _read_tap(self) -> None:
        if self._tap_url is None:
            return
        sqs = self.clients("sqs")
        while True:
            messages = sqs.receive_message(QueueUrl=self._tap_url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages", [])
            if not messages:
                return
            for message in messages:
                try:
                    event = json.loads(message["Body"])
                    self.events[str(event["detail"]["job_id"])].add((str(event["detail"].get("status")), str(event["id"])))
                except (ValueError, KeyError, TypeError):
                    pass
                sqs.delete_message(QueueUrl=self._tap_url, ReceiptHandle=message["ReceiptHandle"])

    def count(self, batches: list[Batch], dlq: list[dict[str, Any]]) -> list[Tally]:
        self._read_tap()
        dynamodb = self.clients("dynamodb")
        table = self.outputs["inference_jobs_table_name"]
        where: dict[str, str] = {item: FAILED for item in self.refused}
        for event in dlq:
            key = s3_key(event) if isinstance(event, dict) else None
            if key and key.startswith("inputs/"):
                where[key.removeprefix("inputs/")] = IN_DLQ
        jobs = [item for b in batches for item in b.items if item not in self.refused and not item.startswith("refused-")]
        for start in range(0, len(jobs), 100):
            keys = [{"job_id": {"S": job}} for job in jobs[start : start + 100]]
            pending = {table: {"Keys": keys, "ConsistentRead": True, "ProjectionExpression": "job_id, #s, error_code", "ExpressionAttributeNames": {"#s": "status"}}}
            while pending:
                response = dynamodb.batch_get_item(RequestItems=pending)
                for item in response["Responses"].get(table, []):
                    status = item.get("status", {}).get("S")
                    job = item["job_id"]["S"]
                    if status == "succeeded":
                        where[job] = PROCESSED
                    elif status == "failed" and where.get(job) != IN_DLQ:
                        where[job] = FAILED
                pending = response.get("UnprocessedKeys") or {}
        # An ended job must have said so exactly once per outcome (a job that failed after its retries and then
        # succeeded from a redrive announces both: that is not a duplicate, the same outcome twice is).
        made: Counter[str] = Counter({job: max(Counter(status for status, _ in seen).values()) for job, seen in self.events.items()})
        for job, place in list(where.items()):
            if place in (PROCESSED, FAILED) and job not in self.refused and not self.events.get(job):
                where.pop(job)  # ended in the table but never announced: not done yet (or lost)
        return [tally(b.phase, b.items, where, made) for b in batches]


class DocumentsDriver(Driver):
    """Pipeline 4: documents uploaded under documents/ -> one Step Functions execution each (named from the key and
    ETag, so a duplicate start is refused by name) -> a results row, or a failure record with the reason."""

    name = "documents"
    # Step Functions calls the steps and retries them itself (3 attempts, backoff); what still fails is caught and
    # recorded (the failures table) or, if recording fails too, the execution fails with its error and cause. No
    # DLQ and no redrive of a document (its execution name is taken for good), so no outage phase either: its
    # steps get the faults of phases 2-4 only.
    dead_letters = False

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        from . import documents

        self.runs: dict[str, documents.Run] = {}

    def functions(self) -> list[str]:
        return list(self.outputs["documents_function_names"].values())

    def queues(self) -> list[str]:
        return []  # EventBridge starts the workflow: no queue in the path

    def template(self) -> dict[str, Any]:
        return {"title": "fuzz", "text": "The launch was a wonderful success and customers are delighted."}

    huge_bytes = 300_000

    def send(self, phase: str, count: int, fuzz: list[tuple[str, bytes]] | None = None) -> Batch:
        from . import documents

        run = documents.Run.new(self.outputs["documents_prefix"], run_id=f"chaos-{self.run_id}-{phase}")
        if fuzz is None:
            docs = documents.generate(count, run.prefix, seed=len(phase), bad=phase == "baseline")
        else:
            docs = [documents.Document(f"{run.prefix}fuzz-{i:04d}-{kind}.txt", body, "text", "?") for i, (kind, body) in enumerate(fuzz)]
        documents.upload(self.clients, self.outputs["landing_bucket_name"], run, docs)
        self.runs[phase] = run
        return Batch(phase, [d.key for d in docs], {"prefix": run.prefix})

    def count(self, batches: list[Batch], dlq: list[dict[str, Any]]) -> list[Tally]:
        from . import documents

        where: dict[str, str] = {}
        for event in dlq:
            key = s3_key(event) if isinstance(event, dict) else None
            if key and key.startswith(self.outputs["documents_prefix"]):
                where[key] = IN_DLQ
        for batch in batches:
            run = self.runs[batch.phase]
            documents.poll(self.clients, self.outputs["documents_state_machine_arn"], run)
            for row in documents.outcomes(self.clients, run, self.outputs["documents_results_table_name"], self.outputs["failures_table_name"]):
                if row.sentiment is not None:
                    where[row.key] = PROCESSED
                elif row.error_code is not None:
                    where[row.key] = FAILED
                elif row.status in ("FAILED", "TIMED_OUT", "ABORTED"):
                    # The workflow could not record the failure either (RecordFailure's own retries used up under
                    # the faults, or an error no Catch takes: States.DataLimitExceeded, States.Runtime): the
                    # execution is the failure record, with its error and cause (Step Functions keeps it).
                    where[row.key] = FAILED
        return [tally(b.phase, b.items, where, Counter()) for b in batches]


class StreamDriver(Driver):
    """Pipeline 5: transactions put to the Kinesis stream -> the fraud scorer (event source mapping: bisect, retries,
    on-failure destination) -> the user's state in the feature store. Each transaction has a user of its own, so
    the feature store says per transaction whether it was scored, and how often (``txn_count``: a record applied
    twice counts 2). A batch the mapping gave up on is an on-failure record (shard and sequence range only): its
    transactions are ``in DLQ`` until the redrive (``sluicectl.kinesis_redrive``) re-reads the range from the
    stream and reprocesses it; what still fails then gets a failure record (``failure record``)."""

    name = "stream"
    PIPELINE = "stream"

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.positions: dict[tuple[str, str], str] = {}  # (shard, sequence) -> item
        self.keys: dict[str, tuple[str, str] | None] = {}  # item -> (user, transaction) its body names, if any
        self.before: dict[str, int] = {}  # users not made by this run -> transactions applied before it sent any

    def functions(self) -> list[str]:
        return [self.outputs["fraud_scorer_function_name"]]

    def queues(self) -> list[str]:
        return []  # the stream is polled: no queue in the path

    def template(self) -> dict[str, Any]:
        marker = f"{self.run_id}-fuzz"
        return {
            "transaction_id": marker,
            "user_id": marker,
            "amount": 42.5,
            "currency": "USD",
            "location": {"lat": 40.7, "lon": -74.0},
            "time": "2026-01-01T12:00:00.000Z",
            "merchant": {"id": "m-fuzz", "category": "grocery"},
        }

    huge_bytes = 200_000

    def send(self, phase: str, count: int, fuzz: list[tuple[str, bytes]] | None = None) -> Batch:
        from . import stream

        prefix = f"{self.run_id}-{phase}"
        records: list[tuple[str, bytes, str]] = []  # (item, data, partition key)
        if fuzz is None:
            poison = count // 10  # as producers send them: a tenth malformed
            run = stream.generate(count - poison, users=max(1, count), seed=len(phase), run_id=prefix, poison=list(range(5, 10 * poison, 10))[:poison])
            for i, sample in enumerate(run.samples):
                item = f"{prefix}-{i:05d}"
                if sample.record is None:
                    records.append((item, sample.raw, item))
                    self.keys[item] = None
                    continue
                record = {**sample.record, "transaction_id": item, "user_id": f"u-{item}"}
                records.append((item, json.dumps(record, separators=(",", ":")).encode(), f"u-{item}"))
                self.keys[item] = (f"u-{item}", item)
        else:
            for i, (_, body) in enumerate(fuzz):
                item = f"{prefix}-{i:05d}"
                data = body.replace(f"{self.run_id}-fuzz".encode(), item.encode()) or b" "  # Kinesis takes no empty record
                records.append((item, data, item))
                self.keys[item] = self._names(data)
            # A user the fuzzing named rather than this run (hypothesis's strings are the same in every run, and
            # a UTF-16 body keeps the template's): its state may hold earlier runs' transactions already.
            foreign = [names[0] for item, _, _ in records if (names := self.keys.get(item)) and item not in names[0] and names[0] not in self.before]
            self.before.update(self._scored(self.clients("dynamodb"), foreign))
            self.before.update({user: self.before.get(user, 0) for user in foreign})
        kinesis = self.clients("kinesis")
        stream_name = self.outputs["stream_name"]
        for start in range(0, len(records), 100):
            pending = records[start : start + 100]
            for _ in range(20):
                response = kinesis.put_records(StreamName=stream_name, Records=[{"Data": d, "PartitionKey": k} for _, d, k in pending])
                retry = []
                for (item, data, key), result in zip(pending, response["Records"], strict=True):
                    if result.get("ErrorCode"):
                        retry.append((item, data, key))
                    else:
                        self.positions[(result["ShardId"], result["SequenceNumber"])] = item
                if not retry:
                    break
                pending = retry
                time.sleep(0.2)
        return Batch(phase, [item for item, _, _ in records])

    @staticmethod
    def _names(data: bytes) -> tuple[str, str] | None:
        """The user and transaction a body names, read as the scorer reads it (JSON from bytes)."""
        try:
            body = json.loads(data)
        except (ValueError, RecursionError):
            return None
        if not isinstance(body, dict):
            return None
        user, txn = body.get("user_id"), body.get("transaction_id")
        if isinstance(user, str) and isinstance(txn, str) and 0 < len(user.encode("utf-8", "surrogatepass")) <= 1024:
            return user, txn
        return None

    def count(self, batches: list[Batch], dlq: list[dict[str, Any]]) -> list[Tally]:
        from . import kinesis_redrive

        dynamodb = self.clients("dynamodb")
        where: dict[str, str] = {}
        # On-failure records are in their queue or, once received maxReceiveCount times (by peeks like this one:
        # SQS has no way to look without receiving), in that queue's DLQ, which the SQS redrive moves back.
        messages = [*peek(self.clients("sqs"), self.outputs["fraud_scorer_failures_queue_url"]), *(e for e in dlq if isinstance(e, dict))]
        ranges = [r for r in (kinesis_redrive.parse_range(m) for m in messages) if r]
        in_range = {item for (shard, sequence), item in self.positions.items() if any(r.covers(shard, sequence) for r in ranges)}
        for row in failure_items(dynamodb, self.outputs["failures_table_name"], self.PIPELINE, f"{self.outputs['stream_name']}/"):
            _, shard, sequence = row["item_id"]["S"].rsplit("/", 2)
            item = self.positions.get((shard, sequence))
            if item:
                where[item] = FAILED
        sent = [item for b in batches for item in b.items]
        by_user: dict[str, list[str]] = defaultdict(list)
        for item in sent:
            names = self.keys.get(item)
            if names and where.get(item) != FAILED:
                by_user[names[0]].append(item)
        counts = self._scored(dynamodb, list(by_user))
        made: Counter[str] = Counter()
        for user, items in by_user.items():
            scored = counts.get(user, 0) - self.before.get(user, 0)
            if scored <= 0:
                continue
            # One user per transaction, but a fuzzed body may name another's user: the first `scored` of the
            # user's transactions not given up on are the ones applied; more applications than transactions
            # are duplicates.
            ordered = sorted(items, key=lambda i: i in in_range)
            for item in ordered[:scored]:
                where[item] = PROCESSED
                made[item] = 1
            made[ordered[0]] += max(0, scored - len(items))
        for item in in_range:
            where.setdefault(item, IN_DLQ)
        return [tally(b.phase, b.items, where, made) for b in batches]

    def _scored(self, dynamodb: Any, users: list[str]) -> dict[str, int]:
        """user -> transactions applied to its state (the feature store's ``txn_count``)."""
        table = self.outputs["fraud_features_table_name"]
        users = list(dict.fromkeys(users))  # BatchGetItem refuses a key twice
        out: dict[str, int] = {}
        for start in range(0, len(users), 100):
            pending: dict[str, Any] = {table: {"Keys": [{"user_id": {"S": u}} for u in users[start : start + 100]], "ConsistentRead": True, "ProjectionExpression": "user_id, txn_count"}}
            while pending:
                response = dynamodb.batch_get_item(RequestItems=pending)
                for row in response["Responses"].get(table, []):
                    out[row["user_id"]["S"]] = int(row.get("txn_count", {}).get("N", "0"))
                pending = response.get("UnprocessedKeys") or {}
        return out

    def redrive(self) -> int:
        """The on-failure records back through the scorer (see sluicectl.kinesis_redrive)."""
        from . import kinesis_redrive

        result = kinesis_redrive.redrive(
            self.clients, self.outputs["fraud_scorer_failures_queue_url"], failures_table=self.outputs["failures_table_name"], pipeline=self.PIPELINE
        )
        return result.ranges


class FeedbackDriver(Driver):
    """Pipeline 5, the feedback loop's intake: labels through ``POST /feedback`` (the inference HTTP API) -> the
    feedback function -> a label item (one per job) in the feedback table, counted in ``labels_total``.

    Inputs are submissions: a new label for a job that exists (jobs are written straight to the jobs table with
    their input image, as the worker leaves a succeeded job: the label path is under test, not the classifier),
    the same label again (a client's retry: processed, counted once), another label for a labelled job (409),
    an unknown job id (404) and the fuzzed bodies (400). A submission ends ``processed`` when the API answered 2xx
    and the job's label item holds its label; a ``failure record`` when the API answered 4xx (the client holds the
    reason: an HTTP API's refusal is the caller's failure record); 5xx/429 answers are retried like a client
    would, bounded. ``duplicates`` = labels counted more than once: ``labels_total`` moved by more than the label
    items this run created. Retraining stays out of the burst: the driver holds the store's retraining-request
    mark for the run (an outstanding request suppresses another, see sluice.feedback), so no threshold crossing
    starts a training; ``finish`` removes this run's labels, jobs and images, gives the counts back and drops
    the mark, leaving the store as it found it. No DLQ applies to labels (the retraining DLQ holds requests)."""

    name = "feedback"
    dead_letters = False
    huge_bytes = 1_100_000
    ATTEMPTS = 8
    WORKERS = 8  # concurrent clients

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.replies: dict[str, tuple[int, str]] = {}  # submission -> (final status, error code or status)
        self.wanted: dict[str, tuple[str, int] | None] = {}  # submission -> (job id, label) it names, if any
        self.jobs: list[str] = []  # jobs this run created
        self.mark = f"chaos-{self.run_id}"
        self.before_total: int | None = None
        self._template_job: str | None = None

    def functions(self) -> list[str]:
        # Every fault, timeouts included: the API is idempotent per job (a retry after a timeout answers 200).
        return [self.outputs["feedback_api_function_name"]]

    def queues(self) -> list[str]:
        return []

    # ---------------------------------------------------------------- set-up and clean-up

    def prepare(self) -> None:
        from . import inference as api

        api.use_api_key(self.outputs)
        dynamodb = self.clients("dynamodb")
        # Hold the retraining-request mark (no threshold crossing requests a training while we run); a request
        # outstanding already suppresses ours the same way.
        self._mark(dynamodb, hold=True)
        self.before_total = self._labels_total(dynamodb)

    def _labels_total(self, dynamodb: Any) -> int:
        item = dynamodb.get_item(TableName=self.outputs["feedback_table_name"], Key={"job_id": {"S": "#state"}}, ConsistentRead=True).get("Item") or {}
        return int(float(item.get("labels_total", {}).get("N", "0")))

    def new_job(self) -> str:
        """A succeeded prediction job with its input image, as the worker leaves one."""
        job_id = uuid.uuid4().hex
        label = len(self.jobs) % 10
        self.clients("s3").put_object(Bucket=self.outputs["inference_inputs_bucket_name"], Key=f"inputs/{job_id}", Body=b"\x89PNG chaos " + job_id.encode())
        self.clients("dynamodb").put_item(
            TableName=self.outputs["inference_jobs_table_name"],
            Item={
                "job_id": {"S": job_id},
                "status": {"S": "succeeded"},
                "label": {"N": str(label)},
                "model_version": {"S": self.mark},
                "expires_at": {"N": str(int(time.time()) + 6 * 3600)},
            },
        )
        self.jobs.append(job_id)
        return job_id

    def finish(self) -> None:
        """Remove this run's labels (giving back what they counted), images and jobs; drop the request mark."""
        dynamodb, s3 = self.clients("dynamodb"), self.clients("s3")
        table = self.outputs["feedback_table_name"]
        labelled = list(self._labels(dynamodb, self.jobs))
        for job in self.jobs:
            dynamodb.delete_item(TableName=table, Key={"job_id": {"S": job}})
            dynamodb.delete_item(TableName=self.outputs["inference_jobs_table_name"], Key={"job_id": {"S": job}})
            s3.delete_object(Bucket=self.outputs["inference_inputs_bucket_name"], Key=f"inputs/{job}")
            s3.delete_object(Bucket=self.outputs["feedback_bucket_name"], Key=f"feedback/{self.outputs.get('inference_model_name', 'digits')}/images/{job}")
        if labelled:
            values = {":n": {"N": str(-len(labelled))}, ":k": {"N": str(len(labelled))}}
            try:  # a retraining run that claimed them meanwhile consumed them from `pending` already
                dynamodb.update_item(TableName=table, Key={"job_id": {"S": "#state"}}, UpdateExpression="ADD pending :n, labels_total :n", ConditionExpression="pending >= :k", ExpressionAttributeValues=values)
            except dynamodb.exceptions.ConditionalCheckFailedException:
                dynamodb.update_item(TableName=table, Key={"job_id": {"S": "#state"}}, UpdateExpression="ADD labels_total :n", ExpressionAttributeValues={":n": values[":n"]})
        self._mark(dynamodb, hold=False)

    def _mark(self, dynamodb: Any, *, hold: bool) -> None:
        """Take the store's retraining-request mark for this run (unless a request holds it already) or drop it
        (only if it is still ours: a request made after a drop is not ours to remove)."""
        if hold:
            update = {
                "UpdateExpression": "SET requested_at = :now, request_id = :id",
                "ConditionExpression": "attribute_not_exists(requested_at)",
                "ExpressionAttributeValues": {":now": {"S": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())}, ":id": {"S": self.mark}},
            }
        else:
            update = {
                "UpdateExpression": "REMOVE requested_at, request_id",
                "ConditionExpression": "request_id = :id",
                "ExpressionAttributeValues": {":id": {"S": self.mark}},
            }
        with contextlib.suppress(dynamodb.exceptions.ConditionalCheckFailedException):
            dynamodb.update_item(TableName=self.outputs["feedback_table_name"], Key={"job_id": {"S": "#state"}}, **update)

    # ---------------------------------------------------------------- sending

    def template(self) -> dict[str, Any]:
        if self._template_job is None:
            self._template_job = self.new_job()
        return {"job_id": self._template_job, "label": 3}

    @staticmethod
    def _named(body: bytes) -> tuple[str, int] | None:
        """The (job id, label) a body names, read as the API reads it, or None."""
        try:
            doc = json.loads(body.decode("utf-8"))
        except (ValueError, RecursionError):
            return None
        if not isinstance(doc, dict):
            return None
        job, label = doc.get("job_id"), doc.get("label")
        if isinstance(job, str) and isinstance(label, int) and not isinstance(label, bool):
            return job, label
        return None

    def post(self, item: str, body: bytes) -> None:
        """POST the body, retrying 5xx/429 and connection failures like a client (bounded); record the answer."""
        from . import inference as api

        url = self.outputs["feedback_url"]
        headers = {"Content-Type": "application/json", **api.auth_headers()}
        status, reason = 0, "no answer"
        for attempt in range(self.ATTEMPTS):
            try:
                reply = api.http("POST", url, body, headers)
            except OSError as exc:  # connection refused/reset, read timeout: as a 5xx
                status, reason = 0, type(exc).__name__
            else:
                error = reply.body.get("error")
                status = reply.status
                reason = str(error.get("code") if isinstance(error, dict) else reply.body.get("status") or reply.body.get("message") or status)
                if status < 500 and status != 429:
                    break
            time.sleep(min(0.2 * 2**attempt, 5.0))
        self.replies[item] = (status, reason)

    def send(self, phase: str, count: int, fuzz: list[tuple[str, bytes]] | None = None) -> Batch:
        from concurrent.futures import ThreadPoolExecutor

        prefix = f"{self.run_id}-{phase}"
        first: list[tuple[str, bytes]] = []  # new labels (and fuzz): sent at once
        then: list[tuple[str, bytes]] = []  # repeats and conflicts of the first ones: sent after them
        if fuzz is not None:
            first = [(f"{prefix}-{i:05d}-{kind}", body) for i, (kind, body) in enumerate(fuzz)]
        else:
            fresh: list[tuple[str, int]] = []
            for i in range(count):
                item = f"{prefix}-{i:05d}"
                if i % 6 == 3:  # a job id that names no job: 404
                    first.append((item, json.dumps({"job_id": uuid.uuid4().hex, "label": 1}).encode()))
                elif i % 6 in (4, 5) and fresh:
                    job, label = fresh[(i // 6) % len(fresh)]
                    label = label if i % 6 == 4 else (label + 1) % 10  # 4: the same label again (200); 5: another (409)
                    then.append((item, json.dumps({"job_id": job, "label": label}).encode()))
                else:
                    job, label = self.new_job(), i % 10
                    fresh.append((job, label))
                    first.append((item, json.dumps({"job_id": job, "label": label}).encode()))
        for item, body in (*first, *then):
            self.wanted[item] = self._named(body)
        with ThreadPoolExecutor(max_workers=self.WORKERS) as pool:
            list(pool.map(lambda pair: self.post(*pair), first))
        for item, body in then:
            self.post(item, body)
        return Batch(phase, [item for item, _ in (*first, *then)])

    # ---------------------------------------------------------------- counting

    def _labels(self, dynamodb: Any, jobs: list[str]) -> dict[str, int]:
        """job id -> the label stored for it (jobs without a label item are absent)."""
        table = self.outputs["feedback_table_name"]
        jobs = list(dict.fromkeys(j for j in jobs if re.fullmatch(r"[0-9a-f]{32}", j)))
        out: dict[str, int] = {}
        for start in range(0, len(jobs), 100):
            pending: dict[str, Any] = {table: {"Keys": [{"job_id": {"S": j}} for j in jobs[start : start + 100]], "ConsistentRead": True}}
            while pending:
                response = dynamodb.batch_get_item(RequestItems=pending)
                for row in response["Responses"].get(table, []):
                    out[row["job_id"]["S"]] = int(float(row["label"]["N"]))
                pending = response.get("UnprocessedKeys") or {}
        return out

    def count(self, batches: list[Batch], dlq: list[dict[str, Any]]) -> list[Tally]:
        dynamodb = self.clients("dynamodb")
        items = [item for b in batches for item in b.items]
        stored = self._labels(dynamodb, [*self.jobs, *(w[0] for item in items if (w := self.wanted.get(item)))])
        where, made = self.where(items, stored)
        if self.before_total is not None and made:
            # Labels counted by this run beyond the label items it created: counted twice (on one of ours).
            extra = self._labels_total(dynamodb) - self.before_total - sum(1 for job in self.jobs if job in stored)
            made[next(iter(made))] += max(0, extra)
        return [tally(b.phase, b.items, where, made) for b in batches]

    def where(self, items: list[str], stored: dict[str, int]) -> tuple[dict[str, str], Counter[str]]:
        """Where each submission ended, from the API's answers and the stored labels (pure: unit-tested)."""
        where: dict[str, str] = {}
        made: Counter[str] = Counter()
        for item in items:
            status, _ = self.replies.get(item, (0, ""))
            wanted = self.wanted.get(item)
            if 400 <= status < 500 and status != 429:
                where[item] = FAILED
            elif wanted and stored.get(wanted[0]) == wanted[1] and (200 <= status < 300 or status == 0 or status >= 500):
                # 2xx, or no 2xx answer but the label is stored (the function stored it, then timed out)
                where[item] = PROCESSED
                made[item] = 1
        return where, made


DRIVERS: dict[str, type[Driver]] = {
    "ingest": IngestDriver,
    "routing": RoutingDriver,
    "fanout": FanoutDriver,
    "inference": InferenceDriver,
    "documents": DocumentsDriver,
    "stream": StreamDriver,
    "feedback": FeedbackDriver,
}
# Drivers that run only when named (`--pipeline NAME`): pipelines still in progress on main.
EXTRA_DRIVERS: dict[str, type[Driver]] = {}
ALL_DRIVERS = {**DRIVERS, **EXTRA_DRIVERS}


# ------------------------------------------------------------------------------------------------ the run


@dataclass
class Report:
    pipelines: dict[str, list[Tally]] = field(default_factory=dict)  # per pipeline: one tally per phase + "total"
    injected: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0

    def final(self, pipeline: str) -> Tally:
        return self.pipelines[pipeline][-1]

    @property
    def ok(self) -> bool:
        return all(self.final(p).lost == 0 and self.final(p).duplicates == 0 for p in self.pipelines)

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "seconds": round(self.seconds, 1),
            "injected": self.injected,
            "pipelines": {name: [t.as_dict() for t in tallies] for name, tallies in self.pipelines.items()},
        }


def _visibility(sqs: Any, url: str) -> int:
    return int(sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["VisibilityTimeout"])["Attributes"]["VisibilityTimeout"])


def settle(
    cloud: Any,
    drivers: list[Driver],
    batches: dict[str, list[Batch]],
    timeout: float,
    on_progress: Callable[[str], None] | None = None,
) -> dict[str, list[Tally]]:
    """Wait until every input of `batches` is accounted for (or `timeout`); returns the tallies.

    Messages that failed wait out their visibility timeout in the queue: when nothing is visible, work is only
    in flight and no input has ended for a while, the local cloud's clock is moved past the longest visibility
    timeout, as the time would pass on AWS."""
    sqs = cloud.boto3_client("sqs")
    outputs = drivers[0].outputs
    urls = [u for d in drivers for u in d.queues()]
    for attempt in range(5):
        try:
            longest = max(_visibility(sqs, u) for u in urls) if urls else 30
            break
        except BotoCoreError:
            if attempt == 4:
                raise
            time.sleep(2.0)
    deadline = time.monotonic() + timeout
    last_accounted, stalled_since = -1, time.monotonic()
    delay = 0.5
    while True:
        try:
            dlq = dlq_bodies(sqs, outputs)
            tallies = {d.name: d.count(batches[d.name], dlq) for d in drivers}
        except BotoCoreError as exc:  # a read timeout of an overloaded local cloud: count again, the work goes on
            if time.monotonic() > deadline:
                raise
            if on_progress:
                on_progress(f"counting failed ({exc}); counting again")
            time.sleep(2.0)
            continue
        accounted = sum(t.accounted for ts in tallies.values() for t in ts)
        unaccounted = sum(t.lost for ts in tallies.values() for t in ts)
        if on_progress:
            pending = ", ".join(f"{name} {sum(t.lost for t in ts)}" for name, ts in tallies.items() if any(t.lost for t in ts))
            on_progress(f"{accounted} accounted, {unaccounted} pending" + (f" ({pending})" if pending else ""))
        if unaccounted <= 0 or time.monotonic() > deadline:
            return tallies
        now = time.monotonic()
        if accounted != last_accounted:
            last_accounted, stalled_since = accounted, now
        try:
            visible, _ = queue_depths(sqs, urls)
        except BotoCoreError:
            visible = 1  # unknown: leave the clock alone
        if visible == 0 and now - stalled_since > 6 and cloud is not None and hasattr(cloud, "advance_clock"):
            cloud.advance_clock(longest + 1)
            stalled_since = now
        time.sleep(delay)
        delay = min(delay * 1.3, 2.0)


def set_faults(cloud: Any, drivers: list[Driver], function_faults: dict[str, float], delivery_faults: dict[str, dict[str, Any]]) -> None:
    sync = {k: v for k, v in function_faults.items() if k != "timeout_rate"}
    for driver in drivers:
        for function in driver.functions():
            cloud.set_fault(function, **function_faults)
        for function in driver.sync_functions():
            cloud.set_fault(function, **sync)
    for source, fault in delivery_faults.items():
        cloud.set_delivery_fault(source, **fault)


def redrive_all(sqs: Any, outputs: dict[str, Any], timeout: float = 120.0) -> int:
    """StartMessageMoveTask from every DLQ that holds messages back to its source queue; wait for the tasks."""
    started = []
    for queue in outputs.get("queues", {}).values():
        url, arn = queue.get("dlq_url"), queue.get("dlq_arn")
        if not url or not arn:
            continue
        visible, hidden = queue_depths(sqs, [url])
        if visible + hidden == 0:
            continue
        sqs.start_message_move_task(SourceArn=arn)
        started.append(arn)
    deadline = time.monotonic() + timeout
    for arn in started:
        while time.monotonic() < deadline:
            tasks = sqs.list_message_move_tasks(SourceArn=arn, MaxResults=1).get("Results", [])
            if not tasks or tasks[0].get("Status") in ("COMPLETED", "FAILED", "CANCELLED"):
                break
            time.sleep(0.5)
    return len(started)


def run(
    cloud: Any,
    outputs: dict[str, Any],
    *,
    pipelines: Iterable[str] = tuple(DRIVERS),
    scale: int = 20,
    burst: int = 10,
    fuzz: int = 20,
    timeout: float = 300.0,
    seed: int = 0,
    on_progress: Callable[[str], None] | None = None,
    function_faults: dict[str, float] | None = None,
    delivery_faults: dict[str, dict[str, Any]] | None = None,
    outage: bool = True,
) -> Report:
    """Run every phase against every pipeline; return the report (one tally per phase, then the total after the
    redrive). Faults are cleared at the end whatever happens."""
    started = time.monotonic()
    run_id = uuid.uuid4().hex[:8]
    clients = patient_clients(cloud.boto3_client)
    drivers = [ALL_DRIVERS[name](clients, outputs, run_id) for name in pipelines]
    for driver in drivers:
        if hasattr(driver, "prepare"):
            driver.prepare()
    batches: dict[str, list[Batch]] = {d.name: [] for d in drivers}
    report = Report()
    phase_tallies: dict[str, list[Tally]] = {d.name: [] for d in drivers}

    def progress(text: str) -> None:
        if on_progress:
            on_progress(text)

    def phase(name: str, count: int, fuzzed: bool = False) -> None:
        t0 = time.monotonic()
        for driver in drivers:
            bodies = fuzz_bodies(driver.template(), count, huge_bytes=driver.huge_bytes, seed=seed) if fuzzed else None
            batches[driver.name].append(driver.send(name, count, bodies))
        progress(f"{name}: sent; waiting for every input to end")
        tallies = settle(cloud, drivers, {d.name: batches[d.name][-1:] for d in drivers}, timeout, lambda s: progress(f"{name}: {s}"))
        for driver in drivers:
            tally_ = tallies[driver.name][0]
            tally_.seconds = time.monotonic() - t0
            phase_tallies[driver.name].append(tally_)

    try:
        phase("baseline", scale)
        set_faults(cloud, drivers, function_faults if function_faults is not None else FUNCTION_FAULTS, delivery_faults if delivery_faults is not None else DELIVERY_FAULTS)
        phase("faults", scale)
        phase("burst", scale * burst)
        phase("fuzz", fuzz, fuzzed=True)
        if outage:
            # Every function behind an event source fails every time: what is sent now ends in a DLQ, and the
            # redrive below must bring all of it to processed (or a failure record).
            for driver in drivers:
                if not driver.dead_letters:
                    continue  # its faults stay as in phases 2-4
                for function in driver.functions():
                    cloud.set_fault(function, error_rate=1.0)
            phase("outage", max(1, scale // 2))
    finally:
        report.injected = cloud.faults() if hasattr(cloud, "faults") else {}
        cloud.clear_faults()
    t0 = time.monotonic()
    sqs = clients("sqs")
    moved = redrive_all(sqs, outputs)
    for driver in drivers:
        if hasattr(driver, "redrive"):  # a pipeline whose dead letters no message move task can redrive
            moved += driver.redrive()
    progress(f"redrive: {moved} DLQs redriven; waiting for every input of every phase")
    final = settle(cloud, drivers, batches, timeout, lambda s: progress(f"redrive: {s}"))
    for driver in drivers:
        total = Tally("after redrive")
        for tally_ in final[driver.name]:
            total.add(tally_)
        total.seconds = time.monotonic() - t0
        report.pipelines[driver.name] = [*phase_tallies[driver.name], total]
    for driver in drivers:
        if hasattr(driver, "finish"):  # a driver that leaves the environment as it found it (counted first)
            driver.finish()
    report.seconds = time.monotonic() - started
    return report

