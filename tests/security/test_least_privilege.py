"""Least privilege, proven: every AWS operation and GitHub endpoint the collectors called is covered by the
shipped IAM policy / token permission list, and none of them returns secret material.

The calls come from the emulators' request log (``auditbook.demo.faults``) during the session's demo run,
plus one run of every collector (some criteria may not have a notebook yet), plus the Athena and CloudTrail
Lake events engines run against the emulator (created table, named table, a query stopped or cancelled at its
timeout). The engines' calls are checked against the resources IAM authorizes them on (the workgroup, the
Glue catalog/database/table, the event data store, the results object), including what Athena does with the
caller's credentials (reads the table's files, writes and reads the results, creates the table).

IAM policy semantics: ``*`` and ``?`` wildcards in actions and resources, an explicit Deny wins, a
conditional statement is read as the condition says (``kms:ViaService``; ``kms:MessageType`` in the signing
policy).
"""

from __future__ import annotations

import contextlib
import fnmatch
import json
import re
import threading
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from auditbook.provenance import CollectionError, RawStore

POLICY_DIR = Path(__file__).resolve().parents[2] / "policy"
IAM_POLICY = json.loads((POLICY_DIR / "auditbook-readonly-policy.json").read_text())
SIGNING_POLICY = json.loads((POLICY_DIR / "auditbook-signing-policy.json").read_text())
GITHUB = json.loads((POLICY_DIR / "github-token-permissions.json").read_text())
# The policy's placeholders, as the demo names them (_names adds the events tests' Athena and Lake set-up).
DEMO_NAMES = {"CLOUDTRAIL-BUCKET": "demo-fintech-cloudtrail", "TERRAFORM-STATE-BUCKET": "demo-fintech-terraform-state"}

# API operations that return secret material or credentials: never called, never allowed.
FORBIDDEN = {
    "secretsmanager:GetSecretValue", "secretsmanager:BatchGetSecretValue", "secretsmanager:GetRandomPassword",
    "kms:Decrypt", "kms:GenerateDataKey", "kms:GenerateDataKeyWithoutPlaintext", "kms:GenerateDataKeyPair",
    "kms:ReEncryptFrom", "ssm:GetParameter", "ssm:GetParameters", "ssm:GetParametersByPath",
    "ssm:GetParameterHistory", "ec2:GetPasswordData", "ecr:GetAuthorizationToken", "ecr:BatchGetImage",
    "ecr:GetDownloadUrlForLayer", "lambda:GetFunction", "rds:DownloadDBLogFilePortion", "logs:GetLogEvents",
    "logs:FilterLogEvents", "iam:CreateAccessKey", "sts:GetSessionToken", "sts:GetFederationToken",
}
WRITE_PREFIXES = ("Create", "Put", "Delete", "Update", "Attach", "Detach", "Modify", "Start", "Stop", "Tag", "Untag",
                  "Enable", "Disable", "Set", "Reset", "Revoke", "Authorize", "Add", "Remove", "Upload", "Restore",
                  "Run", "Invoke", "Send", "Publish", "Rotate", "Cancel", "Register", "Deregister")
# botocore service → IAM service prefix, and the S3 operations whose IAM action has another name.
IAM_PREFIX = {"elbv2": "elasticloadbalancing", "elb": "elasticloadbalancing", "sso-admin": "sso"}
S3_ACTIONS = {"ListObjectsV2": "ListBucket", "ListObjects": "ListBucket", "ListBuckets": "ListAllMyBuckets",
              "GetBucketEncryption": "GetEncryptionConfiguration",
              "GetObjectLockConfiguration": "GetBucketObjectLockConfiguration", "HeadObject": "GetObject",
              "HeadBucket": "ListBucket"}
NEEDS_NO_PERMISSION = {"sts:GetCallerIdentity"}
# The events engines' operations that start or stop work, or write: each granted on named resources only
# (the workgroup, the event data store, auditbook's own table, the results prefix), never on "*".
ENGINE_WRITES = {"athena:StartQueryExecution", "athena:StopQueryExecution", "cloudtrail:StartQuery",
                 "cloudtrail:CancelQuery", "glue:CreateTable", "s3:PutObject", "s3:AbortMultipartUpload"}
ENGINE_STATEMENTS = "EventsEngine"  # the Sid prefix of the statements that grant them


