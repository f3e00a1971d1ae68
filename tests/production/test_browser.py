"""
Journeys in headless Chromium under the production Content-Security-Policy: a reader from the
home page to a speaker, the phone layout of a theme page, an editor who edits and publishes a
quote in the admin and finds it on the site, and search with a filter (once the search page
exists). Every journey fails on a CSP violation or a JavaScript error in the console.

Run with ``pytest -m browser``; skipped when /usr/bin/chromium or Playwright is missing.
"""

import pytest

from tests.browser import ARTIFACTS

sync_api = pytest.importorskip("playwright.sync_api")

LIU_QUOTE = "企業對市場需求變化具備敏銳洞察力"
FORUM = "pujiang-2025"
FIRST_THEME = "enterprises-as-first-actor"

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


class Console:
    """CSP violations and script errors a page reported (a missing favicon is not one)."""

    def __init__(self, page):
        self.problems = []
        page.on("console", self.message)
        page.on("pageerror", lambda error: self.problems.append(f"{page.url}: {error}"))

    def message(self, message):
        text = message.text
        if message.type == "error" and "favicon.ico" not in (message.location or {}).get("url", ""):
            if "Failed to load resource" in text and "404" in text:
                return  # a missing favicon; other 404s fail the journey's own assertions
            self.problems.append(text)
        elif "Content Security Policy" in text:
            self.problems.append(text)


@pytest.fixture
def new_page(browser, live_server):
    contexts = []

    def new(width=1280, **options):
        context = browser.new_context(
            viewport={"width": width, "height": 900}, locale="zh-TW", **options
        )
        contexts.append(context)
        page = context.new_page()
        page.console = Console(page)
        return page

    yield new
    for context in contexts:
        context.close()


def url(name, *args, language="zh-hant"):
    """Return a public page's URL, in ``language`` (the browsers here ask for zh-TW)."""
    from django.urls import reverse
    from django.utils import translation

    with translation.override(language):
        return reverse(f"proceedings:{name}", args=args)


def go(page, live_server, href):
    """Follow the first link to ``href`` on the page, as a reader would."""
    page.locator(f'a[href="{href}"]').first.click()
    page.wait_for_load_state()
    assert page.url == live_server.url + href


def test_reader_goes_from_home_to_a_question_a_theme_a_quote_and_its_speaker(
    new_page, live_server, pujiang
):
    from proceedings.models import Position

    liu = Position.objects.get(ref="liu-dongmei-enterprise-market-insight")
    page = new_page()

    page.goto(live_server.url + "/")  # zh-TW: redirected to /zh-hant/
    go(page, live_server, url("question-detail", FORUM, "who-integrates"))
    go(page, live_server, url("theme-detail", FORUM, FIRST_THEME))
    sync_api.expect(page.get_by_text(LIU_QUOTE).first).to_be_visible()
    go(page, live_server, liu.get_absolute_url())
    sync_api.expect(page.locator("h1")).to_be_visible()
    go(page, live_server, url("speaker-detail", "liu-dongmei"))

    sync_api.expect(page.locator("h1")).to_contain_text("劉冬梅")
    sync_api.expect(page.get_by_text(LIU_QUOTE).first).to_be_visible()
    assert page.console.problems == []


def test_theme_page_phone_layout(new_page, live_server, pujiang):
    page = new_page(width=390, is_mobile=True, has_touch=True, device_scale_factor=2)

    page.goto(live_server.url + url("theme-detail", FORUM, FIRST_THEME))

    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    quote = page.get_by_text(LIU_QUOTE).first
    quote.scroll_into_view_if_needed()
    box = quote.bounding_box()
    page.screenshot(path=ARTIFACTS / "production-theme-phone.png", full_page=True)
    sync_api.expect(quote).to_be_visible()
    assert overflow <= 0
    # The quote wraps inside the screen rather than running off it.
    assert box["x"] >= 0
    assert box["x"] + box["width"] <= 390
    assert page.console.problems == []


def test_editor_edits_a_quote_publishes_it_and_sees_it_on_the_site(
    new_page, live_server, pujiang, django_user_model
):
    from django.contrib.auth.models import Permission

    from proceedings.models import Position, Status
    from proceedings.workflow import transition

    position = Position.objects.filter(fidelity=Position.Fidelity.PARAPHRASE).order_by("pk")[0]
    transition(objects=[position], to=Status.DRAFT)
    editor = django_user_model.objects.create_user(
        "editor", password="a-long-passphrase", is_staff=True
    )
    # What the Editors and Publishers groups grant on positions (the groups come from a data
    # migration, which the flush between transactional tests removes).
    editor.user_permissions.add(
        *Permission.objects.filter(
            content_type__app_label="proceedings",
            codename__in=["view_position", "change_position", "publish_position"],
        )
    )
    new_text = "編輯改寫的觀點:企業應成為科技創新和產業創新融合的主體。"
    page = new_page()

    page.goto(f"{live_server.url}/admin/")
    page.fill("#id_username", "editor")
    page.fill("#id_password", "a-long-passphrase")
    page.locator("input[type=submit]").click()
    page.wait_for_url(f"{live_server.url}/admin/")
    page.goto(f"{live_server.url}/admin/proceedings/position/{position.pk}/change/")
    page.fill("#id_text", new_text)
    page.locator("input[name=_save]").click()
    page.wait_for_url(f"{live_server.url}/admin/proceedings/position/**")
    page.goto(f"{live_server.url}/admin/proceedings/position/?status__exact=draft")
    page.locator(f'input[name="_selected_action"][value="{position.pk}"]').check()
    page.select_option("select[name=action]", "publish")
    page.locator("button[name=index]").click()
    page.wait_for_load_state()
    admin_problems = list(page.console.problems)

    reader = new_page()
    reader.goto(live_server.url + position.get_absolute_url())

    position.refresh_from_db()
    assert (position.text, position.status) == (new_text, Status.PUBLISHED)
    sync_api.expect(reader.get_by_text(new_text).first).to_be_visible()
    assert admin_problems == []
    assert reader.console.problems == []


