"""
One definition of "public" on every page: positions, themes, speakers and forums that are a draft,
in review or withdrawn are absent from every public page and every count (on the Pujiang data);
staff preview them with a banner naming their status; a withdrawn position's permalink says so.

Most tests crawl the public site the way a visitor would, from the home page and the three lists,
following every link: each page reached must answer 200 (so nothing links to a hidden page), and
the pages reached must be exactly the ones before, less those of what was hidden.
"""

import re

import pytest
from django.urls import reverse
from pytest_django.asserts import assertContains, assertNotContains, assertTemplateUsed

from proceedings.models import Forum, Position, Status, Theme
from proceedings.workflow import transition
from speakers.models import Institution, Speaker

pytestmark = pytest.mark.django_db

FORUM = "pujiang-2025"
HIDDEN = [Status.DRAFT, Status.REVIEW, Status.WITHDRAWN]
# Each full-site crawl test hides its object in one of the three hidden statuses (a crawl of the
# whole site twice takes 30-80 s); together they cover all three, and the forum, permalink and
# staff-preview tests below run every status. The read rule is one predicate
# (``published()``), so the status does not change which pages a crawl reaches.
ROADMAP = "song-qi-photon-ct-roadmap"
ROADMAP_TEXT = "光子CT作為顛覆性產品"
HREF = re.compile(r'href="(/[^"#?]*)')
SECTORS = ("government", "academia", "research", "enterprise", "finance", "association", "foreign")


def url(name, *args):
    return reverse(f"proceedings:{name}", args=args)


def start_pages():
    """Return where a visitor starts: the home page, the five lists, the Data page and the
    (empty) search page (in zh-hant), all linked from every page's header or footer."""
    return [
        url("home"),
        url("forum-list"),
        url("speaker-list"),
        url("institution-list"),
        url("sector-list"),
        url("tag-list"),
        url("data"),
        url("search"),
    ]


def sector_pages():
    return {url("sector-detail", sector) for sector in SECTORS}


def tag_url(name):
    return url("tag-detail", name)


def refs(positions):
    return [position.ref for position in positions]


def slugs(rows):
    return [row.slug for row in rows]


def permalink(ref):
    return Position.objects.get(ref=ref).get_absolute_url()


def hide(obj, status):
    """Move a published ``obj`` to ``status`` through the workflow (review goes via draft)."""
    if status == Status.REVIEW:
        transition(objects=[obj], to=Status.DRAFT)
    transition(objects=[obj], to=status)


def crawl(client):
    """Return ``{path: response}`` for every page reachable from ``start_pages()``; each must be
    200. The language switcher's links (to the same pages in other languages) are not followed.
    """
    pages, queue = {}, [(path, "start") for path in start_pages()]
    switch = reverse("choose-language", args=["en"]).removesuffix("en/")
    while queue:
        path, linked_from = queue.pop()
        # Files and the API are not pages; tests/proceedings/test_downloads.py and test_api.py
        # check that nothing hidden reaches them.
        if path in pages or path.startswith(("/static/", "/downloads/", "/api/", switch)):
            continue
        response = client.get(path)
        assert response.status_code == 200, f"{linked_from} links {path}, which is not public"
        if not response["Content-Type"].startswith("text/html"):
            continue  # a feed or a citation download: public too, but not a page
        pages[path] = response
        queue += [(link, path) for link in HREF.findall(response.content.decode())]
    return pages


def pages_of(pages, prefix):
    """Return the pages whose path starts with ``prefix``, relative to the home page's.

    A theme's voice balance (…/themes/<slug>/balance/) is not another theme page.
    """
    prefix = url("home") + prefix
    return {
        path: response
        for path, response in pages.items()
        if path.startswith(prefix) and not path.endswith("/balance/")
    }