def iam_action(call) -> str:
    operation = S3_ACTIONS.get(call.operation, call.operation) if call.service == "s3" else call.operation
    return f"{IAM_PREFIX.get(call.service, call.service)}:{operation}"


def resource(call) -> str:
    if call.service == "s3" and call.operation in ("GetObject", "HeadObject"):
        return f"arn:aws:s3:::{call.path.lstrip('/')}"
    return "*"


def _matches(patterns, value: str) -> bool:
    patterns = [patterns] if isinstance(patterns, str) else patterns
    return any(fnmatch.fnmatchcase(value.lower(), _demo(p).lower()) for p in patterns)


@cache
def _names() -> dict[str, str]:
    from auditbook.demo.aws import DEMO_ACCOUNT_ID, DEMO_REGION
    from auditbook.demo.moto_lake import store_arn
    from events.engines import DATABASE, RESULTS_BUCKET, STORE_NAME, WORKGROUP

    store_id = store_arn(DEMO_ACCOUNT_ID, DEMO_REGION, STORE_NAME).rsplit("/", 1)[-1]
    return {**DEMO_NAMES, "ATHENA-RESULTS-BUCKET": RESULTS_BUCKET, "ATHENA-WORKGROUP": WORKGROUP,
            "GLUE-DATABASE": DATABASE, "EVENT-DATA-STORE-ID": store_id}


def _demo(pattern: str) -> str:
    for placeholder, name in _names().items():
        pattern = pattern.replace(placeholder, name)
    return pattern


def _applies(statement, action: str, res: str, context: dict[str, str]) -> bool:
    if "Action" in statement and not _matches(statement["Action"], action):
        return False
    if "Resource" in statement and not _matches(statement["Resource"], res):
        return False
    if "NotResource" in statement and _matches(statement["NotResource"], res):
        return False
    for operator, conditions in statement.get("Condition", {}).items():
        for key, expected in conditions.items():
            got = context.get(key)
            if operator == "StringEquals":
                hit = got in ([expected] if isinstance(expected, str) else expected)
            elif operator in ("StringLike", "StringNotLike"):
                hit = got is not None and _matches(expected, got)
            else:
                raise AssertionError(f"the test does not evaluate the condition operator {operator}")
            if (operator in ("StringLike", "StringEquals") and not hit) or (operator == "StringNotLike" and hit):
                return False
    return True


def decision(action: str, res: str = "*", context: dict[str, str] | None = None,
             policy: dict | None = None) -> str:
    """IAM evaluation: an explicit Deny wins, then an Allow, else the implicit deny."""
    statements = (policy or IAM_POLICY)["Statement"]
    if any(s["Effect"] == "Deny" and _applies(s, action, res, context or {}) for s in statements):
        return "denied"
    if any(s["Effect"] == "Allow" and _applies(s, action, res, context or {}) for s in statements):
        return "allowed"
    return "not allowed"


@pytest.fixture(scope="module")
def aws_calls(demo_run, demo_env, account, tmp_path_factory):
    """The demo run's AWS calls, and those of every collector run once."""
    from faultcases import AWS_COLLECTORS

    demo_env.faults.aws.clear()
    for collect in AWS_COLLECTORS.values():
        collect(account, RawStore(tmp_path_factory.mktemp("lp") / "raw"))
    return demo_run.calls["aws"] + list(demo_env.faults.aws.calls)


@pytest.fixture(scope="module")
def github_calls(demo_run, demo_env, tmp_path_factory):
    from auditbook.sources.github import connect
    from faultcases import GITHUB_COLLECTORS

    demo_env.faults.github.clear()
    gh = connect()
    for collect in GITHUB_COLLECTORS.values():
        collect(gh, RawStore(tmp_path_factory.mktemp("lp") / "raw"))
    return demo_run.calls["github"] + list(demo_env.faults.github.calls)


def test_the_demo_run_was_recorded(demo_run):
    assert {c.action for c in demo_run.calls["aws"]} >= {"iam:GetCredentialReport", "s3:GetObject",
                                                         "secretsmanager:ListSecrets"}
    assert any(c.operation.startswith("POST /graphql") for c in demo_run.calls["github"])


