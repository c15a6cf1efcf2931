"""Choosing the events engine in params: the catalog's cloudtrail-log-files entry dispatches on it, and a wrong or
half-done configuration is refused in one line before the run starts."""

from __future__ import annotations

import copy

import pytest
import yaml
from auditbook import catalog, params
from auditbook.context import Context
from auditbook.demo.environment import DEMO_PARAMS
from auditbook.evidence import Collector, Connections, EvidenceCache
from auditbook.provenance import RawStore

from .engines import DATABASE, PERIOD, WORKGROUP

MINIMAL = {"organization": "X", "scope": {"aws": {"accounts": [{"id": "111111111111"}]}}}


def _with(cloudtrail: dict, accounts: int = 1) -> dict:
    data = copy.deepcopy(MINIMAL)
    data["scope"]["aws"]["accounts"] = [{"id": f"{n:012d}"} for n in range(1, accounts + 1)]
    data["scope"]["aws"]["cloudtrail"] = cloudtrail
    return data


@pytest.mark.parametrize(("cloudtrail", "accounts", "message"), [
    ({"engine": "athena"}, 1, "scope.aws.cloudtrail: 'athena' is a required property"),
    ({"engine": "cloudtrail-lake"}, 1, "scope.aws.cloudtrail: 'cloudtrail_lake' is a required property"),
    ({"engine": "bigquery"}, 1, "scope.aws.cloudtrail.engine: 'bigquery' is not one of"),
    ({"engine": "athena", "athena": {"workgroup": "w"}}, 1, "'database' is a required property"),
    ({"engine": "athena", "athena": {"database": "d", "output_location": "bucket/x"}}, 1,
     "scope.aws.cloudtrail.athena.output_location: 'bucket/x' does not match"),
    ({"athena": {"database": "d"}}, 1, "scope.aws.cloudtrail.athena is set but engine is local: set engine: athena"),
    ({"engine": "athena", "cloudtrail_lake": {"event_data_store": "abc-123"}, "athena": {"database": "d"}}, 1,
     "cloudtrail_lake is set but engine is athena"),
    ({"engine": "athena", "athena": {"database": "d"}, "copy_log_files": "all"}, 1,
     "copy_log_files: all needs engine local"),
    ({"engine": "athena", "athena": {"database": "d", "table": "org_trail"}}, 2,
     "athena.table: with 2 accounts in scope the table must name {account_id}"),
    ({"engine": "cloudtrail-lake", "cloudtrail_lake": {"event_data_store": "arn:aws:cloudtrail:x"}}, 1,
     "scope.aws.cloudtrail.cloudtrail_lake.event_data_store"),
    ({"engine": "athena", "athena": {"database": "d", "query_as": {}}}, 1, "scope.aws.cloudtrail.athena.query_as"),
])
def test_a_wrong_engine_configuration_is_one_line_before_the_run(cloudtrail, accounts, message):
    with pytest.raises(params.ParamsError) as err:
        params.validate(_with(cloudtrail, accounts), "p.yaml")
    assert message in str(err.value) and "\n" not in str(err.value)


def test_a_complete_engine_configuration_is_accepted_with_defaults():
    athena = params.validate(_with({"engine": "athena", "athena": {"database": "d", "table": "t_{account_id}"}}, 2))
    settings = athena["scope"]["aws"]["cloudtrail"]["athena"]
    assert settings["workgroup"] == "primary" and settings["timeout_minutes"] == 30
    lake = params.validate(_with({"engine": "cloudtrail-lake", "cloudtrail_lake": {
        "event_data_store": "arn:aws:cloudtrail:eu-west-1:111111111111:eventdatastore/EXAMPLE-f852-4e8f"}}))
    assert lake["scope"]["aws"]["cloudtrail"]["cloudtrail_lake"]["timeout_minutes"] == 60
    assert params.validate(MINIMAL)["scope"]["aws"]["accounts"][0]["role_session_seconds"] == 3600


def test_the_example_documents_every_engine_key():
    from auditbook.resources import example_params

    text = example_params().read_text()
    schema = params.schema()["properties"]["scope"]["properties"]["aws"]["properties"]["cloudtrail"]
    for block in ("athena", "cloudtrail_lake"):
        assert f"# {block}:" in text
        for key in schema["properties"][block]["properties"]:
            assert f"#   {key}:" in text, (block, key)
    assert "role_session_seconds:" in text


def _context(cloudtrail: dict) -> Context:
    resolved = params.load(DEMO_PARAMS)
    resolved["scope"]["aws"]["cloudtrail"] = cloudtrail
    return Context(params.validate(yaml.safe_load(yaml.safe_dump(resolved))), PERIOD)


@pytest.mark.parametrize("engine", ["local", "athena", "cloudtrail-lake"])
def test_the_catalog_collects_the_log_files_and_events_with_the_engine_params_choose(engine, engines, tmp_path):
    cloudtrail = {"local": {"engine": "local"},
                  "athena": {"engine": "athena", "athena": {"database": DATABASE, "workgroup": WORKGROUP}},
                  "cloudtrail-lake": {"engine": "cloudtrail-lake",
                                      "cloudtrail_lake": {"event_data_store": engines["store"]}}}[engine]
    ctx = _context(cloudtrail)
    entry = catalog.entry("cloudtrail-log-files")
    assert entry.arguments(ctx)["engine"] == engine
    collector = Collector(ctx, Connections(ctx), EvidenceCache(tmp_path), RawStore(tmp_path / "raw"))
    files, events = collector.account_part(entry, ctx.account_ids[0], {})
    assert (files.name, events.name) == ("cloudtrail-log-files", "cloudtrail-events")
    assert len(events.frame) > 100 and files.frame["records"].sum() > len(events.frame)
    system = {"local": "aws:cloudtrail+s3", "athena": "aws:athena+glue", "cloudtrail-lake": "aws:cloudtrail-lake"}
    assert events.provenance.system == system[engine]
    # the log files tested events cite go into raw/: checked against the hash read (local), as they are now
    # (athena: Athena read them, auditbook has no earlier hash), none (Lake keeps no files)
    cited = events.frame.head(5)
    copied = collector.copy_cited_log_files(cited, files.frame)
    assert copied == (0 if engine == "cloudtrail-lake" else cited["log_file"].nunique())


def test_the_engine_is_part_of_the_populations_key(engines):
    local = catalog.key("cloudtrail-events", _context({"engine": "local"}))
    athena = catalog.key("cloudtrail-events", _context({"engine": "athena", "athena": {"database": DATABASE}}))
    assert local != athena and local.startswith("cloudtrail-log-files.")
