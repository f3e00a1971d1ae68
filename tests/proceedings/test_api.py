"""
The read-only API (/api/v1/): it serves what the pages show for the Pujiang data (theme,
speaker, search), nothing unpublished, a valid OpenAPI schema, exact shapes, clear errors for
bad input, a constant number of queries per list, and the anonymous rate limit.
"""

import json

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.urls import reverse

from proceedings.localize import to_traditional
from proceedings.models import Position, Theme
from speakers.models import Speaker
from tests.bundled import QUOTES, add_quote
from tests.factories import (
    make_appearance,
    make_forum,
    make_institution,
    make_position,
    make_session,
    make_speaker,
    make_theme,
)

from .conftest import HIDDEN_MARKERS

pytestmark = pytest.mark.django_db

REF = "liu-dongmei-enterprise-market-insight"


def api(name, **kwargs):
    return reverse(f"api:{name}", kwargs={"version": "v1", **kwargs})


def get_json(client, url, params=None, status=200):
    response = client.get(url, params or {}, HTTP_ACCEPT="application/json")
    assert response.status_code == status, response.content[:500]
    assert response["Content-Type"] == "application/json"
    return response.json()


def all_results(client, url, params=None):
    data = get_json(client, url, {**(params or {}), "page_size": 200})
    assert data["next"] is None
    return data["results"]


# ---------------------------------------------------------------------------------------------
# Schema and docs
# ---------------------------------------------------------------------------------------------


def test_openapi_schema_validates_without_warnings(tmp_path):
    out = tmp_path / "schema.yaml"

    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))

    text = out.read_text()
    assert "/api/v1/positions/{id}/:" in text
    assert "/api/v1/themes/{forum_slug}/{slug}/positions/:" in text


def test_schema_endpoint_describes_filters_enums_and_pagination(client):
    response = client.get(reverse("api-schema"), HTTP_ACCEPT="application/vnd.oai.openapi+json")

    schema = json.loads(response.content)
    operation = schema["paths"]["/api/v1/positions/"]["get"]
    parameters = {p["name"]: p for p in operation["parameters"]}
    assert sorted(parameters) == sorted(
        [
            "page",
            "page_size",
            "forum",
            "theme",
            "question",
            "speaker",
            "institution",
            "sector",
            "tag",
            "language",
            "fidelity",
        ]
    )
    fidelity = parameters["fidelity"]["schema"]["items"]["enum"]
    assert fidelity == ["paraphrase", "summary", "verbatim"]
    assert parameters["page_size"]["schema"]["maximum"] == 200
    listing = operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    assert listing == "#/components/schemas/PaginatedPositionList"
    assert schema["components"]["schemas"]["FidelityEnum"]["enum"] == [
        "verbatim",
        "paraphrase",
        "summary",
    ]


def test_docs_page_loads_swagger_ui_from_this_site(client):
    response = client.get(reverse("api-docs"))

    content = response.content.decode()
    assert response.status_code == 200
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in content
    assert "<style" not in content
    assert "<script>" not in content  # the start-up script is a file (?script)
    assert response["Content-Security-Policy"].startswith("default-src 'self'")


def test_root_lists_the_endpoints(client):
    data = get_json(client, api("root"))

    assert data == {
        "forum": "http://testserver/api/v1/forums/",
        "session": "http://testserver/api/v1/sessions/",
        "question": "http://testserver/api/v1/questions/",
        "theme": "http://testserver/api/v1/themes/",
        "speaker": "http://testserver/api/v1/speakers/",
        "institution": "http://testserver/api/v1/institutions/",
        "position": "http://testserver/api/v1/positions/",
        "search": "http://testserver/api/v1/search/",
        "schema": "http://testserver/api/schema/",
        "docs": "http://testserver/api/docs/",
    }


def test_browsable_api_renders_html_for_browsers(client, pujiang):
    response = client.get(api("forum-list"), HTTP_ACCEPT="text/html")

    content = response.content.decode()
    assert response.status_code == 200
    assert "2025 Pujiang Innovation Forum" in content
    assert "<style" not in content


# ---------------------------------------------------------------------------------------------
# What the pages show
# ---------------------------------------------------------------------------------------------


