"""
The API's pages in headless Chromium under the site's Content-Security-Policy: Swagger UI at
/api/docs/ renders every operation from the schema, and DRF's browsable API renders, without a
CSP violation or a script error. Run with ``pytest -m browser``; skipped without Chromium.
"""

import pytest

sync_api = pytest.importorskip("playwright.sync_api")

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def page(browser):
    page = browser.new_page()
    page.problems = []

    def message(message):
        text = message.text
        violation = "Content Security Policy" in text
        # A missing favicon (a 404) is not a problem of these pages.
        error = message.type == "error" and "404" not in text
        if violation or error:
            page.problems.append(text)

    page.on("console", message)
    page.on("pageerror", lambda error: page.problems.append(str(error)))
    yield page
    page.close()


def test_swagger_ui_renders_every_operation_under_the_csp(page, live_server, pujiang):
    page.goto(f"{live_server.url}/api/docs/")
    page.locator(".opblock").first.wait_for(timeout=30_000)

    assert page.locator(".opblock").count() == 20
    assert page.locator(".opblock-summary-path").first.inner_text() == "/api/v1/forums/"
    assert page.problems == []


def test_browsable_api_renders_under_the_csp(page, live_server, pujiang):
    page.goto(f"{live_server.url}/api/v1/themes/")
    page.wait_for_load_state("load")

    assert page.locator("h1").inner_text() == "Theme List"
    assert "pujiang-2025" in page.locator(".response-info").inner_text()
    assert page.problems == []
