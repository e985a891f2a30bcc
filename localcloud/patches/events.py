"""EventBridge: PutEvents validates like AWS and hands events to the local cloud's asynchronous dispatcher; event
patterns are validated and matched by localcloud.patterns (PutRule refuses what AWS refuses, with its reason);
TestEventPattern answers {"Result": true|false} (moto's server answers with an empty body); replays run in the
background like AWS's: only the archived events of the window, in time order, through the local cloud's
delivery (every target kind, retries, DLQs), to the bus's rules or Destination.FilterArns, with
EventLastReplayedTime as progress (moto replays the whole archive inside StartReplay, through its own delivery,
which fails for Lambda targets)."""

from __future__ import annotations

import copy
import json
import threading
import uuid
from datetime import UTC, datetime
from typing import Any

from . import current

# TestEventPattern: "the following fields are mandatory" (API reference).
_TEST_EVENT_FIELDS = ("id", "account", "source", "time", "region", "detail-type")


def install() -> None:
    from moto.events import models, responses

    from .. import patterns
    from ..delivery.eventbridge import validate_entry

    def put_events(self: Any, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if len(events) > 10:
            raise models.ValidationException(
                "1 validation error detected: Value '[PutEventsRequestEntry]' at 'entries' failed to satisfy "
                "constraint: Member must have length less than or equal to 10"
            )
        results: list[dict[str, Any]] = []
        for entry in events:
            error = validate_entry(entry)
            if error is not None:
                results.append(error)
                continue
            try:
                event_id = current.events.put(self.account_id, self.region_name, entry.get("EventBusName"), [entry])[0]
            except Exception as exc:  # unknown bus
                results.append({"ErrorCode": "ResourceNotFoundException", "ErrorMessage": str(exc)})
                continue
            results.append({"EventId": event_id})
        return results

    models.EventsBackend.put_events = put_events

    # -- patterns: one matcher for rules, archives, filters and TestEventPattern --------------------------------
    original_load = models.EventPattern.load.__func__  # type: ignore[attr-defined]

    def load(cls: Any, raw_pattern: str | None) -> Any:
        if raw_pattern:
            try:
                patterns.compile(raw_pattern)
            except patterns.PatternError as exc:
                raise models.InvalidEventPatternException(reason=exc.reason) from None
        return original_load(cls, raw_pattern)

    def matches_event(self: Any, event: Any) -> bool:
        if not self._raw_pattern:
            return True
        return patterns.compile(self._raw_pattern).matches(event)

    models.EventPattern.load = classmethod(load)
    models.EventPattern.matches_event = matches_event

    def test_event_pattern(self: Any) -> tuple[str, dict[str, Any]]:
        raw_pattern = self._get_param("EventPattern")
        raw_event = self._get_param("Event")
        try:
            pattern = patterns.compile(raw_pattern or "")
        except patterns.PatternError as exc:
            return self.error("InvalidEventPatternException", f"Event pattern is not valid. Reason: {exc.reason}")
        try:
            event = patterns.loads(raw_event or "")
        except ValueError:
            return self.error("ValidationException", "Parameter Event is not valid.")
        if not isinstance(event, dict) or any(field not in event for field in _TEST_EVENT_FIELDS):
            return self.error("ValidationException", "Parameter Event is not valid.")
        return json.dumps({"Result": pattern.matches(event)}), self.response_headers

    responses.EventsHandler.test_event_pattern = test_event_pattern
    install_replays()


def _epoch(value: Any) -> float:
    """A replay window bound or an event's `time` as epoch seconds (JSON numbers, datetimes or ISO 8601)."""
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).timestamp()
    if isinstance(value, (int, float)):
        return float(value)
    text = str(value)
    try:
        return float(text)
    except ValueError:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
        return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).timestamp()


def install_replays() -> None:
    from moto.core.utils import unix_time
    from moto.events import models

    state = models.ReplayState

    def replay_events(self: Any, archive: Any) -> None:
        def run() -> None:
            self.state = state.RUNNING
            try:
                start, end = _epoch(self.event_start_time), _epoch(self.event_end_time)
                bus_name = self.destination["Arn"].split("/")[-1]
                only = list(self.destination.get("FilterArns") or []) or None
                window = []
                for event in list(archive.events):
                    try:
                        at = _epoch(event.get("time"))
                    except (TypeError, ValueError):
                        continue
                    if start <= at <= end:
                        window.append((at, event))
                window.sort(key=lambda item: item[0])
                for at, event in window:
                    if self.state in (state.CANCELLING, state.CANCELLED):
                        self.state = state.CANCELLED
                        break
                    replayed = {**copy.deepcopy(event), "id": str(uuid.uuid4()), "replay-name": self.name}
                    current.events.replay(self.account_id, self.region, bus_name, replayed, only)
                    self.event_last_replayed_time = at
                else:
                    self.state = state.COMPLETED
            except Exception as exc:  # reported by DescribeReplay, as AWS does
                self.state = state.FAILED
                self.state_reason = str(exc)[:500]
            self.end_time = unix_time()

        self.event_last_replayed_time = None
        self.state_reason = None
        threading.Thread(target=run, name=f"events-replay-{self.name}", daemon=True).start()

    original_describe_short = models.Replay.describe_short

    def describe_short(self: Any) -> dict[str, Any]:
        result = original_describe_short(self)
        if getattr(self, "event_last_replayed_time", None) is not None:
            result["EventLastReplayedTime"] = self.event_last_replayed_time
        if getattr(self, "state_reason", None):
            result["StateReason"] = self.state_reason
        return {k: v for k, v in result.items() if v is not None}

    models.Replay.replay_events = replay_events
    models.Replay.describe_short = describe_short