def test_position_detail_has_role_and_institution_at_the_time(client, pujiang):
    position = Position.objects.get(ref=REF)

    data = get_json(client, api("position-detail", pk=position.pk))

    assert data["ref"] == REF
    assert data["text"] == position.text
    assert data["language"] == "zh-Hant"
    assert data["fidelity"] == "paraphrase"
    assert data["translation_language"] == "en"
    assert data["translation_provenance"] == "Forum Portal editors (machine-assisted draft)"
    assert data["speaker"] == {
        "slug": "liu-dongmei",
        "name": "劉冬梅",
        "name_en": "Liu Dongmei",
        "url": "http://testserver" + reverse("proceedings:speaker-detail", args=["liu-dongmei"]),
        "api_url": "http://testserver/api/v1/speakers/liu-dongmei/",
    }
    assert data["role"]["role"] == "黨委書記"
    assert data["role"]["role_en"] == "Party Secretary"
    assert data["role"]["as_printed"] == "中國科學技術發展戰略研究院黨委書記"
    assert data["role"]["institution"]["slug"] == "casted"
    assert data["role"]["institution"]["sector"] == "research"
    assert data["session"]["slug"] == "science-policy"
    assert data["forum"]["slug"] == "pujiang-2025"
    assert [t["slug"] for t in data["themes"]] == [
        "enterprises-as-first-actor",
        "task-strengthen-enterprises",
    ]
    assert [t["name"] for t in data["tags"]] == ["企業創新主體"]
    assert data["source"]["slug"] == "pujiang-2025-science-policy-report"
    assert data["paragraph"] == 6
    source_url = reverse("proceedings:source-detail", args=["pujiang-2025-science-policy-report"])
    assert data["paragraph_url"] == f"http://testserver{source_url}#p6"
    assert data["url"] == "http://testserver" + position.get_absolute_url()
    assert data["api_url"] == f"http://testserver/api/v1/positions/{position.pk}/"
    assert data["published_at"] is not None


def test_every_theme_endpoint_lists_what_its_page_lists(client, pujiang):
    for theme in Theme.objects.published():
        page = client.get(theme.get_absolute_url()).context["positions"]

        results = all_results(
            client, api("theme-positions", forum_slug=theme.forum.slug, slug=theme.slug)
        )

        assert [r["id"] for r in results] == [p.pk for p in page], theme.slug
        assert [r["speaker"]["slug"] for r in results] == [p.appearance.speaker.slug for p in page]
        assert [r["text"] for r in results] == [p.text for p in page]


def test_theme_detail_matches_the_theme(client, pujiang):
    theme = Theme.objects.get(slug="task-strengthen-enterprises")

    data = get_json(client, api("theme-detail", forum_slug="pujiang-2025", slug=theme.slug))

    assert data["title"] == theme.title
    assert data["kind"] == "task"
    assert data["parent"]["slug"] == "outlook"
    assert [q["slug"] for q in data["questions"]] == list(
        theme.questions.values_list("slug", flat=True)
    )
    assert data["positions_url"] == (
        "http://testserver/api/v1/themes/pujiang-2025/task-strengthen-enterprises/positions/"
    )


def test_every_speaker_endpoint_lists_what_their_page_lists(client, pujiang):
    for speaker in Speaker.objects.published():
        context = client.get(speaker.get_absolute_url()).context
        shown = {
            p.pk: (p.appearance.speaker.slug, p.text)
            for forum in context["positions_by_forum"]
            for theme in forum["themes"]
            for p in theme["positions"]
        }

        results = all_results(client, api("speaker-positions", slug=speaker.slug))

        assert {r["id"]: (r["speaker"]["slug"], r["text"]) for r in results} == shown
        assert len(results) == len(shown)
        detail = get_json(client, api("speaker-detail", slug=speaker.slug))
        assert [(r["session"]["slug"], r["role"]) for r in detail["roles"]] == [
            (a.session.slug, a.role) for a in context["appearances"]
        ]


