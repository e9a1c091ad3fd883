"""The one seam to the outside world: the shared HTTP client and where each route's calls go."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx

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
        "accept-encoding",  # replaced by the client's `identity` (see create_upstream_client)
    }
)


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


def create_upstream_client(*, connect_timeout: float, read_timeout: float) -> httpx.AsyncClient:
    """One pooled client for every upstream call; bounded timeouts, no redirects, no env proxies."""
    return httpx.AsyncClient(
        timeout=httpx.Timeout(
            connect=connect_timeout, read=read_timeout, write=read_timeout, pool=connect_timeout
        ),
        limits=httpx.Limits(max_connections=512, max_keepalive_connections=128),
        follow_redirects=False,
        trust_env=False,
        # Uncompressed answers let the gateway read usage from the bytes it relays.
        headers={"Accept-Encoding": "identity"},
    )


def forwardable_headers(headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The caller's headers minus hop-by-hop ones and every `Helicone-*` header."""
    return [
        (k, v) for k, v in headers if k.lower() not in HOP_BY_HOP and not k.lower().startswith("helicone-")
    ]


def _join(base: str, path: str, query: str) -> str:
    url = f"{base.rstrip('/')}/{path.lstrip('/')}"
    return f"{url}?{query}" if query else url
