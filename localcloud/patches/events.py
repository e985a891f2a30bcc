"""EventBridge: PutEvents validates like AWS and hands events to the local cloud's asynchronous dispatcher; event
patterns are validated and matched by localcloud.patterns (PutRule refuses what AWS refuses, with its reason);
TestEventPattern answers {"Result": true|false} (moto's server answers with an empty body)."""

from __future__ import annotations

import json
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
