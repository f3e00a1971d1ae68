"""
What other sites read from a page: canonical URL, OpenGraph, Highwire citation tags, JSON-LD;
and robots.txt. With ``SITE_URL`` set, so that every absolute URL must come from it.
"""

import json
from html.parser import HTMLParser

import pytest
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext
from taggit.models import Tag

from proceedings.models import Forum, Position, Session
from proceedings.templatetags.sharing import OG_LOCALES
from speakers.models import Institution, Speaker
from tests.bundled import add_quote
from tests.factories import make_appearance, make_forum, make_position, make_session, make_speaker

pytestmark = pytest.mark.django_db

SITE = "https://forum.example.org"
REF = "fan-jianping-surpass-human-limits"


@pytest.fixture
def pujiang(pujiang):
    """The bundled forum with Fan Jianping's quoted 突破人類自身極限 as a verbatim position.

    The bundled file has it as a key phrase of his paraphrase; these tests need a quotation.
    """
    add_quote(REF)
    return pujiang


@pytest.fixture(autouse=True)
def site_url(settings):
    settings.SITE_URL = SITE


class Head(HTMLParser):
    """Collect a page's meta tags, links and JSON-LD scripts."""

    def __init__(self, html):
        super().__init__()
        self.meta, self.links, self.json_ld = {}, {}, []
        self._in_json_ld = False
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "meta" and ("property" in attrs or "name" in attrs):
            key = attrs.get("property") or attrs["name"]
            self.meta.setdefault(key, []).append(attrs["content"])
        elif tag == "link":
            self.links.setdefault(attrs["rel"], []).append(attrs)
        elif tag == "script" and attrs.get("type") == "application/ld+json":
            self._in_json_ld = True

    def handle_endtag(self, tag):
        self._in_json_ld = False

    def handle_data(self, data):
        if self._in_json_ld:
            self.json_ld.append(json.loads(data))


def head(client, url, **extra):
    response = client.get(url, **extra)
    assert response.status_code == 200
    return Head(response.content.decode()), response


def absolute(path):
    return SITE + path


# ---------------------------------------------------------------------------------------------
# Canonical URL and OpenGraph on every kind of page
# ---------------------------------------------------------------------------------------------


def page_cases():
    """(name, URL builder, og:title builder, og:type) for each kind of public page."""
    forum = lambda: Forum.objects.get(slug="pujiang-2025")  # noqa: E731
    return [
        ("home", lambda: reverse("proceedings:home"), lambda: "論壇知識庫 Forum Portal", "website"),
        ("forum", lambda: forum().get_absolute_url(), lambda: "2025 浦江創新論壇", "website"),
        (
            "session",
            lambda: Session.objects.get(slug="science-policy").get_absolute_url(),
            lambda: "科技政策論壇",
            "website",
        ),
        (
            "question",
            lambda: forum().questions.get(slug="who-integrates").get_absolute_url(),
            lambda: "誰來融合",
            "website",
        ),
        (
            "theme",
            lambda: forum().themes.get(slug="enterprises-as-first-actor").get_absolute_url(),
            lambda: "企業應真正成為融合創新的“第一主體”",
            "website",
        ),
        (
            "position",
            lambda: Position.objects.get(ref=REF).get_absolute_url(),
            lambda: "樊建平: 突破人類自身極限",
            "article",
        ),
        (
            "speaker",
            lambda: Speaker.objects.get(slug="fan-jianping").get_absolute_url(),
            lambda: "樊建平",
            "profile",
        ),
        (
            "speaker-list",
            lambda: reverse("proceedings:speaker-list"),
            lambda: gettext("Speakers"),
            "website",
        ),
        (
            "institution",
            lambda: Institution.objects.get(slug="suat").get_absolute_url(),
            lambda: "深圳理工大學",
            "website",
        ),
        (
            "institution-list",
            lambda: reverse("proceedings:institution-list"),
            lambda: gettext("Institutions"),
            "website",
        ),
        (
            "sector",
            lambda: reverse("proceedings:sector-detail", args=["academia"]),
            lambda: gettext("Academia"),
            "website",
        ),
        (
            "sector-list",
            lambda: reverse("proceedings:sector-list"),
            lambda: gettext("Sectors"),
            "website",
        ),
        (
            "tag",
            lambda: reverse("proceedings:tag-detail", args=[Tag.objects.get(name="前沿探索").slug]),
            lambda: "前沿探索",
            "website",
        ),
        (
            "source",
            lambda: reverse(
                "proceedings:source-detail", args=["pujiang-2025-science-policy-report"]
            ),
            lambda: "2025浦江創新論壇科技政策論壇綜述",
            "article",
        ),
    ]


