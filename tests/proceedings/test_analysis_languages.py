"""
The pages added beside the language layer, in each language: the matrix, the comparison, the
voice balance, the data page, the citations of a position and the feeds show names, titles and
quotes in the reader's language with their ``lang`` (exact strings of the Pujiang data), the
interface in the page's language (no English interface string left on a Simplified page), and
the same number of queries in every language.
"""

import ast
import html
import re
import xml.etree.ElementTree as ET  # our own responses: no need for defusedxml
from html.parser import HTMLParser

import pytest
from django.contrib.sites.models import Site
from django.urls import reverse
from django.utils import translation
from pytest_django.asserts import assertContains, assertNotContains

from proceedings.localize import to_simplified
from proceedings.models import Position
from speakers.models import Sector
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
from tests.test_catalogues import catalogue

pytestmark = pytest.mark.django_db

FORUM = "pujiang-2025"
ETHICS = "wang-zhan-ethics-law-design"
ETHICS_TEXT = "人工智能時代若缺乏同步的倫理、金融與法律設計,技術將陷入“裸泳”風險"
ETHICS_SIMPLIFIED = "人工智能时代若缺乏同步的伦理、金融与法律设计,技术将陷入“裸泳”风险"
ETHICS_ENGLISH = (
    "In the age of artificial intelligence, without ethical, financial and legal design "
    "developed in step with it, technology will run the risk of “swimming naked”."
)
PROVENANCE = "Forum Portal editors (machine-assisted draft)"
TITLE = re.compile(r"<title>(.*?)</title>", re.S)
ATOM = {"a": "http://www.w3.org/2005/Atom"}
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"


def url(code, name, *args, query=""):
    with translation.override(code):
        return reverse(f"proceedings:{name}", args=args) + query


def permalink(code, ref):
    with translation.override(code):
        return Position.objects.get(ref=ref).get_absolute_url()


def title(response):
    return html.unescape(TITLE.search(response.content.decode()).group(1))


def meta(response, prop):
    found = re.search(rf'<meta property="{prop}" content="([^"]*)">', response.content.decode())
    return html.unescape(found.group(1))


class InterfaceText(HTMLParser):
    """Collect a page's text and labelling attributes, leaving out content marked English
    (``lang="en"`` elements: names and titles beside their Chinese), code and scripts."""

    VOID = {"br", "img", "input", "meta", "link", "hr", "source", "wbr", "rect"}
    SKIPPED = {"code", "pre", "script", "style"}
    LABELS = ("aria-label", "title", "placeholder", "alt")

    def __init__(self):
        super().__init__()
        self.stack, self.pieces = [], []

    @property
    def skipping(self):
        return any(self.stack)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag in self.VOID:
            return
        skip = tag in self.SKIPPED or (attrs.get("lang") or "").startswith("en")
        self.stack.append(skip)
        if not self.skipping:
            self.pieces += [attrs[name] for name in self.LABELS if attrs.get(name)]

    def handle_startendtag(self, tag, attrs):
        pass

    def handle_endtag(self, tag):
        if tag not in self.VOID and self.stack:
            self.stack.pop()

    def handle_data(self, data):
        if not self.skipping:
            self.pieces.append(data)


def interface_text(response):
    parser = InterfaceText()
    parser.feed(response.content.decode())
    # The site's name is bilingual on every page ("论坛知识库 Forum Portal").
    return " ".join(" ".join(parser.pieces).replace("Forum Portal", "").split())


def english_strings_of(template):
    """Return the interface strings ``template`` uses that read differently in Simplified
    Chinese: the English that would show on its Simplified page if one were left untranslated.
    Strings with placeholders are left out (their fixed parts are too short to tell)."""
    strings = []
    for block in catalogue("zh_Hans").read_text(encoding="utf-8").split("\n\n"):
        references = " ".join(line for line in block.splitlines() if line.startswith("#:"))
        if f"{template}:" not in references:
            continue
        fields, current = {}, None
        for line in block.splitlines():
            if line.startswith('"'):
                fields[current] += ast.literal_eval(line)
            elif line.startswith(("msgid", "msgstr")):
                current, _space, value = line.partition(" ")
                fields[current] = ast.literal_eval(value)
        msgid = fields["msgid"]
        if "msgid_plural" in fields or "%(" in msgid or fields.get("msgstr") == msgid:
            continue
        strings.append(msgid)
    return strings


# ---------------------------------------------------------------------------------------------
# Who said what: the matrix
# ---------------------------------------------------------------------------------------------


