"""
Search over the whole record: report passages, themes and questions, people, forums, sessions.

Expected hits were read from proceedings/data/pujiang-2025.json: the report's paragraphs
(split on blank lines, as /sources/<slug>/ numbers them), its themes, questions, speakers,
institutions, the forum and its session.
"""

import pytest
from django.urls import reverse
from django.utils import translation

from proceedings.models import Forum, Position, RecordSearchDocument, SourceDocument, Status, Theme
from proceedings.search import search
from proceedings.search.analyser import HAS_CJK_RE, _converter
from proceedings.search.indexing import deferred_indexing
from proceedings.search.query import MINUS, QUOTES
from proceedings.search.records import reindex_all_records
from proceedings.workflow import transition
from tests.bundled import add_quote
from tests.factories import (
    make_appearance,
    make_forum,
    make_position,
    make_session,
    make_source,
    make_speaker,
    make_theme,
)
from tests.proceedings.test_search_analyser import HOSTILE

pytestmark = pytest.mark.django_db

SOURCE = "pujiang-2025-science-policy-report"
WANG_ZHAN = [
    "wang-zhan-ethics-law-design",
    "wang-zhan-market-and-government",
]
PARAGRAPH_7 = '使企業從"參與者"轉變為"出題人、答題人、閱卷人"'


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


def passages(result):
    return [(hit.obj.slug, hit.paragraph) for hit in result.records.get("passage", [])]


def records(result, group):
    return [(hit.kind, hit.obj.slug) for hit in result.records.get(group, [])]


def t2s(text):
    return _converter("t2s.json").convert(text)


# -- report passages -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        PARAGRAPH_7,
        "使企业从“参与者”转变为“出题人、答题人、阅卷人”",
        "出題人",
        "出题人",
        "閱卷人",
    ],
)
def test_the_reports_memorable_line_finds_paragraph_seven(pujiang, query):
    result = search(query)

    assert passages(result) == [(SOURCE, 7)]
    assert result.record_counts["passage"] == 1
    hit = result.records["passage"][0]
    assert hit.url == f"/en/sources/{SOURCE}/#p7"
    assert hit.matched_in == ["text"]


def test_a_passage_lists_the_speakers_citing_it(pujiang):
    source = SourceDocument.objects.get(slug=SOURCE)
    cited = (
        Position.objects.published()
        .filter(source=source, paragraph=6)
        .values_list("appearance__speaker__slug", flat=True)
    )
    result = search("研發投入占比")  # paragraph 7 and no other

    assert passages(result) == [(SOURCE, 7)]
    # Paragraph 7 is cited by 劉冬梅's position attributed to her in context.
    assert [s.slug for s in result.records["passage"][0].speakers] == ["liu-dongmei"]
    # Paragraph 6 is cited by 劉冬梅's positions.
    hit = search("敏銳", kind="passage").record_hits
    assert [(h.paragraph, [s.slug for s in h.speakers]) for h in hit] == [(6, ["liu-dongmei"])]
    assert set(cited) == {"liu-dongmei"}
    # Paragraph 10: 樊建平 and 宋琦, in reading order, each once.
    hit = search("蝴蝶模型", kind="passage").record_hits
    assert [(h.paragraph, [s.slug for s in h.speakers]) for h in hit] == [
        (10, ["fan-jianping", "song-qi"])
    ]


def test_passage_numbers_are_the_source_pages(pujiang):
    source = SourceDocument.objects.get(slug=SOURCE)
    stored = RecordSearchDocument.objects.filter(kind="passage", object_id=source.pk)

    assert sorted(stored.values_list("paragraph", flat=True)) == list(
        range(1, len(source.paragraphs) + 1)
    )
    assert len(source.paragraphs) == 22


# -- forums, sessions, themes, questions, people ---------------------------------------------------


@pytest.mark.parametrize("query", ["浦江創新論壇", "浦江创新论坛"])
def test_the_forums_name_finds_the_forum(pujiang, query):
    result = search(query)

    assert ("forum", "pujiang-2025") in records(result, "forum")
    assert result.records["forum"][0].obj.slug == "pujiang-2025"
    assert result.records["forum"][0].matched_in[0] == "name"


@pytest.mark.parametrize("query", ["數字經濟", "数字经济"])
def test_a_forum_named_in_simplified_is_found_in_both_scripts(pujiang, query):
    make_forum(slug="digital-economy-2024", name="2024数字经济发展论坛", name_en="Digital Economy")

    result = search(query)

    assert records(result, "forum") == [("forum", "digital-economy-2024")]
    assert result.record_counts == {"forum": 1}
    assert result.total == 0


