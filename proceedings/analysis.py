"""
Who stands where: the data behind the analysts' views (``analysis_views.py``).

- ``speaker_matrix()``: a forum's speakers (grouped by sector) against its guiding questions or
  its themes, each cell holding that speaker's positions there.
- ``compare_speakers()``: two or more people side by side, theme by theme.
- ``voice_balance()``: how many positions and distinct speakers per sector and per country,
  with the geometry of the bar chart that shows them (``bar_chart()``).

Published rows only, for everyone (staff included): these views count and compare what the
public record says, so a draft must never shift a number. Every builder runs a fixed number of
queries whatever the number of speakers, themes or positions.
"""

import functools
import hashlib
from collections import defaultdict
from dataclasses import dataclass, field

from django.db.models import Count, Exists, OuterRef, Value
from django.db.models.functions import Coalesce
from django.utils.functional import cached_property
from django.utils.translation import gettext as _
from django_countries import countries

from forum_portal.cache import content_digest
from speakers.models import Sector, Speaker

from .models import Appearance, Position, Theme, status_q

# Matrix columns: the forum's guiding questions (default) or its themes.
BY_QUESTION = "question"
BY_THEME = "theme"
MATRIX_AXES = (BY_QUESTION, BY_THEME)

# A matrix cell shows at most this many snippets, then links to the speaker's page for the
# rest: a page stays readable (and quick) for a forum with hundreds of positions per person.
MATRIX_CELL_MAX = 6

# What a matrix cell shows of a position: its snippet (``localize.rendition()``) and its
# fidelity, after its id and role. Read as rows, in the model's order of fields, as
# ``Model.from_db()`` takes them (``MatrixCell.shown``).
MATRIX_FIELDS = {
    "id",
    "appearance_id",
    "text",
    "language",
    "translation",
    "translation_language",
    "translation_provenance",
    "fidelity",
}


@functools.cache
def matrix_fields():
    """Return ``MATRIX_FIELDS`` as a tuple in the order of ``Position``'s fields."""
    names = [field.attname for field in Position._meta.concrete_fields]
    return tuple(name for name in names if name in MATRIX_FIELDS)


# Compare at most this many people at once: beyond four, columns get too narrow to read.
COMPARE_MAX = 4

UNKNOWN = ""  # the sector or country of a role with no institution (or a blank country)


# ---------------------------------------------------------------------------------------------
# Speaker × question (or theme) matrix
# ---------------------------------------------------------------------------------------------


@dataclass
class MatrixCell:
    """One person's positions under one column: the first ``MATRIX_CELL_MAX`` are shown.

    ``positions`` are rows of ``matrix_fields()`` as read; ``shown`` builds the shown ones into
    Positions, only when the matrix is rendered: not when its page part is found by its rows'
    digest (``Matrix.rows_digest()``), which most readers after an edit elsewhere are.
    """

    positions: list
    db: str  # the database they were read from

    @property
    def shown_rows(self):
        return self.positions[:MATRIX_CELL_MAX]

    @cached_property
    def shown(self):
        names = matrix_fields()
        return [Position.from_db(self.db, names, row) for row in self.shown_rows]

    @property
    def more(self):
        """Return how many positions are not shown (0 when all are)."""
        return max(len(self.positions) - MATRIX_CELL_MAX, 0)


@dataclass
class MatrixRow:
    """One person: their first role in the forum and a ``MatrixCell`` per column."""

    speaker: Speaker
    appearance: Appearance
    cells: list


@dataclass
class Matrix:
    """``columns`` are Questions or Themes; ``groups`` is ``[(sector, label, [MatrixRow])]``.

    ``unfiled`` is True when some position falls under no column (no published theme, or a
    theme answering no question): those go in a last "Not filed" column, so nothing is lost.
    """

    by: str
    columns: list
    groups: list
    unfiled: bool = False
    forum: object = None  # the forum it is of, named in the page's part

    def rows_digest(self):
        """Return a digest of everything the matrix shows (``content_digest()`` of its forum,
        columns, people, roles and the positions each cell shows, with how many it holds).

        It keys the matrix's page part across edits that do not change it
        (``{% fragment … rows=matrix %}``): rendering a forum's matrix of 1,000 positions
        took 146 ms on PostgreSQL's bench corpus, digesting it 25 (bench/README.md,
        "Session 19").
        """
        memo = {}
        parts = [self.by, str(self.unfiled)]
        if self.forum is not None:
            parts.append(content_digest(self.forum, memo))
        parts += [content_digest(column, memo) for column in self.columns]
        for value, label, rows in self.groups:
            parts.append(f"{value}:{label}")
            for row in rows:
                parts += [content_digest(row.speaker, memo), content_digest(row.appearance, memo)]
                for cell in row.cells:
                    parts.append(str(len(cell.positions)))
                    parts += [repr(row) for row in cell.shown_rows]
        return hashlib.blake2b("\0".join(parts).encode(), digest_size=16).hexdigest()

    @property
    def shown_positions(self):
        """Return every position a cell shows, in table order (repeats included)."""
        return [
            position
            for _value, _label, rows in self.groups
            for row in rows
            for cell in row.cells
            for position in cell.shown
        ]

    @property
    def width(self):
        """Return the number of columns, the speakers' column included."""
        return len(self.columns) + 1 + int(self.unfiled)


