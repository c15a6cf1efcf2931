"""A1.1 availability: the rules, as pure functions over the collected populations.

Traffic only reaches healthy capacity (health checks on every load balancer target group and on
every Route 53 record that routes between endpoints), capacity survives the loss of a zone (auto
scaling groups across at least two availability zones with a minimum size; production databases
Multi-AZ), and someone is told before capacity runs out (an alarm with actions on each capacity
metric params require). Resources are in scope when they carry the scope tag in params.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from auditbook import timeline
from auditbook.controls.cc91 import tagged
from auditbook.results import ControlTest, Tested, TestResult, evaluate

TARGET_HEALTH = ControlTest(
    "A1.1-TARGET-HEALTH", "A1.1", "Load balancer target groups are health checked",
    "Every target group attached to a load balancer has health checks enabled and, for HTTP/HTTPS checks, a "
    "path and a success matcher, so traffic is sent only to healthy targets.", "continuous", ("elbv2-target-groups",),
    sample_keys=("account_id", "region", "target_group_name"),
    deviates_when=("A target group attached to a load balancer without health checks, or, for HTTP/HTTPS checks, "
                   "without a path and a success matcher, deviates."))
DNS_HEALTH = ControlTest(
    "A1.1-DNS-HEALTH", "A1.1", "Routed DNS records are health checked",
    "Every Route 53 record with a routing policy (failover, weighted, latency, geolocation, multivalue) has an "
    "enabled health check, or is an alias that evaluates its target's health.", "continuous",
    ("route53-records", "route53-health-checks"), sample_keys=("account_id", "name", "type", "set_identifier"),
    deviates_when=("A Route 53 record with a routing policy without a health check ({health_check}) deviates."))
ASG = ControlTest(
    "A1.1-ASG", "A1.1", "Auto scaling groups survive the loss of a zone",
    "Every auto scaling group in scope spans at least the minimum number of availability zones and keeps at "
    "least the minimum number of instances, at every moment of the period.", "continuous",
    ("autoscaling-groups", "autoscaling-group-timeline"),
    lambda s, ctx: {"scope_tag": s["scope_tag"], "min_availability_zones": s["min_availability_zones"],
                    "min_instances": s["min_asg_instances"]}, ("account_id", "region", "name"),
    configuration_only=True,
    deviates_when=("An auto scaling group in scope ({scope_tag[key]}={scope_tag[value]}) that, at any moment of the "
                   "period, spanned fewer than {min_availability_zones} availability zones or kept fewer than "
                   "{min_instances} instances deviates."))
DB_MULTI_AZ = ControlTest(
    "A1.1-DB-MULTI-AZ", "A1.1", "Production databases are Multi-AZ",
    "Every RDS database instance in scope (read replicas excepted) is deployed Multi-AZ, with a standby in "
    "another availability zone.", "continuous", ("rds-instances",), lambda s, ctx: {"scope_tag": s["scope_tag"]},
    ("account_id", "region", "db_instance"),
    configuration_only=True,
    deviates_when=("An RDS database instance in scope ({scope_tag[key]}={scope_tag[value]}, read replicas excepted) "
                   "that is not Multi-AZ deviates."))
CAPACITY_ALARMS = ControlTest(
    "A1.1-CAPACITY-ALARMS", "A1.1", "Capacity metrics are alarmed with actions",
    "For every auto scaling group and database in scope, each capacity metric params require has a CloudWatch "
    "alarm on that resource with actions enabled and at least one alarm action.", "continuous",
    ("capacity-alarm-coverage",), lambda s, ctx: {"required": s["required_capacity_alarms"]},
    ("account_id", "resource", "metric"),
    configuration_only=True,
    deviates_when=("An auto scaling group or database in scope without an alarm with actions on each required "
                   "capacity metric deviates: {required_capacity_alarms}."))

TESTS = [TARGET_HEALTH, DNS_HEALTH, ASG, DB_MULTI_AZ, CAPACITY_ALARMS]
DIMENSION = {"autoscaling_group": "AutoScalingGroupName", "rds_instance": "DBInstanceIdentifier"}


@TARGET_HEALTH.rule
def target_health(groups: pd.DataFrame) -> TestResult:
    tested = Tested(groups, "elbv2-target-groups").keep(lambda f: f["load_balancers"] != "",
                                                         "attached to a load balancer (they receive traffic)")
    attached = tested.frame
    deviations = []
    for g in attached.itertuples():
        problems = []
        if not g.health_check_enabled:
            problems.append("health checks disabled")
        elif str(g.health_check_protocol).upper() in ("HTTP", "HTTPS"):
            if not g.health_check_path:
                problems.append("no health check path")
            if not g.matcher:
                problems.append("no success code matcher")
        if problems:
            deviations.append({"resource_type": "target_group", "resource_id": f"{g.account_id}:{g.target_group_name}",
                               "detail": f"{'; '.join(problems)} (load balancer {g.load_balancers})"})
    unattached = len(groups) - len(attached)
    notes = [f"{unattached} target groups are attached to no load balancer (they receive no traffic) and are not "
             "tested."] if unattached else []
    return evaluate(TARGET_HEALTH, tested, deviations, {"health_check_enabled": True}, notes)


@DNS_HEALTH.rule
def dns_health(records: pd.DataFrame, checks: pd.DataFrame) -> TestResult:
    tested = Tested(records, "route53-records").keep(lambda f: f["routing_policy"] != "simple",
                                                      "records with a routing policy (not simple routing)")
    routed = tested.frame.copy()
    known = {c.health_check_id: c for c in checks.itertuples()}
    routed["health_check"] = [
        "" if not r.health_check_id else
        "missing" if r.health_check_id not in known else
        "disabled" if known[r.health_check_id].disabled else
        f"{known[r.health_check_id].type} {known[r.health_check_id].target}{known[r.health_check_id].resource_path}"
        for r in routed.itertuples()] if len(routed) else pd.Series(dtype=str)
    deviations = []
    for r in routed.itertuples():
        if r.health_check in ("", "missing", "disabled"):
            if r.health_check == "" and r.alias_target and r.evaluate_target_health:
                continue
            why = {"": "no health check", "missing": f"health check {r.health_check_id} does not exist",
                   "disabled": f"health check {r.health_check_id} is disabled"}[r.health_check]
            deviations.append({"resource_type": "route53_record",
                               "resource_id": f"{r.account_id}:{r.name}{r.type}:{r.set_identifier}",
                               "detail": f"{r.routing_policy} record: {why}"})
    notes = [f"{len(records) - len(routed)} simple-routing records (one answer, nothing to fail over) are not "
             f"tested; {len(checks)} health checks exist."]
    return evaluate(DNS_HEALTH, tested.annotate(routed), deviations,
                    {"health_check": "enabled, or alias evaluating target health"}, notes)


def _in_scope(frame: pd.DataFrame, source: str, scope_tag: dict[str, str] | None) -> Tested:
    tested = Tested(frame, source)
    if not scope_tag:
        return tested
    return tested.keep(lambda f: [tagged(t, scope_tag) for t in f["tags"]],
                       f"tagged {scope_tag['key']}={scope_tag['value']} (in scope)")


@ASG.rule
def asg_resilience(groups: pd.DataFrame, history: pd.DataFrame, scope_tag: dict[str, str] | None,
                   min_availability_zones: int, min_instances: int) -> TestResult:
    """At collection and in every known interval of the group's timeline (AWS Config history)."""
    tested = _in_scope(groups, "autoscaling-groups", scope_tag)
    scoped = tested.frame
    deviations = []
    labels = [f"{g.account_id}:{g.name}" for g in scoped.itertuples()]
    for g, label in zip(scoped.itertuples(), labels, strict=True):
        problems = timeline.problems_over_time(
            _asg_problems(g, min_availability_zones, min_instances), timeline.known_intervals(history, label),
            lambda interval: _asg_problems(interval, min_availability_zones, min_instances))
        if problems:
            deviations.append({"resource_type": "autoscaling_group", "resource_id": label,
                               "detail": "; ".join(problems)})
    return evaluate(ASG, tested, deviations, {"min_availability_zones": min_availability_zones,
                                              "min_instances": min_instances, "scope_tag": scope_tag},
                    gaps=timeline.gaps(history, labels))


