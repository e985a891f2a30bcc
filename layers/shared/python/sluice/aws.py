"""Cached boto3 clients sharing one botocore Config.

Clients are created on first use (not at import), once per process, and reused across invocations. Endpoints
are never set here: boto3 honours ``AWS_ENDPOINT_URL`` (and ``AWS_ENDPOINT_URL_<SERVICE>``), which the local
cloud sets; on AWS nothing is set and the regional endpoints are used.
"""

from __future__ import annotations

import threading
from typing import Any

import boto3
from botocore.config import Config

__all__ = ["CONFIG", "UNVALIDATED", "client", "reset", "resource"]

#: Shared client configuration: standard retry mode (exponential backoff with jitter, retry quota), bounded
#: connect/read timeouts well under the function timeout, TCP keep-alive for warm containers.
CONFIG = Config(
    retries={"mode": "standard", "total_max_attempts": 4},  # the first call + 3 retries
    connect_timeout=3,
    read_timeout=10,
    tcp_keepalive=True,
    user_agent_appid="sluice",
)

#: For hot paths whose requests the code itself builds from validated data: botocore's client-side check of
#: every request against the operation's input shape is skipped (the service still validates and answers
#: ValidationException). It was ~22% of the fraud scorer's CPU per batch (py-spy: a BatchWriteItem of 25 items
#: walks every attribute value).
UNVALIDATED = CONFIG.merge(Config(parameter_validation=False))

_lock = threading.Lock()
_session: boto3.session.Session | None = None
_clients: dict[str, Any] = {}
_resources: dict[str, Any] = {}


def _get_session() -> boto3.session.Session:
    global _session
    if _session is None:
        _session = boto3.session.Session()
    return _session


def client(service_name: str, *, validate: bool = True) -> Any:
    """The process-wide client for ``service_name`` (thread-safe, created on first use); ``validate=False``:
    another one, without client-side parameter validation (``UNVALIDATED``)."""
    key = service_name if validate else f"{service_name}:unvalidated"
    cached = _clients.get(key)
    if cached is not None:
        return cached
    with _lock:
        if key not in _clients:
            _clients[key] = _get_session().client(service_name, config=CONFIG if validate else UNVALIDATED)
        return _clients[key]


def resource(service_name: str) -> Any:
    """The process-wide boto3 resource for ``service_name`` (prefer ``client`` in new code)."""
    cached = _resources.get(service_name)
    if cached is not None:
        return cached
    with _lock:
        if service_name not in _resources:
            _resources[service_name] = _get_session().resource(service_name, config=CONFIG)
        return _resources[service_name]


def reset() -> None:
    """Forget cached clients and the session (tests: after changing credentials, region or mocks)."""
    global _session
    with _lock:
        _clients.clear()
        _resources.clear()
        _session = None
