"""A small client for a running local cloud: health, readiness, the control API and boto3 clients aimed at it."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

from .config import Config

CREDENTIALS = {"aws_access_key_id": "test", "aws_secret_access_key": "test"}


class LocalCloudError(RuntimeError):
    pass


class LocalCloudClient:
    def __init__(self, endpoint: str, region: str = "us-east-1") -> None:
        self.endpoint = endpoint.rstrip("/")
        self.region = region

    @classmethod
    def from_config(cls, config: Config | None = None) -> LocalCloudClient:
        config = config or Config.from_env()
        state = read_state(config.home)
        endpoint = state["endpoint"] if state else config.endpoint
        return cls(endpoint, config.region)

    # -- control API ------------------------------------------------------------------------------------------
    def _call(self, method: str, path: str, body: Any = None, timeout: float = 10.0) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(f"{self.endpoint}/_localcloud/{path}", data=data, method=method)
        request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return json.loads(response.read() or b"null")
        except urllib.error.HTTPError as exc:
            raise LocalCloudError(f"{method} {path}: {exc.code} {exc.read().decode(errors='replace')}") from exc

    def health(self) -> dict[str, Any] | None:
        try:
            return self._call("GET", "health", timeout=2.0)
        except (OSError, LocalCloudError, ValueError):
            return None

    def wait_ready(self, timeout: float = 30.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        delay = 0.05
        while time.monotonic() < deadline:
            health = self.health()
            if health and health.get("status") == "ok":
                return health
            time.sleep(delay)
            delay = min(delay * 2, 0.5)
        raise LocalCloudError(f"the local cloud at {self.endpoint} did not become healthy within {timeout:.0f} s")

    def status(self) -> dict[str, Any]:
        return self._call("GET", "status")

    def apis(self) -> list[dict[str, Any]]:
        """Every HTTP API the local cloud serves: api_id, name, routes and the URL of each stage."""
        return self._call("GET", "apis")["apis"]

    def api_endpoint(self) -> str:
        """Where the running instance serves HTTP APIs (http://127.0.0.1:<api port>)."""
        health = self.health()
        if not health or "api_endpoint" not in health:
            raise LocalCloudError(f"the local cloud at {self.endpoint} does not say where it serves HTTP APIs")
        return str(health["api_endpoint"])

    def advance_clock(self, seconds: float) -> dict[str, Any]:
        return self._call("POST", "clock", {"advance": seconds})

    def schedules(self, count: int = 5) -> list[dict[str, Any]]:
        """Scheduled rules and Scheduler schedules with their next `count` firings."""
        return self._call("GET", f"schedules?count={count}")["schedules"]

    def fire_schedule(self, name: str) -> dict[str, Any]:
        """Fire a scheduled rule or a Scheduler schedule now (name, group/name or ARN)."""
        return self._call("POST", f"schedules/{urllib.parse.quote(name, safe='/')}/fire", {})

    def set_fault(self, function_name: str, **fault: Any) -> dict[str, Any]:
        return self._call("PUT", f"faults/{function_name}", fault)

    def clear_faults(self, function_name: str | None = None) -> Any:
        """Clear one function's fault, or every fault (functions and deliveries)."""
        return self._call("DELETE", f"faults/{function_name}" if function_name else "faults")

    def set_delivery_fault(self, source: str, *, duplicate_rate: float = 0.0, out_of_order: bool = False) -> dict[str, Any]:
        """Duplicate (and, for sqs, reorder) deliveries of `source`: sqs, kinesis, dynamodb or eventbridge."""
        return self._call("PUT", f"delivery-faults/{source}", {"duplicate_rate": duplicate_rate, "out_of_order": out_of_order})

    def clear_delivery_faults(self, source: str | None = None) -> Any:
        return self._call("DELETE", f"delivery-faults/{source}" if source else "delivery-faults")

    def faults(self) -> dict[str, Any]:
        """Faults set and injected so far: {"faults", "deliveries", "injected", "by_kind"}."""
        return self._call("GET", "faults")

    def logs(self, function_name: str, lines: int = 200) -> list[dict[str, Any]]:
        return self._call("GET", f"logs/{function_name}?lines={lines}")

    # -- AWS clients ------------------------------------------------------------------------------------------
    def boto3_client(self, service: str, **kwargs: Any) -> Any:
        import boto3
        from botocore.config import Config as BotoConfig

        config = kwargs.pop("config", BotoConfig(retries={"max_attempts": 2, "mode": "standard"}))
        return boto3.client(
            service, endpoint_url=self.endpoint, region_name=self.region, config=config, **CREDENTIALS, **kwargs
        )


def read_state(home: Path) -> dict[str, Any] | None:
    path = home / "state.json"
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None
