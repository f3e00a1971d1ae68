"""
The sitemap: every public page, with the date its row last changed.

``/sitemap.xml`` is a sitemap index: it lists each section's pages
(``/sitemap-<section>.xml``, then ``?p=2``…), each at most ``ITEMS_PER_PAGE`` rows, that is
three times as many URLs (one per language). The protocol allows 50,000 URLs and 50 MB a file;
with its alternates a URL entry is ~450 bytes, so a page of 3,000 URLs is ~1.4 MB. At 100,000
positions the single file this was before held 300,000 URLs, which search engines reject.
Pages are small so that writing one, the first request for it after an edit that changed its
rows, stays short (bench/README.md, "Session 23"). Positions, the many rows, come in ranges of
ids (``IdRangePaginator``) rather than by count: reading a deep page does not read every row
before it, and a withdrawn position changes its own page only.

Kept by their rows: a section's page is kept under a digest of the rows it is written from
(``rows_key``: the positions' ids and dates, the other rows with what they fetch and their last
change) and the site's address, so that an edit writes again only the pages whose rows it
changed (one page of positions, not a hundred) rather than each page the first time a crawler
asks for it after every edit.

One section per kind of page, each from its model's ``.published()`` (sources, sectors and tags
are public through what cites them, as on their pages). ``lastmod`` is the row's last history
record (django-simple-history), or ``updated_at`` for positions; sectors and tags have neither.

Languages: with ``i18n`` on, Django lists each page once per language, with the others as
``hreflang`` alternates. That is right once page URLs carry a language prefix; until then the
three URLs would be one, listed three times, so ``i18n`` follows whether the URLconf uses
``i18n_patterns``.

The view builds absolute URLs from ``forum_portal.site`` (``DJANGO_SITE_URL``, else the
request), like every other absolute URL of the site, rather than from the ``Site`` row.
"""

import datetime
import hashlib
from functools import partial
from html import escape  # django.utils.html.escape's own, without its lazy-string wrapper
from types import SimpleNamespace

from django.conf import settings
from django.conf.urls.i18n import is_language_prefix_patterns_used
from django.contrib import sitemaps
from django.contrib.sitemaps.views import SitemapIndexItem
from django.core.cache import cache
from django.core.paginator import EmptyPage, Page, PageNotAnInteger, Paginator
from django.db import connections
from django.db.models import Exists, Max, OuterRef, Subquery
from django.http import Http404, HttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import translation
from django.utils.functional import cached_property
from django.utils.timezone import template_localtime
from taggit.models import Tag

from forum_portal.cache import (
    TableRows,
    content_digest,
    fragment_key,
    per_generation,
    request_generation,
)
from forum_portal.site import site_domain, site_origin
from forum_portal.workflow import status_q
from speakers.models import Institution, Sector, Speaker

from .listing import PEOPLE_TABLES
from .models import (
    Forum,
    Position,
    Question,
    Session,
    SourceDocument,
    Theme,
    hidden_appearances,
)


def last_changed(model):
    """Return a subquery of the date of the last history record of each ``model`` row."""
    history = model.history.model.objects.filter(id=OuterRef("pk")).order_by("-history_date")
    return Subquery(history.values("history_date")[:1])


ITEMS_PER_PAGE = 1000
MAX_ID = 2**63 - 1  # a bigint's: past it, a page number is no range of ids
PLACEHOLDER_ID = 987654321  # no other part of a permalink has these digits


class LanguagePaginator(Paginator):
    """Pages of rows whose object lists are ``(row, language)`` pairs, as ``Sitemap._urls()``
    expects with ``i18n`` on.

    Django's own ``Sitemap.paginator`` builds every pair of every row before paging (a list of
    3,000,000 at 1,000,000 positions, for each page); this pages the rows (a COUNT, then one
    slice) and pairs only the page's.
    """

    def __init__(self, rows, per_page, languages):
        super().__init__(rows, per_page)
        self.languages = languages

    def page(self, number):
        page = super().page(number)
        page.object_list = [(row, code) for row in page.object_list for code in self.languages]
        return page


