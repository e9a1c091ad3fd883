"""One attempt at a monitor webhook: a signed POST with a bounded time, to an address the policy permits.

The client resolves names through the gateway's GuardedResolver, so the address connected to is the one
checked, however the name resolves from one attempt to the next.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import aiohttp

from heliograph import __version__
from heliograph.domain.webhooks import SIGNATURE_HEADER, WebhookPolicy, sign
from heliograph.gateway.upstream import GuardedResolver
from heliograph.netguard import RefusedAddress

__all__ = ["Attempt", "WebhookClient"]

log = logging.getLogger(__name__)
MAX_ERROR_CHARS = 500


@dataclass(frozen=True, slots=True)
class Attempt:
    """How one attempt went: the receiver's status code, or the error that kept it from answering;
    `retry` for a network error or a 5xx, never for a refused target or another answer."""

    status_code: int | None
    error: str | None
    delivered: bool
    retry: bool


class WebhookClient:
    """A pooled aiohttp client for webhooks (create it on the running loop)."""

    def __init__(self, policy: WebhookPolicy, *, timeout_s: float) -> None:
        self._policy = policy
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=64, resolver=GuardedResolver(policy.addresses)),
            timeout=aiohttp.ClientTimeout(total=timeout_s),
            trust_env=False,
        )

    async def send(self, url: str, *, secret: str, body: str) -> Attempt:
        try:
            self._policy.check_host(urlsplit(url).hostname or "")
        except RefusedAddress as exc:
            return Attempt(None, f"refused: {exc}", delivered=False, retry=False)
        headers = {
            "Content-Type": "application/json",
            "User-Agent": f"Heliograph-Webhooks/{__version__}",
            SIGNATURE_HEADER: sign(secret, body, timestamp=int(time.time())),
        }
        try:
            async with self._session.post(
                url, data=body.encode(), headers=headers, allow_redirects=False
            ) as answer:
                await answer.read()
                code = answer.status
        except aiohttp.ClientConnectorError as exc:
            if isinstance(exc.os_error, RefusedAddress):
                return Attempt(None, f"refused: {exc.os_error}", delivered=False, retry=False)
            return Attempt(None, _error(exc), delivered=False, retry=True)
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            return Attempt(None, _error(exc), delivered=False, retry=True)
        if 200 <= code < 300:
            return Attempt(code, None, delivered=True, retry=False)
        return Attempt(code, f"answered {code}", delivered=False, retry=code >= 500)

    async def close(self) -> None:
        await self._session.close()


def _error(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:MAX_ERROR_CHARS]
