"""
The stamps of the positions of each forum, session, theme, person and institution
(``PositionStamp``, kept by the database's triggers) and the page parts kept by them
(``listing.stamp_of``): a quote corrected in one forum leaves the pages of another kept, one
corrected on a theme leaves the other themes' pages kept, and their own are read again.
"""

import re

import pytest
from django.core.cache import cache
from django.db import transaction
from django.urls import reverse
from django.utils import translation

from proceedings.models import Appearance, Forum, Position, PositionStamp, Session, Status
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
from tests.production.test_fragment_cache import statements

pytestmark = pytest.mark.django_db


def stamps(scope="forum"):
    return dict(PositionStamp.objects.filter(scope=scope).values_list("key", "stamp"))


def a_forum(name, quote):
    """A published forum with a question, a theme, and one person's position on it."""
    forum = make_forum(published=True, name=name)
    question = make_question(forum=forum)
    theme = make_theme(forum=forum, questions=[question])
    appearance = make_appearance(
        session=make_session(forum=forum),
        speaker=make_speaker(name=f"{name}的講者"),
        institution=make_institution(name=f"{name}大學"),
    )
    make_position(appearance=appearance, themes=[theme], text=quote)
    return forum


def test_a_write_moves_on_the_stamps_of_what_the_position_belongs_to_only():
    one, other = a_forum("甲論壇", "甲的觀點"), a_forum("乙論壇", "乙的觀點")
    position = Position.objects.get(appearance__session__forum=one)
    role, theme = position.appearance, position.themes.get()
    scopes = ["forum", "session", "speaker", "institution", "theme"]
    before = {scope: stamps(scope) for scope in scopes}

    position.translation = "A's view"
    position.save()
    after = {scope: stamps(scope) for scope in scopes}

    moved = {
        scope: sorted(key for key in after[scope] if after[scope][key] != before[scope].get(key))
        for scope in scopes
    }
    assert moved == {
        "forum": [one.pk],
        "session": [role.session_id],
        "speaker": [role.speaker_id],
        "institution": [role.institution_id],
        "theme": [theme.pk],
    }
    assert other.pk in after["forum"]


def test_each_write_to_positions_moves_on_the_stamp_of_their_forum_only():
    one, other = a_forum("甲論壇", "甲的觀點"), a_forum("乙論壇", "乙的觀點")
    position = Position.objects.get(appearance__session__forum=one)
    seen = [stamps()]

    position.translation = "A's view"
    position.save()  # the ORM's update
    seen.append(stamps())
    Position.objects.filter(pk=position.pk).update(status=Status.DRAFT)  # a bulk update
    seen.append(stamps())
    make_position(appearance=position.appearance, text="甲的第二個觀點")  # an insert
    seen.append(stamps())
    Position.objects.filter(pk=position.pk).delete()
    seen.append(stamps())

    # Every statement moved the first forum's stamp on, never back, and never the other's.
    assert [len(s) for s in seen] == [2, 2, 2, 2, 2]
    assert all(a[one.pk] < b[one.pk] for a, b in zip(seen, seen[1:], strict=False))
    assert {s[other.pk] for s in seen} == {seen[0][other.pk]}


def test_a_position_given_a_role_in_another_forum_moves_both_stamps_on():
    one, other = a_forum("甲論壇", "甲的觀點"), a_forum("乙論壇", "乙的觀點")
    third = a_forum("丙論壇", "丙的觀點")
    position = Position.objects.get(appearance__session__forum=one)
    role_elsewhere = Position.objects.get(appearance__session__forum=other).appearance
    before = stamps()

    Position.objects.filter(pk=position.pk).update(appearance=role_elsewhere)
    after = stamps()

    assert after[one.pk] > before[one.pk]
    assert after[other.pk] > before[other.pk]
    assert after[third.pk] == before[third.pk]


def test_two_writes_in_one_transaction_each_move_the_stamp_on():
    # Within one statement the clock may not move (SQLite's is to the millisecond and fixed
    # through a statement): the stamp then moves on by one.
    forum = a_forum("甲論壇", "甲的觀點")
    position = Position.objects.get()
    with transaction.atomic():
        seen = []
        for text in ("一", "二", "三"):
            Position.objects.filter(pk=position.pk).update(translation=text)
            seen.append(stamps()[forum.pk])

    assert seen == sorted(set(seen))


