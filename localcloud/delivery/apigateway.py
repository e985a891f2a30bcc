"""API Gateway HTTP APIs, served: moto stores the APIs, routes, integrations, stages and authorizers that
Terraform creates but serves none of them. This delivery serves every HTTP API on one port (the API port,
``LOCALCLOUD_API_PORT``, default the local cloud's port + 1):

    http://127.0.0.1:<api port>/<api id>/<path>            the $default stage
    http://127.0.0.1:<api port>/<api id>/<stage>/<path>    a named stage
    http://<api id>.execute-api.localhost:<api port>/...   the same by Host header, with AWS's paths (/<path> for
                                                           $default, /<stage>/<path>), where *.localhost resolves

What AWS does and this does too (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api.html):

* routes: ``METHOD /path`` with ``{name}`` path variables, a greedy ``{proxy+}`` last segment, ``ANY``, and
  ``$default``; the most specific match wins (literal paths over variables over greedy; a method over ANY);
* ``AWS_PROXY`` Lambda integrations with payload format 2.0: the event (``version``, ``routeKey``, ``rawPath``,
  ``rawQueryString``, ``cookies``, ``headers`` lower-cased and comma-joined, ``queryStringParameters``,
  ``pathParameters``, ``stageVariables``, ``requestContext``, ``body``, ``isBase64Encoded``: bodies that are not
  text are base64-encoded) and the response mapping (``statusCode``, ``headers``, ``cookies``, ``body``,
  ``isBase64Encoded``; any other JSON result is a 200 with that JSON);
* Lambda authorizers (REQUEST, payload 2.0, simple responses): ``isAuthorized`` false is a 403, the context is
  passed on; JWT routes need an ``Authorization`` header (401 without) whose token is *not* verified, and IAM
  routes are open, as IAM is not enforced by the local cloud;
* errors as API Gateway words them: 404 ``{"message":"Not Found"}`` (no API, stage or route), 500
  ``{"message":"Internal Server Error"}`` (the function failed or answered malformed), 503
  ``{"message":"Service Unavailable"}`` (the integration timed out), 429 (throttled), 413 (body over 10 MB).

``rawPath`` and ``requestContext.http.path`` are the path the client requested, as on AWS, where they include
the stage of a named stage; here they also start with ``/<api id>`` (path-based URLs), so a function that
derives its own URL from them gets the local one. ``headers.host`` is the local host and port and
``x-forwarded-proto`` is ``http``.

Differences: no throttling of its own, the integration timeout is checked when the function returns (a slow
function is answered 503 late, not cut off), no custom domains, WebSocket APIs and HTTP_PROXY integrations
are not served (500, logged).
"""

from __future__ import annotations

import base64
import collections
import json
import logging
import re
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from .base import Delivery

if TYPE_CHECKING:
    from ..cloud import LocalCloud

log = logging.getLogger("localcloud.apigateway")

MAX_BODY_BYTES = 10 * 1024 * 1024  # HTTP API payload limit
MAX_EVENT_BYTES = 6 * 1024 * 1024  # Lambda's synchronous request limit
_TEXT_TYPES = re.compile(r"^(text/|application/(json|xml|javascript|x-www-form-urlencoded)|[^;]*\+(json|xml))")
_HOST_API = re.compile(r"^([a-z0-9]+)\.execute-api\.", re.IGNORECASE)
_LAMBDA_URI = re.compile(r"(arn:[^:]+:lambda:[^:]+:\d{12}:function:[^/]+)")
_STATUS_TEXT = {
    200: "OK", 201: "Created", 202: "Accepted", 204: "No Content", 301: "Moved Permanently", 302: "Found",
    304: "Not Modified", 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
    405: "Method Not Allowed", 409: "Conflict", 413: "Request Entity Too Large", 415: "Unsupported Media Type",
    422: "Unprocessable Entity", 429: "Too Many Requests", 500: "Internal Server Error", 502: "Bad Gateway",
    503: "Service Unavailable", 504: "Gateway Timeout",
}  # fmt: skip


