"""CloudTrail: the trails (configuration, status, selectors, delivery bucket) and the period's events
from the trail's log files in S3.

``LookupEvents`` keeps only 90 days of management events, so a Type II population comes from
the files the trail delivers: ``<prefix>/AWSLogs/<account>/CloudTrail/<region>/YYYY/MM/DD/*.json.gz``,
each ``{"Records": [...]}``. A quarter of a busy account is tens of millions of events in ~100,000
files: they are listed per region and day, fetched in parallel, hashed, and parsed by DuckDB in bounded
batches (:mod:`auditbook.events.local`), keeping only the events the controls select. Metadata only: no
other object is read.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import tempfile
from concurrent.futures import ThreadPoolExecutor, as_completed, wait
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd

from auditbook.events.local import records_array
from auditbook.events.sql import EVENT_COLUMNS
from auditbook.period import Period
from auditbook.provenance import Collected, CollectionError, RawStore
from auditbook.sources.aws.base import absent, aws_errors, clean, provenance
from auditbook.sources.aws.session import AwsAccount
from auditbook.timeline import ChangeCalls

# The calls that change the trail settings AWS Config history records (the trail timeline cross-checks them).
TRAIL_SETTING_CHANGES = ChangeCalls("cloudtrail.amazonaws.com", "CreateTrail|UpdateTrail|DeleteTrail",
                                    "CloudTrail calls on a trail's settings", resource_parameter="name")


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


def trail_from_config(configuration: dict[str, Any], supplementary: dict[str, Any]) -> dict[str, Any]:
    """A trail's settings as an AWS Config configuration item records them (``AWS::CloudTrail::Trail``: the
    ``DescribeTrails`` fields in camelCase), in the columns ``cloudtrail-trails`` gives them."""
    return {"trail_name": configuration.get("name", ""),
            "multi_region": configuration.get("isMultiRegionTrail"),
            "log_file_validation": configuration.get("logFileValidationEnabled"),
            "global_service_events": configuration.get("includeGlobalServiceEvents"),
            "s3_bucket": configuration.get("s3BucketName") or ""}


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


LOG_FILE_COLUMNS = ("account_id", "region", "day", "bucket", "key", "size", "etag", "last_modified", "sha256",
                    "content_sha256", "records", "kept")
FETCH_THREADS = 16  # concurrent GetObject calls (the client's connection pool is sized to match)
BATCH_BYTES = 64 * 2**20  # uncompressed log content handed to the engine at once: bounds memory per batch


@dataclass(frozen=True)
class _Listed:
    key: str
    region: str
    day: date
    size: int
    etag: str
    last_modified: datetime


@dataclass
class _Fetched:
    listed: _Listed
    spooled: Path
    sha256: str  # of the object as stored (gzip): what anyone re-downloading it hashes
    content_sha256: str  # of the uncompressed log: what CloudTrail's digest files record
    body: bytes | None  # kept only when every log file is copied into the package


def collect_trail_logs(account: AwsAccount, raw: RawStore, period: Period, regions: list[str], selection: str,
                       copy_all: bool = False) -> tuple[Collected, Collected]:
    """Every log file the trail delivered for the period, read once, and the events the controls select.

    Files are listed per region and day (the period's days and the next, whose first file holds the last
    minutes of the period), fetched by a bounded pool of threads, hashed, and read by the local engine in
    batches; only the selected events are kept, every file's records are counted. The log files are
    evidence by reference (bucket, key, size, ETag, sha256): the package holds the ones a tested event cites,
    or all of them with ``copy_all``.
    """
    from auditbook.events.local import LocalEngine

    prov = provenance(account, "aws:cloudtrail+s3")
    trail, bucket, prefix = trail_destination(account)
    prov.add_operation("cloudtrail:DescribeTrails", {"includeShadowTrails": False}, records=1)
    s3 = account.client("s3", pool=FETCH_THREADS)
    days = [period.start.date() + timedelta(days=i) for i in range(period.days + 1)]
    prefixes = [(region, day, f"{prefix}AWSLogs/{account.account_id}/CloudTrail/{region}/{day:%Y/%m/%d}/")
                for region in regions for day in days]
    listed: list[_Listed] = []
    pages = 0
    with ThreadPoolExecutor(FETCH_THREADS) as pool:
        for found, n in pool.map(lambda p: _list_day(s3, bucket, *p), prefixes):
            listed += found
            pages += n
        prov.add_operation("s3:ListObjectsV2", {"Bucket": bucket, "Prefix": f"{prefix}AWSLogs/{account.account_id}"
                                                "/CloudTrail/<region>/<yyyy/mm/dd>/", "regions": regions,
                                                "days": f"{days[0]} to {days[-1]}"}, pages=pages, records=len(listed))
        with tempfile.TemporaryDirectory(prefix="auditbook-trail-") as spool_dir:
            engine = LocalEngine(Path(spool_dir))
            try:
                selected, counts, fetched = _read_all(pool, s3, bucket, listed, Path(spool_dir), engine, account,
                                                      period, regions, selection, copy_all)
            finally:
                engine.close()
    kept = selected.groupby("log_file").size().to_dict() if not selected.empty else {}
    rows = []
    for f in sorted(fetched, key=lambda f: f.listed.key):
        s3_path = f"s3://{bucket}/{f.listed.key}"
        rows.append({"account_id": account.account_id, "region": f.listed.region, "day": f"{f.listed.day}",
                     "bucket": bucket, "key": f.listed.key, "size": f.listed.size, "etag": f.listed.etag,
                     "last_modified": f.listed.last_modified, "sha256": f.sha256,
                     "content_sha256": f.content_sha256, "records": counts.get(s3_path, 0),
                     "kept": int(kept.get(f.listed.key, 0))})
        if copy_all and f.body is not None:
            prov.raw_files.append(raw.save(log_file_raw_path(account.account_id, f.listed.key), f.body))
    records = sum(r["records"] for r in rows)
    prov.add_operation("s3:GetObject", {"Bucket": bucket}, pages=len(rows), records=records)
    in_period = {(r["region"], r["day"]) for r in rows if r["day"] < f"{period.end.date()}"}
    prov.notes.append(f"Trail {trail['Name']} ({'' if trail.get('IsMultiRegionTrail') else 'not '}multi-region, log "
                      f"file validation {'on' if trail.get('LogFileValidationEnabled') else 'off'}) delivers to "
                      f"s3://{bucket}/{prefix}")
    prov.notes.append(f"{len(rows)} log files, {records} events; {len(in_period)} of {len(regions) * period.days} "
                      "region-days have log files.")
    prov.notes.append("Log files are evidence by reference (bucket, key, size, ETag, sha256 of the object and of "
                      "its content): " + ("every one is copied under raw/." if copy_all else
                                          "those a tested event cites are copied under raw/."))
    files = Collected(pd.DataFrame(rows, columns=list(LOG_FILE_COLUMNS)), prov)
    event_prov = provenance(account, "aws:cloudtrail+s3")
    event_prov.operations = list(prov.operations)
    event_prov.notes = [*prov.notes, f"{len(selected)} of {records} events kept: those of the period the controls "
                        f"select ({selection}), read by DuckDB with the query in auditbook.events.sql."]
    return files, Collected(selected.reset_index(drop=True), event_prov)


def log_file_raw_path(account_id: str, key: str) -> str:
    return f"aws/{account_id}/cloudtrail/{key}"


def copy_log_files(account: AwsAccount, raw: RawStore, files: list[tuple[str, str, str]]) -> int:
    """Copy the log files tested events cite (bucket, key, sha256 when read) into raw/, in parallel; returns how
    many were copied (a file already there, copied for another test or with every file, is left alone)."""
    s3 = account.client("s3", pool=FETCH_THREADS)
    with ThreadPoolExecutor(FETCH_THREADS) as pool:
        return sum(r is not None for r in pool.map(lambda f: copy_log_file(s3, account.account_id, raw, *f), files))


def copy_log_file(s3: Any, account_id: str, raw: RawStore, bucket: str, key: str,
                  sha256: str) -> dict[str, Any] | None:
    """One cited log file into raw/, as it was when the events were read (its sha256 then); None when it is
    already there. ``sha256`` is empty when auditbook did not read the file (engine athena: Athena read it in
    place): then there is nothing to compare, and the copy is the file as it is now (raw/'s manifest hashes it)."""
    rel = log_file_raw_path(account_id, key)
    if (raw.root / rel).exists():
        return None
    with aws_errors(f"s3:GetObject {key}"):
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    if sha256 and hashlib.sha256(body).hexdigest() != sha256:
        raise CollectionError(f"s3:GetObject {key}: the log file changed after its events were read "
                              f"(sha256 {hashlib.sha256(body).hexdigest()[:12]}…, read as {sha256[:12]}…)")
    try:
        return raw.save(rel, body)
    except FileExistsError:  # another criterion's kernel copied it a moment ago
        return None


def _list_day(s3: Any, bucket: str, region: str, day: date, day_prefix: str) -> tuple[list[_Listed], int]:
    found, pages = [], 0
    with aws_errors("s3:ListObjectsV2"):
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=day_prefix):
            pages += 1
            found += [_Listed(obj["Key"], region, day, int(obj["Size"]), str(obj.get("ETag", "")).strip('"'),
                              obj["LastModified"]) for obj in page.get("Contents", [])
                      if obj["Key"].endswith(".json.gz")]
    return found, pages


