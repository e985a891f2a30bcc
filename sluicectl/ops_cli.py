"""`sluicectl dlq …`, `sluicectl replay` and `sluicectl status`: the terminal side of sluicectl/ops.py.

    sluicectl dlq list                         every DLQ of the environment: depth, oldest message, source queue
    sluicectl dlq inspect QUEUE [--limit N]    messages with attributes and a body preview, left in the queue
    sluicectl dlq redrive QUEUE [--dry-run]    SQS message move task back to the source queue, with progress
    sluicectl dlq purge QUEUE [--yes] [--dry-run]
    sluicectl replay --bus BUS --from T --to T [--dry-run]   EventBridge archive replay of a time window
    sluicectl status [--watch]                 queues, DLQs, functions and EMF metrics at a glance

`--env` picks the environment (default $SLUICE_ENV or local): `local` talks to the running local cloud
($AWS_ENDPOINT_URL if set, else the instance's endpoint), `dev`/`prod` to AWS through the default credential
chain (which honours $AWS_ENDPOINT_URL too). Resources are found by the environment's prefix, sluice-<env>.
"""

from __future__ import annotations

import json
import os
import time
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import typer
from rich.columns import Columns
from rich.console import Console, Group
from rich.live import Live
from rich.panel import Panel
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table
from rich.text import Text

from . import ops
from .clients import ENVIRONMENTS, clients_for

console = Console()
dlq_app = typer.Typer(help="Dead-letter queues: list, inspect, redrive (SQS message move tasks), purge.", no_args_is_help=True)

EnvOption = Annotated[str, typer.Option("--env", "-e", envvar="SLUICE_ENV", help=f"Environment: {', '.join(ENVIRONMENTS)}.")]
PrefixOption = Annotated[str | None, typer.Option(help="Resource name prefix (default sluice-<env>).")]


class Context:
    """Clients and names for one environment."""

    def __init__(self, env: str, prefix: str | None) -> None:
        if env not in ENVIRONMENTS:
            console.print(f"[red]unknown environment {env!r}[/]: one of {', '.join(ENVIRONMENTS)}")
            raise typer.Exit(2)
        self.env = env
        self.prefix = prefix or f"sluice-{env}"
        self.local = None
        if env == "local":
            from localcloud.client import LocalCloudClient

            endpoint = os.environ.get("AWS_ENDPOINT_URL")
            self.local = LocalCloudClient(endpoint) if endpoint else LocalCloudClient.from_config()
            self.clients = clients_for("local", self.local.endpoint)
        else:
            self.clients = clients_for(env)
        self._cache: dict[str, Any] = {}

    def client(self, service: str) -> Any:
        if service not in self._cache:
            self._cache[service] = self.clients(service)
        return self._cache[service]

    def clock_offset(self) -> float:
        """Seconds the local cloud's clock is ahead of real time (0 on AWS): its events and messages carry that
        time, so windows and ages are measured on it."""
        health = self.local.health() if self.local is not None else None
        return float((health or {}).get("clock_offset_s") or 0.0)

    def local_status(self) -> dict[str, Any] | None:
        if self.local is None:
            return None
        try:
            return self.local.status()
        except Exception:
            return None  # an endpoint that is not the embedded local cloud (LocalStack, a plain moto server)


def _fail(exc: Exception) -> typer.Exit:
    console.print(f"[red]{exc}[/]")
    return typer.Exit(1)


def _age(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds / size:.1f} {unit}"
    return f"{seconds:.0f} s"


# -- dlq ---------------------------------------------------------------------------------------------------------


def dlq_table(queues: list[ops.QueueInfo], title: str = "Dead-letter queues", strip: str = "") -> Table:
    """DLQs with depth, in flight, oldest age and sources; names without `strip` (the prefix) when given."""

    def short(name: str) -> str:
        return name.removeprefix(strip) if strip else name

    table = Table(title=title, title_justify="left")
    for column, justify in (("DLQ", "left"), ("depth", "right"), ("in flight", "right"), ("oldest", "right"), ("source", "left")):
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    for q in queues:
        style = "bold red" if q.depth else None
        table.add_row(short(q.name), str(q.visible), str(q.in_flight), _age(q.oldest_age_s), ", ".join(map(short, q.sources)) or "-", style=style)
    return table