# --- routes ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    key: str
    method: str | None  # None for $default
    pattern: re.Pattern[str] | None
    rank: tuple[int, ...]
    target: str
    authorization_type: str
    authorizer_id: str | None

    @classmethod
    def compile(cls, key: str, target: str, authorization_type: str | None = None, authorizer_id: str | None = None) -> Route:
        auth = (authorization_type or "NONE").upper()
        if key == "$default":
            return cls(key, None, None, (0,), target, auth, authorizer_id)
        method, _, path = key.partition(" ")
        parts = [p for p in path.split("/") if p]
        regex, literals, variables, greedy = "", 0, 0, False
        for index, part in enumerate(parts):
            variable = re.fullmatch(r"\{([A-Za-z0-9_.\-]+)(\+?)\}", part)
            if variable is None:
                regex += "/" + re.escape(part)
                literals += 1
            elif variable.group(2) and index == len(parts) - 1:
                regex += f"/(?P<{_group(variable.group(1))}>.+)"
                greedy = True
            else:
                regex += f"/(?P<{_group(variable.group(1))}>[^/]+)"
                variables += 1
        pattern = re.compile("^" + (regex or "/") + "/?$" if regex else "^/?$")
        # Most specific first: no greedy variable, then more literal segments, fewer variables, then a method over ANY.
        rank = (1, 0 if greedy else 1, literals, -variables, 0 if method.upper() == "ANY" else 1)
        return cls(key, method.upper(), pattern, rank, target, auth, authorizer_id)

    def match(self, method: str, path: str) -> dict[str, str] | None:
        if self.pattern is None:
            return {}
        if self.method not in ("ANY", method):
            return None
        found = self.pattern.match(path)
        if found is None:
            return None
        return {_ungroup(name): value for name, value in found.groupdict().items()}


def _group(name: str) -> str:
    return "p_" + name.replace("-", "__h").replace(".", "__d")


def _ungroup(name: str) -> str:
    return name[2:].replace("__h", "-").replace("__d", ".")


def select_route(routes: list[Route], method: str, path: str) -> tuple[Route, dict[str, str]] | None:
    for route in sorted(routes, key=lambda r: r.rank, reverse=True):
        params = route.match(method, path)
        if params is not None:
            return route, params
    return None


# --- events and responses (payload format 2.0) ----------------------------------------------------------------


def is_text(content_type: str) -> bool:
    return bool(_TEXT_TYPES.match(content_type.strip().lower()))


