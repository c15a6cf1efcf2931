"""The notebook-side run objects fail closed: a collection or evaluation failure is ERROR; each mode does only
what it is for; evidence is collected once per run, by name and resolved arguments."""

from __future__ import annotations

import json

import pandas as pd
import pytest
import yaml
from auditbook import catalog
from auditbook.evidence import Connections
from auditbook.notebook import CollectOnlyRun, OutOfScopeRun, TestingRun, start
from auditbook.provenance import Collected, CollectionError, Provenance
from auditbook.results import ControlTest, Status, evaluate

PARAMS = {"organization": "X", "scope": {"aws": {"accounts": [{"id": "111111111111"}], "regions": ["us-east-1"]}}}
FAKE = "test-population"
T = ControlTest("CC6.1-T", "CC6.1", "t", "d", "continuous", (FAKE,), sample_keys=("id",))
CRASHES = ControlTest("CC6.1-T-CRASH", "CC6.1", "t", "d", "continuous", (FAKE,))


@T.rule
def nothing_deviates(frame: pd.DataFrame) -> object:
    return evaluate(T, frame, [])


@CRASHES.rule
def crashes(frame: pd.DataFrame) -> object:
    raise KeyError("mfa_active")


def rows(n: int) -> Collected:
    return Collected(pd.DataFrame({"id": [f"r{i}" for i in range(n)]}), Provenance("s", "e", "scope", "me", "now"))


@pytest.fixture
def source(monkeypatch):
    """A catalog entry the tests control: ``source["answer"]`` is what its collector does, ``calls`` counts. It is
    a file of records over the period, so coverage is not what these tests are about."""
    state = {"answer": lambda: rows(3), "calls": 0}

    def collector(raw, **arguments):
        state["calls"] += 1
        return state["answer"]()
    monkeypatch.setitem(catalog.ENTRIES, FAKE, catalog.Entry(FAKE, "for the tests", catalog.columns("id"), "file",
                                                             collector=collector, basis="records"))
    return state


@pytest.fixture
def run_dir(tmp_path):
    (tmp_path / "run.json").write_text(json.dumps({
        "run_id": "20261003T061500Z", "generated_at": "x", "period": {"label": "2026-Q3"}, "params_file": "p.yaml",
        "params_digest": "0" * 64, "git_commit": "c", "versions": {"auditbook": "0"}}))
    return tmp_path


def params_file(tmp_path, scope=None, **criteria):
    path = tmp_path / "p.yaml"
    path.write_text(yaml.safe_dump(dict(PARAMS, scope=scope or PARAMS["scope"], criteria=criteria)))
    return str(path)


def test_start_picks_the_run_object_for_the_mode(run_dir, tmp_path):
    assert isinstance(start("CC6.1", "2026-Q3", params_file(tmp_path), str(run_dir)), TestingRun)
    out_of_scope = params_file(tmp_path, **{"CC6.1": {"not_applicable": "no AWS console"}})
    assert isinstance(start("CC6.1", "2026-Q3", out_of_scope, str(run_dir)), OutOfScopeRun)
    assert isinstance(start("CC6.1", "2026-Q3", params_file(tmp_path), str(run_dir), collect_account="111111111111"),
                      CollectOnlyRun)


def test_a_failed_collection_makes_dependent_tests_error(run_dir, tmp_path, source):
    def broken():
        raise CollectionError("iam:GetCredentialReport: AccessDenied: not authorized")
    source["answer"] = broken
    run = start("CC6.1", "2026-Q3", params_file(tmp_path), str(run_dir))
    assert run.evidence(FAKE) is None
    result = run.test(T)
    assert result.status is Status.ERROR and "AccessDenied" in result.cause
    record = run.finish()
    assert record["status"] == "ERROR"
    assert record["collection_errors"] == {FAKE: "iam:GetCredentialReport: AccessDenied: not authorized"}
    assert json.loads((run_dir / "results" / "CC6.1.json").read_text())["status"] == "ERROR"


def test_an_unexpected_exception_while_collecting_is_error_too(run_dir, tmp_path, source):
    source["answer"] = lambda: 1 / 0
    run = start("CC6.1", "2026-Q3", params_file(tmp_path), str(run_dir))
    assert run.test(T).status is Status.ERROR and "ZeroDivisionError" in run.collection_errors[FAKE]


def test_a_column_outside_the_contract_is_a_collection_error(run_dir, tmp_path, source):
    source["answer"] = lambda: Collected(pd.DataFrame({"id": ["a"], "extra": [1]}), Provenance("s", "e", "", "", ""))
    run = start("CC6.1", "2026-Q3", params_file(tmp_path), str(run_dir))
    assert run.evidence(FAKE) is None and "undeclared extra" in run.collection_errors[FAKE]