@pytest.mark.parametrize(("name", "path", "title", "og_type"), page_cases(), ids=lambda c: c)
def test_page_has_canonical_url_without_tracking_parameters_and_opengraph(
    client, pujiang, name, path, title, og_type
):
    url = path()

    page, response = head(client, url + "?utm_source=newsletter&fbclid=abc&order=name")

    language = response["Content-Language"]
    with translation.override(language):
        expected_title = title()
    assert [link["href"] for link in page.links["canonical"]] == [absolute(url)]
    assert page.meta["og:url"] == [absolute(url)]
    assert page.meta["og:title"] == [expected_title]
    assert page.meta["og:type"] == [og_type]
    assert page.meta["og:locale"] == [OG_LOCALES[language]]
    assert page.meta["twitter:card"] == ["summary"]
    assert len(page.meta["og:description"]) == 1
    assert page.meta["og:description"][0].strip() != ""


def test_position_page_descriptions_are_the_quote(client, pujiang):
    position = Position.objects.get(ref=REF)

    page, _response = head(client, position.get_absolute_url())

    assert page.meta["description"] == ["突破人類自身極限"]
    assert page.meta["og:description"] == ["突破人類自身極限"]


def test_search_page_canonical_url_keeps_the_search_and_drops_the_rest(client, pujiang):
    url = reverse("proceedings:search")

    page, _response = head(client, url + "?utm_campaign=x&q=融合&sector=academia&page=1&foo=bar")

    assert [link["href"] for link in page.links["canonical"]] == [
        absolute(url) + "?q=%E8%9E%8D%E5%90%88&sector=academia&page=1"
    ]


def test_absolute_urls_follow_the_request_without_site_url(client, pujiang, settings):
    settings.SITE_URL = ""
    position = Position.objects.get(ref=REF)

    page, _response = head(client, position.get_absolute_url())

    assert page.meta["og:url"] == [f"http://testserver{position.get_absolute_url()}"]


# ---------------------------------------------------------------------------------------------
# Highwire Press tags
# ---------------------------------------------------------------------------------------------


def test_position_page_has_highwire_citation_tags(client, pujiang):
    position = Position.objects.get(ref=REF)
    url = absolute(position.get_absolute_url())

    page, _response = head(client, position.get_absolute_url())

    citation = {key: value for key, value in page.meta.items() if key.startswith("citation_")}
    assert citation == {
        "citation_title": ["突破人類自身極限"],
        "citation_author": ["Fan, Jianping"],
        "citation_date": ["2025/09/20"],
        "citation_publication_date": ["2025/09/20"],
        "citation_conference_title": ["2025 Pujiang Innovation Forum"],
        "citation_publisher": ["網易號 (NetEase Hao)"],
        "citation_language": ["zh-Hant"],
        "citation_public_url": [url],
        "citation_abstract_html_url": [url],
        "citation_keywords": ["未來產業是融合創新的“主戰場”", "前沿探索", "未來產業"],
    }


def test_draft_position_preview_has_no_citations(admin_client, pujiang):
    position = Position.objects.get(ref=REF)
    Position.objects.filter(pk=position.pk).update(status="draft")

    response = admin_client.get(position.get_absolute_url())
    page = Head(response.content.decode())

    assert response.status_code == 200
    assert [key for key in page.meta if key.startswith("citation_")] == []
    assert page.json_ld == []
    assert 'id="cite"' not in response.content.decode()


def test_position_page_lists_every_citation_format_with_downloads(client, pujiang):
    position = Position.objects.get(ref=REF)

    response = client.get(position.get_absolute_url())

    html = response.content.decode()
    labels = [c.label for c in response.context["citation_list"]]
    assert [str(label) for label in labels] == [
        str(gettext(text))
        for text in (
            "APA (7th edition)",
            "Chicago (17th edition, bibliography)",
            "GB/T 7714-2015",
            "BibTeX",
            "RIS",
            "CSL-JSON",
        )
    ]
    downloads = [
        reverse("proceedings:position-citation", args=[position.pk, ext])
        for ext in ("bib", "ris", "json")
    ]
    assert [link for link in downloads if f'href="{link}" download' in html] == downloads
    assert '<script src="/static/js/cite.js" defer></script>' in html


# ---------------------------------------------------------------------------------------------
# JSON-LD
# ---------------------------------------------------------------------------------------------

FORUM_EVENT_ORGANISERS = [
    {
        "@type": "Organization",
        "name": "科學技術部",
        "alternateName": "Ministry of Science and Technology of the People's Republic of China",
    },
    {
        "@type": "Organization",
        "name": "上海市人民政府",
        "alternateName": "Shanghai Municipal People's Government",
    },
]
PLACE = {"@type": "Place", "name": "上海", "alternateName": "Shanghai"}


