"""
Atom and RSS feeds of new positions: overall, per forum, per theme, per speaker and per search.

Every feed lists published positions only (``Position.objects.published()``, or the search,
which indexes nothing else), newest first by ``published_at``, at most ``FEED_ITEMS``. An entry
is titled with the speaker and the beginning of the quote; its content is the quote and its
translation; it links to the permalink, names the speaker as author, files the themes and tags
as categories and has an id that never changes (a tag URI with the position's id, the same in
Atom and RSS and whatever language the URL is in).

Feeds are served under the language prefixes, as the pages are, and read like them
(proceedings/localize.py): names, titles and the quote in the reader's language, a converted or
translated quote saying so with the original after it, and the English translation after an
original on Chinese feeds.

A search feed takes the search page's query string as it is (``?q=…&theme=…``) and runs the
same ``search()``: unknown filters are ignored as on the page, nothing in a query string is an
error. It reads the ``MAX_PER_PAGE`` matches said most recently (the search's date order) and
lists those newest published first: a query matching more than that many positions can miss a
newly published position about an old forum.

Feeds are views like the pages: GETs without cookies, so the page cache keeps them until the
next content change (forum_portal/cache.py).
"""

from html import escape as escape_html

from django.contrib.syndication.views import Feed
from django.db.models import F
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.feedgenerator import Atom1Feed, Rss201rev2Feed
from django.utils.html import format_html, linebreaks
from django.utils.http import urlencode
from django.utils.safestring import mark_safe
from django.utils.text import Truncator
from django.utils.translation import gettext as _

from forum_portal.cache import kept_for_rows, request_generation
from forum_portal.site import absolute_url, site_domain
from speakers.models import Speaker

from . import localize
from .listing import stamp_of
from .models import Forum, Position, Theme
from .search import search
from .search.facets import FACETS
from .search.query import clean_text
from .search.service import MAX_PER_PAGE, SORT_DATE

FEED_ITEMS = 50
SNIPPET_CHARS = 60
# The date in the entries' tag URIs (RFC 4151): a day the site's domain named this portal.
# Fixed, so that ids never change.
TAG_DATE = "2025"
SITE_NAME = "論壇知識庫 Forum Portal"


def paragraphs(text):
    """Return ``text`` escaped, in ``<p>`` elements (as the ``linebreaks`` filter does)."""
    return mark_safe(linebreaks(text, autoescape=True))  # noqa: S308 - linebreaks escaped it


class ContentAtom1Feed(Atom1Feed):
    """Atom with each entry's full text in ``<content type="html">`` beside a plain-text
    ``<summary type="text">`` (Django's summary says ``type="html"``, which would make a reader
    decode markup typed into a quote into live HTML)."""

    def add_item_elements(self, handler, item):
        super().add_item_elements(handler, {**item, "description": None})
        if item["description"] is not None:
            handler.addQuickElement("summary", item["description"], {"type": "text"})
        if item.get("content"):
            handler.addQuickElement("content", item["content"], {"type": "html"})


class TextTitleRss201rev2Feed(Rss201rev2Feed):
    """RSS whose channel and item titles are HTML-escaped plain text.

    RSS does not say whether a title is text or HTML, and readers guess (feedparser takes a
    title with a closing tag or an entity for HTML): escaped, a title reads the same either
    way, and markup in a quote or a search query never becomes an element.
    """

    def __init__(self, title, *args, **kwargs):
        super().__init__(escape_html(title, quote=False), *args, **kwargs)

    def add_item(self, title, *args, **kwargs):
        super().add_item(escape_html(title, quote=False), *args, **kwargs)


class FeedFormat:
    """Path converter: ``atom`` or ``rss``."""

    regex = "atom|rss"

    def to_python(self, value):
        return value

    def to_url(self, value):
        return value


