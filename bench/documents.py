"""Pipeline 4 on the local cloud: documents/minute through the Step Functions workflow (upload -> execution
finished), per-state durations from the execution histories, and the ratio against calling the same step logic
in-process (one Python process, the same local S3 and DynamoDB), which is the floor the orchestration adds to."""

from __future__ import annotations

import collections
import json
import statistics
import sys
import time
from typing import Any

from localcloud.testing import WaitTimeout, wait_until
from sluicectl import documents

from . import baselines, cost
from .common import ROOT, deployed_cloud, show, summary, write

# 60, not 20: twenty documents end within 2-3 s, where one slow poll or a scheduler hiccup moved either side's
# figure by a third between runs (naive measured 413-803 documents/minute on the same machine).
DOCUMENTS = 60
# As many warm-up documents as measured ones, on both sides: the measured run finds an execution environment per
# concurrent invocation already started, so it measures the pipelines, not a storm of cold starts on 2 cores.
WARMUP = DOCUMENTS
# Waves of DOCUMENTS a side, alternated (ours, naive, ours, ...); each side's figure is its median wave.
WAVES = 3
SEQUENTIAL = 6  # documents sent one at a time (each waited for) to measure Lambda time per document, both sides


def state_durations(history: list[dict[str, Any]]) -> dict[str, float]:
    """Seconds from each state's *StateEntered to its *StateExited event (the last visit if retried)."""
    entered: dict[str, Any] = {}
    durations: dict[str, float] = {}
    for event in history:
        kind = event["type"]
        if kind.endswith("StateEntered"):
            entered[event["stateEnteredEventDetails"]["name"]] = event["timestamp"]
        elif kind.endswith("StateExited"):
            name = event["stateExitedEventDetails"]["name"]
            if name in entered:
                durations[name] = (event["timestamp"] - entered[name]).total_seconds()
    return durations


def nested_executions(history: list[dict[str, Any]]) -> list[str]:
    """ARNs of the nested executions an execution ran to completion (its states:startExecution.sync tasks)."""
    arns = []
    for event in history:
        if event["type"] != "TaskSucceeded":
            continue
        details = event["taskSucceededEventDetails"]
        if details.get("resourceType") == "states":
            output = json.loads(details.get("output") or "{}")
            if isinstance(output, dict) and output.get("ExecutionArn"):
                arns.append(output["ExecutionArn"])
    return arns


def text_read_back(history: list[dict[str, Any]]) -> bool:
    """Whether the analysis steps read the document's text back from S3: the extract step's output carries only
    the text's location (a text over ``INLINE_TEXT_BYTES``), not the text itself."""
    for event in history:
        details = event.get("taskSucceededEventDetails") or {}
        if event["type"] == "TaskSucceeded" and details.get("resourceType") == "lambda":
            text = (json.loads(details.get("output") or "{}").get("Payload") or {}).get("text")
            if isinstance(text, dict):
                return "body" not in text
    return True


def _wait_listed(sfn: Any, machine: str, names: set[str], timeout: float) -> bool:
    def done() -> bool:
        listed, kwargs = [], {"stateMachineArn": machine, "maxResults": 1000}
        while True:
            page = sfn.list_executions(**kwargs)
            listed += page["executions"]
            if not page.get("nextToken"):
                break
            kwargs["nextToken"] = page["nextToken"]
        return names <= {e["name"] for e in listed if e["status"] != "RUNNING"}

    try:
        wait_until(done, timeout=timeout, initial=0.2, maximum=1.0, what="the document workflows")
    except WaitTimeout:
        return False
    return True


def duration_seconds(sfn: Any, arn: str) -> float:
    described = sfn.describe_execution(executionArn=arn)
    return (described["stopDate"] - described["startDate"]).total_seconds()


def in_process(clients: Any, outputs: dict[str, Any], docs: list[documents.Document]) -> float:
    """Seconds to run extract -> sentiment + summary -> store for `docs` in this process."""
    for path in (ROOT / "layers" / "shared" / "python", ROOT / "functions"):
        if str(path) not in sys.path:
            sys.path.insert(0, str(path))
    from document_steps import logic

    s3, dynamodb = clients("s3"), clients("dynamodb")
    bucket, output = outputs["landing_bucket_name"], outputs["output_bucket_name"]
    events = []
    for doc in docs:  # uploaded under a prefix the rule does not match: no workflow runs for these
        key = "bench-inprocess/" + doc.key.rsplit("/", 1)[-1]
        etag = s3.put_object(Bucket=bucket, Key=key, Body=doc.body)["ETag"].strip('"')
        events.append({"document": {"bucket": bucket, "key": key, "etag": etag, "size": len(doc.body)}})
    limits = logic.Limits()
    logic.sentiment_of("warm up the lexicon.")
    started = time.perf_counter()
    for event in events:
        state = logic.extract(event, s3, output, limits)
        text = logic.read_text(state, s3)
        state = {**state, "analysis": [logic.sentiment_of(text), logic.summary_of(text)]}
        logic.store(
            state, s3, dynamodb, output_bucket=output, results_table=outputs["documents_results_table_name"]
        )
    return time.perf_counter() - started


