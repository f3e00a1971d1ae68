"""
What a position card renders, read for a list of positions in five plain statements.

``ListingRows(positions, themes)`` fetches what ``PositionQuerySet.for_listing()`` promises and
its ``build()`` sets it on the positions: each position's role (with its person, institution,
session and forum), its source (without its full text), its themes (with their forums) as
``listed_themes``, its tagged items (with each tag and its English name) as
``listed_tagged_items`` and its key phrases as ``listed_key_phrases``. The rows are the ones
``prefetch_related()`` with ``select_related()`` querysets would build, model instances made by
``Model.from_db()`` with the fields' own database converters, and related the same way: a
position's card digest
(``forum_portal.cache.content_digest``) is the same either way, which the tests check.
Rows whose prefetches wait for a reader (``prefetch_on_demand()``) are built a position at a
time when one is read, and digested as the statements returned them.

Why not the ORM: building and compiling the five prefetch querysets, and prefetch's own
bookkeeping, cost more than running them. For a page of 20 search results on PostgreSQL they
were 12 ms of a 30 ms search, 5 of them SQL (bench/README.md). The statements here are built
from the models' metadata once per process and database; every value is a bound parameter.
The roles and sources are read by id, not joined to the positions: PostgreSQL spent 20-25 ms
planning a cards query with six tables joined to the public rows' conditions, and a joined
source carried the whole report's text in every row.
"""

import hashlib
from functools import cache, partial

from django.contrib.contenttypes.models import ContentType
from django.db import connections
from taggit.models import Tag, TaggedItem

from forum_portal.cache import TableRows
from speakers.models import Institution, Speaker

from .models import (
    Appearance,
    AppearanceTally,
    Forum,
    KeyPhrase,
    Position,
    PositionStamp,
    Question,
    Session,
    SourceDocument,
    TagName,
    Theme,
)

# The source's long texts, which no card shows: left out, read when asked for, as defer() does.
SOURCE_DEFERRED = frozenset({"full_text", "provenance_note"})


class _Columns:
    """A model's columns in a statement, from ``alias``: instances from its slice of a row."""

    def __init__(self, model, alias, connection, exclude=frozenset()):
        quote = connection.ops.quote_name
        fields = [f for f in model._meta.concrete_fields if f.attname not in exclude]
        self.model = model
        self.attnames = [f.attname for f in fields]
        self.sql = ", ".join(f"{alias}.{quote(f.column)}" for f in fields)
        self.width = len(fields)
        self.pk_index = self.attnames.index(model._meta.pk.attname)
        # As the SQL compiler applies them (SQLCompiler.get_converters): the backend's, then
        # the field's (SQLite's dates and booleans, JSON, …).
        self.converters = []
        for index, field in enumerate(fields):
            column = field.get_col(alias)
            converters = connection.ops.get_db_converters(column)
            converters += field.get_db_converters(connection)
            if converters:
                self.converters.append((index, converters, column))

    def build(self, row, start, connection):
        """Return the instance in ``row[start:start + width]``, or None when its key is NULL."""
        values = row[start : start + self.width]
        if values[self.pk_index] is None:
            return None  # an outer join found nothing
        if self.converters:
            values = list(values)
            for index, converters, column in self.converters:
                value = values[index]
                for converter in converters:
                    value = converter(value, column, connection)
                values[index] = value
        return self.model.from_db(connection.alias, self.attnames, values)


