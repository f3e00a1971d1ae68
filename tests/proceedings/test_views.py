"""
The public pages: exact content from the bundled Pujiang 2025 forum, drafts, 404s, and a fixed
number of SQL queries per page whatever the number of rows (built with factories).
"""

import pytest
from django.template.loader import render_to_string
from django.test import Client
from django.urls import reverse
from django.utils import translation
from django.utils.html import strip_tags
from pytest_django.asserts import assertContains, assertNotContains, assertTemplateUsed

from proceedings.models import Appearance, Position, Status
from proceedings.workflow import transition
from speakers.models import Sector
from tests.bundled import QUOTES, add_quote
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
FIRST_FINDING = "enterprises-as-first-actor"
LIU_ROLE = "中國科學技術發展戰略研究院黨委書記"
LIU_QUOTE = "企業對市場需求變化具備敏銳洞察力"
LIU_REF = "liu-dongmei-enterprise-market-insight"
BUTTERFLY_QUOTE = "基于光明科學城的創新體系構建了“蝴蝶模型”"


def refs(positions):
    return [position.ref for position in positions]


def url(name, *args):
    return reverse(f"proceedings:{name}", args=args)


@pytest.fixture
def staff_client(client, django_user_model):
    user = django_user_model.objects.create_user("editor", password="x", is_staff=True)
    client.force_login(user)
    return client


def unpublish(ref):
    transition(objects=[Position.objects.get(ref=ref)], to=Status.DRAFT)


# ---------------------------------------------------------------------------------------------
# Pages with the Pujiang data
# ---------------------------------------------------------------------------------------------


def test_home_shows_the_forum_questions_counts_and_featured_positions(client, pujiang):
    response = client.get(url("home"))

    assert list(response.context["forums"]) == [pujiang]
    questions = response.context["forums"][0].listed_questions
    assert [q.title for q in questions] == ["誰來融合", "融合什么", "如何融合"]
    assert [t.slug for t in questions[0].listed_themes] == [
        "enterprises-as-first-actor",
        "task-strengthen-enterprises",  # not the outlook: no position is filed under it
    ]
    assert response.context["counts"] == {
        "positions": 19,
        "speakers": 9,
        "institutions": 10,
        "themes": 9,
        "forums": 1,
    }
    assert refs(response.context["featured_positions"]) == [
        "fan-jianping-butterfly-model",
        "wang-zhan-ethics-law-design",
        "ding-lieming-last-mile",
        "zhu-pengcheng-asset-light-model",
    ]
    assertContains(response, '<html lang="zh-Hant">')
    assertContains(
        response, f'<a href="{url("question-detail", FORUM, "who-integrates")}">誰來融合</a>'
    )


def test_home_falls_back_to_verbatim_quotations_when_none_is_featured(client, pujiang):
    Position.objects.update(featured=False)
    # The bundled forum quotes only inside its positions (key phrases): no verbatim position.
    assert refs(client.get(url("home")).context["featured_positions"]) == []
    for ref in QUOTES:
        add_quote(ref)

    response = client.get(url("home"))

    assert refs(response.context["featured_positions"]) == [
        "fan-jianping-butterfly-model-term",
        "wang-zhan-naked-swimming",
        "zhu-pengcheng-plug-and-play",
    ]


def test_forum_page_groups_speakers_by_sector_and_lists_the_rapporteur_apart(client, pujiang):
    response = client.get(pujiang.get_absolute_url())

    groups = [
        (value, [a.speaker.slug for a in appearances])
        for value, _label, appearances in response.context["speakers_by_sector"]
    ]
    assert groups == [
        ("government", ["xiao-jian"]),
        ("academia", ["fan-jianping"]),
        ("research", ["liu-dongmei"]),
        ("enterprise", ["song-qi", "ding-lieming", "zhu-pengcheng"]),
        ("finance", ["li-zhe"]),
        ("association", ["wang-zhan"]),
        ("foreign", ["daniel-almeida"]),
    ]
    assert [a.speaker.slug for a in response.context["rapporteurs"]] == ["jiang-jiaoyan"]
    assert [s.slug for s in response.context["sessions"]] == ["science-policy"]
    themes = {
        t.slug: t.position_count for q in response.context["questions"] for t in q.themes.all()
    }
    assert themes["enterprises-as-first-actor"] == 3
    assert themes["full-factor-synergy"] == 7
    assert themes["outlook"] == 0
    assertContains(response, "科學技術部、上海市人民政府")
    assertContains(
        response,
        '<span class="person__role"><a class="role-institution" '
        f'href="{url("institution-detail", "siss")}">'
        "上海市科學學研究所</a>戰略規劃研究室副研究員</span>",
        html=True,
    )


