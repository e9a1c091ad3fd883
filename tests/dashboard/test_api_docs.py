"""`/docs` needs no internet: its page loads Swagger UI only from our own vendored files, and every
vendored file is served exactly as the vendor README's checksum records it."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import httpx

from support import Server

VENDOR = Path(__file__).parents[2] / "src" / "heliograph" / "dashboard" / "static" / "vendor"
VENDOR_URL = "/dashboard/static/vendor"
ROW = re.compile(r"^\| `(?P<file>[^`]+)` \|.*\| `(?P<sha256>[0-9a-f]{64})` \|$", re.M)


def recorded_checksums() -> dict[str, str]:
    """File (under vendor/) to SHA-256, from the vendor README's table."""
    return {m["file"]: m["sha256"] for m in ROW.finditer((VENDOR / "README.md").read_text())}


def test_the_docs_page_loads_only_local_assets(server: Server) -> None:
    response = httpx.get(f"{server.base_url}/docs")
    assert response.status_code == 200
    html = response.text
    assert "://" not in html and "//cdn" not in html  # no absolute or scheme-relative address at all
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert sorted(assets) == [
        f"{VENDOR_URL}/swagger-ui/favicon-32x32.png",
        f"{VENDOR_URL}/swagger-ui/swagger-ui-bundle.js",
        f"{VENDOR_URL}/swagger-ui/swagger-ui.css",
    ]
    assert "url: '/openapi.json'" in html


def test_every_vendored_file_is_served_with_its_recorded_checksum(server: Server) -> None:
    recorded = recorded_checksums()
    assert {
        "htmx.min.js",
        "chart.umd.js",
        "swagger-ui/swagger-ui-bundle.js",
        "swagger-ui/swagger-ui.css",
    } <= set(recorded)
    for file, sha256 in recorded.items():
        response = httpx.get(f"{server.base_url}{VENDOR_URL}/{file}")
        assert response.status_code == 200, file
        assert hashlib.sha256(response.content).hexdigest() == sha256, file


def test_redoc_is_not_served_since_it_would_need_a_cdn(server: Server) -> None:
    assert httpx.get(f"{server.base_url}/redoc").status_code == 404
