"""AWS operations moto 5.2 lacks, added to its in-process server in the real API's shapes.

- AWS Backup ``ListRecoveryPointsByBackupVault`` and ``ListRestoreJobs`` (REST-JSON): moto keeps
  vaults and plans but no recovery points or jobs. The records live in :data:`BACKUP_STATE`, one
  list per account and region, filled by the demo seeder.
- CloudFormation ``DescribeStackResourceDrifts`` (query protocol): moto has no drift detection.
  A stack's ``DriftInformation`` (returned by moto's own ``DescribeStacks``) and its resource
  drifts are set on moto's stack object by the seeder.
- CloudTrail ``ListPublicKeys`` (JSON): moto 5.2 does not implement it (an unimplemented operation
  answers HTTP 500). The public keys of the keys the demo trail signs its digest files with are in
  :data:`CLOUDTRAIL_PUBLIC_KEYS` per account (served in every region), set by the seeder with
  :func:`publish_public_keys`.
- IAM ``SimulatePrincipalPolicy`` (query protocol): moto has no policy simulator. The principal's identity
  policies (a user's inline and attached ones and those of its groups; a role's) are evaluated as IAM does for
  actions on any resource: an explicit Deny wins, then an Allow, else an implicit deny; actions match with
  IAM's wildcards, case-insensitively. Statements with a Condition or naming specific resources are not
  applied (the simulator is asked about ``*`` without context keys); permission boundaries and SCPs are not
  modelled.

Requests are parsed and responses serialized from botocore's service model, through moto's own
routing and serializer, so boto3 clients (and their paginators) see what AWS sends. Nothing
outside ``demo/`` knows this module: the collectors make plain boto3 calls.
"""

from __future__ import annotations

import fnmatch
import json
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

import botocore.session
from botocore.model import OperationModel

# (account, region) → records in the shapes of botocore's output members.
BACKUP_STATE: dict[tuple[str, str], dict[str, list[dict[str, Any]]]] = defaultdict(
    lambda: {"recovery_points": [], "restore_jobs": []})
# account → public keys in the shape of ListPublicKeys' PublicKeyList members (Value: DER bytes).
CLOUDTRAIL_PUBLIC_KEYS: dict[str, list[dict[str, Any]]] = {}
PAGE_SIZE = 100
_INSTALLED = False
# The emulator's "now" for what AWS decides by the wall clock (a recovery point is gone once its lifecycle ends):
# None is the real clock; a test comparing listings taken minutes apart holds it still.
FROZEN_NOW: datetime | None = None


def _now() -> datetime:
    return FROZEN_NOW or datetime.now(UTC)


def reset() -> None:
    BACKUP_STATE.clear()


def _model(service: str, operation: str) -> OperationModel:
    return botocore.session.get_session().get_service_model(service).operation_model(operation)


def _query_args(handler: Any, operation: str) -> dict[str, Any]:
    """The operation's querystring members by their member name, timestamps parsed (ISO 8601 on the wire)."""
    shape = _model("backup", operation).input_shape
    args: dict[str, Any] = {}
    for name, member in shape.members.items():
        if member.serialization.get("location") != "querystring":
            continue
        values = handler.querystring.get(member.serialization.get("name", name))
        if not values:
            continue
        value = values[0]
        if member.type_name == "timestamp":
            value = datetime.fromisoformat(value.replace("Z", "+00:00")) if not value.replace(".", "").isdigit() \
                else datetime.fromtimestamp(float(value), tz=None)
        elif member.type_name == "integer":
            value = int(value)
        args[name] = value
    return args


def _page(items: list[dict[str, Any]], key: str, args: dict[str, Any]) -> dict[str, Any]:
    start = int(args.get("NextToken") or 0)
    size = min(int(args.get("MaxResults") or PAGE_SIZE), PAGE_SIZE)
    out: dict[str, Any] = {key: items[start:start + size]}
    if start + size < len(items):
        out["NextToken"] = str(start + size)
    return out


def _within(value: datetime | None, after: datetime | None, before: datetime | None) -> bool:
    if value is None:
        return after is None and before is None
    return (after is None or value >= _aware(after, value)) and (before is None or value <= _aware(before, value))


