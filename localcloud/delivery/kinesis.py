"""Kinesis Data Streams → Lambda: a ShardSource over moto's shards (see streams.py for the semantics).

The event record is Lambda's (https://docs.aws.amazon.com/lambda/latest/dg/with-kinesis.html): `kinesis.data`
base64 as put, `partitionKey`, `sequenceNumber`, `approximateArrivalTimestamp` (epoch seconds),
`eventID` "shardId-...:seq", `eventSourceARN` the stream, `invokeIdentityArn` the function's role.
"""

from __future__ import annotations

import base64
import contextlib
import json
import threading
from typing import TYPE_CHECKING, Any

from ..patches.kinesis import shard_log, shard_signal
from .streams import ShardSource, StreamDelivery, StreamRecord

if TYPE_CHECKING:
    from moto.awslambda.models import EventSourceMapping

    from ..cloud import LocalCloud


def _stream(arn: str) -> Any | None:
    from moto.kinesis.models import kinesis_backends

    parts = arn.split(":", 5)
    region, account, name = parts[3], parts[4], parts[5].split("/", 1)[1]
    stream = kinesis_backends[account][region].streams.get(name)
    return stream if stream is not None and stream.arn == arn else None


class KinesisShard(ShardSource):
    batch_info_key = "KinesisBatchInfo"

    def __init__(self, shard_id: str, stream_arn: str, mapping: EventSourceMapping, region: str) -> None:
        super().__init__(shard_id, stream_arn)
        self.region = region
        self.role = _role(mapping)

    def _shard(self) -> Any | None:
        stream = _stream(self.source_arn)
        return None if stream is None else stream.shards.get(self.shard_id)

    def identity(self) -> int | None:
        shard = self._shard()
        return None if shard is None else id(shard)

    def length(self) -> int:
        shard = self._shard()
        return 0 if shard is None else len(shard_log(shard))

    def signal(self) -> threading.Condition | None:
        shard = self._shard()
        return None if shard is None else shard_signal(shard)

    def arrival_at(self, position: int) -> float | None:
        shard = self._shard()
        log = shard_log(shard) if shard is not None else []
        return float(log[position].created_at) if 0 <= position < len(log) else None

    def read(self, start: int, end: int) -> list[StreamRecord]:
        shard = self._shard()
        if shard is None:
            return []
        records = []
        for offset, record in enumerate(shard_log(shard)[start:end]):
            sequence = str(record.sequence_number)
            event = {
                "kinesis": {
                    "kinesisSchemaVersion": "1.0",
                    "partitionKey": record.partition_key,
                    "sequenceNumber": sequence,
                    "data": record.data,
                    "approximateArrivalTimestamp": round(float(record.created_at), 3),
                },
                "eventSource": "aws:kinesis",
                "eventVersion": "1.0",
                "eventID": f"{self.shard_id}:{sequence}",
                "eventName": "aws:kinesis:record",
                "invokeIdentityArn": self.role,
                "awsRegion": self.region,
                "eventSourceARN": self.source_arn,
            }
            records.append(StreamRecord(start + offset, sequence, float(record.created_at), event, len(record.data) + 450))
        return records

    def order_key(self, record: StreamRecord) -> str:
        return str(record.event["kinesis"]["partitionKey"])

    def filter_view(self, record: StreamRecord) -> dict[str, Any]:
        # Patterns see the kinesis object's metadata, and `data` when the payload is JSON (as Lambda filters do).
        view = dict(record.event["kinesis"])
        view.pop("data")
        with contextlib.suppress(ValueError, TypeError):
            view["data"] = json.loads(base64.b64decode(record.event["kinesis"]["data"]))
        return view


def _role(mapping: EventSourceMapping) -> str:
    from moto.awslambda.models import lambda_backends

    with contextlib.suppress(Exception):
        parts = mapping.function_arn.split(":")
        fn = lambda_backends[parts[4]][parts[3]].get_function(mapping.function_arn)
        return str(fn.role)
    return ""


class KinesisDelivery(StreamDelivery):
    name = "kinesis"
    service = "kinesis"

    def __init__(self, cloud: LocalCloud) -> None:
        super().__init__(cloud)

    def shards(self, mapping: EventSourceMapping) -> list[ShardSource]:
        stream = _stream(mapping.event_source_arn)
        if stream is None:
            return []
        region = mapping.event_source_arn.split(":")[3]
        return [KinesisShard(shard_id, stream.arn, mapping, region) for shard_id in list(stream.shards)]
