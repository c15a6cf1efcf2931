"""CC9.1/A1.1/A1.2 collectors against the demo emulators: complete populations in AWS's and GitHub's shapes,
paginated, and failures that make evidence incomplete become CollectionError (never an empty population)."""

from __future__ import annotations

import json

import boto3
import pytest
from auditbook.catalog import population as held
from auditbook.demo import aws_resilience, moto_extensions
from auditbook.demo.aws import DEMO_REGION
from auditbook.demo.github.company import ORG, PRODUCTION_BRANCHES
from auditbook.demo.github.security_alerts import CODE_SCANNING, DEPENDABOT
from auditbook.period import parse_period
from auditbook.provenance import CollectionError
from auditbook.sources import files
from auditbook.sources.aws import autoscaling, backup, cloudformation, cloudwatch, ecr, elbv2, route53, s3
from auditbook.sources.github import connect
from auditbook.sources.github.security_alerts import collect_code_scanning_alerts, collect_dependabot_alerts

PERIOD = parse_period("2026-Q3")
REPOS = list(PRODUCTION_BRANCHES)




def test_dependabot_alerts_every_page_by_cursor(demo_env, raw, monkeypatch):
    import auditbook.sources.github.client as client

    monkeypatch.setattr(client, "PER_PAGE", 1)  # one alert a page: the cursor Link is followed to the end
    pop = held("github-dependabot-alerts", collect_dependabot_alerts(connect(), ORG, dict.fromkeys(REPOS), raw))
    expected = {(repo, a["number"]) for repo, alerts in DEPENDABOT.items() if repo in REPOS for a in alerts}
    assert set(zip(pop.frame["repo"], pop.frame["number"], strict=True)) == expected
    ops = {o.operation: o for o in pop.provenance.operations}
    assert ops[f"GET /repos/{ORG}/payments-api/dependabot/alerts"].pages == 3
    row = pop.frame.set_index(["repo", "number"]).loc[("payments-api", 3)]
    assert row["severity"] == "moderate" and row["state"] == "open"  # GitHub's medium is the SLA's moderate


def test_code_scanning_alerts_with_security_severity(demo_env, raw):
    pop = held("github-code-scanning-alerts", collect_code_scanning_alerts(connect(), ORG, dict.fromkeys(REPOS), raw))
    assert len(pop.frame) == sum(len(a) for r, a in CODE_SCANNING.items() if r in REPOS)
    web = pop.frame.set_index(["repo", "number"]).loc[("web-app", 1)]
    assert (web["severity"], web["state"], web["tool"]) == ("high", "fixed", "CodeQL")
    assert str(web["fixed_at"]).startswith("2026-08-28")


def test_a_repository_without_the_feature_is_an_error(demo_env, raw):
    with pytest.raises(CollectionError, match="404"):
        held("github-dependabot-alerts", collect_dependabot_alerts(connect(), ORG, {"no-such-repo": "main"}, raw))


def test_backup_extension_serves_recovery_points_and_restore_jobs_by_page(account, raw):
    pop = held("backup-recovery-points",
               backup.collect_recovery_points(account, raw, [DEMO_REGION, aws_resilience.COPY_REGION]))
    frame = pop.frame
    primary = frame[~frame["is_copy"]]
    ledger = primary[primary["resource_name"] == "ledger-prod"]
    days = set(ledger["created"].dt.date)
    assert not {d for d in aws_resilience.DATABASES[1].missing_backup_days} & days
    copies = frame[frame["is_copy"]]
    assert set(copies["region"]) == {aws_resilience.COPY_REGION} and copies["source_vault_arn"].str.contains(
        "prod-vault").all()
    op = next(o for o in pop.provenance.operations if o.parameters.get("BackupVaultName") == "prod-vault")
    assert op.pages > 1 and op.records == len(primary)  # more than one page of 100, all followed
    jobs = held("backup-restore-jobs", backup.collect_restore_jobs(account, raw, [DEMO_REGION], PERIOD)).frame
    assert len(jobs) == 2  # the May restore job is outside ByCreatedAfter/ByCreatedBefore
    assert set(jobs["status"]) == {"COMPLETED"} and jobs["duration_minutes"].tolist() == [25.0, 70.0]


def test_backup_extension_answers_like_aws_for_an_unknown_vault(demo_env):
    client = boto3.client("backup", region_name=DEMO_REGION)
    with pytest.raises(client.exceptions.ClientError) as err:
        client.list_recovery_points_by_backup_vault(BackupVaultName="nope")
    assert err.value.response["Error"]["Code"] == "ResourceNotFoundException"
    response = client.list_restore_jobs(ByStatus="FAILED")
    assert response["RestoreJobs"] == []
    assert moto_extensions.BACKUP_STATE  # the demo seeded the extension's state


def test_stacks_with_drift_and_resources(account, raw):
    stacks = held("cloudformation-stacks",
                  cloudformation.collect_stacks(account, raw, [DEMO_REGION])).frame.set_index("stack_name")
    assert stacks.loc["monitoring-prod", "drift_status"] == "DRIFTED"
    assert "/KmsMasterKeyId remove" in stacks.loc["monitoring-prod", "drift_detail"]
    assert stacks.loc["storage-prod", "drift_status"] == "IN_SYNC"
    resources = held("cloudformation-stack-resources",
                     cloudformation.collect_stack_resources(account, raw, [DEMO_REGION])).frame
    assert "demo-fintech-statements" in set(resources["physical_id"])


