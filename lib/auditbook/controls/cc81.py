"""CC8.1 change management: the rules, as pure functions over GitHub, CloudTrail and ECR populations.

A change is a pull request merged into a production branch in the period. It is approved when
someone other than its author approved it (review state APPROVED) no later than the merge;
emergency changes (a label from params) may be approved after the merge, within a limit. Every
rule an auditor may ask about is in this module.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pandas as pd

from auditbook.results import ControlTest, Tested, TestResult, evaluate, when

APPROVED = ControlTest(
    "CC8.1-APPROVED", "CC8.1", "Changes approved by someone other than the author before merge",
    "Every non-emergency pull request merged into a production branch in the period has an APPROVED review, "
    "submitted no later than the merge, by a person on the HR roster and employed that day who is neither its "
    "author nor an author of its commits.", "per_event", ("change-worksheet",),
    sample_keys=("change",),
    deviates_when=("A non-emergency pull request merged into a production branch without {approvals_that_count} "
                   "approval that counts, submitted no later than the merge, deviates; an approval counts when its "
                   "author is {approver}."))
FINAL_COMMIT = ControlTest(
    "CC8.1-FINAL-COMMIT", "CC8.1", "Approval covers the final commit",
    "For every approved change, at least one qualifying approval was given on the commit that was merged "
    "(no code was pushed after the last approval).", "per_event", ("change-worksheet",), sample_keys=("change",),
    deviates_when=("An approved change with no counting approval on the commit that was merged (code pushed after "
                   "the last approval) deviates."))
EMERGENCY = ControlTest(
    "CC8.1-EMERGENCY", "CC8.1", "Emergency changes reviewed after the fact within the limit",
    "Every pull request labelled as an emergency change has an APPROVED review by a person other than its "
    "author no later than the limit after its merge.", "per_event", ("change-worksheet",),
    lambda s, ctx: {"review_hours": s["emergency_review_hours"], "labels": s["emergency_labels"]}, ("change",),
    deviates_when=("An emergency change (labels: {emergency_labels}) without an approval that counts, by someone "
                   "other than its author, within {review_within_hours} hours after its merge deviates."))
PROTECTION = ControlTest(
    "CC8.1-PROTECTION", "CC8.1", "Production branches protected",
    "Every production branch is protected (classic branch protection or an active ruleset) so that merging "
    "requires the minimum approvals, stale approvals are dismissed when code is pushed, and administrators "
    "cannot bypass the rules.", "continuous", ("github-branch-protection",),
    lambda s, ctx: {"min_approvals": s["min_approvals"], "require_stale_dismissal": s["require_stale_review_dismissal"],
                    "require_admin_enforcement": s["require_admin_enforcement"]}, ("org", "repo", "branch"),
    configuration_only=True,
    deviates_when=("A production branch whose protection does not require {min_approvals} approval(s) to merge, "
                   "dismiss stale approvals (required: {dismiss_stale_reviews}) and stop administrators bypassing it "
                   "(required: {enforce_admins}) deviates."))
DIRECT_PUSH = ControlTest(
    "CC8.1-DIRECT-PUSH", "CC8.1", "No direct pushes to production branches",
    "Every commit that reached a production branch in the period came through a merged pull request.",
    "per_event", ("github-branch-commits",), sample_keys=("org", "repo", "sha"),
    deviates_when=("A commit on a production branch that did not come through a merged pull request deviates."))
DEPLOY = ControlTest(
    "CC8.1-DEPLOY", "CC8.1", "Production deployments trace to approved changes",
    "Every deployment to the production environment in the period deployed a commit of an approved change, "
    "and records who deployed what and when.", "per_event", ("github-deployments", "change-worksheet"),
    lambda s, ctx: {"emergency_hours": s["emergency_review_hours"]}, ("org", "repo", "deployment_id"),
    deviates_when=("A deployment to the production environment (in a state of {deployed_states}) of a commit that is "
                   "not a commit of an approved change deviates."))
MANUAL_CHANGE = ControlTest(
    "CC8.1-MANUAL-CHANGE", "CC8.1", "No manual changes to production infrastructure",
    "No successful non-read-only AWS API call in the period was made by a person (IAM user, root, or a "
    "role session outside the deployment pipeline roles), per the CloudTrail trail's log files.",
    "per_event", ("cloudtrail-events", "cloudtrail-coverage"),
    lambda s, ctx: {"pipeline_principals": s["pipeline_principals"], "non_change_events": s["non_change_events"],
                    "access_administration": s["access_administration_events"]},
    ("event_time", "event_id"),
    deviates_when=("A successful non-read-only AWS API call by a person (an IAM user, root, or a role session other "
                   "than {pipeline_principals}) deviates; sign-in and session calls are not changes, and access "
                   "administration is tested under CC6.1."))
ARTIFACTS = ControlTest(
    "CC8.1-ARTIFACTS", "CC8.1", "Deployment artifacts immutable and scanned",
    "Every container repository in scope has immutable image tags and scans images on push, so the artifact "
    "that was tested is the artifact that runs.", "continuous", ("ecr-repositories",),
    lambda s, ctx: {"in_scope": s["ecr_repositories"]}, ("account_id", "repository_name"),
    configuration_only=True,
    deviates_when=("A container repository in scope ({repositories}) without immutable image tags or scan on push "
                   "deviates."))

REPO_SCOPE = ControlTest(
    "CC8.1-REPO-SCOPE", "CC8.1", "Every repository that reaches production is in scope",
    "Every repository of the GitHub organizations in scope that deployed to the production environment since "
    "the period start, or protects its production branch, is a production repository of this run (its changes "
    "are tested) or is excluded in params with a reason.", "continuous", ("github-repositories",),
    lambda s, ctx: {"in_scope": {o["name"]: list(o["production_repos"]) for o in ctx.orgs},
                    "excluded": {o["name"]: dict(o.get("excluded_repos") or {}) for o in ctx.orgs},
                    "since": ctx.period.start},
    ("org", "repo"),
    deviates_when=("A repository with a production sign ({production_sign}) that is neither in scope ({in_scope}) "
                   "nor excluded ({excluded}) deviates."))

TESTS = [APPROVED, FINAL_COMMIT, EMERGENCY, PROTECTION, DIRECT_PUSH, DEPLOY, MANUAL_CHANGE, ARTIFACTS, REPO_SCOPE]
DEPLOYED_STATES = {"success", "inactive"}  # inactive: a successful deployment later superseded


def _change_id(row: Any) -> str:
    return f"{row.org}/{row.repo}#{row.number}"


def approval_not_counted(reviewer: str, at: pd.Timestamp, author: str, commit_authors: str,
                         people: dict[str, Any] | None) -> str:
    """Why an approval does not count as an independent review ('' when it does): by the change's author or a
    co-author of its commits, or — with the HR roster — by someone not on it or not employed at that moment."""
    if reviewer == author:
        return "by the author"
    if reviewer in {a for a in str(commit_authors or "").split(";") if a}:
        return "by a co-author (an author of the change's commits)"
    if people is None:
        return ""
    person = people.get(str(reviewer).lower())
    if person is None:
        return "by an account on no one's HR roster line"
    if pd.notna(person.start_date) and at.normalize() < person.start_date.normalize():
        return f"before {person.name} started on {person.start_date:%Y-%m-%d}"
    if pd.notna(person.termination_date) and at.normalize() > person.termination_date.normalize():
        return f"after {person.name}'s termination on {person.termination_date:%Y-%m-%d}"
    return ""


def change_worksheet(pulls: pd.DataFrame, reviews: pd.DataFrame, deployments: pd.DataFrame,
                     emergency_labels: list[str], roster: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per merged change with what an auditor re-performs: approvers and times, deployment.

    Only approvals that count are approvals (:func:`approval_not_counted`); the others are listed with why, and
    the change is judged without them. Without an HR roster the employment check is not made (``roster_checked``).
    """
    emergency = set(emergency_labels)
    people = None if roster is None else {str(p.github_login).lower(): p for p in roster.itertuples()
                                          if p.github_login}
    approvals = reviews[reviews["state"] == "APPROVED"].merge(
        pulls[["org", "repo", "number", "author", "merged_at", "head_sha", "commit_authors"]],
        on=["org", "repo", "number"])
    approvals["not_counted"] = [approval_not_counted(a.reviewer, a.submitted_at, a.author, a.commit_authors, people)
                                for a in approvals.itertuples()]
    ignored = approvals[(approvals["not_counted"] != "") & (approvals["not_counted"] != "by the author")]
    approvals = approvals[approvals["not_counted"] == ""]
    before = approvals[approvals["submitted_at"] <= approvals["merged_at"]]
    after = approvals[approvals["submitted_at"] > approvals["merged_at"]]
    rows = []
    for pr in pulls.itertuples():
        key = (pr.org, pr.repo, pr.number)
        mine = before[(before["org"] == key[0]) & (before["repo"] == key[1]) & (before["number"] == key[2])]
        later = after[(after["org"] == key[0]) & (after["repo"] == key[1]) & (after["number"] == key[2])]
        uncounted = ignored[(ignored["org"] == key[0]) & (ignored["repo"] == key[1]) & (ignored["number"] == key[2])]
        labels = [x for x in str(pr.labels or "").split(";") if x]
        rows.append({
            "change": _change_id(pr), "org": pr.org, "repo": pr.repo, "number": pr.number, "url": pr.url,
            "title": pr.title, "author": pr.author, "merged_by": pr.merged_by, "merged_at": pr.merged_at,
            "head_sha": pr.head_sha, "merge_commit_sha": pr.merge_commit_sha, "commit_shas": pr.commit_shas,
            "labels": ";".join(labels), "emergency": bool(emergency & set(labels)),
            "approvers": "; ".join(f"{a.reviewer} {a.submitted_at:%Y-%m-%d %H:%M} on {str(a.commit_sha)[:7]}"
                                   for a in mine.sort_values("submitted_at").itertuples()),
            "first_approval_at": mine["submitted_at"].min() if len(mine) else pd.NaT,
            "approved_before_merge": len(mine) > 0,
            "approved_final_commit": bool((mine["commit_sha"] == pr.head_sha).any()),
            "first_post_merge_approval_at": later["submitted_at"].min() if len(later) else pd.NaT,
            "approvals_not_counted": "; ".join(f"{a.reviewer} {a.submitted_at:%Y-%m-%d %H:%M}: {a.not_counted}"
                                               for a in uncounted.sort_values("submitted_at").itertuples()),
            "roster_checked": people is not None,
        })
    sheet = pd.DataFrame(rows)
    if sheet.empty:
        return sheet
    for column in ("first_approval_at", "first_post_merge_approval_at"):  # all-NaT would lose the time zone
        sheet[column] = pd.to_datetime(sheet[column], utc=True)
    sheet["deployments"] = ""
    if not deployments.empty:
        sheet["deployments"] = [_deployments_of(row, deployments) for row in sheet.itertuples()]
    return sheet


