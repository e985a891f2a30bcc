"""One Lambda execution environment: a worker process running AWS's runtime interface client (awslambdaric)
against a Runtime API served by this module.

Why hand-written: the Runtime API is the contract between Lambda and any runtime
(https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html); AWS's emulator for it (the RIE) is a Go
binary shipped in container images, which this machine cannot run. It is four endpoints.

The process stays alive between invocations, so module-level work (clients, models) is done once per
environment, exactly as on AWS; a cold start is the process start plus the handler module's import.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from .logs import LogStore

RUNTIME_API_PREFIX = "/2018-06-01/runtime"
# AWS gives the init phase 10 s apart from the function timeout; an init that takes longer is not an error: "Lambda
# retries the Init phase at the time of the first function invocation with the configured function timeout"
# (https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtime-environment.html). Here the same init goes on, now
# inside the invocation: it and the handler share the function timeout.
INIT_TIMEOUT_SECONDS = 10.0
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")  # the unit of /proc/<pid>/stat's CPU times
_env_ids = itertools.count(1)


@dataclass(frozen=True)
class FunctionSpec:
    """Everything an execution environment needs from a function's configuration."""

    name: str
    arn: str
    version: str
    handler: str
    runtime: str
    timeout: float
    memory_mb: int
    environment: dict[str, str]
    code_dir: Path
    layer_dirs: tuple[Path, ...]
    reserved_concurrency: int | None
    config_key: str  # changes whenever code, layers or configuration change


@dataclass
class Invocation:
    payload: bytes
    request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    trace_id: str | None = None
    client_context: str | None = None
    deadline_ms: int = 0
    done: threading.Event = field(default_factory=threading.Event)
    response: bytes | None = None
    error: dict[str, Any] | None = None
    error_type: str | None = None
    started_at: float = 0.0
    finished_at: float = 0.0
    cpu_ms: float | None = None  # the worker process's CPU time during the invocation (all threads), if known

    @property
    def duration_ms(self) -> float:
        return (self.finished_at - self.started_at) * 1000.0


class EnvironmentDead(Exception):
    """The worker process exited or failed its init; the environment cannot take invocations."""