class _Statements:
    """The five statements of ``ListingRows`` for one database, built once per process."""

    def __init__(self, connection):
        quote = connection.ops.quote_name
        table = lambda model: quote(model._meta.db_table)  # noqa: E731

        self.appearance = _Columns(Appearance, "a", connection)
        self.speaker = _Columns(Speaker, "s", connection)
        self.institution = _Columns(Institution, "i", connection)
        self.session = _Columns(Session, "se", connection)
        self.session_forum = _Columns(Forum, "sf", connection)
        role = (self.appearance, self.speaker, self.institution, self.session, self.session_forum)
        # Table and column names come from the models; the ids are bound parameters.
        self.roles = (
            f"SELECT {', '.join(c.sql for c in role)} FROM {table(Appearance)} a"  # noqa: S608
            f" INNER JOIN {table(Speaker)} s ON s.id = a.speaker_id"
            f" LEFT OUTER JOIN {table(Institution)} i ON i.id = a.institution_id"
            f" INNER JOIN {table(Session)} se ON se.id = a.session_id"
            f" INNER JOIN {table(Forum)} sf ON sf.id = se.forum_id"
            " WHERE a.id IN ({ids})"
        )

        self.source = _Columns(SourceDocument, "d", connection, exclude=SOURCE_DEFERRED)
        self.sources = (
            f"SELECT {self.source.sql} FROM {table(SourceDocument)} d WHERE d.id IN ({{ids}})"  # noqa: S608
        )

        self.theme = _Columns(Theme, "t", connection)
        self.theme_forum = _Columns(Forum, "tf", connection)
        through = Position.themes.through
        # Theme's ordering (forum, order, pk), the forum's being (-edition_year, name): what
        # the ORM's prefetch orders by.
        self.themes = (
            f"SELECT pt.position_id, {self.theme.sql}, {self.theme_forum.sql}"  # noqa: S608
            f" FROM {table(through)} pt INNER JOIN {table(Theme)} t ON t.id = pt.theme_id"
            f" INNER JOIN {table(Forum)} tf ON tf.id = t.forum_id"
            " WHERE pt.position_id IN ({ids}) AND t.id IN ({themes})"
            f" ORDER BY tf.edition_year DESC, tf.name ASC, t.{quote('order')} ASC, t.id ASC"
        )

        self.tagged_item = _Columns(TaggedItem, "ti", connection)
        self.tag = _Columns(Tag, "tg", connection)
        self.tag_name = _Columns(TagName, "n", connection)
        self.tags = (
            f"SELECT {self.tagged_item.sql}, {self.tag.sql}, {self.tag_name.sql}"  # noqa: S608
            f" FROM {table(TaggedItem)} ti INNER JOIN {table(Tag)} tg ON tg.id = ti.tag_id"
            f" LEFT OUTER JOIN {table(TagName)} n ON n.tag_id = tg.id"
            " WHERE ti.content_type_id = %s AND ti.object_id IN ({ids}) ORDER BY tg.name ASC"
        )

        self.key_phrase = _Columns(KeyPhrase, "k", connection)
        self.key_phrases = (
            f"SELECT {self.key_phrase.sql} FROM {table(KeyPhrase)} k"  # noqa: S608
            f" WHERE k.position_id IN ({{ids}}) ORDER BY k.{quote('order')} ASC, k.id ASC"
        )


@cache
def _statements(alias):
    return _Statements(connections[alias])


def _ids_sql(queryset, alias):
    """Return the SQL and parameters of ``queryset``'s ids, compiled for database ``alias``."""
    return queryset.order_by().values("pk").query.get_compiler(using=alias).as_sql()


@cache
def _public_themes_sql(alias):
    """Return ``_ids_sql()`` of the published themes (their one read rule), once per process."""
    return _ids_sql(Theme.objects.published(), alias)


def _themes_sql(themes, alias):
    return _public_themes_sql(alias) if themes is None else _ids_sql(themes, alias)


