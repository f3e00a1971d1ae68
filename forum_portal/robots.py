"""The files crawlers and browsers look for at the site root: ``/robots.txt``, ``/favicon.ico``."""

from django.conf import settings
from django.http import HttpResponse, HttpResponseRedirect
from django.templatetags.static import static
from django.urls import reverse
from django.utils import translation

from .site import absolute_url

DEFAULT_ADMIN_URL = "admin/"


def search_rules():
    """Return the robots.txt rules of the search page, in every language.

    Every combination of filters, sorts and pages is a page of its own, an endless space for a
    crawler; a search for one phrase and nothing else is a page a reader may want to find. The
    longest matching rule wins (RFC 9309), so ``?q=…`` alone is allowed and ``?q=…&…`` or any
    other state is not; the page says ``noindex`` in those states too (search_views.py).
    """
    rules = []
    for code, _name in settings.LANGUAGES:
        with translation.override(code):
            path = reverse("proceedings:search")
        rules += [f"Disallow: {path}", f"Allow: {path}?q=", f"Disallow: {path}?q=*&"]
    return list(dict.fromkeys(rules))


def robots_txt(request):
    lines = ["User-agent: *", "Allow: /"]
    # The admin, at its default address only: a custom ``DJANGO_ADMIN_URL`` is chosen so that
    # it is not found, and robots.txt is public (the admin's pages say noindex themselves).
    if settings.ADMIN_URL == DEFAULT_ADMIN_URL:
        lines.append(f"Disallow: /{DEFAULT_ADMIN_URL}")
    lines += search_rules()
    lines += ["", f"Sitemap: {absolute_url(reverse('sitemap'), request)}"]
    return HttpResponse("\n".join(lines) + "\n", content_type="text/plain; charset=utf-8")


def favicon(request):
    """Redirect ``/favicon.ico`` to the icon the pages link (an SVG).

    Not permanently: the target's name carries the hash of its content (whitenoise's manifest
    storage) and changes with it.
    """
    return HttpResponseRedirect(static("img/favicon.svg"))
