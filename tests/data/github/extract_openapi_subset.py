"""Extract the 200-response schemas of the REST endpoints the emulator serves.

Usage (in a temp dir): npm pack @octokit/openapi@23.0.2 && tar xzf octokit-openapi-23.0.2.tgz
  python tests/data/github/extract_openapi_subset.py package/generated/api.github.com.deref.json \
      > tests/data/github/openapi-subset.json

Reads the dereferenced description (all ``$ref`` resolved), so each schema stands alone.
"""

from __future__ import annotations

import json
import sys

ENDPOINTS = [
    "/user",
    "/rate_limit",
    "/orgs/{org}",
    "/orgs/{org}/repos",
    "/orgs/{org}/members",
    "/orgs/{org}/outside_collaborators",
    "/orgs/{org}/memberships/{username}",
    "/repos/{owner}/{repo}",
    "/repos/{owner}/{repo}/branches/{branch}",
    "/repos/{owner}/{repo}/branches/{branch}/protection",
    "/repos/{owner}/{repo}/rules/branches/{branch}",
    "/repos/{owner}/{repo}/rulesets",
    "/repos/{owner}/{repo}/rulesets/{ruleset_id}",
    "/repos/{owner}/{repo}/commits",
    "/repos/{owner}/{repo}/commits/{ref}",
    "/repos/{owner}/{repo}/commits/{commit_sha}/pulls",
    "/repos/{owner}/{repo}/pulls/{pull_number}",
    "/repos/{owner}/{repo}/pulls/{pull_number}/reviews",
    "/repos/{owner}/{repo}/deployments",
    "/repos/{owner}/{repo}/deployments/{deployment_id}/statuses",
    "/repos/{owner}/{repo}/secret-scanning/alerts",
    "/repos/{owner}/{repo}/dependabot/alerts",
    "/repos/{owner}/{repo}/code-scanning/alerts",
    "/repos/{owner}/{repo}/issues",
    "/repos/{owner}/{repo}/issues/{issue_number}/comments",
]


def extract(description: dict) -> dict:
    out = {"source": "npm @octokit/openapi " + description["info"].get("version", ""), "responses": {}}
    for path in ENDPOINTS:
        response = description["paths"][path]["get"]["responses"]["200"]
        out["responses"][f"GET {path}"] = response["content"]["application/json"]["schema"]
    return out


if __name__ == "__main__":
    with open(sys.argv[1]) as fh:
        json.dump(extract(json.load(fh)), sys.stdout, sort_keys=True, separators=(",", ":"))
    sys.stdout.write("\n")
