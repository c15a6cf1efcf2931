"""A1.2 recovery: the rules, as pure functions over the collected populations.

Every data store in scope (RDS databases and EBS volumes with the scope tag) is backed up every
day of the period, by RDS automated or manual snapshots or AWS Backup recovery points; every
backup mechanism keeps its backups at least the minimum retention; critical stores (the critical
tag) are copied to another region or account; buckets in scope are versioned; and each critical
store was restored in a successful test during the period, within the RTO and from data no older
than the RPO. A day is a UTC calendar day; a store created during the period is required from
the day after its creation.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pandas as pd

from auditbook import timeline
from auditbook.controls.cc91 import tagged
from auditbook.results import ControlTest, Tested, TestResult, evaluate, not_applicable

DAILY_BACKUP = ControlTest(
    "A1.2-DAILY-BACKUP", "A1.2", "Data stores are backed up every day",
    "Every database and volume in scope has at least one completed backup (RDS automated or manual snapshot, or "
    "AWS Backup recovery point) created on each day of the period.", "daily", ("backup-daily-coverage",),
    sample_keys=("store_id", "day"),
    deviates_when=("A database or volume in scope with a day of the period without a completed backup deviates."))
RETENTION = ControlTest(
    "A1.2-RETENTION", "A1.2", "Backups are retained long enough",
    "Every backup mechanism of a data store in scope keeps backups at least the minimum retention days: the RDS "
    "automated backup retention period, and the lifecycle of the store's AWS Backup recovery points.",
    "continuous", ("backup-retention",), lambda s, ctx: {"min_retention_days": s["min_retention_days"]},
    ("store_id", "mechanism"),
    deviates_when=("A backup mechanism of a data store in scope keeping backups fewer than {min_retention_days} days "
                   "deviates."))
COPIES = ControlTest(
    "A1.2-COPIES", "A1.2", "Critical backups are copied to another region or account",
    "Every critical data store has a completed copy of its backups in another region or account, and at no "
    "moment of the period is its newest copy older than the allowed days.", "weekly",
    ("backup-data-stores", "backup-recovery-points"),
    lambda s, ctx: {"period_start": ctx.period.start, "period_end": ctx.period.end,
                    "max_copy_age_days": s["max_copy_age_days"],
                    "required": s["copy_required"], "read_at": ctx.run_at}, ("store_id",),
    deviates_when=("A critical data store without a completed copy of its backups in {copy_to}, or whose newest copy "
                   "was older than {max_copy_age_days} days at any moment of the period, deviates."))
S3_VERSIONING = ControlTest(
    "A1.2-S3-VERSIONING", "A1.2", "Buckets in scope keep object versions",
    "Every S3 bucket in scope has versioning enabled, so an overwritten or deleted object can be recovered, at "
    "every moment of the period (its versioning timeline), not only at collection.",
    "continuous", ("s3-bucket-versioning", "s3-versioning-timeline"), lambda s, ctx: {"scope_tag": s["scope_tag"]},
    ("account_id", "bucket"),
    deviates_when=("An S3 bucket in scope ({scope_tag[key]}={scope_tag[value]}) without versioning {versioning} at "
                   "any moment of the period deviates."))
RESTORE_TEST = ControlTest(
    "A1.2-RESTORE-TEST", "A1.2", "Critical data stores are restored in a test",
    "Every critical data store was restored successfully at least once in the period (AWS Backup restore job or "
    "a recorded DR test), the restore completing within the RTO from a backup no older than the RPO at its start.",
    "quarterly", ("backup-data-stores", "restore-tests"),
    lambda s, ctx: {"rto_hours": s["rto_hours"], "rpo_hours": s["rpo_hours"]}, ("store_id",),
    deviates_when=("A critical data store without a successful restore in the period that completed within "
                   "{rto_hours} hours (RTO) from a backup no older than {rpo_hours} hours (RPO) deviates."))

TESTS = [DAILY_BACKUP, RETENTION, COPIES, S3_VERSIONING, RESTORE_TEST]
STORE_COLUMNS = ["store_id", "account_id", "region", "kind", "name", "arn", "critical", "created",
                 "rds_retention_days"]


def data_stores(rds: pd.DataFrame, volumes: pd.DataFrame, scope_tag: dict[str, str] | None,
                critical_tag: dict[str, str] | None) -> pd.DataFrame:
    """Databases and volumes in scope, with their ARN (how backups name them) and whether critical."""
    rows = []
    for d in rds.itertuples():
        if tagged(d.tags, scope_tag) and not (d.read_replica_source or ""):
            rows.append({"store_id": f"{d.account_id}:rds:{d.db_instance}", "account_id": d.account_id,
                         "region": d.region, "kind": "rds", "name": d.db_instance, "arn": d.arn,
                         "critical": bool(critical_tag) and tagged(d.tags, critical_tag), "created": d.created,
                         "rds_retention_days": d.backup_retention_days})
    for v in volumes.itertuples():
        if tagged(v.tags, scope_tag):
            name = v.name or v.volume_id
            rows.append({"store_id": f"{v.account_id}:ebs:{name}", "account_id": v.account_id, "region": v.region,
                         "kind": "ebs", "name": name, "arn": f"arn:aws:ec2:{v.region}:{v.account_id}:volume/"
                                                               f"{v.volume_id}",
                         "critical": bool(critical_tag) and tagged(v.tags, critical_tag), "created": v.created,
                         "rds_retention_days": None})
    return pd.DataFrame(rows, columns=STORE_COLUMNS)


def _backups(stores: pd.DataFrame, snapshots: pd.DataFrame, points: pd.DataFrame) -> pd.DataFrame:
    """Every completed backup of a store: ``store_id, created, source``."""
    by_arn = dict(zip(stores["arn"], stores["store_id"], strict=True))
    by_db = {(s.account_id, s.region, s.name): s.store_id for s in stores.itertuples() if s.kind == "rds"}
    rows = [{"store_id": by_db[(s.account_id, s.region, s.db_instance)], "created": s.created,
             "source": f"RDS {s.snapshot_type} snapshot"}
            for s in snapshots.itertuples()
            if s.status == "available" and (s.account_id, s.region, s.db_instance) in by_db]
    rows += [{"store_id": by_arn[p.resource_arn], "created": p.created,
              "source": "AWS Backup copy" if p.is_copy else "AWS Backup"}
             for p in points.itertuples() if p.status == "COMPLETED" and p.resource_arn in by_arn]
    frame = pd.DataFrame(rows, columns=["store_id", "created", "source"])
    frame["created"] = pd.to_datetime(frame["created"], utc=True)
    return frame


def daily_coverage(stores: pd.DataFrame, snapshots: pd.DataFrame, points: pd.DataFrame, period_start: datetime,
                   period_end: datetime, read_at: datetime | None = None) -> pd.DataFrame:
    """One row per (store, day of the period): whether a backup was taken that day, and by what.

    ``shown``: whether a backup made that day would still exist when the evidence was read (``read_at``): RDS
    keeps automated snapshots for the instance's retention, AWS Backup its recovery points for their lifecycle.
    A day with no backup that would have expired anyway is not evidence of a missed backup, only of a gap.
    """
    backups = _backups(stores, snapshots, points)
    backups["day"] = backups["created"].dt.floor("D")
    by_day = backups.groupby(["store_id", "day"])["source"].agg(lambda s: ";".join(sorted(set(s))))
    days = pd.date_range(pd.Timestamp(period_start), pd.Timestamp(period_end), freq="D", inclusive="left")
    kept = _kept_days(stores, points)
    rows = []
    for s in stores.itertuples():
        first = pd.Timestamp(s.created).floor("D") + pd.Timedelta(days=1) if pd.notna(s.created) else days[0]
        keep = kept.get(s.store_id)
        for day in days:
            sources = by_day.get((s.store_id, day), "")
            # Shown only if a backup made at any time of the day, even its first minute, would still exist.
            shown = read_at is None or keep is None or day + pd.Timedelta(days=keep) > pd.Timestamp(read_at)
            rows.append({"store_id": s.store_id, "day": day, "required": day >= first, "covered": bool(sources),
                         "shown": shown, "sources": sources})
    return pd.DataFrame(rows, columns=["store_id", "day", "required", "covered", "shown", "sources"])


def _kept_days(stores: pd.DataFrame, points: pd.DataFrame) -> dict[str, float | None]:
    """Store → the longest any of its mechanisms keeps a backup, in days (None: until deleted; 0: no mechanism)."""
    kept: dict[str, float | None] = {}
    for s in stores.itertuples():
        longest: float | None = float(s.rds_retention_days) if s.kind == "rds" and pd.notna(s.rds_retention_days) \
            else 0.0
        mine = points[(points["resource_arn"] == s.arn) & ~points["is_copy"].astype(bool)] if len(points) else points
        if len(mine):
            lifecycle = mine["delete_after_days"]
            longest = None if lifecycle.isna().any() else max(longest, float(lifecycle.max()))
        kept[s.store_id] = longest
    return kept


def _day_ranges(days: list[pd.Timestamp]) -> str:
    spans: list[list[pd.Timestamp]] = []
    for day in sorted(days):
        if spans and day - spans[-1][-1] == pd.Timedelta(days=1):
            spans[-1].append(day)
        else:
            spans.append([day])
    return ", ".join(f"{s[0]:%Y-%m-%d}" + (f"..{s[-1]:%Y-%m-%d}" if len(s) > 1 else "") for s in spans)


@DAILY_BACKUP.rule
def daily_backup(coverage: pd.DataFrame) -> TestResult:
    tested = Tested(coverage, "backup-daily-coverage").keep(
        lambda f: f["required"], "store-days from the day after each store was created")
    required = tested.frame
    deviations = []
    missed = required[~required["covered"] & required["shown"].astype(bool)]
    for store, group in missed.groupby("store_id", sort=True):
        deviations.append({"resource_type": store.split(":")[1] + "_data_store", "resource_id": store,
                           "detail": f"no backup on {len(group)} day{'s' if len(group) != 1 else ''} of the "
                                     f"period: {_day_ranges(list(group['day']))}",
                           "missing_days": len(group)})
    expired = required[~required["covered"] & ~required["shown"].astype(bool)]
    gaps = [f"{store}: no backup of {_day_ranges(list(group['day']))} is left to show, and one taken then would "
            "have expired before the evidence was read (its retention is shorter than the time since)"
            for store, group in expired.groupby("store_id", sort=True)]
    return evaluate(DAILY_BACKUP, tested, deviations, {"backups_per_day": ">= 1"}, gaps=gaps)


def retention_worksheet(stores: pd.DataFrame, points: pd.DataFrame, period_start: datetime,
                        period_end: datetime) -> pd.DataFrame:
    """One row per (store, backup mechanism) with the days it keeps backups (None: kept until deleted)."""
    rows = []
    for s in stores.itertuples():
        if s.kind == "rds":
            rows.append({"store_id": s.store_id, "mechanism": "RDS automated backups",
                         "retention_days": s.rds_retention_days})
        mine = points[(points["resource_arn"] == s.arn) & ~points["is_copy"] & (points["created"] >= period_start)
                      & (points["created"] < period_end)]
        for vault, group in mine.groupby("vault", sort=True):
            kept = group["delete_after_days"]
            rows.append({"store_id": s.store_id, "mechanism": f"AWS Backup vault {vault}",
                         "retention_days": None if kept.isna().any() else int(kept.min())})
    return pd.DataFrame(rows, columns=["store_id", "mechanism", "retention_days"])


@RETENTION.rule
def retention(sheet: pd.DataFrame, min_retention_days: int) -> TestResult:
    short = sheet[sheet["retention_days"].notna() & (sheet["retention_days"] < min_retention_days)]
    deviations = [{"resource_type": store.split(":")[1] + "_data_store", "resource_id": store,
                   "detail": "; ".join(f"{m.mechanism} kept {int(m.retention_days)} days" for m in group.itertuples())
                   + f" (minimum {min_retention_days})"}
                  for store, group in short.groupby("store_id", sort=True)]
    notes = ["An AWS Backup recovery point without a lifecycle is kept until deleted (no maximum)."]
    return evaluate(RETENTION, sheet, deviations, {"min_retention_days": min_retention_days}, notes)


@COPIES.rule
def copies(stores: pd.DataFrame, points: pd.DataFrame, period_start: datetime, period_end: datetime,
           max_copy_age_days: int, required: bool = True, read_at: datetime | None = None) -> TestResult:
    """Population: the critical stores. The control operates every week: at no moment of the period may a
    store's newest copy in another region or account be older than ``max_copy_age_days`` (a copy taken before
    the period counts for its first days), so every stretch without a fresh copy is named with its dates.

    A copy's lifecycle deletes it: where a copy made in a stretch would already have been deleted when the points
    were read (``read_at``), its absence shows nothing; that part is a gap in the evidence, not a deviation.
    """
    if not required:
        return not_applicable(COPIES, "params criteria.A1.2.copy_required is false")
    tested = _critical(stores)
    critical = tested.frame.copy()
    start, end, limit = pd.Timestamp(period_start), pd.Timestamp(period_end), pd.Timedelta(days=max_copy_age_days)
    latest, counted, deviations, gaps = [], [], [], []
    for s in critical.itertuples():
        mine = points[(points["resource_arn"] == s.arn) & (points["status"] == "COMPLETED") & points["is_copy"]
                      & ((points["region"] != s.region) | (points["account_id"] != s.account_id))
                      & (points["created"] < end)].sort_values("created")
        times = list(mine["created"])
        latest.append(times[-1] if times else pd.NaT)
        counted.append(sum(1 for t in times if t >= start))
        since = max(start, pd.Timestamp(s.created)) if pd.notna(s.created) else start
        stale, unseen = _split_unseen(_stale_stretches(list(times), since, end, limit),
                                      _shown_from(mine["delete_after_days"], read_at))
        gaps += [f"{s.store_id}: no copy of {_between(a, b)} is left to show, and one made then would have been "
                 "deleted by its lifecycle before the points were read" for a, b in unseen]
        if not times:
            detail = "no backup copy in another region or account"
        elif stale:
            detail = "no copy fresher than {} days {}".format(max_copy_age_days, "; ".join(
                f"from {_between(a, b)}" for a, b in stale))
        else:
            continue
        deviations.append({"resource_type": f"{s.kind}_data_store", "resource_id": s.store_id, "detail": detail})
    critical["latest_copy"] = pd.to_datetime(pd.Series(latest, index=critical.index), utc=True)
    critical["copies_in_period"] = pd.Series(counted, index=critical.index, dtype="int64")
    return evaluate(COPIES, tested.annotate(critical), deviations,
                    {"max_copy_age_days": max_copy_age_days, "copy_to": "another region or account",
                     "over the period": "the newest copy never older than max_copy_age_days"}, gaps=gaps)


def _between(a: pd.Timestamp, b: pd.Timestamp) -> str:
    return f"{a:%Y-%m-%d %H:%M} to {b:%Y-%m-%d %H:%M} UTC"


def _shown_from(lifecycles: pd.Series, read_at: datetime | None) -> pd.Timestamp | None:
    """The earliest moment a copy made then would still exist at ``read_at`` (None: every copy would)."""
    if read_at is None or lifecycles.empty or lifecycles.isna().any():
        return None
    return pd.Timestamp(read_at) - pd.Timedelta(days=float(lifecycles.max()))


def _split_unseen(stretches: list[tuple[pd.Timestamp, pd.Timestamp]], shown_from: pd.Timestamp | None
                  ) -> tuple[list[tuple[pd.Timestamp, pd.Timestamp]], list[tuple[pd.Timestamp, pd.Timestamp]]]:
    """Stale stretches split into what the points can show and what a lifecycle would have deleted since."""
    if shown_from is None:
        return stretches, []
    seen = [(max(a, shown_from), b) for a, b in stretches if b > shown_from]
    unseen = [(a, min(b, shown_from)) for a, b in stretches if a < shown_from]
    return seen, unseen


def _stale_stretches(times: list[pd.Timestamp], since: pd.Timestamp, end: pd.Timestamp,
                     limit: pd.Timedelta) -> list[tuple[pd.Timestamp, pd.Timestamp]]:
    """The stretches of ``[since, end)`` in which the newest copy was older than ``limit`` (or there was none)."""
    stretches = []
    previous = [t for t in times if t < since]
    fresh_until = (previous[-1] + limit) if previous else since
    for t in [t for t in times if t >= since] + [end]:
        if t > fresh_until and fresh_until < end:
            stretches.append((max(fresh_until, since), min(t, end)))
        fresh_until = max(fresh_until, t + limit)
    return [(a, b) for a, b in stretches if b > a]


def _critical(stores: pd.DataFrame) -> Tested:
    return Tested(stores, "backup-data-stores").keep(lambda f: f["critical"], "critical stores (critical tag)")


@S3_VERSIONING.rule
def bucket_versioning(buckets: pd.DataFrame, history: pd.DataFrame, scope_tag: dict[str, str] | None) -> TestResult:
    """A bucket in scope without versioning at collection or in any known interval of the period deviates (with the
    interval); an interval its timeline cannot show is a gap."""
    tested = Tested(buckets, "s3-bucket-versioning")
    if scope_tag:
        tested = tested.keep(lambda f: [tagged(t, scope_tag) for t in f["tags"]],
                             f"tagged {scope_tag['key']}={scope_tag['value']} (in scope)")
    deviations, labels = [], []
    for b in tested.frame.itertuples():
        label = timeline.resource_label(b.account_id, b.region, b.bucket)
        labels.append(label)
        problems = timeline.problems_over_time([f"versioning {b.versioning}"] if b.versioning != "Enabled" else [],
                                               timeline.known_intervals(history, label),
                                               lambda i: [] if i.versioning == "Enabled" else
                                               [f"versioning {i.versioning}"])
        if problems:
            deviations.append({"resource_type": "s3_bucket", "resource_id": f"{b.account_id}:s3:{b.bucket}",
                               "detail": "; ".join(problems)})
    return evaluate(S3_VERSIONING, tested, deviations, {"versioning": "Enabled", "scope_tag": scope_tag,
                                                        "over the period": "versioning on at every moment"},
                    gaps=timeline.gaps(history, labels))


def restore_tests(stores: pd.DataFrame, restore_jobs: pd.DataFrame, dr_tests: pd.DataFrame | None = None, *,
                  period_start: datetime, period_end: datetime) -> pd.DataFrame:
    """Every restore test of a store started in the period, from AWS Backup restore jobs and, when
    params name one, the DR test records."""
    by_arn = dict(zip(stores["arn"], stores["store_id"], strict=True))
    columns = ["store_id", "test_id", "source", "status", "started", "completed", "duration_minutes",
               "recovery_point_created", "data_age_hours"]
    rows: list[dict[str, Any]] = []
    for frame in (restore_jobs, *([] if dr_tests is None else [dr_tests])):
        if frame.empty:
            continue
        for j in frame.itertuples():
            store = getattr(j, "data_store", "") or by_arn.get(j.resource_arn, "")
            if not store or not (pd.Timestamp(period_start) <= j.started < pd.Timestamp(period_end)):
                continue
            age = (j.started - j.recovery_point_created).total_seconds() / 3600 if pd.notna(
                j.recovery_point_created) else None
            rows.append({"store_id": store, "test_id": j.restore_job_id, "source": j.source, "status": j.status,
                         "started": j.started, "completed": j.completed, "duration_minutes": j.duration_minutes,
                         "recovery_point_created": j.recovery_point_created,
                         "data_age_hours": None if age is None else round(age, 1)})
    return pd.DataFrame(rows, columns=columns)


@RESTORE_TEST.rule
def restore_tested(stores: pd.DataFrame, tests: pd.DataFrame, rto_hours: float, rpo_hours: float) -> TestResult:
    """Population: the critical stores; each needs a successful test within the RTO and RPO."""
    tested = _critical(stores)
    critical = tested.frame.copy()
    ok = tests[(tests["status"] == "COMPLETED") & tests["duration_minutes"].notna()]
    good = ok[(ok["duration_minutes"] <= rto_hours * 60) & ok["data_age_hours"].notna()
              & (ok["data_age_hours"] <= rpo_hours)]
    critical["restore_tests"] = [int((tests["store_id"] == s).sum()) for s in critical["store_id"]]
    critical["passing_tests"] = pd.Series([", ".join(good.loc[good["store_id"] == s, "test_id"])
                                           for s in critical["store_id"]], index=critical.index, dtype=str)
    deviations = []
    for s in critical[critical["passing_tests"] == ""].itertuples():
        mine = tests[tests["store_id"] == s.store_id]
        if mine.empty:
            detail = "no restore test in the period"
        else:
            detail = "; ".join(
                f"{t.test_id} {t.status.lower()}" + (f", {t.duration_minutes:g} min (RTO {rto_hours:g} h)"
                                                     if pd.notna(t.duration_minutes) else "")
                + (f", data {t.data_age_hours:g} h old (RPO {rpo_hours:g} h)" if pd.notna(t.data_age_hours) else "")
                for t in mine.itertuples()) + ": no test succeeded within RTO and RPO"
        deviations.append({"resource_type": f"{s.kind}_data_store", "resource_id": s.store_id, "detail": detail})
    threshold = {"rto_hours": rto_hours, "rpo_hours": rpo_hours, "tests_per_period": ">= 1"}
    return evaluate(RESTORE_TEST, tested.annotate(critical), deviations, threshold)

