"""
Content in the reader's language (proceedings/localize.py) on the Pujiang data: Simplified pages
show OpenCC-converted text with the Traditional original one click away, English pages the
English fields and translations with the original as spoken; zh-Hant pages as written. Stored
text never changes, and every conversion is escaped.
"""

import html
import re

import pytest
from django.urls import reverse
from django.utils import translation
from pytest_django.asserts import assertContains, assertNotContains

from proceedings import localize
from proceedings.models import Position, Theme
from speakers.models import Speaker
from tests.bundled import add_quote
from tests.factories import (
    make_appearance,
    make_forum,
    make_institution,
    make_position,
    make_question,
    make_session,
    make_speaker,
    make_theme,
)

pytestmark = pytest.mark.django_db

FORUM = "pujiang-2025"
EXPAND = "fan-jianping-expand-human-activity"
EXPAND_TEXT = "開拓人類活動疆域"
EXPAND_SIMPLIFIED = "开拓人类活动疆域"
EXPAND_ENGLISH = "expanding the frontiers of human activity"
PROVENANCE = "Forum Portal editors (machine-assisted draft)"
ETHICS = "wang-zhan-ethics-law-design"
ETHICS_TEXT = "人工智能時代若缺乏同步的倫理、金融與法律設計,技術將陷入“裸泳”風險"
ETHICS_SIMPLIFIED = "人工智能时代若缺乏同步的伦理、金融与法律设计,技术将陷入“裸泳”风险"
MARK = '<mark class="key-phrase">裸泳</mark>'  # its key phrase, marked wherever it is shown
ETHICS_MARKED = ETHICS_TEXT.replace("裸泳", MARK)
ETHICS_SIMPLIFIED_MARKED = ETHICS_SIMPLIFIED.replace("裸泳", MARK)
TITLE = re.compile(r"<title>(.*?)</title>", re.S)


@pytest.fixture
def pujiang(pujiang):
    """The bundled forum with Fan Jianping's quoted 開拓人類活動疆域 as a verbatim position.

    The bundled file has it as a key phrase of his paraphrase; these tests need a quotation.
    """
    add_quote(EXPAND)
    return pujiang


def in_language(code, obj):
    with translation.override(code):
        return obj.get_absolute_url()


def get(client, code, obj):
    return client.get(in_language(code, obj))


def title(response):
    return html.unescape(TITLE.search(response.content.decode()).group(1))


# ---------------------------------------------------------------------------------------------
# Positions
# ---------------------------------------------------------------------------------------------


def test_simplified_page_shows_the_converted_quote_and_the_exact_original(client, pujiang):
    position = Position.objects.get(ref=EXPAND)

    response = get(client, "zh-hans", position)

    assertContains(
        response,
        f'<blockquote class="position-page__text" lang="zh-Hans"><p>{EXPAND_SIMPLIFIED}</p>'
        "</blockquote>",
        html=True,
    )
    assertContains(
        response,
        '<details class="original"><summary><span class="original__note">从繁体中文转换</span> '
        '<span class="original__action">查看原文</span></summary>'
        f'<div class="original__text" lang="zh-Hant"><p>{EXPAND_TEXT}</p></div></details>',
        html=True,
    )
    # The English translation stays one click away.
    assertContains(response, f'<div class="translation__text" lang="en"><p>{EXPAND_ENGLISH}</p>')
    # Only the display is converted: the verbatim quotation is stored as the source printed it.
    assert Position.objects.get(ref=EXPAND).text == EXPAND_TEXT


def test_english_page_shows_the_translation_first_and_the_original_as_spoken(client, pujiang):
    position = Position.objects.get(ref=EXPAND)

    response = get(client, "en", position)

    assertContains(
        response,
        f'<blockquote class="position-page__text" lang="en"><p>{EXPAND_ENGLISH}</p></blockquote>',
        html=True,
    )
    assertContains(
        response,
        '<details class="original"><summary><span class="original__note">Translated from '
        'Traditional Chinese</span> <span class="original__action">Show the original, as '
        f'spoken</span></summary><div class="original__text" lang="zh-Hant"><p>{EXPAND_TEXT}'
        "</p></div></details>",
        html=True,
    )
    # Who translated is said once, in the page's note on its translations.
    assertContains(response, f"<p>Translated by: {PROVENANCE}</p>", count=1, html=True)
    # The translation is the text shown: it is not offered again.
    assertNotContains(response, '<details class="translation">')
    assert title(response) == (
        "Fan Jianping: expanding the frontiers of human activi… · 論壇知識庫 Forum Portal"
    )


