"""The demo account's monitoring (CC7.1) and the alarm firings its incidents answer (CC7.2).

Created through the real APIs against the moto server, backdated with freezegun: SNS topics for
the on-call and the escalation chain, CloudWatch alarms (infrastructure, application and
custom-namespace business metrics) and their state changes over the quarter, log groups and their
retention, a GuardDuty detector, the trail's event selectors and its bucket's object lock and
encryption (:func:`configure_trail`, called by ``seed_trail`` once the trail and bucket exist).

moto has no ``DescribeAlarmHistory``: :func:`install_alarm_history` adds it to moto's CloudWatch
responses in the real API's shape, built from the state changes moto itself records when
``SetAlarmState`` is called, and keeping them as long as CloudWatch does (:data:`ALARM_HISTORY_DAYS`:
a quarterly run weeks after the period gets none of it; the demo's daily snapshots read it in time).
The collectors do not know.

**The seeded logging gap, decided.** The trail's log files are missing for one whole day
(:data:`GAP_DAY`): delivery to the bucket failed, so the trail has no ``StopLogging`` record for it
(the days are simply absent). Separately, an IAM user switched log file validation off with
``UpdateTrail`` (:data:`WEAKENING`), and the pipeline switched it back on the next day. That
``UpdateTrail`` is also a manual change to production infrastructure, so it is in the CC8.1 truth
(``CC8.1-MANUAL-CHANGE``) as well as the CC7.1 one; the pipeline's call and a denied ``StopLogging``
attempt are not deviations of either. The deliberate deviations are declared next to the data that
makes them (:func:`truth`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from freezegun import freeze_time

from auditbook.demo.trail import PIPELINE_ROLE, TRAIL_BUCKET, TRAIL_NAME, Trail, role_identity, user_identity

ACCOUNT = "123456789012"
REGION = "us-east-1"
GAP_DAY = date(2026, 8, 17)
ALARM_HISTORY_DAYS = 30  # CloudWatch: "alarm history is retained for 30 days"
CREATED = "2025-11-03T09:00:00"


def _t(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


# SNS topics: name → subscriptions (protocol, endpoint). Endpoints are placeholders.
TOPICS: dict[str, list[tuple[str, str]]] = {
    "oncall-pager": [("https", "https://events.pagerduty.example/integration/demo-oncall/enqueue")],
    "eng-lead-escalation": [("email", "eng-lead@demo-fintech.example")],
    "cto-escalation": [("email", "cto@demo-fintech.example")],
    "compliance-notifications": [("email", "compliance@demo-fintech.example")],
}


@dataclass
class DemoAlarm:
    name: str
    category: str  # infrastructure / application / business
    namespace: str
    metric: str
    comparison: str
    threshold: float
    dimensions: dict[str, str] = field(default_factory=dict)
    actions: list[str] = field(default_factory=lambda: ["oncall-pager"])
    enabled: bool = True
    fired: list[tuple[str, int]] = field(default_factory=list)  # (time OK→ALARM, minutes until back to OK)
    deviations: list[tuple[str, str]] = field(default_factory=list)


ALARMS = [
    DemoAlarm("payments-api-cpu-high", "infrastructure", "AWS/ECS", "CPUUtilization", "GreaterThanThreshold", 80,
              {"ClusterName": "prod", "ServiceName": "payments-api"},
              fired=[("2026-08-05T13:20:00", 25), ("2026-09-22T10:55:00", 240)]),
    DemoAlarm("payments-api-memory-high", "infrastructure", "AWS/ECS", "MemoryUtilization", "GreaterThanThreshold",
              85, {"ClusterName": "prod", "ServiceName": "payments-api"}),
    DemoAlarm("ledger-host-disk-high", "infrastructure", "CWAgent", "disk_used_percent", "GreaterThanThreshold", 85,
              {"path": "/", "host": "ledger-batch-1"}),
    DemoAlarm("ledger-db-connections-high", "infrastructure", "AWS/RDS", "DatabaseConnections", "GreaterThanThreshold",
              400, {"DBInstanceIdentifier": "ledger-prod"}, enabled=False, fired=[("2026-08-19T02:45:00", 120)],
              deviations=[("CC7.1-ALARM-ACTIONS", "alarm actions disabled: the alarm notifies nobody")]),
    DemoAlarm("settlement-queue-depth-high", "infrastructure", "AWS/SQS", "ApproximateNumberOfMessagesVisible",
              "GreaterThanThreshold", 1000, {"QueueName": "settlement-jobs"}),
    DemoAlarm("api-5xx-errors", "application", "AWS/ApplicationELB", "HTTPCode_Target_5XX_Count",
              "GreaterThanThreshold", 50, {"LoadBalancer": "app/prod-api/0123456789abcdef"},
              fired=[("2026-08-11T10:18:00", 45)]),
    DemoAlarm("api-latency-p99", "application", "AWS/ApplicationELB", "TargetResponseTime", "GreaterThanThreshold",
              1.5, {"LoadBalancer": "app/prod-api/0123456789abcdef"}, actions=[],
              deviations=[("CC7.1-ALARM-ACTIONS", "no alarm action: the alarm reaches nobody")]),
    DemoAlarm("payments-transaction-success-rate-low", "business", "DemoFintech/Payments", "TransactionSuccessRate",
              "LessThanThreshold", 98, fired=[("2026-07-21T14:00:00", 160), ("2026-09-08T09:13:00", 150)]),
    DemoAlarm("ledger-reconciliation-accuracy-low", "business", "DemoFintech/Ledger", "ReconciliationAccuracy",
              "LessThanThreshold", 99.9, fired=[("2026-08-26T06:28:00", 360)]),
    # Fired before the period (not tested), in it with an incident, and once in it with none (a deviation):
    # only inside the period, so only the snapshots taken then still hold it when the quarter is audited.
    DemoAlarm("settlement-delay-high", "business", "DemoFintech/Settlement", "SettlementDelayMinutes",
              "GreaterThanThreshold", 60,
              fired=[("2026-06-20T02:00:00", 60), ("2026-07-09T02:08:00", 240), ("2026-08-14T03:40:00", 70)]),
]
UNANSWERED_FIRING = ("settlement-delay-high", "2026-08-14T03:40:00",
                     "business-metric alarm fired 2026-08-14 03:40; no incident references it (alarm history "
                     "from the daily snapshots)")

# name → (retention days or None = never expire, why it deviates)
LOG_GROUPS: dict[str, tuple[int | None, str]] = {
    "/ecs/payments-api": (400, ""),
    "/ecs/ledger-service": (731, ""),
    "/aws/lambda/secrets-rotation": (365, ""),  # exactly the minimum: compliant
    "/aws/rds/instance/ledger-prod/postgresql": (1827, ""),
    "/ecs/web-app": (30, "retention 30 days, below the 365-day minimum"),
    "/aws/lambda/analytics-export": (None, "no retention policy (never expire): not accepted by params"),
}

# Trail configuration changes in the period: (time, identity, name, params, error).
WEAKENING = ("2026-09-10T14:05:12", "bob.ops", "UpdateTrail", {"name": TRAIL_NAME, "enableLogFileValidation": False})
RESTORED = ("2026-09-11T09:31:40", "UpdateTrail", {"name": TRAIL_NAME, "enableLogFileValidation": True})
SELECTORS = ("2026-07-06T10:12:00", "PutEventSelectors", {"trailName": TRAIL_NAME, "eventSelectors": [
    {"readWriteType": "All", "includeManagementEvents": True, "dataResources": [],
     "excludeManagementEventSources": []}]})
DENIED = ("2026-07-30T16:44:00", "mallory.contractor", "StopLogging", {"name": TRAIL_NAME})


def _trail_records(trail: Trail) -> list[dict[str, Any]]:
    """The trail's own configuration calls; returns the weakening one (a deviation)."""
    src = "cloudtrail.amazonaws.com"
    when, user, name, params = WEAKENING
    weakening = trail.record(_t(when), src, name, user_identity(ACCOUNT, user), read_only=False, params=params)
    pipeline = role_identity(ACCOUNT, PIPELINE_ROLE, "gha-terraform-4411")
    trail.record(_t(RESTORED[0]), src, RESTORED[1], pipeline, read_only=False, params=RESTORED[2])
    trail.record(_t(SELECTORS[0]), src, SELECTORS[1], role_identity(ACCOUNT, PIPELINE_ROLE, "gha-terraform-3920"),
                 read_only=False, params=SELECTORS[2])
    trail.record(_t(DENIED[0]), src, DENIED[2], user_identity(ACCOUNT, DENIED[1]), read_only=False,
                 params=DENIED[3], error="AccessDenied")
    trail.not_logging.add(GAP_DAY)
    return [weakening]