class _RuntimeApiHandler(BaseHTTPRequestHandler):
    # Without this, every warm invoke waits ~40 ms on Nagle + delayed ACK (measured: 88 ms vs 1 ms per invoke).
    disable_nagle_algorithm = True
    protocol_version = "HTTP/1.1"
    server: _RuntimeApiServer

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _reply(self, status: HTTPStatus, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        # The C runtime client crashes silently on a response without Content-Type.
        self.send_header("Content-Type", "application/json")
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        if self.path != f"{RUNTIME_API_PREFIX}/invocation/next":
            self._reply(HTTPStatus.NOT_FOUND, b'{"errorMessage":"unknown path"}')
            return
        invocation = self.server.env._next_invocation()
        if invocation is None:  # shutting down: the process is about to be killed
            self._reply(HTTPStatus.GONE, b"{}")
            return
        spec = self.server.env.spec
        headers = {
            "Lambda-Runtime-Aws-Request-Id": invocation.request_id,
            "Lambda-Runtime-Deadline-Ms": str(invocation.deadline_ms),
            "Lambda-Runtime-Invoked-Function-Arn": spec.arn,
        }
        if invocation.trace_id:
            headers["Lambda-Runtime-Trace-Id"] = invocation.trace_id
        if invocation.client_context:
            headers["Lambda-Runtime-Client-Context"] = invocation.client_context
        self._reply(HTTPStatus.OK, invocation.payload, headers)

    def do_POST(self) -> None:
        body = self._body()
        path = self.path
        env = self.server.env
        if path == f"{RUNTIME_API_PREFIX}/init/error":
            env._init_failed(body, self.headers.get("Lambda-Runtime-Function-Error-Type"))
            self._reply(HTTPStatus.ACCEPTED, b'{"status":"OK"}')
            return
        prefix = f"{RUNTIME_API_PREFIX}/invocation/"
        if path.startswith(prefix):
            request_id, _, kind = path[len(prefix) :].partition("/")
            if kind == "response":
                env._complete(request_id, body, None)
                self._reply(HTTPStatus.ACCEPTED, b'{"status":"OK"}')
                return
            if kind == "error":
                env._complete(request_id, body, self.headers.get("Lambda-Runtime-Function-Error-Type") or "Unhandled")
                self._reply(HTTPStatus.ACCEPTED, b'{"status":"OK"}')
                return
        self._reply(HTTPStatus.NOT_FOUND, b'{"errorMessage":"unknown path"}')


class _RuntimeApiServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, env: ExecutionEnvironment) -> None:
        self.env = env
        super().__init__(("127.0.0.1", 0), _RuntimeApiHandler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # The worker's pending GET /next is cut when an environment is stopped: expected, not worth a traceback.
        import sys as _sys

        if not isinstance(_sys.exc_info()[1], (ConnectionError, OSError)):
            super().handle_error(request, client_address)


class ExecutionEnvironment:
    """A worker process plus its Runtime API. Takes one invocation at a time."""

    def __init__(
        self,
        spec: FunctionSpec,
        *,
        runtime_dir: Path,
        tmp_root: Path,
        endpoint: str,
        region: str,
        log_store: LogStore,
        extra_env: dict[str, str] | None = None,
    ) -> None:
        self.spec = spec
        self.id = f"{next(_env_ids):04d}{uuid.uuid4().hex[:12]}"
        self.log_stream = time.strftime("%Y/%m/%d/[$LATEST]", time.gmtime()) + self.id
        self._runtime_dir = runtime_dir
        self._tmp = tmp_root / self.id
        self._endpoint = endpoint
        self._region = region
        self._logs = log_store
        self._extra_env = extra_env or {}
        self._inbox: queue.Queue[Invocation | None] = queue.Queue()
        self._current: Invocation | None = None
        self._ready = threading.Event()  # set at the first GET /next: init is over
        self._init_error: dict[str, Any] | None = None
        self._dead = False
        self._server = _RuntimeApiServer(self)
        self._process: subprocess.Popen[bytes] | None = None
        self.started_at = 0.0
        self.init_duration_ms: float | None = None
        self.invocations = 0
        self.last_used = time.monotonic()

    # -- lifecycle -----------------------------------------------------------------------------------------
    def start(self) -> None:
        threading.Thread(target=self._server.serve_forever, name=f"rapi-{self.id}", daemon=True).start()
        self._tmp.mkdir(parents=True, exist_ok=True)
        python_version = f"{sys.version_info.major}.{sys.version_info.minor}"
        paths = [str(self.spec.code_dir)]
        for layer in self.spec.layer_dirs:
            paths += [str(layer / "python" / "lib" / f"python{python_version}" / "site-packages"), str(layer / "python")]
        paths.append(str(self._runtime_dir))
        host, port = self._server.server_address[:2]
        env = {
            "PATH": "/usr/local/bin:/usr/bin:/bin",
            "LANG": "en_US.UTF-8",
            "TZ": ":UTC",
            "PYTHONPATH": os.pathsep.join(paths),
            "PYTHONDONTWRITEBYTECODE": "1",
            "TMPDIR": str(self._tmp),
            "LAMBDA_TASK_ROOT": str(self.spec.code_dir),
            "LAMBDA_RUNTIME_DIR": str(self._runtime_dir),
            "_HANDLER": self.spec.handler,
            "AWS_LAMBDA_RUNTIME_API": f"{host}:{port}",
            "AWS_EXECUTION_ENV": f"AWS_Lambda_{self.spec.runtime}",
            "AWS_LAMBDA_FUNCTION_NAME": self.spec.name,
            "AWS_LAMBDA_FUNCTION_VERSION": self.spec.version,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(self.spec.memory_mb),
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{self.spec.name}",
            "AWS_LAMBDA_LOG_STREAM_NAME": self.log_stream,
            "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
            "AWS_REGION": self._region,
            "AWS_DEFAULT_REGION": self._region,
            "AWS_ACCESS_KEY_ID": "test",
            "AWS_SECRET_ACCESS_KEY": "test",
            "AWS_SESSION_TOKEN": "test",
            # The one difference from AWS: every SDK call goes back to the local cloud.
            "AWS_ENDPOINT_URL": self._endpoint,
            **self._extra_env,
            **self.spec.environment,
        }
        self.started_at = time.monotonic()
        # -S: no site-packages of the local cloud's own venv; the function sees its zip, its layers and the runtime.
        self._process = subprocess.Popen(
            [sys.executable, "-S", "-u", "-m", "awslambdaric", self.spec.handler],
            cwd=self.spec.code_dir,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        threading.Thread(target=self._pump_output, name=f"out-{self.id}", daemon=True).start()
        threading.Thread(target=self._watch_exit, name=f"exit-{self.id}", daemon=True).start()

    def stop(self) -> None:
        self._dead = True
        self._inbox.put(None)
        if self._process and self._process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self._process.pid, signal.SIGKILL)
            self._process.wait(timeout=5)
        self._server.shutdown()
        self._server.server_close()

    @property
    def alive(self) -> bool:
        return not self._dead and self._process is not None and self._process.poll() is None

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def cpu_ms(self) -> float | None:
        """The worker process's CPU time so far (user + system, every thread, living or ended), from
        /proc/<pid>/stat: in clock ticks (10 ms), so one invocation's figure is coarse, but the truncation at either
        end cancels out on average, and the mean over many invocations is what the cost model uses."""
        if self.pid is None:
            return None
        try:
            with open(f"/proc/{self.pid}/stat", encoding="ascii") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            return None
        # After the command name: state is field 3, utime 14 and stime 15 (proc(5)), so indexes 11 and 12 here.
        return (int(fields[11]) + int(fields[12])) * 1000.0 / _CLOCK_TICKS

    def max_memory_mb(self) -> int:
        """Peak resident memory of the worker (VmHWM), what REPORT calls Max Memory Used."""
        try:
            with open(f"/proc/{self.pid}/status", encoding="ascii") as status:
                for line in status:
                    if line.startswith("VmHWM:"):
                        return int(line.split()[1]) // 1024
        except (OSError, ValueError):
            pass
        return 0

    # -- invoking ------------------------------------------------------------------------------------------
    def invoke(self, invocation: Invocation) -> tuple[Invocation, bool]:
        """Run one invocation; returns it completed and whether this was the environment's first (cold)."""
        cold = self.invocations == 0
        self.invocations += 1
        self.last_used = time.monotonic()
        timeout = float(self.spec.timeout)
        started = None
        if not self._ready.is_set() and not self._ready.wait(INIT_TIMEOUT_SECONDS):
            # Past the init phase's 10 s: the init continues within the invocation and its function timeout.
            self._logs.write(self.spec.name, self.log_stream, f"INIT_REPORT Init Duration: {INIT_TIMEOUT_SECONDS * 1000:.2f} ms Phase: init Status: timeout", invocation.request_id)
            started = time.monotonic()
            if not self._ready.wait(timeout):
                self._fail_unready(invocation, "Sandbox.Timedout", f"Task timed out after {timeout:.2f} seconds (in its init)")
                return invocation, cold
        if self._init_error is not None or not self.alive:
            self._fail_unready(invocation, *self._death_cause())
            return invocation, cold
        invocation.started_at = started if started is not None else time.monotonic()  # a late init is billed
        timeout -= time.monotonic() - invocation.started_at
        invocation.deadline_ms = int((time.time() + timeout) * 1000)
        self._current = invocation
        cpu_at_start = self.cpu_ms()
        self._logs.write(self.spec.name, self.log_stream, f"START RequestId: {invocation.request_id} Version: {self.spec.version}", invocation.request_id)
        self._inbox.put(invocation)
        finished = invocation.done.wait(max(timeout, 0.0))
        if finished:
            cpu_at_end = self.cpu_ms()  # the worker has answered and waits for its next invocation
            if cpu_at_start is not None and cpu_at_end is not None:
                invocation.cpu_ms = max(0.0, cpu_at_end - cpu_at_start)
        else:
            invocation.finished_at = time.monotonic()
            invocation.error = {
                "errorType": "Sandbox.Timedout",
                "errorMessage": f"Task timed out after {self.spec.timeout:.2f} seconds",
            }
            invocation.error_type = "Sandbox.Timedout"
            self._logs.write(self.spec.name, self.log_stream, f"{time.strftime('%Y-%m-%dT%H:%M:%S', time.gmtime())} {invocation.request_id} Task timed out after {self.spec.timeout:.2f} seconds", invocation.request_id)
            self.stop()  # AWS resets the environment after a timeout
        self._current = None
        self._report(invocation, cold)
        self.last_used = time.monotonic()
        return invocation, cold

    def _report(self, invocation: Invocation, cold: bool) -> None:
        duration = invocation.duration_ms
        report = (
            f"REPORT RequestId: {invocation.request_id}\tDuration: {duration:.2f} ms\t"
            f"Billed Duration: {max(1, int(duration + 0.999))} ms\tMemory Size: {self.spec.memory_mb} MB\t"
            f"Max Memory Used: {self.max_memory_mb()} MB"
        )
        if cold and self.init_duration_ms is not None:
            report += f"\tInit Duration: {self.init_duration_ms:.2f} ms"
        self._logs.write(self.spec.name, self.log_stream, f"END RequestId: {invocation.request_id}", invocation.request_id)
        self._logs.write(self.spec.name, self.log_stream, report, invocation.request_id)

    def _fail_unready(self, invocation: Invocation, error_type: str, message: str) -> None:
        invocation.started_at = invocation.finished_at = time.monotonic()
        invocation.error = {"errorType": error_type, "errorMessage": message}
        invocation.error_type = error_type
        self._logs.write(self.spec.name, self.log_stream, f"INIT_FAILED {error_type}: {message}", invocation.request_id)
        self.stop()

    def _death_cause(self) -> tuple[str, str]:
        if self._init_error is not None:
            return (
                str(self._init_error.get("errorType", "Runtime.Unknown")),
                str(self._init_error.get("errorMessage", "init failed")),
            )
        code = self._process.poll() if self._process else None
        return "Runtime.ExitError", f"RequestId: the runtime exited with code {code} before the invocation"

    # -- called by the Runtime API -------------------------------------------------------------------------
    def _next_invocation(self) -> Invocation | None:
        if not self._ready.is_set():
            self.init_duration_ms = (time.monotonic() - self.started_at) * 1000.0
            self._ready.set()
        return self._inbox.get()

    def _complete(self, request_id: str, body: bytes, error_type: str | None) -> None:
        invocation = self._current
        if invocation is None or invocation.request_id != request_id or invocation.done.is_set():
            return  # a late answer to an invocation that already timed out
        invocation.finished_at = time.monotonic()
        if error_type is None:
            invocation.response = body
        else:
            try:
                invocation.error = json.loads(body or b"{}")
            except ValueError:
                invocation.error = {"errorType": error_type, "errorMessage": body.decode("utf-8", "replace")}
            invocation.error_type = error_type
        invocation.done.set()

    def _init_failed(self, body: bytes, error_type: str | None) -> None:
        try:
            self._init_error = json.loads(body or b"{}")
        except ValueError:
            self._init_error = {"errorType": error_type or "Runtime.Unknown", "errorMessage": body.decode("utf-8", "replace")}
        self._ready.set()

    # -- background threads --------------------------------------------------------------------------------
    def _pump_output(self) -> None:
        assert self._process is not None and self._process.stdout is not None
        for raw in iter(self._process.stdout.readline, b""):
            current = self._current
            self._logs.write(
                self.spec.name,
                self.log_stream,
                raw.decode("utf-8", "replace"),
                current.request_id if current else None,
            )

    def _watch_exit(self) -> None:
        assert self._process is not None
        code = self._process.wait()
        if self._dead:
            return
        self._dead = True
        self._ready.set()
        invocation = self._current
        if invocation is not None and not invocation.done.is_set():
            invocation.finished_at = time.monotonic()
            invocation.error = {
                "errorType": "Runtime.ExitError",
                "errorMessage": f"RequestId: {invocation.request_id} Error: Runtime exited with error: exit status {code}",
            }
            invocation.error_type = "Runtime.ExitError"
            invocation.done.set()
