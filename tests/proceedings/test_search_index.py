"""The search index follows the data: edits, publishing, bulk writes, imports, renames."""

import copy
import datetime
import json

import pytest
from django.core.management import call_command
from taggit.models import Tag

from proceedings.interchange.documents import ImportFailed, import_forum_data
from proceedings.models import Position, PositionSearchDocument, Status
from proceedings.search import reindex_all, reindex_positions, search
from proceedings.workflow import transition
from tests.conftest import PUJIANG_FILE
from tests.factories import (
    make_appearance,
    make_forum,
    make_institution,
    make_position,
    make_question,
    make_session,
    make_speaker,
    make_theme,
)

pytestmark = pytest.mark.django_db


def found(query, **kwargs):
    return sorted(position.ref for position in search(query, **kwargs).positions)


@pytest.fixture
def appearance():
    forum = make_forum(published=True, slug="demo", starts_on=datetime.date(2024, 5, 1))
    session = make_session(forum=forum, slug="main")
    speaker = make_speaker(slug="zhang-san", name="張三", name_en="Zhang San", aliases=["张三"])
    institution = make_institution(slug="acme", name="甲研究院", name_en="Acme Institute")
    return make_appearance(session=session, speaker=speaker, institution=institution)


# -- what is found -----------------------------------------------------------------------------


def test_phrase_level_variant_finds_the_other_form(appearance):
    make_position(appearance=appearance, ref="liaojie", text="我們要充分瞭解企業的需求。")

    assert found("了解") == ["liaojie"]
    assert found("瞭解") == ["liaojie"]
    assert found("瞭") == ["liaojie"]  # one character: a prefix


def test_simplified_text_is_found_by_a_traditional_query(appearance):
    make_position(appearance=appearance, ref="simplified", text="加快科技成果转化。")

    assert found("成果轉化") == ["simplified"]


def test_drafts_are_never_found(appearance):
    make_position(appearance=appearance, ref="public", text="開放科學的共同體")
    make_position(appearance=appearance, ref="draft", text="開放科學的草稿", published=False)
    draft_forum = make_forum(published=False)
    hidden = make_appearance(session=make_session(forum=draft_forum), speaker=appearance.speaker)
    make_position(appearance=hidden, ref="in-draft-forum", text="開放科學的會議")

    assert found("開放科學") == ["public"]
    assert found("", per_page=100) == ["public"]
    assert PositionSearchDocument.objects.count() == 1


def test_text_translation_and_names_are_all_searchable(appearance):
    make_position(
        appearance=appearance,
        ref="p",
        text="數據要素",
        translation="Data as a factor of production",
        tags=["數字經濟"],
        themes=[
            make_theme(forum=appearance.session.forum, title="數字中國", title_en="Digital China")
        ],
    )

    for query in [
        "數據要素",
        "production",
        "張三",
        "张三",
        "Zhang San",
        "甲研究院",
        "Acme",
        "數字經濟",
        "数字中国",
        "digital china",
    ]:
        assert found(query) == ["p"], query


def test_plain_theme_slug_filters_every_forum_with_that_theme(appearance):
    other = make_forum(published=True, slug="other")
    other_appearance = make_appearance(
        session=make_session(forum=other), speaker=appearance.speaker
    )
    make_position(
        appearance=appearance,
        ref="a",
        text="正文",
        themes=[make_theme(forum=appearance.session.forum, slug="open")],
    )
    make_position(
        appearance=other_appearance,
        ref="b",
        text="正文",
        themes=[make_theme(forum=other, slug="open")],
    )

    assert found("", filters={"theme": "open"}) == ["a", "b"]
    assert found("", filters={"theme": "other:open"}) == ["b"]
    assert found("", filters={"theme": "nowhere:open"}) == ["a", "b"]  # unknown: ignored


# -- single edits ------------------------------------------------------------------------------


def test_index_follows_an_edit(appearance):
    position = make_position(appearance=appearance, ref="p", text="舊的說法")

    position.text = "新的提法"
    position.save()

    assert found("提法") == ["p"]
    assert found("說法") == []


