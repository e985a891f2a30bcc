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

__all__ = ["CONFIG", "client", "reset", "resource"]

#: Shared client configuration: standard retry mode (exponential backoff with jitter, retry quota), bounded
#: connect/read timeouts well under the function timeout, TCP keep-alive for warm containers.
CONFIG = Config(
    retries={"mode": "standard", "total_max_attempts": 4},  # the first call + 3 retries
    connect_timeout=3,
    read_timeout=10,
    tcp_keepalive=True,
    user_agent_appid="sluice",
)

_lock = threading.Lock()
_session: boto3.session.Session | None = None
_clients: dict[str, Any] = {}
_resources: dict[str, Any] = {}


def _get_session() -> boto3.session.Session:
    global _session
    if _session is None:
        _session = boto3.session.Session()
    return _session


def client(service_name: str) -> Any:
    """The process-wide client for ``service_name`` (thread-safe, created on first use)."""
    cached = _clients.get(service_name)
    if cached is not None:
        return cached
    with _lock:
        if service_name not in _clients:
            _clients[service_name] = _get_session().client(service_name, config=CONFIG)
        return _clients[service_name]


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
