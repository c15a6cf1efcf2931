"""Tamper: change, remove or add any kind of file in a package and ``auditbook verify`` names it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from auditbook import locker
from auditbook.cli import main


def kind(rel: str) -> str:
    """reports/CC6.1.pdf → reports/*.pdf; raw/aws/1/iam/x.json.gz → raw/*.json.gz."""
    top = rel.split("/", 1)[0] if "/" in rel else ""
    name = rel.rsplit("/", 1)[-1]
    parts = name.split(".")
    suffix = "." + ".".join(parts[-2:] if parts[-1] == "gz" and len(parts) > 2 else parts[-1:]) if len(parts) > 1 \
        else name
    return f"{top}/*{suffix}" if top else name


@pytest.fixture(scope="module")
def package(writable_copy, tmp_path_factory) -> Path:
    copy = writable_copy(tmp_path_factory.mktemp("tamper") / "pkg")
    assert locker.verify(copy).ok
    return copy


def samples(root: Path) -> list[str]:
    """One file of every kind the package holds."""
    chosen: dict[str, str] = {}
    for rel in locker.package_files(root):
        chosen.setdefault(kind(rel), rel)
    return sorted(chosen.values())


def test_every_kind_of_file_is_covered(demo_run):
    kinds = {kind(rel) for rel in locker.package_files(demo_run.run_dir)}
    for expected in ["reports/*.pdf", "reports/*.html", "reports/*.ipynb", "populations/*.csv", "samples/*.csv",
                     "results.json", "exceptions.csv", "run.json", "params.resolved.yaml", "results.junit.xml",
                     "findings.ocsf.json"]:
        assert expected in kinds, expected
    assert any(k.startswith("raw/") for k in kinds) and any(k.startswith("oscal/") for k in kinds)


def test_changed_removed_or_added_file_of_every_kind_is_named(package, capsys):
    tried = samples(package)
    assert len(tried) >= 12
    for rel in tried:
        path = package / rel
        original = path.read_bytes()

        data = bytearray(original or b"\0")
        data[len(data) // 2] ^= 0x01
        path.write_bytes(bytes(data))
        assert f"changed: {rel}" in locker.verify(package).lines(), rel

        path.unlink()
        assert f"missing: {rel}" in locker.verify(package).lines(), rel

        path.write_bytes(original)
        twin = path.with_name("extra-" + path.name)
        twin.write_bytes(original)
        result = locker.verify(package)
        assert f"added: {twin.relative_to(package).as_posix()}" in result.lines(), rel
        twin.unlink()
        assert locker.verify(package).ok, rel

    # the CLI says the same, with exit status 1
    target = package / tried[0]
    original = target.read_bytes()
    target.write_bytes(original + b" ")
    capsys.readouterr()
    assert main(["verify", str(package)]) == 1
    assert f"changed: {tried[0]}" in capsys.readouterr().out
    target.write_bytes(original)


def test_a_new_folder_or_a_file_at_the_root_is_named(package):
    (package / "notes").mkdir()
    (package / "notes" / "readme.txt").write_text("added later")
    (package / "results.json.bak").write_text("{}")
    lines = locker.verify(package).lines()
    assert "added: notes/readme.txt" in lines and "added: results.json.bak" in lines
    shutil.rmtree(package / "notes")
    (package / "results.json.bak").unlink()
    assert locker.verify(package).ok


def test_tampered_or_missing_manifest_is_named(package):
    manifest = package / "manifest.json"
    original = manifest.read_text()
    facts = json.loads(original)
    rel = sorted(facts["files"])[0]
    facts["files"][rel]["sha256"] = "0" * 64  # a forged hash
    manifest.write_text(json.dumps(facts))
    assert f"changed: {rel}" in locker.verify(package).lines()
    del facts["files"][rel]  # a file dropped from the manifest
    manifest.write_text(json.dumps(facts))
    assert f"added: {rel}" in locker.verify(package).lines()
    manifest.write_text("{ not json")
    assert not locker.verify(package).ok
    manifest.unlink()
    result = locker.verify(package)
    assert not result.ok and any("manifest.json is missing" in p for p in result.problems)
    manifest.write_text(original)
    assert locker.verify(package).ok


def test_consistent_edit_of_results_and_exceptions_is_still_named(package):
    """Someone who edits results.json and exceptions.csv together still changes two sealed files."""
    results = package / "results.json"
    exceptions = package / "exceptions.csv"
    saved = results.read_bytes(), exceptions.read_bytes()
    data = json.loads(saved[0])
    data["status"] = "PASS"
    results.write_text(json.dumps(data))
    exceptions.write_text(saved[1].decode().splitlines()[0] + "\n")
    lines = locker.verify(package).lines()
    assert "changed: results.json" in lines and "changed: exceptions.csv" in lines
    results.write_bytes(saved[0])
    exceptions.write_bytes(saved[1])
    assert locker.verify(package).ok
