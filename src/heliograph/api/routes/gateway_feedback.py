"""Helicone's gateway feedback route: `POST <gateway base>/feedback`, answered here, never forwarded.

The legacy `helicone` package (`openai_proxy.log_feedback`) posts `{"helicone-id", "name", "value"}`
to `<proxy base>/feedback`; Helicone's older clients post `{"helicone-id", "rating"}`. A rating is the
request's `helicone-score-feedback` score, a named value a score of that name.
"""

from __future__ import annotations

from fastapi import APIRouter

from heliograph.api.deps import CurrentOrg, StoreDep
from heliograph.api.errors import ERROR_RESPONSES
from heliograph.api.routes.requests import request_uuid
from heliograph.api.routing import HeliconeAuthRoute
from heliograph.api.schemas import Envelope, GatewayFeedbackCreate
from heliograph.domain.scores import REQUEST_FEEDBACK_SCORE, check_scores
from heliograph.errors import InvalidInput, NotFound

__all__ = ["FEEDBACK_PATHS", "router"]

# The gateway's prefixes (api.routes.gateway passes these paths on to the router). Helicone's own
# `/v1/feedback` is Heliograph's feedback-record endpoint (issue 17, api.routes.feedback).
FEEDBACK_PATHS = ("/openai/v1/feedback", "/anthropic/v1/feedback", "/gateway/feedback")

router = APIRouter(tags=["gateway"], responses=ERROR_RESPONSES, route_class=HeliconeAuthRoute)


async def rate_logged_request(
    body: GatewayFeedbackCreate, org_id: CurrentOrg, store: StoreDep
) -> Envelope[None]:
    """Rate a request by its `helicone-id`: `rating` (true/false) or a named `value`."""
    values: dict[str, object] = {}
    if body.rating is not None:
        values[REQUEST_FEEDBACK_SCORE] = body.rating
    if body.name is not None or body.value is not None:
        if body.name is None or body.value is None:
            raise InvalidInput("Invalid feedback: name and value go together")
        values[body.name] = body.value
    if not values:
        raise InvalidInput("Invalid feedback: give rating, or name and value")
    scores = check_scores(values)
    if not await store.set_request_scores(
        org_id=org_id, request_id=request_uuid(body.helicone_id), values=scores
    ):
        raise NotFound("Request not found")
    return Envelope()


for _path in FEEDBACK_PATHS:
    router.add_api_route(
        _path,
        rate_logged_request,
        methods=["POST"],
        response_model=Envelope[None],
        summary="Rate a logged request (the gateway's feedback route)",
        operation_id=f"Feedback_{_path.split('/')[1]}",
    )
