"""AWS sessions the standard way: the boto3 credential chain, profiles, assumed roles and
``AWS_ENDPOINT_URL`` (which boto3 honours natively), with bounded retries.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cached_property
from typing import Any
from xml.etree import ElementTree

import boto3
import botocore.exceptions
from botocore.config import Config

from auditbook.provenance import CollectionError

# Standard retry mode: exponential backoff with jitter on throttling and 5xx, bounded.
RETRY_CONFIG = Config(
    retries={"max_attempts": 4, "mode": "standard"},
    connect_timeout=5,
    read_timeout=30,
    user_agent_extra="auditbook",
)


@dataclass
class AwsAccount:
    """One account in scope, reached through its own session."""

    account_id: str
    name: str
    session: boto3.Session
    region: str

    def client(self, service: str, region: str | None = None, pool: int | None = None) -> Any:
        """A client with bounded retries; ``pool``: the connections it keeps, for that many threads.

        A new one for each collection: botocore's standard retry mode keeps a retry quota per client and stops
        retrying once it is spent, so a shared client would let one population's failures take away the next
        one's retries of a transient fault."""
        config = RETRY_CONFIG.merge(Config(max_pool_connections=pool)) if pool else RETRY_CONFIG
        client = self.session.client(service, region_name=region or self.region, config=config)
        client.meta.events.register("before-parse", refuse_unparsable_body)
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


def open_account(spec: dict[str, Any], region: str) -> AwsAccount:
    """A session for one account from params: profile, then optional role assumption."""
    try:
        session = boto3.Session(profile_name=spec.get("profile"), region_name=region)
        if spec.get("role_arn"):
            sts = session.client("sts", config=RETRY_CONFIG)
            creds = sts.assume_role(RoleArn=spec["role_arn"], RoleSessionName="auditbook")["Credentials"]
            session = boto3.Session(
                aws_access_key_id=creds["AccessKeyId"],
                aws_secret_access_key=creds["SecretAccessKey"],
                aws_session_token=creds["SessionToken"],
                region_name=region,
            )
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as exc:
        raise CollectionError(f"AWS account {spec['id']}: {_one_line(exc)}") from None
    account = AwsAccount(spec["id"], spec.get("name") or spec["id"], session, region)
    identity = caller_identity(account.sts)
    if identity["Account"] != spec["id"]:
        raise CollectionError(
            f"AWS account {spec['id']}: credentials belong to account {identity['Account']}"
        )
    account.caller_arn = identity["Arn"]  # known now: no second GetCallerIdentity
    return account


def _one_line(exc: Exception) -> str:
    return " ".join(str(exc).split())
