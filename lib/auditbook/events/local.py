"""The local events engine: DuckDB reads a batch of CloudTrail log files into a table of the Athena shape
(:mod:`auditbook.events.sql`) and runs the shared query on it.

DuckDB parses the JSON in C++ on every core, without holding Python's lock, and keeps nothing between
batches: memory is bounded by one batch whatever the trail's volume. Only the rows the query selects leave
the engine, with each file's record count (every event is counted, for coverage, even when none is kept).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd

from auditbook.events.sql import events_query
from auditbook.provenance import CollectionError

# The fields read from a log file's records, in CloudTrail's own (camel-case) names; nothing else is parsed.
_RECORD_COLUMNS = {
    "eventVersion": "VARCHAR", "eventTime": "VARCHAR", "eventSource": "VARCHAR", "eventName": "VARCHAR",
    "awsRegion": "VARCHAR", "sourceIPAddress": "VARCHAR", "userAgent": "VARCHAR", "errorCode": "VARCHAR",
    "errorMessage": "VARCHAR", "requestParameters": "JSON", "additionalEventData": "JSON", "requestID": "VARCHAR",
    "eventID": "VARCHAR", "readOnly": "JSON", "eventType": "VARCHAR", "recipientAccountId": "VARCHAR",
    "eventCategory": "VARCHAR",
    "userIdentity": "STRUCT(type VARCHAR, principalId VARCHAR, arn VARCHAR, accountId VARCHAR, invokedBy VARCHAR, "
                    "accessKeyId VARCHAR, userName VARCHAR, sessionContext STRUCT(sessionIssuer STRUCT("
                    "type VARCHAR, principalId VARCHAR, arn VARCHAR, accountId VARCHAR, userName VARCHAR)))",
}
_COLUMNS_ARGUMENT = "{" + ", ".join(f"'{name}': '{kind}'" for name, kind in _RECORD_COLUMNS.items()) + "}"

# The record in the Athena table's names and types (readonly as text, JSON members as text).
_ATHENA_SHAPE = """
  r.eventVersion AS eventversion,
  struct_pack(type := r.userIdentity.type, principalid := r.userIdentity.principalId, arn := r.userIdentity.arn,
              accountid := r.userIdentity.accountId, invokedby := r.userIdentity.invokedBy,
              accesskeyid := r.userIdentity.accessKeyId, username := r.userIdentity.userName,
              sessioncontext := struct_pack(sessionissuer := struct_pack(
                  type := r.userIdentity.sessionContext.sessionIssuer.type,
                  principalid := r.userIdentity.sessionContext.sessionIssuer.principalId,
                  arn := r.userIdentity.sessionContext.sessionIssuer.arn,
                  accountid := r.userIdentity.sessionContext.sessionIssuer.accountId,
                  username := r.userIdentity.sessionContext.sessionIssuer.userName))) AS useridentity,
  r.eventTime AS eventtime, r.eventSource AS eventsource, r.eventName AS eventname, r.awsRegion AS awsregion,
  r.sourceIPAddress AS sourceipaddress, r.userAgent AS useragent, r.errorCode AS errorcode,
  r.errorMessage AS errormessage, CAST(r.requestParameters AS VARCHAR) AS requestparameters,
  CAST(r.additionalEventData AS VARCHAR) AS additionaleventdata, r.requestID AS requestid, r.eventID AS eventid,
  lower(trim(both '"' FROM CAST(r.readOnly AS VARCHAR))) AS readonly, r.eventType AS eventtype,
  r.recipientAccountId AS recipientaccountid, r.eventCategory AS eventcategory,
  spool.s3_path AS "$path", spool.region AS region, spool.day AS "timestamp"
