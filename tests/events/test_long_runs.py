"""Long runs: an assumed role's credentials are assumed again when they expire, throttling is retried within a
bound and the retries are in the record, and beyond the bound it is a collection error."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from auditbook import catalog
from auditbook.context import Context
from auditbook.demo import faults as f
from auditbook.demo.aws import DEMO_ACCOUNT_ID, DEMO_REGION
from auditbook.demo.environment import DEMO_PARAMS
from auditbook.evidence import Collector, Connections, EvidenceCache
from auditbook.params import load
from auditbook.provenance import CollectionError, RawStore
from auditbook.sources.aws import session

from .engines import PERIOD

SANDBOX = "210987654321"  # moto gives an assumed role's credentials the role's account
ROLE = f"arn:aws:iam::{SANDBOX}:role/auditbook-readonly"


def _assume_role_calls(faults) -> list:
    return [c for c in faults.aws.calls if c.action == "sts:AssumeRole"]


def test_an_assumed_role_is_assumed_again_when_its_session_expires(demo_env, faults):
    from freezegun import freeze_time

    account = session.open_account({"id": SANDBOX, "role_arn": ROLE, "role_session_seconds": 900}, DEMO_REGION)
    assert len(_assume_role_calls(faults)) == 1, "assumed once, on first use"
    first = account.session.get_credentials().get_frozen_credentials().access_key
    sts = account.client("sts")
    assert sts.get_caller_identity()["Account"] == SANDBOX
    with freeze_time(datetime.now(UTC) + timedelta(hours=2)):  # long past the 15-minute session
        assert sts.get_caller_identity()["Account"] == SANDBOX, "the same client keeps working"
        renewed = account.session.get_credentials().get_frozen_credentials().access_key
    assumed = [c for c in _assume_role_calls(faults) if not c.fault]
    assert len(assumed) >= 2 and renewed != first


def test_assume_role_asks_for_the_session_name_and_duration(demo_env, monkeypatch):
    sent = []
    from botocore.credentials import AssumeRoleCredentialFetcher

    original = AssumeRoleCredentialFetcher._assume_role_kwargs
    monkeypatch.setattr(AssumeRoleCredentialFetcher, "_assume_role_kwargs",
                        lambda self: sent.append(original(self)) or sent[-1])
    session.open_account({"id": SANDBOX, "role_arn": ROLE, "role_session_seconds": 7200}, DEMO_REGION)
    assert sent[0]["RoleSessionName"] == "auditbook" and sent[0]["DurationSeconds"] == 7200
    assert sent[0]["RoleArn"] == ROLE


def test_a_role_that_cannot_be_assumed_is_one_line(demo_env, faults):
    faults.aws.inject(f.operation("sts", "AssumeRole"), f.access_denied(), times=None)
    with pytest.raises(CollectionError, match=f"AWS account {SANDBOX}: .*AccessDenied") as err:
        session.open_account({"id": SANDBOX, "role_arn": ROLE}, DEMO_REGION)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("code", ["Throttling", "ThrottlingException", "TooManyRequestsException", "SlowDown"])
def test_standard_mode_retries_the_throttling_codes_aws_sends(code):
    """S3's SlowDown, Athena's TooManyRequestsException and ThrottlingException, the query protocol's Throttling:
    botocore's standard mode (RETRY_CONFIG) counts each as throttling, retried with backoff within the bound."""
    from botocore.retries.standard import RetryContext, ThrottledRetryableChecker

    context = RetryContext(attempt_number=1, parsed_response={"Error": {"Code": code}},
                           http_response=None, caught_exception=None)
    assert ThrottledRetryableChecker().is_retryable(context)
    retries = session.RETRY_CONFIG.retries  # botocore rewrites max_attempts as total_max_attempts once used
    assert retries["mode"] == "standard"
    assert retries.get("total_max_attempts", retries.get("max_attempts", 0) + 1) == session.MAX_RETRIES + 1 == 5


def test_s3_slowdown_is_retried_and_recorded_in_the_populations_provenance(demo_env, faults, fast_backoff, tmp_path):
    """Through the run's own collector: a throttled GetObject, then the complete population, with the retry noted."""
    ctx = Context(load(DEMO_PARAMS), PERIOD)
    collector = Collector(ctx, Connections(ctx), EvidenceCache(tmp_path), RawStore(tmp_path / "raw"))
    faults.aws.inject(f.operation("s3", "GetObject"), f.throttle(), times=2)
    files, events = collector.account_part(catalog.entry("cloudtrail-log-files"), DEMO_ACCOUNT_ID, {})
    slowed = [c for c in faults.aws.calls if c.fault]
    assert len(slowed) == 2 and all(c.operation == "GetObject" for c in slowed)
    assert len(files.frame) > 700 and len(events.frame) > 100
    for population in (files, events):
        assert "AWS asked for 2 retries" in population.provenance.notes[-1]
        assert "s3:GetObject 2" in population.provenance.notes[-1]


def test_s3_slowdown_beyond_the_bound_is_a_collection_error(demo_env, faults, fast_backoff, tmp_path):
    ctx = Context(load(DEMO_PARAMS), PERIOD)
    collector = Collector(ctx, Connections(ctx), EvidenceCache(tmp_path), RawStore(tmp_path / "raw"))
    faults.aws.inject(f.operation("s3", "GetObject"), f.throttle(), times=None)
    # at most 4 retries a request (fewer once botocore's retry quota for the client is spent)
    with pytest.raises(CollectionError, match=r"s3:GetObject .*SlowDown.*\(after [1-4] retries\)"):
        collector.account_part(catalog.entry("cloudtrail-log-files"), DEMO_ACCOUNT_ID, {})


def test_a_clean_collection_notes_no_retry(demo_env, faults, tmp_path):
    ctx = Context(load(DEMO_PARAMS), PERIOD)
    collector = Collector(ctx, Connections(ctx), EvidenceCache(tmp_path), RawStore(tmp_path / "raw"))
    (trails,) = collector.account_part(catalog.entry("cloudtrail-trails"), DEMO_ACCOUNT_ID, {})
    assert not any("retries" in note for note in trails.provenance.notes)
