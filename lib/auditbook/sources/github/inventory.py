"""Every repository of an organization, with what marks it as production: deployments to the production
environment and protection of its production branch. One GraphQL request per 50 repositories.

The scope completeness test (CC8.1-REPO-SCOPE) compares it with the repositories params list; what GitHub
says is here, what counts as production is the control's rule.
"""

from __future__ import annotations

from fnmatch import fnmatchcase
from typing import Any

import pandas as pd
from github import Github

from auditbook.provenance import Collected, CollectionError, RawStore
from auditbook.sources.github.client import caller_login, collecting, new_provenance

PAGE = 50
RULESETS_READ = 20  # a repository's own branch rulesets read inline; more is a collection error, never a guess

ORGANIZATION_REPOSITORIES = """query OrganizationRepositories(
  $org: String!, $cursor: String, $environments: [String!], $qualifiedName: String!, $named: Boolean!
) {
  rateLimit { cost limit remaining used resetAt nodeCount }
  organization(login: $org) {
    repositories(first: 50, after: $cursor, orderBy: {field: NAME, direction: ASC}) {
      totalCount
      pageInfo { hasNextPage endCursor }
      nodes {
        name isArchived
        defaultBranchRef { name branchProtectionRule { pattern } }
        namedBranch: ref(qualifiedName: $qualifiedName) @include(if: $named) {
          name branchProtectionRule { pattern }
        }
        deployments(environments: $environments, first: 1, orderBy: {field: CREATED_AT, direction: DESC}) {
          totalCount nodes { createdAt }
        }
        rulesets(first: 20, includeParents: false, targets: [BRANCH]) {
          totalCount nodes { name enforcement conditions { refName { include exclude } } }
        }
      }
    }
  }
}
"""
QUERIES = {"OrganizationRepositories": ORGANIZATION_REPOSITORIES}


def ruleset_targets(ruleset: dict[str, Any], branch: str, is_default: bool) -> bool:
    """Whether an active branch ruleset applies to ``branch`` (GitHub's ref-name conditions: ``~ALL``,
    ``~DEFAULT_BRANCH``, fnmatch patterns over ``refs/heads/...``, exclusions winning)."""
    if ruleset.get("enforcement") != "ACTIVE":
        return False
    ref_name = ((ruleset.get("conditions") or {}).get("refName")) or {"include": [], "exclude": []}
    ref = f"refs/heads/{branch}"

    def matches(pattern: str) -> bool:
        return pattern == "~ALL" or (pattern == "~DEFAULT_BRANCH" and is_default) or fnmatchcase(ref, pattern)
    return any(matches(p) for p in ref_name["include"]) and not any(matches(p) for p in ref_name["exclude"])


def _repository_row(org: str, node: dict[str, Any], production_branch: str) -> dict[str, Any]:
    default = node.get("defaultBranchRef")
    branch_ref = default if production_branch == "default" else node.get("namedBranch")
    branch = (branch_ref or {}).get("name") or ("" if production_branch == "default" else production_branch)
    rulesets = node.get("rulesets") or {"totalCount": 0, "nodes": []}
    if rulesets["totalCount"] > len(rulesets["nodes"]):
        raise CollectionError(f"{org}/{node['name']}: {rulesets['totalCount']} branch rulesets, more than the "
                              f"{RULESETS_READ} read")
    is_default = bool(default) and default.get("name") == branch
    applying = [r["name"] for r in rulesets["nodes"] if branch and ruleset_targets(r, branch, is_default)]
    deployments = node["deployments"]
    latest = deployments["nodes"][0]["createdAt"] if deployments["nodes"] else None
    rule = (branch_ref or {}).get("branchProtectionRule")
    return {"org": org, "repo": node["name"], "archived": bool(node["isArchived"]), "production_branch": branch,
            "branch_protection_rule": (rule or {}).get("pattern") or "", "rulesets": ";".join(applying),
            "production_deployments": int(deployments["totalCount"]), "last_production_deployment": latest}


