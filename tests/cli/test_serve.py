"""`heliograph serve --ready-key`: what `make run` starts, end to end."""

from __future__ import annotations

from pathlib import Path

import httpx

from support import query_body, start_server, stop_server


def test_serve_keeps_a_ready_key_that_survives_a_restart(tmp_path: Path) -> None:
    url, key_file = f"sqlite:///{tmp_path}/heliograph.db", tmp_path / "api-key"
    keys = []
    for _ in range(2):
        server = start_server(url, tmp_path / "server.log", "--ready-key", str(key_file))
        try:
            key = key_file.read_text().strip()
            response = httpx.post(
                f"{server.base_url}/v1/session/query",
                json=query_body(),
                headers={"Authorization": f"Bearer {key}"},
            )
            assert response.status_code == 200
            assert key in server.log_path.read_text()
            keys.append(key)
        finally:
            stop_server(server)
    assert keys[0] == keys[1]
    assert key_file.stat().st_mode & 0o077 == 0  # readable by its owner only
