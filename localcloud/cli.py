"""`python -m localcloud up|down|status|logs FN|clock|fault|env|serve`."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from .client import LocalCloudClient, LocalCloudError, read_state
from .config import Config

app = typer.Typer(help="The embedded local cloud: moto plus a Lambda runtime and AWS event delivery.", no_args_is_help=True)
clock_app = typer.Typer(help="The local cloud's controllable clock.")
fault_app = typer.Typer(help="Inject faults into function invocations.")
schedule_app = typer.Typer(help="Scheduled EventBridge rules and EventBridge Scheduler schedules.")
app.add_typer(clock_app, name="clock")
app.add_typer(schedule_app, name="schedule")
app.add_typer(fault_app, name="fault")
console = Console()

PortOption = Annotated[int | None, typer.Option("--port", "-p", help="Port (default 4580 or $LOCALCLOUD_PORT).")]
InstanceOption = Annotated[
    str | None, typer.Option("--instance", help="Instance name: state lives in .localcloud/<instance>/ (default 'default').")
]


def _config(port: int | None, instance: str | None) -> Config:
    if instance:
        os.environ["LOCALCLOUD_INSTANCE"] = instance
    return Config.from_env(port=port)


def _client(config: Config) -> LocalCloudClient:
    return LocalCloudClient.from_config(config)


@app.command()
def up(
    port: PortOption = None,
    instance: InstanceOption = None,
    foreground: Annotated[bool, typer.Option("--foreground", help="Run in this terminal instead of detaching.")] = False,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for the health check.")] = 30.0,
) -> None:
    """Start the local cloud (detached by default) and wait until it answers its health check."""
    config = _config(port, instance)
    client = _client(config)
    health = client.health()
    if health:
        console.print(f"[green]already running[/] at {client.endpoint} (instance {health['instance']})")
        return
    if foreground:
        serve(port=config.port, instance=instance)
        return
    config.home.mkdir(parents=True, exist_ok=True)
    log_path = config.home / "server.log"
    env = {**os.environ, "LOCALCLOUD_PORT": str(config.port), "LOCALCLOUD_HOME": str(config.home)}
    started = time.monotonic()
    with log_path.open("ab") as log_file:
        process = subprocess.Popen(
            [sys.executable, "-m", "localcloud", "serve"],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    client = LocalCloudClient(config.endpoint, config.region)
    try:
        health = client.wait_ready(timeout)
    except LocalCloudError as exc:
        process.kill()
        console.print(f"[red]{exc}[/]; see {log_path}")
        raise typer.Exit(1) from exc
    console.print(
        f"[green]local cloud up[/] at {config.endpoint} (instance {health['instance']}, pid {process.pid}, "
        f"{time.monotonic() - started:.2f} s); logs: {log_path}"
    )


@app.command(hidden=True)
def serve(port: PortOption = None, instance: InstanceOption = None) -> None:
    """Run the local cloud in the foreground until SIGINT/SIGTERM."""
    from .cloud import LocalCloud

    logging.basicConfig(level=os.environ.get("LOCALCLOUD_LOG_LEVEL", "INFO"), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # werkzeug logs every request; moto's Step Functions interpreter logs every Parallel/Map branch start and end
    # (a log tail on a failure was nothing else): both only from WARNING.
    for noisy in ("werkzeug", "moto.stepfunctions.parser"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    config = _config(port, instance)
    cloud = LocalCloud(config).start()
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    print(f"local cloud {cloud.instance_id} serving on {config.endpoint}", flush=True)
    done.wait()
    cloud.stop()


@app.command()
def down(port: PortOption = None, instance: InstanceOption = None) -> None:
    """Stop the local cloud (its state is in memory: everything it held is gone, and so is its Terraform state)."""
    config = _config(port, instance)
    state = read_state(config.home)
    if not state:
        console.print("not running")
        return
    pid = int(state["pid"])
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        (config.home / "state.json").unlink(missing_ok=True)
        console.print("not running (stale state removed)")
        return
    for _ in range(100):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)
    else:
        os.kill(pid, signal.SIGKILL)
    (config.home / "state.json").unlink(missing_ok=True)
    console.print(f"stopped local cloud {state['instance']}")


@app.command()
def status(
    port: PortOption = None,
    instance: InstanceOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the raw status document.")] = False,
) -> None:
    """Functions, queues and deliveries at a glance."""
    client = _client(_config(port, instance))
    try:
        data = client.status()
    except (OSError, LocalCloudError) as exc:
        console.print(f"[red]not running[/] at {client.endpoint}: {exc}")
        raise typer.Exit(1) from exc
    if as_json:
        print(json.dumps(data, indent=2, default=str))
        return
    console.print(f"[bold]local cloud[/] {data['instance']} at {data['endpoint']} · up {data['uptime_s']:.0f} s · clock +{data['clock_offset_s']:.0f} s")
    functions = Table("function", "invocations", "errors", "throttles", "cold", "p50 ms", "p99 ms", "envs busy/idle", "last error", title="Functions")
    for name, row in data["functions"].items():
        envs = row["environments"]
        functions.add_row(
            name, str(row["invocations"]), str(row["errors"]), str(row["throttles"]), str(row["cold_starts"]),
            str(row["duration_p50_ms"]), str(row["duration_p99_ms"]), f"{envs.get('busy', 0)}/{envs.get('idle', 0)}",
            (row["last_error"] or "")[:60],
        )
    console.print(functions)
    queues = Table("queue", "visible", "in flight", "DLQ", "maxReceiveCount", title="Queues")
    for row in data["queues"]:
        style = "red" if row["name"].endswith("-dlq") and row["total"] else None
        queues.add_row(row["name"], str(row["visible"]), str(row["in_flight"]), row["dlq"] or "", str(row["max_receive_count"] or ""), style=style)
    console.print(queues)
    deliveries = Table("kind", "what", "counts", "last error", title="Deliveries")
    for row in data["deliveries"]:
        what = row.get("rule") or f"{row.get('source')} → {row.get('function')}"
        counts = ", ".join(f"{k}={v}" for k, v in row.items() if isinstance(v, int) and not isinstance(v, bool) and v)
        deliveries.add_row(row["kind"], what, counts, (row.get("last_error") or "")[:60])
    console.print(deliveries)


@app.command()
def logs(
    function: Annotated[str, typer.Argument(help="Function name.")],
    lines: Annotated[int, typer.Option("--lines", "-n")] = 100,
    follow: Annotated[bool, typer.Option("--follow", "-f")] = False,
    port: PortOption = None,
    instance: InstanceOption = None,
) -> None:
    """Print a function's log (its output plus START/END/REPORT lines)."""
    config = _config(port, instance)
    path = config.logs_dir / f"{function}.log"
    if not path.exists():
        console.print(f"no logs yet for {function} in {config.logs_dir}")
        raise typer.Exit(1)
    with path.open(encoding="utf-8") as handle:
        tail = handle.readlines()[-lines:]
        for line in tail:
            print(line.split(" ", 2)[-1], end="")
        while follow:
            line = handle.readline()
            if line:
                print(line.split(" ", 2)[-1], end="", flush=True)
            else:
                time.sleep(0.2)


