"""The HTTP APIs' Lambda authorizer (functions/api_authorizer) and the key store CLI logic (sluicectl.api_keys),
against moto's SSM."""

from __future__ import annotations

import importlib
import json
from typing import Any

import boto3
import pytest

from sluicectl import api_keys

PARAMETER = "/sluice-test/api-keys"


@pytest.fixture
def ssm(aws: None, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("API_KEYS_PARAMETER", PARAMETER)
    monkeypatch.delenv("FAILURES_TABLE", raising=False)  # the module gives the authorizer none
    client = boto3.client("ssm", region_name="us-east-1")
    client.put_parameter(Name=PARAMETER, Value=json.dumps({}), Type="SecureString")
    return client


@pytest.fixture
def authorizer(ssm: Any) -> Any:
    from aws_lambda_powertools.utilities import parameters

    parameters.clear_caches()  # the warm cache of one test must not answer the next
    return importlib.import_module("api_authorizer.handler")


def event(authorization: str | None) -> dict[str, Any]:
    headers = {"host": "abc123.execute-api.us-east-1.amazonaws.com"}
    if authorization is not None:
        headers["authorization"] = authorization
    return {
        "version": "2.0",
        "type": "REQUEST",
        "routeKey": "POST /predictions",
        "headers": headers,
        "identitySource": [authorization or ""],
    }


def test_a_key_added_with_the_cli_is_authorized_and_names_its_client(
    authorizer: Any, ssm: Any, lambda_context: Any
) -> None:
    key = api_keys.add(ssm, PARAMETER, "mobile-app")
    assert key.startswith("sk_") and len(key) > 40
    stored = json.loads(ssm.get_parameter(Name=PARAMETER, WithDecryption=True)["Parameter"]["Value"])
    assert stored == {"mobile-app": api_keys.hash_key(key)}, "only the hash is stored"
    assert key not in json.dumps(stored)

    assert authorizer.handler(event(f"Bearer {key}"), lambda_context) == {
        "isAuthorized": True,
        "context": {"client": "mobile-app"},
    }
    assert authorizer.handler(event(key), lambda_context)["isAuthorized"] is True, "a bare key works too"


@pytest.mark.parametrize(
    "header", [None, "", "Bearer ", "Bearer wrong-key", "Basic dXNlcjpwYXNz", "Bearer " + "x" * 5000]
)
def test_missing_wrong_or_oversized_keys_are_denied(
    authorizer: Any, ssm: Any, lambda_context: Any, header: str | None
) -> None:
    api_keys.add(ssm, PARAMETER, "someone")
    assert authorizer.handler(event(header), lambda_context) == {"isAuthorized": False}


def test_a_revoked_key_is_denied_once_the_cache_expires(
    authorizer: Any, ssm: Any, lambda_context: Any
) -> None:
    from aws_lambda_powertools.utilities import parameters

    key = api_keys.add(ssm, PARAMETER, "temp")
    assert authorizer.handler(event(f"Bearer {key}"), lambda_context)["isAuthorized"] is True
    assert api_keys.revoke(ssm, PARAMETER, "temp") is True
    assert api_keys.revoke(ssm, PARAMETER, "temp") is False, "revoking twice reports it"
    parameters.clear_caches()  # what API_KEYS_MAX_AGE seconds do in a warm environment
    assert authorizer.handler(event(f"Bearer {key}"), lambda_context)["isAuthorized"] is False


def test_adding_a_key_again_replaces_the_old_one(ssm: Any) -> None:
    first = api_keys.add(ssm, PARAMETER, "ci")
    second = api_keys.add(ssm, PARAMETER, "ci")
    assert first != second
    assert api_keys.read(ssm, PARAMETER) == {"ci": api_keys.hash_key(second)}
    with pytest.raises(ValueError, match="client name"):
        api_keys.add(ssm, PARAMETER, "no spaces please")


@pytest.mark.parametrize("store", ['["not", "an", "object"]', '{"x": "not-a-digest"}', "not json"])
def test_a_malformed_key_store_fails_closed(
    authorizer: Any, ssm: Any, lambda_context: Any, store: str
) -> None:
    ssm.put_parameter(Name=PARAMETER, Value=store, Type="SecureString", Overwrite=True)
    assert authorizer.handler(event("Bearer anything"), lambda_context) == {"isAuthorized": False}


def test_a_missing_key_store_fails_closed(authorizer: Any, ssm: Any, lambda_context: Any) -> None:
    ssm.delete_parameter(Name=PARAMETER)
    assert authorizer.handler(event("Bearer anything"), lambda_context) == {"isAuthorized": False}


def test_logic_matches_every_entry_in_constant_time_order() -> None:
    logic = importlib.import_module("api_authorizer.logic")
    store = {"a": logic.hash_key("key-a"), "b": logic.hash_key("key-b")}
    assert logic.authorize({"authorization": "Bearer key-b"}, store).client == "b"
    assert logic.authorize({"authorization": "bearer   key-a  "}, store).client == "a"
    assert logic.authorize({}, store).reason == "no Authorization header"
    assert logic.hash_key("key-a") == api_keys.hash_key("key-a"), "the CLI and the authorizer hash alike"
