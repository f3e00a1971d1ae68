"""
The page cache (hits for anonymous readers, never a withdrawn quote) and the Redis backend that
treats an unreachable Redis as a cache miss.
"""

import socket
import uuid
from unittest import mock

import pytest
from django.conf import settings
from django.core.cache import cache, caches
from django.db import transaction
from django.test import override_settings
from django.urls import reverse
from django.utils import translation

from forum_portal import cache as page_cache_module
from forum_portal.cache import (
    GENERATION_KEY,
    ResilientRedisCache,
    bump_generation,
    current_generation,
    table_stamp,
    writes_curated_table,
)
from proceedings.models import Appearance, Position, Status, Theme
from proceedings.workflow import transition
from speakers.models import Institution, Speaker
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
def theme_with_quote(django_capture_on_commit_callbacks):
    # The test's transaction never commits: run the on-commit bump of these writes now, so
    # that the test's own writes start a new one, as the next transaction would.
    with django_capture_on_commit_callbacks(execute=True):
        forum = make_forum(published=True)
        theme = make_theme(forum=forum, questions=[make_question(forum=forum)])
        appearance = make_appearance(session=make_session(forum=forum), speaker=make_speaker())
        position = make_position(appearance=appearance, themes=[theme], text=QUOTE)
    return theme, position


def page(client, url, **headers):
    response = client.get(url, **headers)
    return response.status_code, response.get("X-Page-Cache"), QUOTE in response.content.decode()


# ---------------------------------------------------------------------------------------------
# Page cache
# ---------------------------------------------------------------------------------------------


def test_anonymous_reader_gets_the_page_from_the_cache(client, page_cache, theme_with_quote):
    theme, _ = theme_with_quote

    first = page(client, theme.get_absolute_url())
    second = page(client, theme.get_absolute_url())

    assert [first, second] == [(200, "miss", True), (200, "hit", True)]


def test_a_cache_hit_runs_no_query(client, page_cache, theme_with_quote, django_assert_num_queries):
    theme, _ = theme_with_quote
    client.get(theme.get_absolute_url())

    with django_assert_num_queries(0):
        response = client.get(theme.get_absolute_url())

    assert response["X-Page-Cache"] == "hit"


def test_withdrawn_quote_is_gone_from_the_next_anonymous_page(
    client, page_cache, theme_with_quote, django_capture_on_commit_callbacks
):
    theme, position = theme_with_quote
    client.get(theme.get_absolute_url())
    assert page(client, theme.get_absolute_url()) == (200, "hit", True)

    with django_capture_on_commit_callbacks(execute=True):
        transition(objects=[position], to=Status.WITHDRAWN)

    assert page(client, theme.get_absolute_url()) == (200, "miss", False)


def test_bulk_update_invalidates_too(
    client, page_cache, theme_with_quote, django_capture_on_commit_callbacks
):
    theme, position = theme_with_quote
    client.get(theme.get_absolute_url())

    # QuerySet.update() sends no signal: the statement itself is what is noticed.
    with django_capture_on_commit_callbacks(execute=True):
        Position.objects.filter(pk=position.pk).update(status=Status.DRAFT)

    assert page(client, theme.get_absolute_url()) == (200, "miss", False)


def test_removing_a_quote_from_a_theme_invalidates(
    client, page_cache, theme_with_quote, django_capture_on_commit_callbacks
):
    theme, position = theme_with_quote
    client.get(theme.get_absolute_url())

    with django_capture_on_commit_callbacks(execute=True):
        position.themes.remove(theme)

    assert page(client, theme.get_absolute_url()) == (200, "miss", False)


def test_publishing_shows_the_new_quote(
    client, page_cache, theme_with_quote, django_capture_on_commit_callbacks
):
    theme, position = theme_with_quote
    with django_capture_on_commit_callbacks(execute=True):
        Position.objects.filter(pk=position.pk).update(status=Status.DRAFT)
    assert page(client, theme.get_absolute_url()) == (200, "miss", False)
    assert page(client, theme.get_absolute_url()) == (200, "hit", False)

    with django_capture_on_commit_callbacks(execute=True):
        transition(objects=[Position.objects.get(pk=position.pk)], to=Status.PUBLISHED)

    assert page(client, theme.get_absolute_url()) == (200, "miss", True)


def test_the_generation_moves_only_when_the_transaction_commits(
    page_cache, theme_with_quote, django_capture_on_commit_callbacks
):
    _, position = theme_with_quote
    before, _ = current_generation()

    with django_capture_on_commit_callbacks() as callbacks:
        Position.objects.filter(pk=position.pk).update(text="改過的文字")
        during, _ = current_generation()
    for callback in callbacks:
        callback()
    after, _ = current_generation()

    # One bump per transaction, however many statements it ran.
    assert (during, after, len(callbacks)) == (before, before + 1, 1)


