"""Fault injection for the demo emulators: make AWS and GitHub fail the ways they fail in the world.

A WSGI middleware sits in front of the moto server and the GitHub emulator (it replaces the
``app`` of their werkzeug servers), so the collectors still reach them only through
``AWS_ENDPOINT_URL`` / ``GITHUB_API_URL`` and never know. Every request is logged as a
:class:`Call` naming the API operation (``iam:GetAccountAuthorizationDetails``,
``GET /orgs/{org}/members``): the least-privilege test reads that log.

A test injects a :class:`Fault` for the requests a predicate matches, once, a few times or for good::

    env.aws_faults.inject(operation("iam", "GetAccountAuthorizationDetails"), throttle(), times=None)
    env.github_faults.inject(path_matches("/repos/*/deployments"), server_error(), times=None)

Faults: ``throttle`` (AWS ``Throttling``/``ThrottlingException``/``SlowDown``; GitHub secondary rate
limit with ``Retry-After``, or ``status=429``), ``server_error`` (5xx), ``access_denied`` (one
operation refused), ``hang`` (the answer comes after ``seconds``: beyond a client's read timeout),
``malformed`` (200 with a body that does not parse), ``truncated`` (the page is served but claims a
next page, and the request for that page never succeeds) and ``die`` (the emulator stops listening:
every later connection is refused).

AWS operations are identified from botocore's own service models (the signing name in the
``Authorization`` header, then ``Action`` for the query protocols, ``X-Amz-Target`` for JSON, the
``/service/.../operation/...`` path for RPC v2 CBOR, and the HTTP method and URI templates for the
REST protocols); error bodies are written in each protocol's wire format so botocore parses them as
it parses AWS's own.
"""

from __future__ import annotations

import fnmatch
import io
import json
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import cache
from typing import Any
from urllib.parse import parse_qs, urlencode

FAULT_TOKEN = "auditbook-fault-page"  # the next-page token a truncated page hands out

# Signing names that are not the botocore service name.
SIGNING_ALIASES = {"monitoring": ["cloudwatch"], "elasticloadbalancing": ["elbv2", "elb"], "sso": ["sso-admin"],
                   "email": ["ses"], "states": ["stepfunctions"], "execute-api": ["apigateway"]}


@dataclass(frozen=True)
class Call:
    """One request as the emulator received it, and how it was answered."""

    system: str  # "aws" or "github"
    service: str  # botocore service name ("iam", "s3"), or "github"
    operation: str  # "GetAccountAuthorizationDetails", or "GET /repos/{owner}/{repo}" for GitHub
    method: str
    path: str
    query: str
    status: int = 0
    fault: str = ""  # the fault that answered it, if any
    protocol: str = ""  # AWS wire protocol of the request (query, ec2, json, rest-json, rest-xml, smithy-rpc-v2-cbor)

    @property
    def action(self) -> str:
        """IAM action form for AWS (``iam:GetAccountAuthorizationDetails``), ``METHOD path`` for GitHub."""
        return f"{self.service}:{self.operation}" if self.system == "aws" else f"{self.method} {self.path}"


@dataclass
class Fault:
    kind: str  # throttle | server_error | access_denied | hang | malformed | truncated | die
    status: int = 0
    seconds: float = 0.0  # hang: how long; throttle (GitHub): Retry-After
    message: str = ""
    then: Fault | None = None  # truncated: how the request for the missing page is answered
    code: str = ""  # throttle (AWS): the error code, when not the protocol's usual (TooManyRequestsException)

    def describe(self) -> str:
        return f"{self.kind}{f' {self.status}' if self.status else ''}"


def throttle(status: int = 0, retry_after: float = 1.0, code: str = "") -> Fault:
    """AWS: the protocol's throttling error (or ``code``). GitHub: a secondary rate limit (403, or 429) with
    ``Retry-After``."""
    return Fault("throttle", status, retry_after, "Rate exceeded", code=code)


def server_error(status: int = 500) -> Fault:
    return Fault("server_error", status, message="We encountered an internal error. Please try again.")


def access_denied() -> Fault:
    return Fault("access_denied", message="User: arn:aws:sts::123456789012:assumed-role/auditbook/x is not "
                                          "authorized to perform this operation")


def hang(seconds: float) -> Fault:
    return Fault("hang", seconds=seconds)


