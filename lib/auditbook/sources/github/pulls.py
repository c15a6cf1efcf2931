"""Merged pull requests and their reviews, by GraphQL: one request per 100 PRs.

Pages are ordered by ``updatedAt`` descending and the walk stops once a page ends before
the period start (a PR merged in the period has ``updatedAt >= mergedAt``). Reviews,
labels and commits come inline; the rare PR with more than an inner page gets its own
follow-up pages, so nothing is silently truncated.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pandas as pd
from github import Github

from auditbook.provenance import Collected, CollectionError, Provenance, RawStore
from auditbook.sources.github.client import caller_login, collecting, new_provenance

PAGE = 100
PR_FIELDS = """
        number title url createdAt updatedAt mergedAt baseRefName headRefName headRefOid
        author { login }
        mergedBy { login }
        mergeCommit { oid }
        labels(first: 20) { totalCount pageInfo { hasNextPage endCursor } nodes { name } }
        reviews(first: 50) {
          totalCount pageInfo { hasNextPage endCursor }
          nodes { fullDatabaseId state submittedAt author { login } commit { oid } }
        }
        commits(first: 100) {
          totalCount pageInfo { hasNextPage endCursor }
          nodes { commit { oid authors(first: 10) { totalCount nodes { user { login } } } } }
        }"""

MERGED_PULL_REQUESTS = """query MergedPullRequests(
  $owner: String!, $name: String!, $baseRefName: String!, $cursor: String
) {
  rateLimit { cost limit remaining used resetAt nodeCount }
  repository(owner: $owner, name: $name) {
    pullRequests(states: [MERGED], baseRefName: $baseRefName, first: 100, after: $cursor,
                 orderBy: {field: UPDATED_AT, direction: DESC}) {
      totalCount
      pageInfo { hasNextPage endCursor }
      nodes {""" + PR_FIELDS + """
      }
    }
  }
}
"""

# Follow-up pages of one PR's inner connection, for the rare PR that overflows it.
_MORE = """query MorePullRequest{Name}($owner: String!, $name: String!, $number: Int!, $cursor: String) {{
  repository(owner: $owner, name: $name) {{
    pullRequest(number: $number) {{
      {field}(first: 100, after: $cursor) {{ totalCount pageInfo {{ hasNextPage endCursor }} nodes {{ {nodes} }} }}
    }}
  }}
}}
"""
MORE_QUERIES = {
    "labels": _MORE.format(Name="Labels", field="labels", nodes="name"),
    "reviews": _MORE.format(Name="Reviews", field="reviews",
                            nodes="fullDatabaseId state submittedAt author { login } commit { oid }"),
    "commits": _MORE.format(Name="Commits", field="commits",
                            nodes="commit { oid authors(first: 10) { totalCount nodes { user { login } } } }"),
}
QUERIES = {"MergedPullRequests": MERGED_PULL_REQUESTS,
           **{f"MorePullRequest{k.title()}": q for k, q in MORE_QUERIES.items()}}



def _commit_authors(org: str, repo: str, number: int, commits: list[dict[str, Any]]) -> str:
    """The GitHub users who authored or co-authored the PR's commits (an approval by one of them is no
    independent review); a commit with more authors than the page holds is a collection error, not a guess."""
    logins: set[str] = set()
    for c in commits:
        authors = c["commit"].get("authors") or {"totalCount": 0, "nodes": []}
        if authors["totalCount"] > len(authors["nodes"]):
            raise CollectionError(f"{org}/{repo}#{number}: commit {c['commit']['oid'][:7]} has "
                                  f"{authors['totalCount']} authors, more than the 10 read")
        logins |= {a["user"]["login"] for a in authors["nodes"] if a and a.get("user")}
    return ";".join(sorted(logins))


def _ts(value: str | None) -> pd.Timestamp | None:
    return None if value is None else pd.Timestamp(value).tz_convert("UTC")


def _login(actor: dict[str, Any] | None) -> str | None:
    return actor["login"] if actor else None


class _Walk:
    """Counts and raw files for one collection, shared by the pages it fetches."""

    def __init__(self, gh: Github, org: str, raw: RawStore, provenance: Provenance) -> None:
        self.gh, self.org, self.raw, self.provenance = gh, org, raw, provenance
        self.requests = 0

    def query(self, operation: str, variables: dict[str, Any], relpath: str) -> dict[str, Any]:
        with collecting(f"POST /graphql {operation}"):
            _, body = self.gh.requester.graphql_query(QUERIES[operation], variables)
        self.requests += 1
        self.provenance.raw_files.append(self.raw.save(relpath, body))
        data = body.get("data")
        if not isinstance(data, dict):
            raise CollectionError(f"GraphQL {operation}: response has no data")
        return data

    def rest_of(self, repo: str, number: int, field: str, connection: dict[str, Any]) -> list[dict[str, Any]]:
        """All nodes of one PR's inner connection, fetching follow-up pages if it overflowed."""
        nodes = list(connection["nodes"])
        info, page = connection["pageInfo"], 1
        while info["hasNextPage"]:
            operation = f"MorePullRequest{field.title()}"
            variables = {"owner": self.org, "name": repo, "number": number, "cursor": info["endCursor"]}
            raw_name = f"github/{self.org}/graphql/{repo}/pull-{number}-{field}-{page:03d}.json"
            data = self.query(operation, variables, raw_name)
            more = _dig(data, "repository", "pullRequest", field)
            nodes += more["nodes"]
            info, page = more["pageInfo"], page + 1
        if len(nodes) != connection["totalCount"]:
            raise CollectionError(f"{self.org}/{repo}#{number}: {field} has {connection['totalCount']} items, "
                                  f"{len(nodes)} collected")
        return nodes


