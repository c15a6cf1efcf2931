"""Cut the emulator's GraphQL schema out of GitHub's published one, so it cannot drift.

Usage: python tests/data/github/extract_graphql_subset.py > lib/auditbook/demo/github/schema.graphql

Definitions are copied from ``schema.graphql`` (npm @octokit/graphql-schema) as published:
same names, argument and field types; only descriptions and directives are dropped.
"""

from __future__ import annotations

import sys
from pathlib import Path

from graphql import parse, print_ast
from graphql.language import (
    EnumTypeDefinitionNode,
    InputObjectTypeDefinitionNode,
    InterfaceTypeDefinitionNode,
    ObjectTypeDefinitionNode,
    ScalarTypeDefinitionNode,
)

PUBLISHED = Path(__file__).with_name("schema.graphql")

# type name -> {field name -> argument names}; None keeps a whole scalar/enum/input type.
SUBSET: dict[str, dict[str, list[str]] | None] = {
    "Query": {"viewer": [], "rateLimit": [], "repository": ["owner", "name"], "organization": ["login"]},
    "Organization": {"login": [], "repositories": ["first", "after", "orderBy"]},
    "RepositoryConnection": {"totalCount": [], "pageInfo": [], "nodes": []},
    "Actor": {"login": []},
    "User": {"login": []},
    "Bot": {"login": []},
    "RateLimit": {f: [] for f in ["cost", "limit", "nodeCount", "remaining", "resetAt", "used"]},
    "PageInfo": {f: [] for f in ["hasNextPage", "endCursor", "hasPreviousPage", "startCursor"]},
    "Repository": {"name": [], "nameWithOwner": [], "pullRequest": ["number"],
                   "pullRequests": ["states", "baseRefName", "first", "after", "orderBy"],
                   "isArchived": [], "defaultBranchRef": [], "ref": ["qualifiedName"],
                   "deployments": ["environments", "first", "after", "orderBy"],
                   "rulesets": ["first", "after", "includeParents", "targets"]},
    "Ref": {"name": [], "branchProtectionRule": []},
    "BranchProtectionRule": {"pattern": []},
    "DeploymentConnection": {"totalCount": [], "pageInfo": [], "nodes": []},
    "Deployment": {"createdAt": [], "environment": []},
    "RepositoryRulesetConnection": {"totalCount": [], "pageInfo": [], "nodes": []},
    "RepositoryRuleset": {"name": [], "enforcement": [], "target": [], "conditions": []},
    "RepositoryRuleConditions": {"refName": []},
    "RefNameConditionTarget": {"include": [], "exclude": []},
    "DeploymentOrder": None, "DeploymentOrderField": None, "RepositoryOrder": None, "RepositoryOrderField": None,
    "RuleEnforcement": None, "RepositoryRulesetTarget": None,
    "PullRequestConnection": {"totalCount": [], "pageInfo": [], "nodes": []},
    "PullRequest": {
        **{f: [] for f in ["number", "title", "url", "state", "createdAt", "updatedAt", "mergedAt",
                           "baseRefName", "headRefName", "headRefOid", "author", "mergedBy", "mergeCommit"]},
        "labels": ["first", "after"], "reviews": ["first", "after"], "commits": ["first", "after"],
    },
    "LabelConnection": {"totalCount": [], "pageInfo": [], "nodes": []},
    "Label": {"name": []},
    "PullRequestReviewConnection": {"totalCount": [], "pageInfo": [], "nodes": []},
    "PullRequestReview": {f: [] for f in ["id", "fullDatabaseId", "state", "submittedAt", "author", "commit"]},
    "PullRequestCommitConnection": {"totalCount": [], "pageInfo": [], "nodes": []},
    "PullRequestCommit": {"commit": []},
    "Commit": {"oid": [], "committedDate": [], "authors": ["first", "after"]},
    "GitActorConnection": {"totalCount": [], "pageInfo": [], "nodes": []},
    "GitActor": {"name": [], "email": [], "user": []},
    "IssueOrder": None, "IssueOrderField": None, "OrderDirection": None,
    "PullRequestState": None, "PullRequestReviewState": None,
    "DateTime": None, "URI": None, "GitObjectID": None, "BigInt": None,
}


def _strip(node, **overrides):
    """A copy without description and directives (GitHub's @preview/@possibleTypes/@deprecated)."""
    kwargs = {key: getattr(node, key) for key in node.keys if key not in ("loc", "description", "directives")}
    return type(node)(**{**kwargs, **overrides}, description=None, directives=())


def subset_sdl(published_sdl: str) -> str:
    kept = []
    for definition in parse(published_sdl, no_location=True).definitions:
        name = getattr(definition, "name", None)
        if name is None or name.value not in SUBSET:
            continue
        fields = SUBSET[name.value]
        if isinstance(definition, EnumTypeDefinitionNode):
            kept.append(_strip(definition, values=tuple(_strip(v) for v in definition.values)))
        elif isinstance(definition, InputObjectTypeDefinitionNode):
            kept.append(_strip(definition, fields=tuple(_strip(v) for v in definition.fields)))
        elif isinstance(definition, ScalarTypeDefinitionNode):
            kept.append(_strip(definition))
        else:
            assert isinstance(definition, ObjectTypeDefinitionNode | InterfaceTypeDefinitionNode), name.value
            node = _strip(
                definition,
                interfaces=tuple(i for i in definition.interfaces or () if i.name.value in SUBSET),
                fields=tuple(
                    _strip(f, arguments=tuple(_strip(a) for a in f.arguments or ()
                                              if a.name.value in fields[f.name.value]))
                    for f in definition.fields or () if f.name.value in fields
                ),
            )
            missing = set(fields) - {f.name.value for f in node.fields}
            assert not missing, f"{name.value}: {missing} not in the published schema"
            kept.append(node)
    assert {d.name.value for d in kept} == set(SUBSET), set(SUBSET) - {d.name.value for d in kept}
    kept.sort(key=lambda d: d.name.value)
    return "\n\n".join(print_ast(d) for d in kept) + "\n"


if __name__ == "__main__":
    sys.stdout.write("# Subset of GitHub's published GraphQL schema (npm @octokit/graphql-schema 15.26.1, MIT),\n"
                     "# generated by tests/data/github/extract_graphql_subset.py; do not edit by hand.\n\n")
    sys.stdout.write(subset_sdl(PUBLISHED.read_text()))
