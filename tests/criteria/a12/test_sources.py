"""A1.2 sources: AWS Backup recovery points and restore jobs, the DR test records file."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import boto3
import pandas as pd
import pytest
from auditbook.catalog import population as held
from auditbook.demo import aws_resilience, moto_extensions
from auditbook.demo.aws import DEMO_REGION
from auditbook.demo.github.company import PRODUCTION_BRANCHES
from auditbook.period import parse_period
from auditbook.provenance import CollectionError, RawStore
from auditbook.sources import files
from auditbook.sources.aws import backup
from freezegun import freeze_time

PERIOD = parse_period("2026-Q3")
REPOS = list(PRODUCTION_BRANCHES)


def test_backup_extension_serves_recovery_points_and_restore_jobs_by_page(account, raw):
    pop = held("backup-recovery-points",
               backup.collect_recovery_points(account, raw, [DEMO_REGION, aws_resilience.COPY_REGION]))
    frame = pop.frame
    primary = frame[~frame["is_copy"]]
    ledger = primary[primary["resource_name"] == "ledger-prod"]
    days = set(ledger["created"].dt.date)
    assert not {d for d in aws_resilience.DATABASES[1].missing_backup_days} & days
    copies = frame[frame["is_copy"]]
    assert set(copies["region"]) == {aws_resilience.COPY_REGION} and copies["source_vault_arn"].str.contains(
        "prod-vault").all()
    op = next(o for o in pop.provenance.operations if o.parameters.get("BackupVaultName") == "prod-vault")
    assert op.pages > 1 and op.records == len(primary)  # more than one page of 100, all followed
    jobs = held("backup-restore-jobs", backup.collect_restore_jobs(account, raw, [DEMO_REGION], PERIOD)).frame
    assert len(jobs) == 2  # the May restore job is outside ByCreatedAfter/ByCreatedBefore
    assert set(jobs["status"]) == {"COMPLETED"} and jobs["duration_minutes"].tolist() == [25.0, 70.0]


def test_the_listing_holds_the_points_that_exist_when_it_is_read(account, tmp_path):
    """AWS Backup deletes a point when its lifecycle ends: read on 2026-09-15, the primary points (kept 120 days)
    go back to mid-May and none is from after the read; read now, none is older than 120 days."""
    with freeze_time("2026-09-15T12:00:00", tick=True):
        then = backup.collect_recovery_points(account, RawStore(tmp_path / "then"), [DEMO_REGION]).frame
    assert then["created"].max() < pd.Timestamp("2026-09-15T12:00:00Z")
    assert then["created"].min() >= pd.Timestamp("2026-05-18T12:00:00Z")
    now = backup.collect_recovery_points(account, RawStore(tmp_path / "now"), [DEMO_REGION]).frame
    assert (now["delete_at"] > pd.Timestamp.now(tz="UTC")).all()


def test_a_listing_with_points_past_their_deletion_or_deleted_before_created_is_inconsistent():
    read = datetime(2026, 12, 3, tzinfo=UTC)

    def point(created: str, delete_at: str, status: str = "COMPLETED") -> dict:
        return {"recovery_point_arn": f"arn:rp:{created}", "status": status,
                "created": datetime.fromisoformat(created).replace(tzinfo=UTC),
                "delete_at": datetime.fromisoformat(delete_at).replace(tzinfo=UTC)}

    assert backup.inconsistent_points([point("2026-08-01", "2026-11-29")], read) == ""  # deletion may lag a little
    assert backup.inconsistent_points([point("2026-08-01", "2026-11-20", "EXPIRED")], read) == ""  # AWS says so
    stale = backup.inconsistent_points([point("2026-07-01", "2026-10-29"), point("2026-07-02", "2026-10-30")], read)
    assert stale.startswith("2 recovery point(s) still COMPLETED more than 7 days after their lifecycle deleted "
                            "them (e.g. arn:rp:2026-07-01") and stale.endswith("the listing is stale")
    assert backup.inconsistent_points([point("2026-08-01", "2026-07-01")], read).startswith(
        "1 recovery point(s) deleted before they were created")


def test_backup_extension_answers_like_aws_for_an_unknown_vault(demo_env):
    client = boto3.client("backup", region_name=DEMO_REGION)
    with pytest.raises(client.exceptions.ClientError) as err:
        client.list_recovery_points_by_backup_vault(BackupVaultName="nope")
    assert err.value.response["Error"]["Code"] == "ResourceNotFoundException"
    response = client.list_restore_jobs(ByStatus="FAILED")
    assert response["RestoreJobs"] == []
    assert moto_extensions.BACKUP_STATE  # the demo seeded the extension's state


def test_dr_test_records_are_read_strictly(tmp_path, raw):
    good = tmp_path / "dr.yaml"
    good.write_text(json.dumps([{"data_store": "1:rds:db", "started_at": "2026-07-02T10:00:00Z",
                                 "completed_at": "2026-07-02T11:00:00Z", "data_as_of": "2026-07-02T03:00:00Z",
                                 "outcome": "success"}]))
    pop = held("dr-test-records", files.collect_dr_tests(good, raw))
    frame = pop.frame
    assert frame.loc[0, "duration_minutes"] == 60.0 and frame.loc[0, "status"] == "COMPLETED"
    assert pop.provenance.raw_files[0]["path"] == "raw/files/dr_test_records/dr.yaml"  # under its params key
    bad = tmp_path / "bad.yaml"
    bad.write_text(json.dumps([{"data_store": "1:rds:db", "outcome": "success"}]))
    with pytest.raises(CollectionError, match="entry 1 lacks started_at"):
        held("dr-test-records", files.collect_dr_tests(bad, raw))
    with pytest.raises(CollectionError, match="DR test records"):
        held("dr-test-records", files.collect_dr_tests(tmp_path / "missing.yaml", raw))
