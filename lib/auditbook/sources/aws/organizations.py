"""AWS Organizations: which organization each account in scope belongs to, and every account of that
organization (``ListAccounts``), for scope completeness (CC6.1-ACCOUNT-SCOPE).

Any member may describe its organization; only the management account or a delegated administrator may list
its accounts. A denied listing is recorded, not guessed around: the control decides what it means.
"""

from __future__ import annotations

from typing import Any

import botocore.exceptions
import pandas as pd

from auditbook.provenance import Collected, RawStore
from auditbook.sources.aws.base import absent, aws_errors, provenance, required
from auditbook.sources.aws.session import AwsAccount

MEMBERSHIP_COLUMNS = ("account_id", "organization_id", "management_account_id", "listed", "listing")
ACCOUNT_COLUMNS = ("listed_by", "organization_id", "account_id", "name", "state", "joined_method", "joined_at")


def _state(account: dict[str, Any]) -> str:
    """``State`` (ACTIVE, SUSPENDED, PENDING_CLOSURE, CLOSED...) replaced the deprecated ``Status``; older
    answers carry only ``Status``."""
    return str(account.get("State") or account.get("Status") or "")


def collect_organization(account: AwsAccount, raw: RawStore, regions: list[str]) -> tuple[Collected, Collected]:
    """This account's organization (none: a standalone account), and every account of it when this account
    may list them."""
    membership_prov, accounts_prov = provenance(account, "aws:organizations"), provenance(account, "aws:organizations")
    client = account.client("organizations", regions[0])
    folder = f"aws/{account.account_id}/organizations"
    described = absent("organizations:DescribeOrganization", client.describe_organization,
                       {"AWSOrganizationsNotInUseException"})
    membership_prov.add_operation("organizations:DescribeOrganization", records=0 if described is None else 1)
    membership_prov.raw_files.append(raw.save(f"{folder}/organization.json", described or {}))
    listed: list[dict[str, Any]] = []
    if described is None:
        row = {"organization_id": "", "management_account_id": "", "listed": False,
               "listing": "a standalone account, not a member of an AWS organization"}
    else:
        organization = described.get("Organization") or {}
        required(organization, ("Id", "MasterAccountId"), "organizations:DescribeOrganization")
        pages, denied = _list_accounts(client)
        accounts_prov.add_operation("organizations:ListAccounts", pages=len(pages),
                                    records=sum(len(p.get("Accounts", [])) for p in pages))
        accounts_prov.raw_files.append(raw.save(f"{folder}/accounts.json", pages))
        for page in pages:
            for item in page.get("Accounts", []):
                required(item, ("Id",), "organizations:ListAccounts", "an account")
                listed.append({"listed_by": account.account_id, "organization_id": organization["Id"],
                               "account_id": item["Id"], "name": item.get("Name", ""), "state": _state(item),
                               "joined_method": item.get("JoinedMethod", ""), "joined_at": item.get("JoinedTimestamp")})
        row = {"organization_id": organization["Id"], "management_account_id": organization["MasterAccountId"],
               "listed": denied is None,
               "listing": f"{len(listed)} accounts listed" if denied is None else f"ListAccounts denied: {denied}"}
    membership = pd.DataFrame([{"account_id": account.account_id, **row}], columns=list(MEMBERSHIP_COLUMNS))
    return (Collected(pd.DataFrame(listed, columns=list(ACCOUNT_COLUMNS)), accounts_prov),
            Collected(membership, membership_prov))


def _list_accounts(client: Any) -> tuple[list[dict[str, Any]], str | None]:
    """Every page of ListAccounts, or none and why when this account may not list them (a member account that
    is not a delegated administrator); any other failure is a collection error."""
    pages = []
    with aws_errors("organizations:ListAccounts"):
        try:
            for page in client.get_paginator("list_accounts").paginate():
                page.pop("ResponseMetadata", None)
                pages.append(page)
        except botocore.exceptions.ClientError as exc:
            error = exc.response.get("Error", {})
            if error.get("Code") != "AccessDeniedException":
                raise
            return [], f"{error.get('Code')}: {error.get('Message', '')}".strip()
    return pages, None
