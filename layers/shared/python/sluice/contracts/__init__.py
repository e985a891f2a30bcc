"""Data contracts: JSON Schemas shipped with the layer as package data, and ``validate(name, data)``.

A contract named ``order`` lives in ``sluice/contracts/order.schema.json``. Schemas are compiled with
fastjsonschema (the engine behind Powertools' validation utility) once per process and cached: Powertools'
``validate()`` compiles the schema on every call, which costs milliseconds per record.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable
from importlib import resources
from typing import Any

import fastjsonschema

from ..errors import SchemaViolation

__all__ = ["available", "load_schema", "validate"]

_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_SUFFIX = ".schema.json"


def available() -> list[str]:
    """Names of the contracts shipped with the layer."""
    return sorted(
        entry.name.removesuffix(_SUFFIX)
        for entry in resources.files(__name__).iterdir()
        if entry.name.endswith(_SUFFIX)
    )


@functools.cache
def load_schema(name: str) -> dict[str, Any]:
    """The JSON Schema of contract ``name`` (LookupError if there is none)."""
    if not _NAME.match(name):
        raise LookupError(f"invalid contract name {name!r}")
    resource = resources.files(__name__).joinpath(name + _SUFFIX)
    if not resource.is_file():
        raise LookupError(f"no contract named {name!r}; available: {', '.join(available())}")
    return json.loads(resource.read_text(encoding="utf-8"))


@functools.cache
def _validator(name: str) -> Callable[[Any], Any]:
    return fastjsonschema.compile(load_schema(name))


def validate(name: str, data: Any) -> Any:
    """Validate ``data`` against contract ``name``; raise SchemaViolation with the validator's message.

    Returns the data (fastjsonschema fills schema defaults in, when a schema declares any).
    """
    try:
        return _validator(name)(data)
    except fastjsonschema.JsonSchemaValueException as exc:
        raise SchemaViolation(f"{name}: {exc.message}") from None
