"""
The sitemap: every public page, with the date its row last changed.

``/sitemap.xml`` is a sitemap index: it lists each section's pages
(``/sitemap-<section>.xml``, then ``?p=2``…), each at most ``ITEMS_PER_PAGE`` rows, that is
three times as many URLs (one per language). The protocol allows 50,000 URLs and 50 MB a file;
with its alternates a URL entry is ~600 bytes, so a page of 15,000 URLs is ~9 MB. At 100,000
positions the single file this was before held 300,000 URLs, which search engines reject.

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

from types import SimpleNamespace

from django.conf import settings
from django.conf.urls.i18n import is_language_prefix_patterns_used
from django.contrib import sitemaps
from django.contrib.sitemaps.views import SitemapIndexItem
from django.core.paginator import EmptyPage, PageNotAnInteger, Paginator
from django.db.models import Exists, OuterRef, Subquery
from django.http import Http404
from django.template.response import TemplateResponse
from django.urls import reverse
from taggit.models import Tag

from forum_portal.site import site_domain, site_origin
from speakers.models import Institution, Sector, Speaker

from .models import Forum, Position, Question, Session, SourceDocument, Theme


def last_changed(model):
    """Return a subquery of the date of the last history record of each ``model`` row."""
    history = model.history.model.objects.filter(id=OuterRef("pk")).order_by("-history_date")
    return Subquery(history.values("history_date")[:1])


ITEMS_PER_PAGE = 5000


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


class PortalSitemap(sitemaps.Sitemap):
    alternates = True
    x_default = True

    @property
    def i18n(self):
        return is_language_prefix_patterns_used(settings.ROOT_URLCONF)[0]

    @property
    def paginator(self):
        if not self.i18n:
            return Paginator(self.items(), ITEMS_PER_PAGE)
        return LanguagePaginator(self.items(), ITEMS_PER_PAGE, self._languages())

    def lastmod(self, item):
        return getattr(item, "last_changed", None)


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


class ForumSitemap(HistorySitemap):
    model = Forum


class SessionSitemap(HistorySitemap):
    model = Session
    related = ("forum",)


class QuestionSitemap(HistorySitemap):
    model = Question
    related = ("forum",)


class ThemeSitemap(HistorySitemap):
    model = Theme
    related = ("forum",)


class SpeakerSitemap(HistorySitemap):
    model = Speaker


class InstitutionSitemap(HistorySitemap):
    model = Institution


class SourceSitemap(HistorySitemap):
    model = SourceDocument

    def queryset(self):
        return SourceDocument.objects.published()


class PositionSitemap(PortalSitemap):
    def items(self):
        return Position.objects.published().only("pk", "updated_at").order_by("pk")

    @property
    def paginator(self):
        paginator = super().paginator
        # The same number as counting items(), from an index (Position.count_published): the
        # index of sections counted every position (100 ms at 100,000 on SQLite).
        paginator.count = Position.objects.count_published()
        return paginator

    def lastmod(self, item):
        return item.updated_at


class SectorSitemap(PortalSitemap):
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
    section, none for the lists and sectors)."""
    site, protocol = _site(request)
    entries = []
    for name, section in SITEMAPS.items():
        location = f"{protocol}://{site.domain}{reverse('sitemap-section', args=[name])}"
        paginator = section().paginator
        if not paginator.count:
            continue  # nothing public of this kind yet
        for page in paginator.page_range:
            entries.append(SitemapIndexItem(location if page == 1 else f"{location}?p={page}"))
    return TemplateResponse(
        request,
        "sitemap_index.xml",
        {"sitemaps": entries},
        content_type="application/xml; charset=utf-8",
    )


def section(request, section):
    """Return one page (``?p=``, from 1) of one section: a 404 past the end or not a number."""
    if section not in SITEMAPS:
        raise Http404("No such sitemap section.")
    site, protocol = _site(request)
    try:
        urls = SITEMAPS[section]().get_urls(
            page=request.GET.get("p", 1), site=site, protocol=protocol
        )
    except (EmptyPage, PageNotAnInteger) as error:
        raise Http404(f"No page {request.GET.get('p')!r} of this sitemap section.") from error
    return TemplateResponse(
        request, "sitemap.xml", {"urlset": urls}, content_type="application/xml; charset=utf-8"
    )
