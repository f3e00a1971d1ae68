"""
The search page (/search/): results, facets, filter chips, pagination, "search within" forms,
the header search box, analytics, hostile input and a constant number of queries.

Expected result sets come from reading proceedings/data/pujiang-2025.json; facet counts are
compared with what ``proceedings.search.search()`` returns for the same request.
"""

import html
import re
from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.auth.models import AnonymousUser
from django.db import connection
from django.test import RequestFactory
from django.urls import reverse
from django.utils import translation

from proceedings.models import SearchQueryStat
from proceedings.search import search
from proceedings.search_views import _State, search_page
from tests.bundled import QUOTES, add_quote

pytestmark = pytest.mark.django_db

URL = reverse("proceedings:search")
F = "pujiang-2025:"
FACET_LINK = re.compile(
    r'<li(?: class="is-selected")?><a href="(?P<href>[^"]+)"[^>]*>.*?</a> '
    r'<span class="count">(?P<count>\d+)</span></li>',
    re.S,
)
CHIP = re.compile(r'<a class="filter-chip" href="(?P<href>[^"]+)"')

HOSTILE = [
    "",
    "x" * 5000,
    '"unbalanced',
    "AND NEAR( * :",
    "'; DROP TABLE proceedings_position; --",
    "🙂🙃 融合🙂",
    "-",
    "「未閉合",
]


def refs(response):
    return sorted(hit.position.ref for hit in response.context["hits"])


def query_of(href):
    return parse_qs(urlsplit(html.unescape(href)).query)


def test_query_finds_exactly_the_positions_containing_it(client, pujiang):
    response = client.get(URL, {"q": "裸泳"})

    assert response.status_code == 200
    assert refs(response) == ["wang-zhan-ethics-law-design"]  # 裸泳 is its key phrase
    content = response.content.decode()
    assert "<mark>裸泳</mark>" in content
    assert 'value="裸泳"' in content  # the box is prefilled
    assert 'lang="zh-Hant"' in content


def test_simplified_query_finds_traditional_text(client, pujiang):
    response = client.get(URL, {"q": "转化"})

    assert response.status_code == 200
    assert "ding-lieming-last-mile" in refs(response)  # 轉化的“最后一公里”
    assert "<mark>轉化</mark>" in response.content.decode()


def test_chip_removal_drops_exactly_that_filter(client, pujiang):
    response = client.get(
        URL,
        {"q": "融合", "speaker": ["wang-zhan", "zhu-pengcheng"], "fidelity": "verbatim"},
    )
    chips = {html.unescape(m["href"]) for m in CHIP.finditer(response.content.decode())}

    assert len(chips) == 3
    remaining = sorted(
        (tuple(sorted(q.get("speaker", []))), tuple(q.get("fidelity", [])))
        for q in map(query_of, chips)
    )
    assert remaining == [
        (("wang-zhan",), ("verbatim",)),
        (("wang-zhan", "zhu-pengcheng"), ()),
        (("zhu-pengcheng",), ("verbatim",)),
    ]
    assert all(query_of(href)["q"] == ["融合"] for href in chips)


def test_zero_results_offer_links_removing_filters(client, pujiang):
    response = client.get(URL, {"q": "裸泳", "speaker": "liu-dongmei"})
    content = response.content.decode()

    assert response.status_code == 200
    assert refs(response) == []
    assert response.context["result"].messages
    assert 'class="search-empty"' in content
    assert f'href="?q={"%E8%A3%B8%E6%B3%B3"}"' in content


def test_facet_counts_shown_equal_the_services(client, pujiang):
    params = {"q": "融合", "theme": F + "regional-ecosystems"}
    response = client.get(URL, params)
    shown = {}
    aside = response.content.decode().split('id="facet-theme-heading"', 1)[1]
    for match in FACET_LINK.finditer(aside):
        shown.setdefault(match["href"], int(match["count"]))

    result = search("融合", {"theme": [F + "regional-ecosystems"]})
    expected = {}
    for name, values in result.facets.items():
        for value in values:
            expected[(name, value.value)] = value.count
    assert expected
    seen = {}
    for href, count in shown.items():
        query = query_of(href)
        for name, _value in expected:
            base = [F + "regional-ecosystems"] if name == "theme" else []
            for value in set(query.get(name, [])) ^ set(base):  # the value the link toggles
                seen[(name, value)] = count
    assert seen == expected


