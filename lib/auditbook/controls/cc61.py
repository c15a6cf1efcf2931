"""CC6.1 logical access: the rules, as pure functions over IAM populations.

Every rule an auditor may ask about (who counts as a console user, when a user is dormant,
what makes a principal an administrator, which password settings are required) is here.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

from auditbook import timeline
from auditbook.results import ControlTest, Tested, TestResult, errored, evaluate, when

MFA = ControlTest(
    "CC6.1-MFA", "CC6.1", "Console users have MFA",
    "Every IAM user with a console password has an MFA device (credential report mfa_active), at collection and "
    "at every moment of the period its MFA timeline shows.",
    "continuous", ("iam-credential-report", "iam-mfa-timeline"), sample_keys=("account_id", "user"),
    configuration_only=True,
    deviates_when=("A console user without an MFA device at collection, or at any moment its MFA timeline shows in "
                   "the period, deviates."))
ROOT = ControlTest(
    "CC6.1-ROOT", "CC6.1", "Root account protected",
    "The root user has MFA and no active access keys.",
    "continuous", ("iam-credential-report",), sample_keys=("account_id",),
    configuration_only=True,
    deviates_when=("A root user without MFA, or with any active access key, deviates."))
DORMANT = ControlTest(
    "CC6.1-DORMANT", "CC6.1", "No dormant console users",
    "No console user existing at period end went without signing in for more than the threshold "
    "(never-used passwords count from the user's creation).",
    "continuous", ("iam-credential-report",),
    lambda s, ctx: {"as_of": ctx.period.end, "dormant_days": s["dormant_days"]}, ("account_id", "user"),
    deviates_when=("A console user who had not signed in for more than {dormant_days} days at the period end "
                   "({as_of}) deviates; a password never used counts from the user's creation."))
ADMIN = ControlTest(
    "CC6.1-ADMIN", "CC6.1", "Administrator access only through approved groups and roles",
    "Full administrative access (an admin managed policy, or a policy allowing every action on every "
    "resource) is held only through the approved admin groups and roles.",
    "continuous", ("iam-entitlements",),
    lambda s, ctx: {"admin_policy_arns": s["admin_policy_arns"], "approved_groups": s["approved_admin_groups"],
                    "approved_roles": s["approved_admin_roles"]}, ("account_id", "principal_type", "principal"),
    configuration_only=True,
    deviates_when=("Administrator access (a policy of {admin_policy_arns}, or one allowing every action on every "
                   "resource) held other than through the groups {approved_admin_groups} or the roles "
                   "{approved_admin_roles} deviates."))
USER_POLICIES = ControlTest(
    "CC6.1-USER-POLICIES", "CC6.1", "IAM users get permissions only through groups",
    "No IAM user holds a policy attached to the user directly or inline: permissions come through groups, so "
    "access is granted, reviewed and removed by role (CIS AWS Foundations Benchmark 1.15).",
    "continuous", ("iam-entitlements",), sample_keys=("account_id", "user"),
    configuration_only=True,
    deviates_when=("A policy attached to an IAM user directly or inline deviates: permissions come through groups "
                   "only."))
PASSWORD_POLICY = ControlTest(
    "CC6.1-PASSWORD-POLICY", "CC6.1", "Password policy meets the standard",
    "The account password policy sets every requirement in params.",
    "continuous", ("iam-password-policy",),
    lambda s, ctx: {"account_ids": ctx.account_ids, "required": s["password_policy"]}, ("account_id", "setting"),
    configuration_only=True,
    deviates_when=("No password policy, or a setting weaker than the requirements ({threshold}), deviates."))


def _iam_user_id(row: pd.Series) -> str:
    return f"{row['account_id']}:{row['user']}"


def _console_users(report: pd.DataFrame) -> Tested:
    return (Tested(report, "iam-credential-report")
            .keep(lambda f: ~f["is_root"], "IAM users (the root user left out)")
            .keep(lambda f: f["password_enabled"], "with a console password (password_enabled)"))


def console_users(report: pd.DataFrame) -> pd.DataFrame:
    """IAM users (not root) with a console password."""
    return _console_users(report).frame


@MFA.rule
def mfa_for_console_users(report: pd.DataFrame, history: pd.DataFrame) -> TestResult:
    """Console users (a password at collection) without an active MFA device at collection or in any interval
    of the period their timeline shows (with the interval); intervals it cannot show are gaps."""
    users = _console_users(report)
    deviations, labels = [], []
    for _, u in users.frame.iterrows():
        label = timeline.resource_label(u["account_id"], timeline.GLOBAL_EVENTS_REGION, u["user"])
        labels.append(label)
        problems = timeline.problems_over_time(
            [] if u["mfa_active"] else ["console password enabled, no MFA device"],
            timeline.known_intervals(history, label),
            lambda i: [] if i.mfa_active else ["console password enabled, no MFA device"])
        if problems:
            deviations.append({"resource_type": "iam_user", "resource_id": _iam_user_id(u),
                               "detail": "; ".join(problems)})
    return evaluate(MFA, users, deviations, {"mfa_required": True, "over the period": "MFA at every moment shown"},
                    gaps=timeline.gaps(history, labels))


@ROOT.rule
def root_protected(report: pd.DataFrame) -> TestResult:
    roots = Tested(report, "iam-credential-report").keep(lambda f: f["is_root"], "the root user of each account")
    deviations = []
    for _, root in roots.frame.iterrows():
        if not root["mfa_active"]:
            deviations.append({"resource_type": "root_account", "resource_id": f"{root['account_id']}:root",
                               "detail": "root user has no MFA"})
        for key in (1, 2):
            if root[f"access_key_{key}_active"]:
                deviations.append({"resource_type": "root_account", "resource_id": f"{root['account_id']}:root",
                                   "detail": f"root access key {key} is active"})
    return evaluate(ROOT, roots, deviations, {"root_mfa": True, "root_access_keys": 0})


@DORMANT.rule
def dormant_console_users(report: pd.DataFrame, as_of: datetime, dormant_days: int) -> TestResult:
    """Dormancy is measured at ``as_of`` (the period end) so a re-run gives the same answer."""
    users = _console_users(report).keep(lambda f: f["user_creation_time"] < as_of,
                                        f"created before {as_of:%Y-%m-%d} (existing at the period end)")
    limit = as_of - timedelta(days=dormant_days)
    deviations = []
    for _, u in users.frame.iterrows():
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
    full_admin = entitlements["document"].map(grants_full_admin).astype(bool)  # an empty frame maps to no dtype
    is_admin = entitlements["policy_arn"].isin(admin_policy_arns) | full_admin
    return entitlements[is_admin]


def unapproved_admin_grants(entitlements: pd.DataFrame, admin_policy_arns: list[str], approved_groups: list[str],
                            approved_roles: list[str]) -> pd.DataFrame:
    """The administrator grants held outside the approved paths: a user's not through an approved group, a role
    that is not an approved one (the one rule CC6.1-ADMIN and the access review's effectiveness share)."""
    grants = admin_grants(entitlements, admin_policy_arns)
    approved_via = {f"group:{g}" for g in approved_groups}
    return grants[((grants["principal_type"] == "user") & ~grants["via"].isin(approved_via))
                  | ((grants["principal_type"] == "role") & ~grants["principal"].isin(approved_roles))]


@ADMIN.rule
def admin_only_through_approved_paths(entitlements: pd.DataFrame, admin_policy_arns: list[str],
                                      approved_groups: list[str], approved_roles: list[str]) -> TestResult:
    """Population: one row per principal, with every policy it holds and how."""
    keys = ["account_id", "principal_type", "principal"]
    grants = admin_grants(entitlements, admin_policy_arns)
    unapproved = unapproved_admin_grants(entitlements, admin_policy_arns, approved_groups, approved_roles)
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
    tested = Tested(entitlements, "iam-entitlements").reshape(
        principals, "one row per principal (IAM user or role) with every policy it holds and how")
    return evaluate(ADMIN, tested, deviations, threshold)


@USER_POLICIES.rule
def users_only_through_groups(entitlements: pd.DataFrame) -> TestResult:
    """Population: one row per IAM user, with the policies it holds other than through a group."""
    grants = Tested(entitlements, "iam-entitlements").keep(lambda f: f["principal_type"] == "user",
                                                           "the policy grants of IAM users")
    direct = grants.frame[(grants.frame["via"] == "direct") & (grants.frame["policy_type"] != "none")]
    held = direct.groupby(["account_id", "principal"])["policy_name"].agg(
        lambda s: "; ".join(f"{n} ({t})" for n, t in zip(s, direct.loc[s.index, "policy_type"], strict=True)))
    users = grants.frame[["account_id", "principal"]].drop_duplicates().rename(columns={"principal": "user"})
    users["direct_policies"] = [held.get((a, u), "") for a, u in zip(users["account_id"], users["user"], strict=True)]
    deviations = [{"resource_type": "iam_user", "resource_id": f"{u.account_id}:{u.user}",
                   "detail": f"policies held by the user itself, not through a group: {u.direct_policies}"}
                  for u in users.itertuples() if u.direct_policies]
    return evaluate(USER_POLICIES, grants.reshape(users.reset_index(drop=True), "one row per IAM user"), deviations,
                    {"permissions_through": "groups only"})


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


@PASSWORD_POLICY.rule
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
    tested = Tested(policy, "iam-password-policy").reshape(
        pd.DataFrame(checked, columns=["account_id", "setting", "required", "actual"]),
        "one row per account in scope and setting the standard in params requires")
    return evaluate(PASSWORD_POLICY, tested, deviations, dict(required))


# -- people: the HR roster joined to every account, across AWS IAM, Identity Center and GitHub ----------

GITHUB_2FA = ControlTest(
    "CC6.1-GITHUB-2FA", "CC6.1", "GitHub requires two-factor authentication",
    "The GitHub organization requires two-factor authentication and no member or outside collaborator "
    "is without it.", "continuous", ("github-org-members", "github-org-settings"), sample_keys=("org", "login"),
    deviates_when=("An organization that does not require two-factor authentication, or a member or outside "
                   "collaborator without it, deviates."))
LEAVERS = ControlTest(
    "CC6.1-LEAVERS", "CC6.1", "Leavers' access removed in time",
    "Every account of every person whose employment or contract ended in the period was removed (or its "
    "access disabled) within the threshold of business days after the termination date.",
    "per_event", ("leaver-accounts", "leaver-activity"),
    lambda s, ctx: {"default_accounts": {"aws-iam": ctx.account_ids[0], "identity-center": ctx.account_ids[0],
                                         "github": "+".join(ctx.org_names)},
                    "business_days": s["leaver_removal_business_days"], "calendar": ctx.calendar.describe()},
    ("person_id", "system", "identity"),
    deviates_when=("A leaver's account not removed or disabled within {removal_within_business_days} business day(s) "
                   "of the termination date deviates; business days are {business_days_counted}."))
ORPHANED = ControlTest(
    "CC6.1-ORPHANED", "CC6.1", "Every account belongs to a person on the HR roster",
    "Every human account in AWS IAM, IAM Identity Center and the GitHub organization matches a person on the "
    "HR roster (service accounts are listed in params).", "continuous", ("access-review-worksheet",),
    sample_keys=("line",),
    deviates_when=("A human account that matches nobody on the HR roster by {roster_match} deviates."))
REVIEW_COMPLETE = ControlTest(
    "CC6.1-REVIEW-COMPLETE", "CC6.1", "Access review: every line decided",
    "Every account that existed at the time of the quarterly access review has a keep/remove decision.",
    "quarterly", ("access-review-worksheet", "access-review-decisions"), sample_keys=("line",),
    deviates_when=("An account that existed at the review date without a decision ({decision_required}) deviates."))
REVIEW_INDEPENDENT = ControlTest(
    "CC6.1-REVIEW-INDEPENDENT", "CC6.1", "Access review: nobody reviews their own access",
    "No decision was made by the person whose access it is.", "quarterly",
    ("access-review-decisions", "access-review-worksheet"), sample_keys=("system", "account", "identity"),
    deviates_when=("A decision made by the owner of the access it decides deviates."))
REVIEW_REMOVALS = ControlTest(
    "CC6.1-REVIEW-REMOVALS", "CC6.1", "Access review: every removal carried out",
    "Every account the review decided to remove no longer has access at collection.", "quarterly",
    ("access-review-decisions", "access-review-worksheet"), sample_keys=("system", "account", "identity"),
    deviates_when=("An account the review decided to remove that still has access at {removed_by} deviates."))
REVIEW_EFFECTIVE = ControlTest(
    "CC6.1-REVIEW-EFFECTIVE", "CC6.1", "Access review: what should go is not kept, and reviewers may review",
    "No review decision keeps an account that, at the review date, belonged to a terminated person, matched nobody "
    "on the HR roster, was dormant, or held administrator access outside the approved paths; every reviewer is on "
    "the HR roster, employed at the review date and, when params name approvers, one of them.", "quarterly",
    ("access-review-decisions", "access-review-worksheet", "hr-roster", "iam-entitlements"),
    lambda s, ctx: {"admin_policy_arns": s["admin_policy_arns"], "approved_groups": s["approved_admin_groups"],
                    "approved_roles": s["approved_admin_roles"], "approvers": s["review_approvers"]},
    ("system", "account", "identity"),
    deviates_when=("A 'keep' decision on a line with, at the review date, any of: {keep_not_allowed_for}, deviates; "
                   "so does a decision by a reviewer who is not: {reviewer}."))
LEAVER_ACTIVITY = ControlTest(
    "CC6.1-LEAVER-ACTIVITY", "CC6.1", "Leavers did not act after their removal deadline",
    "No person terminated before or during the period acted after the removal deadline: no AWS API call by their IAM "
    "user or a session in their name, no pull request opened or merged, review submitted, commit on a production "
    "branch or deployment created by their GitHub account.", "per_event", ("leaver-activity",),
    sample_keys=("person_id", "system", "identity"),
    deviates_when=("Any act by a leaver's identity after {activity_after} deviates: an AWS API call or console "
                   "sign-in, a pull request opened or merged, a review submitted, a commit on a production branch, a "
                   "deployment created."))
ACCOUNT_SCOPE = ControlTest(
    "CC6.1-ACCOUNT-SCOPE", "CC6.1", "Every account of the AWS organization is in scope",
    "The inventory of information assets is complete: every active account of the AWS organization the accounts "
    "in scope belong to is in scope or excluded in params with a reason.", "continuous",
    ("aws-organization-accounts", "aws-organization"),
    lambda s, ctx: {"in_scope": list(ctx.account_ids), "excluded": dict(ctx.aws.get("excluded_accounts") or {})},
    ("organization_id", "account_id"),
    deviates_when=("An active account of the organization that is neither in scope ({in_scope}) nor excluded "
                   "({excluded}) deviates."))
TESTS = [MFA, ROOT, DORMANT, ADMIN, USER_POLICIES, PASSWORD_POLICY, GITHUB_2FA, LEAVERS, LEAVER_ACTIVITY, ORPHANED,
         REVIEW_COMPLETE, REVIEW_INDEPENDENT, REVIEW_REMOVALS, REVIEW_EFFECTIVE, ACCOUNT_SCOPE]
REMOVAL_EVENTS = {"DeleteLoginProfile", "DeleteUser"}
# The CloudTrail events CC6.1 reads (auditbook.events.sql: the query's own column names): IAM user removals, and
# console sign-ins (a leaver signing in after the removal deadline; other calls come with the non-read-only ones).
CLOUDTRAIL_SELECTION = ("(event_source = 'iam.amazonaws.com' AND event_name IN ("
                        + ", ".join(f"'{name}'" for name in sorted(REMOVAL_EVENTS)) + ")) "
                        "OR event_type = 'AwsConsoleSignIn'")
WORKSHEET_COLUMNS = ["system", "account", "identity", "person_id", "person", "privileges", "last_activity",
                     "created_at", "admin", "no_mfa", "dormant", "leaver", "orphaned", "has_access"]


def _line_id(system: str, account: str, identity: str) -> str:
    return f"{system}:{account}:{identity}"


def _people_index(roster: pd.DataFrame) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    by_aws, by_email, by_github = {}, {}, {}
    for p in roster.itertuples():
        for name in filter(None, str(p.aws_user_names).split(";")):
            by_aws[name.strip()] = p
        if p.email:
            by_email[p.email] = p
        if p.github_login:
            by_github[p.github_login] = p
    return by_aws, by_email, by_github


def review_worksheet(roster: pd.DataFrame, report: pd.DataFrame, entitlements: pd.DataFrame,
                     assignments: pd.DataFrame, members: pd.DataFrame, service_accounts: list[str],
                     as_of: datetime | None = None, dormant_days: int = 90,
                     admin_policy_arns: list[str] | None = None) -> pd.DataFrame:
    """Every person × system × privilege, with the flags a reviewer needs; one line per account."""
    by_aws, by_email, by_github = _people_index(roster)
    service = set(service_accounts)
    grants = admin_grants(entitlements, admin_policy_arns or []) if len(entitlements) else entitlements
    admins = set(zip(grants["account_id"], grants["principal"], strict=True)) if len(grants) else set()
    policies = (entitlements[entitlements["principal_type"] == "user"]
                .assign(p=lambda f: [f"{r.policy_name} ({r.via})" if r.policy_name else "" for r in f.itertuples()])
                .groupby(["account_id", "principal"])["p"].agg(lambda s: "; ".join(x for x in s if x)))
    limit = as_of - timedelta(days=dormant_days) if as_of else None
    lines = []

    def person_fields(p: Any) -> dict[str, Any]:
        if p is None:
            return {"person_id": "", "person": "", "leaver": False}
        return {"person_id": p.person_id, "person": p.name, "leaver": pd.notna(p.termination_date)}

    for u in report[~report["is_root"]].itertuples():
        if u.user in service:
            continue
        has_access = bool(u.password_enabled or u.access_key_1_active or u.access_key_2_active)
        last = max([t for t in (u.password_last_used, u.access_key_1_last_used_date, u.access_key_2_last_used_date)
                    if pd.notna(t)], default=pd.NaT)
        p = by_aws.get(u.user)
        lines.append({"system": "aws-iam", "account": u.account_id, "identity": u.user, **person_fields(p),
                      "privileges": policies.get((u.account_id, u.user), ""), "last_activity": last,
                      "created_at": u.user_creation_time, "admin": (u.account_id, u.user) in admins,
                      "no_mfa": bool(u.password_enabled and not u.mfa_active),
                      "dormant": bool(limit is not None and u.password_enabled
                                      and (last if pd.notna(last) else u.user_creation_time) < limit),
                      "orphaned": p is None, "has_access": has_access})
    for name, rows in assignments.groupby(["account_id", "user_name"], sort=True):
        account, user = name
        first = rows.iloc[0]
        grants = "; ".join(f"{r.permission_set}@{r.target_account} ({r.via})" for r in rows.itertuples()
                           if r.permission_set)
        p = by_email.get(first["email"])
        lines.append({"system": "identity-center", "account": account, "identity": user, **person_fields(p),
                      "privileges": grants, "last_activity": pd.NaT, "created_at": pd.NaT,
                      "admin": "AdministratorAccess" in grants, "no_mfa": False, "dormant": False,
                      "orphaned": p is None, "has_access": bool(grants)})
    for m in members.itertuples():
        if m.login in service:
            continue
        p = by_github.get(m.login)
        lines.append({"system": "github", "account": m.org, "identity": m.login, **person_fields(p),
                      "privileges": m.role, "last_activity": pd.NaT, "created_at": pd.NaT,
                      "admin": m.role == "admin", "no_mfa": bool(m.two_factor_disabled), "dormant": False,
                      "orphaned": p is None, "has_access": True})
    sheet = pd.DataFrame(lines, columns=WORKSHEET_COLUMNS)
    sheet.insert(0, "line", [_line_id(r.system, r.account, r.identity) for r in sheet.itertuples()])
    return sheet


@GITHUB_2FA.rule
def github_two_factor(members: pd.DataFrame, settings: pd.DataFrame) -> TestResult:
    deviations = [{"resource_type": "github_org", "resource_id": f"github:{s.org}",
                   "detail": "the organization does not require two-factor authentication"}
                  for s in settings.itertuples() if not s.two_factor_requirement_enabled]
    deviations += [{"resource_type": "github_member", "resource_id": f"github:{m.org}:{m.login}",
                    "detail": f"{m.role} without two-factor authentication"}
                   for m in members.itertuples() if m.two_factor_disabled]
    return evaluate(GITHUB_2FA, members, deviations, {"two_factor_required": True})


def removal_deadline(termination: pd.Timestamp, business_days: int,
                     holidays: Sequence[date] = ()) -> pd.Timestamp:
    """End of the day ``business_days`` business days after the termination date (Monday to Friday, less
    ``holidays``: a removal the day after a public holiday is on time)."""
    day = np.busday_offset(termination.date(), business_days, roll="forward", holidays=list(holidays))
    return pd.Timestamp(day, tz="UTC") + pd.Timedelta(days=1)


def roster_identities(person: Any) -> list[tuple[str, str]]:
    """The (system, identity) pairs a roster line names: its IAM user names and its GitHub login."""
    identities = [("aws-iam", n.strip()) for n in str(person.aws_user_names).split(";") if n.strip()]
    return identities + ([("github", person.github_login)] if person.github_login else [])


def leaver_accounts(roster: pd.DataFrame, sheet: pd.DataFrame, events: pd.DataFrame, start: datetime,
                    end: datetime, business_days: int, holidays: Sequence[date] = ()) -> pd.DataFrame:
    """Every account of every person terminated in the period, with when its access was removed.

    An identity is looked up in every AWS account and GitHub org in scope: one row per account or org
    where it is present or (IAM) was removed in the period; one row with no account when it is nowhere.
    """
    leavers = roster[(roster["termination_date"] >= start) & (roster["termination_date"] < end)]
    removals = events[events["event_name"].isin(REMOVAL_EVENTS) & (events["error_code"] == "")]
    removed_at: dict[tuple[str, str], pd.Timestamp] = {}
    for e in removals.itertuples():
        user = json.loads(e.request_parameters or "{}").get("userName")
        if user:
            key = (str(e.account_id), user)
            removed_at[key] = min(removed_at.get(key, e.event_time), e.event_time)
    present: dict[tuple[str, str], dict[str, Any]] = {}
    for r in sheet.itertuples():
        present.setdefault((r.system, r.identity), {})[str(r.account)] = r
    rows = []
    for p in leavers.itertuples():
        deadline = removal_deadline(p.termination_date, business_days, holidays)
        identities = roster_identities(p)
        identities += [("identity-center", r.identity) for r in sheet.itertuples()
                       if r.system == "identity-center" and r.person_id == p.person_id]
        for system, identity in dict.fromkeys(identities):
            lines = present.get((system, identity), {})
            removed_in = {a for a, user in removed_at if user == identity} if system == "aws-iam" else set()
            for account in sorted(set(lines) | removed_in) or [""]:
                line = lines.get(account)
                when = removed_at.get((account, identity))
                rows.append({"person_id": p.person_id, "person": p.name, "termination_date": p.termination_date,
                             "deadline": deadline, "system": system, "account": account, "identity": identity,
                             "access_at_collection": line is not None and line.has_access,
                             "removed_at": when if when is not None else pd.NaT})
    return pd.DataFrame(rows, columns=["person_id", "person", "termination_date", "deadline", "system", "account",
                                       "identity", "access_at_collection", "removed_at"])


LEAVER_ACTIVITY_COLUMNS = ["person_id", "person", "termination_date", "deadline", "system", "identity", "activities",
                           "count", "first", "last"]


def leaver_activity(roster: pd.DataFrame, events: pd.DataFrame, pulls: pd.DataFrame, reviews: pd.DataFrame,
                    commits: pd.DataFrame, deployments: pd.DataFrame, start: datetime, end: datetime,
                    business_days: int, holidays: Sequence[date] = (),
                    assignments: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per identity of every person terminated before the period end (AWS IAM user names, Identity Center
    user names, GitHub login in each org the run reads), with what it did in the period after the removal deadline:
    each kind of activity with its count, first and last time and where. An identity that did nothing has a row
    with count 0. AWS calls count for an IAM user name when made as that user or in a session of that name, and for
    an Identity Center user in an Identity Center session (role ``AWSReservedSSO_…``) of that name."""
    leavers = roster[roster["termination_date"].notna() & (roster["termination_date"] < end)]
    kinds = _activity_kinds(events, pulls, reviews, commits, deployments)
    rows = []
    for p in leavers.itertuples():
        deadline = max(removal_deadline(p.termination_date, business_days, holidays), pd.Timestamp(start))
        identities = roster_identities(p) + _identity_center_names(p, assignments, kinds["identity-center"])
        for system, identity in identities:
            name = identity.lower() if system == "identity-center" else identity
            found = [(what, where, at) for what, who, where, at in kinds.get(system, [])
                     if who == name and deadline <= at < end]
            by_kind: dict[str, list[tuple[str, pd.Timestamp]]] = {}
            for what, where, at in found:
                by_kind.setdefault(what, []).append((where, at))
            text = "; ".join(_acts_text(what, acts) for what, acts in sorted(by_kind.items()))
            times = [at for _, _, at in found]
            rows.append({"person_id": p.person_id, "person": p.name, "termination_date": p.termination_date,
                         "deadline": deadline, "system": system, "identity": identity,
                         "activities": text, "count": len(found), "first": min(times) if times else pd.NaT,
                         "last": max(times) if times else pd.NaT})
    return pd.DataFrame(rows, columns=LEAVER_ACTIVITY_COLUMNS)


def _places(where: set[str], shown: int = 5) -> str:
    """Where the acts were, the first few by name (the tested population's CSV has every row's count)."""
    names = sorted(where)
    return ", ".join(names[:shown]) + (f" and {len(names) - shown} more" if len(names) > shown else "")


_ONE = {"AWS API calls": "AWS API call", "pull requests opened": "pull request opened",
        "pull requests merged": "pull request merged", "reviews submitted": "review submitted",
        "commits on production branches": "commit on a production branch", "deployments created": "deployment created"}


def _acts_text(what: str, acts: list[tuple[str, pd.Timestamp]]) -> str:
    """"3 reviews submitted (first to last; where)", or "1 review submitted (at; where)"."""
    first, last = min(a for _, a in acts), max(a for _, a in acts)
    when = f"{first:%Y-%m-%d %H:%M}" if first == last else f"{first:%Y-%m-%d %H:%M} to {last:%Y-%m-%d %H:%M}"
    return f"{len(acts)} {_ONE.get(what, what) if len(acts) == 1 else what} ({when}; {_places({w for w, _ in acts})})"


def _activity_kinds(events: pd.DataFrame, pulls: pd.DataFrame, reviews: pd.DataFrame, commits: pd.DataFrame,
                    deployments: pd.DataFrame) -> dict[str, list[tuple[str, str, str, pd.Timestamp]]]:
    """Every act a person can be seen doing, as (what, who, where, when), by system."""
    acted = [e for e in events.itertuples() if e.identity_type in ("IAMUser", "AssumedRole", "IdentityCenterUser")
             and e.principal_name]
    aws = [("AWS API calls", e.principal_name, f"{e.event_name} in {e.account_id}", e.event_time)
           for e in acted if not _identity_center_session(e)]
    # An Identity Center user acts through a role AWSReservedSSO_<permission set>_… in a session named after them
    sso = [("AWS API calls", str(e.principal_name).lower(), f"{e.event_name} in {e.account_id}", e.event_time)
           for e in acted if _identity_center_session(e)]
    github = [("pull requests opened", p.author, f"{p.org}/{p.repo}#{p.number}", p.created_at)
              for p in pulls.itertuples()]
    github += [("pull requests merged", p.merged_by, f"{p.org}/{p.repo}#{p.number}", p.merged_at)
               for p in pulls.itertuples()]
    github += [("reviews submitted", r.reviewer, f"{r.org}/{r.repo}#{r.number}", r.submitted_at)
               for r in reviews.itertuples() if pd.notna(r.submitted_at)]
    github += [("commits on production branches", c.author, f"{c.org}/{c.repo}@{str(c.sha)[:7]}", c.committed_at)
               for c in commits.itertuples()]
    github += [("deployments created", d.creator, f"{d.org}/{d.repo}/deployments/{d.deployment_id}", d.created_at)
               for d in deployments.itertuples()]
    return {"aws-iam": [a for a in aws if pd.notna(a[3])], "identity-center": [a for a in sso if pd.notna(a[3])],
            "github": [g for g in github if pd.notna(g[3])]}


def _identity_center_session(event: Any) -> bool:
    return event.identity_type == "AssumedRole" and str(event.role_name).startswith("AWSReservedSSO_")


def _identity_center_names(person: Any, assignments: pd.DataFrame | None,
                           sessions: list[tuple[str, str, str, pd.Timestamp]]) -> list[tuple[str, str]]:
    """A roster line's Identity Center user names (its email's users in the assignments; a user deleted by
    collection is gone from them), and its email when sessions carry it as their name (an IdP's usual choice)."""
    email = str(person.email or "").lower()
    if not email:
        return []
    names = [] if assignments is None or assignments.empty else sorted(
        {str(u) for u, e in zip(assignments["user_name"], assignments["email"], strict=True)
         if str(e).lower() == email})
    seen_by_email = any(who == email for _, who, _, _ in sessions)
    return [("identity-center", n) for n in names] + \
        ([("identity-center", email)] if seen_by_email and email not in {n.lower() for n in names} else [])


@LEAVER_ACTIVITY.rule
def leavers_inactive(activity: pd.DataFrame) -> TestResult:
    """Activity after the removal deadline shows the access was still there and used: each identity's acts."""
    deviations = [{"resource_type": a.system, "resource_id": f"{a.system}:{a.identity}",
                   "detail": f"{a.person} terminated {a.termination_date:%Y-%m-%d} (removal deadline "
                             f"{a.deadline - pd.Timedelta(days=1):%Y-%m-%d}); access used until "
                             f"{a.last:%Y-%m-%d %H:%M}: {a.activities}"}
                  for a in activity.itertuples() if a.count > 0]
    return evaluate(LEAVER_ACTIVITY, Tested(activity, "leaver-activity"), deviations,
                    {"activity_after": "the removal deadline"})


@LEAVERS.rule
def leavers_removed_in_time(accounts: pd.DataFrame, activity: pd.DataFrame | None = None,
                            default_accounts: dict[str, str] | None = None, business_days: int = 1,
                            calendar: str = "Monday to Friday") -> TestResult:
    """AWS IAM removals are timed from the trail; where an API keeps no history (GitHub without the
    Enterprise audit log, Identity Center deletions by id) absence at collection is the evidence, and the
    identity's last activity the run saw bounds when the access was last used (CC6.1-LEAVER-ACTIVITY)."""
    default_accounts = default_accounts or {}
    last_used = {} if activity is None else {(a.system, a.identity): a.last for a in activity.itertuples()
                                              if a.count > 0}
    deviations, notes = [], []
    for a in accounts.itertuples():
        account = a.account or default_accounts.get(a.system, "")
        rid = _line_id(a.system, account, a.identity)
        if a.access_at_collection:
            deviations.append({"resource_type": a.system, "resource_id": rid,
                               "detail": f"{a.person} terminated {a.termination_date:%Y-%m-%d}; "
                                         "still has access at collection"})
        elif a.system == "aws-iam" and pd.isna(a.removed_at):
            deviations.append({"resource_type": a.system, "resource_id": rid,
                               "detail": f"{a.person} terminated {a.termination_date:%Y-%m-%d}; access gone but "
                                         "no removal in the period's trail: removal time not evidenced"})
        elif a.system == "aws-iam" and a.removed_at > a.deadline:
            late = (a.removed_at - a.termination_date).days
            deviations.append({"resource_type": a.system, "resource_id": rid,
                               "detail": f"{a.person} terminated {a.termination_date:%Y-%m-%d}; removed "
                                         f"{a.removed_at:%Y-%m-%d %H:%M}, {late} days later (deadline "
                                         f"{a.deadline - pd.Timedelta(days=1):%Y-%m-%d})"})
        elif a.system != "aws-iam":
            used = last_used.get((a.system, a.identity))
            notes.append(f"{rid}: removed by collection; the API keeps no removal time to test against the "
                         "deadline; " + (f"access used until {used:%Y-%m-%d %H:%M} (CC6.1-LEAVER-ACTIVITY)."
                                         if used is not None else "no use of it seen after the deadline."))
    return evaluate(LEAVERS, accounts, deviations, {"removal_within_business_days": business_days,
                                                    "business_days_counted": calendar}, notes)


@ORPHANED.rule
def accounts_match_roster(sheet: pd.DataFrame) -> TestResult:
    deviations = [{"resource_type": r.system, "resource_id": r.line,
                   "detail": f"{r.system} account {r.identity} ({r.privileges or 'no privileges'}) matches nobody "
                             "on the HR roster"}
                  for r in sheet.itertuples() if r.orphaned]
    return evaluate(ORPHANED, sheet, deviations, {"roster_match": "IAM user name, email or GitHub login"})


@REVIEW_COMPLETE.rule
def review_complete(sheet: pd.DataFrame, decisions: pd.DataFrame) -> TestResult:
    reviewed_at = decisions["reviewed_at"].min() if len(decisions) else pd.NaT
    due = Tested(sheet, "access-review-worksheet")
    if pd.notna(reviewed_at):
        due = due.keep(lambda f: f["created_at"].isna() | (f["created_at"] <= reviewed_at),
                       f"accounts that existed when the review began ({reviewed_at:%Y-%m-%d})")
    decided = {_line_id(d.system, d.account, d.identity) for d in decisions.itertuples()}
    deviations = [{"resource_type": r.system, "resource_id": r.line,
                   "detail": f"no review decision for {r.identity} ({r.person or 'unknown person'})"}
                  for r in due.frame.itertuples() if r.line not in decided]
    notes = [f"Lines created after the review ({len(sheet) - len(due)}) are due at the next review."] \
        if len(due) < len(sheet) else []
    return evaluate(REVIEW_COMPLETE, due, deviations, {"decision_required": "keep or remove"}, notes)


@REVIEW_INDEPENDENT.rule
def review_independent(decisions: pd.DataFrame, sheet: pd.DataFrame) -> TestResult:
    owner = {r.line: r.person_id for r in sheet.itertuples()}
    deviations = [{"resource_type": d.system, "resource_id": _line_id(d.system, d.account, d.identity),
                   "detail": f"reviewer {d.reviewer} decided on their own access"}
                  for d in decisions.itertuples() if owner.get(_line_id(d.system, d.account, d.identity)) == d.reviewer]
    return evaluate(REVIEW_INDEPENDENT, decisions, deviations, {"reviewer": "not the account's owner"})


@REVIEW_REMOVALS.rule
def review_removals_done(decisions: pd.DataFrame, sheet: pd.DataFrame) -> TestResult:
    active = {r.line for r in sheet.itertuples() if r.has_access}
    removals = Tested(decisions, "access-review-decisions").keep(lambda f: f["decision"] == "remove",
                                                                 "decisions to remove (decision = remove)")
    deviations = [{"resource_type": d.system, "resource_id": _line_id(d.system, d.account, d.identity),
                   "detail": f"decided 'remove' by {d.reviewer} on {d.reviewed_at:%Y-%m-%d}; still has access "
                             "at collection"}
                  for d in removals.frame.itertuples() if _line_id(d.system, d.account, d.identity) in active]
    return evaluate(REVIEW_REMOVALS, removals, deviations, {"removed_by": "collection time"})


@REVIEW_EFFECTIVE.rule
def review_effective(decisions: pd.DataFrame, sheet: pd.DataFrame, roster: pd.DataFrame,
                     entitlements: pd.DataFrame, admin_policy_arns: list[str], approved_groups: list[str],
                     approved_roles: list[str], approvers: list[str]) -> TestResult:
    """A review that keeps what it should have removed, or is made by someone who may not review, is no review.

    The line's facts are the worksheet's (its owner from the roster, dormant at the period end, orphaned) and the
    roster's termination dates, compared with the decision's date; admin outside the approved paths is
    CC6.1-ADMIN's rule (IAM users; Identity Center and GitHub admin have no approved paths in params)."""
    lines = {r.line: r for r in sheet.itertuples()}
    people = {p.person_id: p for p in roster.itertuples()}
    outside = unapproved_admin_grants(entitlements, admin_policy_arns, approved_groups, approved_roles)
    outside_users = {(str(g.account_id), g.principal): f"{g.policy_name} ({g.policy_type}, {g.via})"
                     for g in outside[outside["principal_type"] == "user"].itertuples()} if len(outside) else {}
    deviations = []
    for d in decisions.itertuples():
        line_id = _line_id(d.system, d.account, d.identity)
        line = lines.get(line_id)
        problems = _reviewer_problems(d, people, _approvers_of(line, people, approvers))
        if d.decision == "keep" and line is not None:
            problems += _kept_problems(d, line, people, outside_users.get((str(d.account), d.identity)))
        if problems:
            deviations.append({"resource_type": d.system, "resource_id": line_id,
                               "detail": f"decided '{d.decision}' by {d.reviewer} on {d.reviewed_at:%Y-%m-%d}: "
                                         + "; ".join(problems)})
    threshold = {"keep_not_allowed_for": "terminated owner, no owner on the roster, dormant, admin outside "
                 "approved paths", "reviewer": "on the roster, employed that day"
                 + (f", one of {', '.join(approvers)} ('manager': the owner's manager)" if approvers else "")}
    return evaluate(REVIEW_EFFECTIVE, decisions, deviations, threshold)


def _approvers_of(line: Any, people: dict[str, Any], approvers: list[str]) -> list[str] | None:
    """Who may decide a line: the person ids params name, "manager" standing for the line owner's manager on the
    roster (a line with no owner has no manager); None: params name nobody, so anyone who may review."""
    if not approvers:
        return None
    owner = people.get(str(line.person_id)) if line is not None and line.person_id else None
    manager = [str(owner.manager)] if "manager" in approvers and owner is not None and owner.manager else []
    return [a for a in approvers if a != "manager"] + manager


def _reviewer_problems(d: Any, people: dict[str, Any], approvers: list[str] | None) -> list[str]:
    reviewer = people.get(str(d.reviewer))
    if reviewer is None:
        return [f"reviewer {d.reviewer} is not on the HR roster"]
    problems = []
    if pd.notna(reviewer.termination_date) and d.reviewed_at.normalize() > reviewer.termination_date.normalize():
        problems.append(f"reviewer {reviewer.name} had left on {reviewer.termination_date:%Y-%m-%d}")
    elif pd.notna(reviewer.start_date) and d.reviewed_at.normalize() < reviewer.start_date.normalize():
        problems.append(f"reviewer {reviewer.name} had not started yet ({reviewer.start_date:%Y-%m-%d})")
    if approvers is not None and str(d.reviewer) not in approvers:
        problems.append(f"reviewer {reviewer.name} may not decide this line (approvers: "
                        f"{', '.join(approvers) or 'none: the line has no owner with a manager on the roster'})")
    return problems


def _kept_problems(d: Any, line: Any, people: dict[str, Any], admin_outside: str | None) -> list[str]:
    problems = []
    owner = people.get(str(line.person_id)) if line.person_id else None
    if owner is not None and pd.notna(owner.termination_date) \
            and owner.termination_date.normalize() < d.reviewed_at.normalize():
        problems.append(f"kept access of {owner.name}, terminated on {owner.termination_date:%Y-%m-%d}, before "
                        "the review")
    if _truthy(line.orphaned):
        problems.append("kept an account that matches nobody on the HR roster")
    if _truthy(line.dormant):
        problems.append("kept a dormant account")
    if admin_outside:
        problems.append(f"kept administrator access outside the approved paths ({admin_outside})")
    return problems


def changes_since(previous: pd.DataFrame, current: pd.DataFrame) -> pd.DataFrame:
    """What changed in who has access since the previous review worksheet: for the reviewer's eye."""
    before = previous.set_index("line")
    now = current.set_index("line")
    rows = []
    for line in sorted(set(now.index) - set(before.index)):
        r = now.loc[line]
        rows.append({"change": "new account", "line": line, "person": r["person"], "privileges": r["privileges"]})
    for line in sorted(set(before.index) - set(now.index)):
        r = before.loc[line]
        rows.append({"change": "account removed", "line": line, "person": r["person"], "privileges": r["privileges"]})
    for line in sorted(set(now.index) & set(before.index)):
        was, is_ = _truthy(before.loc[line, "admin"]), _truthy(now.loc[line, "admin"])
        if was != is_:
            rows.append({"change": "became admin" if is_ else "no longer admin", "line": line,
                         "person": now.loc[line, "person"], "privileges": now.loc[line, "privileges"]})
        elif str(before.loc[line, "privileges"]) != str(now.loc[line, "privileges"]):
            rows.append({"change": "privileges changed", "line": line, "person": now.loc[line, "person"],
                         "privileges": f"{before.loc[line, 'privileges']} -> {now.loc[line, 'privileges']}"})
    return pd.DataFrame(rows, columns=["change", "line", "person", "privileges"])


def _truthy(value: Any) -> bool:
    return str(value).strip().lower() in {"true", "1", "yes"}


@ACCOUNT_SCOPE.rule
def accounts_in_scope(accounts: pd.DataFrame, membership: pd.DataFrame, in_scope: list[str],
                      excluded: dict[str, str]) -> TestResult:
    """Each active account of the organization: in scope, excluded with a reason, or missing from scope (a
    deviation). An organization none of whose accounts in scope may list its accounts cannot be shown complete:
    ERROR naming who can list them. A suspended or closed account is listed, not required."""
    unlisted = membership[(membership["organization_id"] != "") & ~membership["listed"].astype(bool)]
    listed_orgs = set(membership.loc[membership["listed"].astype(bool), "organization_id"])
    blind = sorted(set(unlisted["organization_id"]) - listed_orgs)
    if blind:
        who = unlisted[unlisted["organization_id"].isin(blind)]
        return errored(ACCOUNT_SCOPE, f"the accounts of AWS organization {', '.join(blind)} could not be listed: "
                       f"{'; '.join(f'{r.account_id}: {r.listing}' for r in who.itertuples())}. Only the "
                       "management account (" + ", ".join(sorted(set(who["management_account_id"]))) + ") or a "
                       "delegated administrator may call organizations:ListAccounts: add one of them to "
                       "scope.aws.accounts with the audit role")
    tested = Tested(accounts, "aws-organization-accounts")
    tested = tested.reshape(accounts.drop_duplicates(["organization_id", "account_id"]),
                            "one row per account (an organization listed by several accounts in scope)")
    frame = tested.frame
    scope, why, deviations = [], [], []
    for a in frame.itertuples():
        if a.account_id in in_scope:
            scope.append("in scope")
            why.append("")
        elif a.account_id in excluded:
            scope.append("excluded")
            why.append(excluded[a.account_id])
        elif a.state != "ACTIVE":
            scope.append("not active")
            why.append(f"{a.state or 'no state'} at collection: no longer usable")
        else:
            scope.append("missing from scope")
            why.append("active, neither in scope nor excluded with a reason")
            deviations.append({"resource_type": "aws_account", "resource_id": f"{a.organization_id}:{a.account_id}",
                               "detail": f"active account {a.name or '(no name)'} of organization "
                                         f"{a.organization_id}, joined {when(a.joined_at, '%Y-%m-%d')}, is neither in "
                                         "scope.aws.accounts nor excluded with a reason: its controls were not tested"})
    tested = tested.annotate(frame.assign(scope=scope, why=why))
    standalone = membership.loc[membership["organization_id"] == "", "account_id"].tolist()
    notes = [f"Account {a} is not a member of an AWS organization: it is its own boundary." for a in standalone]
    return evaluate(ACCOUNT_SCOPE, tested, deviations,
                    {"required": "every ACTIVE account of the organization",
                     "in_scope": "scope.aws.accounts", "excluded": "scope.aws.excluded_accounts, each with its reason"},
                    notes=notes)
