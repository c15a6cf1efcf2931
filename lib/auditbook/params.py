"""Run parameters: one YAML file, validated against a JSON Schema before anything runs.

The schema (``schemas/params.schema.json``) is the single place that says which keys exist,
their types and their defaults; ``params/example.yaml`` documents each of them.
"""

from __future__ import annotations

import copy
import hashlib
import json
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import yaml


class ParamsError(ValueError):
    """Bad parameters: the message is one line naming the file and the key."""


@cache
def schema() -> dict[str, Any]:
    return json.loads(resources.files("auditbook").joinpath("schemas/params.schema.json").read_text())


def _key_path(error: jsonschema.ValidationError) -> str:
    path = ".".join(str(p) for p in error.absolute_path)
    return path or "(top level)"


def _describe(error: jsonschema.ValidationError) -> str:
    if error.validator == "additionalProperties":
        extra = sorted(set(error.instance) - set(error.schema.get("properties", {})))
        where = _key_path(error)
        keys = ", ".join(extra)
        prefix = "" if where == "(top level)" else f"{where}."
        return f"unknown key {prefix}{keys}"
    if error.validator == "required":
        return f"{_key_path(error)}: {error.message}"
    return f"{_key_path(error)}: {error.message}"


def _fill_defaults(instance: Any, node: dict[str, Any]) -> None:
    """Apply the schema's ``default`` values in place, so defaults live in one place."""
    if isinstance(instance, dict):
        for key, sub in node.get("properties", {}).items():
            if key not in instance and "default" in sub:
                instance[key] = copy.deepcopy(sub["default"])
            if key in instance:
                _fill_defaults(instance[key], sub)
    elif isinstance(instance, list) and isinstance(node.get("items"), dict):
        for item in instance:
            _fill_defaults(item, node["items"])


def validate(data: Any, source: str = "params") -> dict[str, Any]:
    """Validate and return the params with defaults filled; raise ParamsError naming the key."""
    if not isinstance(data, dict):
        raise ParamsError(f"{source}: expected a mapping of keys at the top level")
    validator = jsonschema.Draft202012Validator(schema())
    errors = sorted(validator.iter_errors(data), key=lambda e: (len(list(e.absolute_path)), str(e.path)))
    if errors:
        raise ParamsError(f"{source}: {_describe(errors[0])}")
    problem = _first_duplicate_scope(data) or _events_engine_problem(data) or _unknown_accepted_test(data) or \
        _calendar_problem(data)
    if problem:
        raise ParamsError(f"{source}: {problem}")
    resolved = copy.deepcopy(data)
    _fill_defaults(resolved, schema())
    return resolved


def _first_duplicate_scope(data: dict[str, Any]) -> str | None:
    """An account or org listed twice would be collected twice: every row of it counted double."""
    scope = data.get("scope") or {}
    listed = {"scope.aws.accounts": [a["id"] for a in (scope.get("aws") or {}).get("accounts", [])],
              "scope.github.orgs": [o["name"].lower() for o in (scope.get("github") or {}).get("orgs", [])]}
    for key, values in listed.items():
        seen: set[str] = set()
        for value in values:
            if value in seen:
                return f"{key}: {value} is listed twice"
            seen.add(value)
    return None


def _calendar_problem(data: dict[str, Any]) -> str | None:
    """A country or subdivision the holidays package does not know would count its holidays as business days."""
    from auditbook.business_days import BusinessCalendar, CalendarError

    try:
        BusinessCalendar.from_params(data.get("business_calendar"))
    except CalendarError as exc:
        return str(exc)
    return None


def _unknown_accepted_test(data: dict[str, Any]) -> str | None:
    """Accepting incomplete evidence for a test that does not exist (a typo) would accept nothing, silently."""
    from auditbook.controls import a11, a12, cc61, cc62, cc71, cc72, cc81, cc91

    known = {t.test_id for module in (a11, a12, cc61, cc62, cc71, cc72, cc81, cc91) for t in module.TESTS}
    for test_id in (data.get("coverage") or {}).get("accept") or {}:
        if test_id not in known:
            return f"coverage.accept.{test_id}: no such test"
    return None


def _events_engine_problem(data: dict[str, Any]) -> str | None:
    """An events engine configured half-way would fail mid-run, or read one account's events for another."""
    aws = (data.get("scope") or {}).get("aws") or {}
    trail = aws.get("cloudtrail") or {}
    engine = trail.get("engine", "local")
    key = "scope.aws.cloudtrail"
    for block, owner in (("athena", "athena"), ("cloudtrail_lake", "cloudtrail-lake")):
        if block in trail and engine != owner:
            return f"{key}.{block} is set but engine is {engine}: set engine: {owner}, or remove {block}"
    if engine != "local" and trail.get("copy_log_files") == "all":
        return (f"{key}.copy_log_files: all needs engine local (engine {engine} reads the events where they are: "
                "only the log files tested events cite are copied)")
    table = (trail.get("athena") or {}).get("table")
    if engine == "athena" and table and "{account_id}" not in table and len(aws.get("accounts", [])) > 1:
        return (f"{key}.athena.table: with {len(aws['accounts'])} accounts in scope the table must name "
                "{account_id}: each account's events are read from its own table")
    return None


