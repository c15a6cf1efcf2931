"""GitHub's GraphQL API over the state, executed by graphql-core against ``schema.graphql``.

``schema.graphql`` is cut from GitHub's published schema (see tests/data/github), so a
query that runs here uses GitHub's own names and types. Connections paginate with
opaque cursors, ``first`` is capped at 100 and cost is estimated like GitHub's
(one point per 100 connection requests), both checked before execution as GitHub does.
Several orgs can be served: ``repository(owner:, name:)`` finds the owner's org, and logins
resolve across every org, as users are GitHub-wide.
"""

from __future__ import annotations

import base64
import re
from collections import ChainMap
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from graphql import (
    DocumentNode,
    GraphQLError,
    GraphQLSchema,
    TypeInfo,
    TypeInfoVisitor,
    Visitor,
    build_schema,
    execute,
    get_named_type,
    parse,
    validate,
    value_from_ast_untyped,
    visit,
)
from graphql.language import FieldNode

from auditbook.demo.github.state import GitHubState, PullRequest, Repo, Review, User
from auditbook.provenance import iso

SCHEMA_PATH = Path(__file__).with_name("schema.graphql")
MAX_PAGE = 100
MAX_NODES = 500_000


def load_schema() -> GraphQLSchema:
    return build_schema(SCHEMA_PATH.read_text())


def encode_cursor(offset: int) -> str:
    return base64.b64encode(f"cursor:v2:{offset}".encode()).decode()


def decode_cursor(cursor: str) -> int:
    try:
        return int(base64.b64decode(cursor).decode().removeprefix("cursor:v2:"))
    except ValueError:
        raise GraphQLError(f"`{cursor}` does not appear to be a valid cursor.") from None


def connection(items: list[Any], first: int, after: str | None) -> dict[str, Any]:
    start = decode_cursor(after) + 1 if after else 0
    page = items[start:start + first]
    return {
        "totalCount": len(items),
        "nodes": page,
        "pageInfo": {
            "hasNextPage": start + first < len(items),
            "hasPreviousPage": start > 0,
            "startCursor": encode_cursor(start) if page else None,
            "endCursor": encode_cursor(start + len(page) - 1) if page else None,
        },
    }


def actor(users: Mapping[str, User], login: str | None) -> dict[str, str] | None:
    if login is None:
        return None
    user = users.get(login)
    return {"__typename": "Bot" if user and user.type == "Bot" else "User", "login": login}


@dataclass
class QueryCost:
    """GitHub's rate-limit arithmetic: requests per connection, summed, divided by 100."""

    requests: int = 0
    nodes: int = 0

    @property
    def cost(self) -> int:
        return max(1, round(self.requests / 100))


class _CostVisitor(Visitor):
    def __init__(self, type_info: TypeInfo, variables: dict[str, Any]) -> None:
        super().__init__()
        self.type_info = type_info
        self.variables = variables
        self.multipliers = [1]
        self.stack: list[bool] = []
        self.total = QueryCost()
        self.errors: list[GraphQLError] = []

    def enter_field(self, node: FieldNode, *_: Any) -> None:
        field_def = self.type_info.get_field_def()
        is_connection = field_def is not None and get_named_type(field_def.type).name.endswith("Connection")
        self.stack.append(is_connection)
        if not is_connection:
            return
        args = {a.name.value: value_from_ast_untyped(a.value, self.variables) for a in node.arguments}
        first = args.get("first")
        if first is None:
            self.errors.append(GraphQLError(
                f"You must provide a `first` or `last` value to properly paginate the `{node.name.value}` "
                "connection.", node, extensions={"type": "MISSING_PAGINATION_BOUNDARIES"}))
            first = 0
        elif not 1 <= first <= MAX_PAGE:
            self.errors.append(GraphQLError(
                f"Requesting {first} records on the `{node.name.value}` connection exceeds the `first` limit "
                f"of {MAX_PAGE} records.", node, extensions={"type": "EXCESSIVE_PAGINATION"}))
        self.total.requests += self.multipliers[-1]
        self.total.nodes += self.multipliers[-1] * first
        self.multipliers.append(self.multipliers[-1] * max(first, 1))

    def leave_field(self, *_: Any) -> None:
        if self.stack.pop():
            self.multipliers.pop()


def query_cost(schema: GraphQLSchema, document: DocumentNode,
               variables: dict[str, Any]) -> tuple[QueryCost, list[GraphQLError]]:
    type_info = TypeInfo(schema)
    visitor = _CostVisitor(type_info, variables)
    visit(document, TypeInfoVisitor(type_info, visitor))
    if visitor.total.nodes > MAX_NODES:
        visitor.errors.append(GraphQLError(
            f"This query requests up to {visitor.total.nodes:,} possible nodes which exceeds the maximum limit "
            f"of {MAX_NODES:,}.", extensions={"type": "MAX_NODE_LIMIT_EXCEEDED"}))
    return visitor.total, visitor.errors


