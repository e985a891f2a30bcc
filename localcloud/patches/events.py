"""EventBridge: PutEvents validates like AWS and hands events to the local cloud's asynchronous dispatcher."""

from __future__ import annotations

from typing import Any

from . import current


def install() -> None:
    from moto.events import models

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