class KeptPagePaginator(Paginator):
    """A paginator that reads each page once: the page whose rows key a kept section page
    (``PortalSitemap.rows_key``) is the page rendered."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._pages = {}

    def page(self, number):
        number = self.validate_number(number)
        if number not in self._pages:
            self._pages[number] = super().page(number)
        return self._pages[number]


class KeptLanguagePaginator(KeptPagePaginator, LanguagePaginator):
    pass


class IdRangePaginator:
    """Pages of rows by ranges of their ids: page n holds the rows whose id is in
    ((n - 1) × per_page, n × per_page].

    Reading a page is a range of the primary key, however deep it is, where a page by count
    read every row before it (``OFFSET``); and withdrawing a position changes its own page,
    where it moved every later page's rows by one. ``page_range`` lists the pages that hold a
    public row. A page that holds none is empty (a crawler may still ask for it: its rows were
    withdrawn or are drafts), and one past every row's id is an ``EmptyPage``.
    ``rows``: a queryset ordered by id; ``languages``: pair each row with each of them, as
    ``LanguagePaginator`` does (None: rows alone).
    """

    def __init__(self, rows, per_page, languages=None):
        self.rows = rows
        self.per_page = per_page
        self.languages = languages
        self._pages = {}

    @cached_property
    def page_range(self):
        """The numbers of the pages that hold a row, in one statement: from each range's
        first row, the first row past that range (an index's step a page, not every row)."""
        sql, params = self.rows.order_by().values("pk").query.sql_with_params()
        first = f"SELECT (MIN(r.pk) - 1) / {int(self.per_page)} FROM ({sql}) r"  # noqa: S608
        query = (
            f"WITH RECURSIVE ranges(n) AS (SELECT ({first}) UNION ALL"  # noqa: S608
            f" SELECT ({first} WHERE r.pk > (ranges.n + 1) * {int(self.per_page)})"
            " FROM ranges WHERE ranges.n IS NOT NULL) SELECT n FROM ranges WHERE n IS NOT NULL"
        )
        with connections[self.rows.db].cursor() as cursor:
            cursor.execute(query, [*params, *params])
            return [n + 1 for (n,) in cursor.fetchall()]

    @property
    def count(self):
        return len(self.page_range)  # of pages: what the index of sections asks

    def _last_possible(self):
        """Return the number of the last page any row, public or not, is in (1 with none)."""
        last = self.rows.model._default_manager.aggregate(last=Max("pk"))["last"]
        return (last - 1) // self.per_page + 1 if last else 1

    def page(self, number):
        try:
            number = int(number)
        except (TypeError, ValueError) as error:
            raise PageNotAnInteger("That page number is not an integer") from error
        if number not in self._pages:
            if number < 1:
                raise EmptyPage("That page number is less than 1")
            if number * self.per_page > MAX_ID:
                raise EmptyPage("That page number is past any id")
            low, high = (number - 1) * self.per_page, number * self.per_page
            rows = list(self.rows.filter(pk__gt=low, pk__lte=high))
            if not rows and number > self._last_possible():
                raise EmptyPage("That page contains no results")
            if self.languages is not None:
                rows = [(row, code) for row in rows for code in self.languages]
            self._pages[number] = Page(rows, number, self)
        return self._pages[number]


class PortalSitemap(sitemaps.Sitemap):
    alternates = True
    x_default = True
    # The models whose tables the section's rows are read from, by whose stamp the index
    # keeps its number of pages (``TableRows``); None: positions, kept per content generation.
    tables = None

    def __init__(self):
        self._locations = {}

    @cached_property
    def i18n(self):
        return is_language_prefix_patterns_used(settings.ROOT_URLCONF)[0]

    def _location(self, item, force_lang_code=None):
        # Each row's page in each language, found once: Django's _urls() asks for it five
        # times (a URL, then its alternates), under translation.override() each time, which
        # was 15,000 entries a page at 5,000 positions (bench/README.md, "Session 19").
        key = (id(item[0]), force_lang_code or item[1]) if self.i18n else id(item)
        try:
            return self._locations[key]
        except KeyError:
            location = self._locations[key] = self._find_location(item, force_lang_code)
            return location

    def _find_location(self, item, force_lang_code):
        return super()._location(item, force_lang_code)

    @cached_property
    def paginator(self):
        if not self.i18n:
            return KeptPagePaginator(self.items(), ITEMS_PER_PAGE)
        return KeptLanguagePaginator(self.items(), ITEMS_PER_PAGE, self._languages())

    def lastmod(self, item):
        return getattr(item, "last_changed", None)

    def rows_key(self, number):
        """Return a digest of what page ``number`` is written from, or None if it is not kept
        by its rows. Raises ``EmptyPage`` and ``PageNotAnInteger`` as ``page()`` does."""
        return None

    def page_rows(self, number):
        """Return the rows of page ``number``, each once (not once a language)."""
        rows = self.paginator.page(number).object_list
        if self.i18n:
            rows = [row for row, _language in rows[:: len(self._languages())]]
        return rows


class HistorySitemap(PortalSitemap):
    """A section of the rows of ``queryset()``, each with its last change."""

    model = None
    related = ()

    def queryset(self):
        return self.model.objects.published()

    def items(self):
        rows = self.queryset()
        if self.related:  # select_related() with no fields is deprecated (Django 6.1)
            rows = rows.select_related(*self.related)
        # A queryset: the paginator counts it, then takes one page's slice.
        return rows.annotate(last_changed=last_changed(self.model)).order_by("pk")

    def rows_key(self, number):
        # A page's addresses are its rows' (and their forums'), its dates their last changes.
        memo = {}
        digests = "\0".join(content_digest(row, memo) for row in self.page_rows(number))
        return hashlib.blake2b(digests.encode(), digest_size=16).hexdigest()


class ForumSitemap(HistorySitemap):
    model = Forum
    tables = (Forum,)


class SessionSitemap(HistorySitemap):
    model = Session
    related = ("forum",)
    tables = (Session, Forum)


class QuestionSitemap(HistorySitemap):
    model = Question
    related = ("forum",)
    tables = (Question, Forum)


class ThemeSitemap(HistorySitemap):
    model = Theme
    related = ("forum",)
    tables = (Theme, Forum)


class SpeakerSitemap(HistorySitemap):
    model = Speaker
    tables = PEOPLE_TABLES


class InstitutionSitemap(HistorySitemap):
    model = Institution
    tables = PEOPLE_TABLES


class SourceSitemap(HistorySitemap):
    model = SourceDocument  # public when a public position cites it: kept per generation

    def queryset(self):
        return SourceDocument.objects.published()


class PositionSitemap(PortalSitemap):
    def __init__(self):
        super().__init__()
        self._permalinks = {}  # {language: (the address before the id, after it)}

    def items(self):
        # Tuples, not model instances with deferred fields, which took most of the time of
        # reading a page; published() less the few roles that are not public, which
        # lets PostgreSQL walk the ids in order rather than sort every position
        # (bench/README.md, "Session 23").
        return (
            Position.objects.filter(status_q())
            .exclude(appearance__in=hidden_appearances())
            .values_list("pk", "updated_at", named=True)
            .order_by("pk")
        )

    @cached_property
    def paginator(self):
        return IdRangePaginator(
            self.items(), ITEMS_PER_PAGE, self._languages() if self.i18n else None
        )

    def lastmod(self, item):
        return item.updated_at

    def rows_key(self, number):
        # A page lists its rows' ids and dates, in each language: nothing else to digest.
        rows = self.page_rows(number)
        return hashlib.blake2b(repr(rows).encode(), digest_size=16).hexdigest()

    def _find_location(self, item, force_lang_code):
        # A permalink is its language's address with the id in it: reversed once a language,
        # not 15,000 times a page under translation.override().
        language = (force_lang_code or item[1]) if self.i18n else None
        try:
            head, tail = self._permalinks[language]
        except KeyError:
            with translation.override(language):
                address = reverse("proceedings:position-detail", args=[PLACEHOLDER_ID])
            head, _id, tail = address.partition(str(PLACEHOLDER_ID))
            self._permalinks[language] = head, tail
        return f"{head}{(item[0] if self.i18n else item).pk}{tail}"


class SectorSitemap(PortalSitemap):
    tables = PEOPLE_TABLES

    def items(self):
        public = Institution.objects.published().order_by().values_list("sector", flat=True)
        present = set(public.distinct())
        return [value for value in Sector.values if value in present]

    def location(self, item):
        return reverse("proceedings:sector-detail", args=[item])


class TagSitemap(PortalSitemap):
    def items(self):
        tagged = Position.objects.published().filter(tags=OuterRef("pk"))
        return Tag.objects.filter(Exists(tagged)).order_by("slug")

    def location(self, item):
        return reverse("proceedings:tag-detail", args=[item.slug])


class ListSitemap(PortalSitemap):
    """The home page and the lists of forums, speakers, institutions, sectors and tags."""

    tables = ()

    def items(self):
        return [
            "proceedings:home",
            "proceedings:forum-list",
            "proceedings:speaker-list",
            "proceedings:institution-list",
            "proceedings:sector-list",
            "proceedings:tag-list",
        ]

    def location(self, item):
        return reverse(item)


SITEMAPS = {
    "pages": ListSitemap,
    "forums": ForumSitemap,
    "sessions": SessionSitemap,
    "questions": QuestionSitemap,
    "themes": ThemeSitemap,
    "positions": PositionSitemap,
    "speakers": SpeakerSitemap,
    "institutions": InstitutionSitemap,
    "sectors": SectorSitemap,
    "tags": TagSitemap,
    "sources": SourceSitemap,
}


def _site(request):
    """Return the ``site`` and ``protocol`` Sitemap.get_urls() takes, from DJANGO_SITE_URL."""
    site = SimpleNamespace(domain=site_domain(request))
    return site, site_origin(request).partition("://")[0]


def index(request):
    """Return ``/sitemap.xml``: every page of every section with a public page (a COUNT per
    section, none for the lists), counted once a content generation, and those of a section
    whose rows are not positions kept by the stamp of its tables (``tables``): a corrected
    quote has them counted again."""
    site, protocol = _site(request)

    def section_pages():
        return [
            path
            for name, section in SITEMAPS.items()
            for path in (
                _section_pages(name, section)
                if section.tables is None
                else TableRows(request, section.tables).kept(
                    f"sitemap-pages:{name}", partial(_section_pages, name, section)
                )
            )
        ]

    entries = [
        SitemapIndexItem(f"{protocol}://{site.domain}{path}")
        for path in per_generation(request, "sitemap-pages", section_pages)
    ]
    return TemplateResponse(
        request,
        "sitemap_index.xml",
        {"sitemaps": entries},
        content_type="application/xml; charset=utf-8",
    )


def _section_pages(name, section):
    """Return the path of each page of ``section`` (none if it has no public page)."""
    location = reverse("sitemap-section", args=[name])
    paginator = section().paginator
    if not paginator.count:
        return []  # nothing public of this kind yet
    return [location if page == 1 else f"{location}?p={page}" for page in paginator.page_range]


def section(request, section):
    """Return one page (``?p=``, from 1) of one section: a 404 past the end or not a number."""
    if section not in SITEMAPS:
        raise Http404("No such sitemap section.")
    site, protocol = _site(request)
    sitemap = SITEMAPS[section]()
    number = request.GET.get("p", 1)
    try:
        digest = sitemap.rows_key(number) if request_generation(request) is not None else None
        # Kept by its rows across edits: an edit changes one page of positions, not the others.
        key = digest and fragment_key(
            "content", "sitemap", section, digest, f"{protocol}://{site.domain}"
        )
        body = cache.get(key) if key else None
        if body is None:
            # Kept as bytes: neither decoded from the cache nor encoded for the response.
            body = sitemap_xml(sitemap.get_urls(page=number, site=site, protocol=protocol))
            body = body.encode()
            if key:
                cache.set(key, body, settings.FRAGMENT_CACHE_SECONDS)
    except (EmptyPage, PageNotAnInteger) as error:
        raise Http404(f"No page {request.GET.get('p')!r} of this sitemap section.") from error
    return HttpResponse(body, content_type="application/xml; charset=utf-8")


SITEMAP_HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>\n<urlset xmlns="http://www.sitemaps.org/schemas/'
    'sitemap/0.9" xmlns:xhtml="http://www.w3.org/1999/xhtml">\n'
)