@pytest.mark.parametrize("query", ["科技政策論壇", "科技政策论坛"])
def test_a_session_title_finds_the_session(pujiang, query):
    result = search(query, kind="forum")

    assert ("session", "science-policy") in [(h.kind, h.obj.slug) for h in result.record_hits]


@pytest.mark.parametrize("query", ["政策試驗田", "政策试验田"])
def test_a_theme_summary_finds_the_theme(pujiang, query):
    result = search(query)

    assert records(result, "theme") == [("theme", "regional-ecosystems")]
    assert result.records["theme"][0].matched_in == ["summary"]
    assert result.records["theme"][0].url == "/en/forums/pujiang-2025/themes/regional-ecosystems/"


def test_a_guiding_question_is_found_by_its_title(pujiang):
    result = search("誰來融合")

    assert ("question", "who-integrates") in records(result, "theme")


@pytest.mark.parametrize("query", ["王戰", "王战", "Wang Zhan"])
def test_a_speakers_name_fills_the_people_strip(pujiang, query):
    result = search(query)

    assert records(result, "person") == [("speaker", "wang-zhan")]
    assert result.records["person"][0].matched_in == ["name"]


# -- kinds, paging, counts -------------------------------------------------------------------------


def test_kind_filter_pages_through_one_kind(pujiang):
    everything = search("融合")
    passages_only = search("融合", kind="passage", per_page=2, page=2)

    count = everything.record_counts["passage"]
    assert count == passages_only.record_counts["passage"] > 4
    assert passages_only.page.paginator.count == count
    assert len(passages_only.record_hits) == 2
    assert passages_only.hits == []
    ranked = search("融合", kind="passage", per_page=50).record_hits
    assert [h.paragraph for h in passages_only.record_hits] == [h.paragraph for h in ranked[2:4]]


def test_a_page_past_the_end_shows_the_last_page(pujiang):
    result = search("融合", kind="passage", per_page=5, page=999)

    assert result.page.number == result.page.paginator.num_pages
    assert 1 <= len(result.record_hits) <= 5


def test_kind_counts_list_every_kind(pujiang):
    result = search("企業")

    kinds = {kind: count for kind, count, _capped in result.kind_counts}
    assert list(kinds) == ["position", "passage", "theme", "person", "forum"]
    assert kinds["position"] == result.total > 0
    assert kinds["passage"] == result.record_counts["passage"] > 0


def test_record_counts_are_bounded_like_the_positions(pujiang, monkeypatch):
    from proceedings.search import backends, records

    monkeypatch.setattr(backends, "_FETCH", 4)
    monkeypatch.setattr(records, "CANDIDATES", 3)
    result = search("融合")

    assert sum(result.record_counts.values()) == 4
    assert result.records_capped
    assert {capped for kind, _n, capped in result.kind_counts if kind != "position"} == {True}


def test_records_ignore_position_only_filters(pujiang):
    result = search("出題人", {"speaker": "wang-zhan"})

    assert result.record_counts == {}


def test_forum_filter_applies_to_records(pujiang):
    other = make_forum(slug="other", name="其他論壇")
    make_theme(forum=other, slug="other-theme", title="出題人論")

    assert records(search("出題人", {"forum": "other"}), "theme") == [("theme", "other-theme")]
    assert passages(search("出題人", {"forum": "pujiang-2025"})) == [(SOURCE, 7)]


# -- matched in ------------------------------------------------------------------------------------


def test_matched_in_explains_a_position_found_by_its_tag(pujiang):
    # 裸泳's text has no 倫理: its tag 科技倫理 has.
    add_quote("wang-zhan-naked-swimming")
    result = search("倫理")

    assert [(hit.position.ref, hit.matched_in) for hit in result.hits] == [
        ("wang-zhan-ethics-law-design", ("text", "tag")),
        ("wang-zhan-naked-swimming", ("tag",)),
        ("ding-lieming-last-mile", ("text",)),
    ]


def test_matched_in_names_each_field_a_word_was_found_in(pujiang):
    # The words are in the text, and in the tag and theme title (企業…“第一主體”) too.
    result = search("企業 主體")

    # (ranked alike, in an order that differs between the databases' scores)
    assert sorted((hit.position.ref, hit.matched_in) for hit in result.hits) == [
        ("liu-dongmei-cede-powers-to-enterprises", ("text", "tag", "theme")),
        ("liu-dongmei-enterprise-as-bridge", ("text", "tag", "theme")),
        ("liu-dongmei-enterprise-market-insight", ("text", "tag", "theme")),
    ]


