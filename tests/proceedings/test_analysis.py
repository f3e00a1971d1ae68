"""
Who stands where: the speaker × question matrix, the comparison of speakers and the voice
balance, with exact content from the bundled Pujiang 2025 forum (read from the rendered HTML),
drafts left out, bad input answered with a message, and a fixed number of SQL queries.
"""

import re
from html.parser import HTMLParser

import pytest
from django.urls import reverse
from django.utils import translation
from pytest_django.asserts import assertContains, assertNotContains

from proceedings.analysis import BalanceRow, bar_chart, forum_voice_balance, voice_balance
from proceedings.models import Position, Status, Theme
from speakers.models import Institution, Sector, Speaker
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


def url(name, *args, query=""):
    return reverse(f"proceedings:{name}", args=args) + query


def ref_of_url():
    """Return ``{permalink: ref}`` for every position."""
    return {position.get_absolute_url(): position.ref for position in Position.objects.all()}


def sector_labels(response):
    """Return ``{value: label}`` of the sectors in the language the page was rendered in."""
    with translation.override(response["Content-Language"]):
        return {value: str(label) for value, label in Sector.choices}


class TableParser(HTMLParser):
    """Read the ``<table>`` elements of a page: caption, header row and body rows.

    Each table is ``{"caption", "head": [cell text], "groups": [[group heading, [row]]],
    "foot": [cell text]}`` where a row is ``(row header cell, [cell])`` and a cell is
    ``{"text", "links"}``.
    """

    def __init__(self):
        super().__init__()
        self.tables, self.cell, self.in_caption = [], None, False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        table = self.tables[-1] if self.tables else None
        if tag == "table":
            self.tables.append({"caption": "", "head": [], "groups": [], "foot": []})
        elif tag == "caption":
            self.in_caption = True
        elif tag == "tbody":
            table["groups"].append([None, []])
            table["section"] = "body"
        elif tag == "thead":
            table["section"] = "head"
        elif tag == "tfoot":
            table["section"] = "foot"
        elif tag == "tr":
            table["row"] = []
        elif tag in ("th", "td"):
            self.cell = {"tag": tag, "scope": attrs.get("scope"), "text": "", "links": []}
        elif tag == "a" and self.cell is not None:
            self.cell["links"].append(attrs["href"])

    def handle_endtag(self, tag):
        table = self.tables[-1] if self.tables else None
        if tag == "caption":
            self.in_caption = False
        elif tag in ("th", "td") and self.cell is not None:
            self.cell["text"] = " ".join(self.cell["text"].split())
            table["row"].append(self.cell)
            self.cell = None
        elif tag == "tr":
            row = table.pop("row")
            if table["section"] == "head":
                table["head"] = [cell["text"] for cell in row]
            elif table["section"] == "foot":
                table["foot"] = [cell["text"] for cell in row]
            elif row[0]["scope"] == "rowgroup":
                table["groups"][-1][0] = row[0]["text"]
            else:
                table["groups"][-1][1].append((row[0], row[1:]))

    def handle_data(self, data):
        if self.in_caption:
            self.tables[-1]["caption"] += data
        elif self.cell is not None:
            self.cell["text"] += data


def tables(response):
    parser = TableParser()
    parser.feed(response.content.decode())
    return parser.tables


def matrix_cells(response):
    """Return ``[(sector heading, [(speaker slug, [[position ref, …] per column])])]``.

    Read from the page: a row's speaker is its header's first link, a cell's positions are
    its links.
    """
    refs = ref_of_url()
    slugs = {speaker.get_absolute_url(): speaker.slug for speaker in Speaker.objects.all()}
    (table,) = tables(response)
    return [
        (
            heading,
            [
                (
                    slugs[header["links"][0]],
                    [[refs[link] for link in cell["links"]] for cell in cells],
                )
                for header, cells in rows
            ],
        )
        for heading, rows in table["groups"]
    ]


# ---------------------------------------------------------------------------------------------
# Matrix
# ---------------------------------------------------------------------------------------------

