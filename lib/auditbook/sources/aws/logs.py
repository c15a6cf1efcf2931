"""CloudWatch Logs: every log group with its retention (none = never expire).
"""

from __future__ import annotations

import pandas as pd

from auditbook.provenance import Population, RawStore
from auditbook.sources.aws.base import all_pages, provenance
from auditbook.sources.aws.session import AwsAccount

LOG_GROUP_COLUMNS = ["account_id", "region", "log_group", "retention_days", "created", "stored_bytes", "kms_key_id"]


def collect_log_groups(account: AwsAccount, raw: RawStore, regions: list[str]) -> Population:
    """Every CloudWatch Logs log group in each region in scope, with its retention (none = never expire)."""
    prov = provenance(account, "aws:logs")
    rows = []
    for region in regions:
        logs = account.client("logs", region)
        pages = all_pages(logs, "describe_log_groups", f"logs:DescribeLogGroups ({region})")
        groups = [g for p in pages for g in p.get("logGroups", [])]
        prov.add_operation("logs:DescribeLogGroups", {"region": region}, pages=len(pages), records=len(groups))
        prov.raw_files.append(raw.save(f"aws/{account.account_id}/logs/{region}/describe-log-groups.json", pages))
        rows += [{"account_id": account.account_id, "region": region, "log_group": g["logGroupName"],
                  "retention_days": g.get("retentionInDays"), "created": g.get("creationTime"),
                  "stored_bytes": g.get("storedBytes", 0), "kms_key_id": g.get("kmsKeyId") or ""} for g in groups]
    frame = pd.DataFrame(rows, columns=LOG_GROUP_COLUMNS)
    frame["retention_days"] = pd.array(frame["retention_days"], dtype="Int64")
    frame["created"] = pd.to_datetime(frame["created"], unit="ms", utc=True)
    return Population("cloudwatch-log-groups", frame, prov)
