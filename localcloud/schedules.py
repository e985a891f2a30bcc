"""Schedule expressions as EventBridge rules and EventBridge Scheduler read them: `rate(5 minutes)`,
`cron(0 10 ? * MON-FRI *)` (AWS's six fields), and Scheduler's one-time `at(2025-01-01T09:00:00)`.

croniter evaluates the cron fields (ranges, steps, lists, L, W, #, years). What is written here is only what it
does differently from AWS:
- AWS numbers days of the week 1-7 from SUNDAY; croniter 0-6. Numeric day-of-week tokens are shifted.
- AWS writes "last Friday" as `6L`, croniter as `L5`; a bare `L` in the day-of-week field is Saturday (the
  last day of AWS's week), which croniter rejects.
- `?` (no specific value) is AWS-only; one of day-of-month and day-of-week must be `?`, the other is then the
  only day constraint (croniter's `*`).
- croniter fails to find Jan 1 of a given year from a timezone-aware start (CroniterBadDateError for
  `0 0 1 1 * 0 2025`), so it always iterates naive wall-clock times; the zone is applied afterwards.
- croniter's years stop at 2099 (AWS: 2199).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

_RATE = re.compile(r"^rate\(\s*(\d+)\s+(minute|minutes|hour|hours|day|days)\s*\)$")
_CRON = re.compile(r"^cron\((.*)\)$")
_AT = re.compile(r"^at\((\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})\)$")
_DAYS = {"SUN": 1, "MON": 2, "TUE": 3, "WED": 4, "THU": 5, "FRI": 6, "SAT": 7}
_MONTHS = {m: i for i, m in enumerate(["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"], 1)}
_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}


class ScheduleExpressionError(ValueError):
    pass


def _croniter(expression: str, start: datetime | None = None) -> Any:
    # Imported here so a venv without croniter (requirements/dev.txt) still starts; only cron() needs it.
    try:
        from croniter import croniter
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ScheduleExpressionError("cron() schedules need croniter: run `make setup`") from exc
    return croniter(expression) if start is None else croniter(expression, start)


def _aws_day(token: str) -> int:
    token = token.upper()
    if token in _DAYS:
        return _DAYS[token]
    if not token.isdigit() or not 1 <= int(token) <= 7:
        raise ScheduleExpressionError(f"day of week {token!r} is not 1-7 or SUN-SAT")
    return int(token)


def _day_of_week(field: str) -> str:
    """AWS day-of-week (1-7 from SUN, names, L, nL, n#k) as croniter's (0-6 from SUN)."""
    if field == "?":
        return "*"
    if field == "*":
        return "*"
    parts = []
    for item in field.split(","):
        item = item.strip().upper()
        if item == "L":
            parts.append("6")  # the last day of the week: Saturday
        elif item.endswith("L"):
            parts.append(f"L{_aws_day(item[:-1]) - 1}")
        elif "#" in item:
            day, nth = item.split("#", 1)
            if not nth.isdigit() or not 1 <= int(nth) <= 5:
                raise ScheduleExpressionError(f"{item!r}: the n in day#n is 1-5")
            parts.append(f"{_aws_day(day) - 1}#{nth}")
        else:
            step = ""
            if "/" in item:
                item, increment = item.split("/", 1)
                step = f"/{increment}"
            if item == "*":
                parts.append(f"*{step}")
            elif "-" in item:
                low, high = item.split("-", 1)
                parts.append(f"{_aws_day(low) - 1}-{_aws_day(high) - 1}{step}")
            else:
                start = _aws_day(item) - 1
                parts.append(f"{start}-6{step}" if step else str(start))
    return ",".join(parts)


def _month(field: str) -> str:
    return re.sub(r"[A-Za-z]{3}", lambda m: str(_MONTHS.get(m.group(0).upper(), m.group(0))), field)


def croniter_expression(aws_cron: str) -> str:
    """AWS's `min hour dom month dow year` as croniter's `min hour dom month dow second year`."""
    fields = aws_cron.split()
    if len(fields) != 6:
        raise ScheduleExpressionError(f"cron({aws_cron}) needs 6 fields (minutes hours day-of-month month day-of-week year)")
    minute, hour, dom, month, dow, year = fields
    if (dom == "?") == (dow == "?"):
        raise ScheduleExpressionError(f"cron({aws_cron}): exactly one of day-of-month and day-of-week must be '?'")
    if dom.upper() == "LW":
        raise ScheduleExpressionError(f"cron({aws_cron}): LW is not supported")
    return " ".join([minute, hour, "*" if dom == "?" else dom.upper(), _month(month), _day_of_week(dow), "0", year])


@dataclass(frozen=True)
class Schedule:
    """When a schedule fires. `anchor` is when it was created (the start of a rate's period)."""

    expression: str
    anchor: datetime
    timezone: str = "UTC"
    start: datetime | None = None
    end: datetime | None = None

    def __post_init__(self) -> None:
        self.kind  # noqa: B018 - validates the expression

    @property
    def kind(self) -> str:
        text = self.expression.strip()
        if _RATE.match(text):
            return "rate"
        if (match := _CRON.match(text)) is not None:
            _croniter(croniter_expression(match.group(1)))  # raises on a bad expression
            return "cron"
        if _AT.match(text):
            return "at"
        raise ScheduleExpressionError(f"not a schedule expression: {self.expression!r}")

    def next_after(self, moment: datetime) -> datetime | None:
        """The first firing strictly after `moment` (UTC), or None when there is none (end date, one-time)."""
        moment = moment.astimezone(UTC)
        if self.start is not None and moment < self.start:
            moment = self.start - timedelta(microseconds=1)
        found = self._next(moment)
        if found is None or (self.end is not None and found > self.end):
            return None
        return found

    def _next(self, moment: datetime) -> datetime | None:
        text = self.expression.strip()
        zone = ZoneInfo(self.timezone or "UTC")
        if (match := _RATE.match(text)) is not None:
            period = int(match.group(1)) * _UNIT_SECONDS[match.group(2).rstrip("s")]
            if period <= 0:
                raise ScheduleExpressionError("a rate must be positive")
            anchor = self.start or self.anchor
            elapsed = (moment - anchor).total_seconds()
            count = max(1 if self.start is None else 0, int(elapsed // period) + 1)
            return anchor + timedelta(seconds=count * period)
        if (match := _AT.match(text)) is not None:
            local = datetime.fromisoformat(match.group(1)).replace(tzinfo=zone).astimezone(UTC)
            return local if local > moment else None
        match = _CRON.match(text)
        assert match is not None
        local_now = moment.astimezone(zone).replace(tzinfo=None)
        iterator = _croniter(croniter_expression(match.group(1)), local_now)
        try:
            found = iterator.get_next(datetime)
        except Exception:  # CroniterBadDateError: no further match (a year range in the past)
            return None
        return found.replace(tzinfo=zone).astimezone(UTC)

    def upcoming(self, after: datetime, count: int) -> list[datetime]:
        out: list[datetime] = []
        moment: datetime | None = after
        while moment is not None and len(out) < count:
            moment = self.next_after(moment)
            if moment is not None:
                out.append(moment)
        return out
