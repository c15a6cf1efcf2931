"""The emulator answers like GitHub: auth, rate-limit headers, pagination, GraphQL limits and errors."""

from __future__ import annotations

import requests
from auditbook.demo.github.company import DEMO_TOKEN, ORG

AUTH = {"Authorization": f"Bearer {DEMO_TOKEN}"}


def get(emulator, path, **kwargs):
    return requests.get(emulator.url + path, headers=AUTH, timeout=10, **kwargs)


def graphql(emulator, query, variables=None):
    response = requests.post(emulator.url + "/graphql", json={"query": query, "variables": variables or {}},
                             headers=AUTH, timeout=10)
    assert response.status_code == 200
    return response.json()


def test_unknown_token_is_401(emulator):
    response = requests.get(emulator.url + "/user", headers={"Authorization": "token nope"}, timeout=10)
    assert response.status_code == 401 and response.json()["message"] == "Bad credentials"


def test_user_and_rate_limit_headers(emulator):
    response = get(emulator, "/user")
    assert response.json()["login"] == "auditbook-demo-bot"
    assert response.headers["x-ratelimit-resource"] == "core"
    assert int(response.headers["x-ratelimit-remaining"]) + int(response.headers["x-ratelimit-used"]) == 5000
    assert {"x-ratelimit-limit", "x-ratelimit-reset"} <= set(response.headers)


def test_pagination_links(emulator, demo_state):
    path = f"/repos/{ORG}/payments-api/commits"
    total = len(demo_state.repos["payments-api"].branches["main"])
    first = get(emulator, path, params={"per_page": 10})
    assert len(first.json()) == 10
    assert first.links["next"]["url"].endswith("page=2") and "per_page=10" in first.links["next"]["url"]
    assert first.links["last"]["url"].endswith(f"page={-(-total // 10)}")
    last = requests.get(first.links["last"]["url"], headers=AUTH, timeout=10)
    assert "next" not in last.links and {"prev", "first"} <= set(last.links)
    assert len(get(emulator, path, params={"per_page": 500}).json()) == min(total, 100)
    assert len(get(emulator, path).json()) == 30


def test_unprotected_branch_answers_like_github(emulator):
    response = get(emulator, f"/repos/{ORG}/web-app/branches/main/protection")
    assert response.status_code == 404 and response.json()["message"] == "Branch not protected"


def test_graphql_first_over_100_is_refused(emulator):
    body = graphql(emulator, '{ repository(owner: "demo-fintech", name: "web-app") '
                             "{ pullRequests(first: 101) { totalCount } } }")
    assert body["errors"][0]["type"] == "EXCESSIVE_PAGINATION" and "data" not in body


def test_graphql_cost_and_cursor_pagination(emulator):
    query = """query Page($cursor: String) {
      rateLimit { cost nodeCount }
      repository(owner: "demo-fintech", name: "ledger-service") {
        pullRequests(first: 100, after: $cursor, states: [MERGED]) {
          totalCount pageInfo { hasNextPage endCursor }
          nodes { number reviews(first: 50) { totalCount } commits(first: 100) { totalCount } }
        }
      }
    }"""
    body = graphql(emulator, query)
    assert body["data"]["rateLimit"] == {"cost": 2, "nodeCount": 100 + 100 * 150}
    first_page = body["data"]["repository"]["pullRequests"]
    assert not first_page["pageInfo"]["hasNextPage"]
    small = graphql(emulator, query.replace("first: 100, after", "first: 5, after"))
    cursor = small["data"]["repository"]["pullRequests"]["pageInfo"]["endCursor"]
    after = graphql(emulator, query.replace("first: 100, after", "first: 5, after"), {"cursor": cursor})
    numbers = [n["number"] for n in after["data"]["repository"]["pullRequests"]["nodes"]]
    assert numbers == [n["number"] for n in first_page["nodes"][5:10]]


def test_graphql_errors_look_like_github(emulator):
    missing = graphql(emulator, '{ repository(owner: "demo-fintech", name: "nope") { name } }')
    assert missing["errors"][0]["type"] == "NOT_FOUND" and missing["data"] == {"repository": None}
    misspelt = graphql(emulator, "{ viewer { logn } }")
    assert "logn" in misspelt["errors"][0]["message"]


def test_requests_are_logged_with_operation_names(emulator):
    emulator.clear()
    graphql(emulator, "query WhoAmI { viewer { login } }")
    assert emulator.requests[-1].operation == "WhoAmI" and emulator.requests[-1].status == 200
