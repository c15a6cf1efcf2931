"""The evidence catalog is complete and consistent: every population a test reads is declared once, every
declaration is collectable or derivable, and the column contract holds on the way in and out of a package."""

from __future__ import annotations

import copy
import inspect

import pandas as pd
import pytest
from auditbook import catalog
from auditbook.context import Context
from auditbook.controls import all_tests
from auditbook.demo.environment import DEMO_PARAMS
from auditbook.params import load
from auditbook.period import parse_period
from auditbook.provenance import CollectionError
from auditbook.results import _RULES
from auditbook.sources.aws import trail_engines

CTX = Context(load(DEMO_PARAMS), parse_period("2026-Q3"))


def test_every_test_reads_populations_the_catalog_declares():
    tests = all_tests()
    assert len(tests) == len({t.test_id for t in tests}) == 65
    for test in tests:
        assert test.reads, test.test_id
        for name in test.reads:
            assert name in catalog.ENTRIES, f"{test.test_id} reads {name!r}, which the catalog does not declare"
        assert test.test_id in _RULES, f"{test.test_id} has no rule registered (@{test.test_id}.rule)"


def test_every_entry_is_collectable_or_derivable_from_declared_inputs():
    for entry in catalog.ENTRIES.values():
        assert entry.fanout in catalog.FANOUTS, entry.name
        if entry.part_of:
            assert catalog.ENTRIES[entry.part_of].collector is not None, entry.name
        elif entry.fanout == "derived":
            assert entry.derive is not None and entry.derive.__module__.startswith(
                ("auditbook.controls.", "auditbook.timeline")), entry.name  # pure: controls, or a state timeline
        else:
            assert entry.collector is not None and entry.collector.__module__.startswith("auditbook.sources."), \
                entry.name
        for source in entry.input_names(CTX).values():
            assert source in catalog.ENTRIES, f"{entry.name} reads undeclared {source}"


def _accepts(entry: catalog.Entry, ctx: Context) -> None:
    arguments = entry.arguments(ctx)
    function = entry.derive or entry.collector
    if function is None:
        return
    if function is trail_engines.collect_trail_logs:  # the engine's collector gets the rest
        function = trail_engines.COLLECTORS[arguments.pop("engine")]
    accepted = inspect.signature(function).parameters
    for name in [*arguments, *entry.input_names(ctx)]:
        assert name in accepted, f"{entry.name}: {function.__name__} takes no argument {name!r}"


def test_every_entry_resolves_its_arguments_and_key_from_the_demo_params():
    keys = {name: catalog.key(name, CTX) for name in catalog.ENTRIES}
    assert len(set(keys.values())) == len([e for e in catalog.ENTRIES.values() if not e.part_of])
    for entry in catalog.ENTRIES.values():
        _accepts(entry, CTX)


@pytest.mark.parametrize("cloudtrail", [{"engine": "athena", "athena": {"database": "d"}},
                                        {"engine": "cloudtrail-lake", "cloudtrail_lake": {"event_data_store": "abc"}}])
def test_each_events_engine_gets_the_arguments_its_collector_takes(cloudtrail):
    data = copy.deepcopy(CTX.params)
    data["scope"]["aws"]["cloudtrail"] = cloudtrail
    ctx = Context(data, CTX.period)
    for name in ("cloudtrail-log-files", "cloudtrail-log-integrity"):
        _accepts(catalog.entry(name), ctx)


def test_every_test_options_resolve_from_the_demo_params():
    for test in all_tests():
        options = test.options(CTX.settings(test.criterion), CTX)
        accepted = inspect.signature(_RULES[test.test_id]).parameters
        assert set(options) <= set(accepted), test.test_id


def test_the_cache_key_changes_with_the_arguments():
    other = Context(CTX.params, parse_period("2026-Q2"))
    assert catalog.key("cloudtrail-events", CTX) != catalog.key("cloudtrail-events", other)
    assert catalog.key("iam-credential-report", CTX) == catalog.key("iam-credential-report", other)
    # a derived population's key follows its inputs'
    assert catalog.key("leaver-accounts", CTX) != catalog.key("leaver-accounts", other)


