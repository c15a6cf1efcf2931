"""Drill-down helpers: a person's or a repository's history across a package's populations."""

from __future__ import annotations

import pytest
from auditbook import explore


def test_person_matches_whole_tokens_only(package):
    pkg = explore.open_package(package)
    trail = explore.person(pkg, "dan.dev")
    assert list(trail.frames) == ["iam-credential-report"] and len(trail.frames["iam-credential-report"]) == 1
    assert list(trail.deviations["resource_id"]) == ["111111111111:dan.dev"]
    assert explore.person(pkg, "dan").frames == {}  # not a prefix match
    assert trail.rows.iloc[0]["matched_in"] == "user"


def test_where_filters_a_population(package):
    pkg = explore.open_package(package)
    assert list(explore.where(pkg, "iam-credential-report", mfa_active="false")["user"]) == ["dan.dev"]
    with pytest.raises(KeyError, match="no column colour"):
        explore.where(pkg, "iam-credential-report", colour="red")


def test_newest_package_is_found(package):
    assert explore.open_package(outputs=package.parents[1]).path == package
    with pytest.raises(FileNotFoundError):
        explore.open_package(outputs=package / "nothing")


def test_demo_person_and_repo_across_criteria(demo_run):
    pkg = explore.open_package(demo_run.run_dir)
    dan = explore.person(pkg, "dan.dev")
    assert "iam-entitlements" in dan.frames and "cloudtrail-events" in dan.frames
    assert {"CC6.1-ADMIN", "CC8.1-MANUAL-CHANGE"} <= set(dan.deviations["test_id"])
    repo = explore.repo(pkg, "demo-fintech/web-app")
    assert "github-merged-pulls" in repo.frames
    assert {"CC8.1-APPROVED", "CC8.1-PROTECTION"} <= set(repo.deviations["test_id"])
    assert "Deviations" in repo._repr_html_()
    assert set(repo.frames["github-merged-pulls"]["org"]) == {"demo-fintech"}
    labs = explore.repo(pkg, "demo-fintech-labs/risk-models")
    assert set(labs.frames["github-merged-pulls"]["org"]) == {"demo-fintech-labs"}
    assert list(labs.deviations["resource_id"]) == ["demo-fintech-labs/risk-models#6"]
    assert explore.repo(pkg, "demo-fintech/risk-models").frames == {}  # that org has no such repository
