"""Schedules that fire on the local cloud's clock: EventBridge rules with a ScheduleExpression and EventBridge
Scheduler schedules (rate, cron, at).

moto stores both and never fires them. Here every schedule has a next firing time on the controllable clock;
whenever the clock passes it (real time going by, checked twice a second, or `clock advance`), every due
occurrence fires once, in time order, and the schedule moves to its next occurrence. Advancing the clock by a
day fires a `rate(1 hour)` schedule 24 times, each event stamped with its own scheduled time.

- A rule's targets receive AWS's scheduled event: "detail-type": "Scheduled Event", "source": "aws.events",
  "resources": [rule ARN], "time": the scheduled time, "detail": {} (after the target's Input, InputPath or
  InputTransformer), with the rule targets' retries and dead-letter queues (eventbridge.py).
- A Scheduler schedule sends its target's Input (context attributes <aws.scheduler.schedule-arn>,
  <aws.scheduler.scheduled-time>, <aws.scheduler.execution-id>, <aws.scheduler.attempt-number> filled) to a
  Lambda function (asynchronous invoke), an SQS queue (SqsParameters.MessageGroupId), a Step Functions state
  machine (StartExecution), an SNS topic, or an event bus (PutEvents with EventBridgeParameters' DetailType and
  Source, Input as the detail); RetryPolicy.MaximumRetryAttempts (capped by LOCALCLOUD_EVENT_DELIVERY_ATTEMPTS)
  and DeadLetterConfig apply; StartDate, EndDate, ScheduleExpressionTimezone, State and
  ActionAfterCompletion=DELETE are honoured.
- `fire(name)` fires a rule or schedule now (control API POST /_localcloud/schedules/<name>/fire, CLI
  `python -m localcloud schedule fire NAME`) without moving its next occurrence; `upcoming()` lists the next
  firings (`python -m localcloud schedule list`).

Not supported: FlexibleTimeWindow FLEXIBLE fires at the scheduled time (no random delay); universal targets
(arn:aws:scheduler:::aws-sdk:...); Scheduler's KMS encryption of Input.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from ..clock import CLOCK
from ..schedules import Schedule
from . import targets
from .base import Delivery

if TYPE_CHECKING:
    from ..cloud import LocalCloud

log = logging.getLogger("localcloud.scheduler")
MAX_FIRINGS_PER_PASS = 20_000  # a rate(1 minute) schedule and a clock advanced by two weeks


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _date(value: Any) -> datetime | None:
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, (int, float)) or (isinstance(value, str) and value.replace(".", "", 1).isdigit()):
        return datetime.fromtimestamp(float(value), tz=UTC)
    parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@dataclass
class Entry:
    kind: str  # "rule" | "schedule"
    name: str  # rule name, or group/name for a schedule
    arn: str
    model: Any  # moto's Rule or Schedule (replaced when moto replaces it)
    schedule: Schedule
    signature: tuple[Any, ...]
    enabled: bool
    next_fire: datetime | None
    fired: int = 0
    manual: int = 0
    failed: int = 0
    last_fired: str | None = None
    last_error: str | None = None
    history: list[str] = field(default_factory=list)


class SchedulerDelivery(Delivery):
    name = "scheduler"

    def __init__(self, cloud: LocalCloud) -> None:
        super().__init__(cloud)
        self._entries: dict[str, Entry] = {}
        self._lock = threading.RLock()
        CLOCK.on_advance(self._on_advance)

    # -- moto's schedules ------------------------------------------------------------------------------------
    def _models(self) -> list[tuple[str, str, str, Any, Schedule, tuple[Any, ...], bool, float]]:
        from moto.events.models import events_backends
        from moto.scheduler.models import scheduler_backends

        found = []
        for regions in events_backends.values():
            for backend in regions.values():
                for bus in list(backend.event_buses.values()):
                    for rule in list(bus.rules.values()):
                        expression = getattr(rule, "scheduled_expression", None)
                        if not expression:
                            continue
                        created = float(getattr(rule, "localcloud_created", CLOCK.time()))
                        try:
                            schedule = Schedule(expression, anchor=datetime.fromtimestamp(created, tz=UTC))
                        except ValueError as exc:
                            log.warning("rule %s: %s", rule.name, exc)
                            continue
                        signature = (expression,)
                        found.append(("rule", rule.name, rule.arn, rule, schedule, signature, rule.state == "ENABLED", created))
        for regions in scheduler_backends.values():
            for backend in regions.values():
                for group in list(backend.schedule_groups.values()):
                    for item in list(group.schedules.values()):
                        created = float(item.creation_date or CLOCK.time())
                        try:
                            schedule = Schedule(
                                item.schedule_expression,
                                anchor=datetime.fromtimestamp(created, tz=UTC),
                                timezone=item.schedule_expression_timezone or "UTC",
                                start=_date(item.start_date),
                                end=_date(item.end_date),
                            )
                        except ValueError as exc:
                            log.warning("schedule %s: %s", item.name, exc)
                            continue
                        signature = (item.schedule_expression, item.schedule_expression_timezone, item.start_date, item.end_date)
                        name = f"{group.name}/{item.name}"
                        found.append(("schedule", name, item.arn, item, schedule, signature, item.state == "ENABLED", created))
        return found

    def _sync(self, now: datetime) -> None:
        """Entries for every schedule moto holds; new ones count from their creation, changed ones from now."""
        seen = set()
        for kind, name, arn, model, schedule, signature, enabled, _created in self._models():
            seen.add(arn)
            entry = self._entries.get(arn)
            if entry is None:
                self._entries[arn] = Entry(kind, name, arn, model, schedule, signature, enabled, schedule.next_after(schedule.anchor))
                if not enabled:
                    self._entries[arn].next_fire = schedule.next_after(now)
                continue
            entry.model = model
            if entry.signature != signature or entry.enabled != enabled:
                # Reconfigured or re-enabled: the next occurrence after now (a rate restarts its period now).
                entry.schedule = Schedule(
                    schedule.expression, anchor=now, timezone=schedule.timezone, start=schedule.start, end=schedule.end
                )
                entry.signature, entry.enabled = signature, enabled
                entry.next_fire = entry.schedule.next_after(now)
        for arn in list(self._entries):
            if arn not in seen:
                del self._entries[arn]

    # -- firing ----------------------------------------------------------------------------------------------
    def reconcile(self) -> None:
        self.fire_due()

    def _on_advance(self) -> None:
        try:
            self.fire_due()
        except Exception:
            log.exception("firing schedules after a clock advance failed")

    def fire_due(self) -> int:
        """Fire every occurrence due by the clock's now, in time order. Returns how many fired."""
        with self._lock:
            now = CLOCK.now()
            self._sync(now)
            due: list[tuple[datetime, int, Entry]] = []
            for entry in self._entries.values():
                if not entry.enabled:
                    entry.next_fire = entry.schedule.next_after(now)
                    continue
                while entry.next_fire is not None and entry.next_fire <= now and len(due) < MAX_FIRINGS_PER_PASS:
                    due.append((entry.next_fire, len(due), entry))
                    entry.next_fire = entry.schedule.next_after(entry.next_fire)
            if len(due) >= MAX_FIRINGS_PER_PASS:
                log.warning("more than %d schedule occurrences due at once: the rest fire on the next pass", MAX_FIRINGS_PER_PASS)
            due.sort(key=lambda item: (item[0], item[1]))
            for moment, _, entry in due:
                self._fire(entry, moment)
            return len(due)

    def fire(self, name: str) -> dict[str, Any]:
        """Fire a rule or schedule now (its name, group/name or ARN), without moving its next occurrence."""
        with self._lock:
            now = CLOCK.now()
            self._sync(now)
            matches = [e for e in self._entries.values() if name in (e.arn, e.name, e.name.split("/")[-1])]
            if not matches:
                raise KeyError(f"no scheduled rule or schedule named {name!r}")
            if len(matches) > 1:
                raise ValueError(f"{name!r} names {len(matches)} schedules: use group/name or the ARN")
            entry = matches[0]
            moment = now.replace(microsecond=0)
            entry.manual += 1
            event_id = self._fire(entry, moment, manual=True)
            return {"kind": entry.kind, "name": entry.name, "arn": entry.arn, "time": _iso(moment), "id": event_id}

    def _fire(self, entry: Entry, moment: datetime, manual: bool = False) -> str:
        if not manual:
            entry.fired += 1
        entry.last_fired = _iso(moment)
        entry.history.append(entry.last_fired)
        del entry.history[:-20]
        if entry.kind == "rule":
            rule = entry.model
            event = {
                "version": "0",
                "id": str(uuid.uuid4()),
                "detail-type": "Scheduled Event",
                "source": "aws.events",
                "account": rule.account_id,
                "time": _iso(moment),
                "region": rule.region_name,
                "resources": [rule.arn],
                "detail": {},
            }
            self.cloud.events.deliver_to_rule(rule, event)
            return event["id"]
        execution_id = str(uuid.uuid4())
        self.cloud.events.submit(lambda: self._deliver_schedule(entry, moment, execution_id))
        if entry.next_fire is None and not manual and (entry.model.action_after_completion or "") == "DELETE":
            self._delete_schedule(entry)
        return execution_id

    def _deliver_schedule(self, entry: Entry, moment: datetime, execution_id: str) -> None:
        schedule = entry.model
        target = schedule.target or {}
        attempts = max(1, min(int((target.get("RetryPolicy") or {}).get("MaximumRetryAttempts", 185)) + 1, self.cloud.config.event_delivery_attempts))
        error = ""
        for attempt in range(1, attempts + 1):
            payload = self._render(target.get("Input"), schedule.arn, moment, execution_id, attempt)
            try:
                self._send(target, schedule.arn, payload)
                return
            except (targets.DeliveryError, ValueError) as exc:
                error = str(exc)
                time.sleep(min(0.05 * 2**attempt, 1.0))
        entry.failed += 1
        entry.last_error = error
        log.warning("schedule %s: delivery to %s failed: %s", entry.name, target.get("Arn"), error)
        dlq = (target.get("DeadLetterConfig") or {}).get("Arn")
        if dlq:
            try:
                targets.send(
                    self.cloud,
                    dlq,
                    self._render(target.get("Input"), schedule.arn, moment, execution_id, attempts),
                    attributes={
                        "ERROR_CODE": "TargetError",
                        "ERROR_MESSAGE": error[:1000] or "unknown",
                        "EXECUTION_ID": execution_id,
                        "RETRY_ATTEMPTS": str(attempts - 1),
                        "SCHEDULE_ARN": schedule.arn,
                        "TARGET_ARN": target.get("Arn", ""),
                    },
                )
            except targets.DeliveryError as exc:
                log.error("schedule %s: the dead-letter queue %s is unreachable too: %s", entry.name, dlq, exc)

    @staticmethod
    def _render(template: str | None, arn: str, moment: datetime, execution_id: str, attempt: int) -> str:
        text = "{}" if template is None else str(template)
        for placeholder, value in (
            ("<aws.scheduler.schedule-arn>", arn),
            ("<aws.scheduler.scheduled-time>", _iso(moment)),
            ("<aws.scheduler.execution-id>", execution_id),
            ("<aws.scheduler.attempt-number>", str(attempt)),
        ):
            text = text.replace(placeholder, value)
        return text

    def _send(self, target: dict[str, Any], schedule_arn: str, payload: str) -> None:
        arn = target["Arn"]
        parsed = targets.Arn.parse(arn)
        if parsed.service == "scheduler":
            raise targets.DeliveryError(f"universal targets are not supported by the local cloud ({arn})")
        if parsed.service == "events" and parsed.resource_type == "event-bus":
            parameters = target.get("EventBridgeParameters") or {}
            detail = json.loads(payload)
            if not isinstance(detail, dict):
                raise ValueError("an EventBridge target's Input must be a JSON object")
            entry = {
                "Source": parameters.get("Source") or "aws.scheduler",
                "DetailType": parameters.get("DetailType") or "Scheduled Event",
                "Detail": json.dumps(detail),
                "Resources": [schedule_arn],
            }
            self.cloud.events.put(parsed.account, parsed.region, parsed.resource_id, [entry])
            return
        targets.send(self.cloud, arn, payload, group_id=(target.get("SqsParameters") or {}).get("MessageGroupId"))

    def _delete_schedule(self, entry: Entry) -> None:
        from moto.scheduler.models import scheduler_backends

        parts = entry.arn.split(":")
        group, name = entry.name.split("/", 1)
        try:
            scheduler_backends[parts[4]][parts[3]].delete_schedule(group, name)
        except Exception as exc:
            log.warning("schedule %s: ActionAfterCompletion DELETE failed: %s", entry.name, exc)

    # -- what the control API shows --------------------------------------------------------------------------
    def upcoming(self, count: int = 5) -> list[dict[str, Any]]:
        with self._lock:
            self._sync(CLOCK.now())
            rows = []
            for entry in sorted(self._entries.values(), key=lambda e: (e.next_fire is None, e.next_fire or datetime.max.replace(tzinfo=UTC))):
                firings = []
                if entry.next_fire is not None and entry.enabled:
                    firings = [entry.next_fire, *entry.schedule.upcoming(entry.next_fire, count - 1)]
                rows.append(
                    {
                        "kind": entry.kind,
                        "name": entry.name,
                        "arn": entry.arn,
                        "expression": entry.schedule.expression,
                        "timezone": entry.schedule.timezone,
                        "enabled": entry.enabled,
                        "next": [_iso(moment) for moment in firings],
                        "fired": entry.fired,
                        "fired_manually": entry.manual,
                        "failed": entry.failed,
                        "last_fired": entry.last_fired,
                        "last_error": entry.last_error,
                    }
                )
            return rows

    def status(self) -> list[dict[str, Any]]:
        return [
            {
                "kind": "schedule" if row["kind"] == "schedule" else "scheduled-rule",
                "rule": row["name"],
                "expression": row["expression"],
                "next": row["next"][0] if row["next"] else None,
                "fired": row["fired"],
                "fired_manually": row["fired_manually"],
                "failed": row["failed"],
                "last_error": row["last_error"],
            }
            for row in self.upcoming(1)
        ]
