"""A1.2 sources: AWS Backup recovery points and restore jobs, the DR test records file."""

from __future__ import annotations

import json

import boto3
import pytest
from auditbook.catalog import population as held
from auditbook.demo import aws_resilience, moto_extensions
from auditbook.demo.aws import DEMO_REGION
from auditbook.demo.github.company import PRODUCTION_BRANCHES
from auditbook.period import parse_period
from auditbook.provenance import CollectionError
from auditbook.sources import files
from auditbook.sources.aws import backup

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