def malformed() -> Fault:
    return Fault("malformed", 200)


def truncated(then: Fault | None = None) -> Fault:
    return Fault("truncated", then=then or server_error(503))


def die() -> Fault:
    return Fault("die")


@dataclass
class _Rule:
    match: Callable[[Call], bool]
    fault: Fault
    times: int | None


# -- predicates ------------------------------------------------------------------------------
def operation(service: str, name: str | None = None) -> Callable[[Call], bool]:
    """AWS requests to ``service`` (every operation, or the one named)."""
    return lambda call: call.service == service and (name is None or call.operation == name)


def path_matches(pattern: str, method: str | None = None) -> Callable[[Call], bool]:
    """GitHub requests whose path matches a glob (``/repos/*/deployments``); ``/graphql`` for GraphQL."""
    return lambda call: fnmatch.fnmatchcase(call.path, pattern) and (method is None or call.method == method)


def any_request(_: Call) -> bool:
    return True


class FaultInjector:
    """WSGI middleware: log every request, answer matching ones with a fault, pass the rest through."""

    def __init__(self, app: Callable[..., Iterable[bytes]], server: Any, system: str) -> None:
        self.app = app
        self.server = server
        self.system = system
        self.calls: list[Call] = []
        self._rules: list[_Rule] = []
        self._pending: dict[str, Fault] = {}  # truncated pages: the token handed out → the follow-up's answer
        self._lock = threading.Lock()
        self.dead = False

    # -- test API -------------------------------------------------------------------------
    def inject(self, match: Callable[[Call], bool], fault: Fault, times: int | None = 1) -> None:
        """Answer the next ``times`` matching requests (every one when None) with ``fault``."""
        with self._lock:
            self._rules.append(_Rule(match, fault, times))

    def clear(self) -> None:
        with self._lock:
            self.calls.clear()
            self._rules.clear()
            self._pending.clear()

    def actions(self) -> set[str]:
        with self._lock:
            return {c.action for c in self.calls}

    # -- WSGI -----------------------------------------------------------------------------
    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        body = _read_body(environ)
        call = (identify_aws if self.system == "aws" else identify_github)(environ, body)
        fault = self._pending_fault(environ, body) or self._take(call)
        if fault is None:
            status, headers, payload = _call_app(self.app, environ)
        elif fault.kind == "truncated":
            status, headers, payload = _call_app(self.app, environ)
            if status.startswith("200"):
                headers, payload = self._truncate(call, environ, headers, payload, fault)
        else:
            status, headers, payload = self._answer(call, fault)
        self._log(call, int(status.split()[0]), fault)
        start_response(status, headers)
        return [payload]

    def _take(self, call: Call) -> Fault | None:
        with self._lock:
            for rule in self._rules:
                if rule.times != 0 and rule.match(call):
                    if rule.times is not None:
                        rule.times -= 1
                    return rule.fault
        return None

    def _pending_fault(self, environ: dict[str, Any], body: bytes) -> Fault | None:
        if FAULT_TOKEN.encode() not in body and FAULT_TOKEN not in environ.get("QUERY_STRING", ""):
            return None
        with self._lock:
            return self._pending.get(FAULT_TOKEN)

    def _log(self, call: Call, status: int, fault: Fault | None) -> None:
        logged = Call(call.system, call.service, call.operation, call.method, call.path, call.query, status,
                      fault.describe() if fault else "", call.protocol)
        with self._lock:
            self.calls.append(logged)

    def _answer(self, call: Call, fault: Fault) -> tuple[str, list[tuple[str, str]], bytes]:
        if fault.kind == "die":
            self._die()
            return "503 Service Unavailable", [("Connection", "close")], b""
        if fault.kind == "hang":
            time.sleep(fault.seconds)
            return "504 Gateway Timeout", [("Content-Type", "text/plain")], b"upstream timed out"
        if self.system == "github":
            return _github_fault(fault)
        return _aws_fault(call, fault)

    def _die(self) -> None:
        """Stop listening: later connections are refused, as when the process behind the endpoint is gone."""
        self.dead = True

        def stop() -> None:
            self.server.shutdown()
            self.server.server_close()

        threading.Thread(target=stop, daemon=True).start()

    def _truncate(self, call: Call, environ: dict[str, Any], headers: list[tuple[str, str]], payload: bytes,
                  fault: Fault) -> tuple[list[tuple[str, str]], bytes]:
        with self._lock:
            self._pending[FAULT_TOKEN] = fault.then or server_error(503)
        if self.system == "github":
            return _github_truncate(environ, headers, payload)
        return headers, _aws_truncate(call, payload)


