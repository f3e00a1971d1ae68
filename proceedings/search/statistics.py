"""
What readers search for: one row per normalised query, filters and day (``SearchQueryStat``),
counted by the search page and summarised for editors on the admin's search statistics page.

Stores no personal data (no user, address or time of day).
"""

import datetime

from django.db import connection, transaction
from django.db.models import Max, Min, Sum
from django.utils import timezone

from ..models import SearchQueryStat

SEARCH_STAT_QUERY_LENGTH = 300


def record_search(*, query, filters, result_count, day=None):
    """
    Count one search: its normalised text, its filters and how many results it had, per day.

    Stores no personal data (no user, address or time of day), only what editors need to see
    what readers look for and what the portal lacks. Empty searches without filters are not
    counted.
    """
    query = " ".join(str(query).split())[:SEARCH_STAT_QUERY_LENGTH]
    filters_key = "&".join(
        f"{key}={value}" for key, values in sorted(filters.items()) for value in sorted(values)
    )[:500]
    if not query and not filters_key:
        return
    day = day or timezone.localdate()
    meta = SearchQueryStat._meta
    table = connection.ops.quote_name(meta.db_table)
    day_column, query_column, filters_column, searches, results = (
        connection.ops.quote_name(meta.get_field(name).column)
        for name in ("day", "query", "filters", "searches", "result_count")
    )
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # A count lost in a crash does not matter; waiting for the disk on every search
            # does (the commit's WAL flush was most of the write: 1.2 ms alone, more under
            # load). Only this transaction's commit is asynchronous.
            cursor.execute("SET LOCAL synchronous_commit TO OFF")
        # One statement whether the row exists or not, and no race between two requests
        # (an update, then get_or_create() for a new search, was seven with their savepoints);
        # INSERT … ON CONFLICT is SQLite's (3.24+) as well as PostgreSQL's.
        cursor.execute(
            f"INSERT INTO {table} ({day_column}, {query_column}, {filters_column}, {searches},"  # noqa: S608
            f" {results}) VALUES (%s, %s, %s, 1, %s)"
            f" ON CONFLICT ({day_column}, {query_column}, {filters_column}) DO UPDATE"
            f" SET {searches} = {table}.{searches} + 1, {results} = excluded.{results}",
            [
                meta.get_field("day").get_db_prep_value(day, connection),
                query,
                filters_key,
                result_count,
            ],
        )


def search_summary(*, days=30, limit=20, today=None):
    """
    Return ``{"frequent": [...], "zero": [...]}`` for the last ``days`` days.

    Each item is a dict ``{"query", "filters", "searches", "result_count"}``: the most frequent
    searches, and the most frequent ones that found nothing (what content is missing).
    """
    today = today or timezone.localdate()
    recent = SearchQueryStat.objects.filter(day__gt=today - datetime.timedelta(days=days))
    grouped = recent.values("query", "filters").annotate(
        total=Sum("searches"), most=Max("result_count"), least=Min("result_count")
    )
    frequent = grouped.order_by("-total", "query", "filters")[:limit]
    zero = grouped.filter(most=0).order_by("-total", "query", "filters")[:limit]

    def rows(items):
        return [
            {
                "query": item["query"],
                "filters": item["filters"],
                "searches": item["total"],
                "result_count": item["least"],
            }
            for item in items
        ]

    return {"frequent": rows(frequent), "zero": rows(zero)}
