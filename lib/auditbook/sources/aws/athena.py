"""Amazon Athena as the events engine: the period's CloudTrail events queried where the trail delivers them.

For an organization trail a quarter is 10⁵ files and up to 10⁹ events per account: reading every file into
the run (the ``local`` engine) is hours of transfer, Athena reads them in place. The query text is the one
the local engine runs (:func:`auditbook.events.sql.events_query`), on AWS's documented table for CloudTrail
logs (partition projection on ``region`` and ``timestamp``, so only the period's days are scanned): Athena
and DuckDB answer the same question, and the package says which one did.

The table is the organization's (``athena.table``, which must exist) or auditbook's own (no ``table``:
created once with :data:`auditbook.events.sql.ATHENA_TABLE_DDL` over the trail's destination: the shipped
policy's statement ``EventsEngineAthenaCreate...`` grants ``glue:CreateTable`` on that name only). Every query
is started, polled with a bounded backoff up to a timeout (then stopped, so it does not keep scanning at the
organization's expense), and its every result page read; a FAILED or CANCELLED query, or one that never
finishes, is a :class:`CollectionError` naming its state and reason. Provenance records the query text, its
QueryExecutionId, the workgroup, where Athena wrote the results, the data scanned and the rows returned.

Coverage comes from a second query on the same table (files and records per region and day, from
``"$path"``): Athena reads the files, auditbook does not, so their size, ETag and hashes are not known
under this engine and the provenance says so.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import Any

import botocore.exceptions
import pandas as pd

from auditbook.events.sql import EVENT_COLUMNS, athena_table_ddl, events_query, log_files_query
from auditbook.period import Period
from auditbook.provenance import Collected, CollectionError, Provenance, RawStore
from auditbook.sources.aws.base import aws_errors, clean, provenance
from auditbook.sources.aws.session import AwsAccount, open_session, retry_note

PAGE_SIZE = 1000  # GetQueryResults' maximum
POLL_FIRST = 0.25  # seconds before the first GetQueryExecution; doubled each time up to POLL_MAX
POLL_MAX = 5.0
DEFAULT_TABLE = "auditbook_cloudtrail_{account_id}"
# Columns the query reads: a table without them is not AWS's CloudTrail table (the query would fail or
# read the wrong thing), refused before anything is scanned.
TABLE_COLUMNS = ("eventtime", "eventid", "eventsource", "eventname", "readonly", "eventtype", "awsregion",
                 "useridentity", "sourceipaddress", "useragent", "errorcode", "requestparameters",
                 "additionaleventdata")
TABLE_PARTITIONS = ("region", "timestamp")
_INTEGER = {"tinyint", "smallint", "integer", "int", "bigint"}
_DECIMAL = {"double", "float", "real", "decimal"}


@dataclass(frozen=True)
class AthenaSettings:
    """``scope.aws.cloudtrail.athena`` for one account (``{account_id}`` in the table name resolved)."""

    database: str
    table: str  # "" → auditbook's own table, created when absent
    workgroup: str
    output_location: str
    region: str
    timeout_seconds: float
    query_as: dict[str, Any] | None

    @classmethod
    def of(cls, params: dict[str, Any], account_id: str) -> AthenaSettings:
        return cls(database=params["database"], table=(params.get("table") or "").format(account_id=account_id),
                   workgroup=params.get("workgroup") or "primary", output_location=params.get("output_location") or "",
                   region=params.get("region") or "", timeout_seconds=float(params.get("timeout_minutes") or 30) * 60,
                   query_as=params.get("query_as") or None)


def query_account(account: AwsAccount, query_as: dict[str, Any] | None, region: str) -> AwsAccount:
    """Where the queries run: the account itself, or ``query_as`` (profile and/or role: the log-archive or
    delegated-administrator account that holds an organization's table or event data store)."""
    if not query_as:
        return account if region == account.region else AwsAccount(account.account_id, account.name,
                                                                   account.session, region, account.retries)
    try:
        session = open_session(query_as, region)
        identity = session.client("sts", region_name=region).get_caller_identity()
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as exc:
        raise CollectionError(f"query_as {query_as.get('role_arn') or query_as.get('profile')}: "
                              f"{' '.join(str(exc).split())}") from None
    return AwsAccount(identity["Account"], f"queries for {account.account_id}", session, region)


def backoff(first: float, most: float) -> Iterator[float]:
    """Waits between polls: ``first``, doubled each time, never more than ``most``."""
    delay = first
    while True:
        yield delay
        delay = min(delay * 2, most)


@dataclass(frozen=True)
class Polling:
    """How one engine's query is watched to its end: which call describes it, which state is done and which
    failed, why it failed, and the call that stops it (Athena's StopQueryExecution, Lake's CancelQuery)."""

    describe: Callable[[], Any]  # the describing call's answer, as received
    state: Callable[[dict[str, Any]], str]
    reason: Callable[[dict[str, Any]], Any]
    done: str
    failed: tuple[str, ...]
    stop: Callable[[], Any]
    stop_call: str  # the stopping call's name, for the error
    stopped: str  # "stopped", "cancelled"


def wait_for(what: str, polling: Polling, timeout_seconds: float, clock: Callable[[], float],
             sleep: Callable[[float], None]) -> tuple[dict[str, Any], int]:
    """Poll with a bounded backoff until the query is done (its description, the polls made); a failed state is
    a one-line error; past the timeout the query is stopped (it would keep scanning, and billing), then fails."""
    deadline = clock() + timeout_seconds
    for polls, delay in enumerate(backoff(POLL_FIRST, POLL_MAX), start=1):
        with aws_errors(what):
            described = clean(polling.describe()) or {}
        state = polling.state(described)
        if state == polling.done:
            return described, polls
        if state in polling.failed:
            reason = " ".join(str(polling.reason(described) or "no reason given").split())[:300]
            raise CollectionError(f"{what}: {state}: {reason}")
        if clock() + delay > deadline:
            try:
                polling.stop()
                outcome = f"{polling.stopped} with {polling.stop_call}"
            except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as exc:
                outcome = f"{polling.stop_call} failed too: {' '.join(str(exc).split())[:120]}"
            raise CollectionError(f"{what}: still {state or 'not started'} after {timeout_seconds / 60:g} min "
                                  f"(timeout_minutes): {outcome}")
        sleep(delay)
    raise AssertionError("unreachable")


@dataclass
class QueryRun:
    """One finished Athena query: what was asked, where it ran, what it cost, what came back."""

    text: str
    execution_id: str
    execution: dict[str, Any]  # GetQueryExecution's QueryExecution, as received
    polls: int
    columns: list[str]
    types: list[str]
    rows: list[list[Any]]
    pages: list[dict[str, Any]]

    @property
    def scanned(self) -> int:
        return int(self.execution.get("Statistics", {}).get("DataScannedInBytes") or 0)

    @property
    def output_location(self) -> str:
        return self.execution.get("ResultConfiguration", {}).get("OutputLocation", "")

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.rows, columns=self.columns)


