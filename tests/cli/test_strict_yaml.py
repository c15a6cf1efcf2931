"""A key written twice in a YAML file the user supplies is refused with both line numbers (PyYAML would keep
the last one silently: the first would look configured and be ignored)."""

from __future__ import annotations

import shutil

import pytest
import yaml
from auditbook import params, register
from auditbook.cli import main
from auditbook.demo.environment import DEMO_PARAMS
from auditbook.provenance import CollectionError, RawStore
from auditbook.sources.files import collect_dr_tests

TOP = """organization: Acme
scope:
  aws:
    accounts: [{id: '111111111111'}]
criteria:
  CC6.1:
    dormant_days: 90
environment: prod
organization: Acme Ltd
"""

NESTED = """organization: Acme
scope:
  aws:
    regions: [eu-west-1]
    accounts:
      - id: '111111111111'
        role_arn: arn:aws:iam::111111111111:role/a
        id: '222222222222'
    regions: [us-east-1]
"""


def test_a_top_level_key_twice_is_refused_with_both_lines(tmp_path):
    path = tmp_path / "params.yaml"
    path.write_text(TOP)
    with pytest.raises(params.ParamsError) as err:
        params.load(path)
    assert str(err.value) == f"{path}: key 'organization' appears twice (lines 1 and 9)"


def test_the_same_file_loads_with_the_key_once(tmp_path):
    path = tmp_path / "params.yaml"
    path.write_text(TOP.replace("organization: Acme Ltd\n", ""))
    assert params.load(path)["organization"] == "Acme"


def test_nested_mappings_are_checked_and_named_by_their_path(tmp_path):
    path = tmp_path / "params.yaml"
    path.write_text(NESTED)
    with pytest.raises(params.ParamsError, match=r"key 'scope\.aws\.regions' appears twice \(lines 4 and 9\)"):
        params.load(path)
    path.write_text(NESTED.replace("    regions: [us-east-1]\n", ""))
    with pytest.raises(params.ParamsError, match=r"key 'scope\.aws\.accounts\[0\]\.id' appears twice "
                                                 r"\(lines 6 and 8\)$"):
        params.load(path)


def test_three_times_and_flow_mappings(tmp_path):
    path = tmp_path / "params.yaml"
    path.write_text("organization: A\norganization: B\nscope: {aws: {}, aws: {}}\norganization: C\n")
    with pytest.raises(params.ParamsError, match=r"key 'organization' appears 3 times \(lines 1, 2 and 4\)"):
        params.load(path)


def test_anchors_merges_and_equal_values_under_different_keys_are_not_duplicates():
    text = "base: &b {a: 1, b: 2}\nother:\n  <<: *b\n  a: 3\nthird: *b\n"
    assert yaml.load(text, Loader=params.StrictLoader) == {"base": {"a": 1, "b": 2}, "other": {"a": 3, "b": 2},
                                                           "third": {"a": 1, "b": 2}}


def test_the_cli_refuses_in_one_line_exit_2_and_writes_no_package(tmp_path, capsys):
    path = tmp_path / "params.yaml"
    path.write_text(TOP)
    out = tmp_path / "outputs"
    assert main(["run", "--params", str(path), "--period", "2026-Q3", "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"auditbook: {path}: key 'organization' appears twice (lines 1 and 9)"
    assert not out.exists()


def test_the_exception_register_refuses_a_key_twice(tmp_path):
    path = tmp_path / "exceptions.yaml"
    path.write_text("exceptions:\n  - id: EXC-1\n    test: CC6.2-KEY-AGE\n    owner: a@example.com\n"
                    "    test: CC6.1-MFA\n")
    with pytest.raises(register.RegisterError) as err:
        register.load(path)
    assert str(err.value) == f"{path}: key 'exceptions[0].test' appears twice (lines 3 and 5)"


def test_the_demo_register_and_params_still_load(tmp_path):
    folder = tmp_path / "demo"
    shutil.copytree(DEMO_PARAMS.parent, folder)
    assert params.load(folder / DEMO_PARAMS.name)["organization"]
    assert register.load(folder / "exceptions.yaml").entries


def test_dr_test_records_with_a_key_twice_are_an_error_naming_the_lines(tmp_path):
    path = tmp_path / "dr.yaml"
    path.write_text("- data_store: 1:rds:db\n  outcome: success\n  outcome: failed\n")
    with pytest.raises(CollectionError, match=r"key '\[0\]\.outcome' appears twice \(lines 2 and 3\)"):
        collect_dr_tests(path, RawStore(tmp_path / "raw"))


def test_dr_test_records_with_a_key_twice_refuse_the_run_before_it_starts(tmp_path, capsys):
    folder = tmp_path / "demo"
    shutil.copytree(DEMO_PARAMS.parent, folder)
    text = (folder / DEMO_PARAMS.name).read_text().replace("dr_test_records: ../data/dr-tests.yaml",
                                                          "dr_test_records: dr.yaml")
    (folder / DEMO_PARAMS.name).write_text(text)
    (folder / "dr.yaml").write_text("- data_store: 1:rds:db\n  outcome: success\n  outcome: failed\n")
    out = tmp_path / "outputs"
    assert main(["run", "--params", str(folder / DEMO_PARAMS.name), "--period", "2026-Q3", "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err == (f"auditbook: {folder / DEMO_PARAMS.name}: criteria.A1.2.dr_test_records {folder / 'dr.yaml'}: "
                   "key '[0].outcome' appears twice (lines 2 and 3)")
    assert not out.exists()
