"""A source that forgets (alarm history, ~30 days) read at collection together with what snapshots read of it
while it still held the period: each moment from the freshest read, and what none of them shows is a gap."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
from auditbook import catalog, snapshots
from auditbook.basis import Leaf, basis_of, uncovered
from auditbook.notebook import _write_csv
from auditbook.provenance import Population, Provenance

START, END = datetime(2026, 7, 1, tzinfo=UTC), datetime(2026, 10, 1, tzinfo=UTC)
READ = datetime(2026, 12, 3, 6, 0, tzinfo=UTC)
NAME = "cloudwatch-alarm-history"
RETENTION = catalog.ALARM_HISTORY_RETENTION


def history(*changes: tuple[str, str, str]) -> pd.DataFrame:
    return catalog.from_rows(NAME, [{"account_id": "1", "region": "us-east-1", "alarm_name": alarm,
                                     "timestamp": pd.Timestamp(at, tz="UTC"), "old_state": "OK" if new == "ALARM"
                                     else "ALARM", "new_state": new, "summary": ""} for alarm, at, new in changes])


def snapshot(root, taken: str, frame: pd.DataFrame) -> snapshots.Snapshot:
    taken_at = datetime.fromisoformat(taken).replace(tzinfo=UTC)
    folder = root / f"{taken_at:{snapshots.STAMP}}"
    _write_csv(frame, folder / f"populations/{NAME}.csv")
    return snapshots.Snapshot(folder, taken_at, "org", {NAME: f"populations/{NAME}.csv"})


def read_now(frame: pd.DataFrame) -> Population:
    return Population(NAME, frame, Provenance("aws", "e", "s", "c", READ.isoformat()))


def test_each_moment_comes_from_the_freshest_read_and_only_the_period_is_kept(tmp_path):
    # Two snapshots whose windows overlap: the later one read 08-05 again (here with a second change at that time
    # the earlier read missed); the earlier one adds only what the later one no longer held.
    early = snapshot(tmp_path, "2026-08-10T06:00", history(("a", "2026-06-25T00:00", "ALARM"),
                                                           ("a", "2026-07-20T00:00", "ALARM"),
                                                           ("b", "2026-08-05T00:00", "ALARM")))
    late = snapshot(tmp_path, "2026-08-20T06:00", history(("b", "2026-08-05T00:00", "ALARM"),
                                                          ("c", "2026-08-05T00:00", "ALARM"),
                                                          ("c", "2026-08-19T00:00", "OK")))
    run_dir = tmp_path / "run"
    pop, windows = snapshots.with_retained(read_now(history(("z", "2026-11-20T00:00", "ALARM"))), RETENTION,
                                           [early, late], START, END, run_dir)
    got = [(r.alarm_name, f"{r.timestamp:%m-%d}") for r in pop.frame.itertuples()]
    assert got == [("a", "07-20"), ("b", "08-05"), ("c", "08-05"), ("c", "08-19"), ("z", "11-20")]
    assert windows == ((datetime(2026, 7, 11, 6, tzinfo=UTC), early.taken_at),
                       (datetime(2026, 7, 21, 6, tzinfo=UTC), late.taken_at))
    assert sorted(f["path"] for f in pop.provenance.raw_files) == [
        f"raw/snapshots/{early.root.name}/{NAME}.csv", f"raw/snapshots/{late.root.name}/{NAME}.csv"]
    assert (run_dir / f"raw/snapshots/{late.root.name}/{NAME}.csv").read_bytes() == \
        (late.root / f"populations/{NAME}.csv").read_bytes()
    assert "4 row(s) of the period come from 2 snapshot(s)" in pop.provenance.notes[-1]
    assert pop.provenance.record_count == 5


def test_without_snapshots_the_population_is_as_read(tmp_path):
    pop = read_now(history())
    assert snapshots.with_retained(pop, RETENTION, [], START, END, tmp_path) == (pop, ())


def test_a_snapshot_taken_after_the_period_still_holds_its_last_days(tmp_path):
    after = snapshot(tmp_path, "2026-10-20T06:00", history(("a", "2026-09-25T00:00", "ALARM"),
                                                           ("a", "2026-10-02T00:00", "OK")))
    pop, windows = snapshots.with_retained(read_now(history()), RETENTION, [after], START, END, tmp_path / "run")
    assert [f"{t:%m-%d}" for t in pop.frame["timestamp"]] == ["09-25"]  # October is after the period
    gap = basis_of([Leaf(NAME, "events", READ, RETENTION, snapshots=windows)], START, END).gaps
    assert len(gap) == 1 and "2026-07-01 00:00 UTC to 2026-09-20 06:00 UTC" in gap[0]
    assert "at least every 30 days" in gap[0]


def test_snapshots_at_least_every_30_days_cover_the_period():
    taken = [datetime(2026, 7, 25, tzinfo=UTC), datetime(2026, 8, 20, tzinfo=UTC), datetime(2026, 9, 15, tzinfo=UTC),
             datetime(2026, 10, 10, tzinfo=UTC)]
    windows = tuple((t - timedelta(days=30), t) for t in taken)
    assert basis_of([Leaf(NAME, "events", READ, RETENTION, snapshots=windows)], START, END).covers_period
    assert uncovered(pd.Timestamp(START), pd.Timestamp(END), list(windows[1:])) == [
        (pd.Timestamp(START), pd.Timestamp("2026-07-21", tz="UTC"))]
    assert uncovered(pd.Timestamp(START), pd.Timestamp(END), [windows[0], windows[2]]) == [
        (pd.Timestamp("2026-07-25", tz="UTC"), pd.Timestamp("2026-08-16", tz="UTC")),
        (pd.Timestamp("2026-09-15", tz="UTC"), pd.Timestamp(END))]


def test_a_source_the_run_still_holds_for_the_whole_period_takes_nothing_from_snapshots(tmp_path):
    """Hourly metric statistics are kept 455 days: read weeks after the quarter they still hold all of it."""
    metrics = catalog.entry("cloudwatch-capacity-metrics")
    frame = catalog.empty("cloudwatch-capacity-metrics")
    folder = tmp_path / "20260810T060000Z"
    _write_csv(frame, folder / "populations/cloudwatch-capacity-metrics.csv")
    snap = snapshots.Snapshot(folder, datetime(2026, 8, 10, 6, tzinfo=UTC), "org",
                              {"cloudwatch-capacity-metrics": "populations/cloudwatch-capacity-metrics.csv"})
    pop = Population("cloudwatch-capacity-metrics", frame, Provenance("aws", "e", "s", "c", READ.isoformat()))
    assert snapshots.with_retained(pop, metrics.retention, [snap], START, END, tmp_path / "run") == (pop, ())
    assert not (tmp_path / "run").exists()
