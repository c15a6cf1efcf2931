"""IAM evidence: credential report, entitlements (who holds which policy, and how), password policy.

Reads metadata only. The credential report is the population of IAM principals AWS itself
produces, root included; entitlements come from one paginated
``GetAccountAuthorizationDetails`` walk instead of a call per user.
"""

from __future__ import annotations

import io
import json
import time
from datetime import timedelta
from typing import Any
from urllib.parse import unquote

import botocore.exceptions
import pandas as pd

from auditbook.provenance import Collected, CollectionError, RawStore, iso, utc_now
from auditbook.sources.aws.base import all_pages, aws_errors, provenance
from auditbook.sources.aws.session import AwsAccount
from auditbook.timeline import ChangeCalls

# The IAM calls that may change what a configuration-only test reads (auditbook.timeline.ChangeCalls).
_CREDENTIALS = "LoginProfile|MFADevice|AccessKey|SigningCertificate|SSHPublicKey|ServiceSpecificCredential"
# the credential report: users and their credentials
USER_CHANGES = ChangeCalls("iam.amazonaws.com", rf".*(User|{_CREDENTIALS})", "IAM calls on users and their credentials",
                           global_service=True)
# who holds which policy: every other IAM call but the password policy's and a user changing their own password
ENTITLEMENT_CHANGES = ChangeCalls(
    "iam.amazonaws.com", rf"(?!.*({_CREDENTIALS}|AccountPasswordPolicy|AccountAlias|ChangePassword)).*",
    "IAM calls on users, groups, roles and policies",
    global_service=True)
PASSWORD_POLICY_CHANGES = ChangeCalls("iam.amazonaws.com", "(Update|Delete)AccountPasswordPolicy",
                                      "IAM calls on the account password policy",
                                      global_service=True)

ROOT_ROW = "<root_account>"  # the report's row for the root user (AWS documents it as always there)
REPORT_WAIT_SECONDS = 60
_NO_VALUE = {"N/A", "no_information", "not_supported", ""}
_TIME_COLUMNS = [
    "user_creation_time", "password_last_used", "password_last_changed", "password_next_rotation",
    "access_key_1_last_rotated", "access_key_1_last_used_date",
    "access_key_2_last_rotated", "access_key_2_last_used_date",
    "cert_1_last_rotated", "cert_2_last_rotated",
]
_BOOL_COLUMNS = ["password_enabled", "mfa_active", "access_key_1_active", "access_key_2_active",
                 "cert_1_active", "cert_2_active"]


def parse_credential_report(content: bytes) -> pd.DataFrame:
    frame = pd.read_csv(io.BytesIO(content), dtype=str, keep_default_na=False)
    for col in _TIME_COLUMNS:
        if col in frame:
            frame[col] = pd.to_datetime(frame[col].where(~frame[col].isin(_NO_VALUE)), utc=True, format="ISO8601")
    for col in _BOOL_COLUMNS:
        if col in frame:
            frame[col] = frame[col].str.lower().eq("true")
    return frame


REPORT_FRESH_FOR = timedelta(hours=4)  # AWS regenerates a report older than this when asked to generate one


def collect_credential_report(account: AwsAccount, raw: RawStore) -> Collected:
    """The credential report as AWS generates it now: one generated more than 4 h before this collection started
    is stale (GenerateCredentialReport would have replaced it), and stale evidence is refused, never tested."""
    started = utc_now()
    iam = account.client("iam")
    prov = provenance(account, "aws:iam")
    deadline = time.monotonic() + REPORT_WAIT_SECONDS
    polls, pause = 0, 0.25
    with aws_errors("iam:GenerateCredentialReport"):
        while True:
            polls += 1
            state = iam.generate_credential_report()["State"]
            if state == "COMPLETE":
                break
            if time.monotonic() > deadline:
                raise CollectionError(f"iam:GenerateCredentialReport still {state} after {REPORT_WAIT_SECONDS} s")
            time.sleep(pause)
            pause = min(pause * 2, 5)
    prov.add_operation("iam:GenerateCredentialReport", pages=polls)
    with aws_errors("iam:GetCredentialReport"):
        report = iam.get_credential_report()
    content: bytes = report["Content"]
    prov.raw_files.append(raw.save(f"aws/{account.account_id}/iam/credential-report.csv", content))
    frame = parse_credential_report(content)
    prov.add_operation("iam:GetCredentialReport", records=len(frame))
    generated = report["GeneratedTime"]
    if generated < started - REPORT_FRESH_FOR:
        raise CollectionError(f"iam:GetCredentialReport: the report is stale: generated {iso(generated)}, more than "
                              f"4 h before this collection started ({iso(started)}); AWS regenerates an older one, "
                              "so it is not the account's state now")
    prov.notes.append(f"Credential report generated at {iso(generated)} "
                      "(AWS regenerates it at most every 4 h).")
    if ROOT_ROW not in set(frame["user"]):
        raise CollectionError("iam:GetCredentialReport: the report has no <root_account> row; root cannot be tested")
    frame.insert(0, "account_id", account.account_id)
    frame.insert(2, "is_root", frame["user"] == ROOT_ROW)
    return Collected(frame, prov)


def _policy_document(raw_doc: Any) -> dict[str, Any]:
    """Policy documents arrive URL-encoded JSON strings from some endpoints, dicts from boto3 others."""
    if isinstance(raw_doc, str):
        return json.loads(unquote(raw_doc))
    return raw_doc


def _no_policy_row(ptype: str, name: str, arn: str) -> dict[str, Any]:
    """A principal with no policy is still part of the population."""
    return {"principal_type": ptype, "principal": name, "principal_arn": arn, "via": "", "policy_type": "none",
            "policy_name": "", "policy_arn": "", "document": ""}