def test_a_test_that_raises_is_error_not_pass(run_dir, tmp_path, source):
    run = start("CC6.1", "2026-Q3", params_file(tmp_path), str(run_dir))
    result = run.test(CRASHES)
    assert result.status is Status.ERROR and "KeyError" in result.cause


def test_pass_writes_population_tested_population_sample_and_record(run_dir, tmp_path, source):
    source["answer"] = lambda: rows(40)
    run = start("CC6.1", "2026-Q3", params_file(tmp_path), str(run_dir))
    result = run.test(T)
    assert result.status is Status.PASS and result.population_size == 40
    assert len(pd.read_csv(run_dir / "populations" / f"{FAKE}.csv")) == 40
    tested = pd.read_csv(run_dir / "populations" / "tested" / "CC6.1-T.csv")
    sample = pd.read_csv(run_dir / "samples" / "CC6.1-T.csv")
    assert len(tested) == 40 and len(sample) == 25
    for row in sample.itertuples():  # population_row is the row's number in the tested population's file
        assert tested.iloc[row.population_row - 1]["id"] == row.id
    test = run.finish()["tests"][0]
    assert test["sample"]["size"] == 25 and test["tested_population"]["rows"] == 40
    assert test["steps"] == [{"step": f"all rows of {FAKE}", "rows": 40}]


def test_an_empty_population_passes_with_a_note_saying_so(run_dir, tmp_path, source):
    source["answer"] = lambda: rows(0)
    run = start("CC6.1", "2026-Q3", params_file(tmp_path), str(run_dir))
    result = run.test(T)
    assert result.status is Status.PASS and result.population_size == 0
    assert result.notes[0] == f"No resources in scope: {FAKE} has no rows; nothing to test."


def test_declared_out_of_scope_is_not_applicable_with_the_reason(run_dir, tmp_path, source):
    run = start("CC6.1", "2026-Q3", params_file(tmp_path, **{"CC6.1": {"not_applicable": "no AWS console"}}),
                str(run_dir))
    assert run.evidence(FAKE) is None and source["calls"] == 0
    result = run.test(T)
    assert result.status is Status.NOT_APPLICABLE and result.cause == "no AWS console"
    assert run.finish()["status"] == "NOT_APPLICABLE"


def test_a_population_is_collected_once_per_run(run_dir, tmp_path, source):
    first = start("CC6.1", "2026-Q3", params_file(tmp_path), str(run_dir))
    second = start("CC6.1", "2026-Q3", params_file(tmp_path), str(run_dir))
    a, b = first.evidence(FAKE), second.evidence(FAKE)
    assert source["calls"] == 1 and len(a.frame) == len(b.frame) == 3
    assert a.provenance.collected_at == b.provenance.collected_at


def test_the_same_population_with_other_arguments_in_one_run_is_refused(run_dir, tmp_path, source, monkeypatch):
    first = start("CC6.1", "2026-Q3", params_file(tmp_path), str(run_dir))
    assert first.evidence(FAKE) is not None
    entry = catalog.ENTRIES[FAKE]
    monkeypatch.setitem(catalog.ENTRIES, FAKE, catalog.Entry(FAKE, entry.description, entry.columns, "file",
                                                             collector=entry.collector,
                                                             arguments=lambda ctx: {"path": "another.csv"}))
    second = start("CC6.1", "2026-Q3", params_file(tmp_path), str(run_dir))
    assert second.evidence(FAKE) is None
    assert "already collected in this run with other arguments" in second.collection_errors[FAKE]


def test_a_failed_collection_is_shared_too(run_dir, tmp_path, source):
    def broken():
        raise CollectionError("s3:GetObject: AccessDenied")
    source["answer"] = broken
    first = start("CC6.1", "2026-Q3", params_file(tmp_path), str(run_dir))
    assert first.evidence(FAKE) is None
    source["answer"] = lambda: rows(3)
    second = start("CC6.1", "2026-Q3", params_file(tmp_path), str(run_dir))
    assert second.evidence(FAKE) is None
    assert second.collection_errors[FAKE] == "s3:GetObject: AccessDenied"


TWO_ORGS = {"orgs": [{"name": "acme", "production_repos": ["api", "web"], "production_branch": "default"},
                     {"name": "acme-labs", "production_repos": [], "production_branch": "default"}]}


def org_rows(org: str, repos: list[str]) -> Collected:
    return Collected(pd.DataFrame({"org": [org] * len(repos), "repo": repos}),
                     Provenance("github", "e", f"org {org}", "me", "now"))