def _aware(bound: datetime, like: datetime) -> datetime:
    return bound if bound.tzinfo or not like.tzinfo else bound.replace(tzinfo=like.tzinfo)


def _deleted_at(point: dict[str, Any]) -> datetime:
    """When AWS Backup deletes a point: its lifecycle's end (the demo seeds the whole history at once; a listing
    on a date shows the points that exist then, as AWS would)."""
    delete_at = (point.get("CalculatedLifecycle") or {}).get("DeleteAt")
    return delete_at if delete_at is not None else datetime.max.replace(tzinfo=UTC)


def _list_recovery_points_by_backup_vault(self: Any) -> Any:
    from moto.core.responses import ActionResult

    args = _query_args(self, "ListRecoveryPointsByBackupVault")
    vault = self.path.rstrip("/").split("/backup-vaults/", 1)[1].split("/")[0]
    self.backup_backend.describe_backup_vault(vault)  # ResourceNotFoundException for an unknown vault
    points = [p for p in BACKUP_STATE[(self.current_account, self.region)]["recovery_points"]
              if p["BackupVaultName"] == vault
              and (not args.get("ByResourceArn") or p["ResourceArn"] == args["ByResourceArn"])
              and (not args.get("ByResourceType") or p["ResourceType"] == args["ByResourceType"])
              and _within(p["CreationDate"], args.get("ByCreatedAfter"), args.get("ByCreatedBefore"))
              and p["CreationDate"] <= _now() < _deleted_at(p)]  # created by now, not yet deleted
    points.sort(key=lambda p: p["CreationDate"], reverse=True)  # newest first, as AWS lists them
    return ActionResult(_page(points, "RecoveryPoints", args))


def _list_restore_jobs(self: Any) -> Any:
    from moto.core.responses import ActionResult

    args = _query_args(self, "ListRestoreJobs")
    jobs = [j for j in BACKUP_STATE[(self.current_account, self.region)]["restore_jobs"]
            if (not args.get("ByStatus") or j["Status"] == args["ByStatus"])
            and (not args.get("ByResourceType") or j["ResourceType"] == args["ByResourceType"])
            and _within(j["CreationDate"], args.get("ByCreatedAfter"), args.get("ByCreatedBefore"))
            and (not (args.get("ByCompleteAfter") or args.get("ByCompleteBefore"))
                 or _within(j.get("CompletionDate"), args.get("ByCompleteAfter"), args.get("ByCompleteBefore")))]
    jobs.sort(key=lambda j: j["CreationDate"], reverse=True)
    return ActionResult(_page(jobs, "RestoreJobs", args))


def _describe_stack_resource_drifts(self: Any) -> Any:
    from moto.core.responses import ActionResult

    stack = self.cloudformation_backend.get_stack(self._get_param("StackName"))
    wanted = self._get_param("StackResourceDriftStatusFilters")
    if not isinstance(wanted, list):  # moto without parsing from the model: query-string members
        wanted = [v[0] for k, v in sorted(self.querystring.items())
                  if k.startswith("StackResourceDriftStatusFilters.member.")]
    drifts = [d for d in getattr(stack, "auditbook_resource_drifts", [])
              if not wanted or d["StackResourceDriftStatus"] in wanted]
    start = int(self._get_param("NextToken") or 0)
    size = int(self._get_param("MaxResults") or PAGE_SIZE)
    result: dict[str, Any] = {"StackResourceDrifts": [{"StackId": stack.stack_id, **d} for d in
                                                      drifts[start:start + size]]}
    if start + size < len(drifts):
        result["NextToken"] = str(start + size)
    return ActionResult(result)


def publish_public_keys(account_id: str, keys: list[dict[str, Any]]) -> None:
    """The account's CloudTrail digest-signing public keys (replacing any published before)."""
    CLOUDTRAIL_PUBLIC_KEYS[account_id] = list(keys)


