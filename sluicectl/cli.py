"""`sluicectl`: deploy the stack and drive the pipelines from a terminal.

    sluicectl deploy                 terraform init + apply of the local environment onto the running local cloud
    sluicectl demo                   the ingest pipeline end to end with sample data, printing per-stage counts
    sluicectl route                  pipeline 2: mixed records through the router, counted per type and reason
    sluicectl fanout                 pipeline 2: uploads through the S3 fan-out, completions read from the client queue
    sluicectl documents              pipeline 4: PDF and text documents through the Step Functions workflow
    sluicectl stream                 pipeline 5: a synthetic transaction stream with labelled fraud; recall/precision
    sluicectl outputs                the deployed environment's Terraform outputs
    sluicectl dlq list|inspect|redrive|purge    dead-letter queues (sluicectl/ops_cli.py)
    sluicectl replay --bus B --from T --to T    replay a bus's archived events of a time window
    sluicectl status [--watch]       queues, DLQs, functions and EMF metrics at a glance

    sluicectl chaos                  the reliability suite: faults, a burst, fuzzed input, redrive; lost = 0, duplicates = 0
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

from . import api_keys, inference, ingest, retraining, routing
from . import chaos as chaos_suite
from . import documents as document_runs
from . import stream as transactions
from .ops_cli import dlq_app, replay, status
from .terraform import ROOT, Terraform, TerraformError, check_toolchain

app = typer.Typer(help="Deploy and drive sluice pipelines.", no_args_is_help=True)
console = Console()
app.add_typer(dlq_app, name="dlq")  # sluicectl/ops_cli.py: dlq list|inspect|redrive|purge, replay, status
app.command()(replay)
app.command()(status)
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


def chaos_tables(report: chaos_suite.Report) -> list[Table]:
    """One table per pipeline: a row per phase and the total after the redrive."""
    tables = []
    for pipeline, tallies in report.pipelines.items():
        table = Table(title=f"chaos · {pipeline}")
        for column in ("phase", "sent", "processed", "failure records", "in DLQ", "duplicates", "lost", "s"):
            table.add_column(column, justify="left" if column == "phase" else "right")
        for tally in tallies:
            bad = tally.lost > 0 or tally.duplicates > 0
            final = tally is tallies[-1]
            table.add_row(
                tally.phase,
                str(tally.sent),
                str(tally.processed),
                str(tally.failure_records),
                str(tally.in_dlq),
                str(tally.duplicates),
                str(tally.lost),
                f"{tally.seconds:.0f}",
                style=("bold red" if bad else "bold green") if final else ("yellow" if bad else None),
                end_section=len(tallies) > 1 and tally is tallies[-2],
            )
        tables.append(table)
    return tables


@app.command()
def chaos(
    scale: Annotated[int, typer.Option(help="Inputs per pipeline in the baseline and faults phases (the burst sends --burst times as many).")] = 20,
    burst: Annotated[int, typer.Option(help="Burst factor.")] = 10,
    fuzz: Annotated[int, typer.Option(help="Fuzzed bad inputs per pipeline (hypothesis).")] = 30,
    pipeline: Annotated[list[str] | None, typer.Option(help=f"Only these pipelines (default {', '.join(chaos_suite.DRIVERS)}" + (f"; also {', '.join(chaos_suite.EXTRA_DRIVERS)}" if chaos_suite.EXTRA_DRIVERS else "") + ").")] = None,
    timeout: Annotated[float, typer.Option(help="Seconds each phase may take to settle.")] = 600.0,
    report_file: Annotated[Path | None, typer.Option("--json", help="Also write the report as JSON here.")] = None,
    artifacts: ArtifactsOption = ROOT / "dist",
) -> None:
    """The reliability suite: per pipeline a known set of inputs through a baseline, faults (errors, timeouts,
    throttles, duplicate and out-of-order delivery), a 10x burst and fuzzed bad input, then the faults removed and
    every DLQ redriven. Prints where every input ended; exits 1 if any was lost or duplicated."""
    names = pipeline or list(chaos_suite.DRIVERS)
    unknown = [n for n in names if n not in chaos_suite.ALL_DRIVERS]
    if unknown:
        console.print(f"[red]unknown pipeline(s): {', '.join(unknown)}[/]")
        raise typer.Exit(2)
    client, outputs_ = deploy_local(artifacts, start=True)
    with console.status("chaos…") as status:
        report = chaos_suite.run(
            client, outputs_, pipelines=names, scale=scale, burst=burst, fuzz=fuzz, timeout=timeout, on_progress=lambda text: status.update(f"chaos · {text}")
        )
    for table in chaos_tables(report):
        console.print(table)
    by_kind = report.injected.get("by_kind", {})
    if by_kind:
        console.print("injected: " + ", ".join(f"{kind} {n}" for kind, n in sorted(by_kind.items())))
    if report_file:
        report_file.write_text(json.dumps(report.as_dict(), indent=1))
    if not report.ok:
        console.print("[red]✗ the invariant does not hold: inputs were lost or duplicated[/]")
        raise typer.Exit(1)
    console.print(f"[green]✓ lost = 0 and duplicates = 0 for every pipeline[/] ({report.seconds:.0f} s)")



@app.command("daily-report")
def daily_report(
    day: Annotated[
        str | None,
        typer.Option(
            "--date",
            help="Report this day (YYYY-MM-DD) by replaying its event; default: fire the schedule now, which reports yesterday.",
        ),
    ] = None,
    force: Annotated[bool, typer.Option(help="With --date: rewrite a report that exists.")] = False,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for the report.")] = 60.0,
    artifacts: ArtifactsOption = ROOT / "dist",
) -> None:
    """Fire the daily report on the local cloud (its EventBridge schedule, or a replay for --date) and print it."""
    from datetime import date as Date

    client, config = local_cloud()
    outputs_ = local_terraform(client, config, artifacts).outputs()
    s3 = client.boto3_client("s3")
    bucket = outputs_["output_bucket_name"]
    if day is None:
        fired = client.fire_schedule(outputs_["daily_report_rule_name"])
        report_day, event_id = retraining.day_before(fired["time"]), None
        console.print(
            f"fired {outputs_['daily_report_rule_name']} at {fired['time']}: reporting {report_day}"
        )
    else:
        report_day = Date.fromisoformat(day)
        event = retraining.replay_event(
            f"arn:aws:events:::rule/{outputs_['daily_report_rule_name']}", report_day, force=force
        )
        client.boto3_client("sqs").send_message(
            QueueUrl=outputs_["daily_report_queue_url"], MessageBody=json.dumps(event)
        )
        event_id = event["id"] if force else None
        console.print(f"replayed the daily report for {report_day}{' (force)' if force else ''}")

    def ready() -> dict | None:
        report = retraining.read_report(s3, bucket, report_day)
        return report if report and (event_id is None or report["trigger"]["event_id"] == event_id) else None

    try:
        report = retraining.wait_for(ready, timeout, f"the report of {report_day}")
    except TimeoutError as exc:
        console.print(f"[red]{exc}[/]: see `make logs FN={outputs_['daily_report_function_name']}`")
        raise typer.Exit(1) from exc
    table = Table(title=f"daily report {report['date']} · s3://{bucket}/{retraining.report_key(report_day)}")
    for column in ("category", "objects", "total_items", "total_value", "item_count"):
        table.add_column(column, justify="left" if column == "category" else "right")
    for name, row in report["categories"].items():
        table.add_row(name, *(str(row[c]) for c in ("objects", "total_items", "total_value", "item_count")))
    totals = report["totals"]
    table.add_row(
        "[bold]total[/]",
        *(f"[bold]{totals[c]}[/]" for c in ("objects", "total_items", "total_value", "item_count")),
    )
    console.print(table)


@app.command()
def retrain(
    corrupt_labels: Annotated[
        bool, typer.Option(help="Test switch: train the challenger on wrong labels (it must be refused).")
    ] = False,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for the run's decision.")] = 300.0,
    artifacts: ArtifactsOption = ROOT / "dist",
) -> None:
    """Request a retraining run now (RetrainingRequested, manual) and print its decision."""
    client, config = local_cloud()
    outputs_ = local_terraform(client, config, artifacts).outputs()
    ddb = client.boto3_client("dynamodb")
    table = outputs_["feedback_table_name"]
    before = retraining.feedback_state(ddb, table).get("last_run_id")
    retraining.request_retraining(
        client.boto3_client("events"),
        outputs_["domain_bus_name"],
        outputs_["inference_model_name"],
        outputs_["retraining_label_threshold"],
        corrupt_labels=corrupt_labels,
    )
    with console.status("training a challenger…"):
        try:
            state = retraining.wait_run_after(ddb, table, before, timeout)
        except TimeoutError as exc:
            console.print(f"[red]{exc}[/]: see `make logs FN={outputs_['model_retrainer_function_name']}`")
            raise typer.Exit(1) from exc
    pointer = json.loads(
        client.boto3_client("s3")
        .get_object(
            Bucket=outputs_["inference_model_bucket_name"],
            Key=f"models/{outputs_['inference_model_name']}/current.json",
        )["Body"]
        .read()
    )
    colour = "green" if state["last_outcome"] == "promoted" else "yellow"
    console.print(
        f"[{colour}]{state['last_outcome']}[/] (run {state['last_run_id']}); serving {pointer['version']}; {state.get('pending', 0)} new labels pending"
    )

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
@app.command()
def stream(
    rate: Annotated[
        float, typer.Option(help="Records per second the producer sends (0 = as fast as it can).")
    ] = 500.0,
    count: Annotated[int, typer.Option(help="Transactions to send.")] = 5000,
    users: Annotated[int, typer.Option(help="Distinct users (partition keys).")] = 300,
    poison: Annotated[
        int, typer.Option(help="Malformed records to mix in (each ends in the on-failure queue).")
    ] = 0,
    seed: Annotated[int, typer.Option(help="Generator seed.")] = 7,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for every record to be scored.")] = 300.0,
    artifacts: ArtifactsOption = ROOT / "dist",
) -> None:
    """Pipeline 5: send a synthetic transaction stream with labelled fraud patterns at a chosen rate, wait until
    the scorer has finished every record, and print what it flagged against the labels."""
    client, outputs_ = deploy_local(artifacts, start=True)
    s3 = client.boto3_client("s3")
    if not transactions.model_published(
        s3, outputs_["inference_model_bucket_name"], outputs_["fraud_model_name"]
    ):
        console.print(
            "[yellow]no fraud model published[/]: the rule alone scores (run `make fraud-model` for model scores)"
        )
    step = max(1, count // (poison + 1))
    run = transactions.generate(count, users=users, seed=seed, poison=[step * (i + 1) for i in range(poison)])
    uuid_ = outputs_["fraud_scorer_mapping_uuid"]
    baseline = int(transactions.mapping_row(client, uuid_).get("records_done", 0))
    total = len(run.samples)
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    ) as progress:
        sent_task = progress.add_task(f"sent at ≤ {rate:g}/s" if rate else "sent", total=total)
        produced = transactions.produce(
            client.boto3_client("kinesis"),
            outputs_["stream_name"],
            run.samples,
            rate=rate or None,
            on_progress=lambda n: progress.update(sent_task, completed=n),
        )
        done_task = progress.add_task("done by the scorer's mapping", total=total)
        row = transactions.wait_done(
            client,
            uuid_,
            baseline + total,
            timeout,
            on_progress=lambda n: progress.update(done_task, completed=n - baseline),
        )
    dynamodb = client.boto3_client("dynamodb")
    alerts = transactions.alerts_for(dynamodb, outputs_["fraud_alerts_table_name"], run.run_id)
    states = transactions.user_states(dynamodb, outputs_["fraud_features_table_name"], run.users)
    result = transactions.evaluate(run, alerts, states)
    on_failure = int(row.get("on_failure", 0))
    table = Table(
        title=f"stream run {run.run_id} · {total:,} records at {produced.rate:,.0f}/s · {dict(produced.per_shard)}"
    )
    for column, justify in (
        ("pattern", "left"),
        ("sent", "right"),
        ("alerts", "right"),
        ("by the rule", "right"),
        ("by the model", "right"),
    ):
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    for kind in ("normal", *transactions.PATTERNS):
        if kind in result.by_kind:
            r = result.by_kind[kind]
            table.add_row(kind, f"{r['sent']:,}", f"{r['alerts']:,}", f"{r['rule']:,}", f"{r['model']:,}")
    console.print(table)
    summary = Table(title="scorer vs labels")
    for column, justify in (("measure", "left"), ("value", "right"), ("target", "right")):
        summary.add_column(column, justify=justify)  # type: ignore[arg-type]
    rows = [
        ("seed rule: recall", f"{result.rule_recall:.4f}", "≥ 0.95", result.rule_recall >= 0.95),
        ("seed rule: precision", f"{result.rule_precision:.4f}", "≥ 0.90", result.rule_precision >= 0.90),
        ("all fraud (rule + anomaly): recall", f"{result.recall:.4f}", "", True),
        ("all fraud: precision", f"{result.precision:.4f}", "", True),
        (
            "transactions scored (feature store)",
            f"{result.scored:,}",
            f"{total - result.poison:,}",
            result.scored == total - result.poison,
        ),
        ("records sent to the on-failure queue", f"{on_failure:,}", f"{result.poison:,}", True),
        (
            "users whose last transaction is not the last sent",
            str(result.last_mismatch),
            "0",
            result.last_mismatch == 0,
        ),
        ("transactions seen out of order", str(result.late), "0", result.late == 0),
        (
            "per-batch latency p50 / p99 (ms)",
            f"{row.get('batch_ms_p50')} / {row.get('batch_ms_p99')}",
            "",
            True,
        ),
        (
            "iterator age p50 / p99 (ms)",
            f"{row.get('iterator_age_ms_p50')} / {row.get('iterator_age_ms_p99')}",
            "",
            True,
        ),
    ]
    for name, value, target, ok in rows:
        summary.add_row(name, value, target, style=None if ok else "red")
    console.print(summary)
    if not all(ok for *_, ok in rows):
        raise typer.Exit(1)
    console.print(
        f"[green]✓ {result.scored:,} scored, {result.alerts:,} alerts, {result.poison} poison record(s) given up on, 0 lost[/]"
    )


def main() -> None:
    app()
