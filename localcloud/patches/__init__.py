"""Patches to moto, one module per service. Each `install(cloud)` replaces a moto method with one that
behaves like AWS (or hands the work to the local cloud's runtime and deliveries). Applied once per process."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..cloud import LocalCloud

_installed = False


def install(cloud: LocalCloud) -> None:
    global _installed
    from . import (
        cloudwatch,
        dynamodb,
        dynamodb_responses,
        event_source_mappings,
        events,
        iam,
        kinesis,
        lambda_,
        moto_core,
        s3,
        schedules,
        sqs,
        stepfunctions,
    )

    # Patches route to the current cloud through this reference, so a second LocalCloud in the same process
    # (tests) takes over without patching twice.
    _CURRENT[0] = cloud
    if _installed:
        return
    for module in (moto_core, iam, lambda_, sqs, s3, events, kinesis, dynamodb, dynamodb_responses, event_source_mappings, schedules, stepfunctions, cloudwatch):
        module.install()
    from ..delivery import s3 as s3_delivery

    s3_delivery.install(current)
    _installed = True


_CURRENT: list[LocalCloud | None] = [None]


class _CurrentCloud:
    """Attribute access forwards to whichever LocalCloud is running."""

    def __getattr__(self, name: str):  # type: ignore[no-untyped-def]
        cloud = _CURRENT[0]
        if cloud is None:
            raise RuntimeError("no local cloud is running in this process")
        return getattr(cloud, name)


current = _CurrentCloud()
