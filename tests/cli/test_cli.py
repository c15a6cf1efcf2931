"""The command explains itself: help for every subcommand and argument, exit codes and environment variables
in --help; GH_TOKEN; AUDITBOOK_PARAMS/AUDITBOOK_OUT as defaults; --json for schedulers."""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path
from types import SimpleNamespace

import pytest
from auditbook import cli
from auditbook.cli import EPILOG, main, parser, summary_lines, summary_records
from auditbook.demo.environment import DEMO_PARAMS
from auditbook.demo.github.company import DEMO_TOKEN
from auditbook.results import Status
from auditbook.sources.github import connect
from github import GithubException

LIB = Path(cli.__file__).resolve().parent
EXIT_CODES = ["0", "1", "2", "130", "143"]
# Variables the code reads that a user sets; every AUDITBOOK_* name in lib/ is added by a scan below.
ENV = {"GITHUB_TOKEN", "GH_TOKEN", "GITHUB_API_URL", "AWS_ENDPOINT_URL", "AWS_PROFILE", "AWS_REGION"}
DUPLICATE = "organization: A\nscope: {}\norganization: B\n"


def _subparsers(p: argparse.ArgumentParser) -> list[tuple[str, argparse.ArgumentParser]]:
    found = [(p.prog, p)]
    for action in p._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                found += _subparsers(sub)
    return found


def _undocumented(p: argparse.ArgumentParser) -> list[str]:
    problems = []
    for prog, sp in _subparsers(p):
        if sp is not p and not sp.description:
            problems.append(f"{prog}: no description")
        for action in sp._actions:
            if not action.help or action.help == argparse.SUPPRESS:
                problems.append(f"{prog} {action.option_strings or action.dest}: no help")
            if isinstance(action, argparse._SubParsersAction):
                problems += [f"{prog} {c.dest}: no help" for c in action._choices_actions if not c.help]
    return problems


def test_every_subcommand_has_a_description_and_every_argument_help():
    p = parser()
    assert len(_subparsers(p)) >= 9  # auditbook and its eight subcommands
    assert _undocumented(p) == []


def test_the_walk_finds_an_argument_without_help():
    p = parser()
    sub = next(a for a in p._actions if isinstance(a, argparse._SubParsersAction))
    sub.choices["verify"].add_argument("--new-flag")
    assert _undocumented(p) == ["auditbook verify ['--new-flag']: no help"]


def _env_names_in_lib() -> set[str]:
    text = "\n".join(p.read_text() for p in LIB.rglob("*.py"))
    return set(re.findall(r"\"(AUDITBOOK_[A-Z_]+)\"", text)) | ENV


@pytest.mark.parametrize("argv", [[], ["run"], ["demo"]])
def test_help_lists_every_exit_code_and_environment_variable(argv, capsys):
    with pytest.raises(SystemExit) as done:
        main([*argv, "--help"])
    assert done.value.code == 0
    text = capsys.readouterr().out
    assert EPILOG.strip() in text  # RawDescriptionHelpFormatter: printed as written
    codes = re.findall(r"^\s+(\d+)\s", text.split("exit status:")[1].split("environment:")[0], re.M)
    assert codes == EXIT_CODES
    assert sorted(n for n in _env_names_in_lib() if n not in text) == []
    assert "AUDITBOOK_WEBHOOK_URL" in text and "AUDITBOOK_RUN_BY" in text


def test_the_module_docstring_does_not_keep_a_second_copy():
    assert "130" not in (cli.__doc__ or "") and "AUDITBOOK_WEBHOOK_URL" not in (cli.__doc__ or "")


# -- GH_TOKEN --
@pytest.fixture
def github_env(emulator, monkeypatch):
    emulator.clear()
    monkeypatch.setenv("GITHUB_API_URL", emulator.url)
    monkeypatch.delenv("GITHUB_TOKEN", raising=False)
    monkeypatch.delenv("GH_TOKEN", raising=False)
    return monkeypatch


def test_gh_token_is_used_when_github_token_is_unset(github_env):
    github_env.setenv("GH_TOKEN", DEMO_TOKEN)
    assert connect(retries=0).get_user().login
    github_env.setenv("GITHUB_TOKEN", "")  # empty is unset (a workflow's missing secret)
    assert connect(retries=0).get_user().login


