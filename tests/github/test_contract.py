"""The emulator and the collectors speak GitHub's published API, not a private dialect."""

from __future__ import annotations

from pathlib import Path

import jsonschema
import pytest
import requests
from auditbook.demo.github.company import DEMO_TOKEN, ORG
from auditbook.demo.github.graphql_api import SCHEMA_PATH
from auditbook.sources.github import inventory, pulls
from graphql import (
    GraphQLError,
    GraphQLSchema,
    ParallelVisitor,
    TypeInfo,
    TypeInfoVisitor,
    ValidationContext,
    build_schema,
    get_named_type,
    is_input_object_type,
    is_interface_type,
    is_object_type,
    parse,
    specified_rules,
    visit,
)


def validate_against(schema: GraphQLSchema, query: str) -> list[GraphQLError]:
    """graphql-core's ``validate`` minus its schema check, which GitHub's published SDL fails
    (deprecation rules on interface fields); the same public pieces ``validate`` is built from."""
    document = parse(query)
    errors: list[GraphQLError] = []
    type_info = TypeInfo(schema)
    context = ValidationContext(schema, document, type_info, errors.append)
    visit(document, TypeInfoVisitor(type_info, ParallelVisitor([rule(context) for rule in specified_rules])))
    return errors


QUERIES = {**pulls.QUERIES, **inventory.QUERIES}


@pytest.mark.parametrize("operation", sorted(QUERIES))
def test_collector_queries_validate_against_published_schema(published_schema, operation):
    assert validate_against(published_schema, QUERIES[operation]) == []
    assert parse(QUERIES[operation]).definitions[0].name.value == operation


