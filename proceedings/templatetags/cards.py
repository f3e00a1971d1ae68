"""A position's card and its parts, rendered in Python: ``{% load cards %}``.

    {% position_card %}                    the card of ``position`` in the context, with the
                                           options includes/_position_card.html documents
    {% position_text position r class_name %}  its text as this reader reads it
    {% translation position %}             its English translation, one click away
    {% fidelity_badge position %}  {% unreviewed_marker position %}  {% status_label status %}

A theme page lists 50 cards and each card is a few dozen lookups, filters, includes and
translated labels: through the template engine a card cost about 0.9 ms before the fragment
cache kept it (staff, and the first reader after an edit, pay that on every card). These
functions build the same markup with ``format_html``, which escapes every value as the
templates did; the labels keep the templates' msgids, so the translations are unchanged.
That departs from shared fragments as templates (../shared/STYLE.md, "Templates") for the
cost alone: the includes in templates/includes/ stay the way pages call them, one line each.
"""

import re
from functools import lru_cache

from django import template
from django.template.defaultfilters import linebreaks_filter as linebreaks
from django.utils.html import escape, format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import get_language, gettext_noop
from django.utils.translation import gettext as _

from forum_portal import links
from forum_portal.site import absolute_url

from .. import localize
from ..models import Position
from .keyphrases import key_phrases, phrase_texts, phrase_translations, shown_phrases
from .localize import loc, loc_pair
from .portal import linked_role, resolve_option

register = template.Library()

# status -> its msgid, which is also its English name
_STATUS_LABELS = {
    "draft": gettext_noop("Draft"),
    "review": gettext_noop("In review"),
    "withdrawn": gettext_noop("Withdrawn"),
}
_NOT_PUBLIC = gettext_noop("Not public")


@register.simple_tag
def status_label(status):
    """A status in the interface language, followed by its English name: "草稿 Draft".

    ``status``: a Status value; anything else reads "not public".
    """
    msgid = _STATUS_LABELS.get(status, _NOT_PUBLIC)
    if get_language() == "en":
        return _(msgid)
    return format_html('{} <span lang="en">{}</span>', _(msgid), msgid)


def status_badge(status):
    """Marks, for staff, a row in a list that the public does not see."""
    return format_html(
        '<span class="status-badge status-badge--{}">{}</span>', status, status_label(status)
    )


@register.simple_tag
def fidelity_badge(position):
    return _fidelity_badge(position.fidelity, get_language())


# Once per fidelity and language: get_FOO_display() hashes the field's choices on each call,
# for every position of a forum's matrix (bench/README.md, "Session 19").
@lru_cache(maxsize=64)
def _fidelity_badge(fidelity, language):  # language: the active one, a key of the cache
    label = dict(Position.Fidelity.choices).get(fidelity, fidelity)  # as get_FOO_display()
    return format_html('<span class="fidelity fidelity--{}">{}</span>', fidelity, label)


@register.simple_tag
def unreviewed_marker(position):
    """Says a translation nobody has checked against the text yet is a draft."""
    if not position.translation or position.translation_reviewed_by:
        return ""
    return format_html(
        '<span class="unreviewed" title="{}">{}</span>',
        _("A machine-assisted draft: nobody has checked this translation against the text yet."),
        _("Unreviewed translation"),
    )


def _text(text, phrases):
    """``text`` escaped, its key phrases marked, in paragraphs."""
    return linebreaks(key_phrases(text, phrases))


@register.simple_tag
def position_text(position, r, class_name):
    """A position's text as this reader reads it (``r``: ``position|rendition``).

    Converted or translated text says so, with the original (as spoken) one click away; the
    English translation is ``{% translation %}``'s, when ``r.offers_translation``. Key phrases
    are marked in the text as shown; who translated it is said once per page
    (includes/_translation_note.html).
    """
    element = "blockquote" if position.fidelity == position.Fidelity.VERBATIM else "div"
    html = format_html(
        '<{element} class="{}" lang="{}">{}</{element}>',
        class_name,
        r.lang,
        _text(r.text, shown_phrases(position, r)),
        element=mark_safe(element),  # noqa: S308 - one of two literal names
    )
    if r.kind in (localize.CONVERTED, localize.TRANSLATED):
        if r.kind == localize.TRANSLATED:
            note = _("Translated from %(language)s") % {"language": r.translated_from}
            action = _("Show the original, as spoken")
        else:
            if r.lang == "zh-Hans":
                note = _("Converted from Traditional Chinese")
            else:
                note = _("Converted to Traditional characters")
            action = _("Show the original")
        html += format_html(
            '\n<details class="original">\n  <summary><span class="original__note">{}</span> '
            '<span class="original__action">{}</span></summary>\n'
            '  <div class="original__text" lang="{}">{}</div>\n</details>',
            note,
            action,
            r.original_lang,
            _text(r.original, phrase_texts(position)),
        )
    elif r.untranslated:
        html += format_html(
            '\n<p class="original__untranslated">{}</p>',
            _("No English translation yet: shown as spoken."),
        )
    return html


@register.simple_tag
def translation(position):
    """The English translation, one click away, its key phrases marked."""
    return format_html(
        '<details class="translation">\n  <summary>{}</summary>\n'
        '  <div class="translation__text" lang="{}">{}</div>\n</details>',
        _("English translation"),
        position.translation_language,
        _text(position.translation, phrase_translations(position)),
    )


