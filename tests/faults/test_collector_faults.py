"""The fault matrix: every collector × every operation it makes × every way that operation can fail.

Each collector is first run clean to learn its operations from the emulator's request log; then each
operation is made to fail (for good) and the collector must end in a CollectionError that names the
cause, after a bounded number of attempts. Transient faults (one throttle, one 5xx) must be retried
to the same complete answer. Nothing may come back as a smaller population.
"""

from __future__ import annotations

import time
from collections import OrderedDict

import pytest
from auditbook.demo import faults as f
from auditbook.demo.faults import _paginators
from auditbook.provenance import CollectionError, RawStore
from faultcases import AWS_COLLECTORS, CASES, GITHUB_COLLECTORS

RETRYABLE = {"throttle", "server_error", "truncated"}
# Denials that are an answer, not a failure: a member account may not list its organization's accounts. The
# collector records the denial and the test standing on it is ERROR (asserted below), never a smaller population.
DENIAL_IS_AN_ANSWER = {("organizations", "ListAccounts")}
MAX_AWS_ATTEMPTS = 5  # RETRY_CONFIG: max_attempts=4 retries after the first
MAX_GITHUB_ATTEMPTS = 6  # connect(): 5 retries after the first


def _profile(injector, collectors, client, tmp_path_factory):
    """collector → (its distinct operations in call order, the clean population size)."""
    profile = {}
    for name, collect in collectors.items():
        injector.clear()
        result = collect(client, RawStore(tmp_path_factory.mktemp("clean") / "raw"))
        size = len(result[0].frame) if isinstance(result, tuple) else len(getattr(result, "frame", result))
        calls = list(OrderedDict.fromkeys((c.service, c.operation) for c in injector.calls))
        profile[name] = (calls, size)
    injector.clear()
    return profile


@pytest.fixture(scope="module")
def emulator_clock_held():
    """The emulator's clock held for the module: a recovery point whose lifecycle ends between the profile and a
    faulted collection minutes later would otherwise change the population (seen: 342 then 341)."""
    from datetime import UTC, datetime

    from auditbook.demo import moto_extensions

    moto_extensions.FROZEN_NOW = datetime.now(UTC)
    yield
    moto_extensions.FROZEN_NOW = None


@pytest.fixture(scope="module")
def aws_profile(demo_env, account, tmp_path_factory, emulator_clock_held):
    return _profile(demo_env.faults.aws, AWS_COLLECTORS, account, tmp_path_factory)


@pytest.fixture(scope="module")
def github_profile(demo_env, tmp_path_factory):
    from auditbook.sources.github import connect

    return _profile(demo_env.faults.github, GITHUB_COLLECTORS, connect(backoff_factor=0.01), tmp_path_factory)


def _fault(kind: str) -> f.Fault:
    return {"throttle": f.throttle(retry_after=0), "server_error": f.server_error(), "access_denied": f.access_denied(),
            "malformed": f.malformed(), "truncated": f.truncated()}[kind]


def _size(result) -> int:
    return len(result[0].frame) if isinstance(result, tuple) else len(getattr(result, "frame", result))


def _expect_error(collect, client, tmp_path, injector, source, operation, kind, max_attempts):
    started = time.monotonic()
    with pytest.raises(CollectionError) as err:
        collect(client, RawStore(tmp_path / f"{kind}-{len(CASES)}"))
    message = str(err.value)
    assert message and "\n" not in message, message
    faulted = [c for c in injector.calls if c.fault]
    assert faulted, f"{source}: the fault on {operation} was never hit"
    per_request = {}
    for c in faulted:
        if c.fault.startswith("truncated"):  # the page that was served; its follow-up is what fails
            continue
        per_request[(c.path, c.query)] = per_request.get((c.path, c.query), 0) + 1
    assert max(per_request.values(), default=0) <= max_attempts, f"{source} {operation}: retries {per_request}"
    assert time.monotonic() - started < 30
    CASES.append((source, operation, kind, "ERROR"))
    return message


def _denial_recorded_and_the_test_errors(collect, account, tmp_path):
    from auditbook.controls import cc61
    from auditbook.results import Status

    accounts, membership = collect(account, RawStore(tmp_path / "denied"))
    assert accounts.frame.empty and not membership.frame["listed"].any()
    assert membership.frame["listing"].iloc[0].startswith("ListAccounts denied: AccessDenied")
    result = cc61.ACCOUNT_SCOPE.evaluate(accounts.frame, membership.frame, in_scope=[account.account_id],
                                         excluded={})
    assert result.status is Status.ERROR and "could not be listed" in result.cause


