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


def _documents() -> dict:
    steps = {f"sluice-document-{s}": _lambda(40, 50, 256) for s in ("validate", "sentiment", "store")}
    steps |= {f"sluice-document-{s}": _lambda(40, 200, 1024) for s in ("extract", "summarize")}
    naive = {f"naive-doc-{s}-x": _lambda(20, 100, 256) for s in ("validate", "sentiment", "store")}
    naive |= {f"naive-doc-{s}-x": _lambda(20, 300, 1024) for s in ("extract", "summarize")}
    naive |= {f"naive-doc-{s}-x": _lambda(20, 60, 128) for s in ("trigger", "notify")}

    def usage(figures: dict, events: int, transitions: float, text_in_s3: bool) -> dict:
        compute = cost.add(*(cost.measured_lambda(f, events) for f in figures.values()))
        return cost.documents_usage(
            compute, transitions=transitions, pdf_share=0.5, validation_step=True, text_in_s3=text_in_s3
        )

    return {
        "benchmark": "documents",
        "machine": {"cpus": 2, "python": "3.11"},
        "documents": 40,
        "documents_per_minute": 30.0,
        "in_process_seconds": 8.0,
        "in_process_documents_per_minute": 300.0,
        "ratio_vs_in_process": 0.1,
        "transitions_per_execution": 8,
        "starter_transitions": 1,
        "lambda": steps,
        "naive": {"documents": 20, "documents_per_minute": 20.0, "lambda": naive, "transitions_per_execution": 6},
        "cost": cost.compare(usage(steps, 40, 9, True), usage(naive, 20, 6, False)),
    }


def _documents_nested_express() -> dict:
    """The current design: a start function, 5 Standard transitions and one Express analysis per document."""
    data = _documents()
    data.pop("starter_transitions")
    data["transitions_per_execution"] = 5
    data["lambda"]["sluice-document-start"] = _lambda(40, 10, 128)
    data["express"] = {"executions_per_document": 1, "billed_seconds_mean": 0.3, "memory_mb": 64}

    def usage(figures: dict, events: int, transitions: float, text_in_s3: bool, express: dict) -> dict:
        compute = cost.add(*(cost.measured_lambda(f, events) for f in figures.values()))
        return cost.documents_usage(
            compute, transitions=transitions, pdf_share=0.5, validation_step=True, text_in_s3=text_in_s3, express=express
        )

    data["cost"] = cost.compare(
        usage(data["lambda"], 40, 5, True, cost.express_usage(1, 0.3)),
        usage(data["naive"]["lambda"], 20, 6, False, {}),
    )
    return data