def _timestamp(value: Any) -> datetime | None:
    """A JSON-protocol timestamp member: epoch seconds (what botocore sends) or ISO 8601."""
    if value in (None, ""):
        return None
    if isinstance(value, int | float) or str(value).replace(".", "").isdigit():
        return datetime.fromtimestamp(float(value), tz=UTC)
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def _list_public_keys(self: Any) -> Any:
    """The keys whose validity overlaps [StartTime, EndTime] (each defaults to now, as AWS documents)."""
    from moto.core.responses import ActionResult

    now = datetime.now(UTC)
    start = _timestamp(self._get_param("StartTime")) or now
    end = _timestamp(self._get_param("EndTime")) or now
    keys = [k for k in CLOUDTRAIL_PUBLIC_KEYS.get(self.current_account, [])
            if k["ValidityStartTime"] <= end and (k.get("ValidityEndTime") is None or k["ValidityEndTime"] >= start)]
    return ActionResult(_page(keys, "PublicKeyList", {"NextToken": self._get_param("NextToken")}))


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [] if value is None else [value]


def _matches(patterns: list[str], action: str) -> bool:
    return any(fnmatch.fnmatchcase(action.lower(), str(p).lower()) for p in patterns)


def evaluate(documents: list[dict[str, Any]], action: str) -> str:
    """IAM's decision for ``action`` on any resource under these identity policies (see the module text)."""
    allowed = False
    for document in documents:
        for statement in _as_list(document.get("Statement")):
            if statement.get("Condition") or "*" not in _as_list(statement.get("Resource", "*")):
                continue
            if "NotAction" in statement:
                hit = not _matches(_as_list(statement["NotAction"]), action)
            else:
                hit = _matches(_as_list(statement.get("Action")), action)
            if hit and statement.get("Effect") == "Deny":
                return "explicitDeny"
            allowed = allowed or (hit and statement.get("Effect") == "Allow")
    return "allowed" if allowed else "implicitDeny"


def _principal_documents(backend: Any, arn: str) -> list[dict[str, Any]]:
    """The identity policies of a user (with its groups') or a role, parsed."""
    kind, _, name = arn.split(":", 5)[-1].partition("/")
    name = name.rsplit("/", 1)[-1]
    if kind == "role":
        holders = [backend.get_role_by_arn(arn)]
    elif kind == "user":
        holders = [backend.get_user(name), *backend.get_groups_for_user(name)]
    else:
        from moto.iam.exceptions import IAMNotFoundException

        raise IAMNotFoundException(f"Principal {arn} not found")
    texts = [text for holder in holders for text in holder.policies.values()]
    texts += [next((v.document for v in policy.versions if v.is_default), policy.versions[-1].document)
              for holder in holders for policy in holder.managed_policies.values()]
    return [json.loads(text if isinstance(text, str) else json.dumps(text)) for text in texts]


def _simulate_principal_policy(self: Any) -> Any:
    from moto.core.responses import ActionResult

    arn = self._get_param("PolicySourceArn")
    actions = self._get_param("ActionNames") or []
    documents = _principal_documents(self.backend, arn)
    results = [{"EvalActionName": action, "EvalResourceName": "*", "EvalDecision": evaluate(documents, action),
                "MatchedStatements": [], "MissingContextValues": []} for action in actions]
    return ActionResult({"EvaluationResults": results, "IsTruncated": False})


def install() -> None:
    """Register the handlers with moto (once per process, before the server serves these services)."""
    global _INSTALLED
    if _INSTALLED:
        return
    from moto.backup import urls as backup_urls
    from moto.backup.responses import BackupResponse
    from moto.cloudformation.responses import CloudFormationResponse
    from moto.cloudtrail.responses import CloudTrailResponse
    from moto.iam.responses import IamResponse

    BackupResponse.list_recovery_points_by_backup_vault = _list_recovery_points_by_backup_vault  # type: ignore[attr-defined]
    BackupResponse.list_restore_jobs = _list_restore_jobs  # type: ignore[attr-defined]
    backup_urls.url_paths["{0}/backup-vaults/(?P<name>[^/]+)/recovery-points/$"] = BackupResponse.dispatch
    backup_urls.url_paths["{0}/restore-jobs/$"] = BackupResponse.dispatch
    CloudFormationResponse.describe_stack_resource_drifts = _describe_stack_resource_drifts  # type: ignore[attr-defined]
    CloudTrailResponse.list_public_keys = _list_public_keys  # type: ignore[attr-defined]
    IamResponse.simulate_principal_policy = _simulate_principal_policy  # type: ignore[attr-defined]
    _INSTALLED = True
