"""CC7.1 monitoring: the rules, as pure functions over CloudTrail, CloudWatch, SNS and GuardDuty populations.

Monitoring is proven for the whole period, not only at collection: the trail must have delivered
log files for every region and day of the period and must not have been weakened in it, besides
being configured correctly when the evidence is collected. Every rule an auditor may ask about is
in this module.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from typing import Any

import pandas as pd

from auditbook import timeline
from auditbook.results import ControlTest, Tested, TestResult, evaluate

TRAIL = ControlTest(
    "CC7.1-TRAIL", "CC7.1", "Audit trail configured and immutable",
    "Every CloudTrail trail in scope is multi-region, validates its log files, is logging, records all read and "
    "write management events, and delivers to an S3 bucket with versioning, object lock and default encryption "
    "(or a KMS key on the trail); multi-region and log file validation hold at every moment of the period, not "
    "only at collection.", "continuous", ("cloudtrail-trails", "cloudtrail-trail-timeline"),
    lambda s, ctx: {"in_scope": s["trails"]}, ("account_id", "trail_name"),
    deviates_when=("A trail in scope ({trails}) that is not logging, not multi-region, does not validate its log "
                   "files, records less than all management events, or delivers to a bucket without versioning, "
                   "object lock and default encryption deviates; multi-region and log file validation must hold at "
                   "every moment of the period."))
COVERAGE = ControlTest(
    "CC7.1-TRAIL-COVERAGE", "CC7.1", "Audit logging on for the whole period",
    "Every region in scope has CloudTrail log files for every day of the period (a day without any log file is "
    "a gap in the audit trail).", "daily", ("cloudtrail-coverage",), sample_keys=("account_id", "region", "day"),
    deviates_when=("A region in scope with a day of the period without any CloudTrail log file deviates."))
CHANGES = ControlTest(
    "CC7.1-TRAIL-CHANGES", "CC7.1", "Audit trail not weakened in the period",
    "No successful call in the period stopped or deleted a trail, or updated a trail or its event selectors in a "
    "way that records less (log file validation, multi-region or global events switched off, delivery "
    "redirected, management events excluded).", "per_event", ("cloudtrail-trail-changes", "cloudtrail-trails"),
    sample_keys=("event_time", "event_id"), reference=("cloudtrail-trails",),
    deviates_when=("A change that weakened logging ({weakening}) deviates."))
RETENTION = ControlTest(
    "CC7.1-LOG-RETENTION", "CC7.1", "Logs retained long enough",
    "Every CloudWatch Logs log group in scope keeps its logs at least the minimum retention; a group that never "
    "expires its logs is compliant only where params accept it.", "continuous", ("cloudwatch-log-groups",),
    lambda s, ctx: {"minimum_days": s["log_retention_days"], "never_expire_compliant": s["never_expire_compliant"],
                    "prefixes": s["log_groups"]}, ("account_id", "region", "log_group"),
    configuration_only=True,
    deviates_when=("A log group in scope ({log_groups}) kept for fewer than {minimum_retention_days} days "
                   "deviates; one that never expires its logs is compliant: {never_expire_compliant}."))
ALARM_COVERAGE = ControlTest(
    "CC7.1-ALARM-COVERAGE", "CC7.1", "Alarms exist for every monitored metric",
    "Every metric params name (infrastructure, application and business metrics) has at least one CloudWatch "
    "alarm on it.", "continuous", ("alarm-coverage",), sample_keys=("namespace", "metric"),
    configuration_only=True,
    deviates_when=("A metric params name with no CloudWatch alarm on it deviates."))
ALARM_ACTIONS = ControlTest(
    "CC7.1-ALARM-ACTIONS", "CC7.1", "Alarms reach the on-call",
    "Every alarm on a metric that must be alarmed (required metrics, business metrics incidents answer) has its "
    "actions enabled and at least one alarm action that is an SNS topic with a confirmed subscription; other "
    "alarms (an auto scaling policy's, say) are listed as information.", "continuous", ("alarm-actions",),
    lambda s, ctx: {"required": s["required_alarms"],
                    "business_namespaces": ctx.settings("CC7.2").get("incident_alarm_namespaces") or []},
    ("account_id", "region", "alarm_name"),
    configuration_only=True,
    deviates_when=("An alarm on a metric that must be alarmed with its actions disabled, or without an alarm action "
                   "to an {alarm_action}, deviates."))
THREAT_DETECTION = ControlTest(
    "CC7.1-THREAT-DETECTION", "CC7.1", "Threat detection enabled in every region",
    "A GuardDuty detector is enabled in every region in scope, at every moment of the period (its status "
    "timeline), not only at collection.", "continuous", ("guardduty-detectors", "guardduty-timeline"),
    lambda s, ctx: {"regions": s["threat_detection_regions"] or ctx.regions}, ("account_id", "region"),
    deviates_when=("A region in scope ({regions}) without a GuardDuty detector enabled, at collection or at any "
                   "moment of its status timeline, deviates."))

LOG_INTEGRITY = ControlTest(
    "CC7.1-LOG-INTEGRITY", "CC7.1", "Audit log files complete and unmodified",
    "Every CloudTrail log file delivered in the period is listed in a digest file whose signature verifies and "
    "which chains to the digest before it, and still hashes to the SHA-256 the digest recorded; every log file a "
    "digest lists was delivered. Validated the way the AWS CLI's cloudtrail validate-logs does.", "continuous",
    ("cloudtrail-log-integrity",), sample_keys=("account_id", "region", "kind", "key"),
    deviates_when=("A log file of the period not {log_file}, or a digest whose signature does not verify or that "
                   "does not name the previous digest, deviates; log files delivered within the last digest interval "
                   "are not tested."))

TESTS = [TRAIL, COVERAGE, CHANGES, LOG_INTEGRITY, RETENTION, ALARM_COVERAGE, ALARM_ACTIONS, THREAT_DETECTION]
TRAIL_EVENT_SOURCE = "cloudtrail.amazonaws.com"
# The CloudTrail events CC7.1 reads (auditbook.events.sql): calls that may change a trail.
CLOUDTRAIL_SELECTION = f"event_source = '{TRAIL_EVENT_SOURCE}' AND read_only <> 'true' AND event_type = 'AwsApiCall'"


# -- the trail ------------------------------------------------------------------------------
def trail_problems(t: Any) -> list[str]:
    problems = []
    if not t.multi_region:
        problems.append("not multi-region")
    if not t.log_file_validation:
        problems.append("log file validation off")
    if not t.is_logging:
        problems.append("not logging at collection")
    if t.management_events != "All":
        problems.append(f"management events recorded: {t.management_events} (required: All)")
    if not t.s3_bucket:
        problems.append("delivers to no S3 bucket")
    else:
        if t.bucket_versioning != "Enabled":
            problems.append(f"bucket versioning {t.bucket_versioning or 'off'}")
        if not t.bucket_object_lock:
            problems.append("bucket has no object lock (logs can be deleted or overwritten)")
        if not t.bucket_encryption and not t.kms_key_id:
            problems.append("neither bucket default encryption nor a KMS key on the trail")
    if t.latest_delivery_error:
        problems.append(f"latest delivery error: {t.latest_delivery_error}")
    return problems


def interval_problems(interval: Any) -> list[str]:
    """What a known interval of a trail's timeline shows wrong (the settings Config history records)."""
    problems = []
    if interval.multi_region is False:
        problems.append("not multi-region")
    if interval.log_file_validation is False:
        problems.append("log file validation off")
    return problems


