"""CloudTrail Lake in the demo emulator: event data stores whose queries really run, on DuckDB.

moto 5.2 has trails but no CloudTrail Lake. This module adds, to moto's own CloudTrail handler and in the
shapes of botocore's service model: ``CreateEventDataStore``, ``GetEventDataStore``, ``StartQuery``,
``DescribeQuery``, ``GetQueryResults`` (pages of at most 1000 rows, each row a list of one-key dicts, with
``NextToken``) and ``CancelQuery``.

An event data store is filled with :func:`import_trail` (what Lake's ``StartImport`` does: the trail
bucket's log files, read from moto's S3). A query is run on DuckDB over those events in Lake's shape
(camel-case columns, ``eventTime`` a timestamp, ``readOnly`` a boolean), with the received text unchanged
except that the event data store's id, which Lake's SQL names bare, is quoted for DuckDB. Statistics are
those Lake reports: events scanned and matched, bytes scanned. Tests script how the next queries end
(:func:`script`: FAILED, CANCELLED, TIMED_OUT with a message, or RUNNING for ever) and read the texts
received (:func:`received`).

Nothing outside ``demo/`` knows this module: the collectors make plain boto3 calls.
"""

from __future__ import annotations

import gzip
import json
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

PAGE_SIZE = 1000
_NAMESPACE = uuid.UUID("3f0c1e9a-7d2b-4c55-9a1e-5b7a2f4d8c61")
_INSTALLED = False
_LOCK = threading.Lock()


@dataclass
class _Store:
    arn: str
    name: str
    created: datetime
    retention: int = 2557
    multi_region: bool = True
    organization: bool = False
    status: str = "ENABLED"
    records: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class _Query:
    text: str
    store: str
    state: str = "FINISHED"
    message: str = ""
    columns: list[str] = field(default_factory=list)
    rows: list[list[str | None]] = field(default_factory=list)
    scanned_events: int = 0
    scanned_bytes: int = 0
    millis: int = 0
    created: datetime = field(default_factory=lambda: datetime.now(UTC))


STORES: dict[str, _Store] = {}  # ARN → store
QUERIES: dict[str, _Query] = {}
SCRIPTED: list[tuple[str, str]] = []
RECEIVED: list[str] = []


def script(state: str, message: str = "") -> None:
    """The next query ends in ``state`` (FAILED, CANCELLED, TIMED_OUT) with ``message``, or stays RUNNING."""
    with _LOCK:
        SCRIPTED.append((state, message))


def received() -> list[str]:
    with _LOCK:
        return list(RECEIVED)


def reset() -> None:
    with _LOCK:
        STORES.clear()
        QUERIES.clear()
        SCRIPTED.clear()
        RECEIVED.clear()


def import_trail(event_data_store_arn: str, account: str, bucket: str, prefix: str = "") -> int:
    """Copy every CloudTrail record of the trail's log files (moto's S3) into the event data store, as
    Lake's StartImport does; returns the number of events."""
    from moto.s3.models import s3_backends

    store = STORES[event_data_store_arn]
    keys = s3_backends[account]["aws"].get_bucket(bucket).keys
    records = []
    for name in sorted(keys):
        if name.startswith(prefix) and name.endswith(".json.gz") and "/CloudTrail/" in name:
            records += json.loads(gzip.decompress(keys[name].value))["Records"]
    with _LOCK:
        store.records = records
    return len(records)


def _store(reference: str, account: str, region: str) -> _Store | None:
    """A store by ARN or id (an id is looked up in the caller's account and region)."""
    if reference in STORES:
        return STORES[reference]
    arn = f"arn:aws:cloudtrail:{region}:{account}:eventdatastore/{reference}"
    return STORES.get(arn)


