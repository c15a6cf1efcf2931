"""Rate limits and server errors: waited out when the wait is short, CollectionError otherwise."""

from __future__ import annotations

import time

import pytest
from auditbook.demo.github.company import ORG, PERIOD_END, PERIOD_START, PRODUCTION_BRANCHES
from auditbook.demo.github.server import (
    FaultResponse,
    RequestInfo,
    primary_rate_limit,
    secondary_rate_limit,
    server_error,
)
from auditbook.provenance import CollectionError
from auditbook.sources.github import collect_deployments, collect_merged_pulls, connect

REPOS = ["payments-api"]
BRANCHES = {repo: PRODUCTION_BRANCHES[repo] for repo in REPOS}


def graphql(info: RequestInfo) -> bool:
    return info.path == "/graphql"


def deployments(info: RequestInfo) -> bool:
    return info.path.endswith("/deployments")


def collect_pulls(gh, raw):
    return collect_merged_pulls(gh, ORG, BRANCHES, raw, PERIOD_START, PERIOD_END)


@pytest.mark.parametrize("status", [403, 429])
def test_secondary_limit_with_short_retry_after_is_waited_out(gh, raw, emulator, status):
    emulator.inject_fault(graphql, secondary_rate_limit(retry_after=1, status=status))
    started = time.monotonic()
    pulls, _ = collect_pulls(gh, raw)
    assert time.monotonic() - started >= 1
    assert len(pulls.frame) > 0
    assert [r.status for r in emulator.requests if r.path == "/graphql"] == [status, 200]


def test_retry_after_beyond_the_cap_is_an_error(gh, raw, emulator):
    emulator.inject_fault(graphql, secondary_rate_limit(retry_after=3600))
    started = time.monotonic()
    with pytest.raises(CollectionError, match="rate limit"):
        collect_pulls(gh, raw)
    assert time.monotonic() - started < 2


def test_primary_limit_resetting_beyond_the_cap_is_an_error(gh, raw, emulator):
    emulator.inject_fault(deployments, primary_rate_limit(reset_in=3600))
    with pytest.raises(CollectionError, match="rate limit"):
        collect_deployments(gh, ORG, BRANCHES, raw, "production", PERIOD_START, PERIOD_END)


def test_repeated_secondary_limit_is_an_error(emulator, raw, monkeypatch):
    emulator.clear()
    gh = connect("demo-token", emulator.url, retries=2, backoff_factor=0.01, max_wait=5)
    emulator.inject_fault(graphql, secondary_rate_limit(retry_after=0), times=None)
    with pytest.raises(CollectionError):
        collect_pulls(gh, raw)
    assert len([r for r in emulator.requests if r.path == "/graphql"]) == 3  # first try + 2 retries


def test_repeated_502_is_an_error(gh, raw, emulator):
    emulator.inject_fault(deployments, server_error(502), times=None)
    with pytest.raises(CollectionError, match="deployments"):
        collect_deployments(gh, ORG, BRANCHES, raw, "production", PERIOD_START, PERIOD_END)
    assert [r.status for r in emulator.requests if deployments(r)] == [502] * 6


def test_one_502_is_retried(gh, raw, emulator):
    emulator.inject_fault(deployments, server_error(502))
    population = collect_deployments(gh, ORG, BRANCHES, raw, "production", PERIOD_START, PERIOD_END)
    assert len(population.frame) > 0


def page(nodes: list, has_next: bool, total: int, cursor: str | None = "Y3Vyc29yOnYyOjk5") -> FaultResponse:
    return FaultResponse(200, {"data": {"rateLimit": None, "repository": {"pullRequests": {
        "totalCount": total, "pageInfo": {"hasNextPage": has_next, "endCursor": cursor}, "nodes": nodes}}}})


@pytest.mark.parametrize("bad_page", [
    page([], has_next=True, total=250),  # a short page that claims more
    page([], has_next=True, total=0, cursor=None),  # no cursor to continue from
    page([], has_next=False, total=3),  # fewer PRs than the total
    page(None, has_next=False, total=0),  # nodes missing
    FaultResponse(200, {"data": None, "errors": [{"type": "RATE_LIMITED", "message": "API rate limit exceeded"}]}),
    FaultResponse(200, {"data": {"repository": None}}),
], ids=["short-page", "no-cursor", "count-mismatch", "no-nodes", "graphql-error", "no-repository"])
def test_truncated_or_malformed_graphql_page_is_an_error(gh, raw, emulator, bad_page):
    emulator.inject_fault(graphql, bad_page)
    with pytest.raises(CollectionError):
        collect_pulls(gh, raw)


def test_bad_token_is_an_error(emulator, raw):
    gh = connect("not-a-token", emulator.url, retries=0)
    with pytest.raises(CollectionError, match="401"):
        collect_pulls(gh, raw)
