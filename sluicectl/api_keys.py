"""API keys of the HTTP APIs: ``sluicectl api-key add|list|revoke``.

The key store is the SSM SecureString parameter the stack creates (output ``api_keys_parameter``): a JSON object
{client name: sha256 hex of the key} that the authorizer function reads. A new key is printed once and only its
hash is stored; revoking deletes the entry (effective within the authorizer's API_KEYS_MAX_AGE plus the API's
authorizer cache). Works the same against the local cloud and AWS (boto3 honours AWS_ENDPOINT_URL).
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from typing import Any

_NAME = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")


def hash_key(key: str) -> str:
    # The authorizer (functions/api_authorizer/logic.py) hashes presented keys the same way; sluicectl does not
    # import function code, so the one line is repeated here.
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def read(ssm: Any, parameter: str) -> dict[str, str]:
    raw = ssm.get_parameter(Name=parameter, WithDecryption=True)["Parameter"]["Value"]
    store = json.loads(raw or "{}")
    if not isinstance(store, dict):
        raise ValueError(f"{parameter} does not hold a JSON object")
    return store


def _write(ssm: Any, parameter: str, store: dict[str, str]) -> None:
    ssm.put_parameter(
        Name=parameter, Value=json.dumps(dict(sorted(store.items()))), Type="SecureString", Overwrite=True
    )


def add(ssm: Any, parameter: str, client: str) -> str:
    """Create a key for ``client`` (replacing its old one), store its hash; return the key (shown once)."""
    if not _NAME.match(client):
        raise ValueError(f"client name {client!r}: use 1-64 of A-Z a-z 0-9 _ . @ -")
    key = "sk_" + secrets.token_urlsafe(32)
    store = read(ssm, parameter)
    store[client] = hash_key(key)
    _write(ssm, parameter, store)
    return key


def revoke(ssm: Any, parameter: str, client: str) -> bool:
    store = read(ssm, parameter)
    if client not in store:
        return False
    del store[client]
    _write(ssm, parameter, store)
    return True