def test_question_page_lists_its_themes_with_their_positions(client, pujiang):
    response = client.get(url("question-detail", FORUM, "who-integrates"))

    themes = list(response.context["themes"])
    assert [t.slug for t in themes] == [
        "enterprises-as-first-actor",
        "outlook",
        "task-strengthen-enterprises",
    ]
    assert [refs(t.cards) for t in themes] == [
        [
            "liu-dongmei-enterprise-market-insight",
            "liu-dongmei-enterprise-as-bridge",
            "liu-dongmei-cede-powers-to-enterprises",
        ],
        [],
        ["liu-dongmei-enterprise-market-insight", "liu-dongmei-cede-powers-to-enterprises"],
    ]
    assertContains(response, "<h1>誰來融合</h1>", html=True)
    assertNotContains(response, BUTTERFLY_QUOTE)


def test_theme_page_shows_speaker_role_as_printed_and_only_its_quotes(client, pujiang):
    response = client.get(url("theme-detail", FORUM, FIRST_FINDING))

    assert refs(response.context["positions"]) == [
        "liu-dongmei-enterprise-market-insight",
        "liu-dongmei-enterprise-as-bridge",
        "liu-dongmei-cede-powers-to-enterprises",
    ]
    assert [a.speaker.slug for a in response.context["theme_speakers"]] == ["liu-dongmei"]
    assertContains(
        response,
        f'<a class="attribution__name" href="{url("speaker-detail", "liu-dongmei")}">'
        '劉冬梅 <span class="alt" lang="en">Liu Dongmei</span></a>',
        count=3,
        html=True,
    )
    # The role reads exactly as printed, the institution's name in it linking to its page.
    assertContains(
        response,
        '<span class="attribution__role"><a class="role-institution" '
        f'href="{url("institution-detail", "casted")}">'
        "中國科學技術發展戰略研究院</a>黨委書記</span>",
        count=3,
        html=True,
    )
    # The three cards and the "speakers on this theme" list.
    assert strip_tags(response.content.decode()).count(LIU_ROLE) == 4
    assertContains(response, LIU_QUOTE)
    assertContains(response, '<div class="position__text" lang="zh-Hant">', count=3)
    assertContains(response, '<span class="fidelity fidelity--paraphrase">轉述</span>', html=True)
    assertContains(response, "<summary>英文翻譯</summary>", count=3, html=True)
    assertContains(response, f'<a href="{url("tag-detail", "企業創新主體")}">')
    assertNotContains(response, BUTTERFLY_QUOTE)


def test_theme_page_of_the_outlook_lists_its_tasks(client, pujiang):
    response = client.get(url("theme-detail", FORUM, "outlook"))

    theme = response.context["theme"]
    assert [t.slug for t in theme.children.all()] == [
        "task-strengthen-enterprises",
        "task-free-flow-of-factors",
        "task-reform-translation-and-evaluation",
    ]
    assert [q.slug for q in theme.questions.all()] == [
        "who-integrates",
        "what-is-integrated",
        "how-to-integrate",
    ]
    assert response.context["positions"] == []


def test_session_page_lists_its_positions_in_order_and_links_its_report(client, pujiang):
    response = client.get(url("session-detail", FORUM, "science-policy"))

    assert len(refs(response.context["positions"])) == 19
    assert refs(response.context["positions"])[:2] == [
        "liu-dongmei-enterprise-market-insight",
        "liu-dongmei-enterprise-as-bridge",
    ]
    assertContains(
        response,
        f'<a href="{url("source-detail", "pujiang-2025-science-policy-report")}">'
        "2025浦江創新論壇科技政策論壇綜述</a>",
        html=True,
    )