class Athena:
    """Runs queries in one workgroup and database, each to completion or to a one-line error."""

    def __init__(self, runner: AwsAccount, settings: AthenaSettings,
                 clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep) -> None:
        self.client = runner.client("athena")
        self.settings = settings
        self.clock, self.sleep = clock, sleep
        self.workgroup: dict[str, Any] = {}
        self.output_location = ""

    def check_workgroup(self) -> dict[str, Any]:
        """The workgroup exists and results have a place to go (params, or the workgroup's own setting)."""
        name = self.settings.workgroup
        with aws_errors(f"athena:GetWorkGroup {name}"):
            workgroup = clean(self.client.get_work_group(WorkGroup=name)) or {}
        self.workgroup = workgroup.get("WorkGroup") or {}
        if not self.workgroup:
            raise CollectionError(f"athena:GetWorkGroup {name}: no such workgroup")
        if self.workgroup.get("State", "ENABLED") != "ENABLED":
            raise CollectionError(f"athena:GetWorkGroup {name}: the workgroup is {self.workgroup['State']}")
        configuration = self.workgroup.get("Configuration") or {}
        own = (configuration.get("ResultConfiguration") or {}).get("OutputLocation", "")
        enforced = bool(configuration.get("EnforceWorkGroupConfiguration"))
        self.output_location = own if (enforced and own) else (self.settings.output_location or own)
        if not self.output_location:
            raise CollectionError(f"athena:GetWorkGroup {name}: the workgroup sets no query result location and "
                                  "params give none (scope.aws.cloudtrail.athena.output_location)")
        return self.workgroup

    def run(self, text: str, results: bool = True) -> QueryRun:
        """Start ``text``, wait for it within the timeout, read every result page (a DDL statement has none)."""
        start: dict[str, Any] = {
            "QueryString": text, "WorkGroup": self.settings.workgroup,
            "QueryExecutionContext": {"Database": self.settings.database},
            "ResultConfiguration": {"OutputLocation": self.output_location},
            # a result reused from an earlier query is not evidence collected now
            "ResultReuseConfiguration": {"ResultReuseByAgeConfiguration": {"Enabled": False}},
        }
        with aws_errors("athena:StartQueryExecution"):
            execution_id = self.client.start_query_execution(**start)["QueryExecutionId"]
        execution, polls = self._wait(execution_id)
        if (execution.get("Statistics", {}).get("ResultReuseInformation") or {}).get("ReusedPreviousResult"):
            raise CollectionError(f"athena:GetQueryExecution {execution_id}: Athena answered with a reused earlier "
                                  "result, not a query run now")
        columns, types, rows, pages = self._results(execution_id) if results else ([], [], [], [])
        return QueryRun(text, execution_id, execution, polls, columns, types, rows, pages)

    def _wait(self, execution_id: str) -> tuple[dict[str, Any], int]:
        def status(described: dict[str, Any]) -> dict[str, Any]:
            return (described.get("QueryExecution") or {}).get("Status") or {}

        polling = Polling(
            describe=lambda: self.client.get_query_execution(QueryExecutionId=execution_id),
            state=lambda d: status(d).get("State", ""),
            reason=lambda d: status(d).get("StateChangeReason") or (status(d).get("AthenaError") or {}).get(
                "ErrorMessage"),
            done="SUCCEEDED", failed=("FAILED", "CANCELLED"),
            stop=lambda: self.client.stop_query_execution(QueryExecutionId=execution_id),
            stop_call="StopQueryExecution", stopped="stopped")
        described, polls = wait_for(f"athena:GetQueryExecution {execution_id}", polling,
                                    self.settings.timeout_seconds, self.clock, self.sleep)
        return described.get("QueryExecution") or {}, polls

    def _results(self, execution_id: str) -> tuple[list[str], list[str], list[list[Any]], list[dict[str, Any]]]:
        """Every page; the first row of the first page is the header (Athena's form for a SELECT)."""
        columns: list[str] = []
        types: list[str] = []
        rows: list[list[Any]] = []
        pages: list[dict[str, Any]] = []
        token = None
        while True:
            request = {"QueryExecutionId": execution_id, "MaxResults": PAGE_SIZE, **({"NextToken": token} if token
                                                                                    else {})}
            with aws_errors(f"athena:GetQueryResults {execution_id} (page {len(pages) + 1})"):
                page = clean(self.client.get_query_results(**request)) or {}
            pages.append(page)
            result = page.get("ResultSet") or {}
            data = [[cell.get("VarCharValue") for cell in row.get("Data", [])] for row in result.get("Rows", [])]
            if len(pages) == 1:
                info = (result.get("ResultSetMetadata") or {}).get("ColumnInfo") or []
                columns, types = [c["Name"] for c in info], [str(c.get("Type", "varchar")).lower() for c in info]
                if not data or data[0] != columns:
                    raise CollectionError(f"athena:GetQueryResults {execution_id}: the first row is not the header "
                                          f"({', '.join(columns)}): the result cannot be read completely")
                data = data[1:]
            for number, values in enumerate(data, start=len(rows) + 1):
                if len(values) != len(columns):
                    raise CollectionError(f"athena:GetQueryResults {execution_id}: row {number} has {len(values)} "
                                          f"values for {len(columns)} columns")
                rows.append([_typed(v, t) for v, t in zip(values, types, strict=True)])
            token = page.get("NextToken")
            if not token:
                return columns, types, rows, pages


