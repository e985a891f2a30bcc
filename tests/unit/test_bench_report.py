"""The benchmark report (bench/report.py) from synthetic results: tables, ratios, plots and the README block."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench import cost, report


def _lambda(invocations: int, billed: float, memory: int = 256) -> dict:
    return {
        "invocations": invocations,
        "mean_billed_ms": billed,
        "mean_duration_ms": billed,
        "memory_mb": memory,
    }


def _ingest() -> dict:
    ours, naive = _lambda(10, 300), _lambda(50, 120)
    return {
        "benchmark": "ingest",
        "machine": {"cpus": 2, "python": "3.11"},
        "objects": 100,
        "objects_per_second": 30.0,
        "lambda": ours,
        "in_process": {"records_per_second_in_handler": 40.0, "handler_ms_per_batch": 200.0},
        "naive": {
            "objects": 50,
            "objects_per_second": 10.0,
            "lambda": {"naive-ingest-x": naive},
            "function": "naive-ingest-x",
        },
        "cost": cost.compare(
            cost.ingest_usage(cost.measured_lambda(ours, 100), queue_batch=10),
            cost.ingest_usage(cost.measured_lambda(naive, 50), queue_batch=None),
        ),
    }


@pytest.fixture
def paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    results = tmp_path / "results"
    results.mkdir()
    (results / "ingest.json").write_text(json.dumps(_ingest()))
    readme = tmp_path / "README.md"
    readme.write_text(f"# x\n\n{report.BEGIN}\nold\n{report.END}\n\nafter\n")
    monkeypatch.setattr(report, "RESULTS", results)
    monkeypatch.setattr(report, "RUN", results / "run.json")
    monkeypatch.setattr(report, "DOC", tmp_path / "benchmarks.md")
    monkeypatch.setattr(report, "PLOTS", tmp_path / "benchmarks")
    monkeypatch.setattr(report, "README", readme)
    return tmp_path


def test_report_shows_ratios_against_the_naive_baseline(paths: Path) -> None:
    doc = report.generate(run_seconds=600)
    text = doc.read_text()
    # 30 / 10 objects/s; Lambda ms per object: ours 10 x 300 / 100 = 30, naive 50 x 120 / 50 = 120.
    assert "| 1 · ingest | 30.0 | 10.0 | **x3.00** |" in text
    assert "| 1 · ingest | 30.0 | 120.0 | x4.00 |" in text
    assert "Whole `make bench`: **10.0 min**" in text
    assert "No baseline results yet for: routing, inference" in text
    for name in ("throughput", "latency", "cost"):
        assert (paths / "benchmarks" / f"{name}.png").read_bytes().startswith(b"\x89PNG")
    readme = (paths / "README.md").read_text()
    assert "old" not in readme and readme.endswith("after\n")
    assert "| 1 · ingest | **x3.00** | 30.0/s | 10.0/s |" in readme


def test_report_regenerates_from_saved_results_alone(paths: Path) -> None:
    first = report.generate(run_seconds=600).read_text()
    assert report.generate().read_text() == first  # the saved total is kept; nothing is re-run
