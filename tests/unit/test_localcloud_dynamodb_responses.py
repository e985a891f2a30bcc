"""The local cloud's DynamoDB response patch (localcloud/patches/dynamodb_responses.py): item operations answer
exactly what moto's own serializer answers, binary attributes included (they fall back to it); their requests
parse to what moto's parser gives, and what that parser would change falls back to it."""

from __future__ import annotations

import boto3
import pytest

from localcloud.patches import dynamodb_responses


def _calls(ddb) -> dict:
    return {
        "batch_get": sorted(
            ddb.batch_get_item(
                RequestItems={"t": {"Keys": [{"k": {"S": f"u{i}"}} for i in range(0, 40, 3)]}}
            )["Responses"]["t"],
            key=lambda item: item["k"]["S"],
        ),
        "get": ddb.get_item(TableName="t", Key={"k": {"S": "u5"}})["Item"],
        "get_missing": "Item" in ddb.get_item(TableName="t", Key={"k": {"S": "nope"}}),
        "query": ddb.query(
            TableName="t", KeyConditionExpression="k = :k", ExpressionAttributeValues={":k": {"S": "u7"}}
        )["Items"],
        "scan_page": (lambda page: (page["Items"], page.get("LastEvaluatedKey"), page["Count"]))(
            ddb.scan(TableName="t", Limit=4)
        ),
        "update": ddb.update_item(
            TableName="t",
            Key={"k": {"S": "u9"}},
            UpdateExpression="SET n = :n",
            ExpressionAttributeValues={":n": {"N": "1.5"}},
            ReturnValues="ALL_NEW",
        )["Attributes"],
        "binary": ddb.get_item(TableName="t", Key={"k": {"S": "bin"}})["Item"],
    }


