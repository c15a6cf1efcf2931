"""The review period: a closed-open UTC interval ``[start, end)``.

Accepted forms: ``2026-Q3``, ``2026-07``, ``2026`` and ``2026-07-01..2026-09-30`` (both
dates inclusive as a person writes them; stored as ``[2026-07-01, 2026-10-01)``), in ASCII digits
only: the label becomes a folder name, and ``２０２６-Q3`` must not become a second ``2026-Q3``.
A run refuses a period longer than :data:`MAX_MONTHS` unless asked for one (:func:`assert_period_length`).
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

MAX_MONTHS = 13  # a Type II period is 3 to 12 months; a little slack for a period that ends late
_FORMS = re.IGNORECASE | re.ASCII  # \d is 0-9 only, never another script's digits


class PeriodError(ValueError):
    pass


@dataclass(frozen=True)
class Period:
    label: str
    start: datetime
    end: datetime

    @property
    def days(self) -> int:
        return (self.end - self.start).days

    @property
    def last_day(self) -> date:
        return (self.end - timedelta(days=1)).date()

    @property
    def slug(self) -> str:
        """Folder-safe label: ``2026-Q3``, ``2026-07-01_2026-09-30``."""
        return self.label.replace("..", "_")

    def contains(self, ts: datetime) -> bool:
        return self.start <= ts < self.end

    def describe(self) -> str:
        return f"{self.label}: {in_words(self.start, self.end)}"

    def to_dict(self) -> dict[str, str]:
        return {"label": self.label, "start": self.start.isoformat(), "end": self.end.isoformat()}


def in_words(start: datetime | str, end: datetime | str) -> str:
    """As a SOC 2 report writes a period: "1 July 2026 to 30 September 2026" (whole UTC days, the end's day the
    last; the interval is closed-open, [start, end))."""
    begins, ends = datetime.fromisoformat(str(start)), datetime.fromisoformat(str(end))
    if any((t.hour, t.minute, t.second, t.microsecond) != (0, 0, 0, 0) for t in (begins, ends)):
        return f"{begins:%Y-%m-%d %H:%M} to {ends:%Y-%m-%d %H:%M} UTC (the end excluded)"
    first, last = begins.date(), (ends - timedelta(days=1)).date()
    return f"{first.day} {first:%B %Y} to {last.day} {last:%B %Y} (UTC)"


def _utc(d: date) -> datetime:
    return datetime(d.year, d.month, d.day, tzinfo=UTC)


def _month_start(year: int, month: int) -> date:
    return date(year + (month - 1) // 12, (month - 1) % 12 + 1, 1)


def parse_period(text: str) -> Period:
    """Parse a period; raise :class:`PeriodError` with a message naming the problem."""
    raw = str(text).strip()
    try:
        if m := re.fullmatch(r"(\d{4})-Q([1-4])", raw, _FORMS):
            year, quarter = int(m[1]), int(m[2])
            start = date(year, 3 * quarter - 2, 1)
            return Period(f"{year}-Q{quarter}", _utc(start), _utc(_month_start(year, 3 * quarter + 1)))
        if m := re.fullmatch(r"(\d{4})-(\d{2})", raw, _FORMS):
            year, month = int(m[1]), int(m[2])
            start = date(year, month, 1)
            return Period(raw, _utc(start), _utc(_month_start(year, month + 1)))
        if re.fullmatch(r"\d{4}", raw, _FORMS):
            year = int(raw)
            return Period(raw, _utc(date(year, 1, 1)), _utc(date(year + 1, 1, 1)))
        if m := re.fullmatch(r"(\d{4}-\d{2}-\d{2})\.\.(\d{4}-\d{2}-\d{2})", raw, _FORMS):
            first, last = date.fromisoformat(m[1]), date.fromisoformat(m[2])
            if last < first:
                raise PeriodError(f"period {raw!r}: end {last} is before start {first}")
            return Period(raw, _utc(first), _utc(last + timedelta(days=1)))
    except ValueError as exc:
        if isinstance(exc, PeriodError):
            raise
        raise PeriodError(f"period {raw!r}: {exc}") from None
    raise PeriodError(
        f"period {raw!r} is not one of YYYY-Qn, YYYY-MM, YYYY or YYYY-MM-DD..YYYY-MM-DD (ASCII digits)"
    )


def assert_period_closed(period: Period, now: datetime) -> None:
    """A Type II period is tested after it ends; a period still running is refused."""
    if period.end > now:
        raise PeriodError(f"period {period.label} has not ended yet (ends {period.end:%Y-%m-%d})")


def _months_after(start: datetime, months: int) -> datetime:
    """The same day ``months`` later (the month's last day when it is shorter)."""
    index = start.month - 1 + months
    year, month = start.year + index // 12, index % 12 + 1
    return start.replace(year=year, month=month, day=min(start.day, calendar.monthrange(year, month)[1]))


def assert_period_length(period: Period, allow_long: bool = False) -> None:
    """A period of decades is a typo that would run for minutes: refused unless asked for (``--allow-long-period``)."""
    if allow_long or period.end <= _months_after(period.start, MAX_MONTHS):
        return
    raise PeriodError(f"period {period.label} is {period.days} days long, more than {MAX_MONTHS} months: "
                      "give --allow-long-period to run it anyway")
