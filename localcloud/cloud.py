"""LocalCloud: the moto server, the patches, the Lambda runtime and the deliveries, started and stopped together."""

from __future__ import annotations

import json
import logging
import os
import shutil
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from cheroot import wsgi

from . import __version__
from .clock import CLOCK, Clock
from .config import Config
from .control import ControlApp
from .delivery.apigateway import HttpApiDelivery
from .delivery.base import Delivery
from .delivery.dynamodb_streams import DynamoDBStreamsDelivery
from .delivery.eventbridge import EventsDelivery
from .delivery.kinesis import KinesisDelivery
from .delivery.scheduler import SchedulerDelivery
from .delivery.sqs import SqsDelivery
from .faults import Faults
from .runtime.logs import LogStore
from .runtime.metrics import EmfForwarder
from .runtime.service import LambdaService

log = logging.getLogger("localcloud")


class StepFunctions:
    """Starting executions for EventBridge and other targets (the execution engine is moto's ASL interpreter,
    patched in localcloud/patches/stepfunctions.py)."""

    def __init__(self, cloud: LocalCloud) -> None:
        self._cloud = cloud

    def start(self, state_machine_arn: str, execution_input: str, name: str | None = None) -> str:
        from moto.stepfunctions.responses import get_backend

        parts = state_machine_arn.split(":")
        backend = get_backend(parts[4], parts[3])
        execution = backend.start_execution(state_machine_arn, name or str(uuid.uuid4()), execution_input)
        return str(execution.execution_arn)