# -- object resolvers: attributes and methods named like the schema's fields ------------
class RepositoryNode:
    def __init__(self, state: GitHubState, repo: Repo, users: Mapping[str, User]) -> None:
        self._state, self._repo, self._users = state, repo, users
        self.name = repo.name
        self.nameWithOwner = f"{state.org.login}/{repo.name}"
        self.isArchived = repo.archived
        self.defaultBranchRef = self._ref(repo.default_branch)

    def _ref(self, branch: str) -> dict[str, Any] | None:
        """A branch and its classic protection rule (GitHub names the rule by its pattern)."""
        if branch not in self._repo.branches:
            return None
        rule = {"pattern": branch} if branch in self._repo.protection else None
        return {"name": branch, "branchProtectionRule": rule}

    def ref(self, _info: Any, qualifiedName: str) -> dict[str, Any] | None:
        return self._ref(qualifiedName.removeprefix("refs/heads/")) if qualifiedName.startswith("refs/heads/") \
            else None

    def deployments(self, _info: Any, first: int, after: str | None = None, environments: list[str] | None = None,
                    orderBy: dict[str, str] | None = None) -> dict[str, Any]:
        chosen = [d for d in self._repo.deployments if environments is None or d.environment in environments]
        chosen.sort(key=lambda d: (d.created_at, d.id), reverse=(orderBy or {}).get("direction") == "DESC")
        return connection([{"createdAt": _when(d.created_at), "environment": d.environment} for d in chosen],
                          first, after)

    def rulesets(self, _info: Any, first: int, after: str | None = None, includeParents: bool = True,
                 targets: list[str] | None = None) -> dict[str, Any]:
        """The repository's own rulesets (the emulator has no organization rulesets to include)."""
        chosen = [r for r in self._repo.rulesets if targets is None or r.target.upper() in targets]
        return connection([{"name": r.name, "enforcement": r.enforcement.upper(), "target": r.target.upper(),
                            "conditions": {"refName": {"include": r.include, "exclude": r.exclude}}}
                           for r in chosen], first, after)

    def pullRequest(self, _info: Any, number: int) -> PullRequestNode | None:
        pr = self._repo.pulls.get(number)
        return None if pr is None else PullRequestNode(self._state, self._repo, pr, self._users)

    def pullRequests(self, _info: Any, first: int, after: str | None = None, states: list[str] | None = None,
                     baseRefName: str | None = None, orderBy: dict[str, str] | None = None) -> dict[str, Any]:
        pulls = [pr for pr in self._repo.pulls.values()
                 if (states is None or _pr_state(pr) in states)
                 and (baseRefName is None or pr.base_ref == baseRefName)]
        order = orderBy or {"field": "CREATED_AT", "direction": "ASC"}
        key = {"CREATED_AT": lambda pr: pr.created_at, "UPDATED_AT": lambda pr: pr.updated_at,
               "COMMENTS": lambda pr: 0}[order["field"]]
        pulls.sort(key=lambda pr: (key(pr), pr.number), reverse=order["direction"] == "DESC")
        page = connection(pulls, first, after)
        page["nodes"] = [PullRequestNode(self._state, self._repo, pr, self._users) for pr in page["nodes"]]
        return page


def _pr_state(pr: PullRequest) -> str:
    if pr.merged_at is not None:
        return "MERGED"
    return "OPEN" if pr.state == "open" else "CLOSED"


def _when(value: datetime | None) -> str | None:
    return iso(value)


class PullRequestNode:
    def __init__(self, state: GitHubState, repo: Repo, pr: PullRequest, users: Mapping[str, User]) -> None:
        self._state, self._repo, self._pr, self._users = state, repo, pr, users
        self.number = pr.number
        self.title = pr.title
        self.url = f"https://github.com/{state.org.login}/{repo.name}/pull/{pr.number}"
        self.state = _pr_state(pr)
        self.createdAt = _when(pr.created_at)
        self.updatedAt = _when(pr.updated_at)
        self.mergedAt = _when(pr.merged_at)
        self.baseRefName = pr.base_ref
        self.headRefName = pr.head_ref
        self.headRefOid = pr.head_sha
        self.author = actor(users, pr.author)
        self.mergedBy = actor(users, pr.merged_by)
        self.mergeCommit = self._commit(pr.merge_commit_sha) if pr.merge_commit_sha else None

    def _commit(self, sha: str) -> dict[str, Any]:
        commit = self._repo.commits[sha]

        def authors(_info: Any, first: int, after: str | None = None) -> dict[str, Any]:
            """The author, then each ``Co-authored-by:`` trailer; a user when GitHub knows the email."""
            people = [(commit.author_name, commit.author_email, commit.author_login)]
            for name, email in re.findall(r"^Co-authored-by:\s*(.+?)\s*<([^>]+)>\s*$", commit.message, re.M):
                login = next((u.login for u in self._users.values() if u.email and u.email == email), None)
                people.append((name, email, login))
            return connection([{"name": n, "email": e, "user": {"login": u} if u else None} for n, e, u in people],
                              first, after)
        return {"oid": sha, "committedDate": _when(commit.committed_at), "authors": authors}

    def labels(self, _info: Any, first: int, after: str | None = None) -> dict[str, Any]:
        return connection([{"name": name} for name in self._pr.labels], first, after)

    def reviews(self, _info: Any, first: int, after: str | None = None) -> dict[str, Any]:
        return connection([self._review(r) for r in self._pr.reviews], first, after)

    def commits(self, _info: Any, first: int, after: str | None = None) -> dict[str, Any]:
        return connection([{"commit": self._commit(sha)} for sha in self._pr.commits], first, after)

    def _review(self, review: Review) -> dict[str, Any]:
        return {"id": base64.b64encode(f"0:PRR{review.id}".encode()).decode().rstrip("="),
                "fullDatabaseId": str(review.id), "state": review.state,
                "submittedAt": _when(review.submitted_at), "author": actor(self._users, review.user),
                "commit": self._commit(review.commit_id)}


