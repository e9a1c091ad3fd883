"""The gateway's feedback route (`<gateway base>/feedback`; Heliograph's `/v1/feedback` takes feedback
records instead, issue 17): answered by
Heliograph with the key in Helicone-Auth, never forwarded to the provider; and the legacy `helicone`
package (1.0.14, with its own old openai, from a venv of its own) logging and rating through it."""

from __future__ import annotations

import subprocess
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from client_venv import client_venv
from support import Cast

LEGACY_SCRIPT = Path(__file__).parents[1] / "clients" / "helicone_legacy_call.py"

PATHS = ["/openai/v1/feedback", "/anthropic/v1/feedback", "/gateway/feedback"]


def _post(cast: Cast, path: str, body: Any, key: str | None = None) -> httpx.Response:
    headers = {"Helicone-Auth": f"Bearer {key or cast.alice.key}", "Authorization": "Bearer sk-upstream"}
    return cast.outsider.post(path, json=body, headers=headers)


def _scores(cast: Cast, request_id: str) -> dict[str, int]:
    scores: dict[str, int] = cast.alice.client.get(f"/v1/request/{request_id}").json()["data"]["scores"]
    return scores


@pytest.mark.parametrize("path", PATHS)
def test_a_rating_lands_on_the_request_as_its_feedback_score(cast: Cast, path: str) -> None:
    request_id = cast.alice.log()
    response = _post(cast, path, {"helicone-id": request_id, "rating": False})
    assert response.status_code == 200
    assert response.json() == {"data": None, "error": None}
    assert _scores(cast, request_id) == {"helicone-score-feedback": 0}
    assert _post(cast, path, {"helicone-id": request_id, "rating": True}).status_code == 200
    assert _scores(cast, request_id) == {"helicone-score-feedback": 1}


def test_a_named_value_as_the_legacy_package_sends_it_is_a_score_of_that_name(cast: Cast) -> None:
    request_id = cast.alice.log()
    body = {"helicone-id": request_id, "name": "accuracy", "value": 7, "data-type": "numerical"}
    assert _post(cast, "/openai/v1/feedback", body).status_code == 200
    assert _scores(cast, request_id) == {"accuracy": 7}


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        pytest.param({"rating": True}, 422, "helicone-id", id="no-id"),
        pytest.param({"helicone-id": "R", "rating": "yes"}, 422, "rating", id="rating-text"),
        pytest.param({"helicone-id": "R"}, 400, "give rating", id="nothing-to-record"),
        pytest.param({"helicone-id": "R", "name": "a"}, 400, "name and value", id="name-alone"),
        pytest.param({"helicone-id": "not-a-uuid", "rating": True}, 400, "UUID", id="bad-id"),
        pytest.param({"helicone-id": str(uuid.uuid4()), "rating": True}, 404, "not found", id="unknown"),
    ],
)
def test_a_bad_rating_gets_a_clear_4xx_and_changes_nothing(
    cast: Cast, body: dict[str, Any], status: int, message: str
) -> None:
    request_id = cast.alice.log()
    body = {k: request_id if v == "R" else v for k, v in body.items()}
    response = _post(cast, "/openai/v1/feedback", body)
    assert response.status_code == status
    assert message in response.json()["error"]
    assert _scores(cast, request_id) == {}


def test_another_organizations_request_is_not_found_and_keeps_no_rating(cast: Cast) -> None:
    request_id = cast.bob.log()
    response = _post(cast, "/gateway/feedback", {"helicone-id": request_id, "rating": True})
    assert response.status_code == 404
    assert cast.bob.client.get(f"/v1/request/{request_id}").json()["data"]["scores"] == {}


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({}, id="no-key"),
        pytest.param({"Authorization": "Bearer KEY"}, id="key-in-authorization"),
        pytest.param({"Helicone-Auth": "Bearer sk-hg-wrong"}, id="unknown-key"),
    ],
)
def test_the_key_must_come_in_helicone_auth(cast: Cast, headers: dict[str, str]) -> None:
    request_id = cast.alice.log()
    headers = {k: v.replace("KEY", cast.alice.key) for k, v in headers.items()}
    response = cast.outsider.post(
        "/openai/v1/feedback", json={"helicone-id": request_id, "rating": True}, headers=headers
    )
    assert response.status_code == 401
    assert "Helicone-Auth" in response.json()["error"] or "Invalid API key" in response.json()["error"]
    assert _scores(cast, request_id) == {}


def test_the_legacy_helicone_package_logs_and_its_rating_lands_on_the_request(cast: Cast) -> None:
    python = client_venv("helicone-1.0.14", ["helicone==1.0.14"])
    request_id = str(uuid.uuid4())
    run = subprocess.run(
        [str(python), str(LEGACY_SCRIPT), cast.alice.server.base_url, cast.alice.key, request_id],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.stdout.strip().splitlines()[-1] == "{'data': None, 'error': None}"  # log_feedback's answer
    row = cast.alice.client.get(f"/v1/request/{request_id}").json()["data"]
    assert row["scores"] == {"rating": 1}
    assert row["response_id"] == "chatcmpl-legacy" and row["total_tokens"] == 10
    assert {k.lower(): v for k, v in row["properties"].items()}["client"] == "helicone-1.0.14"
