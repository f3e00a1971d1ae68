"""
Highlighting: the matching words of the original text wrapped in ``<mark>``, everything escaped.

Neither database can do this for us (``ts_headline`` cannot see bigram matches; FTS5's
``highlight()`` works on the token string, not the original text). The original text is
normalised one character at a time, keeping the position each normalised character came from,
then tokenised as the index does; a query phrase matches the same token sequences it matches in
the index, so a Simplified query highlights Traditional text and ``enterprises`` highlights
"Enterprise".
"""

import re
from functools import lru_cache

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from .analyser import HAS_CJK_RE, UNITS_RE, normalise, word_token

SNIPPET_CHARS = 160
CONTEXT_BEFORE = 30


@lru_cache(maxsize=50_000)
def _normal_char(char):
    return normalise(char)


def _normalised(text):
    """Return ``text`` normalised, and the index in ``text`` each normalised character came from.

    The index list is None when every character normalises to exactly one (nearly all text:
    the T→S table and casefolding map one to one), so that positions are unchanged.
    """
    if all(len(_normal_char(char)) == 1 for char in set(text)):
        return "".join(map(_normal_char, text)), None
    normal, origin = [], []
    for index, char in enumerate(text):
        for normal_char in _normal_char(char):
            normal.append(normal_char)
            origin.append(index)
    return "".join(normal), origin


def _tokens_with_spans(normal, origin):
    """Return ``[(token, start, end)]`` of normalised text, with spans in the original text."""
    tokens = []
    for match in UNITS_RE.finditer(normal):
        start, end = match.span()
        if match.group(1):
            tokens.extend(
                (normal[i : i + 2], origin[i], origin[i + 1] + 1) for i in range(start, end - 1)
            )
            tokens.append((normal[end - 1], origin[end - 1], origin[end - 1] + 1))
        else:
            tokens.append((word_token(match.group(2)), origin[start], origin[end - 1] + 1))
    return tokens


def _cjk_needle(phrase):
    """Return the normalised text a phrase of chained CJK bigrams matches, else None.

    Bigrams ``科技 技创 创新`` occur one after another in the tokens exactly where ``科技创新``
    occurs in the normalised text (bigrams never cross a run of CJK characters), so such a
    phrase, the common case, is found with ``str.find`` without tokenising the text. Phrases
    with words or a prefix go through the tokens.
    """
    tokens = phrase.tokens
    if phrase.prefix or not tokens or any(len(token) != 2 for token in tokens):
        return None
    if not all(
        HAS_CJK_RE.fullmatch(token[0]) and HAS_CJK_RE.fullmatch(token[1]) for token in tokens
    ):
        return None
    if any(a[1] != b[0] for a, b in zip(tokens, tokens[1:], strict=False)):
        return None
    return tokens[0] + "".join(token[1] for token in tokens[1:])


def _matched_spans(text, terms):
    """Return the sorted, merged ``(start, end)`` spans of ``text`` matched by any phrase."""
    normal, origin = _normalised(text)
    if origin is None:
        origin = range(len(normal))
    tokens = words = None
    spans = []
    for term in terms:
        for phrase in term.phrases:
            needle = _cjk_needle(phrase)
            if needle is not None:
                found = normal.find(needle)
                while found != -1:
                    spans.append((origin[found], origin[found + len(needle) - 1] + 1))
                    found = normal.find(needle, found + 1)
                continue
            if tokens is None:
                tokens = _tokens_with_spans(normal, origin)
                words = [token for token, _start, _end in tokens]
            size = len(phrase.tokens)
            head, last = phrase.tokens[:-1], phrase.tokens[-1]
            for i in range(len(words) - size + 1):
                candidate = words[i + size - 1]
                if tuple(words[i : i + size - 1]) != head:
                    continue
                if candidate == last or (phrase.prefix and candidate.startswith(last)):
                    spans.append((tokens[i][1], tokens[i + size - 1][2]))
    merged = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


