"""Diagnostic, not part of ``make bench``: what the nested Express analysis costs the local Step Functions engine.

Deploys the stack on a fresh local cloud, makes a copy of the document workflow whose Analyse task is the analysis
workflow's Parallel state inline (same branches, same Lambda functions, ``ResultPath`` ``$.analysis``), and starts
both directly (no upload event, no start function) for the same number of documents, alternately, after a warm-up.
Prints documents/minute per variant and round. On AWS the inline variant costs 2 Standard transitions more per
document; this measures only the local engine's side of the trade.

    .venv/bin/python -m bench.documents_nesting [documents] [rounds]
"""

from __future__ import annotations

import json
import sys
import time
import uuid
from typing import Any

from sluicectl import documents

from .common import deployed_cloud
from .documents import _wait_listed


def inline_definition(standard: dict[str, Any], analysis: dict[str, Any]) -> dict[str, Any]:
    """The document workflow with its nested Analyse task replaced by the analysis workflow's Parallel state."""
    parallel = dict(analysis["States"][analysis["StartAt"]])
    parallel.pop("End", None)
    parallel.update(Next=standard["States"]["Analyse"]["Next"], ResultPath="$.analysis")
    parallel["Catch"] = standard["States"]["Analyse"]["Catch"]
    inline = json.loads(json.dumps(standard))
    inline["States"]["Analyse"] = parallel
    return inline


def main(count: int = 60, rounds: int = 2) -> None:
    with deployed_cloud() as deployed:
        client, outputs = deployed.cloud.boto3_client, deployed.outputs
        sfn = client("stepfunctions")
        nested = outputs["documents_state_machine_arn"]
        described = sfn.describe_state_machine(stateMachineArn=nested)
        analysis = sfn.describe_state_machine(stateMachineArn=outputs["documents_analysis_state_machine_arn"])
        inline = sfn.create_state_machine(
            name=f"documents-inline-{uuid.uuid4().hex[:6]}",
            definition=json.dumps(inline_definition(json.loads(described["definition"]), json.loads(analysis["definition"]))),
            roleArn=described["roleArn"],
            type="STANDARD",
        )["stateMachineArn"]
        bucket = outputs["landing_bucket_name"]

        def wave(machine: str, seed: int) -> tuple[float, int]:
            # Outside the documents prefix: the upload rule does not start the real workflow for them.
            run = documents.Run(uuid.uuid4().hex[:8], f"nesting/{uuid.uuid4().hex[:6]}/")
            documents.upload(client, bucket, run, documents.generate(count, run.prefix, seed=seed, bad=False))
            started = time.time()
            for item in run.tracked:
                document = {"bucket": bucket, "key": item.document.key, "etag": item.etag, "size": len(item.document.body), "event_time": "2026-01-01T00:00:00Z"}
                sfn.start_execution(stateMachineArn=machine, name=item.name, input=json.dumps({"document": document}))
            # Waited for as the documents benchmark waits (one ListExecutions per poll), not with a DescribeExecution
            # per document per poll, which would take CPU from the executions measured.
            if not _wait_listed(sfn, machine, {item.name for item in run.tracked}, timeout=900):
                raise SystemExit(f"{count} executions of {machine} did not end within 900 s")
            ended = [sfn.describe_execution(executionArn=documents.execution_arn(machine, item.name)) for item in run.tracked]
            last = max(d["stopDate"].timestamp() for d in ended)
            return count / (last - started) * 60, sum(d["status"] == "SUCCEEDED" for d in ended)

        wave(nested, 3), wave(inline, 3)  # warm-up: an execution environment per concurrent invocation
        for round_ in range(rounds):
            for name, machine in (("nested", nested), ("inline", inline)):
                rate, succeeded = wave(machine, 11 + round_)
                print(f"round {round_ + 1} {name}: {rate:.1f} documents/minute ({succeeded}/{count} succeeded)", flush=True)


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:3]))