@dlq_app.command("list")
def dlq_list(
    env: EnvOption = "local",
    prefix: PrefixOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON rows.")] = False,
) -> None:
    """Every DLQ of the environment with its depth, the age of its oldest message and its source queue."""
    ctx = Context(env, prefix)
    dlqs = [q for q in ops.discover_queues(ctx.client, ctx.prefix, now=time.time() + ctx.clock_offset()) if q.is_dlq]
    if as_json:
        rows = [{"name": q.name, "url": q.url, "depth": q.depth, "visible": q.visible, "in_flight": q.in_flight, "oldest_age_s": q.oldest_age_s, "sources": q.sources} for q in dlqs]
        print(json.dumps(rows, indent=2))
        return
    console.print(dlq_table(dlqs, title=f"Dead-letter queues of {ctx.prefix}"))
    total = sum(q.depth for q in dlqs)
    console.print(f"[{'red' if total else 'green'}]{total} dead-lettered message(s) in {sum(1 for q in dlqs if q.depth)} of {len(dlqs)} DLQs[/]")


@dlq_app.command("inspect")
def dlq_inspect(
    queue: Annotated[str, typer.Argument(help="DLQ name (with or without the sluice-<env>- prefix), URL or ARN.")],
    limit: Annotated[int, typer.Option(help="Messages to show.")] = 10,
    width: Annotated[int, typer.Option(help="Characters of body preview.")] = 160,
    env: EnvOption = "local",
    prefix: PrefixOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the messages as JSON (full bodies).")] = False,
) -> None:
    """Show messages with their attributes, receive count and a body preview, without consuming them (each is made
    visible again at once)."""
    ctx = Context(env, prefix)
    try:
        info = ops.resolve_queue(ctx.client, queue, ctx.prefix)
    except ops.OpsError as exc:
        raise _fail(exc) from exc
    messages = ops.peek(ctx.client("sqs"), info.url, limit)
    if as_json:
        print(json.dumps([{**vars(m), "sent": m.sent.isoformat() if m.sent else None} for m in messages], indent=2))
        return
    table = Table(title=f"{info.name}: {len(messages)} of {info.depth} message(s)", title_justify="left", show_lines=True)
    for column in ("message id", "sent", "receives", "attributes", "body"):
        table.add_column(column, overflow="fold")
    for m in messages:
        attributes = "\n".join(f"{k}={v}" for k, v in sorted(m.message_attributes.items())) or "-"
        table.add_row(m.message_id, m.sent.strftime("%Y-%m-%d %H:%M:%S") if m.sent else "-", str(m.receive_count), attributes, m.preview(width))
    console.print(table)


def _redrive_stream_failures(ctx: Context, queue: str, dry_run: bool) -> bool:
    """`dlq redrive` of a Kinesis on-failure queue; False when `queue` is not one (an SQS DLQ: message move task)."""
    from . import kinesis_redrive

    try:
        info = ops.resolve_queue(ctx.client, queue, ctx.prefix)
    except ops.OpsError:
        return False
    if info.name.endswith(ops.DLQ_SUFFIX) or not kinesis_redrive.is_on_failure_queue(ctx.client("sqs"), info.url):
        return False
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console) as progress:
        bar = progress.add_task(f"redrive {info.name} (Kinesis ranges)", total=None)
        result = kinesis_redrive.redrive(
            ctx.client,
            info.url,
            failures_table=f"{ctx.prefix}-failures",
            pipeline="stream",
            dry_run=dry_run,
            on_progress=lambda done, total: progress.update(bar, completed=done, total=total),
        )
    if dry_run:
        console.print(f"[yellow]dry run[/]: would reprocess {result.records} record(s) of {result.ranges} range(s) from {info.name}")
        return True
    console.print(
        f"{result.ranges} range(s), {result.records} record(s) re-read from the stream: {result.reprocessed} reprocessed, "
        f"{len(result.stuck)} still failing (failure records written), {result.kept} range(s) kept (no longer in the stream in full)"
    )
    for stuck in result.stuck[:10]:
        console.print(f"  [red]✗[/] {stuck.shard_id}/{stuck.sequence} ({stuck.partition_key}): {stuck.reason[:200]}")
    return True


