"""
Atom and RSS feeds (overall, per forum, theme, speaker and search) and the sitemap: they parse as
XML and list exactly the published items, newest first; drafts and withdrawn rows are absent.
"""

import datetime
import re
import xml.etree.ElementTree as ET  # our own responses: no need for defusedxml

import pytest
from django.conf import settings
from django.contrib.sites.models import Site
from django.template.loader import render_to_string
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone, translation

from proceedings import sitemaps
from proceedings.models import Forum, Position, Question, Session, Status, Theme
from proceedings.workflow import transition
from speakers.models import Institution, Speaker
from tests.bundled import QUOTES, add_quote
from tests.factories import (
    make_appearance,
    make_forum,
    make_position,
    make_session,
    make_speaker,
    make_theme,
)

pytestmark = pytest.mark.django_db

SITE = "https://forum.example.org"
ATOM = {"a": "http://www.w3.org/2005/Atom"}
REF = "fan-jianping-surpass-human-limits"
SITEMAP = {"s": "http://www.sitemaps.org/schemas/sitemap/0.9"}
CONTENT = (
    '<blockquote lang="zh-Hant"><p>最早的觀點</p></blockquote><div lang="en"><p>Oldest</p></div>'
)


@pytest.fixture(autouse=True)
def site_url(settings):
    settings.SITE_URL = SITE
    # Django's Feed looks the Site row up (once per process); have it cached before counting.
    Site.objects.clear_cache()
    Site.objects.get_current()


def parse(content):
    return ET.fromstring(content)  # noqa: S314 - the site's own response


def feed_url(name, *args, fmt="atom"):
    return reverse(f"proceedings:{name}", args=[*args, fmt])


def atom(client, url):
    response = client.get(url)
    assert response.status_code == 200, response.content[:300]
    assert response["Content-Type"] == "application/atom+xml; charset=utf-8"
    return parse(response.content)


def entry_ids(feed):
    return [entry.find("a:id", ATOM).text for entry in feed.findall("a:entry", ATOM)]


def tag_id(position):
    return f"tag:forum.example.org,2025:position/{position.pk}"


@pytest.fixture
def corpus(db):
    """Three published positions published at known times, a draft, a withdrawn one, and a
    second forum; a published and a draft theme."""
    forum = make_forum(name="論壇甲", name_en="Forum A")
    other_forum = make_forum(name="論壇乙", name_en="Forum B")
    session = make_session(forum=forum)
    theme = make_theme(forum=forum, title="主題")
    draft_theme = make_theme(forum=forum, title="草稿主題", published=False)
    speaker = make_speaker(name="王五", name_en="Wang Wu")
    other = make_speaker(name="趙六", name_en="Zhao Liu")
    appearance = make_appearance(session=session, speaker=speaker)
    other_appearance = make_appearance(session=make_session(forum=other_forum), speaker=other)
    now = timezone.now()

    def position(text, *, hours_ago, appearance=appearance, **fields):
        p = make_position(appearance=appearance, text=text, **fields)
        Position.objects.filter(pk=p.pk).update(
            published_at=now - datetime.timedelta(hours=hours_ago)
        )
        p.refresh_from_db()
        return p

    oldest = position(
        "最早的觀點", hours_ago=3, themes=[theme, draft_theme], tags=["創新"], translation="Oldest"
    )
    newest = position("最新的觀點", hours_ago=1, themes=[theme])
    middle = position("中間的觀點", hours_ago=2, appearance=other_appearance)
    draft = make_position(appearance=appearance, text="草稿觀點", published=False, themes=[theme])
    withdrawn = make_position(appearance=appearance, text="撤回觀點", themes=[theme])
    transition(objects=[withdrawn], to=Status.WITHDRAWN)
    return {
        "forum": forum,
        "theme": theme,
        "draft_theme": draft_theme,
        "speaker": speaker,
        "oldest": oldest,
        "middle": middle,
        "newest": newest,
        "draft": draft,
        "withdrawn": withdrawn,
    }


