"""Error taxonomy shared by every pipeline.

``PermanentError``: the input can never succeed (bad event, bad JSON, schema violation, too large, ...). The
batch helper records a failure (failures table, with the reason) and dead-letters the message directly; it is
never retried. Every other exception is *transient*: the record is reported as a batch item failure, the event
source retries it and, after ``maxReceiveCount``, the queue's redrive policy moves it to the DLQ.

A permanent error carries a short machine ``code`` (stable: dashboards, alarms and DLQ tooling key on it), a
human ``reason`` and the ``stage`` that raised it. ``item_id``/``source`` identify the failed input in the
failures table; they are usually bound by the caller once known (see ``failure_subject``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

__all__ = [
    "EmptyObject",
    "InvalidEncoding",
    "InvalidEvent",
    "InvalidJson",
    "ObjectNotFound",
    "ObjectTooLarge",
    "OutputConflict",
    "PermanentError",
    "SchemaViolation",
    "failure_subject",
]


class PermanentError(Exception):
    """The input can never succeed: record it, dead-letter it, never retry it."""

    code: str = "permanent_error"
    stage: str = "process"

    def __init__(
        self,
        reason: str,
        *,
        code: str | None = None,
        stage: str | None = None,
        item_id: str | None = None,
        source: str | None = None,
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        if code is not None:
            self.code = code
        if stage is not None:
            self.stage = stage
        self.item_id = item_id
        self.source = source

    def __str__(self) -> str:
        return f"{self.code}: {self.reason}"


class InvalidEvent(PermanentError):
    """The event (e.g. an SQS body) does not have the shape the function consumes."""

    code = "invalid_event"
    stage = "event"


class ObjectNotFound(PermanentError):
    """The object (or the version) named by the event does not exist."""

    code = "object_not_found"
    stage = "fetch"


class ObjectTooLarge(PermanentError):
    code = "object_too_large"
    stage = "fetch"


class EmptyObject(PermanentError):
    code = "empty_object"
    stage = "decode"


class InvalidEncoding(PermanentError):
    """The bytes are not valid UTF-8 text."""

    code = "invalid_encoding"
    stage = "decode"


class InvalidJson(PermanentError):
    code = "invalid_json"
    stage = "parse"


class SchemaViolation(PermanentError):
    """Valid JSON that breaks the data contract (JSON Schema or a rule the schema cannot express)."""

    code = "schema_violation"
    stage = "validate"


class OutputConflict(PermanentError):
    """The output for this input already exists and was produced from different content."""

    code = "output_conflict"
    stage = "write"


@contextmanager
def failure_subject(*, item_id: str, source: str) -> Iterator[None]:
    """Bind ``item_id``/``source`` to any PermanentError raised inside the block (unless already bound)."""
    try:
        yield
    except PermanentError as err:
        if err.item_id is None:
            err.item_id = item_id
        if err.source is None:
            err.source = source
        raise
