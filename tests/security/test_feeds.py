"""
Stored script in feeds: a position's text is plain text, and every feed (overall, forum, theme,
speaker, search; Atom and RSS) must hand it to a feed reader so that it stays text.

The reader is feedparser, with its HTML sanitiser off, as a reader that trusts the feed's
declared types would see the entries: an element in a title, summary or content is one that
reader would render.
"""

from html.parser import HTMLParser

import feedparser
import pytest
from django.urls import reverse

from tests.factories import (
    make_appearance,
    make_forum,
    make_position,
    make_session,
    make_speaker,
    make_theme,
)

pytestmark = pytest.mark.django_db

PAYLOAD = "<img src=x onerror=alert(1)>"
TEXT = f'科技創新{PAYLOAD}政策 & <b>粗體</b> "R&D" isn\'t'
HTML_TYPES = {"text/html", "application/xhtml+xml"}
# The elements the feeds' own markup uses around the quote (proceedings/feeds.py).
CONTENT_ELEMENTS = {"blockquote", "p", "div", "br"}


class Elements(HTMLParser):
    """Collect the elements and the text of an HTML fragment, as a browser would parse it."""

    def __init__(self, html):
        super().__init__(convert_charrefs=True)
        self.tags = []
        self.text = []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)

    def handle_data(self, data):
        self.text.append(data)


def rendered(detail):
    """Return (elements, text) of a feedparser text construct, as a reader displays it."""
    if detail["type"] in HTML_TYPES:
        parsed = Elements(detail["value"])
        return parsed.tags, "".join(parsed.text)
    return [], detail["value"]


@pytest.fixture
def feeds(db):
    forum = make_forum(slug="forum-x")
    theme = make_theme(forum=forum, slug="theme-x")
    speaker = make_speaker(slug="speaker-x", name="王五", name_en="Wang Wu")
    appearance = make_appearance(session=make_session(forum=forum), speaker=speaker)
    make_position(appearance=appearance, text=TEXT, themes=[theme])
    return {
        "latest": ("proceedings:feed-latest", [], ""),
        "forum": ("proceedings:forum-feed", [forum.slug], ""),
        "theme": ("proceedings:theme-feed", [forum.slug, theme.slug], ""),
        "speaker": ("proceedings:speaker-feed", [speaker.slug], ""),
        "search": ("proceedings:search-feed", [], "?q=科技創新"),
    }


def entry_of(client, feeds, name, fmt):
    url_name, args, query = feeds[name]
    response = client.get(reverse(url_name, args=[*args, fmt]) + query)
    assert response.status_code == 200
    parsed = feedparser.parse(response.content, sanitize_html=False)
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert len(parsed.entries) == 1
    return parsed.entries[0]


@pytest.mark.parametrize("name", ["latest", "forum", "theme", "speaker", "search"])
def test_atom_entry_keeps_markup_in_a_quote_as_text(client, feeds, name):
    entry = entry_of(client, feeds, name, "atom")

    title = rendered(entry.title_detail)
    summary = rendered(entry.summary_detail)
    content_tags, content_text = rendered(entry.content[0])

    assert title == ([], f"王五: {TEXT}")
    assert summary == ([], TEXT)
    assert set(content_tags) <= CONTENT_ELEMENTS
    assert content_tags[:2] == ["blockquote", "p"]
    assert content_text == TEXT


@pytest.mark.parametrize("name", ["latest", "forum", "theme", "speaker", "search"])
def test_rss_item_keeps_markup_in_a_quote_as_text(client, feeds, name):
    entry = entry_of(client, feeds, name, "rss")

    title = rendered(entry.title_detail)
    description_tags, description_text = rendered(entry.summary_detail)

    assert title == ([], f"王五: {TEXT}")
    assert set(description_tags) <= CONTENT_ELEMENTS
    assert description_tags[:2] == ["blockquote", "p"]
    assert description_text == TEXT


def test_rss_search_feed_title_keeps_markup_in_the_query_as_text(client, feeds):
    # (An Atom title is text unless it says otherwise.)
    response = client.get(reverse("proceedings:search-feed", args=["rss"]), {"q": TEXT})

    parsed = feedparser.parse(response.content, sanitize_html=False)

    assert not parsed.bozo
    assert rendered(parsed.feed.title_detail) == ([], f"搜尋 “{TEXT}”：最新觀點")
