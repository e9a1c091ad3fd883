"""Which network addresses Heliograph may connect to on a caller's behalf (gateway targets, webhooks).

A caller may name any URL, so a self-hosted server must not become their way into its own network:
by default every address that is not globally routable (loopback, private, link-local such as the
cloud metadata service 169.254.169.254, multicast, unspecified, reserved; IPv4 and IPv6, including
IPv4 addresses wrapped in IPv6) is refused. An operator opens specific hosts or networks with
`HELIOGRAPH_GATEWAY_ALLOWED_HOSTS`. Callers check the address they actually connect to, not only
the name, so a name that resolves differently later (DNS rebinding) gains nothing.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

__all__ = ["AddressPolicy", "RefusedAddress", "is_internal_address"]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class RefusedAddress(OSError):
    """A connection to an internal address that the policy does not open (an OSError, as a failed
    resolution is, so HTTP clients pass it through as a connection error)."""


def is_internal_address(address: str | IPAddress) -> bool:
    """Whether `address` is anything but a globally routable unicast address."""
    ip = ipaddress.ip_address(address) if isinstance(address, str) else address
    if isinstance(ip, ipaddress.IPv6Address):
        # IPv4 wrapped in IPv6 (::ffff:a.b.c.d, 6to4, Teredo's client) reaches the IPv4 address.
        embedded = ip.ipv4_mapped or ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
        if embedded is not None:
            return is_internal_address(embedded)
    return ip.is_multicast or not ip.is_global


@dataclass(frozen=True, slots=True)
class AddressPolicy:
    """Internal addresses are refused unless their host name or network is allowed."""

    allowed_hosts: frozenset[str] = frozenset()
    allowed_networks: tuple[IPNetwork, ...] = ()

    @classmethod
    def from_setting(cls, value: str | None) -> AddressPolicy:
        """Parse a comma-separated list of host names, addresses and CIDR networks (`vllm.lan,10.0.0.0/8`)."""
        hosts: set[str] = set()
        networks: list[IPNetwork] = []
        for item in (part.strip().lower() for part in (value or "").split(",")):
            if not item:
                continue
            try:
                networks.append(ipaddress.ip_network(item.strip("[]"), strict=False))
            except ValueError:
                hosts.add(item.rstrip("."))
        return cls(frozenset(hosts), tuple(networks))

    def permits(self, host: str, address: str | IPAddress) -> bool:
        """Whether a connection to `host` may go to `address` (one of its resolved addresses)."""
        ip = ipaddress.ip_address(address) if isinstance(address, str) else address
        if not is_internal_address(ip) or host.lower().rstrip(".") in self.allowed_hosts:
            return True
        return any(ip in network for network in self.allowed_networks)
