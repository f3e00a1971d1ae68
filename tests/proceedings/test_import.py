import copy
import datetime
import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import translation
from taggit.models import Tag

from proceedings.interchange.documents import (
    ImportFailed,
    dumps,
    export_forum,
    import_forum_data,
    import_forum_file,
)
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
from tests.conftest import PUJIANG_FILE

pytestmark = pytest.mark.django_db

SOURCE_TEXT = "第一段。\n\n張三認為,“開放創新”是關鍵。\n\n第三段。"


def minimal_document():
    """A small valid file: one forum, one speaker, two positions."""
    return {
        "format": "forum-portal/1",
        "institutions": [
            {"slug": "acme", "name": "甲研究院", "name_en": "Acme Institute", "sector": "research"}
        ],
        "people": [
            {"slug": "zhang-san", "name": "張三", "name_en": "Zhang San", "sort_name": "Zhang San"}
        ],
        "sources": [
            {"slug": "report", "title": "報告", "language": "zh-Hant", "full_text": SOURCE_TEXT}
        ],
        "forums": [
            {
                "slug": "demo",
                "name": "示範論壇",
                "edition_year": 2025,
                "status": "published",
                "sessions": [{"slug": "main", "title": "主論壇", "source": "report"}],
                "questions": [{"slug": "who", "title": "誰來融合", "order": 1}],
                "themes": [{"slug": "open", "title": "開放", "questions": ["who"], "order": 1}],
                "appearances": [
                    {
                        "session": "main",
                        "person": "zhang-san",
                        "role": "院長",
                        "institution": "acme",
                        "as_printed": "甲研究院院長",
                    }
                ],
                "positions": [
                    {
                        "ref": "zhang-open",
                        "session": "main",
                        "speaker": "zhang-san",
                        "themes": ["open"],
                        "text": "開放創新",
                        "language": "zh-Hant",
                        "fidelity": "verbatim",
                        "translation": "Open innovation",
                        "source": "report",
                        "paragraph": 2,
                        "tags": ["開放"],
                        "status": "published",
                        "order": 1,
                    },
                    {
                        "ref": "zhang-key",
                        "session": "main",
                        "speaker": "zhang-san",
                        "themes": ["open"],
                        "text": "開放創新是關鍵",
                        "language": "zh-Hant",
                        "fidelity": "paraphrase",
                        "source": "report",
                        "paragraph": 2,
                        "status": "draft",
                        "order": 2,
                    },
                ],
            }
        ],
    }


def row_counts():
    return {
        model.__name__: model.objects.count()
        for model in (
            Institution,
            Speaker,
            SourceDocument,
            Forum,
            Question,
            Theme,
            Appearance,
            Position,
        )
    }


def rejected(document):
    """Import ``document``; assert it is rejected without writing; return the error lines."""
    before = row_counts()
    with pytest.raises(ImportFailed) as excinfo, translation.override("en"):
        import_forum_data(data=document, source_name="demo.json")
    assert row_counts() == before
    return excinfo.value.errors


def test_minimal_document_imports_every_record():
    report = import_forum_data(data=minimal_document(), source_name="demo.json")

    assert row_counts() == {
        "Institution": 1,
        "Speaker": 1,
        "SourceDocument": 1,
        "Forum": 1,
        "Question": 1,
        "Theme": 1,
        "Appearance": 1,
        "Position": 2,
    }
    assert report.created["position"] == 2
    position = Position.objects.get(ref="zhang-open")
    assert position.appearance.speaker.name == "張三"
    assert position.appearance.as_printed == "甲研究院院長"
    assert list(position.themes.values_list("slug", flat=True)) == ["open"]
    assert list(position.tags.names()) == ["開放"]
    assert position.published_at is not None
    assert Position.objects.get(ref="zhang-key").published_at is None