def test_github_token_wins_when_both_are_set(github_env):
    github_env.setenv("GITHUB_TOKEN", DEMO_TOKEN)
    github_env.setenv("GH_TOKEN", "ghp_not_this_one")
    assert connect(retries=0).get_user().login
    github_env.setenv("GITHUB_TOKEN", "ghp_wrong")
    github_env.setenv("GH_TOKEN", DEMO_TOKEN)
    with pytest.raises(GithubException) as err:
        connect(retries=0).get_user().login  # noqa: B018 - the call is the test
    assert err.value.status == 401


def test_neither_token_is_a_refusal_naming_both_variables(github_env, tmp_path, capsys):
    assert main(["run", "--params", str(DEMO_PARAMS), "--period", "2026-Q3", "--criteria", "CC8.1",
                 "--out", str(tmp_path / "out")]) == 2
    assert "no GitHub token: set GITHUB_TOKEN (or GH_TOKEN)" in capsys.readouterr().err


def test_a_refused_gh_token_is_never_printed(github_env, tmp_path, capsys):
    secret = "ghp_S3cretValueThatMustNotAppear0000000"
    github_env.setenv("GH_TOKEN", secret)
    code = main(["run", "--json", "--params", str(DEMO_PARAMS), "--period", "2026-Q3", "--criteria", "CC8.1",
                 "--out", str(tmp_path / "out")])
    out, err = capsys.readouterr()
    assert code == 2 and "GitHub credentials" in err and "401" in err, err
    assert secret not in out + err and secret[4:20] not in out + err
    assert not (tmp_path / "out").exists()


