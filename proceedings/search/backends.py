"""
The two full-text backends, over the same documents and with the same result sets.

Both index the analyser's tokens as plain words (no database parser touches a token), plus the
facet tokens, and both answer a search with the **newest** ``CANDIDATES`` matching documents
(``doc_key DESC``: the day said, then reading order), counted in Python, and a relevance score
for the newest ``RANKED`` of them. Ranking or counting every match costs time in proportion to
the number of matches (seconds for a common word in 1M rows), and scoring is
the dear part (bm25 of a phrase: about 40 µs a row at 1M rows); bounded windows keep a search
fast however common its words. Counts above the window read "1000+".

SQLite: an FTS5 table over the documents table (external content, ``ascii`` tokenizer with
``_`` as a token character, so that a token of the analyser is exactly one FTS5 token), kept up to
date by triggers on that table. ``MATCH`` with ``ORDER BY rowid DESC LIMIT`` walks the posting
lists newest first and stops early; the ranked window is scored with BM25's term-frequency and
length parts, on the documents' token strings (see ``SQLiteBackend._scored``).

PostgreSQL: a ``tsvector`` column written as a literal (``'融合':1 '合创':2 '_th7'``) with a GIN
index, ``ts_rank`` over the window. The window is found with up to three plans, in turn, chosen
from the planner's own statistics (``pg_stats`` most common elements and ``doc_key``'s
histogram, read by each process every few minutes: ``column_statistics``):

- common terms: scan ``doc_key`` backwards and test each row until the window is full (stops
  after about ``CANDIDATES / frequency`` rows; the GIN bitmap of a word in half the rows costs
  more than that);
- a range of the newest rows, when the GIN bitmap is expected to hold many more matches than
  the window needs (a word that filters make rarer; any word in a large table): the rows whose
  ``doc_key`` is above a bound read off the histogram, as a B-tree bitmap that the planner ANDs
  with the GIN bitmap of the rarest token of each phrase (``_range_tsquery``), so that only
  that range's candidates are read from the table and tested. For words without filters, it is
  chosen instead of the scan when it is expected to cost less (``_range_is_cheaper``: the GIN
  bitmap's cost grows with the table, the scan's with the rows it tests). With filters, after a
  short scan: their frequencies multiply the words' as if independent of them, and when they
  are not (``大學`` said by academics: 2.2% of the rows estimated, 14.7% found) a range sized
  on the estimate reads seven times the rows it should, where a scan stops when the window is
  full;
- whatever the other plans left: the GIN bitmap of the whole query, then the newest rows.

The first plan only ever scans a bounded number of rows; if the estimate was wrong (a phrase of
common bigrams that never occur together), the later plans finish the job. The choice changes
the time taken, never what is found.

The SQL below is assembled from constants (table names, numbers); every value from a query or
a filter is a bound parameter, hence the ``noqa: S608`` marks.
"""

import math
import re
import time
from dataclasses import dataclass, field
from functools import lru_cache

from ..models import PositionSearchDocument, RecordSearchDocument
from .facets import ALL_TOKEN
from .query import Phrase, Term

CANDIDATES = 1000  # newest matches counted, faceted and paged through
RANKED = 200  # newest matches scored for relevance
_FETCH = CANDIDATES + 1  # one more than the window tells "more than CANDIDATES"

DOC_TABLE = PositionSearchDocument._meta.db_table
FTS_TABLE = "proceedings_position_fts"
RECORD_TABLE = RecordSearchDocument._meta.db_table
RECORD_FTS_TABLE = "proceedings_record_fts"
# Records (passages, themes, people, forums) are few beside positions (6,588 beside 100,000 in
# the benchmark), but grow with the forums: as for positions, the newest CANDIDATES matches (by
# id) are ranked and counted, per result kind, so a search costs the same however many there
# are; beyond that, counts are lower bounds ("1000+").


