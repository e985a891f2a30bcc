"""Powertools idempotency wired to the shared idempotency table.

Table (``IDEMPOTENCY_TABLE``): hash key ``id`` (S), TTL attribute ``expiration``. Records are written by
Powertools (``status``, ``data``, ``in_progress_expiration``, ``expiration``).

``make_idempotent`` wraps a function whose keyword argument ``data_keyword_argument`` holds a JSON-serialisable
dict; the key is ``key_jmespath`` over that dict (choose fields that identify the *work*, e.g. bucket + key +
ETag of an S3 object, never a delivery id such as an SQS message id). A second call with the same key returns
the stored result without running the function; a call while the first is still running raises
``IdempotencyAlreadyInProgressError`` (transient: the record is retried later). Call
``config.register_lambda_context(context)`` once per invocation so in-progress records expire with the
invocation.

Powertools prefixes every key with the *function* name (``<function>.<module>.<qualname>#<hash>``), so the same
work done by two functions gets two keys. Work that several functions share (e.g. the one completion of a
fan-out job, which any of its consumers may publish) needs ``key_prefix``: one name for the work, so every
function reads and writes the same record.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)

__all__ = ["Idempotent", "Once", "make_idempotent"]

KEY_ATTR = "id"
EXPIRY_ATTR = "expiration"


@dataclass(frozen=True)
class Idempotent:
    function: Callable[..., Any]
    config: IdempotencyConfig
    persistence: DynamoDBPersistenceLayer


def make_idempotent(
    function: Callable[..., Any],
    *,
    data_keyword_argument: str,
    key_jmespath: str,
    table_name: str,
    dynamodb_client: Any,
    expires_after_seconds: int = 3600,
    on_replay: Callable[[Any, Any], Any] | None = None,
    key_prefix: str | None = None,
) -> Idempotent:
    """Wrap ``function`` with Powertools ``idempotent_function``.

    ``on_replay(response, idempotent_data)`` runs when a stored result is returned instead of calling the
    function (Powertools' ``response_hook``) and may return a modified response. ``key_prefix`` replaces the
    function-name prefix of the key, to share records between functions.
    """
    persistence = DynamoDBPersistenceLayer(
        table_name=table_name,
        key_attr=KEY_ATTR,
        expiry_attr=EXPIRY_ATTR,
        boto3_client=dynamodb_client,
    )
    config = IdempotencyConfig(
        event_key_jmespath=key_jmespath,
        raise_on_no_idempotency_key=True,
        expires_after_seconds=expires_after_seconds,
        use_local_cache=True,
        hash_function="sha256",
        response_hook=on_replay,
    )
    wrapped = idempotent_function(
        function,
        data_keyword_argument=data_keyword_argument,
        persistence_store=persistence,
        config=config,
        key_prefix=key_prefix,
    )
    return Idempotent(function=wrapped, config=config, persistence=persistence)


CLAIMED = "CLAIMED"
DONE = "DONE"


class Once:
    """Claim -> act -> mark, on the idempotency table, for side effects done in batches (where Powertools'
    per-call decorator would split a PutEvents batch into one call per event).

    ``claim(key)`` answers ``"go"`` (this caller claimed the key: act, then ``done(key)``, or ``release(key)``
    if the act failed), ``"done"`` (somebody acted already: skip) or ``"busy"`` (another caller holds an
    unexpired claim: retry later). Every answer comes from one conditional write, so two concurrent callers
    never both get ``"go"``. A caller that dies between acting and ``done`` leaves a claim that expires after
    ``claim_seconds``: only then can the act happen twice.

    Items: ``id`` = ``<prefix>#<sha256 of the key>``, ``status`` (CLAIMED/DONE), ``claimed_until`` (epoch s) and
    ``expiration`` (the table's TTL), beside Powertools' records (whose ids never start with a prefix of ours).
    """

    def __init__(
        self,
        dynamodb: Any,
        table_name: str,
        *,
        prefix: str,
        claim_seconds: float = 60.0,
        expires_after_seconds: int = 7 * 24 * 3600,
        clock: Callable[[], float] | None = None,
    ) -> None:
        import time

        self.dynamodb = dynamodb
        self.table_name = table_name
        self.prefix = prefix
        self.claim_seconds = claim_seconds
        self.expires_after_seconds = expires_after_seconds
        self.clock = clock or time.time

    def _id(self, key: str) -> dict[str, Any]:
        import hashlib

        return {KEY_ATTR: {"S": f"{self.prefix}#{hashlib.sha256(key.encode('utf-8', 'surrogatepass')).hexdigest()}"}}

    def claim(self, key: str) -> str:
        from botocore.exceptions import ClientError

        now = self.clock()
        try:
            self.dynamodb.put_item(
                TableName=self.table_name,
                Item={
                    **self._id(key),
                    "status": {"S": CLAIMED},
                    "claimed_until": {"N": str(round(now + self.claim_seconds, 3))},
                    EXPIRY_ATTR: {"N": str(int(now + self.expires_after_seconds))},
                },
                ConditionExpression="attribute_not_exists(#id) OR (#s = :claimed AND claimed_until < :now)",
                ExpressionAttributeNames={"#id": KEY_ATTR, "#s": "status"},
                ExpressionAttributeValues={":claimed": {"S": CLAIMED}, ":now": {"N": str(round(now, 3))}},
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
            return "go"
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise
            item = exc.response.get("Item") or {}
        return "done" if item.get("status", {}).get("S") == DONE else "busy"

    def done(self, key: str) -> None:
        self.dynamodb.update_item(
            TableName=self.table_name,
            Key=self._id(key),
            UpdateExpression="SET #s = :done REMOVE claimed_until",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={":done": {"S": DONE}},
        )

    def release(self, key: str) -> None:
        self.dynamodb.delete_item(
            TableName=self.table_name,
            Key=self._id(key),
            ConditionExpression="#s = :claimed",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={":claimed": {"S": CLAIMED}},
        )
