"""python -m bench [NAME ...]: run the benchmarks (all by default)."""

from __future__ import annotations

import importlib
from typing import Annotated

import typer

BENCHMARKS = ("runtime", "ingest", "routing", "inference", "kinesis", "documents", "stream", "retraining")


def main(names: Annotated[list[str] | None, typer.Argument(help=f"Any of: {', '.join(BENCHMARKS)}")] = None) -> None:
    for name in names or BENCHMARKS:
        if name not in BENCHMARKS:
            raise typer.BadParameter(f"unknown benchmark {name!r}")
        importlib.import_module(f"bench.{name}").run()


typer.run(main)
