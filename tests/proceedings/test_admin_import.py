"""Bulk import (preview, then confirm) and exports in the admin."""

import copy
import csv
import io
import json
from pathlib import Path

import openpyxl
import pytest
from django.apps import apps
from django.contrib.auth.models import Group, Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from proceedings.interchange.documents import dumps, export_forum
from proceedings.interchange.spreadsheet import COLUMNS
from proceedings.models import Position
from speakers.models import Speaker
from tests.browser import ARTIFACTS

pytestmark = pytest.mark.django_db

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "positions.csv"
IMPORT_URL = "admin:proceedings_position_import"
CONFIRM_URL = "admin:proceedings_position_import_confirm"
# What the example file does to the Pujiang data (docs/examples/positions.csv).
EXAMPLE_SUMMARY = [
    ("institution", 1, 0, 0),
    ("speaker", 1, 0, 0),
    ("forum", 0, 0, 1),
    ("role at the time of speaking", 1, 0, 3),
    ("position", 3, 1, 0),
]


def logged_in(client, user):
    client.force_login(user)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


@pytest.fixture
def superuser(django_user_model):
    return django_user_model.objects.create_superuser("admin", "admin@example.org", "pw")


@pytest.fixture
def admin_client(client, superuser):
    return logged_in(client, superuser)


def staff_in(django_user_model, group, username):
    user = django_user_model.objects.create_user(username, password="pw", is_staff=True)
    user.groups.add(Group.objects.get(name=group))
    return user


def row_counts():
    """Rows of every model of the portal's apps and their history tables (not sessions)."""
    return {
        model._meta.label: model._default_manager.count()
        for app in ("proceedings", "speakers", "taggit", "redirects")
        for model in apps.get_app_config(app).get_models()
    }


