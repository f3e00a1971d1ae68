"""
The fragment cache: position cards rendered once per content generation, language and options.

A cached card must change as soon as its position, its speaker or role, or the reader's
language changes, and nothing the public cannot see may come out of it (staff render their own).
"""

import re

import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils import translation

from proceedings.models import Position, Status
from speakers.models import Speaker
from tests.factories import (
    make_appearance,
    make_forum,
    make_position,
    make_question,
    make_session,
    make_speaker,
    make_theme,
)

pytestmark = pytest.mark.django_db

QUOTE = "耐心資本要敢於投早投小投長期"


@pytest.fixture
def fragment_cache(settings):
    """Turn the fragment cache on (tests/settings.py turns it off) with an empty cache."""
    settings.FRAGMENT_CACHE_SECONDS = 60
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def theme_with_quote(django_capture_on_commit_callbacks):
    # Run the on-commit bump of the set-up's writes now, as the next transaction would see it.
    with django_capture_on_commit_callbacks(execute=True):
        forum = make_forum(published=True)
        theme = make_theme(forum=forum, questions=[make_question(forum=forum)])
        speaker = make_speaker(name="王小明", name_en="Wang Xiaoming")
        appearance = make_appearance(
            session=make_session(forum=forum), speaker=speaker, role="首席經濟學家"
        )
        position = make_position(appearance=appearance, themes=[theme], text=QUOTE)
    return theme, position


def card(client, url):
    """Return the one position card of the page at ``url``, as HTML."""
    html = client.get(url).content.decode()
    cards = re.findall(r'<article class="position .*?</article>', html, re.DOTALL)
    assert len(cards) == 1
    return cards[0]


def card_keys():
    return sorted(key for key in cache._cache if ":fragments:" in key)


def theme_url(theme, language="zh-hant"):
    with translation.override(language):
        return theme.get_absolute_url()


def test_a_card_is_stored_once_and_served_the_same(client, fragment_cache, theme_with_quote):
    theme, position = theme_with_quote

    first = card(client, theme_url(theme))
    keys = card_keys()
    again = card(client, theme_url(theme))

    assert len(keys) == 1
    assert f":card:{position.pk}:" in keys[0]
    assert again == first
    assert QUOTE in first
    assert "王小明" in first
    assert card_keys() == keys


def test_the_cached_card_is_what_rendering_gives(client, settings, theme_with_quote):
    theme, _ = theme_with_quote
    settings.FRAGMENT_CACHE_SECONDS = 0
    rendered = card(client, theme_url(theme))
    settings.FRAGMENT_CACHE_SECONDS = 60
    cache.clear()

    stored = card(client, theme_url(theme))
    served = card(client, theme_url(theme))

    assert stored == served == rendered


def test_editing_the_position_changes_the_card(
    client, fragment_cache, theme_with_quote, django_capture_on_commit_callbacks
):
    theme, position = theme_with_quote
    card(client, theme_url(theme))

    with django_capture_on_commit_callbacks(execute=True):
        Position.objects.filter(pk=position.pk).update(text="新的引文內容")

    edited = card(client, theme_url(theme))
    assert "新的引文內容" in edited
    assert QUOTE not in edited


def test_renaming_the_speaker_changes_the_card(
    client, fragment_cache, theme_with_quote, django_capture_on_commit_callbacks
):
    theme, position = theme_with_quote
    card(client, theme_url(theme))

    with django_capture_on_commit_callbacks(execute=True):
        Speaker.objects.filter(pk=position.appearance.speaker_id).update(name="王大明")

    renamed = card(client, theme_url(theme))
    assert "王大明" in renamed
    assert "王小明" not in renamed


def test_changing_the_role_changes_the_card(
    client, fragment_cache, theme_with_quote, django_capture_on_commit_callbacks
):
    theme, position = theme_with_quote
    assert "首席經濟學家" in card(client, theme_url(theme))

    appearance = position.appearance
    with django_capture_on_commit_callbacks(execute=True):
        appearance.role = "院長"
        appearance.save()

    changed = card(client, theme_url(theme))
    assert "院長" in changed
    assert "首席經濟學家" not in changed


