"""`/dashboard/monitors`: the organization's feedback monitors with their state and last value, a form
to create one, and each monitor's page with its edit form and its deliveries."""

from __future__ import annotations

import json
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from heliograph.api.deps import StoreDep, WebhookPolicyDep
from heliograph.dashboard.auth import SameOrigin, ViewerDep
from heliograph.dashboard.rendering import PageNotFound, render
from heliograph.domain.monitor_actions import checked_spec, find_monitor, stored_filter
from heliograph.domain.monitors import Monitor, MonitorSpec
from heliograph.errors import InvalidInput, NotFound

__all__ = ["router"]

router = APIRouter()

LIST_PATH = "/dashboard/monitors"
DELIVERIES_SHOWN = 50
METRICS = {"negative_rate": "Negative rate (share of rated sessions rated down)", "mean": "Mean value"}
OPERATORS = {"gt": "above", "lt": "below"}


def _page_of(monitor_id: str) -> str:
    return f"{LIST_PATH}/{monitor_id}"


def _with_error(path: str, message: str) -> RedirectResponse:
    return RedirectResponse(f"{path}?{urlencode({'error': message})}", status_code=303)


def _spec(
    *,
    name: str,
    feedback_name: str,
    metric: str,
    operator: str,
    threshold: str,
    window_min: str,
    min_rated: str,
    filter_json: str,
    webhook_url: str,
    webhook_secret: str,
) -> MonitorSpec:
    """The spec a form describes; InvalidInput naming the field a person got wrong."""
    if metric not in METRICS or operator not in OPERATORS:
        raise InvalidInput("Choose a metric and a direction")
    try:
        number, window_s, rated = float(threshold), int(float(window_min) * 60), int(min_rated)
    except ValueError:
        raise InvalidInput("Threshold, window and minimum rated sessions must be numbers") from None
    if not name.strip() or not 60 <= window_s <= 30 * 86_400 or rated < 1 or len(webhook_secret) < 8:
        raise InvalidInput(
            "Give a name, a window of 1 minute to 30 days, at least 1 rated session "
            "and a secret of 8 or more characters"
        )
    try:
        raw_filter = json.loads(filter_json) if filter_json.strip() else None
    except json.JSONDecodeError:
        raise InvalidInput("The filter is not JSON: give a filter tree, or leave it empty") from None
    return MonitorSpec(
        name=name.strip()[:200],
        feedback_name=feedback_name.strip()[:64] or "rating",
        metric=metric,  # type: ignore[arg-type]  # checked above
        operator=operator,  # type: ignore[arg-type]
        threshold=number,
        window_s=window_s,
        min_rated=rated,
        filter=stored_filter(raw_filter),
        webhook_url=webhook_url.strip(),
        webhook_secret=webhook_secret,
    )


def _form_context(monitor: Monitor | None) -> dict[str, Any]:
    return {"metrics": METRICS, "operators": OPERATORS, "monitor": monitor}


@router.get(LIST_PATH)
async def monitors_page(request: Request, viewer: ViewerDep, store: StoreDep) -> Response:
    monitors = await store.list_monitors(org_id=viewer.org_id)
    context = {
        "viewer": viewer,
        "section": "monitors",
        "monitors": monitors,
        "error": request.query_params.get("error"),
        **_form_context(None),
    }
    return render("monitors.html", context)


@router.get(LIST_PATH + "/{monitor_id}")
async def monitor_page(monitor_id: str, request: Request, viewer: ViewerDep, store: StoreDep) -> Response:
    try:
        monitor = await find_monitor(store, org_id=viewer.org_id, monitor_id=monitor_id)
    except NotFound:
        raise PageNotFound("monitor") from None
    deliveries = await store.list_deliveries(
        org_id=viewer.org_id, monitor_id=monitor.id, limit=DELIVERIES_SHOWN
    )
    context = {
        "viewer": viewer,
        "section": "monitors",
        "deliveries": deliveries,
        "error": request.query_params.get("error"),
        **_form_context(monitor),
    }
    return render("monitor.html", context)


FormText = Annotated[str, Form(max_length=4096)]


@router.post(LIST_PATH, dependencies=[SameOrigin])
@router.post(LIST_PATH + "/{monitor_id}", dependencies=[SameOrigin])
async def save_monitor(
    viewer: ViewerDep,
    store: StoreDep,
    policy: WebhookPolicyDep,
    name: FormText,
    metric: FormText,
    operator: FormText,
    threshold: FormText,
    window_min: FormText,
    min_rated: FormText,
    webhook_url: FormText,
    feedback_name: FormText = "rating",
    filter_json: FormText = "",
    webhook_secret: FormText = "",
    monitor_id: str | None = None,
) -> Response:
    """Create a monitor, or (with its id) replace its spec; an empty secret keeps the stored one."""
    back = LIST_PATH if monitor_id is None else _page_of(monitor_id)
    try:
        existing = (
            None
            if monitor_id is None
            else await find_monitor(store, org_id=viewer.org_id, monitor_id=monitor_id)
        )
        secret = webhook_secret or (existing.spec.webhook_secret if existing else "")
        spec = checked_spec(
            _spec(
                name=name,
                feedback_name=feedback_name,
                metric=metric,
                operator=operator,
                threshold=threshold,
                window_min=window_min,
                min_rated=min_rated,
                filter_json=filter_json,
                webhook_url=webhook_url,
                webhook_secret=secret,
            ),
            policy,
        )
    except NotFound:
        raise PageNotFound("monitor") from None
    except InvalidInput as exc:
        return _with_error(back, exc.message)
    if existing is None:
        saved = await store.create_monitor(org_id=viewer.org_id, spec=spec)
    else:
        updated = await store.update_monitor(org_id=viewer.org_id, monitor_id=existing.id, spec=spec)
        if updated is None:
            raise PageNotFound("monitor")
        saved = updated
    return RedirectResponse(_page_of(saved.id), status_code=303)


@router.post(LIST_PATH + "/{monitor_id}/delete", dependencies=[SameOrigin])
async def delete_monitor(monitor_id: str, viewer: ViewerDep, store: StoreDep) -> Response:
    if not await store.delete_monitor(org_id=viewer.org_id, monitor_id=monitor_id):
        raise PageNotFound("monitor")
    return RedirectResponse(LIST_PATH, status_code=303)