def test_position_page_shows_attribution_source_anchor_and_related_positions(client, pujiang):
    position = Position.objects.get(ref="liu-dongmei-enterprise-market-insight")

    response = client.get(position.get_absolute_url())

    assertContains(response, LIU_ROLE)
    source = url("source-detail", "pujiang-2025-science-policy-report")
    assertContains(response, f'<a href="{source}#p6">')
    assertContains(response, "出處以間接引語轉述發言人的觀點。")
    assertContains(response, '<div class="translation__text" lang="en">')
    assertContains(response, "Forum Portal editors (machine-assisted draft")
    # Only another speaker's position shares a theme (the first task) with this one... none
    # does: both themes belong to Liu Dongmei alone.
    assert list(response.context["related_positions"]) == []


def test_position_page_relates_other_speakers_on_the_same_theme(client, pujiang):
    position = Position.objects.get(ref="fan-jianping-butterfly-model")

    response = client.get(position.get_absolute_url())

    assert refs(response.context["related_positions"]) == [
        "song-qi-system-reconstruction",
        "song-qi-photon-ct-roadmap",
        "li-zhe-finance-as-blood",
        "li-zhe-multi-tier-exit",
        "wang-zhan-ethics-law-design",
        "wang-zhan-market-and-government",
    ]


def test_tag_page_lists_the_positions_with_that_tag(client, pujiang):
    response = client.get(url("tag-detail", "光子ct"))

    assert refs(response.context["positions"]) == [
        "song-qi-system-reconstruction",
        "song-qi-photon-ct-roadmap",
    ]
    assertContains(response, "<h1>光子CT</h1>", html=True)


def test_source_page_numbers_paragraphs_and_marks_verbatim_quotes(client, pujiang):
    response = client.get(url("source-detail", "pujiang-2025-science-policy-report"))

    paragraphs = response.context["paragraphs"]
    assert paragraphs[5]["number"] == 6
    assert refs(paragraphs[5]["positions"]) == [
        "liu-dongmei-enterprise-market-insight",
        "liu-dongmei-enterprise-as-bridge",
    ]
    assert refs(paragraphs[6]["positions"]) == ["liu-dongmei-cede-powers-to-enterprises"]
    assertContains(response, '<div class="para para--cited" id="p6">')
    assertContains(response, '<div class="para para--cited" id="p7">')
    # Key phrases are verbatim: each marked once, in the paragraph it is quoted from.
    assertContains(response, "構建了“<mark>蝴蝶模型</mark>”", count=1)
    assertContains(response, "從“參與者”轉變為“<mark>出題人、答題人、閱卷人</mark>”", count=1)
    assert response.content.decode().count("<mark>") == 6

    # A verbatim position quoting the same words marks them once, not twice.
    add_quote("fan-jianping-butterfly-model-term")
    response = client.get(url("source-detail", "pujiang-2025-science-policy-report"))

    assertContains(response, "構建了“<mark>蝴蝶模型</mark>”", count=1)
    assert response.content.decode().count("<mark>") == 6


@pytest.mark.parametrize(
    ("code", "lang", "speakers", "forum"),
    [
        ("zh-hant", "zh-Hant", "發言人", "2025 浦江創新論壇"),
        ("zh-hans", "zh-Hans", "发言人", "2025 浦江创新论坛"),
        ("en", "en", "Speakers", "2025 Pujiang Innovation Forum"),
    ],
)
def test_interface_and_content_follow_the_urls_language(
    client, pujiang, code, lang, speakers, forum
):
    with translation.override(code):
        home, speaker_list = url("home"), url("speaker-list")
        forum_url = pujiang.get_absolute_url()

    response = client.get(home, headers={"accept-language": "fr"})

    assertContains(response, f'<html lang="{lang}">')
    # In the navigation, the counts and the footer.
    assertContains(response, f'<a href="{speaker_list}">{speakers}</a>', count=3, html=True)
    # Content in the reader's language (tests/proceedings/test_localize.py has the details).
    assertContains(
        response,
        f'<h3 class="forum-card__title"><a href="{forum_url}">{forum}</a></h3>',
        html=True,
    )


