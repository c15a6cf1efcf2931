"""A configuration-only test's verdict at each reading (snapshots, collection) holds until the next change
CloudTrail records: the stretches between readings are shown when no change call lies between them."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pandas as pd
import pytest
from auditbook import catalog, over_snapshots
from auditbook.context import Context
from auditbook.controls import cc61, cc62
from auditbook.over_snapshots import InMemorySnapshot as Snap
from auditbook.over_snapshots import timeline
from auditbook.period import parse_period
from auditbook.sources.aws import autoscaling, cloudwatch, ecr, iam, logs, rds, secretsmanager, sns

SCOPE = {"aws": {"accounts": [{"id": "1"}], "regions": ["us-east-1"]}}
CTX = Context({"criteria": {}, "scope": SCOPE}, parse_period("2026-Q3"), run_at=datetime(2026, 12, 3, tzinfo=UTC))


def t(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


def policy(minimum: int) -> pd.DataFrame:
    return catalog.from_rows("iam-password-policy", [{"account_id": "1", "setting": "MinimumPasswordLength",
                                                      "value": json.dumps(minimum)}])


def snap(when: str, minimum: int = 14) -> Snap:
    return Snap(t(when).to_pydatetime(), {"iam-password-policy": policy(minimum)})


def call(name: str, when: str, source: str = "iam.amazonaws.com", error: str = "", read_only: bool = False) -> dict:
    return {"account_id": "1", "event_time": t(when), "event_id": f"id-{name}-{when}", "event_source": source,
            "event_name": name, "read_only": read_only, "event_type": "AwsApiCall", "aws_region": "us-east-1",
            "identity_type": "IAMUser", "principal_arn": "", "principal_name": "bob", "role_name": "",
            "invoked_by": "", "source_ip": "", "user_agent": "", "error_code": error, "request_parameters": "",
            "additional_event_data": "", "log_file": ""}


def coverage(*blind_days: str, region: str = "us-east-1") -> pd.DataFrame:
    days = pd.date_range("2026-07-01", "2026-09-30", freq="D")
    return pd.DataFrame([{"account_id": "1", "region": region, "day": f"{d:%Y-%m-%d}",
                          "log_files": 0 if f"{d:%Y-%m-%d}" in blind_days else 24, "records": 1} for d in days])


def trail(management_events: str = "All") -> pd.DataFrame:
    return catalog.from_rows("cloudtrail-trails", [{"account_id": "1", "trail_name": "org",
                                                    "management_events": management_events}])


def run(events: list[dict], cov: pd.DataFrame | None = None, trails: pd.DataFrame | None = None):
    frames = {"cloudtrail-events": catalog.from_rows("cloudtrail-events", events),
              "cloudtrail-coverage": coverage() if cov is None else cov,
              "cloudtrail-trails": trail() if trails is None else trails}
    return lambda name: frames.get(name, catalog.empty(name))


OPTIONS = {"account_ids": ["1"], "required": {"minimum_length": 14}}


def test_one_snapshot_shows_the_whole_period_when_cloudtrail_records_no_change_of_the_population():
    calls = [call("CreateUser", "2026-08-01 10:00"), call("UpdateAccountPasswordPolicy", "2026-08-02 10:00",
                                                         read_only=True),
             call("DeleteAccountPasswordPolicy", "2026-08-03 10:00", error="AccessDenied")]
    over = over_snapshots.evaluate(cc61.PASSWORD_POLICY, CTX, [snap("2026-08-10 06:00")], OPTIONS, run(calls))
    assert over.part.kind == "timeline" and over.gaps == []
    assert over.part.how == ("1 readings (snapshots, collection), each holding until the next change CloudTrail "
                             "records (IAM calls on the account password policy): 92 of 92 days shown in full")


def test_a_change_call_with_no_reading_after_it_leaves_the_rest_of_the_period_unknown_naming_the_call():
    calls = [call("UpdateAccountPasswordPolicy", "2026-09-03 02:41")]
    over = over_snapshots.evaluate(cc61.PASSWORD_POLICY, CTX, [snap("2026-08-10 06:00")], OPTIONS, run(calls))
    assert over.gaps == ["iam-password-policy from 2026-09-03 02:41 to 2026-10-01 00:00 UTC: unknown: CloudTrail "
                         "UpdateAccountPasswordPolicy 2026-09-03 02:41 by bob (event id-UpdateAccountPasswordPolicy-"
                         "2026-09-03 02:41) may have changed it, and no later reading reaches back to it"]
    assert "64 of 92 days" in over.part.how  # July, August, 1 and 2 September


def test_a_reading_after_the_change_shows_the_stretch_back_to_it_and_a_day_without_log_files_is_a_gap():
    calls = [call("UpdateAccountPasswordPolicy", "2026-09-03 02:41")]
    snaps = [snap("2026-08-10 06:00"), snap("2026-09-20 06:00", minimum=8)]
    over = over_snapshots.evaluate(cc61.PASSWORD_POLICY, CTX, snaps, OPTIONS, run(calls, coverage("2026-07-04")))
    assert over.gaps == ["iam-password-policy from 2026-07-01 00:00 to 2026-07-04 00:00 UTC: unknown: no reading or "
                         "change of it reaches this stretch without a gap in the events",
                         "iam-password-policy from 2026-07-04 00:00 to 2026-07-05 00:00 UTC: unknown: no CloudTrail "
                         "events are read for this stretch (no log files, or after the events read)"]
    assert len(over.deviations) == 1 and over.deviations.iloc[0]["seen"] == "snapshots 2026-09-20"


def test_two_readings_that_disagree_with_no_change_call_between_them_leave_the_stretch_unknown():
    snaps = [snap("2026-08-10 06:00"), snap("2026-08-20 06:00", minimum=8)]
    over = over_snapshots.evaluate(cc61.PASSWORD_POLICY, CTX, snaps, OPTIONS, run([]))
    assert over.gaps == ["iam-password-policy from 2026-08-10 06:00 to 2026-08-20 06:00 UTC: unknown: snapshot "
                         "2026-08-10 06:00 and snapshot 2026-08-20 06:00 disagree, and no recorded change between "
                         "them explains it"]


def test_readings_hold_only_for_configuration_only_tests_with_every_population_changed_by_known_calls():
    assert not cc62.KEY_AGE.configuration_only  # a key ages without any call: a reading shows its own day
    report = {"iam-credential-report": catalog.empty("iam-credential-report")}
    age = over_snapshots.evaluate(cc62.KEY_AGE, CTX, [Snap(t("2026-08-10 06:00"), report)],
                                  {"as_of": CTX.period.end, "max_key_age_days": 90}, run([]))
    assert age.part.kind == "snapshots" and age.part.how == "1 of 92 days of the period covered by a snapshot"
    assert catalog.entry("github-org-members").changed_by == ()  # a member's own 2FA changes in no org record


@pytest.mark.parametrize("cov", [coverage(region="eu-west-1"), pd.DataFrame(columns=["account_id", "region", "day",
                                                                                     "log_files", "records"])])
def test_without_a_trail_recording_writes_examined_where_the_calls_land_the_snapshots_show_only_their_days(cov):
    over = over_snapshots.evaluate(cc61.PASSWORD_POLICY, CTX, [snap("2026-08-10 06:00")], OPTIONS, run([], cov))
    assert over.part.kind == "snapshots"
    for trails in (trail("ReadOnly"), trail("none"), catalog.empty("cloudtrail-trails")):  # no call is recorded
        assert over_snapshots.evaluate(cc61.PASSWORD_POLICY, CTX, [snap("2026-08-10 06:00")], OPTIONS,
                                       run([], trails=trails)).part.kind == "snapshots"
    assert over_snapshots.evaluate(cc61.PASSWORD_POLICY, CTX, [snap("2026-08-10 06:00")], OPTIONS,
                                   run([], trails=trail("WriteOnly"))).part.kind == "timeline"
    no_scope = Context({"criteria": {}}, CTX.period, run_at=CTX.run_at)
    assert over_snapshots.evaluate(cc61.PASSWORD_POLICY, no_scope, [snap("2026-08-10 06:00")], OPTIONS,
                                   run([])).part.kind == "snapshots"


@pytest.mark.parametrize(("calls", "name", "changes"), [
    (iam.USER_CHANGES, "CreateLoginProfile", True), (iam.USER_CHANGES, "DeactivateMFADevice", True),
    (iam.USER_CHANGES, "DeleteUser", True), (iam.USER_CHANGES, "UpdateAccessKey", True),
    (iam.USER_CHANGES, "AttachUserPolicy", False), (iam.USER_CHANGES, "AddUserToGroup", False),
    (iam.ENTITLEMENT_CHANGES, "AttachUserPolicy", True), (iam.ENTITLEMENT_CHANGES, "AddUserToGroup", True),
    (iam.ENTITLEMENT_CHANGES, "PutRolePolicy", True), (iam.ENTITLEMENT_CHANGES, "DeleteUser", True),
    (iam.ENTITLEMENT_CHANGES, "SomeCallAwsAddsNextYear", True),
    (iam.ENTITLEMENT_CHANGES, "EnableMFADevice", False), (iam.ENTITLEMENT_CHANGES, "ChangePassword", False),
    (iam.PASSWORD_POLICY_CHANGES, "UpdateAccountPasswordPolicy", True),
    (iam.PASSWORD_POLICY_CHANGES, "CreateUser", False),
    (secretsmanager.SECRET_CHANGES, "PutResourcePolicy", True), (secretsmanager.SECRET_CHANGES, "RotateSecret", True),
    (secretsmanager.SECRET_CHANGES, "PutSecretValue", False),
    (secretsmanager.SECRET_CHANGES, "RotationSucceeded", False),
    (cloudwatch.ALARM_CHANGES, "PutMetricAlarm", True), (cloudwatch.ALARM_CHANGES, "DeleteAlarms", True),
    (cloudwatch.ALARM_CHANGES, "DisableAlarmActions", True), (cloudwatch.ALARM_CHANGES, "SetAlarmState", False),
    (sns.TOPIC_CHANGES, "Unsubscribe", True), (sns.TOPIC_CHANGES, "Publish", False),
    (logs.LOG_GROUP_CHANGES, "PutRetentionPolicy", True), (logs.LOG_GROUP_CHANGES, "CreateLogStream", False),
    (ecr.REPOSITORY_CHANGES, "PutImageTagMutability", True), (ecr.REPOSITORY_CHANGES, "PutImage", False),
    (rds.INSTANCE_CHANGES, "ModifyDBInstance", True), (rds.INSTANCE_CHANGES, "CreateDBSnapshot", False),
    (autoscaling.GROUP_CHANGES, "UpdateAutoScalingGroup", True),
    (autoscaling.GROUP_CHANGES, "SetDesiredCapacity", False),
])
def test_which_calls_may_change_each_population(calls: timeline.ChangeCalls, name: str, changes: bool):
    events = catalog.from_rows("cloudtrail-events", [call(name, "2026-08-01 10:00", source=calls.source)])
    assert len(calls.calls(events)) == int(changes)
