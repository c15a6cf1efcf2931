"""What the events tests share (and the least-privilege test): the demo period, and the demo account's Athena
workgroup, Glue database, results bucket and CloudTrail table, and a CloudTrail Lake event data store filled from
the demo trail's log files (as Lake's StartImport would), set up once per session."""

from __future__ import annotations

from typing import Any

from auditbook.period import parse_period

PERIOD = parse_period("2026-Q3")
DATABASE = "cloudtrail_audit"
WORKGROUP = "auditbook"
RESULTS_BUCKET = "demo-athena-results"
RESULTS = f"s3://{RESULTS_BUCKET}/auditbook/"
ORG_TABLE = "cloudtrail_{account_id}"  # a table the organization created (auditbook's own is created when absent)
STORE_NAME = "demo-org-events"
_SET_UP: dict[str, Any] = {}


def set_up() -> dict[str, Any]:
    """Once per session, in the running demo emulator (AWS_ENDPOINT_URL): returns the event data store's ARN."""
    import time

    import boto3
    from auditbook.demo import moto_athena, moto_lake
    from auditbook.demo.aws import DEMO_ACCOUNT_ID, DEMO_REGION
    from auditbook.demo.trail import TRAIL_BUCKET, TRAIL_PREFIX
    from auditbook.events.sql import athena_table_ddl

    if _SET_UP:
        return _SET_UP
    moto_athena.install()
    moto_lake.install()
    session = boto3.Session(region_name=DEMO_REGION)
    session.client("s3").create_bucket(Bucket=RESULTS_BUCKET)
    session.client("glue").create_database(DatabaseInput={"Name": DATABASE})
    athena = session.client("athena")
    athena.create_work_group(Name=WORKGROUP, Configuration={"ResultConfiguration": {"OutputLocation": RESULTS},
                                                            "EnforceWorkGroupConfiguration": True})
    table = ORG_TABLE.format(account_id=DEMO_ACCOUNT_ID)
    ddl = athena_table_ddl(f"`{DATABASE}`.`{table}`", TRAIL_BUCKET, f"{TRAIL_PREFIX}/", DEMO_ACCOUNT_ID, [DEMO_REGION])
    created = athena.start_query_execution(QueryString=ddl, WorkGroup=WORKGROUP)["QueryExecutionId"]
    while athena.get_query_execution(QueryExecutionId=created)["QueryExecution"]["Status"]["State"] != "SUCCEEDED":
        time.sleep(0.01)
    store = session.client("cloudtrail").create_event_data_store(Name=STORE_NAME, RetentionPeriod=2557)
    events = moto_lake.import_trail(store["EventDataStoreArn"], DEMO_ACCOUNT_ID, TRAIL_BUCKET, f"{TRAIL_PREFIX}/")
    assert events > 1000
    _SET_UP["store"] = store["EventDataStoreArn"]
    return _SET_UP
