"""API keys: how they are made and how they are hashed for storage."""

from __future__ import annotations

import hashlib
import secrets

from heliograph.domain.store import Store

__all__ = ["KEY_PREFIX", "create_api_key", "generate_api_key", "hash_api_key", "key_display_prefix"]

KEY_PREFIX = "sk-hg-"


def generate_api_key() -> str:
    """A new key: `sk-hg-` and 43 URL-safe random characters (256 bits)."""
    return KEY_PREFIX + secrets.token_urlsafe(32)


def hash_api_key(key: str) -> str:
    """Lowercase hex SHA-256 of the key; the only form in which a key is stored."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def key_display_prefix(key: str) -> str:
    """The first characters of a key, enough for a person to tell keys apart in a listing."""
    return key[: len(KEY_PREFIX) + 6]


async def create_api_key(store: Store, *, org: str, name: str) -> tuple[str, str]:
    """A new key for organization `org` (created if missing): the key in clear, shown once, and the org id."""
    org_id = await store.ensure_org(name=org)
    key = generate_api_key()
    await store.add_api_key(
        org_id=org_id, key_hash=hash_api_key(key), prefix=key_display_prefix(key), name=name
    )
    return key, org_id
