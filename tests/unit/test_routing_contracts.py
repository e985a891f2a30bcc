"""Contract tests of pipeline 2, offline (no server, no terraform binary; a few seconds):

* every EventBridge rule's pattern is read from the Terraform source (tests/unit/tfsource.py) and is valid;
* sample events, built by the producers' own code (the router's classification, the fan-out's completion, S3's
  event shape in the local cloud), match exactly the rules meant for them and no other, with AWS's pattern
  semantics (localcloud.patterns, proven against the EventBridge documentation in test_patterns.py);
* every event validates against its JSON Schema contract, and the consumer accepts it at its edge;
* the routes in Terraform, the contracts in the layer and the processors' summarisers agree.
"""

from __future__ import annotations

import json

import jsonschema
import pytest
from fanout_consumer import logic as fanout_logic
from record_processor import logic as processor_logic
from record_router import logic as router_logic
from sluice import contracts
from sluice.publish import DomainEvent
from tfsource import STACK, Source, stack_rules

from localcloud import patterns
from localcloud.delivery.eventbridge import envelope
from sluicectl.routing import TYPES, UNROUTABLE, RecordRun

ENV = "contract"
ACCOUNT = "123456789012"
LANDING = f"sluice-{ENV}-{ACCOUNT}-landing"
DOMAIN = f"sluice-{ENV}-domain"


def rule(name: str) -> str:
    return f"sluice-{ENV}-{name}"


@pytest.fixture(scope="module")
def rules():
    return stack_rules(environment=ENV, account_id=ACCOUNT)


@pytest.fixture(scope="module")
def routes() -> list[str]:
    return sorted(Source.read(STACK).variables["routing_routes"]["default"])


def matched(rules, bus: str, event: dict) -> set[str]:
    return {
        r.name
        for r in rules.values()
        if r.bus == bus and patterns.compile(r.pattern).matches(json.dumps(event))
    }


def s3_event(key: str, size: int = 10, bucket: str = LANDING) -> dict:
    return {
        "version": "0",
        "id": "1",
        "detail-type": "Object Created",
        "source": "aws.s3",
        "account": ACCOUNT,
        "time": "2026-01-01T00:00:00Z",
        "region": "us-east-1",
        "resources": [f"arn:aws:s3:::{bucket}"],
        "detail": {
            "version": "0",
            "bucket": {"name": bucket},
            "object": {"key": key, "size": size, "etag": "e" * 32, "sequencer": "1"},
            "request-id": "R",
            "requester": ACCOUNT,
            "source-ip-address": "127.0.0.1",
            "reason": "PutObject",
        },
    }


def on_bus(event: DomainEvent) -> dict:
    """The event as the domain bus's rules see it (the local cloud's PutEvents envelope)."""
    return envelope(event.entry(DOMAIN), ACCOUNT, "us-east-1")


def test_every_rule_is_read_from_the_source_and_is_a_valid_pattern(rules):
    assert {
        rule("ingest-object-created"),
        rule("routing-records-submitted"),
        rule("routing-record-files"),
        rule("routing-unroutable"),
        rule("fanout-uploads"),
        rule("fanout-completed"),
        *(rule(f"route-{t}") for t in TYPES),
    } <= set(rules)
    for r in rules.values():
        patterns.compile(r.pattern)  # PatternError (AWS's reason) if not


@pytest.mark.parametrize(
    ("key", "size", "bucket", "expected"),
    [
        ("incoming/run-1/a.json", 10, LANDING, {"ingest-object-created"}),
        ("incoming/a.jsonl", 10, LANDING, set()),
        ("records/run-1/part-00000.jsonl", 10, LANDING, {"routing-record-files"}),
        ("records/run-1/notes.json", 10, LANDING, set()),
        ("uploads/run-1/photo.png", 10, LANDING, {"fanout-uploads"}),
        ("uploads/run-1/", 0, LANDING, set()),  # an empty folder marker is filtered out by the rule
        ("uploads/a.png", 10, "someone-elses-bucket", set()),
        ("elsewhere/a.json", 10, LANDING, set()),
    ],
)
def test_s3_events_reach_only_their_pipeline(rules, key, size, bucket, expected):
    assert matched(rules, "default", s3_event(key, size, bucket)) == {rule(n) for n in expected}
    assert matched(rules, DOMAIN, s3_event(key, size, bucket)) == set()  # S3 notifies the default bus only


def submitted(record: dict, source: str = "sluice.producer") -> dict:
    return envelope(
        {"Source": source, "DetailType": "Record Submitted", "Detail": json.dumps(record)},
        ACCOUNT,
        "us-east-1",
    )