def test_index_follows_publish_and_unpublish_by_save(appearance):
    position = make_position(appearance=appearance, ref="p", text="碳中和路徑", published=False)
    assert found("碳中和") == []

    position.status = Status.PUBLISHED
    position.save()
    assert found("碳中和") == ["p"]

    position.status = Status.DRAFT
    position.save()
    assert found("碳中和") == []


def test_index_follows_workflow_transitions(appearance):
    position = make_position(appearance=appearance, ref="p", text="碳中和路徑", published=False)
    forum, speaker = appearance.session.forum, appearance.speaker

    transition(objects=[position], to=Status.PUBLISHED)
    assert found("碳中和") == ["p"]

    transition(objects=[forum], to=Status.DRAFT)
    assert found("碳中和") == []
    transition(objects=[forum], to=Status.PUBLISHED)
    assert found("碳中和") == ["p"]

    transition(objects=[speaker], to=Status.WITHDRAWN)
    assert found("碳中和") == []
    transition(objects=[speaker], to=Status.PUBLISHED)
    assert found("碳中和") == ["p"]

    transition(objects=[position], to=Status.WITHDRAWN)
    assert found("碳中和") == []


def test_draft_theme_is_neither_searchable_nor_a_facet(appearance):
    theme = make_theme(
        forum=appearance.session.forum, slug="hidden", title="保密主題", published=False
    )
    make_position(appearance=appearance, ref="p", text="正文", themes=[theme])
    assert found("保密主題") == []
    assert search("正文").facets["theme"] == []

    transition(objects=[theme], to=Status.PUBLISHED)

    assert found("保密主題") == ["p"]
    assert [v.value for v in search("正文").facets["theme"]] == ["demo:hidden"]


def test_deleting_a_position_removes_it(appearance):
    position = make_position(appearance=appearance, ref="p", text="碳中和路徑")

    position.delete()

    assert found("碳中和") == []
    assert PositionSearchDocument.objects.count() == 0


def test_index_follows_tags_and_themes(appearance):
    position = make_position(appearance=appearance, ref="p", text="正文")
    theme = make_theme(forum=appearance.session.forum, slug="open", title="開放合作")

    position.tags.add("雙碳目標")
    position.themes.add(theme)
    assert found("雙碳") == ["p"]
    assert found("", filters={"theme": "open"}) == ["p"]

    position.tags.remove("雙碳目標")
    theme.positions.remove(position)
    assert found("雙碳") == []
    assert found("開放合作") == []

    theme.positions.add(position)
    assert found("開放合作") == ["p"]
    theme.positions.clear()
    assert found("開放合作") == []


# -- bulk paths --------------------------------------------------------------------------------


def test_index_follows_queryset_update(appearance):
    make_position(appearance=appearance, ref="a", text="舊文")
    make_position(appearance=appearance, ref="b", text="舊文")

    Position.objects.filter(ref="a").update(text="量子通信")
    Position.objects.filter(ref="b").update(status=Status.DRAFT)

    assert found("量子通信") == ["a"]
    assert found("舊文") == []


def test_index_follows_bulk_update(appearance):
    a = make_position(appearance=appearance, ref="a", text="舊文")
    a.text = "合成生物"

    Position.objects.bulk_update([a], ["text"])

    assert found("合成生物") == ["a"]


def test_index_follows_bulk_create(appearance):
    Position.objects.bulk_create(
        [
            Position(
                ref=f"bulk-{i}",
                appearance=appearance,
                text=f"腦機接口第{i}號",
                fidelity=Position.Fidelity.SUMMARY,
                status=Status.PUBLISHED,
            )
            for i in range(3)
        ]
    )

    assert found("腦機接口") == ["bulk-0", "bulk-1", "bulk-2"]


def test_reindex_positions_repairs_writes_that_bypass_the_orm(appearance):
    position = make_position(appearance=appearance, ref="p", text="舊文")
    PositionSearchDocument.objects.all().delete()
    assert found("舊文") == []

    assert reindex_positions([position.pk]) == 1

    assert found("舊文") == ["p"]


# -- names and dates shown on a position ------------------------------------------------------


