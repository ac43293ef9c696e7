"""The review station: server-rendered pages served by the API's application under ``/ui/``.

Labs upload exhibits, examiners judge leads side by side and decide, investigators follow a
case's linked incidents across borders, in English, French, Spanish and Arabic. The pages
apply the API's rules (:mod:`api.web.access`) to the signed-in person
(:mod:`api.web.sessions`). Templates, the one stylesheet and script, and the message
catalogues are package data; no page loads anything from elsewhere.

May import ``api.web``'s access rules, images and sessions, ``api.service``, ``api.store`` and
``ballistics``.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import RedirectResponse
from starlette.staticfiles import StaticFiles

from api.web.ui import auth, cases, decisions, exhibits, i18n, leads, notifications, pages
from api.web.ui.admin import router as admin_router
from api.web.ui.error_pages import install_error_pages

STATIC_DIR = Path(__file__).parent / "static"


def install_ui(app: FastAPI) -> None:
    """Serve the pages under ``/ui/``, their static files under ``/ui/static``, and lead
    ``/`` to them; errors raised in a page answer as pages (after the API's handlers)."""
    install_error_pages(app)

    @app.get("/", include_in_schema=False)
    def home() -> RedirectResponse:
        """The review station's pages."""
        return RedirectResponse("/ui/", status_code=303)

    app.mount("/ui/static", StaticFiles(directory=STATIC_DIR), name="ui-static")
    for module in (pages, i18n, leads, decisions, exhibits, cases, auth, notifications):
        app.include_router(module.router)
    app.include_router(admin_router)
