"""A point-in-time test evaluated again on every snapshot taken during the period (``auditbook snapshot``).

A test that reads configuration at collection sees one moment, weeks after the period. Snapshots taken while
the period ran hold the same populations as they were then: the same rule on each shows what held on each
day. A deviation seen on any day stands (with the days it was seen); the days with a snapshot are the test's
coverage, and the days without one are gaps that keep it from passing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Protocol

import pandas as pd

from auditbook import catalog, timeline
from auditbook.basis import Part, uncovered
from auditbook.context import Context
from auditbook.results import ControlTest, Status, TestResult


class SnapshotLike(Protocol):
    taken_at: datetime

    def population(self, name: str) -> pd.DataFrame | None: ...


@dataclass
class InMemorySnapshot:
    """A snapshot's populations held in memory: an analyst's what-if ("had we read this on that day"), a test."""

    taken_at: datetime
    frames: dict[str, pd.DataFrame]

    def population(self, name: str) -> pd.DataFrame | None:
        return self.frames.get(name)


@dataclass
class OverSnapshots:
    """What the snapshots add to a test: deviations seen on days, which days were covered, and the gaps."""

    part: Part
    gaps: list[str]
    deviations: pd.DataFrame = field(default_factory=pd.DataFrame)  # one row per resource, with the days seen


def state_leaves(test: ControlTest, ctx: Context) -> list[str]:
    """The populations a test reads at a point in time (the ones a snapshot holds)."""
    leaves = catalog.evidence_leaves([r for r in test.reads if r not in test.reference], ctx)
    timelined = catalog.followed(leaves)  # their timelines already replay the snapshots' readings
    return [n for n in leaves if catalog.entry(n).basis == "state" and n not in timelined]


def rebuild(name: str, ctx: Context, snapshot: SnapshotLike,
            from_run: Callable[[str], pd.DataFrame | None]) -> pd.DataFrame | None:
    """A population as it was when the snapshot was taken: its state leaves from the snapshot, the rest (events,
    records) from the run, derived populations derived again. None when the snapshot lacks a leaf."""
    e = catalog.entry(name)
    if e.derive is None or e.basis == "timeline":
        return snapshot.population(name) if e.basis == "state" else from_run(name)
    cache = getattr(snapshot, "cache", {})
    if f"derived:{name}" in cache:
        return cache[f"derived:{name}"]
    inputs = {}
    for param, source in e.input_names(ctx).items():
        frame = rebuild(source, ctx, snapshot, from_run)
        if frame is None:
            return None
        inputs[param] = frame
    cache[f"derived:{name}"] = frame = catalog.conform(name, e.derive(**inputs, **e.arguments(ctx)))
    return frame


def evaluate(test: ControlTest, ctx: Context, snapshots: list[SnapshotLike], options: dict[str, Any],
             from_run: Callable[[str], pd.DataFrame | None],
             at_collection: TestResult | None = None) -> OverSnapshots | None:
    """The test's rule on every snapshot of the period; None when there is none (the test stays point in time).

    A configuration-only test whose populations CloudTrail shows the changes of (``catalog.Entry.changed_by``)
    is known between the readings too: each reading's verdict holds until a change call (``held``)."""
    leaves = state_leaves(test, ctx)
    if not leaves or not snapshots:
        return None
    seen: dict[str, dict[str, Any]] = {}
    covered: set[date] = set()
    readings: list[tuple[pd.Timestamp, Any, str]] = []
    for snap in sorted(snapshots, key=lambda s: s.taken_at):
        frames = [rebuild(name, ctx, snap, from_run) for name in test.reads]
        if any(f is None for f in frames):
            continue
        result = test.evaluate(*frames, **options)
        if result.status not in (Status.PASS, Status.FAIL):
            continue
        day = pd.Timestamp(snap.taken_at).date()
        covered.add(day)
        readings.append((pd.Timestamp(snap.taken_at), _verdict(result), f"snapshot {snap.taken_at:%Y-%m-%d %H:%M}"))
        for row in result.deviations.to_dict("records"):
            first = seen.setdefault(row["resource_id"], {**row, "days": []})
            first["days"].append(day)
    if at_collection is not None and at_collection.status in (Status.PASS, Status.FAIL) and ctx.run_at:
        readings.append((pd.Timestamp(ctx.run_at), _verdict(at_collection), "the reading at collection"))
    days = _days(ctx.period.start, ctx.period.end)
    missing = [d for d in days if d not in covered]
    part = Part("snapshots", tuple(leaves), how=f"{len(days) - len(missing)} of {len(days)} days of the period "
                                                 "covered by a snapshot")
    gaps = [f"no snapshot of {', '.join(leaves)} {_stretch(a, b)}" for a, b in _stretches(missing)]
    if (between := held(test, ctx, leaves, readings, from_run)) is not None:
        part, gaps = between
    rows = [{**{k: v for k, v in row.items() if k != "days"}, "seen": f"snapshots {_dates(row['days'])}"}
            for row in seen.values()]
    for row in rows:
        row["detail"] = f"{row['detail']} (in the snapshots of {row['seen'].removeprefix('snapshots ')}, not at " \
                        "collection)"
    return OverSnapshots(part, gaps, pd.DataFrame(rows))