def assert_counts_agree_with_lists(pages):
    """Every count on the site equals the length of the list it counts."""
    home = pages[url("home")].context["counts"]
    assert home["positions"] == len(pages_of(pages, "positions/"))
    assert home["speakers"] == len(pages[url("speaker-list")].context["speakers"])
    assert home["institutions"] == len(pages[url("institution-list")].context["institution_list"])
    assert home["institutions"] == len(pages_of(pages, "institutions/")) - 1
    assert home["themes"] == len(pages_of(pages, f"forums/{FORUM}/themes/"))

    for person in pages[url("speaker-list")].context["object_list"]:
        groups = pages[person.get_absolute_url()].context["positions_by_forum"]
        listed = {p.ref for g in groups for t in g["themes"] for p in t["positions"]}
        assert person.position_count == len(listed), person.slug
    for institution in pages[url("institution-list")].context["institution_list"]:
        page = pages[institution.get_absolute_url()].context
        assert institution.position_count == len(page["positions"]), institution.slug
        assert institution.people_count == len(page["people"]), institution.slug
    for sector in pages[url("sector-list")].context["sectors"]:
        page = pages[url("sector-detail", sector["value"])].context
        assert sector["institutions"] == len(page["institutions"]), sector["value"]
        assert sector["people"] == len(page["people"]), sector["value"]
        assert sector["positions"] == len(page["positions"]), sector["value"]
    for path, forum_page in pages_of(pages, "forums/").items():
        for question in forum_page.context.get("questions", []):
            for theme in question.themes.all():
                theme_page = pages[theme.get_absolute_url()].context
                assert theme.position_count == len(theme_page["positions"]), (path, theme.slug)
    for question_page in pages_of(pages, f"forums/{FORUM}/questions/").values():
        for theme in question_page.context["themes"]:
            assert refs(theme.cards) == refs(pages[theme.get_absolute_url()].context["positions"])


def assert_not_shown(pages, text):
    """Assert that no page shows ``text``, except where a source document's own text has it."""
    for path, response in pages.items():
        if not path.startswith(url("home") + "sources/"):
            assertNotContains(response, text, msg_prefix=path)


@pytest.fixture
def staff_client(client, django_user_model):
    user = django_user_model.objects.create_user("editor", password="x", is_staff=True)
    client.force_login(user)
    return client


# ---------------------------------------------------------------------------------------------
# Everything published
# ---------------------------------------------------------------------------------------------


@pytest.mark.crawl
def test_published_site_links_every_page_and_its_counts_agree(client, pujiang):
    pages = crawl(client)

    assert len(pages_of(pages, "positions/")) == 19
    assert len(pages_of(pages, f"forums/{FORUM}/themes/")) == 9
    assert len(pages_of(pages, "speakers/")) == 1 + 10
    assert len(pages_of(pages, "institutions/")) == 1 + 10
    assert len(pages_of(pages, "tags/")) == 1 + 21
    # + the matrix, the forum's and 7 themes' voice balance (the outlook and one task have no
    # position, so no balance is offered), the comparison form, the Data page, the forum list,
    # the search page (linked from the navigation)
    assert len(pages) == 86 + 10 + 1 + 2 + 1
    assert pages[url("home")].context["counts"] == {
        "positions": 19,
        "speakers": 9,
        "institutions": 10,
        "themes": 9,
        "forums": 1,
    }
    [listed] = pages[url("forum-list")].context["forum_list"]
    assert (listed.position_count, listed.theme_count) == (19, 9)
    assert_counts_agree_with_lists(pages)


# ---------------------------------------------------------------------------------------------
# A hidden position
# ---------------------------------------------------------------------------------------------


@pytest.mark.crawl
@pytest.mark.parametrize("status", [Status.WITHDRAWN])
def test_hidden_position_is_absent_from_every_page_and_count(client, pujiang, status):
    before = crawl(client)
    roadmap = Position.objects.get(ref=ROADMAP)
    hide(roadmap, status)

    after = crawl(client)

    assert set(before) - set(after) == {roadmap.get_absolute_url()}
    assert set(after) <= set(before)
    assert_counts_agree_with_lists(after)
    assert after[url("home")].context["counts"] == {
        "positions": 18,
        "speakers": 9,
        "institutions": 10,
        "themes": 9,
        "forums": 1,
    }
    assert refs(after[url("theme-detail", FORUM, "full-factor-synergy")].context["positions"]) == [
        "fan-jianping-butterfly-model",
        "song-qi-system-reconstruction",
        "li-zhe-finance-as-blood",
        "li-zhe-multi-tier-exit",
        "wang-zhan-ethics-law-design",
        "wang-zhan-market-and-government",
    ]
    [group] = after[url("speaker-detail", "song-qi")].context["positions_by_forum"]
    assert [(g["theme"].slug, refs(g["positions"])) for g in group["themes"]] == [
        ("full-factor-synergy", ["song-qi-system-reconstruction"])
    ]
    assert refs(after[tag_url("光子ct")].context["positions"]) == ["song-qi-system-reconstruction"]
    source = after[url("source-detail", "pujiang-2025-science-policy-report")]
    assert refs(source.context["paragraphs"][9]["positions"]) == [
        "fan-jianping-butterfly-model",
        "song-qi-system-reconstruction",
    ]
    enterprise = after[url("sector-list")].context["sectors"][3]
    assert (enterprise["value"], enterprise["positions"]) == ("enterprise", 6)
    assert_not_shown(after, ROADMAP_TEXT)