class ListingRows:
    """What the statements return for ``positions``, as the database's rows.

    ``digest(position)`` digests a position's rows as they came (``content_digest()`` uses it,
    ``Position.fetched_rows_digest()``) and ``build(positions)`` makes and sets their instances,
    a position at a time. After an edit elsewhere, a list's cards and API entries are found by
    the digests of their rows; only the ones not found are built and rendered. The API's list
    of 50 built 670 instances and walked them to digest them, to serialize none: its request
    after an edit now runs 43 % fewer instructions (bench/README.md).
    """

    def __init__(self, positions, themes=None, using="default"):
        positions = [p for p in positions if p.pk is not None]
        self.using = using
        self.roles, self.sources = {}, {}
        self.themes, self.tags, self.key_phrases = {}, {}, {}
        self._roles, self._sources = {}, {}  # built, shared by the positions of a role, source
        self._built = set()  # id() of the positions built
        self._grouping = {}  # forums and themes built by forum_and_themes()
        if not positions:
            return
        c = _statements(using)
        fetch = partial(_fetch, using)

        # The roles, with their people, institutions, sessions and forums (select_related()).
        for row in fetch(c.roles, sorted({p.appearance_id for p in positions})):
            self.roles[row[c.appearance.pk_index]] = row
        if source_ids := sorted({p.source_id for p in positions if p.source_id is not None}):
            for row in fetch(c.sources, source_ids):
                self.sources[row[c.source.pk_index]] = row

        ids = [p.pk for p in positions]
        self.themes = {pk: [] for pk in ids}
        themes_sql, themes_params = _themes_sql(themes, using)
        for row in fetch(c.themes.replace("{themes}", themes_sql), ids, after=themes_params):
            self.themes[row[0]].append(row)

        content_type = ContentType.objects.get_for_model(Position)
        self.tags = {pk: [] for pk in ids}
        # Tagged items hold their object's id as text or as an integer, by taggit's version.
        object_id = TaggedItem._meta.get_field("object_id")
        object_index = c.tagged_item.attnames.index("object_id")
        for row in fetch(
            c.tags, [object_id.get_prep_value(pk) for pk in ids], before=[content_type.pk]
        ):
            self.tags[int(row[object_index])].append(row)

        self.key_phrases = {pk: [] for pk in ids}
        position_index = c.key_phrase.attnames.index("position_id")
        for row in fetch(c.key_phrases, ids):
            self.key_phrases[row[position_index]].append(row)

    @classmethod
    def from_parts(cls, parts, using="default"):
        """Return the rows of positions as ``parts()`` gave them: ``{position pk: parts}``."""
        rows = cls((), using=using)
        c = _statements(using)
        for pk, (role, source, themes, tags, key_phrases) in parts.items():
            if role is not None:
                rows.roles[role[c.appearance.pk_index]] = role
            if source is not None:
                rows.sources[source[c.source.pk_index]] = source
            rows.themes[pk], rows.tags[pk] = list(themes), list(tags)
            rows.key_phrases[pk] = list(key_phrases)
        return rows

    def parts(self, position):
        """Return the rows read for ``position``, its own row left out, as plain values."""
        pk = position.pk
        return (
            self.roles.get(position.appearance_id),
            self.sources.get(position.source_id),
            tuple(self.themes.get(pk, ())),
            tuple(self.tags.get(pk, ())),
            tuple(self.key_phrases.get(pk, ())),
        )

    def digest(self, position):
        """Return a digest of the rows read for ``position``, its own row left out."""
        # repr() of plain values (str, int, date, datetime, Decimal, bool, None): stable from
        # one process to the next, as content_digest() needs.
        return hashlib.blake2b(repr(self.parts(position)).encode(), digest_size=16).hexdigest()

    def forum_and_themes(self, position):
        """Return the forum of ``position``'s role and its themes (with their forums), built
        from the rows read without the rest of what a card renders: enough to group a list of
        cards whose own rows may all come from the cache (``group_by_forum_and_theme()``)."""
        c = _statements(self.using)
        connection = connections[self.using]
        forum = None
        if (role := self.roles.get(position.appearance_id)) is not None:
            start = c.appearance.width + c.speaker.width + c.institution.width + c.session.width
            forum = self._shared(Forum, role[start + c.session_forum.pk_index], role, start)
        themes = []
        for row in self.themes.get(position.pk, ()):
            theme = self._shared(Theme, row[1 + c.theme.pk_index], row, 1)
            if "forum" not in theme._state.fields_cache:
                start = 1 + c.theme.width
                theme._state.fields_cache["forum"] = c.theme_forum.build(row, start, connection)
            themes.append(theme)
        return forum, themes

    def _shared(self, model, pk, row, start):
        """Return the ``model`` instance ``pk`` in ``row`` from ``start``, built once."""
        key = (model, pk)
        if key not in self._grouping:
            c = _statements(self.using)
            columns = c.session_forum if model is Forum else c.theme
            self._grouping[key] = columns.build(row, start, connections[self.using])
        return self._grouping[key]

    def build(self, positions):
        """Set on each of ``positions`` (among those read) its instances, once each."""
        connection = connections[self.using]
        c = _statements(self.using)
        for position in positions:
            if position.pk is None or id(position) in self._built:
                continue
            self._built.add(id(position))
            pk = position.pk
            position._state.fields_cache["appearance"] = self._role(position.appearance_id, c)
            # As prefetching does, a position without a source has it cached as None.
            source = self.sources.get(position.source_id)
            if source is not None and position.source_id not in self._sources:
                self._sources[position.source_id] = c.source.build(source, 0, connection)
            position._state.fields_cache["source"] = self._sources.get(position.source_id)

            themes = []
            for row in self.themes.get(pk, ()):
                theme = c.theme.build(row, 1, connection)
                forum = c.theme_forum.build(row, 1 + c.theme.width, connection)
                theme._state.fields_cache["forum"] = forum
                themes.append(theme)
            position.listed_themes = themes

            items = []
            for row in self.tags.get(pk, ()):
                item = c.tagged_item.build(row, 0, connection)
                tag = c.tag.build(row, c.tagged_item.width, connection)
                name = c.tag_name.build(row, c.tagged_item.width + c.tag.width, connection)
                # select_related("tag__names"): the reverse one-to-one is cached, found or not.
                tag._state.fields_cache["names"] = name
                if name is not None:
                    name._state.fields_cache["tag"] = tag
                item._state.fields_cache["tag"] = tag
                items.append(item)
            position.listed_tagged_items = items

            phrases = []
            for row in self.key_phrases.get(pk, ()):
                phrase = c.key_phrase.build(row, 0, connection)
                # As the reverse relation's prefetch does: the phrase knows its position.
                phrase._state.fields_cache["position"] = position
                phrases.append(phrase)
            position.listed_key_phrases = phrases

    def _role(self, pk, c):
        """Return the role ``pk`` with its person, institution, session and forum, or None."""
        role = self._roles.get(pk)
        if role is None and pk in self.roles:
            role = self._roles[pk] = _build_role(self.roles[pk], c, connections[self.using])
        return role


