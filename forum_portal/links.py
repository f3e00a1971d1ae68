"""``reverse()`` for the URLs every card repeats, remembered per process.

A theme page of 50 cards reversed about 550 URLs (a speaker, a role's institution, each theme,
the permalink…), 9 % of its rendering time (bench/README.md). A URL is a pure function of the
URLconf, the script prefix, the active language (``i18n_patterns``) and the view's name and
arguments, so the answer for those is kept; an edit that changes a slug changes the arguments.
"""

from functools import lru_cache

from django.conf import settings
from django.urls import get_script_prefix, get_urlconf
from django.urls import reverse as django_reverse
from django.utils.translation import get_language


@lru_cache(maxsize=65536)
def _reversed(urlconf, prefix, language, viewname, args, kwargs):
    return django_reverse(viewname, urlconf=urlconf, args=args, kwargs=dict(kwargs) or None)


def reverse(viewname, args=(), kwargs=None):
    """Return ``django.urls.reverse(viewname, args=args, kwargs=kwargs)``, remembered (see the
    module)."""
    # The URLconf: a request's own (request.urlconf), else ROOT_URLCONF, which tests override.
    urlconf = get_urlconf() or settings.ROOT_URLCONF
    kwargs = tuple(sorted(kwargs.items())) if kwargs else ()
    return _reversed(urlconf, get_script_prefix(), get_language(), viewname, tuple(args), kwargs)
