"""The Athena engine against the demo emulator, where Athena's queries really run (on DuckDB, over the demo
trail's log files): the same populations as the local engine, the same query text, every result page read,
and every way a query ends other than SUCCEEDED is a one-line collection error."""

from __future__ import annotations

import pandas as pd
import pytest
import requests
from auditbook import catalog
from auditbook.demo import faults as f
from auditbook.demo import moto_athena
from auditbook.demo.aws import DEMO_ACCOUNT_ID, DEMO_REGION
from auditbook.demo.trail import TRAIL_BUCKET
from auditbook.events.sql import EVENT_COLUMNS, events_query, log_files_query
from auditbook.provenance import CollectionError, RawStore
from auditbook.sources.aws import athena, cloudtrail

from .engines import DATABASE, ORG_TABLE, PERIOD, RESULTS, WORKGROUP

TABLE = f'"{DATABASE}"."auditbook_cloudtrail_{DEMO_ACCOUNT_ID}"'


def _athena(account, raw, params, **kwargs):
    return athena.collect_trail_logs(account, raw, PERIOD, [DEMO_REGION], catalog.trail_selection(), params, **kwargs)


@pytest.fixture(scope="module")
def local_answer(demo_env, tmp_path_factory):
    from auditbook.sources.aws.session import open_account

    account = open_account({"id": DEMO_ACCOUNT_ID}, DEMO_REGION)
    files, events = cloudtrail.collect_trail_logs(account, RawStore(tmp_path_factory.mktemp("local") / "raw"), PERIOD,
                                                  [DEMO_REGION], catalog.trail_selection())
    return catalog.population("cloudtrail-log-files", files), catalog.population("cloudtrail-events", events)


@pytest.fixture(scope="module")
def athena_answer(engines, demo_env, tmp_path_factory):
    from auditbook.sources.aws.session import open_account

    account = open_account({"id": DEMO_ACCOUNT_ID}, DEMO_REGION)
    moto_athena.RECEIVED.clear()
    params = {"database": DATABASE, "workgroup": WORKGROUP}
    files, events = _athena(account, RawStore(tmp_path_factory.mktemp("athena") / "raw"), params)
    return (catalog.population("cloudtrail-log-files", files), catalog.population("cloudtrail-events", events),
            moto_athena.received())


def test_athena_gives_the_local_engines_events(local_answer, athena_answer):
    local, remote = local_answer[1].frame, athena_answer[1].frame
    assert len(local) > 100
    pd.testing.assert_frame_equal(remote, local)


def test_athena_lists_the_same_log_files_with_their_records(local_answer, athena_answer):
    columns = ["account_id", "region", "day", "bucket", "key", "records", "kept"]
    local = local_answer[0].frame[columns].sort_values("key", ignore_index=True)
    remote = athena_answer[0].frame.sort_values("key", ignore_index=True)
    pd.testing.assert_frame_equal(remote[columns], local)
    assert remote["size"].isna().all() and (remote["sha256"] == "").all() and (remote["etag"] == "").all()
    notes = " ".join(athena_answer[0].provenance.notes)
    assert "not known under this engine" in notes


def test_coverage_from_athena_equals_coverage_from_the_files(local_answer, athena_answer):
    from auditbook.controls.cc71 import log_file_coverage

    def coverage(files):
        return log_file_coverage(files, [DEMO_REGION], PERIOD.start, PERIOD.end, [DEMO_ACCOUNT_ID])

    pd.testing.assert_frame_equal(coverage(athena_answer[0].frame), coverage(local_answer[0].frame))


def test_athena_received_exactly_the_shared_query_texts(athena_answer):
    """The table is auditbook's own, created first with AWS's documented DDL; then the two queries, verbatim."""
    ddl, events, files = athena_answer[2]
    assert ddl.startswith(f"CREATE EXTERNAL TABLE IF NOT EXISTS `{DATABASE}`.`auditbook_cloudtrail_{DEMO_ACCOUNT_ID}`")
    assert f"LOCATION 's3://{TRAIL_BUCKET}/audit/AWSLogs/{DEMO_ACCOUNT_ID}/CloudTrail/'" in ddl
    assert events == events_query(TABLE, DEMO_ACCOUNT_ID, PERIOD.start, PERIOD.end, catalog.trail_selection(),
                                  [DEMO_REGION])
    assert files == log_files_query(TABLE, PERIOD.start, PERIOD.end, [DEMO_REGION])


def test_the_local_engine_runs_the_text_athena_receives(athena_answer, account, raw, monkeypatch):
    """The DuckDB engine and Athena run one query text: only the table's name differs."""
    from auditbook.events import local

    ran = []
    shared = local.events_query
    monkeypatch.setattr(local, "events_query", lambda *a, **k: ran.append(shared(*a, **k)) or ran[-1])
    cloudtrail.collect_trail_logs(account, raw, PERIOD, [DEMO_REGION], catalog.trail_selection())
    assert ran and set(ran) == {ran[0]}, "one text for every batch"
    assert ran[0].replace("FROM cloudtrail_logs", f"FROM {TABLE}") == athena_answer[2][1]


