"""Reading Helicone-* headers (spec 2.2)."""

from __future__ import annotations

import pytest

from heliograph.domain.headers import read_helicone_headers
from heliograph.errors import InvalidInput


def test_session_headers_keep_canonical_keys_and_properties_are_lowercased() -> None:
    read = read_helicone_headers(
        [
            ("helicone-session-id", "s1"),
            ("Helicone-Session-Path", "agent/step"),
            ("HELICONE-SESSION-NAME", "Name"),
            ("Helicone-Property-Prompt-Version", "B"),
            ("Helicone-User-Id", "u1"),
            ("Authorization", "Bearer secret"),
        ]
    )
    assert read.properties == {
        "Helicone-Session-Id": "s1",
        "Helicone-Session-Path": "/agent/step",
        "Helicone-Session-Name": "Name",
        "prompt-version": "B",
    }
    assert read.user_id == "u1"


def test_later_headers_win_and_nul_characters_are_dropped() -> None:
    read = read_helicone_headers([("Helicone-Property-Env", "meta"), ("helicone-property-env", "pr\x00od")])
    assert read.properties == {"env": "prod"}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param(
            "3F2C1D3E-1111-4222-8333-444455556666", "3f2c1d3e-1111-4222-8333-444455556666", id="uuid"
        ),
        pytest.param("not-a-uuid", None, id="not-uuid"),
    ],
)
def test_a_request_id_header_is_used_only_when_it_is_a_uuid(value: str, expected: str | None) -> None:
    assert read_helicone_headers([("Helicone-Request-Id", value)]).request_id == expected


def test_an_empty_session_id_means_no_session() -> None:
    assert read_helicone_headers([("Helicone-Session-Id", "")]).properties == {}


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        pytest.param([("Helicone-Session-Id", "x" * 257)], "Invalid Helicone-Session-Id", id="long-session"),
        pytest.param([("Helicone-Session-Id", "a\nb")], "Invalid Helicone-Session-Id", id="control-char"),
        pytest.param([(f"Helicone-Property-P{i}", "v") for i in range(101)], "Too many properties", id="101"),
        pytest.param([("Helicone-Property-K", "v" * 4097)], "too long", id="long-value"),
        pytest.param([("Helicone-Property-" + "k" * 257, "v")], "Invalid property key", id="long-key"),
        pytest.param([("Helicone-User-Id", "u" * 1025)], "Helicone-User-Id is too long", id="long-user"),
    ],
)
def test_limits_are_enforced_with_a_clear_message(headers: list[tuple[str, str]], message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        read_helicone_headers(headers)
