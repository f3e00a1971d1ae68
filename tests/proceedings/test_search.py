"""
Search over the Pujiang 2025 data: words, scripts, names, phrases, filters and facet counts.

Every expected set and count here was worked out by reading proceedings/data/pujiang-2025.json
(text, translation, speaker and institution names, roles, theme titles and tags of each
position), not with the search code.
"""

import pytest
from django.http import QueryDict
from django.utils import translation

from proceedings.search import search
from tests.proceedings.test_search_analyser import HOSTILE

pytestmark = pytest.mark.django_db

ALL_REFS = [
    "daniel-almeida-structured-planning",
    "ding-lieming-drug-review-reform",
    "ding-lieming-institutions-first",
    "ding-lieming-last-mile",
    "fan-jianping-butterfly-model",
    "fan-jianping-future-frontiers",
    "li-zhe-finance-as-blood",
    "li-zhe-multi-tier-exit",
    "liu-dongmei-cede-powers-to-enterprises",
    "liu-dongmei-enterprise-as-bridge",
    "liu-dongmei-enterprise-market-insight",
    "song-qi-photon-ct-roadmap",
    "song-qi-system-reconstruction",
    "wang-zhan-ethics-law-design",
    "wang-zhan-market-and-government",
    "xiao-jian-one-stop-ecosystem",
    "xiao-jian-zhangjiang-cluster",
    "zhu-pengcheng-asset-light-model",
    "zhu-pengcheng-atlatl-motherboard",
]
# 轉化 in the text, a theme title (the "translation bottleneck" theme and its task) or a tag.
TRANSLATION_REFS = [
    "daniel-almeida-structured-planning",
    "ding-lieming-drug-review-reform",
    "ding-lieming-institutions-first",
    "ding-lieming-last-mile",
    "li-zhe-finance-as-blood",
    "zhu-pengcheng-asset-light-model",
    "zhu-pengcheng-atlatl-motherboard",
]
WANG_ZHAN_REFS = [
    "wang-zhan-ethics-law-design",
    "wang-zhan-market-and-government",
]
F = "pujiang-2025:"


@pytest.fixture(autouse=True)
def english():
    """Messages and labels in English (the site's default language is Traditional Chinese)."""
    with translation.override("en"):
        yield


def refs(result):
    return sorted(position.ref for position in result.positions)


def counts(result):
    return {
        name: {value.value: value.count for value in values}
        for name, values in result.facets.items()
    }


# -- words ---------------------------------------------------------------------------------------


def test_two_character_word_in_one_text_only(pujiang):
    result = search("人才")

    assert refs(result) == ["xiao-jian-one-stop-ecosystem"]
    assert result.total == 1
    assert result.hits[0].snippet == (
        "科學設施、<mark>人才</mark>公寓、算力券、融資中心等被打包成“一站式生態”,"
        "提供了一個區域科產融合創新生態的樣板"
    )


def test_two_character_word_found_in_text_theme_titles_and_tags(pujiang):
    result = search("轉化")

    assert refs(result) == TRANSLATION_REFS
    assert result.total == 7
    assert not result.total_capped


def test_two_character_word_in_every_theme_title_finds_all(pujiang):
    # 融合 is in the title of every theme a Pujiang position has.
    result = search("融合", per_page=50)

    assert refs(result) == ALL_REFS


def test_simplified_query_finds_traditional_text(pujiang):
    result = search("转化")

    assert refs(result) == TRANSLATION_REFS
    assert "<mark>轉化</mark>" in result.hits[0].snippet


def test_simplified_longer_word_finds_traditional_text(pujiang):
    assert refs(search("一站式生态")) == ["xiao-jian-one-stop-ecosystem"]
    assert refs(search("飞镖")) == [
        "zhu-pengcheng-asset-light-model",
        "zhu-pengcheng-atlatl-motherboard",
    ]


def test_english_is_stemmed_and_case_insensitive(pujiang):
    expected = [
        "liu-dongmei-cede-powers-to-enterprises",
        "liu-dongmei-enterprise-as-bridge",
        "liu-dongmei-enterprise-market-insight",
        "xiao-jian-zhangjiang-cluster",
    ]

    assert refs(search("enterprises")) == expected
    assert refs(search("ENTERPRISE")) == expected


