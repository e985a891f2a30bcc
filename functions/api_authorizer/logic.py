"""Who may call the HTTP APIs: API keys, stored only as SHA-256 hashes.

A caller sends ``Authorization: Bearer <key>`` (or the bare key). The key store is a JSON object
``{"<client name>": "<sha256 hex of the key>", ...}`` kept in an SSM SecureString parameter, so neither
Terraform state nor the parameter holds a usable key, and a key is revoked by deleting its entry.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass

_HEX64 = re.compile(r"^[0-9a-f]{64}$")
MAX_KEY_LENGTH = 512


class KeyStoreError(ValueError):
    """The key store is not a JSON object of client name → 64-hex-digit SHA-256."""


@dataclass(frozen=True)
class Decision:
    authorized: bool
    client: str | None = None
    reason: str = ""

    def response(self) -> dict:
        """The simple response (payload format 2.0) API Gateway expects from a Lambda authorizer."""
        if not self.authorized:
            return {"isAuthorized": False}
        return {"isAuthorized": True, "context": {"client": self.client}}


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def check_store(store: object) -> dict[str, str]:
    if not isinstance(store, Mapping):
        raise KeyStoreError(f"the key store must be a JSON object, got {type(store).__name__}")
    bad = sorted(
        str(name) for name, digest in store.items() if not isinstance(digest, str) or not _HEX64.match(digest)
    )
    if bad:
        raise KeyStoreError(f"entries that are not a SHA-256 hex digest: {', '.join(bad)}")
    return dict(store)


def presented_key(headers: Mapping[str, str]) -> str | None:
    """The key in the Authorization header (HTTP API lower-cases header names), without a Bearer prefix."""
    raw = (headers.get("authorization") or "").strip()
    if raw[:7].lower() == "bearer ":
        raw = raw[7:].strip()
    return raw or None


def authorize(headers: Mapping[str, str], store: Mapping[str, str]) -> Decision:
    key = presented_key(headers)
    if key is None:
        return Decision(False, reason="no Authorization header")
    if len(key) > MAX_KEY_LENGTH:
        return Decision(False, reason="key too long")
    digest = hash_key(key)
    # compare_digest against every entry, not a dict lookup: the time taken does not depend on which entry
    # (or how much of one) matched.
    client = None
    for name, expected in sorted(store.items()):
        if hmac.compare_digest(digest, expected):
            client = name
    if client is None:
        return Decision(False, reason="unknown key")
    return Decision(True, client=client)
