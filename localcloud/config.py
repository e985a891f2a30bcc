"""Settings of one local cloud instance, read from the environment once."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_PORT = 4580
ACCOUNT_ID = "123456789012"  # moto's default account
REGION = "us-east-1"


def _repo_root() -> Path:
    here = Path(__file__).resolve().parent.parent
    return here if (here / "pyproject.toml").exists() else Path.cwd()


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ValueError(f"{name} must be an integer, got {raw!r}") from exc


def _env_floats(name: str, default: tuple[float, ...]) -> tuple[float, ...]:
    raw = os.environ.get(name)
    if not raw:
        return default
    return tuple(float(part) for part in raw.split(",") if part.strip())


@dataclass(frozen=True)
class Config:
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    # HTTP APIs (API Gateway v2) are served on their own port: http://<host>:<api_port>/<api id>/... (0 = any free).
    api_port: int = DEFAULT_PORT + 1
    # Everything an instance writes (logs, extracted code, terraform state) lives below this folder.
    home: Path = field(default_factory=lambda: _repo_root() / ".localcloud" / "default")
    region: str = REGION
    account_id: str = ACCOUNT_ID
    # Execution environments kept per function version at most (AWS would scale far higher; a laptop can't).
    max_envs_per_function: int = 4
    # An idle execution environment is stopped after this many seconds (AWS: minutes, unspecified).
    env_idle_seconds: int = 300
    # Concurrent batches per SQS event source mapping (AWS starts with 5 pollers; capped by MaximumConcurrency).
    sqs_pollers_per_mapping: int = 2
    # Delays between the retries of a failed asynchronous invocation. AWS waits 1 and 2 minutes; locally seconds,
    # so a flow with a failing async target finishes while a test waits for it.
    async_retry_delays: tuple[float, ...] = (1.0, 2.0)
    # Attempts EventBridge makes to deliver to a target before the target's DLQ (AWS: 185 over 24 h).
    event_delivery_attempts: int = 3
    # First delay before a stream batch that failed is retried (doubles per retry, at most 1 s). AWS backs off
    # for seconds to minutes; locally short, so a retry budget is spent while a test waits.
    stream_retry_delay: float = 0.05
    # HTTP worker threads; a long-polling ReceiveMessage holds one for up to 20 s.
    server_threads: int = 64

    @property
    def endpoint(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def api_endpoint(self) -> str:
        """Where HTTP APIs are served (when api_port is 0, the running instance's health says which port it got)."""
        return f"http://{self.host}:{self.api_port}"

    @property
    def state_file(self) -> Path:
        return self.home / "state.json"

    @property
    def logs_dir(self) -> Path:
        return self.home / "logs"

    @property
    def code_dir(self) -> Path:
        return self.home / "code"

    @property
    def envs_dir(self) -> Path:
        return self.home / "envs"

    @classmethod
    def from_env(cls, **overrides: object) -> Config:
        name = os.environ.get("LOCALCLOUD_INSTANCE", "default")
        home = Path(os.environ.get("LOCALCLOUD_HOME", str(_repo_root() / ".localcloud" / name)))
        port = int(overrides.get("port") or _env_int("LOCALCLOUD_PORT", DEFAULT_PORT))  # type: ignore[call-overload]
        values: dict[str, object] = {
            "host": os.environ.get("LOCALCLOUD_HOST", "127.0.0.1"),
            "port": port,
            "api_port": _env_int("LOCALCLOUD_API_PORT", port + 1),
            "home": home,
            "max_envs_per_function": _env_int("LOCALCLOUD_MAX_ENVS_PER_FUNCTION", 4),
            "env_idle_seconds": _env_int("LOCALCLOUD_ENV_IDLE_SECONDS", 300),
            "sqs_pollers_per_mapping": _env_int("LOCALCLOUD_SQS_POLLERS", 2),
            "async_retry_delays": _env_floats("LOCALCLOUD_ASYNC_RETRY_DELAYS", (1.0, 2.0)),
            "event_delivery_attempts": _env_int("LOCALCLOUD_EVENT_DELIVERY_ATTEMPTS", 3),
            "server_threads": _env_int("LOCALCLOUD_SERVER_THREADS", 64),
            "stream_retry_delay": float(os.environ.get("LOCALCLOUD_STREAM_RETRY_DELAY") or 0.05),
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        if isinstance(values["home"], str):
            values["home"] = Path(values["home"])
        return cls(**values)  # type: ignore[arg-type]