@pytest.mark.parametrize("query", ["王戰", "王战", "Wang Zhan", "wang zhan", '"Wang Zhan"'])
def test_speaker_name_in_each_script(pujiang, query):
    assert refs(search(query)) == WANG_ZHAN_REFS


def test_institution_short_name_and_alias(pujiang):
    liu = [
        "liu-dongmei-cede-powers-to-enterprises",
        "liu-dongmei-enterprise-as-bridge",
        "liu-dongmei-enterprise-market-insight",
    ]

    assert refs(search("CASTED")) == liu
    assert refs(search("中国科技发展战略研究院")) == liu


def test_one_character_query_is_a_prefix(pujiang):
    # 裸泳 is a key phrase of Wang Zhan's paraphrase, not a position of its own.
    assert refs(search("裸")) == ["wang-zhan-ethics-law-design"]


# -- phrases and exclusions ------------------------------------------------------------------------


def test_words_are_anded_and_a_quoted_phrase_keeps_its_order(pujiang):
    paraphrase = ["wang-zhan-ethics-law-design"]  # its translation says "swimming naked"

    assert refs(search("naked swimming")) == paraphrase
    assert refs(search('"swimming naked"')) == paraphrase
    assert refs(search('"naked swimming"')) == []


def test_exclusion_removes_matching_positions(pujiang):
    # 生物醫藥 is a tag of three of the seven, and in the text of one of them.
    result = search("轉化 -生物醫藥")

    assert refs(result) == [
        "daniel-almeida-structured-planning",
        "ding-lieming-drug-review-reform",
        "ding-lieming-institutions-first",
        "li-zhe-finance-as-blood",
    ]
    assert result.query.summary == "轉化 -生物醫藥"


def test_exclusion_only_query_searches_everything_else(pujiang):
    assert refs(search("-融合")) == []
    assert refs(search("-轉化", per_page=50)) == sorted(set(ALL_REFS) - set(TRANSLATION_REFS))


# -- filters and facet counts --------------------------------------------------------------------


TRANSLATION_FACETS = {
    "theme": {
        F + "translation-bottleneck-mechanisms": 6,
        F + "full-factor-synergy": 1,
        F + "future-industries-main-battlefield": 1,
        F + "task-reform-translation-and-evaluation": 1,
    },
    "question": {F + "how-to-integrate": 6, F + "what-is-integrated": 2},
    "speaker": {"ding-lieming": 3, "zhu-pengcheng": 2, "daniel-almeida": 1, "li-zhe": 1},
    "institution": {
        "atlatl": 2,
        "betta-pharmaceuticals": 3,
        "bilinxing-ventures": 1,
        "mcti-brazil": 1,
    },
    "sector": {"enterprise": 5, "finance": 1, "foreign": 1},
    "forum": {"pujiang-2025": 7},
    "tag": {
        "成果轉化": 6,
        "共享實驗室": 2,
        "生物醫藥": 3,
        "制度創新": 2,
        "創新藥": 1,
        "未來產業": 1,
        "科技金融": 1,
        "長期規劃": 1,
    },
    "language": {"zh-Hant": 7},
    "fidelity": {"paraphrase": 4, "summary": 3},
}


def test_facet_counts_of_a_query(pujiang):
    result = search("轉化")

    assert counts(result) == TRANSLATION_FACETS
    assert not result.facets_partial
    assert [(v.label, v.count) for v in result.who_says_most] == [
        ("丁列明", 3),
        ("朱鵬程", 2),
        ("丹尼爾·阿爾梅達", 1),
        ("李喆", 1),
    ]


def test_facet_values_are_listed_by_count_with_labels(pujiang):
    themes = search("轉化").facets["theme"]

    assert themes[0].value == F + "translation-bottleneck-mechanisms"
    assert themes[0].label == "融合的關鍵瓶頸在“轉化”,轉化的核心在“機制”"
    assert themes[0].label_en.startswith("The key bottleneck of integration")
    assert not themes[0].selected


