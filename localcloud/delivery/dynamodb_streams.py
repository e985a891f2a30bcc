"""DynamoDB Streams → Lambda: a ShardSource over a table's stream (see streams.py for the semantics).

The event record is Lambda's (https://docs.aws.amazon.com/lambda/latest/dg/with-ddb.html): `eventName`
INSERT/MODIFY/REMOVE, `dynamodb.Keys`, `NewImage`/`OldImage` as the table's StreamViewType says,
`SequenceNumber`, `SizeBytes`, `ApproximateCreationDateTime` (epoch seconds), `eventSourceARN` the stream ARN.
A mapping follows the stream it names: when the table's stream is disabled or replaced (a new label), the
mapping's pollers stop reading, as on AWS.
"""

from __future__ import annotations

import json
import threading
from typing import TYPE_CHECKING, Any

from ..patches.dynamodb import stream_signal
from .streams import ShardSource, StreamDelivery, StreamRecord

if TYPE_CHECKING:
    from moto.awslambda.models import EventSourceMapping


def _table(stream_arn: str) -> Any | None:
    """The table whose *current* stream is `stream_arn`."""
    from moto.dynamodb.models import dynamodb_backends

    parts = stream_arn.split(":", 5)
    region, account = parts[3], parts[4]
    table = dynamodb_backends[account][region].tables.get(parts[5].split("/")[1])
    if table is None or table.stream_shard is None or not (table.stream_specification or {}).get("StreamEnabled"):
        return None
    if f"{table.table_arn}/stream/{table.latest_stream_label}" != stream_arn:
        return None
    return table


class DynamoDBStreamShard(ShardSource):
    batch_info_key = "DDBStreamBatchInfo"

    def _shard(self) -> Any | None:
        table = _table(self.source_arn)
        return None if table is None else table.stream_shard

    def identity(self) -> int | None:
        shard = self._shard()
        return None if shard is None else id(shard)

    def length(self) -> int:
        shard = self._shard()
        return 0 if shard is None else len(shard.items)

    def signal(self) -> threading.Condition | None:
        shard = self._shard()
        return None if shard is None else stream_signal(shard)

    def arrival_at(self, position: int) -> float | None:
        shard = self._shard()
        if shard is None or not 0 <= position < len(shard.items):
            return None
        return float(getattr(shard.items[position], "arrival", 0.0))

    def read(self, start: int, end: int) -> list[StreamRecord]:
        shard = self._shard()
        if shard is None:
            return []
        records = []
        for offset, item in enumerate(shard.items[start:end]):
            raw = item.record
            arrival = float(getattr(item, "arrival", 0.0))
            dynamodb = {key: value for key, value in raw["dynamodb"].items() if key != "ApproximateCreationDateTime"}
            event = {
                "eventID": raw["eventID"],
                "eventName": raw["eventName"],
                "eventVersion": "1.1",
                "eventSource": "aws:dynamodb",
                "awsRegion": raw["awsRegion"],
                "dynamodb": {"ApproximateCreationDateTime": int(arrival), **dynamodb},
                "eventSourceARN": self.source_arn,
            }
            sequence = str(dynamodb["SequenceNumber"])
            records.append(StreamRecord(start + offset, sequence, arrival, event, int(dynamodb.get("SizeBytes", 0)) + 400))
        return records

    def order_key(self, record: StreamRecord) -> str:
        # "Lambda still ensures in-order processing at the item (partition and sort key) level."
        return json.dumps(record.event["dynamodb"].get("Keys", {}), sort_keys=True)

    def filter_view(self, record: StreamRecord) -> dict[str, Any]:
        return record.event


class DynamoDBStreamsDelivery(StreamDelivery):
    name = "dynamodb-streams"
    service = "dynamodb"

    def shards(self, mapping: EventSourceMapping) -> list[ShardSource]:
        table = _table(mapping.event_source_arn)
        if table is None:
            return []
        return [DynamoDBStreamShard(table.stream_shard.id, mapping.event_source_arn)]
