"""Key phrases, attribution, reviewed translations, notes and tag names in data files."""

import copy
import datetime
import json

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse
from django.utils import translation
from taggit.models import Tag

from proceedings.interchange.documents import (
    dumps,
    export_forum,
    export_positions,
    import_forum_data,
    import_workflow_errors,
    validate,
)
from proceedings.interchange.spreadsheet import position_rows
from proceedings.models import (
    Appearance,
    Forum,
    KeyPhrase,
    Position,
    Question,
    SourceDocument,
    TagName,
    Theme,
)
from speakers.models import Institution, Speaker
from tests.proceedings.test_admin_import import CONFIRM_URL, csv_bytes, upload
from tests.proceedings.test_import import minimal_document, rejected

pytestmark = pytest.mark.django_db


def annotated_document():
    """The minimal document with every key this file is about."""
    document = minimal_document()
    document["sources"][0]["provenance_note"] = "編輯郵箱:editor@example.org"
    document["tags"] = [
        {"name": "開放", "name_en": "Openness"},
        {"name": "關鍵", "name_en": "Key factors"},
    ]
    forum = document["forums"][0]
    forum["themes"][0] |= {
        "curator_note": "依報告結語歸類。",
        "curator_note_en": "As the report's outlook.",
    }
    forum["appearances"][0] |= {"role_note": "報告僅印職稱。", "role_note_en": "Title as printed."}
    forum["positions"][1] |= {
        "attribution": "in_context",
        "attribution_note": "報告此段未具名。",
        "attribution_note_en": "The paragraph does not name him.",
        "translation": "Open innovation is the key",
        "translation_reviewed_by": "Forum Portal editors",
        "translation_reviewed_on": "2026-12-05",
        "tags": ["關鍵"],
        "key_phrases": [{"text": "開放創新", "translation": "open innovation", "paragraph": 2}],
    }
    return document


def test_every_new_key_is_imported():
    import_forum_data(data=annotated_document(), source_name="demo.json")

    position = Position.objects.get(ref="zhang-key")
    assert position.attribution == Position.Attribution.IN_CONTEXT
    assert position.attribution_note == "報告此段未具名。"
    assert position.attribution_note_en == "The paragraph does not name him."
    assert position.translation_reviewed_by == "Forum Portal editors"
    assert position.translation_reviewed_on == datetime.date(2026, 12, 5)
    assert [(k.text, k.translation, k.paragraph, k.order) for k in position.key_phrases.all()] == [
        ("開放創新", "open innovation", 2, 1)
    ]
    assert Position.objects.get(ref="zhang-open").attribution == Position.Attribution.EXPLICIT
    assert Theme.objects.get().curator_note == "依報告結語歸類。"
    assert Appearance.objects.get().role_note_en == "Title as printed."
    assert SourceDocument.objects.get().provenance_note == "編輯郵箱:editor@example.org"
    assert dict(TagName.objects.values_list("tag__name", "name_en")) == {
        "開放": "Openness",
        "關鍵": "Key factors",
    }


def test_new_keys_survive_export_and_reimport_into_an_empty_database():
    import_forum_data(data=annotated_document())
    first = dumps(export_forum(slug="demo"))
    for model in (Position, Appearance, Theme, Question, Forum, SourceDocument, Speaker):
        model.objects.all().delete()
    Institution.objects.all().delete()
    Tag.objects.all().delete()

    import_forum_data(data=json.loads(first))

    assert dumps(export_forum(slug="demo")) == first
    assert json.loads(first)["tags"] == annotated_document()["tags"]
    assert KeyPhrase.objects.get().position.ref == "zhang-key"


def test_export_leaves_out_new_keys_at_their_default():
    import_forum_data(data=minimal_document())

    exported = export_forum(slug="demo")

    assert "tags" not in exported
    assert "provenance_note" not in exported["sources"][0]
    position = exported["forums"][0]["positions"][0]
    assert not {"attribution", "key_phrases", "translation_reviewed_on"} & set(position)
    assert list(exported) == ["format", "institutions", "people", "sources", "forums"]


