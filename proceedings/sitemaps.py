"""
The sitemap (``/sitemap.xml``): every public page, with the date its row last changed.

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
from django.db.models import Exists, OuterRef, Subquery
from django.template.response import TemplateResponse
from django.urls import reverse
from taggit.models import Tag

from forum_portal.site import site_domain, site_origin
from speakers.models import Institution, Sector, Speaker

from .models import Forum, Position, Question, Session, SourceDocument, Theme
from .views import public_sources


def last_changed(model):
    """Return a subquery of the date of the last history record of each ``model`` row."""
    history = model.history.model.objects.filter(id=OuterRef("pk")).order_by("-history_date")
    return Subquery(history.values("history_date")[:1])


class PortalSitemap(sitemaps.Sitemap):
    alternates = True
    x_default = True

    @property
    def i18n(self):
        return is_language_prefix_patterns_used(settings.ROOT_URLCONF)[0]

    def lastmod(self, item):
        return getattr(item, "last_changed", None)


class HistorySitemap(PortalSitemap):
    """A section of the rows of ``queryset()``, each with its last change."""

    model = None
    related = ()

    def queryset(self):
        return self.model.objects.published()

    def items(self):
        rows = self.queryset().select_related(*self.related)
        # A list: the paginator would count a queryset, then slice it (two queries).
        return list(rows.annotate(last_changed=last_changed(self.model)).order_by("pk"))


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
        return public_sources(SourceDocument.objects.all())


class PositionSitemap(PortalSitemap):
    def items(self):
        return list(Position.objects.published().order_by("pk"))

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
        return list(Tag.objects.filter(Exists(tagged)).order_by("slug"))

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


def sitemap(request):
    """Return ``sitemap.xml``: every section, one query each (sectors: one, lists: none).

    One file while the site is far below the protocol's 50,000 URLs; past that, Django's
    ``sitemaps.views.index`` splits it by section.
    """
    site = SimpleNamespace(domain=site_domain(request))
    protocol = site_origin(request).partition("://")[0]
    urls = []
    for section in SITEMAPS.values():
        urls.extend(section().get_urls(site=site, protocol=protocol))
    return TemplateResponse(
        request, "sitemap.xml", {"urlset": urls}, content_type="application/xml; charset=utf-8"
    )
