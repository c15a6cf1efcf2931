"""CC8.1 rules on small hand-made populations: each deviation kind, its edges, and what it must not flag."""

import json

import pandas as pd
from auditbook import catalog
from auditbook.controls import cc81
from auditbook.results import Status


def ts(text):
    return pd.Timestamp(text, tz="UTC") if text else pd.NaT


def pull(number, author="ann", merged_by="bob", merged="2026-08-10T12:00", head="h1", labels="", repo="api"):
    return {"org": "o", "repo": repo, "number": number, "url": f"https://gh/o/{repo}/pull/{number}", "title": "t",
            "author": author, "merged_by": merged_by, "merged_at": ts(merged), "head_sha": f"{head}-{number}",
            "merge_commit_sha": f"m-{number}", "commit_shas": f"c-{number};{head}-{number}", "labels": labels}


def review(number, reviewer, at, state="APPROVED", commit="h1", repo="api"):
    return {"org": "o", "repo": repo, "number": number, "review_id": hash((number, reviewer, at)),
            "reviewer": reviewer, "state": state, "submitted_at": ts(at), "commit_sha": f"{commit}-{number}"}


def sheet(pulls, reviews, deployments=None):
    """The change worksheet as a run derives it: the catalog's populations in, the catalog's contract out."""
    frame = cc81.change_worksheet(catalog.from_rows("github-merged-pulls", pulls),
                                  catalog.from_rows("github-pull-reviews", reviews),
                                  deployments if deployments is not None else catalog.empty("github-deployments"),
                                  ["emergency"])
    return catalog.conform("change-worksheet", frame)


def ids(result):
    return sorted(result.deviations["resource_id"])


PULLS = [pull(1), pull(2), pull(3, merged_by="ann"), pull(4), pull(5), pull(6, labels="emergency"),
         pull(7, labels="emergency;hotfix"), pull(8, labels="emergency")]
REVIEWS = [
    review(1, "bob", "2026-08-10T11:00"),                               # fine
    review(2, "bob", "2026-08-10T10:00", state="COMMENTED"),            # no approval
    review(3, "ann", "2026-08-10T11:00"), review(3, "cid", "2026-08-10T15:00"),  # self approval, late approval
    review(4, "bob", "2026-08-10T09:00", commit="old"),                 # stale approval
    review(5, "bob", "2026-08-10T12:00"),                               # approved exactly at merge: fine
    review(6, "bob", "2026-08-12T12:00"),                               # emergency, 48 h later: fine
    review(7, "bob", "2026-08-12T12:01"),                               # emergency, just over 48 h
]


def test_approval_before_merge_by_a_non_author():
    r = cc81.approved_before_merge(sheet(PULLS, REVIEWS))
    assert ids(r) == ["o/api#2", "o/api#3"]
    assert r.population_size == 5  # emergency changes are tested elsewhere
    detail = r.deviations.set_index("resource_id")["detail"]
    assert "self-merged" in detail["o/api#3"] and "after the merge" in detail["o/api#3"]


def test_approval_must_cover_the_merged_head():
    r = cc81.approval_on_final_commit(sheet(PULLS, REVIEWS))
    assert ids(r) == ["o/api#4"]
    assert r.population_size == 3  # only changes approved before merge


def test_emergency_changes_reviewed_within_the_limit():
    r = cc81.emergency_reviewed(sheet(PULLS, REVIEWS), review_hours=48, labels=["emergency"])
    assert ids(r) == ["o/api#7", "o/api#8"]
    assert r.population_size == 3


def protection_row(repo, source="classic", approvals=1, stale=True, admins=True, bypass=""):
    return {"org": "o", "repo": repo, "branch": "main", "source": source, "rulesets": "",
            "required_approvals": approvals, "dismiss_stale_reviews": stale, "require_last_push_approval": False,
            "require_code_owner_reviews": False, "enforce_admins": admins, "bypass_actors": bypass,
            "required_status_checks": ""}


def test_protection_takes_the_strictest_layer():
    frame = pd.DataFrame([
        protection_row("ok"),
        protection_row("none", source="none", approvals=0, stale=False, admins=False),
        protection_row("admins", admins=False),
        protection_row("layered", admins=False), protection_row("layered", source="ruleset"),  # ruleset binds admins
        protection_row("zero", approvals=0),
        protection_row("bypass", source="ruleset", admins=False, bypass="Team:1:always"),
    ])
    r = cc81.branch_protected(frame, min_approvals=1, require_stale_dismissal=True, require_admin_enforcement=True)
    assert ids(r) == ["o/admins:main", "o/bypass:main", "o/none:main", "o/zero:main"]
    assert r.population_size == 6
    assert "Team:1:always" in r.deviations.set_index("resource_id")["detail"]["o/bypass:main"]


