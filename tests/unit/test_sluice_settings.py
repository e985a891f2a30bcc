"""sluice.settings: environment read once into a frozen, validated object."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import pytest
from sluice.settings import BaseSettings, SettingsError, env, load_settings, positive_int, read_settings

BASE = {
    "SLUICE_ENV": "test",
    "POWERTOOLS_SERVICE_NAME": "svc",
    "POWERTOOLS_METRICS_NAMESPACE": "Sluice",
    "IDEMPOTENCY_TABLE": "idem",
    "FAILURES_TABLE": "failures",
}


@dataclass(frozen=True, kw_only=True)
class ExampleSettings(BaseSettings):
    output_bucket: str = env("OUTPUT_BUCKET")
    limit: int = env("LIMIT", default=10, parse=positive_int)


def test_reads_every_field_from_its_variable() -> None:
    settings = read_settings(ExampleSettings, {**BASE, "OUTPUT_BUCKET": " out ", "LIMIT": "5"})
    assert settings == ExampleSettings(
        environment="test",
        service_name="svc",
        metrics_namespace="Sluice",
        idempotency_table="idem",
        failures_table="failures",
        output_bucket="out",
        limit=5,
    )


def test_defaults_apply_when_unset_or_blank() -> None:
    assert read_settings(ExampleSettings, {**BASE, "OUTPUT_BUCKET": "out"}).limit == 10
    assert read_settings(ExampleSettings, {**BASE, "OUTPUT_BUCKET": "out", "LIMIT": "  "}).limit == 10


def test_missing_variables_are_all_named_in_one_error() -> None:
    environ = {k: v for k, v in BASE.items() if k != "FAILURES_TABLE"}
    with pytest.raises(SettingsError) as info:
        read_settings(ExampleSettings, {**environ, "OUTPUT_BUCKET": ""})
    message = str(info.value)
    assert message.startswith("ExampleSettings: missing required environment variable(s): ")
    assert "FAILURES_TABLE, OUTPUT_BUCKET" in message


@pytest.mark.parametrize("raw", ["abc", "0", "-3", "1.5"])
def test_invalid_values_name_the_variable_and_the_problem(raw: str) -> None:
    with pytest.raises(SettingsError, match=r"invalid environment variable\(s\): LIMIT \(must be"):
        read_settings(ExampleSettings, {**BASE, "OUTPUT_BUCKET": "out", "LIMIT": raw})


def test_settings_are_frozen() -> None:
    settings = read_settings(ExampleSettings, {**BASE, "OUTPUT_BUCKET": "out"})
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.output_bucket = "other"  # type: ignore[misc]


def test_load_settings_reads_the_environment_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OUTPUT_BUCKET", "first")
    first = load_settings(ExampleSettings)
    monkeypatch.setenv("OUTPUT_BUCKET", "second")
    assert load_settings(ExampleSettings) is first
    load_settings.cache_clear()
    assert load_settings(ExampleSettings).output_bucket == "second"


def test_non_dataclass_is_rejected() -> None:
    with pytest.raises(TypeError):
        read_settings(dict, {})
