"""What a run's evidence and tests are resolved from: the params (defaults filled) and the period.

The evidence catalog resolves a collector's arguments from it, a control test its options: both are
functions of the same facts, so every notebook of a run asks for the same evidence the same way.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from auditbook.business_days import BusinessCalendar
from auditbook.period import Period


def _no_earlier_package(_: str) -> Path | None:
    return None


@dataclass(frozen=True)
class Context:
    params: dict[str, Any]
    period: Period
    # the same population in the newest earlier package of this organization (the previous review), if any
    earlier_population: Callable[[str], Path | None] = field(default=_no_earlier_package, compare=False)
    run_at: datetime | None = None  # when the run started: what a source's retention is measured back from
    # the verified snapshot packages of this organization from the period (and the weeks after it), oldest first:
    # readings of the configuration a timeline replays change events from (auditbook.snapshots)
    snapshot_folders: tuple[str, ...] = ()

    def settings(self, criterion: str) -> dict[str, Any]:
        """One criterion's params (thresholds), defaults filled."""
        return self.params.get("criteria", {}).get(criterion, {})

    @property
    def aws(self) -> dict[str, Any]:
        return self.params.get("scope", {}).get("aws") or {}

    @property
    def regions(self) -> list[str]:
        return list(self.aws.get("regions", []))

    @property
    def account_ids(self) -> list[str]:
        return [a["id"] for a in self.aws.get("accounts", [])]

    @property
    def orgs(self) -> list[dict[str, Any]]:
        """The GitHub orgs in scope (``name``, ``production_repos``, ``production_branch``)."""
        return list((self.params.get("scope", {}).get("github") or {}).get("orgs", []))

    @property
    def org_names(self) -> list[str]:
        return [o["name"] for o in self.orgs]

    @property
    def calendar(self) -> BusinessCalendar:
        """How the organization counts business days (params ``business_calendar``)."""
        return BusinessCalendar.from_params(self.params.get("business_calendar"))

    def holidays(self) -> list[date]:
        """The calendar's holidays from the year before the period to the year after it (deadlines run past it)."""
        return self.calendar.holidays(self.period.start.year - 1, self.period.end.year + 1)

    @property
    def window(self) -> dict[str, Any]:
        """The period as the keyword arguments most collectors and controls take."""
        return {"period_start": self.period.start, "period_end": self.period.end}