# ---------------------------------------------------------------------------------------------
# Feeds
# ---------------------------------------------------------------------------------------------


def test_latest_feed_lists_published_positions_newest_first(
    client, corpus, django_assert_num_queries
):
    # The ids of those stamped, of those never stamped; the positions, their roles, themes,
    # tags, key phrases.
    with django_assert_num_queries(7):
        response = client.get(feed_url("feed-latest"))

    feed = parse(response.content)
    assert entry_ids(feed) == [tag_id(corpus[k]) for k in ("newest", "middle", "oldest")]
    assert feed.find("a:link[@rel='alternate']", ATOM).get("href") == SITE + reverse(
        "proceedings:home"
    )
    assert feed.find("a:link[@rel='self']", ATOM).get("href") == SITE + feed_url("feed-latest")


def test_positions_never_stamped_as_published_come_last_newest_first(client, corpus):
    """The latest feed reads the stamped and the unstamped in two statements (an index's
    order); the forum feed in one. Both list them in the same order."""
    appearance = corpus["newest"].appearance
    unstamped = [make_position(appearance=appearance, text=f"未蓋章{n}") for n in range(2)]
    Position.objects.filter(pk__in=[p.pk for p in unstamped]).update(published_at=None)

    latest = entry_ids(parse(client.get(feed_url("feed-latest")).content))
    of_the_forum = entry_ids(
        parse(client.get(feed_url("forum-feed", corpus["forum"].slug)).content)
    )

    assert latest == [
        tag_id(p)
        for p in (corpus["newest"], corpus["middle"], corpus["oldest"], *reversed(unstamped))
    ]
    assert of_the_forum == [i for i in latest if i != tag_id(corpus["middle"])]


def test_atom_entry_has_title_content_link_author_and_categories(client, corpus):
    oldest = corpus["oldest"]

    feed = atom(client, feed_url("feed-latest"))

    entry = feed.findall("a:entry", ATOM)[-1]
    assert entry.find("a:title", ATOM).text == "王五: 最早的觀點"
    assert entry.find("a:link", ATOM).get("href") == SITE + oldest.get_absolute_url()
    assert entry.find("a:id", ATOM).text == tag_id(oldest)
    assert entry.find("a:author/a:name", ATOM).text == "王五 (Wang Wu)"
    assert entry.find("a:author/a:uri", ATOM).text == SITE + corpus["speaker"].get_absolute_url()
    # The draft theme is not a category.
    assert [c.get("term") for c in entry.findall("a:category", ATOM)] == ["主題", "創新"]
    assert entry.find("a:summary", ATOM).text == "最早的觀點"
    content = entry.find("a:content", ATOM)
    assert content.get("type") == "html"
    assert content.text == CONTENT
    assert entry.find("a:published", ATOM).text == oldest.published_at.isoformat()


def test_rss_feed_has_the_same_items_with_stable_guids(client, corpus):
    response = client.get(feed_url("feed-latest", fmt="rss"))

    assert response["Content-Type"] == "application/rss+xml; charset=utf-8"
    channel = parse(response.content).find("channel")
    items = channel.findall("item")
    assert [item.find("guid").text for item in items] == [
        tag_id(corpus[k]) for k in ("newest", "middle", "oldest")
    ]
    assert {item.find("guid").get("isPermaLink") for item in items} == {"false"}
    assert items[-1].find("link").text == SITE + corpus["oldest"].get_absolute_url()
    assert items[-1].find("description").text == CONTENT
    assert [c.text for c in items[-1].findall("category")] == ["主題", "創新"]


def test_forum_theme_and_speaker_feeds_list_only_their_positions(client, corpus):
    forum, theme, speaker = corpus["forum"], corpus["theme"], corpus["speaker"]
    expected = [tag_id(corpus["newest"]), tag_id(corpus["oldest"])]

    feeds = [
        atom(client, feed_url("forum-feed", forum.slug)),
        atom(client, feed_url("theme-feed", forum.slug, theme.slug)),
        atom(client, feed_url("speaker-feed", speaker.slug)),
    ]

    assert [entry_ids(feed) for feed in feeds] == [expected, expected, expected]
    assert feeds[1].find("a:link[@rel='alternate']", ATOM).get("href") == (
        SITE + theme.get_absolute_url()
    )