def test_export_order_puts_tags_after_sources_and_keys_where_documented():
    import_forum_data(data=annotated_document())

    exported = export_forum(slug="demo")

    assert list(exported) == ["format", "institutions", "people", "sources", "tags", "forums"]
    keys = list(exported["forums"][0]["positions"][1])
    assert keys[keys.index("fidelity") + 1 : keys.index("translation")] == [
        "attribution",
        "attribution_note",
        "attribution_note_en",
    ]
    assert keys[keys.index("tags") + 1] == "key_phrases"
    assert keys[keys.index("translation_provenance") + 1 :][:2] == [
        "translation_reviewed_by",
        "translation_reviewed_on",
    ]


def test_importing_the_annotated_document_twice_changes_nothing():
    import_forum_data(data=annotated_document())

    report = import_forum_data(data=annotated_document())

    assert not report.changed
    assert report.unchanged["tag"] == 2
    assert KeyPhrase.objects.count() == 1


def test_changed_key_phrases_replace_the_old_ones_with_history():
    import_forum_data(data=annotated_document())
    document = annotated_document()
    document["forums"][0]["positions"][1]["key_phrases"] = [
        {"text": "是關鍵", "translation": "is the key", "paragraph": 2},
        {"text": "開放創新", "translation": "open innovation", "paragraph": 2},
    ]

    report = import_forum_data(data=document, source_name="demo.json")

    assert report.updated["position"] == 1
    position = Position.objects.get(ref="zhang-key")
    assert [k.text for k in position.key_phrases.all()] == ["是關鍵", "開放創新"]
    assert KeyPhrase.history.filter(text="是關鍵").get().history_change_reason == (
        "Import of demo.json"
    )


def test_english_tag_names_are_updated():
    import_forum_data(data=annotated_document())
    document = annotated_document()
    document["tags"][0]["name_en"] = "Open innovation"

    report = import_forum_data(data=document)

    assert report.updated["tag"] == 1
    assert TagName.objects.get(tag__name="開放").name_en == "Open innovation"


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (
            lambda p: p.update(key_phrases=[{"text": "封閉"}]),
            "key_phrases[0].text: “封閉” does not occur in the position's text",
        ),
        (
            lambda p: p.update(key_phrases="開放創新"),
            'key_phrases: must be a list of {"text": …, "translation": …, "paragraph": …} objects',
        ),
        (
            lambda p: p.update(key_phrases=[{"text": "開放創新", "paragraph": 0}]),
            "key_phrases[0].paragraph: must be a whole number ≥ 1, not 0",
        ),
        (
            lambda p: p.update(key_phrases=[{"text": "開放創新"}, {"text": "開放創新"}]),
            "key_phrases: lists the same value twice",
        ),
        (
            lambda p: p.update(key_phrases=[{"text": "開放", "colour": "red"}]),
            'key_phrases: must be a list of {"text": …, "translation": …, "paragraph": …} objects',
        ),
        (
            lambda p: p.update(attribution="rumour"),
            'attribution: "rumour" is not one of explicit, in_context',
        ),
        (
            lambda p: p.update(translation_reviewed_on="05/12/2026"),
            "translation_reviewed_on: '05/12/2026' is not a date YYYY-MM-DD",
        ),
    ],
    ids=[
        "phrase-not-in-text",
        "not-a-list",
        "paragraph-0",
        "twice",
        "unknown-key",
        "attribution",
        "date",
    ],
)
def test_malformed_new_keys_are_rejected_with_their_message(mutate, message):
    document = annotated_document()
    mutate(document["forums"][0]["positions"][1])

    assert rejected(document) == [f'demo.json: forums[0].positions[1] ("zhang-key"): {message}']


def test_key_phrase_not_in_its_source_paragraph_is_rejected():
    document = annotated_document()
    # In the position's text, but the report has “開放創新”是關鍵: no such span.
    document["forums"][0]["positions"][1]["key_phrases"] = [{"text": "創新是關鍵"}]

    assert rejected(document) == [
        'demo.json: forums[0].positions[1] ("zhang-key"): key_phrases[0]: text: A key phrase '
        "is a quotation: “創新是關鍵” does not occur exactly in ¶2 of “報告”."
    ]


