"""A local GitHub API: REST and GraphQL over one or more :class:`GitHubState` (one org each), on 127.0.0.1.

Collectors reach it the way they reach GitHub or GitHub Enterprise Server: through
``GITHUB_API_URL`` and ``GITHUB_TOKEN``. Tests read ``requests`` (every request served)
and use ``inject_fault`` to make matching requests fail as GitHub fails. Several orgs share one
server as they share github.com: routes go to the org their path names, while the caller, its rate
limit, the request log and the faults are the server's.
"""

from __future__ import annotations

import base64
import fnmatch
import json
import math
import re
import threading
import time
import uuid
from collections import ChainMap
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from graphql import GraphQLError, get_operation_ast, parse
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server
from werkzeug.urls import urlencode
from werkzeug.wrappers import Request, Response

from auditbook.demo.github.graphql_api import GraphQLApi, github_errors
from auditbook.demo.github.rest import Renderer
from auditbook.demo.github.state import GitHubState, Repo, User
from auditbook.provenance import iso

AUDIT_LOG_DAYS = 180  # GitHub keeps an organization's audit log (web events) 180 days
STOP_POLL_SECONDS = 0.05  # how often the server looks for a stop request (werkzeug's 0.5 s held up every stop)
DOCS = "https://docs.github.com/rest"
RATE_LIMIT = 5000

URLS = Map([
    Rule("/user", endpoint="user"),
    Rule("/rate_limit", endpoint="rate_limit"),
    Rule("/orgs/<org>", endpoint="org"),
    Rule("/orgs/<org>/repos", endpoint="org_repos"),
    Rule("/orgs/<org>/members", endpoint="org_members"),
    Rule("/orgs/<org>/outside_collaborators", endpoint="outside_collaborators"),
    Rule("/orgs/<org>/memberships/<username>", endpoint="membership"),
    Rule("/orgs/<org>/audit-log", endpoint="audit_log"),
    Rule("/repos/<owner>/<repo>", endpoint="repo"),
    Rule("/repos/<owner>/<repo>/branches/<path:branch>/protection", endpoint="protection"),
    Rule("/repos/<owner>/<repo>/branches/<path:branch>", endpoint="branch"),
    Rule("/repos/<owner>/<repo>/rules/branches/<path:branch>", endpoint="branch_rules"),
    Rule("/repos/<owner>/<repo>/rulesets", endpoint="rulesets"),
    Rule("/repos/<owner>/<repo>/rulesets/<int:ruleset_id>", endpoint="ruleset"),
    Rule("/repos/<owner>/<repo>/commits", endpoint="commits"),
    Rule("/repos/<owner>/<repo>/commits/<ref>", endpoint="commit"),
    Rule("/repos/<owner>/<repo>/commits/<sha>/pulls", endpoint="commit_pulls"),
    Rule("/repos/<owner>/<repo>/pulls/<int:number>", endpoint="pull"),
    Rule("/repos/<owner>/<repo>/pulls/<int:number>/reviews", endpoint="reviews"),
    Rule("/repos/<owner>/<repo>/deployments", endpoint="deployments"),
    Rule("/repos/<owner>/<repo>/deployments/<int:deployment_id>/statuses", endpoint="deployment_statuses"),
    Rule("/repos/<owner>/<repo>/secret-scanning/alerts", endpoint="secret_scanning_alerts"),
    Rule("/repos/<owner>/<repo>/issues", endpoint="issues"),
    Rule("/repos/<owner>/<repo>/issues/<int:number>/comments", endpoint="issue_comments"),
    Rule("/repos/<owner>/<repo>/dependabot/alerts", endpoint="dependabot_alerts"),
    Rule("/repos/<owner>/<repo>/code-scanning/alerts", endpoint="code_scanning_alerts"),
    Rule("/graphql", endpoint="graphql", methods=["POST"]),
], strict_slashes=False)


@dataclass(frozen=True)
class RequestInfo:
    method: str
    path: str
    query: str
    operation: str | None  # GraphQL operation name


@dataclass(frozen=True)
class LoggedRequest(RequestInfo):
    status: int = 0


@dataclass
class FaultResponse:
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)


def secondary_rate_limit(retry_after: int | None = 60, status: int = 403) -> FaultResponse:
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
    return FaultResponse(status, {
        "message": "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
        "documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"}, headers)


