"""Every CC6.2 rule on small frames: thresholds exactly at the edge, never used, outside the period."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pandas as pd
import pytest
from auditbook import catalog
from auditbook.controls import cc62
from auditbook.results import Status
from auditbook.sources.aws.secretsmanager import rotation_days

EVENT_COLUMNS = list(catalog.entry("cloudtrail-events").columns)
KEY_COLUMNS = list(catalog.entry("kms-keys").columns)
SECRET_COLUMNS = list(catalog.entry("secretsmanager-secrets").columns)
ALERT_COLUMNS = list(catalog.entry("github-secret-scanning-alerts").columns)

END = datetime(2026, 10, 1, tzinfo=UTC)
START = datetime(2026, 7, 1, tzinfo=UTC)
ACCT = "111111111111"


def ts(text: str | None) -> pd.Timestamp:
    return pd.NaT if text is None else pd.Timestamp(text, tz="UTC")


def ids(result) -> list[str]:
    return list(result.deviations["resource_id"])


# -- secrets ---------------------------------------------------------------------------------
def secret(name: str, created: str = "2025-01-01", last_rotated: str | None = "2026-09-01", enabled: bool = True,
           days: float | None = 30, schedule: str = "", policy: dict | None = None) -> dict:
    row = dict.fromkeys(SECRET_COLUMNS, "")
    row.update(account_id=ACCT, region="eu-west-1", name=name, arn=f"arn:aws:secretsmanager:eu-west-1:{ACCT}:secret:"
               f"{name}-AbCdEf", created=ts(created), last_rotated=ts(last_rotated), rotation_enabled=enabled,
               rotation_days=days, rotation_schedule=schedule, resource_policy=json.dumps(policy) if policy else "")
    return row


def secrets_frame(*rows: dict) -> pd.DataFrame:
    frame = pd.DataFrame(list(rows), columns=SECRET_COLUMNS)
    for column in ("created", "last_changed", "last_rotated", "next_rotation"):
        frame[column] = pd.to_datetime(frame[column], utc=True)  # as the collector types them
    return frame


def test_rotation_days_from_rules():
    assert rotation_days({"AutomaticallyAfterDays": 30}) == 30
    assert rotation_days({"ScheduleExpression": "rate(10 days)"}) == 10
    assert rotation_days({"ScheduleExpression": "rate(1 day)"}) == 1
    assert rotation_days({"ScheduleExpression": "rate(12 hours)"}) == 0.5
    assert rotation_days({"ScheduleExpression": "cron(0 16 1,15 * ? *)"}) is None
    assert rotation_days(None) is None


def test_secret_rotation_rules_and_edges():
    frame = secrets_frame(
        secret("ok"),
        secret("exactly-90-days", last_rotated="2026-07-03"),  # 90 days before END: allowed
        secret("91-days", last_rotated="2026-07-02"),
        secret("disabled", enabled=False, days=None, last_rotated=None, created="2026-09-01"),
        secret("interval-too-long", days=120),
        secret("interval-at-max", days=90),
        secret("cron", days=None, schedule="cron(0 16 1,15 * ? *)"),
        secret("never-rotated-new", last_rotated=None, created="2026-09-25"),
        secret("never-rotated-old", last_rotated=None, created="2026-01-01"),
        secret("created-after-period", created="2026-10-02", last_rotated=None),
        secret("rotated-after-period", last_rotated="2026-10-05", created="2026-01-01"),
    )
    result = cc62.secret_rotation(frame, NO_SECRET_TIMELINE, END, 90)
    assert result.status is Status.FAIL and result.population_size == 10
    details = dict(zip(result.deviations["resource_id"], result.deviations["detail"], strict=True))
    assert set(details) == {f"{ACCT}:{n}" for n in ["91-days", "disabled", "interval-too-long", "cron",
                                                    "never-rotated-old", "rotated-after-period"]}
    assert "91 days before 2026-10-01" in details[f"{ACCT}:91-days"]
    assert details[f"{ACCT}:disabled"] == "automatic rotation is not enabled"  # one row, one rule
    assert "120 days exceeds 90" in details[f"{ACCT}:interval-too-long"]
    assert "cannot be determined" in details[f"{ACCT}:cron"]
    assert details[f"{ACCT}:never-rotated-old"].startswith("never rotated; created 2026-01-01")
    # a rotation after the period end does not count for the period: measured from creation
    assert "never rotated" in details[f"{ACCT}:rotated-after-period"]


def test_secret_rotation_one_row_per_secret_naming_every_rule():
    frame = secrets_frame(secret("both", enabled=False, days=None, last_rotated=None, created="2025-01-01"))
    detail = cc62.secret_rotation(frame, NO_SECRET_TIMELINE, END, 90).deviations["detail"].iloc[0]
    assert "not enabled" in detail and "never rotated" in detail


NO_SECRET_TIMELINE = catalog.empty("secret-rotation-timeline")


def test_secret_rotation_switched_off_inside_the_period_deviates_with_when():
    frame = pd.DataFrame([secret("s", last_rotated="2026-09-20")], columns=SECRET_COLUMNS)
    label = f"{ACCT}:{frame.loc[0, 'region']}:s"
    history = pd.DataFrame([
        {"resource": label, "valid_from": ts(a), "valid_to": ts(b), "known": on is not None,
         "evidence": "e" if on is not None else "unknown: no log files", "rotation_enabled": on}
        for a, b, on in [("2026-07-01", "2026-08-03T10:00", True), ("2026-08-03T10:00", "2026-08-09T12:00", False),
                         ("2026-08-09T12:00", "2026-09-30", True), ("2026-09-30", "2026-10-01", None)]])
    result = cc62.secret_rotation(frame, history, END, 90)
    assert list(result.deviations["detail"]) == ["automatic rotation is not enabled (from 2026-08-03 10:00 to "
                                                 "2026-08-09 12:00 UTC)"]
    assert result.gaps == [f"{label}: 2026-09-30 00:00 to 2026-10-01 00:00 unknown: no log files"]


def test_rotation_calls_switch_a_secrets_rotation():
    from auditbook.sources.aws import secretsmanager

    def call(name: str, request: dict) -> dict:
        row = dict.fromkeys(catalog.entry("cloudtrail-events").columns, "")
        return {**row, "account_id": ACCT, "event_time": ts("2026-08-01T00:00"), "event_id": name,
                "event_source": "secretsmanager.amazonaws.com", "event_name": name, "read_only": False,
                "event_type": "AwsApiCall", "aws_region": "r", "request_parameters": json.dumps(request)}

    changes = secretsmanager.rotation_changes(catalog.from_rows("cloudtrail-events", [
        call("CreateSecret", {"name": "new"}),
        call("RotateSecret", {"secretId": f"arn:aws:secretsmanager:r:{ACCT}:secret:prod/db-AbC123"}),
        call("CancelRotateSecret", {"secretId": "prod/db"})]))
    assert list(zip(changes["resource"], changes["value"], strict=True)) == [
        (f"{ACCT}:r:new", False), (f"{ACCT}:r:prod/db", True), (f"{ACCT}:r:prod/db", False)]


def test_secret_name_from_arn_or_name():
    assert cc62.secret_name("prod/db") == "prod/db"
    assert cc62.secret_name(f"arn:aws:secretsmanager:us-east-1:{ACCT}:secret:prod/db-AbC123") == "prod/db"
    assert cc62.secret_name(f"arn:aws:secretsmanager:us-east-1:{ACCT}:secret:my-long-name-xY12zz") == "my-long-name"
    # a partial ARN without the random suffix keeps its name
    assert cc62.secret_name(f"arn:aws:secretsmanager:us-east-1:{ACCT}:secret:prod/db") == "prod/db"


# -- trail events ------------------------------------------------------------------------------
def event(when: str, name: str, secret_id: str = "prod/db", *, identity: str = "AWSService", principal: str = "",
          role: str = "", error: str = "", service_event: bool = False, eid: str | None = None) -> dict:
    row = dict.fromkeys(EVENT_COLUMNS, "")
    row.update(account_id=ACCT, event_time=ts(when), event_id=eid or f"{when}-{name}-{principal}",
               event_source="secretsmanager.amazonaws.com", event_name=name, identity_type=identity,
               principal_name=principal, role_name=role, error_code=error)
    key = "additional_event_data" if service_event else "request_parameters"
    row[key] = json.dumps({"SecretId" if service_event else "secretId": secret_id})
    return row


def events_frame(*rows: dict) -> pd.DataFrame:
    frame = pd.DataFrame(list(rows), columns=EVENT_COLUMNS)
    frame["event_time"] = pd.to_datetime(frame["event_time"], utc=True)
    return frame


def failed(when: str, secret_id: str = "prod/db") -> dict:
    return event(when, "RotationFailed", secret_id, service_event=True)


def succeeded(when: str, secret_id: str = "prod/db") -> dict:
    return event(when, "RotationSucceeded", secret_id, service_event=True)


def test_rotation_failures_grace_edges():
    arn = f"arn:aws:secretsmanager:us-east-1:{ACCT}:secret:other-Zz9Yy8"
    frame = events_frame(
        failed("2026-08-01T00:00"), succeeded("2026-08-02T00:00"),  # exactly 24 h: within the grace
        failed("2026-08-10T00:00"), succeeded("2026-08-11T00:01"),  # 24 h 1 min: deviation
        failed("2026-09-01T00:00", arn), succeeded("2026-09-01T02:00", "other"),  # ARN and name match
        failed("2026-09-20T00:00", "lonely"),  # no later success
        succeeded("2026-09-19T00:00", "lonely"),  # a success before the failure does not count
        event("2026-09-25T00:00", "RotateSecret", "api", identity="IAMUser", principal="bob", error="AccessDenied"),
        event("2026-09-25T00:00", "GetSecretValue", "prod/db", identity="IAMUser", principal="bob"),  # not rotation
    )
    result = cc62.rotation_failures(frame, 24)
    assert result.population_size == 9
    assert sorted(ids(result)) == [f"{ACCT}:api", f"{ACCT}:lonely", f"{ACCT}:prod/db"]
    prod = result.deviations[result.deviations["resource_id"] == f"{ACCT}:prod/db"]["detail"].iloc[0]
    assert "2026-08-10" in prod and "24 h later" in prod


def test_rotation_failures_pass_without_failures():
    result = cc62.rotation_failures(events_frame(succeeded("2026-08-01T00:00")), 24)
    assert result.status is Status.PASS and result.population_size == 1


def read(when: str, secret_id: str, principal: str, *, role: str = "", error: str = "") -> dict:
    return event(when, "GetSecretValue", secret_id, identity="AssumedRole" if role else "IAMUser",
                 principal=principal, role=role, error=error)


def test_secret_readers_by_role_or_user():
    arn = f"arn:aws:secretsmanager:us-east-1:{ACCT}:secret:prod/db-AbCdEf"
    frame = events_frame(
        read("2026-07-02T01:00", arn, "task-1", role="app"),
        read("2026-07-03T01:00", "prod/db", "task-2", role="app"),
        read("2026-08-19T10:00", "prod/db", "carol"), read("2026-08-19T10:05", arn, "carol"),
        read("2026-08-20T10:00", "prod/db", "trent", error="AccessDenied"),  # denied: read nothing
        read("2026-08-21T10:00", "unlisted", "app-session", role="app"),  # a secret not listed: no expected reader
        event("2026-08-21T10:00", "DescribeSecret", "prod/db", identity="IAMUser", principal="carol"),
    )
    result = cc62.secret_readers(frame, {"prod/db": ["app"]})
    assert result.population_size == 6
    assert sorted(ids(result)) == [f"{ACCT}:prod/db:carol", f"{ACCT}:unlisted:app"]
    carol = result.deviations.set_index("resource_id").loc[f"{ACCT}:prod/db:carol"]
    assert carol["reads"] == 2 and "read 2 times by IAMUser carol" in carol["detail"]
    counts = cc62.reader_counts(cc62.secret_read_events(frame), {"prod/db": ["app"]}).set_index(["secret", "reader"])
    assert counts.loc[("prod/db", "trent"), "denied"] == 1 and counts.loc[("prod/db", "trent"), "reads"] == 0
    assert counts.loc[("prod/db", "app"), "expected"] and counts.loc[("prod/db", "app"), "reads"] == 2


# -- policies -----------------------------------------------------------------------------------
def statement(principal, action="secretsmanager:GetSecretValue", condition=None, resource="*") -> dict:
    st = {"Effect": "Allow", "Principal": principal, "Action": action, "Resource": resource}
    if condition:
        st["Condition"] = condition
    return {"Version": "2012-10-17", "Statement": [st]}


@pytest.mark.parametrize(("policy", "public"), [
    (statement("*"), True),
    (statement({"AWS": "*"}), True),
    (statement({"AWS": ["arn:aws:iam::1:root", "*"]}), True),
    (statement("*", action="secretsmanager:*"), True),
    (statement("*", action="*"), True),
    (statement("*", action=["secretsmanager:Get*"]), True),
    (statement("*", condition={"StringEquals": {"aws:PrincipalOrgID": "o-1"}}), False),
    (statement({"AWS": f"arn:aws:iam::{ACCT}:role/app"}), False),
    (statement("*", action="secretsmanager:DescribeSecret"), False),
    (None, False),
])
def test_public_read_statements(policy, public):
    assert bool(cc62.public_read_statements(json.dumps(policy) if policy else "")) is public


def entitlement(principal: str, document: dict | None, ptype: str = "role", name: str = "p") -> dict:
    return {"account_id": ACCT, "principal_type": ptype, "principal": principal, "principal_arn": "", "via": "direct",
            "policy_type": "inline", "policy_name": name, "policy_arn": "",
            "document": json.dumps(document) if document else ""}


def identity_policy(action, resource="*", condition=None) -> dict:
    st = {"Effect": "Allow", "Action": action, "Resource": resource}
    if condition:
        st["Condition"] = condition
    return {"Version": "2012-10-17", "Statement": [st]}


def test_secret_access_policy_resource_and_identity_policies():
    secrets = secrets_frame(secret("open", policy=statement({"AWS": "*"})),
                            secret("org-only", policy=statement("*", condition={"StringEquals": {"a": "b"}})),
                            secret("no-policy"))
    entitlements = pd.DataFrame([
        entitlement("rotation", identity_policy("secretsmanager:GetSecretValue")),  # approved
        entitlement("admin", identity_policy("*")),
        entitlement("admin", identity_policy("secretsmanager:*"), name="second"),
        entitlement("app", identity_policy("secretsmanager:GetSecretValue",
                                           f"arn:aws:secretsmanager:us-east-1:{ACCT}:secret:prod/db-AbCdEf")),
        entitlement("all-in-account", identity_policy(["secretsmanager:GetSecretValue"],
                                                      f"arn:aws:secretsmanager:*:{ACCT}:secret:*"), "user"),
        entitlement("tagged", identity_policy("secretsmanager:GetSecretValue", condition={"StringEquals": {}})),
        entitlement("reader", identity_policy("s3:GetObject")),
        entitlement("nobody", None, name=""),
    ])
    result = cc62.secret_access_policy(secrets, entitlements, ["rotation"])
    assert result.population_size == 3 + 8
    assert sorted(ids(result)) == [f"{ACCT}:admin", f"{ACCT}:all-in-account", f"{ACCT}:open"]
    admin = result.deviations.set_index("resource_id").loc[f"{ACCT}:admin"]
    assert admin["resource_type"] == "iam_role" and "p (direct); second (direct)" in admin["detail"]


# -- access keys ---------------------------------------------------------------------------------
def user(name: str, created: str = "2024-01-01", key1: tuple | None = None, key2: tuple | None = None) -> dict:
    row = {"account_id": ACCT, "user": name, "is_root": name == ROOT_USER, "user_creation_time": ts(created)}
    for slot, key in ((1, key1), (2, key2)):
        active, rotated, used = key if key else (False, None, None)
        row.update({f"access_key_{slot}_active": active, f"access_key_{slot}_last_rotated": ts(rotated),
                    f"access_key_{slot}_last_used_date": ts(used)})
    return row


ROOT_USER = "<root_account>"  # the credential report's row for the root user


def report_frame(*rows: dict) -> pd.DataFrame:
    return pd.DataFrame(list(rows))


REPORT = report_frame(
    user(ROOT_USER, key1=(True, "2020-01-01", None)),  # root: CC6.1-ROOT's business
    user("age-90", key1=(True, "2026-07-03", "2026-09-30")),  # exactly 90 days: allowed
    user("age-91", key1=(True, "2026-07-02", "2026-09-30")),
    user("unused-45", key1=(True, "2026-01-01", "2026-08-17")),  # exactly 45 days unused: allowed
    user("unused-46", key1=(True, "2026-08-01", "2026-08-16")),
    user("never-used-old", key1=(True, "2026-08-01", None)),  # 61 days since creation
    user("never-used-new", key1=(True, "2026-09-20", None)),
    user("used-after-end", key1=(True, "2026-08-01", "2026-10-05")),  # in use at the period end
    user("inactive-old", key1=(False, "2020-01-01", None)),
    user("two-keys", key1=(True, "2026-09-01", "2026-09-30"), key2=(True, "2026-09-15", "2026-09-30")),
    user("one-active-one-not", key1=(False, "2026-09-01", None), key2=(True, "2026-09-15", "2026-09-30")),
    user("key-after-end", key1=(True, "2026-10-02", None)),
    user("created-after-end", created="2026-10-02"),
)


def test_active_keys_excludes_root_inactive_and_future_keys():
    keys = cc62.active_keys(REPORT, END)
    assert ROOT_USER not in set(keys["user"]) and "inactive-old" not in set(keys["user"])
    assert "key-after-end" not in set(keys["user"])
    assert len(keys) == 10


def test_key_age_edges():
    result = cc62.key_age(REPORT, END, 90)
    assert ids(result) == [f"{ACCT}:age-91/access_key_1", f"{ACCT}:unused-45/access_key_1"]
    assert "91 days old" in result.deviations["detail"].iloc[0]
    assert any("root" in n for n in result.notes)


def test_key_unused_edges():
    result = cc62.key_unused(REPORT, END, 45)
    assert sorted(ids(result)) == [f"{ACCT}:never-used-old/access_key_1", f"{ACCT}:unused-46/access_key_1"]
    details = dict(zip(result.deviations["resource_id"], result.deviations["detail"], strict=True))
    assert details[f"{ACCT}:never-used-old/access_key_1"].startswith("never used; created 2026-08-01, 61 days")
    assert "46 days unused" in details[f"{ACCT}:unused-46/access_key_1"]


def test_key_count():
    result = cc62.key_count(REPORT, END)
    assert ids(result) == [f"{ACCT}:two-keys"]
    assert result.population_size == 11  # users existing at the period end, root excluded


# -- KMS -----------------------------------------------------------------------------------------
def kms_key(key_id: str, rotation: bool | None, spec: str = "SYMMETRIC_DEFAULT", usage: str = "ENCRYPT_DECRYPT",
            alias: str = "", state: str = "Enabled") -> dict:
    row = dict.fromkeys(KEY_COLUMNS, "")
    row.update(account_id=ACCT, region="eu-west-1", key_id=key_id, aliases=alias, key_manager="CUSTOMER",
               key_state=state, key_spec=spec, key_usage=usage, rotation_enabled=rotation)
    return row


def test_kms_rotation_only_for_symmetric_encryption_keys():
    frame = pd.DataFrame([
        kms_key("k-on", True), kms_key("k-off", False, alias="alias/b;alias/a"), kms_key("k-no-alias", False),
        kms_key("rsa", None, spec="RSA_2048", usage="SIGN_VERIFY"), kms_key("hmac", None, spec="HMAC_256",
                                                                             usage="GENERATE_VERIFY_MAC"),
        kms_key("deleting", None, state="PendingDeletion"),
    ], columns=KEY_COLUMNS)
    result = cc62.kms_rotation(frame, NO_TIMELINE)
    assert result.population_size == 3
    assert ids(result) == [f"{ACCT}:alias/b", f"{ACCT}:k-no-alias"]


NO_TIMELINE = catalog.empty("kms-rotation-timeline")


def rotation_interval(key_id: str, start: str, end: str, on: bool | None) -> dict:
    return {"resource": f"{ACCT}:eu-west-1:{key_id}", "valid_from": ts(start), "valid_to": ts(end),
            "known": on is not None, "evidence": "e" if on is not None else "unknown: no log files",
            "rotation_enabled": on}


def test_kms_rotation_off_inside_the_period_deviates_with_its_interval_and_an_unknown_one_is_a_gap():
    frame = pd.DataFrame([kms_key("k-back", True), kms_key("k-blind", True)], columns=KEY_COLUMNS)
    history = pd.DataFrame([rotation_interval("k-back", "2026-07-01", "2026-08-22T09:00", True),
                            rotation_interval("k-back", "2026-08-22T09:00", "2026-08-26T11:30", False),
                            rotation_interval("k-back", "2026-08-26T11:30", "2026-10-01", True),
                            rotation_interval("k-blind", "2026-07-01", "2026-08-17", True),
                            rotation_interval("k-blind", "2026-08-17", "2026-08-18", None),
                            rotation_interval("k-blind", "2026-08-18", "2026-10-01", True)])
    result = cc62.kms_rotation(frame, history)
    assert ids(result) == [f"{ACCT}:k-back"]
    assert result.deviations["detail"].iloc[0] == ("automatic rotation disabled (from 2026-08-22 09:00 to "
                                                   "2026-08-26 11:30 UTC) (key k-back, eu-west-1, state Enabled)")
    assert result.gaps == [f"{ACCT}:eu-west-1:k-blind: 2026-08-17 00:00 to 2026-08-18 00:00 unknown: no log files"]


# -- GitHub secret scanning ----------------------------------------------------------------------
def alert(number: int, created: str, resolved: str | None = None, repo: str = "api") -> dict:
    return {"org": "o", "repo": repo, "number": number, "state": "resolved" if resolved else "open",
            "secret_type": "AWS key", "created_at": ts(created), "resolved_at": ts(resolved),
            "resolution": "revoked" if resolved else "", "url": ""}


def test_leaked_secrets_population_and_edges():
    frame = pd.DataFrame([
        alert(1, "2026-09-12T14:00"),  # open at the period end
        alert(2, "2026-08-03T10:00", "2026-08-05T16:00"),  # fixed in 2.25 days
        alert(3, "2026-08-01T00:00", "2026-08-08T00:00"),  # exactly 7 days: allowed
        alert(4, "2026-08-01T00:00", "2026-08-08T00:01"),  # just over 7 days
        alert(5, "2026-04-14T00:00", "2026-04-15T00:00"),  # resolved before the period: not in the population
        alert(6, "2026-10-02T00:00"),  # detected after the period
        alert(7, "2026-06-20T00:00", "2026-07-02T00:00"),  # spans the start: 12 days
        alert(8, "2026-09-28T00:00", "2026-10-03T00:00"),  # resolved after the end: open at the end
    ], columns=ALERT_COLUMNS)
    result = cc62.leaked_secrets(frame, START, END, 7)
    assert cc62.leaked_secrets(frame[frame["number"] == 1], START, END, 7).population_size == 1  # all open
    assert result.population_size == 6
    assert sorted(ids(result)) == [f"o/api/secret-scanning/{n}" for n in (1, 4, 7, 8)]
    details = dict(zip(result.deviations["resource_id"], result.deviations["detail"], strict=True))
    assert "open at period end, 18.4 days" in details["o/api/secret-scanning/1"]
    assert "resolved (revoked) after 12 days" in details["o/api/secret-scanning/7"]
    assert "open at period end, 3 days" in details["o/api/secret-scanning/8"]


def test_every_test_id_is_cc62_and_unique():
    assert len({t.test_id for t in cc62.TESTS}) == len(cc62.TESTS) == 9
    assert all(t.test_id.startswith("CC6.2-") and t.criterion == "CC6.2" for t in cc62.TESTS)
