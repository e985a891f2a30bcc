"""S3 event notifications: to EventBridge with the event shape S3 really sends, and to Lambda asynchronously.

moto builds the EventBridge event with a float `time`, a constant id and sequencer, sends it to the rules of
*every* bus synchronously inside PutObject and swallows every error; it invokes Lambda targets synchronously
too. S3 delivers asynchronously, to the default bus only
(https://docs.aws.amazon.com/AmazonS3/latest/userguide/ev-events.html).
"""

from __future__ import annotations

import itertools
import logging
import uuid
from typing import TYPE_CHECKING, Any
from urllib.parse import quote_plus

from ..clock import CLOCK, iso_now

if TYPE_CHECKING:
    from ..cloud import LocalCloud

log = logging.getLogger("localcloud.s3")
_sequencer = itertools.count(int(CLOCK.time() * 1000) << 8)

# EventBridge detail-type and reason per S3 event name (the subset moto emits).
_DETAIL_TYPES = {
    "ObjectCreated": "Object Created",
    "ObjectRemoved": "Object Deleted",
    "ObjectRestore": "Object Restore Completed",
    "ObjectTagging": "Object Tags Added",
    "ObjectAcl": "Object ACL Updated",
}
_REASONS = {
    "ObjectCreated:Put": "PutObject",
    "ObjectCreated:Post": "POST Object",
    "ObjectCreated:Copy": "CopyObject",
    "ObjectCreated:CompleteMultipartUpload": "CompleteMultipartUpload",
    "ObjectRemoved:Delete": "DeleteObject",
    "ObjectRemoved:DeleteMarkerCreated": "DeleteObject",
}


def eventbridge_event(account_id: str, bucket: Any, event_name: str, key: Any) -> dict[str, Any]:
    short = event_name.removeprefix("s3:")
    family = short.split(":", 1)[0]
    detail: dict[str, Any] = {
        "version": "0",
        "bucket": {"name": bucket.name},
        # URL-encoded like every S3 notification ("red flower.jpg" → "red+flower.jpg"); consumers unquote_plus it.
        "object": {"key": quote_plus(key.name, safe="/"), "size": key.size, "etag": key.etag.strip('"'), "sequencer": f"{next(_sequencer):X}"},
        "request-id": uuid.uuid4().hex[:16].upper(),
        "requester": account_id,
        "source-ip-address": "127.0.0.1",
        "reason": _REASONS.get(short, short.replace(":", "")),
    }
    if key.version_id and key.version_id != "null":
        detail["object"]["version-id"] = key.version_id
    if family == "ObjectRemoved":
        detail["deletion-type"] = "Permanently Deleted"
        detail["object"].pop("size", None)
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": _DETAIL_TYPES.get(family, family),
        "source": "aws.s3",
        "account": account_id,
        "time": iso_now(),
        "region": bucket.region_name,
        "resources": [f"arn:aws:s3:::{bucket.name}"],
        "detail": detail,
    }


def install(cloud: LocalCloud) -> None:
    from moto.s3 import notifications

    def send_event_bridge_message(account_id: str, bucket: Any, event_name: str, key: Any) -> None:
        event = eventbridge_event(account_id, bucket, event_name, key)
        try:
            cloud.events.put(account_id, bucket.region_name, "default", [event], forwarded=True)
        except Exception:
            log.exception("S3 could not notify EventBridge of %s/%s", bucket.name, key.name)

    def invoke_awslambda(account_id: str, event_body: Any, fn_arn: str, region_name: str) -> None:
        import json

        try:
            fn = cloud.lambdas.function(fn_arn)
            cloud.lambdas.invoke_async(fn, json.dumps(event_body).encode())
        except Exception:
            log.exception("S3 could not invoke %s", fn_arn)

    notifications._send_event_bridge_message = send_event_bridge_message
    notifications._invoke_awslambda = invoke_awslambda
