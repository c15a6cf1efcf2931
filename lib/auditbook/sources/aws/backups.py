"""Backup and recovery evidence: RDS snapshots, AWS Backup recovery points and restore jobs, EBS
volumes, S3 bucket versioning, and the organization's own record of disaster-recovery tests.

Recovery points are listed from every vault of every region given (the regions in scope and the
regions copies go to), so copies in another region are seen with their ``SourceBackupVaultArn``.
Restore jobs are listed for the period (``ByCreatedAfter``/``ByCreatedBefore``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from auditbook.period import Period
from auditbook.provenance import CollectionError, Population, Provenance, RawStore, iso, sha256_bytes, utc_now
from auditbook.sources.aws.iam import _provenance, aws_errors
from auditbook.sources.aws.pages import all_pages, items, recorded_items, tag_text
from auditbook.sources.aws.session import AwsAccount
from auditbook.sources.times import utc_times

SNAPSHOT_COLUMNS = ["account_id", "region", "snapshot_id", "snapshot_arn", "db_instance", "snapshot_type",
                    "status", "created", "encrypted", "source_region"]
RECOVERY_POINT_COLUMNS = ["account_id", "region", "vault", "recovery_point_arn", "resource_arn", "resource_type",
                          "resource_name", "status", "created", "completed", "delete_after_days", "delete_at",
                          "source_vault_arn", "is_copy"]
RESTORE_JOB_COLUMNS = ["account_id", "region", "restore_job_id", "source", "recovery_point_arn", "resource_arn",
                       "resource_type", "status", "validation_status", "started", "completed", "duration_minutes",
                       "recovery_point_created", "created_resource_arn"]
VOLUME_COLUMNS = ["account_id", "region", "volume_id", "name", "size_gib", "state", "availability_zone", "tags",
                  "created"]
BUCKET_COLUMNS = ["account_id", "bucket", "region", "versioning", "mfa_delete", "tags", "created"]
DR_TEST_FIELDS = ["data_store", "started_at", "completed_at", "data_as_of", "outcome"]


def collect_rds_snapshots(account: AwsAccount, raw: RawStore, regions: list[str]) -> Population:
    """Automated and manual DB snapshots in each region (copies appear in their destination region)."""
    prov = _provenance(account, "aws:rds")
    rows = []
    for region in regions:
        snaps = recorded_items(account.client("rds", region), "rds:DescribeDBSnapshots", "DBSnapshots", prov, raw,
                               f"aws/{account.account_id}/rds/{region}/db-snapshots.json", region)
        rows += [{
            "account_id": account.account_id, "region": region, "snapshot_id": s["DBSnapshotIdentifier"],
            "snapshot_arn": s.get("DBSnapshotArn", ""), "db_instance": s.get("DBInstanceIdentifier", ""),
            "snapshot_type": s.get("SnapshotType", ""), "status": s.get("Status", ""),
            "created": s.get("SnapshotCreateTime") or s.get("OriginalSnapshotCreateTime"),
            "encrypted": bool(s.get("Encrypted")), "source_region": s.get("SourceRegion", "") or region,
        } for s in snaps]
    frame = utc_times(pd.DataFrame(rows, columns=SNAPSHOT_COLUMNS), ["created"])
    return Population("rds-snapshots", frame, prov)


def collect_recovery_points(account: AwsAccount, raw: RawStore, regions: list[str]) -> Population:
    """Every recovery point of every AWS Backup vault in ``regions``."""
    prov = _provenance(account, "aws:backup")
    rows = []
    for region in regions:
        backup = account.client("backup", region)
        vaults = recorded_items(backup, "backup:ListBackupVaults", "BackupVaultList", prov, raw,
                                f"aws/{account.account_id}/backup/{region}/vaults.json", region)
        for vault in vaults:
            name = vault["BackupVaultName"]
            pages = all_pages(backup, "list_recovery_points_by_backup_vault",
                              f"backup:ListRecoveryPointsByBackupVault {name} ({region})", BackupVaultName=name)
            points = items(pages, "RecoveryPoints")
            prov.add_operation("backup:ListRecoveryPointsByBackupVault", {"region": region, "BackupVaultName": name},
                               len(pages), len(points))
            prov.raw_files.append(raw.save(f"aws/{account.account_id}/backup/{region}/recovery-points-{name}.json",
                                           pages, compress=True))
            for p in points:
                lifecycle = p.get("Lifecycle") or {}
                rows.append({
                    "account_id": account.account_id, "region": region, "vault": name,
                    "recovery_point_arn": p["RecoveryPointArn"], "resource_arn": p.get("ResourceArn", ""),
                    "resource_type": p.get("ResourceType", ""), "resource_name": p.get("ResourceName", ""),
                    "status": p.get("Status", ""), "created": p.get("CreationDate"),
                    "completed": p.get("CompletionDate"), "delete_after_days": lifecycle.get("DeleteAfterDays"),
                    "delete_at": (p.get("CalculatedLifecycle") or {}).get("DeleteAt"),
                    "source_vault_arn": p.get("SourceBackupVaultArn", ""),
                    "is_copy": bool(p.get("SourceBackupVaultArn")),
                })
    frame = utc_times(pd.DataFrame(rows, columns=RECOVERY_POINT_COLUMNS), ["created", "completed", "delete_at"])
    frame["delete_after_days"] = pd.to_numeric(frame["delete_after_days"])
    return Population("backup-recovery-points", frame, prov)


def collect_restore_jobs(account: AwsAccount, raw: RawStore, regions: list[str], period: Period) -> Population:
    """AWS Backup restore jobs created in the period (restore-testing jobs included)."""
    prov = _provenance(account, "aws:backup")
    rows = []
    for region in regions:
        backup = account.client("backup", region)
        params = {"ByCreatedAfter": period.start, "ByCreatedBefore": period.end}
        pages = all_pages(backup, "list_restore_jobs", f"backup:ListRestoreJobs ({region})", **params)
        jobs = items(pages, "RestoreJobs")
        prov.add_operation("backup:ListRestoreJobs", {"region": region, "ByCreatedAfter": iso(period.start),
                                                      "ByCreatedBefore": iso(period.end)}, len(pages), len(jobs))
        prov.raw_files.append(raw.save(f"aws/{account.account_id}/backup/{region}/restore-jobs.json", pages))
        for j in jobs:
            started, completed = j.get("CreationDate"), j.get("CompletionDate")
            rows.append({
                "account_id": account.account_id, "region": region, "restore_job_id": j["RestoreJobId"],
                "source": "aws-backup-restore-job", "recovery_point_arn": j.get("RecoveryPointArn", ""),
                "resource_arn": j.get("SourceResourceArn", ""), "resource_type": j.get("ResourceType", ""),
                "status": j.get("Status", ""), "validation_status": j.get("ValidationStatus", ""),
                "started": started, "completed": completed,
                "duration_minutes": round((completed - started).total_seconds() / 60, 1)
                if started and completed else None,
                "recovery_point_created": j.get("RecoveryPointCreationDate"),
                "created_resource_arn": j.get("CreatedResourceArn", ""),
            })
    frame = utc_times(pd.DataFrame(rows, columns=RESTORE_JOB_COLUMNS),
                      ["started", "completed", "recovery_point_created"])
    return Population("backup-restore-jobs", frame, prov)


def collect_volumes(account: AwsAccount, raw: RawStore, regions: list[str]) -> Population:
    prov = _provenance(account, "aws:ec2")
    rows = []
    for region in regions:
        volumes = recorded_items(account.client("ec2", region), "ec2:DescribeVolumes", "Volumes", prov, raw,
                                 f"aws/{account.account_id}/ec2/{region}/volumes.json", region)
        for v in volumes:
            tags = {t["Key"]: t["Value"] for t in v.get("Tags", [])}
            rows.append({"account_id": account.account_id, "region": region, "volume_id": v["VolumeId"],
                         "name": tags.get("Name", ""), "size_gib": v.get("Size"), "state": v.get("State", ""),
                         "availability_zone": v.get("AvailabilityZone", ""), "tags": tag_text(tags),
                         "created": v.get("CreateTime")})
    return Population("ebs-volumes", utc_times(pd.DataFrame(rows, columns=VOLUME_COLUMNS), ["created"]), prov)


def collect_bucket_versioning(account: AwsAccount, raw: RawStore) -> Population:
    """Every bucket of the account with its versioning status and tags."""
    prov = _provenance(account, "aws:s3")
    s3 = account.client("s3")
    pages = all_pages(s3, "list_buckets", "s3:ListBuckets")  # a ContinuationToken is followed, never ignored
    listing = {"Buckets": items(pages, "Buckets"), "Owner": pages[0].get("Owner") if pages else None}
    buckets = listing["Buckets"]
    prov.add_operation("s3:ListBuckets", {}, len(pages), len(buckets))
    details, rows = {}, []
    for b in buckets:
        name = b["Name"]
        with aws_errors(f"s3:GetBucketLocation {name}"):
            region = s3.get_bucket_location(Bucket=name).get("LocationConstraint") or "us-east-1"
        with aws_errors(f"s3:GetBucketVersioning {name}"):
            versioning = s3.get_bucket_versioning(Bucket=name)
        versioning.pop("ResponseMetadata", None)
        tags = _bucket_tags(s3, name)
        details[name] = {"region": region, "versioning": versioning, "tags": tags}
        rows.append({"account_id": account.account_id, "bucket": name, "region": region,
                     "versioning": versioning.get("Status", "Never enabled"),
                     "mfa_delete": versioning.get("MFADelete", "Disabled"), "tags": tag_text(tags),
                     "created": b.get("CreationDate")})
    for op in ("s3:GetBucketLocation", "s3:GetBucketVersioning", "s3:GetBucketTagging"):
        prov.add_operation(op, {}, len(buckets), len(buckets))
    prov.raw_files.append(raw.save(f"aws/{account.account_id}/s3/bucket-versioning.json",
                                   {"ListBuckets": listing, "buckets": details}))
    return Population("s3-bucket-versioning", utc_times(pd.DataFrame(rows, columns=BUCKET_COLUMNS), ["created"]), prov)


def _bucket_tags(s3: Any, bucket: str) -> list[dict[str, str]]:
    """A bucket's tags; ``NoSuchTagSet`` (a bucket without tags) is an empty list, any other error fails."""
    try:
        with aws_errors(f"s3:GetBucketTagging {bucket}"):
            return s3.get_bucket_tagging(Bucket=bucket).get("TagSet", [])
    except CollectionError as exc:
        if ": NoSuchTagSet:" in str(exc):
            return []
        raise