@TRAIL.rule
def trail_configured(trails: pd.DataFrame, history: pd.DataFrame, in_scope: list[str]) -> TestResult:
    """Every trail in scope (all when ``in_scope`` is empty) meets every requirement at collection, and its
    timeline shows no moment of the period without multi-region or log file validation; no trail deviates."""
    tested = Tested(trails, "cloudtrail-trails")
    if in_scope:
        tested = tested.keep(lambda f: f["trail_name"].isin(in_scope),
                             f"the trails params name ({', '.join(in_scope)})")
    scoped = tested.frame
    deviations = []
    for t in scoped.itertuples():
        label = f"{t.account_id}:{t.trail_name}"
        problems = timeline.problems_over_time(trail_problems(t), timeline.known_intervals(history, label),
                                               interval_problems)
        if problems:
            deviations.append({"resource_type": "cloudtrail_trail", "resource_id": label,
                               "detail": "; ".join(problems)})
    accounts = set(trails["account_id"]) if not trails.empty else set()
    missing = sorted(set(in_scope) - set(scoped["trail_name"])) if in_scope else []
    deviations += [{"resource_type": "cloudtrail_trail", "resource_id": f"{a}:{name}",
                    "detail": "trail named in params does not exist"} for a in sorted(accounts) for name in missing]
    threshold = {"trails": in_scope or "all", "multi_region": True, "log_file_validation": True,
                 "over the period": "multi-region and log file validation at every moment",
                 "management_events": "All", "bucket": "versioning + object lock + encryption"}
    notes = [] if not trails.empty else ["no trail found in the account: nothing records API activity"]
    if trails.empty:
        deviations.append({"resource_type": "cloudtrail_trail", "resource_id": "(none)", "detail": notes[0]})
    return evaluate(TRAIL, tested, deviations, threshold, notes,
                    gaps=timeline.gaps(history, [f"{t.account_id}:{t.trail_name}" for t in scoped.itertuples()]))


