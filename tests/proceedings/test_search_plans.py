"""
PostgreSQL finds a search's newest matches with a newest-first scan, the GIN bitmap, or both
(proceedings/search/backends.py): the choice, made from pg_stats, may change the time taken,
never what is found.
"""

import importlib
from dataclasses import replace

import pytest
from django.db import connection

from proceedings.search import backends
from proceedings.search.backends import ColumnStatistics, MatchSpec, PostgresBackend
from proceedings.search.facets import facet_token
from proceedings.search.query import Phrase, Term, parse_query

pytestmark = pytest.mark.django_db

postgres_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the scan and the bitmap are PostgreSQL's plans"
)


def term(*phrases, prefix=False):
    return Term("x", tuple(Phrase(tuple(tokens), prefix) for tokens in phrases))


STATISTICS = ColumnStatistics(
    100_000.0, {"人才": 0.1, "深圳": 0.04, "集成": 0.03, "成電": 0.05, "_se_academia": 0.2}
)


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        (MatchSpec((term(["人才"]),)), 0.1),
        # A phrase: its least frequent token.
        (MatchSpec((term(["集成", "成電"]),)), 0.03),
        # Two terms: halfway between together (0.03) and independent (0.0012).
        (MatchSpec((term(["深圳"]), term(["集成", "成電"]))), 0.03 * (0.04 * 0.03 / 0.03) ** 0.5),
        # Alternatives add up; a prefix counts as common.
        (MatchSpec((term(["深圳"], ["人才"]),)), 0.14),
        (MatchSpec((term(["人"], prefix=True),)), 1.0),
        # A token that is not among the most common ones is rare.
        (MatchSpec((term(["人才"]), term(["晶片"]))), 0.0),
        # Filter groups multiply.
        (MatchSpec((term(["人才"]),), facet_groups=(("_se_academia",),)), 0.1 * 0.2),
        (MatchSpec(facet_groups=(("_se_academia",),)), 0.2),
    ],
)
def test_the_estimate_of_the_rows_a_search_matches(spec, expected):
    assert PostgresBackend(None)._estimate(spec, STATISTICS) == pytest.approx(expected)


def test_common_words_are_scanned_and_rare_ones_use_the_bitmap():
    backend = PostgresBackend(None)

    # 10% of 100,000 rows: the scan tests twice the rows expected to hold 1,001 matches.
    assert backend._scan_rows(MatchSpec((term(["人才"]),)), STATISTICS) == 20_020
    # 3%: 0.03² × 100,000 = 90 < 250, the bitmap.
    assert backend._scan_rows(MatchSpec((term(["集成", "成電"]),)), STATISTICS) == 0
    assert backend._scan_rows(MatchSpec((term(["晶片"]),)), STATISTICS) == 0
    # Never more than _SCAN_LIMIT rows, nor more than the table has.
    assert backend._scan_rows(MatchSpec((term(["人"], prefix=True),)), STATISTICS) == 2_002
    small = ColumnStatistics(500.0, STATISTICS.frequencies)
    assert backend._scan_rows(MatchSpec((term(["人"], prefix=True),)), small) == 500
    tiny_share = ColumnStatistics(10_000_000.0, {"人才": 0.006})
    assert backend._scan_rows(MatchSpec((term(["人才"]),)), tiny_share) == 40_000


def test_the_bitmap_reads_a_range_of_the_newest_rows_first_when_matches_are_many():
    backend = PostgresBackend(None)
    # doc_key's histogram: 100 equal shares of 1,000,000 rows, the keys 0, 10, … 1,000.
    statistics = ColumnStatistics(
        1_000_000.0,
        {"人才": 0.04, "_se_academia": 0.2, "_fi_summary": 0.3, "_la_en": 0.6},
        tuple(range(0, 1001, 10)),
    )
    few = MatchSpec((term(["人才"]),), facet_groups=(("_se_academia",), ("_fi_summary",)))
    many = MatchSpec((term(["人才"]),), facet_groups=(("_la_en",),))
    # 0.24% of the rows: 2,400 matches, fewer than four windows' worth: the whole bitmap.
    assert backend._window_bound(few, statistics, 0) is None
    # 2.4% (24,000 matches): the range holds the rows expected to hold two windows, 83,417
    # (8.3% of them), rounded down to the bound below 91.7% of the rows: 910.
    assert backend._window_bound(many, statistics, 0) == 910
    # Below the rows a scan stopped at _SCAN_LIMIT tested.
    assert backend._window_bound(many, statistics, 40_000) == 870
    # Not after a scan of all the rows expected to give two windows: if it found too few,
    # the estimate was wrong, and so would the range be.
    assert backend._window_bound(many, statistics, 83_417) is None
    # No histogram (a table never analysed).
    assert backend._window_bound(many, replace(statistics, doc_key_bounds=()), 0) is None


