"""The local cloud's Kinesis → Lambda poller: records/s delivered to a trivial function with nothing lost, per-batch
latency and iterator age, for a backlog drained at once and for a live stream produced at a fixed rate.

Nothing lost is checked on the function's side: it logs each batch's shard, size and first/last sequence
numbers, and every shard's batches must cover its records exactly once, in order.
"""

from __future__ import annotations

import collections
import io
import json
import re
import sys
import threading
import time
import zipfile

from localcloud.testing import running_cloud, wait_until

from .common import show, write

BACKLOG = 30_000  # records drained from a backlog
LIVE_RATE = 1_500  # records/s produced for the live run
LIVE_SECONDS = 10
SHARDS = 2
BATCH_SIZE = 100  # the stream scoring pipeline's setting

HANDLER = """
def handler(event, context):
    records = event["Records"]
    first, last = records[0], records[-1]
    print("batch", first["eventID"].split(":")[0], len(records), first["kinesis"]["sequenceNumber"], last["kinesis"]["sequenceNumber"])
    return {}
"""
_LINE = re.compile(r"batch (\S+) (\d+) (\d+) (\d+)")


def _zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("trivial/__init__.py", "")
        archive.writestr("trivial/app.py", HANDLER)
    return buffer.getvalue()


def _put(kinesis, stream: str, start: int, count: int, per_shard: collections.Counter[str]) -> None:
    for offset in range(0, count, 500):
        n = min(500, count - offset)
        records = [
            {
                "Data": json.dumps(
                    {"i": start + offset + i, "user": f"u{(start + offset + i) % 97}", "amount": 12.5}
                ).encode(),
                "PartitionKey": f"u{(start + offset + i) % 97}",
            }
            for i in range(n)
        ]
        response = kinesis.put_records(StreamName=stream, Records=records)
        assert response["FailedRecordCount"] == 0
        per_shard.update(record["ShardId"] for record in response["Records"])


def _verify(cloud, function: str, shard_lengths: dict[str, int]) -> dict[str, int]:
    """Every shard's records delivered exactly once and in order, from the function's own log."""
    lines = cloud.logs(function, lines=1_000_000)
    covered: dict[str, list[tuple[int, int, int]]] = {}
    for line in lines:
        match = _LINE.search(line["message"])
        if match:
            shard, size, first, last = (
                match.group(1),
                int(match.group(2)),
                int(match.group(3)),
                int(match.group(4)),
            )
            covered.setdefault(shard, []).append((first, last, size))
    lost = duplicated = 0
    for shard, length in shard_lengths.items():
        expected = 1
        for first, last, size in covered.get(shard, []):  # log order is invocation order
            if first != expected or last - first + 1 != size:
                duplicated += max(0, expected - first)
                lost += max(0, first - expected)
            expected = max(expected, last + 1)
        lost += max(0, length + 1 - expected)
    return {
        "lost": lost,
        "duplicated_or_out_of_order": duplicated,
        "batches_logged": sum(len(v) for v in covered.values()),
    }


def _mapping_row(cloud, uuid: str) -> dict:
    return next(r for r in cloud.status()["deliveries"] if r.get("uuid") == uuid)


