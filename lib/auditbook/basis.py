"""What a test's conclusion stands on, and whether that covers the period (issue 15).

A SOC 2 Type II conclusion is about the whole period. Each catalog population that is collected says what
kind of evidence it is (``catalog.Entry.basis``):

- ``events``: records of what happened, each with its time, over the period (CloudTrail events, merged
  pull requests, alarm history, backup jobs). They cover the period unless the source forgets sooner than
  the run reads it (``catalog.Entry.retention``): then the days it no longer holds are a gap.
- ``records``: the organization's own records of the period (HR roster, incident log, review decisions).
- ``state``: configuration read once, at collection: a point in time, not the period.
- ``timeline``: configuration over the period (state at every moment, built from AWS Config history).

A test on state read at collection is evaluated again on every snapshot taken during the period
(``auditbook.over_snapshots``); the snapshots then stand in for that state, with the days they cover.

A derived population stands on its inputs, except those it only looks things up in (``Entry.reference``);
a test on its reads, except its ``reference`` reads. The weakest part decides: one state part makes the
test a point-in-time test, and its conclusion says "as of" that time.

``results.with_basis`` is the one place coverage changes a status: a PASS needs evidence covering the period; without
it the test is ERROR with the gap and the remedy, unless params accept it for that test (``coverage.accept``)
— then it stays PASS and says so. Deviations found stand (FAIL) whatever the coverage: an exception seen at
any time is an exception; only their absence needs the whole period.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pandas as pd

KINDS = ("events", "records", "timeline", "state")
# How each kind reads in a report.
_SAYS = {"events": "events over the period", "records": "the organization's records of the period",
         "timeline": "state over the period", "state": "state at a point in time",
         "snapshots": "snapshots taken during the period"}
REMEDY = ("read the evidence while the period runs: schedule `auditbook snapshot` daily (at least as often as the "
          "shortest retention of a source it reads), or record the resource types in AWS Config")


@dataclass(frozen=True)
class Retention:
    """How far back a source can answer when it is read: e.g. CloudWatch keeps alarm history about 30 days."""

    days: int
    source: str  # the sentence naming the source's limit
    time_column: str = "timestamp"  # the population's column saying when each row happened

    def covers_from(self, read_at: datetime) -> datetime:
        return read_at - timedelta(days=self.days)


@dataclass(frozen=True)
class Part:
    """One kind of evidence a test stands on: which populations, and when a state was read."""

    kind: str
    populations: tuple[str, ...]
    as_of: datetime | None = None  # state: when it was read (the earliest of its populations)
    how: str = ""  # timeline: how it was built

    def sentence(self) -> str:
        names = ", ".join(self.populations)
        if self.kind == "state":
            return f"state as of {_minute(self.as_of)} ({names})"
        if self.kind in ("timeline", "snapshots"):
            return f"{_SAYS[self.kind]} ({names}{'; ' + self.how if self.how else ''})"
        return f"{_SAYS[self.kind]} ({names})"


@dataclass
class Basis:
    """The evidence basis of one test in one run: its parts, the gaps in their coverage, and an acceptance."""

    parts: list[Part] = field(default_factory=list)
    gaps: list[str] = field(default_factory=list)  # what of the period the evidence does not show, and why
    accepted: str = ""  # params coverage.accept: why evidence not covering the period is accepted for this test

    @property
    def kind(self) -> str:
        """The weakest part: ``point in time`` when any part is a state read at collection."""
        kinds = {p.kind for p in self.parts}
        if "state" in kinds:
            return "point in time"
        if "snapshots" in kinds:
            return "snapshots"
        if "timeline" in kinds:
            return "state over the period"
        if "events" in kinds:
            return "events over the period"
        return "records over the period" if kinds else "none"

    @property
    def as_of(self) -> datetime | None:
        times = [p.as_of for p in self.parts if p.kind == "state" and p.as_of is not None]
        return min(times) if times else None

    @property
    def covers_period(self) -> bool:
        return self.kind != "point in time" and not self.gaps

    def with_snapshots(self, snapshots: Part, gaps: list[str]) -> None:
        """Snapshots taken during the period stand in for the state read at collection (their days, their gaps)."""
        self.parts = [p for p in self.parts if p.kind != "state"] + [snapshots]
        self.gaps.extend(gaps)

    def uncovered(self) -> list[str]:
        """Why the evidence does not show the whole period, one sentence each."""
        out = []
        if self.kind == "point in time":
            out.append(f"configuration read once, at {_minute(self.as_of)}, not over the period")
        return out + self.gaps

    def sentence(self) -> str:
        text = "; ".join(p.sentence() for p in self.parts) or "no evidence"
        if self.gaps:
            text += ". Not covered: " + "; ".join(self.gaps)
        return text

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "as_of": _iso(self.as_of), "covers_period": self.covers_period,
                "statement": self.sentence(), "gaps": list(self.gaps), "accepted": self.accepted or None,
                "parts": [{"kind": p.kind, "populations": list(p.populations), "as_of": _iso(p.as_of),
                           "how": p.how or None} for p in self.parts]}


Window = tuple[datetime, datetime]


def retention_gap(name: str, retention: Retention, read_at: datetime, start: datetime, end: datetime,
                  snapshots: tuple[Window, ...] = ()) -> str:
    """The part of the period a short-retention source no longer held when it was read, nor any snapshot that read
    it while it still did ('' when none)."""
    since = retention.covers_from(read_at)
    windows = [(since, max(read_at, end)), *snapshots]  # nothing of the period happens after it is read
    missing = uncovered(pd.Timestamp(start), pd.Timestamp(end), windows)
    if not missing:
        return ""
    keep = f"`auditbook snapshot` at least every {retention.days} days keeps it"
    if not snapshots:
        until = min(since, end)
        return (f"{name}: {retention.source}; read {_minute(read_at)}, it holds nothing before {_minute(since)}, "
                f"so {start:%Y-%m-%d} to {until:%Y-%m-%d} of the period is not shown ({keep})")
    stretches = " and ".join(f"{_minute(a)} to {_minute(b)}" for a, b in missing)
    return (f"{name}: {retention.source}; neither the read at {_minute(read_at)} nor the {len(snapshots)} "
            f"snapshot(s) that read it during or after the period show {stretches} ({keep})")


def uncovered(start: pd.Timestamp, end: pd.Timestamp, windows: list[Window]) -> list[tuple[pd.Timestamp,
                                                                                          pd.Timestamp]]:
    """The stretches of ``[start, end)`` that no window covers, in time order."""
    out, at = [], start
    for a, b in sorted((pd.Timestamp(a), pd.Timestamp(b)) for a, b in windows):
        if b <= at:
            continue
        if a > at:
            out.append((at, min(a, end)))
        at = max(at, b)
        if at >= end:
            break
    if at < end:
        out.append((at, end))
    return [(a, b) for a, b in out if a < b]


def conclusion_prefix(basis: Basis | None) -> str:
    """How a point-in-time conclusion begins: "As of 2026-12-02 09:14 UTC, "."""
    if basis is None or basis.kind != "point in time":
        return ""
    return f"As of {_minute(basis.as_of)}, "


def _minute(ts: datetime | None) -> str:
    return "(time not recorded)" if ts is None else f"{pd.Timestamp(ts):%Y-%m-%d %H:%M} UTC"


def _iso(ts: datetime | None) -> str | None:
    return None if ts is None else pd.Timestamp(ts).isoformat().replace("+00:00", "Z")


@dataclass(frozen=True)
class Leaf:
    """A collected population a conclusion stands on: its kind, retention and when it was read."""

    name: str
    kind: str
    read_at: datetime | None
    retention: Retention | None = None
    how: str = ""
    snapshots: tuple[Window, ...] = ()  # retention sources: what snapshots read of them (from, taken at)


def basis_of(leaves: list[Leaf], start: datetime, end: datetime, accepted: str = "") -> Basis:
    """The basis of a conclusion drawn from these populations over the period ``[start, end)``."""
    parts = []
    for kind in KINDS:
        mine = [leaf for leaf in leaves if leaf.kind == kind]
        if not mine:
            continue
        times = [leaf.read_at for leaf in mine if leaf.read_at is not None]
        parts.append(Part(kind, tuple(leaf.name for leaf in mine),
                          as_of=min(times) if kind == "state" and times else None,
                          how="; ".join(leaf.how for leaf in mine if leaf.how)))
    gaps = [gap for leaf in leaves if leaf.retention and leaf.read_at
            for gap in [retention_gap(leaf.name, leaf.retention, leaf.read_at, start, end, leaf.snapshots)] if gap]
    return Basis(parts, gaps, accepted)
