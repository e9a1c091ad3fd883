"""`POST /v1/admin/keys`: create an organization's key over HTTP, with the operator's admin token.

`heliograph keys create` opens the database itself; embedded ClickHouse (chdb) admits only the server's
process, so this endpoint does the same from inside it. It exists only when HELIOGRAPH_ADMIN_TOKEN is
set (else 404), and the token is compared in constant time.
"""

from __future__ import annotations

import hmac

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from heliograph.api.deps import StoreDep
from heliograph.api.errors import ERROR_RESPONSES
from heliograph.api.routing import JsonBodyRoute
from heliograph.api.schemas import Envelope
from heliograph.domain.keys import create_api_key
from heliograph.errors import NotFound, Unauthorized

router = APIRouter(prefix="/v1/admin", tags=["admin"], responses=ERROR_RESPONSES, route_class=JsonBodyRoute)


class KeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    org: str = Field(min_length=1, max_length=256, description="Organization name; created if missing")
    name: str = Field("default", min_length=1, max_length=256, description="A label for the key")


class KeyPublic(BaseModel):
    key: str = Field(description="The new API key, shown only this once")
    org_id: str


def _check_admin(request: Request) -> None:
    token = request.app.state.admin_token
    if token is None:
        raise NotFound("Not Found")
    scheme, _, sent = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(sent.strip().encode(), token.encode()):
        raise Unauthorized("Invalid admin token")


@router.post("/keys", status_code=201, response_model=Envelope[KeyPublic])
async def create_key(body: KeyCreate, request: Request, store: StoreDep) -> Envelope[KeyPublic]:
    """Create a key for `org` (and the organization if needed); the key is in the answer only."""
    _check_admin(request)
    key, org_id = await create_api_key(store, org=body.org, name=body.name)
    return Envelope(data=KeyPublic(key=key, org_id=org_id))