MATRIX_BY_QUESTION = [
    # Regional ecosystems answer "how to integrate" only (the theme's curator note says why).
    ("government", [("xiao-jian", [
        [],
        [],
        ["xiao-jian-zhangjiang-cluster", "xiao-jian-one-stop-ecosystem"],
    ])]),
    ("academia", [("fan-jianping", [
        [],
        ["fan-jianping-butterfly-model", "fan-jianping-future-frontiers"],
        ["fan-jianping-future-frontiers"],
    ])]),
    ("research", [("liu-dongmei", [
        [
            "liu-dongmei-enterprise-market-insight",
            "liu-dongmei-enterprise-as-bridge",
            "liu-dongmei-cede-powers-to-enterprises",
        ],
        [],
        [],
    ])]),
    ("enterprise", [
        ("ding-lieming", [
            [],
            [],
            [
                "ding-lieming-last-mile",
                "ding-lieming-institutions-first",
                "ding-lieming-drug-review-reform",
            ],
        ]),
        ("song-qi", [[], ["song-qi-system-reconstruction", "song-qi-photon-ct-roadmap"], []]),
        ("zhu-pengcheng", [
            [],
            [],
            ["zhu-pengcheng-asset-light-model", "zhu-pengcheng-atlatl-motherboard"],
        ]),
    ]),
    ("finance", [("li-zhe", [[], ["li-zhe-finance-as-blood", "li-zhe-multi-tier-exit"], []])]),
    ("association", [("wang-zhan", [
        [],
        ["wang-zhan-ethics-law-design", "wang-zhan-market-and-government"],
        [],
    ])]),
    ("foreign", [("daniel-almeida", [
        [],
        ["daniel-almeida-structured-planning"],
        ["daniel-almeida-structured-planning"],
    ])]),
]  # fmt: skip

THEMES = [
    "enterprises-as-first-actor",
    "full-factor-synergy",
    "translation-bottleneck-mechanisms",
    "future-industries-main-battlefield",
    "regional-ecosystems",
    "outlook",
    "task-strengthen-enterprises",
    "task-free-flow-of-factors",
    "task-reform-translation-and-evaluation",
]


def by_theme(**cells):
    """Return a row of the by-theme matrix: ``theme slug (underscored)=[refs]``, others empty."""
    return [cells.get(theme.replace("-", "_"), []) for theme in THEMES]


MATRIX_BY_THEME = [
    ("government", [("xiao-jian", by_theme(
        regional_ecosystems=["xiao-jian-zhangjiang-cluster", "xiao-jian-one-stop-ecosystem"],
    ))]),
    ("academia", [("fan-jianping", by_theme(
        full_factor_synergy=["fan-jianping-butterfly-model"],
        future_industries_main_battlefield=["fan-jianping-future-frontiers"],
    ))]),
    ("research", [("liu-dongmei", by_theme(
        enterprises_as_first_actor=[
            "liu-dongmei-enterprise-market-insight",
            "liu-dongmei-enterprise-as-bridge",
            "liu-dongmei-cede-powers-to-enterprises",
        ],
        task_strengthen_enterprises=[
            "liu-dongmei-enterprise-market-insight", "liu-dongmei-cede-powers-to-enterprises"
        ],
    ))]),
    ("enterprise", [
        ("ding-lieming", by_theme(
            translation_bottleneck_mechanisms=[
                "ding-lieming-last-mile",
                "ding-lieming-institutions-first",
                "ding-lieming-drug-review-reform",
            ],
            task_reform_translation_and_evaluation=["ding-lieming-institutions-first"],
        )),
        ("song-qi", by_theme(
            full_factor_synergy=["song-qi-system-reconstruction", "song-qi-photon-ct-roadmap"],
        )),
        ("zhu-pengcheng", by_theme(
            translation_bottleneck_mechanisms=[
                "zhu-pengcheng-asset-light-model", "zhu-pengcheng-atlatl-motherboard"
            ],
        )),
    ]),
    ("finance", [("li-zhe", by_theme(
        full_factor_synergy=["li-zhe-finance-as-blood", "li-zhe-multi-tier-exit"],
    ))]),
    ("association", [("wang-zhan", by_theme(
        full_factor_synergy=["wang-zhan-ethics-law-design", "wang-zhan-market-and-government"],
    ))]),
    ("foreign", [("daniel-almeida", by_theme(
        translation_bottleneck_mechanisms=["daniel-almeida-structured-planning"],
        future_industries_main_battlefield=["daniel-almeida-structured-planning"],
    ))]),
]  # fmt: skip