def truth() -> list[dict[str, str]]:
    trail = Trail(ACCOUNT)
    (weakening,) = _trail_records(trail)
    resource = f"{ACCOUNT}:{weakening['eventID']}"
    rows = [
        {"test": "CC7.1-TRAIL-CHANGES", "resource": resource,
         "why": "UpdateTrail by IAM user bob.ops switched log file validation off (restored by the pipeline next day)"},
        {"test": "CC8.1-MANUAL-CHANGE", "resource": resource,
         "why": "UpdateTrail by bob.ops: audit trail reconfigured by hand from the console, outside the pipeline"},
        {"test": "CC7.1-TRAIL-COVERAGE", "resource": f"{ACCOUNT}:{REGION}:{GAP_DAY.isoformat()}",
         "why": "no CloudTrail log file delivered for the whole day (delivery to the bucket failed)"},
    ]
    rows += [{"test": test, "resource": f"{ACCOUNT}:{REGION}:{a.name}", "why": why}
             for a in ALARMS for test, why in a.deviations]
    rows += [{"test": "CC7.1-LOG-RETENTION", "resource": f"{ACCOUNT}:{REGION}:{name}", "why": why}
             for name, (_, why) in LOG_GROUPS.items() if why]
    alarm, fired, why = UNANSWERED_FIRING
    rows.append({"test": "CC7.2-ALERT-INCIDENT", "resource": f"{ACCOUNT}:{REGION}:{alarm}@{fired}Z", "why": why})
    return sorted(rows, key=lambda d: (d["test"], d["resource"]))


