"""The CC6.2 truth files match the generators, and demo params agree with the seeded data."""

from __future__ import annotations

import yaml
from auditbook import params
from auditbook.demo import aws, aws_secrets
from auditbook.demo.environment import DEMO_PARAMS
from auditbook.demo.github import secret_scanning


def test_github_truth_file_is_up_to_date():
    assert secret_scanning.TRUTH_PATH.read_text() == secret_scanning.render_truth(), \
        "run: python -m auditbook.demo.github.secret_scanning"


def test_aws_truth_file_holds_the_cc62_deviations():
    path = aws.TRUTH_PATH
    written = yaml.safe_load(path.read_text())
    assert written == aws.demo_truth(), "run: python -m auditbook.demo.aws"
    cc62 = [row for row in written if row["test"].startswith("CC6.2-")]
    assert cc62 == [row for row in aws_secrets.truth() if row["test"].startswith("CC6.2-")]
    assert {row["test"] for row in cc62} == {
        "CC6.2-SECRET-ROTATION", "CC6.2-ROTATION-FAILURES", "CC6.2-SECRET-ACCESS-POLICY", "CC6.2-SECRET-READERS",
        "CC6.2-KEY-AGE", "CC6.2-KEY-UNUSED", "CC6.2-KEY-COUNT", "CC6.2-KMS-ROTATION"}


def test_demo_params_match_the_seeded_readers():
    settings = params.load(DEMO_PARAMS)["criteria"]["CC6.2"]
    assert settings["expected_readers"] == aws_secrets.expected_readers()
    assert settings["secret_reader_principals"] == [r for r, (_, s) in aws_secrets.ROLES.items() if s == ["*"]]


def test_service_users_do_not_touch_cc61_users():
    assert not {u.name for u in aws_secrets.SERVICE_USERS} & {u.name for u in aws.USERS}
    assert set(aws_secrets.EXISTING_KEY_USE) <= {u.name for u in aws.USERS if u.access_keys and not u.console}