class OrganizationNode:
    def __init__(self, state: GitHubState, users: Mapping[str, User]) -> None:
        self._state, self._users = state, users
        self.login = state.org.login

    def repositories(self, _info: Any, first: int, after: str | None = None,
                     orderBy: dict[str, str] | None = None) -> dict[str, Any]:
        order = orderBy or {"field": "CREATED_AT", "direction": "ASC"}
        keys = {"NAME": lambda r: (r.name.lower(), r.id),
                "CREATED_AT": lambda r: (r.created_at.timestamp() if r.created_at else 0, r.id)}
        key = keys.get(order["field"], lambda r: (0, r.id))
        repos = sorted(self._state.repos.values(), key=key, reverse=order["direction"] == "DESC")
        page = connection(repos, first, after)
        page["nodes"] = [RepositoryNode(self._state, r, self._users) for r in page["nodes"]]
        return page


class Root:
    def __init__(self, states: list[GitHubState], login: str, rate_limit: dict[str, Any]) -> None:
        self._states = states
        self._users = ChainMap(*(s.users for s in states))
        self.viewer = actor(self._users, login)
        self.rateLimit = rate_limit

    def repository(self, _info: Any, owner: str, name: str) -> RepositoryNode:
        """The owner's org matches case-insensitively, as on GitHub; logins resolve own org first."""
        state = next((s for s in self._states if s.org.login.lower() == owner.lower()), None)
        repo = state.repos.get(name) if state is not None else None
        if state is None or repo is None:
            raise GraphQLError(f"Could not resolve to a Repository with the name '{owner}/{name}'.",
                               extensions={"type": "NOT_FOUND"})
        return RepositoryNode(state, repo, self._users.new_child(state.users))


    def organization(self, _info: Any, login: str) -> OrganizationNode:
        state = next((s for s in self._states if s.org.login.lower() == login.lower()), None)
        if state is None:
            raise GraphQLError(f"Could not resolve to an Organization with the login of '{login}'.",
                               extensions={"type": "NOT_FOUND"})
        return OrganizationNode(state, self._users.new_child(state.users))


def github_errors(errors: list[GraphQLError]) -> list[dict[str, Any]]:
    """GitHub puts an error's ``type`` beside its message, not under ``extensions``."""
    out = []
    for error in errors:
        formatted = dict(error.formatted)
        extensions = formatted.pop("extensions", None) or {}
        if "type" in extensions:
            formatted["type"] = extensions.pop("type")
        if extensions:
            formatted["extensions"] = extensions
        out.append(formatted)
    return out


class GraphQLApi:
    """Parses, validates, prices and executes one query for one caller, over every org given."""

    def __init__(self, state: GitHubState, *more_states: GitHubState) -> None:
        self.state = state
        self.states = [state, *more_states]
        self.schema = load_schema()

    def prepare(self, query: str, variables: dict[str, Any]) -> tuple[DocumentNode | None, QueryCost, list]:
        try:
            document = parse(query)
        except GraphQLError as error:
            return None, QueryCost(), [error]
        errors = validate(self.schema, document)
        if errors:
            return document, QueryCost(), errors
        cost, errors = query_cost(self.schema, document, variables)
        return document, cost, errors

    def run(self, document: DocumentNode, variables: dict[str, Any], login: str,
            rate_limit: dict[str, Any]) -> dict[str, Any]:
        result = execute(self.schema, document, Root(self.states, login, rate_limit), variable_values=variables)
        body: dict[str, Any] = {"data": result.data}
        if result.errors:
            body["errors"] = github_errors(list(result.errors))
        return body
