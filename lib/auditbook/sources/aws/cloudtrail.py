"""CloudTrail events for a whole period, from the trail's log files in S3.

``LookupEvents`` keeps only 90 days of management events, so a Type II population comes from
the files the trail delivers: ``<prefix>/AWSLogs/<account>/CloudTrail/<region>/YYYY/MM/DD/*.json.gz``,
each ``{"Records": [...]}``. Listing is by month prefix (one paginated listing per region and
month); every file is kept under ``raw/`` as received.
"""

from __future__ import annotations

import gzip
import json
from datetime import date, datetime, timedelta
from typing import Any

import pandas as pd

from auditbook.period import Period
from auditbook.provenance import CollectionError, Population, RawStore
from auditbook.sources.aws.iam import _provenance, aws_errors
from auditbook.sources.aws.session import AwsAccount

EVENT_COLUMNS = [
    "account_id", "event_time", "event_id", "event_source", "event_name", "read_only", "event_type",
    "aws_region", "identity_type", "principal_arn", "principal_name", "role_name", "invoked_by",
    "source_ip", "user_agent", "error_code", "request_parameters", "additional_event_data", "log_file",
]


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
        "event_time": record.get("eventTime"),
        "event_id": record.get("eventID"),
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


def collect_trail_events(account: AwsAccount, raw: RawStore, period: Period, regions: list[str]) -> Population:
    prov = _provenance(account, "aws:cloudtrail+s3")
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
                rows += [_row(account.account_id, r, key) for r in records]
    prov.add_operation("s3:GetObject", {"Bucket": bucket}, pages=files, records=len(rows))
    expected_days = len(regions) * period.days
    prov.notes.append(f"Trail {trail['Name']} (multi-region: {trail.get('IsMultiRegionTrail')}, log file validation: "
                      f"{trail.get('LogFileValidationEnabled')}) delivers to s3://{bucket}/{prefix}")
    prov.notes.append(f"{files} log files; {len(days_with_files)} of {expected_days} region-days have log files.")
    frame = pd.DataFrame(rows, columns=EVENT_COLUMNS)
    frame["event_time"] = pd.to_datetime(frame["event_time"], utc=True, format="ISO8601")
    frame = frame[(frame["event_time"] >= period.start) & (frame["event_time"] < period.end)]
    frame = frame.sort_values(["event_time", "event_id"], kind="mergesort").reset_index(drop=True)
    return Population("cloudtrail-events", frame, prov)


def _day_of(key: str, month_prefix: str) -> date | None:
    rest = key[len(month_prefix):]
    day_text = rest.split("/", 1)[0]
    try:
        year, month = month_prefix.rstrip("/").split("/")[-2:]
        return date(int(year), int(month), int(day_text))
    except ValueError:
        return None