@pytest.mark.parametrize(
    ("status", "code"), [(s, 410 if s == Status.WITHDRAWN else 404) for s in HIDDEN]
)
def test_hidden_position_permalink_is_404_or_410_once_withdrawn(client, pujiang, status, code):
    roadmap = Position.objects.get(ref=ROADMAP)
    hide(roadmap, status)

    response = client.get(roadmap.get_absolute_url())

    assert response.status_code == code


# ---------------------------------------------------------------------------------------------
# A hidden theme
# ---------------------------------------------------------------------------------------------


@pytest.mark.crawl
@pytest.mark.parametrize("status", [Status.REVIEW])
def test_hidden_theme_is_absent_from_every_page_and_count(client, pujiang, status):
    before = crawl(client)
    theme = Theme.objects.get(forum=pujiang, slug="enterprises-as-first-actor")
    hide(theme, status)

    after = crawl(client)

    gone = {theme.get_absolute_url(), url("theme-balance", FORUM, theme.slug)}
    assert set(before) - set(after) == gone
    assert set(after) <= set(before)
    assert_counts_agree_with_lists(after)
    assert after[url("home")].context["counts"] == {
        "positions": 19,
        "speakers": 9,
        "institutions": 10,
        "themes": 8,
        "forums": 1,
    }
    remaining = ["outlook", "task-strengthen-enterprises"]
    [home_question, *_] = after[url("home")].context["forums"][0].listed_questions
    # The home page leaves out the outlook: no position is filed under it.
    assert slugs(home_question.listed_themes) == ["task-strengthen-enterprises"]
    [forum_question, *_] = after[pujiang.get_absolute_url()].context["questions"]
    assert slugs(forum_question.themes.all()) == remaining
    question = after[url("question-detail", FORUM, "who-integrates")].context
    assert [(t.slug, refs(t.cards)) for t in question["themes"]] == [
        ("outlook", []),
        (
            "task-strengthen-enterprises",
            ["liu-dongmei-enterprise-market-insight", "liu-dongmei-cede-powers-to-enterprises"],
        ),
    ]
    # Liu Dongmei's positions stay public; the one filed only under the hidden theme now has
    # no theme a reader can follow.
    [group] = after[url("speaker-detail", "liu-dongmei")].context["positions_by_forum"]
    assert [
        (g["theme"].slug if g["theme"] else None, refs(g["positions"])) for g in group["themes"]
    ] == [
        (
            "task-strengthen-enterprises",
            ["liu-dongmei-enterprise-market-insight", "liu-dongmei-cede-powers-to-enterprises"],
        ),
        (None, ["liu-dongmei-enterprise-as-bridge"]),
    ]
    position = after[permalink("liu-dongmei-enterprise-market-insight")].context["position"]
    assert slugs(position.listed_themes) == ["task-strengthen-enterprises"]
    assert refs(after[tag_url("企業創新主體")].context["positions"]) == [
        "liu-dongmei-enterprise-market-insight",
        "liu-dongmei-enterprise-as-bridge",
        "liu-dongmei-cede-powers-to-enterprises",
    ]
    assert_not_shown(after, theme.get_absolute_url())
    assert_not_shown(after, theme.title)
    assert client.get(theme.get_absolute_url()).status_code == 404


def test_hidden_parent_theme_is_not_linked_from_its_children(client, pujiang):
    outlook = Theme.objects.get(forum=pujiang, slug="outlook")
    hide(outlook, Status.DRAFT)

    response = client.get(url("theme-detail", FORUM, "task-strengthen-enterprises"))

    assert response.context["parent"] is None
    assertNotContains(response, outlook.get_absolute_url())
    assertNotContains(response, "未來展望")


