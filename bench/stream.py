"""Pipeline 5: transactions scored per second through the local stream (Kinesis -> poller -> fraud scorer ->
DynamoDB + EventBridge on the local cloud), with nothing lost, per-batch latency and iterator age; and the same
scoring logic run in this process against the same local cloud, for the ratio.

Three phases on a freshly deployed local environment (the fraud model trained and published first):

1. live: the producer sends at ``LIVE_RATE`` records/s for ``LIVE_SECONDS``; iterator age and per-batch latency
   are the mapping's (the local cloud's status: p50/p99 over its last 2,000 batches);
2. backlog: the scorer's mapping is disabled, ``BACKLOG`` transactions are put, the mapping is enabled again and
   the drain is timed until every record is done;
3. in-process: ``logic.process_batch`` on batches of the same size, called in a loop from this process against
   the local cloud's DynamoDB and EventBridge (no poller, no Lambda runtime).

Nothing lost: every transaction sent is counted by the feature store (the sum of the users' ``txn_count``), and
the mapping reports every record succeeded, none sent to the on-failure destination.
"""

from __future__ import annotations

import os
import sys
import time
from typing import Any

from localcloud.testing import wait_until

from . import baselines, cost
from .common import ROOT, deployed_cloud, percentile, show, write

LIVE_RATE = 1_000
LIVE_SECONDS = 10
BACKLOG = 20_000
IN_PROCESS = 2_000  # 20 batches of 100: the logic's rate is steady well before (23 s under load at 5,000)
USERS = 2_000
TARGET = 1_000
NAIVE_RECORDS = 150  # the naive scorer (BatchSize 1, a model session per call) drains this many: ~35 s under load


