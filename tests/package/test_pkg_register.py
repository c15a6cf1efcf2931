"""The exception register: validation (one-line refusals), matching, expiry, reconciliation."""

from __future__ import annotations

import datetime as dt
import textwrap

import pytest
from auditbook import register
from auditbook.cli import main
from auditbook.demo.environment import DEMO_PARAMS
from auditbook.period import parse_period

Q3 = parse_period("2026-Q3")
ENTRY = """\
  - id: EXC-1
    test: CC6.1-MFA
    resource: "111111111111:dan.dev"
    owner: it-ops
    management_response: Hardware tokens arrive in October.
    remediation_date: 2026-10-31
    expires: {expires}
"""


def write(tmp_path, body: str):
    path = tmp_path / "exceptions.yaml"
    path.write_text(body)
    return path


def reg(tmp_path, expires="2026-12-31"):
    return register.load(write(tmp_path, "exceptions:\n" + ENTRY.format(expires=expires)))


def deviation(test="CC6.1-MFA", resource="111111111111:dan.dev"):
    return {"criterion": "CC6.1", "test_id": test, "resource_type": "iam_user", "resource_id": resource,
            "detail": "no MFA"}


def test_demo_register_loads():
    demo = register.load(register.register_path({"exceptions_file": "exceptions.yaml"}, DEMO_PARAMS))
    assert [e.id for e in demo.entries] == ["EXC-2026-007", "EXC-2026-003", "EXC-2026-001"]


@pytest.mark.parametrize(("body", "expected"), [
    ("exceptions:\n" + ENTRY.format(expires="soon"), "entry 1 (EXC-1): expires"),
    ("exceptions:\n" + ENTRY.format(expires="2026-02-30"), "entry 1 (EXC-1): day is out of range"),
    ("exceptions:\n" + ENTRY.format(expires="2026-12-31").replace("    owner: it-ops\n", ""),
     "entry 1 (EXC-1): 'owner' is a required property"),
    ("exceptions:\n" + ENTRY.format(expires="2026-12-31") + "    colour: red\n", "entry 1 (EXC-1): unknown key colour"),
    ("exceptions:\n" + ENTRY.format(expires="2026-12-31") + ENTRY.format(expires="2027-01-31"),
     "entry 2 (EXC-1): id EXC-1 is used twice"),
    ("exceptions:\n" + ENTRY.format(expires="2026-12-31").replace("CC6.1-MFA", "CC4.4-MFA"),
     "belongs to no known criterion"),
    ("exceptions: [\n", "invalid YAML"),
    ("- just a list\n", "expected a mapping"),
])
def test_bad_register_is_refused_in_one_line(tmp_path, body, expected):
    with pytest.raises(register.RegisterError) as info:
        register.load(write(tmp_path, body))
    message = str(info.value)
    assert expected in message and "\n" not in message and str(tmp_path / "exceptions.yaml") in message


def test_same_deviation_twice_is_refused(tmp_path):
    body = "exceptions:\n" + ENTRY.format(expires="2026-12-31") + ENTRY.format(expires="2026-12-31").replace(
        "EXC-1", "EXC-2")
    with pytest.raises(register.RegisterError, match="entry 2 .EXC-2.: same test and resource as EXC-1"):
        register.load(write(tmp_path, body))


@pytest.mark.parametrize(("expires", "status"), [
    ("2026-12-31", "accepted"),
    ("2026-09-30", "accepted"),  # in force on the period's last day: edge
    ("2026-09-29", "open"),      # expired the day before: a plain deviation again
])
def test_acceptance_in_force_on_the_periods_last_day(tmp_path, expires, status):
    rows = register.annotate([deviation(), deviation(resource="111111111111:eve")], reg(tmp_path, expires), Q3)
    assert [r["status"] for r in rows] == [status, "open"]  # never dropped, order kept
    assert rows[0]["accepted_until"] == (expires if status == "accepted" else "")
    assert rows[0]["register_id"] == "EXC-1"


def test_no_register_leaves_every_deviation_open():
    rows = register.annotate([deviation()], None, Q3)
    assert rows[0]["status"] == "open" and rows[0]["owner"] == ""


def test_reconcile_names_each_outcome(tmp_path):
    body = "exceptions:\n" + ENTRY.format(expires="2026-12-31") \
        + ENTRY.format(expires="2026-08-31").replace("EXC-1", "EXC-2").replace("dan.dev", "eve") \
        + ENTRY.format(expires="2026-12-31").replace("EXC-1", "EXC-3").replace("dan.dev", "gone") \
        + ENTRY.format(expires="2026-12-31").replace("EXC-1", "EXC-4").replace("CC6.1-MFA", "CC8.1-APPROVED")
    devs = [deviation(), deviation(resource="111111111111:eve")]
    out = register.reconcile(devs, register.load(write(tmp_path, body)), Q3, ["CC6.1"])
    assert {e["id"]: e["outcome"] for e in out["entries"]} == {
        "EXC-1": "accepted", "EXC-2": "expired", "EXC-3": "unmatched", "EXC-4": "not evaluated"}


def test_acceptance_dates_are_dates(tmp_path):
    entry = reg(tmp_path).entries[0]
    assert entry.expires == dt.date(2026, 12, 31) and entry.remediation_date == dt.date(2026, 10, 31)


def test_cli_refuses_a_bad_register_and_writes_nothing(tmp_path, capsys, repo_root):
    bad = write(tmp_path, "exceptions:\n" + ENTRY.format(expires="never"))
    params = tmp_path / "params.yaml"
    params.write_text(textwrap.dedent(f"""\
        organization: X
        exceptions_file: {bad.name}
        scope: {{aws: {{accounts: [{{id: "123456789012"}}]}}}}
    """))
    out = tmp_path / "outputs"
    assert main(["run", "--params", str(params), "--period", "2026-Q3", "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and str(bad) in err and "entry 1 (EXC-1): expires" in err, err
    assert not out.exists()


def test_missing_register_file_is_refused(tmp_path, capsys):
    params = tmp_path / "params.yaml"
    params.write_text("organization: X\nexceptions_file: nowhere.yaml\nscope: {}\n")
    assert main(["run", "--params", str(params), "--period", "2026-Q3", "--out", str(tmp_path / "o")]) == 2
    assert "nowhere.yaml: no such exception register" in capsys.readouterr().err
