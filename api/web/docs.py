"""The API's documentation pages, served from the installed package: no CDN, no web fonts.

FastAPI's own /docs and /redoc load Swagger UI and ReDoc from a CDN and ReDoc's fonts from
Google; on a lab's closed network they stay blank. The same two pages are served here with the
scripts and styles that the ``fastapi-offline`` package ships (Swagger UI's bundle and CSS,
ReDoc's standalone bundle), under :data:`ASSETS_PATH`.

>>> app = FastAPI(docs_url=None, redoc_url=None)    # doctest: +SKIP
>>> install_docs(app)                               # doctest: +SKIP
"""

from __future__ import annotations

from importlib.resources import files

from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

#: where the documentation's scripts, styles and icon are served
ASSETS_PATH = "/docs-assets"
#: the folder of ``fastapi-offline`` that holds them
_ASSETS_PACKAGE = "fastapi_offline"


def install_docs(app: FastAPI, *, docs_path: str = "/docs", redoc_path: str = "/redoc") -> None:
    """Serve Swagger UI at ``docs_path`` and ReDoc at ``redoc_path``, every file from here.

    Build ``app`` with ``docs_url=None, redoc_url=None`` so that FastAPI does not register its
    CDN-backed pages at the same paths.

    Parameters
    ----------
    app
        The application; its ``openapi_url`` is what both pages read.
    docs_path, redoc_path
        Where the two pages are served.
    """
    if app.openapi_url is None:
        raise ValueError(
            "the application serves no OpenAPI schema (openapi_url=None); there is nothing to "
            "document. Keep FastAPI's default openapi_url or set one."
        )
    assets = files(_ASSETS_PACKAGE).joinpath("static")
    app.mount(ASSETS_PATH, StaticFiles(directory=str(assets)), name="docs-assets")
    openapi_url = app.openapi_url
    title = app.title

    @app.get(docs_path, include_in_schema=False)
    def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=openapi_url,
            title=f"{title} - Swagger UI",
            swagger_js_url=f"{ASSETS_PATH}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS_PATH}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS_PATH}/favicon.png",
        )

    @app.get(redoc_path, include_in_schema=False)
    def redoc() -> HTMLResponse:
        return get_redoc_html(
            openapi_url=openapi_url,
            title=f"{title} - ReDoc",
            redoc_js_url=f"{ASSETS_PATH}/redoc.standalone.js",
            redoc_favicon_url=f"{ASSETS_PATH}/favicon.png",
            # ReDoc's default page loads Montserrat and Roboto from fonts.googleapis.com
            with_google_fonts=False,
        )
