"""
Pages that must answer with a page or a clean error, never a 500: admin pages given odd rows or
odd URLs, the API during a database outage, the HTTP-to-HTTPS redirect, the login's ``next``.
"""

import datetime

import pytest
from django.urls import reverse
from pytest_django.asserts import assertContains

from proceedings.models import SearchQueryStat
from tests.factories import make_appearance, make_forum, make_position, make_session, make_speaker

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

    assert response.status_code == 404
