"""AWS sessions the standard way: the boto3 credential chain, profiles, assumed roles and
``AWS_ENDPOINT_URL`` (which boto3 honours natively), with bounded retries.

An assumed role's credentials refresh themselves (botocore's ``AssumeRoleCredentialFetcher`` behind
``DeferredRefreshableCredentials``, session name ``auditbook``): a collection that outlasts the role's
session (an organization's quarter through Athena, a slow bucket) keeps working instead of failing with
``ExpiredToken`` halfway. Every retry botocore makes is counted per operation (:class:`RetryLog`), so the
provenance says how often AWS throttled the collection, not only that it finished.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any
from xml.etree import ElementTree

import boto3
import botocore.exceptions
import botocore.session
from botocore.config import Config
from botocore.credentials import AssumeRoleCredentialFetcher, CredentialProvider, DeferredRefreshableCredentials

from auditbook.provenance import CollectionError

# Standard retry mode: exponential backoff with jitter on throttling and 5xx, bounded. Standard mode treats
# Throttling, ThrottlingException, TooManyRequestsException (Athena) and SlowDown (S3), among others, as
# throttling (botocore.retries.standard); tests/events/test_session.py holds that list to these codes.
MAX_RETRIES = 4  # after the first attempt: 5 attempts in all, then the error is the collection's
RETRY_CONFIG = Config(
    retries={"max_attempts": MAX_RETRIES, "mode": "standard"},
    connect_timeout=5,
    read_timeout=30,
    user_agent_extra="auditbook",
)
ROLE_SESSION_NAME = "auditbook"  # what CloudTrail records as the session of every call auditbook makes
ROLE_SESSION_SECONDS = 3600  # AssumeRole's default; params may ask for 900 to 43200 (the role's maximum)


class RetryLog:
    """Retries botocore made, per ``service:Operation``, for every client of one account (thread-safe)."""

    def __init__(self) -> None:
        self._counts: Counter[str] = Counter()
        self._lock = threading.Lock()

    def after_call(self, model: Any, parsed: dict[str, Any] | None = None, **_: Any) -> None:
        """botocore's ``after-call`` hook: a response (success or error) says how many retries it took."""
        retries = int(((parsed or {}).get("ResponseMetadata") or {}).get("RetryAttempts") or 0)
        if retries:
            name = f"{model.service_model.service_name}:{model.name}"
            with self._lock:
                self._counts[name] += retries

    def snapshot(self) -> Counter[str]:
        with self._lock:
            return Counter(self._counts)

    def since(self, before: Counter[str]) -> dict[str, int]:
        """The retries made after ``before`` (a :meth:`snapshot`), per operation."""
        now = self.snapshot()
        return {name: now[name] - before[name] for name in sorted(now) if now[name] > before[name]}


def retry_note(retries: dict[str, int]) -> str:
    """One provenance line: which requests AWS made auditbook retry, and the bound that applied."""
    if not retries:
        return ""
    listed = ", ".join(f"{name} {n}" for name, n in retries.items())
    return (f"AWS asked for {sum(retries.values())} retries (throttling or a transient error; botocore standard "
            f"mode, at most {MAX_RETRIES} per request, then a collection error): {listed}.")


@dataclass
class AwsAccount:
    """One account in scope, reached through its own session."""

    account_id: str
    name: str
    session: boto3.Session
    region: str
    retries: RetryLog = field(default_factory=RetryLog, repr=False, compare=False)

    def client(self, service: str, region: str | None = None, pool: int | None = None) -> Any:
        """A client with bounded retries; ``pool``: the connections it keeps, for that many threads.

        A new one for each collection: botocore's standard retry mode keeps a retry quota per client and stops
        retrying once it is spent, so a shared client would let one population's failures take away the next
        one's retries of a transient fault."""
        config = RETRY_CONFIG.merge(Config(max_pool_connections=pool)) if pool else RETRY_CONFIG
        client = self.session.client(service, region_name=region or self.region, config=config)
        client.meta.events.register("before-parse", refuse_unparsable_body)
        client.meta.events.register("after-call", self.retries.after_call)
        return client

    @cached_property
    def sts(self) -> Any:
        """The account's one STS client: who the caller is and where the endpoint is, asked for every provenance
        record (a new client each time was 37 of a demo run's 114)."""
        return self.client("sts")

    @cached_property
    def caller_arn(self) -> str:
        return caller_identity(self.sts)["Arn"]

    @property
    def endpoint(self) -> str:
        return self.sts.meta.endpoint_url


