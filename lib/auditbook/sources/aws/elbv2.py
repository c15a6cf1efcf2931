"""Elastic Load Balancing (v2): target groups with their health checks and the health of their targets.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from auditbook.provenance import Collected, RawStore
from auditbook.sources.aws.base import all_pages, aws_errors, in_region, items, provenance
from auditbook.sources.aws.session import AwsAccount


def collect_target_groups(account: AwsAccount, raw: RawStore, regions: list[str]) -> Collected:
    prov = provenance(account, "aws:elasticloadbalancing")
    rows = []
    for region in regions:
        elb = account.client("elbv2", region)
        lb_pages = all_pages(elb, "describe_load_balancers", f"elasticloadbalancing:DescribeLoadBalancers ({region})")
        tg_pages = all_pages(elb, "describe_target_groups", f"elasticloadbalancing:DescribeTargetGroups ({region})")
        lbs = {lb["LoadBalancerArn"]: lb["LoadBalancerName"] for lb in items(lb_pages, "LoadBalancers")}
        groups = items(tg_pages, "TargetGroups")
        health: dict[str, Any] = {}
        for tg in groups:
            with aws_errors(f"elasticloadbalancing:DescribeTargetHealth {tg['TargetGroupName']} ({region})"):
                response = elb.describe_target_health(TargetGroupArn=tg["TargetGroupArn"])
            response.pop("ResponseMetadata", None)
            health[tg["TargetGroupArn"]] = response
        prov.add_operation("elasticloadbalancing:DescribeLoadBalancers", {"region": region}, len(lb_pages), len(lbs))
        prov.add_operation("elasticloadbalancing:DescribeTargetGroups", {"region": region}, len(tg_pages),
                           len(groups))
        prov.add_operation("elasticloadbalancing:DescribeTargetHealth", {"region": region}, len(health),
                           sum(len(h.get("TargetHealthDescriptions", [])) for h in health.values()))
        base = f"aws/{account.account_id}/elbv2/{region}"
        prov.raw_files.append(raw.save(f"{base}/load-balancers.json", lb_pages))
        prov.raw_files.append(raw.save(f"{base}/target-groups.json", tg_pages))
        prov.raw_files.append(raw.save(f"{base}/target-health.json", health))
        for tg in groups:
            targets = health[tg["TargetGroupArn"]].get("TargetHealthDescriptions", [])
            rows.append({
                **in_region(account, region), "target_group_name": tg["TargetGroupName"],
                "target_group_arn": tg["TargetGroupArn"], "protocol": tg.get("Protocol", ""),
                "port": tg.get("Port"), "target_type": tg.get("TargetType", ""),
                "load_balancers": ";".join(sorted(lbs.get(a, a) for a in tg.get("LoadBalancerArns", []))),
                "health_check_enabled": bool(tg.get("HealthCheckEnabled")),
                "health_check_protocol": tg.get("HealthCheckProtocol", ""),
                "health_check_path": tg.get("HealthCheckPath", ""),
                "matcher": (tg.get("Matcher") or {}).get("HttpCode") or (tg.get("Matcher") or {}).get("GrpcCode", ""),
                "interval_seconds": tg.get("HealthCheckIntervalSeconds"),
                "healthy_threshold": tg.get("HealthyThresholdCount"),
                "unhealthy_threshold": tg.get("UnhealthyThresholdCount"),
                "targets": len(targets),
                "healthy_targets": sum(1 for t in targets if (t.get("TargetHealth") or {}).get("State") == "healthy"),
            })
    return Collected(pd.DataFrame(rows), prov)
