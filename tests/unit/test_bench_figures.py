"""bench.baselines.figures_since: each function of a snapshot, measured from its own snapshot row."""

from __future__ import annotations

import types
from typing import Any

from bench import baselines


class FakeCloud:
    def __init__(self) -> None:
        self.functions: dict[str, dict[str, Any]] = {
            "a": {"invocations": 2, "duration_total_ms": 20.0, "billed_total_ms": 20.0},
            "b": {"invocations": 1, "duration_total_ms": 5.0, "billed_total_ms": 5.0},
        }

    def status(self) -> dict[str, Any]:
        return {"functions": self.functions}

    def boto3_client(self, service: str) -> Any:
        return types.SimpleNamespace(get_function_configuration=lambda FunctionName: {"MemorySize": 256})


def test_figures_since_measures_each_function_from_its_own_row() -> None:
    cloud = FakeCloud()
    since = baselines.snapshot(cloud, ["a", "b"])
    cloud.functions["a"] = {
        "invocations": 5,
        "duration_total_ms": 50.0,
        "billed_total_ms": 53.0,
        "cpu_total_ms": 12.0,  # two of the three new invocations had a CPU reading (one timed out)
        "cpu_invocations": 2,
    }
    figures = baselines.figures_since(cloud, since)
    assert list(figures) == ["a", "b"]
    assert figures["a"] == {
        "invocations": 3,
        "mean_duration_ms": 10.0,
        "mean_billed_ms": 11.0,
        "mean_cpu_ms": 6.0,
        "memory_mb": 256,
    }
    assert figures["b"]["invocations"] == 0 and figures["b"]["mean_billed_ms"] is None
    assert figures["b"]["mean_cpu_ms"] is None