def test_traditional_page_shows_the_original_with_the_translation_one_click_away(client, pujiang):
    position = Position.objects.get(ref=EXPAND)

    response = get(client, "zh-hant", position)

    assertContains(
        response,
        f'<blockquote class="position-page__text" lang="zh-Hant"><p>{EXPAND_TEXT}</p></blockquote>',
        html=True,
    )
    assertContains(response, "<summary>英文翻譯</summary>", html=True)
    assertNotContains(response, '<details class="original">')


def test_english_page_of_an_untranslated_position_shows_the_original_with_a_note(client, pujiang):
    Position.objects.filter(ref=ETHICS).update(translation="")
    position = Position.objects.get(ref=ETHICS)

    response = get(client, "en", position)

    assertContains(
        response,
        f'<div class="position-page__text" lang="zh-Hant"><p>{ETHICS_MARKED}</p></div>',
        html=True,
    )
    assertContains(
        response,
        '<p class="original__untranslated">No English translation yet: shown as spoken.</p>',
        html=True,
    )


@pytest.mark.parametrize(
    ("code", "name"),
    [
        ("zh-hant", '王戰 <span class="alt" lang="en">Wang Zhan</span>'),
        ("zh-hans", '王战 <span class="alt" lang="en">Wang Zhan</span>'),
        ("en", 'Wang Zhan <span class="alt" lang="zh-Hant">王戰</span>'),
    ],
)
def test_names_are_in_the_readers_language(client, pujiang, code, name):
    wang_zhan = Speaker.objects.get(slug="wang-zhan")

    response = get(client, code, Position.objects.get(ref=ETHICS))

    assertContains(
        response,
        f'<a class="attribution__name" href="{in_language(code, wang_zhan)}">{name}</a>',
        html=True,
    )


@pytest.mark.parametrize(
    ("code", "role"),
    [
        ("zh-hant", '<a class="role-institution" href="{url}">上海市社會科學界聯合會</a>主席'),
        ("zh-hans", '<a class="role-institution" href="{url}">上海市社会科学界联合会</a>主席'),
        (
            "en",
            'Chairman, <a class="role-institution" href="{url}">Shanghai Federation of Social '
            "Science Associations</a>",
        ),
    ],
)
def test_roles_are_in_the_readers_language_with_the_institution_linked(client, pujiang, code, role):
    with translation.override(code):
        url = reverse("proceedings:institution-detail", args=["sfssa"])
        speaker_url = reverse("proceedings:speaker-detail", args=["wang-zhan"])

    response = client.get(speaker_url)

    assertContains(
        response, f'<span class="role__printed">{role.format(url=url)}</span>', html=True
    )


def test_simplified_cards_convert_quotes_names_themes_and_tags(client, pujiang):
    theme = Theme.objects.get(forum=pujiang, slug="full-factor-synergy")

    response = get(client, "zh-hans", theme)

    assertContains(
        response, f'<div class="position__text" lang="zh-Hans"><p>{ETHICS_SIMPLIFIED_MARKED}</p>'
    )
    assertContains(response, f'<div class="original__text" lang="zh-Hant"><p>{ETHICS_MARKED}</p>')
    assertContains(response, "<h1>融合不是简单叠加,而是全要素系统性协同</h1>", html=True)
    assertContains(response, ">科技伦理</a>")
    assert title(response) == (
        "融合不是简单叠加,而是全要素系统性协同 · 2025 浦江创新论坛 · 论坛知识库 Forum Portal"
    )
    assertNotContains(response, "王戰")