def test_writes_outside_curated_content_leave_the_cache_alone(
    page_cache, client, django_user_model
):
    before, _ = current_generation()

    with transaction.atomic():
        django_user_model.objects.create_user("reader")
    # Searches write statistics on every request; the cache must survive them.
    client.get(reverse("proceedings:home"), HTTP_ACCEPT_LANGUAGE="en")

    assert current_generation()[0] == before


def test_staff_and_session_holders_bypass_the_cache(
    client, page_cache, theme_with_quote, django_user_model
):
    theme, _ = theme_with_quote
    client.get(theme.get_absolute_url())
    staff = django_user_model.objects.create_user("editor", password="pw", is_staff=True)
    client.force_login(staff)

    response = client.get(theme.get_absolute_url())

    assert response.get("X-Page-Cache") is None
    assert response.context["shows_drafts"] is True


def test_languages_are_cached_apart(client, page_cache, theme_with_quote):
    theme, _ = theme_with_quote
    zh_url = theme.get_absolute_url()
    with translation.override("en"):
        en_url = theme.get_absolute_url()

    # The language is in the URL; the reader's Accept-Language does not matter any more.
    zh = client.get(zh_url, HTTP_ACCEPT_LANGUAGE="en")
    en = client.get(en_url, HTTP_ACCEPT_LANGUAGE="zh-Hant")
    en_again = client.get(en_url, HTTP_ACCEPT_LANGUAGE="en")

    assert [zh["X-Page-Cache"], en["X-Page-Cache"], en_again["X-Page-Cache"]] == [
        "miss",
        "miss",
        "hit",
    ]
    assert [zh["Content-Language"], en_again["Content-Language"]] == ["zh-hant", "en"]


def test_pages_that_set_a_cookie_are_not_stored(rf, page_cache):
    from django.http import HttpResponse

    response = HttpResponse("form")
    response.set_cookie("csrftoken", "x")

    assert page_cache_module.PageCacheMiddleware.cacheable_response(response) is False


def test_not_found_and_admin_pages_are_not_stored(client, page_cache):
    missing = client.get(reverse("proceedings:forum-detail", args=["no-such-forum"]))
    admin = client.get("/admin/login/")

    assert [missing.get("X-Page-Cache"), admin.get("X-Page-Cache")] == ["pass", None]


@pytest.fixture
def reader(rf, settings):
    """A public request that keeps fragments (``request_generation()``)."""
    settings.FRAGMENT_CACHE_SECONDS = 60
    cache.clear()
    request = rf.get("/")
    yield request
    cache.clear()


def stamps(reader, *models):
    """Return the stamps of each of ``models``' tables, each read by a new request."""
    return [table_stamp(copy_of(reader), [model]) for model in models]


def copy_of(request):
    new = type(request)(request.environ)  # without the generation the first one learnt
    return new


def test_a_committed_edit_moves_the_stamps_of_the_tables_it_wrote_and_no_other(
    reader, theme_with_quote, django_capture_on_commit_callbacks
):
    _, position = theme_with_quote
    before = stamps(reader, Position, Theme, Speaker, Institution)

    with django_capture_on_commit_callbacks() as callbacks:
        Position.objects.filter(pk=position.pk).update(text="改過的文字")
        position.themes.clear()  # the positions' themes: another table, the same transaction
        during = stamps(reader, Position, Theme, Speaker, Institution)
    for callback in callbacks:
        callback()
    after = stamps(reader, Position, Theme, Speaker, Institution)

    assert len(callbacks) == 1
    # The search index holds a position's themes: re-indexing it writes its documents too.
    assert callbacks[0].tables == {
        "proceedings_position",
        "proceedings_position_themes",
        "proceedings_positionsearchdocument",
        "proceedings_recordsearchdocument",
    }
    assert during == before
    assert after[0] != before[0]
    assert after[1:] == before[1:]  # themes' own table, people, institutions: not written


def rolled_back(write):
    """Run ``write()`` in a savepoint that is rolled back."""
    with transaction.atomic():
        write()
        raise RuntimeError


# A position's text rewritten: its row and its search documents (re-indexed at once).
POSITION_TABLES = [
    "proceedings_position",
    "proceedings_positionsearchdocument",
    "proceedings_recordsearchdocument",
]