@pytest.fixture
def github(monkeypatch):
    """Two orgs, the GitHub client never called: the collectors below are local."""
    monkeypatch.setattr(Connections, "github", property(lambda self: object()))
    monkeypatch.setattr(Connections, "production_branches",
                        lambda self, org: {r: "main" for r in org["production_repos"]})


def entry(monkeypatch, name: str, fanout: str, collector, part_of: str = "") -> None:
    monkeypatch.setitem(catalog.ENTRIES, name, catalog.Entry(name, "for the tests", catalog.columns("org repo"), fanout,
                                                             collector=collector, part_of=part_of))


def test_org_evidence_is_collected_from_every_org_into_one_population(github, run_dir, tmp_path, monkeypatch):
    entry(monkeypatch, "test-members", "org", lambda gh, org, raw: org_rows(org, ["-"]))
    run = start("CC8.1", "2026-Q3", params_file(tmp_path, dict(PARAMS["scope"], github=TWO_ORGS)), str(run_dir))
    pop = run.evidence("test-members")
    assert list(pop.frame["org"]) == ["acme", "acme-labs"]
    assert pop.provenance.scope == "org acme; org acme-labs"


def test_repo_evidence_skips_orgs_without_production_repos(github, run_dir, tmp_path, monkeypatch):
    calls = []

    def collector(gh, org, branches, raw):
        calls.append((org, branches))
        return org_rows(org, list(branches)), org_rows(org, list(branches)[:1])
    entry(monkeypatch, "test-pulls", "repos", collector)
    entry(monkeypatch, "test-reviews", "repos", None, part_of="test-pulls")
    run = start("CC8.1", "2026-Q3", params_file(tmp_path, dict(PARAMS["scope"], github=TWO_ORGS)), str(run_dir))
    reviews, pulls = run.evidence("test-reviews"), run.evidence("test-pulls")
    assert calls == [("acme", {"api": "main", "web": "main"})]
    assert list(pulls.frame["repo"]) == ["api", "web"] and list(reviews.frame["repo"]) == ["api"]


def test_no_production_repo_in_any_org_is_error(github, run_dir, tmp_path, monkeypatch):
    entry(monkeypatch, "test-pulls", "repos", lambda gh, org, branches, raw: org_rows(org, []))
    no_repos = {"orgs": [{"name": "acme", "production_repos": [], "production_branch": "default"}]}
    run = start("CC8.1", "2026-Q3", params_file(tmp_path, dict(PARAMS["scope"], github=no_repos)), str(run_dir))
    assert run.evidence("test-pulls") is None
    assert "no production repository in scope" in run.collection_errors["test-pulls"]


def test_a_large_population_is_parquet_its_tested_rows_stay_csv(tmp_path, monkeypatch):
    """Tens of millions of events are neither readable nor small as CSV: above layout.PARQUET_ROWS rows a
    population is Parquet (typed, compressed); results.json names the file; explore reads either."""
    import duckdb
    import pandas as pd
    from auditbook import explore, layout
    from auditbook.notebook import _population_record, _write_parquet
    from auditbook.provenance import Population, Provenance

    monkeypatch.setattr(layout, "PARQUET_ROWS", 2)
    frame = pd.DataFrame({"event_id": ["a", "b", "=c"], "read_only": [True, None, False],
                          "event_time": pd.to_datetime(["2026-07-01T00:00:00Z"] * 3, utc=True)})
    rel = layout.population_file("cloudtrail-events", len(frame))
    assert rel == "populations/cloudtrail-events.parquet"
    _write_parquet(frame, tmp_path / rel)
    back = duckdb.read_parquet(str(tmp_path / rel)).df()
    assert back["event_id"].tolist() == ["a", "b", "=c"] and back["read_only"].tolist()[::2] == [True, False]
    assert str(back["event_time"].dt.tz) in ("UTC", "Etc/UTC")
    pop = Population("cloudtrail-events", frame, Provenance("aws", "e", "s", "c", "t"))
    assert {k: _population_record("cloudtrail-events", pop)[k] for k in ("file", "format")} == {
        "file": rel, "format": "parquet"}
    assert "csv" not in _population_record("cloudtrail-events", pop)
    assert explore.Package(tmp_path).population("cloudtrail-events")["event_id"].tolist() == ["a", "b", "=c"]
    assert layout.population_file("small", 2) == "populations/small.csv"