def _shas(row: Any) -> set[str]:
    return {s for s in [row.merge_commit_sha, row.head_sha, *str(row.commit_shas or "").split(";")] if s}


def _deployments_of(row: Any, deployments: pd.DataFrame) -> str:
    mine = deployments[(deployments["org"] == row.org) & (deployments["repo"] == row.repo)
                       & deployments["sha"].isin(_shas(row))]
    return "; ".join(f"{d.deployment_id} {d.created_at:%Y-%m-%d %H:%M} {str(d.sha)[:7]}" for d in mine.itertuples())


def _changes(sheet: pd.DataFrame) -> Tested:
    return Tested(sheet, "change-worksheet")


@APPROVED.rule
def approved_before_merge(sheet: pd.DataFrame) -> TestResult:
    normal = _changes(sheet).keep(lambda f: ~f["emergency"], "changes not labelled as emergencies")
    deviations = [{"resource_type": "pull_request", "resource_id": r.change,
                   "detail": _why_not_approved(r), "url": r.url}
                  for r in normal.frame.itertuples() if not r.approved_before_merge]
    notes = [] if sheet.empty or sheet["roster_checked"].all() else [
        "No HR roster could be read (criteria.CC6.1.hr_roster): approvers were not checked against employment."]
    return evaluate(APPROVED, normal, deviations, {"approvals_that_count": 1, "before": "merge", "approver":
                    "on the HR roster, employed that day, not an author or co-author of the change"}, notes)


