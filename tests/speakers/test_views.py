"""
The pages of people, institutions and sectors (speakers/views.py): exact content from the
bundled Pujiang 2025 forum, and a fixed number of SQL queries per page whatever the number of
rows (the ``corpus`` and ``reader_language`` fixtures of tests/conftest.py).
"""

import pytest
from pytest_django.asserts import assertContains

from proceedings.models import Appearance
from speakers.models import Sector
from tests.factories import make_position
from tests.proceedings.test_views import refs, url
from tests.production.test_fragment_cache import statements

pytestmark = pytest.mark.django_db


def test_speaker_page_groups_positions_by_forum_then_theme(client, pujiang):
    response = client.get(url("speaker-detail", "fan-jianping"))

    [forum_group] = response.context["positions_by_forum"]
    assert forum_group["forum"] == pujiang
    assert [(g["theme"].slug, refs(g["positions"])) for g in forum_group["themes"]] == [
        ("full-factor-synergy", ["fan-jianping-butterfly-model"]),
        ("future-industries-main-battlefield", ["fan-jianping-future-frontiers"]),
    ]
    assert [a.as_printed for a in response.context["appearances"]] == [
        "深圳理工大學校長、黨委副書記"
    ]
    assertContains(
        response,
        '<span class="role__printed"><a class="role-institution" '
        f'href="{url("institution-detail", "suat")}">'
        "深圳理工大學</a>校長、黨委副書記</span>",
        html=True,
    )


def test_speaker_list_groups_by_sector_with_counts_and_rapporteurs_apart(client, pujiang):
    response = client.get(url("speaker-list"))

    assert [
        (value, [(p.slug, p.position_count) for p in people])
        for value, _label, people in response.context["speakers_by_sector"]
    ] == [
        ("government", [("xiao-jian", 2)]),
        ("academia", [("fan-jianping", 2)]),
        ("research", [("liu-dongmei", 3)]),
        ("enterprise", [("ding-lieming", 3), ("song-qi", 2), ("zhu-pengcheng", 2)]),
        ("finance", [("li-zhe", 2)]),
        ("association", [("wang-zhan", 2)]),
        ("foreign", [("daniel-almeida", 1)]),
    ]
    assert [p.slug for p in response.context["rapporteurs"]] == ["jiang-jiaoyan"]


def test_speaker_list_by_name_is_sorted_by_sort_name(client, pujiang):
    response = client.get(url("speaker-list"), {"order": "name"})

    assert [p.sort_name for p in response.context["speakers"]] == [
        "Almeida, Daniel",
        "Ding Lieming",
        "Fan Jianping",
        "Li Zhe",
        "Liu Dongmei",
        "Song Qi",
        "Wang Zhan",
        "Xiao Jian",
        "Zhu Pengcheng",
    ]


def test_institution_pages_show_people_and_positions(client, pujiang):
    listing = client.get(url("institution-list"))
    detail = client.get(url("institution-detail", "casted"))

    assert [
        (value, [i.slug for i in institutions])
        for value, _label, institutions in listing.context["institutions_by_sector"]
    ] == [
        ("government", ["zhangjiang-science-city-office"]),
        ("academia", ["suat"]),
        ("research", ["casted", "siss"]),
        ("enterprise", ["atlatl", "betta-pharmaceuticals", "neusoft-medical"]),
        ("finance", ["bilinxing-ventures"]),
        ("association", ["sfssa"]),
        ("foreign", ["mcti-brazil"]),
    ]
    assert [a.speaker.slug for a in detail.context["people"]] == ["liu-dongmei"]
    assert refs(detail.context["positions"]) == [
        "liu-dongmei-enterprise-market-insight",
        "liu-dongmei-enterprise-as-bridge",
        "liu-dongmei-cede-powers-to-enterprises",
    ]
    assertContains(detail, "<h1>中國科學技術發展戰略研究院</h1>", html=True)


def test_sector_pages_count_and_list_their_institutions_and_people(client, pujiang):
    listing = client.get(url("sector-list"))
    detail = client.get(url("sector-detail", Sector.ENTERPRISE))

    assert listing.context["sectors"][3] == {
        "value": "enterprise",
        "label": "企業",
        "institutions": 3,
        "people": 3,
        "positions": 7,
    }
    assert [i.slug for i in detail.context["institutions"]] == [
        "atlatl",
        "betta-pharmaceuticals",
        "neusoft-medical",
    ]
    assert [a.speaker.slug for a in detail.context["people"]] == [
        "ding-lieming",
        "song-qi",
        "zhu-pengcheng",
    ]
    assert len(detail.context["positions"]) == 7