@dlq_app.command("redrive")
def dlq_redrive(
    queue: Annotated[str, typer.Argument(help="DLQ name (with or without the prefix), URL or ARN.")],
    to: Annotated[str | None, typer.Option("--to", help="Destination queue (default: the queue that dead-letters into this DLQ).")] = None,
    rate: Annotated[int | None, typer.Option(help="MaxNumberOfMessagesPerSecond (default: SQS's optimum).")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Say what would move, move nothing.")] = False,
    wait: Annotated[bool, typer.Option(help="Show progress until the task is done.")] = True,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for the task.")] = 600.0,
    env: EnvOption = "local",
    prefix: PrefixOption = None,
) -> None:
    """Move the DLQ's messages back to their source queue with SQS's native message move task. A Kinesis on-failure
    destination (records that only say which shard range was given up on) is redriven by re-reading each range from
    the stream and reprocessing it through the function (`sluicectl.kinesis_redrive`)."""
    ctx = Context(env, prefix)
    if _redrive_stream_failures(ctx, queue, dry_run):
        return
    try:
        plan = ops.plan_redrive(ctx.client, queue, ctx.prefix, to)
    except ops.OpsError as exc:
        raise _fail(exc) from exc
    line = f"{plan.messages} message(s) from {plan.dlq.name} → {plan.destination_name}"
    if dry_run:
        console.print(f"[yellow]dry run[/]: would move {line}")
        return
    if not plan.messages:
        console.print(f"[green]{plan.dlq.name} is empty[/]: nothing to redrive")
        return
    sqs = ctx.client("sqs")
    try:
        ops.start_redrive(sqs, plan, rate)
    except sqs.exceptions.ClientError as exc:
        raise _fail(exc) from exc
    console.print(f"started moving {line}")
    if not wait:
        return
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console) as progress:
        bar = progress.add_task(f"redrive {plan.dlq.name}", total=plan.messages)

        def update(task: dict[str, Any]) -> None:
            total = int(task.get("ApproximateNumberOfMessagesToMove") or plan.messages) or 1
            progress.update(bar, total=total, completed=int(task.get("ApproximateNumberOfMessagesMoved") or 0))

        try:
            task = ops.wait_move_task(sqs, plan.dlq.arn, on_progress=update, timeout=timeout)
        except ops.OpsError as exc:
            raise _fail(exc) from exc
    moved = task.get("ApproximateNumberOfMessagesMoved", 0)
    if task.get("Status") != "COMPLETED":
        console.print(f"[red]move task {task.get('Status')}[/] after {moved} message(s): {task.get('FailureReason', '')}")
        raise typer.Exit(1)
    console.print(f"[green]✓ moved {moved} message(s)[/] from {plan.dlq.name} to {plan.destination_name}")


@dlq_app.command("purge")
def dlq_purge(
    queue: Annotated[str, typer.Argument(help="Queue name (with or without the prefix), URL or ARN.")],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Say what would be deleted, delete nothing.")] = False,
    env: EnvOption = "local",
    prefix: PrefixOption = None,
) -> None:
    """Delete every message of a queue (asks first unless --yes)."""
    ctx = Context(env, prefix)
    try:
        info = ops.resolve_queue(ctx.client, queue, ctx.prefix)
    except ops.OpsError as exc:
        raise _fail(exc) from exc
    if dry_run:
        console.print(f"[yellow]dry run[/]: would delete {info.depth} message(s) from {info.name}")
        return
    if not yes and not typer.confirm(f"Delete all {info.depth} message(s) of {info.name}? This cannot be undone", default=False):
        console.print("nothing deleted")
        raise typer.Exit(1)
    deleted = ops.purge(ctx.client("sqs"), info)
    console.print(f"[green]purged[/] {info.name} ({deleted} message(s))")


