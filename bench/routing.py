"""Pipeline 2 on the local cloud: routed events/s end to end, and what batching buys over a per-record router.

One deployed local cloud, three phases measured in the same run, each with its own records:

1. batched router, records submitted as "Record Submitted" events (10 per producer PutEvents): the router
   consumes up to 10 messages per invocation and publishes their events together (PUBLISH_BATCH_SIZE=10);
2. batched router, the same number of records in JSON-lines files of 100 under records/: 10 PutEvents per file;
3. the per-record baseline: the router reconfigured to one message per invocation (event source BatchSize=1)
   and one event per PutEvents (PUBLISH_BATCH_SIZE=1), records submitted as in phase 1.

Router stage = from the first submission until the route rules have matched every event (the router's output on
the bus). End to end = from the first submission until every record is in the routed-records table (all routable; the
unroutable path is the tests' business). Each phase starts after a warm-up of 12 records (warm environments, the
current configuration picked up by every poller). The router's PutEvents calls are the server's PutEvents count minus
the producer's; invocations come from the local cloud's function stats.

In the same run, the baselines: the naive seed-style pipeline (a rule invokes a router once per record, which
creates its client and publishes one event per PutEvents; a queue per type; processors with BatchSize 1; see
bench/naive/), fed by the same producer, and our router handler called in-process on the router queue's
messages (the floor). Then the bill per 1M records of ours (phase 1) and of the naive one (bench/cost.py).
"""

from __future__ import annotations

import os
import time
from typing import Any

from localcloud.testing import wait_until
from sluicectl import routing

from . import baselines, cost, floor
from .common import deployed_cloud, show, write

RECORDS = int(os.environ.get("BENCH_ROUTING_RECORDS", "600"))
NAIVE_RECORDS = int(os.environ.get("BENCH_NAIVE_RECORDS", "300"))
FLOOR_RECORDS = int(os.environ.get("BENCH_FLOOR_RECORDS", "200"))


def _functions(outputs: dict[str, Any]) -> dict[str, list[str]]:
    return {
        "router": [outputs["routing_router_function_name"]],
        "processors": [route["function_name"] for route in outputs["routing_routes"].values()],
    }


def _lambda_usage(figures: dict[str, dict[str, Any]], names: list[str], events: int) -> dict[str, float]:
    return cost.add(*(cost.measured_lambda(figures[name], events) for name in names))


def _warm_up(deployed: Any) -> None:
    """Route a few records first: execution environments of the current configuration are warm and every
    poller has picked up the current batch size before the clock starts."""
    outputs, clients = deployed.outputs, deployed.cloud.boto3_client
    run = routing.RecordRun.new(12, 0.0, seed=0)
    routing.submit_events(clients("events"), outputs["domain_bus_name"], run.samples)
    counts = routing.wait_routed(clients, outputs, run, timeout=120)
    if counts.routed != len(run.samples):
        raise RuntimeError(f"warm-up records not routed: {counts.as_dict()}")


def _route_rule_matches(outputs: dict[str, Any], status: dict[str, Any]) -> int:
    """Events the route rules have matched so far: the router's output as the bus delivers it."""
    rules = {r["rule_name"] for r in outputs["routing_routes"].values()}
    return sum(r["matched"] for r in status["deliveries"] if r["kind"] == "rule" and r["rule"] in rules)


def _phase(deployed: Any, name: str, via: str) -> dict[str, Any]:
    cloud, outputs, clients = deployed.cloud, deployed.outputs, deployed.cloud.boto3_client
    router = outputs["routing_router_function_name"]
    _warm_up(deployed)
    run = routing.RecordRun.new(RECORDS, 0.0, seed=len(name))
    functions = [fn for names in _functions(outputs).values() for fn in names]
    since = baselines.snapshot(cloud, functions)
    before = cloud.status()
    started = time.perf_counter()
    producer_calls = 0
    if via == "events":
        producer_calls = routing.submit_events(
            clients("events"), outputs["domain_bus_name"], run.samples, workers=4
        )
    else:
        routing.upload_files(clients("s3"), outputs["landing_bucket_name"], run, run.samples, per_file=100)
    matched_before = _route_rule_matches(outputs, before)

    def published() -> int:
        return _route_rule_matches(outputs, cloud.status()) - matched_before

    wait_until(
        lambda: published() >= RECORDS, timeout=900, what=f"{RECORDS} routed events on the bus", maximum=0.2
    )
    router_stage = time.perf_counter() - started
    counts = routing.wait_routed(clients, outputs, run, timeout=900)
    elapsed = time.perf_counter() - started
    after = cloud.status()
    figures = baselines.figures_since(cloud, since)
    mean_batch = {
        row["function"]: row.get("mean_batch")
        for row in after["deliveries"]
        if row.get("function") in figures
    }
    put_events = (
        after["requests"].get("events.PutEvents", 0)
        - before["requests"].get("events.PutEvents", 0)
        - producer_calls
    )
    invocations = after["functions"][router]["invocations"] - before["functions"].get(router, {}).get(
        "invocations", 0
    )
    return {
        "records": RECORDS,
        "submitted_via": via,
        "seconds": round(elapsed, 2),
        "routed_events_per_second": round(counts.routed / elapsed, 1),
        "router_stage_seconds": round(router_stage, 2),
        "router_stage_events_per_second": round(RECORDS / router_stage, 1),
        "router_put_events_calls": put_events,
        "events_per_put_events_call": round(counts.routed / put_events, 2) if put_events else None,
        "router_invocations": invocations,
        "invocations_per_1000_events": round(invocations * 1000 / counts.routed, 1)
        if counts.routed
        else None,
        "lost": counts.lost,
        "misrouted": counts.misrouted,
        "counts": counts.as_dict(),
        "lambda": figures,
        "mean_batch": mean_batch,
    }