# -- only public records, kept current -------------------------------------------------------------


def test_unpublishing_the_forum_hides_its_records(pujiang):
    assert passages(search("出題人")) == [(SOURCE, 7)]

    with deferred_indexing():
        Forum.objects.filter(pk=pujiang.pk).update(status=Status.DRAFT)
        pujiang.refresh_from_db()
        pujiang.save()

    assert search("出題人").record_counts == {}
    assert search("浦江創新論壇").record_counts == {}
    assert not RecordSearchDocument.objects.exists()


def test_publishing_a_draft_theme_indexes_it(pujiang, django_user_model):
    theme = make_theme(forum=pujiang, slug="draft", title="量子糾纏主題", published=False)
    assert search("量子糾纏").record_counts == {}

    user = django_user_model.objects.create_superuser("boss", "b@example.org", "x")
    transition(objects=[theme], to=Status.PUBLISHED, user=user)

    assert records(search("量子糾纏"), "theme") == [("theme", "draft")]


def test_editing_and_deleting_a_theme_follow(pujiang):
    theme = Theme.objects.get(forum=pujiang, slug="regional-ecosystems")
    theme.summary = "全新的摘要文字"
    theme.save()

    assert records(search("全新的摘要"), "theme") == [("theme", "regional-ecosystems")]
    assert search("政策試驗田").record_counts.get("theme") is None


def test_a_source_cited_only_by_a_draft_is_not_public(db):
    forum = make_forum()
    session = make_session(forum=forum)
    role = make_appearance(session=session, speaker=make_speaker())
    source = make_source(full_text="甲段落獨有詞。\n\n乙段落。")
    draft = make_position(appearance=role, source=source, paragraph=1, published=False)

    assert search("獨有詞").record_counts == {}
    draft.status = Status.PUBLISHED
    draft.save()

    assert [(h.obj.slug, h.paragraph) for h in search("獨有詞").records["passage"]] == [
        (source.slug, 1)
    ]
    draft.delete()
    assert search("獨有詞").record_counts == {}


def test_reindex_all_records_rebuilds_the_same_documents(pujiang):
    before = sorted(RecordSearchDocument.objects.values_list("kind", "object_id", "paragraph"))

    assert reindex_all_records() == len(before)
    after = sorted(RecordSearchDocument.objects.values_list("kind", "object_id", "paragraph"))
    assert after == before


# -- queries and hostile input ---------------------------------------------------------------------


def test_record_search_adds_one_query(pujiang, django_assert_num_queries):
    search("思想碰撞")  # a heading of the report (¶3), in no position

    # candidates, records, facet labels; no position matches, so no listing queries
    with django_assert_num_queries(2):
        assert search("思想碰撞").total == 0
    # positions: candidates, records, labels, for_listing() ×6
    with django_assert_num_queries(9):
        search("王戰")
    # one kind: candidates (the positions' count), records; no facets (they are positions')
    with django_assert_num_queries(2):
        result = search("融合", kind="passage", page=3, per_page=2)
    assert result.facets == {}
    assert result.total == 19  # every position has 融合 (in its theme's title)


@pytest.mark.parametrize("raw", HOSTILE)
def test_hostile_input_never_breaks_the_record_search(pujiang, raw):
    for kind in (None, "passage", "person", raw):
        result = search(raw, kind=kind, page=raw)
        assert result.page.number >= 1


def test_search_page_shows_kinds_passages_and_people(client, pujiang):
    url = reverse("proceedings:search")
    content = client.get(url, {"q": "王戰"}).content.decode()

    assert 'class="people-strip"' in content
    assert 'href="/en/speakers/wang-zhan/"' in content
    assert "Matched in" in content

    content = client.get(url, {"q": "出题人", "kind": "passage"}).content.decode()
    assert f'href="/en/sources/{SOURCE}/#p7"' in content
    assert "<mark>出題人</mark>" in content or "<mark>出题人</mark>" in content


def test_search_page_in_simplified_says_why_in_simplified(client, pujiang):
    with translation.override("zh-hans"):
        url = reverse("proceedings:search")
    content = client.get(url, {"q": "出題人"}).content.decode()

    assert "相符之处" in content
    assert "报告段落" in content
    assert f'href="/zh-hans/sources/{SOURCE}/#p7"' in content
    assert "<mark>出题人</mark>" in content  # the paragraph as shown: converted to Simplified


