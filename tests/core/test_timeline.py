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


# -- timelines replayed from change events between known states ---------------------------------------------------
def t(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


def spans(rows: list[dict]) -> list[tuple[str, str, object]]:
    return [(f"{r['valid_from']:%m-%d %H:%M}", f"{r['valid_to']:%m-%d %H:%M}", r["value"] if r["known"] else "?")
            for r in rows]


READ = t("2026-12-03 06:00")
AFTER_EVENTS = [(t("2026-10-01"), READ + pd.Timedelta(seconds=1))]  # the events read end with the period


def test_changes_inside_the_period_are_known_from_each_change_on_and_unknown_before_the_first():
    """Rotation switched off and on again in August: known from the first change on; before it nothing shows
    the state (the collection's reading is beyond the events read)."""
    known = [timeline.Known(t("2026-08-22 09:00"), False, "DisableKeyRotation", change=True),
             timeline.Known(t("2026-08-26 11:30"), True, "EnableKeyRotation", change=True),
             timeline.Known(READ, True, "state at collection")]
    rows = timeline.replay(known, AFTER_EVENTS, START, END)
    assert spans(rows) == [("07-01 00:00", "08-22 09:00", "?"), ("08-22 09:00", "08-26 11:30", False),
                           ("08-26 11:30", "10-01 00:00", True)]
    assert rows[1]["evidence"] == "DisableKeyRotation"


def test_a_snapshot_reaches_back_to_the_period_start_and_forward_until_a_day_without_log_files():
    snap = timeline.Known(t("2026-08-10 06:00"), True, "snapshot 2026-08-10 06:00")
    off = timeline.Known(t("2026-08-12 15:20"), False, "DeactivateMFADevice", change=True, before=True)
    on = timeline.Known(t("2026-08-15 10:05"), True, "EnableMFADevice", change=True)
    gap = [(t("2026-08-17"), t("2026-08-18"))]
    rows = timeline.replay([snap, off, on], gap + AFTER_EVENTS, START, END)
    assert spans(rows) == [("07-01 00:00", "08-12 15:20", True), ("08-12 15:20", "08-15 10:05", False),
                           ("08-15 10:05", "08-17 00:00", True), ("08-17 00:00", "08-18 00:00", "?"),
                           ("08-18 00:00", "10-01 00:00", "?")]  # the day without logs, then nothing reaches
    assert rows[0]["evidence"] == "snapshot 2026-08-10 06:00, no change in between"  # back to 07-01, then on
    later = timeline.Known(t("2026-08-21 06:00"), True, "snapshot 2026-08-21 06:00")
    rows = timeline.replay([snap, off, on, later], gap + AFTER_EVENTS, START, END)
    assert spans(rows)[-3:] == [("08-15 10:05", "08-17 00:00", True), ("08-17 00:00", "08-18 00:00", "?"),
                                ("08-18 00:00", "10-01 00:00", True)]
    assert rows[-2]["evidence"].startswith("unknown: no CloudTrail events are read")


def test_a_change_implying_what_held_before_it_reaches_back():
    off = timeline.Known(t("2026-08-12 15:20"), None, "DeactivateMFADevice", change=True, before=True)
    rows = timeline.replay([off], AFTER_EVENTS, START, END)
    assert spans(rows) == [("07-01 00:00", "08-12 15:20", True), ("08-12 15:20", "10-01 00:00", "?")]
    assert rows[0]["evidence"] == "before DeactivateMFADevice"
    assert "cannot be interpreted" in rows[1]["evidence"]


def test_a_reading_the_events_contradict_is_unknown_and_with_events_to_collection_the_state_reaches_back():
    snap = timeline.Known(t("2026-08-10 06:00"), False, "snapshot")
    on = timeline.Known(t("2026-08-01 00:00"), True, "EnableKeyRotation", change=True)
    rows = timeline.replay([on, snap], AFTER_EVENTS, START, END)
    assert spans(rows)[1] == ("08-01 00:00", "08-10 06:00", "?") and "disagree" in rows[1]["evidence"]
    assert spans(timeline.replay([timeline.Known(READ, True, "state at collection")], [], START, END)) == [
        ("07-01 00:00", "10-01 00:00", True)]  # every event read to the collection, none changed it


def test_blind_days_are_the_days_without_log_files_and_everything_after_the_events_read():
    coverage = pd.DataFrame([{"account_id": "1", "region": "r", "day": t("2026-08-17"), "log_files": 0},
                             {"account_id": "1", "region": "r", "day": t("2026-08-18"), "log_files": 3},
                             {"account_id": "1", "region": "other", "day": t("2026-08-19"), "log_files": 0}])
    blind = timeline.blind_days(coverage, "1", "r", END, READ)
    assert blind == [(t("2026-08-17"), t("2026-08-18")), (t("2026-10-01"), READ + pd.Timedelta(seconds=1))]


def trail_call(name: str, when: str, trail: str = "org-trail", error: str = "") -> dict:
    return {"account_id": "1", "event_time": pd.Timestamp(when, tz="UTC"), "event_id": f"e-{when}",
            "event_source": "cloudtrail.amazonaws.com", "event_name": name, "read_only": False,
            "event_type": "AwsApiCall", "aws_region": "us-east-1", "identity_type": "IAMUser", "principal_arn": "",
            "principal_name": "bob", "role_name": "", "invoked_by": "", "source_ip": "", "user_agent": "",
            "error_code": error, "request_parameters": json.dumps({"name": trail}) if trail else "",
            "additional_event_data": "", "log_file": ""}


def cross_checked(items: list[dict], calls: list[dict]) -> pd.DataFrame:
    from auditbook import catalog
    from auditbook.sources.aws.cloudtrail import TRAIL_SETTING_CHANGES

    derive = catalog.entry("cloudtrail-trail-timeline").derive
    current = catalog.from_rows("cloudtrail-trails", [{"account_id": "1", "trail_name": "org-trail"}])
    frame = derive(current=current, period_start=START, period_end=END, history=pd.DataFrame(items),
                   recorders=recorders(), events=catalog.from_rows("cloudtrail-events", calls) if calls is not None
                   else None)
    assert TRAIL_SETTING_CHANGES.resource(json.dumps({"name": "arn:aws:cloudtrail:us-east-1:1:trail/org-trail"})) \
        == "org-trail"
    return frame


def test_a_change_call_config_recorded_within_hours_confirms_the_history():
    items = [item("2026-05-02"), item("2026-09-10T14:06:30", False), item("2026-09-11T09:32:00", True)]
    calls = [trail_call("UpdateTrail", "2026-09-10 14:05:12"), trail_call("UpdateTrail", "2026-09-11 09:31:40"),
             trail_call("UpdateTrail", "2026-08-01 10:00", trail="other-trail"),  # another trail's change
             trail_call("UpdateTrail", "2026-08-02 10:00", error="AccessDenied")]  # changed nothing
    assert cross_checked(items, calls)["known"].all()
    assert cross_checked(items, None)["known"].all()  # no events in the run: Config history alone


def test_a_change_call_config_did_not_record_leaves_the_trail_unknown_until_the_next_item():
    """Config recording daily (or paused) misses a setting switched off and back within the day: CloudTrail
    shows the calls, so the history between the first call and the next item cannot be relied on."""
    items = [item("2026-05-02"), item("2026-09-12T00:10:00", True)]
    calls = [trail_call("UpdateTrail", "2026-09-10 14:05"), trail_call("UpdateTrail", "2026-09-11 09:31")]
    frame = cross_checked(items, calls)
    assert timeline.gaps(frame, ["1:org-trail"]) == [
        "1:org-trail: 2026-09-10 14:05 to 2026-09-11 09:31 unknown: CloudTrail UpdateTrail 2026-09-10 14:05 by bob "
        "(event e-2026-09-10 14:05) changed it and AWS Config captured no item of it within 6 hours",
        "1:org-trail: 2026-09-11 09:31 to 2026-09-12 00:10 unknown: CloudTrail UpdateTrail 2026-09-11 09:31 by bob "
        "(event e-2026-09-11 09:31) changed it and AWS Config captured no item of it within 6 hours"]
    unnamed = cross_checked([item("2026-05-02")], [trail_call("UpdateTrail", "2026-09-20 08:00", trail="")])
    assert timeline.gaps(unnamed, ["1:org-trail"])[0].startswith("1:org-trail: 2026-09-20 08:00 to 2026-10-01 00:00")
