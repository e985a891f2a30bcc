"""`sluicectl`: deploy the stack and drive the pipelines from a terminal.

    sluicectl deploy                 terraform init + apply of the local environment onto the running local cloud
    sluicectl demo                   the ingest pipeline end to end with sample data, printing per-stage counts
    sluicectl route                  pipeline 2: mixed records through the router, counted per type and reason
    sluicectl fanout                 pipeline 2: uploads through the S3 fan-out, completions read from the client queue
    sluicectl documents              pipeline 4: PDF and text documents through the Step Functions workflow
    sluicectl outputs                the deployed environment's Terraform outputs
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from localcloud.client import LocalCloudClient
from localcloud.config import Config

from . import api_keys, inference, ingest, routing
from . import documents as document_runs
from .terraform import ROOT, Terraform, TerraformError, check_toolchain

app = typer.Typer(help="Deploy and drive sluice pipelines.", no_args_is_help=True)
console = Console()
ArtifactsOption = Annotated[Path, typer.Option(help="Build output holding manifest.json.")]


def local_cloud(start: bool = False) -> tuple[LocalCloudClient, Config]:
    config = Config.from_env()
    client = LocalCloudClient.from_config(config)
    if client.health() is None:
        if not start:
            console.print(f"[red]no local cloud at {client.endpoint}[/]: run `make up` (python -m localcloud up)")
            raise typer.Exit(1)
        subprocess.run([sys.executable, "-m", "localcloud", "up"], check=True)
        client = LocalCloudClient.from_config(config)
    return client, config


def local_terraform(client: LocalCloudClient, config: Config, artifacts: Path) -> Terraform:
    manifest = artifacts / "manifest.json"
    if not manifest.exists():
        console.print(f"[red]no build at {artifacts}[/]: run `make build` first")
        raise typer.Exit(1)
    return Terraform.local(client.endpoint, config.home / "terraform", artifacts.resolve())


def deploy_local(artifacts: Path, start: bool = False) -> tuple[LocalCloudClient, dict]:
    problems = check_toolchain()
    if problems:
        for problem in problems:
            console.print(f"[red]✗[/] {problem}")
        raise typer.Exit(1)
    client, config = local_cloud(start=start)
    terraform = local_terraform(client, config, artifacts)
    with console.status("terraform init + apply (local environment)…"):
        try:
            terraform.init()
            seconds = terraform.apply()
        except TerraformError as exc:
            console.print(f"[red]{exc}[/]")
            raise typer.Exit(1) from exc
    console.print(f"[green]applied[/] terraform/environments/local to {client.endpoint} in {seconds:.1f} s")
    outputs = terraform.outputs()
    inference.use_api_key(outputs)
    return client, outputs


@app.command()
def deploy(artifacts: ArtifactsOption = ROOT / "dist", start: Annotated[bool, typer.Option(help="Start the local cloud if it is not running.")] = False) -> None:
    """Apply the local Terraform environment to the running local cloud."""
    deploy_local(artifacts, start=start)


@app.command()
def outputs(artifacts: ArtifactsOption = ROOT / "dist") -> None:
    """Print the local environment's Terraform outputs as JSON."""
    client, config = local_cloud()
    print(json.dumps(local_terraform(client, config, artifacts).outputs(), indent=2))


