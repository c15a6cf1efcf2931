"""CC6.2 collectors against the demo emulators: complete populations, and no secret material ever read."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from auditbook import catalog
from auditbook.catalog import population as held
from auditbook.demo import aws_secrets
from auditbook.demo.aws import DEMO_REGION
from auditbook.demo.github.company import ORG, PRODUCTION_BRANCHES
from auditbook.demo.github.secret_scanning import ALERTS
from auditbook.period import parse_period
from auditbook.provenance import CollectionError, RawStore
from auditbook.sources.aws import cloudtrail, iam, kms, secretsmanager
from auditbook.sources.github import connect
from auditbook.sources.github.secret_scanning import collect_secret_scanning_alerts

SOURCES = Path(__file__).resolve().parents[2] / "lib" / "auditbook" / "sources"
FORBIDDEN = {"GetSecretValue", "BatchGetSecretValue", "GetRandomPassword", "PutSecretValue",
             "Decrypt", "GenerateDataKey", "Encrypt", "ReEncrypt", "GetParametersForImport"}
PLACEHOLDER = "demo-placeholder-not-a-secret"




def test_secrets_population_is_complete(account, raw):
    pop = held("secretsmanager-secrets", secretsmanager.collect_secrets(account, raw, [DEMO_REGION]))
    frame = pop.frame.set_index("name")
    assert set(frame.index) == {s.name for s in aws_secrets.SECRETS}
    for s in aws_secrets.SECRETS:
        row = frame.loc[s.name]
        assert bool(row["rotation_enabled"]) == (s.rotation_days is not None)
        if s.rotation_days:
            assert row["rotation_days"] == s.rotation_days and row["rotation_lambda_arn"] == aws_secrets.ROTATION_LAMBDA
        assert (row["last_rotated"].isoformat()[:19] if s.last_rotated else None) == s.last_rotated
        assert row["created"].isoformat()[:19] == s.created
        assert bool(row["resource_policy"]) == bool(s.policy)
        if s.policy:
            assert json.loads(row["resource_policy"]) == s.policy
    assert str(pop.frame["created"].dt.tz) == "UTC"
    ops = {o.operation: o for o in pop.provenance.operations}
    assert ops["secretsmanager:ListSecrets"].records == len(aws_secrets.SECRETS)
    assert ops["secretsmanager:DescribeSecret"].records == len(aws_secrets.SECRETS)


def test_kms_population_has_customer_keys_only(account, raw):
    frame = held("kms-keys", kms.collect_keys(account, raw, [DEMO_REGION])).frame.set_index("aliases")
    assert set(frame.index) == {alias for alias, *_ in aws_secrets.KMS_KEYS}
    assert set(frame["key_manager"]) == {"CUSTOMER"}
    for alias, spec, usage, rotate, _, _ in aws_secrets.KMS_KEYS:
        row = frame.loc[alias]
        assert (row["key_spec"], row["key_usage"]) == (spec, usage)
        assert row["rotation_enabled"] == (rotate if spec == "SYMMETRIC_DEFAULT" else None)


def test_credential_report_holds_the_seeded_keys(account, raw):
    report = held("iam-credential-report", iam.collect_credential_report(account, raw)).frame.set_index("user")
    for user in aws_secrets.SERVICE_USERS:
        row = report.loc[user.name]
        assert not row["password_enabled"], "a CC6.2 service user must not become a CC6.1 console user"
        for slot, (created, used) in enumerate(user.keys, start=1):
            assert row[f"access_key_{slot}_active"]
            assert row[f"access_key_{slot}_last_rotated"].isoformat()[:19] == created
            assert row[f"access_key_{slot}_last_used_date"].isoformat()[:19] == used


def test_trail_holds_rotation_history_and_reads(account, raw):
    frame = held("cloudtrail-events", cloudtrail.collect_trail_logs(
        account, raw, parse_period("2026-Q3"), [DEMO_REGION], catalog.trail_selection())[1]).frame
    sm = frame[frame["event_source"] == "secretsmanager.amazonaws.com"]
    outcomes = sm[sm["event_name"].isin(["RotationSucceeded", "RotationFailed"])]
    in_period = [r for s in aws_secrets.SECRETS for r in s.rotations if "2026-07-01" <= r[0] < "2026-10-01"]
    assert len(outcomes) == len(in_period)
    secret_ids = [json.loads(d)["SecretId"] for d in outcomes["additional_event_data"]]
    assert all(s.startswith("arn:aws:secretsmanager:") for s in secret_ids)
    reads = sm[sm["event_name"] == "GetSecretValue"]
    assert (reads["read_only"] == True).all()  # noqa: E712 - reads never count as changes (CC8.1)
    assert "frank.eng" not in set(reads["principal_name"]), "a read before the period is not in the population"
    assert {"carol.eng", "trent.sales", "reporting-etl"} <= set(reads["principal_name"])


def test_github_alerts_population_without_the_secret(demo_env, tmp_path):
    gh = connect(backoff_factor=0.01, max_wait=5)
    repos = list(PRODUCTION_BRANCHES)
    raw = RawStore(tmp_path / "raw")
    pop = held("github-secret-scanning-alerts", collect_secret_scanning_alerts(gh, ORG, dict.fromkeys(repos), raw))
    expected = {(repo, a["number"]) for repo in repos for a in ALERTS.get(repo, [])}
    assert set(zip(pop.frame["repo"], pop.frame["number"], strict=True)) == expected
    assert str(pop.frame["created_at"].dt.tz) == "UTC"
    assert "secret" not in pop.frame.columns
    saved = "".join(p.read_text() for p in (tmp_path / "raw").rglob("*.json"))
    assert PLACEHOLDER not in saved and '"secret":' not in saved


def test_github_secret_is_dropped_even_when_the_server_sends_it(demo_env, tmp_path, monkeypatch):
    from auditbook.demo.github.rest import Renderer

    original = Renderer.secret_scanning_alert
    monkeypatch.setattr(Renderer, "secret_scanning_alert",
                        lambda self, repo, alert, hide_secret=False: original(self, repo, alert, hide_secret=False))
    gh = connect(backoff_factor=0.01, max_wait=5)
    held("github-secret-scanning-alerts",
         collect_secret_scanning_alerts(gh, ORG, dict.fromkeys(["payments-api"]), RawStore(tmp_path / "raw")))
    saved = "".join(p.read_text() for p in (tmp_path / "raw").rglob("*.json"))
    assert '"number": 1' in saved and PLACEHOLDER not in saved


def test_collectors_never_call_an_operation_that_returns_secret_material(account, tmp_path):
    """Every AWS call the CC6.2 collection makes, recorded from botocore's before-call events."""
    called: list[str] = []
    account.session.events.register("before-call", lambda model, **_: called.append(model.name))
    raw = RawStore(tmp_path / "raw")
    held("secretsmanager-secrets", secretsmanager.collect_secrets(account, raw, [DEMO_REGION]))
    held("kms-keys", kms.collect_keys(account, raw, [DEMO_REGION]))
    held("iam-credential-report", iam.collect_credential_report(account, raw))
    held("iam-entitlements", iam.collect_entitlements(account, raw))
    held("cloudtrail-events", cloudtrail.collect_trail_logs(account, raw, parse_period("2026-Q3"), [DEMO_REGION],
                                                            catalog.trail_selection())[1])
    assert {"ListSecrets", "DescribeSecret", "GetResourcePolicy", "ListKeys", "GetKeyRotationStatus",
            "GetCredentialReport", "GetObject"} <= set(called), "the recorder saw the collection"
    assert FORBIDDEN.isdisjoint(called), sorted(FORBIDDEN & set(called))
    assert set(called) & {"ListSecrets", "DescribeSecret", "GetResourcePolicy"} == set(secretsmanager.OPERATIONS)
    saved = "".join(p.read_text() for p in (tmp_path / "raw").rglob("secretsmanager/*/*.json"))
    assert saved and PLACEHOLDER not in saved


