"""RDS: DB instances (Multi-AZ, backup retention, tags) and DB snapshots (automated and manual; copies
appear in their destination region).
"""

from __future__ import annotations

import pandas as pd

from auditbook.provenance import Collected, RawStore
from auditbook.sources.aws.base import each_region, in_region, provenance, tag_text
from auditbook.sources.aws.session import AwsAccount
from auditbook.timeline import ChangeCalls

# Calls that may change a DB instance's settings: all but the (daily, AWS Backup-made) snapshots' own calls.
INSTANCE_CHANGES = ChangeCalls("rds.amazonaws.com", "(?!.*Snapshot).*", "RDS calls on DB instances")


def collect_rds_instances(account: AwsAccount, raw: RawStore, regions: list[str]) -> Collected:
    prov = provenance(account, "aws:rds")
    rows = [{
        **in_region(account, region), "db_instance": db["DBInstanceIdentifier"], "arn": db.get("DBInstanceArn", ""),
        "engine": db.get("Engine", ""), "instance_class": db.get("DBInstanceClass", ""),
        "status": db.get("DBInstanceStatus", ""), "multi_az": bool(db.get("MultiAZ")),
        "availability_zone": db.get("AvailabilityZone", ""),
        "secondary_availability_zone": db.get("SecondaryAvailabilityZone", ""),
        "backup_retention_days": int(db.get("BackupRetentionPeriod") or 0),
        "latest_restorable_time": db.get("LatestRestorableTime"), "storage_encrypted": bool(db.get("StorageEncrypted")),
        "read_replica_source": db.get("ReadReplicaSourceDBInstanceIdentifier", ""),
        "tags": tag_text(db.get("TagList")), "created": db.get("InstanceCreateTime"),
    } for region, db in each_region(account, regions, "rds:DescribeDBInstances", "DBInstances", prov, raw,
                                    "db-instances.json")]
    return Collected(pd.DataFrame(rows), prov)


def collect_rds_snapshots(account: AwsAccount, raw: RawStore, regions: list[str]) -> Collected:
    """Automated and manual DB snapshots in each region (copies appear in their destination region)."""
    prov = provenance(account, "aws:rds")
    rows = [{
        "account_id": account.account_id, "region": region, "snapshot_id": s["DBSnapshotIdentifier"],
        "snapshot_arn": s.get("DBSnapshotArn", ""), "db_instance": s.get("DBInstanceIdentifier", ""),
        "snapshot_type": s.get("SnapshotType", ""), "status": s.get("Status", ""),
        "created": s.get("SnapshotCreateTime") or s.get("OriginalSnapshotCreateTime"),
        "encrypted": bool(s.get("Encrypted")), "source_region": s.get("SourceRegion", "") or region,
    } for region, s in each_region(account, regions, "rds:DescribeDBSnapshots", "DBSnapshots", prov, raw,
                                   "db-snapshots.json")]
    return Collected(pd.DataFrame(rows), prov)