@app.command()
def demo(
    objects: Annotated[int, typer.Option(help="Objects to upload.")] = 200,
    malformed: Annotated[float, typer.Option(help="Share of malformed objects (0..1).")] = 0.1,
    seed: Annotated[int | None, typer.Option(help="Sample seed (default: random per run).")] = None,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for every object to end.")] = 180.0,
    artifacts: ArtifactsOption = ROOT / "dist",
) -> None:
    """Run the ingest pipeline end to end on the local cloud and print where every object ended."""
    client, outputs_ = deploy_local(artifacts, start=True)
    run = ingest.Run.new(objects, malformed, seed)
    s3 = client.boto3_client("s3")
    started = time.monotonic()
    ingest.upload(s3, outputs_["landing_bucket_name"], run.samples)
    console.print(f"uploaded {len(run.samples)} objects ({len(run.malformed)} malformed) under s3://{outputs_['landing_bucket_name']}/{run.prefix}")
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console) as progress:
        task = progress.add_task("objects ended (processed or failed)", total=len(run.samples))
        counts = ingest.wait_accounted(
            client.boto3_client, outputs_, run, timeout, on_progress=lambda c: progress.update(task, completed=c.accounted)
        )
    elapsed = time.monotonic() - started
    _print_counts(counts, run, elapsed, client)
    expected_ok = counts.processed == len(run.valid) and counts.failed == len(run.malformed) and counts.lost == 0
    if not expected_ok:
        console.print("[red]the pipeline did not account for every object[/]")
        raise typer.Exit(1)
    console.print(f"[green]✓ every object accounted for[/]: {counts.processed} processed, {counts.failed} failed, 0 lost ({len(run.samples) / elapsed:.0f} objects/s)")


def _print_counts(counts: ingest.Counts, run: ingest.Run, elapsed: float, client: LocalCloudClient) -> None:
    table = Table(title=f"ingest run {run.run_id} · {elapsed:.1f} s", show_lines=False)
    table.add_column("stage")
    table.add_column("count", justify="right")
    table.add_column("expected", justify="right")
    rows = [
        ("uploaded to the landing bucket", counts.uploaded, len(run.samples)),
        ("processed → results table", counts.processed, len(run.valid)),
        ("processed → output bucket", counts.outputs, len(run.valid)),
        ("failure records", counts.failed, len(run.malformed)),
        ("dead-lettered (poison)", counts.dead_lettered, len(run.malformed)),
        ("still in the queue", counts.in_queue, 0),
        ("lost", counts.lost, 0),
    ]
    for stage, value, expected in rows:
        style = None if value == expected else "red"
        table.add_row(stage, str(value), str(expected), style=style)
    console.print(table)
    try:
        status = client.status()
    except Exception:
        return
    deliveries = Table(title="local cloud deliveries")
    for column in ("delivery", "matched/messages", "delivered/batches", "failures"):
        deliveries.add_column(column)
    for row in status["deliveries"]:
        if row["kind"] == "rule":
            deliveries.add_row(f"rule {row['rule']}", str(row["matched"]), str(row["delivered"]), str(row["failed"]))
        elif row["kind"] == "sqs":
            deliveries.add_row(
                f"{row['source']} → {row['function']}", str(row["messages"]), str(row["batches"]), f"{row['item_failures']} items, {row['function_errors']} errors"
            )
    console.print(deliveries)


@app.command()
def route(
    records: Annotated[int, typer.Option(help="Records to submit.")] = 300,
    unroutable: Annotated[float, typer.Option(help="Share of unknown or malformed records (0..1).")] = 0.2,
    seed: Annotated[int | None, typer.Option(help="Sample seed (default: random per run).")] = None,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for every record to end.")] = 180.0,
    artifacts: ArtifactsOption = ROOT / "dist",
) -> None:
    """Pipeline 2: submit mixed records (half as Record Submitted events, half in records files) and print where
    every one ended: its type's processor, or the unroutable queue with the reason."""
    client, outputs_ = deploy_local(artifacts, start=True)
    run = routing.RecordRun.new(records, unroutable, seed)
    by_event = [s for s in run.samples if not s.file_only][::2]
    by_file = [s for s in run.samples if s not in by_event]
    started = time.monotonic()
    calls = routing.submit_events(client.boto3_client("events"), outputs_["domain_bus_name"], by_event)
    keys = routing.upload_files(client.boto3_client("s3"), outputs_["landing_bucket_name"], run, by_file)
    console.print(f"submitted {len(by_event)} records in {calls} PutEvents calls and {len(by_file)} in {len(keys)} files under {run.prefix}")
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console) as progress:
        task = progress.add_task("records ended (processed or unroutable)", total=len(run.samples))
        counts = routing.wait_routed(client.boto3_client, outputs_, run, timeout, on_progress=lambda c: progress.update(task, completed=c.accounted))
    elapsed = time.monotonic() - started
    expected = run.expected_counts()
    table = Table(title=f"routing run {run.run_id} · {elapsed:.1f} s")
    for column, justify in (("where", "left"), ("count", "right"), ("expected", "right")):
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    rows = [(f"{t} processor", counts.by_type[t], expected[t]) for t in routing.TYPES]
    rows += [(f"unroutable: {reason}", counts.reasons[reason], n) for reason, n in sorted(run.expected_reasons().items())]
    rows += [("misrouted", counts.misrouted, 0), ("lost", counts.lost, 0)]
    for where, value, want in rows:
        table.add_row(where, str(value), str(want), style=None if value == want else "red")
    console.print(table)
    ok = counts.lost == 0 and counts.misrouted == 0 and all(counts.by_type[t] == expected[t] for t in routing.TYPES)
    ok = ok and counts.reasons == run.expected_reasons()
    if not ok:
        console.print("[red]the pipeline did not account for every record as expected[/]")
        raise typer.Exit(1)
    console.print(f"[green]✓ every record accounted for[/]: {counts.routed} processed by their type, {counts.unroutable} unroutable with a reason, 0 lost")


