"""The dashboard's signing secret: from HELIOGRAPH_SECRET_KEY, else generated once and kept."""

from __future__ import annotations

import asyncio
import stat
from pathlib import Path

import httpx
import pytest
from pydantic import ValidationError

from dashboard.dashboard_support import COOKIE, SIGN_IN, origin
from heliograph.cli.keys import create_key
from heliograph.config import Settings
from heliograph.dashboard.secret import SECRET_KEY_FILE, dashboard_secret
from support import start_server, stop_server


def test_a_generated_secret_is_kept_next_to_the_sqlite_database_for_its_owner_only(tmp_path: Path) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path}/data/heliograph.db", secret_key=None)
    secret = dashboard_secret(settings)
    kept = tmp_path / "data" / SECRET_KEY_FILE
    assert kept.read_text().strip() == secret
    assert len(secret) >= 32
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    assert dashboard_secret(settings) == secret  # the next start reads it back


def test_the_setting_wins_and_repr_masks_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HELIOGRAPH_SECRET_KEY", "s3cret-" * 6)
    settings = Settings(database_url=f"sqlite:///{tmp_path}/heliograph.db")
    assert dashboard_secret(settings) == "s3cret-" * 6
    assert "s3cret" not in repr(settings) and "s3cret" not in str(settings.model_dump())
    assert not (tmp_path / SECRET_KEY_FILE).exists()


def test_postgresql_keeps_a_generated_secret_in_memory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    settings = Settings(database_url="postgresql://heliograph@127.0.0.1:5432/heliograph", secret_key=None)
    assert dashboard_secret(settings) != dashboard_secret(settings)
    assert list(tmp_path.iterdir()) == []


def test_a_short_secret_is_refused_with_a_message_that_says_what_to_do() -> None:
    with pytest.raises(ValidationError, match="at least 32 characters"):
        Settings(secret_key="short")


def test_an_empty_secret_counts_as_unset() -> None:
    assert Settings(secret_key="").secret_key is None


def test_a_sign_in_survives_a_restart_on_sqlite(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HELIOGRAPH_SECRET_KEY", raising=False)
    url = f"sqlite:///{tmp_path}/heliograph.db"
    server = start_server(url, tmp_path / "server.log")
    try:
        key = asyncio.run(create_key(url, org="restart", name="test", migrate=False))
        response = httpx.post(f"{server.base_url}{SIGN_IN}", data={"api_key": key}, headers=origin(server))
        cookie = response.cookies[COOKIE]
    finally:
        stop_server(server)
    assert (tmp_path / SECRET_KEY_FILE).exists()
    server = start_server(url, tmp_path / "server.log")
    try:
        page = httpx.get(f"{server.base_url}/dashboard/sessions", headers={"Cookie": f"{COOKIE}={cookie}"})
        assert page.status_code == 200
    finally:
        stop_server(server)
