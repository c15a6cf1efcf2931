"""NIST's published OSCAL JSON schema (pinned copy in tests/data/oscal), as a validator for assessment results."""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path

import jsonschema
from jsonschema import validators

SCHEMA_FILE = Path(__file__).resolve().parents[1] / "data" / "oscal" / "oscal_complete_schema-1.2.3.json"
SCHEMA_SHA256 = "384324105c7a817af0f65b120a963146caa0e0d55d969cf0daf60e063b87a206"

try:  # NIST's TokenDatatype pattern uses \p{L}; the regex module understands it, re does not
    import regex as _re

    def _compile(pattern: str):
        return _re.compile(pattern)
except ImportError:  # pragma: no cover - regex comes with moto's dependencies
    def _compile(pattern: str):
        return re.compile(pattern.replace(r"\p{L}", r"[^\W\d_]").replace(r"\p{N}", r"\d"))


def _pattern(validator, pattern, instance, schema):
    if validator.is_type(instance, "string") and not _compile(pattern).search(instance):
        yield jsonschema.ValidationError(f"{instance!r} does not match {pattern!r}")


@cache
def validator() -> jsonschema.Draft7Validator:
    schema = json.loads(SCHEMA_FILE.read_text())
    # Only the assessment-results branch of the complete schema's oneOf: errors then name the field.
    branch = next(b for b in schema["oneOf"] if "assessment-results" in b["properties"])
    schema = {k: v for k, v in schema.items() if k != "oneOf"} | branch
    cls = validators.extend(jsonschema.Draft7Validator, {"pattern": _pattern})
    return cls(schema, format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER)


def errors(document: dict) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message[:200]}"
            for e in sorted(validator().iter_errors(document), key=lambda e: list(map(str, e.absolute_path)))]