def test_renaming_a_speaker_institution_theme_or_tag_reindexes(appearance):
    theme = make_theme(forum=appearance.session.forum, title="舊主題")
    make_position(appearance=appearance, ref="p", text="正文", themes=[theme], tags=["舊標籤"])
    speaker, institution = appearance.speaker, appearance.institution

    speaker.name, speaker.aliases = "李四", []
    speaker.save()
    institution.name_en = "Zenith Lab"
    institution.save()
    theme.title = "新主題"
    theme.save()
    tag = Tag.objects.get(name="舊標籤")
    tag.name = "新標籤"
    tag.save()
    appearance.as_printed = "甲研究院首席科學家"
    appearance.save()

    assert found("李四") == ["p"]
    assert found("張三") == []
    assert found("Zenith") == ["p"]
    assert found("新主題") == ["p"]
    assert found("舊主題") == []
    assert found("新標籤") == ["p"]
    assert found("首席科學家") == ["p"]


def test_question_links_and_deletion_reindex(appearance):
    forum = appearance.session.forum
    question = make_question(forum=forum, slug="who", title="誰來做")
    theme = make_theme(forum=forum, questions=[question])
    make_position(appearance=appearance, ref="p", text="正文", themes=[theme])
    assert found("", filters={"question": "demo:who"}) == ["p"]

    theme.questions.remove(question)
    assert found("", filters={"question": "demo:who"}) == []

    theme.questions.add(question)
    assert [v.value for v in search("正文").facets["question"]] == ["demo:who"]
    question.delete()
    assert search("正文").facets["question"] == []


def test_deleting_a_theme_or_tag_reindexes(appearance):
    theme = make_theme(forum=appearance.session.forum, title="可刪主題")
    make_position(appearance=appearance, ref="p", text="正文", themes=[theme], tags=["可刪標籤"])

    theme.delete()
    Tag.objects.filter(name="可刪標籤").delete()

    assert found("可刪主題") == []
    assert found("可刪標籤") == []
    assert found("正文") == ["p"]


def test_session_date_orders_results_by_date(appearance):
    older = make_forum(published=True, slug="older", starts_on=datetime.date(2019, 5, 1))
    old_appearance = make_appearance(session=make_session(forum=older), speaker=appearance.speaker)
    make_position(appearance=appearance, ref="new", text="氫能")
    make_position(appearance=old_appearance, ref="old", text="氫能")
    assert [p.ref for p in search("氫能", sort="date").positions] == ["new", "old"]

    session = old_appearance.session
    session.held_on = datetime.date(2025, 1, 1)
    session.save()

    assert [p.ref for p in search("氫能", sort="date").positions] == ["old", "new"]


# -- import and rebuild ------------------------------------------------------------------------


def test_import_indexes_and_reimport_follows_changes(db):
    data = json.loads(PUJIANG_FILE.read_text())
    import_forum_data(data=copy.deepcopy(data))
    assert found("裸泳") == ["wang-zhan-ethics-law-design"]  # its key phrase
    assert found("引領者") == ["wang-zhan-market-and-government"]

    changed = copy.deepcopy(data)
    position = next(
        p
        for p in changed["forums"][0]["positions"]
        if p["ref"] == "wang-zhan-market-and-government"
    )
    position["text"] = "全要素"
    position["status"] = "draft"
    assert changed["people"][4]["slug"] == "wang-zhan"
    changed["people"][4]["name_en"] = "Wang Zhan (Emeritus)"
    import_forum_data(data=changed)

    assert found("引領者") == []
    assert found("emeritus") == ["wang-zhan-ethics-law-design"]


def test_failed_import_indexes_nothing(db):
    data = json.loads(PUJIANG_FILE.read_text())
    data["forums"][0]["positions"][0]["text"] = "not in the source"
    data["forums"][0]["positions"][0]["fidelity"] = "verbatim"

    with pytest.raises(ImportFailed):
        import_forum_data(data=data)

    assert PositionSearchDocument.objects.count() == 0


def test_reindex_all_gives_the_same_results(pujiang):
    before = {query: found(query) for query in ["轉化", "人才", "王战", "enterprises"]}

    assert reindex_all() == 19

    assert {query: found(query) for query in before} == before
    assert PositionSearchDocument.objects.count() == 19


def test_reindex_command_reports_progress(pujiang, capsys):
    call_command("reindex")

    out = capsys.readouterr().out
    assert "19 / 19 positions indexed" in out
    assert "Indexed 19 published positions" in out
    assert found("人才") == ["xiao-jian-one-stop-ecosystem"]