def test_english_theme_page_uses_the_english_fields_and_marks_the_rest(client, pujiang):
    theme = Theme.objects.get(forum=pujiang, slug="full-factor-synergy")
    with translation.override("en"):
        tag_url = reverse("proceedings:tag-detail", args=["科技倫理"])

    response = get(client, "en", theme)

    assertContains(
        response,
        "<h1>Integration is not simple addition but the systemic coordination of all factors</h1>",
        html=True,
    )
    assertContains(
        response,
        '<p class="subtitle"><span lang="zh-Hant">融合不是簡單疊加,而是全要素系統性協同</span></p>',
        html=True,
    )
    assert title(response) == (
        "Integration is not simple addition but the systemic coordination of all factors · "
        "2025 Pujiang Innovation Forum · 論壇知識庫 Forum Portal"
    )
    # Tags by their English names.
    assertContains(response, f'<a href="{tag_url}">Science and technology ethics</a>')
    assertNotContains(response, "科技倫理</a>")
    summary_en = theme.summary_en[:40]
    assertContains(response, f'<p class="lead" lang="en">{html.escape(summary_en)}')


def test_question_summary_in_english_keeps_the_original_one_click_away(client, pujiang):
    question = pujiang.questions.get(slug="who-integrates")

    response = get(client, "en", question)

    assertContains(
        response,
        f'<details class="in-english"><summary>Original (Chinese)</summary><div lang="zh-Hant">'
        f"<p>{question.summary}</p></div></details>",
        html=True,
    )


def test_conversion_never_marks_unescaped_input_safe(client):
    forum = make_forum(name="<b>論壇</b>")
    session = make_session(forum=forum)
    theme = make_theme(forum=forum, title="<i>主題</i>")
    speaker = make_speaker(name="<script>王戰</script>", name_en="<b>Wang</b>")
    appearance = make_appearance(
        session=session,
        speaker=speaker,
        institution=make_institution(name="<u>機構</u>"),
        as_printed="<em>機構</em>主席",
    )
    make_position(appearance=appearance, themes=[theme], text="<script>alert('說')</script>")

    pages = [get(client, code, theme).content.decode() for code in ("zh-hans", "en")]

    for page in pages:
        assert "<script>" not in page
        assert [tag for tag in ("<b>", "<i>", "<u>") if tag in page] == []
    assert "&lt;script&gt;alert(&#x27;说&#x27;)&lt;/script&gt;" in pages[0]
    assert "&lt;script&gt;王战&lt;/script&gt;" in pages[0]
    assert "&lt;b&gt;Wang&lt;/b&gt;" in pages[1]


# ---------------------------------------------------------------------------------------------
# Search results
# ---------------------------------------------------------------------------------------------


def search(client, code, query):
    with translation.override(code):
        url = reverse("proceedings:search")
    return client.get(url, {"q": query})


def test_simplified_search_highlights_the_converted_text(client, pujiang):
    response = search(client, "zh-hans", "开拓")

    assertContains(
        response,
        '<p class="search-hit__snippet" lang="zh-Hans"><mark>开拓</mark>人类活动疆域</p>',
        html=True,
    )
    assertContains(response, '<p class="search-hit__note">从繁体中文转换</p>', html=True)


def test_english_search_shows_the_translation_first_and_the_original_after(client, pujiang):
    response = search(client, "en", "開拓")

    assertContains(
        response, f'<p class="search-hit__snippet" lang="en">{EXPAND_ENGLISH}</p>', html=True
    )
    assertContains(
        response,
        '<p class="search-hit__translation"><span class="label">As spoken</span> '
        '<span lang="zh-Hant"><mark>開拓</mark>人類活動疆域</span></p>',
        html=True,
    )


def test_simplified_search_converts_facet_labels(client, pujiang):
    response = search(client, "zh-hans", "裸泳")

    assertContains(response, '王战 <span class="alt" lang="en">Wang Zhan</span>')
    assertNotContains(response, "王戰")


# ---------------------------------------------------------------------------------------------
# The functions
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tag", "family"),
    [
        ("zh-Hant", "zh-Hant"),
        ("zh-TW", "zh-Hant"),
        ("zh-Hant-HK", "zh-Hant"),
        ("zh", "zh-Hant"),
        ("zh-CN", "zh-Hans"),
        ("zh_Hans", "zh-Hans"),
        ("en-GB", "en"),
        ("fr", "fr"),
    ],
)
def test_family_of_a_language_tag(tag, family):
    assert localize.family(tag) == family


