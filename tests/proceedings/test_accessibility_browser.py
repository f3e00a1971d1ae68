"""
Accessibility in headless Chromium: axe-core's WCAG 2.0/2.1/2.2 A and AA rules on every public
page type (Traditional Chinese and English at 1280 px, Simplified Chinese and 390 px for some),
the keyboard path through the header, the print stylesheet, pages without JavaScript, and the
phone layout of the main pages (screenshots in tests/artifacts/).

axe-core is vendored in tests/vendor/axe-core/ (see its README: no Node.js or network needed).
It is injected as an init script, which the page's Content-Security-Policy does not block, so
the pages are checked under the same policy readers get.

Run with ``pytest -m browser``; skipped when /usr/bin/chromium or Playwright is missing.
"""

import json
import subprocess
from collections import defaultdict
from pathlib import Path

import pytest
from django.urls import reverse
from django.utils.http import urlencode

from tests.browser import ARTIFACTS

sync_api = pytest.importorskip("playwright.sync_api")

AXE = Path(__file__).resolve().parents[1] / "vendor" / "axe-core" / "axe.min.js"
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
FORUM = "pujiang-2025"
THEME = "enterprises-as-first-actor"
LIU = "liu-dongmei-enterprise-market-insight"
LIU_QUOTE = "企業對市場需求變化具備敏銳洞察力"
# Withdrawn at the start of the axe test, for the 410 page (not one the other pages show first).
WITHDRAWN = "song-qi-photon-ct-roadmap"

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

RUN_AXE = """async (tags) => {
  const result = await axe.run(document, {
    runOnly: {type: "tag", values: tags},
    resultTypes: ["violations"],
  });
  const violations = result.violations.map((v) => ({
    id: v.id,
    help: v.help,
    nodes: v.nodes.slice(0, 5).map((n) => n.target.join(" ") + ": " + n.failureSummary),
  }));
  // axe 4.x no longer counts duplicate ids under WCAG (4.1.1 is obsolete in WCAG 2.2), but
  // labels, aria-labelledby and skip links still need them unique.
  const ids = Array.from(document.querySelectorAll("[id]"), (el) => el.id);
  const duplicates = ids.filter((id, i) => ids.indexOf(id) !== i);
  if (duplicates.length) {
    violations.push({id: "duplicate-id", help: "ids are unique", nodes: duplicates});
  }
  return violations;
}"""


@pytest.fixture
def new_page(browser):
    contexts = []

    def new(width=1280, axe=False, **options):
        phone = width < 600
        context = browser.new_context(
            viewport={"width": width, "height": 900},
            locale="zh-TW",
            is_mobile=phone,
            has_touch=phone,
            **options,
        )
        if axe:
            context.add_init_script(path=str(AXE))
        contexts.append(context)
        return context.new_page()

    yield new
    for context in contexts:
        context.close()


def url(name, *args, language="zh-hant", query=""):
    """Return a public page's path in ``language``, with an optional query string."""
    from django.utils import translation

    with translation.override(language):
        return reverse(f"proceedings:{name}", args=args) + (f"?{query}" if query else "")


