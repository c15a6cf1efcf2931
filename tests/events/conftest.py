"""The events engines against the demo emulator: an Athena workgroup, database and results bucket, and a
CloudTrail Lake event data store filled from the demo trail's log files (as Lake's StartImport would)."""

from __future__ import annotations

import pytest
from auditbook.demo import moto_athena, moto_lake
from auditbook.demo.aws import DEMO_ACCOUNT_ID, DEMO_REGION
from auditbook.demo.trail import TRAIL_BUCKET, TRAIL_PREFIX

from .engines import DATABASE, RESULTS, WORKGROUP


@pytest.fixture(scope="session")
def engines(demo_env):
    """Athena's workgroup, Glue database and results bucket; a Lake event data store with the trail's events."""
    import boto3

    moto_athena.install()
    moto_lake.install()
    session = boto3.Session(region_name=DEMO_REGION)
    session.client("s3").create_bucket(Bucket="demo-athena-results")
    session.client("glue").create_database(DatabaseInput={"Name": DATABASE})
    session.client("athena").create_work_group(
        Name=WORKGROUP, Configuration={"ResultConfiguration": {"OutputLocation": RESULTS},
                                       "EnforceWorkGroupConfiguration": True})
    store = session.client("cloudtrail").create_event_data_store(Name="demo-org-events", RetentionPeriod=2557)
    events = moto_lake.import_trail(store["EventDataStoreArn"], DEMO_ACCOUNT_ID, TRAIL_BUCKET, f"{TRAIL_PREFIX}/")
    assert events > 1000
    return {"store": store["EventDataStoreArn"]}


@pytest.fixture
def athena_params(engines):
    return {"database": DATABASE, "workgroup": WORKGROUP, "timeout_minutes": 5}


@pytest.fixture
def lake_params(engines):
    return {"event_data_store": engines["store"], "timeout_minutes": 5}


@pytest.fixture
def scripted():
    """Each test's scripted outcomes start and end empty."""
    moto_athena.SCRIPTED.clear()
    moto_lake.SCRIPTED.clear()
    yield
    moto_athena.SCRIPTED.clear()
    moto_lake.SCRIPTED.clear()


@pytest.fixture
def quick(monkeypatch):
    """Polls milliseconds apart (the bound on their number and the timeout stay the real logic)."""
    from auditbook.sources.aws import athena, cloudtrail_lake

    monkeypatch.setattr(athena, "POLL_FIRST", 0.01)
    monkeypatch.setattr(athena, "POLL_MAX", 0.05)
    monkeypatch.setattr(cloudtrail_lake, "POLL_FIRST", 0.01)
    monkeypatch.setattr(cloudtrail_lake, "POLL_MAX", 0.05)


@pytest.fixture
def faults(demo_env):
    demo_env.faults.clear()
    yield demo_env.faults
    demo_env.faults.clear()


@pytest.fixture
def fast_backoff(monkeypatch):
    """botocore's standard-mode backoff shortened; the number of attempts stays the real one."""
    from botocore.retries import standard

    monkeypatch.setattr(standard.ExponentialBackoff, "delay_amount", lambda self, context: 0.01)
