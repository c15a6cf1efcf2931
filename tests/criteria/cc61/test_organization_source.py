"""AWS Organizations as CC6.1-ACCOUNT-SCOPE reads it: the demo organization through moto, and the answers a
real account gives that the demo does not (a standalone account, a member denied ListAccounts, an old
answer with only ``Status``, a throttled call, an account without an id)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from auditbook.demo import aws_organization
from auditbook.demo.aws import DEMO_ACCOUNT_ID, DEMO_REGION
from auditbook.provenance import CollectionError
from auditbook.sources.aws.organizations import collect_organization
from botocore.stub import Stubber

ORGANIZATION = {"Id": "o-abcdef1234", "Arn": "arn:aws:organizations::111111111111:organization/o-abcdef1234",
                "MasterAccountId": "111111111111", "MasterAccountArn": "arn:aws:organizations::111111111111:account/"
                "o-abcdef1234/111111111111", "MasterAccountEmail": "aws@example.com", "FeatureSet": "ALL"}


def test_the_demo_management_account_lists_its_organization(account, raw):
    accounts, membership = collect_organization(account, raw, [DEMO_REGION])
    row = membership.frame.iloc[0]
    assert (row.account_id, row.organization_id, row.management_account_id, bool(row.listed)) == \
        (DEMO_ACCOUNT_ID, aws_organization.ORGANIZATION_ID, DEMO_ACCOUNT_ID, True)
    states = dict(zip(accounts.frame["account_id"], accounts.frame["state"], strict=True))
    assert states == {DEMO_ACCOUNT_ID: "ACTIVE", "234567890123": "ACTIVE", "345678901234": "ACTIVE",
                      "456789012345": "SUSPENDED"}
    assert set(accounts.frame["listed_by"]) == {DEMO_ACCOUNT_ID}


def _stubbed(account, monkeypatch):
    client = account.client("organizations", DEMO_REGION)
    stub = Stubber(client)
    real = account.client
    monkeypatch.setattr(account, "client", lambda service, region=None, **kw: client if service == "organizations"
                        else real(service, region, **kw))
    return stub


def test_a_standalone_account_has_no_organization(account, raw, monkeypatch):
    stub = _stubbed(account, monkeypatch)
    stub.add_client_error("describe_organization", "AWSOrganizationsNotInUseException",
                          "Your account is not a member of an organization.")
    with stub:
        accounts, membership = collect_organization(account, raw, [DEMO_REGION])
    assert accounts.frame.empty
    assert membership.frame.iloc[0]["organization_id"] == "" and "standalone" in membership.frame.iloc[0]["listing"]


def test_a_member_account_denied_listaccounts_records_why(account, raw, monkeypatch):
    stub = _stubbed(account, monkeypatch)
    stub.add_response("describe_organization", {"Organization": ORGANIZATION})
    stub.add_client_error("list_accounts", "AccessDeniedException",
                          "You don't have permissions to access this resource.")
    with stub:
        accounts, membership = collect_organization(account, raw, [DEMO_REGION])
    row = membership.frame.iloc[0]
    assert accounts.frame.empty and not row.listed and row.management_account_id == "111111111111"
    assert row.listing.startswith("ListAccounts denied: AccessDeniedException")


def test_an_answer_with_only_the_deprecated_status_still_gives_the_state(account, raw, monkeypatch):
    stub = _stubbed(account, monkeypatch)
    stub.add_response("describe_organization", {"Organization": ORGANIZATION})
    stub.add_response("list_accounts", {"Accounts": [
        {"Id": "111111111111", "Name": "mgmt", "Status": "ACTIVE", "JoinedMethod": "CREATED",
         "JoinedTimestamp": datetime(2024, 1, 2, tzinfo=UTC)},
        {"Id": "222222222222", "Name": "new", "State": "PENDING_CLOSURE"}]})  # no Status, no join facts
    with stub:
        accounts, _ = collect_organization(account, raw, [DEMO_REGION])
    assert accounts.frame["state"].tolist() == ["ACTIVE", "PENDING_CLOSURE"]


@pytest.mark.parametrize(("error", "match"), [
    ("TooManyRequestsException", "organizations:ListAccounts: TooManyRequestsException"),
    ("ServiceException", "organizations:ListAccounts: ServiceException"),
])
def test_any_other_failure_of_the_listing_is_a_collection_error(account, raw, monkeypatch, error, match):
    stub = _stubbed(account, monkeypatch)
    stub.add_response("describe_organization", {"Organization": ORGANIZATION})
    stub.add_client_error("list_accounts", error, "no")
    with stub, pytest.raises(CollectionError, match=match):
        collect_organization(account, raw, [DEMO_REGION])


def test_an_account_without_an_id_is_refused_not_left_out(account, raw, monkeypatch):
    stub = _stubbed(account, monkeypatch)
    stub.add_response("describe_organization", {"Organization": ORGANIZATION})
    stub.add_response("list_accounts", {"Accounts": [{"Name": "ghost", "State": "ACTIVE"}]})
    with stub, pytest.raises(CollectionError, match="lacks Id"):
        collect_organization(account, raw, [DEMO_REGION])
