"""Fixtures: GitHub's published schemas (the demo company's GitHub emulator is in tests/conftest.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from graphql import GraphQLSchema, build_schema

DATA = Path(__file__).resolve().parents[1] / "data" / "github"


@pytest.fixture(scope="session")
def published_schema() -> GraphQLSchema:
    """GitHub's published schema; graphql-core rejects its SDL rules, so build without SDL validation."""
    return build_schema((DATA / "schema.graphql").read_text(), assume_valid_sdl=True)


@pytest.fixture(scope="session")
def openapi_responses() -> dict[str, Any]:
    return {key: nullable_to_json_schema(schema)
            for key, schema in json.loads((DATA / "openapi-subset.json").read_text())["responses"].items()}


def nullable_to_json_schema(schema: Any) -> Any:
    """OpenAPI 3.0 ``nullable: true`` is JSON Schema's ``"null"`` among the allowed types."""
    if isinstance(schema, list):
        return [nullable_to_json_schema(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: nullable_to_json_schema(v) for k, v in schema.items() if k != "nullable"}
    if schema.get("nullable"):
        if "type" in out:
            out["type"] = [out["type"], "null"] if isinstance(out["type"], str) else [*out["type"], "null"]
        if "enum" in out:
            out["enum"] = [*out["enum"], None]
        for key in ("oneOf", "anyOf", "allOf"):
            if key in out:
                out = {"anyOf": [out, {"type": "null"}]}
                break
    return out