def test_conform_orders_columns_and_refuses_missing_or_undeclared_ones():
    frame = catalog.from_rows("kms-keys", [{"key_id": "k", "rotation_enabled": True, "created": "2026-01-01T00:00Z"}])
    assert list(frame.columns) == list(catalog.entry("kms-keys").columns)
    assert str(frame["created"].dt.tz) == "UTC" and frame.loc[0, "rotation_enabled"] is True
    with pytest.raises(CollectionError, match="missing key_usage"):
        catalog.conform("kms-keys", frame.drop(columns=["key_usage"]))
    with pytest.raises(CollectionError, match="undeclared surprise"):
        catalog.conform("kms-keys", frame.assign(surprise=1))
    checks = catalog.from_rows("route53-health-checks", [{}])
    with pytest.raises(CollectionError, match=r"column port is not int\?"):
        catalog.conform("route53-health-checks", checks.astype({"port": object}).assign(port=["eighty"]))
    with pytest.raises(CollectionError, match="column disabled is not bool: a value is missing"):
        catalog.conform("route53-health-checks", checks.astype({"disabled": object}).assign(disabled=[None]))


def test_an_empty_population_has_the_contract_columns_and_kinds():
    for name, entry in catalog.ENTRIES.items():
        frame = catalog.empty(name)
        assert list(frame.columns) == list(entry.columns) and frame.empty, name
        for column, kind in entry.columns.items():
            if kind == "time":
                assert isinstance(frame[column].dtype, pd.DatetimeTZDtype), (name, column)


def test_a_package_csv_reads_back_with_its_kinds(tmp_path):
    frame = catalog.from_rows("cloudwatch-log-groups", [{"log_group": "/a", "retention_days": 30,
                                                          "created": "2026-07-01T00:00Z"},
                                                         {"log_group": "/b", "retention_days": None}])
    path = tmp_path / "groups.csv"
    frame.to_csv(path, index=False, date_format="%Y-%m-%dT%H:%M:%SZ")
    back = catalog.read_csv("cloudwatch-log-groups", path)
    pd.testing.assert_frame_equal(back, frame, check_dtype=False)
    assert str(back["retention_days"].dtype) == "Int64" and pd.isna(back.loc[1, "retention_days"])


def test_every_test_on_the_trail_s_events_stands_on_log_file_integrity():
    """A test reading anything built from the trail's log files is vouched for by CC7.1-LOG-INTEGRITY's worksheet;
    the integrity test itself, and tests on other sources, are not."""
    from auditbook.controls import cc61, cc71, cc81

    on_trail = {t.test_id for t in all_tests() if catalog.vouchers(list(t.reads), CTX)}
    assert {cc81.MANUAL_CHANGE.test_id, cc71.CHANGES.test_id, "CC7.1-TRAIL-COVERAGE"} <= on_trail
    # timelines replay the trail's change events: what stands on them stands on the log files too
    assert {cc61.MFA.test_id, "CC6.2-KMS-ROTATION", "A1.2-S3-VERSIONING", "CC7.1-THREAT-DETECTION"} <= on_trail
    assert cc71.LOG_INTEGRITY.test_id not in on_trail and cc61.ROOT.test_id not in on_trail
    assert all(v == [("cloudtrail-log-integrity", cc71.trail_doubt)]
               for t in all_tests() if (v := catalog.vouchers(list(t.reads), CTX)))


@pytest.mark.parametrize(("engine", "vouched"), [("local", True), ("athena", True), ("cloudtrail-lake", False)])
def test_events_stand_on_the_trail_s_integrity_unless_read_from_cloudtrail_lake(engine, vouched):
    """Under CloudTrail Lake the events come from the event data store, not from the files the digests vouch for."""
    from auditbook.controls import cc71

    data = copy.deepcopy(CTX.params)
    data["scope"]["aws"]["cloudtrail"] = {"engine": engine}
    ctx = Context(data, CTX.period)
    assert bool(catalog.vouchers(list(cc71.CHANGES.reads), ctx)) is vouched
    assert catalog.entry("cloudtrail-log-integrity").arguments(ctx)["engine"] == engine


def test_every_test_states_its_threshold_as_a_sentence():
    """The report's "Threshold:" line is a sentence an auditor can quote (results.json keeps the settings too);
    that the demo's settings fill every one is asserted on the demo package (test_tests_of_controls)."""
    import string

    for test in all_tests():
        assert test.deviates_when.endswith(".") and "deviate" in test.deviates_when, test.test_id
        names = {field.split("[")[0] for _, field, _, _ in string.Formatter().parse(test.deviates_when) if field}
        assert "" not in names, test.test_id
