"""The Lambda service of the local cloud: pools of warm execution environments per function version,
synchronous and asynchronous invocation with AWS's retry and destination semantics, and per-function stats.
"""

from __future__ import annotations

import collections
import hashlib
import heapq
import itertools
import json
import logging
import math
import statistics
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..clock import CLOCK
from . import artifacts
from .environment import ExecutionEnvironment, FunctionSpec, Invocation
from .logs import LogStore

if TYPE_CHECKING:
    from moto.awslambda.models import LambdaFunction

    from ..cloud import LocalCloud

log = logging.getLogger("localcloud.lambda")
DIGEST_CACHE_SIZE = 64  # zips remembered: a stack's functions and layers with room (an entry keeps its zip alive)


class CodeDigests:
    """SHA-256 of the code zips moto holds, computed once per bytes object.

    spec_for runs on every invocation, and hashing the ML layer's ~47 MB zip took ~31 ms of CPU on an idle core
    each time (py-spy under the stream benchmark: the largest single cost of a fraud scorer invocation). moto keeps
    one immutable bytes object per function version and layer version and assigns a new one when the code
    changes, so the object itself is the key; an entry holds its object, so the id cannot be reused meanwhile.
    """

    def __init__(self, size: int = DIGEST_CACHE_SIZE) -> None:
        self._size = size
        self._cache: collections.OrderedDict[int, tuple[bytes, str]] = collections.OrderedDict()
        self._lock = threading.Lock()
        self.computed = 0

    def __call__(self, code: bytes) -> str:
        with self._lock:
            cached = self._cache.get(id(code))
            if cached is not None and cached[0] is code:
                self._cache.move_to_end(id(code))
                return cached[1]
        digest = hashlib.sha256(code).hexdigest()
        with self._lock:
            self.computed += 1
            self._cache[id(code)] = (code, digest)
            while len(self._cache) > self._size:
                self._cache.popitem(last=False)
        return digest


class Throttled(Exception):
    """Reserved concurrency reached (or set to 0): Lambda answers 429 TooManyRequestsException."""


@dataclass(frozen=True)
class InvokeResult:
    request_id: str
    payload: bytes
    error_type: str | None
    duration_ms: float
    cold: bool
    init_ms: float | None
    executed_version: str

    @property
    def errored(self) -> bool:
        return self.error_type is not None

    def json(self) -> Any:
        return json.loads(self.payload) if self.payload else None


@dataclass
class FunctionStats:
    invocations: int = 0
    errors: int = 0
    throttles: int = 0
    cold_starts: int = 0
    async_queued: int = 0
    async_retries: int = 0
    async_dropped: int = 0
    last_error: str | None = None
    durations_ms: collections.deque[float] = field(default_factory=lambda: collections.deque(maxlen=1000))
    duration_total_ms: float = 0.0  # every invocation's duration, summed (benchmarks take deltas for the bill)
    billed_total_ms: int = 0  # the same, each rounded up to the whole millisecond as Lambda bills it
    # The worker processes' CPU time within those invocations (``cpu_invocations`` of them had a reading): the part
    # of a duration that Lambda's CPU share at the function's memory would stretch (bench/cost.py).
    cpu_total_ms: float = 0.0
    cpu_invocations: int = 0
    init_ms: collections.deque[float] = field(default_factory=lambda: collections.deque(maxlen=100))

    def summary(self) -> dict[str, Any]:
        durations = sorted(self.durations_ms)

        def pct(p: float) -> float | None:
            return round(durations[min(len(durations) - 1, int(p * len(durations)))], 3) if durations else None

        return {
            "invocations": self.invocations,
            "errors": self.errors,
            "throttles": self.throttles,
            "cold_starts": self.cold_starts,
            "async_queued": self.async_queued,
            "async_retries": self.async_retries,
            "async_dropped": self.async_dropped,
            "last_error": self.last_error,
            "duration_p50_ms": pct(0.5),
            "duration_p99_ms": pct(0.99),
            "duration_total_ms": round(self.duration_total_ms, 3),
            "billed_total_ms": self.billed_total_ms,
            "cpu_total_ms": round(self.cpu_total_ms, 3),
            "cpu_invocations": self.cpu_invocations,
            "init_mean_ms": round(statistics.fmean(self.init_ms), 3) if self.init_ms else None,
        }