def test_position_json_ld_is_a_quotation_by_its_speaker_at_the_time(client, pujiang):
    position = Position.objects.get(ref=REF)
    url = absolute(position.get_absolute_url())
    session_url = reverse("proceedings:session-detail", args=["pujiang-2025", "science-policy"])

    page, _response = head(client, position.get_absolute_url())

    assert page.json_ld == [
        {
            "@context": "https://schema.org",
            "@type": "Quotation",
            "@id": url,
            "url": url,
            "text": "突破人類自身極限",
            "inLanguage": "zh-Hant",
            "creator": {
                "@type": "Person",
                "@id": absolute(reverse("proceedings:speaker-detail", args=["fan-jianping"])),
                "name": "樊建平",
                "alternateName": "Fan Jianping",
                "url": absolute(reverse("proceedings:speaker-detail", args=["fan-jianping"])),
                "jobTitle": "校長、黨委副書記",
                "affiliation": {
                    "@type": "Organization",
                    "@id": absolute(reverse("proceedings:institution-detail", args=["suat"])),
                    "name": "深圳理工大學",
                    "alternateName": "Shenzhen University of Advanced Technology",
                    "url": absolute(reverse("proceedings:institution-detail", args=["suat"])),
                },
            },
            "isBasedOn": {
                "@type": "Report",
                "name": "2025浦江創新論壇科技政策論壇綜述",
                "alternateName": "Report on the Science and Technology Policy Forum of the 2025 "
                "Pujiang Innovation Forum",
                "author": {"@type": "Person", "name": "蔣嬌燕"},
                "publisher": {"@type": "Organization", "name": "網易號 (NetEase Hao)"},
                "inLanguage": "zh-Hant",
                "url": absolute(
                    reverse(
                        "proceedings:source-detail", args=["pujiang-2025-science-policy-report"]
                    )
                )
                + "#p17",
            },
            # The report gives the forum's days, not the session's: no dateCreated.
            "recordedAt": {
                "@type": "Event",
                "@id": absolute(session_url),
                "name": "科技政策論壇",
                "url": absolute(session_url),
                "startDate": "2025-09-20",
                "endDate": "2025-09-22",
            },
            "workTranslation": {
                "@type": "Quotation",
                "text": "breaking through the limits of humankind itself",
                "inLanguage": "en",
                "translationOfWork": {"@id": url},
            },
            "datePublished": timezone.localtime(position.published_at).isoformat(
                timespec="seconds"
            ),
            "about": [
                {
                    "@type": "Thing",
                    "name": "未來產業是融合創新的“主戰場”",
                    "url": absolute(
                        reverse(
                            "proceedings:theme-detail",
                            args=["pujiang-2025", "future-industries-main-battlefield"],
                        )
                    ),
                }
            ],
        }
    ]


def test_quotation_of_a_session_with_its_own_day_is_dated_that_day(client, pujiang):
    Session.objects.filter(forum=pujiang).update(held_on="2025-09-21")
    position = Position.objects.get(ref=REF)

    page, _response = head(client, position.get_absolute_url())

    [quotation] = page.json_ld
    assert quotation["dateCreated"] == "2025-09-21"
    assert (quotation["recordedAt"]["startDate"], quotation["recordedAt"]["endDate"]) == (
        "2025-09-21",
        "2025-09-21",
    )


def test_forum_json_ld_is_an_event_with_its_sessions(client, pujiang):
    forum = pujiang
    session = forum.sessions.get()

    page, _response = head(client, forum.get_absolute_url())

    assert page.json_ld == [
        {
            "@context": "https://schema.org",
            "@type": "Event",
            "@id": absolute(forum.get_absolute_url()),
            "name": "2025 浦江創新論壇",
            "alternateName": "2025 Pujiang Innovation Forum",
            "description": forum.description,
            "url": absolute(forum.get_absolute_url()),
            "startDate": "2025-09-20",
            "endDate": "2025-09-22",
            "location": PLACE,
            "organizer": FORUM_EVENT_ORGANISERS,
            "subEvent": [
                {
                    "@type": "Event",
                    "@id": absolute(session.get_absolute_url()),
                    "name": "科技政策論壇",
                    "url": absolute(session.get_absolute_url()),
                    "startDate": "2025-09-20",
                    "endDate": "2025-09-22",
                }
            ],
        }
    ]