def primary_rate_limit(reset_in: int) -> FaultResponse:
    return FaultResponse(403, {
        "message": "API rate limit exceeded for user ID 9002.",
        "documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"},
        {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(time.time()) + reset_in)})


def server_error(status: int = 502) -> FaultResponse:
    return FaultResponse(status, {"message": "Server Error"})


@dataclass
class _Fault:
    predicate: Callable[[RequestInfo], bool]
    response: FaultResponse
    times: int | None  # None: every matching request


class NotFound(Exception):
    def __init__(self, message: str = "Not Found", docs: str = DOCS) -> None:
        super().__init__(message)
        self.body = {"message": message, "documentation_url": docs, "status": "404"}


class GitHubEmulator:
    """WSGI app plus a threaded server on 127.0.0.1 at a free port; usable as a context manager.

    Serves every org given (``GitHubEmulator(state, *more_states)``); ``state`` stays the first one.
    """

    def __init__(self, state: GitHubState, *more_states: GitHubState) -> None:
        self.state = state
        self.states = [state, *more_states]
        self._by_org: dict[str, GitHubState] = {}
        for s in self.states:
            if s.org.login.lower() in self._by_org:
                raise ValueError(f"org {s.org.login} is given twice")
            self._by_org[s.org.login.lower()] = s
        # Users and tokens are GitHub-wide: a login known to any org resolves everywhere (live views).
        self.users: ChainMap[str, User] = ChainMap(*(s.users for s in self.states))
        self.tokens: ChainMap[str, str] = ChainMap(*(s.tokens for s in self.states))
        self.graphql_api = GraphQLApi(state, *more_states)
        self.requests: list[LoggedRequest] = []
        self._faults: list[_Fault] = []
        self._lock = threading.Lock()
        self._used: dict[tuple[str, str], int] = {}
        self._reset = int(time.time()) + 3600
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ----------------------------------------------------------------------
    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("emulator not started")
        return f"http://127.0.0.1:{self._server.port}"

    def start(self) -> GitHubEmulator:
        self._server = make_server("127.0.0.1", 0, self, threaded=True, request_handler=_QuietHandler)
        self._thread = threading.Thread(target=self._server.serve_forever, args=(STOP_POLL_SECONDS,),
                                        name="github-emulator", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> GitHubEmulator:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    # -- test hooks ---------------------------------------------------------------------
    def inject_fault(self, predicate: Callable[[RequestInfo], bool], response: FaultResponse,
                     times: int | None = 1) -> None:
        """Answer the next ``times`` matching requests (all if None) with ``response``."""
        with self._lock:
            self._faults.append(_Fault(predicate, response, times))

    def clear(self) -> None:
        with self._lock:
            self.requests.clear()
            self._faults.clear()

    def _take_fault(self, info: RequestInfo) -> FaultResponse | None:
        with self._lock:
            for fault in self._faults:
                if fault.predicate(info) and fault.times != 0:
                    if fault.times is not None:
                        fault.times -= 1
                    return fault.response
        return None

    # -- WSGI ---------------------------------------------------------------------------
    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterator[bytes]:
        request = Request(environ)
        info = RequestInfo(request.method, request.path, request.query_string.decode(), _operation_name(request))
        response = self._respond(request, info)
        with self._lock:
            self.requests.append(LoggedRequest(**vars(info), status=response.status_code))
        return response(environ, start_response)

    def _respond(self, request: Request, info: RequestInfo) -> Response:
        login = self._login(request)
        if login is None:
            return _json({"message": "Bad credentials", "documentation_url": DOCS, "status": "401"}, 401)
        resource = "graphql" if request.path.rstrip("/") == "/graphql" else "core"
        fault = self._take_fault(info)
        if fault is not None:
            response = _json(fault.body, fault.status)
            self._rate_headers(response, login, resource, cost=1)
            response.headers.update(fault.headers)
            return response
        try:
            endpoint, args = URLS.bind_to_environ(request.environ).match()
            if endpoint == "graphql":
                body, status, cost = self._graphql(request, login)
            else:
                body, status, cost = getattr(self, f"_get_{endpoint}")(request, login, **args), 200, 1
        except NotFound as exc:
            body, status, cost = exc.body, 404, 1
        except HTTPException:
            body, status, cost = NotFound().body, 404, 1
        response = body if isinstance(body, Response) else _json(body, status)
        self._rate_headers(response, login, resource, cost)
        return response

    def _login(self, request: Request) -> str | None:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() not in ("token", "bearer"):
            return None
        return self.tokens.get(token.strip())

    def _rate(self, login: str, resource: str) -> dict[str, int]:
        used = self._used.get((login, resource), 0)
        return {"limit": RATE_LIMIT, "used": used, "remaining": max(0, RATE_LIMIT - used), "reset": self._reset}

    def _rate_headers(self, response: Response, login: str, resource: str, cost: int) -> None:
        with self._lock:
            self._used[(login, resource)] = self._used.get((login, resource), 0) + cost
            rate = self._rate(login, resource)
        response.headers.update({
            "x-ratelimit-limit": str(rate["limit"]), "x-ratelimit-remaining": str(rate["remaining"]),
            "x-ratelimit-used": str(rate["used"]), "x-ratelimit-reset": str(rate["reset"]),
            "x-ratelimit-resource": resource, "x-github-request-id": uuid.uuid4().hex[:20].upper(),
            "x-github-api-version-selected": "2022-11-28", "x-github-media-type": "github.v3; format=json",
        })

    # -- GraphQL ------------------------------------------------------------------------
    def _graphql(self, request: Request, login: str) -> tuple[dict[str, Any], int, int]:
        try:
            payload = json.loads(request.get_data() or b"{}")
        except ValueError:
            return {"message": "Problems parsing JSON", "documentation_url": DOCS, "status": "400"}, 400, 1
        variables = payload.get("variables") or {}
        document, cost, errors = self.graphql_api.prepare(payload.get("query") or "", variables)
        if errors or document is None:
            return {"errors": github_errors(errors)}, 200, 1
        with self._lock:
            rate = self._rate(login, "graphql")
        rate_limit = {"cost": cost.cost, "limit": rate["limit"], "nodeCount": cost.nodes,
                      "remaining": max(0, rate["remaining"] - cost.cost), "used": rate["used"] + cost.cost,
                      "resetAt": iso(datetime.fromtimestamp(rate["reset"], UTC))}
        return self.graphql_api.run(document, variables, login, rate_limit), 200, cost.cost

    # -- REST helpers -------------------------------------------------------------------
    def _r(self, request: Request, org: str | None = None) -> Renderer:
        """A renderer for ``org``'s records (the first org's for org-less routes such as ``/user``)."""
        state = self.state if org is None else self._org(org)
        return Renderer(state, request.host_url, self._users(state))

    def _users(self, state: GitHubState) -> ChainMap[str, User]:
        """The org's own users first, then every other org's."""
        return self.users.new_child(state.users)

    def _repo(self, owner: str, name: str) -> Repo:
        repo = self._org(owner).repos.get(name)
        if repo is None:
            raise NotFound()
        return repo

    def _org(self, org: str) -> GitHubState:
        """The state of the org a path names; logins match case-insensitively, as on GitHub."""
        state = self._by_org.get(org.lower())
        if state is None:
            raise NotFound()
        return state

    # -- REST endpoints (GitHub's paths; one method per route endpoint) -----------------
    def _get_user(self, request: Request, login: str) -> dict[str, Any]:
        return self._r(request).authenticated_user(login)

    def _get_rate_limit(self, request: Request, login: str) -> dict[str, Any]:
        with self._lock:
            core, graphql = self._rate(login, "core"), self._rate(login, "graphql")
        search = {"limit": 30, "used": 0, "remaining": 30, "reset": self._reset}
        return {"resources": {"core": core, "graphql": graphql, "search": search}, "rate": core}

    def _get_org(self, request: Request, login: str, org: str) -> dict[str, Any]:
        return self._r(request, org).org(self._org(org).org)

    def _get_org_repos(self, request: Request, login: str, org: str) -> Response:
        repos = sorted(self._org(org).repos.values(), key=lambda r: r.id)
        return _page(request, [self._r(request, org).repo(r, full=False) for r in repos])

    def _get_org_members(self, request: Request, login: str, org: str) -> Response:
        state = self._org(org)
        role = request.args.get("role", "all")
        members = [m for m in state.org.members if role in ("all", m.role)]
        if request.args.get("filter") == "2fa_disabled":
            users = self._users(state)
            members = [m for m in members if not users[m.login].two_factor_enabled]
        r = self._r(request, org)
        return _page(request, [r.user(m.login) for m in sorted(members, key=lambda m: m.login)])

    def _get_outside_collaborators(self, request: Request, login: str, org: str) -> Response:
        state = self._org(org)
        logins = state.org.outside_collaborators
        if request.args.get("filter") == "2fa_disabled":
            users = self._users(state)
            logins = [u for u in logins if not users[u].two_factor_enabled]
        return _page(request, [self._r(request, org).user(u) for u in sorted(logins)])

    def _get_membership(self, request: Request, login: str, org: str, username: str) -> dict[str, Any]:
        state = self._org(org)
        for member in state.org.members:
            if member.login == username:
                return self._r(request, org).membership(state.org, member.login, member.role)
        raise NotFound()

    def _get_audit_log(self, request: Request, login: str, org: str) -> Response:
        """The organization audit log as GitHub Enterprise Cloud serves it: web events of the last 180 days,
        the last three months unless ``phrase`` has a ``created:`` qualifier, newest first unless ``order=asc``,
        cursor pages; 404 for an org whose plan has no audit log API."""
        state = self._org(org)
        if not state.org.audit_log:
            raise NotFound("Not Found", "https://docs.github.com/rest/orgs/orgs#get-the-audit-log-for-an-organization")
        now = datetime.now(UTC)
        since, until = now - timedelta(days=AUDIT_LOG_DAYS), now
        phrase = request.args.get("phrase", "")
        created = re.findall(r"created:(>=|<=|>|<)?(\d{4}-\d{2}-\d{2})(?:\.\.(\d{4}-\d{2}-\d{2}))?", phrase)
        if not created:
            since = max(since, now - timedelta(days=90))
        for op, first, last in created:
            day = datetime.fromisoformat(first).replace(tzinfo=UTC)
            if last:
                since, until = max(since, day), min(until, datetime.fromisoformat(last).replace(tzinfo=UTC)
                                                     + timedelta(days=1))
            elif op in (">=", ">"):
                since = max(since, day + timedelta(days=1 if op == ">" else 0))
            elif op in ("<=", "<"):
                until = min(until, day + timedelta(days=1 if op == "<=" else 0))
            else:
                since, until = max(since, day), min(until, day + timedelta(days=1))
        actions = re.findall(r"action:([\w.]+)", phrase)
        entries = [e for e in state.audit_log
                   if since.timestamp() * 1000 <= e["@timestamp"] < until.timestamp() * 1000
                   and (not actions or any(e["action"] == a or e["action"].startswith(a + ".") for a in actions))]
        entries.sort(key=lambda e: (e["@timestamp"], e["_document_id"]),
                     reverse=request.args.get("order", "desc") != "asc")
        return _cursor_page(request, entries, lambda e: e)

    def _get_repo(self, request: Request, login: str, owner: str, repo: str) -> dict[str, Any]:
        return self._r(request, owner).repo(self._repo(owner, repo))

    def _get_branch(self, request: Request, login: str, owner: str, repo: str, branch: str) -> dict[str, Any]:
        record = self._repo(owner, repo)
        if branch not in record.branches:
            raise NotFound("Branch not found", "https://docs.github.com/rest/branches/branches#get-a-branch")
        return self._r(request, owner).branch(record, branch)

    def _get_protection(self, request: Request, login: str, owner: str, repo: str, branch: str) -> dict[str, Any]:
        record = self._repo(owner, repo)
        if branch not in record.branches:
            raise NotFound("Branch not found", "https://docs.github.com/rest/branches/branch-protection")
        if branch not in record.protection:
            raise NotFound("Branch not protected",
                           "https://docs.github.com/rest/branches/branch-protection#get-branch-protection")
        return self._r(request, owner).protection(record, branch, record.protection[branch])

    def _get_branch_rules(self, request: Request, login: str, owner: str, repo: str, branch: str) -> Response:
        record = self._repo(owner, repo)
        r = self._r(request, owner)
        rules = [r.rule_detail(record, rs, rule) for rs in record.rulesets
                 if rs.enforcement == "active" and _ruleset_applies(record, rs.include, rs.exclude, branch)
                 for rule in rs.rules]
        return _page(request, rules)

    def _get_rulesets(self, request: Request, login: str, owner: str, repo: str) -> Response:
        record = self._repo(owner, repo)
        return _page(request, [self._r(request, owner).ruleset(record, rs, full=False) for rs in record.rulesets])

    def _get_ruleset(self, request: Request, login: str, owner: str, repo: str, ruleset_id: int) -> dict[str, Any]:
        record = self._repo(owner, repo)
        for ruleset in record.rulesets:
            if ruleset.id == ruleset_id:
                return self._r(request, owner).ruleset(record, ruleset)
        raise NotFound()

    def _get_commits(self, request: Request, login: str, owner: str, repo: str) -> Response:
        record = self._repo(owner, repo)
        start = request.args.get("sha") or record.default_branch
        commits = [record.commits[sha] for sha in _reachable(record, start)]
        since, until = _when(request.args.get("since")), _when(request.args.get("until"))
        commits = [c for c in commits if (since is None or c.committed_at >= since)
                   and (until is None or c.committed_at <= until)]
        commits.sort(key=lambda c: (c.committed_at, c.sha), reverse=True)
        r = self._r(request, owner)
        return _page(request, commits, lambda c: r.commit(record, c))

    def _get_commit(self, request: Request, login: str, owner: str, repo: str, ref: str) -> dict[str, Any]:
        record = self._repo(owner, repo)
        sha = record.branches[ref][-1] if ref in record.branches else ref
        if sha not in record.commits:
            raise NotFound(f"No commit found for SHA: {ref}", "https://docs.github.com/rest/commits/commits")
        return self._r(request, owner).commit(record, record.commits[sha])

    def _get_commit_pulls(self, request: Request, login: str, owner: str, repo: str, sha: str) -> Response:
        record = self._repo(owner, repo)
        if sha not in record.commits:
            raise NotFound(f"No commit found for SHA: {sha}", "https://docs.github.com/rest/commits/commits")
        r = self._r(request, owner)
        return _page(request, [r.pull(record, pr, full=False) for pr in record.pulls_containing(sha)])

    def _get_pull(self, request: Request, login: str, owner: str, repo: str, number: int) -> dict[str, Any]:
        record = self._repo(owner, repo)
        if number not in record.pulls:
            raise NotFound()
        return self._r(request, owner).pull(record, record.pulls[number])

    def _get_reviews(self, request: Request, login: str, owner: str, repo: str, number: int) -> Response:
        record = self._repo(owner, repo)
        if number not in record.pulls:
            raise NotFound()
        pr = record.pulls[number]
        r = self._r(request, owner)
        return _page(request, pr.reviews, lambda review: r.review(record, pr, review))

    def _get_deployments(self, request: Request, login: str, owner: str, repo: str) -> Response:
        record = self._repo(owner, repo)
        wanted = {k: request.args.get(k) for k in ("environment", "sha", "ref", "task") if request.args.get(k)}
        deployments = [d for d in record.deployments
                       if all(getattr(d, k, "deploy" if k == "task" else None) == v for k, v in wanted.items())]
        deployments.sort(key=lambda d: d.id, reverse=True)
        r = self._r(request, owner)
        return _page(request, deployments, lambda d: r.deployment(record, d))

    def _get_deployment_statuses(self, request: Request, login: str, owner: str, repo: str,
                                 deployment_id: int) -> Response:
        record = self._repo(owner, repo)
        deployment = next((d for d in record.deployments if d.id == deployment_id), None)
        if deployment is None:
            raise NotFound()
        r = self._r(request, owner)
        statuses = sorted(deployment.statuses, key=lambda s: s.id, reverse=True)  # newest first, as GitHub
        return _page(request, statuses, lambda s: r.deployment_status(record, deployment, s))

    def _get_secret_scanning_alerts(self, request: Request, login: str, owner: str, repo: str) -> Response:
        """``state``, ``secret_type``, ``resolution`` filters, ``sort``/``direction``, ``hide_secret``."""
        record = self._repo(owner, repo)
        alerts = list(record.secret_scanning_alerts)
        for name in ("state", "resolution", "secret_type"):
            wanted = request.args.get(name)
            if wanted:
                alerts = [a for a in alerts if a.get(name) in wanted.split(",")]
        key = "updated_at" if request.args.get("sort") == "updated" else "created_at"
        alerts.sort(key=lambda a: (a.get(key) or a["created_at"], a["number"]),
                    reverse=request.args.get("direction", "desc") == "desc")
        hide = request.args.get("hide_secret", "false").lower() == "true"
        r = self._r(request, owner)
        return _page(request, alerts, lambda a: r.secret_scanning_alert(record, a, hide_secret=hide))

    def _get_dependabot_alerts(self, request: Request, login: str, owner: str, repo: str) -> Response:
        """``state``/``severity``/``ecosystem``/``package``/``scope`` filters, ``sort``/``direction``, and
        cursor pagination (``after``/``before``, ``Link`` with cursors) as GitHub serves this list."""
        record = self._repo(owner, repo)
        alerts = list(record.dependabot_alerts)
        for name in ("state", "severity", "ecosystem", "package", "scope"):
            wanted = request.args.get(name)
            if wanted:
                alerts = [a for a in alerts if str(a.get(name, "runtime" if name == "scope" else "")) in
                          wanted.split(",")]
        key = "updated_at" if request.args.get("sort") == "updated" else "created_at"
        alerts.sort(key=lambda a: (_alert_updated(a) if key == "updated_at" else a["created_at"], a["number"]),
                    reverse=request.args.get("direction", "desc") == "desc")
        r = self._r(request, owner)
        return _cursor_page(request, alerts, lambda a: r.dependabot_alert(record, a))

    def _get_code_scanning_alerts(self, request: Request, login: str, owner: str, repo: str) -> Response:
        """``state``, ``tool_name``, ``severity`` filters and ``sort``/``direction``, paged like GitHub."""
        record = self._repo(owner, repo)
        alerts = list(record.code_scanning_alerts)
        for name, field_name in (("state", "state"), ("tool_name", "tool"), ("severity", "security_severity")):
            wanted = request.args.get(name)
            if wanted:
                alerts = [a for a in alerts if a.get(field_name, "CodeQL" if name == "tool_name" else None) == wanted]
        key = "updated_at" if request.args.get("sort") == "updated" else "created_at"
        alerts.sort(key=lambda a: (_alert_updated(a) if key == "updated_at" else a["created_at"], a["number"]),
                    reverse=request.args.get("direction", "desc") == "desc")
        r = self._r(request, owner)
        return _page(request, alerts, lambda a: r.code_scanning_alert(record, a))

    def _get_issues(self, request: Request, login: str, owner: str, repo: str) -> Response:
        """``labels`` (all of them), ``state`` (open/closed/all, default open), ``since`` (updated at or
        after), ``sort`` (created/updated), ``direction``; pull requests are issues too, as on GitHub."""
        record = self._repo(owner, repo)
        issues = list(record.issues)
        state = request.args.get("state", "open")
        if state != "all":
            issues = [i for i in issues if i["state"] == state]
        wanted = [x.strip() for x in request.args.get("labels", "").split(",") if x.strip()]
        issues = [i for i in issues if set(wanted) <= set(i.get("labels", []))]
        since = _when(request.args.get("since"))
        if since is not None:
            issues = [i for i in issues if i["updated_at"] >= since]
        key = "updated_at" if request.args.get("sort") == "updated" else "created_at"
        issues.sort(key=lambda i: (i[key], i["number"]), reverse=request.args.get("direction", "desc") == "desc")
        r = self._r(request, owner)
        return _page(request, issues, lambda i: r.issue(record, i))

    def _get_issue_comments(self, request: Request, login: str, owner: str, repo: str, number: int) -> Response:
        record = self._repo(owner, repo)
        issue = next((i for i in record.issues if i["number"] == number), None)
        if issue is None:
            raise NotFound()
        r = self._r(request, owner)
        comments = sorted(issue.get("comments", []), key=lambda c: (c["created_at"], c["id"]))
        return _page(request, comments, lambda c: r.issue_comment(record, issue, c))


class _QuietHandler(WSGIRequestHandler):
    """No access log on stderr: ``GitHubEmulator.requests`` is the log."""

    def log_request(self, *_: Any) -> None:
        pass


def _json(body: Any, status: int = 200) -> Response:
    return Response(json.dumps(body), status=status, content_type="application/json; charset=utf-8")


def _page(request: Request, items: list[Any], render: Callable[[Any], Any] = lambda item: item) -> Response:
    """One page as GitHub serves it: ``per_page`` (default 30, max 100), ``page``, ``Link``."""
    try:
        per_page = min(max(int(request.args.get("per_page", 30)), 1), 100)
        page = max(int(request.args.get("page", 1)), 1)
    except ValueError:
        per_page, page = 30, 1
    last = max(1, math.ceil(len(items) / per_page))
    response = _json([render(item) for item in items[(page - 1) * per_page:page * per_page]])
    links = []
    if page < last:
        links += [(page + 1, "next"), (last, "last")]
    if page > 1:
        links += [(1, "first"), (min(page - 1, last), "prev")]
    if links:
        response.headers["Link"] = ", ".join(f'<{_page_url(request, n)}>; rel="{rel}"' for n, rel in links)
    return response


def _alert_updated(alert: dict[str, Any]) -> datetime:
    return alert.get("fixed_at") or alert.get("dismissed_at") or alert.get("auto_dismissed_at") or alert["created_at"]


def _cursor_page(request: Request, items: list[Any], render: Callable[[Any], Any]) -> Response:
    """One page of a cursor-paginated list (``after``/``before`` opaque cursors, ``per_page`` up to 100)."""
    try:
        per_page = min(max(int(request.args.get("per_page", 30)), 1), 100)
    except ValueError:
        per_page = 30
    cursors = [base64.urlsafe_b64encode(f"cursor:{i}".encode()).decode() for i in range(len(items))]
    start, end = 0, len(items)
    if request.args.get("after") in cursors:
        start = cursors.index(request.args["after"]) + 1
    if request.args.get("before") in cursors:
        end = cursors.index(request.args["before"])
        start = max(start, end - per_page)
    stop = min(end, start + per_page)
    response = _json([render(item) for item in items[start:stop]])
    links = []
    if stop < end:
        links.append((("after", cursors[stop - 1]), "next"))
    if start > 0:
        links.append((("before", cursors[start]), "prev"))
    if links:
        parts = []
        for (name, cursor), rel in links:
            args = MultiDict(request.args)
            args.pop("after", None)
            args.pop("before", None)
            args[name] = cursor
            parts.append(f'<{request.base_url}?{urlencode(args)}>; rel="{rel}"')
        response.headers["Link"] = ", ".join(parts)
    return response


def _page_url(request: Request, page: int) -> str:
    args = MultiDict(request.args)
    args["page"] = str(page)
    return f"{request.base_url}?{urlencode(args)}"


def _when(text: str | None) -> datetime | None:
    return None if not text else datetime.fromisoformat(text.replace("Z", "+00:00"))


def _reachable(repo: Repo, ref: str) -> list[str]:
    """Commits reachable from a branch or sha, like ``git log <ref>``."""
    if ref in repo.branches:
        return list(repo.branches[ref])
    if ref not in repo.commits:
        raise NotFound(f"No commit found for SHA: {ref}", "https://docs.github.com/rest/commits/commits")
    seen, todo = [], [ref]
    while todo:
        sha = todo.pop()
        if sha not in seen:
            seen.append(sha)
            todo.extend(repo.commits[sha].parents)
    return seen


def _ruleset_applies(repo: Repo, include: list[str], exclude: list[str], branch: str) -> bool:
    def matches(pattern: str) -> bool:
        if pattern == "~ALL":
            return True
        if pattern == "~DEFAULT_BRANCH":
            return branch == repo.default_branch
        return fnmatch.fnmatchcase(f"refs/heads/{branch}", pattern)

    return any(matches(p) for p in include) and not any(matches(p) for p in exclude)


def _operation_name(request: Request) -> str | None:
    if request.method != "POST" or request.path.rstrip("/") != "/graphql":
        return None
    try:
        payload = json.loads(request.get_data(cache=True) or b"{}")
        operation = get_operation_ast(parse(payload.get("query", "")), payload.get("operationName"))
    except (ValueError, GraphQLError):  # logged without a name; the handler reports the error
        return None
    return operation.name.value if operation and operation.name else None
