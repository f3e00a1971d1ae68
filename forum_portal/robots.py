"""The files crawlers and browsers look for at the site root: ``/robots.txt``, ``/favicon.ico``."""

from django.conf import settings
from django.http import HttpResponse, HttpResponseRedirect
from django.templatetags.static import static
from django.urls import reverse
from django.utils import translation

from .site import absolute_url

DEFAULT_ADMIN_URL = "admin/"


def disallowed_paths():
    """Return the paths crawlers are asked to leave alone.

    - The admin, at its default address only: a custom ``DJANGO_ADMIN_URL`` is chosen so that
      it is not found, and robots.txt is public (the admin's pages say noindex themselves).
    - The search page in every language: each combination of filters is a page of its own, an
      endless space for a crawler, and every result has a page of its own to index.
    """
    paths = []
    if settings.ADMIN_URL == DEFAULT_ADMIN_URL:
        paths.append("/" + DEFAULT_ADMIN_URL)
    for code, _name in settings.LANGUAGES:
        with translation.override(code):
            paths.append(reverse("proceedings:search"))
    return list(dict.fromkeys(paths))


def robots_txt(request):
    lines = ["User-agent: *", "Allow: /"]
    lines += [f"Disallow: {path}" for path in disallowed_paths()]
    lines += ["", f"Sitemap: {absolute_url(reverse('sitemap'), request)}"]
    return HttpResponse("\n".join(lines) + "\n", content_type="text/plain; charset=utf-8")


def favicon(request):
    """Redirect ``/favicon.ico`` to the icon the pages link (an SVG).

    Not permanently: the target's name carries the hash of its content (whitenoise's manifest
    storage) and changes with it.
    """
    return HttpResponseRedirect(static("img/favicon.svg"))