def test_direct_pushes_are_commits_no_pull_request_brought():
    commits = pd.DataFrame([
        {"org": "o", "repo": "api", "branch": "main", "sha": "a", "author": "x", "committer": "x",
         "committed_at": ts("2026-08-01"), "message": "feat", "parent_count": 1, "associated_prs": "1", "in_pr": True},
        {"org": "o", "repo": "api", "branch": "main", "sha": "b", "author": "y", "committer": "y",
         "committed_at": ts("2026-08-02"), "message": "quick fix", "parent_count": 1, "associated_prs": "",
         "in_pr": False},
    ])
    assert ids(cc81.no_direct_pushes(commits)) == ["o/api@b"]


def deployment(i, sha, state="success", creator="bot"):
    return {"org": "o", "repo": "api", "deployment_id": i, "sha": sha, "ref": "main", "environment": "production",
            "creator": creator, "created_at": ts("2026-08-11"), "final_state": state,
            "final_state_at": ts("2026-08-11"), "final_state_creator": creator, "status_count": 1}


def test_deployments_must_trace_to_approved_changes():
    deployments = pd.DataFrame([
        deployment(1, "m-1"),             # approved change's merge commit
        deployment(2, "m-2"),             # unapproved change
        deployment(3, "m-6"),             # emergency approved within limit
        deployment(4, "m-8"),             # emergency never approved
        deployment(5, "rogue"),           # no change at all
        deployment(6, "rogue", state="failure"),  # never reached production: not tested
        deployment(7, "h1-1", creator=""),        # approved commit but who is unknown
    ])
    r = cc81.deployments_trace_to_approved_changes(deployments, sheet(PULLS, REVIEWS), emergency_hours=48)
    assert ids(r) == ["o/api/deployments/2", "o/api/deployments/4", "o/api/deployments/5", "o/api/deployments/7"]
    assert r.population_size == 6 and r.notes
    # each deployment deviation names the change it deployed and the test that change fails, or that none is known
    detail = r.deviations.set_index("resource_id")["detail"]
    assert detail["o/api/deployments/2"].endswith(
        "deployed m-2 (main), which is not a commit of an approved change: o/api#2 (t) fails CC8.1-APPROVED: merged "
        "2026-08-10 12:00 with no approval by anyone other than the author")
    assert detail["o/api/deployments/4"].endswith(
        "o/api#8 (t) fails CC8.1-EMERGENCY: merged 2026-08-10 12:00; never approved by a non-author")
    assert detail["o/api/deployments/5"].endswith(
        "which is not a commit of an approved change: no pull request merged in the period contains this commit")
    assert detail["o/api/deployments/7"].endswith("who or when is not recorded")


def event(eid, identity="IAMUser", name="RunInstances", principal="dan", role="", read_only=False, error="",
          event_type="AwsApiCall", invoked_by=""):
    return {"account_id": "1", "event_time": ts("2026-08-01T10:00"), "event_id": eid,
            "event_source": "ec2.amazonaws.com",
            "event_name": name, "read_only": read_only, "event_type": event_type, "aws_region": "us-east-1",
            "identity_type": identity, "principal_arn": "", "principal_name": principal, "role_name": role,
            "invoked_by": invoked_by, "source_ip": "", "user_agent": "", "error_code": error,
            "request_parameters": json.dumps({"a": 1}), "log_file": "k"}


def test_manual_changes_are_human_successful_writes_outside_the_pipeline():
    events = pd.DataFrame([
        event("human"),
        event("breakglass", identity="AssumedRole", principal="grace", role="BreakGlassAdmin"),
        event("pipeline", identity="AssumedRole", principal="gha-1", role="ci-deploy-role"),
        event("read", read_only=True),
        event("denied", error="AccessDenied"),
        event("login", name="ConsoleLogin", event_type="AwsConsoleSignIn"),
        event("assume", name="AssumeRole"),
        event("service", identity="AWSService", invoked_by="autoscaling.amazonaws.com"),
    ])
    r = cc81.no_manual_changes(events, covered(2), ["ci-deploy-role"], ["ConsoleLogin", "AssumeRole"])
    assert ids(r) == ["1:breakglass", "1:human"]
    assert r.population_size == 6  # the write calls: read-only and console sign-ins are not in it


def test_artifacts_immutable_and_scanned():
    repos = pd.DataFrame([
        {"account_id": "1", "repository_name": "a", "tag_mutability": "IMMUTABLE", "scan_on_push": True},
        {"account_id": "1", "repository_name": "b", "tag_mutability": "MUTABLE", "scan_on_push": True},
        {"account_id": "1", "repository_name": "c", "tag_mutability": "IMMUTABLE", "scan_on_push": False},
    ])
    assert ids(cc81.immutable_artifacts(repos, [])) == ["1:b", "1:c"]
    assert cc81.immutable_artifacts(repos, ["a"]).status is Status.PASS


def test_reconciliation_adds_up():
    s = sheet(PULLS, REVIEWS)
    commits = pd.DataFrame({"in_pr": [True, True, False]})
    deployments = pd.DataFrame({"final_state": ["success", "failure"]})
    frame = cc81.reconcile(s, commits, deployments)
    assert list(frame["n"]) == [8, 5, 3, 3, 2, 1, 2, 1]