def _our_wave(clients: Any, outputs: dict[str, Any], docs_seed: int) -> dict[str, Any]:
    """One wave of ours: DOCUMENTS uploaded at once, waited for; seconds from the first upload to the last
    execution's end as Step Functions recorded it (stopDate), the same rule as the naive side."""
    machine, sfn = outputs["documents_state_machine_arn"], clients("stepfunctions")
    run_ = documents.Run.new(outputs["documents_prefix"])
    docs = documents.generate(DOCUMENTS, run_.prefix, seed=docs_seed, bad=False)
    started, started_wall = time.perf_counter(), time.time()
    documents.upload(clients, outputs["landing_bucket_name"], run_, docs)
    # Waited for as the naive side waits for its executions (one ListExecutions per poll, 0.2 s growing to 1 s),
    # not with a DescribeExecution per document per poll, which would take CPU from the pipeline.
    finished = _wait_listed(sfn, machine, {t.name for t in run_.tracked}, timeout=900)
    observed = time.perf_counter() - started
    documents.poll(clients, machine, run_)  # statuses, outputs, errors
    stops = {
        t.name: sfn.describe_execution(executionArn=documents.execution_arn(machine, t.name)).get("stopDate")
        for t in run_.tracked
    }
    ended = all(stops.values()) and bool(stops)
    latency = (
        [stops[t.name].timestamp() - (started_wall + t.uploaded_at - started) for t in run_.tracked]
        if ended
        else [t.finished_at - t.uploaded_at for t in run_.tracked if t.finished_at is not None]
    )
    return {
        "run": run_,
        "docs": docs,
        "finished": finished,
        "seconds": max(v.timestamp() for v in stops.values()) - started_wall if ended else observed,
        "observed_seconds": observed,
        "latency": latency,
    }