# -- attaching ---------------------------------------------------------------------------------
def attach(server: Any, system: str) -> FaultInjector:
    """Put a :class:`FaultInjector` in front of a running werkzeug server's app (once)."""
    if isinstance(server.app, FaultInjector):
        return server.app
    injector = FaultInjector(server.app, server, system)
    server.app = injector
    return injector


def attach_aws(demo_aws: Any) -> FaultInjector:
    """The injector in front of a started :class:`~auditbook.demo.aws.DemoAws` (its moto server)."""
    return attach(demo_aws._server._server, "aws")


def attach_github(emulator: Any) -> FaultInjector:
    return attach(emulator._server, "github")


# -- request identification --------------------------------------------------------------------
def _read_body(environ: dict[str, Any]) -> bytes:
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length <= 0:
        return b""
    body = environ["wsgi.input"].read(length)
    environ["wsgi.input"] = io.BytesIO(body)
    return body


def _call_app(app: Callable[..., Iterable[bytes]], environ: dict[str, Any]) -> tuple[str, list[tuple[str, str]],
                                                                                      bytes]:
    captured: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable[..., Any]:
        captured["status"], captured["headers"] = status, list(headers)
        return lambda data: None

    result = app(environ, start_response)
    try:
        payload = b"".join(result)
    finally:
        close = getattr(result, "close", None)
        if close:
            close()
    headers = [(k, v) for k, v in captured["headers"] if k.lower() != "content-length"]
    return captured["status"], headers, payload


@cache
def _model(service: str) -> Any:
    import botocore.session

    try:
        return botocore.session.get_session().get_service_model(service)
    except Exception:  # an unknown service name: identified by its signing name only
        return None


@cache
def _paginators(service: str) -> dict[str, Any]:
    import botocore.session

    try:
        return botocore.session.get_session().get_paginator_model(service)._paginator_config
    except Exception:
        return {}


def _signing_name(environ: dict[str, Any]) -> str:
    match = re.search(r"Credential=[^/]+/\d+/[^/]+/([^/]+)/aws4_request", environ.get("HTTP_AUTHORIZATION", ""))
    if match:
        return match.group(1)
    query = parse_qs(environ.get("QUERY_STRING", ""))
    credential = (query.get("X-Amz-Credential") or [""])[0].split("/")
    return credential[3] if len(credential) > 3 else "unknown"


def identify_aws(environ: dict[str, Any], body: bytes) -> Call:
    method, path, query = environ["REQUEST_METHOD"], environ.get("PATH_INFO", "/"), environ.get("QUERY_STRING", "")
    signing = _signing_name(environ)
    candidates = SIGNING_ALIASES.get(signing, []) + [signing]
    form = parse_qs(body.decode("utf-8", "replace")) if _is_form(environ) else {}
    params = {**parse_qs(query), **form}
    for service in candidates:
        model = _model(service)
        if model is None:
            continue
        found = _operation_of(model, method, path, query, params, environ)
        if found:
            return Call("aws", service, found[0], method, path, query, protocol=found[1])
    return Call("aws", candidates[0], "unknown", method, path, query)


def _is_form(environ: dict[str, Any]) -> bool:
    return environ.get("CONTENT_TYPE", "").startswith("application/x-www-form-urlencoded")


def _operation_of(model: Any, method: str, path: str, query: str, params: dict[str, list[str]],
                  environ: dict[str, Any]) -> tuple[str, str] | None:
    """(operation, wire protocol of this request): a service may speak several (CloudWatch: CBOR, JSON, query)."""
    protocols = model.metadata.get("protocols") or [model.protocol]
    action = (params.get("Action") or [None])[0]
    if action and {"query", "ec2"} & set(protocols):
        version = (params.get("Version") or [None])[0]
        if action in model.operation_names and (version is None or version == model.api_version):
            return action, "ec2" if "ec2" in protocols else "query"
        return None
    target = environ.get("HTTP_X_AMZ_TARGET", "")
    if target:
        name = target.rsplit(".", 1)[-1]
        return (name, "json") if name in model.operation_names else None
    cbor = re.match(r"^/service/[^/]+/operation/([^/]+)$", path)
    if cbor:
        return (cbor.group(1), "smithy-rpc-v2-cbor") if cbor.group(1) in model.operation_names else None
    if model.protocol.startswith("rest"):
        name = _rest_operation(model.service_name, method, path, query)
        return (name, model.protocol) if name else None
    return None


