"""
The text analyser: one function of text to tokens, shared by indexing and querying on every backend.

Neither database's own parser can split Chinese (both treat a whole run of characters as one
word), so both backends index the tokens made here, as plain space-separated words:

- ``normalise``: NFKC, casefold, Latin diacritics removed, then Traditional → Simplified one
  character at a time. The character table is derived from OpenCC's ``t2s`` on first use. Being
  character-level, it maps a substring the same way wherever it occurs, which phrase-level
  conversion does not (``瞭`` stays ``瞭`` but ``瞭解`` becomes ``了解``).
- ``document_tokens``: each run of CJK characters gives its overlapping bigrams plus its last
  character (the run-final unigram makes one-character prefix queries complete, and leaves a gap
  so that a phrase cannot match across punctuation); every other run of letters and digits is a
  word, truncated to ``MAX_WORD_CHARS``, and ASCII words are Snowball-stemmed (English).
- ``query_phrase``: the same tokens for one query term, as a phrase: a term ending in a CJK run
  drops that run's final unigram (a document's text usually goes on after the word), and a term
  ending in a single CJK character matches it as a prefix.
- ``script_variants``: phrase-level forms of a query term (OpenCC ``s2t``, ``s2tw``, ``t2s``), so
  that ``了解`` also finds ``瞭解``, whose character-level forms differ.

Changing anything here changes the tokens: bump ``ANALYSER_VERSION`` and run
``manage.py reindex``.
"""

import re
import threading
import unicodedata
from functools import cache, lru_cache

import opencc
import snowballstemmer

ANALYSER_VERSION = 1

# Longer "words" (base64 blobs, pasted URLs without separators) are cut: nobody searches for them
# in full, and PostgreSQL limits lexemes to 2 kB.
MAX_WORD_CHARS = 64

# Scripts written without spaces between words, tokenised as bigrams: CJK radicals, 々〆〇,
# Hangzhou numerals, kana, bopomofo, kanbun and strokes, CJK unified ideographs and extensions
# A–H, Hangul syllables, compatibility ideographs.
CJK_RANGES = (
    "\u2e80-\u2fdf\u3005-\u3007\u3021-\u3029\u3040-\u30ff\u3100-\u312f\u3190-\u31ef"
    "\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff\U00020000-\U0003134f"
)
UNITS_RE = re.compile(rf"([{CJK_RANGES}]+)|([^\W_{CJK_RANGES}]+)")
HAS_CJK_RE = re.compile(rf"[{CJK_RANGES}]")

# Characters the t2s table is derived for: everything OpenCC maps lies in these planes.
_TABLE_END = 0x31350
# Latin (and Greek, Cyrillic) letters with diacritics, folded to their base letter.
_FOLD_RANGES = ((0x00C0, 0x0250), (0x0370, 0x0530), (0x1E00, 0x1F00))

_lock = threading.Lock()


@cache
def _translation_table():
    """Return the ``str.translate`` table of the normalisation, built once per process.

    A list indexed by code point: about four times faster than a dict for Chinese text.
    """
    table = list(range(_TABLE_END))
    # Combining marks left over after NFKC (and after casefold, e.g. "İ" → "i̇") are dropped.
    for code in range(0x0300, 0x0370):
        table[code] = None
    for start, end in _FOLD_RANGES:
        for code in range(start, end):
            decomposed = unicodedata.normalize("NFKD", chr(code))
            base = "".join(c for c in decomposed if not unicodedata.combining(c))
            if len(base) == 1 and base != chr(code):
                table[code] = ord(base)
    # Traditional → Simplified, one character at a time: OpenCC converts a newline-separated
    # list of single characters, so no phrase rule can apply (about 0.1 s).
    chars = [chr(c) for c in range(0x2E80, _TABLE_END) if not 0xD800 <= c <= 0xDFFF]
    converted = opencc.OpenCC("t2s.json").convert("\n".join(chars)).split("\n")
    mapping = {
        ord(a): ord(b) for a, b in zip(chars, converted, strict=True) if len(b) == 1 and a != b
    }
    # Follow chains (a → b → c) so that normalising is idempotent: a Simplified query must land
    # where the Traditional text did.
    for source, target in mapping.items():
        seen = {source}
        while target in mapping and target not in seen:
            seen.add(target)
            target = mapping[target]
        table[source] = target
    return table


def normalise(text: str) -> str:
    """Return ``text`` in the index's normal form (NFKC, casefold, no diacritics, Simplified)."""
    return unicodedata.normalize("NFKC", text).casefold().translate(_translation_table())


_stemmer = snowballstemmer.stemmer("english")


@lru_cache(maxsize=200_000)
def word_token(word: str) -> str:
    """Return the token for one normalised non-CJK word: truncated, and stemmed if ASCII."""
    word = word[:MAX_WORD_CHARS]
    if word.isascii() and not word.isdigit():
        return _stemmer.stemWord(word)
    return word


def units(normalised: str):
    """Yield ``(start, end, is_cjk)`` for each CJK run and each word of normalised text."""
    for match in UNITS_RE.finditer(normalised):
        yield match.start(), match.end(), match.group(1) is not None


def document_tokens(text: str) -> list[str]:
    """Return the index tokens of ``text`` (see the module docstring)."""
    normalised = normalise(text)
    tokens = []
    for match in UNITS_RE.finditer(normalised):
        run, word = match.groups()
        if run:
            tokens.extend(run[i : i + 2] for i in range(len(run) - 1))
            tokens.append(run[-1])
        else:
            tokens.append(word_token(word))
    return tokens


def query_phrase(text: str) -> tuple[tuple[str, ...], bool]:
    """Return ``(tokens, last_is_prefix)`` matching ``text`` as a phrase; tokens may be empty."""
    normalised = normalise(text)
    tokens = []
    ends_in_cjk_run = ""
    for match in UNITS_RE.finditer(normalised):
        run, word = match.groups()
        if run:
            tokens.extend(run[i : i + 2] for i in range(len(run) - 1))
            tokens.append(run[-1])
            ends_in_cjk_run = run
        else:
            tokens.append(word_token(word))
            ends_in_cjk_run = ""
    if not ends_in_cjk_run:
        return tuple(tokens), False
    if len(ends_in_cjk_run) == 1:
        # One character: any bigram starting with it, or the run-final unigram.
        return tuple(tokens), True
    # The text goes on after the word in most documents: its last bigram already ends there.
    return tuple(tokens[:-1]), False


@cache
def _converter(config: str):
    return opencc.OpenCC(config)


def script_variants(text: str) -> list[str]:
    """Return ``text`` and its OpenCC phrase-level conversions (s2t, s2tw, t2s), distinct."""
    variants = [text]
    if HAS_CJK_RE.search(text):
        # OpenCC converters are not documented as thread-safe; conversions are microseconds.
        with _lock:
            for config in ("s2t.json", "s2tw.json", "t2s.json"):
                variants.append(_converter(config).convert(text))
    return list(dict.fromkeys(variants))
