"""IAM Identity Center: who can reach which account with which permission set.

The credential report does not cover Identity Center users, so people who sign in through
SSO are listed here: users and groups from the identity store, and every account assignment
of every permission set, group assignments expanded to their members.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from botocore import xform_name

from auditbook.provenance import Collected, CollectionError, RawStore
from auditbook.sources.aws.base import all_pages, aws_errors, items, provenance
from auditbook.sources.aws.session import AwsAccount


def _all(client: Any, operation: str, key: str, **kwargs: Any) -> tuple[list[dict[str, Any]], int]:
    """Every ``key`` item of a paginated call, and the number of pages."""
    pages = all_pages(client, xform_name(operation), f"{client.meta.service_model.service_name}:{operation}", **kwargs)
    return items(pages, key), len(pages)


def collect_assignments(account: AwsAccount, raw: RawStore) -> Collected:
    """One row per (user, permission set, target account), plus users with no assignment."""
    prov = provenance(account, "aws:identity-center")
    sso = account.client("sso-admin")
    store = account.client("identitystore")
    instances, pages = _all(sso, "ListInstances", "Instances")
    prov.add_operation("sso-admin:ListInstances", pages=pages, records=len(instances))
    if not instances:
        prov.notes.append("No IAM Identity Center instance in this account (organization management account only).")
        return Collected(pd.DataFrame(), prov)
    rows: list[dict[str, Any]] = []
    evidence: dict[str, Any] = {"instances": instances}
    for instance in instances:
        arn, store_id = instance["InstanceArn"], instance["IdentityStoreId"]
        users, p = _all(store, "ListUsers", "Users", IdentityStoreId=store_id)
        prov.add_operation("identitystore:ListUsers", {"IdentityStoreId": store_id}, pages=p, records=len(users))
        groups, p = _all(store, "ListGroups", "Groups", IdentityStoreId=store_id)
        prov.add_operation("identitystore:ListGroups", {"IdentityStoreId": store_id}, pages=p, records=len(groups))
        members: dict[str, list[str]] = {}
        for group in groups:
            ms, p = _all(store, "ListGroupMemberships", "GroupMemberships", IdentityStoreId=store_id,
                         GroupId=group["GroupId"])
            members[group["GroupId"]] = [m["MemberId"]["UserId"] for m in ms if "UserId" in m.get("MemberId", {})]
            prov.add_operation("identitystore:ListGroupMemberships", {"GroupId": group["GroupId"]}, pages=p,
                               records=len(ms))
        permission_sets, p = _all(sso, "ListPermissionSets", "PermissionSets", InstanceArn=arn)
        prov.add_operation("sso-admin:ListPermissionSets", {"InstanceArn": arn}, pages=p, records=len(permission_sets))
        assignments = []
        for ps_arn in permission_sets:
            with aws_errors("sso-admin:DescribePermissionSet"):
                ps = sso.describe_permission_set(InstanceArn=arn, PermissionSetArn=ps_arn)["PermissionSet"]
            accounts, p = _all(sso, "ListAccountsForProvisionedPermissionSet", "AccountIds", InstanceArn=arn,
                               PermissionSetArn=ps_arn)
            for target in accounts:
                found, p = _all(sso, "ListAccountAssignments", "AccountAssignments", InstanceArn=arn,
                                AccountId=target, PermissionSetArn=ps_arn)
                prov.add_operation("sso-admin:ListAccountAssignments",
                                   {"AccountId": target, "PermissionSet": ps["Name"]}, pages=p, records=len(found))
                assignments += [dict(a, PermissionSetName=ps["Name"]) for a in found]
        evidence[arn] = {"users": users, "groups": groups, "members": members, "assignments": assignments}
        by_id = {u["UserId"]: u for u in users}
        group_names = {g["GroupId"]: g["DisplayName"] for g in groups}
        assigned: set[str] = set()
        for a in assignments:
            if a["PrincipalType"] == "USER":
                targets = [(a["PrincipalId"], "direct")]
            else:
                targets = [(uid, f"group:{group_names.get(a['PrincipalId'], a['PrincipalId'])}")
                           for uid in members.get(a["PrincipalId"], [])]
            for uid, via in targets:
                user = by_id.get(uid)
                if user is None:
                    raise CollectionError(f"sso-admin:ListAccountAssignments: principal {uid} is not in identity "
                                          f"store {store_id}")
                assigned.add(uid)
                rows.append(_row(account, store_id, user, via, a["PermissionSetName"], a["PermissionSetArn"],
                                 a["AccountId"]))
        rows += [_row(account, store_id, u, "", "", "", "") for u in users if u["UserId"] not in assigned]
    prov.raw_files.append(raw.save(f"aws/{account.account_id}/identity-center/assignments.json", evidence))
    rows.sort(key=lambda r: (r["user_name"], r["permission_set"], r["target_account"]))
    return Collected(pd.DataFrame(rows), prov)


def _row(account: AwsAccount, store_id: str, user: dict[str, Any], via: str, ps_name: str, ps_arn: str,
         target: str) -> dict[str, Any]:
    emails = user.get("Emails") or [{}]
    primary = next((e for e in emails if e.get("Primary")), emails[0])
    return {"account_id": account.account_id, "identity_store_id": store_id, "user_id": user["UserId"],
            "user_name": user.get("UserName", ""), "email": (primary.get("Value") or "").lower(),
            "display_name": user.get("DisplayName", ""), "via": via, "permission_set": ps_name,
            "permission_set_arn": ps_arn, "target_account": target}
