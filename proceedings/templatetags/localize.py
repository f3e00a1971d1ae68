"""Template filters that show content in the reader's language: see proceedings/localize.py.

``{% load localize %}``, then ``loc``, ``loc_text``, ``loc_lang``, ``loc_alt``, ``loc_pair``,
``in_script``, ``rendition``, ``loc_role``, ``loc_role_alt``, ``facet_label``,
``{% alt_details obj "field" %}`` and ``{% language_links as x %}``; the module docstring of
proceedings/localize.py says what each returns. ``positions_count`` and ``people_count`` put a
number in words ("3 則觀點"), as ``{% blocktranslate count %}`` would, for rows of long lists.
"""

import html
from dataclasses import dataclass
from functools import lru_cache

from django import template
from django.template.defaultfilters import linebreaks_filter as linebreaks
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.utils.translation import get_language, ngettext
from django.utils.translation import gettext as _
from django_countries import countries

from forum_portal.languages import PageLanguages
from forum_portal.languages import language_links as _language_links

from .. import localize

register = template.Library()


@register.filter
def loc(obj, field):
    """Return ``obj.<field>`` in the reader's language as HTML (``<span lang>`` if needed)."""
    return localize.as_html(localize.localized(obj, field))


@register.filter
def loc_text(obj, field):
    """Return ``obj.<field>`` in the reader's language as plain text."""
    return localize.localized(obj, field).text


@register.filter
def loc_lang(obj, field):
    """Return the BCP 47 tag of ``obj|loc_text:field``."""
    return localize.localized(obj, field).lang


@register.filter
def loc_alt(obj, field):
    """Return the other version of ``obj.<field>`` as HTML with its ``lang``, or ""."""
    alternative = localize.alternative(obj, field)
    if not alternative:
        return ""
    return format_html('<span lang="{}">{}</span>', alternative.lang, alternative.text)


@register.filter
def loc_pair(obj, field):
    """Return ``loc`` followed by ``loc_alt`` in a ``<span class="alt">``."""
    shown = localize.as_html(localize.localized(obj, field))
    alternative = localize.alternative(obj, field)
    if not alternative:
        return shown
    return format_html(
        '{} <span class="alt" lang="{}">{}</span>', shown, alternative.lang, alternative.text
    )


@register.filter
def in_script(text):
    """Return original-content ``text`` in the reader's Chinese script (plain text)."""
    return localize.in_reader_script(str(text or "")).text


@register.filter
def rendition(position):
    """Return the ``localize.Rendition`` of ``position`` for this reader."""
    return localize.rendition(position)


@register.filter
def country_name(code):
    """Return the name of the ISO 3166-1 country ``code`` in the reader's language (CN → China)."""
    return countries.name(code) or code


@register.filter
def converted_to(positions):
    """Return the script some of ``positions`` are converted to on this page, or "".

    ``zh-Hans`` or ``zh-Hant`` when at least one rendition is a conversion; a note that says
    quotes are converted shows only when that is so.
    """
    for position in positions:
        shown = localize.rendition(position)
        if shown.kind == localize.CONVERTED:
            return shown.lang
    return ""


@register.filter
def loc_role(appearance):
    """Return the role of ``appearance`` in the reader's language, as HTML (no links)."""
    return localize.as_html(localize.role(appearance))


@register.filter
def loc_role_alt(appearance):
    """Return the other version of the role (as printed, or English) as HTML, or ""."""
    alternative = localize.role_alternative(appearance)
    if not alternative:
        return ""
    return format_html('<span lang="{}">{}</span>', alternative.lang, alternative.text)


@register.simple_tag
def alt_details(obj, field):
    """Return a folded ``<details>`` with the other version of a long field, or "".

    "In English" on Chinese pages, "Original (Chinese)" on English pages; the text keeps its
    paragraphs (``linebreaks``, escaped).
    """
    alternative = localize.alternative(obj, field)
    if not alternative:
        return ""
    if localize.reader_language() == localize.ENGLISH:
        label = _("Original (Chinese)")
    else:
        label = _("In English")
    return format_html(
        '<details class="in-english"><summary>{}</summary><div lang="{}">{}</div></details>',
        label,
        alternative.lang,
        linebreaks(alternative.text, autoescape=True),
    )