def test_forum_feed_query_count_is_constant(client, corpus, django_assert_num_queries):
    # the forum, then positions, roles, themes, tags, key phrases
    with django_assert_num_queries(6):
        client.get(feed_url("forum-feed", corpus["forum"].slug))


def test_feeds_of_unpublished_things_are_404(client, corpus):
    forum = corpus["forum"]
    draft_forum = make_forum(published=False)

    responses = [
        client.get(feed_url("theme-feed", forum.slug, corpus["draft_theme"].slug)),
        client.get(feed_url("forum-feed", draft_forum.slug)),
        client.get(feed_url("speaker-feed", make_speaker(published=False).slug)),
        client.get(reverse("proceedings:forum-detail", args=[forum.slug]) + "feed/json/"),
    ]

    assert [r.status_code for r in responses] == [404, 404, 404, 404]


def test_pages_link_their_feeds(client, corpus):
    forum, theme, speaker = corpus["forum"], corpus["theme"], corpus["speaker"]

    for page, feed in [
        (reverse("proceedings:home"), feed_url("feed-latest")),
        (forum.get_absolute_url(), feed_url("forum-feed", forum.slug)),
        (theme.get_absolute_url(), feed_url("theme-feed", forum.slug, theme.slug)),
        (speaker.get_absolute_url(), feed_url("speaker-feed", speaker.slug)),
    ]:
        html = client.get(page).content.decode()
        assert 'type="application/atom+xml" title="' in html
        assert f'href="{feed}">' in html, page
        assert f'<a href="{feed}" type="application/atom+xml">' in html, page


# ---------------------------------------------------------------------------------------------
# Search feeds
# ---------------------------------------------------------------------------------------------


def test_search_feed_honours_the_search_filters(client, pujiang):
    # Fan Jianping's quoted phrases as verbatim quotations: 蝴蝶模型 (made a draft here),
    # 開拓人類活動疆域 and 突破人類自身極限 (published in that order: the newest first).
    for ref in QUOTES:
        if ref.startswith("fan-jianping-"):
            add_quote(ref)
    transition(
        objects=[Position.objects.get(ref="fan-jianping-butterfly-model-term")], to=Status.DRAFT
    )
    now = timezone.now()
    for hours_ago, ref in [(2, "fan-jianping-expand-human-activity"), (1, REF)]:
        Position.objects.filter(ref=ref).update(
            published_at=now - datetime.timedelta(hours=hours_ago)
        )
    url = feed_url("search-feed") + "?speaker=fan-jianping&fidelity=verbatim"

    feed = atom(client, url)

    assert [e.find("a:title", ATOM).text for e in feed.findall("a:entry", ATOM)] == [
        "樊建平: 突破人類自身極限",
        "樊建平: 開拓人類活動疆域",
    ]
    assert feed.find("a:link[@rel='alternate']", ATOM).get("href") == (
        SITE + reverse("proceedings:search") + "?speaker=fan-jianping&fidelity=verbatim"
    )


def test_search_feed_of_a_query_lists_its_matches(client, pujiang):
    feed = atom(client, feed_url("search-feed", fmt="atom") + "?q=蝴蝶模型")

    titles = [e.find("a:title", ATOM).text for e in feed.findall("a:entry", ATOM)]
    # Entry titles end after 60 characters of the quote, the ellipsis included, in the
    # reader's script (the source's 基于 in Traditional characters on a zh-hant feed).
    # 蝴蝶模型 is a key phrase of this paraphrase, not a position of its own.
    assert titles == [
        "樊建平: 基於光明科學城的創新體系構建了“蝴蝶模型”詮釋科技創新和產業創新深度融合的機制,"
        "大學和研究所應該作為蝶頭,重大公共科研…",
    ]