def _why_not_approved(r: Any) -> str:
    self_merged = " (self-merged)" if r.merged_by == r.author else ""
    uncounted = f"; approvals that do not count: {r.approvals_not_counted}" if r.approvals_not_counted else ""
    if pd.notna(r.first_post_merge_approval_at):
        return f"merged {when(r.merged_at)}{self_merged}; first approval that counts only at " \
               f"{when(r.first_post_merge_approval_at)}, after the merge{uncounted}"
    if uncounted:
        return f"merged {when(r.merged_at)}{self_merged} with no approval that counts{uncounted}"
    return f"merged {when(r.merged_at)}{self_merged} with no approval by anyone other than the author"


@FINAL_COMMIT.rule
def approval_on_final_commit(sheet: pd.DataFrame) -> TestResult:
    approved = (_changes(sheet).keep(lambda f: ~f["emergency"], "changes not labelled as emergencies")
                .keep(lambda f: f["approved_before_merge"], "approved before merge (CC8.1-APPROVED)"))
    deviations = [{"resource_type": "pull_request", "resource_id": r.change, "url": r.url,
                   "detail": f"merged head {str(r.head_sha)[:7]} was never approved; approvals: {r.approvers}"}
                  for r in approved.frame.itertuples() if not r.approved_final_commit]
    return evaluate(FINAL_COMMIT, approved, deviations, {"approval_on": "merged head commit"})


