"""
Pages that must answer with a page or a clean error, never a 500: admin pages given odd rows or
odd URLs, the API during a database outage, the HTTP-to-HTTPS redirect, the login's ``next``.
"""

import datetime
import json

import pytest
from django.db import OperationalError, connection
from django.urls import reverse
from pytest_django.asserts import assertContains

from forum_portal import errors
from proceedings.models import SearchQueryStat
from tests.factories import make_appearance, make_forum, make_position, make_session, make_speaker
from tests.production.test_health import closed_port, database_refusing_connections

pytestmark = pytest.mark.django_db


@pytest.fixture
def superuser_client(client, django_user_model):
    user = django_user_model.objects.create_superuser("admin", "admin@example.org", "pw")
    client.force_login(user)
    return client


def test_search_statistics_list_a_filter_only_search(superuser_client):
    stat = SearchQueryStat.objects.create(
        day=datetime.date(2026, 3, 1), query="", filters="sector=academia", result_count=4
    )

    response = superuser_client.get(reverse("admin:proceedings_searchquerystat_changelist"))

    assertContains(
        response,
        f'<input type="checkbox" name="_selected_action" value="{stat.pk}" class="action-select"'
        ' aria-label="選擇此對象進行操作 - （空白查詢）">',
        html=True,
    )
    assertContains(response, '<td class="field-filters">sector=academia</td>', html=True)


@pytest.mark.parametrize(
    "path",
    ["{pk}/history/compare/", "{pk}/history/1x/", "abc/history/", "abc/history/1/"],
)
def test_history_urls_with_a_non_numeric_id_are_404(superuser_client, path):
    appearance = make_appearance(session=make_session(forum=make_forum()), speaker=make_speaker())
    position = make_position(appearance=appearance)
    url = reverse("admin:proceedings_position_changelist") + path.format(pk=position.pk)

    response = superuser_client.get(url)

    assertContains(response, '<p class="error-page__code">404</p>', status_code=404, html=True)
    assertContains(response, "<h1>找不到頁面</h1>", status_code=404, html=True)


# ---------------------------------------------------------------------------------------------
# The API during a database outage: JSON like its other errors, not the HTML 503 page
# ---------------------------------------------------------------------------------------------

API_UNAVAILABLE = {"detail": "The database is unavailable. Try again in 30 seconds."}


def assert_is_the_api_503(response):
    assert response.status_code == 503
    assert response["Content-Type"] == "application/json"
    assert response["Retry-After"] == "30"
    assert response["Cache-Control"] == "no-store"
    assert json.loads(response.content) == API_UNAVAILABLE


@pytest.mark.parametrize("path", ["/api/v1/forums/", "/api/v1/positions/1/", "/api/v1/search/"])
def test_api_answers_json_503_while_the_database_refuses_connections(client, path):
    make_forum(slug="forum-x")

    with database_refusing_connections():
        response = client.get(path)
    after = client.get("/api/v1/forums/")

    assert_is_the_api_503(response)
    assert [forum["slug"] for forum in after.json()["results"]] == ["forum-x"]


def test_api_database_error_raised_outside_a_view_is_json_503(rf):
    request = rf.get("/api/v1/forums/")
    try:
        raise OperationalError("server closed the connection unexpectedly")
    except OperationalError:
        response = errors.server_error(request)

    assert_is_the_api_503(response)


@pytest.mark.django_db(transaction=True)
def test_api_answers_json_503_when_postgresql_is_on_a_closed_port(client):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (SQLite cannot be made unreachable)")
    working = connection.settings_dict

    connection.close()
    connection.settings_dict = {**working, "PORT": closed_port()}
    try:
        response = client.get("/api/v1/forums/")
    finally:
        connection.close()
        connection.settings_dict = working

    assert_is_the_api_503(response)