def test_session_json_ld_is_an_event_within_its_forum(client, pujiang):
    session = pujiang.sessions.get()

    page, _response = head(client, session.get_absolute_url())

    assert page.json_ld == [
        {
            "@context": "https://schema.org",
            "@type": "Event",
            "@id": absolute(session.get_absolute_url()),
            "name": "科技政策論壇",
            "alternateName": "Science and Technology Policy Forum",
            "description": session.description,
            "url": absolute(session.get_absolute_url()),
            "startDate": "2025-09-20",
            "endDate": "2025-09-22",
            "location": PLACE,
            "organizer": FORUM_EVENT_ORGANISERS,
            "superEvent": {
                "@type": "Event",
                "@id": absolute(pujiang.get_absolute_url()),
                "name": "2025 浦江創新論壇",
                "url": absolute(pujiang.get_absolute_url()),
                "startDate": "2025-09-20",
                "endDate": "2025-09-22",
            },
        }
    ]


def test_speaker_json_ld_is_a_person_with_the_role_of_their_latest_appearance(client, pujiang):
    speaker = Speaker.objects.get(slug="xiao-jian")

    page, _response = head(client, speaker.get_absolute_url())

    assert page.json_ld == [
        {
            "@context": "https://schema.org",
            "@type": "Person",
            "@id": absolute(speaker.get_absolute_url()),
            "name": "肖健",
            "alternateName": "Xiao Jian",
            "url": absolute(speaker.get_absolute_url()),
            "jobTitle": "主任",
            "affiliation": {
                "@type": "Organization",
                "@id": absolute(
                    reverse(
                        "proceedings:institution-detail", args=["zhangjiang-science-city-office"]
                    )
                ),
                "name": Institution.objects.get(slug="zhangjiang-science-city-office").name,
                "alternateName": Institution.objects.get(
                    slug="zhangjiang-science-city-office"
                ).name_en,
                "url": absolute(
                    reverse(
                        "proceedings:institution-detail", args=["zhangjiang-science-city-office"]
                    )
                ),
            },
        }
    ]


def test_json_ld_escapes_what_would_end_the_script_element(client):
    forum = make_forum(name="論壇", place="上海")
    session = make_session(forum=forum)
    appearance = make_appearance(session=session, speaker=make_speaker())
    position = make_position(appearance=appearance, text="a </script><b>&amp; b", language="en")

    response = client.get(position.get_absolute_url())

    html = response.content.decode()
    assert "a \\u003c/script\\u003e\\u003cb\\u003e\\u0026amp; b" in html
    assert Head(html).json_ld[0]["text"] == "a </script><b>&amp; b"


# ---------------------------------------------------------------------------------------------
# robots.txt
# ---------------------------------------------------------------------------------------------


def test_robots_txt_allows_the_site_and_points_to_the_sitemap(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get(reverse("robots-txt"))

    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert response.content.decode() == "\n".join(
        [
            "User-agent: *",
            "Allow: /",
            "Disallow: /admin/",
            "Disallow: /zh-hant/search/",
            "Allow: /zh-hant/search/?q=",
            "Disallow: /zh-hant/search/?q=*&",
            "Disallow: /zh-hans/search/",
            "Allow: /zh-hans/search/?q=",
            "Disallow: /zh-hans/search/?q=*&",
            "Disallow: /en/search/",
            "Allow: /en/search/?q=",
            "Disallow: /en/search/?q=*&",
            "",
            "Sitemap: https://forum.example.org/sitemap.xml",
            "",
        ]
    )


def test_robots_txt_does_not_reveal_a_custom_admin_address(client, settings):
    settings.ADMIN_URL = "editors-7f3a/"

    response = client.get(reverse("robots-txt"))

    assert "editors-7f3a" not in response.content.decode()
    assert "Disallow: /admin/" not in response.content.decode()


# ---------------------------------------------------------------------------------------------
# The Site row follows SITE_URL
# ---------------------------------------------------------------------------------------------


def test_migrate_copies_the_site_url_host_into_the_site_row(settings):
    from django.contrib.sites.models import Site
    from django.core.management.sql import emit_post_migrate_signal

    settings.SITE_URL = "https://forum.example.org:8443"
    try:
        emit_post_migrate_signal(verbosity=0, interactive=False, db="default")

        site = Site.objects.get(pk=settings.SITE_ID)
        assert (site.domain, site.name) == ("forum.example.org:8443", "forum.example.org:8443")
    finally:
        Site.objects.clear_cache()


def test_favicon_is_linked_from_every_page_and_answers_at_the_site_root(client, pujiang):
    page = client.get(reverse("proceedings:home"))
    icon = client.get("/favicon.ico")

    assert '<link rel="icon" href="/static/img/favicon.svg" type="image/svg+xml">' in (
        page.content.decode()
    )
    assert icon.status_code == 302
    assert icon["Location"] == "/static/img/favicon.svg"