def held(test: ControlTest, ctx: Context, leaves: list[str], readings: list[tuple[pd.Timestamp, Any, str]],
         from_run: Callable[[str], pd.DataFrame | None]) -> tuple[Part, list[str]] | None:
    """The stretches of the period the readings' verdicts are known for, held between the changes CloudTrail or
    GitHub's audit log records, and the stretches they are not (each with why); None when the test or its
    populations do not allow it, or a stream of their changes cannot be read completely."""
    calls_of = [catalog.entry(name).changed_by for name in leaves]
    if not test.configuration_only or not all(calls_of) or not readings:
        return None
    families = [c for calls in calls_of for c in calls]
    found, blind = [], []
    for stream in sorted({f.stream for f in families}):
        mine = [f for f in families if f.stream == stream]
        read = _cloudtrail(mine, ctx, from_run) if stream == "cloudtrail-events" else _audit_log(mine, ctx, from_run)
        if read is None:
            return None
        found.append(read[0])
        blind += read[1]
    calls = pd.concat(found).drop_duplicates(subset="event_id")
    intervals = timeline.held_between_changes(readings, calls, blind, ctx.period.start, ctx.period.end)
    shown = [(i["valid_from"], i["valid_to"]) for i in intervals if i["known"]]
    days = _days(ctx.period.start, ctx.period.end)
    whole = sum(1 for d in days if not uncovered(pd.Timestamp(d, tz="UTC"), pd.Timestamp(d, tz="UTC")
                                                 + pd.Timedelta(days=1), shown))
    recorder = " and ".join(sorted({_RECORDERS[f.stream] for f in families}))
    how = (f"{len(readings)} readings (snapshots, collection), each holding until the next change {recorder} "
           f"records ({'; '.join(c.describe() for c in families)}): {whole} of {len(days)} days shown in full")
    gaps = [f"{', '.join(leaves)} from {i['valid_from']:%Y-%m-%d %H:%M} to {i['valid_to']:%Y-%m-%d %H:%M} UTC: "
            f"{i['evidence']}" for i in intervals if not i["known"]]
    return Part("timeline", tuple(leaves), how=how), gaps


_RECORDERS = {"cloudtrail-events": "CloudTrail", "github-audit-log": "GitHub's audit log"}
Blind = list[tuple[Any, ...]]  # (from, to) or (from, to, why)


