"""
The analysts' pages in headless Chromium at a desktop and a phone width: the page itself never
scrolls sideways (wide tables scroll in their own box, first column in view), the text shows,
and a screenshot lands in tests/artifacts/ to look at.

Run with ``pytest -m browser``; skipped when /usr/bin/chromium or Playwright is missing.
"""

import pytest
from django.urls import reverse

from tests.browser import ARTIFACTS

sync_api = pytest.importorskip("playwright.sync_api")

WIDTHS = [1280, 390]
FORUM = "pujiang-2025"

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

FOUR = "?speaker=liu-dongmei&speaker=fan-jianping&speaker=wang-zhan&speaker=xiao-jian"

# (screenshot name, URL name, arguments, query string, text that must be visible in a table)
PAGES = [
    ("matrix", "forum-matrix", [FORUM], "", "誰來融合"),
    ("matrix-by-theme", "forum-matrix", [FORUM], "?by=theme", "蝴蝶模型"),
    ("forum-balance", "forum-balance", [FORUM], "", "外國政府與國際組織"),
    ("theme-balance", "theme-balance", [FORUM, "full-factor-synergy"], "", "社團與民間組織"),
    ("compare", "compare", [], "?speaker=liu-dongmei&speaker=fan-jianping", "蝴蝶模型"),
    ("compare-four", "compare", [], FOUR, "裸泳"),
]


@pytest.mark.parametrize(
    ("name", "url_name", "args", "query", "text"), PAGES, ids=[page[0] for page in PAGES]
)
def test_analysis_page_fits_the_screen(
    browser, live_server, pujiang, name, url_name, args, query, text
):
    url = live_server.url + reverse(f"proceedings:{url_name}", args=args) + query

    for width in WIDTHS:
        page = browser.new_page(viewport={"width": width, "height": 900}, locale="zh-TW")
        page.goto(url)

        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        page.screenshot(path=ARTIFACTS / f"analysis-{name}-{width}.png", full_page=True)
        sync_api.expect(page.locator("table").get_by_text(text).first).to_be_visible()
        assert overflow <= 0, f"{name} at {width}px is {overflow}px wider than the screen"
        page.close()


def test_matrix_scrolls_in_its_box_with_the_speakers_in_view(browser, live_server, pujiang):
    page = browser.new_page(viewport={"width": 390, "height": 900}, locale="zh-TW")
    page.goto(live_server.url + reverse("proceedings:forum-matrix", args=[FORUM]) + "?by=theme")
    box = page.locator(".table-scroll")
    name = page.get_by_role("rowheader", name="劉冬梅").first

    sync_api.expect(page.locator(".scroll-hint")).to_be_visible()
    before = name.bounding_box()["x"]
    box.evaluate("element => element.scrollBy(600, 0)")
    page.wait_for_timeout(100)

    assert box.evaluate("element => element.scrollLeft") > 0
    assert name.bounding_box()["x"] == pytest.approx(before, abs=1)
    page.screenshot(path=ARTIFACTS / "analysis-matrix-scrolled-390.png", full_page=True)
    page.close()


@pytest.mark.parametrize("width", WIDTHS)
def test_compare_form_works_without_javascript(browser, live_server, pujiang, width):
    context = browser.new_context(
        java_script_enabled=False, viewport={"width": width, "height": 900}, locale="zh-TW"
    )
    page = context.new_page()
    page.goto(live_server.url + reverse("proceedings:speaker-detail", args=["liu-dongmei"]))

    # By address and form, not by words: the interface strings are translated later.
    page.locator(".page-tools a[href*='speaker=liu-dongmei']").click()
    page.get_by_label("王戰").check()
    page.screenshot(path=ARTIFACTS / f"analysis-compare-form-{width}.png", full_page=True)
    page.locator(".compare-form__speakers button[type=submit]").click()

    headers = page.locator("table.compare thead th .compare__name")
    sync_api.expect(headers).to_have_count(2)
    sync_api.expect(headers.first).to_contain_text("劉冬梅")
    sync_api.expect(headers.last).to_contain_text("王戰")
    context.close()
