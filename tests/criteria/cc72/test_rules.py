"""Every CC7.2 rule on small frames: SLAs exactly at the edge, open incidents at period end, outside the period."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
import pytest
from auditbook import catalog
from auditbook.controls import cc72
from auditbook.results import Status

ALARM_COLUMNS = list(catalog.entry("cloudwatch-alarms").columns)
HISTORY_COLUMNS = list(catalog.entry("cloudwatch-alarm-history").columns)
TOPIC_COLUMNS = list(catalog.entry("sns-topics").columns)

START = datetime(2026, 7, 1, tzinfo=UTC)
END = datetime(2026, 10, 1, tzinfo=UTC)
SEVERITIES = {
    "SEV1": {"acknowledge_minutes": 15, "resolve_hours": 4, "postmortem_required": True},
    "SEV3": {"acknowledge_minutes": 240, "resolve_hours": 72, "postmortem_required": False},
}


def ts(text: str | None) -> pd.Timestamp:
    return pd.NaT if text is None else pd.Timestamp(text, tz="UTC")


def ids(result) -> list[str]:
    return sorted(result.deviations["resource_id"])


def incident(incident_id: str, detected: str = "2026-08-01T10:00", ack: str | None = "2026-08-01T10:05",
             resolved: str | None = "2026-08-01T11:00", severity: str = "SEV1", **fields) -> dict:
    row = {"source": "test", "incident_id": incident_id, "title": "t", "url": "", "severity": severity, "impact": "",
           "detected_at": ts(detected), "acknowledged_at": ts(ack), "resolved_at": ts(resolved),
           "postmortem_url": "https://pm", "compliance_notified_at": None, "alarms": "", "resolution_delay_reason": "",
           "state": "closed", "notes": ""}
    row.update(fields)
    return row


def population(*rows) -> pd.DataFrame:
    return cc72.incident_population(incidents(*rows), period_start=START, period_end=END)


def incidents(*rows) -> pd.DataFrame:
    return catalog.from_rows("github-incident-issues", list(rows))


def test_population_keeps_the_period_merges_sources_and_measures():
    inside = incidents(incident("a"), incident("before", "2026-06-30T23:59", None, None))
    other = incidents(incident("b", "2026-09-30T23:59", None, None), incident("after", "2026-10-01T00:00"))
    frame = cc72.incident_population(inside, other, period_start=START, period_end=END)
    assert list(frame["incident_id"]) == ["a", "b"]
    assert frame.loc[0, "minutes_to_acknowledge"] == 5 and frame.loc[0, "hours_to_resolve"] == 1


def test_population_without_any_source_is_an_error():
    with pytest.raises(ValueError, match="no incident source"):
        cc72.incident_population(period_start=START, period_end=END)


def test_severity_missing_unknown_or_several():
    frame = population(incident("ok"), incident("none", severity=""), incident("odd", severity="P1"),
                       incident("two", severity="SEV1;SEV3"))
    result = cc72.severity_set(frame, SEVERITIES)
    assert ids(result) == ["none", "odd", "two"]
    assert "several severities" in " ".join(result.deviations["detail"])


def test_acknowledgement_exactly_at_the_sla_passes_one_minute_more_fails():
    frame = population(incident("at", ack="2026-08-01T10:15"), incident("late", ack="2026-08-01T10:16"),
                       incident("never", ack=None), incident("sev3", ack="2026-08-01T14:00", severity="SEV3"),
                       incident("before", ack="2026-08-01T09:59"))
    result = cc72.acknowledged_within_sla(frame, SEVERITIES, END)
    assert ids(result) == ["before", "late", "never"]


def test_unacknowledged_at_period_end_only_deviates_once_the_sla_passed():
    frame = population(incident("fresh", "2026-09-30T23:50", ack=None, resolved=None),
                       incident("stale", "2026-09-30T23:40", ack=None, resolved=None))
    assert ids(cc72.acknowledged_within_sla(frame, SEVERITIES, END)) == ["stale"]


def test_incidents_without_a_valid_severity_are_left_to_the_severity_test():
    frame = population(incident("odd", ack="2026-08-01T23:00", severity="P1"))
    result = cc72.acknowledged_within_sla(frame, SEVERITIES, END)
    assert result.population_size == 0 and "CC7.2-SEVERITY" in result.notes[1]


def test_resolution_exactly_at_the_sla_passes_and_a_reason_excuses_a_late_one():
    frame = population(incident("at", resolved="2026-08-01T14:00"), incident("late", resolved="2026-08-01T14:01"),
                       incident("excused", resolved="2026-08-03T10:00", resolution_delay_reason="vendor outage"))
    result = cc72.resolved_within_sla(frame, SEVERITIES, END)
    assert ids(result) == ["late"] and "excused: vendor outage" in result.notes[0]


def test_open_incident_at_period_end_deviates_only_past_its_sla():
    frame = population(incident("open-ok", "2026-09-30T21:00", resolved=None),
                       incident("open-late", "2026-09-30T19:00", resolved=None))
    result = cc72.resolved_within_sla(frame, SEVERITIES, END)
    assert ids(result) == ["open-late"] and "still open" in result.deviations["detail"][0]


def test_postmortem_required_by_severity_once_due():
    frame = population(incident("linked"), incident("missing", postmortem_url=""),
                       incident("sev3", severity="SEV3", postmortem_url=""),
                       incident("not-due", "2026-09-20T10:00", "2026-09-20T10:05", "2026-09-20T11:00",
                                postmortem_url=""),
                       incident("due-exactly", "2026-09-16T22:00", "2026-09-16T22:05", "2026-09-17T00:00",
                                postmortem_url=""),
                       incident("open", resolved=None, postmortem_url=""))
    result = cc72.postmortem_linked(frame, SEVERITIES, due_days=14, period_end=END)
    assert ids(result) == ["due-exactly", "missing"]
    assert result.population_size == 5  # SEV3 needs none


def test_compliance_notification_for_data_and_integrity_impacts():
    frame = population(
        incident("notified", impact="customer-data", compliance_notified_at=ts("2026-08-02T10:00")),
        incident("late", impact="transaction-integrity", compliance_notified_at=ts("2026-08-02T10:01")),
        incident("silent", impact="availability;customer-data"),
        incident("unaffected", impact="availability"))
    result = cc72.compliance_notified(frame, ["customer-data", "transaction-integrity"], notify_hours=24)
    assert ids(result) == ["late", "silent"] and result.population_size == 3


# -- escalation -----------------------------------------------------------------------------------
def topics(*rows) -> pd.DataFrame:
    return pd.DataFrame([{"account_id": "1", "region": "r", "topic_arn": f"arn:aws:sns:r:1:{n}", "topic_name": n,
                          "confirmed_subscriptions": c, "pending_subscriptions": 0, "protocols": "email"}
                         for n, c in rows], columns=TOPIC_COLUMNS)


def test_escalation_targets_must_exist_with_a_subscriber():
    chain = [{"role": "on-call", "notify": "pager"}, {"role": "lead", "notify": "arn:aws:sns:r:1:lead"},
             {"role": "cto", "notify": "cto"}, {"role": "compliance", "notify": "quiet", "when": "data"}]
    sheet = cc72.escalation_worksheet(topics(("pager", 1), ("lead", 2), ("quiet", 0)), chain)
    assert list(sheet["when"]) == ["always", "always", "always", "data"]
    result = cc72.escalation_targets_exist(sheet)
    assert ids(result) == ["step 3: cto", "step 4: quiet"]


def test_no_escalation_chain_declared_deviates():
    result = cc72.escalation_targets_exist(cc72.escalation_worksheet(topics(("pager", 1)), []))
    assert result.status is Status.FAIL and ids(result) == ["(none)"]


# -- alerts become incidents ----------------------------------------------------------------------
def history(*rows) -> pd.DataFrame:
    return pd.DataFrame([{"account_id": "1", "region": "r", "alarm_name": name, "timestamp": ts(when),
                          "old_state": "OK" if new == "ALARM" else "ALARM", "new_state": new, "summary": ""}
                         for name, when, new in rows], columns=HISTORY_COLUMNS)


def alarms(*rows) -> pd.DataFrame:
    return pd.DataFrame([{**dict.fromkeys(ALARM_COLUMNS, ""), "account_id": "1", "region": "r", "alarm_name": n,
                          "namespace": ns, "metric_name": "m"} for n, ns in rows], columns=ALARM_COLUMNS)


def test_business_firings_by_namespace_or_every_custom_namespace():
    hist = history(("biz", "2026-08-01T10:00", "ALARM"), ("cpu", "2026-08-01T10:00", "ALARM"),
                   ("other", "2026-08-01T10:00", "ALARM"))
    meta = alarms(("biz", "Demo/Payments"), ("cpu", "AWS/EC2"), ("other", "Demo/Other"))
    assert list(cc72.business_alarm_firings(hist, meta, ["Demo/Payments"])["alarm_name"]) == ["biz"]
    assert list(cc72.business_alarm_firings(hist, meta, [])["alarm_name"]) == ["biz", "other"]


def test_each_firing_needs_an_incident_referencing_the_alarm_within_the_window():
    hist = history(("biz", "2026-08-01T10:00", "ALARM"), ("biz", "2026-08-01T11:00", "OK"),
                   ("biz", "2026-08-10T10:00", "ALARM"), ("biz", "2026-08-20T10:00", "ALARM"))
    firings = cc72.business_alarm_firings(hist, alarms(("biz", "Demo/Payments")), [])
    frame = population(incident("at-edge", "2026-08-01T14:00", alarms="biz"),
                       incident("too-late", "2026-08-10T14:01", alarms="other;biz"),
                       incident("other-alarm", "2026-08-20T10:00", alarms="other"))
    result = cc72.alerts_became_incidents(firings, frame, window_hours=4)
    assert ids(result) == ["1:r:biz@2026-08-10T10:00:00Z", "1:r:biz@2026-08-20T10:00:00Z"]
    assert list(result.tested["incidents"]) == ["at-edge", "", ""]
