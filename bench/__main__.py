"""python -m bench [NAME ...]: run the benchmarks (all by default), then regenerate the report.

python -m bench report: regenerate the report (docs/benchmarks.md and its plots) from bench/results/*.json
without running anything.
"""

from __future__ import annotations

import contextlib
import importlib
import time
from typing import Annotated

import typer

BENCHMARKS = (
    "runtime",
    "ingest",
    "routing",
    "inference",
    "kinesis",
    "documents",
    "stream",
    "retraining",
    "ops",
)
# Benchmarks that need the whole stack applied: run on one shared deployment when more than one is asked for.
DEPLOYED = ("ingest", "inference", "documents", "stream", "routing")


def main(
    names: Annotated[
        list[str] | None, typer.Argument(help=f"Any of: {', '.join(BENCHMARKS)}; or `report` alone")
    ] = None,
) -> None:
    from . import report
    from .common import console, shared_deployment

    if names == ["report"]:
        console.print(f"report: {report.generate()}")
        return
    chosen = names or list(BENCHMARKS)
    for name in chosen:
        if name not in BENCHMARKS:
            raise typer.BadParameter(f"unknown benchmark {name!r}")
    deployed = [
        n for n in DEPLOYED if n in chosen
    ]  # routing last: it reconfigures the router (and restores it)
    others = [n for n in chosen if n not in deployed]
    timings: dict[str, float] = {}
    shared = shared_deployment() if len(deployed) > 1 else contextlib.nullcontext()
    started = time.perf_counter()
    with shared:
        if len(deployed) > 1:  # the one build + local cloud + terraform apply the deployed benchmarks share
            timings["deploy"] = time.perf_counter() - started
        for name in deployed:
            timings[name] = _run(name)
    for name in others:
        timings[name] = _run(name)
    total = time.perf_counter() - started
    console.print(
        f"benchmarks: {', '.join(f'{n} {s:.0f} s' for n, s in timings.items())}; total {total:.0f} s"
    )
    console.print(
        f"report: {report.generate(run_seconds=total if names is None else None, parts=timings)}"
    )


def _run(name: str) -> float:
    started = time.perf_counter()
    importlib.import_module(f"bench.{name}").run()
    return time.perf_counter() - started


typer.run(main)
