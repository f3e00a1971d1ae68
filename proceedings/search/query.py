"""
The query language: what a researcher types, parsed into terms; never an error.

- Words separated by spaces must all match (AND). Each word is a phrase of its tokens, so
  ``科技創新`` finds the four characters in a row and ``COVID-19`` the two words in a row.
- ``"exact phrase"`` (also with “…”, 「…」, 『…』) keeps its spaces: the words in that order.
  An unclosed quote runs to the end of the query.
- ``-word`` or ``-"phrase"`` excludes positions that match it.
- Each term is searched in its character-level form and in its OpenCC phrase-level Traditional
  and Simplified forms (``了解`` also finds ``瞭解``).
- Everything else is plain text: ``AND``, ``OR``, ``NEAR(``, ``*``, ``:``, SQL and markup are
  words or punctuation like any other, and the backends only ever see quoted tokens made by the
  analyser, which contain letters and digits only.
"""

import unicodedata
from dataclasses import dataclass

from .analyser import query_phrase, script_variants

MAX_QUERY_CHARS = 256
MAX_TERMS = 16
MAX_PHRASE_TOKENS = 64

QUOTES = frozenset('"“”„‟«»「」『』〝〞〟')
MINUS = frozenset("-−–")


@dataclass(frozen=True)
class Phrase:
    """Tokens that must occur in this order; the last one as a prefix if ``prefix``."""

    tokens: tuple[str, ...]
    prefix: bool = False


@dataclass(frozen=True)
class Term:
    """One search term as typed, with the phrases it may match (any of them)."""

    text: str
    phrases: tuple[Phrase, ...]
    quoted: bool = False
    excluded: bool = False

    def __str__(self):
        text = f"“{self.text}”" if self.quoted else self.text
        return f"-{text}" if self.excluded else text


@dataclass(frozen=True)
class ParsedQuery:
    """A parsed query: ``terms`` must all match, ``excluded`` must not."""

    raw: str
    terms: tuple[Term, ...] = ()
    excluded: tuple[Term, ...] = ()
    ignored: tuple[str, ...] = ()  # pieces with nothing searchable in them (punctuation, emoji)
    truncated: bool = False

    @property
    def is_blank(self):
        """Nothing was typed (a browse: every position, or those the filters select)."""
        return not self.raw.strip()

    @property
    def is_empty(self):
        """No term survived parsing."""
        return not self.terms and not self.excluded

    @property
    def summary(self):
        """Return the query as understood, e.g. ``融合 “科技 創新” -人才``."""
        return " ".join(str(term) for term in (*self.terms, *self.excluded))


def clean_text(raw):
    """Return ``raw`` as a string without control characters or lone surrogates."""
    if not isinstance(raw, str):
        raw = "" if raw is None else str(raw)
    # Control and format characters (NUL, bidi overrides, zero-width joiners…) separate words;
    # lone surrogates cannot even be encoded for the database.
    return "".join(
        " " if unicodedata.category(char) in ("Cc", "Cf", "Cs", "Zl", "Zp") else char
        for char in raw
    )


def _pieces(text):
    """Yield ``(piece, quoted, excluded)`` for each space-separated piece or quoted phrase."""
    i, n = 0, len(text)
    while i < n:
        if text[i].isspace():
            i += 1
            continue
        excluded = False
        if text[i] in MINUS and i + 1 < n and not text[i + 1].isspace():
            excluded = True
            i += 1
        if text[i] in QUOTES:
            end = i + 1
            while end < n and text[end] not in QUOTES:
                end += 1
            yield text[i + 1 : end], True, excluded
            i = end + 1
            continue
        end = i
        while end < n and not text[end].isspace() and text[end] not in QUOTES:
            end += 1
        yield text[i:end], False, excluded
        i = end


def _term(piece, quoted, excluded):
    phrases = []
    for variant in script_variants(piece):
        tokens, prefix = query_phrase(variant)
        if tokens:
            phrase = Phrase(tokens[:MAX_PHRASE_TOKENS], prefix and len(tokens) <= MAX_PHRASE_TOKENS)
            if phrase not in phrases:
                phrases.append(phrase)
    if not phrases:
        return None
    return Term(text=piece.strip(), phrases=tuple(phrases), quoted=quoted, excluded=excluded)


def parse_query(raw) -> ParsedQuery:
    """Parse any input into a ParsedQuery; never raises."""
    text = clean_text(raw)
    truncated = len(text) > MAX_QUERY_CHARS
    text = text[:MAX_QUERY_CHARS]
    terms, excluded, ignored, seen = [], [], [], set()
    for piece, quoted, is_excluded in _pieces(text):
        term = _term(piece, quoted, is_excluded)
        if term is None:
            if piece.strip():
                ignored.append(piece.strip())
            continue
        key = (term.phrases, term.excluded)
        if key in seen:
            continue
        if len(terms) + len(excluded) >= MAX_TERMS:
            truncated = True
            break
        seen.add(key)
        (excluded if is_excluded else terms).append(term)
    return ParsedQuery(
        raw=text,
        terms=tuple(terms),
        excluded=tuple(excluded),
        ignored=tuple(ignored),
        truncated=truncated,
    )


# The query string parameter that holds the query, on every search URL (page, API, CSV, feed).
QUERY_PARAM = "q"


def search_params(params):
    """Return ``(query, sort, page)`` as the search page reads them from its query string.

    The filters are the facet parameters of the same query string (``search()`` reads them).
    The API's search and the CSV of a search read their query strings with this too, so the
    same URL parameters give the same results everywhere.
    """
    query = clean_text(params.get(QUERY_PARAM, "")).strip()
    return query, params.get("sort", ""), params.get("page", 1)
