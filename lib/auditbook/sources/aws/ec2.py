"""EC2: EBS volumes with their size, state and tags.
"""

from __future__ import annotations

import pandas as pd

from auditbook.provenance import Collected, RawStore
from auditbook.sources.aws.base import each_region, provenance, tag_text
from auditbook.sources.aws.session import AwsAccount


def collect_volumes(account: AwsAccount, raw: RawStore, regions: list[str]) -> Collected:
    prov = provenance(account, "aws:ec2")
    rows = []
    for region, v in each_region(account, regions, "ec2:DescribeVolumes", "Volumes", prov, raw, "volumes.json"):
        tags = {t["Key"]: t["Value"] for t in v.get("Tags", [])}
        rows.append({"account_id": account.account_id, "region": region, "volume_id": v["VolumeId"],
                     "name": tags.get("Name", ""), "size_gib": v.get("Size"), "state": v.get("State", ""),
                     "availability_zone": v.get("AvailabilityZone", ""), "tags": tag_text(tags),
                     "created": v.get("CreateTime")})
    return Collected(pd.DataFrame(rows), prov)
