"""Every CC7.1 rule on small frames: thresholds exactly at the edge, failed calls, days outside the period."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pandas as pd
import pytest
from auditbook import catalog
from auditbook.controls import cc71
from auditbook.results import Status
from auditbook.sources.aws.cloudtrail import management_events

EVENT_COLUMNS = list(catalog.entry("cloudtrail-events").columns)
TRAIL_COLUMNS = list(catalog.entry("cloudtrail-trails").columns)
ALARM_COLUMNS = list(catalog.entry("cloudwatch-alarms").columns)
HISTORY_COLUMNS = list(catalog.entry("cloudwatch-alarm-history").columns)
DETECTOR_COLUMNS = list(catalog.entry("guardduty-detectors").columns)
LOG_GROUP_COLUMNS = list(catalog.entry("cloudwatch-log-groups").columns)
TOPIC_COLUMNS = list(catalog.entry("sns-topics").columns)

START = datetime(2026, 7, 1, tzinfo=UTC)
END = datetime(2026, 7, 4, tzinfo=UTC)  # a three-day period keeps the coverage frames small
ACCT = "111111111111"
NO_HISTORY = catalog.empty("cloudtrail-trail-timeline")  # no AWS Config history: the state at collection only

def ts(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


def ids(result) -> list[str]:
    return list(result.deviations["resource_id"])


# -- trail configuration ----------------------------------------------------------------------
def trail(**overrides) -> dict:
    row = dict.fromkeys(TRAIL_COLUMNS, "")
    row.update(account_id=ACCT, trail_name="main", multi_region=True, log_file_validation=True, is_logging=True,
               management_events="All", s3_bucket="logs", bucket_versioning="Enabled", bucket_object_lock=True,
               bucket_encryption="AES256")
    row.update(overrides)
    return row


def test_compliant_trail_passes():
    result = cc71.trail_configured(pd.DataFrame([trail()]), NO_HISTORY, [])
    assert result.status is Status.PASS and result.population_size == 1


@pytest.mark.parametrize(("overrides", "words"), [
    ({"multi_region": False}, "not multi-region"),
    ({"log_file_validation": False}, "validation off"),
    ({"is_logging": False}, "not logging"),
    ({"management_events": "WriteOnly"}, "WriteOnly"),
    ({"bucket_versioning": "Suspended"}, "versioning Suspended"),
    ({"bucket_object_lock": False}, "no object lock"),
    ({"bucket_encryption": ""}, "neither bucket default encryption"),
    ({"latest_delivery_error": "AccessDenied"}, "delivery error"),
])
def test_each_trail_requirement(overrides, words):
    result = cc71.trail_configured(pd.DataFrame([trail(**overrides)]), NO_HISTORY, [])
    assert ids(result) == [f"{ACCT}:main"] and words in result.deviations["detail"][0]


def test_kms_key_on_the_trail_counts_as_encryption():
    frame = pd.DataFrame([trail(bucket_encryption="", kms_key_id="arn:kms")])
    assert cc71.trail_configured(frame, NO_HISTORY, []).status is Status.PASS


def test_trails_in_scope_only_and_a_named_trail_that_is_missing():
    frame = pd.DataFrame([trail(), trail(trail_name="data-events", multi_region=False)])
    assert cc71.trail_configured(frame, NO_HISTORY, ["main"]).status is Status.PASS
    result = cc71.trail_configured(frame, NO_HISTORY, ["main", "org-trail"])
    assert ids(result) == [f"{ACCT}:org-trail"]


def test_no_trail_at_all_deviates():
    result = cc71.trail_configured(pd.DataFrame(columns=TRAIL_COLUMNS), NO_HISTORY, [])
    assert result.status is Status.FAIL and ids(result) == ["(none)"]


def test_management_events_from_basic_and_advanced_selectors():
    assert management_events([{"ReadWriteType": "All", "IncludeManagementEvents": True}], []) == "All"
    assert management_events([{"ReadWriteType": "ReadOnly"}, {"ReadWriteType": "WriteOnly"}], []) == "All"
    assert management_events([{"ReadWriteType": "All", "IncludeManagementEvents": False}], []) == "none"
    assert management_events([], []) == "none"
    mgmt = {"Field": "eventCategory", "Equals": ["Management"]}
    assert management_events([], [{"FieldSelectors": [mgmt]}]) == "All"
    assert management_events([], [{"FieldSelectors": [mgmt, {"Field": "readOnly", "Equals": ["false"]}]}]) \
        == "WriteOnly"


# -- coverage -----------------------------------------------------------------------------------
def event(when: str, region: str = "us-east-1", key_day: str | None = None, **overrides) -> dict:
    day = key_day or when[:10]
    row = dict.fromkeys(EVENT_COLUMNS, "")
    row.update(account_id=ACCT, event_time=ts(when), event_id=f"e-{when}-{overrides.get('event_name', 'x')}",
               event_source="ec2.amazonaws.com", event_name="DescribeInstances", read_only=True,
               event_type="AwsApiCall", aws_region=region, identity_type="IAMUser", principal_name="alice",
               log_file=f"AWSLogs/{ACCT}/CloudTrail/{region}/{day.replace('-', '/')}/{ACCT}_{day}_a.json.gz")
    row.update(overrides)
    return row


def log_file(day: str, region: str = "us-east-1", records: int = 1, n: int = 1, account: str = ACCT) -> dict:
    key = f"AWSLogs/{account}/CloudTrail/{region}/{day.replace('-', '/')}/{account}_{day}_{n}.json.gz"
    return {"account_id": account, "region": region, "day": day, "bucket": "b", "key": key, "size": 10, "etag": "e",
            "last_modified": ts(f"{day}T12:00:00"), "sha256": "0" * 64, "content_sha256": "1" * 64,
            "records": records, "kept": 0}


def test_coverage_one_row_per_region_day_and_the_gap():
    files = pd.DataFrame([log_file("2026-07-01", records=2), log_file("2026-07-01", records=0, n=2),
                          log_file("2026-07-03"), log_file("2026-07-02", region="eu-west-1"),
                          log_file("2026-07-04")])  # the day after the period: read for late events, not counted
    coverage = cc71.log_file_coverage(files, ["us-east-1", "eu-west-1"], START, END)
    assert len(coverage) == 6
    first = coverage[(coverage["region"] == "us-east-1") & (coverage["day"] == "2026-07-01")].iloc[0]
    assert (first["log_files"], first["records"]) == (2, 2)  # a file with no record still shows delivery
    result = cc71.logging_whole_period(coverage)
    assert sorted(ids(result)) == [f"{ACCT}:eu-west-1:2026-07-01", f"{ACCT}:eu-west-1:2026-07-03",
                                   f"{ACCT}:us-east-1:2026-07-02"]


def test_coverage_counts_every_account_in_scope_even_without_events():
    files = pd.DataFrame([log_file(f"2026-07-0{d}") for d in (1, 2, 3)])
    coverage = cc71.log_file_coverage(files, ["us-east-1"], START, END, accounts=[ACCT, "222222222222"])
    assert ids(cc71.logging_whole_period(coverage)) == [f"222222222222:us-east-1:2026-07-0{d}" for d in (1, 2, 3)]


# -- trail changes ------------------------------------------------------------------------------
def change(name: str, params: dict | None = None, error: str = "", **overrides) -> dict:
    fields = {"event_source": "cloudtrail.amazonaws.com", "event_name": name, "read_only": False,
              "request_parameters": json.dumps(params) if params else "", "error_code": error, **overrides}
    return event("2026-07-02T10:00:00", **fields)


def test_trail_changes_keep_only_cloudtrail_writes():
    events = pd.DataFrame([change("UpdateTrail"), change("DescribeTrails", read_only=True),
                           event("2026-07-02T10:00:00", event_name="RunInstances", read_only=False)])
    assert list(cc71.trail_changes(events)["event_name"]) == ["UpdateTrail"]


@pytest.mark.parametrize(("name", "params", "weakening"), [
    ("StopLogging", {"name": "main"}, "logging stopped"),
    ("DeleteTrail", {"name": "main"}, "trail deleted"),
    ("UpdateTrail", {"name": "main", "enableLogFileValidation": False}, "log file validation switched off"),
    ("UpdateTrail", {"name": "main", "isMultiRegionTrail": False}, "multi-region switched off"),
    ("UpdateTrail", {"name": "main", "s3BucketName": "elsewhere"}, "delivery redirected to bucket elsewhere"),
    ("UpdateTrail", {"name": "main", "s3BucketName": "logs"}, ""),
    ("UpdateTrail", {"name": "main", "enableLogFileValidation": True}, ""),
    ("PutEventSelectors", {"eventSelectors": [{"readWriteType": "WriteOnly"}]}, "no longer record all"),
    ("PutEventSelectors", {"eventSelectors": [{"readWriteType": "All", "includeManagementEvents": True}]}, ""),
    ("PutEventSelectors", {"advancedEventSelectors": [{"fieldSelectors": [
        {"field": "eventCategory", "equals": ["Data"]}]}]}, "advanced event selectors"),
    ("StartLogging", {"name": "main"}, ""),
])
def test_weakening_reason(name, params, weakening):
    reason = cc71.weakening_reason(name, json.dumps(params), {"logs"})
    assert (weakening in reason) if weakening else reason == ""


def test_failed_calls_are_not_weakening():
    changes = pd.DataFrame([change("StopLogging", {"name": "main"}, error="AccessDenied"),
                            change("DeleteTrail", {"name": "main"}, event_id="e2")])
    result = cc71.trail_not_weakened(changes, pd.DataFrame([trail()]))
    assert ids(result) == [f"{ACCT}:e2"] and result.population_size == 2 and "1 trail configuration" in result.notes[0]


def test_no_trail_change_at_all_passes():
    result = cc71.trail_not_weakened(cc71.trail_changes(pd.DataFrame(columns=EVENT_COLUMNS)), pd.DataFrame([trail()]))
    assert result.status is Status.PASS and result.population_size == 0


# -- log retention ------------------------------------------------------------------------------
def group(name: str, days: int | None) -> dict:
    row = dict.fromkeys(LOG_GROUP_COLUMNS, "")
    row.update(account_id=ACCT, region="us-east-1", log_group=name, retention_days=days)
    return row


def groups(*rows) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=LOG_GROUP_COLUMNS)
    frame["retention_days"] = pd.array(frame["retention_days"], dtype="Int64")
    return frame


def test_retention_exactly_at_the_minimum_passes_one_day_less_fails():
    frame = groups(group("/at", 365), group("/below", 364), group("/never", None))
    result = cc71.log_retention(frame, 365, never_expire_compliant=False, prefixes=[])
    assert sorted(ids(result)) == [f"{ACCT}:us-east-1:/below", f"{ACCT}:us-east-1:/never"]
    assert ids(cc71.log_retention(frame, 365, never_expire_compliant=True, prefixes=[])) == [f"{ACCT}:us-east-1:/below"]


def test_retention_prefixes_limit_the_scope():
    frame = groups(group("/ecs/app", 30), group("/aws/lambda/x", 30))
    result = cc71.log_retention(frame, 365, never_expire_compliant=False, prefixes=["/ecs/"])
    assert result.population_size == 1 and ids(result) == [f"{ACCT}:us-east-1:/ecs/app"]


# -- alarms -------------------------------------------------------------------------------------
def alarm(name: str, namespace: str = "AWS/EC2", metric: str = "CPUUtilization", actions: str = "arn:aws:sns:r:1:t",
          enabled: bool = True) -> dict:
    row = dict.fromkeys(ALARM_COLUMNS, "")
    row.update(account_id=ACCT, region="us-east-1", alarm_name=name, namespace=namespace, metric_name=metric,
               actions_enabled=enabled, alarm_actions=actions)
    return row


def topic(name: str, confirmed: int) -> dict:
    row = dict.fromkeys(TOPIC_COLUMNS, "")
    row.update(account_id=ACCT, region="r", topic_arn=f"arn:aws:sns:r:1:{name}", topic_name=name,
               confirmed_subscriptions=confirmed, pending_subscriptions=0)
    return row


def test_alarm_coverage_by_namespace_and_metric_including_metric_math():
    alarms = pd.DataFrame([alarm("cpu"), alarm("math", namespace="Biz;AWS/EC2", metric="Rate;Errors")])
    required = [{"namespace": "AWS/EC2", "metric": "CPUUtilization", "category": "infrastructure"},
                {"namespace": "Biz", "metric": "Rate", "category": "business"},
                {"namespace": "Biz", "metric": "Settlement", "category": "business"}]
    coverage = cc71.alarm_coverage(alarms, required)
    assert list(coverage["alarm_count"]) == [1, 1, 0]
    assert ids(cc71.alarms_exist(coverage)) == ["Biz/Settlement"]


def test_alarm_actions_disabled_missing_or_unreachable():
    alarms = pd.DataFrame([alarm("ok"), alarm("off", enabled=False), alarm("none", actions=""),
                           alarm("nobody", actions="arn:aws:sns:r:1:empty"),
                           alarm("gone", actions="arn:aws:sns:r:1:deleted"),
                           alarm("autoscale", actions="arn:aws:autoscaling:r:1:scalingPolicy:x")])
    sheet = cc71.alarm_worksheet(alarms, pd.DataFrame([topic("t", 1), topic("empty", 0)]))
    result = cc71.alarms_reach_oncall(sheet, REQUIRED_CPU, [])
    got = dict(zip(result.deviations["resource_id"], result.deviations["detail"], strict=True))
    assert set(got) == {f"{ACCT}:us-east-1:{n}" for n in ("off", "none", "nobody", "gone", "autoscale")}
    assert "missing topic" in got[f"{ACCT}:us-east-1:gone"] and "0 subscribed" in got[f"{ACCT}:us-east-1:nobody"]


REQUIRED_CPU = [{"namespace": "AWS/EC2", "metric": "CPUUtilization", "category": "infrastructure"}]


def test_only_alarms_someone_must_hear_are_held_to_the_notification_rule():
    """A scaling alarm on a metric nobody required is information, not a monitoring deviation; a required-metric
    alarm and a business alarm without a subscriber are deviations."""
    alarms = pd.DataFrame([
        alarm("cpu-silent", actions="arn:aws:autoscaling:r:1:scalingPolicy:x"),
        alarm("scale-out", namespace="AWS/SQS", metric="ApproximateAgeOfOldestMessage",
              actions="arn:aws:autoscaling:r:1:scalingPolicy:y"),
        alarm("payments-low", namespace="Biz/Payments", metric="SuccessRate", actions="")])
    sheet = cc71.alarm_worksheet(alarms, pd.DataFrame([topic("t", 1)]))
    result = cc71.alarms_reach_oncall(sheet, REQUIRED_CPU, ["Biz/Payments"])
    assert sorted(result.deviations["resource_id"]) == [f"{ACCT}:us-east-1:cpu-silent",
                                                        f"{ACCT}:us-east-1:payments-low"]
    assert result.population_size == 2 and result.steps[-1].rows == 2
    assert result.notes == ["1 other alarm notifies nobody (information, not deviations: on no required or "
                            "business metric): scale-out"]


def test_firings_pair_alarm_and_ok_and_keep_an_open_one():
    history = pd.DataFrame([
        {"account_id": ACCT, "region": "us-east-1", "alarm_name": "a", "timestamp": ts("2026-07-01T10:00"),
         "old_state": "OK", "new_state": "ALARM", "summary": ""},
        {"account_id": ACCT, "region": "us-east-1", "alarm_name": "a", "timestamp": ts("2026-07-01T10:30"),
         "old_state": "ALARM", "new_state": "OK", "summary": ""},
        {"account_id": ACCT, "region": "us-east-1", "alarm_name": "a", "timestamp": ts("2026-07-02T09:00"),
         "old_state": "OK", "new_state": "ALARM", "summary": ""},
    ], columns=HISTORY_COLUMNS)
    firings = cc71.alarm_firings(history, pd.DataFrame([alarm("a", namespace="Biz", metric="Rate")]))
    assert list(firings["minutes"].fillna(-1)) == [30, -1]
    assert set(firings["namespace"]) == {"Biz"}
    assert cc71.alarm_firings(history.iloc[0:0], pd.DataFrame([alarm("a")])).empty


def test_an_alarm_still_in_alarm_since_the_period_is_a_firing_the_history_no_longer_holds():
    """CloudWatch forgets alarm history after ~30 days; DescribeAlarms still says since when an alarm is in ALARM."""
    start, end = ts("2026-07-01T00:00"), ts("2026-10-01T00:00")
    firing = {**alarm("rate", namespace="Biz", metric="Rate"), "state": "ALARM",
              "state_updated": ts("2026-09-14T03:40")}
    before = {**alarm("old"), "state": "ALARM", "state_updated": ts("2026-06-30T23:00")}
    quiet = {**alarm("ok"), "state": "OK", "state_updated": ts("2026-09-01T00:00")}
    alarms = pd.DataFrame([firing, before, quiet])
    empty = pd.DataFrame(columns=HISTORY_COLUMNS)
    firings = cc71.alarm_firings(empty, alarms, start, end)
    assert [(f.alarm_name, f"{f.fired_at:%m-%d %H:%M}", pd.isna(f.cleared_at)) for f in firings.itertuples()] == [
        ("rate", "09-14 03:40", True)]
    held = pd.DataFrame([{"account_id": ACCT, "region": "us-east-1", "alarm_name": "rate",
                          "timestamp": ts("2026-09-14T03:40"), "old_state": "OK", "new_state": "ALARM",
                          "summary": ""}], columns=HISTORY_COLUMNS)
    assert len(cc71.alarm_firings(held, alarms, start, end)) == 1  # the history's firing, not a second one
    assert cc71.alarm_firings(empty, alarms).empty  # without the period nothing is assumed


# -- threat detection ---------------------------------------------------------------------------
def test_guardduty_in_every_region():
    detectors = pd.DataFrame([
        {"account_id": ACCT, "region": "us-east-1", "detector_id": "d1", "status": "ENABLED"},
        {"account_id": ACCT, "region": "eu-west-1", "detector_id": "d2", "status": "DISABLED"},
        {"account_id": ACCT, "region": "eu-central-1", "detector_id": "", "status": "NONE"},
    ], columns=DETECTOR_COLUMNS)
    none = catalog.empty("guardduty-timeline")
    result = cc71.threat_detection_on(detectors, none, ["us-east-1", "eu-west-1", "eu-central-1"])
    assert sorted(ids(result)) == [f"{ACCT}:eu-central-1", f"{ACCT}:eu-west-1"]
    assert cc71.threat_detection_on(detectors, none, ["us-east-1"]).status is Status.PASS


def test_guardduty_disabled_for_a_while_inside_the_period_is_a_deviation_with_its_interval():
    detectors = pd.DataFrame([{"account_id": ACCT, "region": "us-east-1", "detector_id": "d1", "status": "ENABLED"}],
                             columns=DETECTOR_COLUMNS)
    label = f"{ACCT}:us-east-1:guardduty"
    history = pd.DataFrame([
        {"resource": label, "valid_from": ts("2026-07-01T00:00"), "valid_to": ts("2026-09-02T10:00"), "known": True,
         "evidence": "e", "status": "ENABLED"},
        {"resource": label, "valid_from": ts("2026-09-02T10:00"), "valid_to": ts("2026-09-03T10:00"), "known": True,
         "evidence": "e", "status": "DISABLED"},
        {"resource": label, "valid_from": ts("2026-09-03T10:00"), "valid_to": ts("2026-10-01T00:00"), "known": False,
         "evidence": "unknown: no log files", "status": None}])
    result = cc71.threat_detection_on(detectors, history, ["us-east-1"])
    assert list(result.deviations["detail"]) == ["no enabled GuardDuty detector (status: DISABLED) (from "
                                                 "2026-09-02 10:00 to 2026-09-03 10:00 UTC)"]
    assert result.gaps == [f"{label}: 2026-09-03 10:00 to 2026-10-01 00:00 unknown: no log files"]


def test_validation_off_inside_the_period_and_on_at_collection_is_a_deviation_with_its_interval():
    """AWS Config history shows what the state at collection hides; an unknown interval is a gap, not a pass."""
    def interval(start, end, validation, known=True):
        return {"resource": f"{ACCT}:org-trail", "valid_from": pd.Timestamp(start, tz="UTC"),
                "valid_to": pd.Timestamp(end, tz="UTC"), "known": known, "evidence": "e", "trail_name": "org-trail",
                "multi_region": True if known else None, "log_file_validation": validation if known else None,
                "global_service_events": True if known else None, "s3_bucket": "b"}
    history = catalog.from_rows("cloudtrail-trail-timeline", [
        interval("2026-07-01", "2026-07-02T10:00", True), interval("2026-07-02T10:00", "2026-07-03T09:00", False),
        interval("2026-07-03T09:00", "2026-07-04", True)])
    result = cc71.trail_configured(pd.DataFrame([trail(trail_name="org-trail")]), history, [])
    assert result.status is Status.FAIL and result.gaps == []
    assert result.deviations.iloc[0]["detail"] == ("log file validation off (from 2026-07-02 10:00 to 2026-07-03 "
                                                   "09:00 UTC)")
    unknown = catalog.from_rows("cloudtrail-trail-timeline", [interval("2026-07-01", "2026-07-04", None, False)])
    passed = cc71.trail_configured(pd.DataFrame([trail(trail_name="org-trail")]), unknown, [])
    assert passed.status is Status.PASS and passed.gaps[0].startswith(f"{ACCT}:org-trail: 2026-07-01 00:00 to")
