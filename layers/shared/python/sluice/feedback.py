"""The feedback store of the retraining loop: labelled predictions, one item per job, and the count of new
labels that triggers retraining. Shared by the feedback API (writes) and the model retrainer (claims).

Feedback table (``FEEDBACK_TABLE``), hash key ``job_id``:

* one **label item** per prediction job (``job_id`` = 32 hex digits): ``label``, ``image_key`` (the image copied
  to the feedback bucket), ``predicted_label``, ``model_version``, ``source``, ``received_at``;
* one **state item** (``job_id`` = ``#state``, which no job id can be): ``pending`` (new labels since the last
  retraining claimed them), ``labels_total``, ``requested_at``/``request_id`` (a retraining request is
  outstanding), ``running_since``/``run_id`` (a retraining holds the claim).

Counting exactly once: a label is stored and counted in **one transaction** (``TransactWriteItems``: the Put of
the label item with ``attribute_not_exists(job_id)`` + ``ADD pending 1`` on the state item). A duplicate or a
concurrent second label for the same job fails the condition, so the whole transaction is cancelled and the
count does not move; a crash cannot leave a stored label uncounted or a count without its label. (The earlier
attempt counted with a separate update after the put, and counted a retried request twice.)

Requesting retraining exactly once per threshold crossing: after a counted label, a conditional update sets
``requested_at`` only if ``pending >= threshold`` and no request is outstanding (or the outstanding one is
older than ``stale_after``): one writer wins and publishes ``RetrainingRequested``. The retrainer claims with
another conditional update (``running_since``) and, when it ends, subtracts what it claimed from ``pending`` and
clears both marks, so labels that arrived while it trained still count towards the next run.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from botocore.exceptions import ClientError

__all__ = [
    "STATE_KEY",
    "Claim",
    "Duplicate",
    "Label",
    "abandon",
    "claim",
    "feedback_image_key",
    "is_label_item",
    "read_labels",
    "record_label",
    "release",
    "request_retraining",
    "state",
    "withdraw_request",
]

STATE_KEY = "#state"
IMAGE_PREFIX = "feedback/"
_JOB_ID = re.compile(r"^[0-9a-f]{32}$")


def feedback_image_key(model_name: str, job_id: str) -> str:
    return f"{IMAGE_PREFIX}{model_name}/images/{job_id}"


def is_label_item(item: dict[str, Any]) -> bool:
    return bool(_JOB_ID.match(item.get("job_id", {}).get("S", "")))


@dataclass(frozen=True)
class Label:
    job_id: str
    label: int
    image_key: str
    source: str = "api"
    predicted_label: int | None = None
    model_version: str | None = None

    def item(self, received_at: str) -> dict[str, Any]:
        item: dict[str, Any] = {
            "job_id": {"S": self.job_id},
            "label": {"N": str(self.label)},
            "image_key": {"S": self.image_key},
            "source": {"S": self.source},
            "received_at": {"S": received_at},
        }
        if self.predicted_label is not None:
            item["predicted_label"] = {"N": str(self.predicted_label)}
        if self.model_version:
            item["model_version"] = {"S": self.model_version}
        return item

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> Label:
        return cls(
            job_id=item["job_id"]["S"],
            label=int(item["label"]["N"]),
            image_key=item["image_key"]["S"],
            source=item.get("source", {}).get("S", "api"),
            predicted_label=int(item["predicted_label"]["N"]) if "predicted_label" in item else None,
            model_version=item.get("model_version", {}).get("S"),
        )


class Duplicate(Exception):
    """The job already has a label (``existing``): nothing was stored or counted."""

    def __init__(self, existing: Label | None) -> None:
        super().__init__("the job already has a label")
        self.existing = existing


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _state_key() -> dict[str, Any]:
    return {"job_id": {"S": STATE_KEY}}


def record_label(dynamodb: Any, table: str, label: Label, received_at: str) -> None:
    """Store the label and count it, atomically; ``Duplicate`` if the job has a label already."""
    try:
        dynamodb.transact_write_items(
            TransactItems=[
                {
                    "Put": {
                        "TableName": table,
                        "Item": label.item(received_at),
                        "ConditionExpression": "attribute_not_exists(job_id)",
                    }
                },
                {
                    "Update": {
                        "TableName": table,
                        "Key": _state_key(),
                        "UpdateExpression": "ADD pending :one, labels_total :one",
                        "ExpressionAttributeValues": {":one": {"N": "1"}},
                    }
                },
            ]
        )
    except ClientError as exc:
        if _code(exc) != "TransactionCanceledException":
            raise
        reasons = exc.response.get("CancellationReasons") or []
        if not reasons or reasons[0].get("Code") != "ConditionalCheckFailed":
            raise  # a conflict with a concurrent transaction, throttling, ...: transient, the client retries
        existing = dynamodb.get_item(
            TableName=table, Key={"job_id": {"S": label.job_id}}, ConsistentRead=True
        ).get("Item")
        raise Duplicate(Label.from_item(existing) if existing else None) from None


def state(dynamodb: Any, table: str) -> dict[str, Any]:
    """The state item as plain values (``pending`` 0 when there is none yet)."""
    item = dynamodb.get_item(TableName=table, Key=_state_key(), ConsistentRead=True).get("Item") or {}
    plain = {
        name: (int(Decimal(v["N"])) if "N" in v else v.get("S"))
        for name, v in item.items()
        if name != "job_id"
    }
    plain.setdefault("pending", 0)
    return plain


def request_retraining(
    dynamodb: Any, table: str, *, threshold: int, request_id: str, now: str, stale_before: str
) -> int | None:
    """Mark a retraining request if ``pending >= threshold`` and none is outstanding (or it is older than
    ``stale_before``). Returns the pending count when this caller won (it must publish the request), else None."""
    try:
        response = dynamodb.update_item(
            TableName=table,
            Key=_state_key(),
            UpdateExpression="SET requested_at = :now, request_id = :id",
            ConditionExpression="pending >= :threshold AND (attribute_not_exists(requested_at) OR requested_at < :stale)",
            ExpressionAttributeValues={
                ":now": {"S": now},
                ":id": {"S": request_id},
                ":threshold": {"N": str(threshold)},
                ":stale": {"S": stale_before},
            },
            ReturnValues="ALL_NEW",
        )
    except ClientError as exc:
        if _code(exc) == "ConditionalCheckFailedException":
            return None
        raise
    return int(response["Attributes"]["pending"]["N"])


def withdraw_request(dynamodb: Any, table: str, request_id: str) -> None:
    """Clear our request mark (publishing it failed), so the next label or the schedule can request again."""
    try:
        dynamodb.update_item(
            TableName=table,
            Key=_state_key(),
            UpdateExpression="REMOVE requested_at, request_id",
            ConditionExpression="request_id = :id",
            ExpressionAttributeValues={":id": {"S": request_id}},
        )
    except ClientError as exc:
        if _code(exc) != "ConditionalCheckFailedException":
            raise


@dataclass(frozen=True)
class Claim:
    run_id: str
    pending: int


def claim(
    dynamodb: Any, table: str, *, run_id: str, minimum: int, now: str, stale_before: str
) -> Claim | None:
    """Take the retraining claim if ``pending >= minimum`` and no run holds it (or the holder is older than
    ``stale_before``: it died). Returns what was claimed, or None (nothing to do, or another run is training)."""
    condition = "(attribute_not_exists(running_since) OR running_since < :stale)"
    values = {":now": {"S": now}, ":id": {"S": run_id}, ":stale": {"S": stale_before}, ":zero": {"N": "0"}}
    if minimum > 0:
        condition += " AND pending >= :minimum"
        values[":minimum"] = {"N": str(minimum)}
    try:
        response = dynamodb.update_item(
            TableName=table,
            Key=_state_key(),
            UpdateExpression="SET running_since = :now, run_id = :id, pending = if_not_exists(pending, :zero)",
            ConditionExpression=condition,
            ExpressionAttributeValues=values,
            ReturnValues="ALL_NEW",
        )
    except ClientError as exc:
        if _code(exc) == "ConditionalCheckFailedException":
            return None
        raise
    return Claim(run_id=run_id, pending=int(response["Attributes"]["pending"]["N"]))


def release(dynamodb: Any, table: str, held: Claim, *, now: str, outcome: str) -> None:
    """End the run: consume the labels it claimed, clear the claim and the request, note the outcome."""
    dynamodb.update_item(
        TableName=table,
        Key=_state_key(),
        UpdateExpression="ADD pending :consumed SET last_run_id = :id, last_run_at = :now, last_outcome = :outcome REMOVE running_since, run_id, requested_at, request_id",
        ConditionExpression="run_id = :id",
        ExpressionAttributeValues={
            ":consumed": {"N": str(-held.pending)},
            ":id": {"S": held.run_id},
            ":now": {"S": now},
            ":outcome": {"S": outcome},
        },
    )


def read_labels(dynamodb: Any, table: str) -> list[Label]:
    """Every label item (a paginated Scan; the state item is skipped), sorted by job id (deterministic)."""
    labels: list[Label] = []
    for page in dynamodb.get_paginator("scan").paginate(TableName=table, ConsistentRead=True):
        labels.extend(Label.from_item(item) for item in page.get("Items", []) if is_label_item(item))
    return sorted(labels, key=lambda label: label.job_id)


def abandon(dynamodb: Any, table: str, held: Claim) -> None:
    """Give the claim back without consuming anything (the run failed; a retry claims again)."""
    try:
        dynamodb.update_item(
            TableName=table,
            Key=_state_key(),
            UpdateExpression="REMOVE running_since, run_id",
            ConditionExpression="run_id = :id",
            ExpressionAttributeValues={":id": {"S": held.run_id}},
        )
    except ClientError as exc:
        if _code(exc) != "ConditionalCheckFailedException":
            raise
