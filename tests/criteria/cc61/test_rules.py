"""CC6.1 rules on small hand-made populations: each rule, its edges, and what it must not flag."""

import json
from datetime import UTC, datetime

import pandas as pd
import pytest
from auditbook import catalog
from auditbook.controls import cc61
from auditbook.results import Status

END = datetime(2026, 10, 1, tzinfo=UTC)


def ts(text):
    return pd.Timestamp(text, tz="UTC") if text else pd.NaT


def report(*users):
    rows = []
    for u in users:
        rows.append({
            "account_id": "111111111111", "user": u["user"], "is_root": u["user"] == "<root_account>",
            "arn": f"arn:{u['user']}",
            "user_creation_time": ts(u.get("created", "2025-01-01")),
            "password_enabled": u.get("console", True), "password_last_used": ts(u.get("last")),
            "mfa_active": u.get("mfa", True),
            "access_key_1_active": u.get("key1", False), "access_key_2_active": u.get("key2", False),
        })
    return pd.DataFrame(rows)


def ids(result):
    return sorted(result.deviations["resource_id"])


def test_mfa_flags_only_console_users_without_mfa():
    r = cc61.mfa_for_console_users(report(
        {"user": "a"}, {"user": "b", "mfa": False}, {"user": "svc", "console": False, "mfa": False},
        {"user": "<root_account>", "console": False, "mfa": False}), NO_MFA_TIMELINE)
    assert r.status is Status.FAIL and r.population_size == 2
    assert ids(r) == ["111111111111:b"]


def test_mfa_passes_when_everyone_has_it():
    r = cc61.mfa_for_console_users(report({"user": "a"}, {"user": "b"}), NO_MFA_TIMELINE)
    assert r.status is Status.PASS and r.deviation_count == 0 and r.population_size == 2


NO_MFA_TIMELINE = catalog.empty("iam-mfa-timeline")


def test_a_console_user_without_mfa_for_three_days_fixed_before_collection_deviates_with_those_hours():
    label = "111111111111:us-east-1:a"
    history = pd.DataFrame([
        {"resource": label, "valid_from": pd.Timestamp(a, tz="UTC"), "valid_to": pd.Timestamp(b, tz="UTC"),
         "known": on is not None, "evidence": "e" if on is not None else "unknown: no log files", "mfa_active": on}
        for a, b, on in [("2026-07-01", "2026-08-12T15:20", True), ("2026-08-12T15:20", "2026-08-15T10:05", False),
                         ("2026-08-15T10:05", "2026-08-17", True), ("2026-08-17", "2026-08-18", None),
                         ("2026-08-18", "2026-10-01", True)]])
    r = cc61.mfa_for_console_users(report({"user": "a"}), history)
    assert list(r.deviations["detail"]) == ["console password enabled, no MFA device (from 2026-08-12 15:20 to "
                                            "2026-08-15 10:05 UTC)"]
    assert r.gaps == [f"{label}: 2026-08-17 00:00 to 2026-08-18 00:00 unknown: no log files"]


def test_root_needs_mfa_and_no_active_keys():
    r = cc61.root_protected(report({"user": "<root_account>", "console": False, "mfa": False, "key2": True},
                                   {"user": "x", "mfa": False}))
    assert r.population_size == 1
    assert sorted(r.deviations["detail"]) == ["root access key 2 is active", "root user has no MFA"]
    assert cc61.root_protected(report({"user": "<root_account>", "console": False})).status is Status.PASS


def test_dormancy_is_measured_at_period_end_with_the_threshold_as_the_boundary():
    r = cc61.dormant_console_users(report(
        {"user": "exactly-90", "last": "2026-07-03"},       # 90 days: not dormant
        {"user": "91-days", "last": "2026-07-02T00:00"},     # 91 days: dormant
        {"user": "never-old", "created": "2026-03-01"},      # never used, created long ago: dormant
        {"user": "never-new", "created": "2026-09-01"},      # never used, created recently: not dormant
        {"user": "after-end", "created": "2026-10-05"},      # created after the period: not in population
        {"user": "svc", "console": False, "last": None},
    ), as_of=END, dormant_days=90)
    assert ids(r) == ["111111111111:91-days", "111111111111:never-old"]
    assert r.population_size == 4


