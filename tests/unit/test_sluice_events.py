"""sluice.events: the EventBridge "Object Created" event from S3."""

from __future__ import annotations

import copy
import json

import pytest
from conftest import load_event
from sluice.errors import InvalidEvent
from sluice.events import S3ObjectRef, parse_s3_object_created


def test_documented_aws_event() -> None:
    ref = parse_s3_object_created(json.dumps(load_event("eventbridge_s3_object_created")))
    assert ref == S3ObjectRef(
        bucket="sluice-test-123456789012-landing",
        key="incoming/order-0-00001.json",
        etag="b1946ac92492d2347c6235b4d2611184",
        version_id=None,
        size=312,
        sequencer="00617F08299329D189",
        event_id="2d4eba74-fd51-3966-4bfa-b013c9da8ff1",
        event_time="2024-06-03T12:00:00.000Z",
        request_id="N4N7GDK58NMKJ12R",
    )
    assert (
        ref.item_id
        == "sluice-test-123456789012-landing/incoming/order-0-00001.json#b1946ac92492d2347c6235b4d2611184"
    )
    assert ref.uri == "s3://sluice-test-123456789012-landing/incoming/order-0-00001.json"


def test_url_encoded_key_is_decoded_and_version_is_kept() -> None:
    ref = parse_s3_object_created(load_event("eventbridge_s3_object_created_versioned_encoded_key"))
    assert ref.key == "incoming/spring sale/order #1+2.json"
    assert ref.version_id == "IYV3p45BT0ac8hjHg1houSdS1a.Mro8e"
    assert ref.etag == "9b2cf535f27731c974343645a3985328-2"
    assert ref.event_time == "2024-06-03T12:00:01.250Z"


def test_moto_shape_is_accepted() -> None:
    ref = parse_s3_object_created(load_event("eventbridge_s3_object_created_moto"))
    assert ref.etag == "b1946ac92492d2347c6235b4d2611184"
    assert ref.version_id is None
    assert ref.event_time == "2024-06-03T12:00:00.123Z"


def test_round_trip_through_a_dict() -> None:
    ref = parse_s3_object_created(load_event("eventbridge_s3_object_created_versioned_encoded_key"))
    assert S3ObjectRef.from_dict(json.loads(json.dumps(ref.to_dict()))) == ref


def _mutated(path: tuple[str, ...], value: object) -> dict:
    event = copy.deepcopy(load_event("eventbridge_s3_object_created"))
    target = event
    for part in path[:-1]:
        target = target[part]
    if value is KeyError:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return event


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("not json", "message body is not JSON"),
        ("[]", "message body is not a JSON object"),
        ("[" * 100_000, "message body is not JSON"),
        (_mutated(("detail-type",), "Object Deleted"), "expected an 'Object Created' event"),
        (_mutated(("source",), "aws.ec2"), "expected an 'Object Created' event"),
        (_mutated(("detail",), KeyError), "missing field detail"),
        (_mutated(("detail", "bucket"), KeyError), "missing field detail.bucket"),
        (_mutated(("detail", "bucket", "name"), ""), "detail.bucket.name must be a non-empty string"),
        (_mutated(("detail", "object", "key"), 7), "detail.object.key must be a non-empty string"),
        (_mutated(("detail", "object", "etag"), KeyError), "detail.object.etag must be a non-empty string"),
        (_mutated(("detail", "object", "size"), -1), "detail.object.size must be a non-negative integer"),
        (_mutated(("detail", "object", "size"), "12"), "detail.object.size must be a non-negative integer"),
        (_mutated(("detail", "object", "version-id"), 3), "version-id must be a non-empty string"),
    ],
)
def test_malformed_events_raise_invalid_event(body: object, reason: str) -> None:
    with pytest.raises(InvalidEvent) as info:
        parse_s3_object_created(body if isinstance(body, str) else json.dumps(body))
    assert reason in info.value.reason
    assert (info.value.code, info.value.stage) == ("invalid_event", "event")