@pytest.mark.parametrize("kind", ["access_denied", "server_error", "throttle", "malformed", "truncated"])
@pytest.mark.parametrize("source", sorted(AWS_COLLECTORS))
def test_aws_operation_failing_for_good_is_a_collection_error(source, kind, aws_profile, account, faults,
                                                              fast_backoff, tmp_path):
    operations, _ = aws_profile[source]
    if kind == "truncated":  # only pages can be truncated: operations with a paginator
        operations = [(s, o) for s, o in operations if o in _paginators(s)]
    operations = [(s, o) for s, o in operations if s != "sts"]  # the caller identity is checked before a run
    if not operations:
        pytest.skip(f"{source} makes no {kind}-able operation")
    for service, operation in operations:
        faults.aws.clear()
        faults.aws.inject(f.operation(service, operation), _fault(kind), times=None if kind != "truncated" else 1)
        if kind == "access_denied" and (service, operation) in DENIAL_IS_AN_ANSWER:
            _denial_recorded_and_the_test_errors(AWS_COLLECTORS[source], account, tmp_path)
            continue
        message = _expect_error(AWS_COLLECTORS[source], account, tmp_path, faults.aws, source,
                                f"{service}:{operation}", kind, MAX_AWS_ATTEMPTS)
        if kind in ("access_denied", "throttle", "server_error"):
            expected = {"access_denied": "AccessDenied", "throttle": "Throttl", "server_error": "InternalFailure"}
            assert expected[kind] in message or "SlowDown" in message, message


@pytest.mark.parametrize("kind", ["throttle", "server_error"])
@pytest.mark.parametrize("source", sorted(AWS_COLLECTORS))
def test_aws_transient_fault_is_retried_to_the_complete_answer(source, kind, aws_profile, account, faults,
                                                               fast_backoff, tmp_path):
    operations, size = aws_profile[source]
    operations = [(s, o) for s, o in operations if s != "sts"][:1]  # retried alike wherever it happens
    for service, operation in operations:
        faults.aws.clear()
        faults.aws.inject(f.operation(service, operation), _fault(kind), times=2)
        result = AWS_COLLECTORS[source](account, RawStore(tmp_path / f"{service}-{operation}-{kind}"))
        assert _size(result) == size, f"{source}: {service}:{operation} {kind} changed the population"
        CASES.append((source, f"{service}:{operation}", f"{kind} x2", "PASS"))


@pytest.mark.slow
def test_aws_throttling_waits_with_real_backoff_and_is_bounded(account, faults, tmp_path):
    """No shortened backoff here: the real retry policy ends a throttled operation in seconds, not minutes."""
    faults.aws.inject(f.operation("iam", "GetAccountAuthorizationDetails"), f.throttle(), times=None)
    started = time.monotonic()
    with pytest.raises(CollectionError, match="iam:GetAccountAuthorizationDetails: Throttling"):
        AWS_COLLECTORS["iam-entitlements"](account, RawStore(tmp_path / "raw"))
    assert time.monotonic() - started < 60
    assert len([c for c in faults.aws.calls if c.fault]) == MAX_AWS_ATTEMPTS
    CASES.append(("iam-entitlements", "iam:GetAccountAuthorizationDetails", "throttle (real backoff)", "ERROR"))


def test_aws_hanging_answer_is_bounded_by_the_read_timeout(account, faults, fast_backoff, monkeypatch, tmp_path):
    from auditbook.sources.aws import session
    from botocore.config import Config

    production = session.RETRY_CONFIG
    monkeypatch.setattr(session, "RETRY_CONFIG", production.merge(Config(read_timeout=0.5)))
    assert session.RETRY_CONFIG.retries == production.retries  # the same attempts, a shorter read timeout
    for source, service, operation in [("secretsmanager-secrets", "secretsmanager", "ListSecrets"),
                                       ("cloudtrail-log-files", "s3", "ListObjectsV2")]:
        faults.aws.clear()
        faults.aws.inject(f.operation(service, operation), f.hang(1.0), times=None)
        started = time.monotonic()
        with pytest.raises(CollectionError, match="timeout|timed out"):
            AWS_COLLECTORS[source](account, RawStore(tmp_path / operation))
        assert time.monotonic() - started < 10
        CASES.append((source, f"{service}:{operation}", "hang", "ERROR"))


def test_production_read_timeout_is_bounded():
    from auditbook.sources.aws.session import RETRY_CONFIG

    assert RETRY_CONFIG.read_timeout <= 60 and RETRY_CONFIG.connect_timeout <= 10
    assert RETRY_CONFIG.retries["total_max_attempts"] <= 5