def test_athena_provenance_says_what_ran_where_and_what_it_cost(athena_answer):
    prov = athena_answer[1].provenance
    starts = [o for o in prov.operations if o.operation == "athena:StartQueryExecution"]
    assert [o.parameters.get("purpose") for o in starts] == ["create the table", None, None]
    events = starts[1].parameters
    assert events["QueryString"] == athena_answer[2][1]
    assert events["WorkGroup"] == WORKGROUP and events["Database"] == DATABASE and events["State"] == "SUCCEEDED"
    assert events["OutputLocation"] == f"{RESULTS}{events['QueryExecutionId']}.csv", "the workgroup's, enforced"
    assert events["DataScannedInBytes"] > 0
    assert starts[1].records == len(athena_answer[1].frame)
    results = [o for o in prov.operations if o.operation == "athena:GetQueryResults"]
    assert [o.records for o in results] == [len(athena_answer[1].frame), len(athena_answer[0].frame)]
    assert any(r["path"].endswith(".sql") for r in prov.raw_files)
    assert "bytes scanned" in " ".join(prov.notes)


def test_partition_projection_limits_the_scan_to_the_period(athena_answer, account, raw, athena_params):
    """A month is a third of the quarter's bytes, or about: the emulator reads only the named partitions."""
    from auditbook.period import parse_period

    quarter = next(o for o in athena_answer[1].provenance.operations if o.operation == "athena:StartQueryExecution"
                   and o.parameters.get("purpose") is None).parameters["DataScannedInBytes"]
    month = parse_period("2026-08")
    _, events = athena.collect_trail_logs(account, raw, month, [DEMO_REGION], catalog.trail_selection(),
                                          athena_params)
    scanned = next(o for o in events.provenance.operations if o.operation == "athena:StartQueryExecution"
                   ).parameters["DataScannedInBytes"]
    assert 0.2 * quarter < scanned < 0.5 * quarter


def test_every_result_page_is_read(account, raw, athena_params, athena_answer, monkeypatch):
    monkeypatch.setattr(athena, "PAGE_SIZE", 7)
    files, events = _athena(account, raw, athena_params)
    pd.testing.assert_frame_equal(catalog.population("cloudtrail-events", events).frame, athena_answer[1].frame)
    pages = next(o for o in events.provenance.operations if o.operation == "athena:GetQueryResults").pages
    assert pages == len(events.frame) // 7 + 1 > 3


def test_configured_results_are_typed_by_their_column_info(demo_env, engines, account, monkeypatch):
    """moto's own mechanism (results queued through /moto-api): several pages, header first, types converted."""
    monkeypatch.setattr(athena, "PAGE_SIZE", 2)
    info = [{"Name": n, "Type": t} for n, t in [("path", "varchar"), ("records", "bigint"), ("ok", "boolean"),
                                                  ("share", "double")]]
    rows = [["path", "records", "ok", "share"], ["s3://b/k1", "5", "true", "0.5"], ["s3://b/k2", "0", "false", None],
            ["s3://b/k3", "12", "true", "1"]]
    configured = {"account_id": DEMO_ACCOUNT_ID, "region": DEMO_REGION, "results": [
        {"rows": [{"Data": [{} if v is None else {"VarCharValue": v} for v in row]} for row in rows],
         "column_info": info}]}
    requests.post(f"{demo_env.aws.endpoint}/moto-api/static/athena/query-results", json=configured,
                  timeout=10).raise_for_status()
    settings = athena.AthenaSettings.of({"database": DATABASE, "workgroup": WORKGROUP}, DEMO_ACCOUNT_ID)
    engine = athena.Athena(account, settings)
    engine.check_workgroup()
    run = engine.run("SELECT path, records, ok, share FROM anything")
    assert run.columns == ["path", "records", "ok", "share"] and len(run.pages) == 2
    assert run.rows == [["s3://b/k1", 5, True, 0.5], ["s3://b/k2", 0, False, None], ["s3://b/k3", 12, True, 1.0]]


@pytest.mark.parametrize(("state", "reason"), [
    ("FAILED", "HIVE_BAD_DATA: Error parsing field value for field 3"),
    ("CANCELLED", "Query cancelled: the workgroup's data usage limit (BytesScannedCutoffPerQuery) was exceeded"),
])
def test_a_query_that_does_not_succeed_is_a_one_line_error(state, reason, account, raw, athena_params, scripted,
                                                           quick, athena_answer):
    moto_athena.script(state, reason)
    with pytest.raises(CollectionError) as err:
        _athena(account, raw, athena_params)
    message = str(err.value)
    assert message.startswith("athena:GetQueryExecution ") and f": {state}: {reason}" in message
    assert "\n" not in message