@pytest.mark.parametrize("kind", ["", "everything", "PASSAGE", "<script>"])
def test_search_page_with_any_kind_parameter(client, pujiang, kind):
    response = client.get(reverse("proceedings:search"), {"q": "王戰", "kind": kind, "page": "x"})

    assert response.status_code == 200
    assert response.context["kind"] is None
    assert sorted(hit.position.ref for hit in response.context["hits"]) == WANG_ZHAN
    assert "<script>" not in response.content.decode().split("<body", 1)[1].split("</main>")[0]


try:
    from hypothesis import HealthCheck, assume, given, settings
    from hypothesis import strategies as st
except ImportError:  # pragma: no cover
    pass
else:

    @settings(
        max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
    )
    @given(data=st.data())
    def test_any_substring_of_a_paragraph_finds_it(pujiang, data):
        source = SourceDocument.objects.get(slug=SOURCE)
        number = data.draw(st.integers(1, len(source.paragraphs)), label="paragraph")
        text = source.paragraphs[number - 1]
        size = data.draw(st.integers(2, min(12, len(text))), label="size")
        start = data.draw(st.integers(0, len(text) - size), label="start")
        piece = text[start : start + size]
        # The index holds whole words of Latin letters and digits (CJK is bigrammed, so any
        # run of it is found): a piece cutting "ATLATL" or "77" in two is not a word typed.
        assume(not (start and _word_char(text[start - 1]) and _word_char(text[start])))
        end = start + size
        assume(not (end < len(text) and _word_char(text[end - 1]) and _word_char(text[end])))
        if data.draw(st.booleans(), label="simplified"):
            piece = t2s(piece)
        # Quotes and minus signs are the query language's; typed in a piece they are punctuation.
        query = "".join(" " if char in QUOTES or char in MINUS else char for char in piece)
        result = search(query, kind="passage", per_page=100)

        if not result.query.terms:
            return  # nothing searchable in it (punctuation only): the page says so
        found = [(hit.obj.slug, hit.paragraph) for hit in result.record_hits]
        assert (SOURCE, number) in found, (piece, found)

    def _word_char(char):
        return char.isalnum() and not HAS_CJK_RE.match(char)


# -- the API ---------------------------------------------------------------------------------------


def test_api_search_returns_the_kinds_and_records(client, pujiang):
    response = client.get("/api/v1/search/", {"q": "出题人"})

    data = response.json()
    assert response.status_code == 200
    assert data["kind"] is None
    assert data["kinds"] == [
        {"kind": "position", "count": 1, "capped": False},
        {"kind": "passage", "count": 1, "capped": False},
        {"kind": "theme", "count": 0, "capped": False},
        {"kind": "person", "count": 0, "capped": False},
        {"kind": "forum", "count": 0, "capped": False},
    ]
    (record,) = data["records"]
    assert record["kind"] == "passage"
    assert record["paragraph"] == 7
    assert record["url"] == f"http://testserver/zh-hant/sources/{SOURCE}/#p7"
    assert record["matched_in"] == ["text"]
    assert "<mark>出題人</mark>" in record["snippet"]
    # ¶7 is cited by 劉冬梅's position attributed to her in context, the one position found.
    assert [s["slug"] for s in record["speakers"]] == ["liu-dongmei"]
    assert [(r["position"]["ref"], r["matched_in"]) for r in data["results"]] == [
        ("liu-dongmei-cede-powers-to-enterprises", ["text", "key_phrase"])
    ]
    assert "<mark>出題人</mark>" in data["results"][0]["snippet"]


def test_api_search_pages_through_one_kind(client, pujiang):
    data = client.get("/api/v1/search/", {"q": "王戰", "kind": "person"}).json()

    assert data["count"] == 1
    assert [(r["kind"], r["title"], r["title_en"]) for r in data["records"]] == [
        ("speaker", "王戰", "Wang Zhan")
    ]
    assert data["results"] == []


def test_api_search_position_hits_say_why_they_matched(client, pujiang):
    data = client.get("/api/v1/search/", {"q": "王戰"}).json()

    assert data["count"] == 2
    assert {tuple(r["matched_in"]) for r in data["results"]} == {("speaker",)}


def test_api_search_rejects_an_unknown_kind(client, pujiang):
    response = client.get("/api/v1/search/", {"q": "融合", "kind": "everything"})

    assert response.status_code == 400
    assert response.json()["kind"] == ["Choose one of position, passage, theme, person, forum."]
