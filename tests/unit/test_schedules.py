"""Schedule expressions with the examples AWS documents for EventBridge rules and Scheduler."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from localcloud.schedules import Schedule, ScheduleExpressionError, croniter_expression

SATURDAY = datetime(2024, 6, 1, 0, 0, tzinfo=UTC)  # 2024-06-01 is a Saturday


def fires(expression: str, count: int = 4, after: datetime = SATURDAY, **kwargs) -> list[str]:
    schedule = Schedule(expression, anchor=after, **kwargs)
    return [moment.strftime("%a %Y-%m-%d %H:%M") for moment in schedule.upcoming(after, count)]


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        # https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-scheduled-rule-pattern.html#eb-cron-expressions
        ("cron(0 10 * * ? *)", ["Sat 2024-06-01 10:00", "Sun 2024-06-02 10:00", "Mon 2024-06-03 10:00"]),
        ("cron(15 12 * * ? *)", ["Sat 2024-06-01 12:15", "Sun 2024-06-02 12:15", "Mon 2024-06-03 12:15"]),
        (
            "cron(0 18 ? * MON-FRI *)",
            ["Mon 2024-06-03 18:00", "Tue 2024-06-04 18:00", "Wed 2024-06-05 18:00"],
        ),
        ("cron(0 8 1 * ? *)", ["Sat 2024-06-01 08:00", "Mon 2024-07-01 08:00", "Thu 2024-08-01 08:00"]),
        ("cron(0/15 * * * ? *)", ["Sat 2024-06-01 00:15", "Sat 2024-06-01 00:30", "Sat 2024-06-01 00:45"]),
        (
            "cron(0/10 * ? * MON-FRI *)",
            ["Mon 2024-06-03 00:00", "Mon 2024-06-03 00:10", "Mon 2024-06-03 00:20"],
        ),
        (
            "cron(0/5 8-17 ? * MON-FRI *)",
            ["Mon 2024-06-03 08:00", "Mon 2024-06-03 08:05", "Mon 2024-06-03 08:10"],
        ),
        ("cron(0 9 ? * 2#1 *)", ["Mon 2024-06-03 09:00", "Mon 2024-07-01 09:00", "Mon 2024-08-05 09:00"]),
        # numeric days: 1 = SUN ... 7 = SAT
        ("cron(0 12 ? * 1 *)", ["Sun 2024-06-02 12:00", "Sun 2024-06-09 12:00", "Sun 2024-06-16 12:00"]),
        ("cron(0 12 ? * 2-6 *)", ["Mon 2024-06-03 12:00", "Tue 2024-06-04 12:00", "Wed 2024-06-05 12:00"]),
        ("cron(0 12 ? * 7 *)", ["Sat 2024-06-01 12:00", "Sat 2024-06-08 12:00", "Sat 2024-06-15 12:00"]),
        # L, W, #
        ("cron(0 0 L * ? *)", ["Sun 2024-06-30 00:00", "Wed 2024-07-31 00:00", "Sat 2024-08-31 00:00"]),
        ("cron(0 0 ? * 6L *)", ["Fri 2024-06-28 00:00", "Fri 2024-07-26 00:00", "Fri 2024-08-30 00:00"]),
        ("cron(0 0 ? * FRIL *)", ["Fri 2024-06-28 00:00", "Fri 2024-07-26 00:00", "Fri 2024-08-30 00:00"]),
        ("cron(0 0 ? * L *)", ["Sat 2024-06-08 00:00", "Sat 2024-06-15 00:00", "Sat 2024-06-22 00:00"]),
        ("cron(0 0 3W * ? *)", ["Mon 2024-06-03 00:00", "Wed 2024-07-03 00:00", "Fri 2024-08-02 00:00"]),
        ("cron(0 0 15W * ? *)", ["Fri 2024-06-14 00:00", "Mon 2024-07-15 00:00", "Thu 2024-08-15 00:00"]),
        ("cron(0 9 ? * MON#3 *)", ["Mon 2024-06-17 09:00", "Mon 2024-07-15 09:00", "Mon 2024-08-19 09:00"]),
        # months by name, years
        ("cron(0 0 1 JAN,JUL ? *)", ["Mon 2024-07-01 00:00", "Wed 2025-01-01 00:00", "Tue 2025-07-01 00:00"]),
        ("cron(0 0 1 1 ? 2025-2026)", ["Wed 2025-01-01 00:00", "Thu 2026-01-01 00:00"]),
        # the daily-at-midnight schedule of a batch job
        ("cron(5 0 * * ? *)", ["Sat 2024-06-01 00:05", "Sun 2024-06-02 00:05", "Mon 2024-06-03 00:05"]),
    ],
)
def test_aws_cron_examples(expression, expected):
    assert fires(expression, count=len(expected) + 1)[: len(expected)] == expected


def test_a_year_range_in_the_past_never_fires_again():
    assert fires("cron(0 0 1 1 ? 2025-2026)", count=5) == ["Wed 2025-01-01 00:00", "Thu 2026-01-01 00:00"]


def test_rate_counts_from_creation():
    created = datetime(2024, 6, 1, 0, 0, 30, tzinfo=UTC)
    assert fires("rate(5 minutes)", 3, after=created) == [
        "Sat 2024-06-01 00:05",
        "Sat 2024-06-01 00:10",
        "Sat 2024-06-01 00:15",
    ]
    assert fires("rate(1 hour)", 2, after=created) == ["Sat 2024-06-01 01:00", "Sat 2024-06-01 02:00"]
    assert fires("rate(1 day)", 2, after=created) == ["Sun 2024-06-02 00:00", "Mon 2024-06-03 00:00"]
    schedule = Schedule("rate(5 minutes)", anchor=created)
    assert schedule.next_after(datetime(2024, 6, 1, 0, 5, 30, tzinfo=UTC)) == datetime(
        2024, 6, 1, 0, 10, 30, tzinfo=UTC
    )


def test_start_end_dates_and_one_time_schedules():
    start = datetime(2024, 6, 3, 0, 0, tzinfo=UTC)
    end = datetime(2024, 6, 5, 12, 0, tzinfo=UTC)
    assert fires("cron(0 10 * * ? *)", 5, start=start, end=end) == [
        "Mon 2024-06-03 10:00",
        "Tue 2024-06-04 10:00",
        "Wed 2024-06-05 10:00",
    ]
    assert fires("rate(1 day)", 2, start=start) == ["Mon 2024-06-03 00:00", "Tue 2024-06-04 00:00"]
    assert fires("at(2024-06-02T09:30:00)", 3) == ["Sun 2024-06-02 09:30"]
    assert fires("at(2024-05-02T09:30:00)", 3) == []


def test_timezones_apply_to_cron_and_at():
    # 09:00 in Paris is 07:00 UTC in summer (CEST) and 08:00 UTC in winter (CET).
    assert fires("cron(0 9 * * ? *)", 1, timezone="Europe/Paris") == ["Sat 2024-06-01 07:00"]
    winter = datetime(2024, 12, 1, tzinfo=UTC)
    assert fires("cron(0 9 * * ? *)", 1, after=winter, timezone="Europe/Paris") == ["Sun 2024-12-01 08:00"]
    assert fires("at(2024-06-02T09:30:00)", 1, timezone="America/New_York") == ["Sun 2024-06-02 13:30"]


@pytest.mark.parametrize(
    "expression",
    [
        "cron(0 10 * * * *)",
        "cron(0 10 ? * ? *)",
        "cron(0 10 * *)",
        "cron(0 10 ? * 8 *)",
        "cron(0 10 LW * ? *)",
        "every day",
        "rate(five minutes)",
        "cron(0 10 ? * 2#6 *)",
    ],
)
def test_invalid_expressions_are_rejected(expression):
    with pytest.raises((ScheduleExpressionError, ValueError)):
        Schedule(expression, anchor=SATURDAY)


def test_translation_to_croniter_fields():
    assert croniter_expression("0 18 ? * MON-FRI *") == "0 18 * * 1-5 0 *"
    assert croniter_expression("0 0 ? * 6L *") == "0 0 * * L5 0 *"
    assert croniter_expression("0 9 ? * 2#1 *") == "0 9 * * 1#1 0 *"
    assert croniter_expression("0 0 L * ? *") == "0 0 L * * 0 *"