def test_query_with_theme_filter_counts_each_facet_without_its_own_filter(pujiang):
    result = search("轉化", {"theme": F + "translation-bottleneck-mechanisms"})

    assert refs(result) == [
        "daniel-almeida-structured-planning",
        "ding-lieming-drug-review-reform",
        "ding-lieming-institutions-first",
        "ding-lieming-last-mile",
        "zhu-pengcheng-asset-light-model",
        "zhu-pengcheng-atlatl-motherboard",
    ]
    assert counts(result) == {
        # The theme facet ignores the theme filter: same as without it.
        "theme": TRANSLATION_FACETS["theme"],
        "question": {F + "how-to-integrate": 6, F + "what-is-integrated": 1},
        "speaker": {"ding-lieming": 3, "zhu-pengcheng": 2, "daniel-almeida": 1},
        "institution": {"atlatl": 2, "betta-pharmaceuticals": 3, "mcti-brazil": 1},
        "sector": {"enterprise": 5, "foreign": 1},
        "forum": {"pujiang-2025": 6},
        "tag": {
            "共享實驗室": 2,
            "生物醫藥": 3,
            "成果轉化": 5,
            "制度創新": 2,
            "創新藥": 1,
            "未來產業": 1,
            "長期規劃": 1,
        },
        "language": {"zh-Hant": 6},
        "fidelity": {"paraphrase": 4, "summary": 2},
    }
    assert [v.value for v in result.facets["theme"] if v.selected] == [
        F + "translation-bottleneck-mechanisms"
    ]
    assert [(f.facet, f.value) for f in result.active_filters] == [
        ("theme", F + "translation-bottleneck-mechanisms")
    ]


def test_speaker_and_fidelity_filters_without_a_query(pujiang):
    result = search("", {"speaker": "ding-lieming", "fidelity": "paraphrase"})

    assert refs(result) == ["ding-lieming-institutions-first", "ding-lieming-last-mile"]
    assert counts(result) == {
        "theme": {
            F + "translation-bottleneck-mechanisms": 2,
            F + "task-reform-translation-and-evaluation": 1,
        },
        "question": {F + "how-to-integrate": 2},
        # Paraphrases, by speaker (the speaker filter left out).
        "speaker": {
            "ding-lieming": 2,
            "fan-jianping": 2,
            "daniel-almeida": 1,
            "li-zhe": 1,
            "liu-dongmei": 1,
            "song-qi": 1,
            "wang-zhan": 1,
            "xiao-jian": 1,
            "zhu-pengcheng": 1,
        },
        "institution": {"betta-pharmaceuticals": 2},
        "sector": {"enterprise": 2},
        "forum": {"pujiang-2025": 2},
        "tag": {"成果轉化": 2, "制度創新": 1, "生物醫藥": 1},
        "language": {"zh-Hant": 2},
        # Ding Lieming's positions, by fidelity (the fidelity filter left out).
        "fidelity": {"paraphrase": 2, "summary": 1},
    }


def test_sector_and_tag_filters(pujiang):
    result = search("", {"sector": "enterprise", "tag": "成果轉化"})

    assert refs(result) == [
        "ding-lieming-drug-review-reform",
        "ding-lieming-institutions-first",
        "ding-lieming-last-mile",
        "zhu-pengcheng-atlatl-motherboard",
    ]
    assert counts(result)["sector"] == {"enterprise": 4, "finance": 1, "foreign": 1}
    assert counts(result)["tag"] == {
        "共享實驗室": 2,
        "成果轉化": 4,
        "生物醫藥": 3,
        "制度創新": 2,
        "光子ct": 2,
        "系統重構": 2,
        "創新藥": 1,
    }
    assert counts(result)["speaker"] == {"ding-lieming": 3, "zhu-pengcheng": 1}


def test_values_of_one_facet_are_alternatives(pujiang):
    result = search("", {"speaker": ["wang-zhan", "li-zhe"]})

    assert refs(result) == [
        "li-zhe-finance-as-blood",
        "li-zhe-multi-tier-exit",
        *WANG_ZHAN_REFS,
    ]
    assert counts(result)["theme"] == {F + "full-factor-synergy": 4}


