"""Lambda: invocations run in the local runtime instead of Docker; DeadLetterConfig is stored and returned;
event source mapping FilterCriteria are validated as event patterns; CreateFunction repeated with the same code
and configuration answers like the first call (the Terraform provider retries a CreateFunction that timed out
under load, and got 409 "Function already exist" for the function its first call had created)."""

from __future__ import annotations

import base64
import json
import logging
from typing import Any

from . import current

log = logging.getLogger("localcloud.lambda")


def _throttled(message: str) -> Exception:
    from moto.core.exceptions import JsonRESTError

    error = JsonRESTError("TooManyRequestsException", message)
    error.code = 429
    return error


def _same_function(existing: Any, request: dict[str, Any]) -> bool:
    import hashlib

    zipped = (request.get("Code") or {}).get("ZipFile")
    if not zipped:
        return False
    digest = base64.b64encode(hashlib.sha256(base64.b64decode(zipped)).digest()).decode()
    return (
        digest == existing.code_sha_256
        and request.get("Handler") == existing.handler
        and request.get("Runtime") == existing.run_time
        and request.get("Role") == existing.role
    )


def install() -> None:
    from moto.awslambda import models

    def backend_invoke(self: Any, function_name: str, qualifier: str | None, body: Any, headers: Any, response_headers: Any) -> bytes:
        from ..runtime.service import Throttled

        fn = self.get_function(function_name, qualifier)
        payload = body if isinstance(body, bytes) else (body or "").encode()
        invocation_type = headers.get("X-Amz-Invocation-Type") or headers.get("x-amz-invocation-type") or "RequestResponse"
        if invocation_type == "DryRun":
            return b""
        if invocation_type == "Event":
            response_headers["x-amz-request-id"] = current.lambdas.invoke_async(fn, payload)
            return b""
        try:
            result = current.lambdas.invoke(fn, payload, client_context=headers.get("X-Amz-Client-Context"))
        except Throttled as exc:
            raise _throttled(str(exc)) from exc
        except Exception:
            log.exception("invoking %s failed inside the local cloud", function_name)
            raise
        response_headers["x-amz-executed-version"] = result.executed_version
        response_headers["x-amz-request-id"] = result.request_id
        if result.errored:
            response_headers["x-amz-function-error"] = "Unhandled"
        if (headers.get("X-Amz-Log-Type") or "").lower() == "tail":
            tail = "\n".join(line.message for line in current.logs.lines_for(result.request_id))
            response_headers["x-amz-log-result"] = base64.b64encode(tail.encode()[-4096:]).decode()
        response_headers["Content-Length"] = str(len(result.payload))
        return result.payload

    def function_invoke(self: Any, body: Any, request_headers: Any, response_headers: Any) -> bytes:
        """Used by moto's own integrations (e.g. Step Functions tasks): a synchronous invocation."""
        payload = body if isinstance(body, (bytes, bytearray)) else (body if isinstance(body, str) else json.dumps(body)).encode()
        result = current.lambdas.invoke(self, bytes(payload))
        if result.errored:
            response_headers["x-amz-function-error"] = "Unhandled"
        return result.payload

    def send_sns_message(self: Any, function_name: str, message: str, subject: str | None = None, qualifier: str | None = None) -> None:
        """SNS invokes Lambda asynchronously (moto: synchronously, in Publish)."""
        import uuid

        from moto.core.utils import iso_8601_datetime_with_milliseconds

        fn = self.get_function(function_name, qualifier)
        event = {
            "Records": [
                {
                    "EventSource": "aws:sns",
                    "EventVersion": "1.0",
                    "EventSubscriptionArn": "arn:aws:sns:EXAMPLE",
                    "Sns": {
                        "Type": "Notification",
                        "MessageId": str(uuid.uuid4()),
                        "TopicArn": "arn:aws:sns:EXAMPLE",
                        "Subject": subject or "",
                        "Message": message,
                        "Timestamp": iso_8601_datetime_with_milliseconds(),
                        "SignatureVersion": "1",
                        "MessageAttributes": {},
                    },
                }
            ]
        }
        current.lambdas.invoke_async(fn, json.dumps(event).encode())

    original_init = models.LambdaFunction.__init__
    original_update_configuration = models.LambdaFunction.update_configuration
    original_get_configuration = models.LambdaFunction.get_configuration

    def init(self: Any, account_id: str, spec: dict[str, Any], region: str, version: Any = 1) -> None:
        original_init(self, account_id, spec, region, version)
        self.dead_letter_config = spec.get("DeadLetterConfig") or None

    def update_configuration(self: Any, config_updates: dict[str, Any]) -> dict[str, Any]:
        if "DeadLetterConfig" in config_updates:
            self.dead_letter_config = config_updates.get("DeadLetterConfig") or None
        return original_update_configuration(self, config_updates)

    def get_configuration(self: Any, on_create: bool = False) -> dict[str, Any]:
        config = original_get_configuration(self, on_create)
        if getattr(self, "dead_letter_config", None) and self.dead_letter_config.get("TargetArn"):
            config["DeadLetterConfig"] = self.dead_letter_config
        return config

    original_create_mapping = models.LambdaBackend.create_event_source_mapping
    original_update_mapping = models.LambdaBackend.update_event_source_mapping

    def validate_filters(spec: dict[str, Any]) -> None:
        """Lambda refuses FilterCriteria whose patterns are not valid event patterns (moto stores anything)."""
        from moto.awslambda.exceptions import InvalidParameterValueException

        from .. import patterns

        for item in ((spec.get("FilterCriteria") or {}).get("Filters")) or []:
            try:
                patterns.compile(item.get("Pattern") or "")
            except patterns.PatternError as exc:
                raise InvalidParameterValueException(f"Invalid filter pattern definition. {exc.reason}") from None

    def create_event_source_mapping(self: Any, spec: dict[str, Any]) -> Any:
        validate_filters(spec)
        return original_create_mapping(self, spec)

    def update_event_source_mapping(self: Any, uuid: str, spec: dict[str, Any]) -> Any:
        validate_filters(spec)
        return original_update_mapping(self, uuid, spec)

    from moto.awslambda import responses as lambda_responses

    original_create_function = lambda_responses.LambdaResponse.create_function

    def create_function(self: Any) -> Any:
        body = self.json_body
        name = str(body.get("FunctionName", "")).rsplit(":", 1)[-1]
        try:
            existing = self.backend.get_function(name, None)
        except Exception:
            return original_create_function(self)
        if _same_function(existing, body):
            log.info("CreateFunction %s repeated with the same code and configuration: answering as created", name)
            return 201, {"status": 201}, json.dumps(existing.get_configuration(on_create=True))
        return original_create_function(self)  # a different function of the same name: 409, as on AWS

    lambda_responses.LambdaResponse.create_function = create_function
    models.LambdaBackend.create_event_source_mapping = create_event_source_mapping
    models.LambdaBackend.update_event_source_mapping = update_event_source_mapping
    models.LambdaBackend.invoke = backend_invoke
    models.LambdaFunction.invoke = function_invoke
    models.LambdaBackend.send_sns_message = send_sns_message
    models.LambdaFunction.__init__ = init
    models.LambdaFunction.update_configuration = update_configuration
    models.LambdaFunction.get_configuration = get_configuration