def speaker_matrix(forum, *, by=BY_QUESTION):
    """Return the ``Matrix`` of a published ``forum``'s speakers against its questions or themes.

    A position belongs to a question through its themes (Theme ↔ Question), so one position can
    sit in several cells of a row. Rows are the people with a role other than rapporteur in the
    forum (and anyone with a position in it), grouped by the sector of the institution of their
    first role and ordered by sort name within a sector. Five queries by theme, six by question.
    """
    themes = forum.themes.published()  # through the forum: their URLs need no more queries
    if by == BY_THEME:
        columns = list(themes)
        column_of = {theme.pk: [index] for index, theme in enumerate(columns)}
    else:
        columns = list(forum.questions.all())
        index_of = {question.pk: index for index, question in enumerate(columns)}
        column_of = defaultdict(list)
        answers = Theme.questions.through.objects.filter(theme__in=themes, question__forum=forum)
        for theme_id, question_id in answers.values_list("theme_id", "question_id"):
            column_of[theme_id].append(index_of[question_id])

    appearances = list(
        Appearance.objects.published()
        .filter(session__forum=forum)
        .select_related("speaker", "institution")
        .order_by("session__order", "session__pk", "order", "pk")
    )
    speaker_of = {appearance.pk: appearance.speaker_id for appearance in appearances}
    # published() of the forum's public roles, just read: by their ids (a forum's few hundred
    # at most), not the test of each position's role, which PostgreSQL ran over every role
    # of every forum in both statements (bench/README.md, "Session 22").
    positions = Position.objects.filter(status_q(), appearance__in=list(speaker_of))
    fields = matrix_fields()
    # A subquery, not a list of ids: SQLite limits the number of parameters of a query.
    filed = Position.themes.through.objects.filter(position__in=positions, theme__in=themes)
    themes_of = defaultdict(list)
    for position_id, theme_id in filed.values_list("position_id", "theme_id"):
        themes_of[position_id].append(theme_id)

    cells = defaultdict(lambda: [[] for _column in range(len(columns) + 1)])
    unfiled = False
    # Rows, not Positions: building every position of a large forum cost more than rendering
    # the matrix (bench/README.md, "Session 22").
    read = positions.values_list(*fields)
    id_at, appearance_at = fields.index("id"), fields.index("appearance_id")
    for position in read:
        row = cells[speaker_of[position[appearance_at]]]
        indexes = sorted(
            {i for theme in themes_of[position[id_at]] for i in column_of.get(theme, ())}
        )
        if not indexes:
            indexes, unfiled = [len(columns)], True
        for index in indexes:
            row[index].append(position)

    rows = {}
    for appearance in appearances:
        speaker_id = appearance.speaker_id
        spoke = appearance.capacity != Appearance.Capacity.RAPPORTEUR or speaker_id in cells
        if spoke and speaker_id not in rows:
            row_cells = cells[speaker_id] if unfiled else cells[speaker_id][:-1]
            row_cells = [MatrixCell(positions, read.db) for positions in row_cells]
            rows[speaker_id] = MatrixRow(appearance.speaker, appearance, row_cells)
    ordered = sorted(rows.values(), key=lambda row: (row.speaker.sort_name, row.speaker.pk))
    return Matrix(
        by=by, columns=columns, groups=group_rows_by_sector(ordered), unfiled=unfiled, forum=forum
    )


def group_rows_by_sector(rows):
    """Return ``[(sector value, label, rows)]`` in ``Sector`` order, then rows with no sector."""
    groups = defaultdict(list)
    for row in rows:
        institution = row.appearance.institution
        groups[institution.sector if institution else UNKNOWN].append(row)
    ordered = [(value, label, groups[value]) for value, label in Sector.choices if value in groups]
    if UNKNOWN in groups:
        ordered.append((UNKNOWN, _("Unknown sector"), groups[UNKNOWN]))
    return ordered


