"""
Content in the reader's language: the one place that decides what text a page shows.

Curated content is written in Traditional Chinese (``CONTENT_LANGUAGE``), with English in the
``_en`` fields and each position's translation beside its text. Per interface language:

- **zh-hant**: the original in Traditional characters: OpenCC ``s2tw`` (character level, no
  vocabulary changes) mends a source that mixes the scripts and converts a forum recorded in
  Simplified; a position's converted text is marked, the original one click away. English
  one click away.
- **zh-hans**: the original converted to Simplified with OpenCC (phrase-level ``t2s``, one
  cached converter); a position's converted text is marked "converted from Traditional" with
  the original one click away. Stored text is never changed: conversion is for display only,
  so a verbatim quote stays exactly what the source printed.
- **en**: the ``_en`` fields, and a position's English translation first, marked as a
  translation with its provenance, the original "as spoken" one click away. Where there is no
  English, the original, marked with the ``lang`` of the script it is actually written in
  (``script_of``; and, for positions, a short note).

Nothing here queries the database: every function reads fields of rows the views already
fetched, so pages keep a constant number of queries in every language.

Template filters and tags, ``{% load localize %}`` (proceedings/templatetags/localize.py)::

    {{ obj|loc:"title" }}        the field in the reader's language, as HTML: wrapped in
                                 <span lang="…"> when that is not the page's language (an English
                                 page showing an untranslated Chinese title). Escaped.
    {{ obj|loc_text:"title" }}   the same as plain text, for <title>, meta tags, attributes and
                                 truncatechars (autoescaped like any string).
    {{ obj|loc_lang:"title" }}   the BCP 47 tag of that text, for lang= on a block element.
    {{ obj|loc_alt:"title" }}    the other version, HTML with lang: the English on Chinese pages,
                                 the original on English pages; "" when none or the same.
    {{ obj|loc_pair:"name" }}    loc, then loc_alt in <span class="alt">: 王战 Wang Zhan on a
                                 Simplified page, Wang Zhan 王戰 on an English one.
    {{ text|in_script }}         plain text (no object, e.g. a free string from the original
                                 content) in the reader's Chinese script: converted on zh-hans.
    {{ position|rendition }}     how a position's text is shown: a ``Rendition`` (see
                                 templates/includes/_position_text.html, which renders it).
    {{ appearance|loc_role }}    the role in the reader's language (English pages: role_en and
                                 the institution's English name), HTML.
    {{ appearance|loc_role_alt }} the other version of the role (as printed, or English), HTML
                                 with lang, or "".
    {{ appearance|linked_role }} (portal library) loc_role with the institution linked.
    {% alt_details obj "description" %}  a folded <details> with loc_alt of a long field
                                 ("In English" / "Original (Chinese)"), or "".
    {{ value|facet_label:"speaker" }}  a search facet value's (or filter chip's) label, HTML.
    {% language_links as languages %}  the current page in each language: a
                                 ``PageLanguages`` (``.links`` for a switcher, ``.alternates``
                                 for hreflang) from forum_portal.languages.language_links.

The fields ``loc*`` understand: any text field ``f`` with an English twin ``f_en`` (``name``,
``title``, ``summary``, ``description``, ``place``, ``organisers``, ``bio``, ``city``); a field
without a twin (a tag's ``name``) is shown in the original on English pages.
"""

import dataclasses
import threading
from dataclasses import dataclass
from functools import cache, lru_cache

import opencc
from django.utils import translation
from django.utils.html import format_html
from django.utils.translation import get_language_info
from django.utils.translation import gettext as _
from taggit.models import Tag

from forum_portal.languages import bcp47

from .models import SourceDocument, tag_name_en
from .search.highlight import excerpt, highlight

CONTENT_LANGUAGE = "zh-Hant"
TRADITIONAL, SIMPLIFIED, ENGLISH = "zh-Hant", "zh-Hans", "en"

# Region and script subtags that mean Traditional or Simplified characters.
_TRADITIONAL_TAGS = {"zh-hant", "zh-tw", "zh-hk", "zh-mo"}
_SIMPLIFIED_TAGS = {"zh-hans", "zh-cn", "zh-sg", "zh-my"}

_lock = threading.Lock()


@cache
def _converter(config):
    return opencc.OpenCC(config)


def _convert(config, text):
    if not text:
        return text or ""
    return _converted(config, text)