@EMERGENCY.rule
def emergency_reviewed(sheet: pd.DataFrame, review_hours: int, labels: list[str]) -> TestResult:
    emergencies = _changes(sheet).keep(lambda f: f["emergency"],
                                       f"changes labelled as emergencies ({', '.join(labels)})")
    deviations = [{"resource_type": "pull_request", "resource_id": r.change, "detail": detail, "url": r.url}
                  for r in emergencies.frame.itertuples() if (detail := _why_emergency_late(r, review_hours))]
    threshold = {"emergency_labels": labels, "review_within_hours": review_hours}
    return evaluate(EMERGENCY, emergencies, deviations, threshold)


def _why_emergency_late(r: Any, review_hours: int) -> str:
    """Why an emergency change's after-the-fact review does not count ('' when it does)."""
    if r.approved_before_merge:
        return ""
    late = r.first_post_merge_approval_at
    if pd.isna(late):
        return f"merged {r.merged_at:%Y-%m-%d %H:%M}; never approved by a non-author"
    if late - r.merged_at > timedelta(hours=review_hours):
        hours = (late - r.merged_at).total_seconds() / 3600
        return f"merged {r.merged_at:%Y-%m-%d %H:%M}; approved {hours:.0f} h later (limit {review_hours} h)"
    return ""


def _why_change_fails(r: Any, review_hours: int) -> str:
    """The test a change fails and why, in the words of that test's deviation ('' when it is approved)."""
    if r.emergency:
        why = _why_emergency_late(r, review_hours)
        return f"{EMERGENCY.test_id}: {why}" if why else ""
    return "" if r.approved_before_merge else f"{APPROVED.test_id}: {_why_not_approved(r)}"


def effective_protection(protection: pd.DataFrame) -> pd.DataFrame:
    """GitHub layers classic protection and rulesets: the strictest setting of either applies."""
    if protection.empty:
        return pd.DataFrame(columns=["org", "repo", "branch", "sources", "required_approvals", "dismiss_stale_reviews",
                                     "enforce_admins", "bypass_actors"])
    return protection.groupby(["org", "repo", "branch"], sort=True).agg(
        sources=("source", lambda s: ";".join(sorted(set(s)))),
        required_approvals=("required_approvals", "max"),
        dismiss_stale_reviews=("dismiss_stale_reviews", "any"),
        enforce_admins=("enforce_admins", lambda s: bool(s.any())),
        bypass_actors=("bypass_actors", lambda s: ";".join(x for x in s if x)),
    ).reset_index()