def _fetch(s3: Any, bucket: str, listed: _Listed, spool: Path, keep_body: bool) -> _Fetched:
    with aws_errors(f"s3:GetObject {listed.key}"):
        body = s3.get_object(Bucket=bucket, Key=listed.key)["Body"].read()
    try:
        content = gzip.decompress(body)
    except (OSError, EOFError) as exc:
        raise CollectionError(f"s3:GetObject {listed.key}: not a CloudTrail log file ({type(exc).__name__})") \
            from None
    try:
        records = records_array(content)
    except ValueError as exc:
        raise CollectionError(f"s3:GetObject {listed.key}: not a CloudTrail log file ({exc})") from None
    path = spool / f"{hashlib.sha256(listed.key.encode()).hexdigest()}.json"
    path.write_bytes(records)
    return _Fetched(listed, path, hashlib.sha256(body).hexdigest(), hashlib.sha256(content).hexdigest(),
                    body if keep_body else None)


def _read_all(pool: ThreadPoolExecutor, s3: Any, bucket: str, listed: list[_Listed], spool: Path, engine: Any,
              account: AwsAccount, period: Period, regions: list[str], selection: str,
              copy_all: bool) -> tuple[pd.DataFrame, dict[str, int], list[_Fetched]]:
    """Fetch with the pool, hand the engine a batch whenever enough content waits, keep what it selects."""
    from auditbook.events.local import SpooledFile

    counts: dict[str, int] = {}
    fetched: list[_Fetched] = []
    waiting: list[_Fetched] = []
    waiting_bytes = 0

    def flush() -> None:
        nonlocal waiting, waiting_bytes
        batch = [SpooledFile(f.spooled, f"s3://{bucket}/{f.listed.key}", f.listed.region, f"{f.listed.day:%Y/%m/%d}")
                 for f in waiting]
        counts.update(engine.keep(batch, account.account_id, period.start, period.end, selection, regions))
        for f in waiting:
            f.spooled.unlink()
        waiting, waiting_bytes = [], 0

    futures = [pool.submit(_fetch, s3, bucket, item, spool, copy_all) for item in listed]
    try:
        for future in as_completed(futures):
            done = future.result()
            fetched.append(done)
            waiting.append(done)
            waiting_bytes += done.spooled.stat().st_size
            if waiting_bytes >= BATCH_BYTES:
                flush()
        if waiting:
            flush()
    except BaseException:
        for future in futures:
            future.cancel()
        wait(futures)  # the fetches already running still write into the spool: let them end before it is removed
        raise
    selected = engine.kept()
    if selected is None:
        return pd.DataFrame(columns=list(EVENT_COLUMNS)), counts, fetched
    return selected, counts, fetched
