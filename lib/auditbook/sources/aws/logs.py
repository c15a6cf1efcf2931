"""CloudWatch Logs: every log group with its retention (none = never expire).
"""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd

from auditbook.provenance import Collected, RawStore
from auditbook.sources.aws.base import all_pages, provenance
from auditbook.sources.aws.session import AwsAccount
from auditbook.timeline import ChangeCalls

# Calls that may change a log group's retention or key: all but writing its streams and events.
LOG_GROUP_CHANGES = ChangeCalls("logs.amazonaws.com", "(?!PutLogEvents$|CreateLogStream$|DeleteLogStream$).*",
                                "CloudWatch Logs calls on log groups")


def collect_log_groups(account: AwsAccount, raw: RawStore, regions: list[str]) -> Collected:
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
                  "retention_days": g.get("retentionInDays"), "created": _epoch_ms(g.get("creationTime")),
                  "stored_bytes": g.get("storedBytes", 0), "kms_key_id": g.get("kmsKeyId") or ""} for g in groups]
    return Collected(pd.DataFrame(rows), prov)


def _epoch_ms(value: int | None) -> datetime | None:
    """CloudWatch Logs gives times as milliseconds since the epoch."""
    return None if value is None else datetime.fromtimestamp(value / 1000, UTC)