# A page converts the same names, roles and titles once per card (a theme page of 50 cards:
# about 700 conversions, bench/README.md); conversion is a pure function of its input.
@lru_cache(maxsize=8192)
def _converted(config, text):
    # OpenCC converters are not documented as thread-safe; a quote converts in microseconds.
    with _lock:
        return _converter(config).convert(text)


def to_simplified(text):
    """Return ``text`` converted from Traditional to Simplified Chinese (phrase level)."""
    return _convert("t2s.json", text)


def to_traditional(text):
    """Return ``text`` converted to Traditional characters, Taiwan standard (``s2tw``).

    Character level with OpenCC's phrase table for one-to-many characters (后 → 後 or 后), and
    no vocabulary changes (s2twp would turn 软件 into 軟體): a quote keeps its words. Text
    already in Traditional characters comes back unchanged, so it also normalises a source
    that mixes the scripts (基于, 什么, 最后 in a Traditional report).
    """
    return _convert("s2tw.json", text)


@lru_cache(maxsize=8192)  # as the conversions it compares: a pure function, asked per display
def script_of(text, default=CONTENT_LANGUAGE):
    """Return ``zh-Hans`` or ``zh-Hant``: the script most of ``text``'s Chinese is written in.

    Counts the characters each conversion changes: Simplified ones change under ``s2tw``,
    Traditional ones under ``t2s``. ``default`` when neither changes anything (text written in
    characters common to both scripts, or no Chinese at all).
    """
    if not text:
        return default
    simplified = sum(a != b for a, b in zip(text, to_traditional(text), strict=False))
    traditional = sum(a != b for a, b in zip(text, to_simplified(text), strict=False))
    if simplified > traditional:
        return SIMPLIFIED
    if traditional > simplified:
        return TRADITIONAL
    return default


def family(tag):
    """Return ``zh-Hant``, ``zh-Hans``, ``en`` or the tag itself, for any BCP 47 tag.

    ``zh-TW`` and ``zh-Hant-HK`` are Traditional, ``zh-CN`` Simplified; a bare ``zh`` counts as
    Traditional, the script curated content is written in.
    """
    tag = (tag or "").replace("_", "-").lower()
    if tag == "zh" or tag in _TRADITIONAL_TAGS or tag.startswith("zh-hant-"):
        return TRADITIONAL
    if tag in _SIMPLIFIED_TAGS or tag.startswith("zh-hans-"):
        return SIMPLIFIED
    if tag == "en" or tag.startswith("en-"):
        return ENGLISH
    return tag


def reader_language():
    """Return the reader's language as a BCP 47 tag: zh-Hant, zh-Hans or en."""
    return bcp47(translation.get_language() or "zh-hant")


@dataclass(frozen=True)
class Text:
    """A piece of text to show and the BCP 47 tag of its language."""

    text: str
    lang: str
    # The text as stored, when the reader is shown it converted to Traditional characters
    # (a source that mixes the scripts, or a forum recorded in Simplified); as_html marks it.
    original: str = dataclasses.field(default="", compare=False)

    def __str__(self):
        return self.text

    def __bool__(self):
        return bool(self.text)


def in_reader_script(text, lang=CONTENT_LANGUAGE):
    """Return ``Text`` of ``text`` (written in ``lang``) as a reader of this page reads it.

    Chinese is shown in the reader's script: converted to Simplified (``t2s``) on Simplified
    pages, to Traditional characters (``s2tw``) on Traditional pages, which also mends a
    source that mixes the two. On English pages it is shown as written, its ``lang`` the
    script it is actually written in (a forum recorded in Simplified is not ``zh-Hant``).
    """
    text = text or ""
    reader, written = reader_language(), family(lang)
    if written not in (TRADITIONAL, SIMPLIFIED):
        return Text(text, lang)
    if reader == SIMPLIFIED:
        return Text(to_simplified(text), SIMPLIFIED)
    if reader == TRADITIONAL:
        shown = to_traditional(text)
        return Text(shown, TRADITIONAL, text if shown != text else "")
    return Text(text, script_of(text, default=lang))


def _original_language(obj):
    # A source document says what language it is in; other curated rows are in the content
    # language. (A position's language is that of its text, which goes through rendition().)
    if isinstance(obj, SourceDocument):
        return obj.language or CONTENT_LANGUAGE
    return CONTENT_LANGUAGE