# The card's own id, which opens its markup.
_CARD_ID = re.compile(r'^(<article [^>]*\bid="position-\d+)"')


@register.tag
def card_id_suffix(parser, token):
    """``{% card_id_suffix suffix %}{% cardcache … %}…{% endcard_id_suffix %}``.

    Adds ``-suffix`` to the card's id (``id="position-12-outlook"``) when ``suffix`` is set: a
    page that lists a position more than once (a person's page, under each of its themes).
    Applied to the card as kept, so that the cache keeps one card a position for every listing
    of it, and a list's cards are looked up in one ``get_many`` whatever its groups.
    """
    try:
        _tag, suffix = token.split_contents()
    except ValueError:
        raise template.TemplateSyntaxError("card_id_suffix takes one argument") from None
    nodelist = parser.parse(("endcard_id_suffix",))
    parser.delete_first_token()
    return CardIdSuffixNode(nodelist, parser.compile_filter(suffix))


class CardIdSuffixNode(template.Node):
    def __init__(self, nodelist, suffix):
        self.nodelist = nodelist
        self.suffix = suffix

    def render(self, context):
        card = self.nodelist.render(context)
        suffix = resolve_option(self.suffix, context)
        if not suffix:
            return card
        return mark_safe(  # noqa: S308 - a card's markup, with an escaped suffix
            _CARD_ID.sub(lambda match: f'{match[1]}-{escape(suffix)}"', card, count=1)
        )


@register.simple_tag(takes_context=True)
def position_card(context):
    """The card of ``position``, with the context's options (includes/_position_card.html)."""
    position = context["position"]
    current_theme = context.get("current_theme")
    r = localize.rendition(position)
    draft = position.is_public is False
    badges = [fidelity_badge(position)]
    if draft:
        badges.append(status_badge(position.status))
    if position.attribution == position.Attribution.IN_CONTEXT:
        note = localize.localized(position, "attribution_note").text
        badges.append(
            format_html(
                '<span class="in-context"{}>{}</span>',
                format_html(' title="{}"', note) if note else "",
                position.get_attribution_display(),
            )
        )
    badges.append(unreviewed_marker(position))
    parts = [
        format_html(
            '<article class="position position--{}{}" id="position-{}">\n'
            '  <p class="position__badges">\n    {}\n  </p>\n',
            position.fidelity,
            " is-draft" if draft else "",
            position.pk,
            mark_safe("\n    ".join(badges)),  # noqa: S308 - format_html pieces
        ),
        position_text(position, r, "position__text"),
    ]
    if r.offers_translation:
        parts.append(translation(position))
    if not context.get("hide_speaker"):
        parts.append(_attribution(position.appearance))
    parts.append(
        format_html(
            '\n  <footer class="position__footer">\n{}{}    <p class="position__links">\n{}'
            '      <a href="{}" rel="bookmark" data-print-url="{}">{}</a>\n'
            "    </p>\n  </footer>\n</article>\n",
            "" if context.get("hide_themes") else _themes(position, current_theme),
            _tags(position),
            _source_link(position),
            position.get_absolute_url(),
            # data-print-url: printed after the link (static/css/portal.css, @media print).
            absolute_url(position.get_absolute_url(), context.get("request")),
            _("Permalink"),
        )
    )
    return mark_safe("".join(parts))  # noqa: S308 - format_html pieces


def _attribution(appearance):
    speaker, institution = appearance.speaker, appearance.institution
    sector = ""
    if institution:
        sector = format_html(
            '\n    <a class="sector-label" href="{}">{}</a>',
            links.reverse("proceedings:sector-detail", (institution.sector,)),
            institution.get_sector_display(),
        )
    return format_html(
        '\n  <p class="attribution">\n    <a class="attribution__name" href="{}">{}</a>\n'
        '    <span class="attribution__role">{}</span>{}\n  </p>',
        speaker.get_absolute_url(),
        loc_pair(speaker, "name"),
        linked_role(appearance),
        sector,
    )


def _themes(position, current_theme):
    themes = position.listed_themes
    if not (len(themes) > 1 or (themes and not current_theme)):
        return ""
    items = format_html_join(
        "",
        '<li><a href="{}">{}</a>{}</li>',
        (
            (
                theme.get_absolute_url(),
                loc(theme, "title"),
                format_html(" {}", status_badge(theme.status)) if not theme.is_published else "",
            )
            for theme in themes
            if theme != current_theme
        ),
    )
    return format_html(
        '    <div class="position__themes">\n      <span class="label">{}</span>\n'
        "      <ul>\n        {}\n      </ul>\n    </div>\n",
        _("Also under") if current_theme else _("Themes"),
        items,
    )


def _tags(position):
    tags = position.listed_tags
    if not tags:
        return ""
    items = format_html_join(
        "",
        '<li><a href="{}">{}</a></li>',
        ((links.reverse("proceedings:tag-detail", (tag.slug,)), loc(tag, "name")) for tag in tags),
    )
    return format_html(
        '    <ul class="tags" aria-label="{}">\n      {}\n    </ul>\n', _("Tags"), items
    )


def _source_link(position):
    source = position.source
    if not source:
        return ""
    fragment = f"#p{position.paragraph}" if position.paragraph else ""
    locator = f" {position.locator}" if position.paragraph else ""
    return format_html(
        '      <a href="{}{}">{}{}</a>\n', source.get_absolute_url(), fragment, _("Source"), locator
    )
