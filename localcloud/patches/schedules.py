"""Schedules on the local cloud's clock: EventBridge rules remember when they were created (a rate counts from
there), and EventBridge Scheduler stamps creation and checks StartDate against the controllable clock."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from ..clock import CLOCK


def install() -> None:
    from moto.events import models as events_models
    from moto.scheduler import models as scheduler_models

    original_rule_init = events_models.Rule.__init__

    def rule_init(self: Any, *args: Any, **kwargs: Any) -> None:
        original_rule_init(self, *args, **kwargs)
        self.localcloud_created = CLOCK.time()

    events_models.Rule.__init__ = rule_init

    original_unix_time = scheduler_models.unix_time
    scheduler_models.unix_time = lambda dt=None: CLOCK.time() if dt is None else original_unix_time(dt)
    scheduler_models.utcnow = lambda: datetime.fromtimestamp(CLOCK.time(), tz=UTC).replace(tzinfo=None)