@PROTECTION.rule
def branch_protected(protection: pd.DataFrame, min_approvals: int, require_stale_dismissal: bool,
                     require_admin_enforcement: bool) -> TestResult:
    tested = Tested(protection, "github-branch-protection").reshape(
        effective_protection(protection),
        "one row per production branch: the strictest of its classic protection and rulesets")
    branches = tested.frame
    deviations = []
    for b in branches.itertuples():
        problems = []
        if b.sources == "none":
            problems.append("no branch protection and no ruleset")
        else:
            if b.required_approvals < min_approvals:
                problems.append(f"requires {b.required_approvals} approvals (minimum {min_approvals})")
            if require_stale_dismissal and not b.dismiss_stale_reviews:
                problems.append("stale approvals are not dismissed on push")
            if require_admin_enforcement and not b.enforce_admins:
                problems.append("administrators can bypass the rules (enforce admins off"
                                + (f"; bypass: {b.bypass_actors}" if b.bypass_actors else "") + ")")
        if problems:
            deviations.append({"resource_type": "branch", "resource_id": f"{b.org}/{b.repo}:{b.branch}",
                               "detail": "; ".join(problems)})
    threshold = {"min_approvals": min_approvals, "dismiss_stale_reviews": require_stale_dismissal,
                 "enforce_admins": require_admin_enforcement}
    return evaluate(PROTECTION, tested, deviations, threshold)


@DIRECT_PUSH.rule
def no_direct_pushes(commits: pd.DataFrame) -> TestResult:
    deviations = [{"resource_type": "commit", "resource_id": f"{c.org}/{c.repo}@{c.sha}",
                   "detail": f"committed {when(c.committed_at)} by {c.author or c.committer} to {c.branch} "
                             f"with no pull request: {c.message}"}
                  for c in commits.itertuples() if not c.in_pr]
    return evaluate(DIRECT_PUSH, commits, deviations, {"every_commit_through": "merged pull request"})


@DEPLOY.rule
def deployments_trace_to_approved_changes(deployments: pd.DataFrame, sheet: pd.DataFrame,
                                          emergency_hours: int) -> TestResult:
    """Approved = approved before merge, or an emergency change approved within the limit."""
    tested = Tested(deployments, "github-deployments").keep(
        lambda f: f["final_state"].isin(DEPLOYED_STATES),
        f"deployments that reached production (final state {' or '.join(sorted(DEPLOYED_STATES))})")
    deployed = tested.frame
    approved_shas: dict[tuple[str, str], set[str]] = {}
    failing: dict[tuple[str, str, str], list[str]] = {}  # a commit of a change that is not approved: which, and why
    for row in sheet.itertuples():
        why = _why_change_fails(row, emergency_hours)
        for sha in _shas(row):
            if not why:
                approved_shas.setdefault((row.org, row.repo), set()).add(sha)
            else:
                failing.setdefault((row.org, row.repo, sha), []).append(f"{row.change} ({row.title}) fails {why}")
    deviations = []
    for d in deployed.itertuples():
        problems = []
        if d.sha not in approved_shas.get((d.org, d.repo), set()):
            changes = failing.get((d.org, d.repo, d.sha))
            problems.append(f"deployed {str(d.sha)[:7]} ({d.ref}), which is not a commit of an approved change: "
                            + ("; ".join(changes) if changes else "no pull request merged in the period contains "
                               "this commit"))
        if not d.creator or pd.isna(d.created_at):
            problems.append("who or when is not recorded")
        if problems:
            deviations.append({"resource_type": "deployment", "resource_id": f"{d.org}/{d.repo}/deployments/"
                               f"{d.deployment_id}", "detail": f"{d.created_at:%Y-%m-%d %H:%M} by {d.creator}: "
                               + "; ".join(problems)})
    notes = []
    if len(deployed) < len(deployments):
        notes.append(f"{len(deployments) - len(deployed)} deployments never reached success "
                     "(production unchanged) and are not tested.")
    return evaluate(DEPLOY, tested, deviations, {"deployed_states": sorted(DEPLOYED_STATES)}, notes)


HUMAN_IDENTITIES = {"IAMUser", "Root", "AssumedRole", "IdentityCenterUser"}
# The CloudTrail events CC8.1 reads (auditbook.events.sql): every API call that is not read-only, except those
# AWS services make on the account's behalf (identity type AWSService: an Auto Scaling launch, an ECS target
# registration), which are no one's change; the log files' record counts still include them.
CLOUDTRAIL_SELECTION = "read_only <> 'true' AND event_type = 'AwsApiCall' AND identity_type <> 'AWSService'"