class MalformedResponseError(botocore.exceptions.BotoCoreError):
    """A successful answer whose body does not parse: the evidence is incomplete, never an empty page."""

    fmt = "{operation}: the response body is not valid {kind} ({size} bytes, starting {start})"


def refuse_unparsable_body(operation_model: Any, response_dict: dict[str, Any], **_: Any) -> None:
    """botocore reads a 2xx JSON body that does not parse as ``{"message": body}`` (an empty page, silently):
    refuse it, and XML that does not parse, before the parser sees it."""
    if response_dict.get("status_code", 500) >= 300 or operation_model.has_streaming_output:
        return
    body = response_dict.get("body") or b""
    if not body.strip():
        return
    protocol = operation_model.service_model.resolved_protocol
    try:
        if protocol in ("json", "rest-json"):
            json.loads(body)
        elif protocol in ("query", "ec2", "rest-xml"):
            ElementTree.fromstring(body)
        else:
            return
    except (ValueError, ElementTree.ParseError):
        raise MalformedResponseError(operation=operation_model.name, kind="JSON" if "json" in protocol else "XML",
                                     size=len(body), start=repr(bytes(body[:40]))) from None


def caller_identity(sts: Any) -> dict[str, str]:  # noqa: ANN401 - an STS client
    try:
        return sts.get_caller_identity()
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as exc:
        raise CollectionError(f"AWS credentials: {_one_line(exc)}") from None


class _AssumedRoleProvider(CredentialProvider):
    """Puts the refreshing assumed-role credentials first in a botocore session's credential chain."""

    METHOD = "assume-role"

    def __init__(self, credentials: DeferredRefreshableCredentials) -> None:
        super().__init__()
        self._credentials = credentials

    def load(self) -> DeferredRefreshableCredentials:
        return self._credentials


def open_session(spec: dict[str, Any], region: str) -> boto3.Session:
    """A boto3 session from params (``profile``, ``role_arn``, ``role_session_seconds``).

    With a role, the session's credentials are assumed on first use and assumed again before they expire
    (botocore refreshes 15 minutes ahead, and at once when they have expired), each time as session
    ``auditbook`` for ``role_session_seconds``: a collection longer than the role's session keeps working.
    """
    base = boto3.Session(profile_name=spec.get("profile"), region_name=region)
    if not spec.get("role_arn"):
        return base
    source = base.get_credentials()
    if source is None:
        raise botocore.exceptions.NoCredentialsError()
    fetcher = AssumeRoleCredentialFetcher(
        client_creator=lambda service, **kwargs: base.client(service, config=RETRY_CONFIG, **kwargs),
        source_credentials=source, role_arn=spec["role_arn"],
        extra_args={"RoleSessionName": ROLE_SESSION_NAME,
                    "DurationSeconds": int(spec.get("role_session_seconds") or ROLE_SESSION_SECONDS)})
    credentials = DeferredRefreshableCredentials(refresh_using=fetcher.fetch_credentials, method="assume-role")
    core = botocore.session.Session(profile=spec.get("profile"))  # the profile's settings, the role's credentials
    core.get_component("credential_provider").insert_before("env", _AssumedRoleProvider(credentials))
    return boto3.Session(botocore_session=core, region_name=region)


def open_account(spec: dict[str, Any], region: str) -> AwsAccount:
    """A session for one account from params: profile, then optional role assumption (refreshing)."""
    try:
        session = open_session(spec, region)
        account = AwsAccount(spec["id"], spec.get("name") or spec["id"], session, region)
        identity = account.sts.get_caller_identity()  # the role is assumed here, on first use
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as exc:
        raise CollectionError(f"AWS account {spec['id']}: {_one_line(exc)}") from None
    if identity["Account"] != spec["id"]:
        raise CollectionError(
            f"AWS account {spec['id']}: credentials belong to account {identity['Account']}"
        )
    account.caller_arn = identity["Arn"]  # known now: no second GetCallerIdentity
    return account


def _one_line(exc: Exception) -> str:
    return " ".join(str(exc).split())
