"""Environment read once into a frozen, validated settings object.

A function declares its settings as a frozen, keyword-only dataclass whose fields name their environment
variable with ``env(...)``, usually extending ``BaseSettings`` (the variables every function gets from the
lambda_function Terraform module)::

    @dataclass(frozen=True, kw_only=True)
    class IngestSettings(BaseSettings):
        output_bucket: str = env("OUTPUT_BUCKET")
        max_object_bytes: int = env("MAX_OBJECT_BYTES", default=1_048_576, parse=positive_int)

    settings = load_settings(IngestSettings)   # read once per process, then cached

Every problem is reported at once, naming the variables, e.g.
``IngestSettings: missing required environment variable(s): DLQ_URL, OUTPUT_BUCKET``.
"""

from __future__ import annotations

import dataclasses
import functools
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

__all__ = [
    "BaseSettings",
    "SettingsError",
    "env",
    "load_settings",
    "non_empty",
    "positive_int",
    "read_settings",
]

T = TypeVar("T")

_ENV = "sluice.env"
_PARSE = "sluice.parse"


class SettingsError(RuntimeError):
    """The environment does not describe a valid configuration (missing or malformed variables)."""


def non_empty(raw: str) -> str:
    value = raw.strip()
    if not value:
        raise ValueError("must not be empty")
    return value


def positive_int(raw: str) -> int:
    try:
        value = int(raw.strip())
    except ValueError:
        raise ValueError(f"must be an integer, got {raw!r}") from None
    if value <= 0:
        raise ValueError(f"must be > 0, got {value}")
    return value


def env(
    name: str,
    *,
    default: Any = dataclasses.MISSING,
    parse: Callable[[str], Any] = non_empty,
) -> Any:
    """A settings field read from the environment variable ``name`` (required unless it has a default)."""
    return dataclasses.field(default=default, metadata={_ENV: name, _PARSE: parse})


@dataclass(frozen=True, kw_only=True)
class BaseSettings:
    """Variables every sluice function receives (docs/architecture.md, "Runtime contract for functions")."""

    environment: str = env("SLUICE_ENV")
    service_name: str = env("POWERTOOLS_SERVICE_NAME")
    metrics_namespace: str = env("POWERTOOLS_METRICS_NAMESPACE")
    failures_table: str = env("FAILURES_TABLE")
    # Only functions that use Powertools idempotency (sluice.idempotency) get the table, and its permissions.
    idempotency_table: str | None = env("IDEMPOTENCY_TABLE", default=None)


def read_settings(cls: type[T], environ: Mapping[str, str] | None = None) -> T:
    """Build ``cls`` from ``environ`` (default ``os.environ``) without caching; raises SettingsError."""
    if not dataclasses.is_dataclass(cls):
        raise TypeError(f"{cls!r} is not a dataclass")
    environ = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    missing: list[str] = []
    invalid: list[str] = []
    for field in dataclasses.fields(cls):
        var = field.metadata.get(_ENV)
        if var is None:
            continue
        raw = environ.get(var)
        if raw is None or not raw.strip():
            if field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING:
                missing.append(var)
            continue
        try:
            values[field.name] = field.metadata[_PARSE](raw)
        except ValueError as exc:
            invalid.append(f"{var} ({exc})")
    problems = []
    if missing:
        problems.append("missing required environment variable(s): " + ", ".join(sorted(missing)))
    if invalid:
        problems.append("invalid environment variable(s): " + "; ".join(invalid))
    if problems:
        raise SettingsError(f"{cls.__name__}: " + "; ".join(problems))
    return cls(**values)


@functools.cache
def load_settings(cls: type[T]) -> T:
    """Read the environment once per process into ``cls`` (cached). Tests call ``load_settings.cache_clear()``."""
    return read_settings(cls)