def _asg_problems(g: Any, min_availability_zones: int, min_instances: int) -> list[str]:
    problems = []
    if pd.notna(g.az_count) and g.az_count < min_availability_zones:
        problems.append(f"spans {g.az_count} availability zone{'s' if g.az_count != 1 else ''} "
                        f"({g.availability_zones}); at least {min_availability_zones} required")
    if pd.notna(g.min_size) and g.min_size < min_instances:
        problems.append(f"minimum size {g.min_size}; at least {min_instances} required")
    return problems


@DB_MULTI_AZ.rule
def database_multi_az(instances: pd.DataFrame, scope_tag: dict[str, str] | None) -> TestResult:
    scoped = _in_scope(instances, "rds-instances", scope_tag)
    primary = scoped.keep(lambda f: f["read_replica_source"] == "", "primaries (read replicas left out)")
    deviations = [{"resource_type": "rds_instance", "resource_id": f"{d.account_id}:rds:{d.db_instance}",
                   "detail": f"single-AZ ({d.availability_zone}); no standby in another zone"}
                  for d in primary.frame[~primary.frame["multi_az"]].itertuples()]
    replicas = len(scoped) - len(primary)
    notes = [f"{replicas} read replicas are not tested."] if replicas else []
    return evaluate(DB_MULTI_AZ, primary, deviations, {"multi_az": True, "scope_tag": scope_tag}, notes)


