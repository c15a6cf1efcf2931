"""The truth file matches the generator, and the CC8.1 rules applied to collected data find exactly it.

The rules here are a minimal reference reading of the brief's rules, to prove the seeded
data; the real control functions live in ``auditbook.controls``.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pandas as pd
import yaml
from auditbook.catalog import population as held
from auditbook.demo.github.company import (
    ORG,
    PERIOD_END,
    PERIOD_START,
    PRODUCTION_BRANCHES,
    TRUTH_PATH,
    build_demo_github,
    demo_truth,
    render_truth,
)
from auditbook.demo.people import DATA
from auditbook.sources.github import (
    collect_branch_commits,
    collect_branch_protection,
    collect_deployments,
    collect_merged_pulls,
)

REPOS = list(PRODUCTION_BRANCHES)
ROSTER = DATA / "hr-roster.csv"  # an approval counts from someone on it, employed that day


def test_truth_file_is_up_to_date():
    assert TRUTH_PATH.read_text() == render_truth(), "run: python -m auditbook.demo.github.company --write-truth"
    assert yaml.safe_load(TRUTH_PATH.read_text()) == demo_truth()


def test_same_seed_same_world():
    assert build_demo_github(7) == build_demo_github(7)
    assert build_demo_github(7) != build_demo_github(8)


def reference_findings(pulls: pd.DataFrame, reviews: pd.DataFrame, protection: pd.DataFrame,
                       commits: pd.DataFrame, deployments: pd.DataFrame) -> set[tuple[str, str]]:
    found: set[tuple[str, str]] = set()
    joined = reviews.merge(pulls[["repo", "number", "author", "merged_at", "head_sha"]], on=["repo", "number"])
    roster = pd.read_csv(ROSTER, parse_dates=["start_date", "termination_date"]).set_index("github_login")
    employed = pd.Series([login in roster.index and roster.loc[login, "start_date"].date() <= at.date()
                and (pd.isna(roster.loc[login, "termination_date"]) or at.date() <= roster.loc[login,
                                                                                        "termination_date"].date())
                          for login, at in zip(joined.reviewer, joined.submitted_at, strict=True)], index=joined.index,
                         dtype=bool)
    approvals = joined[(joined.state == "APPROVED") & (joined.reviewer != joined.author) & employed]
    before = approvals[approvals.submitted_at <= approvals.merged_at]
    emergency_ok = approvals[approvals.submitted_at <= approvals.merged_at + timedelta(hours=48)]
    approved: set[tuple[str, int]] = set()
    for pr in pulls.itertuples():
        key, ref = (pr.repo, pr.number), f"{ORG}/{pr.repo}#{pr.number}"
        mine = before[(before.repo == pr.repo) & (before.number == pr.number)]
        if "emergency" in pr.labels.split(";"):
            ok = ((emergency_ok.repo == pr.repo) & (emergency_ok.number == pr.number)).any()
            found |= set() if ok else {("CC8.1-EMERGENCY", ref)}
        elif mine.empty:
            found.add(("CC8.1-APPROVED", ref))
            continue
        elif not (mine.commit_sha == pr.head_sha).any():
            found.add(("CC8.1-FINAL-COMMIT", ref))
        if ("CC8.1-EMERGENCY", ref) not in found:
            approved.add(key)
    by_branch = protection.groupby(["repo", "branch"])
    for (repo, branch), rows in by_branch:
        ok = rows[(rows.required_approvals >= 1) & rows.dismiss_stale_reviews & rows.enforce_admins]
        if ok.empty:
            found.add(("CC8.1-PROTECTION", f"{ORG}/{repo}:{branch}"))
    for commit in commits[~commits.in_pr].itertuples():
        found.add(("CC8.1-DIRECT-PUSH", f"{ORG}/{commit.repo}@{commit.sha}"))
    approved_shas = {sha for pr in pulls.itertuples() if (pr.repo, pr.number) in approved
                     for sha in [pr.merge_commit_sha, *pr.commit_shas.split(";")]}
    for d in deployments.itertuples():
        if d.sha not in approved_shas or d.final_state != "success" or not d.final_state_creator:
            found.add(("CC8.1-DEPLOY", f"{ORG}/{d.repo}/deployments/{d.deployment_id}"))
    return found


def test_rules_on_collected_evidence_find_exactly_the_truth(gh, raw):
    answer = collect_merged_pulls(gh, ORG, PRODUCTION_BRANCHES, raw, PERIOD_START, PERIOD_END)
    pulls, reviews = held("github-merged-pulls", answer[0]), held("github-pull-reviews", answer[1])
    found = reference_findings(
        pulls.frame, reviews.frame,
        held("github-branch-protection", collect_branch_protection(gh, ORG, PRODUCTION_BRANCHES, raw)).frame,
        held("github-branch-commits", collect_branch_commits(gh, ORG, PRODUCTION_BRANCHES, raw, PERIOD_START,
                                                             PERIOD_END, pulls.frame)).frame,
        held("github-deployments", collect_deployments(gh, ORG, PRODUCTION_BRANCHES, raw, "production",
                                                       PERIOD_START, PERIOD_END)).frame,
    )
    found |= repositories_left_out(gh, raw)
    assert found == {(row["test"], row["resource"]) for row in demo_truth()}


def repositories_left_out(gh, raw) -> set[tuple[str, str]]:
    """The reference reading of scope completeness: a repository with a production deployment since the period
    start, or a protected default branch while not archived, that the demo params neither list nor exclude."""
    from auditbook.demo.environment import DEMO_PARAMS
    from auditbook.sources.github.inventory import collect_repositories

    org = next(o for o in yaml.safe_load(Path(DEMO_PARAMS).read_text())["scope"]["github"]["orgs"]
               if o["name"] == ORG)
    listed = set(org["production_repos"]) | set(org.get("excluded_repos") or {})
    repos = collect_repositories(gh, ORG, raw, "production", {ORG: "default"}).frame
    left = set()
    for r in repos.itertuples():
        deployed = isinstance(r.last_production_deployment, str) and \
            pd.Timestamp(r.last_production_deployment) >= pd.Timestamp(PERIOD_START)
        protected = not r.archived and bool(r.branch_protection_rule or r.rulesets)
        if (deployed or protected) and r.repo not in listed:
            left.add(("CC8.1-REPO-SCOPE", f"{ORG}/{r.repo}"))
    return left