def test_importing_twice_changes_nothing():
    import_forum_data(data=minimal_document())
    first = {p.ref: p.updated_at for p in Position.objects.all()}

    report = import_forum_data(data=minimal_document())

    assert not report.changed
    assert report.unchanged["position"] == 2
    assert {p.ref: p.updated_at for p in Position.objects.all()} == first


def test_reimport_updates_changed_fields_and_tags():
    import_forum_data(data=minimal_document())
    document = minimal_document()
    document["forums"][0]["positions"][0]["translation"] = "Open innovation is the key"
    document["forums"][0]["positions"][1]["tags"] = ["關鍵"]

    report = import_forum_data(data=document)

    assert report.updated["position"] == 2
    assert Position.objects.get(ref="zhang-open").translation == "Open innovation is the key"
    assert list(Position.objects.get(ref="zhang-key").tags.names()) == ["關鍵"]


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (
            lambda d: d["forums"][0]["positions"][0].pop("text"),
            'demo.json: forums[0].positions[0] ("zhang-open"): text: is required',
        ),
        (
            lambda d: d["forums"][0]["positions"][0].update(speaker="li-si"),
            'demo.json: forums[0].positions[0] ("zhang-open"): speaker: unknown person "li-si"',
        ),
        (
            lambda d: d["forums"][0]["positions"][0].update(fidelity="quote"),
            'demo.json: forums[0].positions[0] ("zhang-open"): fidelity: "quote" is not one of '
            "verbatim, paraphrase, summary",
        ),
        (
            lambda d: d["forums"][0]["themes"][0].update(questions=["why"]),
            'demo.json: forums[0].themes[0] ("open"): questions: unknown question "why"',
        ),
        (
            lambda d: d["institutions"][0].update(sector="church"),
            'demo.json: institutions[0] ("acme"): sector: "church" is not one of government, '
            "academia, research, enterprise, finance, association, foreign",
        ),
        (
            lambda d: d["forums"][0]["positions"][0].update(colour="red"),
            'demo.json: forums[0].positions[0] ("zhang-open"): colour: unknown key',
        ),
        (
            lambda d: d["forums"][0]["positions"][1].update(ref="zhang-open"),
            'demo.json: forums[0].positions[1] ("zhang-open"): ref: appears twice in the file',
        ),
        (
            lambda d: d["forums"][0].update(starts_on="2025-13-01"),
            "demo.json: forums[0] (\"demo\"): starts_on: '2025-13-01' is not a date YYYY-MM-DD",
        ),
        (
            lambda d: d.update(format="other/2"),
            "demo.json: format: must be \"forum-portal/1\", not 'other/2'",
        ),
    ],
    ids=[
        "missing-field",
        "unknown-speaker",
        "bad-fidelity",
        "unknown-question",
        "bad-sector",
        "unknown-key",
        "duplicate-ref",
        "bad-date",
        "bad-format",
    ],
)
def test_malformed_document_is_rejected_with_its_message(mutate, message):
    document = minimal_document()
    mutate(document)

    assert rejected(document) == [message]


def test_verbatim_text_not_in_source_is_rejected():
    document = minimal_document()
    document["forums"][0]["positions"][0]["text"] = "封閉創新"

    errors = rejected(document)

    assert errors == [
        'demo.json: forums[0].positions[0] ("zhang-open"): text: This is marked as a verbatim '
        "quotation, but the text does not occur exactly in “報告”. Copy it from the source, or "
        "change the fidelity."
    ]


def test_verbatim_text_in_another_paragraph_is_rejected():
    document = minimal_document()
    document["forums"][0]["positions"][0]["paragraph"] = 3

    assert rejected(document) == [
        'demo.json: forums[0].positions[0] ("zhang-open"): paragraph: The quotation is not in '
        "paragraph 3 of the source; it is in paragraph 2."
    ]