def _configure_router(deployed: Any, *, publish_batch_size: int, batch_size: int) -> None:
    """Set the router's entries per PutEvents and its event source's messages per invocation.
    (1, 1) is the per-record baseline: one message per invocation, one event per PutEvents."""
    outputs, clients = deployed.outputs, deployed.cloud.boto3_client
    lam = clients("lambda")
    router = outputs["routing_router_function_name"]
    config = lam.get_function_configuration(FunctionName=router)
    variables = {**config["Environment"]["Variables"], "PUBLISH_BATCH_SIZE": str(publish_batch_size)}
    lam.update_function_configuration(FunctionName=router, Environment={"Variables": variables})
    [mapping] = [
        m
        for m in lam.list_event_source_mappings()["EventSourceMappings"]
        if m["FunctionArn"].endswith(f":function:{router}")
    ]
    lam.update_event_source_mapping(UUID=mapping["UUID"], BatchSize=batch_size)
    wait_until(
        lambda: (
            lam.get_function_configuration(FunctionName=router)["Environment"]["Variables"][
                "PUBLISH_BATCH_SIZE"
            ]
            == str(publish_batch_size)
            and lam.get_event_source_mapping(UUID=mapping["UUID"])["BatchSize"] == batch_size
        ),
        timeout=30,
        what="the router configuration",
    )


def _floor(deployed: Any) -> dict[str, Any]:
    outputs, clients = deployed.outputs, deployed.cloud.boto3_client
    run = routing.RecordRun.new(FLOOR_RECORDS, 0.0, seed=77)
    return floor.measure(
        deployed.cloud,
        outputs["routing_router_function_name"],
        outputs["routing_router_queue_url"],
        FLOOR_RECORDS,
        lambda: routing.submit_events(clients("events"), outputs["domain_bus_name"], run.samples, workers=4),
    )


def _cost(outputs: dict[str, Any], batched: dict[str, Any], naive: dict[str, Any]) -> dict[str, Any]:
    names = _functions(outputs)
    processor_batches = [batched["mean_batch"].get(fn) or 1 for fn in names["processors"]]
    ours = cost.routing_usage(
        _lambda_usage(batched["lambda"], names["router"], RECORDS),
        _lambda_usage(batched["lambda"], names["processors"], RECORDS),
        router_batch=batched["mean_batch"].get(names["router"][0]) or 1,
        processor_batch=sum(processor_batches) / len(processor_batches),
    )
    naive_fns = naive["functions"]
    theirs = cost.routing_usage(
        cost.measured_lambda(naive["lambda"][naive_fns["router"]], NAIVE_RECORDS),
        cost.measured_lambda(naive["lambda"][naive_fns["processor"]], NAIVE_RECORDS),
        router_batch=None,
        processor_batch=1,
    )
    return cost.compare(ours, theirs)


