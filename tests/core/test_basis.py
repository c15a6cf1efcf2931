"""The evidence basis: what a conclusion stands on, and the one rule by which coverage changes a status."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
from auditbook import catalog
from auditbook.basis import Leaf, Retention, basis_of
from auditbook.context import Context
from auditbook.period import parse_period
from auditbook.results import ControlTest, Status, evaluate, with_basis

START, END = datetime(2026, 7, 1, tzinfo=UTC), datetime(2026, 10, 1, tzinfo=UTC)
READ = datetime(2026, 12, 2, 9, 14, tzinfo=UTC)
T = ControlTest("CC7.2-T", "CC7.2", "t", "d", "per_event", ("x",))


def test_events_cover_the_period_and_a_state_makes_it_a_point_in_time():
    events = basis_of([Leaf("cloudtrail-events", "events", READ)], START, END)
    assert events.kind == "events over the period" and events.covers_period and events.as_of is None
    mixed = basis_of([Leaf("cloudtrail-events", "events", READ), Leaf("cloudtrail-trails", "state", READ)], START, END)
    assert mixed.kind == "point in time" and not mixed.covers_period and mixed.as_of == READ
    assert "state as of 2026-12-02 09:14 UTC (cloudtrail-trails)" in mixed.sentence()


def test_a_source_that_forgets_sooner_than_the_run_reads_it_is_a_gap():
    history = Leaf("cloudwatch-alarm-history", "events", READ, Retention(30, "CloudWatch keeps alarm history about "
                                                                            "30 days"))
    basis = basis_of([history], START, END)
    assert not basis.covers_period
    assert basis.gaps == ["cloudwatch-alarm-history: CloudWatch keeps alarm history about 30 days; read 2026-12-02 "
                          "09:14 UTC, it holds nothing before 2026-11-02 09:14 UTC, so 2026-07-01 to 2026-10-01 of "
                          "the period is not shown (`auditbook snapshot` at least every 30 days keeps it)"]
    soon = basis_of([Leaf("h", "events", datetime(2026, 7, 20, tzinfo=UTC), history.retention)], START, END)
    assert soon.covers_period  # read 19 days into the period: it still holds all of it


def test_an_empty_pass_on_a_forgetful_source_is_error_with_the_remedy():
    history = Leaf("cloudwatch-alarm-history", "events", READ, Retention(30, "kept 30 days"))
    result = with_basis(evaluate(T, pd.DataFrame({"x": []}), []), basis_of([history], START, END))
    assert result.status is Status.ERROR
    assert "kept 30 days" in result.cause and "auditbook snapshot" in result.cause
    assert result.to_dict()["basis"]["gaps"]


def test_unknown_timeline_intervals_keep_a_test_from_passing():
    result = evaluate(T, pd.DataFrame({"x": [1]}), [], gaps=["acct:trail: 2026-07-01 00:00 to 2026-07-09 00:00 "
                                                             "unknown: no configuration item before 2026-07-09"])
    result = with_basis(result, basis_of([Leaf("cloudtrail-trail-timeline", "timeline", None)], START, END))
    assert result.status is Status.ERROR and "2026-07-09" in result.cause


def test_every_collected_population_declares_what_kind_of_evidence_it_is():
    ctx = Context({"criteria": {}}, parse_period("2026-Q3"))
    for name, entry in catalog.ENTRIES.items():
        if entry.derive is None or entry.basis == "timeline":
            assert catalog.evidence_leaves([name], ctx) == [name]
    events = [n for n, e in catalog.ENTRIES.items() if e.derive is None and e.basis == "events"]
    assert "cloudtrail-events" in events and "github-merged-pulls" in events and "iam-credential-report" not in events
    assert catalog.entry("cloudwatch-alarm-history").retention is not None