def _record_sql(matches, *, first, last, group, joined=True):
    """Return the SQL ranking ``matches`` within each result kind.

    ``matches``: rows of ``id, score``, joined here to the records for their kind; with
    ``joined=False``, rows of ``id, score, kind, object_id, paragraph, "group"`` already.
    Rows: the matches ranked ``first``..``last`` in their kind (in kind ``group`` only, if
    given: a bound parameter), with their ``data``; and each kind's best match, which carries
    the kind's count. Parameters: ``group`` twice, the match's, ``group`` twice.
    """
    wanted = f"s.rn BETWEEN {int(first)} AND {int(last)} AND (%s IS NULL OR s.grp = %s)"
    group_column = _quote("group")
    source = (
        f"(SELECT m.id, m.score, r.kind, r.object_id, r.paragraph, r.{group_column}"  # noqa: S608
        f" FROM ({matches}) AS m JOIN {RECORD_TABLE} r ON r.id = m.id) AS r"
        if joined
        else f"({matches}) AS r"
    )
    # The data (the widest column) is read only for the rows wanted, by a scalar subquery.
    return (
        f"SELECT s.id, s.kind, s.object_id, s.paragraph, s.grp, s.score, s.rn, s.cnt,"  # noqa: S608
        f" CASE WHEN {wanted} THEN (SELECT d.data FROM {RECORD_TABLE} d WHERE d.id = s.id) END"
        f" FROM (SELECT r.id, r.score, r.kind, r.object_id, r.paragraph, r.{group_column}"
        f" AS grp, row_number() OVER (PARTITION BY r.{group_column}"
        " ORDER BY r.score DESC, r.id) AS rn,"
        f" count(*) OVER (PARTITION BY r.{group_column}) AS cnt"
        f" FROM {source}) AS s"
        f" WHERE s.rn = 1 OR ({wanted}) ORDER BY s.rn"
    )


def _quote(name):
    return f'"{name}"'


@dataclass(frozen=True)
class MatchSpec:
    """What one candidate set must match: all terms, none of ``excluded``, one token per group."""

    terms: tuple[Term, ...] = ()
    excluded: tuple[Term, ...] = ()
    facet_groups: tuple[tuple[str, ...], ...] = ()
    rank: bool = False

    @property
    def is_browse(self):
        return not (self.terms or self.excluded or self.facet_groups)


@dataclass
class Candidates:
    """Matching documents, newest first: ``(doc_key, score, facet tokens)`` rows.

    ``score`` (higher is better) is None outside the ``RANKED`` newest, or without ranking.
    ``facet_counts``: ``{facet: Counter(id or value -> rows)}`` over the newest ``CANDIDATES``
    rows, once counted (``search.service``), when the rows' facet tokens are dropped.
    """

    rows: list = field(default_factory=list)
    facet_counts: dict | None = None

    @property
    def capped(self):
        return len(self.rows) > CANDIDATES


def get_backend(connection):
    """Return the backend for a database connection."""
    if connection.vendor == "postgresql":
        return PostgresBackend(connection)
    if connection.vendor == "sqlite":
        return SQLiteBackend(connection)
    raise NotImplementedError(f"Search supports SQLite and PostgreSQL, not {connection.vendor}.")