def test_a_transaction_bumps_every_table_its_writes_wrote_once(
    reader, theme_with_quote, django_capture_on_commit_callbacks
):
    _, position = theme_with_quote
    speaker = position.appearance.speaker
    theme = position.themes.get()

    with django_capture_on_commit_callbacks() as callbacks:
        with transaction.atomic():  # a savepoint released: its writes are the transaction's
            Speaker.objects.filter(pk=speaker.pk).update(name="改名的人")
        with pytest.raises(RuntimeError):
            rolled_back(lambda: Theme.objects.filter(pk=theme.pk).update(title="不算的標題"))
        Position.objects.filter(pk=position.pk).update(text="改過的文字")

    # One bump for the transaction, with every table written after its callback was
    # registered, a savepoint's since rolled back included: a stamp moved on for nothing
    # costs a reader one reading of the rows, a stamp not moved would serve stale pages.
    assert [sorted(callback.tables) for callback in callbacks] == [
        sorted([*POSITION_TABLES, "proceedings_theme", "speakers_speaker"])
    ]


def test_a_rolled_back_first_write_leaves_the_next_one_its_own_bump(
    reader, theme_with_quote, django_capture_on_commit_callbacks
):
    _, position = theme_with_quote
    speaker = position.appearance.speaker

    with django_capture_on_commit_callbacks() as callbacks:
        with pytest.raises(RuntimeError):
            rolled_back(lambda: Speaker.objects.filter(pk=speaker.pk).update(name="不算的名字"))
        Position.objects.filter(pk=position.pk).update(text="改過的文字")

    # The callback registered in the savepoint was dropped with it.
    assert [sorted(callback.tables) for callback in callbacks] == [POSITION_TABLES]


def test_an_edit_of_unknown_tables_moves_every_stamp(reader):
    before = stamps(reader, Position, Speaker, Appearance)

    bump_generation()  # what clear_page_cache and a retried bump do

    after = stamps(reader, Position, Speaker, Appearance)
    assert all(old != new for old, new in zip(before, after, strict=True))


def test_a_stamp_is_none_once_the_generation_moved_on_during_the_request(reader):
    kept = table_stamp(reader, [Speaker])  # the request learns its generation

    bump_generation({"proceedings_position"})

    # A request that began before an edit cannot know whether it read its rows before it
    # (nor whether its replica has replayed it): it keeps nothing by stamp.
    assert kept is not None
    assert table_stamp(reader, [Speaker]) is None
    assert table_stamp(copy_of(reader), [Speaker]) == kept


def test_a_lost_stamp_restarts_past_every_earlier_one(reader):
    first = table_stamp(copy_of(reader), [Speaker])

    cache.delete("pages:table:speakers_speaker")
    second = table_stamp(copy_of(reader), [Speaker])

    assert int(second.split(":")[-1]) > int(first.split(":")[-1])


def test_a_lost_generation_restarts_past_every_earlier_one(page_cache):
    first, _ = current_generation()

    cache.delete(GENERATION_KEY)
    second, _ = current_generation()

    assert second > first


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ('UPDATE "proceedings_position" SET "status" = %s WHERE "id" = %s', True),
        ('INSERT INTO "proceedings_position_themes" ("position_id", "theme_id") VALUES', True),
        ('INSERT OR IGNORE INTO "taggit_taggeditem" ("tag_id") VALUES (%s)', True),
        ('DELETE FROM "speakers_speaker" WHERE "id" IN (%s)', True),
        ('  delete from "proceedings_positionsearchdocument"', True),
        ("TRUNCATE proceedings_positionsearchdocument", True),
        ('INSERT INTO "proceedings_historicalposition" ("id") VALUES (%s)', False),
        ('INSERT INTO "proceedings_searchquerystat" ("day") VALUES (%s)', False),
        ('UPDATE "django_session" SET "expire_date" = %s', False),
        ('SELECT "proceedings_position"."id" FROM "proceedings_position"', False),
    ],
)
def test_writes_to_curated_tables_are_recognised(sql, expected):
    assert writes_curated_table(sql) is expected


# ---------------------------------------------------------------------------------------------
# Redis unavailable
# ---------------------------------------------------------------------------------------------