def collect_entitlements(account: AwsAccount, raw: RawStore) -> Collected:
    """Every (principal, path, policy) an IAM user or role holds: direct, through a group, inline."""
    iam = account.client("iam")
    prov = provenance(account, "aws:iam")
    filters = ["User", "Group", "Role", "LocalManagedPolicy"]
    pages = all_pages(iam, "get_account_authorization_details", "iam:GetAccountAuthorizationDetails", Filter=filters)
    prov.raw_files.append(raw.save(f"aws/{account.account_id}/iam/account-authorization-details.json", pages))

    users = [u for p in pages for u in p.get("UserDetailList", [])]
    groups = {g["GroupName"]: g for p in pages for g in p.get("GroupDetailList", [])}
    roles = [r for p in pages for r in p.get("RoleDetailList", [])]
    local_policies = {}
    for policy in (pol for p in pages for pol in p.get("Policies", [])):
        default = next((v for v in policy.get("PolicyVersionList", []) if v.get("IsDefaultVersion")), None)
        local_policies[policy["Arn"]] = _policy_document(default["Document"]) if default else None

    rows: list[dict[str, Any]] = []

    def grant(ptype: str, name: str, arn: str, via: str, holder: dict[str, Any], attached_key: str,
              inline_key: str) -> None:
        for pol in holder.get(attached_key, []):
            managed_by_aws = pol["PolicyArn"].startswith("arn:aws:iam::aws:policy/")
            doc = None if managed_by_aws else local_policies.get(pol["PolicyArn"])
            rows.append({"principal_type": ptype, "principal": name, "principal_arn": arn, "via": via,
                         "policy_type": "aws_managed" if managed_by_aws else "customer_managed",
                         "policy_name": pol["PolicyName"], "policy_arn": pol["PolicyArn"],
                         "document": json.dumps(doc, sort_keys=True) if doc else ""})
        for pol in holder.get(inline_key, []):
            rows.append({"principal_type": ptype, "principal": name, "principal_arn": arn, "via": via,
                         "policy_type": "inline", "policy_name": pol["PolicyName"], "policy_arn": "",
                         "document": json.dumps(_policy_document(pol["PolicyDocument"]), sort_keys=True)})

    for user in users:
        before = len(rows)
        grant("user", user["UserName"], user["Arn"], "direct", user, "AttachedManagedPolicies", "UserPolicyList")
        for group_name in user.get("GroupList", []):
            group = groups.get(group_name)
            if group is None:
                raise CollectionError(f"iam:GetAccountAuthorizationDetails: group {group_name} of "
                                      f"{user['UserName']} missing from the listing")
            grant("user", user["UserName"], user["Arn"], f"group:{group_name}", group,
                  "AttachedManagedPolicies", "GroupPolicyList")
        if len(rows) == before:
            rows.append(_no_policy_row("user", user["UserName"], user["Arn"]))
    for role in roles:
        before = len(rows)
        grant("role", role["RoleName"], role["Arn"], "direct", role, "AttachedManagedPolicies", "RolePolicyList")
        if len(rows) == before:
            rows.append(_no_policy_row("role", role["RoleName"], role["Arn"]))

    prov.add_operation("iam:GetAccountAuthorizationDetails", {"Filter": filters}, pages=len(pages),
                       records=len(users) + len(groups) + len(roles) + len(local_policies))
    prov.notes.append(f"{len(users)} users, {len(groups)} groups, {len(roles)} roles, "
                      f"{len(local_policies)} customer managed policies.")
    frame = pd.DataFrame(rows, columns=["principal_type", "principal", "principal_arn", "via", "policy_type",
                                        "policy_name", "policy_arn", "document"])
    frame.insert(0, "account_id", account.account_id)
    return Collected(frame, prov)


def collect_password_policy(account: AwsAccount, raw: RawStore) -> Collected:
    """The account password policy, one row per setting; an account without one has no rows."""
    iam = account.client("iam")
    prov = provenance(account, "aws:iam")
    try:
        policy = iam.get_account_password_policy()["PasswordPolicy"]
    except botocore.exceptions.ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "NoSuchEntity":
            with aws_errors("iam:GetAccountPasswordPolicy"):
                raise
        policy = {}
        prov.notes.append("NoSuchEntity: the account has no password policy (AWS defaults apply).")
    except botocore.exceptions.BotoCoreError:
        with aws_errors("iam:GetAccountPasswordPolicy"):
            raise
    prov.raw_files.append(raw.save(f"aws/{account.account_id}/iam/password-policy.json", policy))
    prov.add_operation("iam:GetAccountPasswordPolicy", records=len(policy))
    frame = pd.DataFrame({"setting": list(policy), "value": [json.dumps(v) for v in policy.values()]},
                         columns=["setting", "value"])
    frame.insert(0, "account_id", account.account_id)
    return Collected(frame, prov)


def mfa_changes(events: pd.DataFrame) -> pd.DataFrame:
    """Successful calls that change whether a user has an active MFA device: ``EnableMFADevice`` (it has one),
    ``DeactivateMFADevice`` (it had one; whether another is left is unknown until the next reading), and
    ``CreateUser`` (a new user has none). IAM's calls are delivered by the trail in us-east-1."""
    from auditbook.timeline import changes_from

    setting = {"EnableMFADevice": (True, None), "DeactivateMFADevice": (None, True), "CreateUser": (False, None)}
    return changes_from(events, "iam.amazonaws.com", list(setting),
                        lambda name, request: (str((request or {}).get("userName") or ""), *setting[name]))
