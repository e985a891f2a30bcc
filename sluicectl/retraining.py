"""Driving the scheduled batch and the retraining loop on a deployed environment: fire the daily report (now, on
its schedule, or for a given day), label predictions, ask for a retraining run and wait for its decision. The CLI
(`sluicectl daily-report`, `sluicectl retrain`), the e2e tests and the benchmark share these.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from .inference import Reply, auth_headers, http

REPORT_PREFIX = "reports/"


def report_key(day: date | str) -> str:
    return f"{REPORT_PREFIX}{day if isinstance(day, str) else day.isoformat()}/report.json"


def day_before(stamp: str) -> date:
    return (datetime.fromisoformat(stamp.replace("Z", "+00:00")).astimezone(UTC) - timedelta(days=1)).date()


def replay_event(rule_arn: str, day: date, *, force: bool = False) -> dict[str, Any]:
    """A scheduled event for ``day`` as the rule would have sent it the next morning, naming the day explicitly
    (``detail.date``): what an operator puts on the report queue to (re)build a past day's report."""
    stamp = datetime.combine(day + timedelta(days=1), datetime.min.time(), tzinfo=UTC)
    detail: dict[str, Any] = {"date": day.isoformat()}
    if force:
        detail["force"] = True
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "sluice.operator",
        "time": stamp.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "resources": [rule_arn],
        "detail": detail,
    }


def replay_daily_report(sqs: Any, queue_url: str, rule_arn: str, day: date, *, force: bool = False) -> None:
    sqs.send_message(QueueUrl=queue_url, MessageBody=json.dumps(replay_event(rule_arn, day, force=force)))


def wait_for(check: Callable[[], Any], timeout: float, what: str, interval: float = 0.2) -> Any:
    """``check()``'s first truthy value, polling with backoff up to ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)
        interval = min(interval * 1.5, 2.0)


def read_report(s3: Any, bucket: str, day: date | str) -> dict[str, Any] | None:
    try:
        return json.loads(s3.get_object(Bucket=bucket, Key=report_key(day))["Body"].read())
    except s3.exceptions.NoSuchKey:
        return None


def wait_report(s3: Any, bucket: str, day: date | str, timeout: float = 60.0) -> dict[str, Any]:
    return wait_for(lambda: read_report(s3, bucket, day), timeout, f"s3://{bucket}/{report_key(day)}")


def post_feedback(feedback_url: str, job_id: str, label: int, api_key: str | None = None) -> Reply:
    """POST /feedback with the API key (``$SLUICE_API_KEY`` by default: every route of the inference API needs one)."""
    headers = {"Content-Type": "application/json", **auth_headers(api_key)}
    return http("POST", feedback_url, json.dumps({"job_id": job_id, "label": label}).encode(), headers)


def feedback_state(dynamodb: Any, table: str) -> dict[str, Any]:
    item = (
        dynamodb.get_item(TableName=table, Key={"job_id": {"S": "#state"}}, ConsistentRead=True).get("Item")
        or {}
    )
    return {k: (int(float(v["N"])) if "N" in v else v.get("S")) for k, v in item.items() if k != "job_id"}


def request_retraining(
    events: Any,
    bus: str,
    model_name: str,
    threshold: int,
    *,
    corrupt_labels: bool = False,
    force: bool = True,
) -> str:
    """Put a manual ``RetrainingRequested`` on the domain bus (what the feedback API does at the threshold)."""
    request_id = uuid.uuid4().hex
    detail: dict[str, Any] = {
        "request_id": request_id,
        "model_name": model_name,
        "trigger": "manual",
        "pending_labels": 0,
        "threshold": threshold,
        "requested_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    options = {k: v for k, v in {"corrupt_labels": corrupt_labels, "force": force}.items() if v}
    if options:
        detail["options"] = options
    response = events.put_events(
        Entries=[
            {
                "Source": "sluice.feedback",
                "DetailType": "RetrainingRequested",
                "Detail": json.dumps(detail),
                "EventBusName": bus,
            }
        ]
    )
    if response.get("FailedEntryCount"):
        raise RuntimeError(f"PutEvents failed: {response['Entries']}")
    return request_id


def wait_run_after(
    dynamodb: Any, table: str, previous_run: str | None, timeout: float = 300.0
) -> dict[str, Any]:
    """The feedback store's state once a run other than ``previous_run`` has ended (``last_run_id`` moved)."""

    def ended() -> dict[str, Any] | None:
        state = feedback_state(dynamodb, table)
        return state if state.get("last_run_id") and state.get("last_run_id") != previous_run else None

    return wait_for(ended, timeout, "a retraining run to end")
