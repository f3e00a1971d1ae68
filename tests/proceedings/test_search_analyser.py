"""The analyser and the query parser: pure functions, no database."""

import sqlite3

import pytest

from proceedings.search.analyser import (
    document_tokens,
    normalise,
    query_phrase,
    script_variants,
)
from proceedings.search.backends import MatchSpec, PostgresBackend, SQLiteBackend
from proceedings.search.facets import canonical_language, facet_token, parse_facet_token
from proceedings.search.highlight import highlight
from proceedings.search.query import MAX_TERMS, parse_query

HOSTILE = [
    "",
    "   ",
    "x" * 5000,
    "融" * 5000,
    "!!!?？。、",
    '"unbalanced quote',
    "「未閉合",
    'a" b "c',
    "AND",
    "NEAR(融合, 人才)",
    "*",
    "融*",
    ":",
    "a:b",
    "^",
    "'; DROP TABLE proceedings_position; --",
    "1' OR '1'='1",
    "\x00",
    "融\x00合",
    "🙂🙃",
    "融合🙂",
    "\ud800",
    "-",
    "--",
    "- -",
    '-""',
    "(((",
    ")))",
    "\\",
    "'",
    "&|!<->",
    "<mark>x</mark>",
    "_all _th1",
    "\u202e\u200b",
]


def test_normalise_folds_width_case_diacritics_and_traditional():
    assert (
        normalise("ＡＢＣ Enterprises Ministério 企業臺灣 乾隆")
        == "abc enterprises ministerio 企业台湾 干隆"
    )


def test_normalise_is_idempotent_on_converted_characters():
    text = "瞭解轉化數據髮發乾幹裡裏臺"

    assert normalise(normalise(text)) == normalise(text)


def test_document_tokens_cjk_bigrams_with_run_final_unigram_and_stemmed_words():
    assert document_tokens("科技創新,Enterprises 6G通信") == [
        "科技",
        "技创",
        "创新",
        "新",
        "enterpris",
        "6g",
        "通信",
        "信",
    ]


def test_document_tokens_single_character_run_is_a_unigram():
    assert document_tokens("融") == ["融"]


def test_query_phrase_drops_the_final_unigram_of_a_word():
    assert query_phrase("轉化") == (("转化",), False)
    assert query_phrase("科技創新") == (("科技", "技创", "创新"), False)


def test_query_phrase_keeps_unigrams_inside_the_phrase():
    assert query_phrase("通信6G") == (("通信", "信", "6g"), False)


def test_query_phrase_single_character_is_a_prefix():
    assert query_phrase("融") == (("融",), True)
    assert query_phrase("9000億") == (("9000", "亿"), True)


def test_query_phrase_of_punctuation_is_empty():
    assert query_phrase("!?。") == ((), False)


def test_script_variants_include_phrase_level_conversions():
    assert script_variants("了解") == ["了解", "瞭解"]
    assert script_variants("瞭解") == ["瞭解", "了解"]
    assert script_variants("enterprise") == ["enterprise"]


def test_parse_query_terms_phrases_and_exclusions():
    parsed = parse_query('融合 "swimming naked" -人才 「一站式 生態」')

    assert [str(term) for term in parsed.terms] == ["融合", "“swimming naked”", "“一站式 生態”"]
    assert [str(term) for term in parsed.excluded] == ["-人才"]
    assert parsed.terms[1].phrases[0].tokens == ("swim", "nake")
    assert parsed.summary == "融合 “swimming naked” “一站式 生態” -人才"


def test_parse_query_ignores_pieces_without_words():
    parsed = parse_query("融合 !!! 🙂")

    assert [term.text for term in parsed.terms] == ["融合"]
    assert parsed.ignored == ("!!!", "🙂")


def test_parse_query_operators_are_plain_words():
    parsed = parse_query("a AND b NEAR(c)")

    assert [term.phrases[0].tokens for term in parsed.terms] == [
        ("a",),
        ("and",),
        ("b",),
        ("near", "c"),
    ]


def test_parse_query_limits_terms():
    parsed = parse_query(" ".join(f"w{i}" for i in range(40)))

    assert len(parsed.terms) == MAX_TERMS
    assert parsed.truncated


def test_parse_query_blank_and_empty():
    assert parse_query("").is_blank
    assert parse_query("   ").is_empty
    assert not parse_query("!!!").is_blank
    assert parse_query("!!!").is_empty


@pytest.mark.parametrize("raw", HOSTILE)
def test_hostile_input_parses_and_compiles_to_valid_fts5(raw):
    parsed = parse_query(raw)
    spec = MatchSpec(parsed.terms, parsed.excluded, ((facet_token("theme", 1),),))

    assert _fts5_accepts(SQLiteBackend(None).match_expression(spec))


