"""The demo's seeded A1.1, A1.2 and CC9.1 AWS deviations agree with its data and params."""

from __future__ import annotations

from pathlib import Path

import yaml
from auditbook import params
from auditbook.demo import aws, aws_config, aws_resilience, truth_yaml
from auditbook.demo.environment import DEMO_PARAMS
from auditbook.demo.github import security_alerts


def test_aws_truth_file_holds_the_resilience_deviations():
    written = yaml.safe_load(aws.TRUTH_PATH.read_text())
    assert written == aws.demo_truth(), "run: python -m auditbook.demo.aws"
    mine = [r for r in written if r["test"].split("-")[0] in {"A1.1", "A1.2"}
            or r["test"].startswith(("CC9.1-IAC", "CC9.1-CONTAINER"))]
    assert mine == truth_yaml.in_order(aws_resilience.truth() + [r for r in aws_config.truth()
                                                                 if r["test"].startswith("A1.1")])
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