def log_file_coverage(log_files: pd.DataFrame, regions: list[str], period_start: datetime, period_end: datetime,
                      accounts: list[str] | None = None) -> pd.DataFrame:
    """One row per account, region and day of the period: how many log files and records the trail delivered
    (every record of every file, whether or not a control reads it)."""
    days = pd.date_range(pd.Timestamp(period_start).normalize(), pd.Timestamp(period_end) - timedelta(seconds=1),
                         freq="D")
    accounts = accounts or (sorted(set(log_files["account_id"])) if not log_files.empty else [])
    per_day = log_files.groupby(["account_id", "region", "day"]).agg(log_files=("key", "size"),
                                                                      records=("records", "sum"))
    rows = []
    for account in accounts:
        for region in regions:
            for day in days:
                key = (account, region, f"{day:%Y-%m-%d}")
                files, records = (per_day.loc[key].tolist() if key in per_day.index else (0, 0))
                rows.append({"account_id": account, "region": region, "day": f"{day:%Y-%m-%d}",
                             "log_files": int(files), "records": int(records)})
    return pd.DataFrame(rows, columns=["account_id", "region", "day", "log_files", "records"])


@COVERAGE.rule
def logging_whole_period(coverage: pd.DataFrame) -> TestResult:
    gaps = coverage[coverage["log_files"] == 0]
    deviations = [{"resource_type": "cloudtrail_region_day", "resource_id": f"{g.account_id}:{g.region}:{g.day}",
                   "detail": f"no CloudTrail log file for {g.region} on {g.day}"} for g in gaps.itertuples()]
    notes = []
    if coverage.empty:
        deviations.append({"resource_type": "cloudtrail_region_day", "resource_id": "(none)",
                           "detail": "no log file at all in the period"})
    return evaluate(COVERAGE, coverage, deviations, {"log_files_per_region_day": ">= 1"}, notes)


def trail_changes(events: pd.DataFrame) -> pd.DataFrame:
    """Every non-read-only CloudTrail API call in the period (the trail's own configuration changes)."""
    mask = ((events["event_source"] == TRAIL_EVENT_SOURCE) & (events["read_only"] != True)  # noqa: E712
            & (events["event_type"] == "AwsApiCall"))
    return events[mask].reset_index(drop=True)


def weakening_reason(event_name: str, request_parameters: str, trail_buckets: set[str]) -> str:
    """Why a trail configuration call records less than before; "" when it does not."""
    params = json.loads(request_parameters) if request_parameters else {}
    if event_name == "StopLogging":
        return "logging stopped"
    if event_name == "DeleteTrail":
        return "trail deleted"
    if event_name == "UpdateTrail":
        off = [label for key, label in [("enableLogFileValidation", "log file validation"),
                                        ("isMultiRegionTrail", "multi-region"),
                                        ("includeGlobalServiceEvents", "global service events")]
               if params.get(key) is False]
        reasons = [f"{label} switched off" for label in off]
        bucket = params.get("s3BucketName")
        if bucket and trail_buckets and bucket not in trail_buckets:
            reasons.append(f"delivery redirected to bucket {bucket}")
        if params.get("kmsKeyId") == "":
            reasons.append("KMS encryption removed")
        return "; ".join(reasons)
    if event_name == "PutEventSelectors":
        basic = params.get("eventSelectors") or []
        advanced = params.get("advancedEventSelectors") or []
        if basic and not any(s.get("includeManagementEvents", True) and s.get("readWriteType", "All") == "All"
                             for s in basic):
            return "event selectors no longer record all management events"
        if advanced and not any(any(f.get("field") == "eventCategory" and f.get("equals") == ["Management"]
                                    and not any(g.get("field") == "readOnly" for g in s.get("fieldSelectors", []))
                                    for f in s.get("fieldSelectors", [])) for s in advanced):
            return "advanced event selectors no longer record all management events"
    return ""


@CHANGES.rule
def trail_not_weakened(changes: pd.DataFrame, trails: pd.DataFrame) -> TestResult:
    buckets = set(trails["s3_bucket"]) - {""}
    sheet = changes.copy()
    sheet["weakening"] = pd.Series([("" if e.error_code else weakening_reason(e.event_name, e.request_parameters,
                                                                              buckets))
                                    for e in sheet.itertuples()], index=sheet.index, dtype=str)
    deviations = [{"resource_type": "cloudtrail_event", "resource_id": f"{e.account_id}:{e.event_id}",
                   "detail": f"{e.event_time:%Y-%m-%d %H:%M} {e.event_name} by {e.principal_name}"
                             + (f" (role {e.role_name})" if e.role_name else "") + f": {e.weakening}"}
                  for e in sheet.itertuples() if e.weakening]
    notes = []
    failed = int((sheet["error_code"] != "").sum()) if not sheet.empty else 0
    if failed:
        notes.append(f"{failed} trail configuration calls failed (nothing changed) and are not deviations.")
    threshold = {"weakening": "StopLogging, DeleteTrail, UpdateTrail or PutEventSelectors that records less"}
    return evaluate(CHANGES, Tested(changes, "cloudtrail-trail-changes").annotate(sheet), deviations, threshold, notes)