def page_types(language, *, liu, withdrawn):
    """Return (name, path) of every public page type in ``language``."""
    return [
        ("home", url("home", language=language)),
        ("forum-list", url("forum-list", language=language)),
        ("forum", url("forum-detail", FORUM, language=language)),
        ("session", url("session-detail", FORUM, "science-policy", language=language)),
        ("question", url("question-detail", FORUM, "who-integrates", language=language)),
        ("theme", url("theme-detail", FORUM, THEME, language=language)),
        ("position", url("position-detail", liu, language=language)),
        ("speaker-list", url("speaker-list", language=language)),
        ("speaker", url("speaker-detail", "liu-dongmei", language=language)),
        ("institution-list", url("institution-list", language=language)),
        ("institution", url("institution-detail", "casted", language=language)),
        ("sector-list", url("sector-list", language=language)),
        ("sector", url("sector-detail", "research", language=language)),
        ("tag-list", url("tag-list", language=language)),
        ("tag", url("tag-detail", "企業創新主體", language=language)),
        ("source", url("source-detail", "pujiang-2025-science-policy-report", language=language)),
        ("search", url("search", language=language, query="q=企業")),
        ("search-filtered", url("search", language=language, query="q=企業&sector=research")),
        ("search-empty", url("search", language=language, query="q=zzzzqqq")),
        ("search-form", url("search", language=language)),
        ("matrix", url("forum-matrix", FORUM, language=language)),
        ("matrix-themes", url("forum-matrix", FORUM, language=language, query="by=theme")),
        ("compare-form", url("compare", language=language)),
        (
            "compare",
            url("compare", language=language, query="speaker=liu-dongmei&speaker=fan-jianping"),
        ),
        ("compare-error", url("compare", language=language, query="speaker=nobody&speaker=x")),
        ("forum-balance", url("forum-balance", FORUM, language=language)),
        ("theme-balance", url("theme-balance", FORUM, THEME, language=language)),
        ("data", url("data", language=language)),
        ("not-found", url("forum-detail", "no-such-forum", language=language)),
        ("withdrawn", url("position-detail", withdrawn, language=language)),
        ("report-form", url("position-report", liu, language=language)),
        ("report-thanks", url("position-report-thanks", liu, language=language)),
    ]


# Pages that are another state of a page type above: checked in Traditional Chinese only.
VARIANTS = {
    "search-filtered",
    "search-empty",
    "search-form",
    "matrix-themes",
    "compare-form",
    "compare-error",
    "report-thanks",
}
# (language, width, the pages checked: None for every type)
AXE_RUNS = [
    ("zh-hant", 1280, None),
    ("en", 1280, None),
    ("zh-hans", 1280, {"home", "theme", "position", "search"}),
    ("zh-hant", 390, {"home", "theme", "position", "search-filtered", "matrix", "forum-list"}),
    ("en", 390, {"position", "compare", "theme-balance"}),
]


def test_every_page_type_passes_axe_wcag_aa(new_page, live_server, pujiang):
    from proceedings.models import Position, Status
    from proceedings.workflow import transition

    liu = Position.objects.get(ref=LIU).pk
    withdrawn = Position.objects.get(ref=WITHDRAWN)
    transition(objects=[withdrawn], to=Status.WITHDRAWN)
    found, checked, statuses = {}, [], defaultdict(list)

    for language, width, only in AXE_RUNS:
        page = new_page(width=width, axe=True)
        pages = page_types(language, liu=liu, withdrawn=withdrawn.pk)
        if (language, width) == ("zh-hant", 1280):
            pages.append(("api-docs", reverse("api-docs")))
        if language != "zh-hant":
            pages = [(name, path) for name, path in pages if name not in VARIANTS]
        for name, path in pages:
            if only is not None and name not in only:
                continue
            response = page.goto(live_server.url + path)
            statuses[response.status].append(name)
            if name == "api-docs":  # Swagger UI renders the operations from script
                page.locator(".opblock").first.wait_for()
            violations = page.evaluate(RUN_AXE, WCAG_TAGS)
            checked.append((name, language, width))
            if violations:
                found[f"{name} {language} {width}px {path}"] = violations

    every_type = {name for name, _ in page_types("en", liu=liu, withdrawn=liu)}
    (ARTIFACTS / "axe-violations.json").write_text(json.dumps(found, ensure_ascii=False, indent=1))
    assert found == {}
    # Error pages answer with their status; every other page is the page itself.
    assert {status: set(names) for status, names in statuses.items()} == {
        200: every_type - {"not-found", "withdrawn", "compare-error"} | {"api-docs"},
        400: {"compare-error"},
        404: {"not-found"},
        410: {"withdrawn"},
    }
    # Every page type in Traditional Chinese and English; some in Simplified and at 390px.
    by_language = {
        language: {name for name, checked_in, _ in checked if checked_in == language}
        for language in ["zh-hant", "en"]
    }
    assert by_language == {"zh-hant": every_type | {"api-docs"}, "en": every_type - VARIANTS}
    assert len(checked) == 33 + 25 + 4 + 6 + 3