class SQLiteBackend:
    def __init__(self, connection):
        self.connection = connection

    def make_document(self, *, position_id, doc_key, tokens, facets, analyser_version):
        return PositionSearchDocument(
            position_id=position_id,
            doc_key=doc_key,
            tokens=" ".join(tokens),
            facets=" ".join(facets),
            analyser_version=analyser_version,
        )

    def make_record_document(self, *, tokens, facets, **fields):
        return RecordSearchDocument(tokens=" ".join(tokens), facets=" ".join(facets), **fields)

    def fetch_records(self, spec: MatchSpec, *, first, last, group=None):
        """Return the ranked record rows of ``spec`` (see ``_record_sql``), in one statement."""
        # bm25() is lower for better matches; the facets column weighs nothing.
        matches = (
            f"SELECT rowid AS id, -bm25({RECORD_FTS_TABLE}, 1.0, 0.0) AS score"  # noqa: S608
            f" FROM {RECORD_FTS_TABLE} WHERE {RECORD_FTS_TABLE} MATCH %s"
            f" ORDER BY rowid DESC LIMIT {_FETCH}"
        )
        sql = _record_sql(matches, first=first, last=last, group=group)
        params = [group, group, self.match_expression(spec), group, group]
        return _execute(self.connection, sql, params)

    # -- queries -------------------------------------------------------------------------------

    @staticmethod
    def _phrase(phrase: Phrase):
        quoted = '"' + " ".join(phrase.tokens) + '"'
        return f"{quoted} *" if phrase.prefix else quoted

    def _term(self, term: Term):
        phrases = [self._phrase(phrase) for phrase in term.phrases]
        return phrases[0] if len(phrases) == 1 else "(" + " OR ".join(phrases) + ")"

    def match_expression(self, spec: MatchSpec) -> str:
        """Return the FTS5 query; every token is quoted and contains only letters, digits, _."""
        positives = [self._term(term) for term in spec.terms]
        positives += [
            "(" + " OR ".join(f'"{token}"' for token in group) + ")" for group in spec.facet_groups
        ]
        expression = " AND ".join(positives) or f'"{ALL_TOKEN}"'
        for term in spec.excluded:
            expression = f"({expression}) NOT {self._term(term)}"
        return expression

    def fetch(self, specs: list[MatchSpec]) -> list[Candidates]:
        """Return the candidates of each spec, in one statement."""
        parts, params = [], []
        for number, spec in enumerate(specs):
            if spec.is_browse:
                parts.append(
                    f"SELECT * FROM (SELECT {number} AS n, doc_key, NULL AS score, facets"  # noqa: S608
                    f" FROM {DOC_TABLE} ORDER BY doc_key DESC LIMIT {_FETCH})"
                )
                continue
            match = self.match_expression(spec)
            parts.append(
                f"SELECT * FROM (SELECT {number} AS n, f.rowid AS doc_key, NULL AS score,"  # noqa: S608
                f" d.facets FROM {FTS_TABLE} f JOIN {DOC_TABLE} d ON d.doc_key = f.rowid"
                f" WHERE {FTS_TABLE} MATCH %s ORDER BY f.rowid DESC LIMIT {_FETCH})"
            )
            params.append(match)
            if spec.rank and spec.terms:
                # The tokens of the RANKED newest, scored below (rows without facets).
                parts.append(
                    f"SELECT * FROM (SELECT {number} AS n, d.doc_key, d.tokens AS score,"  # noqa: S608
                    f" NULL AS facets FROM (SELECT rowid FROM {FTS_TABLE}"
                    f" WHERE {FTS_TABLE} MATCH %s ORDER BY rowid DESC LIMIT {RANKED}) AS r"
                    f" JOIN {DOC_TABLE} d ON d.doc_key = r.rowid)"
                )
                params.append(match)
        rows = _execute(self.connection, " UNION ALL ".join(parts), params)
        return _group(specs, [self._scored(row, specs) for row in rows])

    # FTS5's bm25() would do, but it counts every match of each phrase for the phrase's weight
    # (xQueryPhrase): 40 ms for a phrase in 15% of 1M rows, however few rows it scores. Every
    # term must match anyway, so that weight adds little; this is BM25 without it.
    _K1, _B, _AVERAGE_TOKENS = 1.2, 0.75, 300

    def _scored(self, row, specs):
        """Turn a ``(set, doc_key, tokens, None)`` row into ``(set, doc_key, score, None)``."""
        number, key, tokens, facets = row
        if facets is not None:
            return row
        text = f" {tokens} "
        length = text.count(" ") - 1
        norm = self._K1 * (1 - self._B + self._B * length / self._AVERAGE_TOKENS)
        score = 0.0
        for term in specs[number].terms:
            frequency = max(len(_phrase_re(phrase).findall(text)) for phrase in term.phrases)
            score += frequency * (self._K1 + 1) / (frequency + norm)
        return number, key, score, None

    # -- full rebuild ----------------------------------------------------------------------------

    # Page cache while rebuilding (KiB): the default 2 MB makes FTS5's merge of a million
    # documents re-read its pages from the file thousands of times over.
    _REBUILD_CACHE_KIB = 256 * 1024

    def begin_rebuild(self):
        """Empty the index and stop the triggers, so that documents load without FTS writes."""
        with self.connection.cursor() as cursor:
            cursor.execute("PRAGMA cache_size")
            self._cache_size = cursor.fetchone()[0]
            cursor.execute(f"PRAGMA cache_size = -{self._REBUILD_CACHE_KIB}")
            cursor.execute(
                "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = %s",
                [DOC_TABLE],
            )
            self._triggers = cursor.fetchall()
            for name, _sql in self._triggers:
                cursor.execute(f'DROP TRIGGER "{name}"')
            cursor.execute(f"DELETE FROM {DOC_TABLE}")  # noqa: S608
            cursor.execute(f"INSERT INTO {FTS_TABLE}({FTS_TABLE}) VALUES ('delete-all')")  # noqa: S608

    def end_rebuild(self):
        """Build the FTS index from the documents in one pass, and restore the triggers."""
        with self.connection.cursor() as cursor:
            # What the insert trigger does, for all rows at once and in rowid order: 3-4 times
            # faster than FTS5's own 'rebuild' command (12 s against 40-50 s at 100k rows).
            cursor.execute(
                f"INSERT INTO {FTS_TABLE}(rowid, tokens, facets)"  # noqa: S608
                f" SELECT doc_key, tokens, facets FROM {DOC_TABLE} ORDER BY doc_key"
            )
            cursor.execute(f"INSERT INTO {FTS_TABLE}({FTS_TABLE}) VALUES ('optimize')")  # noqa: S608
            for _name, sql in self._triggers:
                cursor.execute(sql)
            cursor.execute(f"PRAGMA cache_size = {int(self._cache_size)}")
        # Table statistics: without them SQLite reads a page of positions through the status
        # index (every published row) instead of by primary key.
        self.analyse()

    def analyse(self):
        """Refresh the planner's statistics of every table."""
        with self.connection.cursor() as cursor:
            cursor.execute("ANALYZE")