class _Pool:
    """Execution environments of one function configuration. AWS scales these with demand; so do we, up to a cap."""

    def __init__(self, spec: FunctionSpec, factory: Any, cap: int) -> None:
        self.spec = spec
        self._factory = factory
        self._cap = cap
        self._idle: list[ExecutionEnvironment] = []
        self._busy = 0
        self._total = 0
        self._cond = threading.Condition()
        self.closed = False

    def acquire(self) -> ExecutionEnvironment:
        reserved = self.spec.reserved_concurrency
        with self._cond:
            if reserved is not None and self._busy >= reserved:
                raise Throttled(f"Rate Exceeded: reserved concurrency {reserved} of {self.spec.name} in use")
            while True:
                while self._idle:
                    env = self._idle.pop()
                    if env.alive:
                        self._busy += 1
                        return env
                    self._total -= 1
                if self._total < self._cap:
                    self._total += 1
                    self._busy += 1
                    break
                self._cond.wait()
        try:
            env = self._factory(self.spec)
            env.start()
        except Exception:
            with self._cond:
                self._total -= 1
                self._busy -= 1
                self._cond.notify()
            raise
        return env

    def release(self, env: ExecutionEnvironment) -> None:
        with self._cond:
            self._busy -= 1
            if env.alive and not self.closed:
                self._idle.append(env)
            else:
                self._total -= 1
                if env.alive:
                    env.stop()
            self._cond.notify()

    def reap(self, idle_seconds: float) -> None:
        now = time.monotonic()
        with self._cond:
            keep = []
            for env in self._idle:
                if now - env.last_used > idle_seconds or not env.alive:
                    env.stop()
                    self._total -= 1
                else:
                    keep.append(env)
            self._idle = keep

    def close(self) -> None:
        with self._cond:
            self.closed = True
            for env in self._idle:
                env.stop()
            self._total -= len(self._idle)
            self._idle = []
            self._cond.notify_all()

    def environments(self) -> dict[str, int]:
        with self._cond:
            return {"busy": self._busy, "idle": len(self._idle)}


@dataclass(order=True)
class _AsyncTask:
    due: float
    seq: int
    function_arn: str = field(compare=False)
    payload: bytes = field(compare=False)
    request_id: str = field(compare=False)
    attempt: int = field(compare=False, default=1)
    first_queued: float = field(compare=False, default=0.0)


