"""The generic ETL of seed 001 (pattern 3): Extract -> Transform -> Load -> Notify, each a Task of a small state
machine (terraform/stack/etl.asl.json.tftpl) with Retry (1 s, 3 attempts, backoff 2) and Catch -> Fail. One
function serves the three Lambda steps (``step`` in the input); Notify is an SNS publish from the machine.

Input: {"source": {"bucket", "key"}} naming a JSON array of records {"id", "name", "amount"}.
"""

from __future__ import annotations

import json
from typing import Any

from sluice.errors import InvalidEvent, InvalidJson, SchemaViolation

LOADED_PREFIX = "etl/loaded/"


def extract(event: dict[str, Any], s3: Any) -> dict[str, Any]:
    source = event.get("source") or {}
    if not source.get("bucket") or not source.get("key"):
        raise InvalidEvent("the input needs source.bucket and source.key", stage="extract")
    body = s3.get_object(Bucket=source["bucket"], Key=source["key"])["Body"].read()
    try:
        records = json.loads(body)
    except ValueError as exc:
        raise InvalidJson(f"{source['key']}: {exc}", stage="extract") from exc
    if not isinstance(records, list):
        raise SchemaViolation("the source must hold a JSON array of records", stage="extract")
    return {**event, "records": records}


def transform(event: dict[str, Any]) -> dict[str, Any]:
    """Normalise names, keep records with an id and a numeric amount, total per name."""
    clean: list[dict[str, Any]] = []
    rejected = 0
    for record in event.get("records") or []:
        if (
            not isinstance(record, dict)
            or not record.get("id")
            or not isinstance(record.get("amount"), (int, float))
            or isinstance(record.get("amount"), bool)
        ):
            rejected += 1
            continue
        clean.append(
            {
                "id": str(record["id"]),
                "name": " ".join(str(record.get("name", "")).split()).title(),
                "amount": round(float(record["amount"]), 2),
            }
        )
    totals: dict[str, float] = {}
    for record in clean:
        totals[record["name"]] = round(totals.get(record["name"], 0.0) + record["amount"], 2)
    kept = {k: v for k, v in event.items() if k != "records"}
    return {**kept, "transformed": {"records": clean, "totals": totals, "rejected": rejected}}


def load(event: dict[str, Any], s3: Any, output_bucket: str, run_id: str) -> dict[str, Any]:
    transformed = event.get("transformed")
    if not isinstance(transformed, dict):
        raise InvalidEvent("the input needs the transform step's output", stage="load")
    key = f"{LOADED_PREFIX}{run_id}.json"
    s3.put_object(
        Bucket=output_bucket, Key=key, Body=json.dumps(transformed).encode(), ContentType="application/json"
    )
    kept = {k: v for k, v in event.items() if k != "transformed"}
    return {
        **kept,
        "loaded": {
            "bucket": output_bucket,
            "key": key,
            "records": len(transformed["records"]),
            "rejected": transformed["rejected"],
            "totals": transformed["totals"],
        },
    }