def test_submissions_reach_the_router_whatever_they_hold(rules):
    for record in ({"record_id": "r", "data_type": "image"}, {"record_id": "r"}, {"anything": True}):
        assert matched(rules, DOMAIN, submitted(record)) == {rule("routing-records-submitted")}
    assert matched(rules, DOMAIN, submitted({"record_id": "r"}, source="aws.s3")) == set()
    assert matched(rules, "default", submitted({"record_id": "r"})) == set()


RUN = RecordRun.new(60, seed=21, run_id="c0ffee01")
ROUTES = router_logic.Routes.parse(",".join(TYPES))


# (A line that is not JSON never becomes a record: test_record_router covers the file path's unroutable events.)
@pytest.mark.parametrize(
    "sample",
    [s for s in RUN.samples if s.reason_code != "invalid_json"],
    ids=lambda s: f"{s.index}-{s.reason_code or s.expected}",
)
def test_the_routers_events_reach_exactly_their_route(rules, sample):
    record = json.loads(sample.line)
    event = router_logic.classify(
        record,
        origin={"kind": "event", "event_id": "e", "source": "s"},
        fallback_id="event:e",
        routes=ROUTES,
        routed_at="2026-01-01T00:00:00.000Z",
    )
    expected = (
        rule("routing-unroutable") if sample.expected == UNROUTABLE else rule(f"route-{sample.expected}")
    )
    assert matched(rules, DOMAIN, on_bus(event)) == {expected}
    assert matched(rules, "default", on_bus(event)) == set()
    if sample.expected != UNROUTABLE:  # the consumer accepts it at its edge
        routed = processor_logic.parse_routed(json.dumps(on_bus(event)), sample.expected)
        assert processor_logic.summarize(sample.expected, routed.detail["payload"])


def test_a_routed_type_without_a_route_is_caught_as_unroutable(rules):
    # A router whose routes drifted from Terraform's publishes a type no rule takes: it must not vanish.
    drifted = DomainEvent(
        source="sluice.router", detail_type="Record Routed", detail={"record_id": "r", "data_type": "audio"}
    )
    assert matched(rules, DOMAIN, on_bus(drifted)) == {rule("routing-unroutable")}
    impostor = DomainEvent(
        source="someone.else", detail_type="Record Routed", detail={"record_id": "r", "data_type": "image"}
    )
    assert matched(rules, DOMAIN, on_bus(impostor)) == set()


def test_completions_reach_the_completion_rule_only(rules):
    item = {
        "job_id": {"S": f"{LANDING}/uploads/a.png#{'e' * 32}"},
        "bucket_name": {"S": LANDING},
        "object_key": {"S": "uploads/a.png"},
        "etag": {"S": "e" * 32},
        "object_size": {"N": "10"},
        "done": {"SS": ["checksum", "metadata", "preview"]},
        **{f"result_{c}": {"S": json.dumps({"status": "done"})} for c in ("checksum", "metadata", "preview")},
    }
    detail = fanout_logic.completion_detail(
        item, ("checksum", "metadata", "preview"), "2026-01-01T00:00:00.000Z"
    )
    event = DomainEvent.validated(
        fanout_logic.CONTRACT, source=fanout_logic.SOURCE, detail_type=fanout_logic.COMPLETED, detail=detail
    )
    assert matched(rules, DOMAIN, on_bus(event)) == {rule("fanout-completed")}


def test_routes_contracts_and_summarisers_agree(rules, routes):
    assert routes == sorted(TYPES)
    available = contracts.available()
    for data_type in routes:
        assert f"record_routed_{data_type}" in available, f"route {data_type} has no contract"
        assert data_type in processor_logic.SUMMARIZERS, f"route {data_type} has no summariser"
    # The unroutable rule's catch-all names exactly the routed types.
    unroutable = rules[rule("routing-unroutable")].pattern
    assert unroutable["$or"][1]["detail"]["data_type"] == [{"anything-but": routes}]


def test_fanout_consumers_in_terraform_are_implemented():
    consumers = Source.read(STACK).variables["fanout_consumers"]["default"]
    assert set(consumers) <= set(fanout_logic.CONSUMERS)


@pytest.mark.parametrize(
    "name",
    ["record_submitted", "record_unroutable", "upload_processed", *(f"record_routed_{t}" for t in TYPES)],
)
def test_contracts_are_valid_draft7_schemas(name):
    jsonschema.Draft7Validator.check_schema(contracts.load_schema(name))
