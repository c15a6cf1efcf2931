"""Amazon Athena in the demo emulator: queries really run, on DuckDB, over the trail bucket's log files.

moto 5.2 keeps Athena's API (workgroups, executions, a queue of configured results) but runs no query:
every query SUCCEEDS at once, results come from ``/moto-api/static/athena/query-results``, all on one page.
Here, on top of moto's own handlers:

- ``CREATE EXTERNAL TABLE`` registers the table in moto's Glue catalog (columns, partition keys,
  location, projection properties), as Athena does;
- a query on a Glue table loads that table's log files from moto's S3 (only the partitions its
  ``region IN`` and ``"timestamp" BETWEEN`` conditions name, as partition projection does) into DuckDB,
  in the Athena CloudTrail table's shape the local engine builds (:mod:`auditbook.events.local`), and runs
  the received text unchanged; ``DataScannedInBytes`` is the size of the objects read; a query naming a
  table Glue does not have FAILS with Athena's ``TABLE_NOT_FOUND`` reason;
- ``GetQueryResults`` pages (``MaxResults``, at most 1000 rows, ``NextToken``; the header is the first
  row of the first page), for DuckDB's results and moto's configured ones alike;
- tests script how the next executions end (:func:`script`: FAILED or CANCELLED with a reason, or
  RUNNING for ever) and read what Athena received (:func:`received`).

Nothing outside ``demo/`` knows this module: the collectors make plain boto3 calls.
"""

from __future__ import annotations

import gzip
import json
import re
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

PAGE_SIZE = 1000
_INSTALLED = False
_LOCK = threading.Lock()


@dataclass
class _Run:
    """What the emulator knows of one execution beyond moto's record."""

    text: str
    state: str = "SUCCEEDED"
    reason: str = ""
    columns: list[dict[str, Any]] = field(default_factory=list)
    rows: list[list[str | None]] = field(default_factory=list)
    scanned: int = 0
    millis: int = 0
    ddl: bool = False


RUNS: dict[str, _Run] = {}
SCRIPTED: list[tuple[str, str]] = []  # (state, reason) for the next executions, in order
RECEIVED: list[str] = []  # every query text, in order


def script(state: str, reason: str = "") -> None:
    """The next execution ends in ``state`` (FAILED, CANCELLED) with ``reason``, or stays RUNNING for ever."""
    with _LOCK:
        SCRIPTED.append((state, reason))


def received() -> list[str]:
    with _LOCK:
        return list(RECEIVED)


def reset() -> None:
    with _LOCK:
        RUNS.clear()
        SCRIPTED.clear()
        RECEIVED.clear()


# -- DDL: CREATE EXTERNAL TABLE → Glue ----------------------------------------------------------------
_CREATE = re.compile(r"^\s*CREATE\s+EXTERNAL\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?([`\"\w.-]+)\s*\(", re.I)


def _split_top(text: str) -> list[str]:
    """``a STRING, b STRUCT<x:STRING, y:INT>`` → the two column definitions (commas inside <> kept)."""
    parts, depth, current = [], 0, ""
    for char in text:
        depth += char == "<"
        depth -= char == ">"
        if char == "," and depth == 0:
            parts.append(current.strip())
            current = ""
        else:
            current += char
    return [p for p in [*parts, current.strip()] if p]


def _closing(text: str, opening: int) -> int:
    depth = 0
    for i in range(opening, len(text)):
        depth += text[i] == "("
        depth -= text[i] == ")"
        if depth == 0:
            return i
    raise ValueError("unbalanced parentheses")


def _columns(definitions: str) -> list[dict[str, str]]:
    out = []
    for definition in _split_top(definitions):
        name, _, kind = definition.strip().partition(" ")
        out.append({"Name": name.strip("`\"").lower(), "Type": kind.strip().lower()})
    return out