def business_alarms() -> list[DemoAlarm]:
    return [a for a in ALARMS if a.category == "business"]


def _client(service: str, endpoint: str):  # noqa: ANN202 - a boto3 client
    import boto3

    return boto3.client(service, endpoint_url=endpoint, region_name=REGION,
                        aws_access_key_id="demo", aws_secret_access_key="demo")


def seed(endpoint: str, trail: Trail) -> None:
    install_alarm_history()
    _trail_records(trail)
    topic_arns = _seed_topics(endpoint)
    _seed_alarms(endpoint, topic_arns)
    _seed_log_groups(endpoint)
    with freeze_time(_t("2025-02-03T10:00:00")):
        _client("guardduty", endpoint).create_detector(Enable=True, FindingPublishingFrequency="FIFTEEN_MINUTES")


def configure_trail(s3: Any, ct: Any) -> None:
    """The trail's selectors and its bucket's immutability and encryption (the bucket is created with object lock)."""
    ct.put_event_selectors(TrailName=TRAIL_NAME, EventSelectors=[
        {"ReadWriteType": "All", "IncludeManagementEvents": True, "DataResources": []}])
    s3.put_bucket_versioning(Bucket=TRAIL_BUCKET, VersioningConfiguration={"Status": "Enabled"})
    s3.put_object_lock_configuration(Bucket=TRAIL_BUCKET, ObjectLockConfiguration={
        "ObjectLockEnabled": "Enabled", "Rule": {"DefaultRetention": {"Mode": "COMPLIANCE", "Days": 400}}})
    s3.put_bucket_encryption(Bucket=TRAIL_BUCKET, ServerSideEncryptionConfiguration={"Rules": [
        {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": "alias/cloudtrail-logs"},
         "BucketKeyEnabled": True}]})


def _seed_topics(endpoint: str) -> dict[str, str]:
    sns = _client("sns", endpoint)
    arns = {}
    with freeze_time(_t(CREATED)):
        for name, subscriptions in TOPICS.items():
            arns[name] = sns.create_topic(Name=name)["TopicArn"]
            for protocol, target in subscriptions:
                sns.subscribe(TopicArn=arns[name], Protocol=protocol, Endpoint=target)
    return arns