def _stream() -> dict:
    ours, naive = _lambda(40, 150, 512), _lambda(200, 80, 512)

    def usage(figures: dict, events: int, shards: int, per_user: float) -> dict:
        return cost.stream_usage(
            cost.measured_lambda(figures, events),
            record_bytes=250,
            rate_per_s=1000,
            shards=shards,
            alerts_per_record=0.04,
            state_reads=per_user,
            state_writes=per_user,
        )

    return {
        "benchmark": "stream",
        "machine": {"cpus": 2, "python": "3.11"},
        "batch_size": 100,
        "records_per_second": 500.0,
        "ratio_to_in_process": 0.5,
        "backlog": {"records": 4000, "records_per_second": 500.0},
        "in_process": {"records": 2000, "seconds": 2.0, "records_per_second": 1000.0},
        "lambda": {"sluice-fraud-scorer": ours},
        "naive": {"records": 200, "records_per_second": 25.0, "lambda": {"naive-fraud-x": naive}, "function": "naive-fraud-x"},
        "cost": cost.compare(usage(ours, 4000, 1, 0.95), usage(naive, 200, 10, 1.0)),
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
    doc = report.generate(run_seconds=600, parts={"deploy": 90.4, "ingest": 120.0})
    text = doc.read_text()
    # 30 / 10 objects/s; Lambda ms per object: ours 10 x 300 / 100 = 30, naive 50 x 120 / 50 = 120.
    assert "| 1 · ingest | 30.0 | 10.0 | **x3.00** |" in text
    assert "| 1 · ingest | 30.0 | 120.0 | x4.00 |" in text
    assert "Whole `make bench`: **10.0 min**" in text
    assert ": deploy 90 s, ingest 120 s." in text  # where the run's time went
    assert "No baseline results yet for: routing, inference, documents, stream" in text
    for name in ("throughput", "latency", "cost"):
        assert (paths / "benchmarks" / f"{name}.png").read_bytes().startswith(b"\x89PNG")
    readme = (paths / "README.md").read_text()
    assert "old" not in readme and readme.endswith("after\n")
    assert "| 1 · ingest | **x3.00** | 30.0/s | 10.0/s |" in readme


def test_report_regenerates_from_saved_results_alone(paths: Path) -> None:
    first = report.generate(run_seconds=600).read_text()
    assert report.generate().read_text() == first  # the saved total is kept; nothing is re-run


def test_report_has_rows_for_documents_and_stream(paths: Path) -> None:
    results = paths / "results"
    (results / "documents.json").write_text(json.dumps(_documents()))
    (results / "stream.json").write_text(json.dumps(_stream()))
    text = report.generate().read_text()
    # Documents: 30 / 20 per minute = 0.5 / 0.333 per second; in-process 300/min = 5/s.
    assert "| 4 · documents | 0.5 | 0.333 | **x1.50** | 5.0 | 0.10 |" in text
    # Lambda ms per document: ours 3 x 50 + 2 x 200 = 550; naive 3 x 100 + 2 x 300 + 2 x 60 = 1,020.
    assert "| 4 · documents | 550.0 | 1020.0 | x1.85 |" in text
    # Runtime vs in-process per document: 550 ms against 8 s / 40 = 200 ms.
    assert "| 4 · documents | 550.0 | 200.0 | x2.75 |" in text
    # Stream: 500 / 25 records/s; ms per record ours 40 x 150 / 4,000 = 1.5, naive 80.
    assert "| 5 · stream | 500.0 | 25.0 | **x20.00** | 1000.0 | 0.50 |" in text
    assert "| 5 · stream | 1.5 | 80.0 | x53.33 |" in text
    # Runtime vs in-process per batch: 150 ms against 2 s / 20 batches = 100 ms.
    assert "| 5 · stream | 150.0 | 100.0 | x1.50 |" in text
    assert "| 4 · documents: per 1M documents | ours | naive |" in text
    assert "| stepfunctions_transitions (Standard workflow state transitions) | $225.00 (9,000,000) | $150.00 (6,000,000) |" in text
    # Ours costs more for documents (9 transitions against 6): the report says so, with the figures.
    assert "**4 · documents: ours is not ahead on cost.**" in text
    assert "ours costs more in: stepfunctions_transitions ($75.00 more per 1M)" in text
    assert "bills every state entered: 9 per document for ours" in text and "against 6 for the naive" in text
    assert "5 · stream: ours is not ahead" not in text
    assert "No baseline results yet for: routing, inference" in text
    readme = (paths / "README.md").read_text()
    assert "| 4 · documents | **x1.50** | 0.5/s | 0.333/s |" in readme


def test_report_reads_older_results_without_the_naive_keys(paths: Path) -> None:
    results = paths / "results"
    old_documents = {k: v for k, v in _documents().items() if k not in ("naive", "cost", "lambda")}
    (results / "documents.json").write_text(json.dumps(old_documents))
    old_stream = {k: v for k, v in _stream().items() if k not in ("naive", "cost", "lambda")}
    (results / "stream.json").write_text(json.dumps(old_stream))
    text = report.generate().read_text()
    assert "No baseline results yet for: routing, inference, documents, stream" in text
    assert "| pipeline 4 (documents, Step Functions): documents/minute | 30.0 | in-process steps 300.0 | x0.1 |" in text
    assert "| pipeline 5 (stream scoring): backlog scored, records/s | 500.0 | in-process 1000.0 | x0.5 |" in text


def test_report_explains_the_documents_design_with_its_express_bill(paths: Path) -> None:
    (paths / "results" / "documents.json").write_text(json.dumps(_documents_nested_express()))
    text = report.generate().read_text()
    assert "a start function (asynchronous invoke" in text and "startExecution.sync:2" in text
    assert "Ours enters 5 states per document against 6 for the naive sequence" in text
    # 1M Express executions of 0.3 s at 64 MB: $1.00 + $0.3125.
    assert "0.3 s at 64 MB:" in text and "$1.31 per 1M documents" in text
    assert "| stepfunctions_transitions (Standard workflow state transitions) | $125.00 (5,000,000) | $150.00 (6,000,000) |" in text
    assert "4 · documents: ours is not ahead" not in text
