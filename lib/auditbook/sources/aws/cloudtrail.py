"""CloudTrail: the trails (configuration, status, selectors, delivery bucket) and the period's events
from the trail's log files in S3.

``LookupEvents`` keeps only 90 days of management events, so a Type II population comes from
the files the trail delivers: ``<prefix>/AWSLogs/<account>/CloudTrail/<region>/YYYY/MM/DD/*.json.gz``,
each ``{"Records": [...]}``. Listing is by month prefix (one paginated listing per region and
month); every file is kept under ``raw/`` as received. Metadata only: no other object is read.
"""

from __future__ import annotations

import gzip
import json
from datetime import date, datetime, timedelta
from typing import Any

import pandas as pd

from auditbook.period import Period
from auditbook.provenance import Collected, CollectionError, RawStore
from auditbook.sources.aws.base import absent, aws_errors, clean, provenance, required
from auditbook.sources.aws.session import AwsAccount


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
        versioning = clean(s3.get_bucket_versioning(Bucket=bucket))
    lock = clean(absent(f"s3:GetObjectLockConfiguration {bucket}",
                          lambda: s3.get_object_lock_configuration(Bucket=bucket),
                          {"ObjectLockConfigurationNotFoundError"}))
    encryption = clean(absent(f"s3:GetBucketEncryption {bucket}", lambda: s3.get_bucket_encryption(Bucket=bucket),
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


def collect_trails(account: AwsAccount, raw: RawStore) -> Collected:
    """Every trail of the account (shadow trails excluded), its status, selectors and delivery bucket."""
    prov = provenance(account, "aws:cloudtrail+s3")
    ct = account.client("cloudtrail")
    with aws_errors("cloudtrail:DescribeTrails"):
        trails = ct.describe_trails(includeShadowTrails=False)["trailList"]
    prov.add_operation("cloudtrail:DescribeTrails", {"includeShadowTrails": False}, records=len(trails))
    raw_doc: dict[str, Any] = {"DescribeTrails": trails, "trails": {}, "buckets": {}}
    rows = []
    for trail in trails:
        home = account.client("cloudtrail", trail.get("HomeRegion") or account.region)
        with aws_errors(f"cloudtrail:GetTrailStatus {trail['Name']}"):
            status = clean(home.get_trail_status(Name=trail["TrailARN"]))
        with aws_errors(f"cloudtrail:GetEventSelectors {trail['Name']}"):
            selectors = clean(home.get_event_selectors(TrailName=trail["TrailARN"]))
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
    return Collected(pd.DataFrame(rows), prov)


_RECORD_FIELDS = ("eventTime", "eventID", "eventSource", "eventName", "eventType", "awsRegion")  # in every record


def _months(period: Period) -> list[date]:
    first = period.start.date().replace(day=1)
    months = []
    while datetime(first.year, first.month, 1, tzinfo=period.start.tzinfo) < period.end:
        months.append(first)
        first = (first + timedelta(days=32)).replace(day=1)
    return months


def _identity(record: dict[str, Any]) -> dict[str, str]:
    """Who made the call, in the terms the controls use: a user name, or role + session."""
    ident = record.get("userIdentity", {})
    kind = ident.get("type", "")
    arn = ident.get("arn", "")
    issuer = ident.get("sessionContext", {}).get("sessionIssuer", {})
    role = issuer.get("userName", "") if kind == "AssumedRole" else ""
    if kind == "IAMUser":
        name = ident.get("userName", arn.rsplit("/", 1)[-1])
    elif kind == "AssumedRole":
        name = arn.rsplit("/", 1)[-1]  # the session name: often the person
    elif kind == "Root":
        name = "root"
    else:
        name = ident.get("invokedBy", "") or arn
    return {"identity_type": kind, "principal_arn": arn, "principal_name": name, "role_name": role,
            "invoked_by": ident.get("invokedBy", "") or record.get("invokedBy", "")}


def _row(account_id: str, record: dict[str, Any], log_file: str) -> dict[str, Any]:
    return {
        "account_id": account_id,
        "event_time": datetime.fromisoformat(record["eventTime"].replace("Z", "+00:00")),
        "event_id": record["eventID"],
        "event_source": record.get("eventSource"),
        "event_name": record.get("eventName"),
        "read_only": record.get("readOnly"),
        "event_type": record.get("eventType"),
        "aws_region": record.get("awsRegion"),
        **_identity(record),
        "source_ip": record.get("sourceIPAddress"),
        "user_agent": record.get("userAgent"),
        "error_code": record.get("errorCode") or "",
        "request_parameters": json.dumps(record.get("requestParameters"), sort_keys=True)
        if record.get("requestParameters") else "",
        # AWS service events (e.g. Secrets Manager RotationFailed) name their resource here.
        "additional_event_data": json.dumps(record.get("additionalEventData"), sort_keys=True)
        if record.get("additionalEventData") else "",
        "log_file": log_file,
    }


def trail_destination(account: AwsAccount) -> tuple[dict[str, Any], str, str]:
    """The multi-region trail that delivers to S3: (trail, bucket, key prefix)."""
    ct = account.client("cloudtrail")
    with aws_errors("cloudtrail:DescribeTrails"):
        trails = ct.describe_trails(includeShadowTrails=False)["trailList"]
    delivering = [t for t in trails if t.get("S3BucketName")]
    if not delivering:
        raise CollectionError(f"cloudtrail:DescribeTrails: no trail in account {account.account_id} delivers to S3")
    trail = sorted(delivering, key=lambda t: (not t.get("IsMultiRegionTrail"), t["Name"]))[0]
    prefix = (trail.get("S3KeyPrefix") or "").strip("/")
    return trail, trail["S3BucketName"], f"{prefix}/" if prefix else ""


def collect_trail_events(account: AwsAccount, raw: RawStore, period: Period, regions: list[str]) -> Collected:
    prov = provenance(account, "aws:cloudtrail+s3")
    trail, bucket, prefix = trail_destination(account)
    prov.add_operation("cloudtrail:DescribeTrails", {"includeShadowTrails": False}, records=1)
    s3 = account.client("s3")
    rows: list[dict[str, Any]] = []
    days_with_files: set[tuple[str, date]] = set()
    files = 0
    for region in regions:
        for month in _months(period):
            month_prefix = f"{prefix}AWSLogs/{account.account_id}/CloudTrail/{region}/{month:%Y/%m}/"
            keys, pages = [], 0
            with aws_errors("s3:ListObjectsV2"):
                for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=month_prefix):
                    pages += 1
                    keys += [obj["Key"] for obj in page.get("Contents", [])]
            prov.add_operation("s3:ListObjectsV2", {"Bucket": bucket, "Prefix": month_prefix}, pages=pages,
                               records=len(keys))
            for key in sorted(keys):
                day = _day_of(key, month_prefix)
                if day is None or not (period.start.date() <= day < period.end.date()):
                    continue
                with aws_errors("s3:GetObject"):
                    body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
                files += 1
                days_with_files.add((region, day))
                prov.raw_files.append(raw.save(f"aws/{account.account_id}/cloudtrail/{key}", body))
                try:
                    records = json.loads(gzip.decompress(body))["Records"]
                except (OSError, ValueError, KeyError) as exc:
                    raise CollectionError(f"s3:GetObject {key}: not a CloudTrail log file ({type(exc).__name__})") \
                        from None
                for record in records:
                    required(record, _RECORD_FIELDS, "s3:GetObject", f"a record of {key}")
                    rows.append(_row(account.account_id, record, key))
    prov.add_operation("s3:GetObject", {"Bucket": bucket}, pages=files, records=len(rows))
    expected_days = len(regions) * period.days
    prov.notes.append(f"Trail {trail['Name']} (multi-region: {trail.get('IsMultiRegionTrail')}, log file validation: "
                      f"{trail.get('LogFileValidationEnabled')}) delivers to s3://{bucket}/{prefix}")
    prov.notes.append(f"{files} log files; {len(days_with_files)} of {expected_days} region-days have log files.")
    rows = sorted((r for r in rows if period.start <= r["event_time"] < period.end),
                  key=lambda r: (r["event_time"], r["event_id"]))
    return Collected(pd.DataFrame(rows), prov)


def _day_of(key: str, month_prefix: str) -> date | None:
    rest = key[len(month_prefix):]
    day_text = rest.split("/", 1)[0]
    try:
        year, month = month_prefix.rstrip("/").split("/")[-2:]
        return date(int(year), int(month), int(day_text))
    except ValueError:
        return None
