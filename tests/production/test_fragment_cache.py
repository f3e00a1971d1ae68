"""
The fragment cache: position cards rendered once per content generation, language and options.

A cached card must change as soon as its position, its speaker or role, or the reader's
language changes, and nothing the public cannot see may come out of it (staff render their own).
"""

import csv
import datetime
import io
import re
import xml.etree.ElementTree as ET  # our own responses: no need for defusedxml
from contextlib import contextmanager
from unittest import mock

import pytest
from django.core.cache import cache, caches
from django.db import connection
from django.db.models import Case, When
from django.template import Context, Template
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.functional import empty

from forum_portal.cache import bump_generation, code_digest, code_version
from proceedings import downloads
from proceedings.api.serializers import PositionSerializer, ThemeSerializer
from proceedings.feeds import PositionFeed
from proceedings.listing import ValueRows
from proceedings.models import (
    Appearance,
    Position,
    PositionSearchDocument,
    RecordSearchDocument,
    SearchQueryStat,
    Status,
    Theme,
)
from speakers.models import Institution, Speaker
from tests.factories import (
    make_appearance,
    make_forum,
    make_institution,
    make_key_phrase,
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


@contextmanager
def statements():
    """Collect the SQL run inside (the test client's request_started signal empties
    ``connection.queries``, so ``CaptureQueriesContext`` cannot count across a request)."""
    run = []

    def collect(execute, sql, params, many, context):
        run.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(collect):
        yield run


def fragment_keys():
    return sorted(key for key in cache._cache if ":fragments:" in key)


def card_keys():
    """The cards kept under a content generation."""
    return [key for key in fragment_keys() if ":card:" in key and ":content:" not in key]


def content_card_keys():
    """The cards kept by a digest of their rows (``{% cardcache %}``)."""
    return [key for key in fragment_keys() if ":card:" in key and ":content:" in key]


def forget_card_sections(name="theme-cards"):
    """Drop the kept page parts ``name`` (the theme pages' card sections), under every
    generation and by their rows: the next request builds them from the cards."""
    for key in fragment_keys():
        if f":fragment:{name}:" in key:
            cache.delete(key.removeprefix(":1:"))


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
# A list of cached cards: one cache call, and for_listing()'s prefetches only for a miss
# ---------------------------------------------------------------------------------------------

THREE_QUOTES = ["耐心資本要敢於投早投小投長期", "企業是創新的主體", "把論文寫在大地上"]
SPEAKERS = ["王小明", "李大華", "陳美玲"]


@pytest.fixture
def theme_of_three(django_capture_on_commit_callbacks):
    """A theme with three tagged positions of three speakers, one with a key phrase."""
    with django_capture_on_commit_callbacks(execute=True):
        forum = make_forum(published=True)
        theme = make_theme(forum=forum, questions=[make_question(forum=forum)])
        session = make_session(forum=forum)
        positions = [
            make_position(
                appearance=make_appearance(session=session, speaker=make_speaker(name=name)),
                themes=[theme],
                tags=["耐心資本" if n == 0 else "產業創新"],
                text=quote,
                order=n,
            )
            for n, (name, quote) in enumerate(zip(SPEAKERS, THREE_QUOTES, strict=True))
        ]
        make_key_phrase(position=positions[0], text="耐心資本", translation="patient capital")
    return theme, positions


def test_a_page_part_that_is_not_kept_is_rendered_from_its_kept_cards(
    client, fragment_cache, theme_of_three
):
    theme, _ = theme_of_three
    with statements() as rendering:
        first = client.get(theme_url(theme)).content.decode()
    forget_card_sections()
    with statements() as cached, rendered_cards() as rendered:
        again = client.get(theme_url(theme)).content.decode()

    # The role ids of the theme's positions (their number is its count of positions); its
    # speakers' roles; the theme with its questions and children: kept. The cards' rows and
    # what they fetch are read again, to digest the part's rows; no card is rendered again.
    assert len(rendering) - len(cached) == 1 + 1 + 3
    assert sum("proceedings_keyphrase" in sql for sql in cached) == 1
    assert rendered == []
    assert again == first
    cards = re.findall(r'<article class="position .*?</article>', again, re.DOTALL)
    assert len(cards) == 3
    assert '<p><mark class="key-phrase">耐心資本</mark>要敢於投早投小投長期</p>' in cards[0]
    assert [THREE_QUOTES[n] in cards[n] for n in (1, 2)] == [True, True]
    assert [f">{SPEAKERS[n]} <" in cards[n] for n in range(3)] == [True, True, True]
    assert ">產業創新</a>" in cards[2]


def test_a_list_of_cards_is_one_cache_call(client, fragment_cache, theme_of_three):
    theme, positions = theme_of_three
    client.get(theme_url(theme))
    forget_card_sections()
    backend = caches["default"]
    real_get = backend.get
    many = []

    def get_many(keys, version=None):
        # LocMemCache's get_many() calls get() for each key: the real one, so the spy on get()
        # below sees only the calls the page makes itself.
        many.append(keys)
        return {key: value for key in keys if (value := real_get(key)) is not None}

    with (
        mock.patch.object(backend, "get", wraps=real_get) as get,
        mock.patch.object(backend, "get_many", get_many),
    ):
        client.get(theme_url(theme))

    card_calls = [keys for keys in many if any(":card:" in key for key in keys)]
    assert len(card_calls) == 1
    # card_keys() are the backend's own keys: its prefix and version (":1:") first.
    assert sorted(f":1:{key}" for key in card_calls[0]) == sorted(
        key for key in card_keys() if any(f":card:{p.pk}:" in key for p in positions)
    )
    assert len(card_calls[0]) == 3
    assert not [call for call in get.call_args_list if ":card:" in call.args[0]]


def test_one_card_missing_renders_the_page_the_same(client, fragment_cache, theme_of_three):
    theme, positions = theme_of_three
    first = client.get(theme_url(theme)).content.decode()
    (key,) = [key for key in card_keys() if f":card:{positions[1].pk}:" in key]
    cache.delete(key.split(":", 2)[2])  # the key without the backend's prefix and version
    forget_card_sections()

    again = client.get(theme_url(theme)).content.decode()

    assert again == first
    assert key in card_keys()


@contextmanager
def rendered_cards():
    """Collect the pks of the cards rendered inside (not read from the cache)."""
    from proceedings.templatetags.portal import CardCacheNode

    rendered = []
    real = CardCacheNode.render_card

    def render_card(self, context, pending):
        rendered.append(context["position"].pk)
        return real(self, context, pending)

    with mock.patch.object(CardCacheNode, "render_card", render_card):
        yield rendered


def test_a_rows_digest_covers_its_values_and_the_rows_fetched_with_it(theme_of_three):
    from django.db.models import Value

    from forum_portal.cache import content_digest

    _, positions = theme_of_three
    pk = positions[0].pk

    def fetched(queryset=None):
        if queryset is None:
            queryset = Position.objects.for_listing()
        return queryset.get(pk=pk)

    first, again = fetched(), fetched()
    assert content_digest(first) == content_digest(again)  # the same rows, read twice
    again.listed_key_phrases[0].text = "耐心"  # a row fetched with it (to_attr)
    assert content_digest(again) != content_digest(first)
    again = fetched()
    again.appearance.speaker.name = "王大明"  # a row two relations away
    assert content_digest(again) != content_digest(first)
    again = fetched()
    again.text = "耐心資本"  # its own column
    assert content_digest(again) != content_digest(first)
    # Its own values: a field, an annotation; a deferred field is not a value it holds.
    assert content_digest(fetched(Position.objects.annotate(n=Value(1)))) != content_digest(
        fetched(Position.objects.annotate(n=Value(2)))
    )
    assert content_digest(fetched(Position.objects.defer("text"))) != content_digest(
        fetched(Position.objects.all())
    )


def test_after_an_edit_elsewhere_a_page_of_cards_is_kept_by_its_rows(
    client, fragment_cache, theme_of_three, django_capture_on_commit_callbacks
):
    theme, positions = theme_of_three
    with rendered_cards() as first_render:
        first = client.get(theme_url(theme)).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        make_speaker(name="無關的人")  # an edit: a new content generation
    with rendered_cards() as after_edit, statements() as run:
        again = client.get(theme_url(theme)).content.decode()
    with rendered_cards() as third:
        client.get(theme_url(theme))

    assert first_render == [position.pk for position in positions]
    assert after_edit == []
    assert again == first
    # Their rows were read to compare them (the cards' prefetches ran), the page's part was
    # found by their digest: no card was rendered, or even looked up. Kept under the new
    # generation too, so the next reader reads neither.
    assert any("proceedings_keyphrase" in sql for sql in run)
    assert len(content_card_keys()) == 3
    assert len(card_keys()) == 3  # the first generation's
    # Under each generation, each stamp of the forum's tables (a person was added) and the
    # digest of its rows: 2 + 2 + 1.
    assert len([key for key in fragment_keys() if ":fragment:theme-cards:" in key]) == 5
    assert third == []


@pytest.mark.parametrize("edit", ["speaker", "position"])
def test_a_card_whose_rows_changed_is_rendered_again(
    client, fragment_cache, theme_of_three, django_capture_on_commit_callbacks, edit
):
    theme, positions = theme_of_three
    client.get(theme_url(theme))
    with django_capture_on_commit_callbacks(execute=True):
        if edit == "speaker":  # a row the card reads through the position's role
            Speaker.objects.filter(pk=positions[1].appearance.speaker_id).update(name="李大中")
        else:
            Position.objects.filter(pk=positions[1].pk).update(text="企業是創新的主體力量")
    with rendered_cards() as after_edit:
        html = client.get(theme_url(theme)).content.decode()

    assert after_edit == [positions[1].pk]
    cards = re.findall(r'<article class="position .*?</article>', html, re.DOTALL)
    if edit == "speaker":
        assert ["李大中" in card for card in cards] == [False, True, False]
        assert "李大華" not in html
    else:
        assert ["企業是創新的主體力量" in card for card in cards] == [False, True, False]
    assert len(content_card_keys()) == 4


@contextmanager
def built_listing_rows():
    """Collect the model names of the instances for_listing()'s rows built inside."""
    from proceedings.listing import _Columns

    built = []
    real = _Columns.build

    def build(self, row, start, connection):
        instance = real(self, row, start, connection)
        if instance is not None:
            built.append(type(instance).__name__)
        return instance

    with mock.patch.object(_Columns, "build", build):
        yield built


@pytest.mark.parametrize("edit", ["tag", "key phrase", "institution", "theme"])
def test_a_card_is_rendered_again_when_a_row_read_for_it_changes(
    client, fragment_cache, theme_of_three, django_capture_on_commit_callbacks, edit
):
    # Rows that for_listing() reads as the database returns them, digested unbuilt
    # (listing.ListingRows): a change to each kind is a change to the card's digest.
    from taggit.models import Tag

    theme, positions = theme_of_three
    client.get(theme_url(theme))
    with django_capture_on_commit_callbacks(execute=True):
        if edit == "tag":  # the third card's tag
            Tag.objects.filter(name="產業創新").update(name="產業創新體系")
        elif edit == "key phrase":  # the first card's
            positions[0].key_phrases.update(translation="patient capital (long-term)")
        elif edit == "institution":  # the second card's speaker's
            institution = make_institution(name="復旦大學")
            Appearance.objects.filter(pk=positions[1].appearance_id).update(institution=institution)
        else:  # every card's
            Theme.objects.filter(pk=theme.pk).update(title_en="Patient capital")
    with rendered_cards() as after_edit:
        html = client.get(theme_url(theme)).content.decode()

    expected = {
        "tag": [positions[1].pk, positions[2].pk],  # both tagged 產業創新
        "key phrase": [positions[0].pk],
        "institution": [positions[1].pk],
        "theme": [position.pk for position in positions],
    }[edit]
    assert after_edit == expected
    if edit == "tag":
        assert html.count(">產業創新體系</a>") == 2
    elif edit == "institution":
        assert "復旦大學" in html


def test_cards_found_by_their_rows_build_none_of_them(
    client, fragment_cache, theme_of_three, django_capture_on_commit_callbacks
):
    theme, positions = theme_of_three
    first = client.get(theme_url(theme)).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        Position.objects.filter(pk=positions[2].pk).update(text="把論文寫在祖國大地上")
    forget_card_sections()
    with built_listing_rows() as built, rendered_cards() as rendered:
        again = client.get(theme_url(theme)).content.decode()

    # The edited card is rendered from its rows, built; the other two are found by the digest
    # of their rows as read, never built: one role with its person, session and forum (no
    # institution), one theme with its forum and one tagged item with its tag (no English
    # name), all the third card's.
    assert rendered == [positions[2].pk]
    assert again == first.replace("把論文寫在大地上", "把論文寫在祖國大地上")
    assert sorted(built) == sorted(
        ["Appearance", "Speaker", "Session", "Forum", "Theme", "Forum", "TaggedItem", "Tag"]
    )


def test_a_speakers_cards_are_grouped_without_building_their_rows(
    client, fragment_cache, theme_of_three, django_capture_on_commit_callbacks
):
    theme, positions = theme_of_three
    speaker = positions[0].appearance.speaker
    with translation.override("zh-hant"):
        url = speaker.get_absolute_url()
    first = client.get(url).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        make_speaker(name="無關的人")  # an edit: a new content generation
    forget_card_sections("speaker-positions")  # or the part is found by its rows
    with built_listing_rows() as built, rendered_cards() as rendered:
        again = client.get(url).content.decode()

    # Grouped by forum and theme from the rows as read: the forum and the theme (with its
    # forum) built for the headings, the card found by its rows' digest, not built.
    assert rendered == []
    assert again == first
    assert sorted(built) == ["Forum", "Forum", "Theme"]
    assert f">{theme.title}<" in again


def test_a_rows_digest_is_the_same_built_or_not(theme_of_three):
    from forum_portal.cache import content_digest

    def rows():
        return list(Position.objects.for_listing().prefetch_on_demand().order_by("order"))

    unbuilt, built = rows(), rows()
    for row in built:
        row.appearance  # noqa: B018 - builds this row's rows
    assert all("listed_themes" in row.__dict__ for row in built)
    assert not any("listed_themes" in row.__dict__ for row in unbuilt)
    assert [content_digest(row) for row in unbuilt] == [content_digest(row) for row in built]
    # Reading a row builds that row's, not its list's.
    assert [tag.name for tag in unbuilt[0].listed_tags] == ["耐心資本"]
    assert "listed_themes" in unbuilt[0].__dict__
    assert "listed_themes" not in unbuilt[1].__dict__
    # Each row's own: three positions, three digests.
    assert len({content_digest(row) for row in built}) == 3


def test_rows_fetch_their_pending_prefetches_when_first_read(
    theme_of_three, django_assert_num_queries
):
    theme, _ = theme_of_three
    with django_assert_num_queries(1):
        rows = list(Position.objects.for_listing().prefetch_on_demand().order_by("order"))
    with django_assert_num_queries(4):
        assert rows[2].listed_themes == [theme]
    with django_assert_num_queries(0):
        assert [row.appearance.speaker.name for row in rows] == SPEAKERS
        assert [tag.name for row in rows for tag in row.listed_tags] == [
            "耐心資本",
            "產業創新",
            "產業創新",
        ]
        assert [phrase.text for phrase in rows[0].listed_key_phrases] == ["耐心資本"]
        assert rows[1].source is None


def test_a_role_read_first_fetches_every_rows_prefetches(theme_of_three, django_assert_num_queries):
    with django_assert_num_queries(1):
        rows = list(Position.objects.for_listing().prefetch_on_demand().order_by("order"))
    with django_assert_num_queries(4):
        assert rows[0].appearance.speaker.name == SPEAKERS[0]
    with django_assert_num_queries(0):
        assert [row.appearance.session.forum.pk for row in rows] == [
            rows[0].appearance.session.forum.pk
        ] * 3
        assert [len(row.listed_themes) for row in rows] == [1, 1, 1]
    with pytest.raises(AttributeError):
        rows[0].not_an_attribute  # noqa: B018 - a missing attribute is still missing


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


def test_home_from_the_cache_reads_only_its_featured_positions(
    client, fragment_cache, theme_with_quote, django_assert_num_queries,
    django_capture_on_commit_callbacks,
):  # fmt: skip
    theme, position = theme_with_quote
    with django_capture_on_commit_callbacks(execute=True):
        Position.objects.filter(pk=position.pk).update(featured=True)
    client.get("/zh-hant/")

    # The forums with their questions and themes, the five counts and which positions lead
    # come from the cache; the featured positions are read (their cards are cached too).
    with django_assert_num_queries(1):
        response = client.get("/zh-hant/")

    context = response.context
    assert context["counts"] == {
        "positions": 1,
        "speakers": 1,
        "institutions": 0,
        "themes": 1,
        "forums": 1,
    }
    assert context["featured_positions"] == [position]
    assert [t for f in context["forums"] for q in f.listed_questions for t in q.listed_themes] == [
        theme
    ]
    assert QUOTE in response.content.decode()


def test_home_forums_come_from_the_fragment_cache_until_an_edit(
    client, fragment_cache, theme_with_quote, django_capture_on_commit_callbacks
):
    theme, _position = theme_with_quote
    client.get("/zh-hant/")
    again = client.get("/zh-hant/")
    with django_capture_on_commit_callbacks(execute=True):
        Theme.objects.filter(pk=theme.pk).update(title="新的主題名稱")
    renamed = client.get("/zh-hant/")

    # The forums (with their questions and themes) were not even read from the values cache.
    assert again.context["forums"]._wrapped is empty
    assert f">{theme.title}</a>" in again.content.decode()
    assert ">新的主題名稱</a>" in renamed.content.decode()
    assert f">{theme.title}</a>" not in renamed.content.decode()
    assert [key for key in fragment_keys() if ":fragment:home-forums:" in key]


def test_after_an_edit_elsewhere_home_forums_are_found_by_their_rows_unbuilt(
    client, fragment_cache, theme_with_quote, django_capture_on_commit_callbacks
):
    theme, _position = theme_with_quote
    first = client.get("/zh-hant/").content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        make_speaker(name="無關的人")  # an edit: a new content generation
    with statements() as run:
        after = client.get("/zh-hant/")

    # The forums, their questions and themes were read (as values) to digest them; no
    # instance was built, and the part is the one kept before the edit.
    forums = after.context["forums"]._wrapped
    assert forums._built is None
    assert [row[0] for row in forums.themes] == [theme.questions.get().pk]
    assert sum("proceedings_question" in sql.split(" WHERE ")[0] for sql in run) >= 1
    assert after.content.decode() == first


def test_home_follows_what_is_featured(
    client, fragment_cache, theme_with_quote, django_capture_on_commit_callbacks
):
    theme, position = theme_with_quote
    before = client.get("/zh-hant/").context["featured_positions"]
    with django_capture_on_commit_callbacks(execute=True):
        Position.objects.filter(pk=position.pk).update(
            featured=True, fidelity=Position.Fidelity.PARAPHRASE
        )
    after = client.get("/zh-hant/").context["featured_positions"]

    assert [before, after] == [[], [position]]


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


# The list pages' counts over every position: (URL name, what the page says of the one person,
# institution, sector, tag and forum the fixture has, as (label, positions)).
LIST_PAGES = {
    "speaker-list": lambda c: [(p.name, p.position_count) for p in c["speakers"]],
    "institution-list": lambda c: [(i.name, i.position_count) for i in c["institution_list"]],
    "sector-list": lambda c: [(s["value"], s["positions"]) for s in c["sectors"] if s["people"]],
    "tag-list": lambda c: [(t.name, t.position_count) for t in c["tag_list"]],
    "forum-list": lambda c: [(f.name, f.position_count) for f in c["forum_list"]],
}


@pytest.fixture
def one_of_each(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        forum = make_forum(published=True, name="浦江創新論壇")
        appearance = make_appearance(
            session=make_session(forum=forum),
            speaker=make_speaker(name="王小明"),
            institution=make_institution(name="復旦大學"),
        )
        make_position(appearance=appearance, tags=["耐心資本"], text=QUOTE)
    return appearance


@pytest.mark.parametrize(
    ("name", "params", "listed", "old", "new"),
    [
        ("speaker-list", {}, "speakers", "王小明", "王大明"),
        ("speaker-list", {"order": "name"}, "speakers", "王小明", "王大明"),
        ("institution-list", {}, "institution_list", "復旦大學", "上海交通大學"),
    ],
)
def test_people_lists_come_from_the_fragment_cache_until_an_edit(
    client, fragment_cache, one_of_each, django_capture_on_commit_callbacks,
    name, params, listed, old, new,
):  # fmt: skip
    url = reverse(f"proceedings:{name}")
    client.get(url, params)
    with statements() as cached:
        again = client.get(url, params)
    model = Speaker if name == "speaker-list" else Institution
    row = one_of_each.speaker if name == "speaker-list" else one_of_each.institution
    with django_capture_on_commit_callbacks(execute=True):
        model.objects.filter(pk=row.pk).update(name=new)
    renamed = client.get(url, params).content.decode()

    # Nobody was read, not even from the values cache: the list is one page part.
    assert again.context[listed]._wrapped is empty
    assert again.context["object_list"]._wrapped is empty
    assert not [sql for sql in cached if "speakers_" in sql]
    assert f">{old}" in again.content.decode()
    assert f">{new}" in renamed
    assert f">{old}" not in renamed


# The lists of everyone, with the parameters of each view of them.
LISTS_OF_EVERYONE = [
    ("speaker-list", {}),
    ("speaker-list", {"order": "name"}),
    ("institution-list", {}),
]


@pytest.mark.parametrize(("name", "params"), LISTS_OF_EVERYONE)
def test_after_a_reworded_quote_the_lists_of_everyone_are_not_read_again(
    client, fragment_cache, one_of_each, django_capture_on_commit_callbacks, name, params
):
    from proceedings import localize

    url = reverse(f"proceedings:{name}")
    first = client.get(url, params).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        # The lists show no quote: rewording one leaves them as they were.
        Position.objects.filter(appearance=one_of_each).update(text="企業是創新的主體")
    with (
        mock.patch.object(localize, "localized", wraps=localize.localized) as names,
        mock.patch.object(localize, "role", wraps=localize.role) as roles,
        statements() as run,
    ):
        again = client.get(url, params).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        Institution.objects.filter(pk=one_of_each.institution_id).update(name="上海交通大學")
    renamed = client.get(url, params).content.decode()

    # Known by their tables' stamp and their roles' tallies: no person, role or institution
    # was read, nor any name or role rendered again.
    assert again == first
    assert (names.call_count, roles.call_count) == (0, 0)
    assert not [sql for sql in run if "speakers_" in sql or 'proceedings_appearance"' in sql]
    assert any('"proceedings_appearancetally"' in sql for sql in run)
    assert "復旦大學" in first
    assert "上海交通大學" in renamed
    assert "復旦大學" not in renamed


@pytest.mark.parametrize(("name", "params"), LISTS_OF_EVERYONE)
def test_the_lists_of_everyone_follow_their_counts_and_are_found_by_rows_after_a_new_person(
    client, fragment_cache, one_of_each, django_capture_on_commit_callbacks, name, params
):
    from proceedings import localize

    url = reverse(f"proceedings:{name}")
    first = client.get(url, params).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        # Someone in no forum yet: the people's table changed, not the list's rows.
        make_speaker(name="無關的人")
    with mock.patch.object(localize, "role", wraps=localize.role) as roles:
        again = client.get(url, params).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        # Another position of the same role: no table of the list written, but its tally.
        make_position(appearance=one_of_each, text="第二條意見")
    two = client.get(url, params).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        Position.objects.filter(appearance=one_of_each).update(status=Status.DRAFT)
    none = client.get(url, params).content.decode()

    def count(page):
        return re.findall(r'<span class="count">([^<]+)</span>', page)

    assert again == first
    assert roles.call_count == 0  # found by its rows, not rendered again
    assert "無關的人" not in again
    # The person's count, or the institution's people and count: "1 人 · 1 則觀點".
    assert [count(page)[-1].rpartition(" · ")[2] for page in (first, two, none)] == [
        "1 則觀點",
        "2 則觀點",
        "0 則觀點",
    ]


@pytest.mark.parametrize(
    ("name", "params", "shown"),
    [
        ("speaker-list", {}, "王小明"),
        ("speaker-list", {"order": "name"}, "王小明"),
        ("institution-list", {}, "復旦大學"),
        ("sector-list", {}, "/zh-hant/sectors/research/"),
        ("compare", {}, 'value="speaker-'),
        ("forum-balance", {}, "1 則觀點"),
        ("forum-list", {}, "浦江創新論壇"),
    ],
)
def test_the_lists_of_everyone_read_only_the_tables_of_their_stamp(
    client, one_of_each, name, params, shown
):
    from proceedings.listing import PEOPLE_TABLES
    from proceedings.models import AppearanceTally, Question, Theme

    # Without the fragment cache: everything the page shows is read.
    with statements() as run:
        args = [one_of_each.session.forum.slug] if name == "forum-balance" else []
        page = client.get(reverse(f"proceedings:{name}", args=args), params)
    read = {table for sql in run for table in re.findall(r'(?:FROM|JOIN)\s+"?(\w+)', sql)}
    stamped = {model._meta.db_table for model in (*PEOPLE_TABLES, AppearanceTally)}
    if name == "forum-list":  # forums_stamp(): with their questions and themes
        stamped |= {Question._meta.db_table, Theme._meta.db_table}

    # Any other table read would be an edit the list's stamp does not see.
    assert shown in page.content.decode()
    assert read <= stamped, read - stamped
    assert "proceedings_appearancetally" in read


def test_people_rows_are_everyone_in_the_order_of_their_roles():
    from proceedings.listing import PeopleRows

    session = make_session(forum=make_forum(published=True))
    people = [make_speaker(name=name) for name in ("甲", "乙", "丙")]
    roles = [make_appearance(session=session, speaker=person) for person in people]
    second_role = make_appearance(
        session=make_session(forum=session.forum, order=5), speaker=people[0], role="顧問"
    )
    # Roles in an order of their own: the people follow their first role.
    order = [roles[2].pk, roles[0].pk, second_role.pk, roles[1].pk]
    queryset = Appearance.objects.filter(pk__in=order).order_by(
        Case(*[When(pk=pk, then=index) for index, pk in enumerate(order)])
    )

    with statements() as run:
        rows = PeopleRows(queryset, {people[0].pk: 3})
    listed = [(p.name, p.position_count, [(r.pk, r.role) for r in p.roles]) for p in rows]

    assert len(run) == 2  # the roles' ids, then their rows with their people's
    assert listed == [
        ("丙", 0, [(roles[2].pk, roles[2].role)]),
        ("甲", 3, [(roles[0].pk, roles[0].role), (second_role.pk, "顧問")]),
        ("乙", 0, [(roles[1].pk, roles[1].role)]),
    ]
    # A count is part of what the list shows, so of its digest; the rows are read as stored.
    assert rows.rows_digest() != PeopleRows(queryset, {people[0].pk: 4}).rows_digest()
    assert rows.rows_digest() == PeopleRows(queryset, {people[0].pk: 3}).rows_digest()


@pytest.mark.parametrize("name", LIST_PAGES)
def test_list_pages_count_once_per_generation(
    client, fragment_cache, one_of_each, django_capture_on_commit_callbacks, name
):
    url = reverse(f"proceedings:{name}")
    shown = LIST_PAGES[name]
    with statements() as counting:
        first = shown(client.get(url).context)
    with statements() as cached:
        again = shown(client.get(url).context)
    with django_capture_on_commit_callbacks(execute=True):
        make_position(appearance=one_of_each, tags=["耐心資本"], text="第二則")
        make_position(appearance=one_of_each, tags=["耐心資本"], published=False)
    after = shown(client.get(url).context)

    label = {
        "speaker-list": "王小明",
        "institution-list": "復旦大學",
        "sector-list": "research",
        "tag-list": "耐心資本",
        "forum-list": "浦江創新論壇",
    }[name]
    assert [first, again, after] == [[(label, 1)], [(label, 1)], [(label, 2)]]
    assert len(cached) < len(counting)


def test_a_sector_page_is_kept_until_an_edit(
    client, fragment_cache, one_of_each, django_capture_on_commit_callbacks
):
    url = reverse("proceedings:sector-detail", args=["research"])
    first = client.get(url)
    with statements() as again:
        second = client.get(url)
    with django_capture_on_commit_callbacks(execute=True):
        make_position(appearance=one_of_each, text="第二則")
    edited = client.get(url).content.decode()

    assert second.content == first.content
    html = first.content.decode()
    assert "復旦大學" in html
    assert "王小明" in html
    assert "1 人 · 1 則觀點" in html
    assert "1 人 · 2 則觀點" in edited
    assert "第二則" in edited
    # Its institutions, people and cards came from the cache: nothing of theirs was read.
    assert not [sql for sql in again if "speakers_" in sql or "proceedings_position" in sql]


def test_after_an_edit_elsewhere_a_sectors_lists_are_kept_by_their_rows(
    client, fragment_cache, one_of_each, django_capture_on_commit_callbacks
):
    from proceedings import localize

    url = reverse("proceedings:sector-detail", args=["research"])
    first = client.get(url).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        make_speaker(name="無關的人")  # an edit elsewhere: a new content generation
    with (
        mock.patch.object(localize, "localized", wraps=localize.localized) as names,
        mock.patch.object(localize, "role", wraps=localize.role) as roles,
    ):
        again = client.get(url).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        Speaker.objects.filter(pk=one_of_each.speaker_id).update(name="王大明")
    renamed = client.get(url).content.decode()

    # The institutions, the people and the card were read and digested, not rendered again.
    assert again == first
    assert (names.call_count, roles.call_count) == (0, 0)
    assert re.search(r'class="person__name"[^>]*>王小明', first)
    assert re.search(r'class="person__name"[^>]*>王大明', renamed)
    assert "王小明" not in renamed


def test_the_lists_of_everyone_share_one_tally_of_the_roles(
    client, fragment_cache, one_of_each, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        # The same person at the same institution again, in a forum not published, and in a
        # published one with a second position.
        for published in (False, True):
            role = make_appearance(
                session=make_session(forum=make_forum(published=published)),
                speaker=one_of_each.speaker,
                institution=one_of_each.institution,
            )
            make_position(appearance=role, text=f"觀點{published}")
    institutions = client.get(reverse("proceedings:institution-list")).context
    with statements() as read:
        sectors = client.get(reverse("proceedings:sector-list")).context
        speakers = client.get(reverse("proceedings:speaker-list")).context
        forums = client.get(reverse("proceedings:forum-list")).context

    assert [
        (i.name, i.people_count, i.position_count) for i in institutions["institution_list"]
    ] == [("復旦大學", 1, 2)]
    assert [
        (s["value"], s["people"], s["positions"]) for s in sectors["sectors"] if s["people"]
    ] == [("research", 1, 2)]
    assert [(p.name, p.position_count) for p in speakers["speakers"]] == [("王小明", 2)]
    # Two published forums, one position of that person in each.
    assert sorted((f.position_count, f.speaker_count) for f in forums["forum_list"]) == [
        (1, 1),
        (1, 1),
    ]
    # The institutions' page counted the roles' positions; the other three read that tally.
    assert not [sql for sql in read if "proceedings_position" in sql]


def test_the_forum_list_is_a_page_part_until_an_edit(
    client, fragment_cache, one_of_each, django_capture_on_commit_callbacks
):
    url = reverse("proceedings:forum-list")
    first = client.get(url)
    with statements() as again_sql:
        again = client.get(url)
    with django_capture_on_commit_callbacks(execute=True):
        make_position(appearance=one_of_each, text="第二個觀點")
    edited = client.get(url)

    assert again.content == first.content
    # Kept: neither counted nor its forums' questions read.
    assert again.context["forum_list"]._wrapped is empty
    assert not [sql for sql in again_sql if "proceedings_question" in sql]
    assert [(f.name, f.position_count) for f in first.context["forum_list"]] == [
        ("浦江創新論壇", 1)
    ]
    assert [(f.name, f.position_count) for f in edited.context["forum_list"]] == [
        ("浦江創新論壇", 2)
    ]


@pytest.mark.parametrize("name", LIST_PAGES)
def test_staff_list_pages_count_their_drafts(
    client, django_user_model, fragment_cache, one_of_each, name
):
    url = reverse(f"proceedings:{name}")
    client.get(url)  # the public's counts, stored
    make_position(appearance=one_of_each, tags=["耐心資本"], published=False)
    client.force_login(django_user_model.objects.create_user("staff", is_staff=True))

    assert LIST_PAGES[name](client.get(url).context)[0][1] == 2


# ---------------------------------------------------------------------------------------------
# The API's positions, each one's JSON kept for one content generation
# ---------------------------------------------------------------------------------------------


def test_api_positions_are_serialized_once_per_generation(
    client, fragment_cache, theme_of_three, django_capture_on_commit_callbacks
):
    _, positions = theme_of_three
    url = reverse("api:position-list", kwargs={"version": "v1"})
    with statements() as serializing:
        first = client.get(url).json()
    with statements() as cached:
        again = client.get(url).json()
    with django_capture_on_commit_callbacks(execute=True):
        Position.objects.filter(pk=positions[1].pk).update(text="新的引文內容")
    serialized = []
    real = PositionSerializer.to_representation

    def to_representation(self, position):
        serialized.append(position.pk)
        return real(self, position)

    with mock.patch.object(PositionSerializer, "to_representation", to_representation):
        edited = client.get(url).json()

    assert again == first
    assert [row["text"] for row in first["results"]] == THREE_QUOTES
    assert [row["speaker"]["name"] for row in first["results"]] == SPEAKERS
    assert [row["text"] for row in edited["results"]] == [
        THREE_QUOTES[0],
        "新的引文內容",
        THREE_QUOTES[2],
    ]
    # The positions' page, then from the cache: the count and every position's JSON.
    assert len(cached) == 1
    assert len(serializing) == len(cached) + 5  # the count, roles, themes, tags, key phrases
    # After the edit, only the edited position is serialized again: the others' JSON is
    # found by their rows' digest (three, and the edited one's), and kept under the new
    # generation too (three a generation).
    assert serialized == [positions[1].pk]
    api_keys = [key for key in fragment_keys() if ":api-position:" in key]
    assert len([key for key in api_keys if ":content:" in key]) == 4
    assert len([key for key in api_keys if ":content:" not in key]) == 6


def test_api_themes_are_serialized_once_per_generation_then_kept_by_their_rows(
    client, fragment_cache, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        forum = make_forum(published=True)
        question = make_question(forum=forum)
        themes = [
            make_theme(forum=forum, questions=[question], title=title, order=n)
            for n, title in enumerate(["誰來融合", "融合什么", "如何融合"])
        ]
    url = reverse("api:theme-list", kwargs={"version": "v1"})
    serialized = []
    real = ThemeSerializer.to_representation

    def to_representation(self, theme):
        serialized.append(theme.pk)
        return real(self, theme)

    with mock.patch.object(ThemeSerializer, "to_representation", to_representation):
        first = client.get(url).json()
        again = client.get(url).json()
        with django_capture_on_commit_callbacks(execute=True):
            Theme.objects.filter(pk=themes[1].pk).update(title="融合什麼")
        edited = client.get(url).json()

    assert again == first
    assert [row["title"] for row in first["results"]] == ["誰來融合", "融合什么", "如何融合"]
    assert [row["title"] for row in edited["results"]] == ["誰來融合", "融合什麼", "如何融合"]
    assert [row["questions"][0]["slug"] for row in edited["results"]] == [question.slug] * 3
    # Each serialized once, then only the edited one: the others found by their rows.
    assert serialized == [theme.pk for theme in themes] + [themes[1].pk]


def test_api_positions_are_kept_apart_per_site_and_language(
    client, settings, fragment_cache, theme_of_three
):
    settings.ALLOWED_HOSTS = ["testserver", "portal.example"]
    _, positions = theme_of_three
    url = reverse("api:position-list", kwargs={"version": "v1"})

    here = client.get(url).json()["results"][0]["url"]
    elsewhere = client.get(url, HTTP_HOST="portal.example").json()["results"][0]["url"]
    english = client.get(url, HTTP_ACCEPT_LANGUAGE="en").json()["results"][0]["url"]

    assert here == f"http://testserver/zh-hant/positions/{positions[0].pk}/"
    assert elsewhere == f"http://portal.example/zh-hant/positions/{positions[0].pk}/"
    assert english == f"http://testserver/en/positions/{positions[0].pk}/"


def test_the_api_lists_only_public_positions_cached_or_not(
    client, django_user_model, fragment_cache, theme_of_three
):
    _, positions = theme_of_three
    make_position(appearance=positions[0].appearance, text="尚未發布的草稿", published=False)
    url = reverse("api:position-list", kwargs={"version": "v1"})

    public = client.get(url).json()["results"]
    client.force_login(django_user_model.objects.create_user("staff", is_staff=True))
    staff = client.get(url).json()["results"]

    assert [row["text"] for row in public] == THREE_QUOTES
    assert staff == public


# ---------------------------------------------------------------------------------------------
# Parts of pages ({% fragment %}) and counts of a list's positions
# ---------------------------------------------------------------------------------------------


def speakers_aside(html):
    (aside,) = re.findall(r'<ul class="people">.*?</ul>', html, re.DOTALL)
    return re.findall(r'class="person__name"[^>]*>([^<]+)', aside)


def test_a_themes_speakers_come_from_the_cache_until_an_edit(
    client, fragment_cache, theme_of_three, django_capture_on_commit_callbacks
):
    theme, positions = theme_of_three
    first = speakers_aside(client.get(theme_url(theme)).content.decode())
    with statements() as cached:
        again = speakers_aside(client.get(theme_url(theme)).content.decode())
    with django_capture_on_commit_callbacks(execute=True):
        Speaker.objects.filter(pk=positions[1].appearance.speaker_id).update(name="李小華")
    renamed = speakers_aside(client.get(theme_url(theme)).content.decode())

    assert [name.strip() for name in first] == SPEAKERS
    assert again == first
    assert [name.strip() for name in renamed] == ["王小明", "李小華", "陳美玲"]
    # Neither the roles' ids nor the roles are read for a cached list.
    assert not any("proceedings_appearance" in sql.split(" FROM ")[1] for sql in cached)
    # One a generation, and for each list of them one by the stamp of the forum's tables
    # and one by the digest of its rows.
    kept = [key for key in fragment_keys() if ":fragment:theme-speakers:" in key]
    assert len([key for key in kept if ":content:" not in key]) == 2
    assert len([key for key in kept if ":content:" in key]) == 4


def test_a_themes_speakers_are_those_of_the_positions_each_reader_sees(
    client, django_user_model, fragment_cache, theme_of_three, django_capture_on_commit_callbacks
):
    # The roles are read by the ids of the visible positions' roles (listing.RoleRows): a
    # person not published has no published position, so the public does not see them.
    theme, positions = theme_of_three
    with django_capture_on_commit_callbacks(execute=True):
        Speaker.objects.filter(pk=positions[1].appearance.speaker_id).update(status=Status.DRAFT)
    public = speakers_aside(client.get(theme_url(theme)).content.decode())
    client.force_login(django_user_model.objects.create_user("staff", is_staff=True))
    response = client.get(theme_url(theme))
    staff = speakers_aside(response.content.decode())

    assert [name.strip() for name in public] == ["王小明", "陳美玲"]
    assert [name.strip() for name in staff] == SPEAKERS
    assert [role.speaker.name for role in response.context["theme_speakers"]] == SPEAKERS


def test_after_an_edit_elsewhere_a_themes_speakers_are_kept_by_their_rows(
    client, fragment_cache, theme_of_three, django_capture_on_commit_callbacks
):
    from proceedings import localize

    theme, _ = theme_of_three
    first = client.get(theme_url(theme)).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        make_speaker(name="無關的人")  # an edit: a new content generation
    with (
        mock.patch.object(localize, "role", wraps=localize.role) as roles,
        statements() as run,
    ):
        again = client.get(theme_url(theme)).content.decode()

    assert again == first
    assert [name.strip() for name in speakers_aside(again)] == SPEAKERS
    # The roles were read to compare them, and no role was rendered: neither the cards (kept
    # by their rows) nor the list of people.
    assert any(' FROM "proceedings_appearance"' in sql for sql in run)
    assert roles.call_count == 0


def test_staff_render_a_themes_speakers_themselves(
    client, django_user_model, fragment_cache, theme_of_three
):
    theme, positions = theme_of_three
    make_position(
        appearance=make_appearance(
            session=positions[0].appearance.session, speaker=make_speaker(name="草稿人")
        ),
        themes=[theme],
        published=False,
        order=9,
    )
    client.get(theme_url(theme))  # the public's list, stored
    client.force_login(django_user_model.objects.create_user("staff", is_staff=True))

    staff = speakers_aside(client.get(theme_url(theme)).content.decode())

    assert [name.strip() for name in staff] == [*SPEAKERS, "草稿人"]


def test_a_themes_count_of_positions_follows_the_content(
    client, fragment_cache, theme_of_three, django_capture_on_commit_callbacks
):
    theme, positions = theme_of_three
    before = client.get(theme_url(theme)).context["page_obj"].paginator.count
    again = client.get(theme_url(theme)).context["page_obj"].paginator.count
    with django_capture_on_commit_callbacks(execute=True):
        make_position(appearance=positions[0].appearance, themes=[theme], text="第四則")
    after = client.get(theme_url(theme)).context["page_obj"].paginator.count

    assert [before, again, after] == [3, 3, 4]


def test_a_theme_is_read_once_per_generation(
    client, fragment_cache, theme_of_three, django_capture_on_commit_callbacks
):
    theme, positions = theme_of_three
    client.get(theme_url(theme))
    with statements() as cached:
        again = client.get(theme_url(theme))
    with django_capture_on_commit_callbacks(execute=True):
        Theme.objects.filter(pk=theme.pk).update(title="改過的主題")
    renamed = client.get(theme_url(theme))

    # Neither the theme, its questions and its children nor its cards' rows are read again.
    assert cached == []
    assert again.context["theme"] == theme
    assert [q.pk for q in again.context["theme"].questions.all()] == [
        q.pk for q in theme.questions.all()
    ]
    assert "<h1>改過的主題</h1>" in renamed.content.decode()


def test_a_themes_cards_are_a_page_part_per_page_until_an_edit(
    client, fragment_cache, theme_of_three, django_capture_on_commit_callbacks, monkeypatch
):
    monkeypatch.setattr("proceedings.views.POSITION_PAGE_SIZE", 2)
    theme, positions = theme_of_three
    first, second = client.get(theme_url(theme)), client.get(theme_url(theme), {"page": 2})
    again = client.get(theme_url(theme))
    kept = [key for key in fragment_keys() if ":fragment:theme-cards:" in key]
    by_rows = [key for key in kept if ":content:" in key]
    with django_capture_on_commit_callbacks(execute=True):
        Position.objects.filter(pk=positions[0].pk).update(text="耐心資本要投早投小")
    edited = client.get(theme_url(theme)).content.decode()

    # Two parts, one a page, each kept under the generation, by the stamps of its forum's
    # tables and positions, and by its rows; the kept one reads no row (the list stays
    # unread).
    assert (len(kept), len(by_rows)) == (6, 4)
    assert again.context["positions"]._wrapped is empty
    assert again.content == first.content
    assert THREE_QUOTES[1] in first.content.decode()
    assert THREE_QUOTES[2] in second.content.decode()
    assert THREE_QUOTES[2] not in first.content.decode()
    assert "耐心資本</mark>要投早投小" in edited


@pytest.fixture
def institution_and_tag(django_capture_on_commit_callbacks):
    """Three published positions of people of one institution, each tagged 產業創新."""
    with django_capture_on_commit_callbacks(execute=True):
        institution = make_institution(name="上海交通大學", sector="academia")
        session = make_session(forum=make_forum(published=True))
        positions = [
            make_position(
                appearance=make_appearance(
                    session=session, speaker=make_speaker(name=name), institution=institution
                ),
                tags=["產業創新"],
                text=quote,
                order=n,
            )
            for n, (name, quote) in enumerate(zip(SPEAKERS, THREE_QUOTES, strict=True))
        ]
    return institution, positions


@pytest.mark.parametrize("page", ["institution", "tag"])
def test_an_institutions_and_a_tags_cards_are_a_page_part_per_page_until_an_edit(
    client,
    fragment_cache,
    institution_and_tag,
    django_capture_on_commit_callbacks,
    page,
    monkeypatch,
):
    monkeypatch.setattr("proceedings.views.POSITION_PAGE_SIZE", 2)
    institution, positions = institution_and_tag
    if page == "institution":
        url = reverse("proceedings:institution-detail", args=[institution.slug])
    else:
        url = reverse("proceedings:tag-detail", args=["產業創新"])
    first, second = client.get(url), client.get(url, {"page": 2})
    with statements() as again_sql:
        again = client.get(url)
    kept = [key for key in fragment_keys() if f":fragment:{page}-cards:" in key]
    by_rows = [key for key in kept if ":content:" in key]
    with django_capture_on_commit_callbacks(execute=True):
        Position.objects.filter(pk=positions[0].pk).update(text="耐心資本要投早投小")
    edited = client.get(url).content.decode()

    # Two parts, one a page, each kept under the generation and by its rows, an
    # institution's also by the stamps of its forums' tables and positions; the kept one
    # reads no row (the list stays unread).
    assert (len(kept), len(by_rows)) == ((6, 4) if page == "institution" else (4, 2))
    assert again.context["positions"]._wrapped is empty
    assert again.content == first.content
    assert not [sql for sql in again_sql if "proceedings_position" in sql]
    # In reading order: the first two quotes on the first page, the third on the second.
    assert [q in first.content.decode() for q in THREE_QUOTES] == [True, True, False]
    assert THREE_QUOTES[2] in second.content.decode()
    assert "耐心資本要投早投小" in edited
    assert THREE_QUOTES[0] not in edited


def test_a_tag_that_only_drafts_carry_is_not_found_with_the_cache_on(
    client, fragment_cache, institution_and_tag
):
    _, positions = institution_and_tag
    make_position(appearance=positions[0].appearance, tags=["草稿標籤"], published=False)

    assert client.get(reverse("proceedings:tag-detail", args=["草稿標籤"])).status_code == 404
    assert client.get(reverse("proceedings:tag-detail", args=["草稿標籤"])).status_code == 404


def test_staff_read_the_theme_each_time(client, django_user_model, fragment_cache, theme_of_three):
    theme, _positions = theme_of_three
    client.force_login(django_user_model.objects.create_user("staff", is_staff=True))
    client.get(theme_url(theme))
    with statements() as again:
        client.get(theme_url(theme))

    assert [sql for sql in again if 'FROM "proceedings_theme"' in sql]


def test_a_speakers_positions_come_from_the_cache_until_an_edit(
    client, fragment_cache, theme_with_quote, django_capture_on_commit_callbacks
):
    _, position = theme_with_quote
    url = position.appearance.speaker.get_absolute_url()
    first = client.get(url).content.decode()
    with statements() as cached:
        again = client.get(url).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        Position.objects.filter(pk=position.pk).update(text="新的引文內容")
    edited = client.get(url).content.decode()

    assert again == first
    assert QUOTE in first
    assert "新的引文內容" in edited
    assert QUOTE not in edited
    # Nothing: the person with their roles and links is kept per generation, and no
    # position is read for the cached part.
    assert cached == []


def test_a_position_under_several_themes_is_one_card_looked_up_once(
    client, fragment_cache, django_capture_on_commit_callbacks
):
    # A person's page lists a position under each of its themes, each with an id of its own;
    # the card is kept once for all of them, so after an edit the page's cards are looked up
    # in two calls (this generation's, then by their rows) however many themes they span.
    with django_capture_on_commit_callbacks(execute=True):
        forum = make_forum(published=True)
        themes = [make_theme(forum=forum, slug=f"t{n}", order=n) for n in range(3)]
        speaker = make_speaker(name="王小明")
        appearance = make_appearance(session=make_session(forum=forum), speaker=speaker)
        both = make_position(appearance=appearance, themes=themes[:2], text=QUOTE, order=0)
        one = make_position(appearance=appearance, themes=themes[2:], text="第二句引文", order=1)
    url = speaker.get_absolute_url()
    with rendered_cards() as rendered:
        first = client.get(url).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        make_speaker(name="無關的人")  # an edit: a new content generation
    forget_card_sections("speaker-positions")  # or the part is found by its rows
    backend = caches["default"]
    with (
        rendered_cards() as rendered_again,
        mock.patch.object(backend, "get_many", wraps=backend.get_many) as get_many,
    ):
        again = client.get(url).content.decode()

    ids = re.findall(r'<article class="position [^"]*" id="([^"]+)"', first)
    assert ids == [f"position-{both.pk}-t0", f"position-{both.pk}-t1", f"position-{one.pk}-t2"]
    assert rendered == [both.pk, one.pk]
    assert again == first
    assert rendered_again == []
    card_calls = [call.args[0] for call in get_many.call_args_list]
    card_calls = [keys for keys in card_calls if any(":card:" in key for key in keys)]
    assert len(card_calls) == 2
    assert [len(keys) for keys in card_calls] == [2, 2]


def test_a_renamed_role_shows_on_the_speakers_page(
    client, fragment_cache, theme_with_quote, django_capture_on_commit_callbacks
):
    _, position = theme_with_quote
    url = position.appearance.speaker.get_absolute_url()
    first = client.get(url).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        Appearance.objects.filter(pk=position.appearance_id).update(role="榮譽院長")
    renamed = client.get(url)

    assert "首席經濟學家" in first
    assert "榮譽院長" in renamed.content.decode()
    assert "首席經濟學家" not in renamed.content.decode()
    assert [a.role for a in renamed.context["appearances"]] == ["榮譽院長"]


def test_staff_read_the_speaker_each_time(
    client, django_user_model, fragment_cache, theme_with_quote
):
    _, position = theme_with_quote
    client.force_login(django_user_model.objects.create_user("staff", is_staff=True))
    client.get(position.appearance.speaker.get_absolute_url())
    with statements() as again:
        client.get(position.appearance.speaker.get_absolute_url())

    assert [sql for sql in again if 'FROM "speakers_speaker"' in sql]
    assert [sql for sql in again if 'FROM "proceedings_appearance"' in sql]


# ---------------------------------------------------------------------------------------------
# A release never reads what the previous one stored
# ---------------------------------------------------------------------------------------------


def test_the_code_digest_follows_names_and_contents(tmp_path):
    (tmp_path / "templates").mkdir()
    card_template = tmp_path / "templates" / "card.html"
    card_template.write_text("<article>{{ position }}</article>")
    (tmp_path / "notes.md").write_text("not code")

    def digest():
        return code_digest(tmp_path, sorted(tmp_path.rglob("*")))

    first = digest()
    (tmp_path / "notes.md").write_text("still not code")
    unchanged = digest()
    card_template.write_text("<article class=card>{{ position }}</article>")
    edited = digest()
    card_template.rename(tmp_path / "templates" / "other.html")
    renamed = digest()

    assert first == unchanged
    assert len({first, edited, renamed}) == 3


def test_a_new_release_renders_its_own_cards_and_values(client, fragment_cache, theme_with_quote):
    theme, _ = theme_with_quote
    client.get(theme_url(theme))
    client.get("/zh-hant/")
    with mock.patch("forum_portal.cache.code_version", return_value="next-release"):
        with statements() as next_release:
            html = client.get("/zh-hant/").content.decode()
        client.get(theme_url(theme))

    versions = {key.split(":")[4] for key in fragment_keys()}
    assert versions == {code_version(), "next-release"}
    assert len(card_keys()) == 2
    # Home's counts and forums were computed again, not read from the other release's.
    assert any("COUNT(" in sql for sql in next_release)
    assert theme.title in html  # the quoted theme, from the forums computed again


# ---------------------------------------------------------------------------------------------
# Search: the page's positions and the facets' labels kept per generation
# ---------------------------------------------------------------------------------------------


def search_url(query):
    with translation.override("zh-hant"):
        return reverse("proceedings:search") + f"?q={query}"


def test_searching_again_is_a_page_part_until_an_edit(
    client, fragment_cache, theme_of_three, django_capture_on_commit_callbacks
):
    _, positions = theme_of_three
    first = client.get(search_url("主體")).content.decode()
    with statements() as again:
        second = client.get(search_url("主體")).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        Speaker.objects.filter(pk=positions[1].appearance.speaker_id).update(name="李小華")
    renamed = client.get(search_url("主體"))

    assert second == first
    assert "李大華" in second
    # Only counting the search (and its transaction): no candidates, position, role, key
    # phrase or label.
    counting = ("searchquerystat", "SAVEPOINT", "BEGIN", "SET LOCAL synchronous_commit")
    assert [sql for sql in again if "searchquerystat" in sql.lower()]
    assert [sql for sql in again if not any(word in sql for word in counting)] == []
    assert [hit.position.pk for hit in renamed.context["hits"]] == [positions[1].pk]
    assert renamed.context["hits"][0].position.appearance.speaker.name == "李小華"
    assert [v.label for v in renamed.context["result"].facets["speaker"]] == ["李小華"]


def test_a_kept_search_is_still_counted(client, fragment_cache, theme_of_three):
    for _ in range(3):
        client.get(search_url("主體"))

    stat = SearchQueryStat.objects.get()
    assert (stat.query, stat.searches, stat.result_count) == ("主體", 3, 1)


def test_searching_again_in_another_language_or_order_is_another_part(
    client, fragment_cache, theme_of_three
):
    client.get(search_url("主體"))
    with translation.override("en"):
        english = client.get(reverse("proceedings:search") + "?q=主體")
    by_date = client.get(search_url("主體") + "&sort=date")

    assert "Matched in" in english.content.decode()
    # Each rendered, not kept.
    assert english.context["hits"]
    assert by_date.context["hits"]
    assert len([key for key in cache._cache if ":search-results:" in key]) == 3


def test_staff_search_reads_its_rows_each_time(
    client, django_user_model, fragment_cache, theme_of_three
):
    client.force_login(django_user_model.objects.create_user("staff", is_staff=True))
    client.get(search_url("主體"))
    with statements() as again:
        response = client.get(search_url("主體"))

    assert [hit.position.text for hit in response.context["hits"]] == [THREE_QUOTES[1]]
    assert any("proceedings_keyphrase" in sql for sql in again)
    assert not [key for key in cache._cache if ":listed-rows:" in key]


def test_a_permalink_from_the_cache_reads_nothing(
    client, fragment_cache, theme_of_three, django_capture_on_commit_callbacks
):
    _, positions = theme_of_three
    url = positions[0].get_absolute_url()
    first = client.get(url)
    with statements() as again:
        second = client.get(url)
    with django_capture_on_commit_callbacks(execute=True):
        Position.objects.filter(pk=positions[0].pk).update(text="耐心資本要投早投小")
    with statements() as after_edit:
        edited = client.get(url)

    assert second.context["position"] == positions[0]
    assert [p.pk for p in first.context["related_positions"]] == [
        positions[1].pk,
        positions[2].pk,
    ]
    assert again == []  # the position, its related ids and every part of the page: kept
    assert without_token(second.content.decode()) == without_token(first.content.decode())
    assert "耐心資本</mark>要投早投小" in edited.content.decode()
    # After the edit the related part is read again, and kept by its rows' digest: the same.
    assert any("proceedings_position" in sql for sql in after_edit)
    assert related_part(edited) == related_part(first)
    assert THREE_QUOTES[1] in related_part(first)


def test_a_permalinks_related_part_follows_edits_to_its_rows(
    client, fragment_cache, theme_of_three, django_capture_on_commit_callbacks
):
    _, positions = theme_of_three
    url = positions[0].get_absolute_url()
    client.get(url)
    with django_capture_on_commit_callbacks(execute=True):
        Position.objects.filter(pk=positions[2].pk).update(text="耐心資本要投早投小")
    related_edited = related_part(client.get(url))
    with django_capture_on_commit_callbacks(execute=True):
        Position.objects.filter(pk=positions[0].pk).update(
            translation="Patient capital", translation_reviewed_by="Li Hua"
        )
    note = client.get(url).content.decode()

    assert "耐心資本要投早投小" in related_edited
    assert THREE_QUOTES[2] not in related_edited
    # The translation note below the related cards covers the position itself.
    assert "Li Hua" in note.split('id="related-heading"')[1]


def related_part(response):
    """The permalink's "Other speakers on the same themes" section."""
    html = response.content.decode()
    return html[html.index('<section class="section" aria-labelledby="related-heading">') :]


def read_kept_then_drafted(client, url, position, capture_on_commit):
    """Return the page at ``url``: read, read again (with that request's statements), and read
    after ``position`` became a draft (the edit committed)."""
    first = client.get(url)
    with statements() as again:
        second = client.get(url)
    with capture_on_commit(execute=True):
        Position.objects.filter(pk=position.pk).update(status=Status.DRAFT)
    return first, second, again, client.get(url)


def test_a_forum_page_is_kept_and_counts_its_themes_again_after_an_edit(
    client, fragment_cache, theme_of_three, django_capture_on_commit_callbacks
):
    theme, positions = theme_of_three
    url = theme.forum.get_absolute_url()
    first, second, again, edited = read_kept_then_drafted(
        client, url, positions[2], django_capture_on_commit_callbacks
    )
    first, second, edited = (page.content.decode() for page in (first, second, edited))

    assert second == first
    assert '<span class="count">3 則觀點</span>' in first
    assert '<span class="count">2 則觀點</span>' in edited
    # The forum's row and its sessions (for its JSON-LD): the body came from the cache.
    assert not [
        sql for sql in again if "proceedings_theme" in sql or "proceedings_appearance" in sql
    ]


def test_a_question_page_keeps_its_themes_until_an_edit(
    client, fragment_cache, theme_of_three, django_capture_on_commit_callbacks
):
    theme, positions = theme_of_three
    url = theme.questions.get().get_absolute_url()
    first, second, again, edited = read_kept_then_drafted(
        client, url, positions[2], django_capture_on_commit_callbacks
    )
    first, second, edited = (page.content.decode() for page in (first, second, edited))

    assert second == first
    # (The first quote's key phrase is marked up inside it.)
    assert [quote in first for quote in THREE_QUOTES[1:]] == [True, True]
    assert [quote in edited for quote in THREE_QUOTES[1:]] == [True, False]
    assert not [sql for sql in again if "proceedings_theme" in sql or "proceedings_position" in sql]


@pytest.mark.parametrize("page", ["session", "source"])
def test_a_session_and_a_report_keep_their_positions_until_an_edit(
    client, fragment_cache, pujiang, page
):
    position = Position.objects.get(ref="liu-dongmei-enterprise-market-insight")
    session = position.appearance.session
    url = (session if page == "session" else position.source).get_absolute_url()
    name = "劉冬梅"
    first = client.get(url).content.decode()
    with statements() as again:
        second = client.get(url).content.decode()
    Position.objects.filter(appearance__speaker=position.appearance.speaker).update(
        status=Status.DRAFT
    )
    # What the edit's commit runs: the fixture's import left that callback pending on the
    # test's transaction, which never commits.
    bump_generation()
    edited = client.get(url).content.decode()

    assert second == first
    assert position.get_absolute_url() in first
    assert position.get_absolute_url() not in edited
    assert name in first
    # Only the page's own row was read (a report's is found through its public positions).
    assert not [sql for sql in again if '"proceedings_position"' in sql.split(" WHERE ")[0]]


def test_after_an_edit_elsewhere_a_reports_text_is_kept_by_its_rows(
    client, fragment_cache, pujiang
):
    from proceedings import views

    position = Position.objects.get(ref="liu-dongmei-enterprise-market-insight")
    url = position.source.get_absolute_url()
    first = client.get(url).content.decode()
    make_speaker(name="無關的人")  # an edit elsewhere
    bump_generation()  # what its commit runs (the fixture leaves the test's transaction open)
    with mock.patch.object(
        views, "highlight_quotations", wraps=views.highlight_quotations
    ) as highlighting:
        again = client.get(url).content.decode()
    Speaker.objects.filter(pk=position.appearance.speaker_id).update(name="劉冬梅博士")
    bump_generation()
    renamed = client.get(url).content.decode()

    # The citing positions were read as values and digested; no paragraph was marked again.
    assert again == first
    assert highlighting.call_count == 0
    link = f'<a href="{position.get_absolute_url()}">'
    assert f"{link}劉冬梅 · " in first
    assert f"{link}劉冬梅博士 · " in renamed


def test_the_forum_list_is_kept_across_a_corrected_quote_and_counts_a_new_theme(
    client, fragment_cache, one_of_each, django_capture_on_commit_callbacks
):
    url = reverse("proceedings:forum-list")
    forum = one_of_each.session.forum
    first = client.get(url).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        Position.objects.filter(appearance=one_of_each).update(translation="Corrected.")
    with statements() as run:
        again = client.get(url).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        make_theme(forum=forum)
    more = client.get(url).content.decode()

    def counts(page):
        return re.findall(r"<dd>(\d+)</dd>", page)

    assert again == first
    assert not [sql for sql in run if '"proceedings_theme"' in sql or "question" in sql]
    assert counts(first) == ["1", "1", "0"]  # positions, speakers, themes
    assert counts(more) == ["1", "1", "1"]


def test_the_compare_forms_people_are_not_read_after_an_edit_that_changes_no_tally(
    client, fragment_cache, one_of_each, django_capture_on_commit_callbacks
):
    url = reverse("proceedings:compare")
    first = client.get(url).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        Position.objects.filter(appearance=one_of_each).update(translation="Corrected.")
    with statements() as run:
        again = client.get(url).content.decode()

    assert again == first
    assert 'value="speaker-' in first
    assert not [sql for sql in run if '"speakers_speaker"' in sql]


def test_a_forums_balance_is_kept_across_edits_that_change_no_tally(
    client, fragment_cache, theme_of_three, django_capture_on_commit_callbacks
):
    from proceedings import analysis_views

    theme, positions = theme_of_three
    url = reverse("proceedings:forum-balance", args=[theme.forum.slug])
    first = client.get(url).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        Position.objects.filter(pk=positions[0].pk).update(translation="Corrected.")
    with mock.patch.object(
        analysis_views, "forum_voice_balance", wraps=analysis_views.forum_voice_balance
    ) as counted:
        again = client.get(url).content.decode()

    assert again == first
    assert counted.call_count == 0
    assert "3 則觀點" in first


@pytest.mark.parametrize("name", ["forum-matrix", "forum-balance", "theme-balance"])
def test_a_forums_analyses_are_kept_until_an_edit(
    client, fragment_cache, theme_of_three, django_capture_on_commit_callbacks, name
):
    theme, positions = theme_of_three
    args = [theme.forum.slug] + ([theme.slug] if name == "theme-balance" else [])
    url = reverse(f"proceedings:{name}", args=args)
    first, second, again, edited = read_kept_then_drafted(
        client, url, positions[2], django_capture_on_commit_callbacks
    )
    edited = edited.content.decode()

    assert second.content == first.content
    assert not [sql for sql in again if '"proceedings_position"' in sql.split(" WHERE ")[0]]
    if name == "forum-matrix":
        # The third speaker's position, shortened in its cell, is gone; the speaker stays.
        assert THREE_QUOTES[2][:10] in first.content.decode()
        assert THREE_QUOTES[2][:10] not in edited
        assert SPEAKERS[2] in edited
    else:
        assert first.context["balance"].total_positions == 3
        assert "3 則觀點" in first.content.decode()
        assert "2 則觀點" in edited


def test_a_permalinks_text_and_citations_are_page_parts_of_the_day(
    client, fragment_cache, theme_of_three, django_capture_on_commit_callbacks
):
    _, positions = theme_of_three
    url = positions[0].get_absolute_url()
    first = client.get(url).content.decode()
    with mock.patch("proceedings.templatetags.sharing.citations") as citing:
        again = client.get(url).content.decode()
    today = timezone.localdate()
    tomorrow = today + datetime.timedelta(days=1)
    with mock.patch("django.utils.timezone.localdate", return_value=tomorrow):
        next_day = client.get(url).content.decode()

    assert not citing.called  # the citations came with their part of the page
    assert without_token(again) == without_token(first)
    assert f"[{today.isoformat()}]" in first  # GB/T 7714's day read
    assert f"[{tomorrow.isoformat()}]" in next_day
    assert len([key for key in fragment_keys() if ":fragment:position-cite:" in key]) == 2
    # The report form is never kept: each reader gets a token of their own.
    assert 'name="csrfmiddlewaretoken"' in again
    kept = [cache.get(key.removeprefix(":1:")) for key in fragment_keys()]
    assert kept
    assert not [html for html in kept if "csrfmiddlewaretoken" in html]


def without_token(html):
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", html)


@pytest.mark.parametrize("status", [Status.DRAFT, Status.WITHDRAWN])
def test_a_permalink_that_is_not_public_is_never_kept(
    client, fragment_cache, theme_of_three, django_capture_on_commit_callbacks, status
):
    _, positions = theme_of_three
    with django_capture_on_commit_callbacks(execute=True):
        Position.objects.filter(pk=positions[0].pk).update(status=status)

    answers = [client.get(positions[0].get_absolute_url()).status_code for _ in range(2)]

    assert answers == [404, 404] if status == Status.DRAFT else [410, 410]
    assert not [key for key in cache._cache if ":listed-rows:" in key]


def test_listed_positions_are_kept_as_values_and_built_as_for_listing_reads_them(
    rf, fragment_cache, theme_of_three, django_assert_num_queries
):
    from django.contrib.auth.models import AnonymousUser
    from django.db.models import Model

    from forum_portal.cache import content_digest
    from proceedings.models import listed_positions

    _, positions = theme_of_three
    ids = [position.pk for position in positions]
    request = rf.get("/")
    request.user = AnonymousUser()
    # The positions, then ListingRows' statements but the sources' (no position has one).
    with django_assert_num_queries(5):
        first = listed_positions(request, ids)
    with django_assert_num_queries(0):
        again = listed_positions(request, ids)
    read = Position.objects.for_listing().in_bulk(ids)

    # Built from the kept values, each is what for_listing() reads, all its rows included.
    for found in (first, again):
        assert [content_digest(found[pk]) for pk in ids] == [content_digest(read[pk]) for pk in ids]
    assert [phrase.text for phrase in again[ids[0]].listed_key_phrases] == ["耐心資本"]
    # Kept as plain values: no model instance in what the cache holds.
    (key,) = [key for key in cache._cache if f":listed-rows:{ids[0]}" in key]
    kept = cache.get(key.split(":", 2)[2])  # the key without the backend's prefix, version
    found = []

    def walk(value):
        if isinstance(value, Model):
            found.append(value)
        elif isinstance(value, (tuple, list)):
            for item in value:
                walk(item)

    walk(kept)
    assert found == []
    assert kept[0][0] == ids[0]  # the position's own row, its key first


def test_facet_labels_are_read_from_the_process_after_the_first_search(
    client, fragment_cache, theme_of_three
):
    client.get(search_url("主體"))
    with mock.patch.object(cache, "get_many", wraps=cache.get_many) as get_many:
        # Another search (its results are another part) that lists the same labels.
        response = client.get(search_url("主體") + "&sort=date")

    asked = [key for call in get_many.call_args_list for key in call.args[0]]
    assert [v.label for v in response.context["result"].facets["speaker"]] == ["李大華"]
    assert not [key for key in asked if ":facet-label:" in key]
    assert [key for key in asked if ":listed-rows:" in key]  # rows: from the cache


def test_local_values_forget_another_generation_and_keep_to_their_limit():
    from forum_portal.cache import LocalValues

    local = LocalValues(limit=4)
    local.set_many("values:1:abc:label:", {"a": 1, "b": 2, "c": 3})
    assert local.get_many("values:1:abc:label:", ["a", "c", "z"]) == {"a": 1, "c": 3}
    assert local.get_many("values:1:abc:other:", ["a"]) == {}
    local.set_many("values:1:abc:label:", {"d": 4, "e": 5})  # past the limit: the oldest go
    assert local.get_many("values:1:abc:label:", ["a", "b", "c", "d", "e"]) == {"d": 4, "e": 5}
    assert local.get_many("values:2:abc:label:", ["d", "e"]) == {}  # an edit: all forgotten
    local.set_many("values:2:abc:label:", {"d": 40})
    assert local.get_many("values:1:abc:label:", ["d"]) == {}
    assert local.get_many("values:2:def:label:", ["d"]) == {}  # a new release, the same


def candidates_statements(run):
    """The statements of ``run`` that read the positions' search documents."""
    table = PositionSearchDocument._meta.db_table
    return [
        sql for sql in run if table in sql and sql.lstrip().upper().startswith(("SELECT", "WITH"))
    ]


def test_searching_again_reuses_the_candidates_until_an_edit(
    client, fragment_cache, theme_of_three, django_capture_on_commit_callbacks
):
    theme, positions = theme_of_three
    with statements() as first:
        client.get(search_url("主體"))
    with statements() as again:
        # The second page: another part of the page, the same candidates.
        response = client.get(search_url("主體") + "&page=2")
    with statements() as filtered:
        narrowed = client.get(search_url("主體") + "&tag=耐心資本")
    with django_capture_on_commit_callbacks(execute=True):
        added = make_position(
            appearance=positions[0].appearance, themes=[theme], text="企業是主體", order=9
        )
    after_edit = client.get(search_url("主體"))

    assert len(candidates_statements(first)) == 1
    assert candidates_statements(again) == []
    assert len(candidates_statements(filtered)) == 1  # other specs: other candidates
    assert [hit.position.pk for hit in response.context["hits"]] == [positions[1].pk]
    assert narrowed.context["result"].total == 0
    assert [hit.position.pk for hit in after_edit.context["hits"]] == [added.pk, positions[1].pk]


def test_narrowing_a_search_reuses_its_results_to_count_the_filter(
    client, fragment_cache, theme_of_three, django_capture_on_commit_callbacks
):
    from proceedings.search import search
    from proceedings.search.backends import get_backend

    theme, positions = theme_of_three
    with django_capture_on_commit_callbacks(execute=True):
        both = make_position(
            appearance=positions[0].appearance,
            themes=[theme],
            tags=["耐心資本"],
            text="耐心資本是創新的主體",
            order=5,
        )
    speaker = positions[1].appearance.speaker.slug
    backend = type(get_backend(connection))
    with mock.patch.object(backend, "fetch", autospec=True, side_effect=backend.fetch) as fetch:
        client.get(search_url("主體"))
        narrowed = client.get(search_url("主體") + "&tag=耐心資本")
        twice = client.get(search_url("主體") + f"&tag=耐心資本&speaker={speaker}")
        client.get(search_url("主體") + "&tag=耐心資本&page=2")  # another part, every set kept

    # Sets fetched: the first search's results; the narrowed results (the tags are counted
    # from the first search's); the results, and the tags counted with the speaker's filter
    # (the speakers are counted from the previous search's results); none for another page.
    assert [len(specs) for _backend, specs in (call.args for call in fetch.call_args_list)] == [
        1,
        1,
        2,
    ]
    assert [hit.position.pk for hit in narrowed.context["hits"]] == [both.pk]
    assert twice.context["result"].total == 0
    for response, filters in [
        (narrowed, {"tag": "耐心資本"}),
        (twice, {"tag": "耐心資本", "speaker": speaker}),
    ]:
        with translation.override("zh-hant"):
            fresh = search("主體", filters)  # no request: nothing kept
        kept = response.context["result"]
        assert kept.total == fresh.total
        assert {
            name: [(v.value, v.count, v.selected) for v in values]
            for name, values in kept.facets.items()
        } == {
            name: [(v.value, v.count, v.selected) for v in values]
            for name, values in fresh.facets.items()
        }
    assert [(v.label, v.count) for v in narrowed.context["result"].facets["tag"]] == [
        ("產業創新", 1),
        ("耐心資本", 1),
    ]


def test_staff_search_runs_the_candidates_each_time(
    client, django_user_model, fragment_cache, theme_of_three
):
    client.force_login(django_user_model.objects.create_user("staff", is_staff=True))
    client.get(search_url("主體"))
    with statements() as again:
        client.get(search_url("主體"))

    assert len(candidates_statements(again)) == 1
    assert not [key for key in cache._cache if ":candidates:" in key]


def test_searching_again_reuses_the_other_records_until_an_edit(
    client, fragment_cache, theme_of_three, django_capture_on_commit_callbacks
):
    theme, _positions = theme_of_three
    table = RecordSearchDocument._meta.db_table
    with statements() as first:
        client.get(search_url("主體"))
    with statements() as again:
        client.get(search_url("主體"))
    with django_capture_on_commit_callbacks(execute=True):
        make_theme(forum=theme.forum, title="企業主體")
    after_edit = client.get(search_url("主體"))

    assert len([sql for sql in first if table in sql]) == 1
    assert not [sql for sql in again if table in sql]
    assert [
        shown.hit.obj.title
        for _g, _l, shown_records, _c, _u in after_edit.context["record_sections"]
        for shown in shown_records
    ] == ["企業主體"]


def test_after_an_edit_elsewhere_homes_forums_are_kept_by_their_rows(
    client, fragment_cache, theme_with_quote, django_capture_on_commit_callbacks
):
    theme, _ = theme_with_quote
    first = client.get("/zh-hant/")
    with django_capture_on_commit_callbacks(execute=True):
        make_speaker(name="無關的人")  # an edit: a new content generation
    again = client.get("/zh-hant/")
    with django_capture_on_commit_callbacks(execute=True):
        Theme.objects.filter(pk=theme.pk).update(title="改過的主題")
    renamed = client.get("/zh-hant/")

    header = "includes/_forum_card_header.html"
    assert [header in [t.name for t in r.templates] for r in (first, again, renamed)] == [
        True,
        False,  # the forums read and digested, the part found by their rows
        True,
    ]
    assert again.content == first.content
    assert "改過的主題" in renamed.content.decode()
    assert theme.title not in renamed.content.decode()


def test_homes_link_to_all_forums_follows_their_count(
    client, fragment_cache, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        for year in range(2020, 2026):
            make_forum(edition_year=year)
    six = client.get("/zh-hant/").content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        make_forum(edition_year=2001)  # older than the five shown: their rows are the same
    seven = client.get("/zh-hant/").content.decode()

    assert re.findall(r'class="all-forums"><a [^>]*>([^<]+)', six) == ["全部 6 個論壇"]
    assert re.findall(r'class="all-forums"><a [^>]*>([^<]+)', seven) == ["全部 7 個論壇"]


def test_a_part_kept_by_rows_digests_what_they_fetch_on_demand(
    rf, fragment_cache, theme_of_three, django_capture_on_commit_callbacks
):
    _, positions = theme_of_three
    part = Template(
        '{% load portal %}{% fragment "speakers-of-rows" rows=rows %}'
        "{% for row in rows %}{{ row.appearance.speaker.name }};{% endfor %}{% endfragment %}"
    )

    def render():
        rows = list(Position.objects.for_listing().prefetch_on_demand().order_by("order"))
        return part.render(Context({"request": rf.get("/"), "rows": rows}))

    first = render()
    with django_capture_on_commit_callbacks(execute=True):
        Speaker.objects.filter(pk=positions[1].appearance.speaker_id).update(name="李小華")

    # The rename moved the generation on; the rows' digest saw their people, so the part is
    # rendered again rather than found by rows that only look the same.
    assert first == "王小明;李大華;陳美玲;"
    assert render() == "王小明;李小華;陳美玲;"


def test_the_sitemap_index_counts_its_sections_once_a_generation(
    client, fragment_cache, theme_of_three, django_capture_on_commit_callbacks
):
    _theme, positions = theme_of_three
    url = reverse("sitemap")
    first = client.get(url).content.decode()
    with statements() as again:
        second = client.get(url).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        Position.objects.filter(pk__in=[p.pk for p in positions]).update(status=Status.DRAFT)
    edited = client.get(url).content.decode()

    assert second == first
    assert again == []
    assert "/sitemap-positions.xml" in first  # a page, by the positions' ids
    assert "/sitemap-tags.xml</loc>" in first
    # No published position left: nor the positions' section, nor any tag's page.
    assert "/sitemap-positions.xml" not in edited
    assert "/sitemap-tags.xml</loc>" not in edited
    assert "/sitemap-themes.xml</loc>" in edited


def test_after_a_corrected_quote_the_sitemap_index_counts_only_what_positions_make_public(
    client, fragment_cache, theme_of_three, django_capture_on_commit_callbacks
):
    theme, positions = theme_of_three
    url = reverse("sitemap")
    first = client.get(url).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        Position.objects.filter(pk=positions[0].pk).update(text="耐心資本要投早投小")
    with statements() as run:
        again = client.get(url).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        make_theme(forum=theme.forum, slug="second-theme")
    two_themes = client.get(url).content.decode()

    # The other sections' pages are kept by their tables' stamps; those of positions, of
    # tags and of reports (a tag or a report has a page while a public position carries or
    # cites it) are counted again.
    assert again == first
    assert [re.search(r'FROM "(\w+)"', sql).group(1) for sql in run] == [
        "proceedings_position",
        "taggit_tag",
        "proceedings_sourcedocument",
    ]
    assert two_themes == first  # one page of themes either way, counted again
    assert "/sitemap-themes.xml</loc>" in first


@pytest.mark.parametrize("name", ["forums", "sessions", "questions", "themes", "speakers",
                                  "institutions", "sectors", "pages"])  # fmt: skip
def test_a_sitemap_sections_count_reads_only_the_tables_of_its_stamp(theme_of_three, name):
    from proceedings import sitemaps

    section = sitemaps.SITEMAPS[name]
    with statements() as run:
        sitemaps._section_pages(name, section)
    read = {table for sql in run for table in re.findall(r'(?:FROM|JOIN)\s+"?(\w+)', sql)}
    stamped = {model._meta.db_table for model in section.tables}

    assert read <= stamped, read - stamped
    assert (read == set()) == (name == "pages")


def test_a_sitemap_page_of_positions_is_kept_by_its_rows(
    client, fragment_cache, theme_of_three, django_capture_on_commit_callbacks, settings
):
    from proceedings import sitemaps

    _theme, positions = theme_of_three
    # The page of the first one's range of ids (on PostgreSQL ids go on from earlier tests).
    page = (positions[0].pk - 1) // sitemaps.ITEMS_PER_PAGE + 1
    on_page = sorted(p.pk for p in positions if (p.pk - 1) // sitemaps.ITEMS_PER_PAGE + 1 == page)
    url = reverse("sitemap-section", args=["positions"]) + f"?p={page}"
    settings.ALLOWED_HOSTS = ["testserver", "mirror.example"]
    first = client.get(url).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        make_speaker(name="無關的人")  # a new content generation
    with mock.patch.object(sitemaps, "sitemap_xml", wraps=sitemaps.sitemap_xml) as written:
        again = client.get(url).content.decode()
        elsewhere = client.get(url, HTTP_HOST="mirror.example").content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        Position.objects.filter(pk=positions[1].pk).update(status=Status.DRAFT)
    withdrawn = client.get(url).content.decode()

    def listed(xml):
        return re.findall(r"<url><loc>http://testserver/zh-hant/positions/(\d+)/</loc>", xml)

    assert again == first
    # Only the other site's page was written: its addresses are not this one's.
    assert written.call_count == 1
    assert "<loc>http://mirror.example/zh-hant/positions/" in elsewhere
    assert "testserver" not in elsewhere
    assert listed(first) == [str(pk) for pk in on_page]
    assert listed(withdrawn) == [str(pk) for pk in on_page if pk != positions[1].pk]


def test_a_sitemap_page_of_people_is_kept_by_its_rows_and_their_history(
    client, fragment_cache, theme_of_three, django_capture_on_commit_callbacks
):
    from proceedings import sitemaps

    _theme, positions = theme_of_three
    url = reverse("sitemap-section", args=["speakers"])
    first = client.get(url).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        make_speaker(name="未發表的人", published=False)  # a new content generation
    with mock.patch.object(sitemaps, "sitemap_xml", wraps=sitemaps.sitemap_xml) as written:
        again = client.get(url).content.decode()
    speaker = positions[1].appearance.speaker
    with django_capture_on_commit_callbacks(execute=True):
        speaker.slug = "renamed-person"
        speaker.save()  # with a history record: a new slug and a new last change
    renamed = client.get(url).content.decode()

    assert again == first
    assert written.call_count == 0
    assert "/zh-hant/speakers/renamed-person/</loc>" not in first
    assert "/zh-hant/speakers/renamed-person/</loc>" in renamed
    assert renamed.count("<url>") == first.count("<url>") == 9  # three people, three languages


def test_the_compare_form_keeps_its_list_of_people_per_choice_until_an_edit(
    client, fragment_cache, theme_of_three, django_capture_on_commit_callbacks
):
    _theme, positions = theme_of_three
    first_person = positions[0].appearance.speaker
    url = reverse("proceedings:compare")
    blank = client.get(url).content.decode()
    with statements() as again:
        blank_again = client.get(url).content.decode()
    one_ticked = client.get(url, {"speaker": first_person.slug}).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        Position.objects.filter(pk=positions[2].pk).update(status=Status.DRAFT)
    edited = client.get(url).content.decode()

    def ticked(html):
        return re.findall(
            r'<input type="checkbox" name="speaker" value="([^"]+)"[^>]* checked>', html
        )

    assert blank_again == blank
    assert not [sql for sql in again if "speakers_speaker" in sql]
    assert blank.count('type="checkbox" name="speaker"') == 3
    assert ticked(blank) == []
    assert ticked(one_ticked) == [first_person.slug]
    # The third person's only position is a draft now: they are no longer a choice.
    assert edited.count('type="checkbox" name="speaker"') == 2
    assert positions[2].appearance.speaker.slug not in edited


def test_the_compare_form_keeps_its_list_of_people_across_edits_that_change_none(
    client, fragment_cache, theme_of_three, django_capture_on_commit_callbacks
):
    _theme, positions = theme_of_three
    url = reverse("proceedings:compare")
    first = client.get(url).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        # The form lists names: rewording a quote leaves it as it was.
        Position.objects.filter(pk=positions[1].pk).update(text="企業是創新的主體力量")
    built = []

    def build(rows):
        built.append(rows)
        return ValueRows.__dict__["__iter__"](rows)

    with mock.patch.object(ValueRows, "__iter__", build):
        again = client.get(url).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        Speaker.objects.filter(pk=positions[1].appearance.speaker_id).update(name="王大明")
    renamed = client.get(url).content.decode()

    # The people were read and digested as values; nobody was built or rendered again.
    assert again == first
    assert built == []
    assert renamed.count('type="checkbox" name="speaker"') == 3
    assert "王大明" not in first
    assert re.search(r'<label for="compare-[^"]+">王大明', renamed)


def test_the_matrix_is_kept_across_edits_that_leave_it_as_it_was(
    client, fragment_cache, theme_of_three, django_capture_on_commit_callbacks
):
    from proceedings import localize

    theme, positions = theme_of_three
    url = reverse("proceedings:forum-matrix", args=[theme.forum.slug])
    first = client.get(url).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        make_speaker(name="無關的人")  # an edit elsewhere: a new content generation
    with (
        mock.patch("proceedings.localize.rendition", wraps=localize.rendition) as rendering,
        mock.patch.object(Position, "from_db", wraps=Position.from_db) as building,
    ):
        again = client.get(url).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        Position.objects.filter(pk=positions[1].pk).update(text="企業是創新的主體力量")
    edited = client.get(url).content.decode()

    # Its rows were read and digested as before; no position was built or rendered again.
    assert again == first
    assert rendering.call_count == 0
    assert building.call_count == 0
    assert "企業是創新的主體力量" not in first
    assert "企業是創新的主體力量" in edited


def test_the_forum_page_is_kept_across_edits_that_leave_it_as_it_was(
    client, fragment_cache, theme_of_three, django_capture_on_commit_callbacks
):
    from proceedings import views

    theme, positions = theme_of_three
    url = theme.forum.get_absolute_url()
    first = client.get(url).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        make_speaker(name="無關的人")  # an edit elsewhere: a new content generation
    with mock.patch("proceedings.views.group_by_sector", wraps=views.group_by_sector) as grouping:
        again = client.get(url).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        Speaker.objects.filter(pk=positions[1].appearance.speaker_id).update(name="王大明")
    renamed = client.get(url).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        Position.objects.filter(pk=positions[2].pk).update(status=Status.DRAFT)
    fewer = client.get(url).content.decode()

    # Its rows were read and digested as before; its people were not grouped again.
    assert again == first
    assert grouping.call_count == 0
    assert "王大明" not in first
    assert "王大明" in renamed
    # The theme's count of positions is one of its rows' values.
    assert re.findall(r'<span class="count">([^<]*)</span>', renamed) == ["3 則觀點"]
    assert re.findall(r'<span class="count">([^<]*)</span>', fewer) == ["2 則觀點"]


def read_after_an_edit_elsewhere(client, url, django_capture_on_commit_callbacks):
    """Return the page at ``url``, the same page after an edit elsewhere, and how many cards
    that second request rendered or looked up (``CardCacheNode.render()`` calls)."""
    from proceedings.templatetags.portal import CardCacheNode

    first = client.get(url).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        make_speaker(name="無關的人")  # a new content generation
    with mock.patch.object(
        CardCacheNode, "render", autospec=True, side_effect=CardCacheNode.render
    ) as cards:
        again = client.get(url).content.decode()
    return first, again, cards.call_count


def test_a_theme_page_of_cards_is_kept_by_its_rows_and_its_count(
    client, fragment_cache, django_capture_on_commit_callbacks
):
    from proceedings.views import THEME_PAGE_SIZE

    with django_capture_on_commit_callbacks(execute=True):
        forum = make_forum(published=True)
        theme = make_theme(forum=forum)
        appearance = make_appearance(session=make_session(forum=forum), speaker=make_speaker())
        positions = [
            make_position(appearance=appearance, themes=[theme], text=f"第{n}條意見", order=n)
            for n in range(THEME_PAGE_SIZE + 1)
        ]
    url = theme_url(theme)
    first, again, cards = read_after_an_edit_elsewhere(
        client, url, django_capture_on_commit_callbacks
    )
    # The last position, on page 2, withdrawn: page 1 shows the same rows, but one page.
    with django_capture_on_commit_callbacks(execute=True):
        Position.objects.filter(pk=positions[-1].pk).update(status=Status.DRAFT)
    one_page = client.get(url).content.decode()

    assert again == first
    assert cards == 0
    assert f'<span class="count">{THEME_PAGE_SIZE + 1}</span>' in first
    assert 'rel="next"' in first
    assert f'<span class="count">{THEME_PAGE_SIZE}</span>' in one_page
    assert 'rel="next"' not in one_page


@pytest.mark.parametrize("page", ["question", "speaker"])
def test_a_part_of_cards_is_kept_across_edits_that_leave_its_rows_as_they_were(
    client, fragment_cache, theme_of_three, django_capture_on_commit_callbacks, page
):
    theme, positions = theme_of_three
    if page == "question":  # its themes, each with its count and first cards
        url = theme.questions.get().get_absolute_url()
    else:  # the person's positions, by forum and theme
        url = positions[1].appearance.speaker.get_absolute_url()
    first, again, cards = read_after_an_edit_elsewhere(
        client, url, django_capture_on_commit_callbacks
    )
    with django_capture_on_commit_callbacks(execute=True):
        Position.objects.filter(pk=positions[1].pk).update(text="企業是創新的主體力量")
    edited = client.get(url).content.decode()

    # The rows were read and digested as before; the part was not rendered again, not even
    # from its kept cards.
    assert again == first
    assert cards == 0
    assert THREE_QUOTES[1] in first
    assert "企業是創新的主體力量" not in first
    assert "企業是創新的主體力量" in edited


def test_an_api_search_is_answered_once_per_generation(
    client, fragment_cache, theme_of_three, django_capture_on_commit_callbacks
):
    _, positions = theme_of_three
    url = reverse("api:search", kwargs={"version": "v1"})
    first = client.get(url, {"q": "創新"}).json()
    with statements() as cached, mock.patch("proceedings.api.views.search") as searching:
        again = client.get(url, {"q": "創新"}).json()
    other_page_size = client.get(url, {"q": "創新", "page_size": 1}).json()
    unknown = client.get(url, {"q": "創新", "speaker": "nobody"})
    with django_capture_on_commit_callbacks(execute=True):
        Position.objects.filter(pk=positions[1].pk).update(text="企業是技術創新的主體")
    edited = client.get(url, {"q": "創新"}).json()

    assert again == first
    assert not searching.called
    assert not [sql for sql in cached if "proceedings_" in sql]
    # The second by its tag, 產業創新.
    texts = {hit["position"]["text"] for hit in first["results"]}
    assert texts == {"企業是創新的主體", "把論文寫在大地上"}
    # Another URL is another answer: its own page size, and a "next" page.
    assert len(other_page_size["results"]) == 1
    assert "page=2" in other_page_size["next"]
    assert unknown.status_code == 400
    assert {hit["position"]["text"] for hit in edited["results"]} == {
        "企業是技術創新的主體",
        "把論文寫在大地上",
    }


# ---------------------------------------------------------------------------------------------
# Feeds: entries kept per generation and by their rows
# ---------------------------------------------------------------------------------------------


def feed_titles(content):
    """Return the titles of a feed's entries (Atom) or items (RSS), in order."""
    root = ET.fromstring(content)  # noqa: S314 - the site's own response
    atom = "{http://www.w3.org/2005/Atom}"
    if entries := root.findall(f"{atom}entry"):
        return [entry.find(f"{atom}title").text for entry in entries]
    return [item.find("title").text for item in root.findall("channel/item")]


@contextmanager
def titled_entries():
    """Collect the positions whose feed entry is built (``item_title`` is asked once each)."""
    titled = []
    real = PositionFeed.item_title

    def item_title(self, item):
        titled.append(item.pk)
        return real(self, item)

    with mock.patch.object(PositionFeed, "item_title", item_title):
        yield titled


def test_feed_entries_are_kept_per_generation_then_by_their_rows(
    client, settings, fragment_cache, theme_of_three, django_capture_on_commit_callbacks
):
    theme, positions = theme_of_three
    url = reverse("proceedings:theme-feed", args=[theme.forum.slug, theme.slug, "atom"])
    settings.FRAGMENT_CACHE_SECONDS = 0
    rendered = client.get(url).content
    settings.FRAGMENT_CACHE_SECONDS = 60
    with titled_entries() as built_first:
        first = client.get(url).content
    with titled_entries() as built_again, statements() as again_sql:
        again = client.get(url).content
    with django_capture_on_commit_callbacks(execute=True):
        Position.objects.filter(pk=positions[1].pk).update(text="新的引文內容")
    with titled_entries() as built_after_edit:
        edited = client.get(url).content

    assert first == again == rendered
    assert sorted(built_first) == sorted(p.pk for p in positions)
    # From the cache: the theme, the stamp of its positions (read first, TableRows.read())
    # and its positions, none of what their entries are built from.
    assert built_again == []
    assert len(again_sql) == 3
    assert '"proceedings_positionstamp"' in again_sql[1]
    # After the edit only the edited position's entry is built again; the others are found by
    # their rows' digests.
    assert built_after_edit == [positions[1].pk]
    assert "新的引文內容" in edited.decode()
    assert THREE_QUOTES[1] not in edited.decode()
    assert edited.decode().count("<entry>") == 3


def test_feeds_share_entries_but_not_across_formats_or_sites(
    client, settings, fragment_cache, theme_of_three
):
    settings.ALLOWED_HOSTS = ["testserver", "portal.example"]
    theme, positions = theme_of_three
    forum = theme.forum
    theme_feed = reverse("proceedings:theme-feed", args=[forum.slug, theme.slug, "atom"])
    forum_feed = reverse("proceedings:forum-feed", args=[forum.slug, "atom"])
    rss = reverse("proceedings:forum-feed", args=[forum.slug, "rss"])
    client.get(theme_feed)

    with titled_entries() as forum_built:
        forum_atom = client.get(forum_feed).content.decode()
    with titled_entries() as rss_built:
        forum_rss = client.get(rss).content.decode()
    with titled_entries() as elsewhere_built:
        elsewhere = client.get(forum_feed, HTTP_HOST="portal.example").content.decode()

    # The forum's feed lists the theme feed's positions: their entries are the same.
    assert forum_built == []
    assert sorted(rss_built) == sorted(elsewhere_built) == sorted(p.pk for p in positions)
    assert f"http://testserver/zh-hant/positions/{positions[0].pk}/" in forum_atom
    assert f"http://testserver/zh-hant/positions/{positions[0].pk}/" in forum_rss
    assert f"http://portal.example/zh-hant/positions/{positions[0].pk}/" in elsewhere
    assert "testserver" not in elsewhere
    assert set(feed_titles(forum_rss)) == set(feed_titles(forum_atom))
    assert len(feed_titles(forum_atom)) == 3


def test_a_search_feed_reads_only_the_positions_it_lists(
    client, fragment_cache, theme_of_three, django_capture_on_commit_callbacks
):
    _, positions = theme_of_three
    url = reverse("proceedings:search-feed", args=["rss"]) + "?q=創新"
    first = client.get(url).content.decode()
    with titled_entries() as built_again, statements() as again_sql:
        again = client.get(url).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        Position.objects.filter(pk=positions[1].pk).update(text="企業是技術創新的主體")
    with titled_entries() as built_after_edit:
        edited = client.get(url).content.decode()

    # The second by its text, the third by its tag, 產業創新.
    assert again == first
    assert built_again == []
    # The candidates and labels are kept: only the listed positions are read.
    assert len(again_sql) == 1
    assert len(feed_titles(first)) == 2
    assert built_after_edit == [positions[1].pk]
    assert "企業是技術創新的主體" in edited


# ---------------------------------------------------------------------------------------------
# CSV downloads: each position's line kept per generation and by its rows
# ---------------------------------------------------------------------------------------------


def csv_text(response):
    return b"".join(response.streaming_content).decode("utf-8-sig")


@contextmanager
def csv_rows_built():
    """Collect the positions whose CSV cells are built."""
    built = []
    real = downloads.csv_row

    def csv_row(position, *args, **kwargs):
        built.append(position.pk)
        return real(position, *args, **kwargs)

    with mock.patch.object(downloads, "csv_row", csv_row):
        yield built


def test_csv_lines_are_kept_per_generation_then_by_their_rows(
    client, settings, fragment_cache, theme_of_three, django_capture_on_commit_callbacks
):
    theme, positions = theme_of_three
    url = reverse("downloads:theme-csv", args=[theme.forum.slug, theme.slug])
    settings.FRAGMENT_CACHE_SECONDS = 0
    rendered = csv_text(client.get(url))
    settings.FRAGMENT_CACHE_SECONDS = 60
    with csv_rows_built() as built_first:
        first = csv_text(client.get(url))
    with csv_rows_built() as built_again, statements() as again_sql:
        again = csv_text(client.get(url))
    with django_capture_on_commit_callbacks(execute=True):
        Position.objects.filter(pk=positions[1].pk).update(text="新的引文內容")
    with csv_rows_built() as built_after_edit:
        edited = csv_text(client.get(url))

    assert first == again == rendered
    assert [row[14] for row in csv.reader(io.StringIO(first))][1:] == THREE_QUOTES
    assert built_first == [p.pk for p in positions]
    # From the cache: the theme, the stamp of its positions (read first, TableRows.read())
    # and its positions, none of what their lines are built from.
    assert built_again == []
    assert len(again_sql) == 3
    assert '"proceedings_positionstamp"' in again_sql[1]
    assert built_after_edit == [positions[1].pk]
    assert [row[14] for row in csv.reader(io.StringIO(edited))][1:] == [
        THREE_QUOTES[0],
        "新的引文內容",
        THREE_QUOTES[2],
    ]


def test_csv_lines_are_kept_apart_per_script_and_site_and_built_for_staff(
    client, settings, django_user_model, fragment_cache, theme_of_three
):
    settings.ALLOWED_HOSTS = ["testserver", "portal.example"]
    theme, positions = theme_of_three
    url = reverse("downloads:theme-csv", args=[theme.forum.slug, theme.slug])
    csv_text(client.get(url))

    simplified = csv_text(client.get(url, {"lang": "zh-hans"}))
    elsewhere = csv_text(client.get(url, HTTP_HOST="portal.example"))
    client.force_login(django_user_model.objects.create_user("staff", is_staff=True))
    with csv_rows_built() as staff_built:
        staff = csv_text(client.get(url))

    assert [row[14] for row in csv.reader(io.StringIO(simplified))][1:] == [
        "耐心资本要敢于投早投小投长期",
        "企业是创新的主体",
        "把论文写在大地上",
    ]
    assert f"http://portal.example/zh-hant/positions/{positions[0].pk}/" in elsewhere
    assert "testserver" not in elsewhere
    assert staff_built == [p.pk for p in positions]
    assert f"http://testserver/zh-hant/positions/{positions[0].pk}/" in staff
