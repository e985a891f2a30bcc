"""Pipeline 5, the audit trail: an alert written to the alerts table (a DynamoDB Streams record, NEW_IMAGE) ->
an audit record in S3, ``audit/<date the alert was raised>/<alert id>.json``.

Pure logic: the S3 client and names come in as arguments.

The audit record holds the alert as it was published (the item's ``detail``) and where it came from (the
stream record's event id, name, sequence number and approximate creation time). It is written with
``If-None-Match: *``: the first record of an alert wins and a replayed or rewritten alert (a retried scorer
batch rewrites the same item) changes nothing, so the trail is append-only.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError
from sluice.errors import PermanentError


class NotAnAlert(PermanentError):
    """The stream record is not an alert item (no new image, no alert id or detail)."""

    code = "not_an_alert"
    stage = "parse"


@dataclass(frozen=True)
class Ports:
    s3: Any
    bucket: str
    prefix: str = "audit/"


def utc_iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, tz=UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def audit_key(prefix: str, alert: dict[str, Any]) -> str:
    day = str(alert.get("detected_at", ""))[:10] or "undated"
    return f"{prefix}{day}/{alert['alert_id']}.json"


def audit_record(new_image: dict[str, Any] | None, meta: dict[str, Any], now: float) -> dict[str, Any]:
    """The audit document for one stream record (``new_image`` deserialized)."""
    if not new_image or "alert_id" not in new_image or "detail" not in new_image:
        raise NotAnAlert("the stream record has no alert in its new image")
    try:
        alert = json.loads(new_image["detail"])
    except (TypeError, ValueError) as exc:
        raise NotAnAlert(f"the alert's detail is not JSON: {exc}") from None
    if alert.get("alert_id") != new_image["alert_id"]:
        raise NotAnAlert("the detail names another alert")
    return {"alert": alert, "stream": meta, "audited_at": utc_iso(now)}


def write(ports: Ports, document: dict[str, Any]) -> tuple[str, bool]:
    """Put the audit record once; (key, written) - written False when it was already there."""
    key = audit_key(ports.prefix, document["alert"])
    body = json.dumps(document, indent=2, sort_keys=True).encode()
    try:
        ports.s3.put_object(
            Bucket=ports.bucket, Key=key, Body=body, ContentType="application/json", IfNoneMatch="*"
        )
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("PreconditionFailed", "ConditionalRequestConflict"):
            return key, False
        raise
    return key, True


def now() -> float:
    return time.time()