# ---------------------------------------------------------------------------------------------
# Drafts
# ---------------------------------------------------------------------------------------------


def test_draft_position_is_hidden_from_anonymous_visitors_everywhere(client, pujiang):
    unpublish("song-qi-photon-ct-roadmap")
    unpublish("song-qi-system-reconstruction")
    draft = Position.objects.get(ref="song-qi-photon-ct-roadmap")

    permalink = client.get(draft.get_absolute_url())
    theme = client.get(url("theme-detail", FORUM, "full-factor-synergy"))
    speaker = client.get(url("speaker-detail", "song-qi"))
    tag = client.get(url("tag-detail", "光子ct"))
    home = client.get(url("home"))

    assert permalink.status_code == 404
    assertTemplateUsed(permalink, "404.html")
    assert "song-qi-photon-ct-roadmap" not in refs(theme.context["positions"])
    assert len(theme.context["positions"]) == 5
    assert speaker.context["positions_by_forum"] == []
    assert tag.status_code == 404
    assert home.context["counts"]["positions"] == 17


def test_draft_position_is_shown_to_staff_with_a_banner(staff_client, pujiang):
    unpublish("song-qi-photon-ct-roadmap")
    draft = Position.objects.get(ref="song-qi-photon-ct-roadmap")

    permalink = staff_client.get(draft.get_absolute_url())
    theme = staff_client.get(url("theme-detail", FORUM, "full-factor-synergy"))

    assertContains(
        permalink,
        '<p class="status-banner status-banner--draft" role="note">'
        '<strong class="status-banner__status">草稿 <span lang="en">Draft</span> — 未公開</strong> '
        '<span class="status-banner__reason">發布之前，只有工作人員看得到此頁。</span></p>',
        html=True,
    )
    assert "song-qi-photon-ct-roadmap" in refs(theme.context["positions"])
    assertContains(
        theme, f'<article class="position position--summary is-draft" id="position-{draft.pk}">'
    )


def test_draft_forum_and_its_people_are_404_for_anonymous_visitors(client):
    forum = make_forum(published=False)
    session = make_session(forum=forum)
    theme = make_theme(forum=forum)
    speaker = make_speaker()
    institution = make_institution()
    appearance = make_appearance(session=session, speaker=speaker, institution=institution)
    position = make_position(appearance=appearance, themes=[theme], tags=["草稿標籤"])

    responses = [
        client.get(forum.get_absolute_url()),
        client.get(session.get_absolute_url()),
        client.get(theme.get_absolute_url()),
        client.get(position.get_absolute_url()),
        client.get(speaker.get_absolute_url()),
        client.get(institution.get_absolute_url()),
        client.get(url("tag-detail", "草稿標籤")),
    ]
    home = client.get(url("home"))

    assert [r.status_code for r in responses] == [404] * 7
    assert list(home.context["forums"]) == []
    assert home.context["counts"] == {
        "positions": 0,
        "speakers": 0,
        "institutions": 0,
        "themes": 0,
        "forums": 0,
    }
    assert list(client.get(url("speaker-list")).context["speakers"]) == []


def test_home_counts_speakers_and_institutions_as_their_lists_do(client, django_user_model):
    forum = make_forum()
    session = make_session(forum=forum)
    spoke, wrote, draft = make_institution(), make_institution(), make_institution()
    make_institution()  # named by no role
    speaker = make_speaker()
    make_appearance(session=session, speaker=speaker, institution=spoke)
    make_appearance(session=make_session(forum=forum), speaker=speaker, institution=spoke)
    make_appearance(
        session=session,
        speaker=make_speaker(),
        institution=wrote,
        capacity=Appearance.Capacity.RAPPORTEUR,
    )
    make_appearance(session=session, speaker=make_speaker(published=False), institution=draft)
    make_appearance(session=make_session(forum=make_forum(published=False)), speaker=speaker)

    public = client.get(url("home")).context["counts"]
    speaker_list = client.get(url("speaker-list")).context["speakers"]
    institution_list = client.get(url("institution-list")).context["object_list"]
    client.force_login(django_user_model.objects.create_user("editor", is_staff=True))
    staff = client.get(url("home")).context["counts"]

    # Speakers: people with a public role other than rapporteur, as the speaker list shows
    # them; institutions: those a public role names, a rapporteur's too.
    assert (public["speakers"], public["institutions"]) == (1, 2)
    assert [person.pk for person in speaker_list] == [speaker.pk]
    assert {institution.pk for institution in institution_list} == {spoke.pk, wrote.pk}
    # Staff: the draft person too, and every institution, named or not.
    assert (staff["speakers"], staff["institutions"]) == (2, 4)


