"""The period's CloudTrail events as one SQL query, the same text on every engine.

CloudTrail's events are read where they are: DuckDB over the trail's log files in the run (the default,
``local``), Amazon Athena over the trail bucket, or a CloudTrail Lake event data store. The query is
written once, against the column names and types of AWS's documented Athena table for CloudTrail logs
(:data:`ATHENA_TABLE_DDL`: lower-case names, ``useridentity`` a struct, ``readonly`` and ``eventtime``
strings, ``requestparameters`` JSON text, the S3 object in ``"$path"``, partitions ``region`` and
``timestamp`` = ``yyyy/MM/dd``). The local engine loads the log files into a table of exactly that shape,
so the text DuckDB runs on the demo is the text Athena runs on a real bucket. CloudTrail Lake names its
columns in camel case and has no files: :data:`LAKE_COLUMNS` maps the same query onto it.

What is selected is declared by the controls that read the events (``CLOUDTRAIL_SELECTION`` in
:mod:`auditbook.controls.cc62` and ``cc81``), in the names of the query's own output columns, so the
selection reads the same on every engine and in the package's CSV: the query keeps those rows of the
period and the columns of the catalog's ``cloudtrail-events`` contract, nothing else.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

# The columns the query returns, in the catalog's order (auditbook.catalog: cloudtrail-events).
EVENT_COLUMNS = ("account_id", "event_time", "event_id", "event_source", "event_name", "read_only", "event_type",
                 "aws_region", "identity_type", "principal_arn", "principal_name", "role_name", "invoked_by",
                 "source_ip", "user_agent", "error_code", "request_parameters", "additional_event_data", "log_file")

# Column expressions in the Athena table's terms (Trino and DuckDB read them alike). NULL and '' are both
# "absent" in CloudTrail; every text column is normalised to ''.
_LAST_PATH_PART = "coalesce(nullif(regexp_extract({arn}, '[^/]+$'), ''), '')"
def _principal_name(identity: str) -> str:
    """Who acted, from the record's userIdentity (the same rule on every engine; only the column's case differs)."""
    return (f"CASE {identity}.type"
            f" WHEN 'IAMUser' THEN coalesce(nullif({identity}.username, ''), "
            + _LAST_PATH_PART.format(arn=f"{identity}.arn") + ")"
            " WHEN 'AssumedRole' THEN " + _LAST_PATH_PART.format(arn=f"{identity}.arn")
            + " WHEN 'Root' THEN 'root'"
            f" ELSE coalesce(nullif({identity}.invokedby, ''), {identity}.arn, '') END")


def _role_name(identity: str, user_name: str) -> str:
    return (f"CASE WHEN {identity}.type = 'AssumedRole'"
            f" THEN coalesce({identity}.sessioncontext.sessionissuer.{user_name}, '') ELSE '' END")


ATHENA_COLUMNS = {
    "event_time": "eventtime",
    "event_id": "eventid",
    "event_source": "eventsource",
    "event_name": "eventname",
    "read_only": "coalesce(readonly, '')",
    "event_type": "eventtype",
    "aws_region": "awsregion",
    "identity_type": "coalesce(useridentity.type, '')",
    "principal_arn": "coalesce(useridentity.arn, '')",
    "principal_name": _principal_name("useridentity"),
    "role_name": _role_name("useridentity", "username"),
    "invoked_by": "coalesce(useridentity.invokedby, '')",
    "source_ip": "coalesce(sourceipaddress, '')",
    "user_agent": "coalesce(useragent, '')",
    "error_code": "coalesce(errorcode, '')",
    "request_parameters": "coalesce(requestparameters, '')",
    "additional_event_data": "coalesce(additionaleventdata, '')",
    "log_file": "regexp_replace(\"$path\", '^s3://[^/]+/', '')",
}

# The same columns in a CloudTrail Lake event data store (camel case, eventTime a timestamp, no files).
LAKE_COLUMNS = {
    "event_time": "eventTime",
    "event_id": "eventID",
    "event_source": "eventSource",
    "event_name": "eventName",
    "read_only": "coalesce(CAST(readOnly AS VARCHAR), '')",
    "event_type": "eventType",
    "aws_region": "awsRegion",
    "identity_type": "coalesce(userIdentity.type, '')",
    "principal_arn": "coalesce(userIdentity.arn, '')",
    "principal_name": _principal_name("userIdentity"),
    "role_name": _role_name("userIdentity", "userName"),
    "invoked_by": "coalesce(userIdentity.invokedby, '')",
    "source_ip": "coalesce(sourceIPAddress, '')",
    "user_agent": "coalesce(userAgent, '')",
    "error_code": "coalesce(errorCode, '')",
    "request_parameters": "coalesce(CAST(requestParameters AS VARCHAR), '')",
    "additional_event_data": "coalesce(CAST(additionalEventData AS VARCHAR), '')",
    "log_file": "''",
}



def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _time_text(when: datetime) -> str:
    """CloudTrail's eventTime form (``2026-07-01T00:00:00Z``): compared as text, it orders as time."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def selection(*predicates: str) -> str:
    """One predicate keeping an event any declared predicate keeps. Predicates name the query's output
    columns (``event_source``, ``event_name``, ``read_only`` as 'true'/'false'/'' ...), as the CSV does."""
    parts = [p.strip() for p in predicates if p and p.strip()]
    if not parts:
        raise ValueError("no event selection declared")
    return " OR ".join(f"({p})" for p in parts)