FOCUSED = """() => {
  const el = document.activeElement;
  const style = getComputedStyle(el);
  return {
    index: Array.prototype.indexOf.call(document.querySelectorAll("*"), el),
    tag: el.tagName.toLowerCase(),
    id: el.id,
    className: typeof el.className === "string" ? el.className : "",
    href: el.getAttribute("href"),
    url: el.href || "",
    text: (el.innerText || "").trim(),
    focusVisible: el.matches(":focus-visible"),
    outline: style.outlineStyle !== "none" && parseFloat(style.outlineWidth) >= 2,
  };
}"""


def in_language(language, text):
    """Return ``text`` (a message id or lazy string) as the catalogue translates it."""
    from django.utils import translation

    with translation.override(language):
        return translation.gettext(str(text)) if isinstance(text, str) else str(text)


def focused(page):
    return page.evaluate(FOCUSED)


def tab(page, key="Tab"):
    page.keyboard.press(key)
    return focused(page)


def test_keyboard_reaches_the_header_in_order_and_the_skip_link_moves_focus_to_main(
    new_page, live_server, pujiang
):
    page = new_page()
    theme = url("theme-detail", FORUM, THEME)
    page.goto(live_server.url + theme)

    skip = tab(page)
    page.keyboard.press("Enter")
    after_skip = focused(page)
    first_in_main = tab(page)
    page.goto(live_server.url + theme)
    header = [tab(page) for _ in range(13)]

    def switch(language):
        next_url = url("theme-detail", FORUM, THEME, language=language)
        return reverse("choose-language", args=[language]) + "?" + urlencode({"next": next_url})

    assert (skip["className"], skip["text"], skip["href"]) == (
        "skip-link",
        in_language("zh-hant", "Skip to content"),
        "#main",
    )
    assert page.url == live_server.url + theme
    assert (after_skip["tag"], after_skip["id"]) == ("main", "main")
    assert first_in_main["href"] == url("home")  # the breadcrumbs' first link
    assert [(f["tag"], f["className"], f["href"] or f["id"]) for f in header] == [
        ("a", "skip-link", "#main"),
        ("a", "site-name", url("home")),
        ("a", "", switch("zh-hant")),
        ("a", "", switch("zh-hans")),
        ("a", "", switch("en")),
        ("a", "", url("forum-list")),
        ("a", "", url("speaker-list")),
        ("a", "", url("institution-list")),
        ("a", "", url("home") + "#forums"),
        ("a", "", url("tag-list")),
        ("a", "", url("search")),
        ("input", "search-box__input", "site-search-q"),
        ("button", "search-box__button", ""),
    ]
    # Every stop shows where the focus is: a 2px outline at least, from :focus-visible.
    assert [f["text"] or f["id"] for f in header if not (f["focusVisible"] and f["outline"])] == []
    assert skip["outline"]


def tab_through(page, *, until, limit=400):
    """Tab from the top of the page to the element ``until`` matches; return the stops.

    Fails when the focus comes back to an element it left (a trap, or a loop) first.
    """
    page.evaluate("() => document.activeElement && document.activeElement.blur()")
    stops = []
    for _ in range(limit):
        stop = tab(page)
        assert stop["index"] not in [s["index"] for s in stops], f"focus came back to {stop}"
        stops.append(stop)
        if page.evaluate(f"() => document.activeElement.matches({until!r})"):
            return stops
    raise AssertionError(f"{until} not reached in {limit} tab presses; last: {stops[-3:]}")


