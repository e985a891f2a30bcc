"""Failure records and direct dead-lettering of poison messages, generic over the pipeline.

Failures table (``FAILURES_TABLE``): hash key ``pipeline`` (S), range key ``item_id`` (S). One item per failed
input (e.g. ``<bucket>/<key>#<etag>`` for an S3 object version) with ``error_code``, ``reason``, ``stage``,
``message_id``, ``first_seen_at``, ``source``, ``attempts`` and, once the message is in the DLQ,
``dlq_message_id`` and ``dead_lettered_at``.

``FailureRecorder.dead_letter`` is idempotent:

1. put the failure item if it does not exist (conditional);
2. if it exists and already has a ``dlq_message_id`` the input was dead-lettered before: do nothing again.
   If it exists without one and was created for another SQS message, a concurrent duplicate delivery is
   dead-lettering it right now: do nothing either (the same message retried after a crash does send).
   One exception: a message that carries our ``sluice-error-code`` attribute was dead-lettered by us and then
   redriven by an operator; if it still fails it goes back to the DLQ (``attempts`` + 1) instead of vanishing;
3. send the original body to the DLQ with ``sluice-*`` message attributes;
4. store the DLQ message id on the item.

A crash between 3 and 4 can leave one extra DLQ message on the retry; nothing is ever lost.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from .errors import PermanentError

__all__ = [
    "ATTR_ERROR_CODE",
    "ATTR_ITEM_ID",
    "ATTR_PIPELINE",
    "ATTR_REASON",
    "ATTR_SOURCE_MESSAGE_ID",
    "ATTR_STAGE",
    "DeadLetterOutcome",
    "FailureRecorder",
    "utc_now_iso",
]

ATTR_ERROR_CODE = "sluice-error-code"
ATTR_REASON = "sluice-reason"
ATTR_PIPELINE = "sluice-pipeline"
ATTR_SOURCE_MESSAGE_ID = "sluice-source-message-id"
ATTR_ITEM_ID = "sluice-item-id"
ATTR_STAGE = "sluice-stage"

_MAX_REASON = 1000  # characters kept in the failures table
_MAX_ATTRIBUTE = 256  # characters kept in a DLQ message attribute


def utc_now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _printable(text: str, limit: int) -> str:
    """Keep text safe for SQS attributes and logs: printable characters only, bounded length."""
    cleaned = "".join(ch if ch.isprintable() else "?" for ch in text)
    return cleaned if len(cleaned) <= limit else cleaned[: limit - 1] + "…"


@dataclass(frozen=True)
class DeadLetterOutcome:
    item_id: str
    error_code: str
    dlq_message_id: str | None
    already_dead_lettered: bool


class FailureRecorder:
    """Records permanent failures of ``pipeline`` and dead-letters their messages to ``dlq_url``."""

    def __init__(
        self,
        *,
        pipeline: str,
        dynamodb: Any,
        sqs: Any,
        table_name: str,
        dlq_url: str,
        clock: Callable[[], str] = utc_now_iso,
    ) -> None:
        self.pipeline = pipeline
        self._ddb = dynamodb
        self._sqs = sqs
        self.table_name = table_name
        self.dlq_url = dlq_url
        self._clock = clock

    def dead_letter(
        self,
        *,
        error: PermanentError,
        item_id: str,
        source: str,
        body: str,
        message_id: str,
        attempts: int = 1,
        message_attributes: Mapping[str, Any] | None = None,
    ) -> DeadLetterOutcome:
        """Record ``error`` for ``item_id`` and dead-letter ``body`` once (see the module docstring)."""
        redriven = bool(message_attributes) and ATTR_ERROR_CODE in message_attributes
        key = {"pipeline": {"S": self.pipeline}, "item_id": {"S": item_id}}
        reason = _printable(error.reason, _MAX_REASON)
        item = {
            **key,
            "error_code": {"S": error.code},
            "reason": {"S": reason},
            "stage": {"S": error.stage},
            "message_id": {"S": message_id},
            "first_seen_at": {"S": self._clock()},
            "source": {"S": source},
            "attempts": {"N": str(max(int(attempts), 1))},
        }
        existing = self._put_if_absent(item)
        if existing is not None and not redriven:
            owner = existing.get("message_id", {}).get("S")
            if "dlq_message_id" in existing or (owner is not None and owner != message_id):
                return DeadLetterOutcome(
                    item_id=item_id,
                    error_code=error.code,
                    dlq_message_id=existing.get("dlq_message_id", {}).get("S"),
                    already_dead_lettered=True,
                )

        sent = self._sqs.send_message(
            QueueUrl=self.dlq_url,
            MessageBody=body,
            MessageAttributes={
                name: {"DataType": "String", "StringValue": _printable(value, _MAX_ATTRIBUTE)}
                for name, value in (
                    (ATTR_ERROR_CODE, error.code),
                    (ATTR_REASON, reason),
                    (ATTR_PIPELINE, self.pipeline),
                    (ATTR_SOURCE_MESSAGE_ID, message_id),
                    (ATTR_ITEM_ID, item_id),
                    (ATTR_STAGE, error.stage),
                )
            },
        )
        dlq_message_id = sent["MessageId"]

        update = "SET dlq_message_id = :dlq, dead_lettered_at = :now"
        values: dict[str, Any] = {":dlq": {"S": dlq_message_id}, ":now": {"S": self._clock()}}
        if existing is not None and redriven:
            # A redriven message failed again: keep the first record, count the attempt, note the new error.
            update += ", attempts = attempts + :one, error_code = :code, reason = :reason, stage = :stage"
            values.update(
                {
                    ":one": {"N": "1"},
                    ":code": {"S": error.code},
                    ":reason": {"S": reason},
                    ":stage": {"S": error.stage},
                }
            )
        self._ddb.update_item(
            TableName=self.table_name,
            Key=key,
            UpdateExpression=update,
            ConditionExpression="attribute_exists(item_id)",
            ExpressionAttributeValues=values,
        )
        return DeadLetterOutcome(
            item_id=item_id,
            error_code=error.code,
            dlq_message_id=dlq_message_id,
            already_dead_lettered=False,
        )

    def _put_if_absent(self, item: dict[str, Any]) -> dict[str, Any] | None:
        """Put ``item`` unless its key exists; return the existing item (None if the put happened)."""
        try:
            self._ddb.put_item(
                TableName=self.table_name,
                Item=item,
                ConditionExpression="attribute_not_exists(item_id)",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
            return None
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise
            existing = exc.response.get("Item")
        if existing is None:  # older endpoints do not return the item
            existing = self._ddb.get_item(
                TableName=self.table_name,
                Key={"pipeline": item["pipeline"], "item_id": item["item_id"]},
                ConsistentRead=True,
            ).get("Item", {})
        return existing