# -- log file integrity ---------------------------------------------------------------------
DIGEST_INTERVAL = timedelta(hours=1)  # CloudTrail writes a digest per region about every hour
# A log file delivered after the newest digest is awaiting its digest, not a deviation, for the interval in
# progress at collection and the one before it (whose digest CloudTrail may still be writing).
AWAITING_DIGEST = 2 * DIGEST_INTERVAL
INTEGRITY_COLUMNS = ["account_id", "region", "kind", "key", "status", "digest_key", "listed_sha256",
                     "content_sha256", "delivered_at", "awaiting_digest", "detail"]
VALID, MODIFIED, MISSING, UNDIGESTED = "valid", "modified", "missing", "not in a digest"
# A file a valid digest lists and Athena read in place (engine athena): auditbook never hashed it, so whether it
# is as CloudTrail wrote it is not known: neither valid nor modified.
UNVERIFIED = "content not verified"


def _short(sha: str) -> str:
    return f"{sha[:12]}..." if sha else "(none)"


_DAY_IN_KEY = re.compile(r"/CloudTrail/[a-z0-9-]+/(?P<y>\d{4})/(?P<m>\d{2})/(?P<d>\d{2})/")


def _in_scope(key: str, start: datetime, end: datetime) -> bool:
    """A log file's day (from its key) is one of the period's days or the next (whose first files hold the period's
    last minutes: cloudtrail-log-files lists those days); a key without a day is kept (it must be accounted for)."""
    found = _DAY_IN_KEY.search(key)
    if not found:
        return True
    day = pd.Timestamp(f"{found['y']}-{found['m']}-{found['d']}", tz="UTC")
    return pd.Timestamp(start).normalize() <= day < pd.Timestamp(end) + pd.Timedelta(days=1)