def _resolve_paths(instance: Any, node: dict[str, Any], base: Path) -> None:
    """File paths in params (schema keyword ``x-path``) are relative to the params file."""
    if isinstance(instance, dict):
        for key, sub in node.get("properties", {}).items():
            value = instance.get(key)
            if sub.get("x-path") and isinstance(value, str) and value:
                instance[key] = str((base / value).resolve())
            elif key in instance:
                _resolve_paths(value, sub, base)
    elif isinstance(instance, list) and isinstance(node.get("items"), dict):
        for item in instance:
            _resolve_paths(item, node["items"], base)


class DuplicateKeyError(yaml.YAMLError):
    """A key written twice in one mapping: PyYAML would keep the last silently, so the first would be ignored."""


def _duplicate_keys(node: yaml.Node, where: str, seen: set[int]) -> None:
    """Refuse the first mapping (at any depth) that names a key twice, with the key's path and every line."""
    if id(node) in seen:  # an alias: its node was checked where its anchor is
        return
    seen.add(id(node))
    if isinstance(node, yaml.MappingNode):
        lines: dict[tuple[str, str], list[int]] = {}
        for key, _ in node.value:
            if isinstance(key, yaml.ScalarNode) and key.tag != "tag:yaml.org,2002:merge":
                lines.setdefault((key.tag, key.value), []).append(key.start_mark.line + 1)
        for (_, name), at in lines.items():
            if len(at) > 1:
                times = "twice" if len(at) == 2 else f"{len(at)} times"
                listed = ", ".join(map(str, at[:-1])) + f" and {at[-1]}"
                raise DuplicateKeyError(f"key '{where}{name}' appears {times} (lines {listed})")
        for key, value in node.value:
            name = key.value if isinstance(key, yaml.ScalarNode) else "?"
            _duplicate_keys(value, f"{where}{name}.", seen)
    elif isinstance(node, yaml.SequenceNode):
        for n, item in enumerate(node.value):
            _duplicate_keys(item, f"{where.removesuffix('.')}[{n}].", seen)


class StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses a key repeated in a mapping (YAML 1.2 says keys are unique; PyYAML keeps the last)."""

    def construct_document(self, node: yaml.Node) -> Any:
        _duplicate_keys(node, "", set())
        return super().construct_document(node)


def read_yaml(path: Path, what: str, error: type[ValueError], loader: type = StrictLoader) -> Any:
    """A YAML file the user wrote: every way it can be unreadable is one line naming the file."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise error(f"{path}: no such {what}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise error(f"{path}: cannot read the {what} ({exc.__class__.__name__})") from None
    try:
        return yaml.load(text, Loader=loader)  # noqa: S506 - StrictLoader (a SafeLoader) or a subclass of it
    except DuplicateKeyError as exc:
        raise error(f"{path}: {exc}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise error(f"{path}: invalid YAML{where}: {problem}") from None


# YAML data files params name (the exception register is checked by register.load when a run starts).
YAML_FILES = (("criteria", "A1.2", "dr_test_records"),)


def _yaml_files_problem(resolved: dict[str, Any]) -> str | None:
    """A key written twice in a YAML file params name: refused before the run, like one in params. A file that
    is missing or does not parse is left to its collector (an ERROR naming it, as before)."""
    for *keys, last in YAML_FILES:
        node: Any = resolved
        for key in keys:
            node = (node or {}).get(key) or {}
        file = node.get(last)
        if not file or not Path(file).is_file():
            continue
        try:
            yaml.load(Path(file).read_bytes(), Loader=StrictLoader)  # noqa: S506 - a SafeLoader
        except DuplicateKeyError as exc:
            return f"{'.'.join([*keys, last])} {file}: {exc}"
        except (yaml.YAMLError, OSError):
            continue
    return None


def load(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    data = read_yaml(path, "params file", ParamsError)
    resolved = validate(data, str(path))
    _resolve_paths(resolved, schema(), path.resolve().parent)
    problem = _yaml_files_problem(resolved)
    if problem:
        raise ParamsError(f"{path}: {problem}")
    from auditbook.report.branding import logo_problem

    problem = logo_problem(resolved)
    if problem:
        raise ParamsError(f"{path}: {problem}")
    return resolved


def digest(params: dict[str, Any]) -> str:
    """sha256 of the resolved params, canonical JSON: identifies the params in every report."""
    return hashlib.sha256(json.dumps(params, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