def test_speaker_list_query_count_is_constant(
    client, corpus, reader_language, django_assert_num_queries
):
    # speakers, their appearances (with institution), and the roles' tallies: the visible
    # roles, their positions counted by role
    with django_assert_num_queries(4):
        response = client.get(url("speaker-list"))

    # By sort name ("Speaker 1000" before "Speaker 999": the factories' numbers run on).
    assert response.context["speakers"] == sorted(
        corpus.speakers, key=lambda speaker: (speaker.sort_name, speaker.pk)
    )


def test_speaker_page_query_count_is_constant(
    client, corpus, reader_language, django_assert_num_queries
):
    speaker = corpus.speakers[0]
    for n in range(len(corpus.positions) - 1):
        make_position(appearance=speaker.appearances.get(), themes=[corpus.theme], order=10 + n)

    # speaker, appearances (with session, forum, institution), positions, their themes,
    # their tags, key phrases, links
    with django_assert_num_queries(9):
        response = client.get(speaker.get_absolute_url())

    [group] = response.context["positions_by_forum"]
    assert len(group["themes"][0]["positions"]) == len(corpus.positions)


def test_institution_list_query_count_is_constant(
    client, corpus, reader_language, django_assert_num_queries
):
    # institutions, and the roles' tallies (the visible roles, positions counted by role)
    with django_assert_num_queries(3):
        response = client.get(url("institution-list"))

    assert len(response.context["institution_list"]) == len(corpus.institutions) + 1


def test_institution_page_query_count_is_constant(
    client, corpus, reader_language, django_assert_num_queries
):
    institution = corpus.institutions[0]
    appearance = Appearance.objects.get(institution=institution)
    for n in range(len(corpus.positions) - 1):
        make_position(appearance=appearance, order=10 + n)

    # institution, appearances (with speaker, session, forum), count and page of positions,
    # themes, tags, key phrases
    with django_assert_num_queries(9):
        response = client.get(institution.get_absolute_url())

    assert len(response.context["positions"]) == len(corpus.positions)


def test_sector_list_query_count_is_constant(
    client, corpus, reader_language, django_assert_num_queries
):
    # institutions per sector, and the roles' tallies (the visible roles, positions counted by
    # role), which give people and positions per sector
    with django_assert_num_queries(3):
        response = client.get(url("sector-list"))

    assert sum(s["positions"] for s in response.context["sectors"]) == len(corpus.positions)


def test_sector_page_query_count_is_constant(
    client, corpus, reader_language, django_assert_num_queries
):
    institution = corpus.institutions[0]
    appearance = Appearance.objects.get(institution=institution)
    for n in range(len(corpus.positions) - 1):
        make_position(appearance=appearance, order=10 + n)

    # institutions, the roles' tallies (two: they count the positions too), the people's
    # roles (their ids, then their rows with speaker and institution), the page of positions,
    # themes, tags, key phrases
    with django_assert_num_queries(11):
        response = client.get(url("sector-detail", institution.sector))

    assert len(response.context["positions"]) == len(corpus.positions)


def test_a_sectors_cards_are_read_by_its_roles_with_positions(client, pujiang, django_user_model):
    from proceedings.models import Position

    role = Appearance.objects.filter(institution__sector=Sector.ENTERPRISE).first()
    make_position(appearance=role, text="尚未發布的觀點", published=False, order=99)
    expected = (
        Position.objects.published()
        .filter(appearance__institution__sector=Sector.ENTERPRISE)
        .order_by("order", "pk")
    )
    with statements() as run:
        public = client.get(url("sector-detail", Sector.ENTERPRISE))
    client.force_login(django_user_model.objects.create_user("staff", is_staff=True))
    staff = client.get(url("sector-detail", Sector.ENTERPRISE))

    # The page's positions by the ids of the sector's roles with published positions (the
    # roles' tally), not by joining every position to its role's institution.
    cards = [sql for sql in run if 'FROM "proceedings_position"' in sql]
    assert len(cards) == 1
    assert "speakers_institution" not in cards[0]
    assert refs(public.context["positions"]) == [p.ref for p in expected]
    assert "尚未發布的觀點" not in public.content.decode()
    # Staff, whose tally counts drafts too, see the draft among them.
    assert len(staff.context["positions"]) == len(expected) + 1
    assert "尚未發布的觀點" in staff.content.decode()
