"""The session page over HTTP shows each request as a conversation: captured client calls replayed
through the real server, and a hostile message that must stay text."""

from __future__ import annotations

import json
import re
import uuid
from html import unescape
from pathlib import Path
from typing import Any

from dashboard.dashboard_support import signed_in
from support import Cast, log_body, session_headers

CAPTURES = Path(__file__).parents[1] / "fixtures" / "captured"  # copied from the project's shared fixtures
CAPTURED_SESSION = "3f2c1d3e-1111-4222-8333-444455556666"


def test_replayed_manual_logger_calls_read_as_conversations(cast: Cast) -> None:
    captures: list[dict[str, Any]] = json.loads((CAPTURES / "manual_logger.json").read_text())["captures"]
    for capture in captures:
        headers = {name: value for name, value in capture["headers"] if name.lower().startswith("helicone-")}
        response = cast.alice.client.post(capture["path"], json=capture["body_json"], headers=headers)
        assert response.status_code == 200, response.text
    with signed_in(cast.alice) as browser:
        html = browser.get(f"/dashboard/sessions/{CAPTURED_SESSION}").text
    texts = re.findall(r'<div class="chat-text">([^<]*)</div>', html)
    roles = [unescape(r) for r in re.findall(r'<div class="chat-role">([^<]*)</div>', html)]
    # log_request (chat, answered), log_request (custom prompt "hi", no chat answer), log_builder (streamed)
    assert roles == ["system", "user", "assistant", "user", "system", "user", "assistant"]
    assert texts == [
        "You are terse.",
        "Say hello",
        "Hello from the catcher!",
        "hi",
        "You are terse.",
        "Say hello",
        "Hello",  # "Hel" + "lo", put back together from the stream's chunks
    ]
    assert html.count("<summary>Raw request body</summary>") == 3


def test_a_hostile_message_is_shown_as_text(cast: Cast) -> None:
    hostile = "<script>alert('x')</script><img src=x onerror=alert(1)>"
    session_id = f"xss-{uuid.uuid4()}"
    body = log_body(content=hostile)
    body["providerResponse"]["json"]["choices"][0]["message"]["content"] = hostile
    response = cast.alice.client.post("/oai/v1/log", json=body, headers=session_headers(session_id, "/", "X"))
    assert response.status_code == 200
    with signed_in(cast.alice) as browser:
        html = browser.get(f"/dashboard/sessions/{session_id}").text
    assert "<script>alert" not in html and "<img src=x" not in html
    escaped = "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;"
    assert html.count(f'<div class="chat-text">{escaped}</div>') == 2  # the question and the answer