def with_labels(expected, response):
    labels = sector_labels(response)
    return [(labels[sector], rows) for sector, rows in expected]


def test_matrix_puts_each_pujiang_speaker_under_the_right_questions(client, pujiang):
    response = client.get(url("forum-matrix", FORUM))

    assert response.status_code == 200
    assert matrix_cells(response) == with_labels(MATRIX_BY_QUESTION, response)
    (table,) = tables(response)
    assert table["head"][1:] == [
        "誰來融合 Who integrates?",
        "融合什麼 What is integrated?",  # the source's 么, in Traditional characters
        "如何融合 How to integrate?",
    ]
    assert table["caption"] == "2025 浦江創新論壇發言人的觀點（依核心議題）"


def test_matrix_by_theme_puts_each_pujiang_speaker_under_the_right_themes(client, pujiang):
    response = client.get(url("forum-matrix", FORUM, query="?by=theme"))

    assert response.status_code == 200
    assert matrix_cells(response) == with_labels(MATRIX_BY_THEME, response)
    columns = response.context["matrix"].columns
    assert [theme.slug for theme in columns] == THEMES


def test_matrix_cells_are_snippets_with_their_fidelity_and_permalink(client, pujiang):
    long = Position.objects.get(ref="liu-dongmei-enterprise-market-insight")
    short = add_quote("wang-zhan-naked-swimming")

    response = client.get(url("forum-matrix", FORUM))

    assertContains(
        response,
        f'<a href="{long.get_absolute_url()}" lang="zh-Hant">{long.text[:40]}…</a>',
        count=1,
    )
    assertContains(
        response, f'<a href="{short.get_absolute_url()}" lang="zh-Hant">裸泳</a>', count=1
    )
    html = response.content.decode()
    badge = re.search(
        rf'<span class="fidelity fidelity--(\w+)">([^<]+)</span>\s*'
        rf'<a href="{short.get_absolute_url()}"',
        html,
    )
    assert badge.groups() == ("verbatim", str(Position.Fidelity.VERBATIM.label))
    # 9 speakers × 3 questions = 27 cells, 16 of them empty, each said so in words.
    assert html.count('<span class="visually-hidden">沒有觀點</span>') == 16
    assert html.count('scope="rowgroup"') == 7


def test_matrix_leaves_out_drafts(client, pujiang):
    Position.objects.filter(ref="wang-zhan-market-and-government").update(status=Status.DRAFT)
    Speaker.objects.filter(slug="li-zhe").update(status=Status.DRAFT)
    Theme.objects.filter(slug="regional-ecosystems").update(status=Status.DRAFT)

    by_question = matrix_cells(client.get(url("forum-matrix", FORUM)))
    response = client.get(url("forum-matrix", FORUM, query="?by=theme"))

    assert [theme.slug for theme in response.context["matrix"].columns] == [
        slug for slug in THEMES if slug != "regional-ecosystems"
    ]
    speakers = [slug for _sector, rows in by_question for slug, _cells in rows]
    assert "li-zhe" not in speakers
    # Xiao Jian's positions are public, their only theme is not: a last column keeps them.
    assert dict(dict(by_question)[sector_labels(response)["association"]])["wang-zhan"] == [
        [],
        ["wang-zhan-ethics-law-design"],
        [],
        [],
    ]
    assert dict(dict(by_question)[sector_labels(response)["government"]])["xiao-jian"] == [
        [],
        [],
        [],
        ["xiao-jian-zhangjiang-cluster", "xiao-jian-one-stop-ecosystem"],
    ]
    draft = Position.objects.get(ref="wang-zhan-market-and-government")
    assertNotContains(response, f'href="{draft.get_absolute_url()}"')
    assertNotContains(response, "李喆")


def test_matrix_of_a_draft_or_unknown_forum_is_not_found(client, pujiang):
    pujiang.status = Status.DRAFT
    pujiang.save()

    assert client.get(url("forum-matrix", FORUM)).status_code == 404
    assert client.get(url("forum-matrix", "no-such-forum")).status_code == 404