def test_in_context_attribution_needs_its_note():
    document = annotated_document()
    document["forums"][0]["positions"][1]["attribution_note"] = ""

    assert rejected(document) == [
        'demo.json: forums[0].positions[1] ("zhang-key"): attribution_note: Say why the '
        "statement is attributed from its context: the source does not name the speaker for it."
    ]


def test_tag_names_list_is_validated():
    document = annotated_document()
    document["tags"] = [
        {"name": "開放", "name_en": "Openness"},
        {"name": "開放", "name_en": "Open"},
        {"name": "關鍵"},
        {"name": "其他", "name_en": "Other", "colour": "red"},
    ]

    assert rejected(document) == [
        "demo.json: tags[1]: name: appears twice in the file",
        "demo.json: tags[2]: name_en: is required",
        "demo.json: tags[3]: colour: unknown key",
    ]


def test_export_of_some_positions_lists_only_their_tag_names():
    import_forum_data(data=annotated_document())

    document = export_positions(refs=["zhang-open"])

    assert document["tags"] == [{"name": "開放", "name_en": "Openness"}]
    assert "key_phrases" not in document["forums"][0]["positions"][0]


def test_editor_may_not_change_the_key_phrases_of_a_published_position(django_user_model):
    document = annotated_document()
    document["forums"][0]["positions"][1]["status"] = "published"
    import_forum_data(data=copy.deepcopy(document))
    editor = django_user_model.objects.create_user("editor", is_staff=True)
    editor.groups.add(Group.objects.get(name="Editors"))
    document["forums"][0]["positions"][1]["key_phrases"] = []

    with translation.override("en"):
        clean = validate(document, source_name="demo.json")
        errors = import_workflow_errors(clean=clean, user=editor, source_name="demo.json")

    assert errors == [
        'demo.json: forums[0].positions[1] ("zhang-key"): it is “Published”: only publishers '
        "may change it"
    ]


def test_editors_edit_key_phrases_and_tag_names_and_publishers_delete_them():
    editors = set(Group.objects.get(name="Editors").permissions.values_list("codename", flat=True))
    publishers = set(
        Group.objects.get(name="Publishers").permissions.values_list("codename", flat=True)
    )

    assert {"add_keyphrase", "change_keyphrase", "add_tagname", "change_tagname"} <= editors
    assert not {"delete_keyphrase", "delete_tagname"} & editors
    assert {"delete_keyphrase", "delete_tagname"} <= publishers


def test_import_failure_lists_every_problem_at_once():
    document = annotated_document()
    document["forums"][0]["positions"][1]["key_phrases"] = [{"text": "封閉"}]
    document["tags"][0]["name_en"] = 3

    assert rejected(document) == [
        "demo.json: tags[0]: name_en: must be a string, not int",
        'demo.json: forums[0].positions[1] ("zhang-key"): key_phrases[0].text: “封閉” does not '
        "occur in the position's text",
    ]


def test_spreadsheet_update_keeps_what_no_column_holds(admin_client):
    import_forum_data(data=annotated_document())
    rows = position_rows(Position.objects.all())
    for row in rows:
        if row["ref"] == "zhang-key":
            row["translation"] = "Open innovation is what matters"

    preview = upload(admin_client, "positions.csv", csv_bytes(rows))
    admin_client.post(reverse(CONFIRM_URL), {"token": preview.context["token"]})

    position = Position.objects.get(ref="zhang-key")
    assert position.translation == "Open innovation is what matters"
    assert (position.attribution, position.attribution_note) == ("in_context", "報告此段未具名。")
    assert (position.translation_reviewed_by, position.translation_reviewed_on) == (
        "Forum Portal editors",
        datetime.date(2026, 12, 5),
    )
    assert [k.text for k in position.key_phrases.all()] == ["開放創新"]
    assert Appearance.objects.get().role_note == "報告僅印職稱。"
