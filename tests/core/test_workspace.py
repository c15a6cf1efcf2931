"""The working folder of an installed auditbook: ``auditbook init`` makes it, ``auditbook lab`` opens it."""

from __future__ import annotations

from pathlib import Path

from auditbook import resources
from auditbook.cli import main
from auditbook.workspace import lab_environment, scaffold


def test_init_makes_params_notebooks_and_outputs_and_never_overwrites(tmp_path, capsys):
    assert main(["init", str(tmp_path / "acme")]) == 0
    root = tmp_path / "acme"
    assert (root / "params" / "example.yaml").read_text() == resources.example_params().read_text()
    assert sorted(p.name for p in (root / "notebooks").iterdir()) == sorted(
        p.name for p in resources.notebook_dir().glob("*.ipynb"))
    assert (root / "outputs").is_dir()
    capsys.readouterr()
    assert main(["init", str(root)]) == 2
    assert "already exists: init makes a new working folder, it never overwrites" in capsys.readouterr().err


def test_lab_reads_the_folders_params_and_outputs(tmp_path):
    scaffold(tmp_path)
    env = lab_environment(tmp_path, None, demo=False)
    assert env["AUDITBOOK_PARAMS"] == str((tmp_path / "params" / "example.yaml").resolve())
    assert env["AUDITBOOK_OUT"] == str((tmp_path / "outputs").resolve())
    assert Path(env["notebook_dir"]) == tmp_path  # params/, notebooks/ and outputs/ reachable
    assert lab_environment(tmp_path, None, demo=True)["AUDITBOOK_PARAMS"] == str(resources.demo_params().resolve())


def test_lab_without_params_or_jupyterlab_says_what_to_do(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PATH", str(tmp_path))  # no jupyter on the PATH: the lab extra is not installed
    assert main(["lab"]) == 2
    assert "JupyterLab is not installed: pip install 'auditbook[lab]'" in capsys.readouterr().err
    try:
        lab_environment(tmp_path, None, demo=False)
    except ValueError as exc:
        assert "params/example.yaml: no such params file (auditbook init makes one" in str(exc)
    else:
        raise AssertionError("a folder without params is refused")