# -- GitHub -----------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["access_denied", "server_error", "throttle", "malformed", "truncated"])
@pytest.mark.parametrize("source", sorted(GITHUB_COLLECTORS))
def test_github_endpoint_failing_for_good_is_a_collection_error(source, kind, github_profile, gh, faults, tmp_path):
    operations = [o for _, o in github_profile[source][0]]
    if kind == "truncated":
        operations = [o for o in operations if o in LIST_ENDPOINTS or o.startswith("POST /graphql")]
    if not operations:
        pytest.skip(f"{source} calls no {kind}-able endpoint")
    for operation in operations:
        faults.github.clear()
        fault = _fault(kind) if kind != "throttle" else f.throttle(retry_after=3600)  # beyond the cap: no wait
        faults.github.inject(lambda call, op=operation: call.operation == op, fault,
                             times=None if kind != "truncated" else 1)
        if kind == "truncated":
            _truncated(source, operation, gh, tmp_path, faults, github_profile)
            continue
        message = _expect_error(GITHUB_COLLECTORS[source], gh, tmp_path, faults.github, source, operation, kind,
                                MAX_GITHUB_ATTEMPTS)
        if kind == "access_denied":
            assert "403" in message, message
        if kind == "throttle":
            assert "rate limit" in message, message


def _truncated(source, operation, gh, tmp_path, faults, github_profile) -> None:
    """A missing page is a CollectionError, unless the collector never asked for it: a newest-first list
    walked until it is older than the period ends on purpose, and then its answer must be the complete one."""
    try:
        result = GITHUB_COLLECTORS[source](gh, RawStore(tmp_path / f"trunc-{len(CASES)}"))
    except CollectionError as exc:
        assert "\n" not in str(exc)
        assert sum(1 for c in faults.github.calls if f.FAULT_TOKEN in c.query + c.fault) <= MAX_GITHUB_ATTEMPTS + 1
        CASES.append((source, operation, "truncated", "ERROR"))
        return
    assert not any(f.FAULT_TOKEN in c.query for c in faults.github.calls), f"{source} ignored a missing page"
    assert _size(result) == github_profile[source][1]
    CASES.append((source, operation, "truncated after the period", "PASS"))


@pytest.mark.parametrize("kind", ["throttle", "throttle-429", "server_error"])
@pytest.mark.parametrize("source", sorted(GITHUB_COLLECTORS))
def test_github_transient_fault_is_retried_to_the_complete_answer(source, kind, github_profile, gh, faults,
                                                                  tmp_path):
    operations, size = github_profile[source]
    fault = {"throttle": f.throttle(retry_after=0), "throttle-429": f.throttle(status=429, retry_after=0),
             "server_error": f.server_error(502)}[kind]
    for _, operation in operations[:2]:  # the first endpoints: a transient fault anywhere is retried alike
        faults.github.clear()
        faults.github.inject(lambda call, op=operation: call.operation == op, fault, times=1)
        result = GITHUB_COLLECTORS[source](gh, RawStore(tmp_path / f"{len(CASES)}"))
        assert _size(result) == size, f"{source}: {operation} {kind} changed the population"
        CASES.append((source, operation, f"{kind} x1", "PASS"))


def test_github_hanging_answer_is_bounded_by_the_timeout(demo_env, faults, tmp_path):
    from auditbook.sources.github import connect

    gh = connect(backoff_factor=0.01, retries=1, timeout=1)
    for source, pattern in [("github-merged-pulls", "/graphql"), ("github-deployments", "/repos/*/deployments")]:
        faults.github.clear()
        faults.github.inject(f.path_matches(pattern), f.hang(2.5), times=None)
        started = time.monotonic()
        with pytest.raises(CollectionError, match="[Tt]imeout|timed out"):
            GITHUB_COLLECTORS[source](gh, RawStore(tmp_path / source))
        assert time.monotonic() - started < 10
        CASES.append((source, pattern, "hang", "ERROR"))


def test_production_github_client_is_bounded():
    from auditbook.sources.github import connect

    defaults = connect.__kwdefaults__
    assert defaults["retries"] <= 5 and defaults["max_wait"] <= 300 and defaults["timeout"] <= 30


LIST_ENDPOINTS = {
    "GET /orgs/{org}/repos", "GET /orgs/{org}/members", "GET /orgs/{org}/outside_collaborators",
    "GET /repos/{owner}/{repo}/rulesets", "GET /repos/{owner}/{repo}/rules/branches/{branch}",
    "GET /repos/{owner}/{repo}/commits", "GET /repos/{owner}/{repo}/commits/{commit_sha}/pulls",
    "GET /repos/{owner}/{repo}/pulls/{pull_number}/reviews", "GET /repos/{owner}/{repo}/deployments",
    "GET /repos/{owner}/{repo}/deployments/{deployment_id}/statuses",
    "GET /repos/{owner}/{repo}/secret-scanning/alerts", "GET /repos/{owner}/{repo}/issues",
    "GET /repos/{owner}/{repo}/issues/{issue_number}/comments", "GET /repos/{owner}/{repo}/dependabot/alerts",
    "GET /repos/{owner}/{repo}/code-scanning/alerts",
}
