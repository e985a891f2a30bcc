"""The local cloud's HTTP API serving: route selection, the payload 2.0 event and the response mapping."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime

import pytest

from localcloud.delivery.apigateway import Route, map_response, request_event, select_route

ROUTES = [
    Route.compile("GET /items", "integrations/a"),
    Route.compile("GET /items/{id}", "integrations/b"),
    Route.compile("GET /items/special", "integrations/c"),
    Route.compile("ANY /items/{id}", "integrations/d"),
    Route.compile("ANY /files/{proxy+}", "integrations/e"),
    Route.compile("$default", "integrations/f"),
]


@pytest.mark.parametrize(
    ("method", "path", "key", "params"),
    [
        ("GET", "/items", "GET /items", {}),
        ("GET", "/items/42", "GET /items/{id}", {"id": "42"}),
        ("GET", "/items/special", "GET /items/special", {}),  # a literal path beats a variable
        ("DELETE", "/items/42", "ANY /items/{id}", {"id": "42"}),  # a method beats ANY, ANY takes the rest
        ("PUT", "/files/a/b/c.txt", "ANY /files/{proxy+}", {"proxy": "a/b/c.txt"}),
        ("GET", "/nothing/here", "$default", {}),
        ("POST", "/items", "$default", {}),
    ],
)
def test_the_most_specific_route_wins(method: str, path: str, key: str, params: dict) -> None:
    route, got = select_route(ROUTES, method, path)
    assert (route.key, got) == (key, params)


def test_no_route_without_default() -> None:
    assert select_route(ROUTES[:2], "GET", "/other") is None


def _event(body: bytes, content_type: str) -> dict:
    return request_event(
        api_id="abc", stage="$default", route_key="POST /items", method="POST", raw_path="/abc/items",
        query="a=1&a=2&b=", headers=[("Host", "127.0.0.1:4581"), ("Content-Type", content_type), ("Cookie", "s=1; t=2"), ("X-Multi", "1"), ("x-multi", "2")],
        body=body, path_parameters={}, stage_variables={"v": "1"}, source_ip="127.0.0.1", account_id="123456789012",
        request_id="r", now=datetime(2026, 1, 1, tzinfo=UTC),
    )  # fmt: skip


def test_the_event_has_the_payload_2_shape() -> None:
    event = _event(b'{"x": 1}', "application/json")
    assert (
        event["version"] == "2.0" and event["routeKey"] == "POST /items" and event["rawPath"] == "/abc/items"
    )
    assert event["queryStringParameters"] == {"a": "1,2", "b": ""} and event["rawQueryString"] == "a=1&a=2&b="
    assert event["cookies"] == ["s=1", "t=2"] and "cookie" not in event["headers"]
    assert event["headers"]["x-multi"] == "1,2" and event["stageVariables"] == {"v": "1"}
    assert event["requestContext"]["http"] == {
        "method": "POST",
        "path": "/abc/items",
        "protocol": "HTTP/1.1",
        "sourceIp": "127.0.0.1",
        "userAgent": "",
    }
    assert (
        event["requestContext"]["time"] == "01/Jan/2026:00:00:00 +0000"
        and event["requestContext"]["timeEpoch"] == 1767225600000
    )
    assert (event["body"], event["isBase64Encoded"]) == ('{"x": 1}', False)


def test_a_binary_body_is_base64_encoded() -> None:
    png = b"\x89PNG\r\n\x1a\n\x00\xff"
    event = _event(png, "image/png")
    assert event["isBase64Encoded"] is True and base64.b64decode(event["body"]) == png


def test_the_response_mapping() -> None:
    full = map_response(
        json.dumps(
            {"statusCode": 202, "headers": {"Location": "/x"}, "cookies": ["a=1"], "body": "{}"}
        ).encode()
    )
    assert full.status == 202 and ("Location", "/x") in full.headers and ("Set-Cookie", "a=1") in full.headers
    binary = map_response(
        json.dumps(
            {
                "statusCode": 200,
                "headers": {"Content-Type": "image/png"},
                "isBase64Encoded": True,
                "body": base64.b64encode(b"\x00\x01").decode(),
            }
        ).encode()
    )
    assert binary.body == b"\x00\x01"
    plain = map_response(b'{"hello": "world"}')  # no statusCode: 200 with the JSON itself
    assert plain.status == 200 and plain.body == b'{"hello": "world"}'
    assert map_response(b"not json").status == 500
    assert map_response(b'{"statusCode": "teapot"}').status == 500
