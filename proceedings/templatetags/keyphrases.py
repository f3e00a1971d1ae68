"""Key phrases in a position's text, and the page-level translation note.

``{% load keyphrases %}``, then::

    {{ text|key_phrases:phrases }}     ``text`` escaped, each occurrence of each phrase (a list
                                       of strings) wrapped in <mark class="key-phrase">; safe
                                       HTML, for ``|linebreaks`` after it.
    {{ position|shown_phrases:r }}     the phrases as they occur in the rendition ``r`` shows
                                       (``position|rendition``): the English translations on an
                                       English page, converted like the text on a page that
                                       converts it, else the phrases as stored.
    {{ position|phrase_translations }} the phrases' English translations (those it has).
    {% translation_note positions as note %}  what a page of cards says once about their
                                       translations: a ``TranslationNote``.

Nothing here queries the database: the phrases are for_listing()'s ``listed_key_phrases``.
"""

from dataclasses import dataclass

from django import template
from django.db import models

from .. import localize
from ..models import Position
from ..search.highlight import mark_phrases

register = template.Library()


def _phrases_of(position):
    return getattr(position, "listed_key_phrases", None) or []


@register.filter
def key_phrases(text, phrases):
    """Return ``text`` escaped, with ``phrases`` marked (see ``mark_phrases``)."""
    return mark_phrases(text, phrases or [], ignore_case=getattr(phrases, "ignore_case", False))


class _English(list):
    """Translations: matched in any case (the translation's sentence may capitalise one)."""

    ignore_case = True


@register.filter
def shown_phrases(position, r):
    """Return the key phrases of ``position`` as they occur in the text ``r`` shows."""
    phrases = _phrases_of(position)
    if r.kind == localize.TRANSLATED:
        return _English(p.translation for p in phrases if p.translation)
    if r.kind == localize.CONVERTED:
        return [localize.in_reader_script(p.text, r.original_lang).text for p in phrases]
    return [p.text for p in phrases]


@register.filter
def phrase_texts(position):
    """Return the key phrases of ``position`` as stored (for the original, as spoken)."""
    return [p.text for p in _phrases_of(position)]


@register.filter
def phrase_translations(position):
    """Return the English translations of the key phrases of ``position``."""
    return _English(p.translation for p in _phrases_of(position) if p.translation)


@dataclass(frozen=True)
class TranslationNote:
    """What a page says once about the translations of the positions it shows.

    ``reviewers``: (who, last date or None) of the reviewed translations; ``translators``: the
    translation provenances; ``unreviewed``: how many translations nobody has reviewed yet.
    """

    reviewers: list
    translators: list
    unreviewed: int

    def __bool__(self):
        return bool(self.reviewers or self.translators or self.unreviewed)


def translation_note_for(positions):
    reviewers, translators, unreviewed = {}, [], 0
    for position in positions or []:
        if not position.translation:
            continue
        if position.translation_provenance and position.translation_provenance not in translators:
            translators.append(position.translation_provenance)
        who = position.translation_reviewed_by.strip()
        if not who:
            unreviewed += 1
            continue
        when = position.translation_reviewed_on
        if who not in reviewers or (when and (reviewers[who] is None or when > reviewers[who])):
            reviewers[who] = when
    return TranslationNote(list(reviewers.items()), translators, unreviewed)


_GROUP_KEYS = ("positions", "themes", "cards", "rows", "cells")


def _positions_in(value):
    """Yield the positions in ``value``: a position, a list of them, or groups of them.

    Groups are what the pages hand their templates: dicts or objects whose ``positions``,
    ``themes`` or ``cards`` hold more (a speaker's positions by forum, then theme).
    """
    if value is None or isinstance(value, str | bytes):
        return
    if isinstance(value, Position):
        yield value
        return
    if isinstance(value, dict):
        for key in _GROUP_KEYS:
            yield from _positions_in(value.get(key))
        return
    if isinstance(value, models.Model):  # a theme with its ``cards`` (a list)
        yield from _positions_in(getattr(value, "cards", None))
        return
    # A list, or a page's rows: a QuerySet the page's loop has already evaluated.
    if hasattr(value, "__iter__"):
        for item in value:
            yield from _positions_in(item)
        return
    for key in _GROUP_KEYS:  # a comparison, its rows (of cells)
        yield from _positions_in(getattr(value, key, None))


@register.simple_tag
def translation_note(*groups):
    """Return the ``TranslationNote`` of the positions in ``groups`` (see ``_positions_in``)."""
    seen, positions = set(), []
    for position in _positions_in(list(groups)):
        if position.pk not in seen:
            seen.add(position.pk)
            positions.append(position)
    return translation_note_for(positions)


@register.filter
def phrase_html(key_phrase):
    """Return a key phrase as the reader reads it (converted like its position's text), HTML."""
    lang = key_phrase.position.language or localize.CONTENT_LANGUAGE
    return localize.as_html(localize.in_reader_script(key_phrase.text, lang))