def _cloudtrail(families: list[Any], ctx: Context,
                from_run: Callable[[str], pd.DataFrame | None]) -> tuple[pd.DataFrame, Blind] | None:
    """The change calls CloudTrail records, and when it cannot show them: days without log files, after the
    events read; None without a trail recording write management events whose delivery was examined."""
    events, coverage, trails = (from_run(name) for name in ("cloudtrail-events", "cloudtrail-coverage",
                                                            "cloudtrail-trails"))
    if events is None or coverage is None or trails is None or not records_writes(trails, ctx.account_ids):
        return None
    regions = {timeline.GLOBAL_EVENTS_REGION} if all(c.global_service for c in families) else set(ctx.regions)
    pairs = [(account, region) for account in ctx.account_ids for region in sorted(regions)]
    examined = set(zip(coverage["account_id"], coverage["region"], strict=True)) if len(coverage) else set()
    if not pairs or any(pair not in examined for pair in pairs):  # the trail's delivery there was not examined
        return None
    calls = pd.concat([c.calls(events) for c in families]) if not events.empty else events
    blind = [stretch for account, region in pairs
             for stretch in timeline.blind_days(coverage, account, region, ctx.period.end, ctx.run_at)]
    return calls, blind


def _audit_log(families: list[Any], ctx: Context,
               from_run: Callable[[str], pd.DataFrame | None]) -> tuple[pd.DataFrame, Blind] | None:
    """The changes GitHub's organization audit log records (read from the period start to the run, so the
    reading at collection reaches back too); before its 180 days it shows nothing. None without the log."""
    log = from_run("github-audit-log")
    if log is None or ctx.run_at is None:
        return None
    since = pd.Timestamp(ctx.run_at) - pd.Timedelta(days=timeline.AUDIT_LOG_DAYS)
    why = f"GitHub keeps the audit log {timeline.AUDIT_LOG_DAYS} days: read {pd.Timestamp(ctx.run_at):%Y-%m-%d}, it " \
          f"shows no change before {since:%Y-%m-%d %H:%M}"
    blind = [(pd.Timestamp("1970-01-01", tz="UTC"), since, why)] if since > pd.Timestamp(ctx.period.start) else []
    return pd.concat([f.calls(log) for f in families]), blind


def records_writes(trails: pd.DataFrame, account_ids: list[str]) -> bool:
    """Whether every account has a trail recording write management events: without one, no change call seen
    means nothing. (Read at collection; a selector changed inside the period is CC7.1-TRAIL-CHANGES' subject.)"""
    writing = trails[trails["management_events"].isin(["All", "WriteOnly"])] if len(trails) else trails
    return bool(account_ids) and set(account_ids) <= set(writing["account_id"] if len(writing) else [])


def _verdict(result: TestResult) -> tuple[str, ...]:
    """What a reading concluded: the resources deviating (the same set means the same verdict)."""
    ids = result.deviations["resource_id"] if len(result.deviations) else []
    return tuple(sorted(set(map(str, ids))))


def merge(result: TestResult, over: OverSnapshots) -> TestResult:
    """The collection-time result with the deviations only the snapshots saw, one row per resource."""
    if over.deviations.empty:
        return result
    now = result.deviations.assign(seen="at collection")
    extra = over.deviations[~over.deviations["resource_id"].isin(set(now["resource_id"]))]
    if extra.empty:
        return result
    result.deviations = pd.concat([now, extra], ignore_index=True)
    result.status = Status.FAIL
    return result


def _days(start: datetime, end: datetime) -> list[date]:
    first, last = pd.Timestamp(start).date(), (pd.Timestamp(end) - timedelta(microseconds=1)).date()
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def _stretches(days: list[date]) -> list[tuple[date, date]]:
    out: list[tuple[date, date]] = []
    for d in days:
        if out and (d - out[-1][1]).days == 1:
            out[-1] = (out[-1][0], d)
        else:
            out.append((d, d))
    return out


def _stretch(a: date, b: date) -> str:
    return f"on {a:%Y-%m-%d}" if a == b else f"from {a:%Y-%m-%d} to {b:%Y-%m-%d}"


def _dates(days: list[date]) -> str:
    return "; ".join(_stretch(a, b).removeprefix("on ").removeprefix("from ") for a, b in _stretches(sorted(days)))
