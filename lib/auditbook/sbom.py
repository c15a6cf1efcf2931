"""The environment that produced a package: every installed distribution, and its CycloneDX SBOM.

An auditor re-performing a run needs the exact software that produced the evidence, not a hand-picked dozen
names: the manifest records every distribution ``importlib.metadata`` sees (:func:`runinfo.package_versions`) and
the package carries ``sbom.cdx.json`` (CycloneDX 1.6 JSON, built with cyclonedx-python-lib and validated against the
schema it ships before the package is sealed: an SBOM that does not validate stops the run).
"""

from __future__ import annotations

import re
import warnings
from datetime import datetime
from importlib import metadata
from pathlib import Path

from cyclonedx.model.bom import Bom, BomMetaData
from cyclonedx.model.component import Component, ComponentType
from cyclonedx.model.license import DisjunctiveLicense, LicenseExpression
from cyclonedx.model.tool import ToolRepository
from cyclonedx.output.json import JsonV1Dot6
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator
from packageurl import PackageURL

from auditbook.runinfo import canonical, installed_distributions

try:  # its home in recent cyclonedx-python-lib 11.x; the older path still works there but warns
    from cyclonedx.contrib.license.factories import LicenseFactory
except ImportError:  # pragma: no cover - earlier 11.x
    from cyclonedx.factory.license import LicenseFactory

SCHEMA_VERSION = SchemaVersion.V1_6
_CLASSIFIER = "License :: "
_REQUIREMENT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


class SbomError(RuntimeError):
    """The SBOM could not be built or does not validate against the CycloneDX schema."""


def _licenses(dist: metadata.Distribution) -> list[LicenseExpression | DisjunctiveLicense]:
    """What the distribution's metadata says of its licence: the SPDX expression (PEP 639), else a one-line
    License field, else its trove classifiers; nothing when it says nothing (never guessed)."""
    factory, meta = LicenseFactory(), dist.metadata
    expression = (meta.get("License-Expression") or "").strip()
    if expression:
        return [factory.make_from_string(expression)]
    field = (meta.get("License") or "").strip()
    if field and "\n" not in field and len(field) <= 100 and field.upper() not in ("UNKNOWN", "NONE"):
        return [factory.make_from_string(field)]
    named = [c.split(" :: ")[-1] for c in meta.get_all("Classifier") or [] if c.startswith(_CLASSIFIER)]
    return [factory.make_with_name(name) for name in named if name not in ("OSI Approved", "Other/Proprietary License")]


def component(dist: metadata.Distribution, kind: ComponentType = ComponentType.LIBRARY) -> Component:
    name, version = dist.metadata["Name"], dist.version
    purl = PackageURL(type="pypi", name=canonical(name), version=version)
    return Component(type=kind, name=name, version=version, purl=purl, bom_ref=purl.to_string(),
                     licenses=_licenses(dist), description=(dist.metadata.get("Summary") or None))


def _requires(dist: metadata.Distribution) -> set[str]:
    """The canonical names a distribution requires without extras (its Requires-Dist lines whose marker names no
    ``extra``): the edges of the dependency graph, kept where the required distribution is installed."""
    names = set()
    for line in dist.requires or []:
        requirement, _, marker = line.partition(";")
        match = _REQUIREMENT_NAME.match(requirement.strip())
        if match and "extra" not in marker:
            names.add(canonical(match.group(0)))
    return names


def build(generated_at: datetime, tool_version: str) -> str:
    """The SBOM of the running environment as CycloneDX 1.6 JSON, validated; ``generated_at`` is the run's time."""
    dists = {canonical(d.metadata["Name"]): d for d in installed_distributions()}
    components = {key: component(d, ComponentType.APPLICATION if key == "auditbook" else ComponentType.LIBRARY)
                  for key, d in dists.items()}
    if "auditbook" not in components:  # run from a source tree (PYTHONPATH), not installed: its own version
        purl = PackageURL(type="pypi", name="auditbook", version=tool_version)
        components["auditbook"] = Component(type=ComponentType.APPLICATION, name="auditbook", version=tool_version,
                                            purl=purl, bom_ref=purl.to_string())
    tool = Component(type=ComponentType.APPLICATION, name="auditbook", version=tool_version, bom_ref="tool:auditbook")
    bom = Bom(metadata=BomMetaData(timestamp=generated_at, tools=ToolRepository(components=[tool]),
                                   component=components["auditbook"]))
    bom.components.update(c for key, c in components.items() if key != "auditbook")
    for key, dist in dists.items():  # the graph: which distribution brought which in
        bom.register_dependency(components[key], [components[name] for name in sorted(_requires(dist))
                                                  if name in components])
    with warnings.catch_warnings():  # a source tree has no Requires-Dist: its graph edges are unknown, not missing
        warnings.filterwarnings("ignore", "The Component this BOM is describing", UserWarning)
        text = JsonV1Dot6(bom).output_as_string(indent=1)
    error = JsonStrictValidator(SCHEMA_VERSION).validate_str(text)
    if error is not None:
        first_line = str(error).splitlines()[0][:300] if str(error) else type(error).__name__
        raise SbomError(f"the SBOM does not validate against CycloneDX {SCHEMA_VERSION.to_version()}: {first_line}")
    return text


def write(path: Path, generated_at: datetime, tool_version: str) -> None:
    path.write_text(build(generated_at, tool_version), encoding="utf-8")