class RoleRows:
    """Roles by id, with their people, institutions, sessions and forums, in the order given.

    Read with ``ListingRows``' statement, kept as the database returned them:
    ``rows_digest()`` digests them so (``{% fragment … rows=… %}`` uses it), iterating builds
    them, once. For the people of a list of positions, public whenever the positions are: a
    theme page's 59 speakers were 177 model instances built and walked to digest them, to find
    the part kept (bench/README.md).
    """

    def __init__(self, ids, using="default"):
        self.ids = list(ids)
        self.using = using
        self.rows = {}
        if self.ids:
            c = _statements(using)
            for row in _fetch(using, c.roles, sorted(set(self.ids))):
                self.rows[row[c.appearance.pk_index]] = row
        self._built = None

    def rows_digest(self):
        rows = [self.rows[pk] for pk in self.ids if pk in self.rows]
        return hashlib.blake2b(repr(rows).encode(), digest_size=16).hexdigest()

    def __iter__(self):
        if self._built is None:
            c = _statements(self.using)
            connection = connections[self.using]
            self._built = [
                _build_role(self.rows[pk], c, connection) for pk in self.ids if pk in self.rows
            ]
        return iter(self._built)

    def __len__(self):
        return sum(pk in self.rows for pk in self.ids)


# What no list of everyone shows, left out of its rows (read when asked for, as defer() does):
# a person's biography and photo, a role's note, and names only imports match.
PEOPLE_DEFERRED = {
    Appearance: frozenset({"role_note", "role_note_en"}),
    Speaker: frozenset({"bio", "bio_en", "photo", "aliases"}),
    Institution: frozenset({"aliases"}),
}


class _PeopleStatement:
    """The statement of ``PeopleRows`` for one database: roles by id, each with its person and
    institution, built once per process."""

    def __init__(self, connection):
        quote = connection.ops.quote_name
        table = lambda model: quote(model._meta.db_table)  # noqa: E731
        columns = {
            model: _Columns(model, alias, connection, exclude=PEOPLE_DEFERRED[model])
            for model, alias in [(Appearance, "a"), (Speaker, "s"), (Institution, "i")]
        }
        self.appearance, self.speaker, self.institution = columns.values()
        self.speaker_index = self.appearance.attnames.index("speaker_id")
        self.sql = (
            f"SELECT {', '.join(c.sql for c in columns.values())}"  # noqa: S608
            f" FROM {table(Appearance)} a INNER JOIN {table(Speaker)} s ON s.id = a.speaker_id"
            f" LEFT OUTER JOIN {table(Institution)} i ON i.id = a.institution_id"
            " WHERE a.id IN ({ids})"
        )