def test_account_evidence_collected_with_another_is_one_call_per_account(run_dir, tmp_path, monkeypatch):
    """A collector fanned out per account may return two populations (digests and the log files they list)."""
    calls = []

    def collector(account, raw):
        calls.append(account.account_id)
        return (Collected(pd.DataFrame({"org": [account.account_id], "repo": ["digest"]}),
                          Provenance("aws", "e", account.account_id, "me", "now")),
                Collected(pd.DataFrame({"org": [account.account_id] * 2, "repo": ["a", "b"]}),
                          Provenance("aws", "e", account.account_id, "me", "now")))
    monkeypatch.setattr(Connections, "aws_account", lambda self, account_id: type("A", (), {"account_id": account_id}))
    entry(monkeypatch, "test-digests", "account", collector)
    entry(monkeypatch, "test-listed", "account", None, part_of="test-digests")
    two = {"aws": {"accounts": [{"id": "111111111111"}, {"id": "222222222222"}], "regions": ["us-east-1"]}}
    run = start("CC7.1", "2026-Q3", params_file(tmp_path, two), str(run_dir))
    listed, digests = run.evidence("test-listed"), run.evidence("test-digests")
    assert calls == ["111111111111", "222222222222"]
    assert list(digests.frame["org"]) == ["111111111111", "222222222222"] and len(listed.frame) == 4
    collect_only = start("CC7.1", "2026-Q3", params_file(tmp_path, two), str(run_dir), collect_account="111111111111")
    assert len(collect_only.evidence("test-listed").frame) == 2 and calls == ["111111111111", "222222222222"]


@pytest.mark.parametrize("voucher_says, expected", [("", Status.PASS), ("2 log files modified", Status.ERROR),
                                                    (None, Status.ERROR)])
def test_a_test_whose_evidence_a_finding_puts_in_doubt_is_error(run_dir, tmp_path, source, monkeypatch,
                                                                  voucher_says, expected):
    """catalog.VOUCHED_BY: a test reading a vouched population (here FAKE) is ERROR when the voucher's rule doubts
    it, or when the voucher itself could not be had; not when the voucher finds nothing."""
    def voucher(raw, **arguments):
        if voucher_says is None:
            raise CollectionError("cloudtrail:ListPublicKeys: AccessDenied")
        return rows(1)
    monkeypatch.setitem(catalog.ENTRIES, "test-voucher", catalog.Entry(
        "test-voucher", "for the tests", catalog.columns("id"), "file", collector=voucher))
    monkeypatch.setattr(catalog, "VOUCHED_BY",
                        {FAKE: catalog.Voucher("test-voucher", lambda frame: voucher_says or "")})
    run = start("CC6.1", "2026-Q3", params_file(tmp_path), str(run_dir))
    result = run.test(T)
    assert result.status is expected
    if voucher_says:
        assert result.cause == voucher_says
    elif voucher_says is None:
        assert result.cause.startswith("evidence for test-voucher could not be collected") and \
            "AccessDenied" in result.cause


@pytest.fixture
def state_source(monkeypatch):
    """The same entry, read at collection (configuration): a point in time."""
    def collector(raw, **arguments):
        return rows(3)
    monkeypatch.setitem(catalog.ENTRIES, FAKE, catalog.Entry(FAKE, "configuration", catalog.columns("id"), "file",
                                                             collector=collector))


def test_a_point_in_time_pass_is_error_naming_the_gap_and_the_remedy(run_dir, tmp_path, state_source):
    run = start("CC6.1", "2026-Q3", params_file(tmp_path), str(run_dir))
    result = run.test(T)
    assert result.status is Status.ERROR
    assert "configuration read once, at" in result.cause and "auditbook snapshot" in result.cause
    assert "coverage.accept" in result.cause
    assert result.to_dict()["basis"]["kind"] == "point in time"


def test_params_can_accept_a_point_in_time_reading_and_the_result_says_so(run_dir, tmp_path, state_source):
    run = start("CC6.1", "2026-Q3", params_file(tmp_path), str(run_dir))
    run.params["coverage"]["accept"] = {"CC6.1-T": "managed as code"}  # params refuse a test id that is not real
    result = run.test(T)
    assert result.status is Status.PASS
    basis = result.to_dict()["basis"]
    assert basis["accepted"] == "managed as code" and basis["covers_period"] is False and basis["as_of"]
    assert any("params accept that for this test: managed as code" in n for n in result.notes)


def test_deviations_found_at_a_point_in_time_stand(run_dir, tmp_path, state_source):
    failing = ControlTest("CC6.1-T-FAILS", "CC6.1", "t", "d", "continuous", (FAKE,))
    failing.rule(lambda frame: evaluate(failing, frame, [{"resource_type": "r", "resource_id": "r0", "detail": "x"}]))
    result = start("CC6.1", "2026-Q3", params_file(tmp_path), str(run_dir)).test(failing)
    assert result.status is Status.FAIL and result.deviation_count == 1
    assert any("other deviations may not have been seen" in n for n in result.notes)
