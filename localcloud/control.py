"""The control API under /_localcloud/: health, status, the clock, schedules, faults, HTTP APIs and function logs.

Everything else goes to moto. Clients: `localcloud.client.LocalCloudClient`, the CLI and tests.
"""

from __future__ import annotations

import collections
import json
import re
from typing import TYPE_CHECKING, Any

from werkzeug.exceptions import HTTPException, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

if TYPE_CHECKING:
    from .cloud import LocalCloud

PREFIX = "/_localcloud"


_SCOPE = re.compile(r"Credential=[^/]+/[^/]+/[^/]+/([^/]+)/")


def _operation(environ: dict[str, Any]) -> str:
    """'service.Action' of an AWS request, for the request counts in /_localcloud/status."""
    match = _SCOPE.search(environ.get("HTTP_AUTHORIZATION", ""))
    service = match.group(1) if match else "unsigned"
    target = environ.get("HTTP_X_AMZ_TARGET")
    if target:
        return f"{service}.{target.rsplit('.', 1)[-1]}"
    query = environ.get("QUERY_STRING", "")
    action = re.search(r"(?:^|&)Action=([A-Za-z]+)", query)
    if action:
        return f"{service}.{action.group(1)}"
    return f"{service}.{environ.get('REQUEST_METHOD', '?')}"


def _json(data: Any, status: int = 200) -> Response:
    return Response(json.dumps(data, default=str, indent=1), status=status, mimetype="application/json")


class ControlApp:
    def __init__(self, cloud: LocalCloud, moto_app: Any) -> None:
        self.cloud = cloud
        self.moto_app = moto_app
        self.requests: collections.Counter[str] = collections.Counter()
        self.urls = Map(
            [
                Rule(f"{PREFIX}/health", endpoint="health", methods=["GET"]),
                Rule(f"{PREFIX}/status", endpoint="status", methods=["GET"]),
                Rule(f"{PREFIX}/clock", endpoint="clock", methods=["GET", "POST"]),
                Rule(f"{PREFIX}/schedules", endpoint="schedules", methods=["GET"]),
                Rule(f"{PREFIX}/schedules/<path:name>/fire", endpoint="schedule_fire", methods=["POST"]),
                Rule(f"{PREFIX}/faults", endpoint="faults", methods=["GET", "DELETE"]),
                Rule(f"{PREFIX}/faults/<function>", endpoint="fault", methods=["PUT", "DELETE"]),
                Rule(f"{PREFIX}/delivery-faults", endpoint="delivery_faults", methods=["GET", "DELETE"]),
                Rule(f"{PREFIX}/delivery-faults/<source>", endpoint="delivery_fault", methods=["PUT", "DELETE"]),
                Rule(f"{PREFIX}/apis", endpoint="apis", methods=["GET"]),
                Rule(f"{PREFIX}/logs", endpoint="log_index", methods=["GET"]),
                Rule(f"{PREFIX}/logs/<function>", endpoint="logs", methods=["GET"]),
            ]
        )

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        if not environ.get("PATH_INFO", "").startswith(PREFIX):
            self.requests[_operation(environ)] += 1
            return self.moto_app(environ, start_response)
        request = Request(environ)
        try:
            endpoint, args = self.urls.bind_to_environ(environ).match()
            response = getattr(self, f"on_{endpoint}")(request, **args)
        except HTTPException as exc:
            response = _json({"error": exc.description}, exc.code or 500)
        except (ValueError, TypeError, KeyError) as exc:
            response = _json({"error": str(exc)}, 400)
        return response(environ, start_response)

    def on_health(self, request: Request) -> Response:
        return _json(self.cloud.health())

    def on_status(self, request: Request) -> Response:
        return _json({**self.cloud.status(), "requests": dict(self.requests.most_common())})

    def on_clock(self, request: Request) -> Response:
        if request.method == "POST":
            body = request.get_json(force=True, silent=False) or {}
            self.cloud.clock.advance(float(body.get("advance", 0)))
        return _json({"offset_s": self.cloud.clock.offset, "now": self.cloud.clock.now().isoformat()})

    def on_schedules(self, request: Request) -> Response:
        """Scheduled rules and Scheduler schedules with their next firings (?count=N, default 5)."""
        return _json({"now": self.cloud.clock.now().isoformat(), "schedules": self.cloud.scheduler.upcoming(int(request.args.get("count", 5)))})

    def on_schedule_fire(self, request: Request, name: str) -> Response:
        """Fire a rule or schedule now (name, group/name or ARN)."""
        try:
            return _json(self.cloud.scheduler.fire(name))
        except KeyError as exc:
            raise NotFound(str(exc.args[0])) from exc

    def on_faults(self, request: Request) -> Response:
        """Every fault (functions and deliveries) and what was injected so far; DELETE clears them all."""
        if request.method == "DELETE":
            self.cloud.faults.clear()
        return _json(self.cloud.faults.report())

    def on_delivery_faults(self, request: Request) -> Response:
        if request.method == "DELETE":
            self.cloud.faults.clear_delivery()
        return _json(self.cloud.faults.report())

    def on_delivery_fault(self, request: Request, source: str) -> Response:
        """PUT {"duplicate_rate": 0.1, "out_of_order": true} for sqs, kinesis, dynamodb or eventbridge."""
        if request.method == "DELETE":
            self.cloud.faults.clear_delivery(source)
            return _json({"cleared": source})
        body = request.get_json(force=True, silent=False) or {}
        fault = self.cloud.faults.set_delivery(source, **body)
        return _json({"source": source, **vars(fault)})

    def on_fault(self, request: Request, function: str) -> Response:
        if request.method == "DELETE":
            self.cloud.faults.clear(function)
            return _json({"cleared": function})
        body = request.get_json(force=True, silent=False) or {}
        fault = self.cloud.faults.set(function, **body)
        return _json({"function": function, **vars(fault)})

    def on_apis(self, request: Request) -> Response:
        """Every HTTP API with the local URL of each stage."""
        return _json({"endpoint": self.cloud.apis.endpoint, "apis": self.cloud.apis.urls()})

    def on_log_index(self, request: Request) -> Response:
        return _json({"functions": self.cloud.logs.functions()})

    def on_logs(self, request: Request, function: str) -> Response:
        lines = int(request.args.get("lines", 200))
        tail = self.cloud.logs.tail(function, lines)
        if not tail and function not in self.cloud.logs.functions():
            raise NotFound(f"no logs for {function}")
        return _json([{"t": line.timestamp_ms, "request_id": line.request_id, "message": line.message} for line in tail])
