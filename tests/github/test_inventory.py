"""Every repository of an org with its production signs (CC8.1-REPO-SCOPE's population), by GraphQL through
PyGithub against the emulator: the demo org, paging, a named production branch, ruleset conditions, and a
token that does not see every repository."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from auditbook.demo.github.company import DEMO_BOT, DEMO_TOKEN, ORG
from auditbook.demo.github.history import HistoryBuilder
from auditbook.demo.github.rest import Renderer
from auditbook.demo.github.server import GitHubEmulator
from auditbook.demo.github.state import BranchProtection, GitHubState, Org, Repo, Ruleset, User
from auditbook.provenance import CollectionError
from auditbook.sources.github.inventory import collect_repositories, ruleset_targets

AT = datetime(2026, 8, 3, 10, tzinfo=UTC)


def test_the_demo_org_lists_every_repository_with_its_production_signs(gh, raw):
    frame = collect_repositories(gh, ORG, raw, "production", {ORG: "default"}).frame.set_index("repo")
    assert sorted(frame.index) == ["card-vault", "docs-site", "incident-response", "infra-live", "ledger-service",
                                   "legacy-billing", "payments-api", "sandbox-tools", "web-app"]
    assert frame.at["card-vault", "branch_protection_rule"] == "main"
    assert frame.at["card-vault", "production_deployments"] == 2
    assert str(frame.at["card-vault", "last_production_deployment"]).startswith("2026-08-19T14:22")
    assert frame.at["sandbox-tools", "rulesets"] == "protect-default"
    assert frame.at["sandbox-tools", "production_deployments"] == 0  # its deployment went to staging
    assert frame.at["infra-live", "rulesets"] == "protect-main"  # the disabled release ruleset is not listed
    assert bool(frame.at["legacy-billing", "archived"])
    assert frame.at["incident-response", "production_branch"] == ""  # no commit yet: no default branch


def _many(count: int) -> GitHubState:
    state = GitHubState(Org("many", 7100, "Many"))
    state.users[DEMO_BOT] = User(DEMO_BOT, 9002, "bot", type="Bot")
    state.users["alice"] = User("alice", 1, "Alice", "alice@example.com")
    state.tokens[DEMO_TOKEN] = DEMO_BOT
    b = HistoryBuilder(state, 3)
    for n in range(count):
        repo = Repo(f"svc-{n:03d}", b.next_id(), created_at=AT)
        state.repos[repo.name] = repo
        b.push(repo, "main", "init", "alice", AT)
        b.push(repo, "release", "cut", "alice", AT)
    return state


def test_pages_of_fifty_and_a_named_production_branch(client_for, raw):
    state = _many(120)
    state.repos["svc-007"].protection["release"] = BranchProtection()
    state.repos["svc-008"].protection["main"] = BranchProtection()  # not the production branch
    state.repos["svc-009"].rulesets.append(Ruleset(1, "releases", include=["refs/heads/rel*"]))
    state.repos["svc-010"].rulesets.append(Ruleset(2, "all-but-release", include=["~ALL"],
                                                   exclude=["refs/heads/release"]))
    with GitHubEmulator(state) as emu:
        collected = collect_repositories(client_for(emu), "many", raw, "production", {"many": "release"})
    frame = collected.frame.set_index("repo")
    pages = {op.operation: op.pages for op in collected.provenance.operations}
    assert len(frame) == 120 and pages["POST /graphql OrganizationRepositories"] == 3
    assert frame.at["svc-007", "branch_protection_rule"] == "release"
    assert frame.at["svc-008", "branch_protection_rule"] == ""
    assert frame.at["svc-009", "rulesets"] == "releases"
    assert frame.at["svc-010", "rulesets"] == ""
    assert set(frame["production_branch"]) == {"release"}


@pytest.mark.parametrize(("ruleset", "branch", "is_default", "applies"), [
    ({"enforcement": "ACTIVE", "conditions": {"refName": {"include": ["~DEFAULT_BRANCH"], "exclude": []}}},
     "main", True, True),
    ({"enforcement": "ACTIVE", "conditions": {"refName": {"include": ["~DEFAULT_BRANCH"], "exclude": []}}},
     "release", False, False),
    ({"enforcement": "EVALUATE", "conditions": {"refName": {"include": ["~ALL"], "exclude": []}}},
     "main", True, False),  # evaluate mode enforces nothing
    ({"enforcement": "ACTIVE", "conditions": {"refName": {"include": ["refs/heads/main"], "exclude": []}}},
     "main", True, True),
    ({"enforcement": "ACTIVE", "conditions": {"refName": None}}, "main", True, False),
    ({"enforcement": "ACTIVE", "conditions": {}}, "main", True, False),
])
def test_which_rulesets_apply_to_a_branch(ruleset, branch, is_default, applies):
    assert ruleset_targets(ruleset, branch, is_default) is applies


def test_a_token_that_sees_fewer_repositories_than_the_org_counts_is_a_collection_error(client_for, raw,
                                                                                          monkeypatch):
    real = Renderer.org

    def more_private(self, org):  # one repository the token cannot see
        body = real(self, org)
        return {**body, "total_private_repos": body["total_private_repos"] + 1}
    monkeypatch.setattr(Renderer, "org", more_private)
    with GitHubEmulator(_many(3)) as emu, pytest.raises(CollectionError, match="token listed 3"):
        collect_repositories(client_for(emu), "many", raw, "production", {})


def test_an_unknown_org_is_a_collection_error(gh, raw):
    with pytest.raises(CollectionError, match="OrganizationRepositories"):
        collect_repositories(gh, "no-such-org", raw, "production", {})