def _run_case(cloud, role: str, name: str, live: bool) -> dict:
    kinesis, lam = cloud.boto3_client("kinesis"), cloud.boto3_client("lambda")
    kinesis.create_stream(StreamName=name, ShardCount=SHARDS)
    arn = kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]["StreamARN"]
    runtime = f"python{sys.version_info.major}.{sys.version_info.minor}"
    lam.create_function(
        FunctionName=name,
        Runtime=runtime,
        Role=role,
        Handler="trivial.app.handler",
        Code={"ZipFile": _zip()},
        Timeout=30,
    )
    lam.invoke(
        FunctionName=name,
        Payload=json.dumps({"Records": [{"eventID": "s:1", "kinesis": {"sequenceNumber": "0"}}]}).encode(),
    )  # warm
    total = LIVE_RATE * LIVE_SECONDS if live else BACKLOG
    produce_seconds = 0.0
    per_shard: collections.Counter[str] = collections.Counter()
    if not live:
        started = time.perf_counter()
        _put(kinesis, name, 0, total, per_shard)
        produce_seconds = time.perf_counter() - started
    uuid = lam.create_event_source_mapping(
        FunctionName=name,
        EventSourceArn=arn,
        StartingPosition="TRIM_HORIZON",
        BatchSize=BATCH_SIZE,
        MaximumBatchingWindowInSeconds=0,
    )["UUID"]
    started = time.perf_counter()
    samples = []
    if live:
        stop = threading.Event()

        def sample() -> None:
            while not stop.wait(0.5):
                row = _mapping_row(cloud, uuid)
                samples.append((row["lag_records"], row["oldest_pending_age_ms"]))

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        chunk = 500
        for sent in range(0, total, chunk):
            _put(kinesis, name, sent, chunk, per_shard)
            ahead = (sent + chunk) / LIVE_RATE - (time.perf_counter() - started)
            if ahead > 0:
                time.sleep(ahead)  # pacing the producer to the target rate
        produce_seconds = time.perf_counter() - started
    row = wait_until(
        lambda: (r := _mapping_row(cloud, uuid))["records_done"] >= total and r,
        timeout=600,
        initial=0.05,
        maximum=0.1,
        what=f"{total} records",
    )
    elapsed = time.perf_counter() - started
    if live:
        stop.set()
        sampler.join()
    verified = wait_until(
        lambda: (v := _verify(cloud, name, dict(per_shard)))["batches_logged"] >= row["batches"] and v,
        timeout=30,
        what="function log",
    )
    return {
        "records": total,
        "shards": SHARDS,
        "batch_size": BATCH_SIZE,
        "produce_seconds": round(produce_seconds, 2),
        "deliver_seconds": round(elapsed, 2),
        "records_per_second": round(total / elapsed, 1),
        "succeeded": row["succeeded"],
        "on_failure": row["on_failure"],
        "lost": verified["lost"] + (total - row["succeeded"]),
        "duplicated_or_out_of_order": verified["duplicated_or_out_of_order"],
        "invocations": row["batches"],
        "mean_batch": row["mean_batch"],
        "batch_ms_p50": row["batch_ms_p50"],
        "batch_ms_p99": row["batch_ms_p99"],
        "iterator_age_ms_p50": row["iterator_age_ms_p50"],
        "iterator_age_ms_p99": row["iterator_age_ms_p99"],
        "max_lag_records": max((s[0] for s in samples), default=None),
        "max_oldest_pending_age_ms": max((s[1] for s in samples), default=None),
    }


def run() -> dict:
    with running_cloud() as cloud:
        role = cloud.boto3_client("iam").create_role(RoleName="bench", AssumeRolePolicyDocument="{}")["Role"][
            "Arn"
        ]
        backlog = _run_case(cloud, role, "bench-backlog", live=False)
        live = _run_case(cloud, role, "bench-live", live=True)
    result = {
        "backlog": backlog,
        "live": {**live, "target_rate": LIVE_RATE},
        "records_per_second": backlog["records_per_second"],
        "ratio_to_target": round(backlog["records_per_second"] / 1000, 2),
        "targets": {"records_per_second": 1000, "lost": 0},
    }
    show(
        "Kinesis → Lambda poller (trivial function, local cloud)",
        [
            (
                f"backlog drained ({BACKLOG} records, {SHARDS} shards, batch {BATCH_SIZE})",
                backlog["records_per_second"],
                "records/s, target ≥ 1,000",
            ),
            (
                "backlog: lost / duplicated",
                f"{backlog['lost']} / {backlog['duplicated_or_out_of_order']}",
                "target 0 / 0",
            ),
            (
                "backlog: per-batch latency p50 / p99 (ms)",
                f"{backlog['batch_ms_p50']} / {backlog['batch_ms_p99']}",
                f"{backlog['invocations']} invocations",
            ),
            (
                "backlog: iterator age p50 / p99 (ms)",
                f"{backlog['iterator_age_ms_p50']} / {backlog['iterator_age_ms_p99']}",
                "grows while draining a backlog",
            ),
            (
                f"live stream at {LIVE_RATE}/s for {LIVE_SECONDS} s",
                live["records_per_second"],
                "records/s delivered (paced by the producer)",
            ),
            (
                "live: lost / duplicated",
                f"{live['lost']} / {live['duplicated_or_out_of_order']}",
                "target 0 / 0",
            ),
            (
                "live: iterator age p50 / p99 (ms)",
                f"{live['iterator_age_ms_p50']} / {live['iterator_age_ms_p99']}",
                "AWS's IteratorAge",
            ),
            (
                "live: per-batch latency p50 / p99 (ms)",
                f"{live['batch_ms_p50']} / {live['batch_ms_p99']}",
                f"mean batch {live['mean_batch']}",
            ),
            (
                "live: max lag (records) / oldest pending (ms)",
                f"{live['max_lag_records']} / {live['max_oldest_pending_age_ms']}",
                "sampled every 0.5 s",
            ),
        ],
    )
    write("kinesis", result)
    return result
