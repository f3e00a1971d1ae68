from pathlib import Path

import pytest

from tests.browser import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS

DATA_DIR = Path(__file__).resolve().parent.parent / "proceedings" / "data"
PUJIANG_FILE = DATA_DIR / "pujiang-2025.json"


@pytest.fixture
def pujiang(db):
    """Import the bundled Pujiang 2025 file and return its Forum."""
    from proceedings.interchange.documents import import_forum_file
    from proceedings.models import Forum

    import_forum_file(path=PUJIANG_FILE)
    return Forum.objects.get(slug="pujiang-2025")


@pytest.fixture(autouse=True)
def default_language():
    """Start every test in the default language (zh-hant), whatever the previous one left.

    A request activates its page's language in the thread and nothing deactivates it, so
    without this a test's ``reverse()`` would build ``/en/…`` URLs after another test's
    English request.
    """
    from django.conf import settings
    from django.utils import translation

    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.activate(settings.LANGUAGE_CODE)


@pytest.fixture(autouse=True)
def datasets_root(settings, tmp_path):
    """Keep each test's data downloads (built once per content generation) to itself."""
    settings.DATASETS_ROOT = tmp_path / "datasets"
    return settings.DATASETS_ROOT


# ---------------------------------------------------------------------------------------------
# Headless Chromium, for the tests marked `browser` (one launch a module)
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser():
    """Chromium under Playwright's sync API; skips the test when either is missing."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is not installed")
    sync_api = pytest.importorskip("playwright.sync_api")
    ARTIFACTS.mkdir(exist_ok=True)
    with pytest.MonkeyPatch.context() as patch:
        # Playwright's sync API runs an event loop in this thread; the live server's ORM calls
        # run in its own threads, so Django's async-safety check does not apply to them.
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        with sync_api.sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            yield browser
            browser.close()


# Pages whose number of queries is pinned (tests/proceedings and tests/speakers test_views.py):
# a small forum at 1 and 3 rows, read in each language.


@pytest.fixture(params=[1, 3], ids=["1-item", "3-items"])
def corpus(request, db):
    from tests.factories import make_corpus

    return make_corpus(request.param)


@pytest.fixture(params=["zh-hant", "zh-hans", "en"], autouse=False)
def reader_language(request):
    """Build the page URLs in each language: conversion and translation add no query."""
    from django.utils import translation

    with translation.override(request.param):
        yield request.param