def test_speaker_without_appearance_in_session_is_rejected():
    document = minimal_document()
    document["people"].append(
        {"slug": "li-si", "name": "李四", "name_en": "Li Si", "sort_name": "Li Si"}
    )
    document["forums"][0]["positions"][1]["speaker"] = "li-si"

    assert rejected(document) == [
        'demo.json: forums[0].positions[1] ("zhang-key"): speaker: "li-si" has no appearance '
        'in session "main"'
    ]


def test_late_error_rolls_back_records_written_before_it():
    import_forum_data(data=minimal_document())
    document = minimal_document()
    document["institutions"][0]["name_en"] = "Renamed Institute"  # valid, written first
    document["forums"][0]["positions"][1]["paragraph"] = 9  # invalid, found last

    errors = rejected(document)

    assert errors == [
        'demo.json: forums[0].positions[1] ("zhang-key"): paragraph: The source has only 3 '
        "paragraphs."
    ]
    assert Institution.objects.get(slug="acme").name_en == "Acme Institute"


def test_broken_json_names_file_line_and_column(tmp_path):
    path = tmp_path / "broken.json"
    path.write_text('{\n  "format": "forum-portal/1",\n  "forums": [\n}\n', encoding="utf-8")

    with pytest.raises(ImportFailed) as excinfo:
        import_forum_file(path=path)

    assert excinfo.value.errors == ["broken.json: line 4, column 1: invalid JSON: Expecting value"]
    assert Forum.objects.count() == 0


def test_file_that_is_not_utf8_is_rejected(tmp_path):
    path = tmp_path / "latin1.json"
    path.write_bytes('{"format": "forum-portal/1", "x": "é"}'.encode("latin-1"))

    with pytest.raises(ImportFailed) as excinfo:
        import_forum_file(path=path)

    assert excinfo.value.errors == ["latin1.json: not UTF-8 text (byte 35 cannot be decoded)"]


def test_import_command_reports_errors_and_fails(tmp_path, capsys):
    document = minimal_document()
    document["forums"][0]["positions"][0]["fidelity"] = "quote"
    path = tmp_path / "demo.json"
    path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")

    with pytest.raises(CommandError, match="rejected with 1 error"):
        call_command("import_forum", str(path))

    assert '"quote" is not one of verbatim, paraphrase, summary' in capsys.readouterr().err
    assert Forum.objects.count() == 0


def test_import_command_prints_what_it_created(tmp_path, capsys):
    path = tmp_path / "demo.json"
    path.write_text(json.dumps(minimal_document(), ensure_ascii=False), encoding="utf-8")

    call_command("import_forum", str(path))

    assert "  position: 2 created, 0 updated, 0 unchanged" in capsys.readouterr().out.splitlines()


def test_export_then_import_into_empty_database_then_export_is_identical():
    import_forum_data(data=minimal_document())
    first = dumps(export_forum(slug="demo"))
    for model in (
        Position,
        Appearance,
        Theme,
        Question,
        Forum,
        SourceDocument,
        Speaker,
        Institution,
    ):
        model.objects.all().delete()

    import_forum_data(data=json.loads(first))

    assert dumps(export_forum(slug="demo")) == first


def test_exported_document_is_the_imported_one():
    document = minimal_document()
    import_forum_data(data=copy.deepcopy(document))

    exported = export_forum(slug="demo")

    position = exported["forums"][0]["positions"][0]
    assert position["ref"] == "zhang-open"
    assert position["text"] == "開放創新"
    assert position["tags"] == ["開放"]
    assert exported["people"][0]["name"] == "張三"
    assert exported["forums"][0]["appearances"][0]["as_printed"] == "甲研究院院長"