@app.command()
def env(port: PortOption = None, instance: InstanceOption = None) -> None:
    """Print shell exports that aim the AWS CLI and SDKs at the local cloud: eval "$(python -m localcloud env)"."""
    client = _client(_config(port, instance))
    for key, value in {
        "AWS_ENDPOINT_URL": client.endpoint,
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": client.region,
    }.items():
        print(f"export {key}={value}")


@clock_app.command("advance")
def clock_advance(seconds: float, port: PortOption = None, instance: InstanceOption = None) -> None:
    """Move the clock forward: visibility timeouts expire, schedules fire, retries become due."""
    print(json.dumps(_client(_config(port, instance)).advance_clock(seconds)))


@schedule_app.command("list")
def schedule_list(
    count: Annotated[int, typer.Option("--count", "-n", help="Next firings to show per schedule.")] = 3,
    as_json: Annotated[bool, typer.Option("--json", help="Print the raw list.")] = False,
    port: PortOption = None,
    instance: InstanceOption = None,
) -> None:
    """Every scheduled rule and schedule with its next firings (on the local cloud's clock)."""
    rows = _client(_config(port, instance)).schedules(count)
    if as_json:
        print(json.dumps(rows, indent=2))
        return
    table = Table("kind", "name", "expression", "next firings (UTC)", "fired", "last error", title="Schedules")
    for row in rows:
        state = "" if row["enabled"] else " (disabled)"
        table.add_row(row["kind"], row["name"] + state, row["expression"], ", ".join(row["next"]), str(row["fired"]), (row["last_error"] or "")[:60])
    console.print(table)