def _cpu_seconds() -> float:
    """CPU time (user + system) of every process this benchmark started: the local cloud server (moto, the
    pollers, the Lambda runtime; with its reaped children) and the Lambda execution environments. The producer
    (this process) is left out: on AWS it is someone else's machine."""
    ticks = os.sysconf("SC_CLK_TCK")
    stats: dict[int, list[str]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                text = open(f"/proc/{entry}/stat").read()  # noqa: SIM115
            except OSError:
                continue
            stats[int(entry)] = text[text.rindex(")") + 2 :].split()
    children: dict[int, list[int]] = {}
    for pid, fields in stats.items():
        children.setdefault(int(fields[1]), []).append(pid)
    total, pending = 0.0, list(children.get(os.getpid(), []))
    while pending:
        pid = pending.pop()
        fields = stats[pid]
        total += sum(int(v) for v in fields[11:15]) / ticks  # utime, stime, cutime, cstime
        pending += children.get(pid, [])
    return total


def _scored(stream: Any, dynamodb: Any, outputs: dict, run: Any) -> int:
    return sum(
        int(s.get("txn_count", 0))
        for s in stream.user_states(dynamodb, outputs["fraud_features_table_name"], run.users).values()
    )


def _phase(
    cloud: Any, stream: Any, uuid_: str, before: dict, total: int, started: float
) -> tuple[dict, float]:
    row = stream.wait_done(cloud, uuid_, int(before.get("records_done", 0)) + total, timeout=900)
    return row, time.perf_counter() - started


def _delta(row: dict, before: dict, key: str) -> int:
    return int(row.get(key, 0)) - int(before.get(key, 0))


def _in_process(deployed: Any, stream: Any, model: Any) -> dict[str, Any]:
    """The scorer's logic in this process, against the same local cloud endpoints."""
    for path in (
        ROOT / "layers" / "shared" / "python",
        ROOT / "layers" / "ml" / "python",
        ROOT / "functions",
    ):
        if str(path) not in sys.path:
            sys.path.insert(0, str(path))
    import onnxruntime as ort
    from fraud_scorer import logic
    from sluice.publish import EventPublisher

    outputs = deployed.outputs
    cloud = deployed.cloud
    ports = logic.Ports(
        dynamodb=cloud.boto3_client("dynamodb"),
        publisher=EventPublisher(cloud.boto3_client("events"), outputs["domain_bus_name"]),
        features_table=outputs["fraud_features_table_name"],
        alerts_table=outputs["fraud_alerts_table_name"],
    )

    class Loaded:
        name, version, input_name = model.name, model.version, "input"
        session = ort.InferenceSession(model.onnx, providers=["CPUExecutionProvider"])

    run = stream.generate(IN_PROCESS, users=USERS, seed=99)
    batch_size = int(outputs["fraud_scorer_event_source"]["batch_size"])
    event = stream.kinesis_event(run.samples)["Records"]
    batches_ms = []
    started = time.perf_counter()
    for offset in range(0, len(event), batch_size):
        t0 = time.perf_counter()
        result = logic.process_batch(event[offset : offset + batch_size], ports, Loaded)
        batches_ms.append((time.perf_counter() - t0) * 1000)
        assert not result.errors()
    seconds = time.perf_counter() - started
    return {
        "records": len(event),
        "seconds": round(seconds, 2),
        "records_per_second": round(len(event) / seconds, 1),
        "batch_ms_p50": round(percentile(batches_ms, 0.5), 1),
        "batch_ms_p99": round(percentile(batches_ms, 0.99), 1),
    }


def run() -> dict:
    from sluicectl import fraud_model, stream

    with deployed_cloud() as deployed:
        cloud, outputs = deployed.cloud, deployed.outputs
        kinesis, dynamodb, lam = (
            cloud.boto3_client("kinesis"),
            cloud.boto3_client("dynamodb"),
            cloud.boto3_client("lambda"),
        )
        model = fraud_model.train()
        fraud_model.publish(cloud.boto3_client("s3"), outputs["inference_model_bucket_name"], model)
        uuid_ = outputs["fraud_scorer_mapping_uuid"]

        # warm: both shards' execution environments started and the model loaded
        warm = stream.generate(400, users=200, seed=1)
        before = stream.mapping_row(cloud, uuid_)
        stream.produce(kinesis, outputs["stream_name"], warm.samples)
        _phase(cloud, stream, uuid_, before, len(warm.samples), time.perf_counter())

        # 1. live
        live_run = stream.generate(LIVE_RATE * LIVE_SECONDS, users=USERS, seed=2)
        before = stream.mapping_row(cloud, uuid_)
        started = time.perf_counter()
        produced = stream.produce(
            kinesis, outputs["stream_name"], live_run.samples, rate=LIVE_RATE, chunk=100
        )
        live_row, live_seconds = _phase(cloud, stream, uuid_, before, len(live_run.samples), started)
        live_lost = len(live_run.samples) - _scored(stream, dynamodb, outputs, live_run)
        live = {
            "records": len(live_run.samples),
            "produce_rate": round(produced.rate, 1),
            "records_per_second": round(len(live_run.samples) / live_seconds, 1),
            "lost": live_lost,
            "on_failure": _delta(live_row, before, "on_failure"),
            "batch_ms_p50": live_row.get("batch_ms_p50"),
            "batch_ms_p99": live_row.get("batch_ms_p99"),
            "iterator_age_ms_p50": live_row.get("iterator_age_ms_p50"),
            "iterator_age_ms_p99": live_row.get("iterator_age_ms_p99"),
            "invocations": _delta(live_row, before, "batches"),
        }

        # 2. backlog drained
        lam.update_event_source_mapping(UUID=uuid_, Enabled=False)
        wait_until(
            lambda: stream.mapping_row(cloud, uuid_).get("enabled") is False,
            timeout=30,
            what="mapping disabled",
        )
        backlog_run = stream.generate(BACKLOG, users=USERS, seed=3)
        before = stream.mapping_row(cloud, uuid_)
        produced = stream.produce(kinesis, outputs["stream_name"], backlog_run.samples)
        cpu_before, load_before = _cpu_seconds(), os.getloadavg()[0]
        scorer = outputs["fraud_scorer_function_name"]
        since = baselines.snapshot(cloud, [scorer])
        started = time.perf_counter()
        lam.update_event_source_mapping(UUID=uuid_, Enabled=True)
        backlog_row, backlog_seconds = _phase(cloud, stream, uuid_, before, len(backlog_run.samples), started)
        cpu = _cpu_seconds() - cpu_before
        scorer_figures = baselines.lambda_figures(cloud, scorer, since[scorer])
        load = (load_before + os.getloadavg()[0]) / 2
        scored = _scored(stream, dynamodb, outputs, backlog_run)
        alerts = len(stream.alerts_for(dynamodb, outputs["fraud_alerts_table_name"], backlog_run.run_id))
        backlog = {
            "records": len(backlog_run.samples),
            "shards": len(produced.per_shard),
            "produce_seconds": round(produced.seconds, 2),
            "drain_seconds": round(backlog_seconds, 2),
            "records_per_second": round(len(backlog_run.samples) / backlog_seconds, 1),
            "scored": scored,
            "lost": len(backlog_run.samples) - scored,
            "on_failure": _delta(backlog_row, before, "on_failure"),
            "alerts": alerts,
            "invocations": _delta(backlog_row, before, "batches"),
            "batch_ms_p50": backlog_row.get("batch_ms_p50"),
            "batch_ms_p99": backlog_row.get("batch_ms_p99"),
            "iterator_age_ms_p50": backlog_row.get("iterator_age_ms_p50"),
            "iterator_age_ms_p99": backlog_row.get("iterator_age_ms_p99"),
            # What the drain cost in CPU, and what two cores nobody else uses would do at that cost.
            "cpu_seconds": round(cpu, 2),
            "cpu_ms_per_1000_records": round(cpu / len(backlog_run.samples) * 1e6, 1),
            "projected_records_per_second_2_idle_cores": round(2 * len(backlog_run.samples) / cpu, 1)
            if cpu
            else None,
            "load_average": round(load, 1),
        }

        # 3. the same logic in this process
        in_process = _in_process(deployed, stream, model)

        # 4. the naive scorer on its own stream (as many shards), same producer
        naive = _naive(deployed, model, scorer, len(produced.per_shard))

    result = {
        "batch_size": int(outputs["fraud_scorer_event_source"]["batch_size"]),
        "live": {**live, "target_rate": LIVE_RATE},
        "backlog": backlog,
        "in_process": in_process,
        "records_per_second": backlog["records_per_second"],
        "ratio_to_target": round(backlog["records_per_second"] / TARGET, 2),
        "ratio_to_in_process": round(backlog["records_per_second"] / in_process["records_per_second"], 2),
        "targets": {"records_per_second": TARGET, "lost": 0},
        "lambda": {scorer: scorer_figures},
        "naive": naive,
    }
    result["cost"] = _cost(result, backlog_run, scorer_figures)
    result["ratios"] = {
        "throughput_ours_to_naive": round(backlog["records_per_second"] / naive["records_per_second"], 2),
        "lambda_ms_per_record_naive_to_ours": round(
            naive["lambda"][naive["function"]]["mean_billed_ms"]
            / (scorer_figures["mean_billed_ms"] * scorer_figures["invocations"] / BACKLOG),
            2,
        )
        if scorer_figures.get("invocations")
        else None,
    }
    show(
        "Pipeline 5: fraud scoring through the local stream (Kinesis → poller → scorer → DynamoDB + EventBridge)",
        [
            (
                f"backlog drained ({BACKLOG:,} transactions, {backlog['shards']} shards, batch {result['batch_size']})",
                backlog["records_per_second"],
                f"records/s scored, target ≥ {TARGET:,}",
            ),
            (
                "backlog: CPU per 1,000 records (local cloud + functions)",
                f"{backlog['cpu_ms_per_1000_records']} ms",
                f"→ {backlog['projected_records_per_second_2_idle_cores']:,} records/s on 2 idle cores (load average {backlog['load_average']})",
            ),
            (
                "backlog: lost / on-failure",
                f"{backlog['lost']} / {backlog['on_failure']}",
                "target 0 / 0 (feature store counts)",
            ),
            (
                "backlog: per-batch latency p50 / p99 (ms)",
                f"{backlog['batch_ms_p50']} / {backlog['batch_ms_p99']}",
                f"{backlog['invocations']} invocations, {backlog['alerts']} alerts",
            ),
            (
                "backlog: iterator age p50 / p99 (ms)",
                f"{backlog['iterator_age_ms_p50']} / {backlog['iterator_age_ms_p99']}",
                "grows while draining a backlog",
            ),
            (
                f"live at {LIVE_RATE:,}/s for {LIVE_SECONDS} s",
                live["records_per_second"],
                f"records/s scored (producer sent at {live['produce_rate']:,.0f}/s)",
            ),
            ("live: lost / on-failure", f"{live['lost']} / {live['on_failure']}", "target 0 / 0"),
            (
                "live: iterator age p50 / p99 (ms)",
                f"{live['iterator_age_ms_p50']} / {live['iterator_age_ms_p99']}",
                "AWS's IteratorAge",
            ),
            (
                "live: per-batch latency p50 / p99 (ms)",
                f"{live['batch_ms_p50']} / {live['batch_ms_p99']}",
                f"{live['invocations']} invocations",
            ),
            (
                "in-process: the scorer's logic in a loop",
                in_process["records_per_second"],
                f"records/s, batch p50/p99 {in_process['batch_ms_p50']}/{in_process['batch_ms_p99']} ms",
            ),
            (
                "through the stream vs in-process",
                result["ratio_to_in_process"],
                "ratio (poller + Lambda runtime + 2 shards in parallel)",
            ),
            (
                f"naive scorer, BatchSize 1 ({naive['records']} records drained)",
                naive["records_per_second"],
                f"records/s; {naive['scored']} scored, {naive['on_failure']} on-failure",
            ),
            ("ours / naive records/s", result["ratios"]["throughput_ours_to_naive"], "times"),
            (
                "Lambda billed ms per record, naive / ours",
                result["ratios"]["lambda_ms_per_record_naive_to_ours"],
                "times",
            ),
            (
                f"USD per 1M records at {TARGET:,}/s, ours / naive",
                f"{result['cost']['ours']['usd']:.2f} / {result['cost']['naive']['usd']:.2f}",
                f"naive costs x{result['cost']['ratio_naive_to_ours']}",
            ),
        ],
    )
    write("stream", result)
    return result


def _naive(deployed: Any, model: Any, scorer: str, shards: int) -> dict[str, Any]:
    """The naive scorer (bench/naive/stream_handler.py) with our scorer's memory and threshold."""
    outputs = deployed.outputs
    config = deployed.cloud.boto3_client("lambda").get_function_configuration(FunctionName=scorer)
    threshold = float(config.get("Environment", {}).get("Variables", {}).get("MODEL_THRESHOLD", 0.7))
    return baselines.stream(
        deployed.cloud,
        model.onnx,
        [outputs["ml_layer_arn"]],
        config["MemorySize"],
        shards,
        NAIVE_RECORDS,
        users=USERS,
        seed=4,
        threshold=threshold,
    )


def _cost(result: dict[str, Any], run: Any, scorer: dict[str, Any]) -> dict[str, Any]:
    """Per 1M transactions at ``TARGET`` records/s sustained, both sides on the same stream configuration; each
    side's shards are what the write limits and its consumer need (ParallelizationFactor up to 10)."""
    backlog, naive = result["backlog"], result["naive"]
    naive_fn = naive["lambda"][naive["function"]]
    record_bytes = round(sum(len(s.data) for s in run.samples) / len(run.samples))
    batch = BACKLOG / max(1, scorer["invocations"])
    alerts = backlog["alerts"] / BACKLOG
    shards = {
        "ours": max(
            cost.kinesis_shards(TARGET, record_bytes),
            cost.kinesis_consumer_shards(TARGET, scorer["mean_billed_ms"] or 0, batch),
        ),
        "naive": max(
            cost.kinesis_shards(TARGET, record_bytes),
            cost.kinesis_consumer_shards(TARGET, naive_fn["mean_billed_ms"] or 0, 1),
        ),
    }
    per_user = cost.distinct_per_record(USERS // max(1, backlog["shards"]), batch)
    compared = cost.compare(
        cost.stream_usage(
            cost.measured_lambda(scorer, BACKLOG),
            record_bytes=record_bytes,
            rate_per_s=TARGET,
            shards=shards["ours"],
            alerts_per_record=alerts,
            state_reads=per_user,
            state_writes=per_user,
        ),
        cost.stream_usage(
            cost.measured_lambda(naive_fn, naive["records"]),
            record_bytes=record_bytes,
            rate_per_s=TARGET,
            shards=shards["naive"],
            alerts_per_record=alerts,
        ),
    )
    return {**compared, "shards": shards, "record_bytes": record_bytes, "rate_per_s": TARGET}
