"""One answer per mistake on every endpoint that takes a JSON body (issue 14, bug 5; docs/errors.md).

| mistake                                   | answer                                              |
| ----------------------------------------- | --------------------------------------------------- |
| the body does not parse as JSON           | 400 `Invalid JSON body`                             |
| a Content-Type that is not JSON           | 415 `Unsupported Content-Type '<type>': send ...`   |
| no Content-Type                           | not a mistake: the body is read as JSON             |
| required fields missing                   | 422 `Validation failed: <field>: Field required; …` |

The endpoints are read from the app itself, so a new one is covered when it is added.
"""

from __future__ import annotations

import json
import re
from typing import Any

import httpx
import pytest
from fastapi.routing import APIRoute

from heliograph.api.routes.ingest import CUSTOM_TRACE_PATHS
from heliograph.api.routing import HeliconeAuthRoute
from heliograph.api.schemas import ErrorPublic
from heliograph.app import ROUTERS
from heliograph.errors import error_body
from heliograph.ingest.asynclog import PROVIDERS
from ingest_support import snapshot
from support import ADMIN_TOKEN, Cast, Tenant

ASYNC_LOG_PATHS = [*(f"/{prefix}/v1/log" for prefix in PROVIDERS), *CUSTOM_TRACE_PATHS]
ADMIN_PATH = "/v1/admin/keys"
_NO_REQUEST = "00000000-0000-4000-8000-000000000000"
PATH_VALUES = {"session_id": "no-such-session", "sessionId": "no-such-session"} | {
    "request_id": _NO_REQUEST,
    "requestId": _NO_REQUEST,
}


HELICONE_AUTH_PATHS: set[str] = set()  # routes beside the gateway: the key is in Helicone-Auth


def _json_routes() -> list[tuple[str, str, list[str]]]:
    """(method, path template, required body fields) of every JSON API route that takes a body."""
    routes: list[tuple[str, str, list[str]]] = []
    for router in ROUTERS:
        for route in router.routes:
            if isinstance(route, HeliconeAuthRoute):
                HELICONE_AUTH_PATHS.add(route.path_format)
            if isinstance(route, APIRoute) and route.body_field is not None:
                model: Any = route.body_field.field_info.annotation
                required = [
                    field.alias or name for name, field in model.model_fields.items() if field.is_required()
                ]
                routes.extend((method, route.path_format, required) for method in sorted(route.methods or ()))
    return routes


JSON_ROUTES = _json_routes()
ENDPOINTS = [
    *(pytest.param(method, path, id=f"{method} {path}") for method, path, _ in JSON_ROUTES),
    *(pytest.param("POST", path, id=f"POST {path}") for path in ASYNC_LOG_PATHS),
]
REQUIRED = {
    **{(method, path): required for method, path, required in JSON_ROUTES},
    **{("POST", path): ["providerRequest", "providerResponse"] for path in ASYNC_LOG_PATHS},
}


def _send(
    tenant: Tenant, method: str, template: str, content: bytes, content_type: str | None
) -> httpx.Response:
    path = re.sub(r"{(\w+)[^}]*}", lambda m: PATH_VALUES.get(m.group(1), "no-such-thing"), template)
    headers = {} if content_type is None else {"Content-Type": content_type}
    if path == ADMIN_PATH:
        headers["Authorization"] = f"Bearer {ADMIN_TOKEN}"
        with tenant.server.client() as admin:
            return admin.request(method, path, content=content, headers=headers)
    if template in HELICONE_AUTH_PATHS:
        headers["Helicone-Auth"] = f"Bearer {tenant.key}"
        with tenant.server.client() as beside_the_gateway:
            return beside_the_gateway.request(method, path, content=content, headers=headers)
    return tenant.client.request(method, path, content=content, headers=headers)


def test_the_one_envelope_builder_writes_the_documented_error_model() -> None:
    assert ErrorPublic.model_validate_json(error_body("Invalid JSON body")) == ErrorPublic(
        error="Invalid JSON body"
    )
    assert json.loads(error_body("x")) == {"data": None, "error": "x"}


def test_every_json_endpoint_is_covered() -> None:
    paths = {path for _, path, _ in JSON_ROUTES}
    assert {
        "/v1/session/query",
        "/v1/session/{session_id}/feedback",
        "/v1/request/query",
        ADMIN_PATH,
    } <= paths


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
class TestOneAnswerPerMistake:
    def test_each_mistake_has_its_one_answer_and_stores_nothing(
        self, cast: Cast, method: str, path: str
    ) -> None:
        alice = cast.alice
        before = snapshot(alice)

        for content_type in ("application/json", None):
            response = _send(alice, method, path, b'{"rating": tru', content_type)
            assert (response.status_code, response.json()) == (
                400,
                {"data": None, "error": "Invalid JSON body"},
            )

        response = _send(alice, method, path, b"rating=true", "application/x-www-form-urlencoded")
        assert response.status_code == 415, response.text
        assert response.json() == {
            "data": None,
            "error": "Unsupported Content-Type 'application/x-www-form-urlencoded': "
            "send the body as application/json",
        }

        required = REQUIRED[(method, path)]
        with_type, without_type = (_send(alice, method, path, b"{}", t) for t in ("application/json", None))
        assert (with_type.status_code, with_type.json()) == (without_type.status_code, without_type.json())
        if required:
            assert with_type.status_code == 422, with_type.text
            # The message names the first five problems (api/errors.py), as POST /v1/monitors has seven.
            missing = "; ".join(f"{name}: Field required" for name in required[:5])
            assert with_type.json() == {"data": None, "error": f"Validation failed: {missing}"}

        assert snapshot(alice) == before
