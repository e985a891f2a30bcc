"""Deliver a payload to whatever an ARN names: the one place that knows how each kind of target is reached.

EventBridge targets, Lambda async destinations and DLQs, and stream on-failure destinations all end here, so
a new target kind is one branch in `send`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..cloud import LocalCloud


@dataclass(frozen=True)
class Arn:
    partition: str
    service: str
    region: str
    account: str
    resource: str

    @classmethod
    def parse(cls, arn: str) -> Arn:
        parts = arn.split(":", 5)
        if len(parts) != 6 or parts[0] != "arn":
            raise ValueError(f"not an ARN: {arn!r}")
        return cls(*parts[1:])  # type: ignore[arg-type]

    @property
    def resource_type(self) -> str:
        for sep in ("/", ":"):
            if sep in self.resource:
                return self.resource.split(sep, 1)[0]
        return ""

    @property
    def resource_id(self) -> str:
        for sep in ("/", ":"):
            if sep in self.resource:
                return self.resource.split(sep, 1)[1]
        return self.resource


class DeliveryError(Exception):
    """The target refused the payload or does not exist; the caller decides whether to retry."""


def _string_attributes(attributes: dict[str, str] | None) -> dict[str, dict[str, str]]:
    return {k: {"DataType": "String", "StringValue": str(v)} for k, v in (attributes or {}).items()}


def send(
    cloud: LocalCloud,
    arn: str,
    payload: str | dict[str, Any] | list[Any],
    *,
    attributes: dict[str, str] | None = None,
    group_id: str | None = None,
    dedup_id: str | None = None,
    role_arn: str | None = None,
) -> str:
    """Deliver `payload` (a string, or JSON-encoded if not) to `arn`. Returns an id (message, execution, ...)."""
    body = payload if isinstance(payload, str) else json.dumps(payload)
    target = Arn.parse(arn)
    try:
        if target.service == "sqs":
            from moto.sqs.models import sqs_backends

            message = sqs_backends[target.account][target.region].send_message(
                queue_name=target.resource,
                message_body=body,
                message_attributes=_string_attributes(attributes),
                group_id=group_id,
                deduplication_id=dedup_id,
            )
            return str(message.id)
        if target.service == "sns":
            from moto.sns.models import sns_backends

            return str(
                sns_backends[target.account][target.region].publish(
                    message=body,
                    arn=arn,
                    message_attributes=_string_attributes(attributes) or None,
                    group_id=group_id,
                    deduplication_id=dedup_id,
                )
            )
        if target.service == "lambda":
            function = cloud.lambdas.function(arn)
            return cloud.lambdas.invoke_async(function, body.encode())
        if target.service == "states":
            return cloud.stepfunctions.start(arn, body)
        if target.service == "events" and target.resource_type == "event-bus":
            # An event forwarded to another bus keeps its envelope (source, detail-type, detail, resources).
            event = json.loads(body)
            return cloud.events.put(
                target.account,
                target.region,
                bus=target.resource_id,
                events=[event],
                forwarded=True,
            )[0]
        if target.service == "logs":
            from moto.logs.models import logs_backends

            group = target.resource_id.removesuffix(":*")
            backend = logs_backends[target.account][target.region]
            stream = "localcloud-delivery"
            if stream not in backend.groups[group].streams:
                backend.create_log_stream(group, stream)
            backend.put_log_events(group, stream, [{"timestamp": int(cloud.clock.time() * 1000), "message": body}])
            return stream
    except DeliveryError:
        raise
    except Exception as exc:  # moto raises its own exception types: normalise for callers
        raise DeliveryError(f"{type(exc).__name__}: {exc}") from exc
    raise DeliveryError(f"the local cloud cannot deliver to {target.service} targets ({arn})")