@pytest.mark.parametrize(
    "params",
    [
        {"q": "融合"},
        {"q": "企業 創新"},
        {"q": "innovation", "sort": "date"},
        {"theme": "pujiang-2025:outlook"},
        {"q": "科技", "sector": "research", "fidelity": "paraphrase"},
        {"speaker": "liu-dongmei"},
    ],
)
def test_search_endpoint_matches_the_search_page(client, pujiang, params):
    assert_search_endpoint_matches_the_search_page(client, params)


def test_search_endpoint_matches_the_search_page_on_a_second_page(client, pujiang):
    # 19 bundled positions fit on one page of 20: the five quoted phrases as positions make 24.
    for ref in QUOTES:
        add_quote(ref)

    data = assert_search_endpoint_matches_the_search_page(client, {"q": "融合", "page": "2"})

    assert (data["count"], len(data["results"])) == (24, 4)


def assert_search_endpoint_matches_the_search_page(client, params):
    page = client.get(reverse("proceedings:search"), params).context

    data = get_json(client, api("search"), params)

    assert [r["position"]["id"] for r in data["results"]] == [
        hit.position.pk for hit in page["hits"]
    ]
    assert data["count"] == page["result"].total
    assert data["sort"] == page["result"].sort
    assert {
        name: [(v["value"], v["count"], v["selected"]) for v in values]
        for name, values in data["facets"].items()
    } == {
        name: [(v.value, v.count, v.selected) for v in values]
        for name, values in page["result"].facets.items()
    }
    # The API gives the stored text's snippet (data, as published); the Traditional page shows
    # it in Traditional characters (the source mixes in some Simplified ones).
    assert [to_traditional(r["snippet"]) for r in data["results"]] == [
        str(hit.snippets.main) for hit in page["hits"]
    ]
    return data


@pytest.mark.parametrize(
    ("facet", "value"),
    [
        ("theme", "pujiang-2025:task-strengthen-enterprises"),
        ("theme", "enterprises-as-first-actor"),
        ("question", "pujiang-2025:who-integrates"),
        ("speaker", "liu-dongmei"),
        ("institution", "casted"),
        ("sector", "research"),
        ("forum", "pujiang-2025"),
        ("tag", "企業創新主體"),
        ("language", "zh-hant"),
        ("fidelity", "summary"),
    ],
)
def test_position_filters_select_what_the_search_facets_select(client, pujiang, facet, value):
    searched = get_json(client, api("search"), {facet: value, "page_size": 100})

    results = all_results(client, api("position-list"), {facet: value})

    assert sorted(r["id"] for r in results) == sorted(
        r["position"]["id"] for r in searched["results"]
    )
    assert len(results) == searched["count"] > 0


def test_position_list_is_in_reading_order_and_paginated(client, pujiang):
    ids = list(Position.objects.published().order_by("order", "pk").values_list("pk", flat=True))

    first = get_json(client, api("position-list"), {"page_size": 10})
    last = get_json(client, api("position-list"), {"page_size": 10, "page": 2})

    assert first["count"] == len(ids) == 19
    assert [r["id"] for r in first["results"]] == ids[:10]
    assert first["next"] == "http://testserver/api/v1/positions/?page=2&page_size=10"
    assert [r["id"] for r in last["results"]] == ids[10:]
    assert last["next"] is None


def test_forum_and_institution_lists(client, pujiang):
    forums = get_json(client, api("forum-list"))
    institutions = all_results(client, api("institution-list"), {"sector": "research"})

    assert [f["slug"] for f in forums["results"]] == ["pujiang-2025"]
    assert "casted" in [i["slug"] for i in institutions]
    assert {i["sector"] for i in institutions} == {"research"}


# ---------------------------------------------------------------------------------------------
# Nothing unpublished
# ---------------------------------------------------------------------------------------------


def test_unpublished_content_never_appears_in_any_endpoint(client, hidden):
    urls = [
        api("forum-list"),
        api("forum-detail", slug="pujiang-2025"),
        api("forum-positions", slug="pujiang-2025"),
        api("session-list"),
        api("session-positions", forum_slug="pujiang-2025", slug="science-policy"),
        api("question-list"),
        api("theme-list"),
        api("speaker-list"),
        api("speaker-detail", slug="visible-person"),
        api("speaker-positions", slug="visible-person"),
        api("institution-list"),
        api("position-list"),
        api("position-detail", pk=hidden.pk),
        api("search"),
        api("search") + "?q=觀點",
    ]
    for url in urls:
        content = client.get(url, {"page_size": 200}, HTTP_ACCEPT="application/json")
        text = content.content.decode()
        assert content.status_code == 200, url
        assert not [marker for marker in HIDDEN_MARKERS if marker in text], url
    listed = client.get(api("position-list"), {"page_size": 200}).content.decode()
    assert "公開觀點VISIBLE" in listed