def test_english_matrix_shows_english_names_titles_and_translated_snippets(client, pujiang):
    response = client.get(url("en", "forum-matrix", FORUM))

    assertContains(response, "<h1>Who said what</h1>", count=1)
    assert title(response) == (
        "Who said what, by question · 2025 Pujiang Innovation Forum · 論壇知識庫 Forum Portal"
    )
    assert meta(response, "og:title") == (
        "Who said what, by question · 2025 Pujiang Innovation Forum"
    )
    assertContains(
        response,
        '<a class="matrix__name" href="/en/speakers/wang-zhan/">'
        'Wang Zhan <span class="alt" lang="zh-Hant">王戰</span></a>',
        count=1,
    )
    assertContains(
        response,
        '<span class="matrix__role">Chairman, <a class="role-institution" '
        'href="/en/institutions/sfssa/">Shanghai Federation of Social Science Associations</a>'
        "</span>",
        count=1,
    )
    assertContains(
        response,
        '<a href="/en/forums/pujiang-2025/questions/who-integrates/">Who integrates?</a> '
        '<span class="alt"><span lang="zh-Hant">誰來融合</span></span>',
        count=1,
    )
    # Fourteen words of the English translation, marked English, linking to the position.
    assertContains(
        response,
        f'<a href="{permalink("en", ETHICS)}" lang="en">In the age of artificial intelligence, '
        "without ethical, financial and legal design developed in …</a>",
        count=1,
    )
    assertContains(
        response,
        "Positions of the speakers of 2025 Pujiang Innovation Forum, by guiding question",
    )
    assertNotContains(response, "王戰 <span")


def test_simplified_matrix_shows_converted_names_titles_and_snippets(client, pujiang):
    response = client.get(url("zh-hans", "forum-matrix", FORUM, query="?by=theme"))

    assertContains(response, "<h1>谁说了什么</h1>", count=1)
    assert title(response) == "谁说了什么（按主题） · 2025 浦江创新论坛 · 论坛知识库 Forum Portal"
    assertContains(
        response,
        "引文由繁体中文转换；原文见各条观点的页面。",
        count=1,
    )
    assertContains(
        response,
        '<a class="matrix__name" href="/zh-hans/speakers/wang-zhan/">'
        '王战 <span class="alt" lang="en">Wang Zhan</span></a>',
        count=1,
    )
    assertContains(
        response,
        f'<a href="{permalink("zh-hans", ETHICS)}" lang="zh-Hans">{ETHICS_SIMPLIFIED}</a>',
        count=1,
    )
    assertContains(response, '<caption id="matrix-caption">2025 浦江创新论坛发言人的观点（按主题）')
    assertNotContains(response, ETHICS_TEXT)
    assertNotContains(response, "王戰")


# ---------------------------------------------------------------------------------------------
# Compare
# ---------------------------------------------------------------------------------------------


def compare(code, *slugs):
    return url(code, "compare", query="?" + "&".join(f"speaker={slug}" for slug in slugs))


def test_english_comparison_shows_english_names_and_marked_translations(client, pujiang):
    response = client.get(compare("en", "wang-zhan", "fan-jianping"))

    assert title(response) == "Compare speakers: Wang Zhan, Fan Jianping · 論壇知識庫 Forum Portal"
    assertContains(
        response,
        '<a class="compare__name" href="/en/speakers/wang-zhan/">'
        'Wang Zhan <span class="alt" lang="zh-Hant">王戰</span></a>',
        count=1,
    )
    assertContains(
        response,
        f'<div class="compare__text" lang="en"><p>{ETHICS_ENGLISH}</p></div>',
        count=1,
        html=True,
    )
    assertContains(
        response,
        f'<div class="original__text" lang="zh-Hant"><p>{ETHICS_TEXT}</p></div>',
        count=1,
        html=True,
    )
    assertContains(response, f"Translated by: {PROVENANCE}")
    # The form lists every speaker with positions in English, the original beside.
    assertContains(
        response,
        '<label for="compare-wang-zhan">Wang Zhan <span class="alt" lang="zh-Hant">王戰</span>'
        "</label>",
        count=1,
    )


def test_simplified_comparison_converts_and_says_so(client, pujiang):
    response = client.get(compare("zh-hans", "wang-zhan", "fan-jianping"))

    assertContains(response, "<h1>比较发言人</h1>", count=1)
    assertContains(
        response,
        '<a class="compare__name" href="/zh-hans/speakers/wang-zhan/">'
        '王战 <span class="alt" lang="en">Wang Zhan</span></a>',
        count=1,
    )
    assertContains(
        response,
        f'<div class="compare__text" lang="zh-Hans"><p>{ETHICS_SIMPLIFIED}</p></div>',
        count=1,
        html=True,
    )
    assertContains(response, '<span class="original__note">从繁体中文转换</span>')