def test_facet_link_adds_the_filter_and_keeps_the_rest(client, pujiang):
    response = client.get(URL, {"q": "融合", "sort": "date"})
    link = response.context["who_says_most"][0]

    assert query_of(link.url) == {"q": ["融合"], "speaker": [link.value.value], "sort": ["date"]}
    followed = client.get(URL + link.url)
    assert followed.context["result"].filters == {"speaker": [link.value.value]}
    assert followed.context["result"].total == link.value.count


def test_pagination_keeps_params_and_clamps_to_the_last_page(client, pujiang):
    response = client.get(URL, {"theme": F + "outlook", "page": "99999999999", "sort": "bogus"})
    result = response.context["result"]

    assert response.status_code == 200
    assert result.page.number == result.page.paginator.num_pages
    # 19 bundled positions fit on one page of 20: the five quoted phrases as positions make 24.
    for ref in QUOTES:
        add_quote(ref)
    everything = client.get(URL, {"forum": "pujiang-2025"})
    page_links = everything.context["page_links"]
    assert [number for number, _url in page_links] == [1, 2]
    assert query_of(page_links[1][1]) == {"forum": ["pujiang-2025"], "page": ["2"]}
    assert everything.context["next_url"] == page_links[1][1]
    assert "1000+" not in everything.content.decode()


@pytest.mark.parametrize("raw", HOSTILE)
def test_hostile_queries_answer_a_normal_page(client, pujiang, raw):
    response = client.get(URL, {"q": raw})

    assert response.status_code == 200
    assert b'id="results-heading"' in response.content


@pytest.mark.parametrize(
    "params",
    [
        {"speaker": "nobody"},
        {"theme": "nowhere:nothing", "tag": "'; DROP TABLE"},
        {"page": "99999999999"},
        {"page": "-3", "sort": "bogus"},
        {"q": "融合", "sort": "bogus", "language": "🙂"},
    ],
)
def test_hostile_parameters_answer_a_normal_page(client, pujiang, params):
    response = client.get(URL, params)

    assert response.status_code == 200
    assert b'id="results-heading"' in response.content


def test_nul_byte_in_the_query_gives_a_normal_page_from_the_view(pujiang):
    """The view copes with NUL; RejectNullCharactersMiddleware answers 400 before it."""
    request = RequestFactory().get(URL, {"q": "融\x00合", "speaker": "wang\x00zhan"})
    request.user = AnonymousUser()
    response = search_page(request).render()

    assert response.status_code == 200
    assert response.context_data["query"] == "融 合"


def test_nul_byte_through_the_stack_is_never_a_server_error(client, pujiang):
    assert client.get(URL + "?q=%00").status_code == 200


@pytest.mark.parametrize("code", ["zh-hant", "zh-hans", "en"])
def test_constant_number_of_queries(client, pujiang, django_assert_num_queries, code):
    with translation.override(code):
        url = reverse("proceedings:search")

    # search(): filters, candidates, labels, for_listing() ×6 = 9. record_search(): savepoint,
    # (PostgreSQL: asynchronous commit,) insert or update, release = 3 (4). Snippets in the
    # reader's language are made from the rows already read.
    queries = 12 + (connection.vendor == "postgresql")
    with django_assert_num_queries(queries):
        client.get(url, {"q": "融合", "theme": F + "regional-ecosystems"})
    with django_assert_num_queries(queries):
        response = client.get(url, {"q": "转化", "tag": ["成果轉化", "nobody"], "sort": "date"})
    assert response.context["result"].total  # an empty page skips the cards' queries


