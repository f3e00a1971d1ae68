"""
Language-prefixed URLs: /zh-hant/, /zh-hans/ and /en/ for every public page; bare addresses
redirect by the reader's earlier choice (cookie) or Accept-Language; the switcher links to the
same page in each language and remembers the choice; hreflang alternates; the page cache and
slug-change redirects under prefixes.
"""

import re

import pytest
from django.conf import settings
from django.contrib.redirects.models import Redirect
from django.contrib.sites.models import Site
from django.core.cache import cache
from django.urls import reverse
from django.utils import translation

from proceedings.models import Theme
from proceedings.redirects import record_slug_change

pytestmark = pytest.mark.django_db

FORUM = "pujiang-2025"
THEME = "enterprises-as-first-actor"
LANGUAGES = ["zh-hant", "zh-hans", "en"]
TAGS = {"zh-hant": "zh-Hant", "zh-hans": "zh-Hans", "en": "en"}
ALTERNATE = re.compile(r'<link rel="alternate" hreflang="([^"]+)" href="([^"]+)">')
SWITCHER = re.compile(
    r'<a href="(?P<href>[^"]+)" hreflang="(?P<hreflang>[^"]+)" lang="(?P<lang>[^"]+)"'
    r'(?P<current> aria-current="true")?>(?P<name>[^<]+)</a>'
)


def in_language(code, name, *args, query=""):
    with translation.override(code):
        return reverse(name, args=args) + query


def theme_url(code, slug=THEME):
    return in_language(code, "proceedings:theme-detail", FORUM, slug)


def switcher(response):
    return [m.groupdict() for m in SWITCHER.finditer(response.content.decode())]


# ---------------------------------------------------------------------------------------------
# Bare addresses follow the reader
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("accept_language", "expected"),
    [
        ("zh-CN,zh;q=0.9", "/zh-hans/"),
        ("zh-SG", "/zh-hans/"),
        ("zh-Hans-CN", "/zh-hans/"),
        ("zh-TW", "/zh-hant/"),
        ("zh-HK,en;q=0.5", "/zh-hant/"),
        ("zh-Hant", "/zh-hant/"),
        ("zh", "/zh-hant/"),
        ("en-GB,en;q=0.9", "/en/"),
        ("en-US", "/en/"),
        ("fr-FR", "/zh-hant/"),
        (None, "/zh-hant/"),
    ],
)
def test_home_redirects_to_the_browser_language(client, accept_language, expected):
    headers = {"HTTP_ACCEPT_LANGUAGE": accept_language} if accept_language else {}

    response = client.get("/", **headers)

    assert (response.status_code, response["Location"]) == (302, expected)
    assert response["Vary"] == "Accept-Language, Cookie"


