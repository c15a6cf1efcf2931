"""CloudTrail Lake as the events engine: the period's events queried in an event data store.

An organization that already keeps its events in a CloudTrail Lake event data store (immutable, retained up
to ten years, integrity kept by Lake itself) does not need the trail's files at all: the shared query
(:func:`auditbook.events.sql.lake_query`, the local engine's query on Lake's camel-case columns) runs there.
The event data store is checked first (enabled, and retaining events back to the period's start, else
events of the period are already gone), then each query is started, polled with a bounded backoff up to a
timeout (then cancelled), and its every result page read; FAILED, CANCELLED and TIMED_OUT are a
:class:`CollectionError` naming the state and Lake's message. Provenance records the query text, QueryId,
and Lake's statistics (events scanned and matched, bytes scanned).

Lake stores events, not files: ``cloudtrail-log-files`` holds one row per region and day of the period with
its event count (a second query), so coverage still says which region-days have events.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import pandas as pd

from auditbook.events.sql import EVENT_COLUMNS, lake_days_query, lake_query
from auditbook.period import Period
from auditbook.provenance import Collected, CollectionError, Provenance, RawStore
from auditbook.sources.aws.athena import Polling, query_account, wait_for
from auditbook.sources.aws.base import aws_errors, clean, provenance
from auditbook.sources.aws.session import AwsAccount, retry_note

PAGE_SIZE = 1000  # GetQueryResults' MaxQueryResults maximum
FAILED_STATES = ("FAILED", "CANCELLED", "TIMED_OUT")


@dataclass(frozen=True)
class LakeSettings:
    """``scope.aws.cloudtrail.cloudtrail_lake``: the event data store (ARN or id) and where to query it."""

    event_data_store: str
    region: str
    timeout_seconds: float
    query_as: dict[str, Any] | None

    @classmethod
    def of(cls, params: dict[str, Any]) -> LakeSettings:
        store = params["event_data_store"]
        arn_region = store.split(":")[3] if store.startswith("arn:") else ""
        return cls(store, params.get("region") or arn_region, float(params.get("timeout_minutes") or 60) * 60,
                   params.get("query_as") or None)

    @property
    def store_id(self) -> str:
        """What a Lake query names in FROM: the id, the ARN's last part."""
        return self.event_data_store.rsplit("/", 1)[-1]


@dataclass
class LakeRun:
    """One finished Lake query and its answers."""

    text: str
    query_id: str
    described: dict[str, Any]  # DescribeQuery, as received
    polls: int
    rows: list[dict[str, Any]]
    pages: list[dict[str, Any]]

    @property
    def statistics(self) -> dict[str, Any]:
        return self.described.get("QueryStatistics") or {}


