"""Shell and make injection through the schedule's variables: `make quarter PERIOD=...` is what a scheduler runs
with a workflow input, in the job that holds the GitHub token, the webhook secret and the audit role.

Each attack must end in one usage line and a non-zero exit, with its command never run and .venv never built.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="GNU make is not installed")


def make(repo_root: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["make", "--no-print-directory", "-C", str(repo_root), *args], cwd=cwd,
                          capture_output=True, text=True, timeout=120)


def attacks(tmp: Path) -> list[tuple[str, ...]]:
    pwned = tmp / "pwned"
    return [
        # the measured one: auditbook refuses the period (exit 2), then `touch` runs and make exits 0
        ("quarter", "PARAMS=params.yaml", f"PERIOD=2026-Q3 --criteria NOPE; touch {pwned} #"),
        ("quarter", f"PARAMS=params.yaml; touch {pwned}", "PERIOD=2026-Q3"),
        ("quarter", "PARAMS=params.yaml", f"PERIOD=2026-Q3\ntouch {pwned}"),
        ("quarter", "PARAMS=params.yaml", "PERIOD=2026-Q3", f"OUT=out$(touch {pwned})"),
        ("quarter", "PARAMS=params.yaml", "PERIOD=2026-Q3", f"CRITERIA=CC6.1;touch {pwned}"),
        ("quarter", "PARAMS=params.yaml", f'PERIOD=2026-Q3" "--out" "{tmp}'),
        # make's own expansion: a command-line variable that make exports is expanded, $(shell) included
        ("quarter", f"PARAMS=$(shell touch {pwned})", "PERIOD=2026-Q3"),
        ("verify", f"RUN=outputs/`touch {pwned}`"),
        ("verify", f"RUN=--help; touch {pwned}"),
        ("demo", f"PERIOD=2026-Q3 & touch {pwned}"),
        ("quarter", "PARAMS=params.yaml", "PERIOD=2026-Q3", f"SIGN_WITH=kms:key;touch {pwned}"),
        ("verify", "RUN=outputs/x", f"SIGNER=$(shell touch {pwned})"),
        ("test", f"OUT=$(shell touch {pwned})"),
        ("lab", f"OUT=outputs; touch {pwned}"),
    ]


@pytest.mark.parametrize("case", range(14))
def test_a_variable_carrying_shell_or_make_code_is_refused_before_anything_runs(case, repo_root, tmp_path):
    target, *variables = attacks(tmp_path)[case]
    venv_before = (repo_root / ".venv").exists()
    done = make(repo_root, tmp_path, target, *variables)
    assert done.returncode != 0, done.stdout + done.stderr
    assert not (tmp_path / "pwned").exists()
    usage = done.stderr.partition("usage: make ")[2]
    assert target in usage.split()[0].split("|") and "must be" in usage, done.stderr
    assert "auditbook" not in done.stdout  # nothing was started, not even the .venv build
    assert (repo_root / ".venv").exists() == venv_before


def test_missing_values_give_the_usage_line(repo_root, tmp_path):
    for target, variables in [("quarter", ["PERIOD=2026-Q3"]), ("quarter", ["PARAMS=p.yaml"]), ("verify", [])]:
        done = make(repo_root, tmp_path, target, *variables)
        assert done.returncode == 2 and f"usage: make {target}" in done.stderr, (target, done.stderr)


@pytest.mark.parametrize("period", ["2026", "2026-07", "2026-Q3", "2026-07-01..2026-09-30"])
def test_every_period_form_passes_the_check(period, repo_root, tmp_path):
    done = make(repo_root, tmp_path, "quarter-args", "PARAMS=params/acme.yaml", f"PERIOD={period}",
                "OUT=/srv/evidence/outputs", "CRITERIA=CC6.1,CC8.1")
    assert done.returncode == 0, done.stderr


def test_recipes_read_the_values_as_quoted_environment_variables(repo_root, tmp_path):
    """The values are never pasted into a script: the recipe names the variable, the shell reads its value."""
    done = make(repo_root, tmp_path, "-n", "-o", ".venv/.installed", "quarter", "PARAMS=params/zz-acme.yaml",
                "PERIOD=2025-Q1", "CRITERIA=A1.2")
    assert done.returncode == 0, done.stderr
    command = next(line for line in done.stdout.splitlines() if "auditbook\" run" in line)
    assert '--params "$AB_PARAMS" --period "$AB_PERIOD" --out "$AB_OUT"' in command
    assert "2025-Q1" not in done.stdout and "zz-acme" not in done.stdout and "A1.2" not in done.stdout