# ---------------------------------------------------------------------------------------------
# Compare speakers
# ---------------------------------------------------------------------------------------------


@dataclass
class ComparedSpeaker:
    speaker: Speaker
    appearances: list = field(default_factory=list)


@dataclass
class ComparisonRow:
    """A theme (None: positions filed under no published theme) and each person's positions."""

    theme: Theme | None
    cells: list


@dataclass
class Comparison:
    """``columns`` (``ComparedSpeaker``) and ``rows`` (``ComparisonRow``) of a comparison.

    ``many_forums`` is True when the roles come from more than one forum: pages then name the
    forum of each role and theme.
    """

    columns: list
    rows: list
    many_forums: bool


def comparable_speakers(forum=None):
    """Return the published people with at least one published position (in ``forum``).

    A public role of theirs with a published position, by the role's tally: the choices of
    the comparison form then read only the tables of the lists of everyone
    (``listing.people_stamp``), which keep them across edits to positions.
    """
    roles = Appearance.objects.published().filter(speaker=OuterRef("pk"), tally__positions__gt=0)
    if forum is not None:
        roles = roles.filter(session__forum=forum)
    return Speaker.objects.published().filter(Exists(roles)).order_by("sort_name", "pk")


def compare_speakers(speakers, *, forum=None):
    """Return the ``Comparison`` of ``speakers`` (published people), theme by theme.

    Its ``columns`` have a ``ComparedSpeaker`` per person, in the order given, with their
    published roles (in ``forum`` if given), most recent forum first. Its ``rows`` have a
    ``ComparisonRow`` per published theme any of them has a position on, in forum then reading
    order, and last one with ``theme=None`` if some position is filed under no published theme.
    Four queries.
    """
    columns = [ComparedSpeaker(speaker) for speaker in speakers]
    column_of = {column.speaker.pk: index for index, column in enumerate(columns)}
    appearances = Appearance.objects.published().filter(speaker__in=column_of)
    positions = Position.objects.published().filter(appearance__speaker__in=column_of)
    if forum is not None:
        appearances = appearances.filter(session__forum=forum)
        positions = positions.filter(appearance__session__forum=forum)

    appearances = list(
        appearances.select_related("institution", "session__forum").order_by(
            "-session__forum__edition_year", "session__forum", "session__order", "order", "pk"
        )
    )
    for appearance in appearances:
        columns[column_of[appearance.speaker_id]].appearances.append(appearance)
    speaker_of = {appearance.pk: appearance.speaker_id for appearance in appearances}

    filed = Position.themes.through.objects.filter(
        position__in=positions, theme__in=Theme.objects.published()
    ).values_list("position_id", "theme_id")
    themes_of = defaultdict(list)
    for position_id, theme_id in filed:
        themes_of[position_id].append(theme_id)
    themes = Theme.objects.published().filter(pk__in={t for ts in themes_of.values() for t in ts})
    themes = themes.select_related("forum").order_by("-forum__edition_year", "forum", "order", "pk")

    cells = defaultdict(lambda: [[] for _column in columns])
    for position in positions:
        index = column_of[speaker_of[position.appearance_id]]
        for theme_id in themes_of[position.pk] or [None]:
            cells[theme_id][index].append(position)
    rows = [ComparisonRow(theme, cells[theme.pk]) for theme in themes]
    if None in cells:
        rows.append(ComparisonRow(None, cells[None]))
    many_forums = len({appearance.session.forum_id for appearance in appearances}) > 1
    return Comparison(columns, rows, many_forums)


# ---------------------------------------------------------------------------------------------
# Voice balance
# ---------------------------------------------------------------------------------------------


@dataclass
class BalanceRow:
    """One sector or country: its value (``UNKNOWN`` for none), label and the two counts."""

    value: str
    label: str
    positions: int
    speakers: int


@dataclass
class Balance:
    """Counts of ``positions`` (a queryset of published positions) by sector and by country.

    ``total_speakers`` counts people once even when they spoke for two sectors or countries,
    so it can be less than the sum of the rows.
    """

    by_sector: list
    by_country: list
    total_positions: int
    total_speakers: int