@cache
def _rest_routes(service: str) -> list[tuple[str, re.Pattern[str], tuple[str, ...], int, str]]:
    model = _model(service)
    routes = []
    for name in model.operation_names:
        http = model.operation_model(name).http
        uri = http.get("requestUri", "/")
        path, _, query = uri.partition("?")
        literal = len(re.sub(r"\{[^}]+\}", "", path))
        pattern = re.sub(r"\\\{[^}]+?\\\+\\\}", "(.+)", re.escape(path))
        pattern = re.sub(r"\\\{[^}]+?\\\}", "([^/]+)", pattern)
        keys = tuple(q for q in query.split("&") if q)
        routes.append((http.get("method", "GET"), re.compile(f"^{pattern.rstrip('/')}/?$"), keys,
                       literal + 100 * len(keys), name))
    return routes


def _rest_operation(service: str, method: str, path: str, query: str) -> str | None:
    present = parse_qs(query, keep_blank_values=True)
    best: tuple[int, str] | None = None
    for verb, pattern, keys, score, name in _rest_routes(service):
        if verb != method or not pattern.match(path):
            continue
        if not all(_query_has(present, key) for key in keys):
            continue
        if best is None or score > best[0]:
            best = (score, name)
    return best[1] if best else None


def _query_has(present: dict[str, list[str]], key: str) -> bool:
    name, _, value = key.partition("=")
    return name in present and (not value or value in present[name])


GITHUB_TEMPLATES = [  # the REST paths the collectors use, in GitHub's documented form
    "/user", "/rate_limit", "/orgs/{org}", "/orgs/{org}/repos", "/orgs/{org}/members",
    "/orgs/{org}/outside_collaborators", "/orgs/{org}/memberships/{username}", "/orgs/{org}/audit-log",
    "/repos/{owner}/{repo}",
    "/repos/{owner}/{repo}/branches/{branch}/protection", "/repos/{owner}/{repo}/branches/{branch}",
    "/repos/{owner}/{repo}/rules/branches/{branch}", "/repos/{owner}/{repo}/rulesets",
    "/repos/{owner}/{repo}/rulesets/{ruleset_id}", "/repos/{owner}/{repo}/commits",
    "/repos/{owner}/{repo}/commits/{commit_sha}/pulls", "/repos/{owner}/{repo}/commits/{ref}",
    "/repos/{owner}/{repo}/pulls/{pull_number}", "/repos/{owner}/{repo}/pulls/{pull_number}/reviews",
    "/repos/{owner}/{repo}/deployments", "/repos/{owner}/{repo}/deployments/{deployment_id}/statuses",
    "/repos/{owner}/{repo}/secret-scanning/alerts", "/repos/{owner}/{repo}/issues",
    "/repos/{owner}/{repo}/issues/{issue_number}/comments", "/repos/{owner}/{repo}/dependabot/alerts",
    "/repos/{owner}/{repo}/code-scanning/alerts", "/graphql",
]


@cache
def _github_routes() -> list[tuple[re.Pattern[str], str]]:
    routes = []
    for template in GITHUB_TEMPLATES:
        tail = "(.+)" if template.endswith("/branches/{branch}") else None
        pattern = re.sub(r"\\\{[^}]+?\\\}", "([^/]+)", re.escape(template))
        if tail:  # a branch name may hold slashes
            pattern = pattern[: pattern.rfind("([^/]+)")] + tail
        pattern = pattern.replace(r"branches/([^/]+)/protection", "branches/(.+)/protection")
        pattern = pattern.replace(r"rules/branches/([^/]+)", "rules/branches/(.+)")
        routes.append((re.compile(f"^{pattern}/?$"), template))
    return routes


def github_template(path: str) -> str:
    """``/repos/demo/payments-api/pulls/7`` → ``/repos/{owner}/{repo}/pulls/{pull_number}`` (else the path)."""
    path = re.sub(r"^/api/v3", "", path)
    for pattern, template in _github_routes():
        if pattern.match(path):
            return template
    return path


