"""CC7.1 sources against the demo: the trail, alarms and their history, topics, log groups, detectors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from auditbook.catalog import population as held
from auditbook.demo import aws_monitoring
from auditbook.demo.aws import DEMO_REGION
from auditbook.demo.trail import TRAIL_BUCKET, TRAIL_NAME
from auditbook.period import parse_period
from auditbook.provenance import RawStore
from auditbook.sources.aws import cloudtrail, cloudwatch, guardduty, logs, sns
from auditbook.sources.incidents import CSV_REQUIRED
from freezegun import freeze_time

PERIOD = parse_period("2026-Q3")
HEADER = ",".join(CSV_REQUIRED)


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


def test_alarms_and_their_history_as_long_as_cloudwatch_keeps_it(account, raw, tmp_path):
    alarms = held("cloudwatch-alarms",
                  cloudwatch.collect_alarms(account, raw, [DEMO_REGION])).frame.set_index("alarm_name")
    for alarm in aws_monitoring.ALARMS:
        row = alarms.loc[alarm.name]
        assert (row["namespace"], row["metric_name"], bool(row["actions_enabled"])) == (
            alarm.namespace, alarm.metric, alarm.enabled)
        assert bool(row["alarm_actions"]) == bool(alarm.actions)
    seeded = {a.name for a in aws_monitoring.ALARMS}

    def fired_when_read_at(moment: str, name: str) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
        with freeze_time(moment, tick=True):
            history = held("cloudwatch-alarm-history",
                           cloudwatch.collect_alarm_history(account, RawStore(tmp_path / name), [DEMO_REGION],
                                                            PERIOD)).frame
        kept = datetime.fromisoformat(moment) - timedelta(days=aws_monitoring.ALARM_HISTORY_DAYS)
        kept_from = f"{kept:%Y-%m-%dT%H:%M}"
        expected = sorted((a.name, w) for a in aws_monitoring.ALARMS for w, _ in a.fired
                          if max("2026-07-01", kept_from) <= w < min("2026-10-01", moment))
        fired = history[history["new_state"] == "ALARM"]
        got = sorted((r.alarm_name, f"{r.timestamp:%Y-%m-%dT%H:%M:%S}") for r in fired.itertuples()
                     if r.alarm_name in seeded)
        assert history.empty or history["timestamp"].min() >= PERIOD.start  # the June firing is outside
        return got, expected

    got, expected = fired_when_read_at("2026-08-20T06:00:00", "early")  # holds 2026-07-21 on: July's firings
    assert got == expected and ("settlement-delay-high", "2026-07-09T02:08:00") not in got and len(got) == 5
    got, expected = fired_when_read_at("2026-10-05T06:00:00", "after")  # days after the period: September only
    assert got == expected and all(w >= "2026-09-05" for _, w in got) and got
    assert fired_when_read_at(f"{datetime.now(UTC):%Y-%m-%dT%H:%M:%S}", "now")[0] == []  # weeks later: nothing


def test_alarm_history_extension_paginates_like_aws(account):
    cw = account.client("cloudwatch")
    with freeze_time("2026-08-01T00:00:00", tick=True):  # within 30 days of its two July changes
        pages = list(cw.get_paginator("describe_alarm_history").paginate(
            AlarmName="payments-transaction-success-rate-low", HistoryItemType="StateUpdate",
            PaginationConfig={"PageSize": 1}))
    items = [i for p in pages for i in p["AlarmHistoryItems"]]
    assert len(pages) == 2 and len(items) == 2
    assert [i["HistorySummary"] for i in items] == ["Alarm updated from ALARM to OK",
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
