"""Business days as the organization counts them: Monday to Friday, less its public holidays.

A leaver's access must go within N business days of termination; a removal the day after a public holiday is
on time. The holidays come from the ``holidays`` package (a country and, optionally, a subdivision) and/or
explicit dates in params (``business_calendar``); the report states the calendar used.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from importlib.metadata import version
from typing import Any

import holidays as holidays_package
import pandas as pd


class CalendarError(ValueError):
    """A business calendar params cannot name (an unknown country or subdivision)."""


@dataclass(frozen=True)
class BusinessCalendar:
    country: str = ""
    subdivision: str = ""
    dates: tuple[date, ...] = field(default_factory=tuple)  # holidays params name besides the country's

    @classmethod
    def from_params(cls, params: dict[str, Any] | None) -> BusinessCalendar:
        p = params or {}
        calendar = cls(str(p.get("country") or ""), str(p.get("subdivision") or ""),
                       tuple(sorted(pd.Timestamp(d).date() for d in p.get("dates") or [])))
        calendar.holidays(2000, 2000)  # an unknown country or subdivision is refused when params are read
        return calendar

    def holidays(self, first_year: int, last_year: int) -> list[date]:
        """Every holiday of the years ``first_year``..``last_year`` (weekends are not listed: never business)."""
        days = {d for d in self.dates if first_year <= d.year <= last_year}
        if self.country:
            try:
                found = holidays_package.country_holidays(self.country, subdiv=self.subdivision or None,
                                                          years=range(first_year, last_year + 1))
            except NotImplementedError as exc:
                raise CalendarError(f"business_calendar: {exc}") from exc
            days |= set(found)
        return sorted(days)

    def describe(self) -> str:
        parts = ["Monday to Friday"]
        if self.country:
            where = f"{self.country}-{self.subdivision}" if self.subdivision else self.country
            parts.append(f"less the public holidays of {where} (holidays {version('holidays')})")
        if self.dates:
            parts.append(f"{'and' if self.country else 'less'} {len(self.dates)} holiday(s) named in params")
        return ", ".join(parts) if len(parts) > 1 else "Monday to Friday (no holidays: params name no calendar)"