def test_facet_tokens_round_trip():
    assert facet_token("theme", 7) == "_th7"
    assert parse_facet_token("_th7") == ("theme", 7)
    assert parse_facet_token(facet_token("language", "zh-Hant")) == ("language", "zh-Hant")
    assert parse_facet_token("_zz1") is None
    assert parse_facet_token("融合") is None


def test_canonical_language():
    assert canonical_language("ZH-hant") == "zh-Hant"
    assert canonical_language("en_gb") == "en-GB"


def test_tsquery_quotes_every_lexeme():
    parsed = parse_query("了解 -人才 融")
    spec = MatchSpec(parsed.terms, parsed.excluded, (("_th1", "_th2"),))

    assert PostgresBackend(None).tsquery(spec) == (
        "(('了解') | ('瞭解')) & (('融':*)) & ('_th1' | '_th2') & !(('人才'))"
    )


def test_highlight_marks_traditional_text_for_a_simplified_query():
    snippet = highlight("暢通轉化機制需要制度先行", parse_query("转化").terms)

    assert snippet == "暢通<mark>轉化</mark>機制需要制度先行"


def test_highlight_marks_stemmed_words_and_escapes_html():
    snippet = highlight("<b>Enterprises</b> & the enterprise", parse_query("enterprises").terms)

    assert snippet == (
        "&lt;b&gt;<mark>Enterprises</mark>&lt;/b&gt; &amp; the <mark>enterprise</mark>"
    )


def test_highlight_windows_long_text_around_the_first_match():
    text = "甲" * 300 + "人才" + "乙" * 300

    snippet = highlight(text, parse_query("人才").terms, max_chars=40)

    assert snippet == "…" + "甲" * 30 + "<mark>人才</mark>" + "乙" * 8 + "…"


def test_highlight_without_match_is_none():
    assert highlight("科技創新", parse_query("人才").terms) is None


def _fts5_accepts(expression):
    """Return True if SQLite's FTS5 parses ``expression`` (raises on a syntax error)."""
    db = sqlite3.connect(":memory:")
    db.execute(
        "CREATE VIRTUAL TABLE f USING fts5(tokens, facets, tokenize=\"ascii tokenchars '_'\")"
    )
    db.execute("INSERT INTO f VALUES ('融合 合创 创新 新 enterpris', '_th1 _all')")
    db.execute("SELECT rowid FROM f WHERE f MATCH ?", [expression]).fetchall()
    return True


try:
    from hypothesis import given
    from hypothesis import strategies as st
except ImportError:  # hypothesis is optional: `pip install hypothesis` to run these
    pass
else:
    ALPHABET = st.characters(codec=None, exclude_categories=())
    PIECES = st.sampled_from(
        ['"', "“", "」", "-", "*", ":", "(", ")", "AND", "NEAR", " ", "融合", "轉化", "a", "\x00"]
    )

    @given(st.text(ALPHABET, max_size=300) | st.lists(PIECES, max_size=30).map("".join))
    def test_any_string_parses_into_valid_backend_syntax(raw):
        parsed = parse_query(raw)
        spec = MatchSpec(parsed.terms, parsed.excluded, ())

        assert _fts5_accepts(SQLiteBackend(None).match_expression(spec))
        assert len(parsed.terms) + len(parsed.excluded) <= MAX_TERMS
        for term in (*parsed.terms, *parsed.excluded):
            for phrase in term.phrases:
                assert phrase.tokens
                # Letters and digits, or CJK-range characters (unassigned ones included):
                # never a quote, space, operator or the facet marker "_".
                assert not any(
                    char.isspace() or (char.isascii() and not char.isalnum())
                    for token in phrase.tokens
                    for char in token
                )

    HIGHLIGHT_PIECES = st.sampled_from(
        [
            "科技",
            "創新",
            "科技創新",
            "创新",
            "融合",
            "轉",
            "化",
            "企業",
            "，",
            "。",
            " ",
            "AI",
            "enterprises",
            "6G",
            "ǅ",
            "ﬁ",
            "é",
            "\u0301",
            "瞭解",
            "了解",
        ]
    )

    @given(
        st.lists(HIGHLIGHT_PIECES, max_size=25).map("".join),
        st.lists(HIGHLIGHT_PIECES, min_size=1, max_size=3).map("".join),
    )
    def test_highlight_shortcut_marks_what_the_tokens_match(text, query):
        # Chained CJK bigrams are found with str.find (highlight._cjk_needle); the spans must be
        # exactly those found by matching the token sequence, as the index does.
        import proceedings.search.highlight as highlight_module

        terms = parse_query(query).terms
        fast = highlight_module._matched_spans(text, terms)
        needle = highlight_module._cjk_needle
        highlight_module._cjk_needle = lambda phrase: None
        try:
            slow = highlight_module._matched_spans(text, terms)
        finally:
            highlight_module._cjk_needle = needle
        assert fast == slow
