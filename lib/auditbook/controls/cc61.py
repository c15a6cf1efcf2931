"""CC6.1 logical access: the rules, as pure functions over IAM populations.

Every rule an auditor may ask about (who counts as a console user, when a user is dormant,
what makes a principal an administrator, which password settings are required) is here.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import pandas as pd

from auditbook.results import ControlTest, TestResult, evaluate
from auditbook.sources.aws.iam import ROOT_USER

MFA = ControlTest(
    "CC6.1-MFA", "CC6.1", "Console users have MFA",
    "Every IAM user with a console password has an MFA device (credential report mfa_active).",
    "continuous", "iam-credential-report")
ROOT = ControlTest(
    "CC6.1-ROOT", "CC6.1", "Root account protected",
    "The root user has MFA and no active access keys.",
    "continuous", "iam-credential-report")
DORMANT = ControlTest(
    "CC6.1-DORMANT", "CC6.1", "No dormant console users",
    "No console user existing at period end went without signing in for more than the threshold "
    "(never-used passwords count from the user's creation).",
    "continuous", "iam-credential-report")
ADMIN = ControlTest(
    "CC6.1-ADMIN", "CC6.1", "Administrator access only through approved groups and roles",
    "Full administrative access (an admin managed policy, or a policy allowing every action on every "
    "resource) is held only through the approved admin groups and roles.",
    "continuous", "iam-entitlements")
PASSWORD_POLICY = ControlTest(
    "CC6.1-PASSWORD-POLICY", "CC6.1", "Password policy meets the standard",
    "The account password policy sets every requirement in params.",
    "continuous", "iam-password-policy")

TESTS = [MFA, ROOT, DORMANT, ADMIN, PASSWORD_POLICY]


def _iam_user_id(row: pd.Series) -> str:
    return f"{row['account_id']}:{row['user']}"


def console_users(report: pd.DataFrame) -> pd.DataFrame:
    """IAM users (not root) with a console password."""
    return report[(report["user"] != ROOT_USER) & report["password_enabled"]]


def mfa_for_console_users(report: pd.DataFrame) -> TestResult:
    users = console_users(report)
    deviations = [
        {"resource_type": "iam_user", "resource_id": _iam_user_id(u),
         "detail": "console password enabled, no MFA device"}
        for _, u in users[~users["mfa_active"]].iterrows()
    ]
    return evaluate(MFA, users, deviations, {"mfa_required": True})


def root_protected(report: pd.DataFrame) -> TestResult:
    roots = report[report["user"] == ROOT_USER]
    deviations = []
    for _, root in roots.iterrows():
        if not root["mfa_active"]:
            deviations.append({"resource_type": "root_account", "resource_id": f"{root['account_id']}:root",
                               "detail": "root user has no MFA"})
        for key in (1, 2):
            if root[f"access_key_{key}_active"]:
                deviations.append({"resource_type": "root_account", "resource_id": f"{root['account_id']}:root",
                                   "detail": f"root access key {key} is active"})
    return evaluate(ROOT, roots, deviations, {"root_mfa": True, "root_access_keys": 0})


def dormant_console_users(report: pd.DataFrame, as_of: datetime, dormant_days: int) -> TestResult:
    """Dormancy is measured at ``as_of`` (the period end) so a re-run gives the same answer."""
    users = console_users(report)
    users = users[users["user_creation_time"] < as_of]
    limit = as_of - timedelta(days=dormant_days)
    deviations = []
    for _, u in users.iterrows():
        last = u["password_last_used"]
        if pd.isna(last):
            if u["user_creation_time"] < limit:
                deviations.append({"resource_type": "iam_user", "resource_id": _iam_user_id(u),
                                   "detail": f"never signed in; created {u['user_creation_time']:%Y-%m-%d}",
                                   "last_sign_in": None})
        elif last < limit:
            days = (as_of - last).days
            deviations.append({"resource_type": "iam_user", "resource_id": _iam_user_id(u),
                               "detail": f"last console sign-in {last:%Y-%m-%d}, {days} days before {as_of:%Y-%m-%d}",
                               "last_sign_in": last})
    return evaluate(DORMANT, users, deviations, {"dormant_days": dormant_days, "as_of": as_of.isoformat()})


def grants_full_admin(document: dict[str, Any] | str | None) -> bool:
    """True when a statement allows every action on every resource."""
    if not document:
        return False
    if isinstance(document, str):
        document = json.loads(document)
    statements = document.get("Statement", [])
    for stmt in statements if isinstance(statements, list) else [statements]:
        actions = stmt.get("Action", [])
        resources = stmt.get("Resource", [])
        actions = [actions] if isinstance(actions, str) else actions
        resources = [resources] if isinstance(resources, str) else resources
        if stmt.get("Effect") == "Allow" and "*" in actions and "*" in resources:
            return True
    return False


def admin_grants(entitlements: pd.DataFrame, admin_policy_arns: list[str]) -> pd.DataFrame:
    is_admin = entitlements["policy_arn"].isin(admin_policy_arns) | entitlements["document"].map(grants_full_admin)
    return entitlements[is_admin]


def admin_only_through_approved_paths(entitlements: pd.DataFrame, admin_policy_arns: list[str],
                                      approved_groups: list[str], approved_roles: list[str]) -> TestResult:
    """Population: one row per principal, with every policy it holds and how."""
    keys = ["account_id", "principal_type", "principal"]
    grants = admin_grants(entitlements, admin_policy_arns)
    approved_via = {f"group:{g}" for g in approved_groups}
    unapproved = grants[
        ((grants["principal_type"] == "user") & ~grants["via"].isin(approved_via))
        | ((grants["principal_type"] == "role") & ~grants["principal"].isin(approved_roles))
    ]
    principals = (
        entitlements.assign(policy=[f"{r.policy_name} ({r.via})" if r.policy_name else ""
                                    for r in entitlements.itertuples()])
        .groupby(keys, sort=True)["policy"].agg(lambda s: "; ".join(p for p in s if p)).rename("policies")
        .reset_index()
    )
    admins = grants.groupby(keys)["via"].agg(lambda s: "; ".join(sorted(set(s)))).rename("admin_via")
    principals = principals.merge(admins, how="left", left_on=keys, right_index=True).fillna({"admin_via": ""})
    deviations = []
    for (account, ptype, name), rows in unapproved.groupby(keys, sort=True):
        paths = "; ".join(f"{r.policy_name} ({r.policy_type}, {r.via})" for r in rows.itertuples())
        deviations.append({"resource_type": f"iam_{ptype}", "resource_id": f"{account}:{name}",
                           "detail": f"admin access outside approved paths: {paths}"})
    threshold = {"admin_policy_arns": admin_policy_arns, "approved_admin_groups": approved_groups,
                 "approved_admin_roles": approved_roles}
    return evaluate(ADMIN, principals, deviations, threshold)


# Params key → (AWS setting, how the AWS value must compare with the required one)
_PASSWORD_RULES: dict[str, tuple[str, str]] = {
    "minimum_length": ("MinimumPasswordLength", "at_least"),
    "require_symbols": ("RequireSymbols", "required"),
    "require_numbers": ("RequireNumbers", "required"),
    "require_uppercase": ("RequireUppercaseCharacters", "required"),
    "require_lowercase": ("RequireLowercaseCharacters", "required"),
    "max_age_days": ("MaxPasswordAge", "at_most"),
    "reuse_prevention": ("PasswordReusePrevention", "at_least"),
}


def password_policy_meets_standard(policy: pd.DataFrame, account_ids: list[str],
                                   required: dict[str, Any]) -> TestResult:
    """One row per (account, required setting); an account with no policy fails every setting."""
    checked = []
    deviations = []
    for account_id in account_ids:
        rows = policy[policy["account_id"] == account_id]
        actual = {row.setting: json.loads(row.value) for row in rows.itertuples()}
        for key, (setting, rule) in _PASSWORD_RULES.items():
            want = required.get(key)
            if want is None or want is False:
                continue  # not required by params
            have = actual.get(setting)
            checked.append({"account_id": account_id, "setting": setting, "required": want, "actual": have})
            ok = have is not None and (
                (rule == "at_least" and have >= want)
                or (rule == "at_most" and have <= want)
                or (rule == "required" and have is True)
            )
            if not ok:
                shown = "not set" if have is None else have
                need = {"at_least": f">= {want}", "at_most": f"<= {want}", "required": "true"}[rule]
                deviations.append({"resource_type": "password_policy", "resource_id": f"{account_id}:{setting}",
                                   "detail": f"{setting} is {shown}; required {need}"})
    return evaluate(PASSWORD_POLICY, pd.DataFrame(checked), deviations, dict(required))