class PostgresBackend:
    # Plan choice (see the module docstring): scan newest-first when
    # frequency² × rows ≥ _SCAN_THRESHOLD, i.e. when the rows the scan is expected to test
    # (CANDIDATES / frequency) are fewer than about four times the matches the GIN bitmap would
    # fetch (frequency × rows): the scan reads the table in order, the bitmap's rows are
    # scattered and each one rechecked (at 1M rows: `6G通信`, 2.6% of rows, 160 ms by bitmap,
    # 50 ms by scan). The scan gives up after _SCAN_MARGIN times the rows expected, or
    # _SCAN_LIMIT rows, and the bitmap finishes the job.
    _SCAN_THRESHOLD = 250
    _SCAN_MARGIN = 2
    _SCAN_LIMIT = 40_000
    # The range (see the module docstring) holds the newest rows expected to hold
    # _SCAN_MARGIN windows of matches, and is used when the bitmap would otherwise fetch more
    # than _WINDOW_FACTOR windows of them (each match a row read at random and tested).
    # Its cost, measured on this machine's benchmark corpora (bench/README.md, session 16):
    # about _RANGE_US plus _RANGE_TABLE_ROW_US per row of the table (28 ms at 1,000,000 rows,
    # 14.5 ms at 100,000), against _SCAN_ROW_US per row the scan tests.
    _WINDOW_FACTOR = 4
    _RANGE_US = 13_000
    _RANGE_TABLE_ROW_US = 0.015
    _SCAN_ROW_US = 1.3
    _CORRELATED = 4

    def __init__(self, connection):
        self.connection = connection

    def make_document(self, *, position_id, doc_key, tokens, facets, analyser_version):
        # The tokens live only in the tsvector: the rows the newest-first scan reads stay narrow.
        return PositionSearchDocument(
            position_id=position_id,
            doc_key=doc_key,
            facets=" ".join(facets),
            vector=tsvector_literal(tokens, facets),
            analyser_version=analyser_version,
        )

    def make_record_document(self, *, tokens, facets, **fields):
        return RecordSearchDocument(
            facets=" ".join(facets), vector=tsvector_literal(tokens, facets), **fields
        )

    def fetch_records(self, spec: MatchSpec, *, first, last, group=None):
        """Return the ranked record rows of ``spec`` (see ``_record_sql``), in one statement."""
        # The matches carry their kind: joined back to the records by id, PostgreSQL read
        # and hashed every record for it (1 ms of a 4 ms statement at 6,588 records).
        matches = (
            "SELECT id, ts_rank(vector, %s::tsquery, 1)::float8 AS score, kind, object_id,"  # noqa: S608
            f" paragraph, {_quote('group')} FROM {RECORD_TABLE} WHERE vector @@ %s::tsquery"
            f" ORDER BY id DESC LIMIT {_FETCH}"
        )
        sql = _record_sql(matches, first=first, last=last, group=group, joined=False).replace(
            "%s IS NULL", "%s::text IS NULL"
        )
        rank_query = self.tsquery(spec, for_rank=True) or _lexeme(ALL_TOKEN)
        params = [group, group, rank_query, self.tsquery(spec), group, group]
        return _execute(self.connection, sql, params)

    # -- queries -------------------------------------------------------------------------------

    @staticmethod
    def _phrase(phrase: Phrase):
        lexemes = " <-> ".join(_lexeme(token) for token in phrase.tokens)
        return f"({lexemes}:*)" if phrase.prefix else f"({lexemes})"

    def _term(self, term: Term):
        return "(" + " | ".join(self._phrase(phrase) for phrase in term.phrases) + ")"

    def tsquery(self, spec: MatchSpec, *, for_rank=False) -> str:
        """Return the tsquery literal; every lexeme is quoted and contains only letters, digits."""
        positives = [self._term(term) for term in spec.terms]
        if for_rank:
            return " & ".join(positives)
        expression = " & ".join(positives + _facet_groups(spec)) or _lexeme(ALL_TOKEN)
        for term in spec.excluded:
            expression = f"{expression} & !{self._term(term)}"
        return expression

    def _range_tsquery(self, spec: MatchSpec, statistics) -> str:
        """Return the tsquery that finds the bitmap's range's candidates in the GIN index.

        The least frequent token of each phrase (the phrase's alternatives ORed) and the filter
        groups, which every match holds; the whole query is then tested on each candidate.
        PostgreSQL estimates a phrase as if its tokens were independent: ``国际 <-> 际合 <->
        合作``, in 2.4% of the rows, as 0.08%, too few for the range's B-tree bitmap to be
        worth ANDing in; of one token, it estimates as ``_estimate()`` does.
        """
        frequency = statistics.frequencies.get

        def rarest(phrase):
            if phrase.prefix and len(phrase.tokens) == 1:
                return f"{_lexeme(phrase.tokens[0])}:*"
            tokens = phrase.tokens[:-1] if phrase.prefix else phrase.tokens
            return _lexeme(min(tokens, key=lambda token: frequency(token, 0.0)))

        parts = [
            "(" + " | ".join(rarest(phrase) for phrase in term.phrases) + ")" for term in spec.terms
        ]
        return " & ".join(parts + _facet_groups(spec)) or _lexeme(ALL_TOKEN)

    def _estimate(self, spec: MatchSpec, statistics):
        """Return the estimated fraction of rows ``spec`` matches, from ``statistics``.

        ``statistics`` (``ColumnStatistics``): the most common lexemes ANALYZE found, with their
        frequencies. Within a phrase, the least frequent token bounds the phrase (the bigrams
        of one word nearly always occur together). Between terms, halfway (in logarithms)
        between "always together" (the least frequent term) and "independent" (the product):
        words typed together often occur together (`Patient Capital`: each in 10% of rows,
        together in 10%; taking 1% chose the bitmap, 450 ms instead of 15 at 1M rows), but not
        always (`深圳 集成電路`: 4% and 3%, together 0.05%; taking 3% chose the scan, 70 ms
        instead of 9). Filter groups multiply, as if independent of the text. A prefix counts
        as common. Tokens not among the most common elements count as rare (0): the migration
        raises the column's statistics target so that the list reaches down to about 0.1% of
        rows.
        """
        frequency = statistics.frequencies.get
        terms = [
            min(
                1.0,
                sum(
                    1.0 if phrase.prefix else min(frequency(t, 0.0) for t in phrase.tokens)
                    for phrase in term.phrases
                ),
            )
            for term in spec.terms
        ]
        estimate = 1.0
        if terms:
            least = min(terms)
            if least <= 0:
                return 0.0
            # least × √(product / least)
            estimate = least * math.sqrt(math.prod(terms) / least)
        for group in spec.facet_groups:
            estimate *= min(1.0, sum(frequency(token, 0.0) for token in group))
        return estimate

    def _scan_rows(self, spec: MatchSpec, statistics):
        """Return how many of the newest rows the scan may test for ``spec`` (0: the bitmap)."""
        estimate = self._estimate(spec, statistics)
        if estimate * estimate * statistics.rows < self._SCAN_THRESHOLD:
            return 0
        rows = math.ceil(self._SCAN_MARGIN * _FETCH / estimate)
        if self._range_is_cheaper(estimate, statistics):
            if not spec.facet_groups:
                return 0
            # Filters may go with the words: the rows that hold the window if they do
            # _CORRELATED times more often than the estimate says, then the range.
            rows = math.ceil(_FETCH / (self._CORRELATED * estimate))
        return int(min(rows, statistics.rows, self._SCAN_LIMIT))

    def _has_range(self, estimate, statistics, scan=0):
        """Return whether a range may be read below the ``scan`` newest rows: there is a
        histogram, and the bitmap is expected to fetch more than ``_WINDOW_FACTOR`` windows."""
        return (
            len(statistics.doc_key_bounds) >= 2
            and estimate * (statistics.rows - scan) > self._WINDOW_FACTOR * _FETCH
        )

    def _range_is_cheaper(self, estimate, statistics):
        """Return whether the range is expected to find the window for less than the scan."""
        if not self._has_range(estimate, statistics):
            return False
        scan = self._SCAN_ROW_US * _FETCH / estimate
        return scan > self._RANGE_US + self._RANGE_TABLE_ROW_US * statistics.rows

    def _window_bound(self, spec: MatchSpec, statistics, scan):
        """Return the oldest ``doc_key`` of the bitmap's first range for ``spec``, or None.

        None (the bitmap over every row the scan left) unless the bitmap is expected to fetch
        more than ``_WINDOW_FACTOR`` windows of matches, or after a scan of all the rows
        expected to give ``_SCAN_MARGIN`` windows: if that scan falls short, the estimate was
        wrong (a phrase of common words that never occur together) and a range would find as
        few. The range holds the rows expected to give ``_SCAN_MARGIN`` windows, below the
        ``scan`` newest, read off the histogram: a bound wrong either way costs time (the
        range finds too few, and the older rows are searched too), never a match.
        """
        estimate = self._estimate(spec, statistics)
        if not self._has_range(estimate, statistics, scan):
            return None
        wanted = self._SCAN_MARGIN * _FETCH / estimate
        if scan >= wanted:
            return None
        newest = scan + wanted
        # The histogram's bounds split the rows into equal parts, oldest first; rounded down,
        # the range holds at least the rows wanted.
        bounds = statistics.doc_key_bounds
        step = math.floor((1 - newest / statistics.rows) * (len(bounds) - 1))
        return bounds[step] if step > 0 else None

    def fetch(self, specs: list[MatchSpec]) -> list[Candidates]:
        """Return the candidates of each spec, in one statement."""
        statistics = column_statistics(self.connection)
        ctes, params = [], []
        selects, select_params = [], []
        for number, spec in enumerate(specs):
            c = f"c{number}"
            if spec.is_browse:
                ctes.append(
                    f"{c} AS MATERIALIZED (SELECT doc_key, facets FROM {DOC_TABLE}"  # noqa: S608
                    f" ORDER BY doc_key DESC LIMIT {_FETCH})"
                )
            else:
                query = self.tsquery(spec)
                scan = self._scan_rows(spec, statistics)
                # Where the bitmap starts: below the rows the scan tested (a subquery either
                # way, so the planner plans the bitmap alike whatever the number).
                bound = (
                    f"coalesce((SELECT doc_key FROM {DOC_TABLE} ORDER BY doc_key DESC"  # noqa: S608
                    f" OFFSET {scan - 1} LIMIT 1), -1)"
                    if scan
                    else "(SELECT 9223372036854775807::bigint)"
                )
                # The scan: the `scan` newest rows, tested one by one (coalesce() hides the test
                # from the GIN index). The bitmap: the older rows, only if the scan found too
                # few ("+ 0" keeps doc_key's index out of the bitmap); first those from the
                # window's bound up (its B-tree range ANDed with the GIN bitmap), then the
                # rest. Append runs its branches in order and LIMIT stops it when the window
                # is full.
                branches = [
                    "(SELECT s.doc_key, s.facets FROM (SELECT doc_key, facets, vector"  # noqa: S608
                    f" FROM {DOC_TABLE} ORDER BY doc_key DESC LIMIT {scan})"
                    " AS s WHERE coalesce(s.vector @@ %s::tsquery, false))"
                ]
                branch_params = [query]
                window = self._window_bound(spec, statistics, scan)
                if window is not None:
                    # The range's candidates by _range_tsquery(), each tested whole.
                    branches.append(
                        f"(SELECT d.doc_key, d.facets FROM {DOC_TABLE} d"  # noqa: S608
                        f" WHERE d.doc_key >= {int(window)} AND d.doc_key + 0 < {bound}"
                        " AND d.vector @@ %s::tsquery"
                        " AND coalesce(d.vector @@ %s::tsquery, false) ORDER BY d.doc_key DESC)"
                    )
                    branch_params += [self._range_tsquery(spec, statistics), query]
                    bound = f"least({bound}, {int(window)})"
                branches.append(
                    f"(SELECT d.doc_key, d.facets FROM {DOC_TABLE} d WHERE d.doc_key + 0 < {bound}"  # noqa: S608
                    " AND d.vector @@ %s::tsquery ORDER BY d.doc_key DESC)"
                )
                branch_params.append(query)
                ctes.append(
                    f"{c} AS MATERIALIZED (SELECT * FROM ("  # noqa: S608
                    + " UNION ALL ".join(branches)
                    + f") AS u LIMIT {_FETCH})"
                )
                params += branch_params
            selects.append(f"SELECT {number}, doc_key, NULL::float8, facets FROM {c}")  # noqa: S608
            if spec.rank and spec.terms:
                # Scores as rows of their own (no facets), for the RANKED newest.
                selects.append(
                    f"SELECT {number}, r.doc_key, ts_rank(d.vector, %s::tsquery, 1)::float8,"  # noqa: S608
                    f" NULL FROM (SELECT doc_key FROM {c} ORDER BY doc_key DESC LIMIT {RANKED})"
                    f" AS r JOIN {DOC_TABLE} d ON d.doc_key = r.doc_key"
                )
                select_params.append(self.tsquery(spec, for_rank=True))
        sql = "WITH " + ", ".join(ctes) + " " + " UNION ALL ".join(selects)
        return _group(specs, _execute(self.connection, sql, params + select_params))

    # -- full rebuild ----------------------------------------------------------------------------

    def begin_rebuild(self):
        """Empty the documents and drop the GIN index (built again in one pass at the end)."""
        with self.connection.cursor() as cursor:
            cursor.execute(
                "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema()"
                " AND tablename = %s AND indexdef LIKE '%%USING gin%%'",
                [DOC_TABLE],
            )
            self._indexes = cursor.fetchall()
            for name, _sql in self._indexes:
                cursor.execute(f'DROP INDEX "{name}"')
            # Foreign keys are checked at commit; TRUNCATE refuses to run while checks on the
            # table are pending (documents written earlier in this transaction), so run them.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute(f"TRUNCATE {DOC_TABLE}")
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")

    def end_rebuild(self):
        with self.connection.cursor() as cursor:
            # The same for CREATE INDEX.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            for _name, sql in self._indexes:
                cursor.execute(sql)
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")
            cursor.execute(f"ANALYZE {DOC_TABLE}")

    def analyse(self):
        """Refresh the planner's statistics of every table."""
        with self.connection.cursor() as cursor:
            cursor.execute("ANALYZE")