@app.command()
def fanout(
    objects: Annotated[int, typer.Option(help="Objects to upload under uploads/.")] = 12,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for every completion.")] = 120.0,
    artifacts: ArtifactsOption = ROOT / "dist",
) -> None:
    """Pipeline 2's S3 fan-out: upload objects, then wait on the completions queue (no polling of the workers)
    until every upload has been processed by every consumer."""
    client, outputs_ = deploy_local(artifacts, start=True)
    run = routing.UploadRun.new(objects)
    started = time.monotonic()
    routing.upload_objects(client.boto3_client("s3"), outputs_["landing_bucket_name"], run.uploads)
    console.print(f"uploaded {objects} objects under s3://{outputs_['landing_bucket_name']}/{run.prefix}")
    completions: dict = {}
    deadline = started + timeout
    sqs = client.boto3_client("sqs")
    while len(completions) < objects and time.monotonic() < deadline:
        routing.receive_completions(sqs, outputs_["completions_queue_url"], run, completions, wait=5)
    table = Table(title=f"fan-out run {run.run_id} · {time.monotonic() - started:.1f} s")
    for column in ("object", *sorted(outputs_["fanout_consumers"])):
        table.add_column(column)
    for key, detail in sorted(completions.items()):
        consumers = detail["consumers"]
        cells = {
            "metadata": lambda r: r.get("format", r.get("status")),
            "checksum": lambda r: f"{r.get('verdict', r.get('status'))} {str(r.get('sha256', ''))[:12]}",
            "preview": lambda r: r.get("preview_key", r.get("status")),
        }
        table.add_row(key.removeprefix(run.prefix), *(str(cells[c](consumers[c])) for c in sorted(outputs_["fanout_consumers"])))
    console.print(table)
    if len(completions) != objects:
        console.print(f"[red]{objects - len(completions)} uploads did not complete[/]")
        raise typer.Exit(1)
    console.print(f"[green]✓ every upload completed[/]: {objects} completions read from the client's queue")


api_key_app = typer.Typer(help="API keys of the HTTP APIs (hashes in SSM; the authorizer reads them).", no_args_is_help=True)
app.add_typer(api_key_app, name="api-key")
ParameterOption = Annotated[
    str | None, typer.Option("--parameter", help="The key store's SSM parameter (output api_keys_parameter); default: the local environment's.")
]


def _key_store(parameter: str | None) -> tuple[object, str]:
    """An SSM client and the key store's name: the given one (any endpoint boto3 is configured for) or the local
    environment's."""
    import boto3

    if parameter is not None:
        return boto3.client("ssm"), parameter
    client, config = local_cloud()
    return client.boto3_client("ssm"), local_terraform(client, config, ROOT / "dist").outputs()["api_keys_parameter"]


