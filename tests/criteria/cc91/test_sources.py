"""CC9.1 sources: Dependabot and code scanning alerts, CloudFormation and Terraform, image findings."""

from __future__ import annotations

import pytest
from auditbook.catalog import population as held
from auditbook.demo import aws_resilience
from auditbook.demo.aws import DEMO_REGION
from auditbook.demo.github.company import ORG, PRODUCTION_BRANCHES
from auditbook.demo.github.security_alerts import CODE_SCANNING, DEPENDABOT
from auditbook.period import parse_period
from auditbook.provenance import CollectionError
from auditbook.sources.aws import cloudformation, ecr, s3
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