def test_each_language_has_its_own_card(client, fragment_cache, theme_with_quote):
    theme, _ = theme_with_quote

    chinese = card(client, theme_url(theme, "zh-hant"))
    english = card(client, theme_url(theme, "en"))
    chinese_again = card(client, theme_url(theme, "zh-hant"))

    assert ">Permalink<" in english
    assert ">Permalink<" not in chinese
    assert chinese_again == chinese
    assert len(card_keys()) == 2


def test_the_same_position_with_other_options_is_another_card(
    client, fragment_cache, theme_with_quote
):
    theme, position = theme_with_quote

    on_theme = card(client, theme_url(theme))
    permalink = client.get(position.get_absolute_url()).content.decode()

    # The theme page leaves its own theme out of the card; the permalink's related cards and
    # the position itself are not this card.
    assert len(card_keys()) == 1
    assert on_theme.count("/themes/") == 0
    assert QUOTE in permalink


def test_an_unpublished_position_leaves_the_page_and_its_card_is_never_served(
    client, fragment_cache, theme_with_quote, django_capture_on_commit_callbacks
):
    theme, position = theme_with_quote
    card(client, theme_url(theme))

    with django_capture_on_commit_callbacks(execute=True):
        Position.objects.filter(pk=position.pk).update(status=Status.DRAFT)

    html = client.get(theme_url(theme)).content.decode()
    assert QUOTE not in html
    assert client.get(position.get_absolute_url()).status_code == 404


def test_staff_never_read_or_write_cached_cards(
    client, django_user_model, fragment_cache, theme_with_quote, django_capture_on_commit_callbacks
):
    theme, position = theme_with_quote
    with django_capture_on_commit_callbacks(execute=True):
        Position.objects.filter(pk=position.pk).update(status=Status.DRAFT)
    client.force_login(django_user_model.objects.create_user("staff", is_staff=True))

    staff_card = card(client, theme_url(theme))

    assert "is-draft" in staff_card
    assert QUOTE in staff_card
    assert card_keys() == []


def test_without_the_setting_nothing_is_stored(client, settings, theme_with_quote):
    theme, _ = theme_with_quote
    settings.FRAGMENT_CACHE_SECONDS = 0
    cache.clear()

    card(client, theme_url(theme))

    assert card_keys() == []


# ---------------------------------------------------------------------------------------------
# Counts kept for one content generation (home page, API lists)
# ---------------------------------------------------------------------------------------------


def test_home_counts_are_counted_once_per_generation(
    client, fragment_cache, theme_with_quote, django_capture_on_commit_callbacks
):
    theme, position = theme_with_quote
    first = client.get("/zh-hant/").context["counts"]["positions"]
    again = client.get("/zh-hant/").context["counts"]["positions"]

    with django_capture_on_commit_callbacks(execute=True):
        make_position(appearance=position.appearance, themes=[theme], text="第二則")
        make_position(appearance=position.appearance, themes=[theme], published=False)
    after = client.get("/zh-hant/").context["counts"]["positions"]

    assert [first, again, after] == [1, 1, 2]


def test_home_counts_from_the_cache_save_five_queries(
    client, fragment_cache, theme_with_quote, django_assert_num_queries
):
    client.get("/zh-hant/")

    # forums, their questions, the questions' themes; featured positions (none), so the first
    # verbatim ones (none either); the five counts come from the cache.
    with django_assert_num_queries(5):
        response = client.get("/zh-hant/")

    assert response.context["counts"] == {
        "positions": 1,
        "speakers": 1,
        "institutions": 0,
        "themes": 1,
        "forums": 1,
    }


def test_api_list_count_follows_the_content_and_the_filters(
    client, fragment_cache, theme_with_quote, django_capture_on_commit_callbacks
):
    theme, position = theme_with_quote
    url = reverse("api:position-list", kwargs={"version": "v1"})

    before = client.get(url).json()["count"]
    with django_capture_on_commit_callbacks(execute=True):
        make_position(appearance=position.appearance, text="第二則")
    after = client.get(url).json()["count"]
    second_page_size = client.get(url, {"page_size": 1, "page": 2}).json()["count"]
    filtered = client.get(url, {"theme": f"{theme.forum.slug}:{theme.slug}"}).json()["count"]

    assert [before, after, second_page_size, filtered] == [1, 2, 2, 1]
