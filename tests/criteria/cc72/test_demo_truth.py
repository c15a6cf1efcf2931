"""The demo's seeded CC7.2 deviations agree with its incidents and alarms."""

from __future__ import annotations

from auditbook.demo import aws_monitoring, incidents


def test_incident_truth_and_csv_are_up_to_date():
    assert incidents.TRUTH_PATH.read_text() == incidents.render_truth(), "run: python -m auditbook.demo.incidents"
    assert incidents.CSV_PATH.read_text() == incidents.render_csv(), "run: python -m auditbook.demo.incidents"
    assert {row["test"] for row in incidents.demo_truth()} == {
        "CC7.2-ACKNOWLEDGE", "CC7.2-POSTMORTEM", "CC7.2-COMPLIANCE"}


def test_every_business_firing_in_the_period_has_an_incident_but_the_seeded_one():
    recorded = list(incidents.ISSUES.values()) + list(incidents.CSV_INCIDENTS.values())
    unanswered = []
    for alarm in aws_monitoring.business_alarms():
        for when, _ in alarm.fired:
            if not "2026-07-01" <= when < "2026-10-01":
                continue
            if not any(i.alarm == alarm.name and abs((incidents._t(i.detected) - aws_monitoring._t(when))
                                                     .total_seconds()) <= 4 * 3600 for i in recorded):
                unanswered.append((alarm.name, when))
    assert unanswered == [aws_monitoring.UNANSWERED_FIRING[:2]]
