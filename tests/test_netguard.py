"""The address rules, checked on the functions themselves: no test connects beyond 127.0.0.0/8."""

from __future__ import annotations

import asyncio
import socket

import pytest
from aiohttp.abc import ResolveResult

from heliograph.gateway.upstream import GuardedResolver
from heliograph.netguard import AddressPolicy, RefusedAddress, is_internal_address

INTERNAL = [
    pytest.param("127.0.0.1", id="loopback"),
    pytest.param("127.8.9.10", id="loopback-range"),
    pytest.param("10.1.2.3", id="private-10"),
    pytest.param("172.16.0.1", id="private-172"),
    pytest.param("192.168.1.1", id="private-192"),
    pytest.param("100.64.0.1", id="shared-cgnat"),
    pytest.param("169.254.169.254", id="metadata"),
    pytest.param("0.0.0.0", id="unspecified"),
    pytest.param("224.0.0.1", id="multicast"),
    pytest.param("239.255.255.250", id="multicast-ssdp"),
    pytest.param("255.255.255.255", id="broadcast"),
    pytest.param("::1", id="ipv6-loopback"),
    pytest.param("::", id="ipv6-unspecified"),
    pytest.param("fe80::1", id="ipv6-link-local"),
    pytest.param("fd00:ec2::254", id="ipv6-unique-local-metadata"),
    pytest.param("ff02::1", id="ipv6-multicast"),
    pytest.param("::ffff:127.0.0.1", id="ipv4-mapped-loopback"),
    pytest.param("::ffff:169.254.169.254", id="ipv4-mapped-metadata"),
    pytest.param("2002:7f00:1::1", id="6to4-loopback"),
]
PUBLIC = [
    pytest.param("8.8.8.8", id="ipv4"),
    pytest.param("2606:4700:4700::1111", id="ipv6"),
    pytest.param("::ffff:8.8.8.8", id="ipv4-mapped"),
]


@pytest.mark.parametrize("address", INTERNAL)
def test_internal_addresses_are_refused_by_default(address: str) -> None:
    assert is_internal_address(address)
    assert not AddressPolicy().permits("host.example", address)


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_are_permitted(address: str) -> None:
    assert not is_internal_address(address)
    assert AddressPolicy().permits("host.example", address)


def test_the_setting_opens_named_hosts_addresses_and_networks_and_nothing_else() -> None:
    policy = AddressPolicy.from_setting(" vLLM.lan. , 10.0.0.0/8, 127.0.0.1, [fd00::1], ")
    assert policy.permits("vllm.lan", "192.168.1.5")
    assert policy.permits("VLLM.LAN.", "192.168.1.5")
    assert policy.permits("anything", "10.200.0.1")
    assert policy.permits("127.0.0.1", "127.0.0.1")
    assert policy.permits("anything", "fd00::1")
    assert not policy.permits("other.lan", "192.168.1.5")
    assert not policy.permits("anything", "127.0.0.2")
    assert not policy.permits("anything", "169.254.169.254")
    assert AddressPolicy.from_setting(None) == AddressPolicy.from_setting("") == AddressPolicy()


class _Answers:
    """A resolver stub answering fixed addresses, so no name is looked up for real."""

    def __init__(self, *addresses: str) -> None:
        self.addresses = addresses

    async def resolve(self, host: str, port: int = 0, family: int = socket.AF_INET) -> list[ResolveResult]:
        return [
            ResolveResult(hostname=host, host=a, port=port, family=family, proto=0, flags=0)
            for a in self.addresses
        ]


def _resolve(policy: AddressPolicy, host: str, *answers: str) -> list[str]:
    async def run() -> list[str]:
        resolver = GuardedResolver(policy)
        resolver._inner = _Answers(*answers)  # type: ignore[assignment]
        return [result["host"] for result in await resolver.resolve(host, 443)]

    return asyncio.run(run())


def test_the_resolver_checks_every_address_a_name_resolves_to_so_rebinding_gains_nothing() -> None:
    with pytest.raises(
        RefusedAddress, match=r"rebind\.example resolves to an internal address \(127\.0\.0\.1\)"
    ):
        _resolve(AddressPolicy(), "rebind.example", "127.0.0.1")
    with pytest.raises(RefusedAddress):
        _resolve(AddressPolicy(), "metadata.example", "169.254.169.254", "fd00:ec2::254")
    # Only the permitted addresses are handed to the connector.
    assert _resolve(AddressPolicy(), "mixed.example", "10.0.0.1", "8.8.8.8") == ["8.8.8.8"]
    assert _resolve(AddressPolicy.from_setting("vllm.lan"), "vllm.lan", "10.0.0.1") == ["10.0.0.1"]