def _english(obj, field):
    """Return the English twin of ``obj.<field>``: ``<field>_en``, or a tag's ``names.name_en``.

    A tag's English name lives in its ``TagName`` (``tag.names``), read only when the row was
    fetched with it joined (``select_related("names")``, or for_listing()'s tags): never a query.
    """
    if isinstance(obj, Tag):
        return tag_name_en(obj) if field == "name" else ""
    return getattr(obj, f"{field}_en", "") or ""


def localized(obj, field):
    """Return ``Text`` of ``obj.<field>`` in the reader's language (see the module docstring)."""
    original = getattr(obj, field, "") or ""
    lang = _original_language(obj)
    if reader_language() == ENGLISH:
        english = _english(obj, field)
        if english:
            return Text(english, ENGLISH)
    return in_reader_script(original, lang)


def alternative(obj, field):
    """Return the ``Text`` a reader may want beside ``localized()``, or an empty one.

    English pages: the original when the English was shown. Chinese pages: the English.
    """
    shown = localized(obj, field)
    if reader_language() == ENGLISH:
        original = getattr(obj, field, "") or ""
        if shown.lang == ENGLISH and original and original != shown.text:
            return in_reader_script(original, _original_language(obj))
        return Text("", "")
    english = _english(obj, field)
    if english and english != shown.text:
        return Text(english, ENGLISH)
    return Text("", "")


def as_html(text, *, css_class=""):
    """Return ``Text`` as escaped HTML, in a ``<span lang>`` when not in the page's language.

    Text converted to Traditional characters is marked (``class="converted"``, the original in
    its ``title``): on a Traditional page conversion is the exception. On a Simplified page it
    is the rule, and the page says so once (base.html's footer).
    """
    if not text:
        return ""
    if text.original:
        return format_html(
            '<span class="{}" lang="{}" title="{}">{}</span>',
            " ".join(filter(None, ["converted", css_class])),
            text.lang,
            _("Original: %(text)s") % {"text": text.original},
            text,
        )
    if text.lang and text.lang != reader_language():
        if css_class:
            return format_html('<span class="{}" lang="{}">{}</span>', css_class, text.lang, text)
        return format_html('<span lang="{}">{}</span>', text.lang, text)
    if css_class:
        return format_html('<span class="{}">{}</span>', css_class, text)
    return format_html("{}", text)


# ---------------------------------------------------------------------------------------------
# Roles
# ---------------------------------------------------------------------------------------------


def printed_role(appearance):
    """Return the role as the source printed it, else the role and institution we hold."""
    if appearance.as_printed:
        return appearance.as_printed
    institution = appearance.institution.name if appearance.institution else ""
    return " ".join(filter(None, [institution, appearance.role]))


def english_role(appearance):
    """Return "role_en, institution's English name", or "" without an English role."""
    if not appearance.role_en:
        return ""
    institution = appearance.institution
    name = (institution.name_en or institution.name) if institution else ""
    if name and name not in appearance.role_en:
        return f"{appearance.role_en}, {name}"
    return appearance.role_en


def role(appearance):
    """Return ``Text`` of the role in the reader's language (English pages: ``role_en``)."""
    if reader_language() == ENGLISH:
        english = english_role(appearance)
        if english:
            return Text(english, ENGLISH)
    return in_reader_script(printed_role(appearance))


def role_alternative(appearance):
    """Return the other version of the role (as printed, or in English), or an empty ``Text``."""
    if reader_language() == ENGLISH:
        if appearance.role_en:
            return in_reader_script(printed_role(appearance))
        return Text("", "")
    english = english_role(appearance)
    return Text(english, ENGLISH) if english else Text("", "")


# ---------------------------------------------------------------------------------------------
# Positions
# ---------------------------------------------------------------------------------------------

ORIGINAL, CONVERTED, TRANSLATED = "original", "converted", "translated"


@dataclass(frozen=True)
class Rendition:
    """How one position's text is shown to this reader.

    ``text`` in ``lang`` comes first; ``kind`` says what it is: the ``original``, the original
    ``converted`` to Simplified, or the English ``translated`` one. For the last two the
    ``original`` (in ``original_lang``) is one click away; ``offers_translation`` says whether
    the English translation is one click away (Chinese pages); ``untranslated`` marks an
    English page showing a Chinese original for want of a translation.
    """

    text: str
    lang: str
    kind: str
    original: str
    original_lang: str
    translated_from: str  # the original's language, named in the reader's language
    provenance: str
    offers_translation: bool
    untranslated: bool


