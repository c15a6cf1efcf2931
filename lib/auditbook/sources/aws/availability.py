"""Availability evidence: load balancer target groups, Route 53 health checks and routed records,
Auto Scaling groups, RDS instances, and the capacity metrics CloudWatch alarms watch (the alarms
themselves are the ``cloudwatch-alarms`` population of :mod:`auditbook.sources.aws.monitoring`).

Metadata only, every page of every list kept as received. Route 53 is global: it is read once
per account. Tags are kept as ``key=value;...`` so a control can select the resources in scope.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pandas as pd

from auditbook.period import Period
from auditbook.provenance import Population, RawStore
from auditbook.sources.aws.iam import _provenance, aws_errors
from auditbook.sources.aws.pages import all_pages, items, recorded_items, tag_text
from auditbook.sources.aws.session import AwsAccount
from auditbook.sources.times import utc_times

TARGET_GROUP_COLUMNS = ["account_id", "region", "target_group_name", "target_group_arn", "protocol", "port",
                        "target_type", "load_balancers", "health_check_enabled", "health_check_protocol",
                        "health_check_path", "matcher", "interval_seconds", "healthy_threshold",
                        "unhealthy_threshold", "targets", "healthy_targets"]
HEALTH_CHECK_COLUMNS = ["account_id", "health_check_id", "type", "target", "port", "resource_path",
                        "request_interval", "failure_threshold", "disabled", "inverted", "name"]
RECORD_COLUMNS = ["account_id", "zone_id", "zone_name", "name", "type", "set_identifier", "routing_policy",
                  "health_check_id", "alias_target", "evaluate_target_health"]
ASG_COLUMNS = ["account_id", "region", "name", "arn", "availability_zones", "az_count", "min_size", "max_size",
               "desired_capacity", "health_check_type", "target_groups", "instances", "tags", "created"]
RDS_COLUMNS = ["account_id", "region", "db_instance", "arn", "engine", "instance_class", "status", "multi_az",
               "availability_zone", "secondary_availability_zone", "backup_retention_days", "latest_restorable_time",
               "storage_encrypted", "read_replica_source", "tags", "created"]
METRIC_COLUMNS = ["account_id", "region", "alarm_name", "namespace", "metric_name", "dimensions", "threshold",
                  "comparison", "day", "maximum", "minimum"]
ROUTING_FIELDS = {"Failover": "failover", "Weight": "weighted", "Region": "latency", "GeoLocation": "geolocation",
                  "MultiValueAnswer": "multivalue", "GeoProximityLocation": "geoproximity",
                  "CidrRoutingConfig": "cidr"}


def _base(account: AwsAccount, region: str) -> dict[str, str]:
    return {"account_id": account.account_id, "region": region}


def collect_target_groups(account: AwsAccount, raw: RawStore, regions: list[str]) -> Population:
    prov = _provenance(account, "aws:elasticloadbalancing")
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
                **_base(account, region), "target_group_name": tg["TargetGroupName"],
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
    return Population("elbv2-target-groups", pd.DataFrame(rows, columns=TARGET_GROUP_COLUMNS), prov)


def _routing_policy(record: dict[str, Any]) -> str:
    return next((policy for field, policy in ROUTING_FIELDS.items() if field in record), "simple")


def collect_health_checks(account: AwsAccount, raw: RawStore) -> Population:
    """Every Route 53 health check of the account (Route 53 is global)."""
    prov = _provenance(account, "aws:route53")
    checks = recorded_items(account.client("route53", "us-east-1"), "route53:ListHealthChecks", "HealthChecks", prov,
                            raw, f"aws/{account.account_id}/route53/health-checks.json")
    rows = []
    for hc in checks:
        cfg = hc.get("HealthCheckConfig", {})
        target = cfg.get("FullyQualifiedDomainName") or cfg.get("IPAddress") or ""
        if cfg.get("Type") == "CALCULATED":
            target = ";".join(cfg.get("ChildHealthChecks", []))
        elif cfg.get("Type") == "CLOUDWATCH_METRIC":
            target = (cfg.get("AlarmIdentifier") or {}).get("Name", "")
        rows.append({
            "account_id": account.account_id, "health_check_id": hc["Id"], "type": cfg.get("Type", ""),
            "target": target, "port": cfg.get("Port"), "resource_path": cfg.get("ResourcePath", ""),
            "request_interval": cfg.get("RequestInterval"), "failure_threshold": cfg.get("FailureThreshold"),
            "disabled": bool(cfg.get("Disabled")), "inverted": bool(cfg.get("Inverted")),
            "name": hc.get("CallerReference", ""),
        })
    return Population("route53-health-checks", pd.DataFrame(rows, columns=HEALTH_CHECK_COLUMNS), prov)


def collect_dns_records(account: AwsAccount, raw: RawStore) -> Population:
    """The resource record sets of every hosted zone, with routing policy and health check."""
    prov = _provenance(account, "aws:route53")
    r53 = account.client("route53", "us-east-1")
    base = f"aws/{account.account_id}/route53"
    zones = recorded_items(r53, "route53:ListHostedZones", "HostedZones", prov, raw, f"{base}/hosted-zones.json")
    rows = []
    for zone in zones:
        zone_id = zone["Id"].rsplit("/", 1)[-1]
        pages = all_pages(r53, "list_resource_record_sets", f"route53:ListResourceRecordSets {zone_id}",
                          HostedZoneId=zone_id)
        records = items(pages, "ResourceRecordSets")
        prov.add_operation("route53:ListResourceRecordSets", {"HostedZoneId": zone_id}, len(pages), len(records))
        prov.raw_files.append(raw.save(f"{base}/records-{zone_id}.json", pages))
        for rec in records:
            alias = rec.get("AliasTarget") or {}
            rows.append({
                "account_id": account.account_id, "zone_id": zone_id, "zone_name": zone["Name"],
                "name": rec["Name"], "type": rec["Type"], "set_identifier": rec.get("SetIdentifier", ""),
                "routing_policy": _routing_policy(rec), "health_check_id": rec.get("HealthCheckId", ""),
                "alias_target": alias.get("DNSName", ""),
                "evaluate_target_health": bool(alias.get("EvaluateTargetHealth")),
            })
    return Population("route53-records", pd.DataFrame(rows, columns=RECORD_COLUMNS), prov)


def collect_autoscaling_groups(account: AwsAccount, raw: RawStore, regions: list[str]) -> Population:
    prov = _provenance(account, "aws:autoscaling")
    rows = []
    for region in regions:
        groups = recorded_items(account.client("autoscaling", region), "autoscaling:DescribeAutoScalingGroups",
                                "AutoScalingGroups", prov, raw,
                                f"aws/{account.account_id}/autoscaling/{region}/groups.json", region)
        for g in groups:
            zones = sorted(set(g.get("AvailabilityZones", [])))
            rows.append({
                **_base(account, region), "name": g["AutoScalingGroupName"], "arn": g.get("AutoScalingGroupARN", ""),
                "availability_zones": ";".join(zones), "az_count": len(zones), "min_size": g["MinSize"],
                "max_size": g["MaxSize"], "desired_capacity": g.get("DesiredCapacity"),
                "health_check_type": g.get("HealthCheckType", ""),
                "target_groups": ";".join(a.rsplit("/", 2)[-2] for a in g.get("TargetGroupARNs", [])),
                "instances": len(g.get("Instances", [])), "tags": tag_text(g.get("Tags")),
                "created": g.get("CreatedTime"),
            })
    return Population("autoscaling-groups", utc_times(pd.DataFrame(rows, columns=ASG_COLUMNS), ["created"]), prov)


def collect_rds_instances(account: AwsAccount, raw: RawStore, regions: list[str]) -> Population:
    prov = _provenance(account, "aws:rds")
    rows = []
    for region in regions:
        instances = recorded_items(account.client("rds", region), "rds:DescribeDBInstances", "DBInstances", prov, raw,
                                   f"aws/{account.account_id}/rds/{region}/db-instances.json", region)
        for db in instances:
            rows.append({
                **_base(account, region), "db_instance": db["DBInstanceIdentifier"], "arn": db.get("DBInstanceArn", ""),
                "engine": db.get("Engine", ""), "instance_class": db.get("DBInstanceClass", ""),
                "status": db.get("DBInstanceStatus", ""), "multi_az": bool(db.get("MultiAZ")),
                "availability_zone": db.get("AvailabilityZone", ""),
                "secondary_availability_zone": db.get("SecondaryAvailabilityZone", ""),
                "backup_retention_days": int(db.get("BackupRetentionPeriod") or 0),
                "latest_restorable_time": db.get("LatestRestorableTime"),
                "storage_encrypted": bool(db.get("StorageEncrypted")),
                "read_replica_source": db.get("ReadReplicaSourceDBInstanceIdentifier", ""),
                "tags": tag_text(db.get("TagList")), "created": db.get("InstanceCreateTime"),
            })
    frame = utc_times(pd.DataFrame(rows, columns=RDS_COLUMNS), ["latest_restorable_time", "created"])
    return Population("rds-instances", frame, prov)


def dimensions_of(text: str) -> dict[str, str]:
    """``Name=Value;Name=Value`` (as the ``cloudwatch-alarms`` population holds them) as a dict."""
    return {k: v for k, _, v in (d.partition("=") for d in str(text or "").split(";") if d)}


def collect_alarm_metrics(account: AwsAccount, raw: RawStore, alarms: pd.DataFrame, period: Period,
                          metrics: list[tuple[str, str]]) -> Population:
    """Daily maximum and minimum over the period of the metric each capacity alarm watches, with the
    alarm's threshold and comparison (``DescribeAlarms`` by name) so headroom can be charted.

    ``alarms``: the ``cloudwatch-alarms`` population; ``metrics``: the (namespace, metric name)
    pairs that are capacity metrics. A metric with no datapoints in the period gives no rows.
    """
    prov = _provenance(account, "aws:cloudwatch")
    wanted = set(metrics)
    capacity = pd.Series([(n, m) in wanted for n, m in zip(alarms["namespace"], alarms["metric_name"], strict=True)],
                         index=alarms.index, dtype=bool)
    mine = alarms[(alarms["account_id"] == account.account_id) & (alarms["alarm_type"] == "MetricAlarm") & capacity]
    rows, responses = [], {}
    start, end = period.start, period.end
    for region, group in mine.groupby("region"):
        cw = account.client("cloudwatch", region)
        names = sorted(group["alarm_name"])
        definitions = {}
        for chunk in (names[i:i + 100] for i in range(0, len(names), 100)):
            pages = all_pages(cw, "describe_alarms", f"cloudwatch:DescribeAlarms by name ({region})",
                              AlarmNames=chunk, AlarmTypes=["MetricAlarm"])
            definitions.update({a["AlarmName"]: a for a in items(pages, "MetricAlarms")})
        prov.add_operation("cloudwatch:DescribeAlarms", {"region": region, "AlarmNames": names}, 1, len(definitions))
        for a in group.itertuples():
            dims = [{"Name": k, "Value": v} for k, v in dimensions_of(a.dimensions).items()]
            with aws_errors(f"cloudwatch:GetMetricStatistics {a.namespace}/{a.metric_name} ({region})"):
                response = cw.get_metric_statistics(Namespace=a.namespace, MetricName=a.metric_name, Dimensions=dims,
                                                    StartTime=start, EndTime=end, Period=86400,
                                                    Statistics=["Maximum", "Minimum"])
            response.pop("ResponseMetadata", None)
            responses[a.alarm_name] = response
            definition = definitions.get(a.alarm_name, {})
            for point in response.get("Datapoints", []):
                day = pd.Timestamp(point["Timestamp"]).tz_convert("UTC").floor("D")
                if day < pd.Timestamp(start) or day >= pd.Timestamp(end):
                    continue
                rows.append({**_base(account, str(region)), "alarm_name": a.alarm_name, "namespace": a.namespace,
                             "metric_name": a.metric_name, "dimensions": a.dimensions,
                             "threshold": definition.get("Threshold"),
                             "comparison": definition.get("ComparisonOperator", ""), "day": day,
                             "maximum": point.get("Maximum"), "minimum": point.get("Minimum")})
    prov.add_operation("cloudwatch:GetMetricStatistics",
                       {"Period": 86400, "Statistics": ["Maximum", "Minimum"], "StartTime": start.isoformat(),
                        "EndTime": end.isoformat(), "metrics": json.dumps(sorted(wanted))},
                       pages=len(responses), records=len(rows))
    prov.raw_files.append(raw.save(f"aws/{account.account_id}/cloudwatch/capacity-metrics-"
                                   f"{start:%Y%m%d}-{(end - timedelta(days=1)):%Y%m%d}.json", responses))
    frame = pd.DataFrame(rows, columns=METRIC_COLUMNS).sort_values(["alarm_name", "day"]).reset_index(drop=True)
    return Population("cloudwatch-capacity-metrics", frame, prov)