def test_the_emulator_schema_is_the_one_the_extract_script_cuts():
    """``schema.graphql`` says "do not edit by hand": a field added by hand (not in the script's subset) would
    vanish at the next regeneration, so the committed file must be exactly what the script writes."""
    import importlib.util

    path = Path(__file__).resolve().parents[1] / "data" / "github" / "extract_graphql_subset.py"
    spec = importlib.util.spec_from_file_location("extract_graphql_subset", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    body = SCHEMA_PATH.read_text().split("\n\n", 1)[1]  # after the two-line header
    assert body == module.subset_sdl(module.PUBLISHED.read_text())


def test_validation_catches_a_misspelt_field(published_schema):
    errors = validate_against(published_schema, "{ viewer { logn } }")
    assert len(errors) == 1 and "Did you mean 'login'" in errors[0].message


def test_emulator_schema_is_a_subset_of_published(published_schema):
    ours = build_schema(SCHEMA_PATH.read_text())
    for name, our_type in ours.type_map.items():
        if name.startswith("__"):
            continue
        theirs = published_schema.get_type(name)
        assert theirs is not None and type(theirs) is type(our_type), name
        if is_object_type(our_type) or is_interface_type(our_type) or is_input_object_type(our_type):
            for field_name, field in our_type.fields.items():
                assert field_name in theirs.fields, f"{name}.{field_name}"
                assert str(field.type) == str(theirs.fields[field_name].type), f"{name}.{field_name}"
                for arg_name, arg in getattr(field, "args", {}).items():
                    assert str(arg.type) == str(theirs.fields[field_name].args[arg_name].type), arg_name
        if hasattr(our_type, "values"):
            assert set(our_type.values) <= set(theirs.values), name
    assert get_named_type(ours.query_type).name == "Query"


REST_CASES = [
    ("GET /user", "/user"),
    ("GET /rate_limit", "/rate_limit"),
    ("GET /orgs/{org}", f"/orgs/{ORG}"),
    ("GET /orgs/{org}/repos", f"/orgs/{ORG}/repos"),
    ("GET /orgs/{org}/members", f"/orgs/{ORG}/members"),
    ("GET /orgs/{org}/outside_collaborators", f"/orgs/{ORG}/outside_collaborators"),
    ("GET /orgs/{org}/memberships/{username}", f"/orgs/{ORG}/memberships/alice-ng"),
    ("GET /repos/{owner}/{repo}", f"/repos/{ORG}/payments-api"),
    ("GET /repos/{owner}/{repo}/branches/{branch}", f"/repos/{ORG}/payments-api/branches/main"),
    ("GET /repos/{owner}/{repo}/branches/{branch}/protection", f"/repos/{ORG}/payments-api/branches/main/protection"),
    ("GET /repos/{owner}/{repo}/rules/branches/{branch}", f"/repos/{ORG}/infra-live/rules/branches/main"),
    ("GET /repos/{owner}/{repo}/rulesets", f"/repos/{ORG}/infra-live/rulesets"),
    ("GET /repos/{owner}/{repo}/commits", f"/repos/{ORG}/ledger-service/commits?sha=main"),
    ("GET /repos/{owner}/{repo}/pulls/{pull_number}", f"/repos/{ORG}/payments-api/pulls/5"),
    ("GET /repos/{owner}/{repo}/pulls/{pull_number}/reviews", f"/repos/{ORG}/payments-api/pulls/5/reviews"),
    ("GET /repos/{owner}/{repo}/deployments", f"/repos/{ORG}/payments-api/deployments"),
    ("GET /repos/{owner}/{repo}/secret-scanning/alerts", f"/repos/{ORG}/payments-api/secret-scanning/alerts"),
    ("GET /repos/{owner}/{repo}/issues", f"/repos/{ORG}/incident-response/issues?state=all"),
    ("GET /repos/{owner}/{repo}/issues/{issue_number}/comments", f"/repos/{ORG}/incident-response/issues/1/comments"),
    ("GET /repos/{owner}/{repo}/dependabot/alerts", f"/repos/{ORG}/payments-api/dependabot/alerts"),
    ("GET /repos/{owner}/{repo}/code-scanning/alerts", f"/repos/{ORG}/payments-api/code-scanning/alerts"),
]


@pytest.mark.parametrize(("operation", "path"), REST_CASES, ids=[c[0] for c in REST_CASES])
def test_emulator_rest_responses_match_openapi(emulator, openapi_responses, operation, path):
    body = _get(emulator, path)
    jsonschema.validate(body, openapi_responses[operation])


def test_emulator_rest_detail_responses_match_openapi(emulator, openapi_responses, demo_state):
    repo = demo_state.repos["payments-api"]
    ruleset = demo_state.repos["infra-live"].rulesets[0]
    deployment = repo.deployments[0]
    sha = repo.pulls[5].merge_commit_sha
    for operation, path in [
        ("GET /repos/{owner}/{repo}/rulesets/{ruleset_id}", f"/repos/{ORG}/infra-live/rulesets/{ruleset.id}"),
        ("GET /repos/{owner}/{repo}/commits/{ref}", f"/repos/{ORG}/payments-api/commits/{sha}"),
        ("GET /repos/{owner}/{repo}/commits/{commit_sha}/pulls", f"/repos/{ORG}/payments-api/commits/{sha}/pulls"),
        ("GET /repos/{owner}/{repo}/deployments/{deployment_id}/statuses",
         f"/repos/{ORG}/payments-api/deployments/{deployment.id}/statuses"),
        ("GET /repos/{owner}/{repo}/secret-scanning/alerts",  # a resolved alert, secret hidden
         f"/repos/{ORG}/ledger-service/secret-scanning/alerts?state=resolved&hide_secret=true"),
        ("GET /repos/{owner}/{repo}/dependabot/alerts",  # dismissed alerts, a page from a cursor
         f"/repos/{ORG}/ledger-service/dependabot/alerts?state=dismissed&per_page=1"),
        ("GET /repos/{owner}/{repo}/code-scanning/alerts", f"/repos/{ORG}/ledger-service/code-scanning/alerts"),
    ]:
        jsonschema.validate(_get(emulator, path), openapi_responses[operation])


def _get(emulator, path):
    response = requests.get(emulator.url + path, headers={"Authorization": f"token {DEMO_TOKEN}"}, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()