"""
# Fields AWS documents as present in every record: a record without one is not evidence we can use.
_REQUIRED = ("eventtime", "eventid", "eventsource", "eventname", "eventtype", "awsregion")


@dataclass(frozen=True)
class SpooledFile:
    """A log file's records on local disk (its ``Records`` array, see :func:`records_array`), and where it came
    from."""

    path: Path
    s3_path: str  # s3://bucket/key, as Athena's "$path"
    region: str
    day: str  # yyyy/MM/dd, the partition


class LocalEngine:
    """One DuckDB connection for one collection (in memory, spilling to ``temp_dir`` when a batch is large)."""

    def __init__(self, temp_dir: Path, memory_limit: str = "1GB", threads: int | None = None) -> None:
        import duckdb

        config: dict[str, Any] = {"memory_limit": memory_limit, "temp_directory": str(temp_dir)}
        if threads:
            config["threads"] = threads
        self.con = duckdb.connect(config=config)

    def select(self, batch: list[SpooledFile], account_id: str, start: datetime, end: datetime, where: str,
               regions: list[str]) -> tuple[pd.DataFrame, dict[str, int]]:
        """The batch's selected events (the shared query's columns) and every file's record count."""
        import duckdb

        if not batch:
            return pd.DataFrame(), {}
        spool = pd.DataFrame({"filename": [str(f.path) for f in batch], "s3_path": [f.s3_path for f in batch],
                              "region": [f.region for f in batch], "day": [f.day for f in batch]})
        largest = max(f.path.stat().st_size for f in batch) + 1024  # no record is larger than its file
        self.con.register("spool", spool)
        try:
            self.con.execute(f"""
                CREATE OR REPLACE TEMP TABLE cloudtrail_logs AS
                SELECT {_ATHENA_SHAPE}
                FROM read_json($files, filename = true, format = 'array', maximum_object_size = {largest},
                               columns = {_COLUMNS_ARGUMENT}) AS r
                JOIN spool USING (filename)""", {"files": spool["filename"].tolist()})
        except duckdb.Error as exc:
            raise CollectionError(_which_file_is_bad(batch, exc)) from None
        finally:
            self.con.unregister("spool")
        missing = self.con.execute(
            'SELECT "$path", ' + ", ".join(f"{c} IS NULL" for c in _REQUIRED) + " FROM cloudtrail_logs WHERE "
            + " OR ".join(f"{c} IS NULL" for c in _REQUIRED) + " LIMIT 1").fetchone()
        if missing:
            absent = [name for name, is_null in zip(_REQUIRED, missing[1:], strict=True) if is_null]
            raise CollectionError(f"s3:GetObject {missing[0]}: a record lacks {', '.join(absent)}, which AWS "
                                  "documents as always present: the population cannot be built completely")
        counts = dict(self.con.execute('SELECT "$path", count(*) FROM cloudtrail_logs GROUP BY 1').fetchall())
        query = events_query("cloudtrail_logs", account_id, start, end, where, regions)
        return self.con.execute(query).df(), {path: int(n) for path, n in counts.items()}

    def close(self) -> None:
        self.con.close()


_WRAPPER_HEAD = re.compile(rb'\s*\{\s*"Records"\s*:\s*\[')
_WRAPPER_TAIL = re.compile(rb'\]\s*\}\s*$')


def records_array(content: bytes) -> bytes:
    """A log file's ``Records`` array as JSON text, for DuckDB to read as rows (one row per record, parsed in
    parallel; a file read as one object is parsed ~20x slower). CloudTrail writes ``{"Records":[...]}`` and
    nothing else: that is cut without parsing; any other layout is parsed and re-serialised.

    Raises ``ValueError`` for content that is not a CloudTrail log file."""
    if _WRAPPER_HEAD.match(content[:64]) and _WRAPPER_TAIL.search(content[-16:]):
        return content[content.index(b"[") : content.rindex(b"]") + 1]
    try:
        records = json.loads(content)["Records"]
    except json.JSONDecodeError:
        raise ValueError("not valid JSON") from None
    except (KeyError, TypeError):
        raise ValueError("no Records") from None
    if not isinstance(records, list):
        raise ValueError("Records is not a list")
    return json.dumps(records).encode()


def _which_file_is_bad(batch: list[SpooledFile], exc: Exception) -> str:
    """DuckDB names the batch's failure, not the file: find the file Python cannot read as records."""
    for spooled in batch:
        try:
            records = json.loads(spooled.path.read_bytes())
            if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
                raise TypeError("a record is not an object")
        except (ValueError, TypeError) as err:
            return f"s3:GetObject {spooled.s3_path}: not a CloudTrail log file ({type(err).__name__})"
    return f"CloudTrail log files: DuckDB could not read them ({' '.join(str(exc).split())[:200]})"