@schedule_app.command("fire")
def schedule_fire(
    name: Annotated[str, typer.Argument(help="Rule name, schedule name (or group/name) or ARN.")],
    port: PortOption = None,
    instance: InstanceOption = None,
) -> None:
    """Fire a scheduled rule or schedule now, as if its time had come (its next occurrence does not move)."""
    try:
        print(json.dumps(_client(_config(port, instance)).fire_schedule(name)))
    except LocalCloudError as exc:
        console.print(f"[red]{exc}[/]")
        raise typer.Exit(1) from exc


@fault_app.command("set")
def fault_set(
    function: str,
    error_rate: Annotated[float, typer.Option(help="Share of invocations that fail (0..1).")] = 0.0,
    throttle_rate: Annotated[float, typer.Option(help="Share of invocations that are throttled (0..1).")] = 0.0,
    timeout_rate: Annotated[float, typer.Option(help="Share of invocations that run, then report a timeout (0..1).")] = 0.0,
    count: Annotated[int | None, typer.Option(help="Stop after this many injected faults.")] = None,
    port: PortOption = None,
    instance: InstanceOption = None,
) -> None:
    """Make a function fail, throttle or time out at a rate."""
    client = _client(_config(port, instance))
    try:
        print(json.dumps(client.set_fault(function, error_rate=error_rate, throttle_rate=throttle_rate, timeout_rate=timeout_rate, remaining=count)))
    except LocalCloudError as exc:
        console.print(f"[red]{exc}[/]")
        raise typer.Exit(1) from exc


@fault_app.command("delivery")
def fault_delivery(
    source: Annotated[str, typer.Argument(help="sqs, kinesis, dynamodb or eventbridge.")],
    duplicate_rate: Annotated[float, typer.Option(help="Share of successful deliveries made a second time (0..1).")] = 0.0,
    out_of_order: Annotated[bool, typer.Option(help="SQS: shuffle batches and hold messages back to later batches.")] = False,
    port: PortOption = None,
    instance: InstanceOption = None,
) -> None:
    """Make an event source deliver twice (and SQS out of order), as AWS's at-least-once delivery may."""
    client = _client(_config(port, instance))
    try:
        print(json.dumps(client.set_delivery_fault(source, duplicate_rate=duplicate_rate, out_of_order=out_of_order)))
    except LocalCloudError as exc:
        console.print(f"[red]{exc}[/]")
        raise typer.Exit(1) from exc


@fault_app.command("show")
def fault_show(port: PortOption = None, instance: InstanceOption = None) -> None:
    """Faults set and how many were injected, by kind."""
    print(json.dumps(_client(_config(port, instance)).faults(), indent=1))


@fault_app.command("clear")
def fault_clear(function: Annotated[str | None, typer.Argument()] = None, port: PortOption = None, instance: InstanceOption = None) -> None:
    """Remove injected faults (of one function, or all: functions and deliveries)."""
    print(json.dumps(_client(_config(port, instance)).clear_faults(function)))


def main() -> None:
    app()
