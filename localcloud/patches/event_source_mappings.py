"""Event source mappings on streams remember each shard's tip at creation, so StartingPosition LATEST means
"records put after CreateEventSourceMapping" even though the local cloud's pollers start up to 0.5 s later."""

from __future__ import annotations

import contextlib
from typing import Any

from ..clock import CLOCK


def _tips(arn: str) -> dict[str, int]:
    parts = arn.split(":", 5)
    service, region, account, resource = parts[2], parts[3], parts[4], parts[5]
    if service == "kinesis":
        from moto.kinesis.models import kinesis_backends

        from .kinesis import shard_log

        stream = kinesis_backends[account][region].streams.get(resource.split("/", 1)[1])
        return {} if stream is None else {shard_id: len(shard_log(shard)) for shard_id, shard in stream.shards.items()}
    if service == "dynamodb":
        from moto.dynamodb.models import dynamodb_backends

        table = dynamodb_backends[account][region].tables.get(resource.split("/")[1])
        shard = getattr(table, "stream_shard", None)
        return {} if shard is None else {shard.id: len(shard.items)}
    return {}


def install() -> None:
    from moto.awslambda import models

    original = models.LambdaBackend.create_event_source_mapping

    def create_event_source_mapping(self: Any, spec: dict[str, Any]) -> Any:
        mapping = original(self, spec)
        mapping.localcloud_created = CLOCK.time()
        with contextlib.suppress(Exception):
            mapping.localcloud_tips = _tips(mapping.event_source_arn)
        return mapping

    models.LambdaBackend.create_event_source_mapping = create_event_source_mapping