def identify_github(environ: dict[str, Any], body: bytes) -> Call:
    method, path = environ["REQUEST_METHOD"], environ.get("PATH_INFO", "/")
    template = github_template(path)
    operation_name = f"{method} {template}"
    if template == "/graphql" and body:
        try:
            query = json.loads(body).get("query", "")
            match = re.search(r"\b(query|mutation)\s+(\w+)", query)
            operation_name = f"{match.group(1) if match else 'query'} {match.group(2) if match else ''}".strip()
            operation_name = f"POST /graphql {operation_name}"
        except (ValueError, AttributeError):
            pass
    return Call("github", "github", operation_name, method, path, environ.get("QUERY_STRING", ""))


# -- AWS wire formats --------------------------------------------------------------------------
_AWS_CODES = {  # fault kind → (status, query/rest-xml code, json code)
    "throttle": (400, "Throttling", "ThrottlingException"),
    "server_error": (500, "InternalFailure", "InternalFailure"),
    "access_denied": (403, "AccessDenied", "AccessDeniedException"),
}
_REASONS = {200: "OK", 400: "Bad Request", 403: "Forbidden", 429: "Too Many Requests", 500: "Internal Server Error",
            502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout"}


def _status_line(status: int) -> str:
    return f"{status} {_REASONS.get(status, 'Error')}"


def _aws_fault(call: Call, fault: Fault) -> tuple[str, list[tuple[str, str]], bytes]:
    protocol = call.protocol or "query"
    if fault.kind == "malformed":
        if protocol in ("json", "rest-json"):
            return "200 OK", [("Content-Type", "application/x-amz-json-1.1")], b'{"truncated": [{"Name": "x"'
        if protocol == "smithy-rpc-v2-cbor":
            return "200 OK", [("Content-Type", "application/cbor"), ("smithy-protocol", "rpc-v2-cbor")], b"\xbf\x61"
        return "200 OK", [("Content-Type", "text/xml")], b"<html><body>502 Bad Gateway from a proxy</body>"
    status, xml_code, json_code = _AWS_CODES[fault.kind]
    status = fault.status or status
    if fault.kind == "throttle" and call.service == "s3":
        status, xml_code = fault.status or 503, "SlowDown"
    if fault.kind == "throttle" and fault.code:
        xml_code = json_code = fault.code
    message = fault.message
    request_id = "fault-0000-0000"
    if protocol in ("json", "rest-json"):
        body = json.dumps({"__type": json_code, "message": message}).encode()
        return _status_line(status), [("Content-Type", "application/x-amz-json-1.1"), ("x-amzn-ErrorType", json_code),
                                      ("x-amzn-RequestId", request_id)], body
    if protocol == "smithy-rpc-v2-cbor":
        body = _cbor_map({"__type": json_code, "message": message})
        return _status_line(status), [("Content-Type", "application/cbor"), ("smithy-protocol", "rpc-v2-cbor"),
                                      ("x-amzn-RequestId", request_id)], body
    if protocol == "rest-xml":
        body = (f"<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>{xml_code}</Code><Message>{message}"
                f"</Message><RequestId>{request_id}</RequestId></Error>").encode()
    elif protocol == "ec2":
        body = (f"<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Errors><Error><Code>{xml_code}</Code>"
                f"<Message>{message}</Message></Error></Errors><RequestID>{request_id}</RequestID></Response>").encode()
    else:
        body = (f"<ErrorResponse><Error><Type>Sender</Type><Code>{xml_code}</Code><Message>{message}</Message>"
                f"</Error><RequestId>{request_id}</RequestId></ErrorResponse>").encode()
    return _status_line(status), [("Content-Type", "text/xml"), ("x-amzn-RequestId", request_id)], body


def _cbor_map(values: dict[str, str]) -> bytes:
    """A CBOR map of text to text (all RPC v2 CBOR error bodies need)."""
    def head(major: int, length: int) -> bytes:
        if length < 24:
            return bytes([major << 5 | length])
        if length < 256:
            return bytes([major << 5 | 24, length])
        return bytes([major << 5 | 25]) + length.to_bytes(2, "big")

    out = head(5, len(values))
    for key, value in values.items():
        for text in (key, value):
            data = text.encode()
            out += head(3, len(data)) + data
    return out


def _wire_name(call: Call, member: str) -> str:
    """A top-level output member's name on the wire (``nextToken`` for EC2 and most REST-JSON services)."""
    shape = _model(call.service).operation_model(call.operation).output_shape
    found = shape.members.get(member) if shape is not None else None
    if found is not None and found.serialization.get("name"):
        return found.serialization["name"]
    if call.protocol == "ec2":
        return member[0].lower() + member[1:]
    return member


def _aws_truncate(call: Call, payload: bytes) -> bytes:
    """The page as served, but claiming a next page (the paginator's own output token and flag)."""
    config = _paginators(call.service).get(call.operation)
    if not config:
        return payload
    tokens = config["output_token"] if isinstance(config["output_token"], list) else [config["output_token"]]
    token = _wire_name(call, tokens[0].split(".")[-1])
    more = config.get("more_results")
    more = _wire_name(call, more.split(".")[-1]) if more else None
    if call.protocol == "smithy-rpc-v2-cbor":
        return payload  # not rewritten: no CBOR encoder here
    if call.protocol in ("json", "rest-json"):
        data = json.loads(payload or b"{}")
        data[token] = FAULT_TOKEN
        if more:
            data[more] = True
        return json.dumps(data).encode()
    text = payload.decode()
    marker = f"<{token}>{FAULT_TOKEN}</{token}>"
    if more:
        flag = more
        if f"<{flag}>" in text:
            text = re.sub(rf"<{flag}>\w+</{flag}>", f"<{flag}>true</{flag}>{marker}", text, count=1)
            return text.encode()
        marker = f"<{flag}>true</{flag}>{marker}"
    closing = re.search(r"</(\w+Result|ListBucketResult|\w+Response)>", text)
    if closing:
        text = text[: closing.start()] + marker + text[closing.start():]
    return text.encode()


# -- GitHub wire formats -----------------------------------------------------------------------
def _github_fault(fault: Fault) -> tuple[str, list[tuple[str, str]], bytes]:
    docs = "https://docs.github.com/rest"
    json_type = ("Content-Type", "application/json; charset=utf-8")
    if fault.kind == "throttle":
        status = fault.status or 403
        body = {"message": "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
                "documentation_url": f"{docs}/overview/rate-limits-for-the-rest-api"}
        return _status_line(status), [json_type, ("Retry-After", f"{fault.seconds:.0f}")], json.dumps(body).encode()
    if fault.kind == "server_error":
        status = fault.status or 502
        return _status_line(status), [json_type], json.dumps({"message": "Server Error"}).encode()
    if fault.kind == "access_denied":
        body = {"message": "Resource not accessible by personal access token", "documentation_url": docs,
                "status": "403"}
        return _status_line(403), [json_type], json.dumps(body).encode()
    if fault.kind == "malformed":
        return "200 OK", [json_type], b'[{"id": 1, "name": "trunc'
    raise ValueError(f"unknown fault {fault.kind}")


def _github_truncate(environ: dict[str, Any], headers: list[tuple[str, str]],
                     payload: bytes) -> tuple[list[tuple[str, str]], bytes]:
    """REST: a ``Link: rel="next"`` to a page that never comes; GraphQL: ``hasNextPage`` with a cursor to it."""
    path = environ.get("PATH_INFO", "/")
    if path.rstrip("/") == "/graphql":
        data = json.loads(payload)
        for info in _walk_page_infos(data):
            info["hasNextPage"], info["endCursor"] = True, FAULT_TOKEN
        return headers, json.dumps(data).encode()
    query = parse_qs(environ.get("QUERY_STRING", ""))
    query["page"] = ["99"]
    query["after"] = [FAULT_TOKEN]
    host = environ.get("HTTP_HOST", "127.0.0.1")
    link = f'<http://{host}{path}?{urlencode(query, doseq=True)}>; rel="next"'
    headers = [(k, v) for k, v in headers if k.lower() != "link"] + [("Link", link)]
    return headers, payload


def _walk_page_infos(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "pageInfo" and isinstance(value, dict):
                yield value
            else:
                yield from _walk_page_infos(value)
    elif isinstance(node, list):
        for item in node:
            yield from _walk_page_infos(item)


@dataclass
class Faults:
    """Both injectors of a running demo environment."""

    aws: FaultInjector
    github: FaultInjector
    notes: list[str] = field(default_factory=list)

    def clear(self) -> None:
        self.aws.clear()
        self.github.clear()
