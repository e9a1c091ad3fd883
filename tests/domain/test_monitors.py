"""Monitors and webhooks as values: the measure of a window, the state it gives, the webhook a change
sends, the retry schedule, the signature, and where webhooks may go (checked on the policy, never by
connecting anywhere)."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress

import pytest

from heliograph.domain.monitors import (
    Measurement,
    MonitorSpec,
    MonitorState,
    WindowRecord,
    delivery_id,
    measure,
    next_state,
    transition_kind,
)
from heliograph.domain.webhooks import WebhookPolicy, retry_at, sign
from heliograph.errors import InvalidInput
from heliograph.netguard import RefusedAddress

SPEC = MonitorSpec("m", "rating", "negative_rate", "gt", 0.25, 3600, 3, None, "https://x.example/h", "s" * 16)


def test_a_session_counts_once_by_its_newest_boolean_record() -> None:
    records = [
        WindowRecord("s1", False, 1),
        WindowRecord("s1", True, 2),  # s1's newest: positive
        WindowRecord("s2", False, 5),
        WindowRecord("s3", 4.0, 6),  # not a boolean: not rated for a negative rate
        WindowRecord("s4", True, 3),
    ]
    assert measure(SPEC, records) == Measurement(1 / 3, 3, ("s2",))
    assert measure(SPEC, []) == Measurement(None, 0, ())


def test_a_mean_is_over_sessions_of_their_records_mean_and_leaves_labels_out() -> None:
    spec = MonitorSpec("m", "stars", "mean", "lt", 3.0, 60, 1, None, "https://x.example/h", "s" * 16)
    records = [
        WindowRecord("s1", 1.0, 1),
        WindowRecord("s1", 3.0, 2),
        WindowRecord("s2", 5.0, 3),
        WindowRecord("s3", "rude", 4),
        WindowRecord("s4", True, 5),  # 1
    ]
    measured = measure(spec, records)
    assert measured.value == pytest.approx((2.0 + 5.0 + 1.0) / 3) and measured.rated == 3
    assert measured.sample_session_ids[0] in {"s1", "s4"}  # the lowest means first for `lt`


@pytest.mark.parametrize(
    ("value", "rated", "state"),
    [
        pytest.param(0.3, 3, "firing", id="holds-with-enough"),
        pytest.param(0.25, 3, "ok", id="at-the-threshold-does-not-hold"),
        pytest.param(0.9, 2, "insufficient_data", id="too-few-rated"),
        pytest.param(None, 0, "insufficient_data", id="nothing-rated"),
    ],
)
def test_the_state_of_a_measurement(value: float | None, rated: int, state: MonitorState) -> None:
    assert next_state(SPEC, Measurement(value, rated, ())) == state


@pytest.mark.parametrize(
    ("old", "new", "kind"),
    [
        ("insufficient_data", "firing", "firing"),
        ("ok", "firing", "firing"),
        ("firing", "ok", "resolved"),
        ("firing", "insufficient_data", "resolved"),
        ("firing", "firing", None),
        ("ok", "insufficient_data", None),
        ("insufficient_data", "ok", None),
    ],
)
def test_only_changes_into_and_out_of_firing_send_a_webhook(
    old: MonitorState, new: MonitorState, kind: str | None
) -> None:
    assert transition_kind(old, new) == kind


def test_a_transition_s_delivery_id_is_the_same_for_every_writer() -> None:
    assert delivery_id("m1", 1) == delivery_id("m1", 1)
    assert len({delivery_id("m1", 1), delivery_id("m1", 2), delivery_id("m2", 1)}) == 3


def test_retries_double_their_wait_and_stop_after_120_backoffs() -> None:
    waits = []
    now, attempts = 0, 0
    while True:
        attempts += 1
        at = retry_at(attempts=attempts, now_ms=now, created_at_ms=0, backoff_s=30)
        if at is None:
            break
        waits.append(at - now)
        now = at
    assert waits == [30_000, 60_000, 120_000, 240_000, 480_000, 960_000]
    # The 7th attempt (at 31.5 min) fails: the next, at 63.5 min, would be past the hour, so it is the last.
    assert now == 1_890_000 and attempts == 7


def test_the_signature_is_an_hmac_of_the_time_and_the_body() -> None:
    header = sign("whsec", '{"a":1}', timestamp=1_700_000_000)
    expected = hmac.new(b"whsec", b'1700000000.{"a":1}', hashlib.sha256).hexdigest()
    assert header == f"t=1700000000,v1={expected}"


INTERNAL = ["127.0.0.1", "10.1.2.3", "192.168.0.9", "169.254.169.254", "::1", "::ffff:10.0.0.1", "fd00::1"]


@pytest.mark.parametrize("address", INTERNAL)
def test_internal_addresses_are_refused_by_default_and_allowed_when_asked(address: str) -> None:
    default = WebhookPolicy.from_settings(allow_private=False, allowed_hosts=None)
    with pytest.raises(RefusedAddress):
        default.check_host(address)
    assert not default.addresses.permits("hooks.example.com", ipaddress.ip_address(address))
    with pytest.raises(InvalidInput, match="HELIOGRAPH_WEBHOOK_ALLOW_PRIVATE"):
        host = f"[{address}]" if ":" in address else address
        default.check_url(f"http://{host}/hook")
    allowed = WebhookPolicy.from_settings(allow_private=True, allowed_hosts=None)
    allowed.check_host(address)
    assert allowed.addresses.permits("hooks.example.com", ipaddress.ip_address(address))


def test_public_addresses_and_names_pass_until_their_addresses_are_checked() -> None:
    default = WebhookPolicy.from_settings(allow_private=False, allowed_hosts=None)
    default.check_host("93.184.215.14")
    default.check_url("https://hooks.example.com/x")  # a name is checked on what it resolves to
    assert default.addresses.permits("hooks.example.com", ipaddress.ip_address("93.184.215.14"))


def test_an_allowlist_refuses_every_other_host_before_resolving_it() -> None:
    listed = WebhookPolicy.from_settings(allow_private=False, allowed_hosts="127.0.0.1, hooks.lan")
    listed.check_host("127.0.0.1")
    listed.check_host("hooks.lan")
    for host in ("hooks.example.com", "93.184.215.14", "10.0.0.1"):
        with pytest.raises(RefusedAddress, match="HELIOGRAPH_WEBHOOK_ALLOWED_HOSTS"):
            listed.check_host(host)
    assert listed.addresses.permits("hooks.lan", ipaddress.ip_address("10.0.0.5"))
    assert not listed.addresses.permits("elsewhere", ipaddress.ip_address("10.0.0.5"))


@pytest.mark.parametrize("url", ["ftp://hooks.example.com/x", "hooks.example.com/x", "http:///x"])
def test_a_webhook_url_is_an_http_url(url: str) -> None:
    with pytest.raises(InvalidInput, match="Invalid webhook_url"):
        WebhookPolicy.from_settings(allow_private=False, allowed_hosts=None).check_url(url)
