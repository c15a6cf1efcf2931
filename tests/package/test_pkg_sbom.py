"""The demo package records the software that produced it: every installed distribution in run.json and the
manifest, and a CycloneDX SBOM (sbom.cdx.json) that validates, names auditbook and its libraries at the
versions installed, carries the run's time and is sealed with the rest."""

from __future__ import annotations

import json
from importlib import metadata

from auditbook import locker
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator


def installed() -> dict[str, str]:
    """What importlib.metadata sees here, first on sys.path winning (the pytest process ran the demo run)."""
    found: dict[str, str] = {}
    for dist in metadata.distributions():
        found.setdefault(dist.metadata["Name"], dist.version)
    return found


def test_the_manifest_and_run_json_record_every_installed_distribution(demo_run):
    manifest = json.loads((demo_run.run_dir / "manifest.json").read_text())
    run = json.loads((demo_run.run_dir / "run.json").read_text())
    here = installed()
    assert manifest["versions"] == run["versions"]
    assert len(manifest["versions"]) > 100, len(manifest["versions"])  # not the 13 it used to pick
    for name in ("boto3", "botocore", "pandas", "six", "cyclonedx-python-lib", "pytest", "moto"):
        assert manifest["versions"][name] == here[name], name
    assert set(manifest["versions"]) == set(here)


def test_the_sbom_is_valid_cyclonedx_and_lists_what_ran(demo_run):
    text = (demo_run.run_dir / "sbom.cdx.json").read_text()
    assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(text) is None
    sbom = json.loads(text)
    assert (sbom["bomFormat"], sbom["specVersion"]) == ("CycloneDX", "1.6")
    root = sbom["metadata"]["component"]
    assert (root["name"], root["version"], root["type"]) == ("auditbook", metadata.version("auditbook"), "application")
    assert root["purl"] == f"pkg:pypi/auditbook@{metadata.version('auditbook')}"
    tools = sbom["metadata"]["tools"]["components"]
    assert [(t["name"], t["version"]) for t in tools] == [("auditbook", metadata.version("auditbook"))]
    components = {c["name"]: c for c in sbom["components"]}
    assert len(components) + 1 == len(installed())
    boto3 = components["boto3"]
    assert boto3["version"] == metadata.version("boto3")
    assert boto3["purl"] == f"pkg:pypi/boto3@{metadata.version('boto3')}"
    assert boto3["licenses"] == [{"license": {"id": "Apache-2.0"}}]  # its metadata says so
    assert components["PyGithub"]["purl"] == f"pkg:pypi/pygithub@{metadata.version('PyGithub')}"
    # the timestamp is the run's, not the moment the file was written
    run = json.loads((demo_run.run_dir / "run.json").read_text())
    assert sbom["metadata"]["timestamp"].replace("+00:00", "Z") == run["generated_at"]
    graph = {d["ref"]: d.get("dependsOn", []) for d in sbom["dependencies"]}
    assert f"pkg:pypi/boto3@{metadata.version('boto3')}" in graph[root["bom-ref"]]


def test_the_sbom_is_sealed_in_the_manifest(demo_run, writable_copy, tmp_path):
    manifest = json.loads((demo_run.run_dir / "manifest.json").read_text())
    assert manifest["files"]["sbom.cdx.json"]["sha256"] == locker.sha256_file(demo_run.run_dir / "sbom.cdx.json")
    copy = writable_copy(tmp_path / "pkg")
    sbom = copy / "sbom.cdx.json"
    sbom.write_text(sbom.read_text().replace(metadata.version("boto3"), "0.0.1"))
    verification = locker.verify(copy)
    assert not verification.ok and verification.changed == ["sbom.cdx.json"]