def test_hidden_child_theme_is_not_listed_under_its_parent(client, pujiang):
    task = Theme.objects.get(forum=pujiang, slug="task-strengthen-enterprises")
    hide(task, Status.REVIEW)

    response = client.get(url("theme-detail", FORUM, "outlook"))

    assert slugs(response.context["theme"].children.all()) == [
        "task-free-flow-of-factors",
        "task-reform-translation-and-evaluation",
    ]
    assertNotContains(response, task.get_absolute_url())


# ---------------------------------------------------------------------------------------------
# A hidden speaker
# ---------------------------------------------------------------------------------------------


@pytest.mark.crawl
@pytest.mark.parametrize("status", [Status.DRAFT])
def test_hidden_speaker_and_their_positions_are_absent_everywhere(client, pujiang, status):
    before = crawl(client)
    song_qi = Speaker.objects.get(slug="song-qi")
    hide(song_qi, status)

    after = crawl(client)

    assert set(before) - set(after) == {
        url("speaker-detail", "song-qi"),
        permalink("song-qi-system-reconstruction"),
        permalink(ROADMAP),
        # Song Qi is the only person of this company, and the only one to use these tags.
        url("institution-detail", "neusoft-medical"),
        tag_url("光子ct"),
        tag_url("系統重構"),
    }
    assert set(after) <= set(before)
    assert_counts_agree_with_lists(after)
    assert after[url("home")].context["counts"] == {
        "positions": 17,
        "speakers": 8,
        "institutions": 9,
        "themes": 9,
        "forums": 1,
    }
    speaker_groups = after[url("speaker-list")].context["speakers_by_sector"]
    assert [(value, slugs(people)) for value, _label, people in speaker_groups][3] == (
        "enterprise",
        ["ding-lieming", "zhu-pengcheng"],
    )
    forum_groups = after[pujiang.get_absolute_url()].context["speakers_by_sector"]
    assert [(value, [a.speaker.slug for a in group]) for value, _l, group in forum_groups][3] == (
        "enterprise",
        ["ding-lieming", "zhu-pengcheng"],
    )
    session = after[url("session-detail", FORUM, "science-policy")].context
    assert [a.speaker.slug for a in session["appearances"]] == [
        "liu-dongmei",
        "fan-jianping",
        "li-zhe",
        "wang-zhan",
        "ding-lieming",
        "zhu-pengcheng",
        "daniel-almeida",
        "xiao-jian",
        "jiang-jiaoyan",
    ]
    assert len(session["positions"]) == 17
    assert after[url("sector-list")].context["sectors"][3] == {
        "value": "enterprise",
        "label": "企業",
        "institutions": 2,
        "people": 2,
        "positions": 5,
    }
    assert_not_shown(after, url("speaker-detail", "song-qi"))
    assert_not_shown(after, "宋奇")
    hidden = [
        url("speaker-detail", "song-qi"),
        permalink(ROADMAP),
        url("institution-detail", "neusoft-medical"),
    ]
    # Withdrawing a person is not withdrawing their positions: those are simply not public.
    assert [client.get(path).status_code for path in hidden] == [404, 404, 404]


# ---------------------------------------------------------------------------------------------
# A hidden forum
# ---------------------------------------------------------------------------------------------


@pytest.mark.crawl
@pytest.mark.parametrize("status", HIDDEN)
def test_hidden_forum_hides_everything_in_it(client, pujiang, status):
    hide(pujiang, status)

    after = crawl(client)
    direct = [
        pujiang.get_absolute_url(),
        url("session-detail", FORUM, "science-policy"),
        url("question-detail", FORUM, "who-integrates"),
        url("theme-detail", FORUM, "outlook"),
        url("speaker-detail", "liu-dongmei"),
        url("institution-detail", "casted"),
        url("source-detail", "pujiang-2025-science-policy-report"),
        tag_url("光子ct"),
    ]

    assert set(after) == {*start_pages(), *sector_pages()}
    assert list(after[url("home")].context["forums"]) == []
    assert list(after[url("forum-list")].context["forum_list"]) == []
    assert list(after[url("tag-list")].context["tag_list"]) == []
    assert after[url("home")].context["counts"] == {
        "positions": 0,
        "speakers": 0,
        "institutions": 0,
        "themes": 0,
        "forums": 0,
    }
    assert list(after[url("speaker-list")].context["speaker_list"]) == []
    assert list(after[url("institution-list")].context["institution_list"]) == []
    assert {
        (s["institutions"], s["people"], s["positions"])
        for s in after[url("sector-list")].context["sectors"]
    } == {(0, 0, 0)}
    assert [client.get(path).status_code for path in direct] == [404] * len(direct)
    # The positions themselves are published: their permalinks are 404, not 410.
    assert client.get(permalink(ROADMAP)).status_code == 404