@dataclass(frozen=True)
class ColumnStatistics:
    """What PostgreSQL's ANALYZE found of the documents: rows, and the most common lexemes."""

    rows: float = 1.0
    frequencies: dict = field(default_factory=dict)  # lexeme -> fraction of rows
    doc_key_bounds: tuple = ()  # the histogram of doc_key: bounds of equal shares, oldest first


STATISTICS_SECONDS = 300  # how long a process reuses what it read of pg_stats
_statistics = {}  # database name -> (read at, ColumnStatistics)


def column_statistics(connection):
    """Return the ``ColumnStatistics`` of the documents' vectors, read at most every few minutes.

    They only steer the choice between the scan and the bitmap (never what is found), and
    change when autovacuum analyses the table; reading them in each search cost 1-2 ms of
    its statement (pg_stats' array of ~5,000 lexemes parsed, then searched per token).
    """
    name = connection.settings_dict["NAME"]
    read_at, statistics = _statistics.get(name, (None, None))
    if read_at is None or time.monotonic() - read_at > STATISTICS_SECONDS:
        rows = _execute(
            connection,
            "SELECT greatest(c.reltuples, 1.0)::float8, s.most_common_elems::text::text[],"
            " s.most_common_elem_freqs, k.histogram_bounds::text::bigint[]"
            " FROM pg_class c LEFT JOIN pg_stats s"
            " ON s.schemaname = current_schema() AND s.tablename = %s AND s.attname = 'vector'"
            " LEFT JOIN pg_stats k ON k.schemaname = current_schema() AND k.tablename = %s"
            " AND k.attname = 'doc_key' WHERE c.oid = %s::regclass LIMIT 1",
            [DOC_TABLE, DOC_TABLE, DOC_TABLE],
        )
        count, elements, frequencies, bounds = rows[0] if rows else (1.0, None, None, None)
        statistics = ColumnStatistics(
            float(count),
            dict(zip(elements or (), frequencies or (), strict=False)),
            tuple(bounds or ()),
        )
        _statistics[name] = (time.monotonic(), statistics)
    return statistics