def test_every_aws_call_is_allowed_by_the_shipped_policy(aws_calls):
    unknown = sorted({c.action for c in aws_calls if c.operation == "unknown"})
    assert not unknown, f"requests the recorder could not name: {unknown}"
    refused = sorted({(iam_action(c), resource(c), decision(iam_action(c), resource(c))) for c in aws_calls
                      if c.action not in NEEDS_NO_PERMISSION and decision(iam_action(c), resource(c)) != "allowed"})
    assert not refused, refused


def test_no_aws_call_returns_secret_material_or_writes(aws_calls):
    called = {iam_action(c) for c in aws_calls}
    assert not called & FORBIDDEN, sorted(called & FORBIDDEN)
    writes = sorted(a for a in called if a.split(":", 1)[1].startswith(WRITE_PREFIXES)
                    and a != "iam:GenerateCredentialReport")
    assert not writes, writes


def test_the_policy_is_read_only_and_denies_secret_material():
    for statement in IAM_POLICY["Statement"]:
        actions = [statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"]
        if statement["Effect"] == "Allow":
            assert all("*" not in a for a in actions), f"wildcard actions in {statement['Sid']}"
            writes = {a for a in actions if a.split(":", 1)[1].startswith(WRITE_PREFIXES)
                      and a != "iam:GenerateCredentialReport"}
            if statement["Sid"].startswith(ENGINE_STATEMENTS):  # the events engines', on named resources only
                assert writes <= ENGINE_WRITES, (statement["Sid"], writes - ENGINE_WRITES)
                resources = [statement["Resource"]] if isinstance(statement["Resource"], str) \
                    else statement["Resource"]
                assert all(r != "*" and not r.endswith(":*") for r in resources), statement["Sid"]
            else:
                assert not writes, (statement["Sid"], writes)
    for action in sorted(FORBIDDEN):
        assert decision(action) == "denied", action
    assert decision("kms:Decrypt", context={"kms:ViaService": "s3.us-east-1.amazonaws.com"}) == "allowed"
    assert decision("kms:Decrypt", context={"kms:ViaService": "secretsmanager.us-east-1.amazonaws.com"}) == "denied"
    assert decision("s3:GetObject", "arn:aws:s3:::demo-fintech-cloudtrail/AWSLogs/x.json.gz") == "allowed"
    assert decision("s3:GetObject", "arn:aws:s3:::payroll-exports/2026-09.csv") == "denied"
    assert decision("iam:ListUsers") == "not allowed", "only what the collectors call"


# -- the events engines: Athena and CloudTrail Lake ------------------------------------------------------
@dataclass(frozen=True)
class Request:
    """One API call as a collector made it (parameters and answer): IAM authorizes it on named resources."""

    service: str
    operation: str
    params: dict[str, Any]
    response: dict[str, Any]


@dataclass
class Recorder:
    """Every botocore call, with its parameters (the emulator's log names the operation, not the workgroup,
    table or event data store it is on)."""

    requests: list[Request] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        import botocore.client
        import botocore.exceptions

        original = botocore.client.BaseClient._make_api_call
        recorder = self

        def recording(client: Any, operation: str, params: dict[str, Any]) -> Any:
            service = client.meta.service_model.service_name
            try:
                answer = original(client, operation, params)
            except botocore.exceptions.ClientError as exc:
                recorder.add(Request(service, operation, dict(params), exc.response))
                raise
            recorder.add(Request(service, operation, dict(params), answer))
            return answer

        monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", recording)

    def add(self, request: Request) -> None:
        with self.lock:
            self.requests.append(request)


_FROM = re.compile(r"\bFROM\s+(\"[^\"]+\"\.\"[^\"]+\"|[A-Za-z0-9-]+)\s", re.I)
_CREATE = re.compile(r"CREATE\s+EXTERNAL\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?`([^`]+)`\.`([^`]+)`", re.I)


def _glue(account: str, database: str, table: str | None = None) -> list[str]:
    """Glue authorizes a table operation on the catalog, the database and the table."""
    base = f"arn:aws:glue:{{region}}:{account}:"
    arns = [f"{base}catalog", f"{base}database/{database}"] + ([f"{base}table/{database}/{table}"] if table else [])
    return arns


def _s3_object(url: str) -> str:
    return "arn:aws:s3:::" + url.removeprefix("s3://")


def engine_authorizations(requests: list[Request], account: str, region: str) -> set[tuple[str, str]]:
    """(IAM action, resource) for every call the engines made, and for what Athena did with the caller's
    credentials: read the queried table's definition and files, create the table a DDL names, write each
    execution's results, read them back for GetQueryResults."""
    pairs: set[tuple[str, str]] = set()
    workgroups: dict[str, str] = {}  # QueryExecutionId → workgroup
    texts: dict[str, str] = {}  # QueryExecutionId → query text
    stores: dict[str, str] = {}  # Lake QueryId → event data store id
    locations: dict[tuple[str, str], str] = {}  # (database, table) → its LOCATION

    def add(action: str, *resources: str) -> None:
        pairs.update((action, r.format(region=region)) for r in resources)

    def read_table(database: str, table: str) -> None:
        add("glue:GetTable", *_glue(account, database, table))
        location = locations.get((database, table), "")
        assert location, f"Athena queried {database}.{table}, whose definition the engine never read"
        bucket = location.removeprefix("s3://").split("/", 1)[0]
        add("s3:ListBucket", f"arn:aws:s3:::{bucket}")
        add("s3:GetObject", _s3_object(f"{location}{region}/2026/07/01/x_CloudTrail_x.json.gz"))

    for r in requests:
        action = iam_action(r)
        if r.service == "athena":
            execution = r.params.get("QueryExecutionId") or r.response.get("QueryExecutionId", "")
            if r.operation == "StartQueryExecution" and execution:
                workgroups[execution], texts[execution] = r.params.get("WorkGroup", "primary"), r.params["QueryString"]
            workgroup = r.params.get("WorkGroup") or workgroups[execution]
            add(action, f"arn:aws:athena:{{region}}:{account}:workgroup/{workgroup}")
            if r.operation == "GetQueryExecution":  # the execution ran: Athena acted with the caller's rights
                text = texts[execution]
                created = _CREATE.search(text)
                if created:
                    add("glue:CreateTable", *_glue(account, *created.groups()))
                else:
                    database, table = (part.strip('"') for part in _FROM.search(text).group(1).split(".", 1))
                    read_table(database, table)
                output = r.response["QueryExecution"]["ResultConfiguration"]["OutputLocation"]
                add("s3:PutObject", _s3_object(output if not output.endswith("/") else f"{output}{execution}.csv"))
            if r.operation == "GetQueryResults":
                output = next(q.response["QueryExecution"]["ResultConfiguration"]["OutputLocation"] for q in requests
                              if q.operation == "GetQueryExecution" and q.params.get("QueryExecutionId") == execution)
                add("s3:GetObject", _s3_object(output if not output.endswith("/") else f"{output}{execution}.csv"))
        elif r.service == "glue":
            database = r.params.get("DatabaseName") or r.params["Name"]
            table = r.params["Name"] if r.operation == "GetTable" else None
            add(action, *_glue(account, database, table))
            if table and "Table" in r.response:
                locations[(database, table)] = r.response["Table"]["StorageDescriptor"]["Location"]
        elif r.service == "cloudtrail" and r.operation in ("GetEventDataStore", "StartQuery", "DescribeQuery",
                                                           "GetQueryResults", "CancelQuery"):
            if r.operation == "GetEventDataStore":
                store = r.params["EventDataStore"].rsplit("/", 1)[-1]
            elif r.operation == "StartQuery":
                store = _FROM.search(r.params["QueryStatement"]).group(1)
                stores[r.response["QueryId"]] = store
            else:
                store = stores[r.params["QueryId"]]
            add(action, f"arn:aws:cloudtrail:{{region}}:{account}:eventdatastore/{store}")
        elif action not in NEEDS_NO_PERMISSION:
            add(action, "*" if r.service != "s3" or "Key" not in r.params
                else f"arn:aws:s3:::{r.params['Bucket']}/{r.params['Key']}")
    return pairs


@pytest.fixture(scope="module")
def engine_calls(demo_env, account, tmp_path_factory):
    """The Athena engine (auditbook's own table created, then the organization's table named, then a query
    stopped at its timeout) and the Lake engine (a run, then a query cancelled at its timeout), recorded."""
    import botocore.exceptions
    from auditbook import catalog
    from auditbook.demo import moto_athena, moto_lake
    from auditbook.demo.aws import DEMO_REGION
    from auditbook.sources.aws import athena, cloudtrail_lake
    from events.engines import DATABASE, ORG_TABLE, PERIOD, WORKGROUP, set_up

    store = set_up()["store"]
    own = athena.DEFAULT_TABLE.format(account_id=account.account_id)
    with contextlib.suppress(botocore.exceptions.ClientError):  # so that this run creates it, whatever ran before
        account.client("glue").delete_table(DatabaseName=DATABASE, Name=own)
    recorder = Recorder()
    athena_params = {"database": DATABASE, "workgroup": WORKGROUP}
    lake_params = {"event_data_store": store}
    runs = [(athena, athena_params), (athena, {**athena_params, "table": ORG_TABLE}), (cloudtrail_lake, lake_params)]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(athena, "POLL_FIRST", 0.01)  # both engines poll through athena.wait_for
        patch.setattr(athena, "POLL_MAX", 0.05)
        recorder.install(patch)
        demo_env.faults.aws.clear()
        for engine, params in runs:
            engine.collect_trail_logs(account, RawStore(tmp_path_factory.mktemp("lp") / "raw"), PERIOD,
                                      [DEMO_REGION], catalog.trail_selection(), params)
        for engine, params, script in ((athena, {**athena_params, "table": ORG_TABLE}, moto_athena.script),
                                       (cloudtrail_lake, lake_params, moto_lake.script)):
            script("RUNNING")
            with pytest.raises(CollectionError, match="timeout_minutes"):
                engine.collect_trail_logs(account, RawStore(tmp_path_factory.mktemp("lp") / "raw"), PERIOD,
                                          [DEMO_REGION], catalog.trail_selection(),
                                          {**params, "timeout_minutes": 0.002})
        logged = list(demo_env.faults.aws.calls)
    moto_athena.SCRIPTED.clear()
    moto_lake.SCRIPTED.clear()
    return recorder.requests, logged


def test_the_engines_were_recorded(engine_calls):
    requests, logged = engine_calls
    made = {iam_action(r) for r in requests}
    assert made >= {"athena:StartQueryExecution", "athena:StopQueryExecution", "glue:GetTable",
                    "cloudtrail:StartQuery", "cloudtrail:CancelQuery", "cloudtrail:GetEventDataStore"}
    assert {c.action for c in logged} == {f"{r.service}:{r.operation}" for r in requests}, \
        "the recorder saw every request the emulator received"
    assert any(_CREATE.search(r.params.get("QueryString", "")) for r in requests), "auditbook's table created"


def test_every_engine_call_is_allowed_on_its_resource(engine_calls, account):
    pairs = engine_authorizations(engine_calls[0], account.account_id, account.region)
    refused = sorted((action, res, decision(action, res)) for action, res in pairs
                     if decision(action, res) != "allowed")
    assert not refused, refused
    actions = {action for action, _ in pairs}
    assert not actions & FORBIDDEN, sorted(actions & FORBIDDEN)
    writes = {a for a in actions if a.split(":", 1)[1].startswith(WRITE_PREFIXES)}
    assert writes <= ENGINE_WRITES, sorted(writes - ENGINE_WRITES)
    assert {"glue:CreateTable", "s3:PutObject", "s3:GetObject"} <= actions


def test_the_engines_statements_grant_nothing_beyond_their_resources():
    """Queries in auditbook's workgroup only, auditbook's own table only, results under auditbook/ only,
    the named event data store only."""
    account, region = "111111111111", "eu-west-1"
    workgroup = f"arn:aws:athena:{region}:{account}:workgroup/"
    assert decision("athena:StartQueryExecution", workgroup + _names()["ATHENA-WORKGROUP"]) == "allowed"
    assert decision("athena:StartQueryExecution", workgroup + "primary") == "not allowed"
    assert decision("athena:DeleteWorkGroup", workgroup + _names()["ATHENA-WORKGROUP"]) == "not allowed"
    database = _names()["GLUE-DATABASE"]
    for arn in _glue(account, database, f"auditbook_cloudtrail_{account}"):
        assert decision("glue:CreateTable", arn.format(region=region)) == "allowed"
    assert decision("glue:CreateTable", f"arn:aws:glue:{region}:{account}:table/{database}/payroll") == "not allowed"
    assert decision("glue:CreateTable", f"arn:aws:glue:{region}:{account}:database/other") == "not allowed"
    for action in ("glue:DeleteTable", "glue:UpdateTable", "glue:CreateDatabase"):
        assert decision(action, f"arn:aws:glue:{region}:{account}:table/{database}/x") == "not allowed"
    results = f"arn:aws:s3:::{_names()['ATHENA-RESULTS-BUCKET']}"
    assert decision("s3:PutObject", f"{results}/auditbook/abc.csv") == "allowed"
    assert decision("s3:GetObject", f"{results}/auditbook/abc.csv") == "allowed"
    assert decision("s3:GetObject", f"{results}/finance/abc.csv") == "denied"
    assert decision("s3:PutObject", f"{results}/finance/abc.csv") == "not allowed"
    assert decision("s3:PutObject", f"arn:aws:s3:::{DEMO_NAMES['CLOUDTRAIL-BUCKET']}/AWSLogs/x.json.gz") == \
        "not allowed", "the trail's files are never written"
    assert decision("s3:DeleteObject", f"{results}/auditbook/abc.csv") == "not allowed"
    stores = f"arn:aws:cloudtrail:{region}:{account}:eventdatastore/"
    assert decision("cloudtrail:StartQuery", stores + _names()["EVENT-DATA-STORE-ID"]) == "allowed"
    assert decision("cloudtrail:StartQuery", stores + "another-store") == "not allowed"
    assert decision("cloudtrail:DeleteEventDataStore", stores + _names()["EVENT-DATA-STORE-ID"]) == "not allowed"


def test_the_policy_fits_a_managed_policy():
    """IAM refuses a managed policy over 6,144 characters (whitespace not counted)."""
    text = (POLICY_DIR / "auditbook-readonly-policy.json").read_text()
    assert len(re.sub(r"\s", "", text)) <= 6144


def _github_allowed(call) -> bool:
    from auditbook.demo.faults import github_template

    request = call.operation if call.operation.startswith("POST /graphql") else \
        f"{call.method} {github_template(call.path)}"
    return any(entry["request"] == request for entry in GITHUB["endpoints"])


def test_every_github_call_is_in_the_token_permission_list(github_calls):
    refused = sorted({c.operation for c in github_calls if not _github_allowed(c)})
    assert not refused, refused
    permissions = {f"{scope}.{name}:{level}" for scope, names in GITHUB["permissions"].items()
                   for name, level in names.items()}
    for entry in GITHUB["endpoints"]:
        assert entry["permission"] is None or entry["permission"] in permissions, entry
    assert all(level == "read" for names in GITHUB["permissions"].values() for level in names.values())


def test_no_github_call_is_forbidden(github_calls):
    from auditbook.demo.faults import github_template

    for call in github_calls:
        request = call.operation if call.operation.startswith("POST /graphql") else \
            f"{call.method} {github_template(call.path)}"
        hits = [f["request"] for f in GITHUB["forbidden"] if fnmatch.fnmatchcase(request, f["request"])]
        assert not hits, (request, hits)
        assert call.method == "GET" or call.operation.startswith("POST /graphql query"), request
    scanning = [c for c in github_calls if c.path.endswith("/secret-scanning/alerts")]
    assert scanning and all("hide_secret=true" in c.query for c in scanning)


def test_the_signing_policy_signs_package_digests_with_one_key_only():
    """The role that signs gets the KMS key's signing operations on that key alone, for digests only: it can
    sign a package's manifest-sha256.txt digest and nothing else, and no other key."""
    key = "SIGNING-KEY-ARN"
    digest = {"kms:MessageType": "DIGEST"}
    for action in ("kms:DescribeKey", "kms:GetPublicKey"):
        assert decision(action, key, policy=SIGNING_POLICY) == "allowed"
    for action in ("kms:Sign", "kms:Verify"):
        assert decision(action, key, digest, policy=SIGNING_POLICY) == "allowed"
        assert decision(action, key, {"kms:MessageType": "RAW"}, policy=SIGNING_POLICY) == "not allowed"
        assert decision(action, "arn:aws:kms:us-east-1:123456789012:key/other", digest,
                        policy=SIGNING_POLICY) == "not allowed"
    for action in ("kms:Decrypt", "kms:Encrypt", "kms:CreateKey", "kms:ScheduleKeyDeletion", "kms:PutKeyPolicy"):
        assert decision(action, key, digest, policy=SIGNING_POLICY) == "not allowed"