def test_admin_pages_run_under_the_admin_policy(new_page, live_server, pujiang, django_user_model):
    from proceedings.models import Position

    django_user_model.objects.create_superuser("boss", "boss@example.org", "a-long-passphrase")
    position = Position.objects.order_by("pk").first()
    page = new_page()
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", "boss")
    page.fill("#id_password", "a-long-passphrase")
    page.locator("input[type=submit]").click()
    page.wait_for_url(f"{live_server.url}/admin/")

    for path in [
        "/admin/",
        "/admin/proceedings/position/",
        f"/admin/proceedings/position/{position.pk}/change/",
        "/admin/proceedings/position/add/",
        f"/admin/proceedings/position/{position.pk}/history/",
        "/admin/proceedings/forum/1/change/",
        "/admin/speakers/speaker/",
    ]:
        page.goto(live_server.url + path)
        page.wait_for_load_state("networkidle")
    # An autocomplete widget (select2) opens and lists choices: the appearances, by speaker.
    # Waiting for a speaker's name, not for the first option (which may be select2's
    # "Searching…"), lets the lookup finish before the test's database is flushed.
    page.goto(f"{live_server.url}/admin/proceedings/position/{position.pk}/change/")
    page.locator(".field-appearance .select2-selection").click()
    sync_api.expect(
        page.locator(".select2-results__option", has_text="劉冬梅 — 中國科學技術發展戰略研究院")
    ).to_be_visible()
    page.wait_for_load_state("networkidle")

    assert page.console.problems == []


def test_search_with_a_filter_and_removing_it(new_page, live_server, pujiang):
    from django.urls import NoReverseMatch, reverse

    try:
        search = reverse("proceedings:search")
    except NoReverseMatch:
        pytest.skip("the search page does not exist yet")
    page = new_page()

    page.goto(f"{live_server.url}{search}?q=企業")
    results = page.locator("article").count()
    filter_link = page.locator("a[href*='speaker=']").first
    filter_link.click()
    page.wait_for_load_state()
    filtered = page.locator("article").count()
    page.locator(".filter-chip").first.click()  # the chip's link removes its filter
    page.wait_for_load_state()

    assert 0 < filtered <= results
    assert "speaker=" not in page.url
    assert page.console.problems == []


def test_reader_switches_language_on_a_theme_page_and_the_choice_is_remembered(
    new_page, live_server, pujiang
):
    page = new_page()
    page.goto(live_server.url + url("theme-detail", FORUM, FIRST_THEME))

    page.locator('.language-switcher a[hreflang="en"]').click()
    page.wait_for_load_state()
    english_url = page.url
    english_title = page.locator("h1").inner_text()
    page.locator('.language-switcher a[hreflang="zh-Hans"]').click()
    page.wait_for_load_state()
    simplified_title = page.locator("h1").inner_text()
    page.goto(live_server.url + "/")  # the browser asks for zh-TW; the choice wins

    assert english_url == live_server.url + url("theme-detail", FORUM, FIRST_THEME, language="en")
    assert english_title == (
        "Enterprises should truly become the “first actor” of integrated innovation"
    )
    assert simplified_title == "企业应真正成为融合创新的“第一主体”"
    assert page.url == live_server.url + url("home", language="zh-hans")
    assert page.locator("html").get_attribute("lang") == "zh-Hans"
    assert page.console.problems == []


@pytest.mark.parametrize("language", ["zh-hant", "zh-hans", "en"])
@pytest.mark.parametrize("width", [390, 1280])
def test_language_switcher_fits_on_a_phone_and_a_desktop(
    new_page, live_server, pujiang, language, width
):
    phone = width == 390
    page = new_page(width=width, is_mobile=phone, has_touch=phone, device_scale_factor=2)

    page.goto(live_server.url + url("theme-detail", FORUM, FIRST_THEME, language=language))

    switcher = page.locator(".language-switcher")
    box = switcher.bounding_box()
    links = switcher.locator("a")
    current = switcher.locator('a[aria-current="true"]')
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    page.screenshot(path=ARTIFACTS / f"language-switcher-{language}-{width}.png")
    assert links.all_inner_texts() == ["繁體中文", "简体中文", "English"]
    assert current.get_attribute("lang") == {"zh-hant": "zh-Hant", "zh-hans": "zh-Hans"}.get(
        language, "en"
    )
    assert overflow <= 0
    assert box["x"] >= 0
    assert box["x"] + box["width"] <= width
    # Big enough to tap on a phone.
    assert all(link.bounding_box()["height"] >= 24 for link in links.all())
    assert page.console.problems == []
