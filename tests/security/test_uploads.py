"""Hostile and careless uploads through the admin import: a clear message, never a 500 or a write.

Each test posts a file to the real import views as a publisher (or an editor), and asserts the
exact problem shown and that no row of any table changed.
"""

import copy
import io
import threading
import zipfile

import pytest
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import translation

from proceedings.interchange import documents
from proceedings.interchange.documents import dumps, export_forum
from proceedings.models import Position
from speakers.models import SpeakerLink
from tests.proceedings.test_admin_import import (
    CONFIRM_URL,
    EXAMPLE,
    changed,
    csv_bytes,
    example_rows,
    logged_in,
    problems,
    row_counts,
    staff_in,
    upload,
    xlsx_bytes,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def publisher(django_user_model):
    return staff_in(django_user_model, "Publishers", "publisher")


@pytest.fixture
def publisher_client(client, publisher):
    return logged_in(client, publisher)


def refused(
    client, name, content, nothing="Nothing has been imported. Fix the file and upload it again."
):
    """Upload ``content``; assert nothing was written; return the problems shown."""
    before = row_counts()

    response = upload(client, name, content)

    assert response.status_code == 200
    assert not response.context["token"]
    assert nothing in response.content.decode()
    assert row_counts() == before
    return problems(response)


def pujiang_document():
    return export_forum(slug="pujiang-2025")


def json_bytes(document):
    return dumps(document).encode()


# ---------------------------------------------------------------------------------------------
# JSON
# ---------------------------------------------------------------------------------------------


def test_json_nested_100000_deep_is_refused(publisher_client, pujiang):
    content = b'{"format": "forum-portal/1", "forums": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"

    assert refused(publisher_client, "deep.json", content) == [
        "invalid JSON: the data is nested too deeply"
    ]


def test_import_command_refuses_deep_json(tmp_path):
    path = tmp_path / "deep.json"
    path.write_bytes(b"[" * 100_000 + b"]" * 100_000)

    with pytest.raises(documents.ImportFailed) as excinfo:
        documents.import_forum_file(path=path)

    assert excinfo.value.errors == ["deep.json: invalid JSON: the data is nested too deeply"]


def test_nul_character_in_a_json_string_is_refused(publisher_client, pujiang):
    document = pujiang_document()
    document["forums"][0]["positions"][2]["translation"] = "a\u0000b"
    document["people"][1]["aliases"] = ["x\u0000"]
    ref = document["forums"][0]["positions"][2]["ref"]
    slug = document["people"][1]["slug"]

    assert refused(publisher_client, "pujiang.json", json_bytes(document)) == [
        f'pujiang.json: people[1] ("{slug}"): aliases: Null characters are not allowed.',
        f'pujiang.json: forums[0].positions[2] ("{ref}"): translation: '
        "Null characters are not allowed.",
    ]


@pytest.mark.parametrize(
    ("link", "field", "message"),
    [
        (
            {"label": "x" * 101, "url": "https://example.org/"},
            "links[0].label",
            "Ensure this value has at most 100 characters (it has 101).",
        ),
        (
            {"label": "home", "url": "https://example.org/" + "a" * 200},
            "links[0].url",
            "Ensure this value has at most 200 characters (it has 220).",
        ),
        ({"label": "home", "url": "javascript:alert(1)"}, "links[0].url", "Enter a valid URL."),
        (
            {"label": "home", "url": "data:text/html,<script>alert(1)</script>"},
            "links[0].url",
            "Enter a valid URL.",
        ),
        (
            {"label": "home", "url": "ftp://example.org/cv.pdf"},
            "links[0].url",
            "Enter a valid URL.",
        ),
    ],
    ids=["long-label", "long-url", "javascript", "data", "ftp"],
)
def test_bad_speaker_link_is_refused(publisher_client, pujiang, link, field, message):
    document = pujiang_document()
    document["people"][0]["links"] = [link]
    slug = document["people"][0]["slug"]

    assert refused(publisher_client, "pujiang.json", json_bytes(document)) == [
        f'pujiang.json: people[0] ("{slug}"): {field}: {message}'
    ]
    assert not SpeakerLink.objects.filter(url=link["url"]).exists()


def test_admin_and_importer_share_the_url_rule(pujiang):
    speaker = Position.objects.first().appearance.speaker
    link = SpeakerLink(speaker=speaker, label="cv", url="ftp://example.org/cv.pdf")

    with pytest.raises(ValidationError) as excinfo:
        link.full_clean()

    with translation.override("en"):
        assert excinfo.value.message_dict == {"url": ["Enter a valid URL."]}


def test_json_string_over_its_field_length_is_refused(publisher_client, pujiang):
    document = pujiang_document()
    document["institutions"][0]["short_name"] = "x" * 101
    document["forums"][0]["positions"][0]["tags"] = ["t" * 101]
    slug = document["institutions"][0]["slug"]
    ref = document["forums"][0]["positions"][0]["ref"]

    assert refused(publisher_client, "pujiang.json", json_bytes(document)) == [
        f'pujiang.json: institutions[0] ("{slug}"): short_name: '
        "Ensure this value has at most 100 characters (it has 101).",
        f'pujiang.json: forums[0].positions[0] ("{ref}"): tags: '
        "Ensure this value has at most 100 characters (it has 101).",
    ]


def test_invalid_slug_and_ref_are_refused(publisher_client, pujiang):
    document = pujiang_document()
    document["people"][0]["slug"] = "Zhao Yuqing"
    document["forums"][0]["positions"][0]["ref"] = "Zhao Yuqing"

    shown = refused(publisher_client, "pujiang.json", json_bytes(document))

    assert shown[:2] == [
        "pujiang.json: people[0] (\"Zhao Yuqing\"): slug: 'Zhao Yuqing' is not a valid slug "
        "(letters, digits, - and _)",
        "pujiang.json: forums[0].positions[0] (\"Zhao Yuqing\"): ref: 'Zhao Yuqing' is not a "
        "valid slug (letters, digits, - and _)",
    ]


def test_paragraph_zero_is_refused(publisher_client, pujiang):
    document = pujiang_document()
    position = document["forums"][0]["positions"][0]
    position["paragraph"] = 0

    assert refused(publisher_client, "pujiang.json", json_bytes(document)) == [
        f'pujiang.json: forums[0].positions[0] ("{position["ref"]}"): paragraph: '
        "must be a whole number ≥ 1, not 0"
    ]


def test_messages_are_in_the_readers_language(client, publisher, pujiang):
    client.force_login(publisher)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "zh-hans"
    document = pujiang_document()
    document["people"][0]["links"] = [{"label": "home", "url": "javascript:alert(1)"}]
    document["people"][0]["colour"] = "red"
    slug = document["people"][0]["slug"]

    shown = refused(client, "pujiang.json", json_bytes(document), nothing="没有导入任何内容。")

    assert shown == [
        f'pujiang.json: people[0] ("{slug}"): colour: 未知的键',
        f'pujiang.json: people[0] ("{slug}"): links[0].url: 输入一个有效的 URL。',
    ]


# ---------------------------------------------------------------------------------------------
# CSV and XLSX
# ---------------------------------------------------------------------------------------------


def test_nul_byte_in_a_csv_cell_is_refused(publisher_client, pujiang):
    content = csv_bytes(changed(3, translation="institutions\x00first"))

    assert refused(publisher_client, "positions.csv", content) == [
        "row 3, column translation: Null characters are not allowed."
    ]


def test_csv_cells_over_their_field_length_are_refused(publisher_client, pujiang):
    rows = changed(2, tags="科技倫理; " + "長" * 101, translation_provenance="p" * 301)

    assert refused(publisher_client, "positions.csv", csv_bytes(rows)) == [
        "row 2, column translation_provenance: "
        "Ensure this value has at most 300 characters (it has 301).",
        "row 2, column tags: Ensure this value has at most 100 characters (it has 101).",
    ]


def test_csv_invalid_ref_and_paragraph_zero_are_refused(publisher_client, pujiang):
    rows = changed(2, ref="Zhao Yuqing")
    rows[2]["paragraph"] = "0"  # row 4

    assert refused(publisher_client, "positions.csv", csv_bytes(rows)) == [
        "row 2, column ref: may hold only letters, digits, - and _",
        'row 4, column paragraph: "0" is not a paragraph number (1, 2, 3…)',
    ]


def test_csv_over_the_row_limit_is_refused(publisher_client, pujiang, monkeypatch):
    monkeypatch.setattr("proceedings.interchange.spreadsheet.MAX_ROWS", 3)

    assert refused(publisher_client, "positions.csv", EXAMPLE.read_bytes()) == [
        "the file has more than 3 rows: split it into several imports"
    ]


def rezip(content, replace):
    """Return the XLSX ``content`` with some parts replaced ({name: bytes})."""
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(content)) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for item in source.infolist():
            target.writestr(item.filename, replace.get(item.filename, source.read(item.filename)))
    return out.getvalue()