class LambdaService:
    def __init__(self, cloud: LocalCloud, logs: LogStore) -> None:
        self._cloud = cloud
        self._config = cloud.config
        self._logs = logs
        self._pools: dict[str, _Pool] = {}
        self._active_key: dict[str, str] = {}  # function arn -> current config key
        self._digest = CodeDigests()
        self._lock = threading.Lock()
        self.stats: dict[str, FunctionStats] = collections.defaultdict(FunctionStats)
        self._runtime_dir = artifacts.runtime_dir(self._config.home / "runtime")
        self._async: list[_AsyncTask] = []
        self._async_cond = threading.Condition()
        self._seq = itertools.count()
        self._stopping = threading.Event()
        self._threads = [
            threading.Thread(target=self._async_worker, name=f"lambda-async-{i}", daemon=True) for i in range(4)
        ]
        self._threads.append(threading.Thread(target=self._reaper, name="lambda-reaper", daemon=True))
        for thread in self._threads:
            thread.start()
        CLOCK.on_advance(self._wake_async)

    # -- functions ------------------------------------------------------------------------------------------
    def function(self, name_or_arn: str, qualifier: str | None = None) -> LambdaFunction:
        from moto.awslambda.utils import get_backend

        arn = name_or_arn
        account, region = self._config.account_id, self._config.region
        if arn.startswith("arn:"):
            parts = arn.split(":")
            region, account = parts[3], parts[4]
            if len(parts) > 7 and qualifier is None:
                qualifier = parts[7]
                arn = ":".join(parts[:7])
        return get_backend(account, region).get_function(arn, qualifier)

    def spec_for(self, fn: LambdaFunction) -> FunctionSpec:
        from moto.awslambda.utils import get_backend

        backend = get_backend(fn.account_id, fn.region)
        layer_dirs = []
        layer_shas = []
        for layer in fn.layers:
            version = backend.layers_versions_by_arn(layer["Arn"])
            if version is None:
                raise RuntimeError(f"layer {layer['Arn']} of {fn.function_name} does not exist")
            layer_sha = self._digest(version.code_bytes)  # moto's CodeSha256 is base64: not a path
            layer_dirs.append(artifacts.extract(version.code_bytes, layer_sha, self._config.code_dir / "layers"))
            layer_shas.append(layer_sha)
        if not getattr(fn, "code_bytes", b""):
            raise RuntimeError(f"{fn.function_name} has no zip code (image functions are not supported locally)")
        code_sha = self._digest(fn.code_bytes)
        code_dir = artifacts.extract(fn.code_bytes, code_sha, self._config.code_dir / "functions")
        environment = {str(k): str(v) for k, v in (fn.environment_vars or {}).items()}
        reserved = fn.reserved_concurrency
        key_material = json.dumps(
            [fn.function_arn, code_sha, layer_shas, fn.handler, fn.run_time, fn.timeout, fn.memory_size, environment, reserved, str(fn.version)],
            sort_keys=True,
        )
        return FunctionSpec(
            name=fn.function_name,
            arn=fn.function_arn,
            version="$LATEST" if str(fn.version) in ("$LATEST", "0") else str(fn.version),
            handler=fn.handler,
            runtime=fn.run_time or "python3",
            timeout=float(fn.timeout or 3),
            memory_mb=int(fn.memory_size or 128),
            environment=environment,
            code_dir=code_dir,
            layer_dirs=tuple(layer_dirs),
            reserved_concurrency=int(reserved) if reserved not in (None, "") else None,
            config_key=hashlib.sha256(key_material.encode()).hexdigest()[:16],
        )

    def _pool(self, spec: FunctionSpec) -> _Pool:
        with self._lock:
            pool = self._pools.get(spec.config_key)
            if pool is None:
                pool = _Pool(spec, self._new_environment, self._config.max_envs_per_function)
                self._pools[spec.config_key] = pool
            previous = self._active_key.get(spec.arn)
            if previous and previous != spec.config_key and previous in self._pools:
                # New code or configuration: like AWS, retire the old environments (busy ones finish first).
                self._pools.pop(previous).close()
            self._active_key[spec.arn] = spec.config_key
            return pool

    def _new_environment(self, spec: FunctionSpec) -> ExecutionEnvironment:
        return ExecutionEnvironment(
            spec,
            runtime_dir=self._runtime_dir,
            tmp_root=self._config.envs_dir,
            endpoint=self._config.endpoint,
            region=self._config.region,
            log_store=self._logs,
            extra_env=self._cloud.runtime_env(),
        )

    # -- invoking --------------------------------------------------------------------------------------------
    def invoke(self, fn: LambdaFunction, payload: bytes, *, client_context: str | None = None) -> InvokeResult:
        """Synchronous (RequestResponse) invocation. Raises Throttled when reserved concurrency is exhausted."""
        spec = self.spec_for(fn)
        stats = self.stats[spec.name]
        fault = self._cloud.faults.before_invoke(spec.name)
        pool = self._pool(spec)
        try:
            if fault == "throttle":
                raise Throttled(f"Rate Exceeded (injected fault) for {spec.name}")
            env = pool.acquire()
        except Throttled:
            stats.throttles += 1
            raise
        invocation = Invocation(
            payload=payload,
            trace_id=f"Root=1-{int(time.time()):08x}-{uuid.uuid4().hex[:24]};Parent={uuid.uuid4().hex[:16]};Sampled=1",
            client_context=client_context,
        )
        try:
            if fault == "error":
                invocation.started_at = invocation.finished_at = time.monotonic()
                invocation.error = {"errorType": "InjectedFault", "errorMessage": f"injected fault in {spec.name}"}
                invocation.error_type = "InjectedFault"
                cold = False
            else:
                invocation, cold = env.invoke(invocation)
                if fault == "timeout" and invocation.error is None:
                    # The function did its work (and its side effects) but "ran out of time" before returning.
                    invocation.error = {
                        "errorType": "Sandbox.Timedout",
                        "errorMessage": f"Task timed out after {spec.timeout:.2f} seconds (injected fault)",
                    }
                    invocation.error_type = "Sandbox.Timedout"
        finally:
            pool.release(env)
        stats.invocations += 1
        stats.durations_ms.append(invocation.duration_ms)
        stats.duration_total_ms += invocation.duration_ms
        stats.billed_total_ms += max(1, math.ceil(invocation.duration_ms))
        if invocation.cpu_ms is not None:
            stats.cpu_total_ms += invocation.cpu_ms
            stats.cpu_invocations += 1
        if cold:
            stats.cold_starts += 1
            if env.init_duration_ms is not None:
                stats.init_ms.append(env.init_duration_ms)
        if invocation.error is not None:
            stats.errors += 1
            stats.last_error = f"{invocation.error.get('errorType')}: {invocation.error.get('errorMessage')}"
            body = json.dumps(invocation.error).encode()
        else:
            body = invocation.response or b""
        return InvokeResult(
            request_id=invocation.request_id,
            payload=body,
            error_type=invocation.error_type if invocation.error is not None else None,
            duration_ms=invocation.duration_ms,
            cold=cold,
            init_ms=env.init_duration_ms if cold else None,
            executed_version=spec.version,
        )

    def invoke_async(self, fn: LambdaFunction, payload: bytes) -> str:
        """Event invocation: queued, retried on error per the function's event invoke config, then sent to its
        on-failure destination or dead-letter queue. Returns the request id at once (AWS answers 202)."""
        request_id = str(uuid.uuid4())
        task = _AsyncTask(CLOCK.time(), next(self._seq), fn.function_arn, payload, request_id, 1, CLOCK.time())
        self.stats[fn.function_name].async_queued += 1
        with self._async_cond:
            heapq.heappush(self._async, task)
            self._async_cond.notify()
        return request_id

    def pending_async(self) -> int:
        with self._async_cond:
            return len(self._async)

    def _wake_async(self) -> None:
        with self._async_cond:
            self._async_cond.notify_all()

    def _async_worker(self) -> None:
        while not self._stopping.is_set():
            with self._async_cond:
                while not self._stopping.is_set():
                    if self._async and self._async[0].due <= CLOCK.time():
                        task = heapq.heappop(self._async)
                        break
                    timeout = max(0.01, self._async[0].due - CLOCK.time()) if self._async else 1.0
                    self._async_cond.wait(timeout)
                else:
                    return
            try:
                self._run_async(task)
            except Exception:
                log.exception("asynchronous invocation of %s failed in the local cloud itself", task.function_arn)

    def _run_async(self, task: _AsyncTask) -> None:
        try:
            fn = self.function(task.function_arn)
        except Exception:
            log.warning("asynchronous invocation dropped: %s no longer exists", task.function_arn)
            return
        config = fn.event_invoke_config[0].config if fn.event_invoke_config else {}
        max_retries = int(config.get("MaximumRetryAttempts", 2))
        max_age = float(config.get("MaximumEventAgeInSeconds", 21600))
        stats = self.stats[fn.function_name]
        try:
            result = self.invoke(fn, task.payload)
            error: dict[str, Any] | None = json.loads(result.payload) if result.errored else None
            condition = "RetriesExhausted"
        except Throttled as exc:
            result = None
            error = {"errorType": "TooManyRequestsException", "errorMessage": str(exc)}
            condition = "EventAgeExceeded"
            # Throttles are retried until the event is too old, without counting as attempts (AWS semantics).
            if CLOCK.time() - task.first_queued < max_age:
                self._requeue(task, task.attempt, delay=1.0)
                return
        destinations = config.get("DestinationConfig", {})
        if error is None:
            success = destinations.get("OnSuccess", {}).get("Destination")
            if success:
                self._send_record(success, task, fn, result, None, "Success")
            return
        if result is not None and task.attempt <= max_retries and CLOCK.time() - task.first_queued < max_age:
            stats.async_retries += 1
            delays = self._config.async_retry_delays or (0.0,)
            self._requeue(task, task.attempt + 1, delay=delays[min(task.attempt - 1, len(delays) - 1)])
            return
        failure = destinations.get("OnFailure", {}).get("Destination")
        dlq = (getattr(fn, "dead_letter_config", None) or {}).get("TargetArn")
        if failure:
            self._send_record(failure, task, fn, result, error, condition)
        elif dlq:
            from ..delivery import targets

            targets.send(
                self._cloud,
                dlq,
                task.payload.decode("utf-8", "replace"),
                attributes={
                    "RequestID": task.request_id,
                    "ErrorCode": "200",
                    "ErrorMessage": str(error.get("errorMessage", ""))[:1000],
                },
            )
        else:
            stats.async_dropped += 1
            log.warning("asynchronous event for %s dropped after %d attempts: %s", fn.function_name, task.attempt, error)

    def _requeue(self, task: _AsyncTask, attempt: int, delay: float) -> None:
        retry = _AsyncTask(
            CLOCK.time() + delay, next(self._seq), task.function_arn, task.payload, task.request_id, attempt, task.first_queued
        )
        with self._async_cond:
            heapq.heappush(self._async, retry)
            self._async_cond.notify()

    def _send_record(
        self,
        destination: str,
        task: _AsyncTask,
        fn: LambdaFunction,
        result: InvokeResult | None,
        error: dict[str, Any] | None,
        condition: str,
    ) -> None:
        from ..delivery import targets

        try:
            request_payload = json.loads(task.payload)
        except ValueError:
            request_payload = task.payload.decode("utf-8", "replace")
        record = {
            "version": "1.0",
            "timestamp": CLOCK.now().isoformat().replace("+00:00", "Z"),
            "requestContext": {
                "requestId": task.request_id,
                "functionArn": f"{fn.function_arn}:$LATEST",
                "condition": condition,
                "approximateInvokeCount": task.attempt,
            },
            "requestPayload": request_payload,
            "responseContext": {
                "statusCode": 200,
                "executedVersion": "$LATEST",
                **({"functionError": "Unhandled"} if error else {}),
            },
            "responsePayload": error if error else (result.json() if result else None),
        }
        targets.send(self._cloud, destination, record)

    # -- housekeeping ---------------------------------------------------------------------------------------
    def _reaper(self) -> None:
        while not self._stopping.wait(5.0):
            with self._lock:
                pools = list(self._pools.values())
            for pool in pools:
                pool.reap(self._config.env_idle_seconds)

    def environments(self) -> dict[str, dict[str, int]]:
        with self._lock:
            return {pool.spec.name: pool.environments() for pool in self._pools.values() if not pool.closed}

    def stop(self) -> None:
        self._stopping.set()
        self._wake_async()
        with self._lock:
            pools = list(self._pools.values())
            self._pools.clear()
        for pool in pools:
            pool.close()
