"""What the dashboard tests share: signed-in clients, sessions logged through the API, page parsing."""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from html import unescape

import httpx

from heliograph.storage.sql.store import SqlStore
from support import Server, Tenant, session_headers

SIGN_IN = "/dashboard/sign-in"
COOKIE = "heliograph_dashboard"


@contextmanager
def signed_in(tenant: Tenant) -> Iterator[httpx.Client]:
    """A browser-like client (cookies kept, redirects not followed, its Origin sent on each post, as
    browsers do) signed in with the tenant's key."""
    with httpx.Client(base_url=tenant.server.base_url, headers=origin(tenant.server), timeout=30) as client:
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
