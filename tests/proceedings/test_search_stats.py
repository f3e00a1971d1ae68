import datetime

import pytest
from django.db import connection
from django.urls import reverse

from proceedings.models import SearchQueryStat
from proceedings.search.statistics import record_search, search_summary

pytestmark = pytest.mark.django_db

DAY = datetime.date(2026, 11, 20)


def test_same_search_on_the_same_day_is_one_row_counted_twice():
    record_search(query="  融合 ", filters={}, result_count=12, day=DAY)
    record_search(query="融合", filters={}, result_count=12, day=DAY)

    assert list(
        SearchQueryStat.objects.values_list("day", "query", "filters", "searches", "result_count")
    ) == [(DAY, "融合", "", 2, 12)]


def test_filters_are_stored_in_a_canonical_order():
    record_search(
        query="轉化", filters={"theme": ["b", "a"], "sector": ["finance"]}, result_count=1, day=DAY
    )
    record_search(
        query="轉化", filters={"sector": ["finance"], "theme": ["a", "b"]}, result_count=1, day=DAY
    )

    assert list(SearchQueryStat.objects.values_list("filters", "searches")) == [
        ("sector=finance&theme=a&theme=b", 2)
    ]


def test_empty_search_is_not_counted_and_long_queries_are_cut():
    record_search(query="   ", filters={}, result_count=23, day=DAY)
    record_search(query="字" * 5000, filters={}, result_count=0, day=DAY)

    assert [len(q) for q in SearchQueryStat.objects.values_list("query", flat=True)] == [300]


def test_summary_lists_frequent_and_zero_result_searches():
    for _ in range(3):
        record_search(query="融合", filters={}, result_count=12, day=DAY)
    record_search(query="晶片", filters={}, result_count=0, day=DAY)
    record_search(query="晶片", filters={}, result_count=0, day=DAY - datetime.timedelta(days=1))
    record_search(query="old", filters={}, result_count=0, day=DAY - datetime.timedelta(days=40))

    summary = search_summary(days=30, today=DAY)

    assert summary == {
        "frequent": [
            {"query": "融合", "filters": "", "searches": 3, "result_count": 12},
            {"query": "晶片", "filters": "", "searches": 2, "result_count": 0},
        ],
        "zero": [{"query": "晶片", "filters": "", "searches": 2, "result_count": 0}],
    }


def test_admin_shows_frequent_and_zero_result_searches(client, django_user_model):
    client.force_login(django_user_model.objects.create_superuser("admin", "a@example.org", "pw"))
    for _ in range(2):
        record_search(query="融合", filters={}, result_count=12)
    record_search(query="晶片", filters={"sector": ["finance"]}, result_count=0)

    response = client.get(reverse("admin:proceedings_searchquerystat_changelist"))

    assert response.context["summary"] == {
        "frequent": [
            {"query": "融合", "filters": "", "searches": 2, "result_count": 12},
            {"query": "晶片", "filters": "sector=finance", "searches": 1, "result_count": 0},
        ],
        "zero": [{"query": "晶片", "filters": "sector=finance", "searches": 1, "result_count": 0}],
    }
    assert "<td>晶片</td><td>sector=finance</td><td>1</td>" in response.content.decode()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="asynchronous commit is PostgreSQL's")
def test_counting_a_search_does_not_wait_for_the_disk():
    statements = []

    def collect(execute, sql, params, many, context):
        statements.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(collect):
        record_search(query="融合", filters={}, result_count=3, day=DAY)

    written = [sql for sql in statements if not sql.startswith(("SAVEPOINT", "RELEASE"))]
    assert written[0] == "SET LOCAL synchronous_commit TO OFF"
    assert written[1].startswith('INSERT INTO "proceedings_searchquerystat"')
    assert SearchQueryStat.objects.get().searches == 1


@pytest.mark.parametrize("earlier", [0, 1])
def test_counting_a_search_is_one_statement_whether_new_or_not(earlier):
    for _ in range(earlier):
        record_search(query="融合", filters={"sector": ["finance"]}, result_count=3, day=DAY)
    statements = []

    def collect(execute, sql, params, many, context):
        statements.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(collect):
        record_search(query="融合", filters={"sector": ["finance"]}, result_count=4, day=DAY)

    written = [
        sql
        for sql in statements
        if not sql.startswith(("SAVEPOINT", "RELEASE", "SET LOCAL synchronous_commit"))
    ]
    assert len(written) == 1
    assert list(
        SearchQueryStat.objects.values_list("day", "query", "filters", "searches", "result_count")
    ) == [(DAY, "融合", "sector=finance", earlier + 1, 4)]
