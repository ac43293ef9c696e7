"""The documentation pages work on a closed network: every file they load is served here."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from fastapi.testclient import TestClient

from api.web.app import create_app
from api.web.settings import ApiSettings

# namespace strings that name a host but are never fetched (SVG, XHTML in the bundles' markup)
_NAMESPACES = ("http://www.w3.org/",)


class _LoadedFiles(HTMLParser):
    """The URLs a page makes the browser fetch: script sources and linked files."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "script" and attributes.get("src"):
            self.urls.append(attributes["src"] or "")
        if tag == "link" and attributes.get("href"):
            self.urls.append(attributes["href"] or "")


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> TestClient:
    # the pages need no store: the application is not started (no lifespan), only routed
    settings = ApiSettings(store=tmp_path_factory.mktemp("store"))
    return TestClient(create_app(settings))


def _external_urls(text: str) -> list[str]:
    urls = re.findall(r"https?://[^\s\"'<>)]+", text)
    return [url for url in urls if not url.startswith(_NAMESPACES)]


@pytest.mark.parametrize("path", ["/docs", "/redoc"])
def test_documentation_pages_load_only_local_files(client: TestClient, path: str) -> None:
    page = client.get(path)
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    parser = _LoadedFiles()
    parser.feed(page.text)
    assert parser.urls, f"{path} loads no script or style at all"
    for url in parser.urls:
        assert url.startswith("/") and not url.startswith("//"), f"{path} loads {url}"
        assert client.get(url).status_code == 200, f"{path} loads {url}, which is not served"
    assert _external_urls(page.text) == []
    assert "fonts.googleapis.com" not in page.text


def test_documentation_reads_the_served_schema(client: TestClient) -> None:
    assert "/openapi.json" in client.get("/docs").text
    assert "/openapi.json" in client.get("/redoc").text
    assert client.get("/openapi.json").status_code == 200


def test_the_bundles_are_the_real_swagger_ui_and_redoc(client: TestClient) -> None:
    swagger = client.get("/docs-assets/swagger-ui-bundle.js")
    redoc = client.get("/docs-assets/redoc.standalone.js")
    assert swagger.status_code == redoc.status_code == 200
    # the pages call these globals: a stub or an error page would not define them
    assert "SwaggerUIBundle" in swagger.text and len(swagger.content) > 500_000
    assert "Redoc" in redoc.text and len(redoc.content) > 500_000
