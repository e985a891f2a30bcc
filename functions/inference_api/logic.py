"""Pipeline 3 (async inference), the HTTP API: accept an image, answer 202 with a job id and a result URL; show
a job's status and result.

Pure logic: AWS clients and names come in through ``Ports``; requests are API Gateway HTTP API payload 2.0
events and responses are ``Response`` objects the handler turns into the 2.0 response shape.

``POST /predictions``

* ``Content-Type: image/png`` or ``image/jpeg`` (or ``application/octet-stream``, or none: the bytes decide):
  the image inline, up to ``max_inline_bytes``. Stored at ``inputs/<job id>`` in the inputs bucket; the job is
  ``queued``; S3's Object Created event takes it to the worker.
* ``Content-Type: application/json`` with ``{"content_type": "image/png"|"image/jpeg", "content_length": N}``
  (``content_length`` optional): a presigned ``PUT`` URL for ``inputs/<job id>``, for images of any size up to
  ``max_image_bytes``. The job is ``awaiting_upload`` until the object arrives.

What can be known here is answered here (the body of every error is ``{"error": {"code", "message"}}``):

| status | code | when |
|---|---|---|
| 400 | ``empty`` | no body, or ``content_length`` 0 |
| 400 | ``invalid_image`` | the bytes are not an image |
| 400 | ``invalid_request`` | an upload request that is not the JSON object above |
| 413 | ``too_large`` | inline body over ``max_inline_bytes`` (use an upload), or ``content_length`` over ``max_image_bytes`` |
| 415 | ``unsupported_media_type`` | an image that is not PNG/JPEG, or another Content-Type |
| 404 | ``not_found`` | ``GET /predictions/{id}`` of a job that does not exist (or expired) |

Everything else (a truncated PNG, a blank image, an upload that turns out too large or not an image) is found by
the worker, and the job ends ``failed`` with the code and reason.
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sluice import predictions

DEFAULT_MAX_INLINE_BYTES = 1_048_576  # 1 MiB: the request stays far below Lambda's 6 MB payload once base64'd
DEFAULT_MAX_IMAGE_BYTES = 10_485_760
DEFAULT_UPLOAD_EXPIRES_SECONDS = 900
DEFAULT_JOB_TTL_SECONDS = 7 * 24 * 3600

POST_ROUTE = "POST /predictions"
GET_ROUTE = "GET /predictions/{id}"


def utc_iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, tz=UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class Ports:
    s3: Any
    dynamodb: Any
    jobs_table: str
    inputs_bucket: str
    max_inline_bytes: int = DEFAULT_MAX_INLINE_BYTES
    max_image_bytes: int = DEFAULT_MAX_IMAGE_BYTES
    upload_expires_seconds: int = DEFAULT_UPLOAD_EXPIRES_SECONDS
    job_ttl_seconds: int = DEFAULT_JOB_TTL_SECONDS
    clock: Callable[[], float] = field(default=time.time)
    new_id: Callable[[], str] = field(default=lambda: uuid.uuid4().hex)


@dataclass
class Response:
    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message

    def response(self) -> Response:
        return Response(self.status, {"error": {"code": self.code, "message": self.message}})


# --- request helpers -------------------------------------------------------------------------------------------


def _headers(event: dict[str, Any]) -> dict[str, str]:
    return {str(k).lower(): str(v) for k, v in (event.get("headers") or {}).items()}


def _body(event: dict[str, Any]) -> bytes:
    body = event.get("body")
    if not body:
        return b""
    if event.get("isBase64Encoded"):
        try:
            return base64.b64decode(body, validate=True)
        except ValueError:
            raise ApiError(400, "invalid_request", "the request body is not valid base64") from None
    return body.encode("utf-8", "surrogateescape")


def base_url(event: dict[str, Any]) -> str:
    """Where the API is served, as the client reached it: scheme and host from the request, then the part of the
    raw path before the route (the stage on AWS, e.g. ``/prod``; empty for ``$default``; the API id and stage on
    the local cloud)."""
    headers = _headers(event)
    host = headers.get("host") or (event.get("requestContext") or {}).get("domainName") or "localhost"
    scheme = headers.get("x-forwarded-proto", "https").split(",")[0].strip()
    path = event.get("rawPath") or ""
    # Both routes start with /predictions; anything before it in the raw path is where the API is mounted.
    marker = path.rfind("/predictions")
    return f"{scheme}://{host}{path[:marker] if marker >= 0 else ''}"


# --- POST /predictions -----------------------------------------------------------------------------------------


def _media_type(headers: dict[str, str]) -> str:
    return headers.get("content-type", "").split(";", 1)[0].strip().lower()


def _new_job(ports: Ports, status: str, now: float, **extra: Any) -> dict[str, Any]:
    job_id = ports.new_id()
    item = {
        "job_id": {"S": job_id},
        "status": {"S": status},
        "created_at": {"S": utc_iso(now)},
        "expires_at": {"N": str(int(now) + ports.job_ttl_seconds)},
        "input_bucket": {"S": ports.inputs_bucket},
        "input_key": {"S": predictions.input_key(job_id)},
    }
    for name, value in extra.items():
        item[name] = {"N": str(value)} if isinstance(value, int) else {"S": str(value)}
    ports.dynamodb.put_item(TableName=ports.jobs_table, Item=item, ConditionExpression="attribute_not_exists(job_id)")
    return item


def _accepted(event: dict[str, Any], job_id: str, status: str, **extra: Any) -> Response:
    result_url = f"{base_url(event)}/predictions/{job_id}"
    body = {"job_id": job_id, "status": status, "result_url": result_url, **extra}
    return Response(202, body, {"Location": result_url})


def create_inline(event: dict[str, Any], data: bytes, ports: Ports) -> Response:
    if not data:
        raise ApiError(400, "empty", "the request has no body: send the image (image/png or image/jpeg)")
    if len(data) > ports.max_inline_bytes:
        raise ApiError(
            413,
            "too_large",
            f"{len(data)} bytes is over the inline limit of {ports.max_inline_bytes}: POST application/json "
            '{"content_type": "image/png", "content_length": N} for an upload URL',
        )
    media_type = predictions.sniff(data)
    if media_type is None:
        raise ApiError(400, "invalid_image", "the body is not an image (neither PNG nor JPEG)")
    if media_type not in predictions.SUPPORTED_MEDIA_TYPES:
        raise ApiError(415, "unsupported_media_type", f"{media_type} is not supported: send image/png or image/jpeg")
    now = ports.clock()
    item = _new_job(ports, predictions.QUEUED, now, source="inline", content_type=media_type, size=len(data))
    job_id = item["job_id"]["S"]
    try:
        ports.s3.put_object(
            Bucket=ports.inputs_bucket,
            Key=predictions.input_key(job_id),
            Body=data,
            ContentType=media_type,
            Metadata={"job-id": job_id},
        )
    except Exception:
        # Never leave a queued job behind that no image will ever complete: the client gets a 5xx and retries.
        ports.dynamodb.delete_item(TableName=ports.jobs_table, Key={"job_id": {"S": job_id}})
        raise
    return _accepted(event, job_id, predictions.QUEUED)


def create_upload(event: dict[str, Any], data: bytes, ports: Ports) -> Response:
    try:
        request = json.loads(data or b"{}")
    except ValueError:
        raise ApiError(400, "invalid_request", "the body is not JSON") from None
    if not isinstance(request, dict):
        raise ApiError(400, "invalid_request", 'send {"content_type": "image/png", "content_length": N}')
    media_type = request.get("content_type")
    if not isinstance(media_type, str):
        raise ApiError(400, "invalid_request", "content_type is required: image/png or image/jpeg")
    media_type = media_type.split(";", 1)[0].strip().lower()
    if media_type not in predictions.SUPPORTED_MEDIA_TYPES:
        raise ApiError(415, "unsupported_media_type", f"{media_type} is not supported: image/png or image/jpeg")
    length = request.get("content_length")
    if length is not None:
        if isinstance(length, bool) or not isinstance(length, int) or length < 0:
            raise ApiError(400, "invalid_request", "content_length must be a non-negative integer")
        if length == 0:
            raise ApiError(400, "empty", "content_length is 0: the image is empty")
        if length > ports.max_image_bytes:
            raise ApiError(413, "too_large", f"{length} bytes is over the limit of {ports.max_image_bytes}")
    now = ports.clock()
    expires = int(now) + ports.upload_expires_seconds
    item = _new_job(ports, predictions.AWAITING_UPLOAD, now, source="upload", content_type=media_type, upload_expires_at=expires)
    job_id = item["job_id"]["S"]
    url = ports.s3.generate_presigned_url(
        "put_object",
        Params={"Bucket": ports.inputs_bucket, "Key": predictions.input_key(job_id), "ContentType": media_type},
        ExpiresIn=ports.upload_expires_seconds,
        HttpMethod="PUT",
    )
    upload = {"url": url, "method": "PUT", "headers": {"Content-Type": media_type}, "expires_at": utc_iso(expires)}
    return _accepted(event, job_id, predictions.AWAITING_UPLOAD, upload=upload)


def create(event: dict[str, Any], ports: Ports) -> Response:
    headers = _headers(event)
    media_type = _media_type(headers)
    data = _body(event)
    if media_type == "application/json":
        return create_upload(event, data, ports)
    if media_type in ("", "application/octet-stream", "application/x-www-form-urlencoded") or media_type in predictions.SUPPORTED_MEDIA_TYPES:
        # (curl --data-binary without -H sends application/x-www-form-urlencoded: the bytes decide.)
        return create_inline(event, data, ports)
    if media_type.startswith("image/"):
        raise ApiError(415, "unsupported_media_type", f"{media_type} is not supported: send image/png or image/jpeg")
    raise ApiError(
        415,
        "unsupported_media_type",
        f"Content-Type {media_type} is not accepted: send the image as image/png or image/jpeg, or "
        "application/json to ask for an upload URL",
    )


# --- GET /predictions/{id} -------------------------------------------------------------------------------------


def get(event: dict[str, Any], ports: Ports) -> Response:
    job_id = (event.get("pathParameters") or {}).get("id", "")
    if not predictions.is_job_id(job_id):
        raise ApiError(404, "not_found", f"no prediction job {job_id!r}")
    item = ports.dynamodb.get_item(TableName=ports.jobs_table, Key={"job_id": {"S": job_id}}, ConsistentRead=True).get("Item")
    now = ports.clock()
    if not item or int(item.get("expires_at", {}).get("N", "0")) < now:  # the TTL deletes lazily: hide expired jobs
        raise ApiError(404, "not_found", f"no prediction job {job_id}")
    return Response(200, predictions.view(predictions.from_dynamodb(item), now))


def route(event: dict[str, Any], ports: Ports) -> Response:
    """Dispatch a payload 2.0 request by its route key. ApiError becomes its 4xx response; anything else raises."""
    key = event.get("routeKey")
    try:
        if key == POST_ROUTE:
            return create(event, ports)
        if key == GET_ROUTE:
            return get(event, ports)
        raise ApiError(404, "not_found", f"no route {key}")
    except ApiError as err:
        return err.response()