def _names(qualified: str, context: dict[str, Any] | None) -> tuple[str, str]:
    parts = [p.strip("`\"") for p in qualified.split(".")]
    database = parts[-2] if len(parts) > 1 else (context or {}).get("Database", "default")
    return database.lower(), parts[-1].lower()


def _create_table(account: str, region: str, text: str, context: dict[str, Any] | None) -> str:
    """Register the table in Glue; "" when done, else Athena's reason for failing."""
    from moto.glue.exceptions import DatabaseNotFoundException
    from moto.glue.models import glue_backends

    match = _CREATE.match(text)
    if not match:
        return ""
    database, table = _names(match.group(1), context)
    opening = match.end() - 1
    closing = _closing(text, opening)
    rest = text[closing + 1:]
    partitioned = re.search(r"PARTITIONED\s+BY\s*\(", rest, re.I)
    partitions = []
    if partitioned:
        start = partitioned.end() - 1
        partitions = _columns(rest[start + 1:_closing(rest, start)])
    location = re.search(r"LOCATION\s+'([^']+)'", rest, re.I)
    properties = dict(re.findall(r"'([^']+)'\s*=\s*'([^']*)'", rest.split("TBLPROPERTIES", 1)[-1])) \
        if "TBLPROPERTIES" in rest.upper() else {}
    glue = glue_backends[account][region]
    try:
        glue.get_database(database)
    except DatabaseNotFoundException:
        return f"SCHEMA_NOT_FOUND: line 1:1: Schema '{database}' does not exist"
    if table in glue.get_database(database).tables:
        return ""  # IF NOT EXISTS
    glue.create_table(database, table, {
        "Name": table, "TableType": "EXTERNAL_TABLE", "Parameters": {"EXTERNAL": "TRUE", **properties},
        "PartitionKeys": partitions,
        "StorageDescriptor": {"Columns": _columns(text[opening + 1:closing]),
                              "Location": location.group(1) if location else "",
                              "InputFormat": "com.amazon.emr.cloudtrail.CloudTrailInputFormat",
                              "SerdeInfo": {"SerializationLibrary": "org.apache.hive.hcatalog.data.JsonSerDe"}}})
    return ""


# -- queries on DuckDB ------------------------------------------------------------------------------
_TABLE_REF = re.compile(r"\bFROM\s+((?:\"[^\"]+\"|[\w-]+)(?:\.(?:\"[^\"]+\"|[\w-]+))?)", re.I)
_DUCK_TO_ATHENA = {"VARCHAR": "varchar", "BIGINT": "bigint", "INTEGER": "integer", "HUGEINT": "bigint",
                   "BOOLEAN": "boolean", "DOUBLE": "double", "TIMESTAMP": "timestamp", "DATE": "date"}


def _wanted(text: str) -> tuple[set[str] | None, tuple[str, str] | None]:
    """The regions and days a query's partition conditions name (None: every one), as projection prunes."""
    regions = re.search(r"\bregion\s+IN\s*\(([^)]*)\)", text, re.I)
    days = re.search(r"\"timestamp\"\s+BETWEEN\s+'([^']+)'\s+AND\s+'([^']+)'", text, re.I)
    return ({r.strip().strip("'") for r in regions.group(1).split(",")} if regions else None,
            (days.group(1), days.group(2)) if days else None)


def _log_files(account: str, location: str, regions: set[str] | None,
               days: tuple[str, str] | None) -> list[tuple[str, str, str, bytes]]:
    """(s3 path, region, yyyy/MM/dd, gzipped body) of every log file in the wanted partitions."""
    from moto.s3.models import s3_backends

    bucket_name, _, prefix = location.removeprefix("s3://").partition("/")
    bucket = s3_backends[account]["aws"].get_bucket(bucket_name)
    found = []
    for name in sorted(bucket.keys):
        if not name.startswith(prefix) or not name.endswith(".json.gz"):
            continue
        parts = name[len(prefix):].split("/")
        if len(parts) < 5:
            continue
        region, day = parts[0], "/".join(parts[1:4])
        if (regions is None or region in regions) and (days is None or days[0] <= day <= days[1]):
            found.append((f"s3://{bucket_name}/{name}", region, day, bucket.keys[name].value))
    return found