def test_the_language_cookie_wins_over_accept_language(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"

    response = client.get("/", HTTP_ACCEPT_LANGUAGE="zh-CN")

    assert (response.status_code, response["Location"]) == (302, "/en/")


def test_an_old_unprefixed_page_url_redirects_to_the_readers_language(client, pujiang):
    old = f"/forums/{FORUM}/themes/{THEME}/?q=1"

    response = client.get(old, HTTP_ACCEPT_LANGUAGE="zh-CN")
    followed = client.get(response["Location"])

    assert (response.status_code, response["Location"]) == (
        302,
        f"/zh-hans/forums/{FORUM}/themes/{THEME}/?q=1",
    )
    assert followed.context["theme"].slug == THEME


def test_an_unknown_unprefixed_path_is_not_found(client):
    response = client.get("/no-such-page/")

    assert response.status_code == 404


def test_non_page_urls_stay_unprefixed():
    assert [reverse("healthz"), reverse("admin:index")] == ["/healthz", "/admin/"]


def test_every_public_page_is_prefixed(pujiang):
    with translation.override("en"):
        urls = [
            reverse("proceedings:home"),
            pujiang.get_absolute_url(),
            reverse("proceedings:search"),
            reverse("proceedings:speaker-list"),
        ]

    assert urls == ["/en/", f"/en/forums/{FORUM}/", "/en/search/", "/en/speakers/"]


@pytest.mark.parametrize("code", LANGUAGES)
def test_pages_answer_in_their_urls_language(client, pujiang, code):
    response = client.get(theme_url(code))

    assert response.status_code == 200
    assert response["Content-Language"] == code
    assert f'<html lang="{TAGS[code]}">' in response.content.decode()
    # The page's language is in its URL: caches need no Vary on the reader's headers.
    assert "Accept-Language" not in response.get("Vary", "")


# ---------------------------------------------------------------------------------------------
# The switcher and the alternates
# ---------------------------------------------------------------------------------------------


def test_switcher_links_to_the_same_page_in_each_language(client, pujiang):
    response = client.get(theme_url("zh-hans"))

    assert switcher(response) == [
        {
            "href": f"/language/{code}/?next={theme_url(code).replace('/', '%2F')}",
            "hreflang": tag,
            "lang": tag,
            "current": ' aria-current="true"' if code == "zh-hans" else None,
            "name": name,
        }
        for code, tag, name in [
            ("zh-hant", "zh-Hant", "繁體中文"),
            ("zh-hans", "zh-Hans", "简体中文"),
            ("en", "en", "English"),
        ]
    ]


def test_switching_lands_on_the_same_page_and_remembers_the_choice(client, pujiang):
    page = client.get(theme_url("zh-hant"))
    english = next(link for link in switcher(page) if link["hreflang"] == "en")

    switched = client.get(english["href"].replace("&amp;", "&"))
    landed = client.get(switched["Location"])
    home = client.get("/", HTTP_ACCEPT_LANGUAGE="zh-TW")

    assert (switched.status_code, switched["Location"]) == (302, theme_url("en"))
    assert switched.cookies[settings.LANGUAGE_COOKIE_NAME].value == "en"
    assert switched.cookies[settings.LANGUAGE_COOKIE_NAME]["max-age"] == 365 * 24 * 60 * 60
    assert "no-store" in switched["Cache-Control"]
    assert landed.context["theme"].slug == THEME
    assert home["Location"] == "/en/"


def test_switcher_keeps_the_query_string(client, pujiang):
    search = in_language("en", "proceedings:search", query="?q=%E8%9E%8D%E5%90%88&sort=date")

    response = client.get(search)
    simplified = next(link for link in switcher(response) if link["hreflang"] == "zh-Hans")
    switched = client.get(simplified["href"].replace("&amp;", "&"))

    assert switched["Location"] == "/zh-hans/search/?q=%E8%9E%8D%E5%90%88&sort=date"


@pytest.mark.parametrize(
    "next_url", ["https://evil.example/", "//evil.example/x", "javascript:alert(1)", "", "/x/y/"]
)
def test_choose_language_never_leaves_the_site(client, next_url):
    response = client.get(reverse("choose-language", args=["zh-hans"]), {"next": next_url})

    assert (response.status_code, response["Location"]) == (302, "/zh-hans/")


def test_choose_language_refuses_an_unknown_language(client):
    response = client.get(reverse("choose-language", args=["fr"]), {"next": "/"})

    assert response.status_code == 404


def test_hreflang_alternates_are_exact_absolute_urls(client, pujiang):
    response = client.get(theme_url("en") + "?order=name")

    assert ALTERNATE.findall(response.content.decode()) == [
        ("zh-Hant", f"http://testserver{theme_url('zh-hant')}?order=name"),
        ("zh-Hans", f"http://testserver{theme_url('zh-hans')}?order=name"),
        ("en", f"http://testserver{theme_url('en')}?order=name"),
        ("x-default", f"http://testserver/forums/{FORUM}/themes/{THEME}/?order=name"),
    ]


def test_a_not_found_page_switches_to_each_home_and_has_no_alternates(client):
    response = client.get("/en/no-such-page/")

    assert response.status_code == 404
    assert ALTERNATE.findall(response.content.decode()) == []
    assert [link["href"] for link in switcher(response)] == [
        f"/language/{code}/?next=%2F{code}%2F" for code in LANGUAGES
    ]


# ---------------------------------------------------------------------------------------------
# Page cache and slug-change redirects
# ---------------------------------------------------------------------------------------------


@pytest.fixture
def page_cache(settings):
    settings.PAGE_CACHE_SECONDS = 60
    cache.clear()
    yield
    cache.clear()


def test_the_bare_address_redirect_is_never_served_from_the_cache(client, page_cache):
    simplified = client.get("/", HTTP_ACCEPT_LANGUAGE="zh-CN")
    english = client.get("/", HTTP_ACCEPT_LANGUAGE="en")

    assert [simplified["Location"], english["Location"]] == ["/zh-hans/", "/en/"]
    assert [simplified["X-Page-Cache"], english["X-Page-Cache"]] == ["pass", "pass"]


def test_a_cached_page_is_the_same_whatever_the_readers_headers(client, pujiang, page_cache):
    first = client.get(theme_url("en"), HTTP_ACCEPT_LANGUAGE="zh-CN")
    again = client.get(theme_url("en"), HTTP_ACCEPT_LANGUAGE="zh-TW")
    other = client.get(theme_url("zh-hans"), HTTP_ACCEPT_LANGUAGE="en")

    assert [first["X-Page-Cache"], again["X-Page-Cache"], other["X-Page-Cache"]] == [
        "miss",
        "hit",
        "miss",
    ]
    assert [again["Content-Language"], other["Content-Language"]] == ["en", "zh-hans"]


def test_the_switcher_is_not_cached_and_sets_its_cookie_every_time(client, page_cache):
    url = reverse("choose-language", args=["en"])

    first = client.get(url, {"next": "/zh-hant/"})
    second = client.get(url, {"next": "/zh-hant/"})

    assert [first.get("X-Page-Cache"), second.get("X-Page-Cache")] == ["pass", "pass"]
    assert second.cookies[settings.LANGUAGE_COOKIE_NAME].value == "en"


def test_slug_change_is_stored_without_a_language_and_redirects_in_every_language(client, pujiang):
    theme = Theme.objects.get(forum=pujiang, slug=THEME)
    with translation.override("en"):
        old_url = theme.get_absolute_url()
    theme.slug = "enterprises-first"
    theme.save()

    with translation.override("en"):
        record_slug_change(obj=theme, old_url=old_url)
    answers = {code: client.get(theme_url(code)) for code in LANGUAGES}
    bare = client.get(f"/forums/{FORUM}/themes/{THEME}/")

    assert list(Redirect.objects.values_list("old_path", "new_path")) == [
        (f"/forums/{FORUM}/themes/{THEME}/", f"/forums/{FORUM}/themes/enterprises-first/")
    ]
    assert {code: (r.status_code, r["Location"]) for code, r in answers.items()} == {
        code: (301, theme_url(code, "enterprises-first")) for code in LANGUAGES
    }
    assert (bare.status_code, bare["Location"]) == (
        301,
        f"/forums/{FORUM}/themes/enterprises-first/",
    )
    assert client.get(bare["Location"], HTTP_ACCEPT_LANGUAGE="en")["Location"] == theme_url(
        "en", "enterprises-first"
    )


def test_a_hand_made_prefixed_redirect_is_followed_as_written(client, pujiang):
    Redirect.objects.create(
        site=Site.objects.get_current(), old_path="/en/old-report/", new_path="/en/speakers/"
    )

    response = client.get("/en/old-report/")
    other_language = client.get("/zh-hans/old-report/")

    assert (response.status_code, response["Location"]) == (301, "/en/speakers/")
    assert other_language.status_code == 404


def test_a_gone_redirect_answers_410_under_a_prefix(client, pujiang):
    Redirect.objects.create(site=Site.objects.get_current(), old_path="/retired/", new_path="")

    assert client.get("/zh-hans/retired/").status_code == 410