def language_name(tag):
    """Return the name of the language ``tag`` in the reader's language (zh-Hant → 繁體中文)."""
    code = {TRADITIONAL: "zh-hant", SIMPLIFIED: "zh-hans"}.get(family(tag), (tag or "").lower())
    try:
        return get_language_info(code)["name_translated"]
    except KeyError:
        return tag


def rendition(position):
    """Return the ``Rendition`` of ``position`` for this page's reader."""
    reader = reader_language()
    original_lang = position.language or CONTENT_LANGUAGE
    if family(original_lang) in (TRADITIONAL, SIMPLIFIED):
        # The original's lang is the script it is written in, whatever the row says.
        original_lang = script_of(position.text, default=original_lang)
    has_english = bool(position.translation) and family(position.translation_language) == ENGLISH
    common = {
        "original": position.text,
        "original_lang": original_lang,
        "translated_from": language_name(original_lang),
        "provenance": position.translation_provenance,
    }
    if family(original_lang) == family(reader) and reader != TRADITIONAL:
        return Rendition(
            position.text,
            original_lang,
            ORIGINAL,
            offers_translation=has_english and reader != ENGLISH,
            untranslated=False,
            **common,
        )
    if reader == ENGLISH:
        if has_english:
            return Rendition(
                position.translation,
                position.translation_language,
                TRANSLATED,
                offers_translation=False,
                untranslated=False,
                **common,
            )
        return Rendition(
            position.text,
            original_lang,
            ORIGINAL,
            offers_translation=False,
            untranslated=True,
            **common,
        )
    shown = in_reader_script(position.text, original_lang)
    # Converted when a character changed: a Traditional quote on a Traditional page that the
    # source wrote in Traditional throughout is the original.
    kind = CONVERTED if shown.text != position.text else ORIGINAL
    if kind == ORIGINAL:
        shown = Text(position.text, original_lang)
    return Rendition(
        shown.text,
        shown.lang,
        kind,
        offers_translation=has_english,
        untranslated=False,
        **common,
    )


@dataclass(frozen=True)
class HitSnippets:
    """A search result's snippets for this reader: ``main`` first, ``other`` (or None) after.

    ``*_kind`` is a ``Rendition`` kind: on English pages the translation comes first and the
    original follows; on Simplified pages the converted original, then the translation.
    """

    main: str
    main_lang: str
    main_kind: str
    other: str | None
    other_lang: str
    other_kind: str


def hit_snippets(hit, terms):
    """Return the ``HitSnippets`` of a search hit, matches marked in the text shown.

    Highlighting runs on the text as displayed (the search analyser folds Traditional and
    Simplified together, so the reader's query marks the converted text as it did the
    original); every piece of text is escaped by ``highlight``/``excerpt``.
    """
    position = hit.position
    shown = rendition(position)
    if shown.kind == TRANSLATED:
        main = highlight(shown.text, terms) or excerpt(shown.text)
        return HitSnippets(main, shown.lang, TRANSLATED, hit.snippet, shown.original_lang, ORIGINAL)
    if shown.kind == CONVERTED:
        main = highlight(shown.text, terms) or excerpt(shown.text)
    else:
        main = hit.snippet
    return HitSnippets(
        main,
        shown.lang,
        shown.kind,
        hit.translation_snippet,
        position.translation_language,
        TRANSLATED,
    )


# ---------------------------------------------------------------------------------------------
# Search facets
# ---------------------------------------------------------------------------------------------

# Facets whose values are curated rows (labels in the original script, English beside them);
# the others (sector, fidelity, language) are labelled in the interface language already.
ENTITY_FACETS = frozenset({"theme", "question", "speaker", "institution", "forum", "tag"})


def facet_label(label, label_en, facet):
    """Return ``(shown, alternative)`` ``Text`` of a search facet value's label."""
    empty = Text("", "")
    if facet not in ENTITY_FACETS:
        return Text(str(label), reader_language()), empty
    english = label_en if label_en and label_en != label else ""
    if reader_language() == ENGLISH:
        if english:
            return Text(english, ENGLISH), in_reader_script(label)
        return in_reader_script(label), empty
    return in_reader_script(label), Text(english, ENGLISH) if english else empty