def covered(days: int, gaps: int = 0) -> pd.DataFrame:
    """CC7.1's coverage worksheet: ``days`` region-days, the last ``gaps`` of them without a log file."""
    return pd.DataFrame([{"account_id": "1", "region": "us-east-1", "day": f"2026-08-{d:02d}",
                          "log_files": 0 if d > days - gaps else 3, "records": 10} for d in range(1, days + 1)])


def test_days_without_trail_files_are_stated_not_passed_over():
    events = pd.DataFrame([event("a"), event("b")])
    note = cc81.no_manual_changes(events, covered(3, gaps=1), [], []).notes[0]
    assert "2 of 3 region-days" in note
    assert "every day" in cc81.no_manual_changes(events, covered(2), [], []).notes[0]
    assert "cannot be ruled out" in cc81.no_manual_changes(events, covered(0), [], []).notes[0]


def test_deployments_trace_per_org_even_when_no_change_was_approved_after_merge():
    """The same repo name and merge commit in another org is another change; all-on-time approvals parse too."""
    pulls = [pull(1), dict(pull(1), org="p")]
    reviews = [review(1, "bob", "2026-08-10T11:00")]  # only org o's change is approved
    deployments = pd.DataFrame([deployment(1, "m-1"), dict(deployment(2, "m-1"), org="p")])
    r = cc81.deployments_trace_to_approved_changes(deployments, sheet(pulls, reviews), emergency_hours=48)
    assert ids(r) == ["p/api/deployments/2"]


ROSTER = catalog.from_rows("hr-roster", [
    {"person_id": "P1", "name": "Ann", "github_login": "ann", "start_date": ts("2024-01-01")},
    {"person_id": "P2", "name": "Bob", "github_login": "Bob", "start_date": ts("2024-01-01")},
    {"person_id": "P3", "name": "Cid", "github_login": "cid", "start_date": ts("2024-01-01"),
     "termination_date": ts("2026-08-10")},
    {"person_id": "P4", "name": "Dee", "github_login": "dee", "start_date": ts("2026-08-11")}])


def test_an_approval_counts_only_from_someone_on_the_roster_employed_that_day_and_not_an_author_of_the_change():
    pulls = [pull(1), pull(2), pull(3), pull(4), pull(5), {**pull(6), "commit_authors": "ann;bob"}, pull(7)]
    reviews = [review(1, "bob", "2026-08-10T11:00"),            # counts
               review(2, "ivan", "2026-08-10T11:00"),           # on no roster line
               review(3, "cid", "2026-08-10T11:00"),            # on his termination day: still employed
               review(4, "cid", "2026-08-11T08:00", commit="h1"), review(4, "ann", "2026-08-10T11:00"),
               review(5, "dee", "2026-08-10T11:00"),            # before she started
               review(6, "bob", "2026-08-10T11:00"),            # a co-author of the commits
               review(7, "ivan", "2026-08-10T09:00"), review(7, "bob", "2026-08-10T10:00")]
    pulls[3] = {**pulls[3], "merged_at": ts("2026-08-11T12:00")}
    frame = cc81.change_worksheet(catalog.from_rows("github-merged-pulls", pulls),
                                  catalog.from_rows("github-pull-reviews", reviews),
                                  catalog.empty("github-deployments"), ["emergency"], ROSTER)
    result = cc81.approved_before_merge(catalog.conform("change-worksheet", frame))
    assert ids(result) == ["o/api#2", "o/api#4", "o/api#5", "o/api#6"]
    detail = result.deviations.set_index("resource_id")["detail"]
    assert detail["o/api#2"].endswith("approvals that do not count: ivan 2026-08-10 11:00: by an account on no one's "
                                      "HR roster line")
    assert detail["o/api#4"].endswith("cid 2026-08-11 08:00: after Cid's termination on 2026-08-10")  # ann: author
    assert detail["o/api#5"].endswith("dee 2026-08-10 11:00: before Dee started on 2026-08-11")
    assert detail["o/api#6"].endswith("bob 2026-08-10 11:00: by a co-author (an author of the change's commits)")
    assert frame.set_index("change").loc["o/api#7", "approvers"].startswith("bob ")  # judged on Bob's alone
    without = cc81.approved_before_merge(sheet(pulls, reviews))  # no roster: only authorship is checked
    assert ids(without) == ["o/api#6"] and without.notes[0].startswith("No HR roster could be read")


def test_an_emergency_reviewed_after_the_fact_only_by_someone_who_does_not_count_is_never_approved():
    pulls = [pull(1, labels="emergency")]
    frame = cc81.change_worksheet(catalog.from_rows("github-merged-pulls", pulls),
                                  catalog.from_rows("github-pull-reviews", [review(1, "cid", "2026-08-11T09:00")]),
                                  catalog.empty("github-deployments"), ["emergency"], ROSTER)
    result = cc81.emergency_reviewed(catalog.conform("change-worksheet", frame), 48, ["emergency"])
    assert list(result.deviations["detail"]) == ["merged 2026-08-10 12:00; never approved by a non-author"]
