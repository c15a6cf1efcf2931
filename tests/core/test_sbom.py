"""The SBOM of the running environment (auditbook.sbom) without a run: valid CycloneDX, licences only where the
metadata says them, and an SBOM that does not validate stops the package (SbomError)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

import pytest
from auditbook import runinfo, sbom
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator

RUN_AT = datetime(2026, 10, 3, 6, 15, tzinfo=UTC)


def fake_distribution(tmp_path: Path, *headers: str) -> metadata.Distribution:
    info = tmp_path / "fake_pkg-1.2.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.4\nName: Fake_Pkg\nVersion: 1.2\n" + "".join(
        f"{h}\n" for h in headers))
    return metadata.PathDistribution(info)


def test_the_sbom_of_this_environment_validates_and_names_every_distribution():
    text = sbom.build(RUN_AT, "9.9.9")
    assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(text) is None
    doc = json.loads(text)
    assert doc["metadata"]["timestamp"] == "2026-10-03T06:15:00+00:00"
    assert doc["metadata"]["tools"]["components"][0]["version"] == "9.9.9"
    names = {c["name"] for c in doc["components"]} | {doc["metadata"]["component"]["name"]}
    assert names == set(runinfo.package_versions())
    jinja2 = next(c for c in doc["components"] if c["name"] == "Jinja2")
    assert jinja2["purl"] == f"pkg:pypi/jinja2@{metadata.version('Jinja2')}" == jinja2["bom-ref"]


def test_package_versions_are_every_distribution_installed():
    versions = runinfo.package_versions()
    assert versions["six"] == metadata.version("six") and versions["pytest"] == metadata.version("pytest")
    assert len(versions) == len({runinfo.canonical(d.metadata["Name"]) for d in metadata.distributions()})


@pytest.mark.parametrize(("headers", "licenses"), [
    (["License-Expression: MIT OR Apache-2.0"], [{"expression": "MIT OR Apache-2.0"}]),
    (["License: BSD-3-Clause"], [{"license": {"id": "BSD-3-Clause"}}]),
    (["License: Copyright (c) someone", "  all the text of a licence, over lines",
      "Classifier: License :: OSI Approved :: MIT License"], [{"license": {"name": "MIT License"}}]),
    (["License: UNKNOWN"], []),
    ([], []),
])
def test_licences_come_from_the_metadata_and_are_never_guessed(tmp_path, headers, licenses):
    component = sbom.component(fake_distribution(tmp_path, *headers))
    assert (component.name, component.version, str(component.purl)) == ("Fake_Pkg", "1.2", "pkg:pypi/fake-pkg@1.2")
    doc = json.loads(json_of(component))
    assert doc.get("licenses", []) == licenses


def json_of(component) -> str:
    from cyclonedx.model.bom import Bom
    from cyclonedx.output.json import JsonV1Dot6

    bom = Bom(components=[component])
    return json.dumps(json.loads(JsonV1Dot6(bom).output_as_string())["components"][0])


def test_an_sbom_that_does_not_validate_stops_the_package(monkeypatch):
    class Broken:
        def __init__(self, bom):
            pass

        def output_as_string(self, indent: int | None = None) -> str:
            return json.dumps({"bomFormat": "CycloneDX", "specVersion": "1.6", "version": "one"})

    monkeypatch.setattr(sbom, "JsonV1Dot6", Broken)
    with pytest.raises(sbom.SbomError, match="does not validate against CycloneDX 1.6"):
        sbom.build(RUN_AT, "9.9.9")


def test_auditbook_run_from_a_source_tree_is_named_with_its_own_version(monkeypatch):
    """Not installed (PYTHONPATH=lib): the SBOM still names what ran, by the version the code says."""
    others = [d for d in runinfo.installed_distributions() if runinfo.canonical(d.metadata["Name"]) != "auditbook"]
    monkeypatch.setattr(sbom, "installed_distributions", lambda: others)
    doc = json.loads(sbom.build(RUN_AT, "9.9.9"))
    assert doc["metadata"]["component"]["purl"] == "pkg:pypi/auditbook@9.9.9"
    assert "auditbook" not in {c["name"] for c in doc["components"]}