def test_xlsx_with_entity_declarations_is_refused(publisher_client, pujiang):
    content = xlsx_bytes(example_rows())
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        sheet = archive.read("xl/worksheets/sheet1.xml")
    laughs = (
        b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>'
    )
    sheet = laughs + sheet.split(b"?>", 1)[-1].replace(b"<v>", b"<v>&lol2;", 1)

    assert refused(
        publisher_client, "positions.xlsx", rezip(content, {"xl/worksheets/sheet1.xml": sheet})
    ) == [
        "the workbook contains XML entity declarations, which are not allowed (save it again "
        "from the spreadsheet)"
    ]


def test_xlsx_zip_bomb_is_refused_before_parsing(publisher_client, pujiang, monkeypatch):
    content = xlsx_bytes(example_rows())
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        sheet = archive.read("xl/worksheets/sheet1.xml")
    # 60 MB of XML (rows of empty cells) that packs into about 60 KB.
    padding = b"<row><c/></row>" * (60 * 2**20 // 15)
    bomb = rezip(
        content, {"xl/worksheets/sheet1.xml": sheet.replace(b"</sheetData>", padding + b"<")}
    )
    assert len(bomb) < 200_000

    def not_parsed(*args, **kwargs):
        raise AssertionError("the workbook was parsed")

    monkeypatch.setattr("openpyxl.load_workbook", not_parsed)

    assert refused(publisher_client, "positions.xlsx", bomb) == [
        "the workbook unpacks to 60 MB, more than the 50 MB allowed: split it into several imports"
    ]


def test_xlsx_compressed_beyond_any_spreadsheet_is_refused(publisher_client, pujiang, monkeypatch):
    content = xlsx_bytes(example_rows())
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        sheet = archive.read("xl/worksheets/sheet1.xml")
    padding = b" " * (4 * 2**20)  # 4 MB of spaces: under the size limit, packed 1,000 times
    bomb = rezip(content, {"xl/worksheets/sheet1.xml": sheet.replace(b"</sheetData>", padding)})
    monkeypatch.setattr("openpyxl.load_workbook", lambda *a, **k: pytest.fail("parsed"))

    [message] = refused(publisher_client, "positions.xlsx", bomb)

    assert message.startswith("the workbook part xl/worksheets/sheet1.xml is compressed ")
    assert message.endswith(" times, more than a spreadsheet ever is: the file is not read")


def test_xlsx_that_is_not_a_zip_is_refused(publisher_client, pujiang):
    assert refused(publisher_client, "positions.xlsx", b"PK\x03\x04 not really") == [
        "not a readable XLSX workbook (save it again from the spreadsheet)"
    ]


# ---------------------------------------------------------------------------------------------
# Two editors confirming the same file
# ---------------------------------------------------------------------------------------------

CHANGED = (
    "the records of this file were changed by another import since it was "
    "checked (it may already have been imported). Nothing was imported; preview the file again."
)


def two_previews(django_user_model, *, superusers=False):
    """Return two editors' clients, each with a preview of the example file, and the tokens.

    ``superusers``: for transactional tests, which start from a flushed database (without the
    Editors group its migration made).
    """
    clients, tokens = [], []
    rows = [row for row in example_rows() if row["status"] == "draft"]
    rows = [row for row in rows if row["ref"] != "liu-dongmei-enterprise-market-insight"]
    for name in ("editor-a", "editor-b"):
        if superusers:
            user = django_user_model.objects.create_superuser(name, f"{name}@example.org", "pw")
        else:
            user = django_user_model.objects.create_user(name, password="pw", is_staff=True)
            user.groups.add(Group.objects.get(name="Editors"))
        client = logged_in(Client(), user)
        response = upload(client, "positions.csv", csv_bytes(rows))
        assert response.context["result"].ok, problems(response)
        clients.append(client)
        tokens.append(response.context["token"])
    return clients, tokens


def test_second_confirm_of_the_same_file_is_told_to_preview_again(pujiang, django_user_model):
    (first, second), (token_a, token_b) = two_previews(django_user_model)
    assert first.post(reverse(CONFIRM_URL), {"token": token_a}).status_code == 302
    before = row_counts()

    response = second.post(reverse(CONFIRM_URL), {"token": token_b})

    assert response.status_code == 200
    assert problems(response) == [CHANGED]
    assert row_counts() == before


def test_duplicate_key_during_confirm_is_reported(pujiang, django_user_model, monkeypatch):
    (first, _second), (token_a, _token_b) = two_previews(django_user_model)
    before = row_counts()
    write = documents._Writer.write

    def write_then_collide(self, clean):
        write(self, clean)
        # What the database says when another editor's import inserted the same ref first.
        Position.objects.bulk_create([copy.copy(Position.objects.last())])

    monkeypatch.setattr(documents._Writer, "write", write_then_collide)

    response = first.post(reverse(CONFIRM_URL), {"token": token_a})

    assert response.status_code == 200
    assert problems(response) == [CHANGED]
    assert row_counts() == before


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite runs one writer at a time")
def test_two_editors_confirming_at_the_same_moment(django_user_model):
    documents.import_forum_file(path=documents.bundled_data_files()[0])
    (first, second), tokens = two_previews(django_user_model, superusers=True)
    barrier = threading.Barrier(2)
    responses = {}

    def confirm(name, client, token):
        barrier.wait()
        try:
            responses[name] = client.post(reverse(CONFIRM_URL), {"token": token})
        finally:
            connection.close()

    threads = [
        threading.Thread(target=confirm, args=(name, client, token))
        for name, client, token in zip("ab", (first, second), tokens, strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    statuses = sorted(response.status_code for response in responses.values())
    assert statuses == [200, 302]
    refused_response = next(r for r in responses.values() if r.status_code == 200)
    assert problems(refused_response) == [CHANGED]
    assert Position.objects.filter(status="draft", text="同步的倫理、金融與法律設計").count() == 1


def test_file_over_the_size_limit_is_refused(publisher_client, pujiang, monkeypatch):
    monkeypatch.setattr("proceedings.interchange.spreadsheet.MAX_UPLOAD_BYTES", 2**20)
    before = row_counts()

    response = upload(publisher_client, "positions.csv", EXAMPLE.read_bytes() * 1200)

    assert response.status_code == 200
    assert response.context["form"].errors == {
        "file": ["The file is larger than 1 MB; split it into several imports."]
    }
    assert row_counts() == before


def test_new_institution_with_a_taken_name_is_refused(publisher_client, pujiang):
    document = pujiang_document()
    taken = document["institutions"][0]["name"]
    document["institutions"].append(
        {"slug": "copy", "name": taken, "name_en": "A copy", "sector": "research"}
    )
    where = f"pujiang.json: institutions[{len(document['institutions']) - 1}]"

    assert refused(publisher_client, "pujiang.json", json_bytes(document)) == [
        f'{where} ("copy"): name: Another institution has this name (ignoring case).'
    ]


def test_nul_character_in_a_reference_is_refused(publisher_client, pujiang):
    document = pujiang_document()
    position = document["forums"][0]["positions"][0]
    position["speaker"] = "liu-dongmei\u0000"
    position["source"] = "\u0000"

    assert refused(publisher_client, "pujiang.json", json_bytes(document)) == [
        f'pujiang.json: forums[0].positions[0] ("{position["ref"]}"): speaker: '
        "Null characters are not allowed.",
        f'pujiang.json: forums[0].positions[0] ("{position["ref"]}"): source: '
        "Null characters are not allowed.",
    ]