@pytest.mark.parametrize("value", ["speaker", "", "<b>x</b>", "x" * 500])
def test_matrix_with_an_unknown_axis_says_so(client, pujiang, value):
    response = client.get(url("forum-matrix", FORUM), {"by": value})

    assert response.status_code == 400
    shown = value if len(value) <= 60 else value[:60] + "…"
    assertContains(
        response,
        f"未知的檢視方式「{shown.replace('<', '&lt;').replace('>', '&gt;')}」："
        "請使用 by=question 或 by=theme。",
        status_code=400,
    )


def test_forum_question_and_speaker_pages_link_to_the_new_views(client, pujiang):
    forum = client.get(pujiang.get_absolute_url())
    question = client.get(url("question-detail", FORUM, "who-integrates"))
    theme = client.get(url("theme-detail", FORUM, "full-factor-synergy"))
    speaker = client.get(url("speaker-detail", "liu-dongmei"))

    assertContains(forum, f'href="{url("forum-matrix", FORUM)}"')
    assertContains(forum, f'href="{url("forum-balance", FORUM)}"')
    assertContains(question, f'href="{url("forum-matrix", FORUM)}"')
    assertContains(theme, f'href="{url("theme-balance", FORUM, "full-factor-synergy")}"')
    assertContains(speaker, f'href="{url("compare")}?speaker=liu-dongmei"')


# ---------------------------------------------------------------------------------------------
# Compare
# ---------------------------------------------------------------------------------------------


def compare_url(*slugs, forum=None):
    query = "&".join(f"speaker={slug}" for slug in slugs)
    if forum:
        query += f"&forum={forum}"
    return url("compare", query="?" + query)


def test_compare_two_pujiang_speakers_theme_by_theme(client, pujiang):
    refs = ref_of_url()

    response = client.get(compare_url("liu-dongmei", "fan-jianping"))

    assert response.status_code == 200
    (table,) = tables(response)
    assert table["head"][1:] == [
        "劉冬梅 Liu Dongmei 中國科學技術發展戰略研究院黨委書記",
        "樊建平 Fan Jianping 深圳理工大學校長、黨委副書記",
    ]
    rows = [
        (
            header["text"].split()[0],
            [[refs[link] for link in cell["links"] if link in refs] for cell in cells],
        )
        for header, cells in table["groups"][0][1]
    ]
    assert rows == [
        (
            "企業應真正成為融合創新的“第一主體”",
            [
                [
                    "liu-dongmei-enterprise-market-insight",
                    "liu-dongmei-enterprise-as-bridge",
                    "liu-dongmei-cede-powers-to-enterprises",
                ],
                [],
            ],
        ),
        (
            "融合不是簡單疊加,而是全要素系統性協同",
            [[], ["fan-jianping-butterfly-model"]],
        ),
        (
            "未來產業是融合創新的“主戰場”",
            [[], ["fan-jianping-future-frontiers"]],
        ),
        (
            "強化企業創新主體地位,明確“誰來融”的核心載體",
            [
                [
                    "liu-dongmei-enterprise-market-insight",
                    "liu-dongmei-cede-powers-to-enterprises",
                ],
                [],
            ],
        ),
    ]
    liu = Position.objects.get(ref="liu-dongmei-enterprise-market-insight")
    cell = table["groups"][0][1][0][1][0]
    assert liu.text in cell["text"]
    # The institution at the time links to its page, and the row to its theme.
    assertContains(response, f'href="{url("institution-detail", "casted")}"')
    assertContains(response, f'href="{url("theme-detail", FORUM, "enterprises-as-first-actor")}"')


def test_compare_keeps_the_order_of_the_address(client, pujiang):
    response = client.get(compare_url("wang-zhan", "xiao-jian", "song-qi", forum=FORUM))

    assert [c.speaker.slug for c in response.context["comparison"].columns] == [
        "wang-zhan",
        "xiao-jian",
        "song-qi",
    ]
    assert [row.theme.slug for row in response.context["comparison"].rows] == [
        "full-factor-synergy",
        "regional-ecosystems",
    ]