def test_draft_forum_is_shown_to_staff_marked_as_draft(staff_client):
    forum = make_forum(published=False)
    speaker = make_speaker()
    make_appearance(session=make_session(forum=forum), speaker=speaker)

    forum_page = staff_client.get(forum.get_absolute_url())
    speaker_page = staff_client.get(speaker.get_absolute_url())
    home = staff_client.get(url("home"))

    assertContains(forum_page, '<p class="status-banner status-banner--draft" role="note">')
    # The person is published, but has no role in a published forum yet.
    assertContains(speaker_page, '<p class="status-banner status-banner--hidden" role="note">')
    assertContains(home, '<article class="forum-card is-draft">')


# ---------------------------------------------------------------------------------------------
# Not found
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/forums/nope/",
        "/forums/pujiang-2025/sessions/nope/",
        "/forums/pujiang-2025/questions/nope/",
        "/forums/pujiang-2025/themes/nope/",
        "/forums/nope/themes/enterprises-as-first-actor/",
        "/positions/999999/",
        "/positions/99999999999999999999999/",
        "/speakers/nope/",
        "/institutions/nope/",
        "/sectors/nope/",
        "/tags/nope/",
        "/sources/nope/",
        "/no-such-page/",
    ],
)
def test_unknown_addresses_are_404_with_the_site_template(client, pujiang, path):
    response = client.get(url("home") + path.removeprefix("/"))

    assert response.status_code == 404
    assertTemplateUsed(response, "404.html")
    assertContains(response, "論壇知識庫", status_code=404)


def test_500_page_renders_without_request_or_database(django_assert_num_queries):
    with django_assert_num_queries(0):
        html = render_to_string("500.html")

    assert "論壇知識庫" in html
    assert 'href="/static/css/portal.css"' in html


# ---------------------------------------------------------------------------------------------
# A fixed number of queries per page, at 1 and 3 rows
# ---------------------------------------------------------------------------------------------


def test_home_query_count_is_constant(client, corpus, reader_language, django_assert_num_queries):
    # forums, their questions, the questions' themes; 4 counts (positions, speakers and
    # institutions together, themes, forums); the featured positions' ids, then their cards:
    # the positions, their roles, themes, tags and key phrases
    with django_assert_num_queries(14):
        response = client.get(url("home"))

    assert response.context["featured_positions"] == corpus.positions


def test_forum_page_query_count_is_constant(
    client, corpus, reader_language, django_assert_num_queries
):
    # forum, appearances (with speaker, institution), sessions (with source), questions,
    # the questions' themes, their positions counted by theme
    with django_assert_num_queries(6):
        response = client.get(corpus.forum.get_absolute_url())

    assert [t.position_count for q in response.context["questions"] for t in q.themes.all()] == [
        len(corpus.positions)
    ]


def test_session_page_query_count_is_constant(
    client, corpus, reader_language, django_assert_num_queries
):
    # session (with forum, source), its positions counted, the page of them, their themes,
    # tags, key phrases; appearances
    with django_assert_num_queries(9):
        response = client.get(corpus.session.get_absolute_url())

    assert list(response.context["positions"]) == corpus.positions


def test_question_page_query_count_is_constant(
    client, corpus, reader_language, django_assert_num_queries
):
    # question (with forum), its themes, their (theme, position) pairs; the positions shown,
    # their roles, sources, themes, tags, key phrases
    with django_assert_num_queries(9):
        response = client.get(corpus.question.get_absolute_url())

    assert [t.cards for t in response.context["themes"]] == [corpus.positions]