class PositionFeed(Feed):
    """A feed of positions; one instance per request (see ``feed_view``), in one format."""

    page_name = "proceedings:home"

    def __init__(self, feed_format="atom"):
        self.feed_format = feed_format
        self.feed_type = ContentAtom1Feed if feed_format == "atom" else TextTitleRss201rev2Feed
        self.request = None

    def __call__(self, request, *args, **kwargs):
        self.request = request
        # The feed's xml:lang / <language>: the language of its URL, as a BCP 47 tag.
        self.language = localize.reader_language()
        return super().__call__(request, *args, **kwargs)

    # -- what is listed ---------------------------------------------------------------------

    def get_object(self, request, *args, **kwargs):
        return None

    def positions(self, obj):
        """Return the published positions this feed is about (before ordering and slicing)."""
        return Position.objects.published()

    def stamp(self, obj):
        """What the entries are also kept by (``kept_for_rows()``), or None."""
        return None

    def items(self, obj):
        newest = self.positions(obj).for_listing().prefetch_on_demand()
        return newest.order_by(F("published_at").desc(nulls_last=True), "-pk")[:FEED_ITEMS]

    # -- the feed ---------------------------------------------------------------------------

    def title(self, obj):
        return f"{_('New positions')} · {localize.in_reader_script(SITE_NAME).text}"

    def page_url(self, obj):
        return reverse(self.page_name)

    def link(self, obj):
        return absolute_url(self.page_url(obj), self.request)

    def feed_url(self, obj):
        return absolute_url(self.request.get_full_path(), self.request)

    def description(self, obj):
        return _("Positions newly published on Forum Portal: who said what, at which forum.")

    subtitle = description

    def feed_guid(self, obj):
        return self.feed_url(obj)

    # -- entries ----------------------------------------------------------------------------

    def get_feed(self, obj, request):
        """Return the feed, each entry kept for the content generation and by its rows.

        An entry depends on its position and the rows read with it, the feed's format, its
        language and the site (absolute URLs), not on the feed that lists it: the forum,
        theme, speaker, search and latest feeds share entries, as pages share cards
        (``forum_portal.cache.kept_for_rows()``). Django builds the entries not found, the
        feed's own fields each time. Rendering 50 entries was most of a feed's time
        (bench/README.md); one found costs a cache read, and its position's prefetches are
        not run when every entry is found.
        """
        stamp = self.stamp(obj)
        if stamp is not None:
            stamp.read()  # before the rows
        items = list(self._get_dynamic_attr("items", obj))
        generation = request_generation(request)
        if generation is None:
            return self._feed_of(obj, request, items)
        feeds = []

        def build(missing):
            feeds.append(self._feed_of(obj, request, missing))
            return feeds[0].items

        rest = (self.feed_format, absolute_url("/", request))
        entries = kept_for_rows(generation, "feed-entry", items, rest, build, stamp)
        feed = feeds[0] if feeds else self._feed_of(obj, request, [])
        feed.items = entries
        return feed

    def _feed_of(self, obj, request, items):
        """Return Django's feed of ``items`` (``Feed.get_feed()``, which asks ``items()``)."""
        # An attribute that is not callable is what Feed._get_dynamic_attr() returns as it is.
        self.__dict__["items"] = items
        try:
            return super().get_feed(obj, request)
        finally:
            del self.__dict__["items"]

    @staticmethod
    def rendition(item):
        """``localize.rendition(item)``, found once for the entry's title, summary and content."""
        shown = item.__dict__.get("_feed_rendition")
        if shown is None:
            shown = item.__dict__["_feed_rendition"] = localize.rendition(item)
        return shown

    def item_title(self, item):
        shown = self.rendition(item)
        snippet = Truncator(" ".join(shown.text.split())).chars(SNIPPET_CHARS)
        return f"{localize.localized(item.appearance.speaker, 'name').text}: {snippet}"

    def item_content(self, item):
        """Return the quote as the reader reads it, then the other versions, as HTML.

        Each text is marked with its language: the original, then its English translation
        (Traditional Chinese feeds); the converted quote, a note, the original and the
        translation (Simplified); the translation, a note naming its translator, then the
        original as spoken (English).
        """
        shown = self.rendition(item)
        html = format_html(
            '<blockquote lang="{}">{}</blockquote>', shown.lang, paragraphs(shown.text)
        )
        if shown.kind == localize.CONVERTED:
            html += format_html("<p>{}</p>", _("Converted from Traditional Chinese"))
            html += format_html('<div lang="{}">{}</div>', item.language, paragraphs(item.text))
        elif shown.kind == localize.TRANSLATED:
            note = _("Translated from %(language)s") % {"language": shown.translated_from}
            html += format_html("<p>{}</p>", note)
            if shown.provenance:
                who = _("Translated by: %(who)s") % {"who": shown.provenance}
                html += format_html("<p>{}</p>", who)
            html += format_html('<div lang="{}">{}</div>', item.language, paragraphs(item.text))
        if item.translation and shown.kind != localize.TRANSLATED:
            html += format_html(
                '<div lang="{}">{}</div>', item.translation_language, paragraphs(item.translation)
            )
        return html

    def item_description(self, item):
        # RSS has one field for the text: the content. Atom has a summary and a content.
        if self.feed_format == "atom":
            return Truncator(" ".join(self.rendition(item).text.split())).chars(200)
        return self.item_content(item)

    def item_extra_kwargs(self, item):
        return {"content": self.item_content(item)} if self.feed_format == "atom" else {}

    def item_link(self, item):
        return absolute_url(item.get_absolute_url(), self.request)

    def item_guid(self, item):
        domain = site_domain(self.request).rsplit(":", 1)[0].strip("[]")
        return f"tag:{domain},{TAG_DATE}:position/{item.pk}"

    item_guid_is_permalink = False

    def item_author_name(self, item):
        speaker = item.appearance.speaker
        name = localize.localized(speaker, "name").text
        other = localize.alternative(speaker, "name").text
        return f"{name} ({other})" if other else name

    def item_author_link(self, item):
        return absolute_url(item.appearance.speaker.get_absolute_url(), self.request)

    def item_categories(self, item):
        return [localize.localized(theme, "title").text for theme in item.listed_themes] + [
            localize.localized(tag, "name").text for tag in item.listed_tags
        ]

    def item_pubdate(self, item):
        return item.published_at

    def item_updateddate(self, item):
        return item.updated_at


