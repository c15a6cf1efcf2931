"""Files auditbook ships inside the package (found with importlib.resources, from a checkout or a wheel):
the criterion notebooks, the example and demo params, the schemas."""

from __future__ import annotations

from importlib import resources
from pathlib import Path


def _path(*parts: str) -> Path:
    return Path(str(resources.files("auditbook").joinpath(*parts)))


def notebook_dir() -> Path:
    return _path("notebooks")


def example_params() -> Path:
    return _path("params", "example.yaml")


def demo_params() -> Path:
    return _path("demo", "params", "demo.yaml")
