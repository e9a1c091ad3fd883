"""`POST /v1/admin/keys`: keys made over HTTP with the operator's token, refused without it, absent unset."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from support import ADMIN_TOKEN, Server, start_server, stop_server


def test_the_admin_token_makes_a_working_key_and_the_new_organization(server: Server) -> None:
    created = server.request(
        "POST",
        "/v1/admin/keys",
        json={"org": "made-over-http", "name": "ops"},
        headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
    )
    assert created.status_code == 201, created.text
    key = created.json()["data"]["key"]
    listed = server.request(
        "POST",
        "/v1/request/count/query",
        json={"filter": "all"},
        headers={"Authorization": f"Bearer {key}"},
    )
    assert listed.status_code == 200, listed.text
    assert listed.json() == {"data": 0, "error": None}


@pytest.mark.parametrize(
    ("headers", "body"),
    [
        ({}, {"org": "x"}),
        ({"Authorization": "Bearer wrong-token-0123456789"}, {"org": "x"}),
        ({"Authorization": ADMIN_TOKEN}, {"org": "x"}),
    ],
    ids=["no token", "wrong token", "no Bearer"],
)
def test_a_missing_or_wrong_token_is_refused(server: Server, headers: dict[str, str], body: object) -> None:
    response = server.request("POST", "/v1/admin/keys", json=body, headers=headers)
    assert response.status_code == 401
    assert response.json() == {"data": None, "error": "Invalid admin token"}


@pytest.fixture
def server_without_admin(database_url: str, tmp_path: Path) -> Iterator[Server]:
    running = start_server(database_url, tmp_path / "server.log", env={"HELIOGRAPH_ADMIN_TOKEN": ""})
    yield running
    stop_server(running)


def test_without_a_configured_token_the_endpoint_does_not_exist(server_without_admin: Server) -> None:
    response = server_without_admin.request(
        "POST",
        "/v1/admin/keys",
        json={"org": "x"},
        headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
    )
    assert response.status_code == 404