def _dig(data: dict[str, Any], *path: str) -> dict[str, Any]:
    for key in path:
        if not isinstance(data, dict) or not isinstance(data.get(key), dict):
            raise CollectionError(f"GraphQL response is missing {'.'.join(path)}")
        data = data[key]
    return data


def collect_merged_pulls(gh: Github, org: str, branch_by_repo: dict[str, str], raw: RawStore,
                         period_start: datetime, period_end: datetime) -> tuple[Collected, Collected]:
    """PRs merged into each repo's production branch in ``[period_start, period_end)``, and their reviews."""
    login = caller_login(gh)
    pulls_prov, reviews_prov = new_provenance(gh, org, login), new_provenance(gh, org, login)
    walk = _Walk(gh, org, raw, pulls_prov)
    pull_rows: list[dict[str, Any]] = []
    review_rows: list[dict[str, Any]] = []
    start, end = pd.Timestamp(period_start), pd.Timestamp(period_end)
    for repo in branch_by_repo:
        branch = branch_by_repo[repo]
        nodes, pages, total, stopped_early = _merged_pages(walk, repo, branch, start)
        in_period = [n for n in nodes if start <= _ts(n["mergedAt"]) < end and n["baseRefName"] == branch]
        for node in in_period:
            number = node["number"]
            labels = walk.rest_of(repo, number, "labels", node["labels"])
            reviews = walk.rest_of(repo, number, "reviews", node["reviews"])
            commits = walk.rest_of(repo, number, "commits", node["commits"])
            pull_rows.append({
                "org": org, "repo": repo, "number": number, "url": node["url"], "title": node["title"],
                "author": _login(node["author"]), "merged_by": _login(node["mergedBy"]),
                "created_at": node["createdAt"], "updated_at": node["updatedAt"], "merged_at": node["mergedAt"],
                "base_branch": node["baseRefName"], "head_branch": node["headRefName"], "head_sha": node["headRefOid"],
                "merge_commit_sha": (node["mergeCommit"] or {}).get("oid"),
                "labels": ";".join(label["name"] for label in labels),
                "commit_shas": ";".join(c["commit"]["oid"] for c in commits), "commit_count": len(commits),
                "commit_authors": _commit_authors(org, repo, number, commits),
                "review_count": len(reviews),
            })
            review_rows += [{
                "org": org, "repo": repo, "number": number,
                "review_id": int(r["fullDatabaseId"]) if r["fullDatabaseId"] is not None else None,
                "reviewer": _login(r["author"]), "state": r["state"], "submitted_at": r["submittedAt"],
                "commit_sha": (r["commit"] or {}).get("oid"),
            } for r in reviews]
        variables = {"owner": org, "name": repo, "baseRefName": branch}
        pulls_prov.add_operation("POST /graphql MergedPullRequests", {"query": MERGED_PULL_REQUESTS, **variables},
                                 pages=pages, records=len(in_period))
        pulls_prov.notes.append(
            f"{repo}: {len(nodes)} merged PRs into {branch} read of {total} in total"
            + (" (walk stopped: the rest were last updated before the period start)" if stopped_early else "")
            + f"; {len(in_period)} merged in the period")
    pulls_prov.notes.append(f"GraphQL requests: {walk.requests}")
    reviews_prov.operations = pulls_prov.operations
    reviews_prov.raw_files = pulls_prov.raw_files
    reviews_prov.notes.append("reviews arrive with their pull requests (same GraphQL responses)")
    return Collected(pd.DataFrame(pull_rows), pulls_prov), Collected(pd.DataFrame(review_rows), reviews_prov)


def _merged_pages(walk: _Walk, repo: str, branch: str,
                  start: pd.Timestamp) -> tuple[list[dict[str, Any]], int, int, bool]:
    nodes: list[dict[str, Any]] = []
    cursor, pages, total = None, 0, 0
    while True:
        variables = {"owner": walk.org, "name": repo, "baseRefName": branch, "cursor": cursor}
        raw_name = f"github/{walk.org}/graphql/{repo}/merged-pulls-{pages + 1:04d}.json"
        data = walk.query("MergedPullRequests", variables, raw_name)
        connection = _dig(data, "repository", "pullRequests")
        page, info = connection.get("nodes"), connection.get("pageInfo") or {}
        pages, total = pages + 1, connection.get("totalCount", 0)
        if not isinstance(page, list) or None in page:
            raise CollectionError(f"{walk.org}/{repo}: GraphQL page {pages} of merged PRs is malformed")
        nodes += page
        if info.get("hasNextPage") and (len(page) != PAGE or not info.get("endCursor")):
            raise CollectionError(f"{walk.org}/{repo}: GraphQL page {pages} is truncated "
                                  f"({len(page)} PRs, endCursor {info.get('endCursor')!r})")
        if not info.get("hasNextPage"):
            if len(nodes) != total:
                raise CollectionError(f"{walk.org}/{repo}: {total} merged PRs reported, {len(nodes)} received")
            return nodes, pages, total, False
        if _ts(page[-1]["updatedAt"]) < start:
            return nodes, pages, total, True
        cursor = info["endCursor"]