def _seed_alarms(endpoint: str, topic_arns: dict[str, str]) -> None:
    cw = _client("cloudwatch", endpoint)
    changes: list[tuple[datetime, str, str]] = []
    with freeze_time(_t(CREATED)) as clock:
        for alarm in ALARMS:
            extra: dict[str, Any] = {"ExtendedStatistic": "p99"} if alarm.metric == "TargetResponseTime" else {
                "Statistic": "Average"}
            cw.put_metric_alarm(
                AlarmName=alarm.name, AlarmDescription=f"{alarm.category}: {alarm.metric}", Namespace=alarm.namespace,
                MetricName=alarm.metric, Dimensions=[{"Name": k, "Value": v} for k, v in alarm.dimensions.items()],
                Period=300, EvaluationPeriods=3, DatapointsToAlarm=2, Threshold=alarm.threshold,
                ComparisonOperator=alarm.comparison, TreatMissingData="breaching" if alarm.category == "business"
                else "missing", ActionsEnabled=alarm.enabled,
                AlarmActions=[topic_arns[t] for t in alarm.actions], OKActions=[topic_arns[t] for t in alarm.actions],
                **extra)
            for when, minutes in alarm.fired:
                changes.append((_t(when), alarm.name, "ALARM"))
                changes.append((_t(when) + timedelta(minutes=minutes), alarm.name, "OK"))
        for when, name, state in sorted(changes):
            clock.move_to(when)
            reason = ("Threshold Crossed: 2 out of the last 3 datapoints breached the threshold" if state == "ALARM"
                      else "Threshold Crossed: no datapoint breached the threshold")
            cw.set_alarm_state(AlarmName=name, StateValue=state, StateReason=reason,
                               StateReasonData=json.dumps({"version": "1.0", "queryDate": when.isoformat()}))


def _seed_log_groups(endpoint: str) -> None:
    logs = _client("logs", endpoint)
    with freeze_time(_t("2025-03-03T09:00:00")):
        for name, (days, _) in LOG_GROUPS.items():
            logs.create_log_group(logGroupName=name)
            if days:
                logs.put_retention_policy(logGroupName=name, retentionInDays=days)


# -- moto extension: DescribeAlarmHistory ------------------------------------------------------
def _as_utc(value: Any) -> datetime | None:
    if value in (None, ""):
        return None
    if isinstance(value, (int, float)):
        return datetime.fromtimestamp(value, UTC)
    if isinstance(value, str):
        value = datetime.fromtimestamp(float(value), UTC) if value.replace(".", "").isdigit() else \
            datetime.fromisoformat(value.replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def alarm_history_items(alarm: Any) -> list[dict[str, Any]]:
    """State changes of one moto alarm, as AWS reports them (``StateUpdate`` items, oldest first)."""
    states = [(h[3], h[1], _as_utc(h[4])) for h in alarm.history if h[0] == "StateUpdate"]
    states.append((alarm.state_value, alarm.state_reason, _as_utc(alarm.state_updated_timestamp)))
    items = []
    for (old, old_reason, _), (new, new_reason, at) in zip(states, states[1:], strict=False):
        data = {"version": "1.0", "oldState": {"stateValue": old, "stateReason": old_reason},
                "newState": {"stateValue": new, "stateReason": new_reason}}
        items.append({"AlarmName": alarm.name, "AlarmType": "MetricAlarm", "Timestamp": at,
                      "HistoryItemType": "StateUpdate", "HistorySummary": f"Alarm updated from {old} to {new}",
                      "HistoryData": json.dumps(data)})
    return items


def _describe_alarm_history(self: Any) -> Any:
    from moto.core.responses import ActionResult

    backend = self.cloudwatch_backend
    name = self._get_param("AlarmName")
    kind = self._get_param("HistoryItemType")
    start, end = _as_utc(self._get_param("StartDate")), _as_utc(self._get_param("EndDate"))
    now = datetime.now(UTC)  # the demo seeds the whole quarter at once; a reading on a date sees what had happened
    kept_from = now - timedelta(days=ALARM_HISTORY_DAYS)  # older history is gone, as in CloudWatch
    alarms = [a for n, a in sorted(backend.alarms.items()) if not name or n == name]
    items = [i for a in alarms for i in alarm_history_items(a)
             if (not kind or i["HistoryItemType"] == kind) and kept_from <= i["Timestamp"] <= now
             and (start is None or i["Timestamp"] >= start) and (end is None or i["Timestamp"] <= end)]
    items.sort(key=lambda i: (i["Timestamp"], i["AlarmName"]),
               reverse=self._get_param("ScanBy", "TimestampDescending") == "TimestampDescending")
    offset = int(self._get_param("NextToken") or 0)
    size = min(int(self._get_param("MaxRecords") or 100), 100)
    result: dict[str, Any] = {"AlarmHistoryItems": items[offset:offset + size]}
    if offset + size < len(items):
        result["NextToken"] = str(offset + size)
    return ActionResult(result)


def install_alarm_history() -> None:
    from moto.cloudwatch.responses import CloudWatchResponse

    if not hasattr(CloudWatchResponse, "describe_alarm_history"):
        CloudWatchResponse.describe_alarm_history = _describe_alarm_history  # type: ignore[attr-defined]