def test_no_source_module_names_an_operation_that_returns_secret_material():
    """The static half of the guarantee: no collector even spells a boto3 method that returns secret material."""
    forbidden = re.compile(r"get_secret_value|batch_get_secret_value|get_random_password|\.decrypt\(|"
                           r"generate_data_key|\.get_parameters?\(", re.IGNORECASE)
    offenders = [f"{path.relative_to(SOURCES)}:{number}: {line.strip()}"
                 for path in sorted(SOURCES.rglob("*.py"))
                 for number, line in enumerate(path.read_text().splitlines(), start=1)
                 if forbidden.search(line.split("#", 1)[0])]
    assert offenders == []


def test_a_key_whose_answer_lacks_a_documented_field_is_an_error_not_left_out(account, raw, monkeypatch):
    """DescribeKey always sends KeyUsage: an answer without it would have dropped the key out of the rotation
    test (N shrinking silently); the collection is ERROR instead, naming the field."""
    from botocore.stub import Stubber

    kms_client = account.client("kms", DEMO_REGION)
    stub = Stubber(kms_client)
    arn = f"arn:aws:kms:{DEMO_REGION}:{account.account_id}:key/k1"
    stub.add_response("list_keys", {"Keys": [{"KeyId": "k1", "KeyArn": arn}], "Truncated": False})
    stub.add_response("list_aliases", {"Aliases": [], "Truncated": False})
    stub.add_response("describe_key", {"KeyMetadata": {"KeyId": "k1", "Arn": arn, "KeyManager": "CUSTOMER",
                                                       "KeyState": "Enabled", "KeySpec": "SYMMETRIC_DEFAULT"}})
    stub.activate()
    real = account.client
    monkeypatch.setattr(account, "client", lambda service, region=None: kms_client if service == "kms"
                        else real(service, region))
    with pytest.raises(CollectionError, match="kms:DescribeKey: k1 the answer lacks KeyUsage"):
        kms.collect_keys(account, raw, [DEMO_REGION])