def _load(con: Any, database: str, table: str, files: list[tuple[str, str, str, bytes]], spool: Path) -> None:
    """The files as the Athena CloudTrail table ``"database"."table"``, read as the local engine reads them."""
    import pandas as pd

    from auditbook.events.local import _ATHENA_SHAPE, _COLUMNS_ARGUMENT, records_array

    rows = []
    for number, (path, region, day, body) in enumerate(files or [("s3://none/none", "", "", b"")]):
        local = spool / f"{number}.json"
        local.write_bytes(records_array(gzip.decompress(body)) if body else b"[]")
        rows.append({"filename": str(local), "s3_path": path, "region": region, "day": day})
    spooled = pd.DataFrame(rows)
    con.register("spool", spooled)
    con.execute(f'CREATE SCHEMA IF NOT EXISTS "{database}"')
    con.execute(f"""CREATE OR REPLACE TABLE "{database}"."{table}" AS SELECT {_ATHENA_SHAPE}
                    FROM read_json($files, filename = true, format = 'array', maximum_object_size = 268435456,
                                   columns = {_COLUMNS_ARGUMENT}) AS r
                    JOIN spool USING (filename)""", {"files": spooled["filename"].tolist()})
    con.unregister("spool")


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
    return str(value)


def _execute(account: str, region: str, text: str, context: dict[str, Any] | None, run: _Run) -> None:
    """Run a SELECT on DuckDB over the Glue tables it names; the outcome goes into ``run``."""
    import duckdb
    from moto.glue.exceptions import DatabaseNotFoundException, TableNotFoundException
    from moto.glue.models import glue_backends

    started = time.monotonic()
    glue = glue_backends[account][region]
    regions, days = _wanted(text)
    con = duckdb.connect()
    try:
        with tempfile.TemporaryDirectory(prefix="auditbook-athena-") as spool:
            for reference in {m.group(1) for m in _TABLE_REF.finditer(text)}:
                if reference.lower() == "events":
                    continue
                database, table = _names(reference, context)
                try:
                    described = glue.get_table(database, table).as_dict()
                except (DatabaseNotFoundException, TableNotFoundException):
                    run.state, run.reason = "FAILED", f"TABLE_NOT_FOUND: line 1:1: Table 'awsdatacatalog.{database}." \
                                                      f"{table}' does not exist"
                    return
                files = _log_files(account, described["StorageDescriptor"]["Location"], regions, days)
                run.scanned += sum(len(body) for *_, body in files)
                _load(con, database, table, files, Path(spool))
            cursor = con.execute(text)
            names = [d[0] for d in cursor.description]
            kinds = [_DUCK_TO_ATHENA.get(str(d[1]).split("(")[0], "varchar") for d in cursor.description]
            run.columns = [{"CatalogName": "hive", "SchemaName": "", "TableName": "", "Name": n, "Label": n,
                            "Type": k, "Precision": 0, "Scale": 0, "Nullable": "UNKNOWN", "CaseSensitive": True}
                           for n, k in zip(names, kinds, strict=True)]
            run.rows = [[_text(v) for v in row] for row in cursor.fetchall()]
    except duckdb.Error as exc:
        run.state, run.reason = "FAILED", f"GENERIC_USER_ERROR: {' '.join(str(exc).split())[:300]}"
    finally:
        con.close()
        run.millis = int((time.monotonic() - started) * 1000)


# -- the handlers, around moto's own ------------------------------------------------------------------
_ORIGINAL: dict[str, Any] = {}