@lru_cache(maxsize=1024)
def _phrase_re(phrase: Phrase):
    """Return a regex finding ``phrase`` in a space-separated token string (with edge spaces)."""
    tokens = [re.escape(token) for token in phrase.tokens]
    last = tokens[-1] + (r"\S*" if phrase.prefix else "")
    return re.compile(" " + " ".join([*tokens[:-1], last]) + "(?= )")


def _lexeme(token):
    """Quote a token for tsvector/tsquery input (tokens hold letters and digits only)."""
    return "'" + token.replace("\\", "\\\\").replace("'", "''") + "'"


def tsvector_literal(tokens, facets):
    """Return the tsvector input for ``tokens`` (positions 1…) and ``facets`` (no positions)."""
    positions = {}
    for position, token in enumerate(tokens, start=1):
        positions.setdefault(token, []).append(str(min(position, 16383)))
    parts = [f"{_lexeme(token)}:{','.join(where)}" for token, where in positions.items()]
    parts += [_lexeme(token) for token in facets]
    return " ".join(parts)


def _facet_groups(spec):
    """Return the tsquery of each of ``spec``'s filter groups (any of its tokens)."""
    return [
        "(" + " | ".join(_lexeme(token) for token in group) + ")" for group in spec.facet_groups
    ]


def _execute(connection, sql, params):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _group(specs, rows):
    """Split ``(set number, doc_key, score, facets)`` rows into one Candidates per spec.

    A row has facets (a candidate) or a score (of a candidate), never both.
    """
    facets_of = [{} for _ in specs]
    scores = [{} for _ in specs]
    for number, key, score, facets in rows:
        if facets is None:
            scores[number][key] = float(score)
        else:
            facets_of[number][key] = facets
    return [
        # Newest first (the statement's own order; sorting again makes it certain).
        Candidates([(key, scored.get(key), found[key]) for key in sorted(found, reverse=True)])
        for found, scored in zip(facets_of, scores, strict=True)
    ]