def test_cite_copy_buttons_and_search_facets_do_not_trap_the_keyboard(
    new_page, live_server, pujiang
):
    from proceedings.citations import FORMATS
    from proceedings.models import Position

    liu = Position.objects.get(ref=LIU)
    page = new_page(permissions=["clipboard-read", "clipboard-write"])
    page.goto(live_server.url + liu.get_absolute_url())

    stops = tab_through(page, until=".site-footer__links li:last-child a")
    copy_stops = [s for s in stops if s["className"] == "cite__copy"]
    page.locator(".cite__copy").first.focus()
    before_copy = tab(page, "Shift+Tab")
    page.locator(".cite__copy").first.focus()
    page.keyboard.press("Enter")
    sync_api.expect(page.locator(".cite__copy").first).to_have_text(
        in_language("zh-hant", "Copied")
    )
    copied = page.evaluate("() => navigator.clipboard.readText()")
    apa = page.locator("#cite-apa").inner_text()
    # APA is shown; the other formats are one click away ("Other formats"), each with its copy.
    bibtex = page.locator("#cite-bibtex")
    folded = not bibtex.is_visible()
    page.get_by_text(in_language("zh-hant", "Other formats"), exact=True).click()
    unfolded = bibtex.is_visible()
    page.locator(".cite__copy").nth(list(FORMATS).index("bibtex")).click()
    copied_bibtex = page.evaluate("() => navigator.clipboard.readText()")
    bibtex_text = bibtex.text_content()

    page.goto(live_server.url + url("search", query="q=企業"))
    facet_links = page.locator(".facet a").evaluate_all("links => links.map(a => a.href)")
    search_stops = tab_through(page, until=".site-footer__links li:last-child a")

    assert [s["text"] for s in copy_stops] == [in_language("zh-hant", "Copy")]  # APA's
    assert all(s["focusVisible"] and s["outline"] for s in copy_stops)
    assert before_copy == stops[stops.index(copy_stops[0]) - 1]  # and back out again
    assert copied == apa
    assert (folded, unfolded) == (True, True)
    assert copied_bibtex == bibtex_text
    assert copied_bibtex.startswith("@misc{liu-dongmei-")
    # Every facet value is a stop on the way through the page, and the way goes on after them.
    assert len(facet_links) > 10
    reached = {s["url"] for s in search_stops}
    assert [href for href in facet_links if href not in reached] == []
    assert [s for s in search_stops if not (s["focusVisible"] and s["outline"])] == []


def print_pdf(page, name):
    """Save the page as printed (PDF, and its first pages as PNG) in tests/artifacts/."""
    pdf = ARTIFACTS / f"print-{name}.pdf"
    page.pdf(path=pdf, format="A4")
    if Path("/usr/bin/pdftoppm").exists():
        subprocess.run(  # noqa: S603 (a fixed program on our own file)
            ["/usr/bin/pdftoppm", "-png", "-r", "60", "-l", "3", pdf, ARTIFACTS / f"print-{name}"],
            check=True,
        )


HIDDEN_IN_PRINT = [
    ".skip-link",
    ".site-nav",
    ".language-switcher",
    ".site-header .search-box",
    ".site-footer__links",
    "button",
    ".feed-link",
    ".translation summary",
]


def shown(page, selectors):
    """Return whether the first element of each selector is visible."""
    return {selector: page.locator(selector).first.is_visible() for selector in selectors}


