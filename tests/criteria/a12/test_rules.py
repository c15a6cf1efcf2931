"""A1.2 rules on small frames: daily coverage and its edges, retention, copies, versioning, restore tests."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
from auditbook import catalog
from auditbook.controls import a12
from auditbook.results import Status

START, END = datetime(2026, 7, 1, tzinfo=UTC), datetime(2026, 7, 8, tzinfo=UTC)  # a week is enough
PROD = {"key": "environment", "value": "production"}
CRIT = {"key": "criticality", "value": "critical"}


def ts(text):
    return pd.Timestamp(text, tz="UTC")


def stores():
    rds = pd.DataFrame([
        {"account_id": "1", "region": "r", "db_instance": n, "arn": f"arn:rds:{n}", "tags": tags,
         "read_replica_source": "", "created": ts(created), "backup_retention_days": keep}
        for n, tags, created, keep in [
            ("db", "criticality=critical;environment=production", "2025-01-01", 35),
            ("new", "environment=production", "2026-07-04 10:00", 7),
            ("dev", "environment=dev", "2025-01-01", 1)]])
    volumes = pd.DataFrame([{"account_id": "1", "region": "r", "volume_id": "vol-1", "name": "files",
                             "tags": "environment=production", "created": ts("2025-01-01")}])
    return a12.data_stores(rds, volumes, PROD, CRIT)


def snapshots(*rows):
    return pd.DataFrame([{"account_id": "1", "region": "r", "db_instance": db, "snapshot_type": kind,
                          "status": status, "created": ts(at)} for db, kind, status, at in rows])


def points(*rows):
    frame = pd.DataFrame([
        {"account_id": account, "region": region, "vault": vault, "resource_arn": arn, "status": status,
         "created": ts(at), "delete_after_days": keep, "is_copy": copy}
        for arn, at, status, keep, copy, region, account, vault in rows],
        columns=["account_id", "region", "vault", "resource_arn", "status", "created", "delete_after_days",
                 "is_copy"])
    frame["created"] = pd.to_datetime(frame["created"], utc=True)
    return frame


def test_data_stores_in_scope_with_critical_flag():
    s = stores()
    assert list(s["store_id"]) == ["1:rds:db", "1:rds:new", "1:ebs:files"]
    assert list(s["critical"]) == [True, False, False]
    assert s.loc[2, "arn"] == "arn:aws:ec2:r:1:volume/vol-1"


def test_daily_coverage_edges():
    s = stores()
    snaps = snapshots(*[("db", "automated", "available", f"2026-07-0{d} 03:00") for d in (1, 2, 4, 5, 6)],
                      ("db", "manual", "available", "2026-07-07 23:59:59"),  # last second of the last day
                      ("db", "automated", "creating", "2026-07-03 03:00"),  # not completed: not a backup
                      ("new", "automated", "available", "2026-07-05 03:00"))
    rp = points(*[("arn:aws:ec2:r:1:volume/vol-1", f"2026-07-0{d} 05:00", "COMPLETED", 35, False, "r", "1", "v")
                  for d in range(1, 8)], ("arn:rds:new", "2026-07-06 05:00", "COMPLETED", 35, False, "r", "1", "v"),
                 ("arn:rds:db", "2026-07-08 00:00", "COMPLETED", 35, False, "r", "1", "v"))  # after the period
    coverage = a12.daily_coverage(s, snaps, rp, START, END)
    assert len(coverage) == 3 * 7
    new = coverage[coverage["store_id"] == "1:rds:new"]
    assert list(new["required"]) == [False] * 4 + [True] * 3  # required from the day after creation
    result = a12.daily_backup(coverage)
    assert sorted(result.deviations["resource_id"]) == ["1:rds:db", "1:rds:new"]
    details = dict(zip(result.deviations["resource_id"], result.deviations["detail"], strict=True))
    assert details["1:rds:db"] == "no backup on 1 day of the period: 2026-07-03"
    assert details["1:rds:new"] == "no backup on 1 day of the period: 2026-07-07"
    assert result.population_size == 7 + 3 + 7


def test_day_ranges_are_compacted():
    days = [ts("2026-08-17"), ts("2026-08-18"), ts("2026-08-20")]
    assert a12._day_ranges(days) == "2026-08-17..2026-08-18, 2026-08-20"


def test_retention_per_mechanism_at_threshold():
    s = stores()
    rp = points(("arn:rds:db", "2026-07-02", "COMPLETED", 35, False, "r", "1", "v"),
                ("arn:rds:db", "2026-07-03", "COMPLETED", 34, False, "r", "1", "v"),
                ("arn:rds:db", "2026-07-03", "COMPLETED", 7, True, "r2", "1", "dr"),  # copies not counted here
                ("arn:aws:ec2:r:1:volume/vol-1", "2026-07-03", "COMPLETED", None, False, "r", "1", "v"))
    sheet = a12.retention_worksheet(s, rp, START, END)
    result = a12.retention(sheet, 35)
    assert sorted(result.deviations["resource_id"]) == ["1:rds:db", "1:rds:new"]
    details = dict(zip(result.deviations["resource_id"], result.deviations["detail"], strict=True))
    assert details["1:rds:db"] == "AWS Backup vault v kept 34 days (minimum 35)"
    assert a12.retention(sheet, 7).deviation_count == 0  # exactly at the minimum passes


def test_copies_need_another_region_or_account_and_recent():
    s = stores()
    base = [("arn:rds:db", "2026-07-01", "COMPLETED", 35, True, "r", "1", "same-region-copy")]
    assert a12.copies(s, points(*base), START, END, 7).deviation_count == 1
    ok = base + [("arn:rds:db", "2026-07-01", "COMPLETED", 35, True, "r2", "1", "dr")]  # exactly 7 days
    assert a12.copies(s, points(*ok), START, END, 7).status is Status.PASS
    assert a12.copies(s, points(*ok), START, END, 6).deviation_count == 1
    assert a12.copies(s, points(*base), START, END, 7, required=False).status is Status.NOT_APPLICABLE


def test_a_week_without_a_fresh_copy_inside_the_period_is_a_deviation_with_its_dates():
    """Weekly copies with one missed: the newest copy was too old from a week after the last one until the next,
    though the copy at the period end is fresh."""
    s = stores()
    weekly = [("arn:rds:db", day, "COMPLETED", 365, True, "r2", "1", "dr")
              for day in ("2026-06-28 07:00", "2026-07-05 07:00", "2026-07-19 07:00", "2026-07-26 07:00")]
    start, end = datetime(2026, 7, 1, tzinfo=UTC), datetime(2026, 8, 1, tzinfo=UTC)
    result = a12.copies(s, points(*weekly), start, end, 7)
    assert list(result.deviations["detail"]) == ["no copy fresher than 7 days from 2026-07-12 07:00 to 2026-07-19 "
                                                 "07:00 UTC"]
    assert int(result.tested.loc[0, "copies_in_period"]) == 3


def test_a_stretch_whose_copies_a_lifecycle_would_have_deleted_before_the_read_is_a_gap_not_a_deviation():
    """Copies kept 30 days, read on 2026-08-20: nothing made before 07-21 could still be listed, so the missing
    copies of early July show nothing; from 07-21 the listing can show them, and their absence is a deviation."""
    s = stores()
    listed = [("arn:rds:db", "2026-07-26 07:00", "COMPLETED", 30, True, "r2", "1", "dr")]
    start, end = datetime(2026, 7, 1, tzinfo=UTC), datetime(2026, 8, 1, tzinfo=UTC)
    read = datetime(2026, 8, 20, tzinfo=UTC)
    result = a12.copies(s, points(*listed), start, end, 7, read_at=read)
    assert list(result.deviations["detail"]) == ["no copy fresher than 7 days from 2026-07-21 00:00 to 2026-07-26 "
                                                 "07:00 UTC"]
    assert result.gaps == ["1:rds:db: no copy of 2026-07-01 00:00 to 2026-07-21 00:00 UTC is left to show, and one "
                           "made then would have been deleted by its lifecycle before the points were read"]
    kept = [("arn:rds:db", "2026-07-26 07:00", "COMPLETED", None, True, "r2", "1", "dr")]  # no lifecycle: kept
    assert a12.copies(s, points(*kept), start, end, 7, read_at=read).gaps == []


def test_bucket_versioning_in_scope():
    buckets = pd.DataFrame([{"account_id": "1", "bucket": b, "region": "r", "versioning": v, "tags": t} for b, v, t in [
        ("a", "Enabled", "environment=production"), ("b", "Suspended", "environment=production"),
        ("c", "Never enabled", "environment=dev")]])
    result = a12.bucket_versioning(buckets, catalog.empty("s3-versioning-timeline"), PROD)
    assert list(result.deviations["resource_id"]) == ["1:s3:b"] and result.population_size == 2


def test_versioning_suspended_inside_the_period_deviates_with_its_interval():
    buckets = pd.DataFrame([{"account_id": "1", "bucket": "a", "region": "r", "versioning": "Enabled",
                             "tags": "environment=production"}])
    history = pd.DataFrame([
        {"resource": "1:r:a", "valid_from": ts("2026-07-01"), "valid_to": ts("2026-08-03T10:00"), "known": True,
         "evidence": "e", "versioning": "Enabled"},
        {"resource": "1:r:a", "valid_from": ts("2026-08-03T10:00"), "valid_to": ts("2026-08-04T08:00"),
         "known": True, "evidence": "e", "versioning": "Suspended"},
        {"resource": "1:r:a", "valid_from": ts("2026-08-04T08:00"), "valid_to": ts("2026-10-01"), "known": False,
         "evidence": "unknown: no log files", "versioning": None}])
    result = a12.bucket_versioning(buckets, history, PROD)
    assert list(result.deviations["detail"]) == ["versioning Suspended (from 2026-08-03 10:00 to 2026-08-04 08:00 "
                                                 "UTC)"]
    assert result.gaps == ["1:r:a: 2026-08-04 08:00 to 2026-10-01 00:00 unknown: no log files"]


def restore_frame(*rows, dr=False):
    frame = pd.DataFrame([{"restore_job_id": jid, "source": "dr-test-record" if dr else "aws-backup-restore-job",
                           "resource_arn": arn, "status": status, "started": ts(start), "completed": ts(start),
                           "duration_minutes": minutes, "recovery_point_created": ts(rp),
                           **({"data_store": arn} if dr else {})}
                          for jid, arn, status, start, minutes, rp in rows])
    return frame


def test_restore_tests_rto_and_rpo_edges():
    s = stores()
    jobs = restore_frame(("ok", "arn:rds:db", "COMPLETED", "2026-07-02 06:00", 240.0, "2026-07-01 06:00"),
                         ("before", "arn:rds:db", "COMPLETED", "2026-06-30 06:00", 10.0, "2026-06-30 05:00"))
    sheet = a12.restore_tests(s, jobs, period_start=START, period_end=END)
    assert list(sheet["test_id"]) == ["ok"]  # the one before the period is not counted
    assert a12.restore_tested(s, sheet, rto_hours=4, rpo_hours=24).status is Status.PASS  # both exactly at limit
    late = a12.restore_tested(s, sheet, rto_hours=3.99, rpo_hours=24)
    assert late.deviation_count == 1 and "no test succeeded within RTO and RPO" in late.deviations["detail"][0]
    stale = a12.restore_tested(s, sheet, rto_hours=4, rpo_hours=23.9)
    assert stale.deviation_count == 1


def test_restore_tests_from_dr_records_and_failed_jobs():
    s = stores()
    failed = restore_frame(("f", "arn:rds:db", "FAILED", "2026-07-02 06:00", 30.0, "2026-07-02 05:00"))
    dr = restore_frame(("DR-1", "1:rds:db", "COMPLETED", "2026-07-03 10:00", 90.0, "2026-07-03 03:00"), dr=True)
    only_failed = a12.restore_tests(s, failed, period_start=START, period_end=END)
    result = a12.restore_tested(s, only_failed, 4, 24)
    assert result.deviations["detail"][0].startswith("f failed")
    both = a12.restore_tests(s, failed, dr, period_start=START, period_end=END)
    assert a12.restore_tested(s, both, 4, 24).status is Status.PASS
    none = a12.restore_tests(s, failed.iloc[0:0], period_start=START, period_end=END)
    assert a12.restore_tested(s, none, 4, 24).deviations["detail"][0] == "no restore test in the period"


def test_a_day_whose_backup_would_have_expired_before_the_run_is_a_gap_not_a_deviation():
    """db keeps automated snapshots 35 days; read 40 days after the week, a missing day cannot be told from an
    expired one. The volume's AWS Backup points are kept 120 days: its missing day is still a deviation."""
    s = stores()
    snaps = snapshots(*[("db", "automated", "available", f"2026-07-0{d} 03:00") for d in (1, 2, 4, 5, 6, 7)],
                      *[("new", "automated", "available", f"2026-07-0{d} 03:00") for d in (5, 6, 7)])
    rp = points(*[("arn:aws:ec2:r:1:volume/vol-1", f"2026-07-0{d} 05:00", "COMPLETED", 120, False, "r", "1", "v")
                  for d in (1, 2, 3, 5, 6, 7)])
    read_at = datetime(2026, 8, 12, tzinfo=UTC)
    coverage = a12.daily_coverage(s, snaps, rp, START, END, read_at=read_at)
    assert not coverage[coverage["store_id"] == "1:rds:db"]["shown"].any()
    assert coverage[coverage["store_id"] == "1:ebs:files"]["shown"].all()
    result = a12.daily_backup(coverage)
    assert list(result.deviations["resource_id"]) == ["1:ebs:files"]
    assert result.gaps == ["1:rds:db: no backup of 2026-07-03 is left to show, and one taken then would have "
                           "expired before the evidence was read (its retention is shorter than the time since)"]
    soon = a12.daily_coverage(s, snaps, rp, START, END, read_at=datetime(2026, 7, 7, 12, tzinfo=UTC))
    assert soon["shown"].all() and sorted(a12.daily_backup(soon).deviations["resource_id"]) == ["1:ebs:files",
                                                                                                "1:rds:db"]
