"""State timelines from AWS Config history: the state at every moment of the period, and what is unknown."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pandas as pd
from auditbook import timeline
from auditbook.sources.aws.cloudtrail import trail_from_config

START, END = datetime(2026, 7, 1, tzinfo=UTC), datetime(2026, 10, 1, tzinfo=UTC)
TRAIL = "AWS::CloudTrail::Trail"


def item(when: str, validation: bool = True, status: str = "OK", name: str = "org-trail") -> dict:
    return {"account_id": "1", "region": "us-east-1", "resource_type": TRAIL, "resource_id": name,
            "resource_name": name, "capture_time": pd.Timestamp(when, tz="UTC"), "status": status,
            "configuration": json.dumps({"name": name, "isMultiRegionTrail": True,
                                         "logFileValidationEnabled": validation}),
            "supplementary": "{}", "arn": f"arn:{name}"}


def recorders(since: str | None = "2026-05-01") -> pd.DataFrame:
    return pd.DataFrame([{"account_id": "1", "region": "us-east-1", "resource_type": TRAIL,
                          "recorded": since is not None, "recording": since is not None,
                          "recording_since": pd.Timestamp(since, tz="UTC") if since else None,
                          "recorder_name": "default", "detail": ""}])


def build(items: list[dict], rec: pd.DataFrame | None = None, existing: tuple[str, ...] = ("1:org-trail",)):
    return timeline.from_config_history(pd.DataFrame(items), recorders() if rec is None else rec, TRAIL, START, END,
                                        trail_from_config, lambda i: f"{i['account_id']}:{i['resource_name']}",
                                        list(existing))


def test_a_setting_switched_off_and_back_inside_the_period_is_an_interval_with_its_dates():
    tl = build([item("2026-05-02"), item("2026-09-10T14:05:12", False), item("2026-09-12T09:31:40", True)])
    assert len(tl) == 3 and tl["known"].all()
    off = [i for i in timeline.known_intervals(tl, "1:org-trail") if i.log_file_validation is False]
    assert len(off) == 1 and timeline.during(off[0]) == "from 2026-09-10 14:05 to 2026-09-12 09:31 UTC"
    assert tl.iloc[0]["valid_from"] == pd.Timestamp(START) and tl.iloc[-1]["valid_to"] == pd.Timestamp(END)
    assert timeline.gaps(tl, ["1:org-trail"]) == []


def test_before_the_first_item_is_unknown_unless_config_discovered_the_resource_while_recording():
    late = build([item("2026-08-01")])
    assert timeline.gaps(late, ["1:org-trail"]) == [
        "1:org-trail: 2026-07-01 00:00 to 2026-08-01 00:00 unknown: no configuration item before 2026-08-01 00:00"]
    created = build([item("2026-08-01", status="ResourceDiscovered")])
    assert created["known"].all() and len(created) == 1  # it did not exist before: nothing to know


def test_a_type_not_recorded_or_a_resource_without_history_is_unknown_over_the_whole_period():
    tl = build([], rec=recorders(None))
    assert list(tl["known"]) == [False]
    assert "AWS Config holds no AWS::CloudTrail::Trail history" in tl.iloc[0]["evidence"]
    not_recorded = build([item("2026-05-02"), item("2026-08-01", status="ResourceNotRecorded")])
    assert timeline.gaps(not_recorded, ["1:org-trail"])[0].startswith("1:org-trail: 2026-08-01 00:00 to 2026-10-01")


def test_a_deleted_resource_has_no_interval_after_its_deletion():
    tl = build([item("2026-05-02", name="old"), item("2026-08-01", status="ResourceDeleted", name="old")],
               existing=())
    assert len(tl) == 1 and tl.iloc[0]["valid_to"] == pd.Timestamp("2026-08-01", tz="UTC")
