"""Duplicate speakers and institutions: detection, the admin pages, and merging."""

import io

import pytest
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import translation

from proceedings.interchange.merging import (
    find_duplicate_institutions,
    find_duplicate_speakers,
    merge_institutions,
    merge_speakers,
    name_key,
)
from proceedings.models import Appearance, Position
from speakers.models import Institution, Sector, Speaker
from tests.browser import ARTIFACTS
from tests.factories import (
    make_appearance,
    make_institution,
    make_position,
    make_session,
    make_source,
    make_speaker,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def english():
    """Reasons and history entries are translated: these tests read the English ones."""
    with translation.override("en"):
        yield


@pytest.fixture
def wang_zhan(pujiang):
    """The Pujiang speaker 王戰: one role (science-policy session) and two positions."""
    return Speaker.objects.get(slug="wang-zhan")


@pytest.fixture
def duplicate(pujiang, wang_zhan):
    """A second "王战"/"Wang Zhan": a role in a new session, and one in the same session as 王戰."""
    person = make_speaker(
        slug="wang-zhan-2", name="王战", name_en="Wang Zhan", aliases=["王战教授"]
    )
    session = make_session(
        forum=pujiang, slug="dialogue", source=make_source(full_text="王战说:开放创新。")
    )
    make_position(
        appearance=make_appearance(session=session, speaker=person, role="主席"),
        ref="wang-zhan-2-open-innovation",
        text="开放创新",
    )
    same_session = make_appearance(
        session=pujiang.sessions.get(slug="science-policy"), speaker=person, role=""
    )
    make_position(appearance=same_session, ref="wang-zhan-2-ethics", text="科技伦理")
    return person


def refs_of(speaker):
    return sorted(
        Position.objects.filter(appearance__speaker=speaker).values_list("ref", flat=True)
    )


# ---------------------------------------------------------------------------------------------
# Detection
# ---------------------------------------------------------------------------------------------


def test_name_key_compares_scripts_case_and_spaces():
    assert name_key("王戰") == name_key("王战") == "王战"
    assert name_key("  Wang   ZHAN ") == "wang zhan"
    assert name_key("丹尼爾・阿爾梅達") == name_key("丹尼尔·阿尔梅达")


def test_pujiang_has_no_duplicates(pujiang):
    assert find_duplicate_speakers() == []
    assert find_duplicate_institutions() == []


def test_duplicate_speakers_lists_exactly_the_expected_pairs(wang_zhan, duplicate):
    make_speaker(name="李明", name_en="Li Ming")
    make_speaker(name="李明", name_en="Li Ming (Fudan)")  # same name, same script
    make_speaker(name="Daniel A.", name_en="Dan Almeida", aliases=["Daniel Almeida"])

    pairs = [
        (pair.first.name_en, pair.second.name_en, pair.reasons)
        for pair in find_duplicate_speakers()
    ]

    assert pairs == [
        (
            "Wang Zhan",
            "Wang Zhan",
            [
                "same name in another script",
                "same English name",
                "“王战”, an alias of 王戰, is the name of 王战",
            ],
        ),
        (
            "Daniel Almeida",
            "Dan Almeida",
            ["“Daniel Almeida”, an alias of Daniel A., is the name of 丹尼爾·阿爾梅達"],
        ),
        ("Li Ming", "Li Ming (Fudan)", ["same name"]),
    ]


def test_duplicate_institutions_lists_exactly_the_expected_pairs(pujiang):
    make_institution(
        slug="sfssa-2",
        name="上海市社会科学界联合会",
        name_en="Shanghai Federation of Social Sciences",
        sector=Sector.ASSOCIATION,
    )
    make_institution(name="北京大學", name_en="Peking University", sector=Sector.ACADEMIA)

    pairs = [(p.first.slug, p.second.slug, p.reasons) for p in find_duplicate_institutions()]

    assert pairs == [
        (
            "sfssa",
            "sfssa-2",
            [
                "same name in another script",
                "“上海市社会科学界联合会”, an alias of 上海市社會科學界聯合會, is the name of "
                "上海市社会科学界联合会",
            ],
        )
    ]


# ---------------------------------------------------------------------------------------------
# Merge services
# ---------------------------------------------------------------------------------------------


def test_merge_speakers_moves_positions_and_roles_and_keeps_history(
    wang_zhan, duplicate, django_user_model
):
    user = django_user_model.objects.create_user("publisher")
    keep_history = wang_zhan.history.count()
    moved = Position.objects.get(ref="wang-zhan-2-ethics")
    moved_history = moved.history.count()

    result = merge_speakers(keep=wang_zhan, duplicate=duplicate, user=user)

    assert (result.moved_roles, result.merged_roles, result.moved_positions) == (1, 1, 2)
    assert not Speaker.objects.filter(pk=duplicate.pk).exists()
    assert refs_of(wang_zhan) == [
        "wang-zhan-2-ethics",
        "wang-zhan-2-open-innovation",
        "wang-zhan-ethics-law-design",
        "wang-zhan-market-and-government",
    ]
    # One role per session: the science-policy role took the duplicate's position there.
    assert sorted(
        Appearance.objects.filter(speaker=wang_zhan).values_list("session__slug", "role")
    ) == [
        ("dialogue", "主席"),
        ("science-policy", "主席"),
    ]
    wang_zhan.refresh_from_db()
    assert wang_zhan.aliases == ["王战", "王战教授"]
    assert result.aliases_added == ["王战教授"]
    assert wang_zhan.history.count() == keep_history + 1
    latest = wang_zhan.history.first()
    assert (latest.history_change_reason, latest.history_user) == (
        "Merged duplicate “王战 (Wang Zhan)”",
        user,
    )
    assert moved.history.count() == moved_history + 1
    assert moved.history.first().history_change_reason == "Merged duplicate “王战 (Wang Zhan)”"
    deleted = Speaker.history.get(id=duplicate.pk, history_type="-")
    assert (deleted.history_change_reason, deleted.history_user) == (
        "Merged into “王戰 (Wang Zhan)”",
        user,
    )
    assert Appearance.history.filter(speaker_id=duplicate.pk, history_type="-").count() == 1


def test_merged_speakers_old_page_redirects_to_the_kept_one(client, wang_zhan, duplicate):
    old_url = duplicate.get_absolute_url()

    merge_speakers(keep=wang_zhan, duplicate=duplicate)

    response = client.get(old_url)
    assert (response.status_code, response["Location"]) == (301, wang_zhan.get_absolute_url())


def test_merge_dry_run_changes_nothing(wang_zhan, duplicate):
    result = merge_speakers(keep=wang_zhan, duplicate=duplicate, dry_run=True)

    assert (result.moved_roles, result.merged_roles, result.moved_positions) == (1, 1, 2)
    assert refs_of(duplicate) == ["wang-zhan-2-ethics", "wang-zhan-2-open-innovation"]
    assert Speaker.objects.filter(pk=duplicate.pk).exists()


def test_merging_a_speaker_into_itself_is_refused(wang_zhan):
    with pytest.raises(ValidationError):
        merge_speakers(keep=wang_zhan, duplicate=wang_zhan)


def test_merge_institutions_moves_roles(pujiang):
    keep = Institution.objects.get(slug="sfssa")
    other = make_institution(
        slug="sfssa-2",
        name="上海市社会科学界联合会",
        name_en="Shanghai Federation of Social Sciences",
        sector=Sector.ASSOCIATION,
        website="https://example.org/sfssa",
    )
    role = make_appearance(
        session=make_session(forum=pujiang), speaker=make_speaker(), institution=other
    )
    make_position(appearance=role)

    result = merge_institutions(keep=keep, duplicate=other)

    assert (result.moved_roles, result.moved_positions) == (1, 1)
    role.refresh_from_db()
    keep.refresh_from_db()
    assert role.institution == keep
    assert not Institution.objects.filter(slug="sfssa-2").exists()
    assert keep.aliases[-1] == "Shanghai Federation of Social Sciences"
    assert keep.website == "https://www.sssa.org.cn/"  # not overwritten: only blanks are filled


# ---------------------------------------------------------------------------------------------
# Admin pages
# ---------------------------------------------------------------------------------------------


def staff(django_user_model, group):
    user = django_user_model.objects.create_user(group.lower(), password="pw", is_staff=True)
    user.groups.add(Group.objects.get(name=group))
    return user


@pytest.fixture
def publisher_client(client, django_user_model):
    client.force_login(staff(django_user_model, "Publishers"))
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


def test_duplicates_page_lists_pairs_with_merge_links(publisher_client, wang_zhan, duplicate):
    url = reverse("admin:speakers_speaker_duplicates")

    response = publisher_client.get(url)

    assert [(p.first, p.second) for p in response.context["pairs"]] == [(wang_zhan, duplicate)]
    assert response.context["can_merge"] is True
    html = response.content.decode()
    merge = reverse("admin:speakers_speaker_merge")
    assert f"{merge}?keep={wang_zhan.pk}&amp;duplicate={duplicate.pk}" in html
    assert "1 role · 2 positions" in html
    assert "2 roles · 2 positions" in html
    changelist = publisher_client.get(reverse("admin:speakers_speaker_changelist"))
    assert changelist.context["tool_links"] == [(url, "Possible duplicates")]


def test_merge_confirmation_then_merge(publisher_client, wang_zhan, duplicate):
    url = reverse("admin:speakers_speaker_merge")
    params = {"keep": wang_zhan.pk, "duplicate": duplicate.pk}

    confirm = publisher_client.get(url, params)

    assert confirm.status_code == 200
    assert (confirm.context["plan"].moved_positions, refs_of(duplicate)) == (
        2,
        ["wang-zhan-2-ethics", "wang-zhan-2-open-innovation"],
    )
    response = publisher_client.post(url, params)
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:speakers_speaker_duplicates")
    assert not Speaker.objects.filter(pk=duplicate.pk).exists()
    assert len(refs_of(wang_zhan)) == 4


def test_institution_duplicates_page_and_merge(publisher_client, pujiang):
    other = make_institution(name="上海市社会科学界联合会", sector=Sector.ASSOCIATION)
    keep = Institution.objects.get(slug="sfssa")

    page = publisher_client.get(reverse("admin:speakers_institution_duplicates"))
    response = publisher_client.post(
        reverse("admin:speakers_institution_merge"), {"keep": keep.pk, "duplicate": other.pk}
    )

    assert [(p.first, p.second) for p in page.context["pairs"]] == [(keep, other)]
    assert response.status_code == 302
    assert not Institution.objects.filter(pk=other.pk).exists()


def test_editors_see_duplicates_but_may_not_merge(client, django_user_model, wang_zhan, duplicate):
    client.force_login(staff(django_user_model, "Editors"))
    url = reverse("admin:speakers_speaker_merge")
    params = {"keep": wang_zhan.pk, "duplicate": duplicate.pk}

    page = client.get(reverse("admin:speakers_speaker_duplicates"))

    assert page.status_code == 200
    assert page.context["can_merge"] is False
    assert client.get(url, params).status_code == 403
    assert client.post(url, params).status_code == 403
    assert Speaker.objects.filter(pk=duplicate.pk).exists()


# ---------------------------------------------------------------------------------------------
# In a browser (pytest -m browser; skipped without Chromium): screenshots in tests/artifacts/
# ---------------------------------------------------------------------------------------------


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_duplicates_and_merge_pages_in_a_browser(
    browser, live_server, django_user_model, wang_zhan, duplicate
):
    make_institution(name="上海市社会科学界联合会", name_en="SFSSA", sector=Sector.ASSOCIATION)
    client = Client()
    client.force_login(django_user_model.objects.create_superuser("admin", "a@example.org", "pw"))
    context = browser.new_context(
        viewport={"width": 1280, "height": 900}, locale="en", base_url=live_server.url
    )
    cookie = client.cookies["sessionid"].value
    context.add_cookies([{"name": "sessionid", "value": cookie, "url": live_server.url}])
    page = context.new_page()
    for model in ("speaker", "institution"):
        page.goto(reverse(f"admin:speakers_{model}_duplicates"))
        page.screenshot(path=ARTIFACTS / f"admin-{model}-duplicates-1280.png", full_page=True)
        assert page.locator("table.fp-pairs tbody tr").count() == 1
    page.goto(reverse("admin:speakers_speaker_duplicates"))
    page.get_by_role("link", name="Keep this one").first.click()  # keep 王戰
    # Each click navigates: wait for the next page before its screenshot (taken while the
    # page was still loading, Chromium refused it now and then).
    merge = page.get_by_role("button", name="Yes, merge")
    merge.wait_for()
    page.screenshot(path=ARTIFACTS / "admin-speaker-merge-1280.png", full_page=True)
    merge.click()
    success = page.locator(".messagelist .success")
    success.wait_for()
    page.screenshot(path=ARTIFACTS / "admin-speaker-merged-1280.png", full_page=True)
    message = success.inner_text()
    context.close()

    assert message.startswith("Merged “王战 (Wang Zhan)” into “王戰 (Wang Zhan)”. Roles moved: 1;")
    assert not Speaker.objects.filter(pk=duplicate.pk).exists()


def test_find_duplicates_command_lists_the_pairs(wang_zhan, duplicate):
    out = io.StringIO()

    call_command("find_duplicates", stdout=out)

    assert out.getvalue().splitlines() == [
        "speakers: 1 possible duplicate pair(s)",
        "  wang-zhan ↔ wang-zhan-2: same name in another script; same English name; "
        "“王战”, an alias of 王戰, is the name of 王战",
        "institutions: 0 possible duplicate pair(s)",
    ]