@pytest.mark.parametrize(
    "query",
    ["?theme=nope&sort=zzz&page=-1", "?q=" + "長" * 2000, "?speaker=&speaker=x%FF", "?page=99999"],
)
def test_search_feed_with_bad_parameters_is_a_normal_feed(client, pujiang, query):
    feed = atom(client, feed_url("search-feed") + query)

    assert feed.tag == "{http://www.w3.org/2005/Atom}feed"


def test_search_page_links_the_feed_of_its_search(client, pujiang):
    response = client.get(reverse("proceedings:search") + "?q=融合&sector=academia&page=2")

    feed = feed_url("search-feed") + "?q=%E8%9E%8D%E5%90%88&amp;sector=academia"
    assert f'<a href="{feed}" type="application/atom+xml">' in response.content.decode()


# ---------------------------------------------------------------------------------------------
# Sitemap
# ---------------------------------------------------------------------------------------------


def get_xml(client, url):
    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/xml; charset=utf-8"
    return parse(response.content)


def sitemap_index(client):
    """Return the addresses the sitemap index lists, without the site's origin."""
    root = get_xml(client, reverse("sitemap"))
    return [
        entry.find("s:loc", SITEMAP).text.removeprefix(SITE)
        for entry in root.findall("s:sitemap", SITEMAP)
    ]


def sitemap_urls(client):
    """Return {URL: lastmod} of every section the index lists, and how many URLs in all."""
    urls, count = {}, 0
    for section in sitemap_index(client):
        entries = get_xml(client, section).findall("s:url", SITEMAP)
        urls |= {
            url.find("s:loc", SITEMAP).text: getattr(url.find("s:lastmod", SITEMAP), "text", None)
            for url in entries
        }
        count += len(entries)
    return urls, count


def local_day(moment):
    return timezone.localtime(moment).date()


def test_sitemap_lists_exactly_the_published_pages(client, pujiang, django_assert_num_queries):
    withdrawn = Position.objects.get(ref="wang-zhan-market-and-government")
    draft = Position.objects.get(ref="zhu-pengcheng-atlatl-motherboard")
    transition(objects=[withdrawn], to=Status.WITHDRAWN)
    transition(objects=[draft], to=Status.DRAFT)
    draft_theme = Theme.objects.get(slug="outlook")
    transition(objects=[draft_theme], to=Status.DRAFT)

    with django_assert_num_queries(10):  # a count per section but the lists'
        index = sitemap_index(client)
    positions_page = next(path for path in index if path.startswith("/sitemap-positions.xml"))
    with django_assert_num_queries(1):  # a range of ids
        get_xml(client, positions_page)
    urls, count = sitemap_urls(client)

    def absolute(objects):
        return {SITE + obj.get_absolute_url() for obj in objects}

    positions = Position.objects.exclude(pk__in=[withdrawn.pk, draft.pk])
    themes = Theme.objects.exclude(pk=draft_theme.pk)
    tags = {  # every tag of a published position; the hidden ones' tags are on others too
        tag.slug for p in positions.prefetch_related("tags") for tag in p.tags.all()
    }
    # Each page once in each language (the sitemap's i18n sections, with alternates).
    expected = set()
    for code, _name in settings.LANGUAGES:
        with translation.override(code):
            expected |= (
                {SITE + reverse(name) for name in ("proceedings:home", "proceedings:speaker-list")}
                | {
                    SITE + reverse("proceedings:institution-list"),
                    SITE + reverse("proceedings:sector-list"),
                    SITE + reverse("proceedings:forum-list"),
                    SITE + reverse("proceedings:tag-list"),
                }
                | absolute(Forum.objects.all())
                | absolute(Session.objects.all())
                | absolute(Question.objects.all())
                | absolute(themes)
                | absolute(positions)
                | absolute(Speaker.objects.all())
                | absolute(Institution.objects.all())
                | {
                    SITE + reverse("proceedings:sector-detail", args=[s])
                    for s in set(Institution.objects.values_list("sector", flat=True))
                }
                | {SITE + reverse("proceedings:tag-detail", args=[slug]) for slug in tags}
                | {
                    SITE
                    + reverse(
                        "proceedings:source-detail", args=["pujiang-2025-science-policy-report"]
                    )
                }
            )
    # Each section once (positions in ranges of ids: where they are depends on the ids).
    assert list(dict.fromkeys(path.partition("?")[0] for path in index)) == [
        reverse("sitemap-section", args=[section])
        for section in [
            "pages",
            "forums",
            "sessions",
            "questions",
            "themes",
            "positions",
            "speakers",
            "institutions",
            "sectors",
            "tags",
            "sources",
        ]
    ]
    assert set(urls) == expected
    assert count == len(expected)  # each page once per language
    assert (len(positions), len(themes)) == (17, 8)
    assert SITE + withdrawn.get_absolute_url() not in urls
    assert SITE + draft_theme.get_absolute_url() not in urls
    # lastmod: a position's last update, a forum's last history record, none for a sector.
    position = positions.get(ref="fan-jianping-future-frontiers")
    assert urls[SITE + position.get_absolute_url()] == str(local_day(position.updated_at))
    last_record = pujiang.history.latest("history_date")
    assert urls[SITE + pujiang.get_absolute_url()] == str(local_day(last_record.history_date))
    assert urls[SITE + reverse("proceedings:sector-detail", args=["academia"])] is None


