"""A1.1 rules on small frames: health checks, zones, Multi-AZ, capacity alarms and headroom."""

from __future__ import annotations

import pandas as pd
from auditbook import catalog
from auditbook.controls import a11

PROD = {"key": "environment", "value": "production"}


def ids(result):
    return sorted(result.deviations["resource_id"])


def test_target_groups_attached_need_enabled_http_checks():
    groups = pd.DataFrame([
        {"account_id": "1", "target_group_name": n, "load_balancers": lb, "health_check_enabled": enabled,
         "health_check_protocol": proto, "health_check_path": path, "matcher": matcher}
        for n, lb, enabled, proto, path, matcher in [
            ("ok", "alb", True, "HTTP", "/health", "200"), ("off", "alb", False, "HTTP", "", ""),
            ("nopath", "alb", True, "HTTPS", "", "200"), ("tcp", "nlb", True, "TCP", "", ""),
            ("loose", "", False, "HTTP", "", "")]])
    result = a11.target_health(groups)
    assert ids(result) == ["1:nopath", "1:off"]
    assert result.population_size == 4 and "1 target groups are attached to no load balancer" in result.notes[0]


def test_routed_records_need_an_enabled_health_check_or_an_evaluated_alias():
    records = pd.DataFrame([
        {"account_id": "1", "name": n, "type": "A", "set_identifier": sid, "routing_policy": policy,
         "health_check_id": hc, "alias_target": alias, "evaluate_target_health": evaluate}
        for n, sid, policy, hc, alias, evaluate in [
            ("a.", "p", "failover", "hc1", "", False), ("b.", "s", "failover", "", "", False),
            ("c.", "w", "weighted", "gone", "", False), ("d.", "x", "weighted", "hc2", "", False),
            ("e.", "l", "latency", "", "lb.example.", True), ("f.", "", "simple", "", "", False)]])
    checks = pd.DataFrame([{"health_check_id": "hc1", "type": "HTTPS", "target": "a", "resource_path": "/",
                            "disabled": False},
                           {"health_check_id": "hc2", "type": "HTTPS", "target": "d", "resource_path": "/",
                            "disabled": True}])
    result = a11.dns_health(records, checks)
    assert ids(result) == ["1:b.A:s", "1:c.A:w", "1:d.A:x"]
    assert result.population_size == 5


def test_asg_zone_count_and_min_size_edges_in_scope_only():
    groups = pd.DataFrame([
        {"account_id": "1", "name": n, "az_count": azs, "availability_zones": ";".join(["z"] * azs),
         "min_size": size, "tags": tags}
        for n, azs, size, tags in [("two", 2, 2, "environment=production"), ("one", 1, 2, "environment=production"),
                                   ("small", 3, 1, "environment=production"), ("dev", 1, 0, "environment=dev")]])
    result = a11.asg_resilience(groups, catalog.empty("autoscaling-group-timeline"), PROD, 2, 2)
    assert ids(result) == ["1:one", "1:small"] and result.population_size == 3


def test_database_multi_az_skips_replicas_and_out_of_scope():
    dbs = pd.DataFrame([
        {"account_id": "1", "db_instance": n, "multi_az": multi, "availability_zone": "a",
         "read_replica_source": replica, "tags": tags}
        for n, multi, replica, tags in [("p", True, "", "environment=production"),
                                        ("single", False, "", "environment=production"),
                                        ("replica", False, "p", "environment=production"),
                                        ("dev", False, "", "environment=dev")]])
    result = a11.database_multi_az(dbs, PROD)
    assert ids(result) == ["1:rds:single"] and result.population_size == 2


def test_capacity_alarm_worksheet_matches_metric_and_dimension():
    required = {"autoscaling_group": [{"namespace": "AWS/EC2", "metric": "CPUUtilization"}],
                "rds_instance": [{"namespace": "AWS/RDS", "metric": "FreeStorageSpace"}]}
    groups = pd.DataFrame([{"account_id": "1", "region": "r", "name": "g", "tags": "environment=production"}])
    dbs = pd.DataFrame([{"account_id": "1", "region": "r", "db_instance": "db", "tags": "environment=production"},
                        {"account_id": "1", "region": "r", "db_instance": "dev", "tags": "environment=dev"}])
    alarms = pd.DataFrame([
        {"account_id": "1", "region": "r", "alarm_name": "cpu", "alarm_type": "MetricAlarm", "namespace": "AWS/EC2",
         "metric_name": "CPUUtilization", "dimensions": "AutoScalingGroupName=g", "actions_enabled": True,
         "alarm_actions": "arn:sns"},
        {"account_id": "1", "region": "r", "alarm_name": "disk", "alarm_type": "MetricAlarm", "namespace": "AWS/RDS",
         "metric_name": "FreeStorageSpace", "dimensions": "DBInstanceIdentifier=db", "actions_enabled": False,
         "alarm_actions": "arn:sns"}])
    sheet = a11.capacity_alarm_worksheet(alarms, groups, dbs, PROD, required)
    assert len(sheet) == 2
    result = a11.capacity_alarms(sheet, required)
    assert ids(result) == ["1:db:FreeStorageSpace"] and "actions disabled" in result.deviations["detail"][0]
    no_alarms = a11.capacity_alarm_worksheet(alarms.iloc[0:0], groups, dbs, PROD, required)
    assert a11.capacity_alarms(no_alarms, required).deviation_count == 2


def test_capacity_headroom_upper_and_lower_bounds():
    metrics = pd.DataFrame([
        {"alarm_name": "cpu", "metric_name": "CPUUtilization", "dimensions": "", "threshold": 80.0,
         "comparison": "GreaterThanThreshold", "maximum": m, "minimum": 1.0} for m in (40.0, 88.0)] + [
        {"alarm_name": "free", "metric_name": "FreeStorageSpace", "dimensions": "", "threshold": 20.0,
         "comparison": "LessThanThreshold", "maximum": 100.0, "minimum": m} for m in (80.0, 40.0)])
    headroom = a11.capacity_headroom(metrics).set_index("alarm_name")
    assert headroom.loc["cpu", "peak_pct_of_threshold"] == 110.0
    assert headroom.loc["free", "peak_pct_of_threshold"] == 50.0 and headroom.loc["free", "bound"] == "lower"
