"""A1.1 sources: Auto Scaling groups, target groups, Route 53, capacity metrics."""

from __future__ import annotations

from auditbook.catalog import population as held
from auditbook.demo import aws_resilience
from auditbook.demo.aws import DEMO_REGION
from auditbook.demo.github.company import PRODUCTION_BRANCHES
from auditbook.period import parse_period
from auditbook.sources.aws import autoscaling, cloudwatch, elbv2, route53

PERIOD = parse_period("2026-Q3")
REPOS = list(PRODUCTION_BRANCHES)


def test_availability_populations(account, raw):
    groups = held("autoscaling-groups",
                  autoscaling.collect_autoscaling_groups(account, raw, [DEMO_REGION])).frame.set_index("name")
    assert groups.loc["batch-workers-asg", "az_count"] == 1
    assert groups.loc["payments-api-asg", "target_groups"] == "payments-api-tg"
    tgs = held("elbv2-target-groups",
               elbv2.collect_target_groups(account, raw, [DEMO_REGION])).frame.set_index("target_group_name")
    assert tgs.loc["ledger-service-tg", "load_balancers"] == "prod-alb" and tgs.loc["legacy-canary-tg",
                                                                                   "load_balancers"] == ""
    records = held("route53-records", route53.collect_dns_records(account, raw)).frame
    assert set(records.loc[records["routing_policy"] == "failover", "set_identifier"]) == {"primary", "secondary"}
    checks = held("route53-health-checks", route53.collect_health_checks(account, raw)).frame
    assert set(records["health_check_id"]) - {""} == set(checks["health_check_id"])


def test_capacity_metrics_daily_over_the_period(account, raw):

    alarms = held("cloudwatch-alarms", cloudwatch.collect_alarms(account, raw, [DEMO_REGION])).frame
    metrics = held("cloudwatch-capacity-metrics", cloudwatch.collect_alarm_metrics(account, raw, alarms, PERIOD,
                                                 [("AWS/RDS", "FreeStorageSpace")])).frame
    assert set(metrics["alarm_name"]) == {f"capacity-{d.name}-free-storage" for d in aws_resilience.DATABASES
                                          if d.tags.get("environment") == "production"}
    assert metrics.groupby("alarm_name").size().eq(PERIOD.days).all()
    assert (metrics["comparison"] == "LessThanThreshold").all()