def log_integrity(log_files: pd.DataFrame, digests: pd.DataFrame, digest_log_files: pd.DataFrame,
                  period_start: datetime, period_end: datetime, engine: str = "local") -> pd.DataFrame:
    """One row per log file of the period's days and the next, delivered or listed in a digest (``valid``,
    ``modified``: the content
    hashes otherwise than the digest recorded, ``missing``: listed but not delivered, ``not in a digest``), and one
    per digest whose signature is invalid or whose chain is broken.

    Only a digest whose signature verifies vouches for the files it lists: a file listed only in a digest with an
    invalid signature is ``not in a digest`` (the digest's own row says why), and one such a digest lists but that
    was not delivered has no row. ``awaiting_digest`` marks a file delivered after the newest valid digest of its
    region, within :data:`AWAITING_DIGEST` of it: its digest was not yet due when the evidence was collected.

    ``engine`` is how cloudtrail-log-files was read. Under ``athena`` the files are listed from Athena's ``"$path"``
    and never hashed: a listed file is :data:`UNVERIFIED` (missing files and bad digests are still found). Under
    ``cloudtrail-lake`` there are no files at all to compare, which is an error, not an empty (passing) check.
    """
    if engine == "cloudtrail-lake":
        raise ValueError("engine cloudtrail-lake reads the events from the event data store, not from the trail's "
                         "log files: auditbook lists and hashes no log file, so none can be checked against the "
                         "digests (engine local does)")
    trusted = {(d.account_id, d.digest_key) for d in digests.itertuples() if d.signature_valid}
    untrusted = {(d.account_id, d.digest_key) for d in digests.itertuples() if not d.signature_valid}
    regions_with_digests = {(d.account_id, d.region) for d in digests.itertuples()}
    newest: dict[tuple[str, str], pd.Timestamp] = {}
    for d in digests.itertuples():
        if d.signature_valid and not pd.isna(d.digest_end):
            here = (d.account_id, d.region)
            newest[here] = max(newest.get(here, d.digest_end), d.digest_end)
    listings: dict[tuple[str, str], list[Any]] = {}
    doubtful: dict[tuple[str, str], str] = {}
    for f in digest_log_files.itertuples():
        if not f.key or not _in_scope(f.key, period_start, period_end):
            continue
        if (f.account_id, f.digest_key) in trusted:
            listings.setdefault((f.account_id, f.key), []).append(f)
        elif (f.account_id, f.digest_key) in untrusted:
            doubtful.setdefault((f.account_id, f.key), f.digest_key)
    rows = []
    delivered = {(f.account_id, f.key): f for f in log_files.itertuples()
                 if f.key and _in_scope(f.key, period_start, period_end)}
    for (account, key), f in delivered.items():
        content = str(f.content_sha256 or "").lower()
        base = {"account_id": account, "region": f.region, "kind": "log_file", "key": key,
                "content_sha256": content, "delivered_at": f.last_modified, "awaiting_digest": False}
        found = listings.get((account, key), [])
        if found and engine == "athena":
            rows.append({**base, "status": UNVERIFIED, "digest_key": found[0].digest_key,
                         "listed_sha256": str(found[0].content_sha256).lower(),
                         "detail": f"listed in digest {found[0].digest_key}; read in place by Athena (engine athena): "
                                   "auditbook did not hash its content, so it cannot be compared with the digest"})
            continue
        if found:
            match = next((x for x in found if str(x.content_sha256).lower() == content), None)
            if match is not None:
                rows.append({**base, "status": VALID, "digest_key": match.digest_key,
                             "listed_sha256": content, "detail": ""})
            else:
                listed = found[0]
                rows.append({**base, "status": MODIFIED, "digest_key": listed.digest_key,
                             "listed_sha256": str(listed.content_sha256).lower(),
                             "detail": f"the content hashes to {_short(content)}, not to "
                                       f"{_short(str(listed.content_sha256).lower())} as digest {listed.digest_key} "
                                       "recorded: the file was changed after delivery"})
            continue
        since = newest.get((account, f.region))
        when = f.last_modified
        awaiting = bool(since is not None and not pd.isna(when) and since <= when < since + AWAITING_DIGEST)
        if (account, key) in doubtful:
            detail = f"listed only in digest {doubtful[(account, key)]}, whose signature is invalid"
        elif (account, f.region) not in regions_with_digests:
            detail = f"no digest file for {f.region} covers the period: log file validation was off"
        elif since is None:
            detail = f"no digest file for {f.region} with a valid signature"
        elif awaiting:
            detail = (f"delivered {when:%Y-%m-%d %H:%M} after the newest digest (ends {since:%Y-%m-%d %H:%M}): its "
                      "digest was not yet due at collection")
        elif not pd.isna(when) and when >= since:
            detail = (f"delivered {when:%Y-%m-%d %H:%M}, after the newest digest (ends {since:%Y-%m-%d %H:%M}): "
                      "no digest lists it (validation switched off, or the digests since deleted)")
        else:
            detail = ("no digest lists it: delivered while log file validation was off, or the digest that listed "
                      "it is missing")
        rows.append({**base, "status": UNDIGESTED, "digest_key": "", "listed_sha256": "",
                     "awaiting_digest": awaiting, "detail": detail})
    for (account, key), found in listings.items():
        if (account, key) in delivered:
            continue
        listed = found[0]
        rows.append({"account_id": account, "region": listed.region, "kind": "log_file", "key": key,
                     "status": MISSING, "digest_key": listed.digest_key,
                     "listed_sha256": str(listed.content_sha256).lower(), "content_sha256": "",
                     "delivered_at": None, "awaiting_digest": False,
                     "detail": f"listed in digest {listed.digest_key} but not in the bucket: deleted or moved"})
    for d in digests.itertuples():
        if d.signature_valid and d.chain_ok:
            continue
        status = ", ".join(p for p, bad in (("signature invalid", not d.signature_valid),
                                             ("chain broken", not d.chain_ok)) if bad)
        rows.append({"account_id": d.account_id, "region": d.region, "kind": "digest", "key": d.digest_key,
                     "status": status, "digest_key": d.digest_key, "listed_sha256": "", "content_sha256": "",
                     "delivered_at": None, "awaiting_digest": False, "detail": d.problem})
    frame = pd.DataFrame(rows, columns=INTEGRITY_COLUMNS)
    frame["delivered_at"] = pd.to_datetime(frame["delivered_at"], utc=True)
    return frame.sort_values(["account_id", "region", "kind", "key"], kind="stable").reset_index(drop=True)


