"""The CC9.1/A1.1/A1.2 truth matches the generators, the demo params agree with the seeded data, and the
demo's additions leave CC8.1's protection facts as they were."""

from __future__ import annotations

from pathlib import Path

import yaml
from auditbook import params
from auditbook.demo import aws, aws_resilience
from auditbook.demo.environment import DEMO_PARAMS
from auditbook.demo.github import security_alerts
from auditbook.demo.github.company import build_demo_github
from auditbook.demo.github.secret_scanning import ALERTS as SECRET_ALERTS


def test_github_truth_file_is_up_to_date():
    assert security_alerts.TRUTH_PATH.read_text() == security_alerts.render_truth(), \
        "run: python -m auditbook.demo.github.security_alerts"


def test_aws_truth_file_holds_the_resilience_deviations():
    written = yaml.safe_load(aws.TRUTH_PATH.read_text())
    assert written == aws.demo_truth(), "run: python -m auditbook.demo.aws"
    mine = [r for r in written if r["test"].split("-")[0] in {"A1.1", "A1.2"}
            or r["test"].startswith(("CC9.1-IAC", "CC9.1-CONTAINER"))]
    assert mine == aws_resilience.truth()
    assert {r["test"] for r in mine} == {"A1.1-ASG", "A1.2-DAILY-BACKUP", "A1.2-RESTORE-TEST", "A1.2-RETENTION",
                                         "CC9.1-IAC-MANAGED", "CC9.1-IAC-DRIFT", "CC9.1-CONTAINER-FINDINGS"}


def test_demo_params_agree_with_the_seeded_data():
    criteria = params.load(DEMO_PARAMS)["criteria"]
    assert criteria["CC9.1"]["sla_days"] == security_alerts.SLA_DAYS
    assert criteria["CC9.1"]["secret_scanning_severity"] == security_alerts.SECRET_SCANNING_SEVERITY
    bucket, key = aws_resilience.TERRAFORM_STATE
    assert criteria["CC9.1"]["terraform_state_files"] == [f"s3://{bucket}/{key}"]
    assert criteria["A1.2"]["copy_regions"] == [aws_resilience.COPY_REGION]
    assert Path(criteria["A1.2"]["dr_test_records"]).is_file()
    records = yaml.safe_load(Path(criteria["A1.2"]["dr_test_records"]).read_text())
    assert [r["data_store"] for r in records] == [f"{aws_resilience.ACCOUNT}:rds:ledger-prod"]


def test_scanner_checks_added_without_changing_cc81_protection_facts():
    state = build_demo_github()
    payments = state.repos["payments-api"].protection["main"]
    ledger = state.repos["ledger-service"].protection["main"]
    assert payments.required_status_checks == ["ci/test", "codeql", "dependency-review", "trivy-image-scan"]
    assert (ledger.required_approving_review_count, ledger.enforce_admins, ledger.dismiss_stale_reviews) == (
        2, False, True)
    assert "web-app" not in {r for r, repo in state.repos.items() if repo.protection or repo.rulesets}
    checks = [rule for rs in state.repos["infra-live"].rulesets for rule in rs.rules
              if rule["type"] == "required_status_checks"][0]["parameters"]["required_status_checks"]
    assert [c["context"] for c in checks] == ["terraform-plan", "tfsec", "dependency-review"]


def test_secret_scanning_truth_follows_cc62s_alerts():
    rows = [r for r in security_alerts.demo_truth() if r["test"] == "CC9.1-SECRET-SCANNING"]
    open_alerts = [f"demo-fintech/{repo}/secret-scanning/{a['number']}" for repo, alerts in SECRET_ALERTS.items()
                   if repo != "docs-site" for a in alerts if a["state"] == "open"]
    assert [r["resource"] for r in rows] == open_alerts
