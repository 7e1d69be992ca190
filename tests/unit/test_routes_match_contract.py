"""Every route an HTTP function serves is declared in the contract (aide.contracts.registry, from
which shared/openapi.json is generated), and every declared endpoint is served: same function,
method and path, and the same answer to "does it need credentials"."""

from __future__ import annotations

import ast
import importlib
import re
from pathlib import Path

from aide.contracts.registry import ENDPOINTS
from aide.entrypoints.routing import Router

MAIN = Path(__file__).resolve().parents[2] / "functions" / "main.py"
_PARAMETER = re.compile(r"\{[^}]+\}")


def http_functions() -> dict[str, str]:
    """HTTP function name in main.py → the aide.entrypoints module its body hands over to."""
    found: dict[str, str] = {}
    for node in ast.parse(MAIN.read_text(encoding="utf-8")).body:
        if not isinstance(node, ast.FunctionDef):
            continue
        decorators = [ast.unparse(d) for d in node.decorator_list]
        if not any(d.startswith("https_fn.on_request") for d in decorators):
            continue
        imports = [n for n in ast.walk(node) if isinstance(n, ast.ImportFrom)]
        (entry,) = [
            f"{n.module}.{alias.name}"
            for n in imports
            if n.module == "aide.entrypoints"
            for alias in n.names
        ]
        found[node.name] = entry
    return found


def _shape(path: str) -> str:
    """The path with every parameter name blanked (`/{taskId}` and `/{task_id}` are alike)."""
    return "/" + "/".join(part for part in _PARAMETER.sub("{}", path).split("/") if part)


def served_routes() -> set[tuple[str, str, str, bool]]:
    routes = set()
    for function, module_name in http_functions().items():
        router = importlib.import_module(module_name).router
        assert isinstance(router, Router) and router.resource == function, module_name
        for route in router.routes:
            routes.add((function, route.method, _shape(route.pattern), route.operation is not None))
    return routes


def declared_endpoints() -> set[tuple[str, str, str, bool]]:
    return {
        (endpoint.function, endpoint.method, _shape(endpoint.path), endpoint.authenticated)
        for endpoint in ENDPOINTS
    }


def test_every_http_function_is_found() -> None:
    assert {"health", "tasks", "knowledge", "admin"} <= set(http_functions())


def test_routes_and_contract_list_the_same_endpoints() -> None:
    served, declared = served_routes(), declared_endpoints()
    assert sorted(served - declared) == [], "served but not in aide/contracts/registry.py"
    assert sorted(declared - served) == [], "in aide/contracts/registry.py but not served"


def test_no_endpoint_is_declared_twice() -> None:
    keys = [(e.function, e.method, _shape(e.path)) for e in ENDPOINTS]
    assert len(keys) == len(set(keys))


def test_admin_scopes_are_declared_in_the_contract() -> None:
    """An operation that needs an admin scope says so in the contract (OpenAPI security), and
    the contract names no admin scope a route does not require."""
    from aide.domain.access import ADMIN_SCOPES

    served = set()
    for function, module_name in http_functions().items():
        for route in importlib.import_module(module_name).router.routes:
            scope = route.operation.scope if route.operation is not None else None
            if scope in ADMIN_SCOPES:
                served.add((function, route.method, _shape(route.pattern), scope))
    declared = {
        (e.function, e.method, _shape(e.path), e.scope) for e in ENDPOINTS if e.scope is not None
    }
    assert served == declared
    assert {scope for *_, scope in served} == {"admin:read", "admin:write"}