def test_theme_page_query_count_is_constant(
    client, corpus, reader_language, django_assert_num_queries
):
    # theme (with forum, parent), its questions, its children; its positions' role ids (their
    # number is its count of positions), the page of positions, their roles, themes, tags, key
    # phrases; the speakers' roles
    with django_assert_num_queries(11):
        response = client.get(corpus.theme.get_absolute_url())

    assert list(response.context["positions"]) == corpus.positions
    assert [a.speaker for a in response.context["theme_speakers"]] == corpus.speakers


def test_theme_page_shows_its_positions_fifty_at_a_time(client, db):
    from proceedings.views import THEME_PAGE_SIZE

    forum = make_forum()
    session = make_session(forum=forum)
    theme = make_theme(forum=forum)
    speakers = [make_speaker(name=f"講者{n}") for n in range(3)]
    appearances = [make_appearance(session=session, speaker=speaker) for speaker in speakers]
    # 60 positions in order; the last speaker speaks only on the second page.
    positions = [
        make_position(
            appearance=appearances[2] if n >= 55 else appearances[n % 2],
            themes=[theme],
            text=f"第{n}條意見",
            order=n,
        )
        for n in range(60)
    ]
    page_url = theme.get_absolute_url()

    first = client.get(page_url)
    second = client.get(page_url, {"page": 2})
    past_the_end = client.get(page_url, {"page": 10**12})
    not_a_number = client.get(page_url, {"page": "二"})

    assert list(first.context["positions"]) == positions[:THEME_PAGE_SIZE]
    assert list(second.context["positions"]) == positions[THEME_PAGE_SIZE:]
    assert list(past_the_end.context["positions"]) == positions[THEME_PAGE_SIZE:]
    assert list(not_a_number.context["positions"]) == positions[:THEME_PAGE_SIZE]
    # Every speaker of the theme, the one of page 2 too, in the order they first speak.
    assert [a.speaker for a in first.context["theme_speakers"]] == speakers
    first_html = first.content.decode()
    assert '<span class="count">60</span>' in first_html
    assert "第49條意見" in first_html
    assert "第50條意見" not in first_html
    assert '<a href="?page=2" rel="next">' in first_html
    assert '<a href="?page=1" rel="prev">' in second.content.decode()


@pytest.mark.parametrize("page", ["tag", "institution", "sector", "session"])
def test_tag_institution_sector_and_session_pages_show_fifty_positions_at_a_time(client, db, page):
    forum = make_forum()
    session = make_session(forum=forum)
    institution = make_institution(sector=Sector.ACADEMIA)
    appearance = make_appearance(session=session, speaker=make_speaker(), institution=institution)
    positions = [
        make_position(appearance=appearance, tags=["分頁"], text=f"第{n}條意見", order=n)
        for n in range(55)
    ]
    page_url = {
        "tag": url("tag-detail", "分頁"),
        "institution": institution.get_absolute_url(),
        "sector": url("sector-detail", Sector.ACADEMIA),
        "session": session.get_absolute_url(),
    }[page]

    first = client.get(page_url)
    second = client.get(page_url, {"page": 2})
    past_the_end = client.get(page_url, {"page": 10**12})

    assert first.context["positions"] == positions[:50]
    assert second.context["positions"] == positions[50:]
    assert past_the_end.context["positions"] == positions[50:]
    first_html = first.content.decode()
    assert "第49條意見" in first_html
    assert "第50條意見" not in first_html
    assert '<a href="?page=2" rel="next">' in first_html
    assert '<a href="?page=1" rel="prev">' in second.content.decode()
    count = '<p class="meta">55 則觀點</p>' if page == "tag" else '<span class="count">55</span>'
    assert count in first_html


def test_position_page_query_count_is_constant(
    client, corpus, reader_language, django_assert_num_queries
):
    appearance = make_appearance(session=corpus.session, speaker=make_speaker())
    position = make_position(appearance=appearance, themes=[corpus.theme], tags=["共同標籤"])

    # position (with speaker, institution, session, forum, source), its themes, tags and key
    # phrases; related positions, their themes, their tags, key phrases
    with django_assert_num_queries(11):
        response = client.get(position.get_absolute_url())

    assert list(response.context["related_positions"]) == corpus.positions