def example_rows():
    with EXAMPLE.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def csv_bytes(rows, columns=COLUMNS, encoding="utf-8"):
    out = io.StringIO(newline="")
    writer = csv.DictWriter(out, fieldnames=columns, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode(encoding)


def xlsx_bytes(rows):
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(list(COLUMNS))
    for row in rows:
        # Spreadsheets store numbers as numbers: the paragraph column comes back as an int.
        sheet.append([int(row[c]) if c == "paragraph" and row[c] else row[c] for c in COLUMNS])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def upload(client, name, content):
    return client.post(reverse(IMPORT_URL), {"file": SimpleUploadedFile(name, content)})


def problems(response):
    return [str(problem) for problem in response.context["result"].problems]


def rows_shown(response):
    """Return (row, speaker, matched speaker or "new", institution match or "new", outcome)."""

    def match(obj, is_new):
        return str(obj) if obj is not None else "new" if is_new else "—"

    return [
        (
            row.number,
            row.speaker,
            match(row.speaker_match.obj, row.speaker_is_new),
            match(row.institution_match and row.institution_match.obj, row.institution_is_new),
            row.outcome,
        )
        for row in response.context["result"].rows
    ]


# ---------------------------------------------------------------------------------------------
# Preview and confirm
# ---------------------------------------------------------------------------------------------


def test_import_page_renders_with_the_columns(admin_client):
    response = admin_client.get(reverse(IMPORT_URL))

    assert response.status_code == 200
    assert response.context["columns"] == COLUMNS
    assert "Preview the import" in response.content.decode()


def test_csv_preview_shows_counts_and_matches_without_writing(admin_client, pujiang):
    before = row_counts()

    response = upload(admin_client, "positions.csv", EXAMPLE.read_bytes())

    assert response.status_code == 200
    result = response.context["result"]
    assert result.ok
    assert not result.committed
    assert result.summary() == EXAMPLE_SUMMARY
    assert rows_shown(response) == [
        (
            2,
            "王战",
            "王戰 (Wang Zhan)",
            "上海市社會科學界聯合會 (Shanghai Federation of Social Science Associations)",
            "created",
        ),
        (
            3,
            "丁列明",
            "丁列明 (Ding Lieming)",
            "貝達藥業股份有限公司 (Betta Pharmaceuticals Co., Ltd.)",
            "created",
        ),
        (
            4,
            "劉冬梅",
            "劉冬梅 (Liu Dongmei)",
            "中國科學技術發展戰略研究院 (Chinese Academy of "
            "Science and Technology for Development)",
            "updated",
        ),
        (5, "範例講者", "new", "new", "created"),
    ]
    assert [row.speaker_match.how_label for row in result.rows[:3]] == [
        "by name in the other script",
        "by name",
        "by name",
    ]
    html = response.content.decode()
    assert html.count('<span class="fp-badge fp-badge--matched">matched</span>') == 6
    assert html.count('<span class="fp-badge fp-badge--new">new</span>') == 2
    assert "3 existing speakers matched" in html
    assert response.context["token"]
    assert row_counts() == before


def test_confirm_imports_the_previewed_file_with_history(admin_client, pujiang, superuser):
    token = upload(admin_client, "positions.csv", EXAMPLE.read_bytes()).context["token"]

    response = admin_client.post(reverse(CONFIRM_URL), {"token": token})

    assert response.status_code == 302
    assert response["Location"] == reverse("admin:proceedings_position_changelist")
    assert Position.objects.count() == 19 + 3
    new = Position.objects.get(text="同步的倫理、金融與法律設計")
    assert new.appearance.speaker.slug == "wang-zhan"
    assert (new.status, new.paragraph, new.source.slug) == (
        "draft",
        12,
        "pujiang-2025-science-policy-report",
    )
    assert sorted(new.tags.names()) == ["科技倫理", "科技治理"]
    # Created, then its themes set: both entries name the import and the editor.
    assert [
        (h.history_type, h.history_change_reason, h.history_user) for h in new.history.all()
    ] == [
        ("~", "Import of positions.csv", superuser),
        ("+", "Import of positions.csv", superuser),
    ]
    updated = Position.objects.get(ref="liu-dongmei-enterprise-market-insight")
    assert sorted(updated.tags.names()) == ["企業創新主體", "創新體系"]
    person = Speaker.objects.get(slug="example-speaker")
    assert (person.name, person.appearances.get().institution.slug) == (
        "範例講者",
        "example-institute",
    )


def test_xlsx_preview_and_confirm(admin_client, pujiang):
    content = xlsx_bytes(example_rows())

    preview = upload(admin_client, "positions.xlsx", content)

    assert preview.context["result"].summary() == EXAMPLE_SUMMARY
    response = admin_client.post(reverse(CONFIRM_URL), {"token": preview.context["token"]})
    assert response.status_code == 302
    assert Position.objects.filter(ref="ding-lieming-institutions-first-term").get().paragraph == 14


def test_json_preview_and_confirm(admin_client, pujiang):
    data = export_forum(slug="pujiang-2025")
    position = next(
        p for p in data["forums"][0]["positions"] if p["ref"] == "wang-zhan-market-and-government"
    )
    position["translation"] = "Markets allocate; governments organise and lead."

    preview = upload(admin_client, "pujiang.json", dumps(data).encode())

    result = preview.context["result"]
    assert [(label, c, u) for label, c, u, _n in result.summary()] == [
        ("institution", 0, 0),
        ("speaker", 0, 0),
        ("source document", 0, 0),
        ("forum", 0, 0),
        ("session", 0, 0),
        ("guiding question", 0, 0),
        ("theme", 0, 0),
        ("role at the time of speaking", 0, 0),
        ("position", 0, 1),
        ("tag name", 0, 0),
    ]
    assert result.rows == []
    admin_client.post(reverse(CONFIRM_URL), {"token": preview.context["token"]})
    assert Position.objects.get(ref="wang-zhan-market-and-government").translation == (
        "Markets allocate; governments organise and lead."
    )


# ---------------------------------------------------------------------------------------------
# Problems: each is named by row and column, and nothing is written
# ---------------------------------------------------------------------------------------------


def changed(row_number, **cells):
    """Return the example rows with cells of spreadsheet row ``row_number`` changed."""
    rows = example_rows()
    rows[row_number - 2].update(cells)
    return rows


BAD_FILES = {
    "unknown theme": (
        csv_bytes(changed(2, themes="full-factor-synergy; no-such-theme")),
        'row 2, column themes: no theme "no-such-theme" in forum "pujiang-2025"',
    ),
    "bad fidelity": (
        csv_bytes(changed(4, fidelity="quote")),
        'row 4, column fidelity: "quote" is not one of verbatim, paraphrase, summary',
    ),
    "verbatim text not in the source": (
        csv_bytes(changed(3, text="制度後行")),
        "row 3, column text: This is marked as a verbatim quotation, but the text does not occur "
        "exactly in “2025浦江創新論壇科技政策論壇綜述”. Copy it from the source, or change the "
        "fidelity.",
    ),
    "verbatim text in another paragraph": (
        csv_bytes(changed(3, paragraph="13")),
        "row 3, column paragraph: The quotation is not in paragraph 13 of the source; it is in "
        "paragraph 14.",
    ),
    "duplicate row": (
        csv_bytes([*example_rows(), example_rows()[0]]),
        "row 6, column text: the same position (session, speaker and text) as row 2",
    ),
    "duplicate ref": (
        csv_bytes(changed(5, ref="ding-lieming-institutions-first-term")),
        'row 5, column ref: "ding-lieming-institutions-first-term" is also the ref of row 3',
    ),
    "broken encoding": (
        csv_bytes(example_rows(), encoding="gb18030"),
        "row 2, column speaker: this cell is not UTF-8 text",
    ),
    "missing column": (
        csv_bytes(example_rows(), columns=[c for c in COLUMNS if c != "fidelity"]),
        "column fidelity: this required column is missing "
        "(required: forum, session, speaker, text, fidelity)",
    ),
    "unknown column": (
        csv_bytes(example_rows()).replace(b"tags,status", b"tags,state", 1),
        "row 1, column state: unknown column; the columns are: " + ", ".join(COLUMNS),
    ),
    "unknown session": (
        csv_bytes(changed(2, session="closing")),
        'row 2, column session: no session "closing" in forum "pujiang-2025"',
    ),
    "new speaker without an English name": (
        csv_bytes(changed(5, speaker_en="")),
        "row 5, column speaker_en: a new speaker needs a romanised or English name "
        "(it makes the slug)",
    ),
    "new institution without a sector": (
        csv_bytes(changed(5, sector="")),
        "row 5, column sector: a new institution needs its sector: one of government, "
        "academia, research, enterprise, finance, association, foreign",
    ),
    "bad paragraph": (
        csv_bytes(changed(2, paragraph="twelve")),
        'row 2, column paragraph: "twelve" is not a paragraph number (1, 2, 3…)',
    ),
}


@pytest.mark.parametrize(("content", "expected"), BAD_FILES.values(), ids=BAD_FILES.keys())
def test_bad_file_names_row_and_column_and_writes_nothing(admin_client, pujiang, content, expected):
    before = row_counts()

    response = upload(admin_client, "positions.csv", content)

    assert response.status_code == 200
    assert expected in problems(response)
    assert not response.context["result"].ok
    assert not response.context["token"]
    html = response.content.decode()
    assert "Nothing has been imported. Fix the file and upload it again." in html
    assert row_counts() == before


def test_broken_encoding_is_reported_not_guessed(admin_client, pujiang):
    content = csv_bytes(example_rows()[1:3], encoding="big5")  # rows in Traditional script
    first_non_ascii = next(i for i, byte in enumerate(content) if byte > 127)

    response = upload(admin_client, "positions.csv", content)

    assert problems(response) == [
        f"positions.csv is not UTF-8 text (byte {first_non_ascii} cannot be decoded). The portal "
        "does not guess encodings: save the file as “CSV UTF-8” (or JSON in UTF-8) and upload it "
        "again.",
        "row 2, column session: this cell is not UTF-8 text",
        "row 2, column speaker: this cell is not UTF-8 text",
        "row 2, column institution: this cell is not UTF-8 text",
        "row 2, column themes: this cell is not UTF-8 text",
        "row 2, column text: this cell is not UTF-8 text",
        "row 3, column speaker: this cell is not UTF-8 text",
        "row 3, column institution: this cell is not UTF-8 text",
        "row 3, column role_as_printed: this cell is not UTF-8 text",
        "row 3, column role: this cell is not UTF-8 text",
        "row 3, column text: this cell is not UTF-8 text",
        "row 3, column tags: this cell is not UTF-8 text",
    ]


def test_every_problem_is_listed_at_once(admin_client, pujiang):
    rows = changed(4, fidelity="quote")
    rows[1]["text"] = "制度後行"  # row 3: a verbatim quote not in the source

    response = upload(admin_client, "positions.csv", csv_bytes(rows))

    assert problems(response) == [
        "row 3, column text: This is marked as a verbatim quotation, but the text does not occur "
        "exactly in “2025浦江創新論壇科技政策論壇綜述”. Copy it from the source, or change the "
        "fidelity.",
        'row 4, column fidelity: "quote" is not one of verbatim, paraphrase, summary',
    ]


def test_rows_of_one_new_speaker_in_either_script_create_one_person(admin_client, pujiang):
    rows = example_rows()
    second = {**rows[3], "speaker": "范例讲者", "text": "(範例)第二條。"}  # Simplified spelling

    response = upload(admin_client, "positions.csv", csv_bytes([*rows, second]))

    assert response.context["result"].summary()[1] == ("speaker", 1, 0, 0)
    assert rows_shown(response)[-1] == (6, "范例讲者", "new", "new", "created")
    assert response.context["result"].rows[-1].speaker_new_row == 5


# ---------------------------------------------------------------------------------------------
# Confirmation and permissions
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("token", ["", "forged", "eyJpZCI6IjEifQ:1tx:forged"])
def test_confirm_without_a_valid_token_is_refused(admin_client, pujiang, token):
    upload(admin_client, "positions.csv", EXAMPLE.read_bytes())
    before = row_counts()

    response = admin_client.post(reverse(CONFIRM_URL), {"token": token})

    assert response.status_code == 400
    assert "This import could not be confirmed" in response.content.decode()
    assert row_counts() == before


def test_confirm_with_another_users_token_is_refused(admin_client, pujiang, django_user_model):
    token = upload(admin_client, "positions.csv", EXAMPLE.read_bytes()).context["token"]
    other = django_user_model.objects.create_superuser("other", "o@example.org", "pw")
    before = row_counts()

    response = logged_in(Client(), other).post(reverse(CONFIRM_URL), {"token": token})

    assert response.status_code == 400
    assert row_counts() == before


def test_a_preview_is_confirmed_once(admin_client, pujiang):
    token = upload(admin_client, "positions.csv", EXAMPLE.read_bytes()).context["token"]
    admin_client.post(reverse(CONFIRM_URL), {"token": token})

    response = admin_client.post(reverse(CONFIRM_URL), {"token": token})

    assert response.status_code == 400
    assert Position.objects.count() == 22


def test_a_new_upload_replaces_the_pending_one(admin_client, pujiang):
    first = upload(admin_client, "positions.csv", EXAMPLE.read_bytes()).context["token"]
    upload(admin_client, "positions.xlsx", xlsx_bytes(example_rows()))

    response = admin_client.post(reverse(CONFIRM_URL), {"token": first})

    assert response.status_code == 400


def test_staff_without_add_and_change_permission_gets_403(client, pujiang, django_user_model):
    user = django_user_model.objects.create_user("viewer", password="pw", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_position"))
    client = logged_in(client, user)

    assert client.get(reverse(IMPORT_URL)).status_code == 403
    assert upload(client, "positions.csv", EXAMPLE.read_bytes()).status_code == 403
    assert client.post(reverse(CONFIRM_URL), {"token": "x"}).status_code == 403
    changelist = client.get(reverse("admin:proceedings_position_changelist"))
    assert changelist.context["tool_links"] == []


def test_editors_import_drafts_but_may_not_change_published_positions(
    client, pujiang, django_user_model
):
    client = logged_in(client, staff_in(django_user_model, "Editors", "editor"))
    before = row_counts()

    response = upload(client, "positions.csv", EXAMPLE.read_bytes())

    assert problems(response) == ["row 4: it is “Published”: only publishers may change it"]
    assert row_counts() == before
    rows = example_rows()
    del rows[2]  # the published position
    rows[0]["status"] = "published"
    response = upload(client, "positions.csv", csv_bytes(rows))
    assert problems(response) == [
        "row 2, column status: you may not import a new one as “Published”"
    ]


def test_editors_new_speakers_are_drafts(client, pujiang, django_user_model):
    client = logged_in(client, staff_in(django_user_model, "Editors", "editor"))
    rows = [row for row in example_rows() if row["status"] == "draft"]
    token = upload(client, "positions.csv", csv_bytes(rows)).context["token"]

    client.post(reverse(CONFIRM_URL), {"token": token})

    assert Speaker.objects.get(slug="example-speaker").status == "draft"
    assert Position.objects.count() == 22


def test_import_links_on_the_position_and_forum_changelists(admin_client, pujiang):
    for name in ("position", "forum"):
        response = admin_client.get(reverse(f"admin:proceedings_{name}_changelist"))

        assert response.context["tool_links"] == [(reverse(IMPORT_URL), "Import")]
        assert f'href="{reverse(IMPORT_URL)}"' in response.content.decode()


# ---------------------------------------------------------------------------------------------
# Exports
# ---------------------------------------------------------------------------------------------


def export(client, model, action, pks):
    return client.post(
        reverse(f"admin:proceedings_{model}_changelist"),
        {"action": action, "_selected_action": pks},
    )


def test_csv_export_reimports_with_no_change(admin_client, pujiang):
    pks = list(Position.objects.values_list("pk", flat=True))
    response = export(admin_client, "position", "export_csv", pks)
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="positions-')
    history = apps.get_model("proceedings", "HistoricalPosition").objects.count()

    preview = upload(admin_client, "positions.csv", response.content)

    result = preview.context["result"]
    assert result.summary() == [
        ("forum", 0, 0, 1),
        # The rapporteur's role has no position, so no row.
        ("role at the time of speaking", 0, 0, 9),
        ("position", 0, 0, 19),
    ]
    assert {row.outcome for row in result.rows} == {"unchanged"}
    admin_client.post(reverse(CONFIRM_URL), {"token": preview.context["token"]})
    assert apps.get_model("proceedings", "HistoricalPosition").objects.count() == history


def test_csv_export_columns_and_a_row(admin_client, pujiang):
    pk = Position.objects.get(ref="wang-zhan-market-and-government").pk

    response = export(admin_client, "position", "export_csv", [pk])

    assert response.content.startswith(b"\xef\xbb\xbf")  # so that Excel reads UTF-8
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows == [
        {
            "forum": "pujiang-2025",
            "session": "science-policy",
            "ref": "wang-zhan-market-and-government",
            "speaker": "王戰",
            "speaker_en": "Wang Zhan",
            "institution": "上海市社會科學界聯合會",
            "institution_en": "Shanghai Federation of Social Science Associations",
            "sector": "association",
            "role_as_printed": "上海市社會科學界聯合會主席",
            "role": "主席",
            "role_en": "Chairman",
            "themes": "full-factor-synergy",
            "text": "有效市場實現創新資源有效配置,有為政府不只是政策供給方,"
            "還要扮演好創新組織者和引領者。",
            "language": "zh-Hant",
            "fidelity": "summary",
            "translation": "An effective market achieves the efficient allocation of innovation "
            "resources; a proactive government is not merely a supplier of policy but must also "
            "play its part well as the organiser and leader of innovation.",
            "translation_provenance": "Forum Portal editors (machine-assisted draft)",
            "source": "pujiang-2025-science-policy-report",
            "paragraph": "12",
            "tags": "有效市場與有為政府; 科技治理",
            "status": "published",
        }
    ]


def test_json_export_of_selected_positions_reimports_with_no_change(admin_client, pujiang):
    refs = ["wang-zhan-market-and-government", "song-qi-photon-ct-roadmap"]
    pks = list(Position.objects.filter(ref__in=refs).values_list("pk", flat=True))

    response = export(admin_client, "position", "export_json", pks)

    data = json.loads(response.content)
    assert sorted(p["ref"] for p in data["forums"][0]["positions"]) == sorted(refs)
    assert [p["slug"] for p in data["people"]] == ["song-qi", "wang-zhan"]
    assert [i["slug"] for i in data["institutions"]] == ["neusoft-medical", "sfssa"]
    preview = upload(admin_client, "positions.json", response.content)
    result = preview.context["result"]
    assert result.ok
    assert sum(c + u for _label, c, u, _n in result.summary()) == 0


def test_forum_export_actions(admin_client, pujiang):
    json_response = export(admin_client, "forum", "export_json", [pujiang.pk])
    csv_response = export(admin_client, "forum", "export_csv", [pujiang.pk])

    assert json_response.content.decode() == dumps(export_forum(slug="pujiang-2025"))
    assert json_response["Content-Disposition"].startswith('attachment; filename="pujiang-2025-')
    rows = list(csv.DictReader(io.StringIO(csv_response.content.decode("utf-8-sig"))))
    assert len(rows) == 19
    assert {row["forum"] for row in rows} == {"pujiang-2025"}


def test_example_file_is_documented():
    doc = (EXAMPLE.parents[1] / "data-format.md").read_text(encoding="utf-8")

    assert "docs/examples/positions.csv" in doc
    for column in COLUMNS:
        assert f"`{column}`" in doc


def test_example_file_header_is_every_column():
    header = EXAMPLE.read_text(encoding="utf-8").splitlines()[0]

    assert header.split(",") == list(COLUMNS)


def test_changing_the_example_leaves_it_valid(admin_client, pujiang):
    """The docs' example also previews cleanly with its rows in another order."""
    rows = copy.deepcopy(example_rows())[::-1]

    response = upload(admin_client, "positions.csv", csv_bytes(rows))

    assert response.context["result"].summary() == EXAMPLE_SUMMARY


# ---------------------------------------------------------------------------------------------
# In a browser (pytest -m browser; skipped without Chromium): screenshots in tests/artifacts/
# ---------------------------------------------------------------------------------------------


@pytest.fixture
def admin_page(browser, live_server, superuser, pujiang):
    """A Chromium page at desktop width, logged in to the admin as a superuser, in English."""
    client = Client()
    client.force_login(superuser)
    context = browser.new_context(
        viewport={"width": 1280, "height": 900}, locale="en", base_url=live_server.url
    )
    context.add_cookies(
        [
            {
                "name": "sessionid",
                "value": client.cookies["sessionid"].value,
                "url": live_server.url,
            }
        ]
    )
    yield context.new_page()
    context.close()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("name", "content", "heading"),
    [
        ("import-preview", EXAMPLE.read_bytes(), "Preview of positions.csv"),
        (
            "import-problems",
            csv_bytes(changed(4, fidelity="quote", themes="no-such-theme")),
            "positions.csv: 2 problems found",
        ),
    ],
    ids=["preview", "problems"],
)
def test_import_pages_in_a_browser(admin_page, name, content, heading):
    page = admin_page
    page.goto(reverse(IMPORT_URL))

    page.set_input_files(
        "input[type=file]",
        files=[{"name": "positions.csv", "mimeType": "text/csv", "buffer": content}],
    )
    page.get_by_role("button", name="Preview the import").click()

    page.screenshot(path=ARTIFACTS / f"admin-{name}-1280.png", full_page=True)
    assert page.get_by_role("heading", level=2).first.inner_text() == heading
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0
    # The row table fits its panel at desktop width: no outcome hidden behind a scroll bar.
    hidden = page.locator(".fp-table-scroll").evaluate("e => e.scrollWidth - e.clientWidth")
    assert hidden <= 0