def test_compare_form_lists_published_speakers_with_positions(client, pujiang):
    Speaker.objects.filter(slug="li-zhe").update(status=Status.DRAFT)

    response = client.get(url("compare"))

    assert response.status_code == 200
    assert [s.slug for s in response.context["asked"].choices] == [
        "daniel-almeida",
        "ding-lieming",
        "fan-jianping",
        "liu-dongmei",
        "song-qi",
        "wang-zhan",
        "xiao-jian",
        "zhu-pengcheng",
    ]
    assertContains(response, '<input type="checkbox" name="speaker" value="wang-zhan"', count=1)
    assertNotContains(response, "jiang-jiaoyan")  # the rapporteur has no positions
    assertNotContains(response, '<table class="compare')


def test_compare_with_one_speaker_shows_the_form_with_a_prompt(client, pujiang):
    response = client.get(compare_url("liu-dongmei"))

    assert response.status_code == 200
    assertContains(
        response,
        '<p class="compare-prompt" role="status">請再選擇至少一位發言人，與劉冬梅比較。</p>',
    )
    assertContains(
        response,
        '<input type="checkbox" name="speaker" value="liu-dongmei" id="compare-liu-dongmei" '
        "checked>",
    )


@pytest.mark.parametrize(
    ("query", "message"),
    [
        (
            "?speaker=liu-dongmei&speaker=nobody",
            "找不到有已發布觀點的發言人「nobody」。",
        ),
        (
            "?speaker=liu-dongmei&speaker=jiang-jiaoyan",
            "找不到有已發布觀點的發言人「jiang-jiaoyan」。",
        ),
        (
            "?speaker=liu-dongmei&speaker=liu-dongmei",
            "「liu-dongmei」選了兩次：每位發言人只能選一次。",
        ),
        (
            "?speaker=a&speaker=b&speaker=c&speaker=d&speaker=e",
            "每次最多比較 4 位發言人；您選了 5 位。",
        ),
        (
            "?speaker=liu-dongmei&speaker=fan-jianping&forum=nowhere",
            "沒有已發布的論壇「nowhere」。",
        ),
        (
            "?speaker=liu-dongmei&speaker=" + "%3Cscript%3E" + "x" * 100,
            "找不到有已發布觀點的發言人「&lt;script&gt;" + "x" * 52 + "…」。",
        ),
    ],
    ids=["unknown", "no-positions", "duplicate", "too-many", "unknown-forum", "garbage"],
)
def test_compare_errors_are_messages_not_500s(client, pujiang, query, message):
    response = client.get(url("compare", query=query))

    assertContains(response, f"<li>{message}</li>", status_code=400)
    assertContains(response, '<form class="compare-form__speakers"', status_code=400)
    assert "comparison" not in response.context


def test_compare_draft_speaker_is_unknown(client, pujiang):
    Speaker.objects.filter(slug="fan-jianping").update(status=Status.DRAFT)

    response = client.get(compare_url("liu-dongmei", "fan-jianping"))

    assertContains(
        response,
        "<li>找不到有已發布觀點的發言人「fan-jianping」。</li>",
        status_code=400,
    )
    assertNotContains(response, "蝴蝶模型", status_code=400)


def test_compare_within_a_forum_names_who_did_not_speak_there(client, pujiang):
    other = make_forum(slug="other-forum")
    speaker = make_speaker(slug="elsewhere", name="他處")
    appearance = make_appearance(session=make_session(forum=other), speaker=speaker)
    make_position(appearance=appearance)

    response = client.get(compare_url("liu-dongmei", "elsewhere", forum=FORUM))

    assertContains(response, "<li>他處在2025 浦江創新論壇沒有已發布的觀點。</li>", status_code=400)


def test_compare_leaves_out_draft_positions_and_themes(client, pujiang):
    add_quote("fan-jianping-butterfly-model-term", status=Status.DRAFT)
    Theme.objects.filter(slug="future-industries-main-battlefield").update(status=Status.DRAFT)

    response = client.get(compare_url("liu-dongmei", "fan-jianping"))

    rows = [
        (row.theme.slug if row.theme else None, [[p.ref for p in cell] for cell in row.cells])
        for row in response.context["comparison"].rows
    ]
    assert rows == [
        (
            "enterprises-as-first-actor",
            [
                [
                    "liu-dongmei-enterprise-market-insight",
                    "liu-dongmei-enterprise-as-bridge",
                    "liu-dongmei-cede-powers-to-enterprises",
                ],
                [],
            ],
        ),
        ("full-factor-synergy", [[], ["fan-jianping-butterfly-model"]]),
        (
            "task-strengthen-enterprises",
            [
                [
                    "liu-dongmei-enterprise-market-insight",
                    "liu-dongmei-cede-powers-to-enterprises",
                ],
                [],
            ],
        ),
        (None, [[], ["fan-jianping-future-frontiers"]]),
    ]