def test_terraform_state_keeps_identifiers_never_secret_attributes(account, raw, tmp_path):
    bucket, key = aws_resilience.TERRAFORM_STATE
    pop = held("terraform-state-resources", s3.collect_terraform_state(account, raw, [f"s3://{bucket}/{key}"]))
    assert "aws_db_instance.ledger_prod" in set(pop.frame["address"])
    saved = "".join(p.read_text() for p in (tmp_path / "raw").rglob("*.json"))
    assert "demo-placeholder-not-a-secret" not in saved and "password" not in saved
    with pytest.raises(CollectionError, match="NoSuchKey"):
        held("terraform-state-resources", s3.collect_terraform_state(account, raw, [f"s3://{bucket}/missing.tfstate"]))
    with pytest.raises(CollectionError, match="s3://bucket/key"):
        held("terraform-state-resources", s3.collect_terraform_state(account, raw, ["/local/file.tfstate"]))


def test_terraform_state_parser_handles_modules_and_counts():
    state = {"version": 4, "resources": [
        {"mode": "data", "type": "aws_ami", "name": "x", "instances": [{"attributes": {"id": "ami-1"}}]},
        {"module": "module.db", "mode": "managed", "type": "aws_db_instance", "name": "this",
         "instances": [{"index_key": 0, "attributes": {"id": "db-1", "identifier": "a", "password": "p"}}]}]}
    rows = s3.terraform_resources(state)
    assert rows == [{"address": "module.db.aws_db_instance.this[0]", "type": "aws_db_instance", "id": "db-1",
                     "arn": "", "identifiers": "a;db-1"}]
    with pytest.raises(ValueError, match="version 4"):
        s3.terraform_resources({"version": 3, "modules": []})


def test_image_findings_of_the_latest_image(account, raw):
    frame = held("ecr-image-findings", ecr.collect_image_findings(account, raw, [DEMO_REGION])).frame
    critical = frame[frame["finding"] == "CVE-2026-10001"].iloc[0]
    assert (critical["severity"], critical["image_tags"], critical["scan_type"]) == ("critical", "2026.08.3",
                                                                                     "enhanced")
    web = frame[frame["repository_name"] == "web-app"]
    assert len(web) == 1 and (web["finding"] == "").all() and web["scan_status"].iloc[0] == "COMPLETE"


def test_availability_populations(account, raw):
    groups = held("autoscaling-groups",
                  autoscaling.collect_autoscaling_groups(account, raw, [DEMO_REGION])).frame.set_index("name")
    assert groups.loc["batch-workers-asg", "az_count"] == 1
    assert groups.loc["payments-api-asg", "target_groups"] == "payments-api-tg"
    tgs = held("elbv2-target-groups",
               elbv2.collect_target_groups(account, raw, [DEMO_REGION])).frame.set_index("target_group_name")
    assert tgs.loc["ledger-service-tg", "load_balancers"] == "prod-alb" and tgs.loc["legacy-canary-tg",
                                                                                   "load_balancers"] == ""
    records = held("route53-records", route53.collect_dns_records(account, raw)).frame
    assert set(records.loc[records["routing_policy"] == "failover", "set_identifier"]) == {"primary", "secondary"}
    checks = held("route53-health-checks", route53.collect_health_checks(account, raw)).frame
    assert set(records["health_check_id"]) - {""} == set(checks["health_check_id"])


def test_capacity_metrics_daily_over_the_period(account, raw):

    alarms = held("cloudwatch-alarms", cloudwatch.collect_alarms(account, raw, [DEMO_REGION])).frame
    metrics = held("cloudwatch-capacity-metrics", cloudwatch.collect_alarm_metrics(account, raw, alarms, PERIOD,
                                                 [("AWS/RDS", "FreeStorageSpace")])).frame
    assert set(metrics["alarm_name"]) == {f"capacity-{d.name}-free-storage" for d in aws_resilience.DATABASES
                                          if d.tags.get("environment") == "production"}
    assert metrics.groupby("alarm_name").size().eq(PERIOD.days).all()
    assert (metrics["comparison"] == "LessThanThreshold").all()


def test_dr_test_records_are_read_strictly(tmp_path, raw):
    good = tmp_path / "dr.yaml"
    good.write_text(json.dumps([{"data_store": "1:rds:db", "started_at": "2026-07-02T10:00:00Z",
                                 "completed_at": "2026-07-02T11:00:00Z", "data_as_of": "2026-07-02T03:00:00Z",
                                 "outcome": "success"}]))
    frame = held("dr-test-records", files.collect_dr_tests(good, raw)).frame
    assert frame.loc[0, "duration_minutes"] == 60.0 and frame.loc[0, "status"] == "COMPLETED"
    bad = tmp_path / "bad.yaml"
    bad.write_text(json.dumps([{"data_store": "1:rds:db", "outcome": "success"}]))
    with pytest.raises(CollectionError, match="entry 1 lacks started_at"):
        held("dr-test-records", files.collect_dr_tests(bad, raw))
    with pytest.raises(CollectionError, match="DR test records"):
        held("dr-test-records", files.collect_dr_tests(tmp_path / "missing.yaml", raw))
