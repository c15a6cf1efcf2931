"""Auto Scaling: every group with its zones, sizes, health check type and tags.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from auditbook.provenance import Collected, RawStore
from auditbook.sources.aws.base import each_region, in_region, provenance, tag_text
from auditbook.sources.aws.session import AwsAccount
from auditbook.timeline import ChangeCalls

# Calls that may change a group's zones or sizes: all but scaling it within them and its instances' lifecycle.
GROUP_CHANGES = ChangeCalls(
    "autoscaling.amazonaws.com", "(?!SetDesiredCapacity$|ExecutePolicy$|SetInstanceHealth$|SetInstanceProtection$"
    "|RecordLifecycleActionHeartbeat$|CompleteLifecycleAction$|TerminateInstanceInAutoScalingGroup$).*",
    "Auto Scaling calls on groups' zones and sizes")
# The calls that change a group's zones or minimum size (the group timeline cross-checks Config history with them).
GROUP_SETTING_CHANGES = ChangeCalls("autoscaling.amazonaws.com",
                                    "CreateAutoScalingGroup|UpdateAutoScalingGroup|DeleteAutoScalingGroup",
                                    "Auto Scaling calls on a group's zones and sizes",
                                    resource_parameter="autoScalingGroupName")


def collect_autoscaling_groups(account: AwsAccount, raw: RawStore, regions: list[str]) -> Collected:
    prov = provenance(account, "aws:autoscaling")
    rows = []
    for region, g in each_region(account, regions, "autoscaling:DescribeAutoScalingGroups", "AutoScalingGroups", prov,
                                 raw, "groups.json"):
        zones = sorted(set(g.get("AvailabilityZones", [])))
        rows.append({
            **in_region(account, region), "name": g["AutoScalingGroupName"], "arn": g.get("AutoScalingGroupARN", ""),
            "availability_zones": ";".join(zones), "az_count": len(zones), "min_size": g["MinSize"],
            "max_size": g["MaxSize"], "desired_capacity": g.get("DesiredCapacity"),
            "health_check_type": g.get("HealthCheckType", ""),
            "target_groups": ";".join(a.rsplit("/", 2)[-2] for a in g.get("TargetGroupARNs", [])),
            "instances": len(g.get("Instances", [])), "tags": tag_text(g.get("Tags")),
            "created": g.get("CreatedTime"),
        })
    return Collected(pd.DataFrame(rows), prov)


def group_from_config(configuration: dict[str, Any], supplementary: dict[str, Any]) -> dict[str, Any]:
    """An Auto Scaling group's zones and sizes as an AWS Config item records them
    (``AWS::AutoScaling::AutoScalingGroup``: the ``DescribeAutoScalingGroups`` fields in camelCase)."""
    zones = sorted(set(configuration.get("availabilityZones") or []))
    return {"name": configuration.get("autoScalingGroupName", ""), "availability_zones": ";".join(zones),
            "az_count": len(zones), "min_size": configuration.get("minSize")}