# ---------------------------------------------------------------------------------------------
# Voice balance
# ---------------------------------------------------------------------------------------------


def balance_tables(response):
    """Return ``{caption: (rows, total)}``, rows as ``(label, positions, speakers)``."""
    return {
        table["caption"]: (
            [
                (header["text"], *[int(cell["text"]) for cell in cells])
                for header, cells in table["groups"][0][1]
            ],
            table["foot"],
        )
        for table in tables(response)
    }


def svg_charts(response):
    """Return ``{title: {"positions": [...], "speakers": [...], "labels": [...], "values"}}``."""
    charts = {}
    for svg in re.findall(r"<svg .*?</svg>", response.content.decode(), re.S):
        assert 'role="img"' in svg
        assert "style" not in svg
        title = re.search(r"<title [^>]*>([^<]*)</title>", svg).group(1)
        rows = re.findall(r'<g class="chart__row">(.*?)</g>', svg, re.S)
        charts[title] = {
            "labels": [re.search(r'class="chart__label"[^>]*>([^<]*)<', r).group(1) for r in rows],
            "positions": sum(r.count('class="bar bar--positions"') for r in rows),
            "speakers": sum(r.count('class="bar bar--speakers"') for r in rows),
            "values": [
                [int(v) for v in re.findall(r'class="chart__value"[^>]*>(\d+)<', r)] for r in rows
            ],
            "desc": re.search(r"<desc [^>]*>([^<]*)</desc>", svg).group(1),
        }
    return charts


def expected_sectors(response, counts):
    labels = sector_labels(response)
    return [(labels[value], *counts.get(value, (0, 0))) for value in Sector.values]


# The tables' captions and labels on the default (Traditional Chinese) pages.
BY_SECTOR = "各界別的觀點與發言人"
BY_COUNTRY = "各國家或地區的觀點與發言人"
TOTAL = "合計"
UNKNOWN_COUNTRY = "國家或地區不詳"

PUJIANG_SECTORS = {
    "government": (2, 1),
    "academia": (2, 1),
    "research": (3, 1),
    "enterprise": (7, 3),
    "finance": (2, 1),
    "association": (2, 1),
    "foreign": (1, 1),
}


def test_forum_voice_balance_counts_per_sector_and_country(client, pujiang):
    response = client.get(url("forum-balance", FORUM))

    assert response.status_code == 200
    with translation.override(response["Content-Language"]):
        china, brazil = str(translation.gettext("China")), str(translation.gettext("Brazil"))
    sectors = expected_sectors(response, PUJIANG_SECTORS)
    countries = [(china, 18, 8), (brazil, 1, 1)]
    tables_ = balance_tables(response)
    assert tables_ == {
        BY_SECTOR: (sectors, [TOTAL, "19", "9"]),
        BY_COUNTRY: (countries, [TOTAL, "19", "9"]),
    }
    charts = svg_charts(response)
    assert charts[BY_SECTOR]["labels"] == [row[0] for row in sectors]
    assert charts[BY_SECTOR]["positions"] == 7
    assert charts[BY_SECTOR]["speakers"] == 7
    assert charts[BY_SECTOR]["values"] == [[row[1], row[2]] for row in sectors]
    assert charts[BY_COUNTRY]["labels"] == [china, brazil]
    assert charts[BY_COUNTRY]["values"] == [[18, 8], [1, 1]]
    with translation.override(response["Content-Language"]):
        counts = [
            translation.ngettext(f"%(counter)s {noun}", f"%(counter)s {noun}s", n) % {"counter": n}
            for noun, n in [("position", 18), ("speaker", 8), ("position", 1), ("speaker", 1)]
        ]
    assert charts[BY_COUNTRY]["desc"] == (
        f"{china}: {counts[0]}, {counts[1]}. {brazil}: {counts[2]}, {counts[3]}."
    )