@cache
def _people_statement(alias):
    return _PeopleStatement(connections[alias])


class PeopleRows:
    """Everyone with one of ``roles``, with those roles and their institutions: a list of
    everyone, as the database returned it.

    ``roles``: a queryset of the roles, in the order the list shows them (each person's first
    role first); ``counts``: ``{person id: the number of positions shown beside them}``. Their
    ids, then their rows, are read in two statements; ``rows_digest()`` digests the rows
    with the counts (``{% fragment … rows=… %}``), so that after an edit that changes neither
    the list's first reader reads it but does not render it again; iterating builds the people
    once, each with ``roles`` (in order) and ``position_count``. The speaker list built 8,000
    model instances through ``prefetch_related()`` to render 2,279 people after every edit:
    0.5 s at 100,000 positions (bench/README.md).
    """

    def __init__(self, roles, counts):
        using = roles.db
        self.ids = list(roles.values_list("pk", flat=True))
        self.counts = counts
        self.using = using
        statement = _people_statement(using)
        # The roles' own statement as a subquery, not their ids: 3,000 ids bound as parameters
        # took PostgreSQL 50 ms at 100,000 positions, where the subquery takes 16-22.
        ids_sql, params = _ids_sql(roles, using)
        with connections[using].cursor() as cursor:
            cursor.execute(statement.sql.replace("{ids}", ids_sql), params)
            self.rows = {row[statement.appearance.pk_index]: row for row in cursor.fetchall()}
        self._people = None

    def _ordered(self):
        return [self.rows[pk] for pk in self.ids if pk in self.rows]

    def rows_digest(self):
        index = _people_statement(self.using).speaker_index
        rows = self._ordered()
        counts = [self.counts.get(row[index], 0) for row in rows]
        return hashlib.blake2b(repr((rows, counts)).encode(), digest_size=16).hexdigest()

    def people(self):
        """Return the people, in the order of their first role, each built once."""
        if self._people is None:
            statement = _people_statement(self.using)
            connection = connections[self.using]
            people = {}
            for row in self._ordered():
                role = statement.appearance.build(row, 0, connection)
                person = people.get(role.speaker_id)
                if person is None:
                    start = statement.appearance.width
                    person = people[role.speaker_id] = statement.speaker.build(
                        row, start, connection
                    )
                    person.roles = []
                    person.position_count = self.counts.get(person.pk, 0)
                start = statement.appearance.width + statement.speaker.width
                institution = statement.institution.build(row, start, connection)
                role._state.fields_cache.update(speaker=person, institution=institution)
                person.roles.append(role)
            self._people = list(people.values())
        return self._people

    def __iter__(self):
        return iter(self.people())

    def __len__(self):
        return len(self.people())


def attnames_of(model, wanted):
    """Return the attribute names ``wanted`` of ``model``'s fields in the order of its fields,
    which ``Model.from_db()`` expects of a subset of them."""
    names = [field.attname for field in model._meta.concrete_fields if field.attname in wanted]
    if unknown := set(wanted) - set(names):
        raise ValueError(f"{model.__name__} has no fields {sorted(unknown)}")
    return names


class ValueRows:
    """The rows of ``queryset``, its ``fields`` alone (attribute names, the key among them),
    as tuples: ``rows_digest()`` digests them, iterating builds the instances once (every other
    field deferred).

    For a long list kept by its rows (``{% fragment … rows=… %}``) whose markup shows these
    fields and nothing else: the compare form's 2,279 people, built as instances, rendered and
    digested so after every edit, took 247-262 ms of its first reader's request on PostgreSQL
    at 100,000 positions, now 92-107 (bench/README.md, "Session 20").
    """

    def __init__(self, queryset, fields):
        self.model, self.using = queryset.model, queryset.db
        self.fields = attnames_of(self.model, fields)
        self.rows = list(queryset.values_list(*self.fields))
        self._built = None

    def rows_digest(self):
        return hashlib.blake2b(repr(self.rows).encode(), digest_size=16).hexdigest()

    def __iter__(self):
        if self._built is None:
            build = partial(self.model.from_db, self.using, self.fields)
            self._built = [build(row) for row in self.rows]
        return iter(self._built)

    def __len__(self):
        return len(self.rows)


