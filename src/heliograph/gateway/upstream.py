"""The one seam to the outside world: the shared HTTP client and where each route's calls go.

The client is aiohttp's: its C-accelerated HTTP parser and connection pool cost a quarter of httpx's
CPU per call at one caller and a tenth at 32 (httpcore checks every pooled connection's socket on
each request), and that CPU is most of what the gateway adds to a call.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver
from multidict import CIMultiDict

from heliograph.errors import Forbidden, InvalidInput
from heliograph.netguard import AddressPolicy, RefusedAddress

__all__ = [
    "HOP_BY_HOP",
    "GuardedResolver",
    "Route",
    "Upstreams",
    "create_upstream_client",
    "forwardable_headers",
    "provider_of_url",
    "refused",
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
    guarded: bool = False  # a caller's own target: only addresses the AddressPolicy permits


@dataclass(frozen=True, slots=True)
class Upstreams:
    """Base URLs, following each SDK's convention (OpenAI's includes /v1, Anthropic's does not)."""

    openai_base_url: str
    anthropic_base_url: str
    policy: AddressPolicy = field(default_factory=AddressPolicy)

    def openai(self, path: str, query: str) -> Route:
        return Route(_join(self.openai_base_url, path, query), "OPENAI")

    def anthropic(self, path: str, query: str) -> Route:
        return Route(_join(self.anthropic_base_url, f"v1/{path}", query), "ANTHROPIC")

    def target(self, target_url: str | None, path: str, query: str) -> Route:
        """`/gateway/<path>` goes to the `Helicone-Target-Url` header's base URL, if the policy permits.

        A host name is checked on each address it resolves to (GuardedResolver); an address literal,
        which is never resolved, here.
        """
        if not target_url:
            raise InvalidInput("Missing Helicone-Target-Url header: the base URL to forward /gateway/* to")
        parts = urlsplit(target_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise InvalidInput(
                "Invalid Helicone-Target-Url: expected an http(s) URL such as https://api.example.com/v1"
            )
        host = parts.hostname or ""
        try:
            literal = ipaddress.ip_address(host)
        except ValueError:
            literal = None
        if literal is not None and not self.policy.permits(host, literal):
            raise refused(RefusedAddress(f"{host} is an internal address"))
        return Route(_join(target_url, path, query), provider_of_url(target_url), guarded=True)


def refused(exc: RefusedAddress) -> Forbidden:
    """The 403 for a target the address policy refuses, naming the setting that opens it."""
    return Forbidden(
        f"The gateway does not forward to internal addresses: {exc}. An operator can allow a host or "
        "network with HELIOGRAPH_GATEWAY_ALLOWED_HOSTS."
    )


class GuardedResolver(AbstractResolver):
    """Resolves names as aiohttp does, keeping only the addresses `policy` permits.

    The connector connects to exactly the addresses returned here, so the check holds for the address
    connected to, however the name resolves from one call to the next.
    """

    def __init__(self, policy: AddressPolicy) -> None:
        self._policy = policy
        self._inner = DefaultResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self._inner.resolve(host, port, family)
        permitted = [result for result in results if self._policy.permits(host, result["host"])]
        if not permitted:
            raise RefusedAddress(f"{host} resolves to an internal address ({results[0]['host']})")
        return permitted

    async def close(self) -> None:
        await self._inner.close()


def provider_of_url(url: str) -> str:
    """OPENAI or ANTHROPIC for their own hosts, CUSTOM for any other OpenAI-compatible upstream."""
    host = urlsplit(url).hostname or ""
    if host == "api.openai.com" or host.endswith(".openai.com"):
        return "OPENAI"
    if host == "api.anthropic.com" or host.endswith(".anthropic.com"):
        return "ANTHROPIC"
    return "CUSTOM"


def create_upstream_client(
    *, connect_timeout: float, read_timeout: float, policy: AddressPolicy | None = None
) -> aiohttp.ClientSession:
    """One pooled client for upstream calls (create it on the running loop); bounded timeouts.

    With a `policy`, names resolve only to the addresses it permits (for callers' own targets).
    `connect_timeout` bounds taking a pooled connection or opening one, `read_timeout` each silence
    while the answer comes (so a long stream whose chunks keep coming is never cut). No environment
    proxies, no decompression (the compressed bytes are relayed as sent), no headers of its own.
    """
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(
            limit=512, limit_per_host=0, resolver=None if policy is None else GuardedResolver(policy)
        ),
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
