"""record_processor: the edge checks (contract, own data type), the summarisers, and writing each result once."""

from __future__ import annotations

import importlib
import json

import pytest
from conftest import FAILURES_TABLE, sqs_event, sqs_record
from record_processor import logic
from record_router import logic as router_logic
from sluice.errors import InvalidEvent, OutputConflict, SchemaViolation

from sluicectl.routing import TYPES, RecordRun

RESULTS = "sluice-test-routed-records"
ROUTES = router_logic.Routes.parse(",".join(TYPES))


def routed_event(sample, event_id="ev-1") -> dict:
    """What the router publishes for a sample, as EventBridge delivers it."""
    event = router_logic.classify(
        sample.record,
        origin={"kind": "event", "event_id": "e", "source": "s"},
        fallback_id="x",
        routes=ROUTES,
        routed_at="2026-01-01T00:00:00.000Z",
    )
    return {
        "version": "0",
        "id": event_id,
        "source": event.source,
        "detail-type": event.detail_type,
        "account": "123456789012",
        "time": "2026-01-01T00:00:00Z",
        "region": "us-east-1",
        "resources": [],
        "detail": event.detail,
    }


RUN = RecordRun.new(30, 0.0, seed=11, run_id="9f0c0001")


@pytest.mark.parametrize("sample", RUN.samples[:9], ids=lambda s: s.expected)
def test_the_router_output_passes_the_processors_edge(sample):
    routed = logic.parse_routed(json.dumps(routed_event(sample)), sample.expected)
    assert routed.record_id == sample.record_id
    summary = logic.summarize(sample.expected, routed.detail["payload"])
    assert summary


def test_other_types_are_refused_at_the_edge():
    sample = next(s for s in RUN.samples if s.expected == "image")
    with pytest.raises(logic.WrongRoute, match="this is the text processor; it received data_type 'image'"):
        logic.parse_routed(json.dumps(routed_event(sample)), "text")
    event = routed_event(sample)
    event["detail"]["payload"]["width"] = -1
    with pytest.raises(SchemaViolation, match="record_routed_image"):
        logic.parse_routed(json.dumps(event), "image")
    with pytest.raises(InvalidEvent, match="expected a 'Record Routed' event"):
        logic.parse_routed(json.dumps({**event, "source": "someone.else"}), "image")


def test_summaries():
    assert logic.summarize_image({"width": 4000, "height": 3000, "format": "jpeg", "labels": ["a"]}) == {
        "format": "jpeg",
        "megapixels": 12.0,
        "aspect_ratio": 1.3333,
        "orientation": "landscape",
        "labels": 1,
    }
    text = logic.summarize_text({"text": "The cat and the hat.\nThe end", "language": "en"})
    assert (text["words"], text["lines"], text["top_words"][0]) == (7, 2, "the")
    table = logic.summarize_tabular(
        {"columns": ["id", "score", "label"], "rows": [[1, 2.5, "a"], [2, 3.5, None], [3, True, "b"]]}
    )
    assert table["rows"] == 3 and table["numeric_columns"]["score"] == {
        "min": 2.5,
        "max": 3.5,
        "mean": 3.0,
        "count": 2,
    }
    assert "label" not in table["numeric_columns"]
    with pytest.raises(SchemaViolation, match=r"rows\[1\] has 1 cells; the header has 2 columns"):
        logic.summarize_tabular({"columns": ["a", "b"], "rows": [[1, 2], [1]]})


@pytest.fixture
def processor(resources, monkeypatch):
    resources.dynamodb.create_table(
        TableName=RESULTS,
        KeySchema=[{"AttributeName": "record_id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "record_id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    dlq = resources.sqs.create_queue(QueueName="sluice-test-route-text-dlq")["QueueUrl"]
    monkeypatch.setenv("DATA_TYPE", "text")
    monkeypatch.setenv("RESULTS_TABLE", RESULTS)
    monkeypatch.setenv("DLQ_URL", dlq)
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "sluice-test-record-processor-text")
    return importlib.import_module("record_processor.handler")


def test_handler_writes_each_record_once_and_refuses_other_types(processor, resources, lambda_context):
    texts = [s for s in RUN.samples if s.expected == "text"][:3]
    image = next(s for s in RUN.samples if s.expected == "image")
    event = sqs_event(
        *(sqs_record(routed_event(s), message_id=f"t{i}") for i, s in enumerate(texts)),
        sqs_record(routed_event(texts[0], event_id="ev-dup"), message_id="dup"),
        sqs_record(routed_event(image), message_id="wrong"),
    )
    assert processor.handler(event, lambda_context) == {"batchItemFailures": []}
    items = resources.dynamodb.scan(TableName=RESULTS)["Items"]
    assert sorted(i["record_id"]["S"] for i in items) == sorted(s.record_id for s in texts)
    assert {i["processed_by"]["S"] for i in items} == {"sluice-test-record-processor-text"}
    assert {i["data_type"]["S"] for i in items} == {"text"}
    [failure] = resources.dynamodb.scan(TableName=FAILURES_TABLE)["Items"]
    assert (failure["pipeline"]["S"], failure["item_id"]["S"], failure["error_code"]["S"]) == (
        "routing-text",
        image.record_id,
        "wrong_route",
    )


def test_the_same_record_id_with_another_type_is_a_conflict(resources):
    sample = next(s for s in RUN.samples if s.expected == "text")
    routed = logic.parse_routed(json.dumps(routed_event(sample)), "text")
    resources.dynamodb.create_table(
        TableName=RESULTS,
        KeySchema=[{"AttributeName": "record_id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "record_id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    ports = logic.Ports(resources.dynamodb, RESULTS, "p", clock=lambda: "now")
    assert logic.process(routed, ports)["status"] == logic.STATUS_PROCESSED
    assert logic.process(routed, ports)["status"] == logic.STATUS_DUPLICATE
    item = logic.result_item(routed, {}, "p", "now")
    item["data_type"] = {"S": "image"}
    with pytest.raises(OutputConflict):
        logic.write_result(resources.dynamodb, RESULTS, item)
