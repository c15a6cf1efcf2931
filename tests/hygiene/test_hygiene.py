"""What a release carries besides code: the licence, one version, one dependency list, a linted IAM policy and
workflow actions pinned to the commit that was reviewed."""

from __future__ import annotations

import json
import re
import tomllib
from importlib.metadata import version
from pathlib import Path

import auditbook
import parliament
import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
POLICIES = sorted((ROOT / "policy").glob("*policy.json"))
# conda-forge names that differ from PyPI's, and the packages conda needs spelled out for a pip extra.
CONDA_NAMES = {"python-duckdb": "duckdb"}
CONDA_FOR_EXTRAS = {"moto[server]": {"flask", "flask-cors"}}
CONDA_ONLY = {"python", "pip"}


def test_the_licence_is_the_full_apache_2_text_pyproject_names():
    text = (ROOT / "LICENSE").read_text()
    assert tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["license"] == {"text": "Apache-2.0"}
    assert "Apache License" in text and "Version 2.0, January 2004" in text
    assert "END OF TERMS AND CONDITIONS" in text and "APPENDIX: How to apply the Apache License" in text


def test_the_version_is_read_from_the_installed_metadata_not_written_twice():
    assert auditbook.__version__ == version("auditbook")
    assert not re.search(r"__version__\s*=\s*['\"]\d+\.\d+", (ROOT / "lib" / "auditbook" / "__init__.py").read_text())


def _pyproject_requirements() -> dict[str, str]:
    """Runtime, demo and dev: what environment.yml mirrors (lab and airflow install with pip, see its header)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted: dict[str, str] = {}
    for line in project["dependencies"] + project["optional-dependencies"]["demo"] + \
            project["optional-dependencies"]["dev"]:
        req = Requirement(line)
        wanted[canonicalize_name(req.name)] = str(req.specifier)
        for extra in req.extras:
            for name in CONDA_FOR_EXTRAS.get(f"{req.name}[{extra}]", ()):
                wanted[name] = ""
    return wanted


def _environment_requirements(environment: dict) -> dict[str, str]:
    found: dict[str, str] = {}
    for entry in environment["dependencies"]:
        lines = entry["pip"] if isinstance(entry, dict) else [entry]
        for line in lines:
            if line.startswith("-e "):
                continue
            req = Requirement(line)
            name = CONDA_NAMES.get(req.name, canonicalize_name(req.name))
            assert name not in found, f"environment.yml names {name} twice"
            if name not in CONDA_ONLY:
                found[name] = str(req.specifier)
    return found


def test_environment_yml_names_the_same_packages_and_ranges_as_pyproject():
    environment = yaml.safe_load((ROOT / "environment.yml").read_text())
    assert _environment_requirements(environment) == _pyproject_requirements()


def test_the_sync_check_notices_a_range_that_drifted():
    environment = yaml.safe_load((ROOT / "environment.yml").read_text())
    environment["dependencies"] = [d.replace("pandas>=2.2,<4", "pandas>=2.2,<3") if isinstance(d, str) else d
                                   for d in environment["dependencies"]]
    assert _environment_requirements(environment)["pandas"] != _pyproject_requirements()["pandas"]


# IAM: parliament (its own copy of the AWS service authorization reference, no network) says whether each
# action exists. RESOURCE_STAR is deliberate: the List/Describe calls the collectors make take no resource ARN.
ACCEPTED = {"RESOURCE_STAR"}


def _lint(policy: dict) -> list[str]:
    text = json.dumps(policy).replace("SIGNING-KEY-ARN", "arn:aws:kms:eu-west-1:123456789012:key/placeholder")
    problems = [f"{f.issue}: {f.detail}" for f in parliament.analyze_policy_string(
        text, include_community_auditors=False).findings if f.issue not in ACCEPTED]
    for statement in policy["Statement"]:
        actions = statement.get("Action", statement.get("NotAction", []))
        for action in [actions] if isinstance(actions, str) else actions:
            try:
                if not parliament.expand_action(action, raise_exceptions=True):
                    problems.append(f"{statement.get('Sid')} {statement['Effect']}: {action} matches no action")
            except Exception as exc:  # parliament's UnknownActionException / UnknownPrefixException
                problems.append(f"{statement.get('Sid')} {statement['Effect']}: {action}: {exc}")
    return problems


@pytest.mark.parametrize("path", POLICIES, ids=[p.name for p in POLICIES])
def test_the_shipped_iam_policy_names_only_actions_that_exist(path):
    assert _lint(json.loads(path.read_text())) == []


def test_a_misspelled_action_in_a_deny_statement_is_found():
    """A Deny of an action that does not exist denies nothing: the lint must say so."""
    policy = json.loads((ROOT / "policy" / "auditbook-readonly-policy.json").read_text())
    deny = next(s for s in policy["Statement"] if s["Effect"] == "Deny")
    deny["Action"] = [deny["Action"][0].replace("Get", "Gett", 1), *deny["Action"][1:]]
    problems = _lint(policy)
    assert len(problems) >= 1 and "Gett" in " ".join(problems)


USES = re.compile(r"^\s*(?:-\s*)?uses:\s*(\S+)(.*)$", re.M)
PINNED = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40}$")


def _unpinned(text: str) -> list[str]:
    return [f"{ref}{rest}" for ref, rest in USES.findall(text)
            if not PINNED.match(ref) or not re.match(r"\s+#\s*v\d", rest)]


def test_every_workflow_action_is_pinned_to_a_commit_with_its_tag_beside_it():
    workflows = sorted((ROOT / ".github" / "workflows").glob("*.y*ml"))
    assert workflows
    for path in workflows:
        text = path.read_text()
        assert USES.search(text), path
        assert _unpinned(text) == [], path


def test_the_pin_check_refuses_a_tag():
    assert _unpinned("      - uses: actions/checkout@v4\n") == ["actions/checkout@v4"]
    assert _unpinned("      - uses: actions/checkout@11d5960a326750d5838078e36cf38b85af677262\n") != []
