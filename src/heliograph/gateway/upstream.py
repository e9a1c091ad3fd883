"""The one seam to the outside world: the shared HTTP client and where each route's calls go.

The client is aiohttp's: its C-accelerated HTTP parser and connection pool cost a quarter of httpx's
CPU per call at one caller and a tenth at 32 (httpcore checks every pooled connection's socket on
each request), and that CPU is most of what the gateway adds to a call.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

import aiohttp
from multidict import CIMultiDict

from heliograph.errors import InvalidInput

__all__ = [
    "HOP_BY_HOP",
    "Route",
    "Upstreams",
    "create_upstream_client",
    "forwardable_headers",
    "provider_of_url",
]

# Headers that describe one hop, or that the gateway sets itself, are never forwarded.
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "host",
        "content-length",
        "accept-encoding",  # replaced by `identity` (see forwardable_headers)
    }
)
# Uncompressed answers let the gateway read usage from the bytes it relays.
_IDENTITY = ("Accept-Encoding", "identity")


@dataclass(frozen=True, slots=True)
class Route:
    """Where one proxied call goes and which provider it is logged as."""

    url: str
    provider: str


@dataclass(frozen=True, slots=True)
class Upstreams:
    """Base URLs, following each SDK's convention (OpenAI's includes /v1, Anthropic's does not)."""

    openai_base_url: str
    anthropic_base_url: str

    def openai(self, path: str, query: str) -> Route:
        return Route(_join(self.openai_base_url, path, query), "OPENAI")

    def anthropic(self, path: str, query: str) -> Route:
        return Route(_join(self.anthropic_base_url, f"v1/{path}", query), "ANTHROPIC")

    @staticmethod
    def target(target_url: str | None, path: str, query: str) -> Route:
        """`/gateway/<path>` goes to the `Helicone-Target-Url` header's base URL."""
        if not target_url:
            raise InvalidInput("Missing Helicone-Target-Url header: the base URL to forward /gateway/* to")
        parts = urlsplit(target_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise InvalidInput(
                "Invalid Helicone-Target-Url: expected an http(s) URL such as https://api.example.com/v1"
            )
        return Route(_join(target_url, path, query), provider_of_url(target_url))


def provider_of_url(url: str) -> str:
    """OPENAI or ANTHROPIC for their own hosts, CUSTOM for any other OpenAI-compatible upstream."""
    host = urlsplit(url).hostname or ""
    if host == "api.openai.com" or host.endswith(".openai.com"):
        return "OPENAI"
    if host == "api.anthropic.com" or host.endswith(".anthropic.com"):
        return "ANTHROPIC"
    return "CUSTOM"


def create_upstream_client(*, connect_timeout: float, read_timeout: float) -> aiohttp.ClientSession:
    """One pooled client for every upstream call (create it on the running loop); bounded timeouts.

    `connect_timeout` bounds taking a pooled connection or opening one, `read_timeout` each silence
    while the answer comes (so a long stream whose chunks keep coming is never cut). No environment
    proxies, no decompression (the compressed bytes are relayed as sent), no headers of its own.
    """
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=512, limit_per_host=0),
        timeout=aiohttp.ClientTimeout(total=None, connect=connect_timeout, sock_read=read_timeout),
        auto_decompress=False,
        trust_env=False,
        skip_auto_headers=("User-Agent", "Accept", "Content-Type"),
    )


def forwardable_headers(headers: list[tuple[str, str]]) -> CIMultiDict[str]:
    """The caller's headers (lowercase names, as ASGI gives them) minus hop-by-hop ones and every
    `Helicone-*` header, asking for no compression."""
    forwarded = CIMultiDict(
        (k, v) for k, v in headers if k not in HOP_BY_HOP and not k.startswith("helicone-")
    )
    forwarded.add(*_IDENTITY)
    return forwarded


def _join(base: str, path: str, query: str) -> str:
    url = f"{base.rstrip('/')}/{path.lstrip('/')}"
    return f"{url}?{query}" if query else url
