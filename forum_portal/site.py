"""
The site's absolute address, for everything that leaves the page: canonical links, OpenGraph,
citations, feeds, the sitemap and robots.txt.

One rule: ``settings.SITE_URL`` (``DJANGO_SITE_URL``, e.g. ``https://forum.example.org``) when
it is set, else the scheme and host of the request (development, tests). Reading a setting
rather than the ``Site`` row keeps pages free of a database query; ``sync_site`` copies the
host into the ``Site`` row (``SITE_ID``) at every migrate, so Django's own users of the sites
framework (the admin's "View on site") name the same address.
"""

from django.conf import settings
from django.utils.encoding import iri_to_uri


def site_origin(request=None):
    """Return ``scheme://host`` of the site, or "" when neither setting nor request tells it."""
    if settings.SITE_URL:
        return settings.SITE_URL
    if request is None:
        return ""
    return f"{request.scheme}://{request.get_host()}"


def absolute_url(path, request=None):
    """Return ``path`` (from ``reverse()`` or ``get_absolute_url()``) as an absolute URL."""
    if path.startswith(("http://", "https://")):
        return path
    return iri_to_uri(site_origin(request) + path)


def site_domain(request=None):
    """Return the host (and port) part of ``site_origin``."""
    return site_origin(request).partition("://")[2]


def sync_site(sender=None, using="default", **kwargs):
    """``post_migrate`` receiver: make the ``Site`` row name ``SITE_URL``'s host, when it is set."""
    if not settings.SITE_URL:
        return
    from django.contrib.sites.models import Site

    domain = site_domain()
    Site.objects.using(using).update_or_create(
        pk=settings.SITE_ID, defaults={"domain": domain, "name": domain}
    )
