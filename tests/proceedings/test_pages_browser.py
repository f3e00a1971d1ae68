"""
Every public page type rendered by headless Chromium at a desktop and a phone width: no
horizontal overflow, the Chinese text visible, a screenshot in tests/artifacts/ to look at.

Run with ``pytest -m browser``; skipped when /usr/bin/chromium or Playwright is missing.
"""

import os
from pathlib import Path
from urllib.parse import quote

import pytest

# Playwright's sync API runs an event loop in this thread; the live server's ORM calls are in
# other threads, so Django's async-safety check does not apply to them.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM = Path("/usr/bin/chromium")
if not CHROMIUM.exists():
    pytest.skip(f"{CHROMIUM} is not installed", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api")

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
WIDTHS = [1280, 390]
LIU_QUOTE = "企業對市場需求變化具備敏銳洞察力"

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# (screenshot name, path, text that must be visible)
PAGES = [
    ("home", "/", "誰來融合"),
    ("forum", "/forums/pujiang-2025/", "企業應真正成為融合創新的“第一主體”"),
    ("session", "/forums/pujiang-2025/sessions/science-policy/", LIU_QUOTE),
    ("question", "/forums/pujiang-2025/questions/who-integrates/", LIU_QUOTE),
    ("theme", "/forums/pujiang-2025/themes/enterprises-as-first-actor/", LIU_QUOTE),
    ("theme-outlook", "/forums/pujiang-2025/themes/outlook/", "強化企業創新主體地位"),
    ("position", "/positions/{liu}/", LIU_QUOTE),
    ("speaker-list", "/speakers/", "劉冬梅"),
    ("speaker", "/speakers/liu-dongmei/", LIU_QUOTE),
    ("institution-list", "/institutions/", "中國科學技術發展戰略研究院"),
    ("institution", "/institutions/casted/", LIU_QUOTE),
    ("sector-list", "/sectors/", "研究機構"),
    ("sector", "/sectors/research/", LIU_QUOTE),
    ("tag", f"/tags/{quote('企業創新主體')}/", LIU_QUOTE),
    ("source", "/sources/pujiang-2025-science-policy-report/", LIU_QUOTE),
    ("not-found", "/forums/no-such-forum/", "找不到頁面"),
]


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield browser
        browser.close()


@pytest.mark.parametrize(("name", "path", "text"), PAGES, ids=[page[0] for page in PAGES])
def test_page_fits_the_screen_and_shows_its_chinese_text(
    browser, live_server, pujiang, name, path, text
):
    from proceedings.models import Position

    liu = Position.objects.get(ref="liu-dongmei-enterprise-market-insight").pk
    ARTIFACTS.mkdir(exist_ok=True)

    for width in WIDTHS:
        page = browser.new_page(viewport={"width": width, "height": 900}, locale="zh-TW")
        page.goto(live_server.url + path.format(liu=liu))

        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        page.screenshot(path=ARTIFACTS / f"{name}-{width}.png", full_page=True)
        sync_api.expect(page.get_by_text(text).first).to_be_visible()
        assert overflow <= 0, f"{name} at {width}px is {overflow}px wider than the screen"
        page.close()


def test_translation_opens_without_javascript(browser, live_server, pujiang):
    from proceedings.models import Position

    position = Position.objects.get(ref="liu-dongmei-enterprise-market-insight")
    context = browser.new_context(
        java_script_enabled=False, viewport={"width": 390, "height": 900}, locale="zh-TW"
    )
    page = context.new_page()
    page.goto(live_server.url + position.get_absolute_url())
    translation = page.locator(".translation__text")

    sync_api.expect(translation).to_be_hidden()
    page.get_by_text("英文翻譯").click()

    sync_api.expect(translation).to_be_visible()
    sync_api.expect(translation).to_have_attribute("lang", "en")
    context.close()
