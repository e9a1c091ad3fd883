"""What the dashboard tests share: signed-in clients, sessions logged through the API, page parsing."""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from html import unescape

import httpx

from heliograph.dashboard.rendering import render_html
from heliograph.dashboard.routes.session import PAGE_LIMITS
from heliograph.dashboard.session_view import session_view
from heliograph.domain.records import new_record
from heliograph.domain.store import SessionSummary, StoredRequest
from heliograph.storage.sql.store import SqlStore
from support import Server, Tenant, session_headers

SIGN_IN = "/dashboard/sign-in"
START_MS = 1_767_225_600_000
COOKIE = "heliograph_dashboard"


@contextmanager
def signed_in(tenant: Tenant) -> Iterator[httpx.Client]:
    """A browser-like client (cookies kept, redirects not followed, its Origin sent on each post, as
    browsers do) signed in with the tenant's key."""
    with tenant.server.client(headers=origin(tenant.server)) as client:
        response = client.post(SIGN_IN, data={"api_key": tenant.key})
        assert response.status_code == 303, response.text
        assert COOKIE in client.cookies
        yield client


def origin(server: Server) -> dict[str, str]:
    """The Origin header a browser sends with a form post from the dashboard's own pages."""
    return {"Origin": server.base_url}


def log_session(
    tenant: Tenant,
    *,
    requests: int = 1,
    name: str = "Agent",
    paths: tuple[str, ...] = ("/plan", "/plan/search", "/answer"),
    prefix: str = "s",
    start_ms: int = 1_767_225_600_000,
    properties: dict[str, str] | None = None,
    prompt_tokens: int = 10,
) -> str:
    """Log a session of `requests` calls (paths taken in turn, one second apart); return its id."""
    session_id = f"{prefix}-{uuid.uuid4()}"
    extra = {f"Helicone-Property-{key}": value for key, value in (properties or {}).items()}
    for i in range(requests):
        headers = session_headers(session_id, paths[i % len(paths)], name, **extra)
        tenant.log(headers=headers, start_ms=start_ms + i * 1000, prompt_tokens=prompt_tokens)
    return session_id


def rate(tenant: Tenant, session_id: str, rating: bool | None) -> None:
    if rating is None:
        return
    response = tenant.client.post(f"/v1/session/{session_id}/feedback", json={"rating": rating})
    assert response.status_code == 200, response.text


def listed_session_ids(html: str) -> list[str]:
    """The session ids of a sessions table, in order."""
    return [unescape(m) for m in re.findall(r'<code class="id">([^<]*)</code>', html)]


def page_title(html: str) -> str:
    match = re.search(r"<h1>(.*?)</h1>", html, re.S)
    assert match, html[:500]
    return unescape(match.group(1)).strip()


def revoke_key(server: Server, tenant: Tenant) -> None:
    """Revoke the tenant's key directly in the store (as `heliograph keys revoke` does)."""

    async def run() -> None:
        store = SqlStore.from_url(server.database_url)
        try:
            keys = await store.list_api_keys(org_name=tenant.name)
            (info,) = [k for k in keys if tenant.key.startswith(k.prefix) and k.revoked_at_ms is None]
            assert await store.revoke_api_key(key_id=info.id)
        finally:
            await store.close()

    asyncio.run(run())


def stored_request(
    number: int,
    start_offset: int,
    latency: int,
    path: str = "/step",
    *,
    request_body: str = '{"messages": []}',
    response_body: str = "not json <b>",
    **properties: str,
) -> StoredRequest:
    """Request `number` of session "s", starting `start_offset` ms after START_MS, for page layouts."""
    record = new_record(
        org_id="org",
        created_at_ms=START_MS + start_offset,
        request_id=f"r-{number:05d}",
        session_id="s",
        session_name="Long",
        session_path=path,
        latency_ms=latency,
        prompt_tokens=1,
        completion_tokens=1,
        cost_nano_usd=1,
        request_body=request_body,
        response_body=response_body,
        properties=properties,
    )
    return StoredRequest(record=record, scores={})


def summary_of(stored: list[StoredRequest]) -> SessionSummary:
    return SessionSummary(
        session_id="s",
        name="Long",
        first_request_id=stored[0].record.request_id,
        created_at_ms=stored[0].record.created_at_ms,
        latest_request_created_at_ms=stored[-1].record.created_at_ms,
        request_count=len(stored),
        prompt_tokens=len(stored),
        completion_tokens=len(stored),
        total_tokens=2 * len(stored),
        cost_nano_usd=len(stored),
        latency_sum_ms=sum(s.record.latency_ms for s in stored),
        feedback=None,
        user_ids=[],
    )


def session_page(stored: list[StoredRequest]) -> str:
    """The session page's HTML for these requests, rendered without a server."""
    context = {"viewer": None, "section": "sessions", "feedback_url": "/f", "limits": PAGE_LIMITS}
    return render_html("session.html", {**context, "session": session_view(summary_of(stored), stored)})
