"""The CloudTrail Lake engine against the demo emulator, whose event data store holds the demo trail's events
and runs Lake's queries on DuckDB: the local engine's events, coverage per region-day, every result page, and
FAILED, CANCELLED, TIMED_OUT or never finishing as a one-line collection error."""

from __future__ import annotations

import pandas as pd
import pytest
from auditbook import catalog
from auditbook.demo import faults as f
from auditbook.demo import moto_lake
from auditbook.demo.aws import DEMO_ACCOUNT_ID, DEMO_REGION
from auditbook.events.sql import lake_days_query, lake_query
from auditbook.provenance import CollectionError, RawStore
from auditbook.sources.aws import cloudtrail, cloudtrail_lake

from .engines import PERIOD


def _lake(account, raw, params, period=PERIOD):
    return cloudtrail_lake.collect_trail_logs(account, raw, period, [DEMO_REGION], catalog.trail_selection(), params)


@pytest.fixture(scope="module")
def local_answer(demo_env, tmp_path_factory):
    from auditbook.sources.aws.session import open_account

    account = open_account({"id": DEMO_ACCOUNT_ID}, DEMO_REGION)
    files, events = cloudtrail.collect_trail_logs(account, RawStore(tmp_path_factory.mktemp("local") / "raw"), PERIOD,
                                                  [DEMO_REGION], catalog.trail_selection())
    return catalog.population("cloudtrail-log-files", files), catalog.population("cloudtrail-events", events)


@pytest.fixture(scope="module")
def lake_answer(engines, demo_env, tmp_path_factory):
    from auditbook.sources.aws.session import open_account

    account = open_account({"id": DEMO_ACCOUNT_ID}, DEMO_REGION)
    moto_lake.RECEIVED.clear()
    files, events = _lake(account, RawStore(tmp_path_factory.mktemp("lake") / "raw"),
                          {"event_data_store": engines["store"]})
    return (catalog.population("cloudtrail-log-files", files), catalog.population("cloudtrail-events", events),
            moto_lake.received())


def test_lake_gives_the_local_engines_events(local_answer, lake_answer):
    """Every column but log_file (Lake keeps events, not files)."""
    local, remote = local_answer[1].frame, lake_answer[1].frame
    assert len(local) > 100
    assert (remote["log_file"] == "").all()
    pd.testing.assert_frame_equal(remote.drop(columns="log_file"), local.drop(columns="log_file"))


def test_lake_coverage_is_per_region_day(local_answer, lake_answer):
    from auditbook.controls.cc71 import log_file_coverage

    def coverage(files):
        return log_file_coverage(files, [DEMO_REGION], PERIOD.start, PERIOD.end, [DEMO_ACCOUNT_ID])

    local, remote = coverage(local_answer[0].frame), coverage(lake_answer[0].frame)
    pd.testing.assert_frame_equal(remote[["day", "records"]], local[["day", "records"]])
    assert ((remote["log_files"] > 0) == (local["log_files"] > 0)).all(), "the same region-days have events"
    files = lake_answer[0].frame
    assert (files["bucket"] == "").all() and files["size"].isna().all()
    assert files["key"].str.startswith("cloudtrail-lake:").all()
    assert files["kept"].sum() == len(lake_answer[1].frame)
    assert "stores events, not log files" in " ".join(lake_answer[0].provenance.notes)


def test_lake_received_exactly_the_shared_query_texts(engines, lake_answer):
    store_id = engines["store"].rsplit("/", 1)[-1]
    assert lake_answer[2] == [
        lake_query(store_id, DEMO_ACCOUNT_ID, PERIOD.start, PERIOD.end, catalog.trail_selection(), [DEMO_REGION]),
        lake_days_query(store_id, DEMO_ACCOUNT_ID, PERIOD.start, PERIOD.end, [DEMO_REGION])]


