"""What every benchmark shares: timing helpers, a fresh deployed local cloud, and the results writer."""

from __future__ import annotations

import contextlib
import json
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from localcloud.client import LocalCloudClient
from localcloud.testing import running_cloud

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
console = Console()


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(p * (len(ordered) - 1))))
    return ordered[index]


def summary(values: list[float]) -> dict[str, float]:
    return {
        "n": len(values),
        "p50": round(percentile(values, 0.50), 4),
        "p90": round(percentile(values, 0.90), 4),
        "p99": round(percentile(values, 0.99), 4),
        "mean": round(statistics.fmean(values), 4) if values else float("nan"),
    }


def timed(fn: Any, *args: Any, **kwargs: Any) -> tuple[Any, float]:
    started = time.perf_counter()
    result = fn(*args, **kwargs)
    return result, time.perf_counter() - started


def write(name: str, data: dict[str, Any]) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    document = {
        "benchmark": name,
        "machine": {"python": sys.version.split()[0], "platform": platform.platform(), "cpus": _cpus()},
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        **data,
    }
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(document, indent=2, sort_keys=True, default=str) + "\n")
    return path


def _cpus() -> int:
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def show(title: str, rows: list[tuple[str, Any, str]]) -> None:
    table = Table(title=title)
    table.add_column("measure")
    table.add_column("value", justify="right")
    table.add_column("target / note")
    for name, value, note in rows:
        table.add_row(name, f"{value:.3f}" if isinstance(value, float) else str(value), note)
    console.print(table)


@dataclass
class Deployed:
    cloud: LocalCloudClient
    outputs: dict[str, Any]
    apply_seconds: float
    start_seconds: float
    terraform: Any


def build() -> Path:
    subprocess.run([sys.executable, str(ROOT / "scripts" / "build.py")], check=True, capture_output=True)
    return ROOT / "dist"


_SHARED: list[Deployed] = []


@contextlib.contextmanager
def shared_deployment() -> Iterator[None]:
    """Inside this block every ``deployed_cloud()`` yields one deployment, applied once (``make bench`` runs all
    the pipeline benchmarks on it: one terraform apply instead of one per benchmark). Each benchmark works under
    its own run prefix and restores what it reconfigures, so they do not see each other's events."""
    with _deploy() as deployed:
        _SHARED.append(deployed)
        try:
            yield
        finally:
            _SHARED.clear()


def shared() -> bool:
    """Whether the benchmarks run on one shared deployment (``make bench``)."""
    return bool(_SHARED)


@contextlib.contextmanager
def deployed_cloud() -> Iterator[Deployed]:
    """A fresh local cloud with the local environment applied (the same path `make demo` and the tests take), or
    the shared one inside ``shared_deployment()``."""
    if _SHARED:
        yield _SHARED[0]
        return
    with _deploy() as deployed:
        yield deployed


@contextlib.contextmanager
def _deploy() -> Iterator[Deployed]:
    from sluicectl import inference
    from sluicectl.terraform import Terraform

    artifacts = build()
    started = time.perf_counter()
    with running_cloud() as cloud:
        start_seconds = time.perf_counter() - started
        terraform = Terraform.local(cloud.endpoint, cloud.home / "terraform", artifacts)  # type: ignore[attr-defined]
        terraform.init()
        apply_seconds = terraform.apply()
        outputs = terraform.outputs()
        inference.use_api_key(outputs)
        yield Deployed(cloud, outputs, apply_seconds, start_seconds, terraform)