def test_parent_theme_filter_finds_what_its_page_lists(pujiang):
    """The outlook lists no position of its own (its tasks do): its facet agrees with its page."""
    outlook = search("", {"theme": F + "outlook"})
    everything = search("", {})

    assert refs(outlook) == []
    assert F + "outlook" not in counts(everything)["theme"]
    assert counts(everything)["theme"][F + "task-strengthen-enterprises"] == 2


def test_question_and_sector_filters(pujiang):
    result = search("", {"question": F + "how-to-integrate", "sector": "enterprise"})

    assert refs(result) == [
        "ding-lieming-drug-review-reform",
        "ding-lieming-institutions-first",
        "ding-lieming-last-mile",
        "zhu-pengcheng-asset-light-model",
        "zhu-pengcheng-atlatl-motherboard",
    ]
    assert counts(result)["question"] == {F + "how-to-integrate": 5, F + "what-is-integrated": 2}
    assert counts(result)["sector"] == {
        "enterprise": 5,
        "government": 2,
        "academia": 1,
        "foreign": 1,
    }


def test_institution_language_and_forum_filters(pujiang):
    result = search("", {"institution": "casted", "language": "zh-hant", "forum": "pujiang-2025"})

    assert refs(result) == [
        "liu-dongmei-cede-powers-to-enterprises",
        "liu-dongmei-enterprise-as-bridge",
        "liu-dongmei-enterprise-market-insight",
    ]
    assert counts(result)["institution"] == {
        "betta-pharmaceuticals": 3,
        "casted": 3,
        "suat": 2,
        "atlatl": 2,
        "sfssa": 2,
        "bilinxing-ventures": 2,
        "neusoft-medical": 2,
        "zhangjiang-science-city-office": 2,
        "mcti-brazil": 1,
    }


def test_plain_theme_slug_and_query_dict_filters(pujiang):
    result = search("融合", QueryDict("theme=regional-ecosystems&q=ignored&page=2"))

    assert refs(result) == ["xiao-jian-one-stop-ecosystem", "xiao-jian-zhangjiang-cluster"]
    # Selected as given in the URL, so that a link removing it matches.
    assert [v.value for v in result.facets["theme"] if v.selected] == ["regional-ecosystems"]


def test_unknown_filter_values_are_reported_and_ignored(pujiang):
    result = search(
        "裸泳", {"speaker": "nobody", "sector": "space", "fidelity": "rumour", "colour": "red"}
    )

    assert refs(result) == ["wang-zhan-ethics-law-design"]
    assert result.active_filters == []
    assert result.messages == [
        "There is no speaker “nobody”; that filter was ignored.",
        "There is no sector “space”; that filter was ignored.",
        "There is no fidelity “rumour”; that filter was ignored.",
    ]


def test_no_results_suggest_removing_filters(pujiang):
    result = search("裸泳", {"sector": "finance"})

    assert refs(result) == []
    assert result.messages == [
        "No positions match with these filters. Remove a filter to see more."
    ]
    assert [(v.value, v.count, v.selected) for v in result.facets["sector"]] == [
        ("association", 1, False),
        ("finance", 0, True),
    ]


# -- order and pages -----------------------------------------------------------------------------


def test_date_sort_is_reading_order_within_a_forum(pujiang):
    result = search("轉化", sort="date")

    assert [p.ref for p in result.positions] == [
        "li-zhe-finance-as-blood",
        "ding-lieming-last-mile",
        "ding-lieming-institutions-first",
        "ding-lieming-drug-review-reform",
        "zhu-pengcheng-asset-light-model",
        "zhu-pengcheng-atlatl-motherboard",
        "daniel-almeida-structured-planning",
    ]


def test_pages_are_stable_and_complete(pujiang):
    pages = [search("融合", sort="relevance", page=n, per_page=5) for n in (1, 2, 3, 4)]

    seen = [p.ref for page in pages for p in page.positions]
    assert sorted(seen) == ALL_REFS
    assert [page.page.number for page in pages] == [1, 2, 3, 4]
    assert search("融合", page=2, per_page=5).positions == pages[1].positions