def test_lake_provenance_has_the_query_id_and_statistics(lake_answer):
    prov = lake_answer[1].provenance
    starts = [o for o in prov.operations if o.operation == "cloudtrail:StartQuery"]
    assert len(starts) == 2
    events = starts[0].parameters
    assert events["QueryStatement"] == lake_answer[2][0] and events["QueryStatus"] == "FINISHED"
    assert events["QueryId"] and events["EventsMatched"] == len(lake_answer[1].frame)
    assert events["EventsScanned"] > events["EventsMatched"] and events["BytesScanned"] > 0
    assert "retention 2557 days" in " ".join(prov.notes)


def test_every_result_page_is_read(account, raw, lake_params, lake_answer, monkeypatch):
    monkeypatch.setattr(cloudtrail_lake, "PAGE_SIZE", 9)
    _, events = _lake(account, raw, lake_params)
    pd.testing.assert_frame_equal(catalog.population("cloudtrail-events", events).frame, lake_answer[1].frame)
    pages = next(o for o in events.provenance.operations if o.operation == "cloudtrail:GetQueryResults").pages
    assert pages == -(-len(events.frame) // 9) > 3


@pytest.mark.parametrize(("state", "message"), [
    ("FAILED", "Query failed: line 1:8: Column 'eventtime2' cannot be resolved"),
    ("CANCELLED", "The query was cancelled."),
    ("TIMED_OUT", "Query timed out after 1 hour."),
])
def test_a_query_that_does_not_finish_is_a_one_line_error(state, message, account, raw, lake_params, scripted, quick):
    moto_lake.script(state, message)
    with pytest.raises(CollectionError) as err:
        _lake(account, raw, lake_params)
    assert str(err.value).startswith("cloudtrail:DescribeQuery ") and f": {state}: {message}" in str(err.value)
    assert "\n" not in str(err.value)


def test_a_query_that_never_finishes_is_cancelled_at_the_timeout(account, raw, lake_params, scripted, quick):
    moto_lake.script("RUNNING")
    with pytest.raises(CollectionError, match=r"still RUNNING after 0\.002 min \(timeout_minutes\): cancelled with "
                                              "CancelQuery") as err:
        _lake(account, raw, {**lake_params, "timeout_minutes": 0.002})
    query_id = str(err.value).split()[1].rstrip(":")
    assert moto_lake.QUERIES[query_id].state == "CANCELLED"


def test_a_store_that_no_longer_holds_the_period_is_refused(engines, account, raw):
    import boto3

    short = boto3.client("cloudtrail", region_name=DEMO_REGION).create_event_data_store(Name="short",
                                                                                         RetentionPeriod=7)
    with pytest.raises(CollectionError, match="keeps events 7 days and the period started .* no longer in it"):
        _lake(account, raw, {"event_data_store": short["EventDataStoreArn"]})


def test_an_unknown_store_is_named(engines, account, raw):
    with pytest.raises(CollectionError, match="cloudtrail:GetEventDataStore nope: EventDataStoreNotFoundException"):
        _lake(account, raw, {"event_data_store": "nope"})


def test_throttling_is_retried_and_recorded(account, raw, lake_params, faults, fast_backoff, lake_answer):
    faults.aws.inject(f.operation("cloudtrail", "GetQueryResults"), f.throttle(), times=2)
    before = account.retries.snapshot()
    _, events = _lake(account, raw, lake_params)
    assert len(events.frame) == len(lake_answer[1].frame)
    assert account.retries.since(before) == {"cloudtrail:GetQueryResults": 2}


def test_throttling_beyond_the_bound_is_a_collection_error(account, raw, lake_params, faults, fast_backoff):
    faults.aws.inject(f.operation("cloudtrail", "DescribeQuery"), f.throttle(), times=None)
    with pytest.raises(CollectionError, match=r"cloudtrail:DescribeQuery .*ThrottlingException.*\(after 4 retries\)"):
        _lake(account, raw, lake_params)