def _typed(value: str | None, kind: str) -> Any:
    """An Athena result value (always text, absent for NULL) in its column's type."""
    if value is None:
        return None
    base = kind.split("(", 1)[0]
    if base in _INTEGER:
        return int(value)
    if base in _DECIMAL:
        return float(value)
    if base == "boolean":
        return value.lower() == "true"
    return value


def _glue_table(glue: Any, settings: AthenaSettings, name: str) -> dict[str, Any] | None:
    try:
        return clean(glue.get_table(DatabaseName=settings.database, Name=name))["Table"]  # type: ignore[index]
    except botocore.exceptions.ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "EntityNotFoundException":
            return None
        with aws_errors(f"glue:GetTable {settings.database}.{name}"):
            raise


def _check_table(table: dict[str, Any], account_id: str, label: str) -> str:
    """The table is AWS's CloudTrail table for this account: its columns, partitions, and its location."""
    descriptor = table.get("StorageDescriptor") or {}
    columns = {c["Name"].lower() for c in descriptor.get("Columns", [])}
    partitions = {c["Name"].lower() for c in table.get("PartitionKeys", [])}
    missing = [c for c in TABLE_COLUMNS if c not in columns] + [p for p in TABLE_PARTITIONS if p not in partitions]
    if missing:
        raise CollectionError(f"glue:GetTable {label}: not AWS's CloudTrail table (lacks {', '.join(missing)}); "
                              "create it with auditbook.events.sql.ATHENA_TABLE_DDL")
    location = descriptor.get("Location", "")
    if f"/{account_id}/" not in location:
        raise CollectionError(f"glue:GetTable {label}: its location {location} is not account {account_id}'s trail "
                              "(the query reads one account per table: name it with {account_id})")
    return location