def closed_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def redis_cache(location, **params):
    return ResilientRedisCache(
        location,
        {"OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2}, **params},
    )


@pytest.fixture
def dead_redis():
    backend = redis_cache(f"redis://127.0.0.1:{closed_port()}/0", KEY_PREFIX=uuid.uuid4().hex)
    yield backend
    page_cache_module._down_until.clear()


def test_unreachable_redis_reads_as_misses_and_ignores_writes(dead_redis):
    results = [
        dead_redis.get("k", "default"),
        dead_redis.set("k", 1),
        dead_redis.add("k", 1),
        dead_redis.get_many(["a", "b"]),
        dead_redis.set_many({"a": 1}),
        dead_redis.has_key("k"),
        dead_redis.delete("k"),
        dead_redis.touch("k"),
        dead_redis.get_or_set("k", 42),
    ]

    assert results == ["default", None, False, {}, ["a"], False, False, False, 42]
    with pytest.raises(ValueError, match="not found"):
        dead_redis.incr("k")


def test_unreachable_redis_is_skipped_after_the_first_failure(dead_redis, caplog):
    dead_redis.get("k")
    dead_redis.get("k")
    dead_redis.set("k", 1)

    assert dead_redis.is_down() is True
    assert [r.message.split(" (")[0] for r in caplog.records if r.levelname == "ERROR"] == [
        "Redis cache unavailable"
    ]


def test_ping_reports_the_failure(dead_redis):
    import redis

    with pytest.raises(redis.ConnectionError):
        dead_redis.ping()


def test_the_site_keeps_serving_when_redis_is_down(client, page_cache, theme_with_quote):
    theme, _ = theme_with_quote
    dead = {
        **settings.CACHES,  # the pages' navigation is kept in the process (the "chrome" alias)
        "default": {
            "BACKEND": "forum_portal.cache.ResilientRedisCache",
            "LOCATION": f"redis://127.0.0.1:{closed_port()}/0",
            "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2},
        },
    }
    try:
        with override_settings(CACHES=dead):
            responses = [page(client, theme.get_absolute_url()) for _ in range(2)]
            home = client.get(reverse("proceedings:home"))
    finally:
        page_cache_module._down_until.clear()

    # Served from the database each time, not stored anywhere.
    assert responses == [(200, None, True), (200, None, True)]
    assert home.status_code == 200


@pytest.fixture
def live_redis():
    backend = redis_cache("redis://127.0.0.1:6379/15", KEY_PREFIX=f"test-{uuid.uuid4().hex}")
    try:
        backend.ping()
    except Exception:  # noqa: BLE001
        pytest.skip("no Redis on 127.0.0.1:6379")
    yield backend
    backend.delete_many(["k", "n"])


def test_live_redis_stores_and_counts(live_redis):
    live_redis.set("k", {"page": "<html>"}, 30)
    live_redis.add("n", 1, 30)
    live_redis.incr("n")

    assert (live_redis.get("k"), live_redis.get("n"), live_redis.is_down()) == (
        {"page": "<html>"},
        2,
        False,
    )


def test_live_redis_stores_many_with_their_expiry(live_redis):
    values = {"a": ("標籤", "Label"), "b": 2, "c": "<p>卡片</p>"}
    live_redis.set_many(values, 30)
    client = live_redis._cache.get_client(None)
    ttls = [client.ttl(live_redis.make_key(key)) for key in values]
    live_redis.set_many({"c": "gone"}, 0)  # a timeout of 0 expires at once, as Django's does

    assert live_redis.get_many(["a", "b", "c", "z"]) == {"a": ("標籤", "Label"), "b": 2}
    assert all(0 < ttl <= 30 for ttl in ttls), ttls
    live_redis.delete_many(list(values))


def test_live_redis_stores_many_without_scripts(live_redis):
    # A server that refuses Lua scripts (an ACL): the values are stored Django's way.
    import redis

    refused = redis.exceptions.ResponseError("NOPERM this user has no permissions")
    with mock.patch.object(redis.Redis, "register_script", side_effect=refused) as script:
        live_redis.set_many({"a": "卡片", "b": 2}, 30)
    client = live_redis._cache.get_client(None)

    assert script.called
    assert live_redis.get_many(["a", "b"]) == {"a": "卡片", "b": 2}
    assert 0 < client.ttl(live_redis.make_key("a")) <= 30
    live_redis.delete_many(["a", "b"])


def test_default_cache_is_local_memory_without_redis_url():
    assert type(caches["default"]).__name__ == "LocMemCache"


def test_deploy_check_warns_when_the_page_cache_is_not_shared_between_processes(settings):
    from forum_portal.checks import page_cache_needs_a_shared_cache

    settings.PAGE_CACHE_SECONDS = 60
    on = [message.id for message in page_cache_needs_a_shared_cache(None)]
    settings.PAGE_CACHE_SECONDS = 0
    off = page_cache_needs_a_shared_cache(None)

    assert (on, off) == (["forum_portal.W001"], [])