@LOG_INTEGRITY.rule
def log_files_intact(integrity: pd.DataFrame) -> TestResult:
    """Each modified, missing or undigested log file and each bad digest is a deviation; a file awaiting its
    digest at collection is not tested."""
    tested = Tested(integrity, "cloudtrail-log-integrity").keep(
        lambda f: ~f["awaiting_digest"].astype(bool),
        "without the log files delivered after the newest digest of their region and within two digest "
        "intervals of it (their digest was not yet due at collection)")
    rows = tested.frame
    files, bad_digests = rows[rows["kind"] == "log_file"], rows[rows["kind"] != "log_file"]
    count = files["status"].value_counts()
    if count.get(UNVERIFIED, 0):  # fail closed: neither valid nor a deviation, so the test cannot conclude
        raise ValueError(f"{count[UNVERIFIED]} log files were read in place by Athena and never hashed: their content "
                         "cannot be compared with the digests (engine local hashes every file); found besides: "
                         f"{count.get(MISSING, 0)} missing, {count.get(UNDIGESTED, 0)} in no digest, "
                         f"{len(bad_digests)} bad digests")
    deviations = [{"resource_type": "cloudtrail_log_file" if r.kind == "log_file" else "cloudtrail_digest",
                   "resource_id": f"{r.account_id}:{r.key}", "detail": f"{r.status}: {r.detail}"}
                  for r in rows.itertuples() if r.status != VALID]
    broken = int(bad_digests["status"].str.contains("chain broken").sum())
    unsigned = int(bad_digests["status"].str.contains("signature invalid").sum())
    summary = (f"{count.get(VALID, 0)} log files validated, {count.get(MODIFIED, 0)} modified, "
               f"{count.get(MISSING, 0)} missing, digest chain {'broken' if broken else 'unbroken'}")
    extra = [f"{broken} digests do not chain to the digest before them" if broken else "",
             f"{unsigned} digests with an invalid signature" if unsigned else "",
             f"{count.get(UNDIGESTED, 0)} log files in no digest" if count.get(UNDIGESTED, 0) else ""]
    notes = [summary + "".join(f"; {e}" for e in extra if e) + "."]
    waiting = int(integrity["awaiting_digest"].astype(bool).sum()) if len(integrity) else 0
    if waiting:
        notes.append(f"{waiting} log files delivered after the newest digest are awaiting their digest (CloudTrail "
                     "writes one about every hour): not deviations, and not tested.")
    listed = rows.groupby(["account_id", "region"])["digest_key"].agg(lambda keys: bool((keys != "").any())) \
        if len(rows) else pd.Series(dtype=bool)
    off = [f"{account}:{region}" for (account, region), any_digest in listed.items() if not any_digest]
    if off:
        notes.append(f"Log file validation was off in {', '.join(off)}: no digest file lists a log file of the "
                     "period, so none can be shown complete and unmodified.")
    threshold = {"log_file": "listed in a validly signed, chained digest and hashing as it recorded",
                 "digest": "signature verifies (SHA256withRSA) and names the previous digest by hash and signature",
                 "awaiting_digest": f"delivered within {AWAITING_DIGEST.total_seconds() / 3600:g} hours after the "
                                    "newest digest: not tested"}
    return evaluate(LOG_INTEGRITY, tested, deviations, threshold, notes)


def trail_doubt(integrity: pd.DataFrame) -> str:
    """Why no event read from the trail can be relied on ('' when nothing says so): a log file that no longer
    hashes as CloudTrail recorded, or that a digest lists and the bucket no longer holds, means any population
    of events may have been altered or be incomplete, so every test built on them is ERROR, not PASS or FAIL.

    A file in no digest (validation off, a forged digest) is CC7.1-LOG-INTEGRITY's deviation but proves no
    change: the tests on events stand, and the report shows that deviation next to them.
    """
    if integrity.empty:
        return ""
    files = integrity[(integrity["kind"] == "log_file") & ~integrity["awaiting_digest"].astype(bool)]
    modified, missing = files[files["status"] == MODIFIED], files[files["status"] == MISSING]
    if modified.empty and missing.empty:
        return ""
    named = [*modified["key"].head(3), *missing["key"].head(3)]
    return (f"the trail's log files are not as CloudTrail wrote them ({len(modified)} modified, {len(missing)} "
            f"missing; see CC7.1-LOG-INTEGRITY), so events read from them cannot be relied on: "
            f"{', '.join(named)}{' ...' if len(modified) + len(missing) > len(named) else ''}")


# -- log retention --------------------------------------------------------------------------
def _in_scope_groups(groups: pd.DataFrame, prefixes: list[str]) -> Tested:
    tested = Tested(groups, "cloudwatch-log-groups")
    if not prefixes:
        return tested
    return tested.keep(lambda f: f["log_group"].map(lambda name: any(name.startswith(p) for p in prefixes)),
                       f"log groups whose name starts with {', '.join(prefixes)}")


def in_scope_groups(groups: pd.DataFrame, prefixes: list[str]) -> pd.DataFrame:
    return _in_scope_groups(groups, prefixes).frame


@RETENTION.rule
def log_retention(groups: pd.DataFrame, minimum_days: int, never_expire_compliant: bool,
                  prefixes: list[str]) -> TestResult:
    tested = _in_scope_groups(groups, prefixes)
    scoped = tested.frame
    deviations = []
    for g in scoped.itertuples():
        if pd.isna(g.retention_days):
            if never_expire_compliant:
                continue
            detail = "no retention policy (logs never expire); params do not accept it"
        elif g.retention_days < minimum_days:
            detail = f"retention {int(g.retention_days)} days (minimum {minimum_days})"
        else:
            continue
        deviations.append({"resource_type": "log_group", "resource_id": f"{g.account_id}:{g.region}:{g.log_group}",
                           "detail": detail})
    threshold = {"minimum_retention_days": minimum_days, "never_expire_compliant": never_expire_compliant,
                 "log_groups": prefixes or "all"}
    return evaluate(RETENTION, tested, deviations, threshold)