def test_the_range_replaces_the_scan_where_it_is_expected_to_cost_less():
    backend = PostgresBackend(None)
    bounds = tuple(range(0, 1001, 10))
    large = ColumnStatistics(1_000_000.0, {"人才": 0.0215, "數據": 0.0487}, bounds)
    # 2.15% of 1,000,000 rows: the scan would test 46,558 rows to fill the window (61 ms),
    # the range costs about 28 ms.
    assert backend._scan_rows(MatchSpec((term(["人才"]),)), large) == 0
    # 4.87%: 20,554 rows (27 ms), the scan (twice those rows at most, and _SCAN_LIMIT).
    assert backend._scan_rows(MatchSpec((term(["數據"]),)), large) == 40_000
    # At 100,000 rows the range costs about 14.5 ms: against 26 ms for 5.1%, 12 ms for 10.6%.
    small = ColumnStatistics(100_000.0, {"人才": 0.051, "數據": 0.106}, bounds)
    assert backend._scan_rows(MatchSpec((term(["人才"]),)), small) == 0
    assert backend._scan_rows(MatchSpec((term(["數據"]),)), small) == 18_887
    # Without a histogram there is no range: the scan.
    no_histogram = replace(large, doc_key_bounds=())
    assert backend._scan_rows(MatchSpec((term(["人才"]),)), no_histogram) == 40_000
    # With a filter, whose frequency may not be independent of the words', the range follows
    # a scan of the rows that would fill the window if they went together four times as often
    # as the estimate says: 1,001 / (4 × 2.16%).
    filtered = replace(large, frequencies={"大学": 0.127, "_se_academia": 0.17})
    spec = MatchSpec((term(["大学"]),), facet_groups=(("_se_academia",),))
    assert backend._estimate(spec, filtered) == pytest.approx(0.127 * 0.17)
    assert backend._scan_rows(spec, filtered) == 11_592
    assert backend._window_bound(spec, filtered, 11_592) == 890


def test_the_range_finds_candidates_by_the_rarest_token_of_each_phrase():
    statistics = ColumnStatistics(
        100_000.0, {"国际": 0.147, "际合": 0.073, "合作": 0.257, "数据": 0.2, "据要": 0.05}
    )
    spec = MatchSpec(
        (
            term(["国际", "际合", "合作"]),
            # Alternatives; a prefix phrase's other tokens (its last one is only a prefix).
            term(["数据", "据要"], ["人"], prefix=True),
        ),
        excluded=(term(["深圳"]),),  # tested on each candidate, never needed to be one
        facet_groups=(("_se_a", "_se_b"), ("_fi_c",)),
    )

    assert PostgresBackend(None)._range_tsquery(spec, statistics) == (
        "('际合') & ('数据' | '人':*) & ('_se_a' | '_se_b') & ('_fi_c')"
    )
    assert PostgresBackend(None)._range_tsquery(MatchSpec(), statistics) == "'_all'"