class Lake:
    """Runs queries on one event data store, each to completion or to a one-line error."""

    def __init__(self, runner: AwsAccount, settings: LakeSettings,
                 clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep) -> None:
        self.client = runner.client("cloudtrail")
        self.settings = settings
        self.clock, self.sleep = clock, sleep

    def store(self) -> dict[str, Any]:
        with aws_errors(f"cloudtrail:GetEventDataStore {self.settings.event_data_store}"):
            return clean(self.client.get_event_data_store(EventDataStore=self.settings.event_data_store)) or {}

    def run(self, text: str, columns: list[str]) -> LakeRun:
        with aws_errors("cloudtrail:StartQuery"):
            query_id = self.client.start_query(QueryStatement=text)["QueryId"]
        described, polls = self._wait(query_id)
        rows, pages = self._results(query_id, columns)
        return LakeRun(text, query_id, described, polls, rows, pages)

    def _wait(self, query_id: str) -> tuple[dict[str, Any], int]:
        polling = Polling(
            describe=lambda: self.client.describe_query(QueryId=query_id),
            state=lambda d: d.get("QueryStatus", ""), reason=lambda d: d.get("ErrorMessage"),
            done="FINISHED", failed=FAILED_STATES,
            stop=lambda: self.client.cancel_query(QueryId=query_id),  # Lake bills the data it scans
            stop_call="CancelQuery", stopped="cancelled")
        return wait_for(f"cloudtrail:DescribeQuery {query_id}", polling, self.settings.timeout_seconds,
                        self.clock, self.sleep)

    def _results(self, query_id: str, columns: list[str]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """Every page; a row is a list of one-key dicts (column → text), merged here and held to ``columns``."""
        rows: list[dict[str, Any]] = []
        pages: list[dict[str, Any]] = []
        token = None
        total = None
        while True:
            request = {"QueryId": query_id, "MaxQueryResults": PAGE_SIZE, **({"NextToken": token} if token else {})}
            with aws_errors(f"cloudtrail:GetQueryResults {query_id} (page {len(pages) + 1})"):
                page = clean(self.client.get_query_results(**request)) or {}
            pages.append(page)
            if page.get("QueryStatus") not in (None, "FINISHED"):
                raise CollectionError(f"cloudtrail:GetQueryResults {query_id}: {page['QueryStatus']}: "
                                      f"{page.get('ErrorMessage') or 'no results'}")
            total = (page.get("QueryStatistics") or {}).get("TotalResultsCount", total)
            for cells in page.get("QueryResultRows") or []:
                row = {key: value for cell in cells for key, value in cell.items()}
                unknown = sorted(set(row) - set(columns))
                if unknown:
                    raise CollectionError(f"cloudtrail:GetQueryResults {query_id}: unexpected columns "
                                          f"{', '.join(unknown)}")
                rows.append({c: row.get(c) for c in columns})
            token = page.get("NextToken")
            if not token:
                break
        if total is not None and int(total) != len(rows):
            raise CollectionError(f"cloudtrail:GetQueryResults {query_id}: {len(rows)} rows read of {total}: the "
                                  "result is incomplete")
        return rows, pages


def _check_store(store: dict[str, Any], settings: LakeSettings, period: Period) -> list[str]:
    """Enabled, and retaining events back to the period's start; notes on what it records."""
    label = f"cloudtrail:GetEventDataStore {settings.event_data_store}"
    status = store.get("Status", "")
    if status not in ("ENABLED", "STOPPED_INGESTION"):
        raise CollectionError(f"{label}: the event data store is {status or 'in an unknown state'}")
    retention = int(store.get("RetentionPeriod") or 0)
    age = (datetime.now(UTC) - period.start).days + 1
    if retention and retention < age:
        raise CollectionError(f"{label}: it keeps events {retention} days and the period started {age} days ago: "
                              "the period's first events are no longer in it")
    notes = [f"Event data store {store.get('Name', '')} ({store.get('EventDataStoreArn', settings.event_data_store)}): "
             f"status {status}, retention {retention} days, multi-region {store.get('MultiRegionEnabled')}, "
             f"organization {store.get('OrganizationEnabled')}."]
    if status == "STOPPED_INGESTION":
        notes.append("The event data store has stopped ingesting events: events after it stopped are not in it.")
    if store.get("MultiRegionEnabled") is False:
        notes.append("The event data store is not multi-region: it holds its home region's events only.")
    return notes


def collect_trail_logs(account: AwsAccount, raw: RawStore, period: Period, regions: list[str], selection: str,
                       lake: dict[str, Any]) -> tuple[Collected, Collected]:
    """``cloudtrail-log-files`` (one row per region and day: Lake keeps no files) and ``cloudtrail-events``
    from a CloudTrail Lake event data store, with the same query as the other engines."""
    from auditbook.sources.aws.cloudtrail import LOG_FILE_COLUMNS

    settings = LakeSettings.of(lake)
    runner = query_account(account, settings.query_as, settings.region or account.region)
    before = runner.retries.snapshot()
    prov = provenance(account, "aws:cloudtrail-lake")
    engine = Lake(runner, settings)
    store = engine.store()
    prov.add_operation("cloudtrail:GetEventDataStore", {"EventDataStore": settings.event_data_store}, records=1)
    notes = _check_store(store, settings, period)
    events_run = engine.run(lake_query(settings.store_id, account.account_id, period.start, period.end, selection,
                                       regions), list(EVENT_COLUMNS))
    days_run = engine.run(lake_days_query(settings.store_id, account.account_id, period.start, period.end, regions),
                          ["region", "day", "records"])
    events = pd.DataFrame(events_run.rows, columns=list(EVENT_COLUMNS))
    kept = (events.groupby([events["aws_region"], events["event_time"].astype(str).str[:10]]).size().to_dict()
            if not events.empty else {})
    rows = [{"account_id": account.account_id, "region": d["region"], "day": d["day"], "bucket": "",
             "key": f"cloudtrail-lake:{settings.store_id}/{d['region']}/{d['day']}", "size": None, "etag": "",
             "last_modified": None, "sha256": "", "content_sha256": "", "records": int(d["records"]),
             "kept": int(kept.get((d["region"], d["day"]), 0))} for d in days_run.rows]
    files = pd.DataFrame(rows, columns=list(LOG_FILE_COLUMNS))
    for name, run in (("events", events_run), ("region-days", days_run)):
        _record(prov, raw, account.account_id, name, run)
    records = int(files["records"].sum()) if not files.empty else 0
    scanned = sum(int(r.statistics.get("BytesScanned") or 0) for r in (events_run, days_run))
    prov.notes += [
        *notes,
        f"Events read by CloudTrail Lake (region {runner.region}, run as {runner.caller_arn}) with the query text of "
        f"auditbook.events.sql on Lake's columns: {scanned} bytes scanned in all.",
        "CloudTrail Lake stores events, not log files: cloudtrail-log-files holds one row per region and day with "
        "its event count (key cloudtrail-lake:<event data store>/<region>/<day>; no bucket, size, ETag or hash). "
        "The events' integrity is Lake's own: an event data store is immutable.",
        f"{records} events in {len(files)} of {len(regions) * period.days} region-days.",
    ]
    if settings.query_as:
        note = retry_note(runner.retries.since(before))
        if note:
            prov.notes.append(note)
    event_prov = replace(prov, operations=list(prov.operations), raw_files=list(prov.raw_files),
                         notes=list(prov.notes))
    event_prov.notes.append(f"{len(events)} of {records} events kept: those of the period the controls select "
                            f"({selection}).")
    return Collected(files, prov), Collected(events, event_prov)


def _record(prov: Provenance, raw: RawStore, account_id: str, name: str, run: LakeRun) -> None:
    """The query as an auditor re-runs it, Lake's statistics, and its answers as received."""
    statistics = run.statistics
    prov.add_operation("cloudtrail:StartQuery", {
        "QueryStatement": run.text, "QueryId": run.query_id, "QueryStatus": run.described.get("QueryStatus", ""),
        "EventsMatched": statistics.get("EventsMatched"), "EventsScanned": statistics.get("EventsScanned"),
        "BytesScanned": statistics.get("BytesScanned")}, records=len(run.rows))
    prov.add_operation("cloudtrail:DescribeQuery", {"QueryId": run.query_id}, pages=run.polls)
    prov.add_operation("cloudtrail:GetQueryResults", {"QueryId": run.query_id, "MaxQueryResults": PAGE_SIZE},
                       pages=len(run.pages), records=len(run.rows))
    base = f"aws/{account_id}/cloudtrail-lake/{name}-{run.query_id}"
    prov.raw_files.append(raw.save(f"{base}.sql", run.text))
    prov.raw_files.append(raw.save(f"{base}.json", {"DescribeQuery": run.described, "GetQueryResults": run.pages},
                                   compress=True))
