"""The index's "Scope of this run": read from the scope tests' tested rows, missing ones first, an ERROR said."""

from __future__ import annotations

from auditbook import layout
from auditbook.report import index


def _results(status: str, cause: str | None = None) -> dict:
    return {"criteria": [{"criterion": "CC8.1", "tests": [{"id": "CC8.1-REPO-SCOPE", "status": status,
                                                           "cause": cause}]}]}


def test_rows_come_from_the_tested_csv_missing_first_with_formula_safe_text_restored(tmp_path):
    path = tmp_path / layout.tested_csv("CC8.1-REPO-SCOPE")
    path.parent.mkdir(parents=True)
    path.write_text("org,repo,scope,why\r\nacme,api,in scope,deployed\r\nacme,vault,missing from scope,"
                    "deployed\r\nacme,'=calc,excluded,'=HYPERLINK(x)\r\n")
    scope = index.scope_rows(tmp_path, _results("FAIL"))
    rows = scope["CC8.1-REPO-SCOPE"]["rows"]
    assert [r["what"] for r in rows] == ["acme vault", "acme api", "acme =calc"]
    assert rows[2]["why"] == "=HYPERLINK(x)"
    html = index.scope_section(scope)
    assert "GitHub repositories (CC8.1-REPO-SCOPE, FAIL): 1 missing from scope, 1 in scope, 1 excluded" in html
    assert "<b>missing from scope</b>" in html and "=HYPERLINK(x)" in html


def test_a_scope_test_in_error_is_named_with_its_cause_instead_of_a_table(tmp_path):
    scope = index.scope_rows(tmp_path, _results("ERROR", "evidence for github-repositories could not be collected"))
    html = index.scope_section(scope)
    assert "GitHub repositories: not shown — CC8.1-REPO-SCOPE is ERROR: evidence for github-repositories" in html
    assert "<table" not in html


def test_a_run_without_the_scope_tests_has_no_section(tmp_path):
    assert index.scope_section(index.scope_rows(tmp_path, {"criteria": []})) == ""
