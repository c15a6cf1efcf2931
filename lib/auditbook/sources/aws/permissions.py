"""Whether a principal may call what the collectors call: IAM's policy simulator, else one dry read per service.

``iam:SimulatePrincipalPolicy`` evaluates the caller's identity policies for each action without calling it; an
account that does not let the audit principal simulate itself (or a principal that is not an IAM user or role,
such as a federated session) gets one cheap read per service instead, which shows the permission by using it.
The simulator weighs identity policies, the permissions boundary and the organization's SCPs, not resource
policies (a trail bucket's, a KMS key's): a run is the last word.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import botocore.exceptions

from auditbook.sources.aws.session import AwsAccount

SHIPPED_POLICY = Path(__file__).resolve().parents[4] / "policy" / "auditbook-readonly-policy.json"
DENIED_CODES = {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "AuthorizationError",
                "UnauthorizedException", "AuthorizationErrorException", "Forbidden"}
# One cheap read per service: (botocore client name, operation, arguments). A service not here is only simulated.
DRY_READS: dict[str, tuple[str, str, dict[str, Any]]] = {
    "autoscaling": ("autoscaling", "describe_auto_scaling_groups", {"MaxRecords": 1}),
    "backup": ("backup", "list_backup_vaults", {"MaxResults": 1}),
    "cloudformation": ("cloudformation", "describe_stacks", {}),
    "cloudtrail": ("cloudtrail", "describe_trails", {}),
    "cloudwatch": ("cloudwatch", "describe_alarms", {"MaxRecords": 1}),
    "config": ("config", "describe_configuration_recorders", {}),
    "ec2": ("ec2", "describe_volumes", {"MaxResults": 5}),
    "ecr": ("ecr", "describe_repositories", {"maxResults": 1}),
    "elasticloadbalancing": ("elbv2", "describe_load_balancers", {"PageSize": 1}),
    "guardduty": ("guardduty", "list_detectors", {"MaxResults": 1}),
    "identitystore": ("identitystore", "list_users", {"MaxResults": 1}),
    "iam": ("iam", "get_account_authorization_details", {"MaxItems": 1}),
    "kms": ("kms", "list_keys", {"Limit": 1}),
    "logs": ("logs", "describe_log_groups", {"limit": 1}),
    "organizations": ("organizations", "describe_organization", {}),
    "rds": ("rds", "describe_db_instances", {"MaxRecords": 20}),
    "route53": ("route53", "list_hosted_zones", {"MaxItems": "1"}),
    "s3": ("s3", "list_buckets", {}),
    "secretsmanager": ("secretsmanager", "list_secrets", {"MaxResults": 1}),
    "sns": ("sns", "list_topics", {}),
    "sso": ("sso-admin", "list_instances", {"MaxResults": 1}),
}


@dataclass(frozen=True)
class Permission:
    action: str  # e.g. "iam:GetCredentialReport", or "s3:*" for a dry read of the service
    allowed: bool
    how: str  # "simulated" or "dry read of <operation>"
    detail: str = ""


def collector_actions(policy_file: Path = SHIPPED_POLICY) -> list[str]:
    """The actions the shipped policy allows on every resource without a condition: what the collectors call.

    Actions granted only on named resources (the trail bucket, the Athena workgroup) depend on where the
    deployer points them; the run itself shows those."""
    policy = json.loads(policy_file.read_text())
    actions: list[str] = []
    for statement in policy["Statement"]:
        resources = statement.get("Resource")
        if statement.get("Effect") != "Allow" or statement.get("Condition") or resources not in ("*", ["*"]):
            continue
        for action in [statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"]:
            if action not in actions:
                actions.append(action)
    return actions


def principal_arn(caller_arn: str) -> str:
    """The IAM principal a caller's policies belong to: an assumed-role session's role, else the caller."""
    match = re.fullmatch(r"arn:(aws[\w-]*):sts::(\d{12}):assumed-role/([^/]+)/.+", caller_arn)
    return f"arn:{match[1]}:iam::{match[2]}:role/{match[3]}" if match else caller_arn


def _code(exc: botocore.exceptions.ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def simulate(account: AwsAccount, actions: list[str]) -> list[Permission]:
    """Each action as IAM's simulator decides it for the caller's principal (raises ClientError when the
    simulation itself is refused)."""
    iam = account.client("iam")
    principal = principal_arn(account.caller_arn)
    decisions: dict[str, str] = {}
    for start in range(0, len(actions), 50):
        for page in iam.get_paginator("simulate_principal_policy").paginate(
                PolicySourceArn=principal, ActionNames=actions[start:start + 50]):
            for result in page["EvaluationResults"]:
                decisions[result["EvalActionName"]] = result["EvalDecision"]
    return [Permission(a, decisions.get(a) == "allowed", "simulated",
                       "" if decisions.get(a) == "allowed" else decisions.get(a, "not answered")) for a in actions]


def dry_reads(account: AwsAccount, actions: list[str]) -> list[Permission]:
    """One read per service the actions name; a service without a cheap read is reported as not checked."""
    found: list[Permission] = []
    for service in dict.fromkeys(a.split(":", 1)[0] for a in actions):
        if service not in DRY_READS:
            found.append(Permission(f"{service}:*", False, "not checked",
                                    "no dry read for this service and the simulation was refused"))
            continue
        client_name, operation, arguments = DRY_READS[service]
        how = f"dry read of {client_name}:{operation}"
        try:
            if service == "identitystore":  # its reads name an Identity Center instance's identity store
                instances = account.client("sso-admin").list_instances(MaxResults=1)["Instances"]
                if not instances:
                    found.append(Permission(f"{service}:*", True, "dry read of sso-admin:list_instances",
                                            "no Identity Center instance: nothing to read"))
                    continue
                arguments = {**arguments, "IdentityStoreId": instances[0]["IdentityStoreId"]}
            getattr(account.client(client_name), operation)(**arguments)
        except botocore.exceptions.ClientError as exc:
            if _code(exc) in DENIED_CODES:
                found.append(Permission(f"{service}:*", False, how, _code(exc)))
                continue
            found.append(Permission(f"{service}:*", True, how, f"answered {_code(exc)} (the call was allowed)"))
            continue
        found.append(Permission(f"{service}:*", True, how))
    return found


def check_permissions(account: AwsAccount, actions: list[str]) -> tuple[list[Permission], str]:
    """(the permissions, a note on how they were checked): the simulator when allowed, else dry reads."""
    try:
        return simulate(account, actions), ""
    except botocore.exceptions.ClientError as exc:
        note = (f"the policy simulator was refused ({_code(exc)}) for {principal_arn(account.caller_arn)}: "
                "checked by one read per service instead")
        return dry_reads(account, actions), note