@pytest.mark.parametrize(
    ("code", "prompt"),
    [
        ("en", "Choose at least one more speaker to compare with Wang Zhan."),
        ("zh-hans", "请再选择至少一位发言人，与王战进行比较。"),
        ("zh-hant", "請再選擇至少一位發言人，與王戰比較。"),
    ],
)
def test_comparison_prompt_names_the_speaker_in_the_readers_language(client, pujiang, code, prompt):
    response = client.get(compare(code, "wang-zhan"))

    assertContains(response, f'<p class="compare-prompt" role="status">{prompt}</p>', count=1)


# ---------------------------------------------------------------------------------------------
# Voice balance
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "page_title", "heading", "lead", "sector"),
    [
        (
            "en",
            "Voice balance · 2025 Pujiang Innovation Forum · 論壇知識庫 Forum Portal",
            "Voice balance",
            "19 positions at this forum, 9 speakers.",
            "Enterprise",
        ),
        (
            "zh-hans",
            "发言分布 · 2025 浦江创新论坛 · 论坛知识库 Forum Portal",
            "发言分布",
            "本论坛共 19 则观点，9 位发言人。",
            "企业",
        ),
    ],
)
def test_voice_balance_in_the_readers_language(
    client, pujiang, code, page_title, heading, lead, sector
):
    response = client.get(url(code, "forum-balance", FORUM))

    assert title(response) == page_title
    assertContains(response, f"<h1>{heading}</h1>", count=1)
    assertContains(response, f'<p class="lead">{lead}</p>', count=1)
    assertContains(
        response,
        f'<th scope="row"><a href="{url(code, "sector-detail", "enterprise")}">{sector}</a></th>'
        '<td class="num">7</td><td class="num">3</td>',
        count=1,
    )


def test_english_theme_balance_names_the_theme_in_english(client, pujiang):
    response = client.get(url("en", "theme-balance", FORUM, "full-factor-synergy"))

    assertContains(
        response,
        '<p class="eyebrow">Theme · Integration is not simple addition but the systemic '
        "coordination of all factors</p>",
        count=1,
    )


# ---------------------------------------------------------------------------------------------
# Data page, citations, feeds
# ---------------------------------------------------------------------------------------------


def test_simplified_data_page_names_the_forum_in_simplified(client, pujiang):
    response = client.get(url("zh-hans", "data"))

    assertContains(response, "<h1>数据与 API</h1>", count=1)
    dataset = reverse("downloads:dataset-forum", args=[FORUM])
    assertContains(
        response,
        f'<a href="{dataset}" download>2025 浦江创新论坛</a> '
        '<span class="alt"><span lang="en">2025 Pujiang Innovation Forum</span></span>',
        count=1,
    )
    assertContains(response, "下载 CSV")


@pytest.mark.parametrize(
    ("code", "heading"), [("en", "Cite this position"), ("zh-hans", "引用此观点")]
)
def test_citations_say_the_language_they_are_written_in(client, pujiang, code, heading):
    response = client.get(permalink(code, ETHICS))

    assertContains(response, f'<h2 id="cite-heading" class="section__title">{heading}</h2>')
    # APA and Chicago are English whatever the page; GB/T 7714 is in the original script,
    # converted on a Simplified page.
    gbt = "zh-Hans" if code == "zh-hans" else "zh-Hant"
    for slug, lang in [("apa", "en"), ("chicago", "en"), ("gbt7714", gbt)]:
        assertContains(
            response, f'<p class="cite__text" id="cite-{slug}" lang="{lang}" data-cite-text>'
        )


@pytest.fixture
def site(settings):
    settings.SITE_URL = "https://forum.example.org"
    Site.objects.clear_cache()
    Site.objects.get_current()


def feed_entry(client, code, ref):
    response = client.get(url(code, "feed-latest", "atom"))
    feed = ET.fromstring(response.content)  # noqa: S314 - the site's own response
    link = "https://forum.example.org" + permalink(code, ref)
    (entry,) = [
        e for e in feed.findall("a:entry", ATOM) if e.find("a:link", ATOM).get("href") == link
    ]
    return feed, entry


def test_english_feed_entries_are_in_english(client, pujiang, site):
    feed, entry = feed_entry(client, "en", ETHICS)

    assert feed.get(XML_LANG) == "en"
    assert feed.find("a:title", ATOM).text == "New positions · 論壇知識庫 Forum Portal"
    assert entry.find("a:title", ATOM).text == (
        "Wang Zhan: In the age of artificial intelligence, without ethical, fin…"
    )
    assert entry.find("a:author/a:name", ATOM).text == "Wang Zhan (王戰)"
    assert entry.find("a:content", ATOM).text == (
        f'<blockquote lang="en"><p>{ETHICS_ENGLISH}</p></blockquote>'
        "<p>Translated from Traditional Chinese</p>"
        f"<p>Translated by: {PROVENANCE}</p>"
        f'<div lang="zh-Hant"><p>{ETHICS_TEXT}</p></div>'
    )


