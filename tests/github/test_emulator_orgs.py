"""One emulator, several orgs: demo-fintech and demo-fintech-labs collected side by side, as on github.com.

The collectors reach both orgs through the same ``GITHUB_API_URL``/``GITHUB_TOKEN``; each org's
populations carry only its own rows, an unknown org is GitHub's 404, and the labs org holds
exactly its one seeded CC8.1 deviation.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from pathlib import Path

import jsonschema
import pytest
import requests
import yaml
from auditbook.demo.github import labs
from auditbook.demo.github.company import DEMO_TOKEN, PERIOD_END, PERIOD_START
from auditbook.demo.github.company import ORG as FINTECH
from auditbook.demo.github.company import PRODUCTION_BRANCHES as FINTECH_BRANCHES
from auditbook.demo.github.server import GitHubEmulator, server_error
from auditbook.demo.github.state import GitHubState, Membership, Org
from auditbook.provenance import CollectionError, RawStore
from auditbook.sources.github import (
    collect_branch_commits,
    collect_branch_protection,
    collect_deployments,
    collect_merged_pulls,
    collect_org_members,
    collect_org_settings,
    production_branches,
)
from github import Github

LABS = labs.ORG
AUTH = {"Authorization": f"token {DEMO_TOKEN}"}


@pytest.fixture(scope="module")
def labs_state() -> GitHubState:
    return labs.build_labs_github()


@pytest.fixture(scope="module")
def both(demo_state: GitHubState, labs_state: GitHubState) -> Iterator[GitHubEmulator]:
    with GitHubEmulator(demo_state, labs_state) as emu:
        yield emu


@pytest.fixture
def gh2(both: GitHubEmulator, client_for: Callable[[GitHubEmulator], Github]) -> Github:
    return client_for(both)


@pytest.fixture
def store(tmp_path: Path) -> Callable[[], RawStore]:
    """A fresh raw store per collection, so no test depends on how collectors name their raw files."""
    counter = itertools.count()
    return lambda: RawStore(tmp_path / f"raw-{next(counter)}")


def get(emulator: GitHubEmulator, path: str) -> requests.Response:
    return requests.get(emulator.url + path, headers=AUTH, timeout=10)


# -- the labs truth -------------------------------------------------------------------------
def test_labs_truth_file_is_up_to_date():
    assert labs.TRUTH_PATH.read_text() == labs.render_truth(), \
        "run: python -m auditbook.demo.github.labs --write-truth"
    assert yaml.safe_load(labs.TRUTH_PATH.read_text()) == labs.labs_truth()
    assert [row["test"] for row in labs.labs_truth()] == ["CC8.1-APPROVED"]


def test_labs_same_seed_same_world():
    assert labs.build_labs_github(7) == labs.build_labs_github(7)
    assert labs.build_labs_github(7) != labs.build_labs_github(8)


def test_labs_ids_do_not_collide_with_demo_fintech(demo_state, labs_state):
    def ids(state: GitHubState) -> set[int]:
        out = set()
        for repo in state.repos.values():
            out |= {repo.id} | {pr.id for pr in repo.pulls.values()}
            out |= {r.id for pr in repo.pulls.values() for r in pr.reviews}
            out |= {d.id for d in repo.deployments} | {s.id for d in repo.deployments for s in d.statuses}
        return out

    assert not ids(demo_state) & ids(labs_state)
    shared = set(demo_state.users) & set(labs_state.users)
    assert all(demo_state.users[login] == labs_state.users[login] for login in shared)


# -- populations per org ----------------------------------------------------------------------
def test_org_members_and_settings_per_org(gh2, store, demo_state, labs_state):
    fintech = collect_org_members(gh2, FINTECH, store()).frame
    lab = collect_org_members(gh2, LABS, store()).frame
    assert set(fintech.org) == {FINTECH} and set(lab.org) == {LABS}
    assert len(fintech) == len(demo_state.org.members) + len(demo_state.org.outside_collaborators)
    assert dict(zip(lab.login, lab.role, strict=True)) == {m.login: m.role for m in labs_state.org.members}
    assert list(lab[lab.role == "admin"].login) == [labs.ADMIN]
    assert not lab.two_factor_disabled.any() and not lab.is_outside_collaborator.any()
    assert set(lab.login) <= {m.login for m in demo_state.org.members}  # people demo-fintech already has
    assert list(fintech[fintech.two_factor_disabled].login) == ["kofi-mensah"]
    assert collect_org_settings(gh2, LABS, store()).frame.to_dict("records") == [
        {"org": LABS, "two_factor_requirement_enabled": True}]
    assert collect_org_settings(gh2, FINTECH, store()).frame.to_dict("records") == [
        {"org": FINTECH, "two_factor_requirement_enabled": False}]


def test_production_branches_and_protection_per_org(gh2, store):
    assert production_branches(gh2, LABS, [labs.REPO], "default") == {labs.REPO: "main"}
    assert production_branches(gh2, FINTECH, ["payments-api"], "default") == {"payments-api": "main"}
    lab = collect_branch_protection(gh2, LABS, labs.PRODUCTION_BRANCHES, store()).frame
    assert len(lab) == 1
    row = lab.iloc[0]
    assert (row.org, row.repo, row.branch, row.source) == (LABS, labs.REPO, "main", "classic")
    assert row.required_approvals == 1 and row.dismiss_stale_reviews and row.enforce_admins
    assert set(row.required_status_checks.split(";")) == {"codeql", "dependency-review", "trivy-image-scan"}
    fintech = collect_branch_protection(gh2, FINTECH, FINTECH_BRANCHES, store()).frame
    assert set(fintech.org) == {FINTECH} and labs.REPO not in set(fintech.repo)


def test_labs_merged_pulls_hold_exactly_the_seeded_unapproved_pr(gh2, store, labs_state):
    pulls, reviews = collect_merged_pulls(gh2, LABS, labs.PRODUCTION_BRANCHES, store(), PERIOD_START, PERIOD_END)
    frame, review_frame = pulls.frame, reviews.frame
    assert set(frame.org) == {LABS} and set(review_frame.org) == {LABS}
    assert set(frame.number) == set(labs_state.repos[labs.REPO].pulls)
    assert 8 <= len(frame) <= 12
    joined = review_frame.merge(frame[["number", "author", "merged_at", "head_sha"]], on="number")
    ok = joined[(joined.state == "APPROVED") & (joined.reviewer != joined.author)
                & (joined.submitted_at <= joined.merged_at) & (joined.commit_sha == joined.head_sha)]
    unapproved = set(frame.number) - set(ok.number)
    seeded = {f"{LABS}/{labs.REPO}#{n}" for n in unapproved}
    assert seeded == {row["resource"] for row in labs.labs_truth()}
    (number,) = unapproved
    assert list(review_frame[review_frame.number == number].state) == ["COMMENTED"]


def test_labs_main_has_no_direct_push_and_deploys_only_approved_changes(gh2, store):
    pulls, _ = collect_merged_pulls(gh2, LABS, labs.PRODUCTION_BRANCHES, store(), PERIOD_START, PERIOD_END)
    frame = pulls.frame
    commits = collect_branch_commits(gh2, LABS, labs.PRODUCTION_BRANCHES, store(), PERIOD_START, PERIOD_END,
                                     frame).frame
    assert len(commits) == len(frame) and commits.in_pr.all() and set(commits.org) == {LABS}
    deployments = collect_deployments(gh2, LABS, labs.PRODUCTION_BRANCHES, store(), "production", PERIOD_START,
                                      PERIOD_END).frame
    seeded = {int(row["resource"].rsplit("#", 1)[1]) for row in labs.labs_truth()}
    approved = set(frame[~frame.number.isin(seeded)].merge_commit_sha)
    assert len(deployments) and set(deployments.sha) <= approved and set(deployments.final_state) == {"success"}


def test_fintech_populations_unchanged_by_a_second_org(gh2, gh, store):
    """The same collection answers the same rows whether demo-fintech is served alone or beside labs."""
    alone = collect_merged_pulls(gh, FINTECH, FINTECH_BRANCHES, store(), PERIOD_START, PERIOD_END)[0].frame
    beside = collect_merged_pulls(gh2, FINTECH, FINTECH_BRANCHES, store(), PERIOD_START, PERIOD_END)[0].frame
    assert set(beside.org) == {FINTECH}
    assert alone.equals(beside)


# -- unknown orgs and cross-org paths -------------------------------------------------------
@pytest.mark.parametrize("collect", [
    lambda gh, raw: collect_org_members(gh, "no-such-org", raw),
    lambda gh, raw: collect_org_settings(gh, "no-such-org", raw),
    lambda gh, raw: production_branches(gh, "no-such-org", [labs.REPO], "default"),
    lambda gh, raw: collect_branch_protection(gh, "no-such-org", labs.PRODUCTION_BRANCHES, raw),
    lambda gh, raw: collect_merged_pulls(gh, "no-such-org", labs.PRODUCTION_BRANCHES, raw, PERIOD_START, PERIOD_END),
    lambda gh, raw: production_branches(gh, LABS, ["payments-api"], "default"),  # a repo of the other org
], ids=["members", "settings", "branches", "protection", "merged-pulls", "cross-org-repo"])
def test_unknown_org_or_repo_is_a_collection_error(gh2, raw, collect):
    with pytest.raises(CollectionError):
        collect(gh2, raw)


def test_unknown_org_answers_the_same_404(both):
    for path in ("/orgs/no-such-org", "/orgs/no-such-org/members", f"/repos/no-such-org/{labs.REPO}",
                 f"/repos/{LABS}/payments-api", f"/repos/{FINTECH}/{labs.REPO}/branches/main/protection"):
        response = get(both, path)
        assert response.status_code == 404, path
        assert response.json() == {"message": "Not Found", "documentation_url": "https://docs.github.com/rest",
                                   "status": "404"}


def test_org_logins_match_case_insensitively_and_render_canonically(both):
    org = get(both, "/orgs/Demo-Fintech-LABS").json()
    assert org["login"] == LABS and org["total_private_repos"] == 1
    repo = get(both, f"/repos/DEMO-FINTECH-LABS/{labs.REPO}").json()
    assert repo["full_name"] == f"{LABS}/{labs.REPO}" and repo["owner"]["login"] == LABS


def test_graphql_repository_resolves_across_orgs(both):
    def repository(owner: str, name: str) -> dict:
        query = ('query($o: String!, $n: String!) { repository(owner: $o, name: $n) { nameWithOwner '
                 'pullRequests(first: 1) { totalCount nodes { author { login } } } } }')
        response = requests.post(both.url + "/graphql", json={"query": query, "variables": {"o": owner, "n": name}},
                                 headers=AUTH, timeout=10)
        return response.json()

    lab = repository("demo-fintech-labs", labs.REPO)["data"]["repository"]
    assert lab["nameWithOwner"] == f"{LABS}/{labs.REPO}" and lab["pullRequests"]["totalCount"] >= 8
    assert repository(FINTECH, "payments-api")["data"]["repository"]["nameWithOwner"] == f"{FINTECH}/payments-api"
    assert repository("Demo-Fintech-Labs", labs.REPO)["data"]["repository"]["nameWithOwner"] == f"{LABS}/{labs.REPO}"
    for owner, name in ((LABS, "payments-api"), ("no-such-org", labs.REPO)):
        missing = repository(owner, name)
        assert missing["data"] == {"repository": None} and missing["errors"][0]["type"] == "NOT_FOUND"


# -- shared across orgs: caller, users, rate limit, request log, faults ------------------------
def test_rate_limit_request_log_and_faults_are_shared(both):
    both.clear()
    first = get(both, f"/orgs/{FINTECH}")
    second = get(both, f"/orgs/{LABS}")
    assert int(second.headers["x-ratelimit-used"]) == int(first.headers["x-ratelimit-used"]) + 1
    assert [r.path for r in both.requests] == [f"/orgs/{FINTECH}", f"/orgs/{LABS}"]
    both.inject_fault(lambda info: info.path.startswith(f"/orgs/{LABS}"), server_error(), times=1)
    assert get(both, f"/orgs/{FINTECH}").status_code == 200
    assert get(both, f"/orgs/{LABS}").status_code == 502
    assert get(both, f"/orgs/{LABS}").status_code == 200
    assert get(both, "/user").json()["login"] == "auditbook-demo-bot"


def test_users_and_token_resolve_from_any_org(demo_state):
    """An org whose state knows no users and no tokens still renders members and answers the demo token."""
    bare = GitHubState(Org("bare-org", 4300, "Bare"))
    bare.org.members = [Membership("alice-ng", "admin"), Membership("kofi-mensah", "member")]
    with GitHubEmulator(bare, demo_state) as emu:
        assert get(emu, "/user").json()["login"] == "auditbook-demo-bot"
        members = get(emu, "/orgs/bare-org/members").json()
        assert [(m["login"], m["id"]) for m in members] == [
            (login, demo_state.users[login].id) for login in ("alice-ng", "kofi-mensah")]
        no_2fa = get(emu, "/orgs/bare-org/members?filter=2fa_disabled").json()
        assert [m["login"] for m in no_2fa] == ["kofi-mensah"]


def test_one_org_given_twice_is_refused(demo_state):
    with pytest.raises(ValueError, match="given twice"):
        GitHubEmulator(demo_state, demo_state)


# -- the labs org answers in GitHub's published shapes -------------------------------------------
def test_labs_rest_responses_match_openapi(both, openapi_responses, labs_state):
    repo = labs_state.repos[labs.REPO]
    number = max(repo.pulls)
    base = f"/repos/{LABS}/{labs.REPO}"
    for operation, path in [
        ("GET /orgs/{org}", f"/orgs/{LABS}"),
        ("GET /orgs/{org}/repos", f"/orgs/{LABS}/repos"),
        ("GET /orgs/{org}/members", f"/orgs/{LABS}/members"),
        ("GET /orgs/{org}/outside_collaborators", f"/orgs/{LABS}/outside_collaborators"),
        ("GET /orgs/{org}/memberships/{username}", f"/orgs/{LABS}/memberships/{labs.ADMIN}"),
        ("GET /repos/{owner}/{repo}", base),
        ("GET /repos/{owner}/{repo}/branches/{branch}/protection", f"{base}/branches/main/protection"),
        ("GET /repos/{owner}/{repo}/commits", f"{base}/commits?sha=main"),
        ("GET /repos/{owner}/{repo}/pulls/{pull_number}", f"{base}/pulls/{number}"),
        ("GET /repos/{owner}/{repo}/pulls/{pull_number}/reviews", f"{base}/pulls/{number}/reviews"),
        ("GET /repos/{owner}/{repo}/deployments", f"{base}/deployments"),
    ]:
        response = get(both, path)
        assert response.status_code == 200, path
        jsonschema.validate(response.json(), openapi_responses[operation])
    for path in ("secret-scanning/alerts", "dependabot/alerts", "code-scanning/alerts", "issues?state=all"):
        assert get(both, f"{base}/{path}").json() == [], path
