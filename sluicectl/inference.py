"""A client of pipeline 3's HTTP API, as `curl` would use it (plain HTTP requests, no SDK): submit images inline
or through an upload URL, poll results. Tests, benchmarks and `make model` users share it.

Every route needs an API key (``Authorization: Bearer <key>``): taken from ``SLUICE_API_KEY``, which the CLI,
the tests and the benchmarks set from the environment's ``api_key`` Terraform output on the local cloud.
"""

from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

ENDED = ("succeeded", "failed")


@dataclass
class Reply:
    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


def http(method: str, url: str, data: bytes | None = None, headers: dict[str, str] | None = None, timeout: float = 30.0) -> Reply:
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            raw, status, got = response.read(), response.status, dict(response.headers)
    except urllib.error.HTTPError as exc:
        raw, status, got = exc.read(), exc.code, dict(exc.headers)
    try:
        body = json.loads(raw) if raw else {}
    except ValueError:
        body = {"raw": raw.decode("utf-8", "replace")}
    return Reply(status, body if isinstance(body, dict) else {"value": body}, got)


API_KEY_VARIABLE = "SLUICE_API_KEY"


def auth_headers(api_key: str | None = None) -> dict[str, str]:
    """The Authorization header for ``api_key`` (default: $SLUICE_API_KEY); none without a key."""
    key = api_key if api_key is not None else os.environ.get(API_KEY_VARIABLE)
    return {"Authorization": f"Bearer {key}"} if key else {}


def use_api_key(outputs: dict[str, Any]) -> None:
    """Adopt a throwaway environment's development key (its ``api_key`` output) unless $SLUICE_API_KEY is set."""
    if outputs.get("api_key") and not os.environ.get(API_KEY_VARIABLE):
        os.environ[API_KEY_VARIABLE] = outputs["api_key"]


def submit(api_url: str, image: bytes, content_type: str = "image/png", api_key: str | None = None) -> Reply:
    """POST the image inline (curl -X POST --data-binary @digit.png -H 'Content-Type: image/png'
    -H "Authorization: Bearer $SLUICE_API_KEY" .../predictions)."""
    return http("POST", f"{api_url}/predictions", image, {"Content-Type": content_type, **auth_headers(api_key)})


def submit_upload(api_url: str, image: bytes, content_type: str = "image/png", declared_length: int | None = None, api_key: str | None = None) -> Reply:
    """Ask for an upload URL, then PUT the image there (the large-image path). Returns the POST's reply. The PUT
    carries no API key: the presigned URL is its authorization."""
    request = {"content_type": content_type, "content_length": len(image) if declared_length is None else declared_length}
    reply = http("POST", f"{api_url}/predictions", json.dumps(request).encode(), {"Content-Type": "application/json", **auth_headers(api_key)})
    if reply.status != 202:
        return reply
    upload = reply.body["upload"]
    put = http(upload["method"], upload["url"], image, upload["headers"])
    if put.status != 200:
        raise RuntimeError(f"upload to {upload['url']} failed: {put.status} {put.body}")
    return reply


def result(url: str, api_key: str | None = None) -> Reply:
    return http("GET", url, headers=auth_headers(api_key))


def wait_ended(result_urls: Iterable[str], timeout: float = 120.0, workers: int = 8, on_progress: Callable[[int], None] | None = None) -> dict[str, dict[str, Any]]:
    """Poll every result URL until its job has ended (succeeded or failed); the last body of each by URL."""
    pending = list(result_urls)
    ended: dict[str, dict[str, Any]] = {}
    deadline = time.monotonic() + timeout
    delay = 0.05
    with ThreadPoolExecutor(workers) as pool:
        while pending:
            replies = list(pool.map(result, pending))
            still = []
            for url, reply in zip(pending, replies, strict=True):
                if reply.status == 200 and reply.body.get("status") in ENDED:
                    ended[url] = reply.body
                else:
                    still.append(url)
            pending = still
            if on_progress:
                on_progress(len(ended))
            if pending and time.monotonic() > deadline:
                raise TimeoutError(f"{len(pending)} jobs had not ended after {timeout:.0f} s, e.g. {pending[0]}")
            if pending:
                time.sleep(delay)
                delay = min(delay * 2, 0.5)
    return ended