@pytest.mark.parametrize(
    ("url", "model_name"),
    [
        (("speaker-detail", {"slug": "hidden-person"}), "Speaker"),
        (("speaker-positions", {"slug": "hidden-person"}), "Speaker"),
        (("institution-detail", {"slug": "hidden-institute"}), "Institution"),
        (("theme-detail", {"forum_slug": "pujiang-2025", "slug": "hidden-theme"}), "Theme"),
        (("theme-positions", {"forum_slug": "pujiang-2025", "slug": "hidden-theme"}), "Theme"),
        (("forum-detail", {"slug": "hidden-forum"}), "Forum"),
        (
            ("session-detail", {"forum_slug": "hidden-forum", "slug": "hidden-session"}),
            "Session",
        ),
    ],
)
def test_unpublished_objects_are_not_found(client, hidden, url, model_name):
    name, kwargs = url

    data = get_json(client, api(name, **kwargs), status=404)

    assert data == {"detail": f"No {model_name} matches the given query."}


def test_unpublished_positions_are_not_found(client, hidden):
    for ref in ["hidden-1", "hidden-2", "hidden-3", "hidden-4"]:
        pk = Position.objects.get(ref=ref).pk
        get_json(client, api("position-detail", pk=pk), status=404)


def test_filters_naming_unpublished_things_are_refused(client, hidden):
    data = get_json(
        client,
        api("position-list"),
        {"speaker": "hidden-person", "theme": "pujiang-2025:hidden-theme"},
        status=400,
    )

    assert data == {
        "theme": ["There is no theme “pujiang-2025:hidden-theme”."],
        "speaker": ["There is no speaker “hidden-person”."],
    }


# ---------------------------------------------------------------------------------------------
# Bad input
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "params", "status", "expected"),
    [
        ("position-list", {"page": "999"}, 404, {"detail": "There is no page 999: the last page "
                                                 "is 1 (19 results)."}),
        ("position-list", {"page": "0"}, 400, {"page": ["“0” is not a positive whole number."]}),
        ("position-list", {"page": "x" * 80}, 400, {"page": [f"“{'x' * 50}” is not a positive "
                                                            "whole number."]}),
        ("position-list", {"page": "9" * 5000}, 400, {"page": [f"“{'9' * 50}” is not a positive "
                                                               "whole number."]}),
        ("position-list", {"page_size": "-1"}, 400, {"page_size": ["“-1” is not a positive "
                                                                    "whole number."]}),
        ("position-list", {"fidelity": "quote"}, 400, {"fidelity": ["There is no fidelity "
                                                                     "“quote”."]}),
        ("search", {"page": "40"}, 404, {"detail": "There is no page 40: the last page is 1 "
                                         "(19 results)."}),
        ("search", {"sort": "best"}, 400, {"sort": ["Choose one of relevance, date."]}),
        ("search", {"sector": "space"}, 400, {"sector": ["There is no sector “space”."]}),
        ("theme-list", {"kind": "x"}, 400, {"kind": ["Choose one of finding, outlook, task."]}),
        ("session-list", {"forum": "nope"}, 400, {"forum": ["There is no forum “nope”."]}),
        ("institution-list", {"sector": "x"}, 400, {
            "sector": ["Choose one of government, academia, research, enterprise, finance, "
                       "association, foreign."]}),
    ],
)  # fmt: skip
def test_bad_parameters_get_a_clear_json_error(client, pujiang, url, params, status, expected):
    assert get_json(client, api(url), params, status=status) == expected