def test_item_responses_are_unchanged(aws, monkeypatch) -> None:
    from moto.core import responses

    ddb = boto3.client("dynamodb", region_name="us-east-1")
    ddb.create_table(
        TableName="t",
        KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    for start in range(0, 40, 20):
        ddb.batch_write_item(
            RequestItems={
                "t": [
                    {
                        "PutRequest": {
                            "Item": {
                                "k": {"S": f"u{i}"},
                                "n": {"N": "1.5"},
                                "ss": {"SS": ["a", "b"]},
                                "m": {"M": {"l": {"L": [{"N": "1"}, {"NULL": True}, {"BOOL": False}]}}},
                            }
                        }
                    }
                    for i in range(start, start + 20)
                ]
            }
        )
    ddb.put_item(TableName="t", Item={"k": {"S": "bin"}, "b": {"B": b"\x00\x01"}})
    from moto.dynamodb.responses import DynamoHandler

    monkeypatch.setattr(
        responses.ActionResult, "execute_result", responses.ActionResult.execute_result
    )  # undone after the test
    monkeypatch.setattr(DynamoHandler, "parse_parameters", DynamoHandler.parse_parameters)
    from moto.dynamodb.models.dynamo_type import Item

    monkeypatch.setattr(Item, "__init__", Item.__init__)
    before = _calls(ddb)
    dynamodb_responses.install()
    after = _calls(ddb)
    assert after == before
    assert before["binary"]["b"]["B"] == b"\x00\x01" and before["get_missing"] is False


@pytest.mark.parametrize("operation", ["GetItem", "BatchGetItem", "Query", "Scan"])
def test_the_fast_path_covers_the_read_operations(operation) -> None:
    assert operation in dynamodb_responses.ITEM_OPERATIONS


def _moto_parse(operation: str, body: bytes) -> dict:
    from moto.core.parse import PROTOCOL_PARSERS
    from moto.core.utils import get_service_model

    parser = PROTOCOL_PARSERS["json"](get_service_model("dynamodb").operation_model(operation), map_type=dict)
    return parser.parse({"method": "POST", "values": {}, "headers": {}, "body": body, "url_path": "/", "url_params": {}})


ITEM = {
    "user_id": {"S": "u1"},
    "features": {"S": '{"lat":1.5,"seq":"4960"}'},
    "txn_count": {"N": "3"},
    "ss": {"SS": ["a", "b"]},
    "m": {"M": {"l": {"L": [{"N": "1"}, {"NULL": True}, {"BOOL": False}]}}},
}
REQUESTS = [
    ("BatchWriteItem", {"RequestItems": {"t": [{"PutRequest": {"Item": ITEM}}, {"DeleteRequest": {"Key": {"user_id": {"S": "u2"}}}}]}}),
    ("BatchGetItem", {"RequestItems": {"t": {"Keys": [{"user_id": {"S": "u1"}}], "ConsistentRead": True}}}),
    ("PutItem", {"TableName": "t", "Item": ITEM, "ConditionExpression": "attribute_not_exists(user_id)"}),
    ("UpdateItem", {"TableName": "t", "Key": {"user_id": {"S": "u1"}}, "UpdateExpression": "ADD n :one",
                    "ExpressionAttributeValues": {":one": {"N": "1"}}, "ReturnValues": "ALL_NEW"}),
    ("Query", {"TableName": "t", "KeyConditionExpression": "user_id = :u", "Limit": 5,
               "ExpressionAttributeValues": {":u": {"S": "u1"}}, "ExclusiveStartKey": {"user_id": {"S": "u0"}}}),
]


@pytest.mark.parametrize(("operation", "request_"), REQUESTS, ids=[op for op, _ in REQUESTS])
def test_item_requests_parse_as_moto_parses_them(operation, request_) -> None:
    import json

    body = json.dumps(request_).encode()
    fast = dynamodb_responses.fast_params(operation, body)
    assert fast is not None
    assert fast == _moto_parse(operation, body)


@pytest.mark.parametrize(
    ("operation", "request_"),
    [
        ("PutItem", {"TableName": "t", "Item": {"k": {"S": "x"}, "b": {"B": "AAE="}}}),  # bytes after parsing
        ("BatchWriteItem", {"RequestItems": {"t": [{"PutRequest": {"Item": {"k": {"BS": ["AAE="]}}}}]}}),
        ("GetItem", {"TableName": "t", "Key": {"k": {"S": "x"}}, "ProjectionExpression": None}),  # dropped
        ("GetItem", {"TableName": "t", "Key": {"k": {"S": "x"}}, "NotAMember": 1}),  # dropped
        ("CreateTable", {"TableName": "t"}),  # not an item operation
    ],
)
def test_what_the_shape_parser_changes_falls_back_to_it(operation, request_) -> None:
    import json

    assert dynamodb_responses.fast_params(operation, json.dumps(request_).encode()) is None


@pytest.mark.parametrize("attributes", [ITEM, {"user_id": {"S": "u1"}}, {"user_id": {"S": "u1"}, "big": {"S": "x" * 404_900}}])
def test_items_are_built_as_moto_builds_them(attributes) -> None:
    from moto.dynamodb.models.dynamo_type import DynamoType, Item

    key = DynamoType(attributes["user_id"])
    ours = Item.__new__(Item)
    dynamodb_responses._item_init()(ours, key, None, attributes)
    theirs = Item(key, None, attributes)
    assert ours == theirs and ours.to_json() == theirs.to_json() and type(ours.attrs) is type(theirs.attrs)


@pytest.mark.parametrize(("size", "outcome"), [(405_000, "stored"), (405_001, "too large")])
def test_item_size_limit_is_moto_s(size, outcome) -> None:
    from moto.dynamodb.exceptions import ItemSizeTooLarge
    from moto.dynamodb.models.dynamo_type import DynamoType, Item

    attributes = {"user_id": {"S": "u1"}, "big": {"S": "x" * (size - len("user_id") - len("u1") - len("big"))}}
    outcomes = []
    for build in (Item.__init__, dynamodb_responses._item_init()):
        try:
            build(Item.__new__(Item), DynamoType(attributes["user_id"]), None, attributes)
            outcomes.append("stored")
        except ItemSizeTooLarge:
            outcomes.append("too large")
    assert outcomes == [outcome, outcome]
