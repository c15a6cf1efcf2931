"""CC7.1 / CC7.2 collectors against the demo emulators, the incident file reader and the issue timeline format."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import requests
from auditbook.catalog import population as held
from auditbook.demo import aws_monitoring, incidents
from auditbook.demo.aws import DEMO_REGION
from auditbook.demo.github.company import DEMO_TOKEN, ORG
from auditbook.demo.trail import TRAIL_BUCKET, TRAIL_NAME
from auditbook.period import parse_period
from auditbook.provenance import CollectionError
from auditbook.sources.aws import cloudtrail, cloudwatch, guardduty, logs, sns
from auditbook.sources.github import connect
from auditbook.sources.github.issues import collect_incident_issues
from auditbook.sources.incidents import CSV_REQUIRED, parse_timeline, read_incident_csv

PERIOD = parse_period("2026-Q3")




def test_trail_population_has_status_selectors_and_bucket_facts(account, raw):
    pop = held("cloudtrail-trails", cloudtrail.collect_trails(account, raw))
    row = pop.frame.set_index("trail_name").loc[TRAIL_NAME]
    assert row["multi_region"] and row["log_file_validation"] and row["is_logging"]
    assert row["management_events"] == "All" and row["s3_bucket"] == TRAIL_BUCKET
    assert (row["bucket_versioning"], row["bucket_object_lock"], row["bucket_encryption"]) == ("Enabled", True,
                                                                                                "aws:kms")
    assert row["object_lock_retention"] == "COMPLIANCE 400 days"
    assert pop.provenance.raw_files and {o.operation for o in pop.provenance.operations} >= {
        "cloudtrail:GetTrailStatus", "cloudtrail:GetEventSelectors", "s3:GetObjectLockConfiguration"}


def test_alarms_and_their_history_in_the_period(account, raw):
    alarms = held("cloudwatch-alarms",
                  cloudwatch.collect_alarms(account, raw, [DEMO_REGION])).frame.set_index("alarm_name")
    for alarm in aws_monitoring.ALARMS:
        row = alarms.loc[alarm.name]
        assert (row["namespace"], row["metric_name"], bool(row["actions_enabled"])) == (
            alarm.namespace, alarm.metric, alarm.enabled)
        assert bool(row["alarm_actions"]) == bool(alarm.actions)
    history = held("cloudwatch-alarm-history",
                   cloudwatch.collect_alarm_history(account, raw, [DEMO_REGION], PERIOD)).frame
    fired = history[history["new_state"] == "ALARM"]
    expected = sorted((a.name, w) for a in aws_monitoring.ALARMS for w, _ in a.fired if w.startswith("2026-0")
                      and "2026-07-01" <= w < "2026-10-01")
    seeded = {a.name for a in aws_monitoring.ALARMS}
    got = sorted((r.alarm_name, f"{r.timestamp:%Y-%m-%dT%H:%M:%S}") for r in fired.itertuples()
                 if r.alarm_name in seeded)
    assert got == expected
    assert history["timestamp"].min() >= PERIOD.start  # the June firing is outside


def test_alarm_history_extension_paginates_like_aws(account):
    cw = account.client("cloudwatch")
    pages = list(cw.get_paginator("describe_alarm_history").paginate(
        AlarmName="payments-transaction-success-rate-low", HistoryItemType="StateUpdate",
        PaginationConfig={"PageSize": 3}))
    items = [i for p in pages for i in p["AlarmHistoryItems"]]
    assert len(pages) == 2 and len(items) == 4
    assert [i["HistorySummary"] for i in items[:2]] == ["Alarm updated from ALARM to OK",
                                                         "Alarm updated from OK to ALARM"]


def test_topics_log_groups_and_detectors(account, raw):
    topics = held("sns-topics", sns.collect_topics(account, raw, [DEMO_REGION])).frame.set_index("topic_name")
    for name, subscriptions in aws_monitoring.TOPICS.items():
        assert topics.loc[name, "confirmed_subscriptions"] == len(subscriptions)
    groups = held("cloudwatch-log-groups",
                  logs.collect_log_groups(account, raw, [DEMO_REGION])).frame.set_index("log_group")
    for name, (days, _) in aws_monitoring.LOG_GROUPS.items():
        value = groups.loc[name, "retention_days"]
        assert (None if value is None or str(value) == "<NA>" else int(value)) == days
    detectors = held("guardduty-detectors", guardduty.collect_detectors(account, raw, [DEMO_REGION])).frame
    assert list(detectors["status"]) == ["ENABLED"]


def test_incident_issues_with_their_timeline(demo_env, raw):
    gh = connect()
    pop = held("github-incident-issues",
               collect_incident_issues(gh, [f"{ORG}/{incidents.REPO}"], [incidents.LABEL], PERIOD.start, raw))
    frame = pop.frame.set_index("incident_id")
    assert set(frame.index) == {f"{ORG}/{incidents.REPO}#{n}" for n in incidents.ISSUES}  # no #9, no PR
    for number, inc in incidents.ISSUES.items():
        row = frame.loc[f"{ORG}/{incidents.REPO}#{number}"]
        assert row["severity"] == inc.severity and row["impact"] == ";".join(sorted(inc.impact))
        assert f"{row['detected_at']:%Y-%m-%dT%H:%M}" == inc.detected
        assert f"{row['acknowledged_at']:%Y-%m-%dT%H:%M}" == inc.acknowledged
        assert row["postmortem_url"] == inc.postmortem and row["alarms"] == inc.alarm
        assert row["resolution_delay_reason"] == inc.delay_reason
    assert "comments" in " ".join(o.operation for o in pop.provenance.operations)


def test_emulator_issues_filters_and_paginates(demo_env):
    base = f"{demo_env.github.url}/repos/{ORG}/{incidents.REPO}"
    headers = {"Authorization": f"token {DEMO_TOKEN}"}
    open_only = requests.get(f"{base}/issues", headers=headers, timeout=10).json()
    assert {i["number"] for i in open_only} == {9}  # state defaults to open
    first = requests.get(f"{base}/issues", params={"labels": "incident,severity:SEV1", "state": "all",
                                                   "per_page": 1}, headers=headers, timeout=10)
    assert len(first.json()) == 1 and 'rel="next"' in first.headers["Link"]
    comments = requests.get(f"{base}/issues/4/comments", headers=headers, timeout=10).json()
    assert any("Acknowledged: 2026-08-19T03:29Z" in c["body"] for c in comments)
    assert requests.get(f"{base}/issues/99/comments", headers=headers, timeout=10).status_code == 404


def test_demo_incident_csv_reads_completely(raw):
    pop = held("incident-log-csv", read_incident_csv(incidents.CSV_PATH, raw))
    assert list(pop.frame["incident_id"]) == list(incidents.CSV_INCIDENTS)
    open_one = pop.frame.set_index("incident_id").loc["PD-2052"]
    assert open_one["state"] == "open" and str(open_one["resolved_at"]) == "NaT"
    assert pop.provenance.raw_files[0]["path"] == "raw/files/incidents.csv"


HEADER = ",".join(CSV_REQUIRED)


@pytest.mark.parametrize(("text", "message"), [
    ("incident_id,title,severity,detected_at,resolved_at\nX,t,SEV1,2026-08-01T10:00Z,\n",
     "missing column 'acknowledged_at'"),
    (f"{HEADER}\nA,t,SEV1,2026-08-01T10:00Z,,\nB,t,SEV1,yesterday,,\n", "row 3: detected_at 'yesterday'"),
    (f"{HEADER}\nA,t,SEV1,2026-08-01T10:00Z,2026-13-01T10:00Z,\n", "row 2: acknowledged_at"),
    (f"{HEADER}\nA,t,SEV1,2026-08-01T10:00Z,,\nA,t,SEV2,2026-08-02T10:00Z,,\n",
     "row 3: duplicate incident_id 'A' (first on row 2)"),
    (f"{HEADER}\nA,t,SEV1,,,\n", "row 2: detected_at is empty"),
])
def test_bad_incident_files_are_one_line_collection_errors(tmp_path, raw, text, message):
    path = tmp_path / "export.csv"
    path.write_text(text)
    with pytest.raises(CollectionError) as err:
        held("incident-log-csv", read_incident_csv(path, raw))
    assert str(err.value).startswith(str(path)) and message in str(err.value) and "\n" not in str(err.value)


def test_missing_incident_file(tmp_path, raw):
    with pytest.raises(CollectionError, match="no such incident log file"):
        held("incident-log-csv", read_incident_csv(tmp_path / "nope.csv", raw))


def test_timeline_lines_last_wins_bullets_zones_and_unreadable_values():
    values, notes = parse_timeline([
        "Detected: 2026-08-03T10:02Z\n- Acknowledged: 2026-08-03T10:09Z\nsomething: else",
        "ACKNOWLEDGED: 2026-08-03T10:07+00:00\nResolved: soon\nPost-mortem: https://pm/1\nCompliance notified: "
        "2026-08-03 12:00"])
    assert values["detected_at"] == datetime(2026, 8, 3, 10, 2, tzinfo=UTC)
    assert values["acknowledged_at"] == datetime(2026, 8, 3, 10, 7, tzinfo=UTC)
    assert "resolved_at" not in values and values["postmortem_url"] == "https://pm/1"
    assert any("unreadable resolved time 'soon'" in n for n in notes)
    assert any("no time zone" in n for n in notes)