def test_theme_voice_balance_counts_per_sector_and_country(client, pujiang):
    response = client.get(url("theme-balance", FORUM, "full-factor-synergy"))

    sectors = expected_sectors(
        response,
        {"academia": (1, 1), "enterprise": (2, 1), "finance": (2, 1), "association": (2, 1)},
    )
    with translation.override(response["Content-Language"]):
        china = str(translation.gettext("China"))
    assert balance_tables(response) == {
        BY_SECTOR: (sectors, [TOTAL, "7", "4"]),
        BY_COUNTRY: ([(china, 7, 4)], [TOTAL, "7", "4"]),
    }
    charts = svg_charts(response)
    assert charts[BY_SECTOR]["positions"] == 7
    assert charts[BY_SECTOR]["values"] == [[row[1], row[2]] for row in sectors]
    assert charts[BY_COUNTRY]["labels"] == [china]


def test_voice_balance_leaves_out_drafts_and_counts_unknown_country(client, pujiang):
    Speaker.objects.filter(slug="daniel-almeida").update(status=Status.DRAFT)
    Position.objects.filter(ref="wang-zhan-market-and-government").update(status=Status.DRAFT)
    Institution.objects.filter(slug="atlatl").update(country="")

    response = client.get(url("forum-balance", FORUM))

    with translation.override(response["Content-Language"]):
        china = str(translation.gettext("China"))
    sectors = expected_sectors(
        response, {**PUJIANG_SECTORS, "association": (1, 1), "foreign": (0, 0)}
    )
    assert balance_tables(response) == {
        BY_SECTOR: (sectors, [TOTAL, "17", "8"]),
        BY_COUNTRY: (
            [(china, 15, 7), (UNKNOWN_COUNTRY, 2, 1)],
            [TOTAL, "17", "8"],
        ),
    }


def test_voice_balance_of_a_draft_theme_is_not_found(client, pujiang):
    Theme.objects.filter(slug="outlook").update(status=Status.DRAFT)

    assert client.get(url("theme-balance", FORUM, "outlook")).status_code == 404
    assert client.get(url("theme-balance", FORUM, "no-such-theme")).status_code == 404
    assert client.get(url("forum-balance", "no-such-forum")).status_code == 404


def test_voice_balance_counts_a_role_without_institution_as_unknown(db):
    forum = make_forum()
    session = make_session(forum=forum)
    appearance = make_appearance(session=session, speaker=make_speaker(), institution=None)
    make_position(appearance=appearance)
    make_position(appearance=appearance)

    balance = voice_balance(Position.objects.published().filter(appearance__session=session))

    assert [(row.value, row.positions, row.speakers) for row in balance.by_sector] == [
        *[(value, 0, 0) for value in Sector.values],
        ("", 2, 1),
    ]
    assert [(row.value, row.positions, row.speakers) for row in balance.by_country] == [("", 2, 1)]


def test_a_forums_balance_from_its_tallies_is_its_positions_balance(pujiang):
    # Unknowns of both kinds, a draft, a withdrawn person, two roles of one person.
    Speaker.objects.filter(slug="daniel-almeida").update(status=Status.DRAFT)
    Position.objects.filter(ref="wang-zhan-market-and-government").update(status=Status.DRAFT)
    Institution.objects.filter(slug="atlatl").update(country="")
    person = Speaker.objects.published().first()
    for order, institution in enumerate((None, Institution.objects.get(slug="atlatl"))):
        session = make_session(forum=pujiang, order=10 + order)
        role = make_appearance(session=session, speaker=person, institution=institution)
        make_position(appearance=role)
    published = Position.objects.published().filter(appearance__session__forum=pujiang)

    from_tallies = forum_voice_balance(pujiang)

    assert from_tallies == voice_balance(published)
    assert (from_tallies.total_positions, from_tallies.total_speakers) == (19, 8)
    assert [(r.value, r.positions) for r in from_tallies.by_country][-1] == ("", 4)