def _fetch(using, sql, ids, before=(), after=()):
    """Return the rows of one of the statements (``{ids}``: as many placeholders as ids)."""
    placeholders = ", ".join(["%s"] * len(ids))
    with connections[using].cursor() as cursor:
        cursor.execute(sql.replace("{ids}", placeholders), [*before, *ids, *after])
        return cursor.fetchall()


def _build_role(row, c, connection):
    """Return the role in a row of the roles statement, with what was selected with it."""
    role = c.appearance.build(row, 0, connection)
    start = c.appearance.width
    speaker = c.speaker.build(row, start, connection)
    start += c.speaker.width
    institution = c.institution.build(row, start, connection)
    start += c.institution.width
    session = c.session.build(row, start, connection)
    start += c.session.width
    session._state.fields_cache["forum"] = c.session_forum.build(row, start, connection)
    role._state.fields_cache.update(speaker=speaker, institution=institution, session=session)
    return role


# The tables a role's public rows are read from: people, their roles and institutions, and the
# sessions and forums that make a role public.
PEOPLE_TABLES = (Speaker, Institution, Appearance, Session, Forum)


def role_tallies_digest():
    """Return a digest of every role's number of published positions (``AppearanceTally``)."""
    rows = AppearanceTally.objects.order_by("pk").values_list("pk", "positions")
    return hashlib.blake2b(repr(list(rows)).encode(), digest_size=16).hexdigest()


def forums_stamp(request):
    """Return what the list of forums is made of, as ``TableRows``: the forums with their
    questions and themes' counts, and what ``people_stamp()`` covers (their positions and
    people, from the roles' tallies)."""
    return TableRows(request, (*PEOPLE_TABLES, Question, Theme), role_tallies_digest)


def people_stamp(request):
    """Return what the lists of everyone are made of, as ``TableRows``: the stamp of
    ``PEOPLE_TABLES``; positions only through their roles' tallies, by a digest of those (the
    database's triggers write them, which the write watch does not see). An edit to positions
    that changes no tally (a quote, a translation, a theme, a tag) leaves those lists kept."""
    return TableRows(request, PEOPLE_TABLES, role_tallies_digest)


# What a forum's pages read besides its positions: its sessions, questions and themes, its
# people, and what their positions' cards show (sources, themes, tags, key phrases).
FORUM_TABLES = (
    *PEOPLE_TABLES,
    Question,
    Theme,
    Theme.questions.through,
    Position.themes.through,
    SourceDocument,
    KeyPhrase,
    Tag,
    TaggedItem,
    TagName,
)


def positions_stamp(request, scope, keys):
    """Return what a part listing the positions of ``keys`` (ids of the ``scope``, a
    ``PositionStamp.Scope``: forums, sessions, themes, people, institutions) is made of, as
    ``TableRows``: the stamp of ``FORUM_TABLES``, and each one's stamp of its positions
    (``PositionStamp``, which the database's triggers move on with every write to them; read
    in the same database as the part's rows, before them). A quote corrected elsewhere moves
    the positions' table's stamp on, not these: the part is kept. ``keys`` (a queryset of
    ids, say) is read only when the part is not kept under the content generation."""

    def positions():
        ids = sorted(set(keys))
        stamps = PositionStamp.objects.filter(scope=scope, key__in=ids)
        stamps = dict(stamps.values_list("key", "stamp"))
        return f"{scope} " + " ".join(f"{key}:{stamps.get(key, 0)}" for key in ids)

    return TableRows(request, FORUM_TABLES, positions)


def stamp_of(request, owner):
    """``positions_stamp()`` of what lists the positions of ``owner``, a forum, a session, a
    theme, a person or an institution (their CSVs, API lists, feeds and pages)."""
    scope = {
        Forum: PositionStamp.Scope.FORUM,
        Session: PositionStamp.Scope.SESSION,
        Theme: PositionStamp.Scope.THEME,
        Speaker: PositionStamp.Scope.SPEAKER,
        Institution: PositionStamp.Scope.INSTITUTION,
    }[type(owner)]
    return positions_stamp(request, scope, [owner.pk])
