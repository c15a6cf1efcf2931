"""The notebook-side run object fails closed: a collection or evaluation failure is ERROR."""

from __future__ import annotations

import json

import pandas as pd
import pytest
import yaml
from auditbook.notebook import start
from auditbook.provenance import CollectionError, Population, Provenance
from auditbook.results import ControlTest, Status, evaluate

PARAMS = {"organization": "X", "scope": {"aws": {"accounts": [{"id": "111111111111"}]}}}
T = ControlTest("CC6.1-T", "CC6.1", "t", "d", "continuous", "pop")


@pytest.fixture
def run_dir(tmp_path):
    (tmp_path / "run.json").write_text(json.dumps({"run_id": "20261003T061500Z", "generated_at": "x",
                                                   "params_digest": "0" * 64, "git_commit": "c",
                                                   "versions": {"auditbook": "0"}}))
    return tmp_path


def params_file(tmp_path, **criteria):
    path = tmp_path / "p.yaml"
    path.write_text(yaml.safe_dump(dict(PARAMS, criteria=criteria)))
    return str(path)


def population(rows: int) -> Population:
    frame = pd.DataFrame({"id": [f"r{i}" for i in range(rows)]})
    return Population("pop", frame, Provenance("s", "e", "scope", "me", "now"))


def test_a_failed_collection_makes_dependent_tests_error(run_dir, tmp_path):
    run = start("CC6.1", "2026-Q3", params_file(tmp_path), str(run_dir))

    def broken() -> Population:
        raise CollectionError("iam:GetCredentialReport: AccessDenied: not authorized")

    pop = run.collect("pop", broken)
    assert pop is None
    result = run.test(T, lambda frame: evaluate(T, frame, []), pop)
    assert result.status is Status.ERROR and "AccessDenied" in result.cause
    record = run.finish()
    assert record["status"] == "ERROR"
    assert record["collection_errors"] == {"pop": "iam:GetCredentialReport: AccessDenied: not authorized"}
    assert json.loads((run_dir / "results" / "CC6.1.json").read_text())["status"] == "ERROR"


def test_an_unexpected_exception_while_collecting_is_error_too(run_dir, tmp_path):
    run = start("CC6.1", "2026-Q3", params_file(tmp_path), str(run_dir))
    pop = run.collect("pop", lambda: 1 / 0)
    assert run.test(T, lambda f: evaluate(T, f, []), pop).status is Status.ERROR


def test_a_test_that_raises_is_error_not_pass(run_dir, tmp_path):
    run = start("CC6.1", "2026-Q3", params_file(tmp_path), str(run_dir))
    pop = run.collect("pop", population, 3)

    def crashes(frame):
        raise KeyError("mfa_active")

    result = run.test(T, crashes, pop)
    assert result.status is Status.ERROR and "KeyError" in result.cause


def test_pass_writes_population_sample_and_record(run_dir, tmp_path):
    run = start("CC6.1", "2026-Q3", params_file(tmp_path), str(run_dir))
    pop = run.collect("pop", population, 40)
    result = run.test(T, lambda f: evaluate(T, f, []), pop, sample_keys=["id"])
    assert result.status is Status.PASS and result.population_size == 40
    assert (run_dir / "populations" / "pop.csv").exists()
    assert len(pd.read_csv(run_dir / "samples" / "CC6.1-T.csv")) == 25
    assert run.finish()["tests"][0]["sample"]["size"] == 25


def test_declared_out_of_scope_is_not_applicable_with_the_reason(run_dir, tmp_path):
    run = start("CC6.1", "2026-Q3", params_file(tmp_path, **{"CC6.1": {"not_applicable": "no AWS console"}}),
                str(run_dir))
    assert run.collect("pop", population, 3) is None
    result = run.test(T, lambda f: evaluate(T, f, []), None)
    assert result.status is Status.NOT_APPLICABLE and result.cause == "no AWS console"
    assert run.finish()["status"] == "NOT_APPLICABLE"


def test_a_population_is_collected_once_per_run(run_dir, tmp_path):
    calls = []

    def counted(rows: int) -> Population:
        calls.append(rows)
        return population(rows)

    first = start("CC6.1", "2026-Q3", params_file(tmp_path), str(run_dir))
    second = start("CC6.1", "2026-Q3", params_file(tmp_path), str(run_dir))
    a = first.collect("pop", counted, 3)
    b = second.collect("pop", counted, 5)
    assert calls == [3] and len(a.frame) == len(b.frame) == 3
    assert a.provenance.collected_at == b.provenance.collected_at


def test_a_failed_collection_is_shared_too(run_dir, tmp_path):
    def broken() -> Population:
        raise CollectionError("s3:GetObject: AccessDenied")

    first = start("CC6.1", "2026-Q3", params_file(tmp_path), str(run_dir))
    second = start("CC6.1", "2026-Q3", params_file(tmp_path), str(run_dir))
    assert first.collect("pop", broken) is None
    assert second.collect("pop", population, 3) is None
    assert second.collection_errors["pop"] == "s3:GetObject: AccessDenied"


TWO_ORGS = {"orgs": [{"name": "acme", "production_repos": ["api", "web"]}, {"name": "acme-labs"}]}


def org_population(name: str, org: str, repos: list[str]) -> Population:
    frame = pd.DataFrame({"org": [org] * len(repos), "repo": repos})
    return Population(name, frame, Provenance("github", "e", f"org {org}", "me", "now"))


@pytest.fixture
def two_orgs_run(run_dir, tmp_path, monkeypatch):
    import auditbook.sources.github as github

    monkeypatch.setattr(github, "production_branches", lambda gh, org, repos, branch: {r: "main" for r in repos})
    path = tmp_path / "p.yaml"
    path.write_text(yaml.safe_dump(dict(PARAMS, scope=dict(PARAMS["scope"], github=TWO_ORGS))))
    run = start("CC8.1", "2026-Q3", str(path), str(run_dir))
    run.github = object()  # never called: the collectors below are local
    return run


def test_org_evidence_is_collected_from_every_org_into_one_population(two_orgs_run):
    pop = two_orgs_run.collect_github_orgs("members", lambda org, raw: org_population("members", org, ["-"]))
    assert list(pop.frame["org"]) == ["acme", "acme-labs"]
    assert pop.provenance.scope == "org acme; org acme-labs"


def test_repo_evidence_skips_orgs_without_production_repos(two_orgs_run):
    calls = []

    def collector(org, branches, raw):
        calls.append((org, branches))
        return org_population("pulls", org, list(branches)), org_population("reviews", org, list(branches)[:1])

    pulls, reviews = two_orgs_run.collect_github_repos(["pulls", "reviews"], collector)
    assert calls == [("acme", {"api": "main", "web": "main"})]
    assert list(pulls.frame["repo"]) == ["api", "web"] and list(reviews.frame["repo"]) == ["api"]


def test_no_production_repo_in_any_org_is_error(run_dir, tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text(yaml.safe_dump(dict(PARAMS, scope=dict(PARAMS["scope"], github={"orgs": [{"name": "acme"}]}))))
    run = start("CC8.1", "2026-Q3", str(path), str(run_dir))
    assert run.collect_github_repos("pulls", lambda org, branches, raw: org_population("pulls", org, [])) is None
    assert "no production repository in scope" in run.collection_errors["pulls"]
