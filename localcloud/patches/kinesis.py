"""Kinesis: no synchronous Lambda invocation inside PutRecord(s) (the local cloud's shard pollers deliver), safe
concurrent puts, arrival times on the local cloud's clock, and an append-only log per shard the pollers read by
position.

moto numbers a shard's records with `max(keys) + 1`, computed as `list(self.records.keys())[-1]` on every put
(quadratic in the shard's length, and racy between two server threads), and invokes every mapped function once
per record inside the put. Records arrive at `utcnow()`, which a test cannot move; MaximumRecordAgeInSeconds and
the iterator age are measured on the controllable clock instead.

Tags: moto's CreateStream ignores its `Tags` parameter (the AWS provider sends the tags there and makes no
AddTagsToStream call, so every plan after apply showed `tags_all` drift), and ListTagsForStream returned the
`ExclusiveStartTagKey` itself on the next page (the start key is exclusive in AWS).
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Any

from ..clock import CLOCK


def shard_log(shard: Any) -> list[Any]:
    """The shard's records in sequence order (moto's OrderedDict, mirrored as a list the pollers index)."""
    log: list[Any] | None = getattr(shard, "_localcloud_log", None)
    if log is None or len(log) != len(shard.records):
        # Resharding (SplitShard, MergeShards, UpdateShardCount) rewrites `records` behind our back: rebuild.
        log = list(shard.records.values())
        shard._localcloud_log = log
    return log


def shard_signal(shard: Any) -> threading.Condition:
    """Notified after every put into `shard`; pollers wait on it instead of sleeping."""
    cond: threading.Condition | None = getattr(shard, "_localcloud_cond", None)
    if cond is None:
        with _GUARD:
            cond = getattr(shard, "_localcloud_cond", None)
            if cond is None:
                cond = threading.Condition()
                shard._localcloud_cond = cond
    return cond


_GUARD = threading.Lock()


def install() -> None:
    from moto.kinesis import models, responses

    # Arrival timestamps (ApproximateArrivalTimestamp, record age) on the controllable clock.
    models.utcnow = lambda: datetime.fromtimestamp(CLOCK.time(), tz=UTC).replace(tzinfo=None)

    # moto invokes mapped functions inside PutRecord; the local cloud's shard pollers do it, with AWS semantics.
    models.Stream.lambda_event_source_mappings = property(lambda self: {}, lambda self, value: None)

    def put_record(self: Any, partition_key: str, data: str, explicit_hash_key: str) -> str:
        cond = shard_signal(self)
        with cond:
            log = shard_log(self)
            sequence_number = (log[-1].sequence_number + 1) if log else 1
            record = models.Record(partition_key, data, sequence_number, explicit_hash_key)
            self.records[sequence_number] = record
            log.append(record)
            cond.notify_all()
        return str(sequence_number)

    def get_max_sequence_number(self: Any) -> int:
        log = shard_log(self)
        return int(log[-1].sequence_number) if log else 0

    def get_min_sequence_number(self: Any) -> int:
        log = shard_log(self)
        return int(log[0].sequence_number) if log else 0

    def get_records(self: Any, last_sequence_id: str, limit: int | None) -> tuple[list[Any], int, int]:
        """GetRecords by position (moto scans the whole shard and recomputes the tail for every record)."""
        import bisect

        log = shard_log(self)
        last = int(last_sequence_id)
        start = bisect.bisect_right(log, last, key=lambda r: r.sequence_number)
        results = log[start : start + limit] if limit else log[start:]
        if results:
            last = results[-1].sequence_number
            behind = int((log[-1].created_at - results[-1].created_at) * 1000)
        else:
            behind = 0
        return list(results), last, behind

    models.Shard.put_record = put_record
    models.Shard.get_max_sequence_number = get_max_sequence_number
    models.Shard.get_min_sequence_number = get_min_sequence_number
    models.Shard.get_records = get_records

    create_stream = responses.KinesisResponse.create_stream

    def create_stream_with_tags(self: Any) -> Any:
        result = create_stream(self)
        tags = self._get_param("Tags") or {}
        if tags:
            self.kinesis_backend.add_tags_to_stream(None, self._get_param("StreamName"), tags)
        return result

    responses.KinesisResponse.create_stream = create_stream_with_tags

    def list_tags_for_stream(
        self: Any, stream_arn: str | None, stream_name: str | None, exclusive_start_tag_key: str | None = None, limit: int | None = None
    ) -> dict[str, Any]:
        stream = self.describe_stream(stream_arn=stream_arn, stream_name=stream_name)
        keys = sorted(k for k in stream.tags if not exclusive_start_tag_key or k > exclusive_start_tag_key)
        page = keys[:limit] if limit else keys
        return {"HasMoreTags": len(page) < len(keys), "Tags": [{"Key": k, "Value": stream.tags[k]} for k in page]}

    models.KinesisBackend.list_tags_for_stream = list_tags_for_stream