def test_english_original_is_never_converted_or_translated():
    position = Position(
        text="Enterprises first.", language="en", translation="", translation_language="en"
    )

    renditions = {}
    for code in ("zh-hant", "zh-hans", "en"):
        with translation.override(code):
            renditions[code] = localize.rendition(position)

    assert {code: (r.text, r.lang, r.kind) for code, r in renditions.items()} == dict.fromkeys(
        renditions, ("Enterprises first.", "en", "original")
    )
    assert renditions["en"].untranslated is False


# ---------------------------------------------------------------------------------------------
# Every text in the reader's script (Traditional pages too)
# ---------------------------------------------------------------------------------------------

ASSET_LIGHT = "zhu-pengcheng-asset-light-model"


def test_traditional_page_mends_the_sources_simplified_characters(client, pujiang):
    position = Position.objects.get(ref=ASSET_LIGHT)
    stored = position.text

    response = get(client, "zh-hant", position)

    content = html.unescape(response.content.decode())
    shown = localize.to_traditional(stored)
    assert "依託雲端" in shown
    assert "長週期" in shown
    assert f'<div class="position-page__text" lang="zh-Hant"><p>{shown}</p></div>' in content
    assert "已轉為繁體字" in content  # "Converted to Traditional characters"
    assert f'<div class="original__text" lang="zh-Hant"><p>{stored}</p></div>' in content
    position.refresh_from_db()
    assert position.text == stored  # display only


def test_traditional_page_shows_a_traditional_source_as_the_original(client, pujiang):
    position = Position.objects.get(ref=EXPAND)

    response = get(client, "zh-hant", position)

    assertContains(response, EXPAND_TEXT)
    assertNotContains(response, 'class="original__note"')


def test_simplified_forum_is_converted_for_traditional_readers_and_labelled_on_english_pages(
    client,
):
    forum = make_forum(slug="sh", name="上海数据论坛")
    session = make_session(forum=forum, title="数据要素分论坛")
    theme = make_theme(forum=forum, slug="data", title="基于数据的创新")
    speaker = make_speaker(slug="zhao", name="赵云", name_en="Zhao Yun")
    role = make_appearance(session=session, speaker=speaker, role="总经理", as_printed="")
    position = make_position(
        appearance=role,
        text="最后要依托云端数据",
        language="zh-Hans",
        themes=[theme],
        translation="",
    )

    hant = html.unescape(get(client, "zh-hant", position).content.decode())
    english = html.unescape(get(client, "en", position).content.decode())
    theme_en = html.unescape(get(client, "en", theme).content.decode())

    assert '<div class="position-page__text" lang="zh-Hant"><p>最後要依託雲端數據</p></div>' in hant
    assert '<div class="original__text" lang="zh-Hans"><p>最后要依托云端数据</p></div>' in hant
    assert "基於數據的創新" in hant
    assert "上海數據論壇" in hant
    assert (
        '<div class="position-page__text" lang="zh-Hans"><p>最后要依托云端数据</p></div>' in english
    )
    assert '<h1><span lang="zh-Hans">基于数据的创新</span></h1>' in theme_en
    assert 'lang="zh-Hant">基于数据' not in theme_en


def test_script_of_counts_the_characters_each_conversion_changes():
    assert localize.script_of("基于数据的创新") == "zh-Hans"
    assert localize.script_of("企業應真正成為融合創新的第一主體") == "zh-Hant"
    # Mostly Traditional with one Simplified character: Traditional.
    assert localize.script_of("融合不是簡單疊加,是什么") == "zh-Hant"
    assert localize.script_of("AI 2025", default="en") == "en"


