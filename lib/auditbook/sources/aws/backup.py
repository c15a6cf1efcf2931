"""AWS Backup: recovery points of every vault in the regions given (the regions in scope and the regions
copies go to, so copies are seen with their ``SourceBackupVaultArn``), and the restore jobs created in the
period (``ByCreatedAfter``/``ByCreatedBefore``, restore-testing jobs included).
"""

from __future__ import annotations

import pandas as pd

from auditbook.period import Period
from auditbook.provenance import Collected, RawStore, iso
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
    return Collected(pd.DataFrame(rows), prov)


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