# -- replay ------------------------------------------------------------------------------------------------------


def replay(
    bus: Annotated[str, typer.Option("--bus", help="default, domain (the environment's domain bus), or a bus name/ARN.")],
    start: Annotated[str, typer.Option("--from", help="Window start: ISO 8601, epoch seconds, or 15m/2h/1d ago.")],
    end: Annotated[str, typer.Option("--to", help="Window end (default now).")] = "now",
    rule: Annotated[list[str] | None, typer.Option("--rule", help="Replay only to this rule (name or ARN); repeatable.")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Say what would be replayed, replay nothing.")] = False,
    wait: Annotated[bool, typer.Option(help="Show progress until the replay is done.")] = True,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for the replay.")] = 900.0,
    env: EnvOption = "local",
    prefix: PrefixOption = None,
) -> None:
    """Replay the events a bus archived in a time window to the bus's rules (every rule, or --rule ones)."""
    ctx = Context(env, prefix)
    events = ctx.client("events")
    try:
        now = datetime.now(tz=UTC) + timedelta(seconds=ctx.clock_offset())
        plan = ops.plan_replay(ctx.client, bus, ctx.prefix, ops.parse_time(start, now), ops.parse_time(end, now), rule or [])
    except ops.OpsError as exc:
        raise _fail(exc) from exc
    window = f"{plan.start:%Y-%m-%d %H:%M:%S} .. {plan.end:%Y-%m-%d %H:%M:%S} UTC"
    target = ", ".join(a.rsplit("/", 1)[-1] for a in plan.filter_arns) or "every rule"
    line = f"archive {plan.archive_name} ({plan.archived_events} event(s) archived) of bus {plan.bus_name}, window {window}, to {target}"
    if dry_run:
        console.print(f"[yellow]dry run[/]: would replay {line}")
        return
    try:
        ops.start_replay(events, plan)
    except events.exceptions.ClientError as exc:
        raise _fail(exc) from exc
    console.print(f"replay [bold]{plan.name}[/]: {line}")
    if not wait:
        return
    with Progress(TextColumn("{task.description}"), BarColumn(), TaskProgressColumn(), TimeElapsedColumn(), console=console) as progress:
        bar = progress.add_task(f"replay {plan.bus_name}", total=1.0)

        def update(state: dict[str, Any]) -> None:
            progress.update(bar, completed=ops.replay_fraction(state, plan), description=f"replay {plan.bus_name} ({state.get('State', '?').lower()})")

        try:
            result = ops.wait_replay(events, plan.name, on_progress=update, timeout=timeout)
        except ops.OpsError as exc:
            raise _fail(exc) from exc
    if result.get("State") != "COMPLETED":
        console.print(f"[red]replay {result.get('State')}[/]: {result.get('StateReason', '')}")
        raise typer.Exit(1)
    console.print(f"[green]✓ replay {plan.name} completed[/]")


# -- status ------------------------------------------------------------------------------------------------------


def render(snap: ops.Snapshot) -> Group:
    dead = snap.dead_lettered
    header = Text.assemble(
        ("sluice status ", "bold"),
        (snap.prefix, "bold cyan"),
        f" · {snap.taken_at:%H:%M:%S} UTC · metrics over {snap.window_s // 60} min · ",
        (f"{dead} dead-lettered" if dead else "DLQs empty", "bold red" if dead else "green"),
    )
    queues = Table(title="Queues", title_justify="left")
    for column, justify in (("queue", "left"), ("depth", "right"), ("in flight", "right"), ("DLQ", "left"), ("DLQ depth", "right")):
        queues.add_column(column, justify=justify)  # type: ignore[arg-type]
    by_arn = {q.arn: q for q in snap.queues}
    for q in snap.work_queues:
        dlq = by_arn.get(q.dlq_arn or "")
        queues.add_row(
            q.name.removeprefix(snap.prefix + "-"), str(q.visible), str(q.in_flight), (q.dlq_name or "-").removeprefix(snap.prefix + "-"),
            Text(str(dlq.depth), style="bold red") if dlq and dlq.depth else Text("0" if dlq else "-"),
        )
    dlqs = dlq_table(snap.dlqs, strip=snap.prefix + "-")
    functions = Table(title="Functions", title_justify="left")
    for column, justify in (("function", "left"), ("invocations", "right"), ("errors", "right"), ("throttles", "right"), ("last error", "left")):
        functions.add_column(column, justify=justify, overflow="fold")  # type: ignore[arg-type]
    for name, f in sorted(snap.functions.items()):
        style = "red" if f.errors else None
        functions.add_row(name.removeprefix(snap.prefix + "-"), str(f.invocations), str(f.errors), str(f.throttles), (f.last_error or "")[:100], style=style)
    metrics = Table(title="Pipeline metrics (EMF, namespace Sluice)", title_justify="left")
    for column, justify in (("service", "left"), ("metric", "left"), ("sum / avg", "right"), ("samples", "right"), ("p50", "right"), ("p99", "right")):
        metrics.add_column(column, justify=justify)  # type: ignore[arg-type]
    for m in snap.metrics:
        failing = any(word in m.name for word in ("Failed", "Unroutable", "Error")) and m.total
        latency = m.p50 is not None or m.p99 is not None
        metrics.add_row(
            m.service, m.label, f"avg {m.total / m.samples:.1f}" if latency and m.samples else f"{m.total:g}", f"{m.samples:g}",
            "-" if m.p50 is None else f"{m.p50:.1f}", "-" if m.p99 is None else f"{m.p99:.1f}",
            style="yellow" if failing else None,
        )
    if not snap.metrics:
        metrics.add_row("-", "no EMF metrics in the window", "", "", "", "")
    return Group(
        Panel(header),
        Columns([queues, dlqs], expand=False),
        functions,
        metrics,
    )


def status(
    watch: Annotated[bool, typer.Option("--watch", "-w", help="Refresh until Ctrl-C.")] = False,
    interval: Annotated[float, typer.Option(help="Seconds between refreshes with --watch.")] = 5.0,
    window: Annotated[int, typer.Option(help="Minutes of metrics to show.")] = 60,
    env: EnvOption = "local",
    prefix: PrefixOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the snapshot as JSON.")] = False,
) -> None:
    """Every queue's depth and in-flight, every DLQ (red when not empty), every function's invocations, errors and
    last error, and the pipelines' EMF metrics (sums, p50/p99 latencies)."""
    ctx = Context(env, prefix)

    def take() -> ops.Snapshot:
        return ops.snapshot(ctx.client, ctx.prefix, window_s=window * 60, local_status=ctx.local_status())

    try:
        snap = take()
    except Exception as exc:
        endpoint = ctx.local.endpoint if ctx.local else "AWS"
        console.print(f"[red]cannot read {ctx.prefix} at {endpoint}[/]: {exc}")
        raise typer.Exit(1) from exc
    if as_json:
        print(json.dumps(_snapshot_json(snap), indent=2, default=str))
        return
    if not watch:
        console.print(render(snap))
        return
    with Live(render(snap), console=console, refresh_per_second=2, screen=False) as live:
        try:
            while True:
                time.sleep(interval)
                live.update(render(take()))
        except KeyboardInterrupt:
            pass


def _snapshot_json(snap: ops.Snapshot) -> dict[str, Any]:
    return {
        "prefix": snap.prefix,
        "taken_at": snap.taken_at.isoformat(),
        "queues": [{**vars(q), "depth": q.depth} for q in snap.queues],
        "functions": {name: vars(f) for name, f in snap.functions.items()},
        "metrics": [{**vars(m), "label": m.label} for m in snap.metrics],
        "dead_lettered": snap.dead_lettered,
    }
