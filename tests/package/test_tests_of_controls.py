""""Tests of controls" (section IV of a SOC 2 report): every test of the run, its result tied to results.json and
to the exceptions.csv rows it names, in the index and as Markdown."""

from __future__ import annotations

import csv
import json
import re

from auditbook.report import tests_of_controls as toc
from auditbook.report import wording


def _rows(text: str) -> list[int]:
    numbers = []
    for part in text.split(", "):
        a, _, b = part.partition("–")
        numbers += list(range(int(a), int(b or a) + 1))
    return numbers


def test_every_result_ties_to_results_json_and_to_its_exceptions_rows(demo_run):
    run_dir = demo_run.run_dir
    results = json.loads((run_dir / "results.json").read_text())
    markdown = (run_dir / "reports" / "tests-of-controls.md").read_text()
    with open(run_dir / "exceptions.csv", newline="") as fh:
        exceptions = list(csv.DictReader(fh))
    tests = [t for c in results["criteria"] for t in c["tests"]]
    lines = {line.split(":", 1)[0].removeprefix("| "): line for line in markdown.splitlines()
             if re.match(r"^\| (CC|A)\d", line)}
    assert set(lines) == {t["id"] for t in tests}
    for t in tests:
        result = lines[t["id"]].rstrip(" |").rsplit(" | ", 1)[1]
        if t["status"] == "PASS":
            assert result == "No exceptions noted.", t["id"]
        elif t["status"] == "FAIL":
            found = re.match(r"Exceptions noted: (\d+) of (\d+) — see exceptions\.csv rows? ([\d–, ]+)\.", result)
            assert found, (t["id"], result)
            assert (int(found[1]), int(found[2])) == (t["deviation_count"], t["population_size"]), t["id"]
            rows = _rows(found[3])
            assert len(rows) == t["deviation_count"]
            assert {exceptions[n - 1]["test_id"] for n in rows} == {t["id"]}
        if t["status"] in ("PASS", "FAIL"):  # the threshold as the test's own sentence, never the fallback
            assert t["deviates_when"] and t["deviates_when"] != wording.text(t["threshold"]), t["id"]
            assert t["deviates_when"] in lines[t["id"]], t["id"]
    index = (run_dir / "reports" / "index.html").read_text()
    assert "Tests of controls" in index and "No exceptions noted." in index
    assert "1 July 2026 to 30 September 2026" in markdown


def test_row_ranges_and_clauses():
    assert toc._ranges([9, 3, 4, 5]) == "3–5, 9"
    assert toc._ranges([7]) == "7"
    assert toc._clause("Every console user has MFA.") == "every console user has MFA"
    assert toc._clause("IAM users hold no policy.") == "IAM users hold no policy"


def test_a_test_in_error_says_it_was_not_tested(tmp_path):
    test = {"id": "X-1", "description": "Something holds.", "status": "ERROR", "population": "p",
            "population_size": 0, "deviation_count": 0, "cause": "evidence for p could not be collected"}
    e = toc.entry("X", test, {}, "1 July 2026 to 30 September 2026")
    assert e.result == "Not tested: the evidence could not be collected completely."
    assert e.performed == "Could not be performed: evidence for p could not be collected."


def test_the_criterion_control_comes_from_its_notebook():
    assert toc.criterion_control("CC8.1").startswith("Every change that reaches production goes through a pull")