def voice_balance(positions):
    """Return the ``Balance`` of ``positions``: three queries.

    The sector and country are those of the institution of the role the person spoke in (at
    the time), not their current one. Every sector is listed, with zeros: a sector nobody
    spoke for is part of the balance. Countries are listed when they have positions, most
    positions first; a role with no institution, or an institution with no country, counts
    as unknown (last).
    """
    positions = positions.order_by()
    counts = {
        "positions": Count("pk", distinct=True),
        "speakers": Count("appearance__speaker", distinct=True),
    }

    def per(field):
        # No institution (NULL) and a blank country are one "unknown" group, counted in SQL so
        # that a person is counted once in it.
        key = Coalesce(field, Value(UNKNOWN))
        rows = positions.annotate(key=key).values("key").annotate(**counts)
        return {row["key"]: row for row in rows}

    totals = positions.aggregate(**counts)
    return _balance(
        per("appearance__institution__sector"),
        per("appearance__institution__country"),
        totals["positions"],
        totals["speakers"],
    )


def forum_voice_balance(forum):
    """Return the ``Balance`` of ``forum``'s published positions, as ``voice_balance()`` of
    them, from its roles' tallies (``AppearanceTally``): one query, of the tables the lists
    of everyone read, so that the page is kept by their stamp (``listing.people_stamp``)
    across edits to positions that change no tally.
    """
    roles = (
        Appearance.objects.published()
        .filter(session__forum=forum, tally__positions__gt=0)
        .order_by()
        .values_list(
            "speaker_id", "institution__sector", "institution__country", "tally__positions"
        )
    )
    groups = {"sector": defaultdict(lambda: [0, set()]), "country": defaultdict(lambda: [0, set()])}
    total, speakers = 0, set()
    for speaker, sector, country, positions in roles:
        # No institution (None) and a blank country are one "unknown" group, as in SQL.
        for name, key in (("sector", sector), ("country", country)):
            group = groups[name][key or UNKNOWN]
            group[0] += positions
            group[1].add(speaker)
        total += positions
        speakers.add(speaker)

    def rows(name):
        return {
            key: {"positions": count, "speakers": len(people)}
            for key, (count, people) in groups[name].items()
        }

    return _balance(rows("sector"), rows("country"), total, len(speakers))


def _balance(sectors, per_country, total_positions, total_speakers):
    """Return the ``Balance`` of ``{sector: counts}`` and ``{country: counts}`` (each a dict of
    ``positions`` and ``speakers``) and the totals."""
    by_sector = [
        BalanceRow(value, label, *_counts(sectors.get(value))) for value, label in Sector.choices
    ]
    if UNKNOWN in sectors:
        by_sector.append(BalanceRow(UNKNOWN, _("Unknown sector"), *_counts(sectors[UNKNOWN])))

    by_country = sorted(
        (
            BalanceRow(code, countries.name(code) or code, *_counts(row))
            for code, row in per_country.items()
            if code != UNKNOWN
        ),
        key=lambda row: (-row.positions, -row.speakers, row.label),
    )
    if UNKNOWN in per_country:
        by_country.append(BalanceRow(UNKNOWN, _("Unknown country"), *_counts(per_country[UNKNOWN])))
    return Balance(by_sector, by_country, total_positions, total_speakers)


def _counts(row):
    return (row["positions"], row["speakers"]) if row else (0, 0)


# The bar chart's geometry, in SVG user units: the chart scales to its box (CSS), so these are
# proportions. Each row is a label line, then a bar for positions and one for speakers.
CHART_WIDTH = 400
CHART_VALUE_ROOM = 36  # right of the longest bar, for its number
CHART_LEGEND = 28
CHART_ROW = 62
CHART_BAR = 14


@dataclass(frozen=True)
class ChartBar:
    value: int
    y: int
    width: str  # formatted here: templates would localise a float's decimal point
    text_x: str
    text_y: int


@dataclass(frozen=True)
class ChartRow:
    label: str
    label_y: int
    positions: ChartBar
    speakers: ChartBar


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    rows: list


def bar_chart(rows):
    """Return the ``Chart`` drawing ``rows`` (``BalanceRow``): two bars a row, one scale."""
    longest = max((max(row.positions, row.speakers) for row in rows), default=0) or 1
    scale = (CHART_WIDTH - CHART_VALUE_ROOM) / longest

    def bar(value, y):
        width = value * scale
        return ChartBar(value, y, f"{width:.1f}", f"{width + 6:.1f}", y + CHART_BAR - 2)

    chart_rows = []
    for index, row in enumerate(rows):
        top = CHART_LEGEND + index * CHART_ROW
        chart_rows.append(
            ChartRow(
                label=row.label,
                label_y=top + 16,
                positions=bar(row.positions, top + 24),
                speakers=bar(row.speakers, top + 24 + CHART_BAR + 4),
            )
        )
    return Chart(CHART_WIDTH, CHART_LEGEND + len(rows) * CHART_ROW, chart_rows)