def test_matrix_says_quotes_are_converted_only_when_they_are(client):
    forum = make_forum(slug="sh", name="上海数据论坛")
    question = make_question(forum=forum, slug="q", title="怎么办")
    theme = make_theme(forum=forum, questions=[question], slug="data", title="基于数据的创新")
    role = make_appearance(session=make_session(forum=forum), speaker=make_speaker(slug="zhao"))
    make_position(appearance=role, text="最后要依托云端数据", language="zh-Hans", themes=[theme])

    with translation.override("zh-hans"):
        simplified = client.get(reverse("proceedings:forum-matrix", args=["sh"]))
    with translation.override("zh-hant"):
        traditional = client.get(reverse("proceedings:forum-matrix", args=["sh"]))

    assertContains(simplified, "最后要依托云端数据")
    assertNotContains(simplified, "引文由繁体中文转换")
    assertContains(traditional, "最後要依託雲端數據")
    assertContains(traditional, "部分引文已轉為繁體字；原文見各觀點頁面。")


# ---------------------------------------------------------------------------------------------
# English pages in English
# ---------------------------------------------------------------------------------------------


def test_english_pages_name_countries_and_languages_in_english(client, pujiang):
    institution = pujiang.sessions.get().appearances.exclude(institution=None)[0].institution
    institution.country = "CN"
    institution.save()

    page = html.unescape(get(client, "en", institution).content.decode())
    with translation.override("en"):
        search = client.get(reverse("proceedings:search"), {"q": "融合"}).content.decode()

    assert "China</dd>" in page
    assert ">CN<" not in page
    assert '&amp;language=zh-Hant">Traditional Chinese</a>' in search
    assert 'language=zh-Hant">繁體中文</a>' not in search


def test_english_snippets_are_cut_between_words():
    from proceedings.search.highlight import excerpt, highlight
    from proceedings.search.query import parse_query

    text = (
        "Integrating science and industry is the key path to new quality productive forces; "
        "only by breaking down systemic barriers and reshaping the innovation ecosystem can "
        "science empower industry."
    )

    assert excerpt(text, max_chars=60) == (
        "Integrating science and industry is the key path to new…"
    )
    assert highlight(text, parse_query("innovation").terms, max_chars=60) == (
        "… barriers and reshaping the <mark>innovation</mark> ecosystem can…"
    )
    assert excerpt("企業應真正成為融合創新的第一主體", max_chars=10) == "企業應真正成為融合創…"


def test_traditional_pages_mark_converted_titles_and_names_with_the_original(client):
    forum = make_forum(slug="sh", name="上海数据论坛")
    theme = make_theme(forum=forum, slug="data", title="基于数据的创新", title_en="")
    speaker = make_speaker(slug="zhao", name="赵云", name_en="Zhao Yun")
    role = make_appearance(session=make_session(forum=forum), speaker=speaker)
    make_position(appearance=role, text="最后要依托云端数据", language="zh-Hans", themes=[theme])
    traditional = make_theme(
        forum=make_forum(slug="tw", name="臺灣論壇"), slug="plain", title="開拓疆域", title_en=""
    )

    hant = html.unescape(get(client, "zh-hant", theme).content.decode())
    hans = html.unescape(get(client, "zh-hans", theme).content.decode())
    plain = html.unescape(get(client, "zh-hant", traditional).content.decode())

    assert (
        '<h1><span class="converted" lang="zh-Hant" title="原文：基于数据的创新">'
        "基於數據的創新</span></h1>"
    ) in hant
    assert '<span class="converted" lang="zh-Hant" title="原文：赵云">趙雲</span>' in hant
    assert "點劃線" in hant  # the footer says what the dotted underline means
    # Simplified pages convert everything written in Traditional: said once, not per text.
    assert "<h1>基于数据的创新</h1>" in hans
    assert 'class="converted"' not in hans
    assert "以简体显示" in hans
    # Nothing converted, nothing marked.
    assert "<h1>開拓疆域</h1>" in plain
    assert 'class="converted"' not in plain


def test_converted_original_is_escaped_in_its_title():
    with translation.override("zh-hant"):
        shown = localize.as_html(localize.in_reader_script('基于"<b>'))

    assert shown == (
        '<span class="converted" lang="zh-Hant" title="原文：基于&quot;&lt;b&gt;">'
        "基於&quot;&lt;b&gt;</span>"
    )