def partition_days(start: datetime, end: datetime) -> tuple[str, str]:
    """The ``timestamp`` partitions to read: the period's days and the day after (a file delivered after
    midnight holds the last minutes of the day before). ``end`` is exclusive: a period ending at midnight
    has its last day before it, so the day after is ``end``'s own day, the day the local engine lists last."""
    last_day = (end - timedelta(microseconds=1)).date() + timedelta(days=1)
    return f"{start:%Y/%m/%d}", f"{last_day:%Y/%m/%d}"


def events_query(table: str, account_id: str, start: datetime, end: datetime, where: str,
                 regions: list[str] | None = None) -> str:
    """The query on the Athena CloudTrail table shape (Athena, or the local DuckDB table of that shape)."""
    first, last = partition_days(start, end)
    conditions = [f"\"timestamp\" BETWEEN {_quote(first)} AND {_quote(last)}",
                  f"eventtime >= {_quote(_time_text(start))}", f"eventtime < {_quote(_time_text(end))}"]
    if regions:
        conditions.append(f"region IN ({', '.join(_quote(r) for r in regions)})")
    return _select({"account_id": _quote(account_id), **ATHENA_COLUMNS}, table, conditions, where)


def lake_query(event_data_store: str, account_id: str, start: datetime, end: datetime, where: str,
               regions: list[str] | None = None) -> str:
    """The same query on a CloudTrail Lake event data store (its id is the table name)."""
    return _select({"account_id": _quote(account_id), **LAKE_COLUMNS}, event_data_store,
                   _lake_conditions(account_id, start, end, regions), where)


def _lake_conditions(account_id: str, start: datetime, end: datetime, regions: list[str] | None) -> list[str]:
    conditions = [f"eventTime >= {_quote(f'{start.astimezone(UTC):%Y-%m-%d %H:%M:%S}')}",
                  f"eventTime < {_quote(f'{end.astimezone(UTC):%Y-%m-%d %H:%M:%S}')}",
                  f"recipientAccountId = {_quote(account_id)}"]
    if regions:  # the regions in scope, as the log files' region partitions are on the other engines
        conditions.append(f"awsRegion IN ({', '.join(_quote(r) for r in regions)})")
    return conditions


def log_files_query(table: str, start: datetime, end: datetime, regions: list[str] | None = None) -> str:
    """Every log file of the period's partitions with its record count, on the Athena table shape: coverage
    (files and records per region and day) when the files themselves are not read by auditbook."""
    first, last = partition_days(start, end)
    conditions = [f"\"timestamp\" BETWEEN {_quote(first)} AND {_quote(last)}"]
    if regions:
        conditions.append(f"region IN ({', '.join(_quote(r) for r in regions)})")
    return ("SELECT \"$path\" AS path, region, \"timestamp\" AS day, count(*) AS records\n"
            f"FROM {table}\nWHERE " + "\n  AND ".join(conditions)
            + "\nGROUP BY \"$path\", region, \"timestamp\"\nORDER BY path")