_LATIN = re.compile(r"[A-Za-z0-9'’-]")
WORD_SLACK = 20  # how far a cut moves to fall between two words


def _inside_word(text, index):
    """Return True when cutting ``text`` at ``index`` would split a Latin word."""
    return 0 < index < len(text) and bool(
        _LATIN.match(text[index - 1]) and _LATIN.match(text[index])
    )


def word_start(text, index):
    """Return ``index`` moved forward to the start of a word (Latin text; CJK cuts anywhere)."""
    moved = index
    while _inside_word(text, moved) and moved - index < WORD_SLACK:
        moved += 1
    return moved if not _inside_word(text, moved) else index


def word_end(text, index):
    """Return ``index`` moved back to the end of a word, and before the space that follows."""
    moved = index
    while _inside_word(text, moved) and index - moved < WORD_SLACK:
        moved -= 1
    if _inside_word(text, moved):
        return index
    while moved > 0 and text[moved - 1] in " ,;:":
        moved -= 1
    return moved


def highlight(text, terms, *, max_chars=SNIPPET_CHARS) -> SafeString | None:
    """Return an HTML-safe snippet of ``text`` with the matches of ``terms`` marked.

    None when nothing in ``text`` matches. The snippet starts a little before the first match
    and is at most ``max_chars`` characters of the text, with "…" where it was cut.
    """
    spans = _matched_spans(text, terms) if text and terms else []
    if not spans:
        return None
    start = 0
    if len(text) > max_chars:
        start = max(0, min(spans[0][0] - CONTEXT_BEFORE, len(text) - max_chars))
    end = min(len(text), start + max_chars)
    # English snippets are cut between words, never inside one ("innovati…").
    start = min(word_start(text, start), spans[0][0])
    end = max(word_end(text, end), min(spans[0][1], end))
    out = ["…" if start else ""]
    cursor = start
    for span_start, span_end in spans:
        span_start, span_end = max(span_start, start), min(span_end, end)
        if span_start >= span_end:
            continue
        out.append(escape(text[cursor:span_start]))
        out.append(f"<mark>{escape(text[span_start:span_end])}</mark>")
        cursor = span_end
    out.append(escape(text[cursor:end]))
    out.append("…" if end < len(text) else "")
    return mark_safe("".join(out))  # noqa: S308 (every piece of text is escaped above)


def excerpt(text, *, max_chars=SNIPPET_CHARS) -> SafeString:
    """Return the beginning of ``text``, escaped, for a result whose text has no match."""
    cut = text[: word_end(text, max_chars)] if len(text) > max_chars else text
    return mark_safe(escape(cut) + ("…" if len(text) > max_chars else ""))  # noqa: S308


def mark_phrases(text, phrases, *, css_class="key-phrase", ignore_case=False) -> SafeString:
    """Return ``text`` as escaped HTML with every occurrence of ``phrases`` in ``<mark>``.

    Verbatim spans (key phrases, quotations in their source), found as written, unlike
    ``highlight``'s normalised search terms. Overlapping or adjacent occurrences (of one phrase
    or of several) make one mark, and no mark spans a line break (``linebreaks`` would cut it).
    """
    text = str(text or "")
    marked = [False] * len(text)
    flags = re.IGNORECASE if ignore_case else 0
    for phrase in {str(p) for p in phrases if p and str(p).strip()}:
        for match in re.finditer(f"(?={re.escape(phrase)})", text, flags):
            for i in range(match.start(), match.start() + len(phrase)):
                marked[i] = text[i] != "\n"
    opening = f'<mark class="{css_class}">' if css_class else "<mark>"
    out, i = [], 0
    while i < len(text):
        j = i
        while j < len(text) and marked[j] == marked[i]:
            j += 1
        piece = escape(text[i:j])
        out.append(f"{opening}{piece}</mark>" if marked[i] else piece)
        i = j
    return mark_safe("".join(out))  # noqa: S308 - every piece of text is escaped above
