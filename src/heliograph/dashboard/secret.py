"""The dashboard's signing secret: HELIOGRAPH_SECRET_KEY, else one generated once and kept.

Without the setting, a SQLite deployment keeps a generated secret in `secret-key` next to the database
file (created with mode 0600, so only its owner can read it), and sign-ins survive restarts. PostgreSQL
has no such local folder, so the secret lives in memory and a restart signs everyone out; set
HELIOGRAPH_SECRET_KEY there to keep sign-ins.
"""

from __future__ import annotations

import logging
import os
import secrets
from pathlib import Path

from heliograph.config import MIN_SECRET_KEY_CHARS, Settings

__all__ = ["SECRET_KEY_FILE", "dashboard_secret"]

SECRET_KEY_FILE = "secret-key"

log = logging.getLogger(__name__)


def dashboard_secret(settings: Settings) -> str:
    """The secret that signs sign-in cookies (see the module docstring for where it comes from)."""
    if settings.secret_key is not None:
        return settings.secret_key.get_secret_value()
    database = settings.sqlite_path()
    if database is None:
        log.info("HELIOGRAPH_SECRET_KEY is unset: dashboard sign-ins last until the server restarts")
        return _new_secret()
    return _kept_secret(database.parent / SECRET_KEY_FILE)


def _new_secret() -> str:
    return secrets.token_urlsafe(48)


def _kept_secret(path: Path) -> str:
    """The secret in `path`, created first (mode 0600) if missing or unusable."""
    try:
        existing = path.read_text().strip()
    except FileNotFoundError:
        existing = ""
    if len(existing) >= MIN_SECRET_KEY_CHARS:
        return existing
    path.parent.mkdir(parents=True, exist_ok=True)
    secret = _new_secret()
    # Write to a private temporary file and rename it over, so a reader never sees a half-written
    # secret and the file is never readable by others, even for a moment.
    partial = path.with_name(f".{path.name}.{os.getpid()}")
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write(secret + "\n")
    os.replace(partial, path)
    log.info("Generated the dashboard's signing secret in %s", path)
    return secret