def _start_query_execution(self: Any) -> Any:
    answer = _ORIGINAL["start_query_execution"](self)
    if isinstance(answer, tuple):  # moto's own error (an unknown workgroup)
        return answer
    execution_id = json.loads(answer)["QueryExecutionId"]
    text = self._get_param("QueryString")
    context = self._get_param("QueryExecutionContext")
    run = _Run(text)
    with _LOCK:
        RECEIVED.append(text)
        scripted = SCRIPTED.pop(0) if SCRIPTED else None
    if scripted:
        run.state, run.reason = scripted
    elif execution_id in self.athena_backend.query_results:
        return answer  # results configured through moto's API: moto answers, paged below
    elif _CREATE.match(text):
        run.ddl = True
        run.reason = _create_table(self.current_account, self.region, text, context)
        run.state = "FAILED" if run.reason else "SUCCEEDED"
    else:
        _execute(self.current_account, self.region, text, context, run)
    with _LOCK:
        RUNS[execution_id] = run
    return answer


def _get_query_execution(self: Any) -> Any:
    answer = _ORIGINAL["get_query_execution"](self)
    run = RUNS.get(self._get_param("QueryExecutionId"))
    if run is None:
        return answer
    body = json.loads(answer)
    execution = body["QueryExecution"]
    execution["Status"]["State"] = run.state
    if run.state in ("QUEUED", "RUNNING"):
        execution["Status"].pop("CompletionDateTime", None)
    if run.reason:
        execution["Status"]["StateChangeReason"] = run.reason
        execution["Status"]["AthenaError"] = {"ErrorCategory": 2, "ErrorType": 1301, "Retryable": False,
                                              "ErrorMessage": run.reason}
    execution["Statistics"].update({"DataScannedInBytes": run.scanned, "EngineExecutionTimeInMillis": run.millis,
                                    "TotalExecutionTimeInMillis": run.millis})
    execution["StatementType"] = "DDL" if run.ddl else "DML"
    return json.dumps(body)


def _get_query_results(self: Any) -> Any:
    execution_id = self._get_param("QueryExecutionId")
    run = RUNS.get(execution_id)
    if run is not None and run.state != "SUCCEEDED":
        return json.dumps({"__type": "InvalidRequestException", "Message": f"Query has not yet finished. Current "
                                                                           f"state: {run.state}"}), {"status": 400}
    if run is not None:
        header = [{"VarCharValue": c["Name"]} for c in run.columns]
        rows = ([{"Data": header}] if run.columns else []) + [
            {"Data": [{} if v is None else {"VarCharValue": v} for v in row]} for row in run.rows]
        columns = run.columns
    else:  # moto's configured results (or none), one page as moto serves them
        result = json.loads(_ORIGINAL["get_query_results"](self))["ResultSet"]
        rows, columns = result["Rows"], result["ResultSetMetadata"]["ColumnInfo"]
    start = int(self._get_param("NextToken") or 0)
    size = min(int(self._get_param("MaxResults") or PAGE_SIZE), PAGE_SIZE)
    page: dict[str, Any] = {"UpdateCount": 0, "ResultSet": {"Rows": rows[start:start + size],
                                                            "ResultSetMetadata": {"ColumnInfo": columns}}}
    if start + size < len(rows):
        page["NextToken"] = str(start + size)
    return json.dumps(page)


def _stop_query_execution(self: Any) -> Any:
    answer = _ORIGINAL["stop_query_execution"](self)
    run = RUNS.get(self._get_param("QueryExecutionId"))
    if run is not None and run.state in ("QUEUED", "RUNNING"):
        run.state, run.reason = "CANCELLED", "Query cancelled by user"
    return answer


def install() -> None:
    """Wrap moto's Athena handlers (once per process, before the server serves Athena)."""
    global _INSTALLED
    if _INSTALLED:
        return
    from moto.athena.responses import AthenaResponse

    for name, handler in (("start_query_execution", _start_query_execution),
                          ("get_query_execution", _get_query_execution),
                          ("get_query_results", _get_query_results),
                          ("stop_query_execution", _stop_query_execution)):
        _ORIGINAL[name] = getattr(AthenaResponse, name)
        setattr(AthenaResponse, name, handler)
    _INSTALLED = True
