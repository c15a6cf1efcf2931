"""AWS Backup: recovery points of every vault in the regions given (the regions in scope and the regions
copies go to, so copies are seen with their ``SourceBackupVaultArn``), and the restore jobs created in the
period (``ByCreatedAfter``/``ByCreatedBefore``, restore-testing jobs included).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pandas as pd

from auditbook.period import Period
from auditbook.provenance import Collected, CollectionError, RawStore, iso, utc_now
from auditbook.sources.aws.base import all_pages, items, provenance, recorded_items
from auditbook.sources.aws.session import AwsAccount


def collect_recovery_points(account: AwsAccount, raw: RawStore, regions: list[str]) -> Collected:
    """Every recovery point of every AWS Backup vault in ``regions``."""
    prov = provenance(account, "aws:backup")
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
    if problems := inconsistent_points(rows, utc_now()):
        raise CollectionError(f"backup:ListRecoveryPointsByBackupVault: the answer is inconsistent: {problems}")
    return Collected(pd.DataFrame(rows), prov)


# AWS Backup deletes a recovery point when its lifecycle ends (status DELETING, then gone; EXPIRED when it could
# not). A listing that still shows a point as available long after that is not the vault as it is now.
DELETION_GRACE = timedelta(days=7)
_LIVE = {"COMPLETED", "AVAILABLE", "PARTIAL"}


def inconsistent_points(rows: list[dict[str, Any]], read_at: datetime) -> str:
    """Why a listing of recovery points cannot be the vaults' true state ('' when it can): a point deleted before
    it was created, or one still live more than ``DELETION_GRACE`` after the lifecycle deleted it."""
    backwards = [r for r in rows if r["delete_at"] and r["created"] and r["delete_at"] < r["created"]]
    overdue = [r for r in rows if r["delete_at"] and r["status"] in _LIVE and r["delete_at"] < read_at - DELETION_GRACE]
    out = []
    if backwards:
        r = backwards[0]
        out.append(f"{len(backwards)} recovery point(s) deleted before they were created (e.g. "
                   f"{r['recovery_point_arn']}: created {iso(r['created'])}, delete at {iso(r['delete_at'])})")
    if overdue:
        r = overdue[0]
        out.append(f"{len(overdue)} recovery point(s) still {r['status']} more than {DELETION_GRACE.days} days after "
                   f"their lifecycle deleted them (e.g. {r['recovery_point_arn']}: delete at {iso(r['delete_at'])}, "
                   f"read {iso(read_at)}): the listing is stale")
    return "; ".join(out)


def collect_restore_jobs(account: AwsAccount, raw: RawStore, regions: list[str], period: Period) -> Collected:
    """AWS Backup restore jobs created in the period (restore-testing jobs included)."""
    prov = provenance(account, "aws:backup")
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
    return Collected(pd.DataFrame(rows), prov)