def run() -> dict:
    with deployed_cloud() as deployed:
        lam = deployed.cloud.boto3_client("lambda")
        router = deployed.outputs["routing_router_function_name"]
        original = (
            int(
                lam.get_function_configuration(FunctionName=router)["Environment"]["Variables"].get(
                    "PUBLISH_BATCH_SIZE", 10
                )
            ),
            lam.get_event_source_mapping(UUID=floor.mapping_uuid(lam, router))["BatchSize"],
        )
        batched = _phase(deployed, "batched", "events")
        files = _phase(deployed, "files", "files")
        in_process = _floor(deployed)
        naive = baselines.routing(deployed.cloud, NAIVE_RECORDS, batched["lambda"][router]["memory_mb"])
        _configure_router(deployed, publish_batch_size=1, batch_size=1)
        try:
            per_record = _phase(deployed, "per-record", "events")
        finally:
            _configure_router(deployed, publish_batch_size=original[0], batch_size=original[1])
    result = {
        "records_per_phase": RECORDS,
        "terraform_apply_seconds": round(deployed.apply_seconds, 1),
        "batched_router": batched,
        "batched_router_files": files,
        "per_record_router": per_record,
        "speedup_events_per_second": round(
            batched["routed_events_per_second"] / per_record["routed_events_per_second"], 2
        ),
        "speedup_router_stage": round(
            batched["router_stage_events_per_second"] / per_record["router_stage_events_per_second"], 2
        ),
        "put_events_calls_ratio": round(
            per_record["router_put_events_calls"] / max(1, batched["router_put_events_calls"]), 1
        ),
        "invocations_ratio": round(
            per_record["router_invocations"] / max(1, batched["router_invocations"]), 1
        ),
        "targets": {"lost": 0, "misrouted": 0, "events_per_put_events_call": "close to 10"},
        "in_process": in_process,
        "naive": naive,
        "cost": _cost(deployed.outputs, batched, naive),
    }
    result["ratios"] = {
        "throughput_ours_to_naive": round(
            batched["routed_events_per_second"] / naive["routed_events_per_second"], 2
        ),
        "router_stage_to_in_process": round(
            batched["router_stage_events_per_second"] / in_process["records_per_second_in_handler"], 3
        ),
        "per_record_to_naive": round(
            per_record["routed_events_per_second"] / naive["routed_events_per_second"], 2
        ),
    }
    show(
        f"pipeline 2 (routing) on the local cloud: {RECORDS} records per phase",
        [
            ("terraform apply, local env (s)", result["terraform_apply_seconds"], "whole stack"),
            (
                "batched: router stage events/s",
                batched["router_stage_events_per_second"],
                "submission to the route rules",
            ),
            (
                "batched: routed events/s end to end",
                batched["routed_events_per_second"],
                f"{batched['seconds']} s, PutEvents submissions",
            ),
            (
                "batched: events per PutEvents call",
                batched["events_per_put_events_call"],
                f"{batched['router_put_events_calls']} calls",
            ),
            (
                "batched: invocations per 1,000 events",
                batched["invocations_per_1000_events"],
                f"{batched['router_invocations']} invocations",
            ),
            (
                "files: router stage events/s",
                files["router_stage_events_per_second"],
                "upload to the route rules",
            ),
            (
                "files: routed events/s end to end",
                files["routed_events_per_second"],
                f"{files['seconds']} s, JSON-lines files of 100",
            ),
            (
                "files: events per PutEvents call",
                files["events_per_put_events_call"],
                f"{files['router_put_events_calls']} calls",
            ),
            (
                "files: invocations per 1,000 events",
                files["invocations_per_1000_events"],
                f"{files['router_invocations']} invocations",
            ),
            (
                "per-record: router stage events/s",
                per_record["router_stage_events_per_second"],
                "submission to the route rules",
            ),
            (
                "per-record: routed events/s end to end",
                per_record["routed_events_per_second"],
                f"{per_record['seconds']} s",
            ),
            (
                "per-record: events per PutEvents call",
                per_record["events_per_put_events_call"],
                f"{per_record['router_put_events_calls']} calls",
            ),
            (
                "per-record: invocations per 1,000 events",
                per_record["invocations_per_1000_events"],
                f"{per_record['router_invocations']} invocations",
            ),
            ("batched / per-record events/s, router stage", result["speedup_router_stage"], "times faster"),
            (
                "batched / per-record events/s, end to end",
                result["speedup_events_per_second"],
                "times faster",
            ),
            ("per-record / batched PutEvents calls", result["put_events_calls_ratio"], "times more calls"),
            (
                "naive pipeline: routed events/s end to end",
                naive["routed_events_per_second"],
                f"{NAIVE_RECORDS} records",
            ),
            ("ours (batched) / naive events/s", result["ratios"]["throughput_ours_to_naive"], "times"),
            (
                "in-process router handler events/s (floor)",
                in_process["records_per_second_in_handler"],
                f"{FLOOR_RECORDS} records",
            ),
            (
                "USD per 1M records, ours / naive",
                f"{result['cost']['ours']['usd']:.2f} / {result['cost']['naive']['usd']:.2f}",
                f"naive costs x{result['cost']['ratio_naive_to_ours']}",
            ),
            (
                "lost / misrouted",
                f"{batched['lost'] + files['lost'] + per_record['lost']} / "
                f"{batched['misrouted'] + files['misrouted'] + per_record['misrouted']}",
                "target 0 / 0",
            ),
        ],
    )
    write("routing", result)
    return result