# ---------------------------------------------------------------------------------------------
# Staff preview
# ---------------------------------------------------------------------------------------------

LABELS = {
    Status.DRAFT: '草稿 <span lang="en">Draft</span>',
    Status.REVIEW: '審核中 <span lang="en">In review</span>',
    Status.WITHDRAWN: '已撤回 <span lang="en">Withdrawn</span>',
    "": '未公開 <span lang="en">Not public</span>',
}
OWN_REASON = {
    Status.DRAFT: "發布之前，只有工作人員看得到此頁。",
    Status.REVIEW: "發布之前，只有工作人員看得到此頁。",
    Status.WITHDRAWN: "編輯已撤回此項目，只有工作人員看得到此頁。",
}


def banner(status, reason):
    return (
        f'<p class="status-banner status-banner--{status or "hidden"}" role="note">'
        f'<strong class="status-banner__status">{LABELS[status]}{" — 未公開" if status else ""}'
        "</strong> "
        f'<span class="status-banner__reason">{reason}</span></p>'
    )


@pytest.mark.parametrize("status", HIDDEN)
def test_staff_preview_a_hidden_position_theme_speaker_and_forum_with_their_status(
    staff_client, pujiang, status
):
    roadmap = Position.objects.get(ref=ROADMAP)
    theme = Theme.objects.get(forum=pujiang, slug="enterprises-as-first-actor")
    speaker = Speaker.objects.get(slug="liu-dongmei")
    for obj in (roadmap, theme, speaker, pujiang):
        hide(obj, status)

    pages = [staff_client.get(obj.get_absolute_url()) for obj in (roadmap, theme, speaker)]
    forum = staff_client.get(pujiang.get_absolute_url())

    for page in pages + [forum]:
        assertContains(page, banner(status, OWN_REASON[status]), html=True)
    assertContains(pages[0], ROADMAP_TEXT)
    assertContains(pages[1], "<h1>企業應真正成為融合創新的“第一主體”</h1>", html=True)
    assertContains(pages[2], "<h1>劉冬梅</h1>", html=True)


def test_staff_preview_names_what_hides_a_published_page(staff_client, pujiang):
    hide(Speaker.objects.get(slug="song-qi"), Status.REVIEW)
    roadmap = Position.objects.get(ref=ROADMAP)
    hide(pujiang, Status.DRAFT)

    position = staff_client.get(roadmap.get_absolute_url())
    session = staff_client.get(url("session-detail", FORUM, "science-policy"))
    question = staff_client.get(url("question-detail", FORUM, "who-integrates"))
    institution = staff_client.get(url("institution-detail", "casted"))

    speaker_reason = "只有工作人員看得到此頁：所屬發言人「宋奇 (Song Qi)」尚未發布。"
    forum_reason = "只有工作人員看得到此頁：所屬論壇「2025 浦江創新論壇」尚未發布。"
    assertContains(position, banner(Status.REVIEW, speaker_reason), html=True)
    assertContains(session, banner(Status.DRAFT, forum_reason), html=True)
    assertContains(question, banner(Status.DRAFT, forum_reason), html=True)
    assertContains(
        institution,
        banner("", "只有工作人員看得到此頁：已發布的論壇中沒有已發布的人員屬於此機構。"),
        html=True,
    )


