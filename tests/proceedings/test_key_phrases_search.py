"""
Key phrases and tags' English names in search, the API and citations: a phrase quoted inside a
paraphrase finds its position and says so, an English tag name finds its positions, the API
gives both, and each key phrase can be cited on its own with its locator.
"""

import datetime

import pytest
from taggit.models import Tag

from proceedings.citations import (
    FORMATS,
    citation_data,
    key_phrase_citations,
)
from proceedings.models import KeyPhrase, Position, TagName
from proceedings.search import search
from tests.factories import (
    make_appearance,
    make_forum,
    make_position,
    make_session,
    make_source,
    make_speaker,
)
from tests.proceedings.test_api import api, get_json

pytestmark = pytest.mark.django_db

TEXT = "他以蝴蝶模型詮釋科技創新和產業創新的融合機制。"
SOURCE_TEXT = "開場。\n\n" + TEXT


@pytest.fixture
def position():
    forum = make_forum(slug="f", name="論壇", name_en="Forum")
    source = make_source(slug="report", title="報告", full_text=SOURCE_TEXT)
    session = make_session(
        forum=forum, title="分論壇", source=source, held_on=datetime.date(2025, 9, 30)
    )
    speaker = make_speaker(slug="fan", name="樊建平", name_en="Fan Jianping")
    role = make_appearance(session=session, speaker=speaker)
    position = make_position(
        appearance=role,
        text=TEXT,
        translation="He explains how innovation integrates with a model of his own.",
        source=source,
        paragraph=2,
        tags=["區域創新生態"],
    )
    KeyPhrase.objects.create(position=position, text="蝴蝶模型", translation="butterfly model")
    return position


def hit_for(query):
    result = search(query)
    return [(hit.position.pk, hit.matched_in) for hit in result.hits]


# -- search --------------------------------------------------------------------------------


def test_a_key_phrases_translation_finds_its_position_and_says_where(position):
    # "butterfly" is in the key phrase's translation only, not in the position's.
    assert hit_for("butterfly") == [(position.pk, ("key_phrase",))]


def test_a_key_phrase_in_simplified_finds_the_traditional_text_and_both_fields(position):
    assert hit_for("蝴蝶模型") == [(position.pk, ("text", "key_phrase"))]


def test_saving_and_deleting_a_key_phrase_reindexes_its_position(position):
    phrase = position.key_phrases.get()
    phrase.translation = "moth diagram"
    phrase.save()

    assert hit_for("butterfly") == []
    assert hit_for("moth") == [(position.pk, ("key_phrase",))]

    phrase.delete()
    assert hit_for("moth") == []


def test_an_english_tag_name_finds_its_positions_and_labels_the_facet(position):
    tag = Tag.objects.get(name="區域創新生態")
    assert hit_for("ecosystems") == []

    TagName.objects.create(tag=tag, name_en="Regional innovation ecosystems")

    assert hit_for("ecosystems") == [(position.pk, ("tag",))]
    [value] = search("ecosystems").facets["tag"]
    assert (value.label, value.label_en) == ("區域創新生態", "Regional innovation ecosystems")

    tag.names.delete()
    assert hit_for("ecosystems") == []


# -- API -----------------------------------------------------------------------------------


def test_the_api_gives_key_phrases_attribution_review_and_english_tag_names(client, position):
    TagName.objects.create(tag=Tag.objects.get(name="區域創新生態"), name_en="Regional ecosystems")
    Position.objects.filter(pk=position.pk).update(
        attribution=Position.Attribution.IN_CONTEXT,
        attribution_note="報告未點名,緊接其發言。",
        attribution_note_en="The report does not name him; it follows his remarks.",
        translation_reviewed_by="Forum Portal editors",
        translation_reviewed_on=datetime.date(2026, 12, 5),
    )

    data = get_json(client, api("position-detail", pk=position.pk))

    permalink = "http://testserver" + position.get_absolute_url()
    assert data["key_phrases"] == [
        {
            "text": "蝴蝶模型",
            "translation": "butterfly model",
            "paragraph": 2,
            "url": f"{permalink}#kp-1",
        }
    ]
    assert data["attribution"] == "in_context"
    assert data["attribution_note"] == "報告未點名,緊接其發言。"
    assert data["attribution_note_en"] == "The report does not name him; it follows his remarks."
    assert data["translation_reviewed_by"] == "Forum Portal editors"
    assert data["translation_reviewed_on"] == "2026-12-05"
    assert [(t["name"], t["name_en"]) for t in data["tags"]] == [
        ("區域創新生態", "Regional ecosystems")
    ]


def test_a_tag_without_an_english_name_has_null(client, position):
    data = get_json(client, api("position-detail", pk=position.pk))

    assert [(t["name"], t["name_en"]) for t in data["tags"]] == [("區域創新生態", None)]


# -- citations -----------------------------------------------------------------------------

URL = "https://forum.example.org/positions/7/"


def phrase_citations(position, style):
    position = Position.objects.for_listing().get(pk=position.pk)
    data = citation_data(position, url=URL, accessed=datetime.date(2026, 12, 5))
    return key_phrase_citations(data, position.listed_key_phrases, style)


def test_a_key_phrase_is_cited_as_a_verbatim_quotation_with_its_own_anchor(position):
    [(anchor, citation)] = phrase_citations(position, "apa")

    assert anchor == "kp-1"
    assert citation.text == (
        "Fan, J. (2025, September 30). 蝴蝶模型 [Butterfly model] [Speech]. 分論壇, Forum. "
        "In 報告 (para. 2). https://forum.example.org/positions/7/#kp-1"
    )
    [(_anchor, chicago)] = phrase_citations(position, "chicago")
    assert chicago.text == (
        "Fan Jianping 樊建平. “蝴蝶模型” [Butterfly model]. Speech, 分論壇, Forum, September 30, "
        "2025. In 報告, para. 2. https://forum.example.org/positions/7/#kp-1."
    )


def test_a_second_phrase_has_its_own_anchor_paragraph_and_key(position):
    KeyPhrase.objects.create(position=position, text="融合機制", paragraph=2, order=1)

    cited = phrase_citations(position, "bibtex")

    assert [anchor for anchor, _citation in cited] == ["kp-1", "kp-2"]
    second = cited[1][1].text
    assert second.startswith(f"@misc{{{position.ref}-kp-2,\n")
    assert "  title = {{融合機制}},\n" in second
    assert "  url = {https://forum.example.org/positions/7/#kp-2},\n" in second


def test_every_format_escapes_a_hostile_phrase_for_its_own_syntax(position):
    hostile = '<b onclick="x">R&D {50%}</b>'
    Position.objects.filter(pk=position.pk).update(text=f"{TEXT}{hostile}")
    KeyPhrase.objects.create(position=position, text=hostile, order=1)

    cited = {style: phrase_citations(position, style)[1][1] for style in FORMATS}

    assert "<b" not in str(cited["apa"].html)
    assert "&lt;b onclick=&quot;x&quot;&gt;R&amp;D {50%}&lt;/b&gt;" in str(cited["apa"].html)
    assert "<b" not in str(cited["chicago"].html)
    assert '  title = {{<b onclick="x">R\\&D \\{50\\%\\}</b>}},\n' in cited["bibtex"].text
    assert 'TI  - <b onclick="x">R&D {50%}</b>\r\n' in cited["ris"].text
    assert '"title": "<b onclick=\\"x\\">R&D {50%}</b>"' in cited["csl-json"].text
