"""DynamoDB Streams: the stream keeps every record (the local cloud's stream pollers deliver them), sequence
numbers stay unique under concurrent writes, and records carry their arrival time on the controllable clock.

moto invokes mapped functions inside the write (`StreamShard.add`) and then *empties the shard* when an
invocation succeeded, so later records reuse sequence numbers and GetRecords loses history; two concurrent
writes can also get the same sequence number. moto's record says awsRegion us-east-1 whatever the table's region.

Single-item writes are atomic on DynamoDB; moto's are not under concurrent requests (the server is threaded):
UpdateItem reads the item, checks the condition, then writes, so two concurrent ADDs on a new item lose one of
them and two conditional puts (attribute_not_exists) can both succeed. Every write here holds one lock.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any

from ..clock import CLOCK

_GUARD = threading.Lock()
_WRITES = threading.RLock()  # re-entrant: TransactWriteItems calls the single-item writes
_WRITE_METHODS = ("put_item", "update_item", "delete_item", "transact_write_items", "batch_write_item")


def _atomic(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def write(*args: Any, **kwargs: Any) -> Any:
        with _WRITES:
            return method(*args, **kwargs)

    write._localcloud_atomic = True  # type: ignore[attr-defined]
    return write


def stream_signal(shard: Any) -> threading.Condition:
    """Notified after every record appended to a table's stream shard."""
    cond: threading.Condition | None = getattr(shard, "_localcloud_cond", None)
    if cond is None:
        with _GUARD:
            cond = getattr(shard, "_localcloud_cond", None)
            if cond is None:
                cond = threading.Condition()
                shard._localcloud_cond = cond
    return cond


def install() -> None:
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models import table as table_models

    for name in _WRITE_METHODS:
        method = getattr(DynamoDBBackend, name)
        if not getattr(method, "_localcloud_atomic", False):
            setattr(DynamoDBBackend, name, _atomic(method))

    table_models.Table.lambda_event_source_mappings = property(lambda self: {}, lambda self, value: None)

    def add(self: Any, old: Any, new: Any) -> None:
        view_type = self.table.stream_specification["StreamViewType"]
        event_name = "INSERT" if old is None else "REMOVE" if new is None else "MODIFY"
        cond = stream_signal(self)
        with cond:
            sequence = len(self.items) + self.starting_sequence_number
            record = table_models.StreamRecord(self.table, view_type, event_name, old, new, sequence)
            record.record["awsRegion"] = self.table.region_name
            record.arrival = CLOCK.time()  # type: ignore[attr-defined]
            self.items.append(record)
            cond.notify_all()

    table_models.StreamShard.add = add