@pytest.mark.parametrize("page", [10**6, "9" * 5000, -3, 0, "abc", None, 2.5])
def test_any_page_number_gives_a_page(pujiang, page):
    result = search("轉化", page=page, per_page=5)

    assert result.page.number in (1, 2)
    assert len(result.positions) in (2, 5)


def test_huge_page_number_gives_the_last_page(pujiang):
    result = search("轉化", page=10**9, per_page=5)

    assert result.page.number == 2
    assert [p.ref for p in result.positions] == [
        p.ref for p in search("轉化", page=2, per_page=5).positions
    ]


# -- hostile input -------------------------------------------------------------------------------


@pytest.mark.parametrize("raw", HOSTILE)
def test_hostile_input_gets_a_normal_result(pujiang, raw):
    result = search(raw, {"theme": raw, "speaker": [raw, "wang-zhan"], "language": raw}, raw, raw)

    assert result.total == len(result.positions) or result.total > len(result.positions)
    assert all(isinstance(message, str) for message in result.messages)


def test_punctuation_only_query_says_so(pujiang):
    result = search("!?。")

    assert result.positions == []
    assert result.messages == [
        "Ignored (nothing to search for in them): !?。",
        "Nothing to search for in “!?。”: type a word in Chinese or English.",
    ]


def test_sql_and_operators_are_searched_as_words(pujiang):
    assert refs(search("CT AND NEAR(")) == []
    assert refs(search("光子CT")) == ["song-qi-photon-ct-roadmap", "song-qi-system-reconstruction"]


def test_blank_query_without_filters_lists_everything_by_date(pujiang):
    result = search("", per_page=50)

    assert [p.ref for p in result.positions][:3] == [
        "liu-dongmei-enterprise-market-insight",
        "liu-dongmei-enterprise-as-bridge",
        "liu-dongmei-cede-powers-to-enterprises",
    ]
    assert result.total == 19
    assert result.sort == "date"


# -- SQL queries ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("query", "hits"), [("人才", 1), ("王戰", 2), ("轉化", 7)])
def test_search_query_count_is_constant(pujiang, django_assert_num_queries, query, hits):
    search(query)  # OpenCC and the analyser tables load on first use

    # candidates, the other records (passages, themes, people, forums: one statement), facet
    # labels, then for_listing(): positions, roles, sources, themes, tags, key phrases
    with django_assert_num_queries(9):
        result = search(query)

    assert result.total == hits


@pytest.mark.parametrize(
    "filters", [{"speaker": "wang-zhan"}, {"sector": "enterprise", "tag": "成果轉化"}]
)
def test_filtered_search_query_count_is_constant(pujiang, django_assert_num_queries, filters):
    search("", filters)

    # filter values, candidates (of the page and of each filtered facet), labels, 3 for_listing
    with django_assert_num_queries(9):
        search("", filters)


try:
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st
except ImportError:  # hypothesis is optional: `pip install hypothesis` to run this
    pass
else:

    @settings(
        max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
    )
    @given(st.text(max_size=80) | st.sampled_from(HOSTILE))
    def test_any_query_runs_on_this_database(pujiang, raw):
        # The backend's own parser (FTS5 MATCH, PostgreSQL tsquery) sees every compiled query.
        result = search(raw, {"tag": raw, "theme": raw}, sort="relevance", page=raw)

        assert result.total >= len(result.positions)


@pytest.mark.parametrize("sort", ["date", "relevance"])
def test_a_search_without_hits_pages_through_the_same_positions_as_ids(pujiang, sort):
    with_hits = search("創新", {"language": "zh-Hant"}, sort, 2, per_page=5)
    ids = search("創新", {"language": "zh-Hant"}, sort, 2, per_page=5, hits=False)

    assert with_hits.total > 10  # the second page is a part of the matches, as the ids are
    assert len(ids.page.object_list) == 5
    assert ids.page.object_list == [hit.position.pk for hit in with_hits.page.object_list]
    assert ids.total == with_hits.total
    assert ids.facets == with_hits.facets