def test_simplified_feed_entries_are_converted_and_say_so(client, pujiang, site):
    feed, entry = feed_entry(client, "zh-hans", ETHICS)

    assert feed.get(XML_LANG) == "zh-Hans"
    assert feed.find("a:title", ATOM).text == "最新观点 · 论坛知识库 Forum Portal"
    assert entry.find("a:title", ATOM).text == f"王战: {ETHICS_SIMPLIFIED}"
    assert entry.find("a:author/a:name", ATOM).text == "王战 (Wang Zhan)"
    assert entry.find("a:content", ATOM).text == (
        f'<blockquote lang="zh-Hans"><p>{ETHICS_SIMPLIFIED}</p></blockquote>'
        "<p>从繁体中文转换</p>"
        f'<div lang="zh-Hant"><p>{ETHICS_TEXT}</p></div>'
        f'<div lang="en"><p>{ETHICS_ENGLISH}</p></div>'
    )


def test_english_speaker_feed_is_titled_in_english(client, pujiang, site):
    response = client.get(url("en", "speaker-feed", "wang-zhan", "atom"))

    feed = ET.fromstring(response.content)  # noqa: S314 - the site's own response
    assert feed.find("a:title", ATOM).text == "Wang Zhan: new positions"


# ---------------------------------------------------------------------------------------------
# No English interface string left on the Simplified pages
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("template", "name", "args", "query"),
    [
        ("templates/proceedings/forum_matrix.html", "forum-matrix", [FORUM], ""),
        ("templates/proceedings/compare.html", "compare", [], "?speaker=wang-zhan&speaker=li-zhe"),
        ("templates/proceedings/voice_balance.html", "forum-balance", [FORUM], ""),
        ("templates/proceedings/data.html", "data", [], ""),
    ],
)
def test_simplified_pages_have_no_untranslated_interface_string(
    client, pujiang, template, name, args, query
):
    english = english_strings_of(template)

    response = client.get(url("zh-hans", name, *args, query=query))

    text = interface_text(response)
    assert len(english) > 5, english  # the template's strings were found
    assert [s for s in english if s in text] == []


# ---------------------------------------------------------------------------------------------
# The same number of queries in every language
# ---------------------------------------------------------------------------------------------


@pytest.fixture(params=[1, 3], ids=["1-speaker", "3-speakers"])
def corpus(request, db):
    """A published forum with English names and translations: ``n`` speakers of ``n``
    sectors, ``n`` positions each on ``n`` themes answering ``n`` questions."""
    n = request.param
    forum = make_forum()
    session = make_session(forum=forum)
    questions = [make_question(forum=forum, order=i) for i in range(n)]
    themes = [make_theme(forum=forum, questions=questions, order=i) for i in range(n)]
    speakers = []
    for i in range(n):
        institution = make_institution(sector=list(Sector)[i], country=["CN", "BR", "DE"][i])
        speaker = make_speaker(name=f"發言人{i}", name_en=f"Speaker {i}")
        appearance = make_appearance(session=session, speaker=speaker, institution=institution)
        for _ in range(n):
            make_position(
                appearance=appearance,
                themes=themes,
                translation="A position",
                translation_language="en",
            )
        speakers.append(speaker)
    return forum, themes, speakers


@pytest.mark.parametrize("code", ["zh-hans", "en"])
def test_analysis_query_counts_are_the_same_in_every_language(
    client, corpus, code, django_assert_num_queries
):
    forum, themes, speakers = corpus
    slugs = "&".join(f"speaker={speaker.slug}" for speaker in speakers[:2])

    # As in test_analysis.py: forum, questions, theme-question pairs, appearances, positions,
    # position-theme pairs
    with django_assert_num_queries(6):
        response = client.get(url(code, "forum-matrix", forum.slug))
    # forum, its roles with their tallies
    with django_assert_num_queries(2):
        client.get(url(code, "forum-balance", forum.slug))
    if len(speakers) > 1:
        # the speakers chosen, the form's people, forums, appearances, positions,
        # position-theme pairs, themes
        with django_assert_num_queries(7):
            client.get(url(code, "compare", query=f"?{slugs}"))

    shown = speakers[0].name_en if code == "en" else to_simplified(speakers[0].name)
    assertContains(response, f'href="{url(code, "speaker-detail", speakers[0].slug)}">{shown} ')


def test_simplified_page_gives_gbt7714_in_simplified_and_apa_as_published(client, pujiang):
    content = client.get(permalink("zh-hans", ETHICS)).content.decode()

    def cited(slug):
        start = content.index(f'id="cite-{slug}"')
        return html.unescape(content[start : content.index("</p>", start)])

    assert "王战." in cited("gbt7714")
    assert ETHICS_SIMPLIFIED[:20] in cited("gbt7714")
    assert ETHICS_TEXT[:20] not in cited("gbt7714")
    assert ETHICS_TEXT[:20] in cited("apa")