# -- alarms ---------------------------------------------------------------------------------
def alarm_coverage(alarms: pd.DataFrame, required: list[dict[str, Any]]) -> pd.DataFrame:
    """One row per metric params require, with the alarms on it (metric-math alarms count by their metrics)."""
    rows = []
    for req in required:
        def reads(a: Any, req: dict[str, Any] = req) -> bool:
            return req["metric"] in str(a.metric_name).split(";") and req["namespace"] in str(a.namespace).split(";")
        on_it = [a for a in alarms.itertuples() if reads(a)]
        rows.append({"category": req.get("category", ""), "namespace": req["namespace"], "metric": req["metric"],
                     "alarms": ";".join(sorted(f"{a.region}:{a.alarm_name}" for a in on_it)),
                     "alarm_count": len(on_it)})
    return pd.DataFrame(rows, columns=["category", "namespace", "metric", "alarms", "alarm_count"])


@ALARM_COVERAGE.rule
def alarms_exist(coverage: pd.DataFrame) -> TestResult:
    deviations = [{"resource_type": "metric", "resource_id": f"{c.namespace}/{c.metric}",
                   "detail": f"no CloudWatch alarm on this {c.category or 'required'} metric"}
                  for c in coverage.itertuples() if c.alarm_count == 0]
    notes = [] if len(coverage) else ["params name no metric that must have an alarm (criteria.CC7.1.required_alarms)"]
    return evaluate(ALARM_COVERAGE, coverage, deviations, {"alarms_per_metric": ">= 1"}, notes)


def alarm_worksheet(alarms: pd.DataFrame, topics: pd.DataFrame) -> pd.DataFrame:
    """Each alarm with where its alarm actions go: SNS topics and their confirmed subscriptions."""
    subs = dict(zip(topics["topic_arn"], topics["confirmed_subscriptions"], strict=True)) if not topics.empty else {}
    sheet = alarms.copy()
    targets, reachable = [], []
    for a in sheet.itertuples():
        actions = [x for x in str(a.alarm_actions).split(";") if x]
        described = []
        ok = False
        for arn in actions:
            if ":sns:" in arn:
                n = subs.get(arn)
                described.append(f"{arn.rsplit(':', 1)[-1]} ({'missing topic' if n is None else f'{n} subscribed'})")
                ok = ok or bool(n)
            else:
                described.append(arn.rsplit(":", 1)[-1])
        targets.append("; ".join(described))
        reachable.append(ok)
    sheet["targets"] = targets
    sheet["reaches_subscriber"] = reachable
    return sheet


def on_watched_metric(alarms: pd.DataFrame, required: list[dict[str, Any]], business_namespaces: list[str]) \
        -> pd.Series:
    """Alarms someone must hear: on a metric params require, or in a namespace of business metrics incidents must
    answer (metric-math alarms by any of their metrics)."""
    def watched(a: Any) -> bool:
        metrics, spaces = str(a.metric_name).split(";"), str(a.namespace).split(";")
        return any(r["metric"] in metrics and r["namespace"] in spaces for r in required) \
            or any(n in spaces for n in business_namespaces)
    return pd.Series([watched(a) for a in alarms.itertuples()], index=alarms.index, dtype=bool)


@ALARM_ACTIONS.rule
def alarms_reach_oncall(sheet: pd.DataFrame, required: list[dict[str, Any]],
                        business_namespaces: list[str]) -> TestResult:
    """The notification rule applies to the alarms that must be heard; an alarm that scales a group on a metric
    nobody required is not a monitoring deviation (listed as information when it notifies nobody)."""
    watched = on_watched_metric(sheet, required, business_namespaces) if len(sheet) else pd.Series(dtype=bool)
    tested = Tested(sheet, "alarm-actions").keep(watched, "alarms on a required metric (criteria.CC7.1.required_alarms)"
                                                          " or a business namespace (CC7.2 incident_alarm_namespaces)")
    others = sheet[~watched] if len(sheet) else sheet
    silent = others[~others["reaches_subscriber"].astype(bool)] if len(others) else others
    notes = [f"{len(silent)} other alarm{'s notify' if len(silent) != 1 else ' notifies'} nobody (information, not "
             "deviations: "
             f"on no required or business metric): {', '.join(sorted(silent['alarm_name'])[:10])}"
             + (" ..." if len(silent) > 10 else "")] if len(silent) else []
    deviations = []
    for a in tested.frame.itertuples():
        problems = []
        if not a.actions_enabled:
            problems.append("alarm actions disabled")
        if not a.alarm_actions:
            problems.append("no alarm action")
        elif not a.reaches_subscriber:
            problems.append(f"no action reaches a subscribed SNS topic ({a.targets})")
        if problems:
            deviations.append({"resource_type": "cloudwatch_alarm", "resource_id": f"{a.account_id}:{a.region}:"
                               f"{a.alarm_name}", "detail": "; ".join(problems)})
    return evaluate(ALARM_ACTIONS, tested, deviations, {"actions_enabled": True,
                                                        "alarm_action": "SNS topic with a confirmed subscription"},
                    notes)