def test_bar_chart_scales_the_longest_bar_to_the_width():
    chart = bar_chart([BalanceRow("a", "A", 8, 3), BalanceRow("b", "B", 2, 0)])

    assert [(r.positions.width, r.speakers.width) for r in chart.rows] == [
        ("364.0", "136.5"),
        ("91.0", "0.0"),
    ]
    assert chart.height == 28 + 2 * 62


# ---------------------------------------------------------------------------------------------
# A fixed number of queries, at 1 and 3 speakers
# ---------------------------------------------------------------------------------------------


@pytest.fixture(params=[1, 3], ids=["1-speaker", "3-speakers"])
def corpus(request, db):
    """A published forum: ``n`` speakers of ``n`` sectors and countries, ``n`` positions each
    on ``n`` themes answering ``n`` questions."""
    n = request.param
    forum = make_forum()
    session = make_session(forum=forum)
    questions = [make_question(forum=forum, order=i) for i in range(n)]
    themes = [make_theme(forum=forum, questions=questions, order=i) for i in range(n)]
    speakers = []
    for i in range(n):
        institution = make_institution(sector=list(Sector)[i], country=["CN", "BR", "DE"][i])
        speaker = make_speaker()
        appearance = make_appearance(session=session, speaker=speaker, institution=institution)
        for _ in range(n):
            make_position(appearance=appearance, themes=themes)
        speakers.append(speaker)
    return forum, themes, speakers


def test_matrix_query_count_is_constant(client, corpus, django_assert_num_queries):
    forum, _themes, speakers = corpus

    # forum, questions, theme-question pairs, appearances (speaker, institution), positions,
    # position-theme pairs
    with django_assert_num_queries(6):
        response = client.get(url("forum-matrix", forum.slug))
    # the same, with themes as the columns and no pairs to look up
    with django_assert_num_queries(5):
        client.get(url("forum-matrix", forum.slug, query="?by=theme"))

    rows = [row for _sector, _label, rows in response.context["matrix"].groups for row in rows]
    assert [row.speaker for row in rows] == speakers
    assert {len(cell.positions) for row in rows for cell in row.cells} == {len(speakers)}


def test_compare_query_count_is_constant(client, corpus, django_assert_num_queries):
    forum, themes, speakers = corpus
    other = make_speaker()
    make_position(appearance=make_appearance(session=forum.sessions.get(), speaker=other))
    slugs = [speakers[0].slug, other.slug]

    # the speakers chosen, the form's people (none when its list is kept), forums for the
    # form, appearances, positions, position-theme pairs, themes
    with django_assert_num_queries(7):
        response = client.get(compare_url(*slugs))

    assert [row.theme for row in response.context["comparison"].rows] == [*themes, None]


def test_voice_balance_query_count_is_constant(client, corpus, django_assert_num_queries):
    forum, themes, speakers = corpus

    # forum, its roles with their tallies
    with django_assert_num_queries(2):
        response = client.get(url("forum-balance", forum.slug))
    # theme (with forum), the same three counts
    with django_assert_num_queries(4):
        client.get(url("theme-balance", forum.slug, themes[0].slug))

    assert response.context["balance"].total_positions == len(speakers) ** 2
    assert response.context["balance"].total_speakers == len(speakers)


@pytest.mark.parametrize(
    ("name", "args"), [("forum-matrix", [FORUM]), ("forum-balance", [FORUM]), ("compare", [])]
)
def test_analysis_pages_only_answer_reads(client, name, args):
    response = client.post(url(name, *args), {"speaker": ["a", "b"]})

    assert response.status_code == 405
    assert response["Allow"] == "GET, HEAD"


def test_matrix_cell_shows_six_snippets_then_links_to_the_speaker(client, db):
    forum = make_forum()
    theme = make_theme(forum=forum, questions=[make_question(forum=forum)])
    speaker = make_speaker(name="多言")
    appearance = make_appearance(session=make_session(forum=forum), speaker=speaker)
    positions = [make_position(appearance=appearance, themes=[theme], order=n) for n in range(8)]

    response = client.get(url("forum-matrix", forum.slug))

    (table,) = tables(response)
    [(_heading, [(_header, [cell])])] = table["groups"]
    assert cell["links"] == [p.get_absolute_url() for p in positions[:6]] + [
        speaker.get_absolute_url()
    ]
    assert cell["text"].endswith("另有 2 則，見其個人頁面")