def test_a_forums_positions_deleted_move_its_stamp_on():
    gone, kept = a_forum("甲論壇", "甲的觀點"), a_forum("乙論壇", "乙的觀點")
    before = stamps()

    Position.objects.filter(appearance__session__forum=gone).delete()
    after = stamps()
    # What protects the forum, then the forum: its stamp's row stays, unread.
    Appearance.objects.filter(session__forum=gone).delete()
    Session.objects.filter(forum=gone).delete()
    Forum.objects.filter(pk=gone.pk).delete()

    assert after[gone.pk] > before[gone.pk]
    assert after[kept.pk] == before[kept.pk]
    assert not Forum.objects.filter(pk=gone.pk).exists()


@pytest.fixture
def two_forums(settings, django_capture_on_commit_callbacks):
    """Two published forums, the fragment cache on and empty."""
    settings.FRAGMENT_CACHE_SECONDS = 60
    cache.clear()
    with django_capture_on_commit_callbacks(execute=True):
        forums = a_forum("甲論壇", "甲的觀點"), a_forum("乙論壇", "乙的觀點")
    yield forums
    cache.clear()


def forum_pages(forum):
    """The pages of ``forum`` whose parts are kept by its stamp, and its person's and
    institution's."""
    session, question, theme = forum.sessions.get(), forum.questions.get(), forum.themes.get()
    role = session.appearances.get()
    with translation.override("zh-hant"):
        return {
            "forum": forum.get_absolute_url(),
            "session": session.get_absolute_url(),
            "question": question.get_absolute_url(),
            "theme": theme.get_absolute_url(),
            "matrix": reverse("proceedings:forum-matrix", args=[forum.slug]),
            "theme balance": reverse("proceedings:theme-balance", args=[forum.slug, theme.slug]),
            "speaker": role.speaker.get_absolute_url(),
            "institution": role.institution.get_absolute_url(),
        }


PAGES = [
    "forum",
    "session",
    "question",
    "theme",
    "matrix",
    "theme balance",
    "speaker",
    "institution",
]


def correct(forum_or_position, **fields):
    """Correct a position (``forum``'s one) as the admin saves it."""
    position = forum_or_position
    if isinstance(position, Forum):
        position = Position.objects.get(appearance__session__forum=forum_or_position)
    for name, value in fields.items():
        setattr(position, name, value)
    with transaction.atomic():
        position.save()


def positions_read(run):
    return [sql for sql in run if re.search(r'"proceedings_position"(?!_)', sql)]


def stamp_read_first(run):
    """Whether the positions' stamps were read before any position."""
    stamps = [i for i, sql in enumerate(run) if '"proceedings_positionstamp"' in sql]
    read = [i for i, sql in enumerate(run) if sql in positions_read(run)]
    return bool(stamps) and (not read or stamps[0] < read[0])


def body(response):
    assert response.status_code == 200
    return b"".join(response.streaming_content) if response.streaming else response.content


def read_around(client, on_commit, url, edit, then=None):
    """Return the body of ``url``, its body after ``edit()`` with the SQL that read it, and
    (with ``then``) its text after ``then()``: each edit committed as an editor's is."""
    first = body(client.get(url))
    with on_commit(execute=True):
        edit()
    with statements() as run:
        again = body(client.get(url))
    if then is None:
        return first, again, run, None
    with on_commit(execute=True):
        then()
    return first, again, run, body(client.get(url)).decode()


@pytest.mark.parametrize("page", PAGES)
def test_a_translation_corrected_in_another_forum_leaves_a_forums_pages_unread(
    client, two_forums, django_capture_on_commit_callbacks, page
):
    one, other = two_forums
    first, again, run, _ = read_around(
        client,
        django_capture_on_commit_callbacks,
        forum_pages(one)[page],
        lambda: correct(other, translation="B's view, corrected"),
    )

    # Kept by the first forum's stamp: its positions were not read.
    assert again == first
    assert positions_read(run) == []
    assert any('"proceedings_positionstamp"' in sql for sql in run)
    if page in ("theme", "speaker", "institution"):
        # The theme, the person or the institution with its roles, kept by their tables'
        # stamp (``KeptObjectMixin``): nothing but the positions' stamps was read.
        assert [sql for sql in run if '"proceedings_positionstamp"' not in sql] == []