# Facets whose values show their other-language label beside them (themes and questions are
# too long for that in a list).
_PAIRED_FACETS = frozenset({"speaker", "institution", "forum", "tag"})


@register.filter
def facet_label(value, facet):
    """Return the label of a search facet value (or filter chip) in the reader's language.

    ``value`` has ``label`` and ``label_en`` (``FacetValue``, ``FilterChip``); HTML, with the
    other-language label in ``<span class="alt">`` for people, institutions, forums and tags.
    """
    shown, alternative = localize.facet_label(value.label, value.label_en, facet)
    html = localize.as_html(shown)
    if alternative and facet in _PAIRED_FACETS:
        return format_html(
            '{} <span class="alt" lang="{}">{}</span>', html, alternative.lang, alternative.text
        )
    return html


@lru_cache(maxsize=20_000)
def _facet_label_html(label, label_en, facet, language):
    """Return ``facet_label()`` of a label in ``language`` (the active one: part of the key).

    Kept in the process: the same speakers, themes and tags label the facets of every search,
    and localising each (script conversion, escaping) was a fifth of a search page's rendering.
    """
    return facet_label(FacetLabel(label, label_en), facet)


@dataclass(frozen=True)
class FacetLabel:
    label: str
    label_en: str


@register.simple_tag
def facet_values(links, facet):
    """Return the ``<li>`` of each of a search facet's ``links`` (``FacetLink``), as HTML.

    A tag for the list rather than a partial included per value: a search page lists up to 230
    values (nine facets of up to 50), which took the template engine about a third of the page's
    rendering time (bench/README.md).
    """
    # Each value escaped as format_html() would (html.escape(), what escape() calls), without
    # its lazy-string checks on every argument: they were a tenth of a new search's time.
    remove = html.escape(str(_("Remove this filter")))
    language = get_language()
    items = []
    for link in links:
        value = link.value
        label = _facet_label_html(str(value.label), str(value.label_en), facet, language)
        url = html.escape(link.url)
        if value.selected:
            items.append(
                f'\n<li class="is-selected"><a href="{url}" aria-current="true" title="{remove}">'
                f'<span aria-hidden="true">✓ </span>{label}</a> <span class="count">{value.count:d}'
                "</span></li>\n"
            )
        else:
            items.append(
                f'\n<li><a href="{url}">{label}</a> <span class="count">{value.count:d}'
                "</span></li>\n"
            )
    return mark_safe("".join(items))  # noqa: S308 - every value in it is escaped or HTML


@register.simple_tag(takes_context=True)
def language_links(context):
    """Return the ``PageLanguages`` (switcher links, hreflang alternates) of this page."""
    request = context.get("request")
    if request is None:
        return PageLanguages([], [])
    return _language_links(request)


# Counts in words, for long lists: ``{% blocktranslate count %}`` renders its own template for
# each row, half of a list of 5,000 people's rendering (bench/README.md, "Session 19"). Each
# filter calls ngettext() with the tag's msgids (so the catalogues' entries are the same and
# makemessages finds them here too), once per language and number.
@register.filter
def positions_count(count):
    """``{{ counter }} position`` / ``{{ counter }} positions``, in the reader's language."""
    return _positions_count(get_language(), count)


@lru_cache(maxsize=4096)
def _positions_count(language, count):  # language: the active one, a key of the cache
    return ngettext("%(counter)s position", "%(counter)s positions", count) % {"counter": count}


@register.filter
def people_count(count):
    """``{{ counter }} person`` / ``{{ counter }} people``, in the reader's language."""
    return _people_count(get_language(), count)


@lru_cache(maxsize=4096)
def _people_count(language, count):  # language: the active one, a key of the cache
    return ngettext("%(counter)s person", "%(counter)s people", count) % {"counter": count}
