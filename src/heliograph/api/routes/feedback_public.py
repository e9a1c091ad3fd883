"""`/v1/feedback/public/{token}`: an end user's browser sends feedback with a signed link, no API key.

The token is the only credential (domain.feedback_links). Cross-origin pages may call these endpoints:
`FeedbackLinkCors` answers their preflight and marks their responses for the origins in
HELIOGRAPH_FEEDBACK_ORIGINS, on these paths only (they carry no cookie and no key).
"""

from __future__ import annotations

from pathlib import Path as FilePath
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.staticfiles import StaticFiles
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

from heliograph.api.deps import StoreDep
from heliograph.api.errors import ERROR_RESPONSES
from heliograph.api.feedback_schemas import (
    FeedbackConfigPublic,
    FeedbackLinkScopePublic,
    PublicFeedbackCreate,
    PublicFeedbackPublic,
)
from heliograph.api.request_schemas import iso_time
from heliograph.api.routes.feedback import LinkSignerDep
from heliograph.api.routing import JsonBodyRoute
from heliograph.api.schemas import Envelope
from heliograph.domain import feedback
from heliograph.domain.feedback_links import MAX_TOKEN_CHARS, LinkRateLimit

__all__ = ["PUBLIC_PREFIX", "FeedbackLinkCors", "router", "widget_files"]

PUBLIC_PREFIX = "/v1/feedback/public/"
STATIC = FilePath(__file__).parents[1] / "static"
# No API key: the token in the path is the credential (an empty security list says so in OpenAPI).
router = APIRouter(tags=["feedback links"], responses=ERROR_RESPONSES, route_class=JsonBodyRoute)
NO_KEY: dict[str, Any] = {"security": []}

TokenPath = Annotated[str, Path(min_length=1, max_length=MAX_TOKEN_CHARS)]


async def _rate_limit(request: Request) -> LinkRateLimit:
    limit: LinkRateLimit = request.app.state.feedback_link_limit
    return limit


RateLimitDep = Annotated[LinkRateLimit, Depends(_rate_limit)]


@router.get(PUBLIC_PREFIX + "{token}", response_model=Envelope[FeedbackLinkScopePublic], openapi_extra=NO_KEY)
async def link_scope(
    token: TokenPath, signer: LinkSignerDep, store: StoreDep
) -> Envelope[FeedbackLinkScopePublic]:
    """What a widget may send with this link: the feedback name and its config, nothing about the session."""
    scope = signer.check(token)
    config = await feedback.config_of(store, org_id=scope.org_id, name=scope.name)
    return Envelope(
        data=FeedbackLinkScopePublic(
            name=scope.name,
            config=None if config is None else FeedbackConfigPublic.of(config),
            expires_at=iso_time(scope.expires_at_ms),
        )
    )


@router.post(
    PUBLIC_PREFIX + "{token}",
    status_code=201,
    response_model=Envelope[PublicFeedbackPublic],
    openapi_extra=NO_KEY,
)
async def send_with_link(
    token: TokenPath,
    body: PublicFeedbackCreate,
    signer: LinkSignerDep,
    limit: RateLimitDep,
    store: StoreDep,
) -> Envelope[PublicFeedbackPublic]:
    """Send the end user's record; sending again with the same token updates it."""
    scope = signer.check(token)
    limit.take(token)
    stored = await feedback.record_with_link(store, scope=scope, value=body.value, comment=body.comment)
    return Envelope(data=PublicFeedbackPublic.of(stored))


def widget_files() -> StaticFiles:
    """`/static`: the feedback widget (`feedback.js`) that apps embed with a link's token."""
    return StaticFiles(directory=STATIC)


class FeedbackLinkCors:
    """ASGI middleware: CORS for the public feedback paths, nothing for any other path."""

    def __init__(self, app: ASGIApp, *, origins: list[str]) -> None:
        self.app = app
        self.cors = CORSMiddleware(
            app,
            allow_origins=origins,
            allow_methods=["GET", "POST"],
            allow_headers=["Content-Type"],
            max_age=600,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(PUBLIC_PREFIX):
            await self.cors(scope, receive, send)
        else:
            await self.app(scope, receive, send)
