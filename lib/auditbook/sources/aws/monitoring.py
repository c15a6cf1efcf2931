"""Monitoring evidence (CC7.1, CC7.2): the audit trail's configuration and bucket, CloudWatch alarms and their
history, SNS topics the alarms notify, log group retention, and GuardDuty detectors.

Metadata only: no log event, object or message is read. Every list is paginated with boto3's
paginators and kept under ``raw/`` as received. A setting that does not exist (no object lock,
no default encryption) is a fact about the resource, not a collection failure; any other API
error (access denied on a bucket in another account, throttling past the retries) is.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import botocore.exceptions
import pandas as pd

from auditbook.period import Period
from auditbook.provenance import CollectionError, Population, RawStore, iso, utc_now
from auditbook.sources.aws.iam import _provenance, aws_errors
from auditbook.sources.aws.pages import all_pages
from auditbook.sources.aws.session import AwsAccount
from auditbook.sources.times import utc_times

TRAIL_COLUMNS = [
    "account_id", "trail_name", "trail_arn", "home_region", "multi_region", "log_file_validation",
    "global_service_events", "is_logging", "start_logging_time", "stop_logging_time", "latest_delivery_time",
    "latest_delivery_error", "management_events", "event_selectors", "kms_key_id", "s3_bucket", "s3_prefix",
    "bucket_versioning", "bucket_object_lock", "object_lock_retention", "bucket_encryption",
]
ALARM_COLUMNS = [
    "account_id", "region", "alarm_name", "alarm_arn", "alarm_type", "namespace", "metric_name", "dimensions",
    "actions_enabled", "alarm_actions", "ok_actions", "state", "state_updated", "description",
]
HISTORY_COLUMNS = ["account_id", "region", "alarm_name", "timestamp", "old_state", "new_state", "summary"]
TOPIC_COLUMNS = ["account_id", "region", "topic_arn", "topic_name", "confirmed_subscriptions",
                 "pending_subscriptions", "protocols"]
LOG_GROUP_COLUMNS = ["account_id", "region", "log_group", "retention_days", "created", "stored_bytes", "kms_key_id"]
DETECTOR_COLUMNS = ["account_id", "region", "detector_id", "status", "finding_frequency", "created", "updated"]
ALARM_HISTORY_RETENTION_DAYS = 30  # CloudWatch keeps alarm history for 30 days (DescribeAlarmHistory)


def _absent(operation: str, call: Callable[[], dict[str, Any]], absent_codes: set[str]) -> dict[str, Any] | None:
    """Call an API whose "not configured" answer is an error code; None when it is not configured."""
    try:
        return call()
    except botocore.exceptions.ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in absent_codes:
            return None
        with aws_errors(operation):
            raise


def _clean(response: dict[str, Any] | None) -> dict[str, Any] | None:
    if response is not None:
        response.pop("ResponseMetadata", None)
    return response


def management_events(selectors: list[dict[str, Any]], advanced: list[dict[str, Any]]) -> str:
    """Which management events a trail records: ``All``, ``ReadOnly``, ``WriteOnly`` or ``none``.

    Basic selectors name it in ``ReadWriteType`` with ``IncludeManagementEvents``; advanced selectors
    select ``eventCategory = Management`` and may filter ``readOnly``.
    """
    kinds: set[str] = set()
    for sel in selectors or []:
        if sel.get("IncludeManagementEvents", True):
            kinds.add(sel.get("ReadWriteType", "All"))
    for sel in advanced or []:
        fields = {f.get("Field"): f for f in sel.get("FieldSelectors", [])}
        if fields.get("eventCategory", {}).get("Equals") != ["Management"]:
            continue
        read_only = fields.get("readOnly", {}).get("Equals")
        kinds.add({("true",): "ReadOnly", ("false",): "WriteOnly"}.get(tuple(read_only or []), "All"))
    if "All" in kinds or {"ReadOnly", "WriteOnly"} <= kinds:
        return "All"
    return next(iter(kinds)) if kinds else "none"


def _bucket_facts(account: AwsAccount, bucket: str, raw_out: dict[str, Any]) -> dict[str, Any]:
    s3 = account.client("s3")
    with aws_errors(f"s3:GetBucketVersioning {bucket}"):
        versioning = _clean(s3.get_bucket_versioning(Bucket=bucket))
    lock = _clean(_absent(f"s3:GetObjectLockConfiguration {bucket}",
                          lambda: s3.get_object_lock_configuration(Bucket=bucket),
                          {"ObjectLockConfigurationNotFoundError"}))
    encryption = _clean(_absent(f"s3:GetBucketEncryption {bucket}", lambda: s3.get_bucket_encryption(Bucket=bucket),
                                {"ServerSideEncryptionConfigurationNotFoundError"}))
    raw_out[bucket] = {"GetBucketVersioning": versioning, "GetObjectLockConfiguration": lock,
                       "GetBucketEncryption": encryption}
    lock_conf = (lock or {}).get("ObjectLockConfiguration", {})
    retention = lock_conf.get("Rule", {}).get("DefaultRetention", {})
    rules = (encryption or {}).get("ServerSideEncryptionConfiguration", {}).get("Rules", [])
    algorithms = sorted({r.get("ApplyServerSideEncryptionByDefault", {}).get("SSEAlgorithm", "") for r in rules} - {""})
    return {
        "bucket_versioning": (versioning or {}).get("Status", "Disabled") or "Disabled",
        "bucket_object_lock": lock_conf.get("ObjectLockEnabled") == "Enabled",
        "object_lock_retention": (f"{retention.get('Mode')} {retention.get('Days') or retention.get('Years')}"
                                  f" {'days' if retention.get('Days') else 'years'}") if retention else "",
        "bucket_encryption": ";".join(algorithms),
    }


def collect_trails(account: AwsAccount, raw: RawStore) -> Population:
    """Every trail of the account (shadow trails excluded), its status, selectors and delivery bucket."""
    prov = _provenance(account, "aws:cloudtrail+s3")
    ct = account.client("cloudtrail")
    with aws_errors("cloudtrail:DescribeTrails"):
        trails = ct.describe_trails(includeShadowTrails=False)["trailList"]
    prov.add_operation("cloudtrail:DescribeTrails", {"includeShadowTrails": False}, records=len(trails))
    raw_doc: dict[str, Any] = {"DescribeTrails": trails, "trails": {}, "buckets": {}}
    rows = []
    for trail in trails:
        home = account.client("cloudtrail", trail.get("HomeRegion") or account.region)
        with aws_errors(f"cloudtrail:GetTrailStatus {trail['Name']}"):
            status = _clean(home.get_trail_status(Name=trail["TrailARN"]))
        with aws_errors(f"cloudtrail:GetEventSelectors {trail['Name']}"):
            selectors = _clean(home.get_event_selectors(TrailName=trail["TrailARN"]))
        raw_doc["trails"][trail["Name"]] = {"GetTrailStatus": status, "GetEventSelectors": selectors}
        bucket = trail.get("S3BucketName") or ""
        facts = _bucket_facts(account, bucket, raw_doc["buckets"]) if bucket else {
            "bucket_versioning": "", "bucket_object_lock": False, "object_lock_retention": "", "bucket_encryption": ""}
        basic, advanced = selectors.get("EventSelectors") or [], selectors.get("AdvancedEventSelectors") or []
        rows.append({
            "account_id": account.account_id, "trail_name": trail["Name"], "trail_arn": trail["TrailARN"],
            "home_region": trail.get("HomeRegion", ""), "multi_region": bool(trail.get("IsMultiRegionTrail")),
            "log_file_validation": bool(trail.get("LogFileValidationEnabled")),
            "global_service_events": bool(trail.get("IncludeGlobalServiceEvents")),
            "is_logging": bool(status.get("IsLogging")), "start_logging_time": status.get("StartLoggingTime"),
            "stop_logging_time": status.get("StopLoggingTime"),
            "latest_delivery_time": status.get("LatestDeliveryTime"),
            "latest_delivery_error": status.get("LatestDeliveryError") or "",
            "management_events": management_events(basic, advanced),
            "event_selectors": json.dumps({"EventSelectors": basic, "AdvancedEventSelectors": advanced},
                                          sort_keys=True, default=str),
            "kms_key_id": trail.get("KmsKeyId") or "", "s3_bucket": bucket, "s3_prefix": trail.get("S3KeyPrefix") or "",
            **facts,
        })
    n = len(trails)
    prov.add_operation("cloudtrail:GetTrailStatus", pages=n, records=n)
    prov.add_operation("cloudtrail:GetEventSelectors", pages=n, records=n)
    for op in ("s3:GetBucketVersioning", "s3:GetObjectLockConfiguration", "s3:GetBucketEncryption"):
        prov.add_operation(op, {"Bucket": sorted(raw_doc["buckets"])}, pages=len(raw_doc["buckets"]),
                           records=len(raw_doc["buckets"]))
    prov.raw_files.append(raw.save(f"aws/{account.account_id}/cloudtrail/trails.json", raw_doc))
    frame = utc_times(pd.DataFrame(rows, columns=TRAIL_COLUMNS),
                      ["start_logging_time", "stop_logging_time", "latest_delivery_time"])
    return Population("cloudtrail-trails", frame, prov)


def _metric_of(alarm: dict[str, Any]) -> tuple[str, str, str]:
    """Namespace, metric name and dimensions; for metric-math alarms, of the metrics it reads."""
    if alarm.get("MetricName"):
        dims = alarm.get("Dimensions") or []
        return alarm.get("Namespace", ""), alarm["MetricName"], ";".join(f"{d['Name']}={d['Value']}" for d in dims)
    stats = [m["MetricStat"]["Metric"] for m in alarm.get("Metrics") or [] if m.get("MetricStat")]
    return (";".join(sorted({s.get("Namespace", "") for s in stats})), ";".join(s["MetricName"] for s in stats), "")


def collect_alarms(account: AwsAccount, raw: RawStore, regions: list[str]) -> Population:
    """Every metric and composite alarm in each region in scope."""
    prov = _provenance(account, "aws:cloudwatch")
    rows = []
    for region in regions:
        cw = account.client("cloudwatch", region)
        pages = all_pages(cw, "describe_alarms", f"cloudwatch:DescribeAlarms ({region})",
                       AlarmTypes=["MetricAlarm", "CompositeAlarm"])
        prov.raw_files.append(raw.save(f"aws/{account.account_id}/cloudwatch/{region}/describe-alarms.json", pages))
        alarms = [("MetricAlarm", a) for p in pages for a in p.get("MetricAlarms", [])]
        alarms += [("CompositeAlarm", a) for p in pages for a in p.get("CompositeAlarms", [])]
        prov.add_operation("cloudwatch:DescribeAlarms", {"region": region, "AlarmTypes": ["MetricAlarm",
                           "CompositeAlarm"]}, pages=len(pages), records=len(alarms))
        for kind, a in alarms:
            namespace, metric, dims = _metric_of(a) if kind == "MetricAlarm" else ("", "", "")
            rows.append({
                "account_id": account.account_id, "region": region, "alarm_name": a["AlarmName"],
                "alarm_arn": a.get("AlarmArn", ""), "alarm_type": kind, "namespace": namespace, "metric_name": metric,
                "dimensions": dims, "actions_enabled": bool(a.get("ActionsEnabled")),
                "alarm_actions": ";".join(a.get("AlarmActions") or []),
                "ok_actions": ";".join(a.get("OKActions") or []),
                "state": a.get("StateValue", ""), "state_updated": a.get("StateUpdatedTimestamp"),
                "description": a.get("AlarmDescription") or "",
            })
    frame = pd.DataFrame(rows, columns=ALARM_COLUMNS)
    frame["state_updated"] = pd.to_datetime(frame["state_updated"], utc=True)
    return Population("cloudwatch-alarms", frame, prov)


def _history_state(data: str, which: str) -> str:
    try:
        return json.loads(data or "{}").get(which, {}).get("stateValue", "")
    except ValueError:
        return ""


def collect_alarm_history(account: AwsAccount, raw: RawStore, regions: list[str], period: Period) -> Population:
    """Every alarm state change (``StateUpdate``) in the period, in each region in scope."""
    prov = _provenance(account, "aws:cloudwatch")
    rows = []
    params = {"HistoryItemType": "StateUpdate", "StartDate": iso(period.start), "EndDate": iso(period.end),
              "ScanBy": "TimestampAscending"}
    for region in regions:
        cw = account.client("cloudwatch", region)
        pages = all_pages(cw, "describe_alarm_history",
                       f"cloudwatch:DescribeAlarmHistory ({region})", HistoryItemType="StateUpdate",
                       StartDate=period.start, EndDate=period.end, ScanBy="TimestampAscending")
        prov.raw_files.append(raw.save(f"aws/{account.account_id}/cloudwatch/{region}/describe-alarm-history.json",
                                       pages))
        items = [i for p in pages for i in p.get("AlarmHistoryItems", [])]
        prov.add_operation("cloudwatch:DescribeAlarmHistory", {"region": region, **params}, pages=len(pages),
                           records=len(items))
        rows += [{"account_id": account.account_id, "region": region, "alarm_name": i["AlarmName"],
                  "timestamp": i["Timestamp"], "old_state": _history_state(i.get("HistoryData", ""), "oldState"),
                  "new_state": _history_state(i.get("HistoryData", ""), "newState"),
                  "summary": i.get("HistorySummary", "")} for i in items]
    oldest = utc_now() - pd.Timedelta(days=ALARM_HISTORY_RETENTION_DAYS)
    if period.start < oldest:
        prov.notes.append(f"CloudWatch keeps alarm history for {ALARM_HISTORY_RETENTION_DAYS} days: state changes "
                          f"before {iso(oldest)} are only complete if the history was retained (collect monthly, or "
                          "archive 'CloudWatch Alarm State Change' events with EventBridge).")
    frame = pd.DataFrame(rows, columns=HISTORY_COLUMNS)
    frame["timestamp"] = pd.to_datetime(frame["timestamp"], utc=True)
    frame = frame[(frame["timestamp"] >= period.start) & (frame["timestamp"] < period.end)]
    return Population("cloudwatch-alarm-history", frame.sort_values(["timestamp", "alarm_name"]).reset_index(drop=True),
                      prov)


def collect_topics(account: AwsAccount, raw: RawStore, regions: list[str]) -> Population:
    """Every SNS topic in each region with its subscriptions (counts and protocols; endpoints stay in raw/)."""
    prov = _provenance(account, "aws:sns")
    rows = []
    for region in regions:
        sns = account.client("sns", region)
        pages = all_pages(sns, "list_topics", f"sns:ListTopics ({region})")
        topics = [t["TopicArn"] for p in pages for t in p.get("Topics", [])]
        prov.add_operation("sns:ListTopics", {"region": region}, pages=len(pages), records=len(topics))
        subs_raw: dict[str, Any] = {}
        for arn in topics:
            sub_pages = all_pages(sns, "list_subscriptions_by_topic",
                               f"sns:ListSubscriptionsByTopic {arn}", TopicArn=arn)
            subs = [s for p in sub_pages for s in p.get("Subscriptions", [])]
            subs_raw[arn] = sub_pages
            confirmed = [s for s in subs if s.get("SubscriptionArn", "").startswith("arn:")]
            rows.append({"account_id": account.account_id, "region": region, "topic_arn": arn,
                         "topic_name": arn.rsplit(":", 1)[-1], "confirmed_subscriptions": len(confirmed),
                         "pending_subscriptions": len(subs) - len(confirmed),
                         "protocols": ";".join(sorted({s.get("Protocol", "") for s in confirmed}))})
        prov.add_operation("sns:ListSubscriptionsByTopic", {"region": region}, pages=len(topics),
                           records=sum(r["confirmed_subscriptions"] + r["pending_subscriptions"] for r in rows
                                       if r["region"] == region))
        prov.raw_files.append(raw.save(f"aws/{account.account_id}/sns/{region}/topics.json",
                                       {"ListTopics": pages, "ListSubscriptionsByTopic": subs_raw}))
    return Population("sns-topics", pd.DataFrame(rows, columns=TOPIC_COLUMNS), prov)


def collect_log_groups(account: AwsAccount, raw: RawStore, regions: list[str]) -> Population:
    """Every CloudWatch Logs log group in each region in scope, with its retention (none = never expire)."""
    prov = _provenance(account, "aws:logs")
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


def collect_detectors(account: AwsAccount, raw: RawStore, regions: list[str]) -> Population:
    """GuardDuty detectors: one row per region in scope; a region without a detector has status NONE."""
    prov = _provenance(account, "aws:guardduty")
    rows = []
    for region in regions:
        gd = account.client("guardduty", region)
        pages = all_pages(gd, "list_detectors", f"guardduty:ListDetectors ({region})")
        ids = [d for p in pages for d in p.get("DetectorIds", [])]
        prov.add_operation("guardduty:ListDetectors", {"region": region}, pages=len(pages), records=len(ids))
        details = {}
        for detector_id in ids:
            with aws_errors(f"guardduty:GetDetector {detector_id} ({region})"):
                details[detector_id] = _clean(gd.get_detector(DetectorId=detector_id))
            d = details[detector_id]
            rows.append({"account_id": account.account_id, "region": region, "detector_id": detector_id,
                         "status": d.get("Status", ""), "finding_frequency": d.get("FindingPublishingFrequency", ""),
                         "created": d.get("CreatedAt"), "updated": d.get("UpdatedAt")})
        if ids:
            prov.add_operation("guardduty:GetDetector", {"region": region}, pages=len(ids), records=len(ids))
        else:
            rows.append({"account_id": account.account_id, "region": region, "detector_id": "", "status": "NONE",
                         "finding_frequency": "", "created": None, "updated": None})
        prov.raw_files.append(raw.save(f"aws/{account.account_id}/guardduty/{region}/detectors.json",
                                       {"ListDetectors": pages, "GetDetector": details}))
    frame = utc_times(pd.DataFrame(rows, columns=DETECTOR_COLUMNS), ["created", "updated"])
    return Population("guardduty-detectors", frame, prov)


__all__ = ["CollectionError", "collect_alarm_history", "collect_alarms", "collect_detectors", "collect_log_groups",
           "collect_topics", "collect_trails", "management_events"]