def test_search_is_recorded(client, pujiang):
    client.get(URL, {"q": "裸泳"})

    stat = SearchQueryStat.objects.get()
    assert (stat.query, stat.result_count, stat.searches) == ("裸泳", 1, 1)


def test_blank_search_is_not_recorded(client, pujiang):
    client.get(URL)

    assert not SearchQueryStat.objects.exists()


def test_search_within_a_speaker(client, pujiang):
    content = client.get(reverse("proceedings:speaker-detail", args=["wang-zhan"])).content
    content = content.decode()

    assert f'action="{URL}"' in content
    assert '<input type="hidden" name="speaker" value="wang-zhan">' in content


def test_search_within_a_theme_and_an_institution(client, pujiang):
    theme = client.get(
        reverse("proceedings:theme-detail", args=["pujiang-2025", "regional-ecosystems"])
    ).content.decode()
    institution = client.get(
        reverse("proceedings:institution-detail", args=["casted"])
    ).content.decode()

    assert f'<input type="hidden" name="theme" value="{F}regional-ecosystems">' in theme
    assert '<input type="hidden" name="institution" value="casted">' in institution
    followed = client.get(URL, {"q": "", "theme": F + "regional-ecosystems"})
    assert followed.context["result"].filters == {"theme": [F + "regional-ecosystems"]}


def test_header_search_box_on_the_home_page(client, pujiang):
    content = client.get(reverse("proceedings:home")).content.decode()

    assert f'<form class="search-box search-box--header" role="search" action="{URL}"' in content
    assert '<label class="search-box__label" for="site-search-q">' in content
    assert 'id="site-search-q" type="search" name="q"' in content


NOINDEX = '<meta name="robots" content="noindex">'


@pytest.mark.parametrize(
    ("params", "indexable"),
    [
        ({"q": "融合"}, True),  # one query that finds something: a page worth finding
        ({"q": "出題人"}, True),  # found only in a report passage: still found
        ({}, False),  # no query
        ({"q": "量子糾纏"}, False),  # nothing found
        ({"q": "融合", "page": "2"}, False),
        ({"q": "融合", "sort": "date"}, False),
        ({"q": "融合", "theme": F + "regional-ecosystems"}, False),
        ({"q": "融合", "kind": "passage"}, False),
    ],
)
def test_only_a_plain_query_that_finds_something_may_be_indexed(client, pujiang, params, indexable):
    response = client.get(reverse("proceedings:search"), params)

    assert response.status_code == 200
    assert (NOINDEX not in response.content.decode()) is indexable


def test_search_results_say_who_translated_once(client, pujiang):
    with translation.override("en"):
        url = reverse("proceedings:search")

    response = client.get(url, {"q": "融合"})

    content = response.content.decode()
    assert response.context["result"].total > 1
    assert content.count("Translated by: Forum Portal editors (machine-assisted draft)") == 1
    assert content.count("Translations reviewed by Forum Portal editors on") == 1
    assert "Unreviewed translation" not in content


@pytest.mark.parametrize(
    ("query", "filters", "sort", "kind"),
    [
        ("", {}, "", None),
        ("融合 & more", {}, "date", None),
        ("融合", {"speaker": ["a b", "c"], "tag": ["人才"]}, "", "position"),
        ("", {"theme": [F + "x"], "fidelity": ["verbatim"]}, "relevance", None),
    ],
)
@pytest.mark.parametrize("facet", ["theme", "speaker", "sector", "tag", "fidelity"])
def test_facet_link_urls_equal_the_full_encoding(query, filters, sort, kind, facet):
    # with_value() encodes the page's parameters once per facet: each URL must be what
    # url() makes of the filters with the value added, for a new value and a present one.
    state = _State(query, filters, sort, kind)
    for value in ["新 value", "c", "人才", F + "x", 'a&b=c+d%/"?#']:
        added = {name: list(values) for name, values in filters.items()}
        if value not in added.setdefault(facet, []):
            added[facet].append(value)
        assert state.with_value(facet, value) == state.url(filters=added)
