"""The collectors against the emulated demo company: complete populations, right fields."""

from __future__ import annotations

import pandas as pd
import pytest
from auditbook.catalog import population as held
from auditbook.demo.github.company import ORG, PERIOD_END, PERIOD_START, PRODUCTION_BRANCHES
from auditbook.sources.github import (
    collect_branch_commits,
    collect_branch_protection,
    collect_deployments,
    collect_merged_pulls,
    collect_org_members,
    collect_org_settings,
)

REPOS = list(PRODUCTION_BRANCHES)


def in_period(ts) -> bool:
    return ts is not None and PERIOD_START <= ts < PERIOD_END


@pytest.fixture
def pulls(gh, raw):
    pulls, reviews = collect_merged_pulls(gh, ORG, PRODUCTION_BRANCHES, raw, PERIOD_START, PERIOD_END)
    return held("github-merged-pulls", pulls), held("github-pull-reviews", reviews)


def test_merged_pulls_are_complete(pulls, demo_state, emulator):
    pull_pop, review_pop = pulls
    expected = {(repo, pr.number) for repo in REPOS for pr in demo_state.repos[repo].pulls.values()
                if in_period(pr.merged_at) and pr.base_ref == PRODUCTION_BRANCHES[repo]}
    assert set(zip(pull_pop.frame.repo, pull_pop.frame.number, strict=True)) == expected
    expected_reviews = sum(len(demo_state.repos[r].pulls[n].reviews) for r, n in expected)
    assert len(review_pop.frame) == expected_reviews
    graphql = [r for r in emulator.requests if r.path == "/graphql"]
    assert len(graphql) == len(REPOS)  # one page each, no per-PR follow-up
    assert {r.operation for r in graphql} == {"MergedPullRequests"}


def test_pull_fields_and_types(pulls, demo_state):
    frame = pulls[0].frame
    for column in ("created_at", "updated_at", "merged_at"):
        assert str(frame[column].dt.tz) == "UTC"
    row = frame[(frame.repo == "web-app")].iloc[0]
    pr = demo_state.repos["web-app"].pulls[int(row.number)]
    assert row.author == pr.author and row.merged_by == pr.merged_by
    assert row.head_sha == pr.head_sha and row.merge_commit_sha == pr.merge_commit_sha
    assert row.commit_shas.split(";") == pr.commits and row.review_count == len(pr.reviews)
    assert row.merged_at == pd.Timestamp(pr.merged_at)
    assert pulls[0].provenance.caller == "auditbook-demo-bot"
    assert pulls[0].provenance.raw_files and all(f["sha256"] for f in pulls[0].provenance.raw_files)


def test_seeded_pull_deviations_are_in_the_population(pulls):
    frame, reviews = pulls[0].frame, pulls[1].frame
    emergency = frame[frame.labels.str.contains("emergency")]
    assert len(emergency) == 2 and set(emergency.repo) == {"ledger-service"}
    self_merged = frame[(frame.author == frame.merged_by) & (frame.repo == "ledger-service")]
    late = reviews.merge(self_merged, on=["repo", "number"])
    assert ((late.state == "APPROVED") & (late.submitted_at > late.merged_at)).any()
    stale = frame[frame.title == "Session cookie flags"].iloc[0]
    stale_reviews = reviews[(reviews.repo == "web-app") & (reviews.number == stale.number)]
    assert list(stale_reviews.state) == ["APPROVED"] and stale_reviews.commit_sha.iloc[0] != stale.head_sha


def test_branch_protection(gh, raw):
    frame = collect_branch_protection(gh, ORG, PRODUCTION_BRANCHES, raw).frame.set_index("repo")
    assert frame.loc["payments-api", "source"] == "classic" and frame.loc["payments-api", "enforce_admins"]
    assert not frame.loc["ledger-service", "enforce_admins"]
    assert frame.loc["infra-live", "source"] == "ruleset" and frame.loc["infra-live", "required_approvals"] == 1
    assert frame.loc["infra-live", "dismiss_stale_reviews"] and frame.loc["infra-live", "enforce_admins"]
    assert frame.loc["web-app", "source"] == "none"


def test_branch_commits_find_only_the_direct_push(gh, raw, pulls, demo_state):
    frame = pulls[0].frame
    commits = collect_branch_commits(gh, ORG, PRODUCTION_BRANCHES, raw, PERIOD_START, PERIOD_END, frame)
    expected = sum(1 for repo in REPOS for sha in demo_state.repos[repo].branches["main"]
                   if in_period(demo_state.repos[repo].commits[sha].committed_at))
    assert len(commits.frame) == expected
    outside = commits.frame[~commits.frame.in_pr]
    assert list(outside.repo) == ["payments-api"] and list(outside.message) == ["Raise gateway timeout to 30s"]
    lookups = [op for op in commits.provenance.operations if op.operation.endswith("/pulls")]
    assert len(lookups) == 1  # only the commit not known from the PR population


def test_deployments(gh, raw, demo_state):
    population = collect_deployments(gh, ORG, dict.fromkeys(REPOS), raw, "production", PERIOD_START, PERIOD_END)
    expected = {d.id for repo in REPOS for d in demo_state.repos[repo].deployments
                if d.environment == "production" and in_period(d.created_at)}
    assert set(population.frame.deployment_id) == expected
    assert set(population.frame.final_state) == {"success"}
    hotfix = population.frame[population.frame.ref.str.startswith("hotfix/")]
    assert len(hotfix) == 1 and hotfix.final_state_creator.iloc[0] == "demo-deploy[bot]"


def test_org_members(gh, raw, demo_state):
    frame = collect_org_members(gh, ORG, raw).frame
    assert len(frame) == len(demo_state.org.members) + len(demo_state.org.outside_collaborators)
    assert set(frame[frame.role == "admin"].login) == {"alice-ng", "bruno-silva"}
    assert list(frame[frame.two_factor_disabled].login) == ["kofi-mensah"]
    assert list(frame[frame.is_outside_collaborator].login) == ["max-contractor"]
    assert not collect_org_settings(gh, ORG, raw).frame.two_factor_requirement_enabled.iloc[0]
