"""The OpenAPI document stays true: every registered route documented, every reference resolvable."""

from __future__ import annotations

import re
from typing import Any

from folionaut import __version__
from folionaut.http.app import create_app
from folionaut.http.openapi_spec import OPERATIONS, registered_routes
from folionaut.settings import Settings

SPEC_MODULE = "folionaut/http/openapi_spec.py"
HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}


def everything_on(settings: Settings) -> Settings:
    """Every feature that adds routes switched on, so the walk sees every route the app can serve."""
    return settings.replace(feature_admin_api=True, feature_ai_chat=True, feature_mcp_server=True,
                            feature_rate_limiting=True, metrics_token="t" * 32)


def test_every_registered_route_is_documented(settings: Settings) -> None:
    routes = registered_routes(create_app(everything_on(settings)))
    assert ("GET", "/api/v1/content/{type}/{slug}") in routes  # the walk really sees the router
    missing = [route for route in routes if route not in OPERATIONS]
    assert not missing, "\n".join(
        f"{method} {path} is registered but not documented: add an entry "
        f'("{method}", "{path}"): {{...}} to OPERATIONS in {SPEC_MODULE} '
        "(copy a neighbouring entry for the shape: tags, summary, operationId, parameters, responses)."
        for method, path in missing
    )


def test_every_documented_route_is_registered(settings: Settings) -> None:
    routes = set(registered_routes(create_app(everything_on(settings))))
    stale = [route for route in OPERATIONS if route not in routes]
    assert not stale, "\n".join(
        f"{method} {path} is documented in OPERATIONS ({SPEC_MODULE}) but no longer registered: "
        "remove or rename the entry." for method, path in stale
    )


async def test_served_document_describes_exactly_the_registered_routes(client: Any) -> None:
    response = await client.get("/api/openapi.json")
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("application/json")
    document = await response.json()
    assert document["openapi"].startswith("3.1.")
    assert document["info"]["version"] == __version__
    served = {(method.upper(), path) for path, item in document["paths"].items() for method in item}
    assert served == set(registered_routes(client.app))
    assert document["components"]["securitySchemes"]["AdminKey"] == {
        "type": "apiKey", "in": "header", "name": "X-Admin-Key",
        "description": document["components"]["securitySchemes"]["AdminKey"]["description"]}
    # The same bytes on a second request (rendered once).
    assert await (await client.get("/api/openapi.json")).read() == await response.read()


async def test_switched_off_features_are_not_advertised(make_client: Any, settings: Settings) -> None:
    client = await make_client(settings.replace(feature_admin_api=False))
    document = await (await client.get("/api/openapi.json")).json()
    assert "/api/v1/content/{type}/{slug}" in document["paths"]
    assert not [path for path in document["paths"] if path.startswith("/api/v1/admin/")]


async def test_document_is_internally_consistent(make_client: Any, settings: Settings) -> None:
    client = await make_client(everything_on(settings))
    document = await (await client.get("/api/openapi.json")).json()
    problems: list[str] = []

    def resolve(ref: str) -> Any:
        node: Any = document
        for part in ref.removeprefix("#/").split("/"):
            if not isinstance(node, dict) or part not in node:
                problems.append(f"unresolvable $ref {ref}")
                return {}
            node = node[part]
        return node

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("$ref"), str):
                resolve(node["$ref"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(document)
    operation_ids: list[str] = []
    schemes = set(document["components"]["securitySchemes"])
    for path, item in document["paths"].items():
        template_params = set(re.findall(r"{(\w+)}", path))
        for method, operation in item.items():
            where = f"{method.upper()} {path}"
            if method not in HTTP_METHODS:
                problems.append(f"{where}: not an HTTP method")
            operation_ids.append(operation.get("operationId", ""))
            if not operation.get("summary") or not operation.get("responses"):
                problems.append(f"{where}: needs a summary and responses")
            params = [resolve(p["$ref"]) if "$ref" in p else p for p in operation.get("parameters", [])]
            declared = {p["name"] for p in params if p.get("in") == "path"}
            if declared != template_params:
                problems.append(f"{where}: path parameters {sorted(declared)} != template {sorted(template_params)}")
            for requirement in operation.get("security", []):
                problems.extend(f"{where}: unknown security scheme {name}" for name in requirement
                                if name not in schemes)
            for status in operation["responses"]:
                if not re.fullmatch(r"[1-5]\d\d", status):
                    problems.append(f"{where}: bad status {status}")
            if path.startswith("/api/v1/admin/") and operation.get("security") != [{"AdminKey": []}]:
                problems.append(f"{where}: admin routes need the AdminKey security requirement")
    duplicates = {op for op in operation_ids if operation_ids.count(op) > 1 or not op}
    if duplicates:
        problems.append(f"operationIds missing or not unique: {sorted(duplicates)}")
    error = document["components"]["schemas"]["Error"]["properties"]["error"]
    assert set(error["properties"]) == {"code", "message", "requestId", "fields", "retryAfter"}
    assert not problems, "\n".join(problems)
