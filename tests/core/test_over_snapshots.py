"""A test on configuration, evaluated again on each snapshot of the period: deviations seen on days, and
the days a snapshot covers."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
from auditbook import catalog, over_snapshots
from auditbook.basis import Leaf, basis_of
from auditbook.context import Context
from auditbook.controls import cc61
from auditbook.over_snapshots import InMemorySnapshot as Snap
from auditbook.period import parse_period
from auditbook.results import Status, with_basis

CTX = Context({"criteria": {}}, parse_period("2026-Q3"))


def report(mfa: bool) -> pd.DataFrame:
    return catalog.from_rows("iam-credential-report", [
        {"account_id": "1", "user": "trent", "arn": "arn:trent", "password_enabled": True, "mfa_active": mfa},
        {"account_id": "1", "user": "alice", "arn": "arn:alice", "password_enabled": True, "mfa_active": True}])


def snap(day: int, month: int = 8, mfa: bool = True) -> Snap:
    return Snap(datetime(2026, month, day, 6, tzinfo=UTC), {"iam-credential-report": report(mfa)})


def test_a_user_without_mfa_for_three_days_fixed_before_collection_is_a_deviation_with_those_days():
    snaps = [snap(d, mfa=d not in (12, 13, 14)) for d in range(10, 17)]
    now = cc61.MFA.evaluate(report(True), catalog.empty("iam-mfa-timeline"))
    assert now.status is Status.PASS
    over = over_snapshots.evaluate(cc61.MFA, CTX, snaps, {}, catalog.empty)
    merged = over_snapshots.merge(now, over)
    assert merged.status is Status.FAIL and merged.deviation_count == 1
    row = merged.deviations.iloc[0]
    assert row["resource_id"].endswith("trent") and row["seen"] == "snapshots 2026-08-12 to 2026-08-14"
    assert over.part.how == "7 of 92 days of the period covered by a snapshot"
    assert over.gaps == ["no snapshot of iam-credential-report from 2026-07-01 to 2026-08-09",
                         "no snapshot of iam-credential-report from 2026-08-17 to 2026-09-30"]


def test_daily_snapshots_over_the_whole_period_let_a_configuration_test_pass():
    days = pd.date_range("2026-07-01", "2026-09-30", freq="D", tz="UTC")
    snaps = [Snap(d.to_pydatetime().replace(hour=6), {"iam-credential-report": report(True)}) for d in days]
    over = over_snapshots.evaluate(cc61.MFA, CTX, snaps, {}, catalog.empty)
    assert over.gaps == [] and over.part.how.startswith("92 of 92 days")
    basis = basis_of([Leaf("iam-credential-report", "state", datetime(2026, 12, 2, tzinfo=UTC))],
                     CTX.period.start, CTX.period.end)
    basis.with_snapshots(over.part, over.gaps)
    now = cc61.MFA.evaluate(report(True), catalog.empty("iam-mfa-timeline"))
    result = with_basis(over_snapshots.merge(now, over), basis)
    assert result.status is Status.PASS and basis.kind == "snapshots" and basis.covers_period


def test_a_snapshot_without_the_population_covers_nothing_and_no_snapshot_leaves_the_test_as_it_was():
    broken = Snap(datetime(2026, 8, 1, 6, tzinfo=UTC), {})
    over = over_snapshots.evaluate(cc61.MFA, CTX, [broken], {}, catalog.empty)
    assert over.part.how.startswith("0 of 92")
    assert over_snapshots.evaluate(cc61.MFA, CTX, [], {}, lambda name: None) is None


def test_the_demo_snapshot_truth_file_is_up_to_date_and_each_change_falls_on_snapshot_days():
    from auditbook.demo import snapshots as demo_snapshots

    assert demo_snapshots.TRUTH_PATH.read_text() == demo_snapshots.render_truth(), \
        "run: python -m auditbook.demo.snapshots --write-truth"
    for change in demo_snapshots.CHANGES:
        assert change.days_seen(), change  # a change no snapshot saw would be seeded but unfindable
        assert not set(change.days_seen()) & demo_snapshots.MISSED


def test_a_state_a_timeline_follows_completely_stands_on_the_timeline_not_on_snapshots():
    """CC6.2-KMS-ROTATION reads the keys and their rotation timeline (which replays the snapshots' readings): the
    keys at collection are not its basis, and the snapshots are not evaluated again on their own."""
    from auditbook.controls import cc62

    leaves = catalog.evidence_leaves(list(cc62.KMS_ROTATION.reads), CTX)
    assert leaves == ["kms-keys", "kms-rotation-timeline"] and catalog.followed(leaves) == {"kms-keys"}
    assert over_snapshots.state_leaves(cc62.KMS_ROTATION, CTX) == []
    assert catalog.followed(["kms-keys"]) == set()  # without its timeline the reading stands for itself