@pytest.mark.parametrize("page", PAGES)
def test_a_quote_corrected_in_the_forum_shows_on_its_pages(
    client, two_forums, django_capture_on_commit_callbacks, page
):
    one, _other = two_forums
    first, again, run, _ = read_around(
        client,
        django_capture_on_commit_callbacks,
        forum_pages(one)[page],
        lambda: correct(one, text="甲的觀點，已更正"),
    )

    # The forum's stamp moved on: its positions were read again.
    assert positions_read(run) != []
    if page not in ("forum", "theme balance"):
        corrected = "甲的觀點，已更正".encode()
        assert (corrected in first, corrected in again) == (False, True)
    else:  # what these show of the position (its speaker, its counts) is as it was
        assert again == first


@pytest.mark.parametrize("page", PAGES)
def test_a_forums_pages_read_only_the_tables_of_its_stamp(client, two_forums, page, settings):
    from django.contrib.contenttypes.models import ContentType

    from proceedings.listing import FORUM_TABLES

    settings.FRAGMENT_CACHE_SECONDS = 0
    one, _other = two_forums
    url = forum_pages(one)[page]
    ContentType.objects.get_for_model(Position)  # the content types are the process's
    # Without the fragment cache: everything the page shows is read.
    with statements() as run:
        response = client.get(url)
    read = {table for sql in run for table in re.findall(r'(?:FROM|JOIN)\s+"?(\w+)', sql)}
    stamped = {model._meta.db_table for model in FORUM_TABLES}
    stamped |= {Position._meta.db_table, PositionStamp._meta.db_table, "speakers_speakerlink"}

    # Any other table read would be an edit the parts' stamp does not see.
    assert response.status_code == 200
    assert read <= stamped, read - stamped


def lists_of(forum):
    """The CSVs, API lists and feeds of ``forum``'s positions, its theme's and its person's."""
    theme, role = forum.themes.get(), forum.sessions.get().appearances.get()
    speaker, institution = role.speaker.slug, role.institution.slug
    api = "/api/v1"
    return {
        "forum CSV": f"/downloads/forums/{forum.slug}.csv",
        "theme CSV": f"/downloads/themes/{forum.slug}/{theme.slug}.csv",
        "speaker CSV": f"/downloads/speakers/{speaker}.csv",
        "API forum": f"{api}/forums/{forum.slug}/positions/",
        "API theme": f"{api}/themes/{forum.slug}/{theme.slug}/positions/",
        "API speaker": f"{api}/speakers/{speaker}/positions/",
        "API institution": f"{api}/institutions/{institution}/positions/",
        "forum feed": f"/zh-hant/forums/{forum.slug}/feed/atom/",
        "theme feed": f"/zh-hant/forums/{forum.slug}/themes/{theme.slug}/feed/rss/",
        "speaker feed": f"/zh-hant/speakers/{speaker}/feed/atom/",
    }


LISTS = [
    "forum CSV", "theme CSV", "speaker CSV", "API forum", "API theme", "API speaker",
    "API institution", "forum feed", "theme feed", "speaker feed",
]  # fmt: skip


@pytest.mark.parametrize("kind", LISTS)
def test_a_forums_lists_of_positions_keep_their_entries_by_its_stamp(
    client, two_forums, django_capture_on_commit_callbacks, kind
):
    one, other = two_forums
    first, again, run, corrected = read_around(
        client,
        django_capture_on_commit_callbacks,
        lists_of(one)[kind],
        lambda: correct(other, translation="B's view, corrected"),
        lambda: correct(one, text="甲的觀點，已更正"),
    )

    # Found by the first forum's stamp: the list's positions were read, not what each entry
    # shows with them (their key phrases, their tags), nor the count; the stamp before the
    # positions (``TableRows.read()``).
    assert again == first
    assert not [sql for sql in run if '"proceedings_keyphrase"' in sql or "COUNT(" in sql]
    assert len(positions_read(run)) == 1
    assert stamp_read_first(run)
    assert "甲的觀點，已更正" in corrected


