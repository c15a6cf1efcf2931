"""The organization audit log (GitHub Enterprise Cloud): read completely from the period start, as GitHub serves
it (cursor pages, the ``created`` qualifier, 180 days kept), and the changes branch protection readings hold
between."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest
from auditbook import catalog, over_snapshots
from auditbook.context import Context
from auditbook.controls import cc81
from auditbook.demo.github.company import DEMO_BOT, DEMO_TOKEN, bots
from auditbook.demo.github.server import GitHubEmulator
from auditbook.demo.github.state import GitHubState, Org
from auditbook.over_snapshots import InMemorySnapshot as Snap
from auditbook.period import parse_period
from auditbook.provenance import CollectionError, RawStore
from auditbook.sources.github import repos
from auditbook.sources.github.org import collect_audit_log
from github import Github

NOW = datetime.now(UTC)


def entry(when: datetime, action: str, n: int, repo: str = "acme/api") -> dict:
    stamp = int(when.timestamp() * 1000)
    return {"@timestamp": stamp, "created_at": stamp, "action": action, "actor": "root-admin", "org": "acme",
            "repo": repo, "_document_id": f"doc-{n}", "name": "main"}


@pytest.fixture(scope="module")
def acme() -> Iterator[GitHubEmulator]:
    state = GitHubState(Org("acme", 1, "Acme", audit_log=True))
    state.audit_log = [entry(NOW - timedelta(days=200), "protected_branch.destroy", 0)]  # beyond 180 days
    state.audit_log += [entry(NOW - timedelta(days=150, minutes=i), "repo.access", i + 1) for i in range(230)]
    state.audit_log += [entry(NOW - timedelta(days=20), "protected_branch.update_required_approving_review_count",
                              999)]
    free = GitHubState(Org("freeco", 2, "Free Co"))  # no Enterprise Cloud: no audit log API
    for s in (state, free):
        s.tokens[DEMO_TOKEN] = DEMO_BOT
        s.users.update({u.login: u for u in bots()})
    with GitHubEmulator(state, free) as emu:
        yield emu


@pytest.fixture
def client(acme: GitHubEmulator, client_for: Callable[[GitHubEmulator], Github]) -> Github:
    return client_for(acme)


def test_the_whole_log_since_the_period_start_is_read_oldest_first_across_cursor_pages(client, acme, tmp_path):
    got = collect_audit_log(client, "acme", (NOW - timedelta(days=170)).replace(hour=0, minute=0), RawStore(tmp_path))
    frame = got.frame
    assert len(frame) == 231 and frame["at"].is_monotonic_increasing  # 230 + 1: the 200-day-old one is gone
    assert frame.iloc[-1]["action"] == "protected_branch.update_required_approving_review_count"
    assert json.loads(frame.iloc[-1]["details"]) == {"name": "main"}
    assert got.provenance.operations[0].pages == 3  # 100 a page


def test_an_org_whose_plan_has_no_audit_log_is_a_collection_error_not_an_empty_log(client, tmp_path):
    with pytest.raises(CollectionError, match="audit-log: GitHub answered 404"):
        collect_audit_log(client, "freeco", NOW - timedelta(days=30), RawStore(tmp_path))


CTX = Context({"criteria": {}, "scope": {"github": {"orgs": [{"name": "acme", "audit_log": True}]}}},
              parse_period("2026-Q3"), run_at=datetime(2026, 12, 3, tzinfo=UTC))
OPTIONS = {"min_approvals": 1, "require_stale_dismissal": False, "require_admin_enforcement": False}


def protection(approvals: int) -> pd.DataFrame:
    return catalog.from_rows("github-branch-protection", [{"org": "acme", "repo": "api", "branch": "main",
                                                            "source": "classic", "required_approvals": approvals}])


def log(*rows: tuple[str, str]) -> pd.DataFrame:
    return catalog.from_rows("github-audit-log", [{"org": "acme", "at": pd.Timestamp(at, tz="UTC"), "action": action,
                                                   "actor": "bruno", "repo": "acme/api", "document_id": f"d{i}"}
                                                  for i, (at, action) in enumerate(rows)])


def over(snaps: list[Snap], audit: pd.DataFrame | None, at_collection: int = 1):
    now = cc81.PROTECTION.evaluate(protection(at_collection), **OPTIONS)
    return over_snapshots.evaluate(cc81.PROTECTION, CTX, snaps, OPTIONS,
                                   lambda name: audit if name == "github-audit-log" else None, now)


def test_branch_protection_readings_hold_between_the_audit_logs_changes_and_the_collection_reaches_back():
    snaps = [Snap(datetime(2026, 8, 10, 6, tzinfo=UTC), {"github-branch-protection": protection(1)}),
             Snap(datetime(2026, 8, 25, 6, tzinfo=UTC), {"github-branch-protection": protection(0)})]
    audit = log(("2026-08-24 10:00", "protected_branch.destroy"), ("2026-08-31 10:00", "protected_branch.create"),
                ("2026-09-02 10:00", "repo.access"))
    result = over(snaps, audit)
    assert result.part.kind == "timeline" and result.gaps == []  # the log is read up to the collection
    assert result.part.how.endswith("GitHub's audit log records (GitHub audit log: branch protection and "
                                    "rulesets): 92 of 92 days shown in full")
    assert list(result.deviations["seen"]) == ["snapshots 2026-08-25"]
    later = over(snaps[:1], log(("2026-09-20 08:00", "repository_ruleset.update")), at_collection=0)
    assert later.gaps == [] and later.deviations.empty  # the collection's FAIL reaches back to the change only
    unexplained = over(snaps, log())  # the readings differ and the log shows no change: the stretch is unknown
    assert unexplained.gaps == ["github-branch-protection from 2026-08-10 06:00 to 2026-08-25 06:00 UTC: unknown: "
                                "snapshot 2026-08-10 06:00 and snapshot 2026-08-25 06:00 disagree, and no recorded "
                                "change between them explains it",
                                "github-branch-protection from 2026-08-25 06:00 to 2026-10-01 00:00 UTC: unknown: "
                                "snapshot 2026-08-25 06:00 and the reading at collection disagree, and no recorded "
                                "change between them explains it"]


def test_without_the_audit_log_or_before_its_180_days_branch_protection_stands_on_the_snapshots_days():
    snaps = [Snap(datetime(2026, 8, 10, 6, tzinfo=UTC), {"github-branch-protection": protection(1)})]
    assert over(snaps, None).part.kind == "snapshots"
    late = Context(CTX.params, CTX.period, run_at=datetime(2027, 3, 1, tzinfo=UTC))  # 180 days back: 2026-09-02
    result = over_snapshots.evaluate(cc81.PROTECTION, late, snaps, OPTIONS,
                                     lambda name: log() if name == "github-audit-log" else None)
    assert result.part.kind == "timeline" and result.gaps[0].startswith(
        "github-branch-protection from 2026-07-01 00:00 to 2026-09-02 00:00 UTC: unknown: GitHub keeps the audit "
        "log 180 days: read 2027-03-01, it shows no change before 2026-09-02 00:00")


def test_which_audit_log_actions_may_change_branch_protection():
    changes = repos.PROTECTION_CHANGES.calls(log(("2026-08-01", "protected_branch.update_admin_enforced"),
                                                 ("2026-08-02", "repository_ruleset.destroy"),
                                                 ("2026-08-03", "repo.rename"), ("2026-08-04", "repo.access"),
                                                 ("2026-08-05", "team.add_member")))
    assert [n.split()[3] for n in changes["event_name"]] == ["protected_branch.update_admin_enforced",
                                                             "repository_ruleset.destroy", "repo.rename"]
    assert catalog.audit_log_enabled(CTX) and not catalog.audit_log_enabled(
        Context({"scope": {"github": {"orgs": [{"name": "acme", "audit_log": True}, {"name": "b"}]}}}, CTX.period))
