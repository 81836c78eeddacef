"""The OpenAPI document stays true: every registered route documented, every reference resolvable."""

from __future__ import annotations

import re
from typing import Any

from aiohttp import web

from folionaut import __version__
from folionaut.http.app import ROUTES, create_app
from folionaut.http.routing import Access, Route
from folionaut.settings import Settings

HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}
#: Methods aiohttp adds on its own (HEAD with every GET) that need no declaration.
IMPLICIT_METHODS = frozenset({"HEAD"})


def everything_on(settings: Settings) -> Settings:
    """Every feature that adds routes switched on, so the walk sees every route the app can serve."""
    return settings.replace(feature_admin_api=True, feature_ai_chat=True, feature_mcp_server=True,
                            feature_rate_limiting=True, metrics_token="t" * 32)


def registered_routes(app: web.Application) -> list[tuple[str, str]]:
    """Every (METHOD, path template) the app's router serves."""
    routes: list[tuple[str, str]] = []
    for route in app.router.routes():
        resource = route.resource
        if resource is not None and route.method not in IMPLICIT_METHODS:
            routes.append((route.method, resource.canonical))
    return routes


def test_every_route_is_registered_from_the_declared_table(settings: Settings) -> None:
    """Nothing reaches the router except through ROUTES (so every route has its facts and its operation)."""
    routes = registered_routes(create_app(everything_on(settings)))
    assert ("GET", "/api/v1/content/{type}/{slug}") in routes  # the walk really sees the router
    declared = {(route.method, route.path) for route in ROUTES}
    undeclared = [route for route in routes if route not in declared]
    assert not undeclared, "\n".join(
        f"{method} {path} is on the router but not declared: add a Route to its module's ROUTES "
        "(folionaut/http/routes/*.py), which folionaut/http/app.py gathers." for method, path in undeclared)
    assert len(routes) == len(set(routes)) == len(ROUTES)


def test_every_declared_route_has_its_facts_and_its_operation() -> None:
    problems: list[str] = []
    for route in ROUTES:
        where = f"{route.method} {route.path}"
        assert isinstance(route, Route) and isinstance(route.access, Access), where
        operation = route.operation
        for needed in ("summary", "operationId", "tags", "responses"):
            if not operation.get(needed):
                problems.append(f"{where}: its operation needs {needed!r}")
        if "security" in operation:
            problems.append(f"{where}: security comes from access=, not from the operation")
        if route.limiter is not None and "429" not in operation.get("responses", {}):
            problems.append(f"{where}: a rate-limited route answers 429; document it")
        if route.method in ("POST", "PUT", "DELETE") and route.access is Access.WRITE and not route.idempotent \
                and not route.path.startswith(("/api/mcp", "/api/v1/admin/chat")):
            problems.append(f"{where}: admin content writes honour Idempotency-Key (idempotent=True)")
    assert not problems, "\n".join(problems)


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
            # Signing in to the admin web app is how one gets a session: those routes are open.
            schemes_used = [list(requirement) for requirement in operation.get("security", [])]
            if path.startswith("/api/v1/admin/") and path != "/api/v1/admin/session" \
                    and schemes_used != [["AdminKey"], ["Bearer"], ["AdminSession"]]:
                problems.append(f"{where}: admin routes take the admin key, a bearer token or the web app's session")
            if "security" in operation and not {"401", "403"} <= set(operation["responses"]):
                problems.append(f"{where}: a route with security answers 401 and 403; document them")
    duplicates = {op for op in operation_ids if operation_ids.count(op) > 1 or not op}
    if duplicates:
        problems.append(f"operationIds missing or not unique: {sorted(duplicates)}")
    error = document["components"]["schemas"]["Error"]["properties"]["error"]
    assert set(error["properties"]) == {"code", "message", "requestId", "fields", "retryAfter"}
    assert not problems, "\n".join(problems)


async def test_security_and_its_refusals_are_derived_from_access(client: Any) -> None:
    """Each route's security names the scope its access needs, as the edge checks it; 401 and 403 documented."""
    document = await (await client.get("/api/openapi.json")).json()
    paths = document["paths"]
    expected = {
        ("get", "/api/v1/admin/content"): "read", ("post", "/api/v1/admin/content"): "write",
        ("get", "/api/v1/admin/content/{id}/history"): "read", ("delete", "/api/v1/admin/chat/sessions/{id}"): "write",
        ("get", "/api/v1/admin/tokens"): "root", ("post", "/api/mcp"): "read", ("get", "/api/metrics"): "metrics",
    }
    for (method, path), scope in expected.items():
        operation = paths[path][method]
        assert operation["security"] == [{"AdminKey": []}, {"Bearer": [scope]}, {"AdminSession": [scope]}], \
            (method, path)
        assert {"401", "403"} <= set(operation["responses"]), (method, path)
    assert "security" not in paths["/api/v1/content"]["get"]
    assert "403" not in paths["/api/v1/content"]["get"]["responses"]
    schemes = document["components"]["securitySchemes"]
    assert schemes["Bearer"]["type"] == "http" and schemes["Bearer"]["scheme"] == "bearer"
    assert "FORBIDDEN" in document["components"]["schemas"]["Error"]["properties"]["error"]["properties"]["code"][
        "enum"]
    unauthorized = document["components"]["responses"]["Unauthorized"]
    assert "WWW-Authenticate" in unauthorized["headers"]
    created = paths["/api/v1/admin/tokens"]["post"]
    assert "Idempotency-Key" not in str(created.get("parameters", []))  # the secret is never stored for replays
