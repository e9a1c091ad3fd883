"""`/docs`: Swagger UI over `/openapi.json`, from the copy vendored in `static/vendor/swagger-ui/`, so the
page works with no internet (FastAPI's own `/docs` loads it from a CDN, and is switched off in `app.py`)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse

router = APIRouter()

SWAGGER_UI = "/dashboard/static/vendor/swagger-ui"


@router.get("/docs")
async def api_docs() -> HTMLResponse:
    return get_swagger_ui_html(
        openapi_url="/openapi.json",
        title="Heliograph API",
        swagger_js_url=f"{SWAGGER_UI}/swagger-ui-bundle.js",
        swagger_css_url=f"{SWAGGER_UI}/swagger-ui.css",
        swagger_favicon_url=f"{SWAGGER_UI}/favicon-32x32.png",
        # No badge that asks validator.swagger.io about the document.
        swagger_ui_parameters={"validatorUrl": None},
    )