def test_staff_see_hidden_rows_in_lists_marked_with_their_status(staff_client, pujiang):
    roadmap = Position.objects.get(ref=ROADMAP)
    hide(roadmap, Status.REVIEW)
    hide(Theme.objects.get(forum=pujiang, slug="outlook"), Status.DRAFT)

    theme = staff_client.get(url("theme-detail", FORUM, "full-factor-synergy"))
    forum = staff_client.get(pujiang.get_absolute_url())

    assert ROADMAP in refs(theme.context["positions"])
    assertContains(
        theme,
        f'<article class="position position--summary is-draft" id="position-{roadmap.pk}">',
    )
    assertContains(
        theme,
        f'<span class="status-badge status-badge--review">{LABELS[Status.REVIEW]}</span>',
        count=1,
        html=True,
    )
    # Outlook answers all three questions.
    assertContains(
        forum,
        f'<span class="status-badge status-badge--draft">{LABELS[Status.DRAFT]}</span>',
        count=3,
        html=True,
    )
    assertNotContains(theme, "status-banner")
    # The report marks the citation staff alone see.
    report = staff_client.get(url("source-detail", "pujiang-2025-science-policy-report"))
    cited = re.search(
        rf'<a href="{re.escape(roadmap.get_absolute_url())}">([^<]*)<span class="([^"]*)"',
        report.content.decode(),
    )
    assert cited.groups() == (
        f"{roadmap.speaker.name} · 執筆人綜述 · ",
        "status-badge status-badge--review",
    )


def test_public_pages_have_no_banner_for_staff(staff_client, pujiang):
    response = staff_client.get(permalink(ROADMAP))

    assert response.context["preview"] is None
    assertNotContains(response, "status-banner")


def test_anonymous_visitors_get_404_for_every_hidden_item(client, pujiang):
    roadmap = Position.objects.get(ref=ROADMAP)
    theme = Theme.objects.get(forum=pujiang, slug="outlook")
    speaker = Speaker.objects.get(slug="liu-dongmei")
    hide(roadmap, Status.REVIEW)
    hide(theme, Status.WITHDRAWN)
    hide(speaker, Status.DRAFT)

    responses = [client.get(obj.get_absolute_url()) for obj in (roadmap, theme, speaker)]

    assert [r.status_code for r in responses] == [404, 404, 404]
    for response in responses:
        assertTemplateUsed(response, "404.html")


# ---------------------------------------------------------------------------------------------
# A withdrawn position's permalink
# ---------------------------------------------------------------------------------------------


def test_withdrawn_position_permalink_is_410_without_its_text_or_speaker(client, pujiang):
    roadmap = Position.objects.get(ref=ROADMAP)
    hide(roadmap, Status.WITHDRAWN)

    response = client.get(roadmap.get_absolute_url())

    assert response.status_code == 410
    assertTemplateUsed(response, "proceedings/position_withdrawn.html")
    assertContains(response, "<h1>此觀點已撤回</h1>", status_code=410, html=True)
    assertContains(
        response,
        f'<p><a href="{pujiang.get_absolute_url()}">2025 浦江創新論壇</a> 的其餘紀要仍可查閱。</p>',
        status_code=410,
        html=True,
    )
    for hidden in (ROADMAP_TEXT, "宋奇", "Song Qi", "東軟醫療"):
        assertNotContains(response, hidden, status_code=410)


def test_withdrawn_position_of_a_hidden_forum_does_not_link_the_forum(client, pujiang):
    roadmap = Position.objects.get(ref=ROADMAP)
    hide(roadmap, Status.WITHDRAWN)
    hide(pujiang, Status.DRAFT)

    response = client.get(roadmap.get_absolute_url())

    assert response.status_code == 410
    assert response.context["forum"] is None
    assertNotContains(response, pujiang.get_absolute_url(), status_code=410)


def test_withdrawn_position_is_previewed_by_staff(staff_client, pujiang):
    roadmap = Position.objects.get(ref=ROADMAP)
    hide(roadmap, Status.WITHDRAWN)

    response = staff_client.get(roadmap.get_absolute_url())

    assert response.status_code == 200
    assertContains(response, banner(Status.WITHDRAWN, OWN_REASON[Status.WITHDRAWN]), html=True)
    assertContains(response, ROADMAP_TEXT)
    # Nobody reports errors on what the public cannot read.
    assert "report_form" not in response.context


def test_institution_of_hidden_people_only_is_not_public(client, pujiang):
    hide(Speaker.objects.get(slug="song-qi"), Status.DRAFT)

    assert list(Institution.objects.published().filter(slug="neusoft-medical")) == []
    assert client.get(url("institution-detail", "neusoft-medical")).status_code == 404
    assert Forum.objects.published().get() == pujiang