def test_source_page_query_count_is_constant(
    client, corpus, reader_language, django_assert_num_queries
):
    # source (with the "cited by a published row" check), positions citing it (with speaker),
    # their key phrases
    with django_assert_num_queries(3):
        response = client.get(corpus.source.get_absolute_url())

    assert [p["positions"] for p in response.context["paragraphs"]][: len(corpus.positions)] == [
        [position] for position in corpus.positions
    ]


def test_tag_page_query_count_is_constant(
    client, corpus, reader_language, django_assert_num_queries
):
    # tag, count and page of positions, their themes, their tags, key phrases
    with django_assert_num_queries(8):
        response = client.get(url("tag-detail", "共同標籤"))

    assert response.context["positions"] == corpus.positions


# ---------------------------------------------------------------------------------------------
# The forum list and the tag list
# ---------------------------------------------------------------------------------------------


def forum_names(response):
    return [forum.name for forum in response.context["forum_list"]]


def test_forum_list_shows_pujiang_with_its_counts_and_questions(client, pujiang):
    response = client.get(url("forum-list"))

    [forum] = response.context["forum_list"]
    assert (forum.slug, forum.position_count, forum.speaker_count, forum.theme_count) == (
        FORUM,
        19,
        9,
        9,
    )
    assert [q.title for q in forum.questions.all()] == ["誰來融合", "融合什么", "如何融合"]
    assertContains(response, "<h1>論壇</h1>", html=True)
    assertContains(response, f'<a href="{url("forum-matrix", FORUM)}">誰說了什麼</a>', html=True)
    assertContains(response, '<p class="meta">1 個論壇</p>', html=True)


def test_forum_list_counts_only_what_the_public_sees(staff_client, pujiang):
    unpublish(LIU_REF)
    draft = make_forum(published=False, name="草稿論壇", starts_on="2026-05-01")

    public = Client().get(url("forum-list"))
    staff = staff_client.get(url("forum-list"))

    assert forum_names(public) == ["2025 浦江創新論壇"]
    assert public.context["forum_list"][0].position_count == 18
    # Staff see the draft (newest first) under its status, and every position counted.
    assert forum_names(staff) == ["草稿論壇", "2025 浦江創新論壇"]
    assert staff.context["forum_list"][1].position_count == 19
    assertContains(staff, f'href="{draft.get_absolute_url()}"')


def test_forum_list_pages_newest_first_and_takes_any_page_number(client, db):
    for n in range(25):
        make_forum(name=f"論壇{n:02}", starts_on=f"2000-01-{n + 1:02}")

    first = client.get(url("forum-list"))
    second = client.get(url("forum-list") + "?page=2")
    past_the_end = client.get(url("forum-list") + "?page=99999999999")
    not_a_number = client.get(url("forum-list") + "?page=abc")

    assert forum_names(first) == [f"論壇{n:02}" for n in range(24, 4, -1)]
    assert forum_names(second) == [f"論壇{n:02}" for n in range(4, -1, -1)]
    assert forum_names(past_the_end) == forum_names(second)
    assert forum_names(not_a_number) == forum_names(first)
    assertContains(first, '<a href="?page=2" rel="next">', html=False)


def test_home_shows_the_newest_forums_and_links_to_all_of_them(client, pujiang):
    alone = client.get(url("home"))
    for n in range(5):
        make_forum(name=f"新論壇{n}", starts_on=f"2026-0{n + 1}-01")

    crowded = client.get(url("home"))

    assert [f.name for f in alone.context["forums"]] == ["2025 浦江創新論壇"]
    assertNotContains(alone, 'class="all-forums"')
    assert [f.name for f in crowded.context["forums"]] == [f"新論壇{n}" for n in range(4, -1, -1)]
    assertContains(
        crowded,
        f'<p class="all-forums"><a href="{url("forum-list")}">全部 6 個論壇</a></p>',
        html=True,
    )