@postgres_only
@pytest.mark.parametrize(
    ("query", "groups"),
    [
        ("融合", ()),
        ("科技創新", ()),
        ('"industrial innovation"', ()),
        ("人才 -深圳", ()),
        ("融", ()),
        ("企業", (("sector",),)),
    ],
)
def test_every_split_between_scan_and_bitmap_finds_the_same(pujiang, monkeypatch, query, groups):
    parsed = parse_query(query)
    facet_groups = tuple((facet_token("sector", "enterprise"),) for _ in groups)
    specs = [MatchSpec(parsed.terms, parsed.excluded, facet_groups, rank=True)]
    backend = PostgresBackend(connection)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT doc_key FROM {backends.DOC_TABLE} ORDER BY doc_key")  # noqa: S608
        keys = [key for (key,) in cursor.fetchall()]
    # The bitmap's first range: none, from above every row, from the newest rows or a third of
    # them (each in and out of the scan's rows), from the oldest, from below every row.
    windows = (None, keys[-1] + 1, keys[-5], keys[-len(keys) // 3], keys[0], keys[0] - 1)
    group = backends._group

    def distinct_group(specs, rows):
        # No branch finds a row another one found (the statement's LIMIT counts them all).
        assert len({(number, key, facets) for number, key, _score, facets in rows}) == len(rows)
        return group(specs, rows)

    monkeypatch.setattr(backends, "_group", distinct_group)
    found = {}
    for scan in (0, 1, 7, 60, 10**6):
        for window in windows:
            monkeypatch.setattr(PostgresBackend, "_scan_rows", lambda self, spec, stats, n=scan: n)
            monkeypatch.setattr(
                PostgresBackend, "_window_bound", lambda self, spec, stats, scan, w=window: w
            )
            (candidates,) = backend.fetch(specs)
            found[scan, window] = candidates.rows

    assert found[0, None], query  # the bundled forum has matches for each
    assert all(rows == found[0, None] for rows in found.values()), query


@postgres_only
def test_statistics_are_what_analyze_found(pujiang, monkeypatch):
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {backends.DOC_TABLE}")
    monkeypatch.setattr(backends, "_statistics", {})

    statistics = backends.column_statistics(connection)

    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {backends.DOC_TABLE}")  # noqa: S608
        (rows,) = cursor.fetchone()
    assert statistics.rows == rows
    # doc_key's histogram: from the oldest document's key to the newest's, in order.
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT min(doc_key), max(doc_key) FROM {backends.DOC_TABLE}")  # noqa: S608
        oldest, newest = cursor.fetchone()
    bounds = statistics.doc_key_bounds
    assert (bounds[0], bounds[-1]) == (oldest, newest)
    assert list(bounds) == sorted(bounds)
    assert len(bounds) > 2
    # Every document holds the "all" token: the most common element there is.
    assert statistics.frequencies[backends.ALL_TOKEN] == pytest.approx(1.0)
    # Read once: a second search in the next minutes asks nothing of pg_stats.
    assert backends.column_statistics(connection) is statistics


@postgres_only
def test_vectors_are_stored_uncompressed(pujiang):
    migration = importlib.import_module("proceedings.migrations.0022_search_vectors_uncompressed")
    table = backends.DOC_TABLE
    size = "pg_column_size(vector)"
    compressed = "pg_column_compression(vector) IS NOT NULL"
    with connection.cursor() as cursor:
        for name in migration.TABLES:
            cursor.execute("SELECT reloptions FROM pg_class WHERE relname = %s", [name])
            assert cursor.fetchone() == (["toast_tuple_target=8160"],), name
        # The bundled forum's longest positions have vectors past the default target (~2 kB).
        cursor.execute(
            f"SELECT count(*) FILTER (WHERE {size} > 2100),"  # noqa: S608
            f" count(*) FILTER (WHERE {compressed}) FROM {table}"
        )
        long_vectors, compressed_vectors = cursor.fetchone()
        assert long_vectors > 0
        assert compressed_vectors == 0
        # Vectors written before the migration, with the default target, were compressed; the
        # migration writes them again uncompressed, the same vectors.
        cursor.execute(f"SELECT position_id, vector::text FROM {table} ORDER BY position_id")  # noqa: S608
        before = cursor.fetchall()
        # ALTER TABLE waits for no foreign key check (the forum was loaded in this transaction).
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute(f"ALTER TABLE {table} RESET (toast_tuple_target)")
        cursor.execute(f"UPDATE {table} SET vector = vector::text::tsvector")  # noqa: S608
        cursor.execute(f"SELECT count(*) FROM {table} WHERE {compressed}")  # noqa: S608
        assert cursor.fetchone()[0] > 0

        with connection.schema_editor() as schema_editor:
            migration.uncompress(None, schema_editor)

        cursor.execute(f"SELECT count(*) FROM {table} WHERE {compressed}")  # noqa: S608
        assert cursor.fetchone() == (0,)
        cursor.execute(f"SELECT position_id, vector::text FROM {table} ORDER BY position_id")  # noqa: S608
        assert cursor.fetchall() == before
