"""The demo's seeded CC7.1 deviations agree with its data and params."""

from __future__ import annotations

from pathlib import Path

import yaml
from auditbook import params
from auditbook.demo import aws, aws_monitoring, incidents
from auditbook.demo.environment import DEMO_PARAMS


def test_aws_truth_file_holds_the_monitoring_deviations():
    written = yaml.safe_load(aws.TRUTH_PATH.read_text())
    mine = aws_monitoring.truth()
    assert all(row in written for row in mine), "run: python -m auditbook.demo.aws"
    assert all(row in aws.demo_truth() for row in mine)
    # the hand-made UpdateTrail is both a weakening of the trail and a manual change
    by_test = {row["test"]: row["resource"] for row in mine}
    assert by_test["CC7.1-TRAIL-CHANGES"] == by_test["CC8.1-MANUAL-CHANGE"]


def test_demo_params_match_the_seeded_monitoring():
    resolved = params.load(DEMO_PARAMS)["criteria"]
    required = {(r["namespace"], r["metric"], r["category"]) for r in resolved["CC7.1"]["required_alarms"]}
    assert required == {(a.namespace, a.metric, a.category) for a in aws_monitoring.ALARMS}
    cc72 = resolved["CC7.2"]
    assert {step["notify"] for step in cc72["escalation_chain"]} == set(aws_monitoring.TOPICS)
    assert set(cc72["incident_alarm_namespaces"]) == {a.namespace for a in aws_monitoring.business_alarms()}
    assert Path(cc72["incident_csv"]) == incidents.CSV_PATH
    assert cc72["incident_repos"] == [f"{incidents.ORG}/{incidents.REPO}"]
    assert cc72["incident_labels"] == [incidents.LABEL]


def test_the_logging_gap_day_holds_no_other_seeded_evidence():
    """Nothing another criterion's truth needs may sit on the day the trail delivered nothing."""
    gap = aws_monitoring.GAP_DAY.isoformat()
    trail = aws.Trail(aws.DEMO_ACCOUNT_ID)
    truth_ids = {row["resource"].split(":", 1)[1] for row in aws.demo_truth()}
    aws.seed_activity(trail)
    aws_monitoring._trail_records(trail)
    on_gap = [r for r in trail.records if r["eventTime"].startswith(gap) and r["eventID"] in truth_ids]
    assert on_gap == []