def test_sitemap_pages_of_positions_are_ranges_of_ids_that_hold_one(client, pujiang, monkeypatch):
    monkeypatch.setattr(sitemaps, "ITEMS_PER_PAGE", 5)
    ids = sorted(Position.objects.published().values_list("pk", flat=True))
    section = reverse("sitemap-section", args=["positions"])
    ranges = {}  # page number -> the ids in its range
    for pk in ids:
        ranges.setdefault((pk - 1) // 5 + 1, []).append(pk)

    def path(number):
        return section if number == 1 else f"{section}?p={number}"

    def listed(page):
        response = client.get(f"{section}?p={page}")
        if response.status_code != 200:
            return response.status_code
        return sorted(
            int(loc.rstrip("/").rsplit("/", 1)[1])
            for loc in re.findall(r"<url><loc>([^<]+)</loc>", response.content.decode())
            if "/zh-hant/" in loc
        )

    pages = [p for p in sitemap_index(client) if p.startswith(section)]
    got = {number: listed(number) for number in ranges}
    emptied, *kept = list(ranges)[1:]
    transition(objects=list(Position.objects.filter(pk__in=ranges[emptied])), to=Status.WITHDRAWN)
    after = [p for p in sitemap_index(client) if p.startswith(section)]

    assert len(ids) == 19
    assert len(ranges) >= 4
    assert pages == [path(number) for number in ranges]
    assert got == ranges
    # No public position left in one range: not listed, empty; the others are as they were.
    assert after == [path(number) for number in ranges if number != emptied]
    assert listed(emptied) == []
    assert {number: listed(number) for number in kept} == {n: ranges[n] for n in kept}
    past = max(ranges) + 1
    for garbage in [str(past), "0", "-1", "1.5", "二", "10" * 20, "%00", ""]:
        assert listed(garbage) == 404, garbage


@pytest.mark.parametrize("section", ["pages", "forums", "positions", "speakers", "tags"])
def test_a_sitemap_page_is_written_as_djangos_template_writes_it(
    client, pujiang, section, settings
):
    """The sections are written without the template (a page of 5,000 positions took 1.5 s in
    it): the same bytes, ampersands escaped, last changes in the site's time zone."""
    settings.TIME_ZONE = "Pacific/Kiritimati"  # UTC+14: a late change is the next day here
    request = RequestFactory().get("/")
    site, protocol = sitemaps._site(request)
    first = sitemaps.SITEMAPS[section]().paginator.page_range[0]  # positions: by their ids
    urls = sitemaps.SITEMAPS[section]().get_urls(page=first, site=site, protocol=protocol)
    with_an_ampersand = {**urls[0], "location": urls[0]["location"] + "?a=1&b=2"}

    written = sitemaps.sitemap_xml([with_an_ampersand, *urls])

    assert written == render_to_string("sitemap.xml", {"urlset": [with_an_ampersand, *urls]})
    assert "?a=1&amp;b=2</loc>" in written
    assert written.count("<url>") == len(urls) + 1
    response = client.get(reverse("sitemap-section", args=[section]), {"p": first})
    assert response.content.decode() == sitemaps.sitemap_xml(urls)


def test_sitemap_sections_come_in_pages(client, pujiang, monkeypatch):
    # People by count (positions come in ranges of ids: the test above), two pages of them.
    people = list(Speaker.objects.published().order_by("pk"))
    per_page = (len(people) + 1) // 2
    monkeypatch.setattr("proceedings.sitemaps.ITEMS_PER_PAGE", per_page)
    section = reverse("sitemap-section", args=["speakers"])

    index = sitemap_index(client)
    last = get_xml(client, f"{section}?p=2").findall("s:url", SITEMAP)

    assert len(people) > 2
    assert [entry for entry in index if entry.startswith(section)] == [
        section,
        f"{section}?p=2",
    ]
    with translation.override("zh-hant"):
        expected = [SITE + p.get_absolute_url() for p in people[per_page:]]
    assert [url.find("s:loc", SITEMAP).text for url in last][::3] == expected
    assert len(last) == (len(people) - per_page) * 3
    assert client.get(f"{section}?p=3").status_code == 404
    assert client.get(f"{section}?p=two").status_code == 404
    assert client.get(reverse("sitemap-section", args=["nothing"])).status_code == 404


def test_sitemap_of_an_empty_site_lists_the_list_pages(client):
    draft_forum = make_forum(published=False)
    make_session(forum=draft_forum)

    index = sitemap_index(client)
    urls, count = sitemap_urls(client)

    assert index == [reverse("sitemap-section", args=["pages"])]
    expected = []
    for code, _name in settings.LANGUAGES:
        with translation.override(code):
            expected += [
                SITE + reverse(name)
                for name in (
                    "proceedings:home",
                    "proceedings:forum-list",
                    "proceedings:speaker-list",
                    "proceedings:institution-list",
                    "proceedings:sector-list",
                    "proceedings:tag-list",
                )
            ]
    assert sorted(urls) == sorted(expected)


@pytest.mark.parametrize("item_count", [1, 3])
def test_feed_query_counts_are_constant(client, item_count, django_assert_num_queries):
    forum = make_forum()
    theme = make_theme(forum=forum)
    session = make_session(forum=forum)
    speaker = make_speaker()
    appearance = make_appearance(session=session, speaker=speaker)
    for n in range(item_count):
        make_position(appearance=appearance, themes=[theme], tags=[f"標籤{n}"])

    # positions (the latest feed: their ids, stamped then not, first), their roles, themes,
    # tags, key phrases; the theme and speaker feeds read their theme or speaker first
    with django_assert_num_queries(7):
        latest = client.get(feed_url("feed-latest", fmt="rss"))
    with django_assert_num_queries(6):
        client.get(feed_url("theme-feed", forum.slug, theme.slug))
    with django_assert_num_queries(6):
        client.get(feed_url("speaker-feed", speaker.slug))

    assert len(parse(latest.content).find("channel").findall("item")) == item_count


@pytest.mark.parametrize("item_count", [1, 3])
def test_search_feed_query_count_is_constant(client, item_count, django_assert_num_queries):
    forum = make_forum()
    appearance = make_appearance(session=make_session(forum=forum), speaker=make_speaker())
    for n in range(item_count):
        make_position(appearance=appearance, text=f"科技創新{n}", tags=[f"標籤{n}"])

    # search(): the filter's rows, the candidates, the facet labels, then the positions with
    # their roles, themes, tags and key phrases
    with django_assert_num_queries(8):
        response = client.get(feed_url("search-feed") + f"?q=科技&forum={forum.slug}")

    assert len(entry_ids(parse(response.content))) == item_count