def _write_events(events: pd.DataFrame) -> Tested:
    return Tested(events, "cloudtrail-events").keep(
        lambda f: (f["read_only"] != True) & (f["event_type"] == "AwsApiCall"),  # noqa: E712
        "API calls (eventType AwsApiCall) that are not read-only")


def classify_write_events(events: pd.DataFrame, pipeline_principals: list[str], non_change_events: list[str],
                          access_administration: list[str] | None = None) -> pd.DataFrame:
    """Every non-read-only API call in the period, with why it is or is not a manual change."""
    writes = _write_events(events).frame.copy()
    pipeline = set(pipeline_principals)
    admin_events = set(access_administration or [])

    def why(e: Any) -> str:
        if e.identity_type not in HUMAN_IDENTITIES:
            return f"service ({e.invoked_by or e.identity_type})"
        if e.role_name in pipeline or e.principal_name in pipeline:
            return "deployment pipeline"
        if e.event_name in non_change_events:
            return "not a change (session or sign-in)"
        if e.event_name in admin_events:
            return "access administration (tested under CC6)"
        if e.error_code:
            return f"failed ({e.error_code}): nothing changed"
        return "manual change"

    writes["classification"] = pd.Series([why(e) for e in writes.itertuples()], index=writes.index, dtype=str)
    return writes.reset_index(drop=True)


@MANUAL_CHANGE.rule
def no_manual_changes(events: pd.DataFrame, coverage: pd.DataFrame, pipeline_principals: list[str],
                      non_change_events: list[str], access_administration: list[str] | None = None) -> TestResult:
    writes = classify_write_events(events, pipeline_principals, non_change_events, access_administration)
    tested = _write_events(events).annotate(writes)
    manual = writes[writes["classification"] == "manual change"]
    deviations = [{"resource_type": "cloudtrail_event", "resource_id": f"{e.account_id}:{e.event_id}",
                   "detail": f"{e.event_time:%Y-%m-%d %H:%M} {e.event_source.split('.')[0]}:{e.event_name} by "
                             f"{e.principal_name}" + (f" (role {e.role_name})" if e.role_name else "")
                             + (f" {_short(e.request_parameters)}" if e.request_parameters else "")}
                  for e in manual.itertuples()]
    threshold = {"pipeline_principals": pipeline_principals, "non_change_events": non_change_events,
                 "access_administration_events": access_administration or []}
    return evaluate(MANUAL_CHANGE, tested, deviations, threshold, _log_coverage_notes(coverage))


def _log_coverage_notes(coverage: pd.DataFrame) -> list[str]:
    """Days without trail log files cannot show manual changes: say so (CC7.1 tests the gap itself)."""
    if coverage.empty:
        return ["No region-day of the period is covered by a trail log file: manual changes cannot be ruled out."]
    covered, expected = int((coverage["log_files"] > 0).sum()), len(coverage)
    regions = coverage["region"].nunique()
    if covered >= expected:
        return [f"Trail log files cover every day of the period in {regions} region(s)."]
    return [f"Trail log files cover {covered} of {expected} region-days: changes on the days without log files "
            "cannot be ruled out here; the gap is a CC7.1 deviation."]


def _short(params: str, limit: int = 120) -> str:
    text = json.dumps(json.loads(params), separators=(",", ":"))
    return text if len(text) <= limit else text[: limit - 3] + "..."


@ARTIFACTS.rule
def immutable_artifacts(repositories: pd.DataFrame, in_scope: list[str]) -> TestResult:
    tested = Tested(repositories, "ecr-repositories")
    if in_scope:
        tested = tested.keep(lambda f: f["repository_name"].isin(in_scope),
                             f"the repositories params name ({', '.join(in_scope)})")
    deviations = []
    for r in tested.frame.itertuples():
        problems = []
        if r.tag_mutability != "IMMUTABLE":
            problems.append(f"image tags are {r.tag_mutability}")
        if not r.scan_on_push:
            problems.append("images are not scanned on push")
        if problems:
            deviations.append({"resource_type": "ecr_repository", "resource_id": f"{r.account_id}:{r.repository_name}",
                               "detail": "; ".join(problems)})
    return evaluate(ARTIFACTS, tested, deviations, {"tag_mutability": "IMMUTABLE", "scan_on_push": True,
                                                   "repositories": in_scope or "all"})


