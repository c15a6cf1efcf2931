"""Fixtures: the demo company's GitHub served by the emulator, and GitHub's published schemas."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from auditbook.demo.github.company import DEMO_TOKEN, build_demo_github
from auditbook.demo.github.server import GitHubEmulator
from auditbook.demo.github.state import GitHubState
from auditbook.provenance import RawStore
from auditbook.sources.github import connect
from github import Github
from graphql import GraphQLSchema, build_schema

DATA = Path(__file__).resolve().parents[1] / "data" / "github"


@pytest.fixture(scope="session")
def demo_state() -> GitHubState:
    return build_demo_github()


@pytest.fixture(scope="session")
def emulator(demo_state: GitHubState) -> Iterator[GitHubEmulator]:
    with GitHubEmulator(demo_state) as emu:
        yield emu


@pytest.fixture
def client_for(monkeypatch: pytest.MonkeyPatch) -> Callable[[GitHubEmulator], Github]:
    """A client configured the standard way, through the environment, on a cleared emulator."""
    def make(emulator: GitHubEmulator) -> Github:
        emulator.clear()
        monkeypatch.setenv("GITHUB_API_URL", emulator.url)
        monkeypatch.setenv("GITHUB_TOKEN", DEMO_TOKEN)
        return connect(backoff_factor=0.01, max_wait=5)
    return make


@pytest.fixture
def gh(emulator: GitHubEmulator, client_for: Callable[[GitHubEmulator], Github]) -> Github:
    return client_for(emulator)


@pytest.fixture
def raw(tmp_path: Path) -> RawStore:
    return RawStore(tmp_path / "raw")


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