def _describe_store(store: _Store) -> dict[str, Any]:
    return {"EventDataStoreArn": store.arn, "Name": store.name, "Status": store.status,
            "MultiRegionEnabled": store.multi_region, "OrganizationEnabled": store.organization,
            "RetentionPeriod": store.retention, "TerminationProtectionEnabled": True,
            "BillingMode": "EXTENDABLE_RETENTION_PRICING",
            "CreatedTimestamp": store.created.timestamp(), "UpdatedTimestamp": store.created.timestamp(),
            "AdvancedEventSelectors": [{"Name": "Management events",
                                        "FieldSelectors": [{"Field": "eventCategory", "Equals": ["Management"]}]}]}


def _error(code: str, message: str) -> tuple[str, dict[str, int]]:
    return json.dumps({"__type": code, "message": message}), {"status": 400}


# -- running a query on DuckDB --------------------------------------------------------------------------
def _lake_table(con: Any, store: _Store, spool: Path) -> int:
    """The store's events as a table named by its id, in Lake's column names and types; returns bytes."""
    from auditbook.events.local import _COLUMNS_ARGUMENT

    path = spool / "events.json"
    text = json.dumps(store.records)  # the records as rows, as the local engine reads a log file's Records array
    path.write_text(text)
    store_id = store.arn.rsplit("/", 1)[-1]
    con.execute(f"""CREATE OR REPLACE TABLE "{store_id}" AS
        SELECT r.eventVersion AS eventVersion, r.userIdentity AS userIdentity,
               strptime(r.eventTime, '%Y-%m-%dT%H:%M:%SZ') AS eventTime, r.eventSource AS eventSource,
               r.eventName AS eventName, r.awsRegion AS awsRegion, r.sourceIPAddress AS sourceIPAddress,
               r.userAgent AS userAgent, r.errorCode AS errorCode, r.errorMessage AS errorMessage,
               CAST(r.requestParameters AS VARCHAR) AS requestParameters,
               CAST(r.additionalEventData AS VARCHAR) AS additionalEventData, r.requestID AS requestID,
               r.eventID AS eventID, TRY_CAST(lower(trim(both '"' FROM CAST(r.readOnly AS VARCHAR))) AS BOOLEAN)
                   AS readOnly, r.eventType AS eventType, r.recipientAccountId AS recipientAccountId,
               r.eventCategory AS eventCategory
        FROM read_json($file, format = 'array', maximum_object_size = {len(text) + 1024},
                       columns = {_COLUMNS_ARGUMENT}) AS r""",
                {"file": str(path)})
    return len(text)


