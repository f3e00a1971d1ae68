"""The search page's position hits, rendered in Python: ``{% load hits %}{% search_hits hits %}``.

A page shows 20 hits, each a dozen lookups, filters and translated labels; through the template
engine a hit cost about 1 ms (its variable resolution, autoescaping and context pushes), more
than the search that found it. ``format_html`` escapes every value as the template did, and
the labels are the template's own msgids, so the translations are unchanged. (Markup in
Python rather than a template departs from ../shared/STYLE.md for that cost alone, as
cards.py does.) ``_html`` is ``format_html`` without its check of every value for lazy
strings, which was a fifth of a hit's rendering.
"""

import html

from django import template
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from .. import localize
from .cards import fidelity_badge
from .localize import loc, loc_pair
from .portal import linked_role

register = template.Library()


def _escaped(value):
    """Return ``conditional_escape(value)``: HTML as it is, anything else escaped."""
    if hasattr(value, "__html__"):
        return value.__html__()
    return html.escape(str(value))


def _html(format_string, **values):
    """Return ``format_html(format_string, **values)`` (see the module)."""
    return SafeString(
        format_string.format(**{name: _escaped(value) for name, value in values.items()})
    )


@register.simple_tag
def search_hits(hits):
    """Return the ``<li>`` of each ``search_views.ShownHit``, as ``search.html`` lists them."""
    return mark_safe("".join(_hit(hit) for hit in hits))  # noqa: S308 - _html() pieces


def _note(snippets):
    if snippets.main_kind == localize.CONVERTED:
        if snippets.main_lang == "zh-Hans":
            text = _("Converted from Traditional Chinese")
        else:
            text = _("Converted to Traditional characters")
    elif snippets.main_kind == localize.TRANSLATED:
        text = _("Translation")
    else:
        return ""
    return _html('<p class="search-hit__note">{text}</p>', text=text)


def _other(snippets):
    if not snippets.other:
        return ""
    label = _("As spoken") if snippets.other_kind == localize.ORIGINAL else _("Translation")
    return _html(
        '<p class="search-hit__translation"><span class="label">{label}</span> '
        '<span lang="{lang}">{text}</span></p>',
        label=label,
        lang=snippets.other_lang,
        text=snippets.other,
    )


def _matched(hit):
    if not hit.matched_in:
        return ""
    return _html(
        '<p class="search-hit__matched"><span class="label">{label}</span> {fields}</p>',
        label=_("Matched in"),
        fields=" · ".join(hit.matched_labels),
    )


def _themes(position):
    themes = position.listed_themes
    if not themes:
        return ""
    links = SafeString(
        " · ".join(
            _html(
                '<a href="{url}">{title}</a>',
                url=theme.get_absolute_url(),
                title=loc(theme, "title"),
            )
            for theme in themes
        )
    )
    return _html(
        '<p class="search-hit__themes"><span class="label">{label}</span> {links}</p>',
        label=_("Themes"),
        links=links,
    )


def _hit(hit):
    position, snippets = hit.position, hit.snippets
    appearance = position.appearance
    speaker = appearance.speaker
    return _html(
        "<li>"
        '<article class="position search-hit position--{fidelity}">'
        '<p class="position__badges">'
        "{badge}</p>"
        '<p class="search-hit__snippet" lang="{main_lang}">{main}</p>'
        "{note}{other}{matched}"
        '<p class="attribution">'
        '<a class="attribution__name" href="{speaker_url}">{speaker_name}</a> '
        '<span class="attribution__role">{role}</span></p>'
        '<footer class="position__footer">{themes}'
        '<p class="position__links"><span class="search-hit__forum">{forum}</span> '
        '<a href="{url}" rel="bookmark">{read}'
        '<span class="visually-hidden"> ({speaker_short})</span></a></p>'
        "</footer></article></li>\n",
        fidelity=position.fidelity,
        badge=fidelity_badge(position),
        main_lang=snippets.main_lang,
        main=snippets.main,
        note=_note(snippets),
        other=_other(snippets),
        matched=_matched(hit),
        speaker_url=speaker.get_absolute_url(),
        speaker_name=loc_pair(speaker, "name"),
        role=linked_role(appearance),
        themes=_themes(position),
        forum=loc(appearance.session.forum, "name"),
        url=position.get_absolute_url(),
        read=_("Read in full"),
        speaker_short=loc(speaker, "name"),
    )