def test_a_query_on_a_table_athena_does_not_have_fails(account, athena_params, athena_answer, quick):
    engine = athena.Athena(account, athena.AthenaSettings.of(athena_params, DEMO_ACCOUNT_ID))
    engine.check_workgroup()
    with pytest.raises(CollectionError, match=r"FAILED: TABLE_NOT_FOUND: .*'awsdatacatalog\.cloudtrail_audit\.nope'"):
        engine.run(f'SELECT count(*) FROM "{DATABASE}"."nope"')


def test_a_query_that_never_finishes_is_stopped_at_the_timeout(account, raw, athena_params, scripted, quick,
                                                               athena_answer):
    moto_athena.script("RUNNING")
    with pytest.raises(CollectionError, match=r"still RUNNING after 0\.002 min \(timeout_minutes\): stopped with "
                                              "StopQueryExecution") as err:
        _athena(account, raw, {**athena_params, "timeout_minutes": 0.002})
    execution_id = str(err.value).split()[1].rstrip(":")
    assert moto_athena.RUNS[execution_id].state == "CANCELLED", "the query no longer scans"


def test_a_named_table_must_exist_and_be_cloudtrails(account, raw, athena_params, athena_answer):
    with pytest.raises(CollectionError, match="glue:GetTable cloudtrail_audit.missing: EntityNotFoundException"):
        _athena(account, raw, {**athena_params, "table": "missing"})
    import boto3

    boto3.client("glue", region_name=DEMO_REGION).create_table(DatabaseName=DATABASE, TableInput={
        "Name": "other_logs", "StorageDescriptor": {"Columns": [{"Name": "line", "Type": "string"}],
                                                    "Location": "s3://elsewhere/"}})
    with pytest.raises(CollectionError, match="not AWS's CloudTrail table"):
        _athena(account, raw, {**athena_params, "table": "other_logs"})


def test_the_organizations_table_named_with_the_account_id_is_used(account, raw, athena_params, athena_answer):
    moto_athena.RECEIVED.clear()
    _, events = _athena(account, raw, {**athena_params, "table": ORG_TABLE})
    received = moto_athena.received()
    assert not any(text.startswith("CREATE") for text in received), "nothing created"
    assert f'FROM "{DATABASE}"."{ORG_TABLE.format(account_id=DEMO_ACCOUNT_ID)}"' in received[0]
    pd.testing.assert_frame_equal(catalog.population("cloudtrail-events", events).frame, athena_answer[1].frame)


def test_no_result_location_is_refused(account, raw, engines):
    with pytest.raises(CollectionError, match="the workgroup sets no query result location"):
        _athena(account, raw, {"database": DATABASE, "workgroup": "primary"})


def test_a_missing_database_or_workgroup_is_named(account, raw, athena_params):
    with pytest.raises(CollectionError, match="athena:GetWorkGroup nowhere: no such workgroup"):
        _athena(account, raw, {**athena_params, "workgroup": "nowhere"})
    with pytest.raises(CollectionError, match="glue:GetDatabase nodb: EntityNotFoundException"):
        _athena(account, raw, {**athena_params, "database": "nodb"})


def test_throttling_is_retried_and_recorded(account, raw, athena_params, faults, fast_backoff, athena_answer):
    """Athena's TooManyRequestsException and ThrottlingException are retried by botocore's standard mode; the
    retries are in the record."""
    from auditbook.sources.aws.session import retry_note

    faults.aws.inject(f.operation("athena", "GetQueryResults"), f.throttle(code="TooManyRequestsException"))
    faults.aws.inject(f.operation("athena", "GetQueryExecution"), f.throttle(), times=2)
    before = account.retries.snapshot()
    _, events = _athena(account, raw, athena_params)
    assert len(events.frame) == len(athena_answer[1].frame)
    assert account.retries.since(before) == {"athena:GetQueryExecution": 2, "athena:GetQueryResults": 1}
    assert retry_note(account.retries.since(before)).startswith("AWS asked for 3 retries")


def test_throttling_beyond_the_bound_is_a_collection_error(account, raw, athena_params, faults, fast_backoff,
                                                           athena_answer):
    faults.aws.inject(f.operation("athena", "GetQueryResults"), f.throttle(code="TooManyRequestsException"),
                      times=None)
    with pytest.raises(CollectionError, match=r"athena:GetQueryResults .*TooManyRequestsException: Rate exceeded "
                                              r"\(after 4 retries\)"):
        _athena(account, raw, athena_params)
    assert len([c for c in faults.aws.calls if c.fault]) == 5


def test_the_events_columns_are_the_catalogs():
    assert list(catalog.entry("cloudtrail-events").columns) == list(EVENT_COLUMNS)