def lake_days_query(event_data_store: str, account_id: str, start: datetime, end: datetime,
                    regions: list[str] | None = None) -> str:
    """Events per region and day of the period in a CloudTrail Lake event data store (Lake keeps events, not
    files: this is its coverage)."""
    day = "substr(CAST(eventTime AS VARCHAR), 1, 10)"  # yyyy-MM-dd in Trino and DuckDB alike
    return (f"SELECT awsRegion AS region, {day} AS day, count(*) AS records\nFROM {event_data_store}\nWHERE "
            + "\n  AND ".join(_lake_conditions(account_id, start, end, regions))
            + f"\nGROUP BY awsRegion, {day}\nORDER BY region, day")


def _select(columns: dict[str, str], table: str, conditions: list[str], where: str) -> str:
    """The period's rows in the catalog's columns (inner query), then the selection on those columns."""
    select = ",\n         ".join(f"{columns[name]} AS {name}" for name in EVENT_COLUMNS)
    inner = f"SELECT {select}\n  FROM {table}\n  WHERE " + "\n    AND ".join(conditions)
    # the local engine's order too (auditbook.events.local): the same event in two log files sorts the same everywhere
    return f"SELECT *\nFROM (\n  {inner}\n) AS events\nWHERE {where}\nORDER BY event_time, event_id, log_file"


# AWS's documented table for CloudTrail logs with partition projection (region and day), as Athena DDL.
# ``auditbook`` creates it when params name a database but no table; the local engine builds the same shape.
ATHENA_TABLE_DDL = """CREATE EXTERNAL TABLE IF NOT EXISTS {table} (
  eventversion STRING,
  useridentity STRUCT<type:STRING, principalid:STRING, arn:STRING, accountid:STRING, invokedby:STRING,
    accesskeyid:STRING, username:STRING,
    sessioncontext:STRUCT<attributes:STRUCT<mfaauthenticated:STRING, creationdate:STRING>,
      sessionissuer:STRUCT<type:STRING, principalid:STRING, arn:STRING, accountid:STRING, username:STRING>>>,
  eventtime STRING,
  eventsource STRING,
  eventname STRING,
  awsregion STRING,
  sourceipaddress STRING,
  useragent STRING,
  errorcode STRING,
  errormessage STRING,
  requestparameters STRING,
  responseelements STRING,
  additionaleventdata STRING,
  requestid STRING,
  eventid STRING,
  readonly STRING,
  resources ARRAY<STRUCT<arn:STRING, accountid:STRING, type:STRING>>,
  eventtype STRING,
  apiversion STRING,
  recipientaccountid STRING,
  sharedeventid STRING,
  eventcategory STRING
)
PARTITIONED BY (region STRING, `timestamp` STRING)
ROW FORMAT SERDE 'org.apache.hive.hcatalog.data.JsonSerDe'
STORED AS INPUTFORMAT 'com.amazon.emr.cloudtrail.CloudTrailInputFormat'
OUTPUTFORMAT 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat'
LOCATION '{location}'
TBLPROPERTIES (
  'projection.enabled'='true',
  'projection.region.type'='enum',
  'projection.region.values'='{regions}',
  'projection.timestamp.type'='date',
  'projection.timestamp.format'='yyyy/MM/dd',
  'projection.timestamp.range'='2013/01/01,NOW',
  'projection.timestamp.interval'='1',
  'projection.timestamp.interval.unit'='DAYS',
  'storage.location.template'='{location}${{region}}/${{timestamp}}'
)"""


def athena_table_ddl(table: str, bucket: str, prefix: str, account_id: str, regions: list[str]) -> str:
    """The DDL for one account's trail: ``s3://<bucket>/<prefix>AWSLogs/<account>/CloudTrail/``."""
    location = f"s3://{bucket}/{prefix}AWSLogs/{account_id}/CloudTrail/"
    return ATHENA_TABLE_DDL.format(table=table, location=location, regions=",".join(regions))
