"""The demo company's AWS organization: the demo account is its management account, with three members the
params do not list, for scope completeness (CC6.1-ACCOUNT-SCOPE) and its seeded deviation (:func:`truth`).

Created through the real Organizations API against the moto server, backdated with freezegun; moto draws
member account ids at random, so they are fixed here while the accounts are created.
"""

from __future__ import annotations

from dataclasses import dataclass
from unittest import mock

import boto3
from freezegun import freeze_time

REGION = "us-east-1"
ORGANIZATION_ID = "o-d3m0f1ntech"


@dataclass(frozen=True)
class Member:
    account_id: str
    name: str
    joined: str
    closed: bool = False
    deviation: str = ""  # why CC6.1-ACCOUNT-SCOPE reports it ('' = it must not)


MEMBERS = [
    Member("234567890123", "demo-staging", "2024-03-04T10:00:00"),  # excluded in the demo params, with a reason
    Member("345678901234", "demo-payments-eu", "2026-08-10T09:30:00",
           deviation="active account of the organization created in the period, not in scope and not excluded"),
    Member("456789012345", "demo-sandbox-2024", "2024-06-03T10:00:00", closed=True),  # closed: not required
]


def seed(endpoint: str) -> None:
    client = boto3.client("organizations", endpoint_url=endpoint, region_name=REGION,
                          aws_access_key_id="demo", aws_secret_access_key="demo")
    with freeze_time("2024-01-15T09:00:00"), mock.patch("moto.organizations.utils.make_random_org_id",
                                                        return_value=ORGANIZATION_ID):
        client.create_organization(FeatureSet="ALL")
    for member in MEMBERS:
        with freeze_time(member.joined), mock.patch("moto.organizations.utils.make_random_account_id",
                                                    return_value=member.account_id):
            client.create_account(AccountName=member.name, Email=f"aws+{member.name}@demo-fintech.example")
        if member.closed:
            client.close_account(AccountId=member.account_id)


def truth() -> list[dict[str, str]]:
    return [{"test": "CC6.1-ACCOUNT-SCOPE", "resource": f"{ORGANIZATION_ID}:{m.account_id}", "why": m.deviation}
            for m in MEMBERS if m.deviation]
