"""The auditor's tie-out over the whole demo package: every figure a report gives ties to a file.

For every test: N is the row count of its tested population; the first step of the tested population is the
whole catalog population it names (its CSV's rows); its deviations are its rows in exceptions.csv; every
sampled row is the tested population's row at ``population_row``.
"""

from __future__ import annotations

import json
from collections import Counter

import pandas as pd
from auditbook import layout
from auditbook.controls import all_tests


def read(path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def test_every_figure_ties_to_a_file(demo_run):
    root = demo_run.run_dir
    results = json.loads((root / layout.RESULTS_JSON).read_text())
    exceptions = Counter(read(root / layout.EXCEPTIONS_CSV)["test_id"])
    tied = []
    for criterion in results["criteria"]:
        for test in criterion["tests"]:
            tested_file = test["tested_population"]
            assert tested_file["csv"] == layout.tested_csv(test["id"])
            tested = read(root / tested_file["csv"])
            assert len(tested) == tested_file["rows"] == test["population_size"] == test["steps"][-1]["rows"]
            first = test["steps"][0]
            assert first["step"] == f"all rows of {test['population']}"
            assert first["rows"] == len(read(root / layout.population_csv(test["population"]))), test["id"]
            assert set(test["reads"]) <= set(criterion["populations"]), test["id"]
            assert test["deviation_count"] == exceptions.get(test["id"], 0), test["id"]
            if test["sample"]:
                sample = read(root / test["sample"]["file"])
                assert len(sample) == test["sample"]["size"]
                for row in sample.to_dict("records"):
                    number = int(row.pop("population_row"))
                    assert tested.iloc[number - 1].to_dict() == row, (test["id"], number)
            tied.append(test["id"])
    assert len(tied) == len(all_tests()) == 65


def test_oscal_findings_rest_on_the_observations_of_the_populations_each_test_read(demo_run):
    root = demo_run.run_dir
    results = json.loads((root / layout.RESULTS_JSON).read_text())
    document = json.loads((root / layout.OSCAL).read_text())["assessment-results"]["results"][0]
    observation = {next(p["value"] for p in o["props"] if p["name"] == "population"): o["uuid"]
                   for o in document["observations"]}
    reads = {t["id"]: t["reads"] for c in results["criteria"] for t in c["tests"]}
    for finding in document["findings"]:
        test_id = next(p["value"] for p in finding["props"] if p["name"] == "test-id") \
            if any(p["name"] == "test-id" for p in finding.get("props", [])) else finding["title"].split(" ")[0]
        related = {r["observation-uuid"] for r in finding.get("related-observations", [])}
        assert related == {observation[name] for name in reads[test_id]}, test_id
