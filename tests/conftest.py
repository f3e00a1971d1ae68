from pathlib import Path

import pytest

DATA_DIR = Path(__file__).resolve().parent.parent / "proceedings" / "data"
PUJIANG_FILE = DATA_DIR / "pujiang-2025.json"


@pytest.fixture
def pujiang(db):
    """Import the bundled Pujiang 2025 file and return its Forum."""
    from proceedings.models import Forum
    from proceedings.services import import_forum_file

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