def alarm_firings(history: pd.DataFrame, alarms: pd.DataFrame, period_start: datetime | None = None,
                  period_end: datetime | None = None) -> pd.DataFrame:
    """Each time an alarm went into ALARM in the period, with the alarm's metric and how long it lasted.

    An alarm ``DescribeAlarms`` shows in ALARM since a moment of the period is a firing even when the history no
    longer holds it (CloudWatch forgets alarm history after about 30 days): it is still firing, not cleared.
    """
    columns = ["account_id", "region", "alarm_name", "fired_at", "cleared_at", "minutes", "namespace", "metric_name"]
    rows = []
    if not history.empty:
        ordered = history.sort_values(["account_id", "region", "alarm_name", "timestamp"])
        for (account, region, name), changes in ordered.groupby(["account_id", "region", "alarm_name"], sort=True):
            changes = changes.reset_index(drop=True)
            for i, change in changes.iterrows():
                if change["new_state"] != "ALARM":
                    continue
                later = changes.iloc[i + 1:]
                cleared = later[later["new_state"] != "ALARM"]["timestamp"].min() if len(later) else pd.NaT
                rows.append({"account_id": account, "region": region, "alarm_name": name,
                             "fired_at": change["timestamp"], "cleared_at": cleared})
    rows += _firing_now(alarms, rows, period_start, period_end)
    if not rows:
        return pd.DataFrame(columns=columns)
    frame = pd.DataFrame(rows, columns=["account_id", "region", "alarm_name", "fired_at", "cleared_at"])
    for column in ("fired_at", "cleared_at"):  # a column of missing times has no dtype of its own
        frame[column] = pd.to_datetime(frame[column], utc=True)
    frame["minutes"] = ((frame["cleared_at"] - frame["fired_at"]).dt.total_seconds() / 60).round()
    meta = alarms[["account_id", "region", "alarm_name", "namespace", "metric_name"]]
    return frame.merge(meta, on=["account_id", "region", "alarm_name"], how="left").fillna(
        {"namespace": "", "metric_name": ""}).sort_values(["fired_at", "alarm_name"]).reset_index(drop=True)


def _firing_now(alarms: pd.DataFrame, found: list[dict[str, Any]], start: datetime | None,
                end: datetime | None) -> list[dict[str, Any]]:
    """Alarms in ALARM at collection since a moment of the period that the history shows no firing at."""
    if start is None or end is None or alarms.empty:
        return []
    out = []
    firing = alarms[(alarms["state"] == "ALARM") & alarms["state_updated"].notna()]
    for a in firing.itertuples():
        since = pd.Timestamp(a.state_updated)
        if not pd.Timestamp(start) <= since < pd.Timestamp(end):
            continue
        if any(f["alarm_name"] == a.alarm_name and f["account_id"] == a.account_id and f["region"] == a.region
               and abs(pd.Timestamp(f["fired_at"]) - since) <= pd.Timedelta(minutes=1) for f in found):
            continue
        out.append({"account_id": a.account_id, "region": a.region, "alarm_name": a.alarm_name,
                    "fired_at": since, "cleared_at": pd.NaT})
    return out


# -- threat detection -----------------------------------------------------------------------
@THREAT_DETECTION.rule
def threat_detection_on(detectors: pd.DataFrame, history: pd.DataFrame, regions: list[str]) -> TestResult:
    """An enabled detector in every region in scope at collection and in every known interval of the period; an
    interval the timeline cannot show is a gap."""
    enabled = set(detectors[detectors["status"] == "ENABLED"][["account_id", "region"]].itertuples(index=False,
                                                                                                   name=None))
    deviations, labels = [], []
    for account in sorted(set(detectors["account_id"])):
        for region in regions:
            label = timeline.resource_label(account, region, "guardduty")
            labels.append(label)
            now = []
            if (account, region) not in enabled:
                states = detectors[(detectors["account_id"] == account) & (detectors["region"] == region)]["status"]
                now = [f"no enabled GuardDuty detector (status: {', '.join(sorted(set(states))) or 'not collected'})"]
            problems = timeline.problems_over_time(now, timeline.known_intervals(history, label),
                                                   lambda i: [] if i.status == "ENABLED" else
                                                   [f"no enabled GuardDuty detector (status: {i.status})"])
            if problems:
                deviations.append({"resource_type": "guardduty_region", "resource_id": f"{account}:{region}",
                                   "detail": "; ".join(problems)})
    return evaluate(THREAT_DETECTION, detectors, deviations, {"detector": "GuardDuty ENABLED", "regions": regions,
                                                              "over the period": "enabled at every moment"},
                    gaps=timeline.gaps(history, labels))
