"""Pipeline 1 on the local cloud: terraform apply time, objects/s end to end with nothing lost, and in the same
run the two baselines: the naive seed-style function (S3 notification -> one invocation per object, clients per
call; bench/naive/ingest_handler.py) and our handler called in-process on the queue's messages (the floor); then
the bill per 1M objects of ours and of the naive one (bench/cost.py)."""

from __future__ import annotations

import os
import time

from sluicectl import ingest

from . import baselines, cost, floor
from .common import deployed_cloud, shared, show, write

OBJECTS = int(os.environ.get("BENCH_INGEST_OBJECTS", "600"))
NAIVE_OBJECTS = int(os.environ.get("BENCH_NAIVE_OBJECTS", "300"))
FLOOR_OBJECTS = int(os.environ.get("BENCH_FLOOR_OBJECTS", "200"))


def run() -> dict:
    with deployed_cloud() as deployed:
        plan_started = time.perf_counter()
        # `make bench` (a shared deployment) leaves the plan-after-apply check to the e2e tests: ~1-2 min here.
        changes = [] if shared() else deployed.terraform.plan_changes()
        plan_seconds = time.perf_counter() - plan_started
        run_ = ingest.Run.new(OBJECTS, 0.0, seed=1)
        clients = deployed.cloud.boto3_client
        function = deployed.outputs["ingest_function_name"]
        since = baselines.snapshot(deployed.cloud, [function])[function]
        started = time.perf_counter()
        ingest.upload(clients("s3"), deployed.outputs["landing_bucket_name"], run_.samples, workers=8)
        uploaded = time.perf_counter() - started
        counts = ingest.wait_accounted(clients, deployed.outputs, run_, timeout=600)
        elapsed = time.perf_counter() - started
        status = deployed.cloud.status()
        ours_lambda = baselines.lambda_figures(deployed.cloud, function, since)
        floor_run = ingest.Run.new(FLOOR_OBJECTS, 0.0, seed=2)
        in_process = floor.measure(
            deployed.cloud,
            function,
            deployed.outputs["ingest_queue_url"],
            FLOOR_OBJECTS,
            lambda: ingest.upload(
                clients("s3"), deployed.outputs["landing_bucket_name"], floor_run.samples, workers=8
            ),
        )
        naive = baselines.ingest(deployed.cloud, NAIVE_OBJECTS, ours_lambda["memory_mb"])
    mapping = next((row for row in status["deliveries"] if row.get("function") == function), {})
    naive_lambda = naive["lambda"][naive["function"]]
    result = {
        "objects": OBJECTS,
        "local_cloud_start_seconds": round(deployed.start_seconds, 3),
        "terraform_apply_seconds": round(deployed.apply_seconds, 1),
        "terraform_plan_seconds": round(plan_seconds, 1),
        "plan_changes_after_apply": len(changes),
        "upload_seconds": round(uploaded, 2),
        "end_to_end_seconds": round(elapsed, 2),
        "objects_per_second": round(OBJECTS / elapsed, 1),
        "counts": counts.as_dict(),
        "lost": counts.lost,
        "mean_batch_size": mapping.get("mean_batch"),
        "invocations": mapping.get("batches"),
        # The poller's own account: a batch that errored or was throttled comes back only after the visibility
        # timeout (180 s here), which is what a stalled run looks like from outside.
        "delivery": {
            key: mapping.get(key)
            for key in ("batches", "messages", "deleted", "item_failures", "function_errors", "throttles", "last_error")
        },
        "targets": {"objects_per_second": 50, "terraform_apply_seconds": 90, "lost": 0},
        "lambda": ours_lambda,
        "in_process": in_process,
        "naive": naive,
    }
    result["ratios"] = {
        "throughput_ours_to_naive": round(result["objects_per_second"] / naive["objects_per_second"], 2),
        "throughput_ours_to_in_process": round(
            result["objects_per_second"] / in_process["records_per_second_in_handler"], 3
        ),
        "lambda_ms_per_object_naive_to_ours": round(
            naive_lambda["mean_billed_ms"]
            / (ours_lambda["mean_billed_ms"] * ours_lambda["invocations"] / OBJECTS),
            2,
        ),
    }
    result["cost"] = cost.compare(
        cost.ingest_usage(
            cost.measured_lambda(ours_lambda, OBJECTS), queue_batch=result["mean_batch_size"] or 1
        ),
        cost.ingest_usage(cost.measured_lambda(naive_lambda, NAIVE_OBJECTS), queue_batch=None),
    )
    show(
        "pipeline 1 (ingest) on the local cloud",
        [
            ("local cloud start (s)", result["local_cloud_start_seconds"], ""),
            ("terraform apply, local env (s)", result["terraform_apply_seconds"], "target ≤ 90 s"),
            (
                "terraform plan after apply (s)",
                result["terraform_plan_seconds"],
                f"{len(changes)} changes (target 0)",
            ),
            ("objects end to end", OBJECTS, f"uploaded in {result['upload_seconds']} s"),
            ("objects/s", result["objects_per_second"], "target ≥ 50"),
            ("lost", result["lost"], "target 0"),
            ("mean batch size", result["mean_batch_size"], f"{result['invocations']} invocations"),
            (
                "naive (per-object function) objects/s",
                naive["objects_per_second"],
                f"{NAIVE_OBJECTS} objects",
            ),
            ("ours / naive objects/s", result["ratios"]["throughput_ours_to_naive"], "times"),
            (
                "in-process handler objects/s (floor)",
                in_process["records_per_second_in_handler"],
                f"{FLOOR_OBJECTS} objects, batches of 10",
            ),
            (
                "USD per 1M objects, ours / naive",
                f"{result['cost']['ours']['usd']:.2f} / {result['cost']['naive']['usd']:.2f}",
                f"naive costs x{result['cost']['ratio_naive_to_ours']}",
            ),
        ],
    )
    write("ingest", result)
    return result