def collect_repositories(gh: Github, org: str, raw: RawStore, environment: str,
                         branches: dict[str, str]) -> Collected:
    """Every repository of ``org``, its production branch's protection (classic rule, own active rulesets; an
    organization ruleset applies to every repository, so it marks none as production) and its deployments to
    ``environment`` (count and latest)."""
    provenance = new_provenance(gh, org, caller_login(gh))
    production_branch = branches.get(org, "default")
    named = production_branch != "default"
    rows: list[dict[str, Any]] = []
    cursor, pages, total = None, 0, 0
    while True:
        variables = {"org": org, "cursor": cursor, "environments": [environment],
                     "qualifiedName": f"refs/heads/{production_branch}" if named else "", "named": named}
        with collecting("POST /graphql OrganizationRepositories"):
            _, body = gh.requester.graphql_query(ORGANIZATION_REPOSITORIES, variables)
        pages += 1
        provenance.raw_files.append(raw.save(f"github/{org}/graphql/repositories-{pages:04d}.json", body))
        connection = ((body.get("data") or {}).get("organization") or {}).get("repositories")
        if not isinstance(connection, dict) or not isinstance(connection.get("nodes"), list) \
                or None in connection["nodes"]:
            raise CollectionError(f"GraphQL OrganizationRepositories: page {pages} of {org}'s repositories is "
                                  "malformed")
        total = connection["totalCount"]
        rows += [_repository_row(org, node, production_branch) for node in connection["nodes"]]
        info = connection.get("pageInfo") or {}
        if not info.get("hasNextPage"):
            break
        if not info.get("endCursor"):
            raise CollectionError(f"GraphQL OrganizationRepositories: page {pages} of {org} has no end cursor")
        cursor = info["endCursor"]
    if len(rows) != total:
        raise CollectionError(f"{org}: {total} repositories, {len(rows)} collected")
    _all_visible(gh, org, len(rows), provenance, raw)
    provenance.add_operation("POST /graphql OrganizationRepositories",
                             {"query": ORGANIZATION_REPOSITORIES, "org": org, "environments": [environment],
                              "production_branch": production_branch}, pages=pages, records=len(rows))
    return Collected(pd.DataFrame(rows, columns=list(REPOSITORY_COLUMNS)), provenance)


def _all_visible(gh: Github, org: str, seen: int, provenance: Any, raw: RawStore) -> None:
    """A token sees only the repositories it may read, and GraphQL lists only those: the org's own count
    (``public_repos`` + ``total_private_repos``, shown to owners) must not be larger than what was listed."""
    with collecting(f"GET /orgs/{org}"):
        _, data = gh.requester.requestJsonAndCheck("GET", f"/orgs/{org}")
    provenance.add_operation(f"GET /orgs/{org}", records=1)
    provenance.raw_files.append(raw.save(f"github/{org}/org/org-repository-counts.json",
                                         {k: data.get(k) for k in ("login", "public_repos", "total_private_repos")}))
    if data.get("total_private_repos") is None:
        raise CollectionError(f"GET /orgs/{org}: total_private_repos is not shown to this token (org owner "
                              "required), so it cannot be shown that every repository was listed")
    counted = int(data.get("public_repos") or 0) + int(data["total_private_repos"])
    if seen < counted:
        raise CollectionError(f"{org} has {counted} repositories (public_repos + total_private_repos) but the "
                              f"token listed {seen}: grant it read access to all of the org's repositories")
    provenance.notes.append(f"{seen} {'repository' if seen == 1 else 'repositories'} listed; the org counts "
                            f"{counted} (public_repos + total_private_repos)")


REPOSITORY_COLUMNS = ("org", "repo", "archived", "production_branch", "branch_protection_rule", "rulesets",
                      "production_deployments", "last_production_deployment")