def run() -> dict:
    with deployed_cloud() as deployed:
        clients, outputs = deployed.cloud.boto3_client, deployed.outputs
        machine = outputs["documents_state_machine_arn"]
        step_functions = dict(outputs["documents_function_names"])
        # Every function a document runs: the steps and the start function the rule invokes.
        functions = [*step_functions.values(), outputs["documents_start_function_name"]]
        naive_side = _naive(deployed, step_functions)
        # Warm-up: the first execution of each step function starts its execution environment.
        warm = documents.Run.new(outputs["documents_prefix"])
        documents.upload(
            clients,
            outputs["landing_bucket_name"],
            warm,
            documents.generate(WARMUP, warm.prefix, seed=3, bad=False),
        )
        documents.wait(clients, machine, warm, timeout=300)
        naive_side.burst(documents.generate(WARMUP, "", seed=3, bad=False), "naive documents (warm-up)")

        # Waves of the same documents alternate between the two sides, and each side's figure is its median wave:
        # one wave ends in seconds, where a scheduler hiccup on 2 cores moved a single wave's figure by a quarter.
        since = baselines.snapshot(deployed.cloud, functions)
        naive_since = baselines.snapshot(deployed.cloud, naive_side.functions)
        waves, naive_waves = [], []
        for wave in range(WAVES):
            waves.append(_our_wave(clients, outputs, docs_seed=11 + wave))
            naive_waves.append(naive_side.burst(documents.generate(DOCUMENTS, "", seed=11 + wave, bad=False)))
        figures = baselines.figures_since(deployed.cloud, since)
        naive_figures = baselines.figures_since(deployed.cloud, naive_since)
        finished = all(w["finished"] for w in waves)
        elapsed = statistics.median(w["seconds"] for w in waves)
        naive_elapsed = statistics.median(w["seconds"] for w in naive_waves)
        tracked = [item for w in waves for item in w["run"].tracked]
        rows = [
            row
            for w in waves
            for row in documents.outcomes(
                clients, w["run"], outputs["documents_results_table_name"], outputs["failures_table_name"]
            )
        ]
        counts = documents.count(rows)
        naive_counts = [naive_side.results(w["prefix"]) for w in naive_waves]
        per_state: dict[str, list[float]] = collections.defaultdict(list)
        execution_seconds = []
        histories = []
        sfn = clients("stepfunctions")
        for item in tracked:
            arn = documents.execution_arn(machine, item.name)
            history = sfn.get_execution_history(executionArn=arn, maxResults=1000)["events"]
            histories.append(history)
            for name, seconds in state_durations(history).items():
                per_state[name].append(seconds)
            for child in nested_executions(history):  # the Express analysis: its states too (local history)
                child_history = sfn.get_execution_history(executionArn=child, maxResults=1000)["events"]
                for name, seconds in state_durations(child_history).items():
                    per_state[f"analysis.{name}"].append(seconds)
            execution_seconds.append((history[-1]["timestamp"] - history[0]["timestamp"]).total_seconds())
        latency = [seconds for w in waves for seconds in w["latency"]]
        # Lambda time per document, one document at a time (see SEQUENTIAL)
        sequential_run = documents.Run.new(outputs["documents_prefix"])
        sequential = documents.generate(SEQUENTIAL, sequential_run.prefix, seed=13, bad=False)
        since_sequential = baselines.snapshot(deployed.cloud, functions)
        for doc in sequential:
            documents.upload(clients, outputs["landing_bucket_name"], sequential_run, [doc], workers=1)
            documents.wait(clients, machine, sequential_run, timeout=300)
        sequential_figures = baselines.figures_since(deployed.cloud, since_sequential)
        naive_since = baselines.snapshot(deployed.cloud, naive_side.functions)
        naive_side.one_at_a_time(documents.generate(SEQUENTIAL, "", seed=13, bad=False))
        naive_sequential = baselines.figures_since(deployed.cloud, naive_since)
        # The nested Express analysis of the same documents: executions and durations (what Express bills).
        express_seconds = [
            duration_seconds(sfn, child)
            for item in sequential_run.tracked
            for child in nested_executions(
                sfn.get_execution_history(
                    executionArn=documents.execution_arn(machine, item.name), maxResults=1000
                )["events"]
            )
        ]
        in_process_seconds = in_process(clients, outputs, waves[0]["docs"])
        naive = {
            "documents": DOCUMENTS,
            "waves": WAVES,
            "wave_seconds": [round(w["seconds"], 2) for w in naive_waves],
            "seconds": round(naive_elapsed, 2),
            "documents_per_minute": round(DOCUMENTS / naive_elapsed * 60, 1),
            "lambda_concurrent": naive_figures,
            "lambda": naive_sequential,
            "sequential_documents": SEQUENTIAL,
            "functions": naive_side.names,
            "state_machine": naive_side.machine,
            "transitions_per_execution": naive_side.transitions(),
            "results": sum(r for r, _ in naive_counts),
            "sentiment_right": sum(right for _, right in naive_counts),
        }
        docs = [doc for w in waves for doc in w["docs"]]

    per_minute = DOCUMENTS / elapsed * 60
    in_process_per_minute = DOCUMENTS / in_process_seconds * 60
    result = {
        "documents": DOCUMENTS,
        "waves": WAVES,
        "wave_seconds": [round(w["seconds"], 2) for w in waves],
        "all_finished": finished,
        "counts": counts.__dict__,
        "terraform_apply_seconds": round(deployed.apply_seconds, 1),
        "end_to_end_seconds": round(elapsed, 2),
        "end_to_end_observed_seconds": round(statistics.median(w["observed_seconds"] for w in waves), 2),
        "documents_per_minute": round(per_minute, 1),
        "upload_to_finished_seconds": summary(latency),
        "execution_seconds": summary(execution_seconds),
        "state_seconds": {name: summary(values) for name, values in sorted(per_state.items())},
        "in_process_seconds": round(in_process_seconds, 2),
        "in_process_documents_per_minute": round(in_process_per_minute, 1),
        "ratio_vs_in_process": round(per_minute / in_process_per_minute, 3),
        "lambda_concurrent": figures,
        "lambda": sequential_figures,
        "sequential_documents": SEQUENTIAL,
        "transitions_per_execution": baselines.transitions(histories),
        "text_read_back_share": round(sum(map(text_read_back, histories)) / len(histories), 3) if histories else 1.0,
        "express": {
            "executions_per_document": len(express_seconds) / SEQUENTIAL,
            "seconds": summary(express_seconds),
            "billed_seconds_mean": round(
                sum(map(cost.express_billed_seconds, express_seconds)) / max(1, len(express_seconds)), 3
            ),
            "memory_mb": cost.EXPRESS_MEMORY_MB,
        },
        "naive": naive,
    }
    result["cost"] = _cost(result, docs)
    result["ratios"] = {
        "throughput_ours_to_naive": round(per_minute / naive["documents_per_minute"], 2),
        "lambda_ms_per_document_naive_to_ours": round(
            ms_per_event(naive["lambda"].values(), SEQUENTIAL)
            / ms_per_event(sequential_figures.values(), SEQUENTIAL),
            2,
        ),
    }
    rows_ = [
        ("terraform apply, local env (s)", result["terraform_apply_seconds"], "whole stack"),
        (
            "documents end to end",
            DOCUMENTS * WAVES,
            f"{WAVES} waves of {DOCUMENTS}; {counts.results} results, {counts.sentiment_right} sentiment right",
        ),
        (
            "documents/minute (workflow)",
            result["documents_per_minute"],
            f"median wave {elapsed:.1f} s from first upload to last execution end "
            f"(waves {', '.join(f'{w:.1f}' for w in result['wave_seconds'])})",
        ),
        (
            "documents/minute (in-process)",
            result["in_process_documents_per_minute"],
            "the same step logic, one process",
        ),
        (
            "ratio workflow / in-process",
            result["ratio_vs_in_process"],
            "orchestration + Lambda runtime overhead",
        ),
        (
            "upload -> finished p50 (s)",
            result["upload_to_finished_seconds"]["p50"],
            f"p90 {result['upload_to_finished_seconds']['p90']}",
        ),
        (
            "execution p50 (s)",
            result["execution_seconds"]["p50"],
            f"p90 {result['execution_seconds']['p90']}",
        ),
    ]
    rows_ += [
        (f"state {name} p50 (s)", values["p50"], f"p90 {values['p90']}")
        for name, values in result["state_seconds"].items()
    ]
    rows_ += [
        (
            "naive (seed 001 pattern 3) documents/minute",
            naive["documents_per_minute"],
            f"median wave {naive['seconds']:.1f} s (waves {', '.join(f'{w:.1f}' for w in naive['wave_seconds'])}); "
            f"{naive['results']} results, {naive['sentiment_right']} sentiment right",
        ),
        ("ours / naive documents/minute", result["ratios"]["throughput_ours_to_naive"], "times"),
        (
            "Lambda billed ms per document, ours / naive",
            f"{ms_per_event(sequential_figures.values(), SEQUENTIAL):.1f} / {ms_per_event(naive['lambda'].values(), SEQUENTIAL):.1f}",
            f"naive x{result['ratios']['lambda_ms_per_document_naive_to_ours']}",
        ),
        (
            "Standard state transitions per document, ours / naive",
            f"{result['transitions_per_execution']:g} / {naive['transitions_per_execution']:g}",
            "Standard workflows bill per transition",
        ),
        (
            "Express analysis executions per document",
            f"{result['express']['executions_per_document']:g}",
            f"billed {result['express']['billed_seconds_mean']} s at {cost.EXPRESS_MEMORY_MB} MB (request + duration)",
        ),
        (
            "USD per 1M documents, ours / naive",
            f"{result['cost']['ours']['usd']:.2f} / {result['cost']['naive']['usd']:.2f}",
            f"naive costs x{result['cost']['ratio_naive_to_ours']}",
        ),
    ]
    show("pipeline 4 (document workflow) on the local cloud", rows_)
    print(f"wrote {write('documents', result)}")
    return result


