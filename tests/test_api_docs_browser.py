"""The API's documentation page, /api/v1/docs, in Debian's Chromium (Playwright): it renders every
operation of the OpenAPI document, and no request leaves the machine."""
import threading
from urllib.parse import urlparse

import pytest
from playwright.sync_api import sync_playwright
from werkzeug.serving import make_server

from octeth_domains.api.registry import registry
from test_web_browser import CHROMIUM, CHROMIUM_ARGS


@pytest.fixture
def served(app):
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join()


def test_the_docs_page_renders_every_operation_with_nothing_from_another_host(served):
    requested, elsewhere = [], []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context()

            def route(route):
                url = route.request.url
                requested.append(url)
                if urlparse(url).hostname != "127.0.0.1":
                    elsewhere.append(url)
                    route.abort()
                else:
                    route.continue_()

            context.route("**/*", route)
            page = context.new_page()
            failures = []
            page.on("pageerror", lambda error: failures.append(str(error)))
            page.goto(served + "/api/v1/docs")
            page.wait_for_selector(".opblock", timeout=20000)
            page.wait_for_load_state("networkidle")
            operations = page.locator(".opblock").count()
            title = page.locator(".info .title").inner_text()
            page.locator(".opblock-summary").first.click()  # an operation opens with its parameters
            page.wait_for_selector(".opblock-body", timeout=5000)
        finally:
            browser.close()
    assert elsewhere == [], elsewhere
    assert failures == []
    assert operations == sum(len(methods) for methods in registry.routes.values())
    assert "octeth-domains" in title
    assert any(url.endswith("/api/v1/openapi.json") for url in requested)