def production_signs(repo: Any, since: pd.Timestamp) -> list[str]:
    """What makes a repository a production one: it deployed to the production environment since the period
    start, or its production branch is protected by a classic rule or one of its own rulesets. An archived
    repository cannot change, so its protection alone does not count."""
    signs = []
    last = repo.last_production_deployment
    if pd.notna(last) and pd.Timestamp(last) >= since:
        signs.append(f"deployed to production {repo.production_deployments} times in all, last {when(last)}")
    guards = ([f"classic rule {repo.branch_protection_rule}"] if repo.branch_protection_rule else []) + \
        [f"ruleset {name}" for name in str(repo.rulesets or "").split(";") if name]
    if guards and not repo.archived:
        signs.append(f"production branch {repo.production_branch} protected ({', '.join(guards)})")
    return signs


@REPO_SCOPE.rule
def repositories_in_scope(repositories: pd.DataFrame, in_scope: dict[str, list[str]],
                          excluded: dict[str, dict[str, str]], since: pd.Timestamp) -> TestResult:
    """In scope, excluded with a reason, not a production repository, or missing from scope (a deviation)."""
    tested = Tested(repositories, "github-repositories")
    wanted = {(org.lower(), r.lower()) for org, repos in in_scope.items() for r in repos}
    reasons = {(org.lower(), r.lower()): why for org, repos in excluded.items() for r, why in repos.items()}
    scope, why, deviations = [], [], []
    for r in repositories.itertuples():
        key, signs = (str(r.org).lower(), str(r.repo).lower()), production_signs(r, since)
        if key in wanted:
            scope.append("in scope")
            why.append("; ".join(signs) or "listed in params (no production sign seen)")
        elif key in reasons:
            scope.append("excluded")
            why.append(reasons[key] + (f" ({'; '.join(signs)})" if signs else ""))
        elif signs:
            scope.append("missing from scope")
            why.append("; ".join(signs))
            deviations.append({"resource_type": "github_repository", "resource_id": f"{r.org}/{r.repo}",
                               "detail": f"{'; '.join(signs)}, but it is neither a production repository of this "
                                         "run nor excluded in params with a reason: its changes were not tested"})
        else:
            scope.append("not production")
            why.append("archived" if r.archived else "no deployment to production since the period start and no "
                       "protected production branch")
    tested = tested.annotate(repositories.assign(scope=scope, why=why))
    return evaluate(REPO_SCOPE, tested, deviations,
                    {"production_sign": "a deployment to the production environment since the period start, or "
                                        "a protected production branch (not archived)",
                     "in_scope": "production_repos of each org in params",
                     "excluded": "excluded_repos of each org in params, each with its reason"})


def reconcile(sheet: pd.DataFrame, commits: pd.DataFrame, deployments: pd.DataFrame) -> pd.DataFrame:
    """The counts that must add up, shown so the auditor sees the populations are consistent."""
    emergency = int(sheet["emergency"].sum()) if not sheet.empty else 0
    in_pr = int(commits["in_pr"].sum()) if not commits.empty else 0
    deployed = int(deployments["final_state"].isin(DEPLOYED_STATES).sum()) if not deployments.empty else 0
    rows = [
        ("pull requests merged into production branches", len(sheet), ""),
        ("  normal changes (tested for approval before merge)", len(sheet) - emergency, ""),
        ("  emergency changes (tested for review after merge)", emergency, ""),
        ("commits that reached production branches", len(commits), ""),
        ("  brought by a merged pull request", in_pr, ""),
        ("  with no pull request (direct pushes)", len(commits) - in_pr, ""),
        ("deployments to production", len(deployments), ""),
        ("  that reached success (tested)", deployed, ""),
    ]
    frame = pd.DataFrame(rows, columns=["count_of", "n", "check"])
    frame.loc[0, "check"] = "= normal + emergency" if len(sheet) == (len(sheet) - emergency) + emergency else "MISMATCH"
    return frame
