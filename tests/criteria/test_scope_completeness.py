"""Scope completeness: every account of the AWS organization (CC6.1-ACCOUNT-SCOPE) and every repository that
reaches production (CC8.1-REPO-SCOPE) is in scope, excluded with a reason, or a deviation."""

from __future__ import annotations

import pandas as pd
import pytest
from auditbook.controls import cc61, cc81
from auditbook.results import Status

START = pd.Timestamp("2026-07-01", tz="UTC")
ORG = "o-example1234"


def _accounts(*rows: tuple[str, str, str], listed_by: str = "111111111111") -> pd.DataFrame:
    return pd.DataFrame([{"listed_by": listed_by, "organization_id": ORG, "account_id": a, "name": n, "state": s,
                          "joined_method": "CREATED", "joined_at": pd.Timestamp("2025-01-02", tz="UTC")}
                         for a, n, s in rows])


def _membership(*rows: tuple[str, str, bool], management: str = "111111111111") -> pd.DataFrame:
    return pd.DataFrame([{"account_id": a, "organization_id": org, "management_account_id": management if org else "",
                          "listed": listed, "listing": "4 accounts listed" if listed else
                          "ListAccounts denied: AccessDeniedException: not a delegated administrator"}
                         for a, org, listed in rows])


def test_each_active_account_is_in_scope_excluded_or_a_deviation():
    accounts = _accounts(("111111111111", "prod", "ACTIVE"), ("222222222222", "staging", "ACTIVE"),
                         ("333333333333", "data-eu", "ACTIVE"), ("444444444444", "old-sandbox", "SUSPENDED"),
                         ("555555555555", "closing", "PENDING_CLOSURE"))
    result = cc61.ACCOUNT_SCOPE.evaluate(accounts, _membership(("111111111111", ORG, True)),
                                         in_scope=["111111111111"], excluded={"222222222222": "staging, no data"})
    assert result.status is Status.FAIL
    assert result.deviations["resource_id"].tolist() == ["o-example1234:333333333333"]
    assert "active account data-eu of organization o-example1234, joined 2025-01-02" in \
        result.deviations["detail"][0]
    scope = dict(zip(result.tested["account_id"], result.tested["scope"], strict=True))
    assert scope == {"111111111111": "in scope", "222222222222": "excluded", "333333333333": "missing from scope",
                     "444444444444": "not active", "555555555555": "not active"}
    assert result.tested.set_index("account_id").at["222222222222", "why"] == "staging, no data"
    assert result.population_size == 5


def test_an_exclusion_wins_over_state_and_a_listing_by_two_accounts_counts_each_account_once():
    both = pd.concat([_accounts(("111111111111", "prod", "ACTIVE"), ("222222222222", "mgmt", "ACTIVE")),
                      _accounts(("111111111111", "prod", "ACTIVE"), ("222222222222", "mgmt", "ACTIVE"),
                                listed_by="222222222222")], ignore_index=True)
    membership = _membership(("111111111111", ORG, True), ("222222222222", ORG, True))
    result = cc61.ACCOUNT_SCOPE.evaluate(both, membership, in_scope=["111111111111", "222222222222"], excluded={})
    assert (result.status, result.population_size) == (Status.PASS, 2)
    assert [s.rows for s in result.steps] == [4, 2]


def test_an_organization_no_account_in_scope_may_list_is_an_error_naming_who_can():
    membership = _membership(("333333333333", ORG, False))
    result = cc61.ACCOUNT_SCOPE.evaluate(_accounts().iloc[0:0], membership, in_scope=["333333333333"], excluded={})
    assert result.status is Status.ERROR
    assert "AWS organization o-example1234 could not be listed" in result.cause
    assert "management account (111111111111)" in result.cause and "AccessDeniedException" in result.cause


def test_a_member_denied_is_fine_when_another_account_in_scope_listed_the_organization():
    membership = _membership(("111111111111", ORG, True), ("333333333333", ORG, False))
    accounts = _accounts(("111111111111", "mgmt", "ACTIVE"), ("333333333333", "member", "ACTIVE"))
    result = cc61.ACCOUNT_SCOPE.evaluate(accounts, membership, in_scope=["111111111111", "333333333333"],
                                         excluded={})
    assert result.status is Status.PASS


def test_a_standalone_account_is_its_own_boundary():
    result = cc61.ACCOUNT_SCOPE.evaluate(_accounts().iloc[0:0], _membership(("999999999999", "", False)),
                                         in_scope=["999999999999"], excluded={})
    assert result.status is Status.PASS
    assert any("999999999999 is not a member of an AWS organization" in n for n in result.notes)


def _repo(name: str, *, archived: bool = False, rule: str = "", rulesets: str = "", deployments: int = 0,
          last: str | None = None, org: str = "Acme") -> dict:
    return {"org": org, "repo": name, "archived": archived, "production_branch": "main",
            "branch_protection_rule": rule, "rulesets": rulesets, "production_deployments": deployments,
            "last_production_deployment": pd.Timestamp(last, tz="UTC") if last else pd.NaT}


def _scope(rows: list[dict], in_scope: dict | None = None, excluded: dict | None = None):
    return cc81.REPO_SCOPE.evaluate(pd.DataFrame(rows), in_scope=in_scope or {"Acme": ["api"]},
                                    excluded=excluded or {}, since=START)


def test_a_repository_that_deployed_to_production_in_the_period_and_is_not_listed_is_a_deviation():
    result = _scope([_repo("api", rule="main", deployments=40, last="2026-09-30T23:00"),
                     _repo("vault", deployments=2, last="2026-07-01T00:00")])
    assert result.status is Status.FAIL
    assert result.deviations.to_dict("records")[0]["resource_id"] == "Acme/vault"
    assert "deployed to production 2 times in all, last 2026-07-01 00:00" in result.deviations["detail"][0]
    assert "its changes were not tested" in result.deviations["detail"][0]


@pytest.mark.parametrize(("repo", "scope"), [
    (_repo("tools", rulesets="protect-default"), "missing from scope"),  # a protected production branch
    (_repo("tools", rule="main"), "missing from scope"),
    (_repo("old", deployments=5, last="2026-06-30T23:59"), "not production"),  # deployed before the period only
    (_repo("old", archived=True, rule="main", deployments=1, last="2025-11-03"), "not production"),
    (_repo("old", archived=True, deployments=1, last="2026-07-02"), "missing from scope"),  # archived in the period
    (_repo("docs"), "not production"),
    (_repo("API", org="acme"), "in scope"),  # GitHub names are case-insensitive
])
def test_what_makes_a_repository_a_production_one(repo, scope):
    result = _scope([repo])
    assert result.tested["scope"].tolist() == [scope]
    assert (result.status is Status.FAIL) == (scope == "missing from scope")


def test_an_excluded_repository_keeps_its_reason_and_its_signs():
    result = _scope([_repo("tools", rulesets="protect-default")],
                    excluded={"Acme": {"tools": "internal tooling, deploys to staging only"}})
    assert result.status is Status.PASS
    assert result.tested["why"][0] == ("internal tooling, deploys to staging only (production branch main "
                                       "protected (ruleset protect-default))")


def test_an_org_without_repositories_passes_saying_nothing_was_in_scope():
    result = _scope([], in_scope={"Acme": []})
    assert result.status is Status.PASS and result.population_size == 0