def test_forum_list_query_count_is_constant(
    client, corpus, reader_language, django_assert_num_queries
):
    # count, forums, their questions; themes per forum; the roles' tally (positions by role,
    # the roles)
    with django_assert_num_queries(6):
        response = client.get(url("forum-list"))

    assert [f.position_count for f in response.context["forum_list"]] == [len(corpus.positions)]


def test_tag_list_shows_tags_by_use_with_their_counts(client, pujiang):
    response = client.get(url("tag-list"))

    tags = [(tag.name, tag.position_count) for tag in response.context["tag_list"]]
    assert len(tags) == 21
    assert tags[:3] == [("成果轉化", 6), ("企業創新主體", 3), ("生物醫藥", 3)]
    assert sum(count for _name, count in tags) == sum(
        len(p.tags.all()) for p in Position.objects.published()
    )
    assertContains(
        response,
        f'<a href="{url("tag-detail", "成果轉化")}">成果轉化</a>',
        html=True,
    )


def test_tag_list_leaves_out_a_tag_only_drafts_carry(client, pujiang):
    draft = make_position(
        appearance=Position.objects.get(ref=LIU_REF).appearance,
        tags=["只在草稿"],
        published=False,
    )
    # Published, but said by a person not published: not public either.
    hidden_role = make_appearance(
        session=pujiang.sessions.get(), speaker=make_speaker(published=False)
    )
    make_position(appearance=hidden_role, tags=["只在草稿", "成果轉化"])

    response = client.get(url("tag-list"))

    counts = {tag.name: tag.position_count for tag in response.context["tag_list"]}
    assert "只在草稿" not in counts
    assert counts["成果轉化"] == 6
    assert draft.tags.get().name == "只在草稿"


def test_tag_list_in_simplified_chinese_converts_the_names(client, pujiang):
    with translation.override("zh-hans"):
        response = client.get(url("tag-list"))
        tag_url = url("tag-detail", "成果轉化")

    assertContains(response, f'<a href="{tag_url}">成果转化</a>', html=True)


def test_tag_list_query_count_is_constant(
    client, corpus, reader_language, django_assert_num_queries
):
    # the tally of the tags' published positions, the roles that are not public (none here:
    # their positions' tags would be counted, once), then those tags (a list: the page is a
    # slice of it)
    with django_assert_num_queries(3):
        response = client.get(url("tag-list"))

    assert {tag.name: tag.position_count for tag in response.context["tag_list"]}["共同標籤"] == (
        len(corpus.positions)
    )


def test_question_page_shows_ten_positions_a_theme_and_links_to_the_rest(client, db):
    forum = make_forum()
    question = make_question(forum=forum)
    busy, quiet = (make_theme(forum=forum, questions=[question], order=n) for n in range(2))
    appearance = make_appearance(session=make_session(forum=forum), speaker=make_speaker())
    on_busy = [
        make_position(appearance=appearance, themes=[busy], text=f"第{n}條意見", order=n)
        for n in range(12)
    ]
    on_quiet = [make_position(appearance=appearance, themes=[quiet], order=20)]
    # On both themes: counted and shown under each; a draft on the quiet one: under neither.
    on_both = make_position(appearance=appearance, themes=[busy, quiet], order=30)
    make_position(appearance=appearance, themes=[quiet], order=25, published=False)

    response = client.get(question.get_absolute_url())

    themes = list(response.context["themes"])
    assert [(t.cards, t.position_count) for t in themes] == [
        (on_busy[:10], 13),
        ([*on_quiet, on_both], 2),
    ]
    assertContains(
        response,
        f'<p class="more-link"><a href="{busy.get_absolute_url()}">此主題全部 13 則觀點</a></p>',
        html=True,
    )
    assertContains(response, 'class="more-link"', count=1)
    assertContains(response, '<span class="count">13</span>', html=True)
    assertContains(response, '<span class="count">2</span>', html=True)


def test_header_forums_link_goes_to_the_forum_list(client, pujiang):
    response = client.get(url("speaker-list"))

    assertContains(response, f'<a href="{url("forum-list")}">論壇</a>', html=True)
