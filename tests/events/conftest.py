"""The events engines against the demo emulator: an Athena workgroup, database and results bucket, and a
CloudTrail Lake event data store filled from the demo trail's log files (as Lake's StartImport would)."""

from __future__ import annotations

import pytest
from auditbook.demo import moto_athena, moto_lake

from .engines import DATABASE, WORKGROUP, set_up


@pytest.fixture(scope="session")
def engines(demo_env):
    """Athena's workgroup, Glue database and results bucket; a Lake event data store with the trail's events."""
    return set_up()


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
    from auditbook.sources.aws import athena  # both engines poll through athena.wait_for

    monkeypatch.setattr(athena, "POLL_FIRST", 0.01)
    monkeypatch.setattr(athena, "POLL_MAX", 0.05)


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
