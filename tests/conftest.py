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