def _alarm_dimensions(text: Any) -> dict[str, str]:
    return {k: v for k, _, v in (d.partition("=") for d in str(text or "").split(";") if d)}


def capacity_alarm_worksheet(alarms: pd.DataFrame, groups: pd.DataFrame, instances: pd.DataFrame,
                             scope_tag: dict[str, str] | None,
                             required: dict[str, list[dict[str, str]]]) -> pd.DataFrame:
    """One row per (resource in scope, required capacity metric) with the alarms on it."""
    resources = [("autoscaling_group", g.account_id, g.region, g.name) for g in groups.itertuples()
                 if tagged(g.tags, scope_tag)]
    resources += [("rds_instance", d.account_id, d.region, d.db_instance) for d in instances.itertuples()
                  if tagged(d.tags, scope_tag)]
    metric_alarms = alarms[alarms["alarm_type"].isin(["MetricAlarm", "metric"])]
    dims = [_alarm_dimensions(d) for d in metric_alarms["dimensions"]]
    rows = []
    for kind, account, region, name in resources:
        for metric in required.get(kind, []):
            on_it = [a for a, d in zip(metric_alarms.itertuples(), dims, strict=True)
                     if a.account_id == account and a.region == region and a.namespace == metric["namespace"]
                     and a.metric_name == metric["metric"] and d.get(DIMENSION[kind]) == name]
            acting = [a for a in on_it if a.actions_enabled and str(a.alarm_actions or "")]
            rows.append({"account_id": account, "region": region, "resource_type": kind, "resource": name,
                         "namespace": metric["namespace"], "metric": metric["metric"],
                         "alarms": ";".join(sorted(a.alarm_name for a in on_it)),
                         "alarms_with_actions": ";".join(sorted(a.alarm_name for a in acting))})
    return pd.DataFrame(rows, columns=["account_id", "region", "resource_type", "resource", "namespace", "metric",
                                       "alarms", "alarms_with_actions"])


@CAPACITY_ALARMS.rule
def capacity_alarms(sheet: pd.DataFrame, required: dict[str, list[dict[str, str]]]) -> TestResult:
    deviations = []
    for r in sheet[sheet["alarms_with_actions"] == ""].itertuples():
        detail = (f"no alarm on {r.namespace} {r.metric} for this {r.resource_type.replace('_', ' ')}"
                  if not r.alarms else f"alarm {r.alarms} on {r.metric} has actions disabled or none")
        deviations.append({"resource_type": r.resource_type,
                           "resource_id": f"{r.account_id}:{r.resource}:{r.metric}", "detail": detail})
    return evaluate(CAPACITY_ALARMS, sheet, deviations, {"required_capacity_alarms": required})


def capacity_headroom(metrics: pd.DataFrame) -> pd.DataFrame:
    """Per capacity alarm: the worst value of the period against its threshold.

    ``peak_pct_of_threshold``: for an upper-bound alarm (greater than), the period's highest daily
    maximum as a % of the threshold; for a lower-bound alarm (free space less than), the threshold
    as a % of the period's lowest daily minimum. Below 100 % the alarm never had to fire.
    """
    rows = []
    for name, group in metrics.groupby("alarm_name", sort=True):
        first = group.iloc[0]
        upper = str(first["comparison"]).startswith("Greater")
        worst = group["maximum"].max() if upper else group["minimum"].min()
        threshold = first["threshold"]
        pct = (100 * worst / threshold if upper else 100 * threshold / worst) if threshold and worst else None
        rows.append({"alarm_name": name, "metric": first["metric_name"], "dimensions": first["dimensions"],
                     "bound": "upper" if upper else "lower", "threshold": threshold, "worst_value": worst,
                     "days": len(group), "peak_pct_of_threshold": None if pct is None else round(pct, 1)})
    return pd.DataFrame(rows, columns=["alarm_name", "metric", "dimensions", "bound", "threshold", "worst_value",
                                       "days", "peak_pct_of_threshold"])
