"""
Tags for what other sites and tools read from a page: canonical URL, OpenGraph locale,
JSON-LD, Highwire Press citation meta tags and the citations of a position.

None of them queries the database: they read rows the view fetched (see structured_data.py).
"""

from dataclasses import dataclass

from django import template
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.http import urlencode
from django.utils.safestring import mark_safe

from forum_portal.site import absolute_url

from .. import localize, structured_data
from ..citations import ORIGINAL, Citation, citation_data, citations, key_phrase_citations
from ..search.facets import FACETS

register = template.Library()

# The search page's state lives in its query string; every other page's canonical URL has none
# (tracking parameters, ?order=, typos: one page, one address).
SEARCH_PARAMS = ("q", *FACETS, "sort", "page")

# OpenGraph wants language_TERRITORY. Traditional and Simplified Chinese are scripts, not
# territories; these are the locales Facebook and others know them by.
OG_LOCALES = {"zh-hant": "zh_TW", "zh-hans": "zh_CN", "en": "en_US"}


@register.simple_tag(takes_context=True)
def canonical_url(context, keep=""):
    """Return the absolute URL of this page without its query string ("" without a request).

    ``keep="search"`` keeps the parameters that make a search page what it is, in a fixed order.
    """
    request = context.get("request")
    if request is None:
        return ""
    url = absolute_url(request.path, request)
    if keep == "search":
        params = [(name, value) for name in SEARCH_PARAMS for value in request.GET.getlist(name)]
        if params:
            url += "?" + urlencode(params)
    return url


@register.simple_tag(takes_context=True)
def absolute(context, path):
    """Return ``path`` as an absolute URL on this site."""
    return absolute_url(path, context.get("request"))


@register.filter
def og_locale(language_code):
    return OG_LOCALES.get(language_code, language_code.replace("-", "_"))


@register.filter
def json_ld(data):
    """Return ``data`` as a JSON-LD script element, escaped for HTML."""
    return structured_data.json_ld_script(data)


@register.simple_tag(takes_context=True)
def forum_json_ld(context, forum, sessions):
    return structured_data.json_ld_script(
        structured_data.forum_event(forum, sessions, context.get("request"))
    )


@register.simple_tag(takes_context=True)
def session_json_ld(context, session):
    return structured_data.json_ld_script(
        structured_data.session_event(session, context.get("request"))
    )


@register.simple_tag(takes_context=True)
def speaker_json_ld(context, speaker, appearances):
    """Person with the first (latest) of ``appearances`` as the current role."""
    latest = next(iter(appearances), None)
    return structured_data.json_ld_script(
        structured_data.person(speaker, latest, context.get("request"))
    )


@register.simple_tag(takes_context=True)
def position_json_ld(context, position):
    return structured_data.json_ld_script(
        structured_data.quotation(position, context.get("request"))
    )


@dataclass(frozen=True)
class ScriptCitation:
    """A citation written in the original script, shown converted to the reader's script."""

    citation: Citation
    text: str
    html: str
    lang: str

    def __getattr__(self, name):
        return getattr(self.citation, name)


def in_reader_script(citation):
    """Return ``citation`` converted to Simplified for a Simplified page, when it is Chinese.

    Only the styles written in the original's script (GB/T 7714, a mainland standard whose
    readers write Simplified) follow the page; APA and Chicago reproduce the title as
    published, and the reference-manager records hold the data as published.
    """
    if (
        citation.format.written_in != ORIGINAL
        or localize.reader_language() != localize.SIMPLIFIED
        or localize.family(citation.lang) != localize.TRADITIONAL
    ):
        return citation
    html = str(citation.html).replace(f'lang="{citation.lang}"', f'lang="{localize.SIMPLIFIED}"')
    return ScriptCitation(
        citation,
        text=localize.to_simplified(citation.text),
        html=mark_safe(localize.to_simplified(html)),  # noqa: S308 (escaped, then converted)
        lang=localize.SIMPLIFIED,
    )


@register.simple_tag(takes_context=True, name="key_phrase_citations")
def key_phrase_citations_tag(context, position, style="apa"):
    """Return ``[("kp-1", phrase, Citation)]``: each key phrase of ``position``, cited in ``style``.

    The phrases are the ones ``for_listing()`` read (``listed_key_phrases``); converted on a
    Simplified page as ``position_citations`` converts.
    """
    request = context.get("request")
    url = absolute_url(position.get_absolute_url(), request)
    data = citation_data(position, url=url, accessed=timezone.localdate())
    phrases = position.listed_key_phrases
    return [
        (anchor, phrase, in_reader_script(citation))
        for phrase, (anchor, citation) in zip(
            phrases, key_phrase_citations(data, phrases, style), strict=True
        )
    ]


@register.simple_tag(takes_context=True)
def position_citations(context, position):
    """Return the ``Citation`` of ``position`` in every format, accessed today.

    On a Simplified page the styles written in the original script are converted.
    """
    request = context.get("request")
    url = absolute_url(position.get_absolute_url(), request)
    data = citation_data(position, url=url, accessed=timezone.localdate())
    return [in_reader_script(citation) for citation in citations(data)]


@register.simple_tag(takes_context=True)
def highwire_meta(context, position):
    """Return the Highwire Press ``citation_*`` meta tags Google Scholar and Zotero read."""
    request = context.get("request")
    url = absolute_url(position.get_absolute_url(), request)
    data = citation_data(position, url=url, accessed=timezone.localdate())
    tags = [
        ("citation_title", data.title),
        ("citation_author", ", ".join(filter(None, [data.family, data.given]))),
    ]
    if data.starts:
        day = data.starts.strftime("%Y/%m/%d")
        tags += [("citation_date", day), ("citation_publication_date", day)]
    else:
        tags += [("citation_date", str(data.year)), ("citation_publication_date", str(data.year))]
    tags += [
        ("citation_conference_title", data.forum_en or data.forum),
        ("citation_publisher", data.source_publisher),
        ("citation_language", data.language),
        ("citation_public_url", url),
        ("citation_abstract_html_url", url),
    ]
    tags += [("citation_keywords", theme.title) for theme in position.listed_themes]
    tags += [("citation_keywords", tag.name) for tag in position.listed_tags]
    return format_html_join(
        "\n", '<meta name="{}" content="{}">', ((name, value) for name, value in tags if value)
    )


@register.simple_tag
def feed_alternate(title, atom_url):
    """Return the ``<link rel="alternate">`` of an Atom feed."""
    return format_html(
        '<link rel="alternate" type="application/atom+xml" title="{}" href="{}">', title, atom_url
    )


@register.simple_tag(takes_context=True)
def search_feed_url(context, feed_format):
    """Return the URL of the feed of this search: the page's query string minus the page."""
    request = context["request"]
    params = [
        (name, value)
        for name in SEARCH_PARAMS
        if name != "page"
        for value in request.GET.getlist(name)
    ]
    url = reverse("proceedings:search-feed", args=[feed_format])
    return url + ("?" + urlencode(params) if params else "")