def ms_per_event(rows: Any, events: int) -> float:
    """Billed Lambda ms per event, summed over a pipeline's functions."""
    return sum((r["mean_billed_ms"] or 0) * r["invocations"] for r in rows) / events


def _naive(deployed: Any, step_functions: dict[str, str]) -> baselines.NaiveDocuments:
    """The naive pipeline on the same local cloud, each step with our step's memory (trigger and notify: 128 MB,
    the seed's CDK default)."""
    lam = deployed.cloud.boto3_client("lambda")
    memory = {
        step: lam.get_function_configuration(FunctionName=fn)["MemorySize"] for step, fn in step_functions.items()
    }
    manifest = json.loads((ROOT / "dist" / "manifest.json").read_text())
    artifact = ROOT / "dist" / manifest["artifacts"]["functions/document_steps"]["path"]
    return baselines.NaiveDocuments(deployed.cloud, artifact, memory)


def _cost(result: dict[str, Any], docs: list[documents.Document]) -> dict[str, Any]:
    naive = result["naive"]
    pdf_share = sum(d.kind == "pdf" for d in docs) / len(docs)
    ours = cost.add(*(cost.measured_lambda(f, SEQUENTIAL) for f in result["lambda"].values()))
    naive_lambda = cost.add(*(cost.measured_lambda(f, SEQUENTIAL) for f in naive["lambda"].values()))
    express = result["express"]
    return cost.compare(
        cost.documents_usage(
            ours,
            transitions=result["transitions_per_execution"],
            pdf_share=pdf_share,
            validation_step=False,
            text_in_s3=True,
            text_reads=2 * result["text_read_back_share"],
            express=cost.express_usage(express["executions_per_document"], express["billed_seconds_mean"]),
        ),
        cost.documents_usage(
            naive_lambda,
            transitions=naive["transitions_per_execution"],
            pdf_share=pdf_share,
            validation_step=True,
            text_in_s3=False,
        ),
    )