def test_theme_page_and_citation_print_without_navigation(new_page, live_server, pujiang):
    from proceedings.models import Position

    liu = Position.objects.get(ref=LIU)
    page = new_page()
    page.emulate_media(media="print")
    page.goto(live_server.url + url("theme-detail", FORUM, THEME))
    print_pdf(page, "theme")
    theme_shown = shown(page, HIDDEN_IN_PRINT)
    quote = page.get_by_text(LIU_QUOTE).first.is_visible()
    permalink_after = page.evaluate(
        """(href) => getComputedStyle(document.querySelector(`a[rel=bookmark][href="${href}"]`),
                                      "::after").content""",
        liu.get_absolute_url(),
    )
    colours = page.evaluate("(s => [s.color, s.backgroundColor])(getComputedStyle(document.body))")
    quote_breaks = page.evaluate(
        "() => getComputedStyle(document.querySelector('.position')).breakInside"
    )

    page.goto(live_server.url + liu.get_absolute_url())
    print_pdf(page, "position")
    position_shown = shown(page, HIDDEN_IN_PRINT)

    assert theme_shown == dict.fromkeys(HIDDEN_IN_PRINT, False)
    assert quote
    assert permalink_after == f'" {live_server.url}{liu.get_absolute_url()}"'
    assert colours == ["rgb(0, 0, 0)", "rgb(255, 255, 255)"]
    assert quote_breaks == "avoid"
    assert position_shown == dict.fromkeys(HIDDEN_IN_PRINT, False)
    sync_api.expect(page.locator(".position-page__text").get_by_text(LIU_QUOTE)).to_be_visible()
    sync_api.expect(page.locator(".translation__text")).to_be_visible()  # printed open
    sync_api.expect(page.locator("#cite-apa")).to_be_visible()
    sync_api.expect(page.locator("#cite-heading")).to_be_visible()
    # Record formats print only when unfolded, and without their "Show" summary.
    sync_api.expect(page.locator("#cite-bibtex-label")).to_be_hidden()
    page.locator("#cite-bibtex").evaluate("pre => pre.closest('details').open = true")
    sync_api.expect(page.locator("#cite-bibtex")).to_be_visible()
    sync_api.expect(page.locator("#cite-bibtex-label")).to_be_visible()
    sync_api.expect(page.locator(".cite__fold > summary").first).to_be_hidden()
    # In English the quote is its translation; the original, as spoken, is printed beside it.
    page.goto(live_server.url + url("position-detail", liu.pk, language="en"))
    print_pdf(page, "position-en")
    sync_api.expect(page.locator(".original__text").get_by_text(LIU_QUOTE)).to_be_visible()


def test_theme_and_position_pages_read_without_javascript(new_page, live_server, pujiang):
    from proceedings.citations import FORMATS
    from proceedings.models import Position

    liu = Position.objects.get(ref=LIU)
    permalink = live_server.url + liu.get_absolute_url()
    translation_start = liu.translation.split("\n")[0][:40]
    page = new_page(java_script_enabled=False)

    page.goto(live_server.url + url("theme-detail", FORUM, THEME))
    sync_api.expect(page.get_by_text(LIU_QUOTE).first).to_be_visible()
    page.locator(f"#position-{liu.pk} .translation summary").click()  # <details>, no script
    sync_api.expect(page.get_by_text(translation_start).first).to_be_visible()

    page.goto(permalink)
    sync_api.expect(page.locator(".position-page__text").get_by_text(LIU_QUOTE)).to_be_visible()
    page.locator(".translation summary").click()
    sync_api.expect(page.get_by_text(translation_start).first).to_be_visible()
    for slug in FORMATS:
        sync_api.expect(page.locator(f"#cite-{slug}")).to_contain_text(permalink)
    sync_api.expect(page.locator(".cite__label")).to_have_text(
        [in_language("zh-hant", f.label) for f in FORMATS.values()]
    )
    sync_api.expect(page.locator(".cite__copy")).to_have_count(0)


def test_main_pages_fit_a_phone(new_page, live_server, pujiang):
    from proceedings.models import Position

    liu = Position.objects.get(ref=LIU)
    page = new_page(width=390, device_scale_factor=2)
    overflows = {}

    for name, path in [
        ("home", url("home")),
        ("theme", url("theme-detail", FORUM, THEME)),
        ("position", liu.get_absolute_url()),
        ("search", url("search", query="q=企業")),
        ("matrix", url("forum-matrix", FORUM)),
    ]:
        page.goto(live_server.url + path)
        page.screenshot(path=ARTIFACTS / f"phone-{name}.png", full_page=True)
        overflows[name] = page.evaluate("document.documentElement.scrollWidth - innerWidth")

    assert overflows == {"home": 0, "theme": 0, "position": 0, "search": 0, "matrix": 0}