# -- AUDITBOOK_PARAMS / AUDITBOOK_OUT --
def test_auditbook_params_is_the_default_and_an_explicit_flag_wins(tmp_path, monkeypatch, capsys):
    from_env, given = tmp_path / "from-env.yaml", tmp_path / "given.yaml"
    from_env.write_text(DUPLICATE)
    given.write_text(DUPLICATE)
    monkeypatch.setenv("AUDITBOOK_PARAMS", str(from_env))
    assert main(["run", "--period", "2026-Q3", "--out", str(tmp_path / "o")]) == 2
    assert capsys.readouterr().err.strip() == f"auditbook: {from_env}: key 'organization' appears twice (lines 1 and 3)"
    assert main(["run", "--params", str(given), "--period", "2026-Q3", "--out", str(tmp_path / "o")]) == 2
    assert str(given) in capsys.readouterr().err
    assert main(["snapshot", "--out", str(tmp_path / "o")]) == 2
    assert str(from_env) in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_without_params_or_auditbook_params_the_run_is_refused_in_one_line(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("AUDITBOOK_PARAMS", raising=False)
    monkeypatch.setenv("AUDITBOOK_PARAMS", "")
    for argv in (["run", "--period", "2026-Q3"], ["snapshot"]):
        assert main([*argv, "--out", str(tmp_path / "o")]) == 2
        assert capsys.readouterr().err.strip() == ("auditbook: no params file: give --params FILE or set "
                                                   "AUDITBOOK_PARAMS")


def test_auditbook_out_is_the_default_and_an_explicit_flag_wins(monkeypatch):
    monkeypatch.delenv("AUDITBOOK_OUT", raising=False)
    assert parser().parse_args(["run", "--period", "2026-Q3"]).out == "outputs"
    monkeypatch.setenv("AUDITBOOK_OUT", "/srv/evidence")
    for argv in (["run", "--period", "2026-Q3"], ["demo"], ["snapshot"]):
        assert parser().parse_args(argv).out == "/srv/evidence"
        assert parser().parse_args([*argv, "--out", "elsewhere"]).out == "elsewhere"


# -- --json --
def _outcome(error: str = "") -> SimpleNamespace:
    one = SimpleNamespace(criterion="CC6.1", status=Status.FAIL, tests=5, deviations=8, accepted=1, error="",
                          statuses={"PASS": 3, "FAIL": 2}, seconds=6.25)
    two = SimpleNamespace(criterion="CC8.1", status=Status.ERROR, tests=4, deviations=0, accepted=0, error=error,
                          statuses={"PASS": 3, "ERROR": 1}, seconds=12.0)
    return SimpleNamespace(outcomes=[one, two], status=Status.ERROR, run_dir=Path("outputs/2026-Q3/R"), seconds=24.04)


def _parse_line(line: str) -> dict:
    """A summary line's words as the JSON record would carry them."""
    head, seconds = re.fullmatch(r"(.*) \(([\d.]+) s\)", line).groups()
    words = head.removeprefix("status: ").split(" ")
    record = {} if line.startswith("status: ") else {"criterion": words.pop(0)}
    record["status"] = words.pop(0)
    cause = re.search(r" cause=(['\"])(.*)\1$", head)
    for word in words:
        if "=" in word and not word.startswith("cause="):
            key, value = word.split("=", 1)
            record[key] = int(value) if value.isdigit() else value
        if word.startswith("cause="):
            break
    if cause:
        record["cause"] = cause.group(2)
    return {**record, "seconds": float(seconds)}


@pytest.mark.parametrize("error", ["", "GitHub answered 500:\n  server error"])
def test_json_records_carry_the_same_keys_and_values_as_the_lines(error):
    outcome = _outcome(error)
    records = summary_records(outcome, 1)
    assert [_parse_line(line) for line in summary_lines(outcome, 1)] == records
    assert records[0] == {"criterion": "CC6.1", "status": "FAIL", "tests": 5, "pass": 3, "fail": 2, "error": 0,
                          "not_applicable": 0, "deviations": 8, "accepted": 1, "seconds": 6.2}
    assert records[-1] == {"status": "ERROR", "exit": 1, "criteria": 2, "package": "outputs/2026-Q3/R",
                           "seconds": 24.0}
    assert ("cause" in records[1]) == bool(error)


def test_report_prints_json_lines_with_json(capsys, monkeypatch):
    monkeypatch.delenv("AUDITBOOK_WEBHOOK_URL", raising=False)
    assert cli._report(_outcome(), fail_on_deviation=False, as_json=True) == 1
    lines = capsys.readouterr().out.splitlines()
    assert [json.loads(line) for line in lines] == summary_records(_outcome(), 1)
    assert cli._report(_outcome(), fail_on_deviation=False) == 1
    assert capsys.readouterr().out.splitlines() == summary_lines(_outcome(), 1)


def test_a_refusal_with_json_is_one_json_line_on_stdout_and_one_line_on_stderr(tmp_path, capsys):
    bad = tmp_path / "p.yaml"
    bad.write_text(DUPLICATE)
    assert main(["run", "--json", "--params", str(bad), "--period", "2026-Q3", "--out", str(tmp_path / "o")]) == 2
    out, err = capsys.readouterr()
    message = f"{bad}: key 'organization' appears twice (lines 1 and 3)"
    assert [json.loads(line) for line in out.splitlines()] == [{"status": "REFUSED", "exit": 2, "error": message}]
    assert err.strip() == f"auditbook: {message}"
    assert main(["run", "--params", str(bad), "--period", "2026-Q3", "--out", str(tmp_path / "o")]) == 2
    assert capsys.readouterr().out == ""  # without --json stdout stays empty


def test_a_stop_with_json_is_one_json_line():
    import io
    from contextlib import redirect_stderr, redirect_stdout

    out = io.StringIO()
    with redirect_stdout(out), redirect_stderr(io.StringIO()):
        assert cli._stopped(KeyboardInterrupt(), argparse.Namespace(json=True)) == 130
    assert json.loads(out.getvalue()) == {"status": "STOPPED", "exit": 130,
                                          "error": "stopped by SIGINT: nothing was published"}


def test_check_and_lab_read_auditbook_params_too(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("AUDITBOOK_PARAMS", "/srv/params.yaml")
    for argv in (["check"], ["lab"]):
        assert parser().parse_args(argv).params == "/srv/params.yaml"
        assert parser().parse_args([*argv, "--params", "p.yaml"]).params == "p.yaml"
    monkeypatch.setenv("AUDITBOOK_PARAMS", "")
    assert main(["check"]) == 2
    assert capsys.readouterr().err.strip() == "auditbook: no params file: give --params FILE or set AUDITBOOK_PARAMS"
