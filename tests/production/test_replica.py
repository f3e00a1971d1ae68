"""
Reads on a real PostgreSQL streaming replica, writes on the primary.

Runs only with ``DATABASE_REPLICA_URL`` set: ``scripts/replica-test`` (a CI step) starts a
throwaway primary and a standby cloned from it with pg_basebackup, and runs this module. Django
creates the test database on the primary; streaming replication creates it on the standby too,
so the ``replica`` alias (a test mirror of ``default`` by settings) is pointed at the standby's
copy of it here.
"""

import os
import time
from contextlib import contextmanager

import dj_database_url
import pytest
from django.db import DatabaseError, connections
from django.test.utils import CaptureQueriesContext

from forum_portal.routers import request_routing
from proceedings.models import Forum, Status
from proceedings.workflow import transition
from tests.factories import (
    make_appearance,
    make_forum,
    make_position,
    make_question,
    make_session,
    make_speaker,
    make_theme,
)

REPLICA_URL = os.environ.get("DATABASE_REPLICA_URL", "")

pytestmark = [
    pytest.mark.replica,
    pytest.mark.skipif(not REPLICA_URL, reason="DATABASE_REPLICA_URL is not set"),
    pytest.mark.django_db(transaction=True, databases=["default", "replica"]),
]

QUOTE = "首臺套應用是成果轉化的最後一公里"


def wait_until(condition, seconds=10):
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not true after {seconds} s: {condition}")
        time.sleep(0.05)


@pytest.fixture
def standby():
    """Point the replica alias at the standby's copy of the test database."""
    replica = connections["replica"]
    mirrored = replica.settings_dict  # default's own dict: replaced, never changed
    target = dj_database_url.parse(REPLICA_URL)
    replica.close()
    replica.settings_dict = {
        **mirrored,
        "HOST": target["HOST"],
        "PORT": target["PORT"],
        "NAME": connections["default"].settings_dict["NAME"],
    }

    def reachable():
        try:
            replica.ensure_connection()
        except DatabaseError:
            return False
        return True

    wait_until(reachable)
    yield replica
    replica.close()
    replica.settings_dict = mirrored


def scalar(connection, sql, params=()):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()[0]


@contextmanager
def queries_on_both():
    with (
        CaptureQueriesContext(connections["default"]) as primary,
        CaptureQueriesContext(connections["replica"]) as replica,
    ):
        yield primary, replica


def test_the_replica_alias_is_a_read_only_standby(standby):
    assert scalar(standby, "SELECT pg_is_in_recovery()") is True
    assert scalar(connections["default"], "SELECT pg_is_in_recovery()") is False
    with pytest.raises(DatabaseError, match="read-only"), standby.cursor() as cursor:
        cursor.execute("CREATE TABLE must_fail (id int)")


def test_a_row_written_on_the_primary_is_read_through_the_replica(standby):
    with request_routing(pinned=False):
        forum = make_forum(slug="written-on-primary")
    written_to = forum._state.db

    with request_routing(pinned=False):
        wait_until(Forum.objects.filter(slug="written-on-primary").exists)
        read = Forum.objects.get(slug="written-on-primary")

    assert (written_to, read._state.db, read.pk) == ("default", "replica", forum.pk)


def test_a_page_is_read_from_the_replica_and_a_login_from_the_primary(client, standby):
    forum = make_forum(published=True)
    wait_until(lambda: scalar(standby, "SELECT count(*) FROM proceedings_forum") == 1)

    with queries_on_both() as (primary, replica):
        page = client.get(forum.get_absolute_url())
    on_page = (len(primary), len(replica) > 0)
    with queries_on_both() as (primary, replica):
        login = client.post("/admin/login/", {"username": "nobody", "password": "x"})

    assert page.status_code == 200
    assert forum.name in page.content.decode()
    assert on_page == (0, True)
    # The POST reads (user lookup, lockout check) and writes (failed attempt) on the primary.
    assert (login.status_code, len(primary) > 0, len(replica)) == (200, True, 0)


def test_a_themes_cards_are_read_from_the_replica(client, standby):
    forum = make_forum(published=True)
    theme = make_theme(forum=forum, questions=[make_question(forum=forum)])
    speaker = make_speaker(name="王戰")
    appearance = make_appearance(session=make_session(forum=forum), speaker=speaker)
    position = make_position(appearance=appearance, themes=[theme], tags=["成果轉化"], text=QUOTE)
    wait_until(
        lambda: scalar(standby, "SELECT count(*) FROM taggit_taggeditem WHERE object_id = %s",
                       [position.pk]) == 1
    )  # fmt: skip

    with queries_on_both() as (primary, replica):
        page = client.get(theme.get_absolute_url())

    html = page.content.decode()
    card = html[html.index('<article class="position') :]
    assert (page.status_code, len(primary)) == (200, 0)
    assert [text in card for text in (QUOTE, "王戰", "成果轉化")] == [True, True, True]
    # The cards' roles, themes, tags and key phrases (listing.ListingRows) came from it too.
    read = [query["sql"] for query in replica.captured_queries]
    assert sum("proceedings_keyphrase" in sql for sql in read) == 1
    assert sum("taggit_taggeditem" in sql for sql in read) == 1


def test_a_page_cache_miss_reads_the_primary_while_the_replica_lags(client, standby, settings):
    settings.PAGE_CACHE_SECONDS = 60
    forum = make_forum(published=True)
    theme = make_theme(forum=forum, questions=[make_question(forum=forum)])
    appearance = make_appearance(session=make_session(forum=forum), speaker=make_speaker())
    position = make_position(appearance=appearance, themes=[theme], text=QUOTE)
    url = theme.get_absolute_url()
    wait_until(lambda: client.get(url).get("X-Page-Cache") == "hit")

    scalar(standby, "SELECT pg_wal_replay_pause()::text")
    try:
        transition(objects=[position], to=Status.WITHDRAWN)  # commits: the generation moves on
        replica_still_has_it = scalar(
            standby,
            "SELECT count(*) FROM proceedings_position WHERE id = %s AND status = 'published'",
            [position.pk],
        )
        with queries_on_both() as (primary, replica):
            response = client.get(url)
    finally:
        scalar(standby, "SELECT pg_wal_replay_resume()::text")

    # The standby is behind the withdrawal; the page is rendered from the primary instead.
    assert replica_still_has_it == 1
    assert (response.status_code, response["X-Page-Cache"]) == (200, "miss")
    assert QUOTE not in response.content.decode()
    assert len(primary) > 0