def collect_dr_tests(path: str | Path, raw: RawStore) -> Population:
    """The organization's record of disaster-recovery restore tests: a YAML list of
    ``{data_store, started_at, completed_at, data_as_of, outcome, evidence}`` (``data_store`` as
    ``<account>:<rds|ebs>:<name>``). A file that is missing or malformed is an error."""
    file = Path(path)
    try:
        content = file.read_bytes()
        records = yaml.safe_load(content) or []
    except (OSError, yaml.YAMLError) as exc:
        raise CollectionError(f"DR test records {file}: {type(exc).__name__}: {exc}") from None
    if not isinstance(records, list):
        raise CollectionError(f"DR test records {file}: expected a list of tests")
    rows = []
    for n, rec in enumerate(records, start=1):
        missing = [f for f in DR_TEST_FIELDS if not isinstance(rec, dict) or rec.get(f) in (None, "")]
        if missing:
            raise CollectionError(f"DR test records {file}: entry {n} lacks {', '.join(missing)}")
        started, completed = _when(rec["started_at"]), _when(rec["completed_at"])
        rows.append({
            "account_id": str(rec["data_store"]).split(":", 1)[0], "region": rec.get("region", ""),
            "restore_job_id": rec.get("id", f"dr-test-{n}"), "source": "dr-test-record",
            "recovery_point_arn": rec.get("recovery_point", ""), "resource_arn": "",
            "data_store": rec["data_store"], "resource_type": rec.get("resource_type", ""),
            "status": "COMPLETED" if str(rec["outcome"]).lower() in ("success", "succeeded", "passed")
            else str(rec["outcome"]).upper(),
            "validation_status": str(rec["outcome"]).upper(), "started": started, "completed": completed,
            "duration_minutes": round((completed - started).total_seconds() / 60, 1),
            "recovery_point_created": _when(rec["data_as_of"]), "created_resource_arn": rec.get("evidence", ""),
        })
    saved = raw.save(f"files/dr-tests-{file.name}", content)
    prov = Provenance(system="file", endpoint=str(file.resolve()), scope="disaster-recovery test records",
                      caller="auditbook", collected_at=iso(utc_now()) or "", raw_files=[saved])
    prov.add_operation("read file", {"path": str(file), "sha256": sha256_bytes(content)}, 1, len(rows))
    frame = utc_times(pd.DataFrame(rows, columns=[*RESTORE_JOB_COLUMNS, "data_store"]),
                   ["started", "completed", "recovery_point_created"])
    return Population("dr-test-records", frame, prov)


def _when(value: Any) -> datetime:
    ts = value if isinstance(value, datetime) else datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return ts if ts.tzinfo else ts.replace(tzinfo=UTC)
