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
import os
import time
TIMES=[]
from pathlib import Path

import pytest

# Playwright's sync API runs an event loop in this thread; the live server's ORM calls are in
# other threads, so Django's async-safety check does not apply to them.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM = Path("/usr/bin/chromium")
if not CHROMIUM.exists():
    pytest.skip(f"{CHROMIUM} is not installed", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api")

AXE = Path(__file__).resolve().parents[1] / "vendor" / "axe-core" / "axe.min.js"
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
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
  return result.violations.map((v) => ({
    id: v.id,
    help: v.help,
    nodes: v.nodes.slice(0, 5).map((n) => n.target.join(" ") + ": " + n.failureSummary),
  }));
}"""


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield browser
        browser.close()


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
    from django.urls import reverse
    from django.utils import translation

    with translation.override(language):
        return reverse(f"proceedings:{name}", args=args) + (f"?{query}" if query else "")


def page_types(language, *, liu, withdrawn):
    """Return (name, path) of every public page type in ``language``."""
    return [
        ("home", url("home", language=language)),
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


# (language, width, pages: None for all of them)
AXE_RUNS = [
    ("zh-hant", 1280, None),
    ("en", 1280, None),
    ("zh-hans", 1280, {"home", "theme", "position", "search", "matrix", "forum-balance"}),
    ("zh-hant", 390, {"home", "theme", "position", "search", "matrix", "compare", "not-found"}),
    ("en", 390, {"position", "search-filtered", "theme-balance", "report-form"}),
]


def test_every_page_type_passes_axe_wcag_aa(new_page, live_server, pujiang):
    from proceedings.models import Position, Status
    from proceedings.services import transition

    liu = Position.objects.get(ref=LIU).pk
    withdrawn = Position.objects.get(ref=WITHDRAWN)
    transition(objects=[withdrawn], to=Status.WITHDRAWN)
    found, visited = {}, 0

    for language, width, only in AXE_RUNS:
        page = new_page(width=width, axe=True)
        pages = page_types(language, liu=liu, withdrawn=withdrawn.pk)
        if language == "zh-hant" and width == 1280:
            pages.append(("api-docs", "/api/docs/"))
        for name, path in pages:
            if only is not None and name not in only:
                continue
            t0=time.monotonic()
            page.goto(live_server.url + path)
            if name == "api-docs":  # Swagger UI renders the operations from script
                page.locator(".opblock").first.wait_for()
            t1=time.monotonic()
            violations = page.evaluate(RUN_AXE, WCAG_TAGS)
            TIMES.append((name, language, width, round(t1-t0,2), round(time.monotonic()-t1,2)))
            visited += 1
            if violations:
                found[f"{name} {language} {width}px {path}"] = violations

    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "axe-violations.json").write_text(json.dumps(found, ensure_ascii=False, indent=1))
    (ARTIFACTS / 'times.json').write_text(json.dumps(TIMES))
    assert found == {}
    assert visited == 30 + 30 + 6 + 7 + 4 + 1