def ensure_table(runner: AwsAccount, account: AwsAccount, athena: Athena, prov: Provenance,
                 regions: list[str]) -> tuple[str, str]:
    """(the quoted table name for the query, its location); auditbook's own table is created when absent."""
    from auditbook.sources.aws.cloudtrail import trail_destination

    settings = athena.settings
    glue = runner.client("glue")
    with aws_errors(f"glue:GetDatabase {settings.database}"):
        glue.get_database(Name=settings.database)
    prov.add_operation("glue:GetDatabase", {"Name": settings.database}, records=1)
    name = settings.table or DEFAULT_TABLE.format(account_id=account.account_id)
    label = f"{settings.database}.{name}"
    table = _glue_table(glue, settings, name)
    prov.add_operation("glue:GetTable", {"DatabaseName": settings.database, "Name": name}, records=int(bool(table)))
    if table is None and settings.table:
        raise CollectionError(f"glue:GetTable {label}: EntityNotFoundException: athena.table names a table that "
                              "does not exist (leave table out and auditbook creates its own)")
    if table is None:
        _, bucket, prefix = trail_destination(account)
        ddl = athena_table_ddl(f"`{settings.database}`.`{name}`", bucket, prefix, account.account_id, regions)
        created = athena.run(ddl, results=False)
        prov.add_operation("athena:StartQueryExecution", {"QueryString": ddl, "QueryExecutionId":
                                                          created.execution_id, "purpose": "create the table"})
        prov.notes.append(f"auditbook created the table {label} (AWS's CloudTrail table with partition projection) "
                          f"over s3://{bucket}/{prefix}AWSLogs/{account.account_id}/CloudTrail/.")
        table = _glue_table(glue, settings, name)
        if table is None:
            raise CollectionError(f"glue:GetTable {label}: the table is still absent after CREATE EXTERNAL TABLE")
    location = _check_table(table, account.account_id, label)
    return f'"{settings.database}"."{name}"', location


