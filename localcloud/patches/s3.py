"""S3: GetBucketNotificationConfiguration returns the EventBridgeConfiguration it was given (moto omits it, so
`terraform plan` always wants to re-enable EventBridge notifications), and PutObject/CopyObject send no
"Object Tags Added" event (moto tags every new object through the API that notifies, so every upload produced
two events where S3 sends one), and PutBucketLogging accepts a target bucket whose policy also holds statements
with `"Principal": "*"` (moto reads every statement's Principal as a map and fails with a 500 on the TLS-only
deny every bucket of ours carries). Conditional PutObject (If-None-Match / If-Match) is atomic, as on S3: moto
checks the condition and writes in two steps, so two concurrent If-None-Match: * uploads could both succeed."""

from __future__ import annotations

import json
import threading
from typing import Any

_tagging = threading.local()
_CONDITIONAL_PUTS = threading.Lock()

_EVENTBRIDGE = b"<EventBridgeConfiguration></EventBridgeConfiguration>"


def install() -> None:
    from moto.s3 import responses

    original = responses.S3Response.get_bucket_notification

    def get_bucket_notification(self: Any) -> Any:
        response = original(self)
        config = self.backend.get_bucket_notification_configuration(self.bucket_name)
        if not config or config.event_bridge is None:
            return response
        status, headers, body = response
        raw = body.encode() if isinstance(body, str) else body
        if b"<EventBridgeConfiguration" not in raw:
            if b"</NotificationConfiguration>" in raw:
                raw = raw.replace(b"</NotificationConfiguration>", _EVENTBRIDGE + b"</NotificationConfiguration>")
            else:
                raw = (
                    b'<?xml version="1.0" encoding="UTF-8"?>'
                    b'<NotificationConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
                    + _EVENTBRIDGE
                    + b"</NotificationConfiguration>"
                )
        headers = dict(headers or {})
        headers.pop("Content-Length", None)
        headers.pop("content-length", None)
        return status, headers, raw

    responses.S3Response.get_bucket_notification = get_bucket_notification

    from moto.s3 import models, notifications

    original_send_event = notifications.send_event
    original_response_tagging = responses.S3Response.put_object_tagging
    original_backend_tagging = models.S3Backend.put_object_tagging

    def send_event(account_id: str, event_name: Any, bucket: Any, key: Any) -> None:
        if getattr(_tagging, "implicit", False) and "ObjectTagging" in getattr(event_name, "value", str(event_name)):
            return
        original_send_event(account_id, event_name, bucket, key)

    def response_put_object_tagging(self: Any) -> Any:
        _tagging.explicit = True  # the PutObjectTagging API itself: S3 notifies
        try:
            return original_response_tagging(self)
        finally:
            _tagging.explicit = False

    def backend_put_object_tagging(self: Any, key: Any, tags: Any) -> Any:
        _tagging.implicit = not getattr(_tagging, "explicit", False)
        try:
            return original_backend_tagging(self, key, tags)
        finally:
            _tagging.implicit = False

    notifications.send_event = send_event
    responses.S3Response.put_object_tagging = response_put_object_tagging
    models.S3Backend.put_object_tagging = backend_put_object_tagging

    def log_permissions_enabled_policy(target_bucket: Any, target_prefix: Any) -> bool:
        # moto's own check, minus its crash: statements whose Principal is not a map can't grant the service.
        if not target_bucket.policy:
            return False
        policy = target_bucket.policy
        document = json.loads(policy.decode() if isinstance(policy, bytes) else policy)
        arn = f"arn:{target_bucket.partition}:s3:::{target_bucket.name}"
        granting = {arn, f"{arn}/*", f"{arn}/{target_prefix or ''}*"}
        for stmt in document.get("Statement", []):
            principal = stmt.get("Principal")
            actions = stmt.get("Action", [])
            resources = stmt.get("Resource", [])
            if (
                isinstance(principal, dict)
                and principal.get("Service") == models.LOGGING_SERVICE_PRINCIPAL
                and stmt.get("Effect") == "Allow"
                and "s3:PutObject" in ([actions] if isinstance(actions, str) else actions)
                and granting & set([resources] if isinstance(resources, str) else resources)
            ):
                return True
        return False

    models.FakeBucket._log_permissions_enabled_policy = staticmethod(log_permissions_enabled_policy)

    original_put_object = responses.S3Response.put_object

    def put_object(self: Any) -> Any:
        if self.headers.get("If-None-Match") is None and self.headers.get("If-Match") is None:
            return original_put_object(self)
        with _CONDITIONAL_PUTS:
            return original_put_object(self)

    responses.S3Response.put_object = put_object
