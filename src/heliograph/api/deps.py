"""FastAPI dependencies: the store, the ingest pipeline and the caller's organization.

Every dependency is `async def`: FastAPI runs plain functions in a thread pool, a hop that would
cost more than the lookups themselves on every request.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from heliograph.domain.keys import hash_api_key
from heliograph.domain.pricing import PriceTable
from heliograph.domain.store import Store
from heliograph.domain.webhooks import WebhookPolicy
from heliograph.errors import Unauthorized
from heliograph.ingest.submitter import RecordSubmitter

__all__ = ["CurrentOrg", "PipelineDep", "PricesDep", "StoreDep", "WebhookPolicyDep", "org_for_bearer"]


async def _store(request: Request) -> Store:
    store: Store = request.app.state.store
    return store


async def _pipeline(request: Request) -> RecordSubmitter:
    pipeline: RecordSubmitter = request.app.state.pipeline
    return pipeline


async def _prices(request: Request) -> PriceTable:
    prices: PriceTable = request.app.state.prices
    return prices


async def _webhook_policy(request: Request) -> WebhookPolicy:
    policy: WebhookPolicy = request.app.state.webhook_policy
    return policy


StoreDep = Annotated[Store, Depends(_store)]
WebhookPolicyDep = Annotated[WebhookPolicy, Depends(_webhook_policy)]
PipelineDep = Annotated[RecordSubmitter, Depends(_pipeline)]
PricesDep = Annotated[PriceTable, Depends(_prices)]


async def org_for_bearer(store: Store, header: str | None, *, header_name: str = "Authorization") -> str:
    """The organization of `Bearer <key>`; Unauthorized when the key is missing, unknown or revoked."""
    if not header:
        raise Unauthorized(f"Missing API key: send the header '{header_name}: Bearer <key>'")
    scheme, _, key = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        raise Unauthorized(f"Malformed {header_name} header: expected 'Bearer <key>'")
    # Only the SHA-256 of a key is stored; the lookup is by hash, so no key is ever compared in SQL.
    org_id = await store.org_for_key_hash(hash_api_key(key.strip()))
    if org_id is None:
        raise Unauthorized("Invalid API key")
    return org_id


async def _current_org(request: Request) -> str:
    """The organization that api.routing.AuthenticatedRoute found for the key, before the body was read."""
    org_id: str = request.state.org_id
    return org_id


CurrentOrg = Annotated[str, Depends(_current_org)]