def sitemap_xml(urls):
    """Return a sitemap page of ``urls`` (``Sitemap.get_urls()``), byte for byte as Django's
    ``sitemap.xml`` template writes it.

    Not through the template: a page of 5,000 positions is 15,000 entries with 60,000
    alternates, whose rendering took 1.5 of its 3 s (bench/README.md, "Session 19").
    """
    parts = [SITEMAP_HEAD]
    for url in urls:
        parts.append(f"<url><loc>{escape(url['location'])}</loc>")
        if url["lastmod"]:
            parts.append(f"<lastmod>{_day(url['lastmod'])}</lastmod>")
        if url["changefreq"]:
            parts.append(f"<changefreq>{escape(url['changefreq'])}</changefreq>")
        if url["priority"]:
            parts.append(f"<priority>{escape(url['priority'])}</priority>")
        parts.extend(
            f'<xhtml:link rel="alternate" hreflang="{escape(alternate["lang_code"])}"'
            f' href="{escape(alternate["location"])}"/>'
            for alternate in url["alternates"]
        )
        parts.append("</url>")
    parts.append("\n</urlset>\n")
    return "".join(parts)


def _day(value):
    """The template's ``|date:"Y-m-d"``: a moment's day in the site's time zone."""
    if isinstance(value, datetime.datetime):
        value = template_localtime(value)
    return value.strftime("%Y-%m-%d")
