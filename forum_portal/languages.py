"""
The reader's language in URLs: every public page lives under ``/zh-hant/``, ``/zh-hans/`` and
``/en/`` (``i18n_patterns`` in forum_portal/urls.py); admin, health checks, the API, the sitemap
and robots.txt stay unprefixed.

- A bare address (``/``, or a page URL from before the prefixes) is answered by
  ``LocaleMiddleware`` with a redirect to the reader's language: the language cookie (set by
  the switcher), else ``Accept-Language`` (zh-CN/zh-SG/zh-Hans → zh-hans; zh-TW/zh-HK/zh-Hant
  and plain zh → zh-hant; en-* → en), else ``LANGUAGE_CODE`` (zh-hant).
- ``language_links(request)`` lists the same page in each language, for the header's switcher
  and the ``<link rel="alternate" hreflang>`` of every page (``{% language_links as x %}`` in
  proceedings/templatetags/localize.py; templates/base.html uses both).
- ``choose_language`` is where the switcher's links go: it remembers the choice in the language
  cookie and redirects to the same page in that language. A plain GET link, so it works without
  JavaScript and keeps pages free of CSRF tokens (a form would set the CSRF cookie, and pages
  that set a cookie are never stored by the page cache).

Pages of different languages never share a URL, so they never share a cache entry; the
redirects of bare addresses depend on the reader and are never stored (forum_portal/cache.py).
"""

from dataclasses import dataclass
from functools import cache, lru_cache
from urllib.parse import urlencode, urlsplit, urlunsplit

from django.conf import settings
from django.http import Http404, HttpResponseRedirect
from django.urls import (
    Resolver404,
    get_script_prefix,
    get_urlconf,
    resolve,
    reverse,
    translate_url,
)
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache

# Each language's name in that language: a switcher reads the same in every interface language,
# so these are not translated.
NATIVE_NAMES = {"zh-hant": "繁體中文", "zh-hans": "简体中文", "en": "English"}


@cache
def bcp47(code):
    """Return a Django language code as a BCP 47 tag (``zh-hant`` → ``zh-Hant``)."""
    language, _sep, rest = (code or "").partition("-")
    if len(rest) == 4 and rest.isalpha():
        return f"{language}-{rest.title()}"
    return code


def language_codes():
    return [code for code, _name in settings.LANGUAGES]


def split_language_prefix(path):
    """Return ``(language code, path without it)``; ``(None, path)`` for an unprefixed path.

    ``/en/forums/x/`` → ``("en", "/forums/x/")``; ``/zh-hans/`` → ``("zh-hans", "/")``.
    """
    for code in language_codes():
        prefix = f"/{code}"
        if path == prefix or path.startswith(prefix + "/"):
            return code, path[len(prefix) :] or "/"
    return None, path


def with_language_prefix(path, code):
    """Return the unprefixed local ``path`` under language ``code``'s prefix."""
    return f"/{code}{path}"


def translate_path(url, code):
    """Return the local URL of the same page in language ``code`` (query string kept), or None.

    ``translate_url`` resolves the path and reverses it in the other language, so it is right
    even if URL patterns are ever translated. A path that resolves to no page gives None.
    """
    parts = urlsplit(url)
    urlconf = get_urlconf() or settings.ROOT_URLCONF
    # Any address can be asked for: only the short ones, which pages have, are remembered.
    translate = _remembered_path if len(parts.path) <= 200 else _translated_path
    path = translate(urlconf, get_script_prefix(), parts.path, code)
    return None if path is None else urlunsplit(("", "", path, parts.query, ""))


def _translated_path(urlconf, prefix, path, code):
    """Return ``translate_path()`` of a path without a query string.

    ``prefix``, the script prefix that ``reverse()`` puts first, is not read here: it keys the
    remembered answers (``_remembered_path``).
    """
    current, rest = split_language_prefix(path)
    if current is None:
        # An unprefixed address is the same page under any prefix.
        current, path = code, with_language_prefix(rest, code)
    try:
        # resolve() only matches the prefix of the active language.
        with translation.override(current):
            resolve(path, urlconf)
            return translate_url(path, code)
    except Resolver404:
        return None


# Every page translates its own path for the switcher, a resolve() and a reverse() a language
# (a millisecond of a search page). The answer is a pure function of the URLconf, the script
# prefix and the path, as for forum_portal.links.reverse(): remembered per process.
_remembered_path = lru_cache(maxsize=4096)(_translated_path)


@dataclass(frozen=True)
class LanguageLink:
    """The current page in one language, for the switcher."""

    code: str  # Django's code: zh-hant
    tag: str  # BCP 47: zh-Hant
    name: str  # in that language: 繁體中文
    url: str  # local URL of the page in that language
    switch_url: str  # the switcher's link: remember the choice, then go to url
    current: bool


@dataclass(frozen=True)
class PageLanguages:
    """``links``: the switcher's; ``alternates``: ``(hreflang, absolute URL)`` for the
    ``<link rel="alternate">`` of the page, x-default last (empty for an unknown path)."""

    links: list
    alternates: list


def language_links(request):
    """Return the ``PageLanguages`` of the page ``request`` asks for.

    Each language's URL keeps the query string. x-default is the unprefixed address, which
    picks the reader's language. For a path that resolves to no view (a 404 at an unknown
    address) the switcher goes to each language's home page and there are no alternates.
    """
    current = translation.get_language()
    full_path = request.get_full_path()
    links, resolved = [], True
    for code in language_codes():
        url = translate_path(full_path, code)
        if url is None:
            resolved = False
            with translation.override(code):
                url = reverse("proceedings:home")
        links.append(
            LanguageLink(
                code=code,
                tag=bcp47(code),
                name=NATIVE_NAMES.get(code, code),
                url=url,
                switch_url=f"{reverse('choose-language', args=[code])}?{urlencode({'next': url})}",
                current=code == current,
            )
        )
    alternates = []
    if resolved:
        alternates = [(link.tag, request.build_absolute_uri(link.url)) for link in links]
        _code, unprefixed = split_language_prefix(request.path)
        query = request.META.get("QUERY_STRING", "")
        alternates.append(
            ("x-default", request.build_absolute_uri(unprefixed + (f"?{query}" if query else "")))
        )
    return PageLanguages(links, alternates)


@never_cache
def choose_language(request, code):
    """Remember ``code`` as the reader's language (cookie), then show ``?next=`` in it.

    ``next`` must be a local URL; anything else (another site, garbage) goes to the home page
    of the chosen language.
    """
    if code not in language_codes():
        raise Http404("No such language.")
    next_url = request.GET.get("next", "")
    target = None
    if next_url.startswith("/") and url_has_allowed_host_and_scheme(
        next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        target = translate_path(next_url, code)
    if target is None:
        with translation.override(code):
            target = reverse("proceedings:home")
    response = HttpResponseRedirect(target)
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        code,
        max_age=settings.LANGUAGE_COOKIE_AGE,
        path=settings.LANGUAGE_COOKIE_PATH,
        domain=settings.LANGUAGE_COOKIE_DOMAIN,
        secure=settings.LANGUAGE_COOKIE_SECURE,
        httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
        samesite=settings.LANGUAGE_COOKIE_SAMESITE,
    )
    return response