def request_event(
    *,
    api_id: str,
    stage: str,
    route_key: str,
    method: str,
    raw_path: str,
    query: str,
    headers: list[tuple[str, str]],
    body: bytes,
    path_parameters: dict[str, str],
    stage_variables: dict[str, str],
    source_ip: str,
    account_id: str,
    request_id: str,
    now: datetime,
    authorizer: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The payload 2.0 event of an HTTP API request."""
    merged: dict[str, str] = {}
    cookies: list[str] = []
    for name, value in headers:
        lower = name.lower()
        if lower == "cookie":
            cookies += [c.strip() for c in value.split(";") if c.strip()]
            continue
        merged[lower] = f"{merged[lower]},{value}" if lower in merged else value
    params: dict[str, str] = {}
    for name, value in parse_qsl(query, keep_blank_values=True):
        params[name] = f"{params[name]},{value}" if name in params else value
    host = merged.get("host", "")
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": raw_path,
        "rawQueryString": query,
        "headers": merged,
        "requestContext": {
            "accountId": account_id,
            "apiId": api_id,
            "domainName": host,
            "domainPrefix": host.split(".", 1)[0] if "." in host and not host[0].isdigit() else api_id,
            "http": {
                "method": method,
                "path": raw_path,
                "protocol": "HTTP/1.1",
                "sourceIp": source_ip,
                "userAgent": merged.get("user-agent", ""),
            },
            "requestId": request_id,
            "routeKey": route_key,
            "stage": stage,
            "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "timeEpoch": int(now.timestamp() * 1000),
        },
        "isBase64Encoded": False,
    }
    if cookies:
        event["cookies"] = cookies
    if params:
        event["queryStringParameters"] = params
    if path_parameters:
        event["pathParameters"] = path_parameters
    if stage_variables:
        event["stageVariables"] = dict(stage_variables)
    if authorizer is not None:
        event["requestContext"]["authorizer"] = authorizer
    if body:
        text = None
        if is_text(merged.get("content-type", "")):
            try:
                text = body.decode("utf-8")
            except UnicodeDecodeError:
                text = None
        if text is None:
            event["body"] = base64.b64encode(body).decode("ascii")
            event["isBase64Encoded"] = True
        else:
            event["body"] = text
    return event


@dataclass
class HttpResponse:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


def message(status: int, text: str | None = None) -> HttpResponse:
    body = json.dumps({"message": text or _STATUS_TEXT.get(status, "Error")}).encode()
    return HttpResponse(status, [("Content-Type", "application/json")], body)


def map_response(payload: bytes) -> HttpResponse:
    """A payload 2.0 Lambda result as the HTTP response API Gateway sends (500 when it is malformed)."""
    try:
        result = json.loads(payload) if payload else None
    except ValueError:
        return message(500)
    if not isinstance(result, dict) or "statusCode" not in result:
        # Any other valid JSON: 200, the JSON itself as the body.
        return HttpResponse(200, [("Content-Type", "application/json")], payload or b"null")
    try:
        status = int(result["statusCode"])
        if not 100 <= status <= 599:
            raise ValueError(status)
        headers = [(str(k), str(v)) for k, v in (result.get("headers") or {}).items()]
        for name, values in (result.get("multiValueHeaders") or {}).items():
            headers += [(str(name), str(v)) for v in values]
        headers += [("Set-Cookie", str(cookie)) for cookie in result.get("cookies") or []]
        body = result.get("body")
        if body is None:
            raw = b""
        elif result.get("isBase64Encoded"):
            raw = base64.b64decode(body)
        else:
            raw = (body if isinstance(body, str) else json.dumps(body)).encode()
    except (TypeError, ValueError, AttributeError):
        return message(500)
    if not any(name.lower() == "content-type" for name, _ in headers) and raw:
        headers.append(("Content-Type", "application/json"))
    return HttpResponse(status, headers, raw)


# --- the delivery ---------------------------------------------------------------------------------------------


@dataclass
class _Api:
    api_id: str
    name: str
    account: str
    region: str
    protocol: str
    routes: list[Route]
    integrations: dict[str, Any]
    stages: dict[str, dict[str, str]]  # stage name -> stage variables
    authorizers: dict[str, Any]


@dataclass
class ApiStats:
    requests: int = 0
    by_status: collections.Counter[str] = field(default_factory=collections.Counter)
    integration_errors: int = 0
    last_error: str | None = None
    latencies_ms: collections.deque[float] = field(default_factory=lambda: collections.deque(maxlen=1000))


class HttpApiDelivery(Delivery):
    name = "apigateway"

    def __init__(self, cloud: LocalCloud) -> None:
        super().__init__(cloud)
        from cheroot import wsgi

        self.stats: dict[str, ApiStats] = collections.defaultdict(ApiStats)
        self._apis: dict[str, _Api] = {}
        self._lock = threading.Lock()
        config = cloud.config
        self._server = wsgi.Server((config.host, config.api_port), self, numthreads=16, request_queue_size=128, timeout=120)
        self._server.prepare()  # binds now: a port in use fails the start
        self.port = int(self._server.bind_addr[1])
        self.endpoint = f"http://{config.host}:{self.port}"
        self._thread = threading.Thread(target=self._server.serve, name="http-apis", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._server.stop()

    # -- reconciling with moto ------------------------------------------------------------------------------------
    def reconcile(self) -> None:
        from moto.apigatewayv2.models import apigatewayv2_backends

        found: dict[str, _Api] = {}
        for account, regions in list(apigatewayv2_backends.items()):
            for region, backend in list(regions.items()):
                for api in list(backend.apis.values()):
                    routes = [
                        Route.compile(r.route_key, r.target or "", r.authorization_type, r.authorizer_id)
                        for r in list(api.routes.values())
                    ]
                    found[api.api_id] = _Api(
                        api_id=api.api_id,
                        name=api.name,
                        account=account,
                        region=region,
                        protocol=api.protocol_type,
                        routes=routes,
                        integrations=dict(api.integrations),
                        stages={name: dict(stage.stage_variables or {}) for name, stage in list(api.stages.items())},
                        authorizers=dict(api.authorizers),
                    )
        with self._lock:
            self._apis = found

    def _api(self, api_id: str) -> _Api | None:
        api = self._apis.get(api_id)
        if api is None or not api.stages or not api.routes:
            self.reconcile()  # created since the last reconcile (Terraform just applied it)
            api = self._apis.get(api_id)
        return api

    def urls(self) -> list[dict[str, Any]]:
        self.reconcile()
        rows = []
        for api in sorted(self._apis.values(), key=lambda a: a.name):
            stages = {name: self.stage_url(api.api_id, name) for name in api.stages}
            rows.append({"api_id": api.api_id, "name": api.name, "protocol": api.protocol, "stages": stages, "routes": sorted(r.key for r in api.routes)})
        return rows

    def stage_url(self, api_id: str, stage: str) -> str:
        return f"{self.endpoint}/{api_id}" + ("" if stage == "$default" else f"/{stage}")

    def status(self) -> list[dict[str, Any]]:
        rows = []
        for api in self._apis.values():
            stats = self.stats[api.api_id]
            latencies = sorted(stats.latencies_ms)
            rows.append(
                {
                    "kind": "http_api",
                    "api_id": api.api_id,
                    "source": self.stage_url(api.api_id, next(iter(api.stages), "$default")),
                    "function": api.name,
                    "routes": len(api.routes),
                    "requests": stats.requests,
                    "by_status": dict(stats.by_status),
                    "integration_errors": stats.integration_errors,
                    "latency_p50_ms": round(latencies[len(latencies) // 2], 3) if latencies else None,
                    "last_error": stats.last_error,
                }
            )
        return rows

    # -- serving --------------------------------------------------------------------------------------------------
    def __call__(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        started = time.perf_counter()
        request_id = base64.b32encode(uuid.uuid4().bytes[:10]).decode().rstrip("=")
        api_id = "-"
        try:
            api_id, response = self._handle(environ, request_id)
        except Exception as exc:
            log.exception("HTTP API request failed inside the local cloud")
            self.stats[api_id].last_error = f"{type(exc).__name__}: {exc}"
            response = message(500)
        stats = self.stats[api_id]
        stats.requests += 1
        stats.by_status[str(response.status)] += 1
        stats.latencies_ms.append((time.perf_counter() - started) * 1000)
        headers = [*response.headers, ("Content-Length", str(len(response.body))), ("Apigw-Requestid", request_id)]
        start_response(f"{response.status} {_STATUS_TEXT.get(response.status, 'Status')}", headers)
        return [response.body]

    def _handle(self, environ: dict[str, Any], request_id: str) -> tuple[str, HttpResponse]:
        method = environ.get("REQUEST_METHOD", "GET").upper()
        path = environ.get("PATH_INFO") or "/"
        host = environ.get("HTTP_HOST", "")
        by_host = _HOST_API.match(host)
        if by_host:
            api_id, mount, rest = by_host.group(1).lower(), "", path
        else:
            segments = path.split("/", 2)
            api_id = segments[1] if len(segments) > 1 else ""
            mount, rest = f"/{api_id}", "/" + (segments[2] if len(segments) > 2 else "")
        api = self._api(api_id) if api_id else None
        if api is None or api.protocol != "HTTP":
            return api_id or "-", message(404)
        first = rest.split("/", 2)[1] if rest.count("/") >= 1 else ""
        if first and first in api.stages and first != "$default":
            stage = first
            mount += f"/{first}"
            rest = "/" + (rest.split("/", 2)[2] if rest.count("/") >= 2 else "")
        elif "$default" in api.stages:
            stage = "$default"
        else:
            return api_id, message(404)
        length = int(environ.get("CONTENT_LENGTH") or 0)
        if length > MAX_BODY_BYTES:
            return api_id, message(413)
        body = environ["wsgi.input"].read(length) if length else b""
        selected = select_route(api.routes, method, rest)
        if selected is None:
            return api_id, message(404)
        route, params = selected
        headers = [(key[5:].replace("_", "-").lower(), value) for key, value in environ.items() if key.startswith("HTTP_")]
        if environ.get("CONTENT_TYPE"):
            headers.append(("content-type", environ["CONTENT_TYPE"]))
        if environ.get("CONTENT_LENGTH"):
            headers.append(("content-length", environ["CONTENT_LENGTH"]))
        headers += [("x-forwarded-proto", "http"), ("x-forwarded-port", str(self.port)), ("x-forwarded-for", environ.get("REMOTE_ADDR", "127.0.0.1"))]
        event_args = {
            "api_id": api_id,
            "stage": stage,
            "route_key": route.key,
            "method": method,
            "raw_path": mount + rest if mount else rest,
            "query": environ.get("QUERY_STRING", ""),
            "headers": headers,
            "body": body,
            "path_parameters": params,
            "stage_variables": api.stages.get(stage, {}),
            "source_ip": environ.get("REMOTE_ADDR", "127.0.0.1"),
            "account_id": api.account,
            "request_id": request_id,
            "now": datetime.now(UTC),
        }
        authorizer, denied = self._authorize(api, route, event_args)
        if denied is not None:
            return api_id, denied
        event = request_event(**event_args, authorizer=authorizer)
        return api_id, self._integrate(api, route, event)

    def _authorize(self, api: _Api, route: Route, event_args: dict[str, Any]) -> tuple[dict[str, Any] | None, HttpResponse | None]:
        kind = route.authorization_type
        if kind in ("NONE", "AWS_IAM"):
            return ({"iam": {}} if kind == "AWS_IAM" else None), None
        headers = {name: value for name, value in event_args["headers"]}
        if kind == "JWT":
            if "authorization" not in headers:
                return None, message(401, "Unauthorized")
            return {"jwt": {"claims": {}, "scopes": None}}, None
        authorizer = api.authorizers.get(route.authorizer_id or "")
        if kind != "CUSTOM" or authorizer is None:
            return None, message(500)
        found = _LAMBDA_URI.search(authorizer.authorizer_uri or "")
        if found is None:
            return None, message(500)
        event = request_event(**event_args)
        event.update(type="REQUEST", routeArn=f"arn:aws:execute-api:{api.region}:{api.account}:{api.api_id}/{event_args['stage']}/{event_args['method']}{event_args['raw_path']}")
        sources = authorizer.identity_source or []
        sources = [sources] if isinstance(sources, str) else list(sources)
        event["identitySource"] = [headers.get(source.rsplit(".", 1)[-1].lower(), "") for source in sources]
        if sources and not all(event["identitySource"]):
            # As API Gateway does: a request missing an identity source is refused before the authorizer runs.
            return None, message(401, "Unauthorized")
        try:
            result = self.cloud.lambdas.invoke(self.cloud.lambdas.function(found.group(1)), json.dumps(event).encode())
            decision = json.loads(result.payload) if not result.errored else {}
        except Exception as exc:
            self.stats[api.api_id].last_error = f"authorizer: {exc}"
            return None, message(500)
        if not isinstance(decision, dict) or decision.get("isAuthorized") is not True:
            return None, message(403, "Forbidden")
        return {"lambda": decision.get("context") or {}}, None

    def _integrate(self, api: _Api, route: Route, event: dict[str, Any]) -> HttpResponse:
        from ..runtime.service import Throttled

        stats = self.stats[api.api_id]
        integration = api.integrations.get(route.target.removeprefix("integrations/"))
        if integration is None:
            stats.last_error = f"route {route.key} has no integration ({route.target!r})"
            return message(500)
        found = _LAMBDA_URI.search(integration.integration_uri or "")
        if integration.integration_type != "AWS_PROXY" or found is None:
            stats.last_error = f"{integration.integration_type} integrations are not served by the local cloud"
            return message(500)
        if (integration.payload_format_version or "2.0") != "2.0":
            stats.last_error = "payload format 1.0 is not served by the local cloud: use 2.0"
            return message(500)
        payload = json.dumps(event).encode()
        if len(payload) > MAX_EVENT_BYTES:
            return message(413)
        timeout_ms = int(integration.timeout_in_millis or 30000)
        started = time.perf_counter()
        try:
            result = self.cloud.lambdas.invoke(self.cloud.lambdas.function(found.group(1)), payload)
        except Throttled:
            return message(429)
        except Exception as exc:
            stats.integration_errors += 1
            stats.last_error = f"invoking {found.group(1)}: {exc}"
            return message(500)
        if (time.perf_counter() - started) * 1000 > timeout_ms:
            stats.integration_errors += 1
            stats.last_error = f"integration timed out after {timeout_ms} ms"
            return message(503)
        if result.errored:
            stats.integration_errors += 1
            stats.last_error = result.payload.decode("utf-8", "replace")[:300]
            return message(500)
        return map_response(result.payload)
