"""AWS sessions the standard way: the boto3 credential chain, profiles, assumed roles and
``AWS_ENDPOINT_URL`` (which boto3 honours natively), with bounded retries.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

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

    def client(self, service: str, region: str | None = None) -> Any:
        return self.session.client(service, region_name=region or self.region, config=RETRY_CONFIG)

    @cached_property
    def caller_arn(self) -> str:
        return caller_identity(self.session, self.region)["Arn"]

    @property
    def endpoint(self) -> str:
        return self.client("sts").meta.endpoint_url


def caller_identity(session: boto3.Session, region: str) -> dict[str, str]:
    try:
        return session.client("sts", region_name=region, config=RETRY_CONFIG).get_caller_identity()
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
    identity = caller_identity(session, region)
    if identity["Account"] != spec["id"]:
        raise CollectionError(
            f"AWS account {spec['id']}: credentials belong to account {identity['Account']}"
        )
    return AwsAccount(spec["id"], spec.get("name") or spec["id"], session, region)


def _one_line(exc: Exception) -> str:
    return " ".join(str(exc).split())
