"""Helpers for tests that run against a local cloud: start one in a subprocess, wait on real outcomes.

    with running_cloud() as cloud:          # a fresh instance on a free port, stopped afterwards
        s3 = cloud.boto3_client("s3")
        ...
        wait_until(lambda: count_items() == 200, timeout=60, what="200 results")

`wait_until` polls with bounded exponential backoff and fails with what it last saw; tests never sleep a fixed time.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from .client import LocalCloudClient

T = TypeVar("T")


class WaitTimeout(AssertionError):
    pass


def wait_until(
    probe: Callable[[], T],
    *,
    timeout: float = 30.0,
    what: str = "condition",
    initial: float = 0.05,
    maximum: float = 1.0,
    describe: Callable[[], Any] | None = None,
) -> T:
    """Call `probe` until it returns something truthy; return that. Backoff doubles from `initial` to `maximum`.
    On timeout, raise with the last value (and `describe()` if given) so the failure says what was seen."""
    deadline = time.monotonic() + timeout
    delay = initial
    last: Any = None
    while True:
        last = probe()
        if last:
            return last
        if time.monotonic() >= deadline:
            extra = f"; state: {describe()}" if describe else ""
            raise WaitTimeout(f"timed out after {timeout:.0f} s waiting for {what}; last value: {last!r}{extra}")
        time.sleep(min(delay, max(0.0, deadline - time.monotonic())))
        delay = min(delay * 2, maximum)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def running_cloud(home: Path | None = None, port: int | None = None, env: dict[str, str] | None = None) -> Iterator[LocalCloudClient]:
    """Start a local cloud in a subprocess (its own port and state folder) and stop it afterwards."""
    port = port or free_port()
    owned = home is None
    home = home or Path(tempfile.mkdtemp(prefix="localcloud-"))
    home.mkdir(parents=True, exist_ok=True)
    log_path = home / "server.log"
    child_env = {
        **os.environ,
        "LOCALCLOUD_API_PORT": "0",  # HTTP APIs on any free port: the client's api_endpoint() says which
        **(env or {}),
        "LOCALCLOUD_PORT": str(port),
        "LOCALCLOUD_HOME": str(home),
    }
    with log_path.open("ab") as log_file:
        process = subprocess.Popen(
            [sys.executable, "-m", "localcloud", "serve"],
            env=child_env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    client = LocalCloudClient(f"http://127.0.0.1:{port}")
    client.home = home  # type: ignore[attr-defined]
    client.log_path = log_path  # type: ignore[attr-defined]
    try:
        client.wait_ready(60)
        yield client
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if owned and not os.environ.get("LOCALCLOUD_KEEP_HOME"):
            shutil.rmtree(home, ignore_errors=True)
