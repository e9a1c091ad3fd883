"""A session's feedback records on its page, and the form that saves the signed-in key's own record."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form
from fastapi.responses import RedirectResponse, Response

from heliograph.api import session_paths  # noqa: F401  (registers the session_id path convertor)
from heliograph.api.deps import StoreDep
from heliograph.dashboard.auth import SameOrigin, Viewer, ViewerDep
from heliograph.dashboard.formatting import quote_id
from heliograph.dashboard.rendering import PageNotFound
from heliograph.domain import feedback
from heliograph.domain.feedback_values import FeedbackEntry, FeedbackValue
from heliograph.domain.store import Store
from heliograph.errors import InvalidInput, NotFound, Unprocessable

__all__ = ["parse_form_value", "rater_of", "records_context", "router"]

router = APIRouter()


def rater_of(viewer: Viewer) -> str:
    """The rater a signed-in key's records carry."""
    return f"dashboard:{viewer.key_prefix}"


def parse_form_value(text: str) -> FeedbackValue:
    """What a person typed: true/false (or up/down), a number, or else a label."""
    cleaned = text.strip()
    if cleaned.lower() in ("true", "up", "yes"):
        return True
    if cleaned.lower() in ("false", "down", "no"):
        return False
    try:
        return float(cleaned)
    except ValueError:
        return cleaned


def _records_path(session_id: str) -> str:
    return f"/dashboard/sessions/{quote_id(session_id)}"


async def records_context(store: Store, viewer: Viewer, session_id: str, error: str | None) -> dict[str, Any]:
    """What `_feedback_records.html` shows for this session and viewer."""
    records = await feedback.session_feedback(store, org_id=viewer.org_id, session_id=session_id)
    return {
        "records": records,
        "my_rater": rater_of(viewer),
        "records_url": _records_path(session_id) + "/feedback-records",
        "feedback_error": error,
    }


@router.post("/dashboard/sessions/{session_id:session_id}/feedback-records", dependencies=[SameOrigin])
async def save_my_feedback(
    session_id: str,
    viewer: ViewerDep,
    store: StoreDep,
    name: Annotated[str, Form(max_length=64)],
    value: Annotated[str, Form(max_length=64)],
    comment: Annotated[str, Form(max_length=4000)] = "",
) -> Response:
    """Create or change the viewer's record of `name`, then show the session page again."""
    entry = FeedbackEntry(
        session_id=session_id,
        request_id=None,
        name=name.strip(),
        value=parse_form_value(value),
        comment=comment.strip() or None,
        rater=rater_of(viewer),
        source="human",
    )
    target = _records_path(session_id)
    try:
        await feedback.record_feedback(store, org_id=viewer.org_id, entry=entry)
    except NotFound:
        raise PageNotFound("session") from None
    except (InvalidInput, Unprocessable) as exc:
        target += "?" + urlencode({"feedback_error": exc.message})
    return RedirectResponse(target + "#feedback-records", status_code=303)