@pytest.mark.parametrize(
    "query", [":", "", "x" * 5000, '"unbalanced', "AND NEAR( * :", "🙂🙃", "-", "「未閉合"]
)
def test_search_answers_any_query(client, pujiang, query):
    data = get_json(client, api("search"), {"q": query})

    assert sorted(data["facets"]) == sorted(
        ["theme", "question", "speaker", "institution", "sector", "forum", "tag", "language",
         "fidelity"]
    )  # fmt: skip
    assert data["count"] == len(data["results"]) if data["count"] <= 20 else 20


def test_search_with_nothing_to_search_for_says_so(client, pujiang):
    response = client.get(api("search"), {"q": ":"}, HTTP_ACCEPT_LANGUAGE="en")

    data = response.json()
    assert response.status_code == 200
    assert data["count"] == 0
    assert data["results"] == []
    assert data["messages"] == [
        "Ignored (nothing to search for in them): :",
        "Nothing to search for in “:”: type a word in Chinese or English.",
    ]


def test_page_size_over_the_maximum_is_capped(client, pujiang):
    data = get_json(client, api("position-list"), {"page_size": "100000"})

    assert len(data["results"]) == 19


def test_unknown_api_urls_get_a_json_404(client):
    response = client.get("/api/v2/forums/")

    assert response.status_code == 404
    assert response.json() == {
        "detail": "No such API endpoint. The endpoints are listed at /api/v1/."
    }


# ---------------------------------------------------------------------------------------------
# Queries and rate limit
# ---------------------------------------------------------------------------------------------


def _positions(count):
    forum = make_forum()
    session = make_session(forum=forum)
    theme = make_theme(forum=forum)
    institution = make_institution()
    for _ in range(count):
        speaker = make_speaker()
        role = make_appearance(session=session, speaker=speaker, institution=institution)
        make_position(appearance=role, themes=[theme], tags=["標籤"])
    return forum, theme


@pytest.mark.parametrize("count", [1, 3])
@pytest.mark.parametrize(
    ("name", "queries"),
    [
        # count, positions, their roles, themes, tags, key phrases (no sources here)
        ("position-list", 6),
        # the forum, count, positions, roles, themes, tags, key phrases
        ("forum-positions", 7),
        # the theme, count, positions, roles, themes, tags, key phrases
        ("theme-positions", 7),
        # count, themes with forum and parent, their questions
        ("theme-list", 3),
        # count, speakers, their links
        ("speaker-list", 3),
        # count, institutions
        ("institution-list", 2),
        # count, sessions with forum and source
        ("session-list", 2),
        # count, forums
        ("forum-list", 2),
    ],
)
def test_list_query_count_is_constant(client, django_assert_num_queries, count, name, queries):
    forum, theme = _positions(count)
    kwargs = {"slug": forum.slug} if name == "forum-positions" else {}
    if name == "theme-positions":
        kwargs = {"forum_slug": forum.slug, "slug": theme.slug}

    with django_assert_num_queries(queries):
        response = client.get(api(name, **kwargs), HTTP_ACCEPT="application/json")

    assert response.status_code == 200


@pytest.mark.parametrize("count", [1, 3])
def test_search_query_count_is_constant(client, django_assert_num_queries, count):
    forum, theme = _positions(count)

    # filters, candidates, facet labels, positions, roles, themes, tags, key phrases
    with django_assert_num_queries(8):
        data = get_json(client, api("search"), {"q": "企業", "theme": f"{forum.slug}:{theme.slug}"})

    assert data["count"] == count


def test_anonymous_requests_are_rate_limited(client, settings):
    settings.API_ANON_RATE = "2/minute"
    cache.clear()

    statuses = [client.get(api("forum-list")).status_code for _ in range(3)]
    response = client.get(api("forum-list"))

    assert statuses == [200, 200, 429]
    assert response.status_code == 429
    assert response.json()["detail"].startswith("Request was throttled.")
    cache.clear()


def test_page_cache_never_serves_the_html_of_an_api_url_as_json(client, settings, pujiang):
    settings.PAGE_CACHE_SECONDS = 60
    cache.clear()

    html = client.get(api("forum-list"), HTTP_ACCEPT="text/html")
    data = client.get(api("forum-list"), HTTP_ACCEPT="application/json")

    assert html["Content-Type"] == "text/html; charset=utf-8"
    assert data["Content-Type"] == "application/json"
    assert "X-Page-Cache" not in data
    cache.clear()