class LocalCloud:
    def __init__(self, config: Config | None = None) -> None:
        self.config = config or Config.from_env()
        self.instance_id = uuid.uuid4().hex[:12]
        self.clock: Clock = CLOCK
        self.faults = Faults()
        self.started_at = 0.0
        self._server: wsgi.Server | None = None
        self._server_thread: threading.Thread | None = None
        self._supervisor: threading.Thread | None = None
        self._stopping = threading.Event()
        self.logs: LogStore
        self.lambdas: LambdaService
        self.events: EventsDelivery
        self.sqs: SqsDelivery
        self.apis: HttpApiDelivery
        self.kinesis: KinesisDelivery
        self.dynamodb_streams: DynamoDBStreamsDelivery
        self.scheduler: SchedulerDelivery
        self.stepfunctions = StepFunctions(self)
        self.deliveries: list[Delivery] = []

    # -- lifecycle -----------------------------------------------------------------------------------------------
    def start(self) -> LocalCloud:
        started = time.monotonic()
        home = self.config.home
        home.mkdir(parents=True, exist_ok=True)
        # moto keeps everything in memory: what an earlier instance left on disk (logs, terraform state) is stale.
        for stale in (self.config.logs_dir, self.config.envs_dir, home / "terraform"):
            shutil.rmtree(stale, ignore_errors=True)
        os.environ.setdefault("MOTO_ALLOW_NONEXISTENT_REGION", "true")
        # moto's Lambda tasks of Step Functions call boto3 at localhost:$MOTO_PORT.
        os.environ["MOTO_PORT"] = str(self.config.port)
        from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

        from . import patches

        self.logs = LogStore(self.config.logs_dir, self.config.account_id, self.config.region)
        # Functions' EMF documents become CloudWatch metrics, as Lambda's log pipeline does on AWS.
        self.emf = EmfForwarder(self.config.account_id, self.config.region)
        self.logs.add_listener(self.emf)
        self.lambdas = LambdaService(self, self.logs)
        self.events = EventsDelivery(self)
        self.sqs = SqsDelivery(self)
        self.apis = HttpApiDelivery(self)
        self.kinesis = KinesisDelivery(self)
        self.dynamodb_streams = DynamoDBStreamsDelivery(self)
        self.scheduler = SchedulerDelivery(self)
        self.deliveries = [self.events, self.sqs, self.apis, self.kinesis, self.dynamodb_streams, self.scheduler]
        patches.install(self)

        app = ControlApp(self, DomainDispatcherApplication(create_backend_app))
        # cheroot rather than werkzeug's development server: werkzeug closes every connection, so each SDK call
        # paid for a new TCP connection and a new thread (measured 5.5 ms vs 2.4 ms per DynamoDB call).
        self._server = wsgi.Server(
            (self.config.host, self.config.port),
            app,
            numthreads=self.config.server_threads,
            request_queue_size=256,  # listen backlog: terraform opens ~40 connections at once (default 5)
            timeout=120,  # idle keep-alive longer than Go's 90 s, so clients close first and never reuse a dead one
            accepted_queue_timeout=60,  # under CPU contention a connection may wait for a worker; never drop it at 10 s
        )
        # No limit on idle keep-alive connections (default 10: excess ones were closed under clients). None, not a
        # large number: the check counts the connections under the selector's lock at every response, which the
        # selector thread holds while it polls (~7 % of the server's samples with 60 document workflows).
        self._server.keep_alive_conn_limit = None
        self._server.prepare()  # binds now, so a port in use fails here and not in a thread
        self._server_thread = threading.Thread(target=self._server.serve, name="moto-server", daemon=True)
        self._server_thread.start()
        self._supervisor = threading.Thread(target=self._supervise, name="supervisor", daemon=True)
        self._supervisor.start()
        self.started_at = time.time()
        log.info(
            "local cloud %s up on %s (HTTP APIs on %s) in %.2f s",
            self.instance_id, self.config.endpoint, self.apis.endpoint, time.monotonic() - started,
        )
        self._write_state()
        return self

    def stop(self) -> None:
        self._stopping.set()
        for delivery in self.deliveries:
            delivery.stop()
        self.lambdas.stop()
        if self._server is not None:
            self._server.stop()
        self.logs.close()
        self.config.state_file.unlink(missing_ok=True)

    def _supervise(self) -> None:
        while not self._stopping.wait(0.5):
            for delivery in self.deliveries:
                try:
                    delivery.reconcile()
                except Exception:
                    log.exception("reconciling %s failed", delivery.name)

    def _write_state(self) -> None:
        state = {
            "instance": self.instance_id,
            "pid": os.getpid(),
            "endpoint": self.config.endpoint,
            "port": self.config.port,
            "api_endpoint": self.apis.endpoint,
            "home": str(self.config.home),
            "started_at": self.started_at,
            "version": __version__,
        }
        self.config.state_file.write_text(json.dumps(state, indent=2) + "\n")

    # -- what the runtime and the control API need ---------------------------------------------------------------
    def runtime_env(self) -> dict[str, str]:
        """Variables every execution environment gets on top of AWS's standard ones."""
        return {"LOCALCLOUD": "1"}

    def health(self) -> dict[str, Any]:
        return {
            "status": "ok",
            "instance": self.instance_id,
            "endpoint": self.config.endpoint,
            "api_endpoint": self.apis.endpoint,
            "version": __version__,
            "uptime_s": round(time.time() - self.started_at, 3),
            "clock_offset_s": self.clock.offset,
        }

    def quiescent(self) -> bool:
        """Nothing queued inside the local cloud itself (events to dispatch, async invocations to run)."""
        return self.events.pending() == 0 and self.lambdas.pending_async() == 0

    def status(self) -> dict[str, Any]:
        from moto.sqs.models import sqs_backends

        queues = []
        for regions in sqs_backends.values():
            for backend in regions.values():
                for name, queue in sorted(backend.queues.items()):
                    queues.append(
                        {
                            "name": name,
                            "visible": len(queue.messages),
                            "in_flight": len(queue.pending_messages),
                            "total": len(queue._messages),
                            "dlq": queue.dead_letter_queue.name if queue.dead_letter_queue else None,
                            "max_receive_count": (queue.redrive_policy or {}).get("maxReceiveCount"),
                        }
                    )
        functions = {
            name: {**stats.summary(), "environments": self.lambdas.environments().get(name, {})}
            for name, stats in sorted(self.lambdas.stats.items())
        }
        return {
            **self.health(),
            "functions": functions,
            "queues": queues,
            "deliveries": [row for delivery in self.deliveries for row in delivery.status()],
            "faults": self.faults.snapshot(),
            "emf": self.emf.status(),

            "delivery_faults": self.faults.delivery_snapshot(),
            "quiescent": self.quiescent(),
        }


def home_for(instance: str, root: Path | None = None) -> Path:
    base = root or Path(__file__).resolve().parent.parent
    return base / ".localcloud" / instance