def test_bundled_pujiang_file_loads_with_exact_counts(pujiang):
    assert row_counts() == {
        "Institution": 10,
        "Speaker": 10,
        "SourceDocument": 1,
        "Forum": 1,
        "Question": 3,
        "Theme": 9,
        "Appearance": 10,
        "Position": 19,
    }
    assert pujiang.sessions.get().title == "科技政策論壇"
    assert list(pujiang.questions.values_list("title", flat=True)) == [
        "誰來融合",
        "融合什么",
        "如何融合",
    ]
    speakers = Appearance.objects.filter(capacity="speaker").values_list("speaker__name", flat=True)
    assert sorted(speakers) == sorted(
        ["劉冬梅", "樊建平", "宋奇", "李喆", "王戰", "丁列明", "朱鵬程", "丹尼爾·阿爾梅達", "肖健"]
    )
    rapporteur = Appearance.objects.get(capacity="rapporteur")
    assert rapporteur.speaker.name == "蔣嬌燕"
    assert not rapporteur.positions.exists()


def test_bundled_quoted_phrases_are_key_phrases_of_their_positions(pujiang):
    """The phrases the report quotes inside a position are its key phrases, not positions."""
    assert not Position.objects.filter(fidelity="verbatim").exists()
    phrases = KeyPhrase.objects.select_related("position__source").order_by(
        "position__order", "order"
    )

    assert [(p.position.ref, p.text, p.paragraph) for p in phrases] == [
        ("liu-dongmei-cede-powers-to-enterprises", "出題人、答題人、閱卷人", 7),
        ("fan-jianping-butterfly-model", "蝴蝶模型", 10),
        ("wang-zhan-ethics-law-design", "裸泳", 12),
        ("zhu-pengcheng-atlatl-motherboard", "即插即用", 15),
        ("fan-jianping-future-frontiers", "開拓人類活動疆域", 17),
        ("fan-jianping-future-frontiers", "突破人類自身極限", 17),
    ]
    for phrase in phrases:
        assert phrase.text in phrase.position.text
        assert f"“{phrase.text}”" in phrase.position.source.paragraph(phrase.paragraph)


def test_bundled_in_context_positions_say_why(pujiang):
    in_context = Position.objects.filter(attribution=Position.Attribution.IN_CONTEXT)

    assert sorted(in_context.values_list("ref", flat=True)) == [
        "ding-lieming-drug-review-reform",
        "li-zhe-finance-as-blood",
        "liu-dongmei-cede-powers-to-enterprises",
        "liu-dongmei-enterprise-as-bridge",
        "song-qi-photon-ct-roadmap",
        "wang-zhan-market-and-government",
        "zhu-pengcheng-atlatl-motherboard",
    ]
    for position in in_context:
        assert position.attribution_note.strip()
        assert position.attribution_note_en.strip()
    assert set(
        Position.objects.values_list(
            "translation_reviewed_by", "translation_reviewed_on", "translation_provenance"
        )
    ) == {
        (
            "Forum Portal editors",
            datetime.date(2026, 12, 5),
            "Forum Portal editors (machine-assisted draft)",
        )
    }


def test_bundled_tags_all_have_english_names(pujiang):
    tags = set(Tag.objects.values_list("name", flat=True))

    assert len(tags) == 21
    assert set(TagName.objects.values_list("tag__name", flat=True)) == tags
    assert TagName.objects.get(tag__name="研發投入").name_en == "R&D investment"


def test_bundled_source_full_text_is_the_seed_report(pujiang):
    source = SourceDocument.objects.get()

    assert source.author == "蔣嬌燕"
    assert len(source.paragraphs) == 22
    assert source.paragraphs[0].startswith("科技創新與產業創新深度融合是發展新質生產力的核心路徑")
    assert (
        source.paragraphs[-1]
        == "本文由上海市科學學研究所戰略規劃研究室副研究員蔣嬌燕執筆。文章觀點不代表主辦機構立場。"
    )


def test_bundled_file_is_its_own_export(pujiang):
    """The bundled file is in canonical form: importing and exporting it reproduces it."""
    assert dumps(export_forum(slug="pujiang-2025")) == PUJIANG_FILE.read_text(encoding="utf-8")


def test_bundled_file_reimport_is_unchanged(pujiang):
    report = import_forum_file(path=PUJIANG_FILE)

    assert not report.changed
    assert report.unchanged["position"] == 19