def collect_trail_logs(account: AwsAccount, raw: RawStore, period: Period, regions: list[str], selection: str,
                       athena: dict[str, Any]) -> tuple[Collected, Collected]:
    """``cloudtrail-log-files`` and ``cloudtrail-events`` by Athena: the same two populations as the local
    engine (:func:`auditbook.sources.aws.cloudtrail.collect_trail_logs`), from two queries on one table."""
    from auditbook.sources.aws.cloudtrail import LOG_FILE_COLUMNS

    settings = AthenaSettings.of(athena, account.account_id)
    runner = query_account(account, settings.query_as, settings.region or account.region)
    before = runner.retries.snapshot()
    prov = provenance(account, "aws:athena+glue")
    engine = Athena(runner, settings)
    workgroup = engine.check_workgroup()
    prov.add_operation("athena:GetWorkGroup", {"WorkGroup": settings.workgroup}, records=1)
    table, location = ensure_table(runner, account, engine, prov, regions)
    events_run = engine.run(events_query(table, account.account_id, period.start, period.end, selection, regions))
    if events_run.columns != list(EVENT_COLUMNS):
        raise CollectionError(f"athena:GetQueryResults {events_run.execution_id}: columns {events_run.columns} are "
                              "not the cloudtrail-events columns")
    files_run = engine.run(log_files_query(table, period.start, period.end, regions))
    events = events_run.frame()
    kept = events.groupby("log_file").size().to_dict() if not events.empty else {}
    rows = []
    for path, region, day, records in files_run.rows:
        bucket, _, key = str(path).removeprefix("s3://").partition("/")
        rows.append({"account_id": account.account_id, "region": region, "day": str(day).replace("/", "-"),
                     "bucket": bucket, "key": key, "size": None, "etag": "", "last_modified": None, "sha256": "",
                     "content_sha256": "", "records": int(records), "kept": int(kept.get(key, 0))})
    files = pd.DataFrame(rows, columns=list(LOG_FILE_COLUMNS))
    for name, run in (("events", events_run), ("log-files", files_run)):
        _record(prov, raw, account.account_id, name, run, settings)
    records = int(files["records"].sum()) if not files.empty else 0
    days = {(r["region"], r["day"]) for r in rows if r["day"] < f"{period.end.date()}"}
    configuration = workgroup.get("Configuration") or {}
    prov.notes += [
        f"Events read by Amazon Athena from {table} (location {location}) in workgroup {settings.workgroup} "
        f"(region {runner.region}, run as {runner.caller_arn}); results written to {engine.output_location}.",
        f"The query text is auditbook.events.sql's, the one the local engine runs on the log files; partition "
        f"projection limits the scan to the period's days: {events_run.scanned + files_run.scanned} bytes scanned "
        f"in all (events {events_run.scanned}, log files {files_run.scanned}).",
        f"{len(files)} log files, {records} events; {len(days)} of {len(regions) * period.days} region-days have "
        "log files.",
        "Log files are evidence by reference from Athena's \"$path\" (bucket and key): Athena reads them, auditbook "
        "does not, so their size, ETag, last-modified time and sha256 are not known under this engine (empty).",
        *([f"The workgroup cancels any query scanning more than {configuration['BytesScannedCutoffPerQuery']} "
           "bytes."] if configuration.get("BytesScannedCutoffPerQuery") else []),
    ]
    if settings.query_as:  # the account's own session is counted by the run (auditbook.evidence)
        note = retry_note(runner.retries.since(before))
        if note:
            prov.notes.append(note)
    event_prov = replace(prov, operations=list(prov.operations), raw_files=list(prov.raw_files),
                         notes=list(prov.notes))
    event_prov.notes.append(f"{len(events)} of {records} events kept: those of the period the controls select "
                            f"({selection}).")
    return Collected(files, prov), Collected(events, event_prov)


def _record(prov: Provenance, raw: RawStore, account_id: str, name: str, run: QueryRun,
            settings: AthenaSettings) -> None:
    """The query as an auditor re-runs it, and Athena's answers as received."""
    status = run.execution.get("Status") or {}
    statistics = run.execution.get("Statistics") or {}
    prov.add_operation("athena:StartQueryExecution", {
        "QueryString": run.text, "QueryExecutionId": run.execution_id, "WorkGroup": settings.workgroup,
        "Database": settings.database, "OutputLocation": run.output_location, "State": status.get("State", ""),
        "DataScannedInBytes": run.scanned,
        "EngineExecutionTimeInMillis": statistics.get("EngineExecutionTimeInMillis")}, records=len(run.rows))
    prov.add_operation("athena:GetQueryExecution", {"QueryExecutionId": run.execution_id}, pages=run.polls)
    prov.add_operation("athena:GetQueryResults", {"QueryExecutionId": run.execution_id, "MaxResults": PAGE_SIZE},
                       pages=len(run.pages), records=len(run.rows))
    base = f"aws/{account_id}/athena/{name}-{run.execution_id}"
    prov.raw_files.append(raw.save(f"{base}.sql", run.text))
    prov.raw_files.append(raw.save(f"{base}.json", {"GetQueryExecution": run.execution,
                                                    "GetQueryResults": run.pages}, compress=True))