def _value(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
    return str(value)


def _run(query: _Query, store: _Store) -> None:
    import re

    import duckdb

    started = time.monotonic()
    store_id = store.arn.rsplit("/", 1)[-1]
    con = duckdb.connect()
    try:
        with tempfile.TemporaryDirectory(prefix="auditbook-lake-") as spool:
            query.scanned_bytes = _lake_table(con, store, Path(spool))
            query.scanned_events = len(store.records)
            text = re.sub(rf"(?<![\w\"-]){re.escape(store_id)}(?![\w\"-])", f'"{store_id}"', query.text)
            cursor = con.execute(text)
            query.columns = [d[0] for d in cursor.description]
            query.rows = [[_value(v) for v in row] for row in cursor.fetchall()]
    except duckdb.Error as exc:
        query.state, query.message = "FAILED", " ".join(str(exc).split())[:300]
    finally:
        con.close()
        query.millis = int((time.monotonic() - started) * 1000)


# -- handlers ------------------------------------------------------------------------------------------
def store_arn(account: str, region: str, name: str) -> str:
    """The demo's event data store ids are derived from their names (AWS's are random): the demo stays the same."""
    store_id = uuid.uuid5(_NAMESPACE, f"{account}/{region}/{name}")
    return f"arn:aws:cloudtrail:{region}:{account}:eventdatastore/{store_id}"


def _create_event_data_store(self: Any) -> Any:
    name = self._get_param("Name")
    arn = store_arn(self.current_account, self.region, name)
    if arn in STORES:
        return _error("EventDataStoreAlreadyExistsException", f"An event data store named {name} already exists.")
    store = _Store(arn, name, datetime.now(UTC), retention=int(self._get_param("RetentionPeriod") or 2557),
                   multi_region=self._get_param("MultiRegionEnabled", True) is not False,
                   organization=bool(self._get_param("OrganizationEnabled", False)))
    with _LOCK:
        STORES[arn] = store
    return json.dumps(_describe_store(store))


def _get_event_data_store(self: Any) -> Any:
    store = _store(self._get_param("EventDataStore"), self.current_account, self.region)
    if store is None:
        return _error("EventDataStoreNotFoundException", "The specified event data store was not found.")
    return json.dumps(_describe_store(store))


def _start_query(self: Any) -> Any:
    text = self._get_param("QueryStatement") or ""
    with _LOCK:
        RECEIVED.append(text)
        found = [s for s in STORES.values() if s.arn.rsplit("/", 1)[-1] in text]
        scripted = SCRIPTED.pop(0) if SCRIPTED else None
    if not found:
        return _error("EventDataStoreNotFoundException", "The specified event data store was not found.")
    query = _Query(text, found[0].arn)
    if scripted:
        query.state, query.message = scripted
    else:
        _run(query, found[0])
    query_id = str(uuid.uuid4())
    with _LOCK:
        QUERIES[query_id] = query
    return json.dumps({"QueryId": query_id})


def _query(self: Any) -> _Query | None:
    return QUERIES.get(self._get_param("QueryId"))


def _describe_query(self: Any) -> Any:
    query = _query(self)
    if query is None:
        return _error("QueryIdNotFoundException", "The query ID does not exist or does not map to a query.")
    body: dict[str, Any] = {
        "QueryId": self._get_param("QueryId"), "QueryString": query.text, "QueryStatus": query.state,
        "QueryStatistics": {"EventsMatched": len(query.rows), "EventsScanned": query.scanned_events,
                            "BytesScanned": query.scanned_bytes, "ExecutionTimeInMillis": query.millis,
                            "CreationTime": query.created.timestamp()}}
    if query.message:
        body["ErrorMessage"] = query.message
    return json.dumps(body)


def _get_query_results(self: Any) -> Any:
    query = _query(self)
    if query is None:
        return _error("QueryIdNotFoundException", "The query ID does not exist or does not map to a query.")
    body: dict[str, Any] = {"QueryStatus": query.state, "QueryStatistics": {
        "ResultsCount": 0, "TotalResultsCount": len(query.rows), "BytesScanned": query.scanned_bytes}}
    if query.state != "FINISHED":
        if query.message:
            body["ErrorMessage"] = query.message
        body["QueryResultRows"] = []
        return json.dumps(body)
    start = int(self._get_param("NextToken") or 0)
    size = min(int(self._get_param("MaxQueryResults") or PAGE_SIZE), PAGE_SIZE)
    rows = query.rows[start:start + size]
    body["QueryResultRows"] = [[{c: v} for c, v in zip(query.columns, row, strict=True)] for row in rows]
    body["QueryStatistics"]["ResultsCount"] = len(rows)
    if start + size < len(query.rows):
        body["NextToken"] = f"{start + size:08d}"  # the model asks for at least 4 characters
    return json.dumps(body)


def _cancel_query(self: Any) -> Any:
    query = _query(self)
    if query is None:
        return _error("QueryIdNotFoundException", "The query ID does not exist or does not map to a query.")
    if query.state in ("QUEUED", "RUNNING"):
        query.state = "CANCELLED"
    return json.dumps({"QueryId": self._get_param("QueryId"), "QueryStatus": query.state})


def install() -> None:
    """Add the Lake operations to moto's CloudTrail handler (once per process)."""
    global _INSTALLED
    if _INSTALLED:
        return
    from moto.cloudtrail.responses import CloudTrailResponse

    for name, handler in (("create_event_data_store", _create_event_data_store),
                          ("get_event_data_store", _get_event_data_store), ("start_query", _start_query),
                          ("describe_query", _describe_query), ("get_query_results", _get_query_results),
                          ("cancel_query", _cancel_query)):
        setattr(CloudTrailResponse, name, handler)
    _INSTALLED = True
