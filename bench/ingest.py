"""Pipeline 1 on the local cloud: terraform apply time, then objects/s end to end with nothing lost."""

from __future__ import annotations

import time

from sluicectl import ingest

from .common import deployed_cloud, show, write

OBJECTS = 1000


def run() -> dict:
    with deployed_cloud() as deployed:
        plan_started = time.perf_counter()
        changes = deployed.terraform.plan_changes()
        plan_seconds = time.perf_counter() - plan_started
        run_ = ingest.Run.new(OBJECTS, 0.0, seed=1)
        clients = deployed.cloud.boto3_client
        started = time.perf_counter()
        ingest.upload(clients("s3"), deployed.outputs["landing_bucket_name"], run_.samples, workers=8)
        uploaded = time.perf_counter() - started
        counts = ingest.wait_accounted(clients, deployed.outputs, run_, timeout=600)
        elapsed = time.perf_counter() - started
        status = deployed.cloud.status()
    mapping = next((row for row in status["deliveries"] if row["kind"] == "sqs"), {})
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
        "targets": {"objects_per_second": 50, "terraform_apply_seconds": 90, "lost": 0},
    }
    show(
        "pipeline 1 (ingest) on the local cloud",
        [
            ("local cloud start (s)", result["local_cloud_start_seconds"], ""),
            ("terraform apply, local env (s)", result["terraform_apply_seconds"], "target ≤ 90 s"),
            ("terraform plan after apply (s)", result["terraform_plan_seconds"], f"{len(changes)} changes (target 0)"),
            ("objects end to end", OBJECTS, f"uploaded in {result['upload_seconds']} s"),
            ("objects/s", result["objects_per_second"], "target ≥ 50"),
            ("lost", result["lost"], "target 0"),
            ("mean batch size", result["mean_batch_size"], f"{result['invocations']} invocations"),
        ],
    )
    write("ingest", result)
    return result
