"""Test-session wiring shared by unit and end-to-end tests."""

from __future__ import annotations

from pathlib import Path

import pytest

E2E = Path(__file__).parent / "e2e"
CLOCK_SENSITIVE = {"test_daily_report.py"}


@pytest.hookimpl(tryfirst=True)  # before xdist reads the group markers
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # End-to-end tests share one local cloud per worker: keep them on one xdist worker (--dist loadgroup), so
    # unit tests run beside them on the other core instead of a second cloud and a second terraform apply.
    for item in items:
        if E2E in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.e2e)
            item.add_marker(pytest.mark.xdist_group("localcloud"))
    # The session's local cloud has one clock, which tests move forward (visibility timeouts, schedules) and never
    # back, while functions stamp their work with the host's time. Tests that compare the two (the daily report
    # fires on the clock for the day the host stamped) run first, before any test has moved the clock.
    items.sort(key=lambda item: Path(str(item.fspath)).name not in CLOCK_SENSITIVE)