@pytest.fixture
def two_themes(settings, django_capture_on_commit_callbacks):
    """One published forum of two sessions, each with a person of their own institution
    taking a position on a theme (of a question) of their own; the fragment cache on and
    empty."""
    settings.FRAGMENT_CACHE_SECONDS = 60
    cache.clear()
    with django_capture_on_commit_callbacks(execute=True):
        forum = make_forum(published=True, name="甲論壇")
        positions = []
        for n, (name, quote) in enumerate([("王小明", "第一個觀點"), ("李大華", "第二個觀點")]):
            question = make_question(forum=forum, slug=f"question-{n}", order=n)
            theme = make_theme(forum=forum, questions=[question], slug=f"theme-{n}", order=n)
            role = make_appearance(
                session=make_session(forum=forum, slug=f"session-{n}", order=n),
                speaker=make_speaker(name=name),
                institution=make_institution(name=f"{name}的大學"),
            )
            positions.append(make_position(appearance=role, themes=[theme], text=quote))
    yield positions
    cache.clear()


def pages_of(position):
    """The pages listing ``position`` alone: its theme's, question's, session's, person's
    and institution's, and their CSVs, API lists and feeds."""
    theme, role = position.themes.get(), position.appearance
    forum, speaker, institution = role.session.forum, role.speaker, role.institution
    api = "/api/v1"
    with translation.override("zh-hant"):
        return {
            "theme": theme.get_absolute_url(),
            "theme balance": reverse("proceedings:theme-balance", args=[forum.slug, theme.slug]),
            "question": theme.questions.get().get_absolute_url(),
            "session": role.session.get_absolute_url(),
            "speaker": speaker.get_absolute_url(),
            "institution": institution.get_absolute_url(),
            "theme CSV": f"/downloads/themes/{forum.slug}/{theme.slug}.csv",
            "speaker CSV": f"/downloads/speakers/{speaker.slug}.csv",
            "API theme": f"{api}/themes/{forum.slug}/{theme.slug}/positions/",
            "API session": f"{api}/sessions/{forum.slug}/{role.session.slug}/positions/",
            "API speaker": f"{api}/speakers/{speaker.slug}/positions/",
            "API institution": f"{api}/institutions/{institution.slug}/positions/",
            "theme feed": f"/zh-hant/forums/{forum.slug}/themes/{theme.slug}/feed/rss/",
            "speaker feed": f"/zh-hant/speakers/{speaker.slug}/feed/atom/",
        }


OWN_PAGES = [
    "theme", "theme balance", "question", "session", "speaker", "institution", "theme CSV",
    "speaker CSV", "API theme", "API session", "API speaker", "API institution", "theme feed",
    "speaker feed",
]  # fmt: skip


@pytest.mark.parametrize("page", OWN_PAGES)
def test_a_quote_corrected_on_another_theme_leaves_a_themes_and_a_persons_pages_unread(
    client, two_themes, django_capture_on_commit_callbacks, page
):
    first_position, second_position = two_themes
    first, again, run, corrected = read_around(
        client,
        django_capture_on_commit_callbacks,
        pages_of(first_position)[page],
        lambda: correct(second_position, text="第二個觀點，已更正"),
        lambda: correct(first_position, text="第一個觀點，已更正"),
    )

    # Kept by the stamp of the theme's, session's, person's or institution's positions,
    # which the other one's correction did not move: no card's rows were read (a list reads
    # its positions' ids, not what each shows with them).
    assert again == first
    assert not [sql for sql in run if '"proceedings_keyphrase"' in sql]
    assert len(positions_read(run)) <= 1
    assert stamp_read_first(run)
    if page != "theme balance":  # which counts, and shows no quote
        assert "第一個觀點，已更正" in corrected
        assert "第二個觀點" not in corrected


def test_a_quote_corrected_in_the_forum_has_its_page_read_again(
    client, two_themes, django_capture_on_commit_callbacks
):
    first_position, second_position = two_themes
    first, again, run, _ = read_around(
        client,
        django_capture_on_commit_callbacks,
        reverse("proceedings:forum-detail", args=[first_position.appearance.session.forum.slug]),
        lambda: correct(second_position, text="第二個觀點，已更正"),
    )

    # The forum's stamp moved on: its page's rows were read again, and found the same.
    assert again == first
    assert positions_read(run) != []