class LatestFeed(PositionFeed):
    """Every published position, newest first."""

    def items(self, obj):
        # PositionFeed.items()'s order, from the (status, published_at, id) index walked
        # backwards: those stamped, then those never stamped (imported as published), in two
        # statements. In one, no index has the order on both databases (SQLite cannot declare
        # NULLS LAST), so every published position was sorted: 118 ms at 100,000 on
        # PostgreSQL (bench/README.md, "Session 19"). Not for the other feeds: PostgreSQL
        # would walk the index past every other forum's or speaker's positions.
        positions = self.positions(obj)
        ids = list(
            positions.filter(published_at__isnull=False)
            .order_by("-published_at", "-pk")
            .values_list("pk", flat=True)[:FEED_ITEMS]
        )
        if len(ids) < FEED_ITEMS:
            ids += (
                positions.filter(published_at__isnull=True)
                .order_by("-pk")
                .values_list("pk", flat=True)[: FEED_ITEMS - len(ids)]
            )
        found = positions.for_listing().prefetch_on_demand().in_bulk(ids)
        return [found[pk] for pk in ids if pk in found]


class OwnedFeed(PositionFeed):
    """The feed of a forum, a theme or a person: its entries are also kept by the stamp of
    its positions (``listing.stamp_of()``)."""

    def stamp(self, obj):
        return stamp_of(self.request, obj)


class ForumFeed(OwnedFeed):
    def get_object(self, request, slug):
        return get_object_or_404(Forum.objects.published(), slug=slug)

    def positions(self, obj):
        return super().positions(obj).filter(appearance__session__forum=obj)

    def title(self, obj):
        return _("%(forum)s: new positions") % {"forum": localize.localized(obj, "name").text}

    def page_url(self, obj):
        return obj.get_absolute_url()


class ThemeFeed(OwnedFeed):
    def get_object(self, request, forum_slug, slug):
        themes = Theme.objects.published().select_related("forum")
        return get_object_or_404(themes, forum__slug=forum_slug, slug=slug)

    def positions(self, obj):
        return super().positions(obj).filter(themes=obj)

    def title(self, obj):
        return _("%(theme)s: new positions") % {"theme": localize.localized(obj, "title").text}

    def page_url(self, obj):
        return obj.get_absolute_url()


class SpeakerFeed(OwnedFeed):
    def get_object(self, request, slug):
        return get_object_or_404(Speaker.objects.published(), slug=slug)

    def positions(self, obj):
        return super().positions(obj).filter(appearance__speaker=obj)

    def title(self, obj):
        name = localize.localized(obj, "name").text
        return _("%(speaker)s: new positions") % {"speaker": name}

    def page_url(self, obj):
        return obj.get_absolute_url()


class SearchFeed(PositionFeed):
    """The positions a search finds, its query string that of the search page."""

    def get_object(self, request):
        params = request.GET
        query = clean_text(params.get("q", "")).strip()
        # The reader's request keeps the candidates for the content generation.
        result = search(
            query,
            params,
            SORT_DATE,
            1,
            per_page=MAX_PER_PAGE,
            records=False,
            hits=False,
            request=request,
        )
        return query, result

    def positions(self, obj):
        # The newest said of its matches (the search's date order), listed newest published.
        _query, result = obj
        return super().positions(obj).filter(pk__in=result.page.object_list)

    def title(self, obj):
        query, result = obj
        described = [f"“{query}”"] if query else []
        # A filter's English label comes from its facet value, as on the search page.
        labels_en = {
            (name, value.value): value.label_en
            for name, values in result.facets.items()
            for value in values
        }
        described += [
            localize.facet_label(f.label, labels_en.get((f.facet, f.value), ""), f.facet)[0].text
            for f in result.active_filters
        ]
        if not described:
            return super().title(obj)
        return _("Search %(what)s: new positions") % {"what": ", ".join(described)}

    def page_url(self, obj):
        # The search page of the same search: its query and filters, first page.
        params = self.request.GET
        kept = [(name, value) for name in ("q", *FACETS, "sort") for value in params.getlist(name)]
        return reverse("proceedings:search") + (f"?{urlencode(kept)}" if kept else "")


def feed_view(feed_class):
    """Return a view serving ``feed_class`` in the format the URL names (a new instance each
    time: the feed keeps the request for absolute URLs)."""

    def view(request, feed_format, **kwargs):
        if feed_format not in ("atom", "rss"):
            raise Http404("No such feed format.")
        return feed_class(feed_format)(request, **kwargs)

    view.feed_class = feed_class
    return view


latest = feed_view(LatestFeed)
forum = feed_view(ForumFeed)
theme = feed_view(ThemeFeed)
speaker = feed_view(SpeakerFeed)
search_feed = feed_view(SearchFeed)