@api_key_app.command("add")
def api_key_add(client_name: Annotated[str, typer.Argument(help="Who the key is for.")], parameter: ParameterOption = None) -> None:
    """Create a key for CLIENT_NAME (replacing its previous one); the key is printed once, only its hash is kept."""
    ssm, name = _key_store(parameter)
    key = api_keys.add(ssm, name, client_name)
    console.print(f"[green]key for {client_name}[/] (shown once; send it as Authorization: Bearer <key>):")
    print(key)


@api_key_app.command("list")
def api_key_list(parameter: ParameterOption = None) -> None:
    """The clients that have a key (never the keys)."""
    ssm, name = _key_store(parameter)
    table = Table("client", "sha256 (first 12)", title=name)
    for client_name, digest in sorted(api_keys.read(ssm, name).items()):
        table.add_row(client_name, digest[:12])
    console.print(table)


@api_key_app.command("revoke")
def api_key_revoke(client_name: Annotated[str, typer.Argument(help="Whose key to revoke.")], parameter: ParameterOption = None) -> None:
    """Delete CLIENT_NAME's key (effective within the authorizer's cache times)."""
    ssm, name = _key_store(parameter)
    if not api_keys.revoke(ssm, name, client_name):
        console.print(f"[red]{client_name} has no key[/]")
        raise typer.Exit(1)
    console.print(f"[green]revoked[/] {client_name}")

@app.command()
def documents(
    count: Annotated[int, typer.Option(help="Good documents to upload (PDF and text, positive and negative).")] = 20,
    bad: Annotated[bool, typer.Option(help="Also upload one of each kind of bad input (corrupt, encrypted, image-only, too long, too large, not UTF-8, empty).")] = True,
    seed: Annotated[int, typer.Option(help="Sample seed.")] = 7,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for every execution to end.")] = 300.0,
    artifacts: ArtifactsOption = ROOT / "dist",
) -> None:
    """Pipeline 4: upload generated documents, follow each one's execution of the document workflow and print its
    result (sentiment, keywords) or its recorded failure (code, cause)."""
    client, outputs_ = deploy_local(artifacts, start=True)
    run = document_runs.Run.new(outputs_["documents_prefix"])
    generated = document_runs.generate(count, run.prefix, seed=seed, bad=bad)
    started = time.monotonic()
    document_runs.upload(client.boto3_client, outputs_["landing_bucket_name"], run, generated)
    console.print(f"uploaded {len(generated)} documents under s3://{outputs_['landing_bucket_name']}/{run.prefix}")
    machine = outputs_["documents_state_machine_arn"]
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console) as progress:
        task = progress.add_task("executions ended", total=len(generated))
        document_runs.wait(client.boto3_client, machine, run, timeout=timeout, on_progress=lambda n: progress.update(task, completed=n))
    elapsed = time.monotonic() - started
    rows = document_runs.outcomes(client.boto3_client, run, outputs_["documents_results_table_name"], outputs_["failures_table_name"])
    table = Table(title=f"documents run {run.run_id} · {elapsed:.1f} s")
    for column, justify in (("document", "left"), ("expected", "left"), ("execution", "left"), ("sentiment", "right"), ("keywords / cause", "left"), ("s", "right")):
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    for row in rows:
        sentiment = f"{row.sentiment} {row.compound:+.2f}" if row.sentiment else (row.error_code or "")
        detail = ", ".join(row.keywords) if row.sentiment else (row.reason or "")
        style = None if row.as_expected else "red"
        table.add_row(row.key.removeprefix(run.prefix), row.expected, row.status, sentiment, detail[:70], f"{row.seconds or 0:.1f}", style=style)
    console.print(table)
    counts = document_runs.count(rows)
    console.print(
        f"{counts.results} results, {counts.failure_records} failure records, sentiment right for {counts.sentiment_right}/{count}; "
        f"{len(generated) / elapsed * 60:.0f} documents/minute end to end"
    )
    if counts.accounted != len(generated) or counts.as_expected != len(generated):
        console.print("[red]not every document ended as expected[/]")
        raise typer.Exit(1)
    console.print(f"[green]✓ every document accounted for[/]: {counts.results} results, {counts.failure_records} failures recorded, 0 lost")


def main() -> None:
    app()
