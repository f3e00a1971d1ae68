"""
/healthz and /readyz, and the 503 page while the database is unreachable, and recovery after.
"""

import socket
from contextlib import contextmanager

import pytest
from django.conf import settings
from django.db import OperationalError, connection
from django.test import override_settings
from django.urls import reverse

from forum_portal import errors
from tests.factories import make_forum

pytestmark = pytest.mark.django_db

CLOSED_PORT_REDIS = {
    **settings.CACHES,  # the pages' navigation is kept in the process (the "chrome" alias)
    "default": {
        "BACKEND": "forum_portal.cache.ResilientRedisCache",
        "LOCATION": "redis://127.0.0.1:1/0",
        "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2},
    },
}


def test_healthz_answers_without_touching_the_database(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get("/healthz")

    assert (response.status_code, response.json()) == (200, {"status": "ok"})
    assert response["Cache-Control"] == ("max-age=0, no-cache, no-store, must-revalidate, private")


def test_health_checks_answer_any_host_name(client):
    # Load balancers probe by address; ALLOWED_HOSTS would refuse it on any other page.
    health = client.get("/healthz", HTTP_HOST="10.1.2.3")
    ready = client.get("/readyz", HTTP_HOST="10.1.2.3")
    page = client.get(reverse("proceedings:home"), HTTP_HOST="10.1.2.3")

    assert [health.status_code, ready.status_code, page.status_code] == [200, 200, 400]


def test_readyz_reports_database_and_cache(client):
    response = client.get("/readyz")

    body = response.json()
    assert response.status_code == 200
    assert body["status"] == "ok"
    assert sorted(body["checks"]) == ["cache", "database"]
    assert (body["checks"]["database"]["ok"], body["checks"]["cache"]["ok"]) == (True, True)


@contextmanager
def database_refusing_connections():
    """Make every new cursor of the default connection fail as an unreachable server does."""
    original = connection.ensure_connection

    def refuse():
        raise OperationalError(
            'connection to server at "127.0.0.1", port 1 failed: Connection refused'
        )

    connection.ensure_connection = refuse
    try:
        yield
    finally:
        connection.ensure_connection = original


def test_readyz_names_the_database_when_it_is_down(client):
    with database_refusing_connections():
        response = client.get("/readyz")

    body = response.json()
    assert response.status_code == 503
    assert body["status"] == "unavailable"
    assert body["checks"]["database"] == {
        "ok": False,
        "error": 'OperationalError: connection to server at "127.0.0.1", port 1 failed: '
        "Connection refused",
    }
    assert body["checks"]["cache"]["ok"] is True


@override_settings(CACHES=CLOSED_PORT_REDIS)
def test_readyz_names_the_cache_when_redis_is_down(client):
    response = client.get("/readyz")

    body = response.json()
    assert response.status_code == 503
    assert (body["checks"]["database"]["ok"], body["checks"]["cache"]["ok"]) == (True, False)
    assert body["checks"]["cache"]["error"].startswith("ConnectionError: ")


@override_settings(CACHES=CLOSED_PORT_REDIS, READYZ_REQUIRE_CACHE=False)
def test_readyz_can_stay_ready_without_the_cache(client):
    response = client.get("/readyz")

    body = response.json()
    assert (response.status_code, body["status"]) == (200, "ok")
    assert (body["checks"]["cache"]["ok"], body["checks"]["cache"]["required"]) == (False, False)


# ---------------------------------------------------------------------------------------------
# Database outage
# ---------------------------------------------------------------------------------------------


def assert_is_the_503_page(response):
    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    assert response["Cache-Control"] == "no-store"
    assert '<p class="error-page__code">503</p>' in response.content.decode()


def test_database_outage_answers_503_then_recovers(client):
    forum = make_forum(published=True)

    with database_refusing_connections():
        # A connection already open would be reused: make the next request open one.
        during = client.get(forum.get_absolute_url())
    after = client.get(forum.get_absolute_url())

    assert_is_the_503_page(during)
    assert after.status_code == 200
    assert forum.name in after.content.decode()


def test_bare_address_still_redirects_to_its_language_during_an_outage(client):
    """`/` needs no database: its redirect to a language prefix (whose page the cache may hold)
    is not turned into the 503 page by the redirects table's lookup on the way out."""
    with database_refusing_connections():
        home = client.get("/", HTTP_ACCEPT_LANGUAGE="en")
        page = client.get("/en/")

    assert (home.status_code, home["Location"]) == (302, "/en/")
    assert_is_the_503_page(page)


@override_settings(ROOT_URLCONF="tests.production.urls")
def test_database_error_in_a_view_is_a_503_with_a_logged_error(client, caplog):
    response = client.get("/test/database-gone/", HTTP_X_REQUEST_ID="outage-test-1")

    assert_is_the_503_page(response)
    errors_logged = [
        (record.name, record.request_id) for record in caplog.records if record.levelname == "ERROR"
    ]
    assert ("forum_portal.middleware", "outage-test-1") in errors_logged


def test_handler500_turns_a_database_error_raised_elsewhere_into_503(rf):
    request = rf.get("/")
    try:
        raise OperationalError("server closed the connection unexpectedly")
    except OperationalError:
        response = errors.server_error(request)

    assert_is_the_503_page(response)


def test_handler500_keeps_other_errors_500(rf):
    request = rf.get("/")
    try:
        raise ValueError("a bug")
    except ValueError:
        response = errors.server_error(request)

    assert response.status_code == 500


def closed_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.django_db(transaction=True)
def test_postgresql_on_a_closed_port_answers_503_then_recovers(client):
    """The real thing on PostgreSQL: the server stops answering, then comes back."""
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (SQLite cannot be made unreachable)")
    forum = make_forum(published=True)
    working = connection.settings_dict

    connection.close()
    connection.settings_dict = {**working, "PORT": closed_port()}
    try:
        during = client.get(forum.get_absolute_url())
        ready = client.get("/readyz")
    finally:
        connection.close()
        connection.settings_dict = working
    after = client.get(forum.get_absolute_url())

    assert_is_the_503_page(during)
    assert ready.status_code == 503
    assert ready.json()["checks"]["database"]["ok"] is False
    assert after.status_code == 200
