"""The Airflow DAGs read AUDITBOOK_PARAMS / AUDITBOOK_OUT the way the command does (Airflow stubbed: it is not
a dependency; `make test-airflow` imports and runs the DAGs with the real one)."""

from __future__ import annotations

import importlib.util
import sys
import types
from pathlib import Path

import pytest
from auditbook.demo.environment import DEMO_PARAMS

DAGS = Path(__file__).resolve().parents[2] / "deploy" / "airflow"


class _Node:
    """A task as the DAG file wires it (``a >> b``, ``a >> [b, c]``, ``[b, c] >> d``)."""

    def __init__(self, fn=None, **kwargs):
        self.fn, self.kwargs = fn, kwargs

    def __rshift__(self, other):
        return other

    def __rrshift__(self, other):
        return self


class _DAG:
    def __init__(self, **kwargs):
        self.kwargs = kwargs

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def _task(**kwargs):
    def wrap(fn):
        def call(*args, **kw):
            return _Node(fn)
        call.fn = fn
        return call
    return wrap


@pytest.fixture
def load_dag(monkeypatch):
    sdk = types.ModuleType("airflow.sdk")
    sdk.DAG, sdk.task = _DAG, _task
    papermill = types.ModuleType("airflow.providers.papermill.operators.papermill")
    papermill.PapermillOperator = _Node
    for name in ("airflow", "airflow.providers", "airflow.providers.papermill",
                 "airflow.providers.papermill.operators"):
        monkeypatch.setitem(sys.modules, name, types.ModuleType(name))
    monkeypatch.setitem(sys.modules, "airflow.sdk", sdk)
    monkeypatch.setitem(sys.modules, papermill.__name__, papermill)

    def load(name: str) -> types.ModuleType:
        spec = importlib.util.spec_from_file_location(name, DAGS / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    return load


def test_the_quarterly_dag_reads_params_and_out_as_the_cli_does(load_dag, monkeypatch, tmp_path):
    monkeypatch.setenv("AUDITBOOK_PARAMS", str(DEMO_PARAMS))
    monkeypatch.setenv("AUDITBOOK_OUT", str(tmp_path / "evidence"))
    dag = load_dag("auditbook_dag")
    assert str(DEMO_PARAMS) == dag.PARAMS and tmp_path / "evidence" == dag.OUT
    assert dag.accounts() == ["123456789012"]
    bad = tmp_path / "p.yaml"
    bad.write_text("organization: A\norganization: B\n")
    assert dag.accounts(str(bad)) == []  # prepare then refuses the run naming the key


def test_the_quarterly_dag_without_auditbook_params_refuses_in_prepare(load_dag, monkeypatch):
    monkeypatch.delenv("AUDITBOOK_PARAMS", raising=False)
    dag = load_dag("auditbook_dag")
    assert dag.PARAMS is None and dag.accounts() == []
    with pytest.raises(RuntimeError, match="set AUDITBOOK_PARAMS"):
        dag.prepare.fn(params={"period": "2026-Q3"}, data_interval_end=None)


def test_the_snapshot_dag_runs_the_command_which_reads_the_environment(load_dag, monkeypatch, tmp_path, capsys):
    bad = tmp_path / "p.yaml"
    bad.write_text("organization: A\nscope: {}\norganization: B\n")
    monkeypatch.setenv("AUDITBOOK_PARAMS", str(bad))
    monkeypatch.setenv("AUDITBOOK_OUT", str(tmp_path / "evidence"))
    dag = load_dag("auditbook_snapshot_dag")
    with pytest.raises(RuntimeError, match="auditbook snapshot exited 2"):
        dag.snapshot.fn()
    assert capsys.readouterr().err.strip() == f"auditbook: {bad}: key 'organization' appears twice (lines 1 and 3)"
    assert not (tmp_path / "evidence").exists()
