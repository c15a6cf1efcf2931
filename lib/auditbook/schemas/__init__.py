"""JSON Schemas of what auditbook reads (params) and writes (results.json)."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

import jsonschema


@cache
def load(name: str) -> dict[str, Any]:
    return json.loads(resources.files("auditbook.schemas").joinpath(name).read_text())


def validate_results(results: dict[str, Any]) -> None:
    """results.json is a contract with GRC tools: never write one that breaks its schema."""
    jsonschema.Draft202012Validator(load("results.schema.json")).validate(results)