def ent(principal, via, arn="", doc=None, ptype="user", policy_type="aws_managed"):
    return {"account_id": "111111111111", "principal_type": ptype, "principal": principal, "principal_arn": "",
            "via": via, "policy_type": policy_type, "policy_name": arn.rsplit("/", 1)[-1] or "inline",
            "policy_arn": arn, "document": json.dumps(doc) if doc else ""}


ADMIN = "arn:aws:iam::aws:policy/AdministratorAccess"
STAR = {"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}


def test_admin_through_approved_group_or_role_passes_other_paths_fail():
    frame = pd.DataFrame([
        ent("alice", "group:Admins", ADMIN),
        ent("dan", "direct", ADMIN),
        ent("eve", "group:Engineers", doc=STAR, policy_type="inline"),
        ent("BreakGlass", "direct", ADMIN, ptype="role"),
        ent("legacy", "direct", doc=STAR, ptype="role", policy_type="inline"),
        ent("carol", "group:ReadOnly", "arn:aws:iam::aws:policy/ReadOnlyAccess"),
    ])
    r = cc61.admin_only_through_approved_paths(frame, [ADMIN], ["Admins"], ["BreakGlass"])
    assert ids(r) == ["111111111111:dan", "111111111111:eve", "111111111111:legacy"]
    assert r.population_size == 6


@pytest.mark.parametrize(("doc", "admin"), [
    (STAR, True),
    ({"Statement": {"Effect": "Allow", "Action": ["*"], "Resource": ["*"]}}, True),
    ({"Statement": [{"Effect": "Deny", "Action": "*", "Resource": "*"}]}, False),
    ({"Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}, False),
    ({"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "arn:aws:s3:::b"}]}, False),
    (None, False),
])
def test_full_admin_policy_detection(doc, admin):
    assert cc61.grants_full_admin(doc) is admin


def policy_rows(account, **settings):
    return [{"account_id": account, "setting": k, "value": json.dumps(v)} for k, v in settings.items()]


def test_password_policy_settings_compared_one_by_one():
    frame = pd.DataFrame(policy_rows("111111111111", MinimumPasswordLength=8, RequireSymbols=True,
                                     RequireNumbers=False, MaxPasswordAge=120, PasswordReusePrevention=24))
    required = {"minimum_length": 14, "require_symbols": True, "require_numbers": True, "require_uppercase": False,
                "require_lowercase": None, "max_age_days": 90, "reuse_prevention": 24}
    r = cc61.password_policy_meets_standard(frame, ["111111111111"], required)
    assert ids(r) == ["111111111111:MaxPasswordAge", "111111111111:MinimumPasswordLength",
                      "111111111111:RequireNumbers"]
    assert r.population_size == 5  # the settings required: uppercase/lowercase not required


def test_an_account_without_a_password_policy_fails_every_required_setting():
    empty = pd.DataFrame(columns=["account_id", "setting", "value"])
    r = cc61.password_policy_meets_standard(empty, ["222222222222"], {"minimum_length": 14, "require_symbols": True})
    assert r.deviation_count == 2 and set(r.deviations["detail"].str.contains("not set")) == {True}


def test_user_policies_flag_direct_and_inline_grants_of_users_only():
    grants = catalog.from_rows("iam-entitlements", [
        {"account_id": "1", "principal_type": "user", "principal": "grouped", "via": "group:Engineers",
         "policy_type": "customer_managed", "policy_name": "EngineerAccess"},
        {"account_id": "1", "principal_type": "user", "principal": "direct", "via": "direct",
         "policy_type": "aws_managed", "policy_name": "AdministratorAccess"},
        {"account_id": "1", "principal_type": "user", "principal": "direct", "via": "direct",
         "policy_type": "inline", "policy_name": "extra"},
        {"account_id": "1", "principal_type": "user", "principal": "none", "via": "", "policy_type": "none"},
        {"account_id": "1", "principal_type": "role", "principal": "deployer", "via": "direct",
         "policy_type": "inline", "policy_name": "deploy"},  # roles hold their policies directly by design
    ])
    r = cc61.users_only_through_groups(grants)
    assert r.population_size == 3 and ids(r) == ["1:direct"]
    assert r.deviations.loc[0, "detail"].endswith("AdministratorAccess (aws_managed); extra (inline)")
    assert [s.rows for s in r.steps] == [5, 4, 3]
