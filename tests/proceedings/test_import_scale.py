"""Large imports: the number of SQL queries depends on the file's kinds, not its rows."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from proceedings.interchange import spreadsheet
from proceedings.models import Position
from tests.proceedings.test_admin_import import EXAMPLE, csv_bytes, example_rows, upload

pytestmark = pytest.mark.django_db


def rows(count):
    """Return ``count`` new paraphrases by the example's existing speakers, with themes, tags."""
    template = example_rows()[2]  # 劉冬梅, an existing speaker and role
    return [
        {
            **template,
            "ref": f"scale-{i}",
            "text": f"第{i}條觀點",
            "fidelity": "paraphrase",
            "paragraph": "",
            "themes": "full-factor-synergy; enterprises-as-first-actor",
            "tags": "成果轉化; 未來產業",  # tags that exist: new ones cost 2 queries a file
            "status": "draft",
        }
        for i in range(count)
    ]


def queries_of(superuser, count, *, commit):
    content = csv_bytes(rows(count))
    with CaptureQueriesContext(connection) as queries:
        result = spreadsheet.check_upload(
            content=content, name="scale.csv", user=superuser, commit=commit
        )
    assert result.ok, [str(p) for p in result.problems]
    return len(queries)


@pytest.fixture
def superuser(django_user_model):
    return django_user_model.objects.create_superuser("admin", "admin@example.org", "pw")


# Reading what exists (forums, sessions, themes, sources, people and institutions for name
# matching, roles, positions by ref and by role), the workflow check and, when importing, a
# bulk insert per table with its history, the links, tags, key phrases and the search index
# (positions, then the forum's other records: passages, themes, people, sessions).
@pytest.mark.parametrize(
    ("commit", "expected"), [(False, 36), (True, 83)], ids=["preview", "import"]
)
def test_queries_do_not_grow_with_rows(pujiang, superuser, commit, expected):
    small = queries_of(superuser, 5, commit=commit)
    Position.objects.filter(ref__startswith="scale-").delete()

    large = queries_of(superuser, 10, commit=commit)

    assert (small, large) == (expected, expected)
    assert Position.objects.filter(ref__startswith="scale-").count() == (10 if commit else 0)


def test_preview_of_a_large_file_lists_the_first_rows(client, pujiang, superuser, monkeypatch):
    monkeypatch.setattr("proceedings.admin_views.PREVIEW_ROWS", 2)
    client.force_login(superuser)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    rows = example_rows()
    rows[3]["fidelity"] = "quote"  # row 5: a problem, listed although past the first two

    response = upload(client, "positions.csv", csv_bytes(rows))

    assert [row.number for row in response.context["shown_rows"]] == [2, 3, 5]
    html = response.content.decode()
    assert "1 more row without problems is not listed." in html


def test_preview_of_a_large_file_lists_the_first_records(client, pujiang, superuser, monkeypatch):
    monkeypatch.setattr("proceedings.admin_views.PREVIEW_ROWS", 2)
    client.force_login(superuser)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"

    response = upload(client, "positions.csv", EXAMPLE.read_bytes())

    records = response.context["result"].records()
    assert response.context["shown_records"] == records[:2]
    assert f"{len(records) - 2} more records are not listed." in response.content.decode()
    assert "2 more rows without problems are not listed." in response.content.decode()
