"""
Keeping the search index equal to the published positions.

``reindex_positions(ids)`` is the one way documents are written: it reads the current state of
each position and writes its document when the position is public (``published_position_q``),
or removes it otherwise. Everything that changes what a position's document holds calls it:

- ``Position.save()`` and many-to-many changes of its themes and tags, and saves of the
  speakers, institutions, roles, sessions, forums, themes, questions and tags it shows, through
  the signal receivers in ``signals.py`` (admin edits need no manual step);
- ``PositionQuerySet.update()`` / ``bulk_update()`` / ``bulk_create()``, which bypass ``save()``;
- the import service and ``workflow.transition`` (publishing), which batch their writes with
  ``deferred_indexing()`` and re-index each touched position once at the end;
- ``manage.py reindex`` (``reindex_all``), after the analyser changes.

The other records (report passages, themes, people, forums: ``records.py``) follow the same
way: ``schedule_records(keys)`` re-indexes them now or at the end of ``deferred_indexing()``;
re-indexing positions also re-indexes their sources, speakers and institutions, and
``reindex_all`` rebuilds the records too.
"""

import datetime
from collections import defaultdict
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from django.contrib.contenttypes.models import ContentType
from django.db import connection, transaction
from django.db.models import BooleanField, Case, Value, When
from taggit.models import TaggedItem

from speakers.models import Institution, Speaker

from ..models import (
    KeyPhrase,
    Position,
    PositionSearchDocument,
    Theme,
    published_position_q,
    published_theme_q,
)
from .analyser import ANALYSER_VERSION, document_tokens
from .backends import get_backend
from .facets import ALL_TOKEN, canonical_language, facet_token
from .records import position_record_keys, reindex_all_records, reindex_records

# PostgreSQL stores at most 16,383 positions per document; quotes are far shorter.
MAX_DOCUMENT_TOKENS = 16_000
CHUNK_SIZE = 1000

# doc_key: the day said (ordinal) in the high bits, then the position id inverted, so that
# ``ORDER BY doc_key DESC`` is newest first and, within a day, reading order (lower ids first).
PK_BITS = 40
_PK_MASK = (1 << PK_BITS) - 1


def doc_key(said_on: datetime.date, pk: int) -> int:
    """Return the ordering key of position ``pk`` said on ``said_on``."""
    return (said_on.toordinal() << PK_BITS) | (_PK_MASK - pk)


def said_on(held_on, starts_on, edition_year) -> datetime.date:
    """Return the day a position was said: its session's, else its forum's first day or year."""
    return held_on or starts_on or datetime.date(edition_year, 1, 1)


def pk_from_doc_key(key: int) -> int:
    """Return the position id packed in ``doc_key``."""
    return _PK_MASK - (key & _PK_MASK)


_pending: ContextVar[set | None] = ContextVar("search_reindex_pending", default=None)
_pending_records: ContextVar[set | None] = ContextVar("search_records_pending", default=None)


def schedule_records(keys):
    """Re-index records ``keys`` (``records.reindex_records``) now or at the end of the block."""
    keys = {(kind, int(pk)) for kind, pk in keys if pk is not None}
    if not keys:
        return
    pending = _pending_records.get()
    if pending is None:
        reindex_records(keys)
    else:
        pending.update(keys)


def schedule_reindex(ids):
    """Re-index positions ``ids`` now, or at the end of the enclosing ``deferred_indexing()``."""
    ids = {int(pk) for pk in ids}
    if not ids:
        return
    pending = _pending.get()
    if pending is None:
        reindex_positions(ids)
    else:
        pending.update(ids)


@contextmanager
def deferred_indexing():
    """Collect re-index requests inside the block; re-index each position once when it ends.

    Nothing is re-indexed if the block raises (its transaction is expected to roll back).
    Nested blocks defer to the outermost one.
    """
    if _pending.get() is not None:
        yield
        return
    pending, pending_records = set(), set()
    token = _pending.set(pending)
    records_token = _pending_records.set(pending_records)
    try:
        yield
        reindex_positions(pending)
    finally:
        _pending.reset(token)
        _pending_records.reset(records_token)
    reindex_records(pending_records)


def reindex_positions(ids) -> int:
    """Bring the documents of positions ``ids`` up to date; return how many exist afterwards.

    Steps, per chunk of ids: load the positions that are public, with everything a document
    holds (3 to 6 queries); delete the chunk's old documents; insert the new ones. Ids of
    drafts and of deleted positions just lose their document. Inside ``deferred_indexing()``,
    these ids are taken off the pending set, since their current state is now indexed.
    """
    if hasattr(ids, "values_list"):
        ids = ids.values_list("pk", flat=True)
    ids = sorted({int(pk) for pk in ids})
    pending = _pending.get()
    if pending is not None:
        pending.difference_update(ids)
    builder = DocumentBuilder()
    written = 0
    with transaction.atomic():
        for start in range(0, len(ids), CHUNK_SIZE):
            chunk = ids[start : start + CHUNK_SIZE]
            documents = builder.build(chunk)
            PositionSearchDocument.objects.filter(position_id__in=chunk).delete()
            PositionSearchDocument.objects.bulk_create(documents)
            written += len(documents)
            # The positions' sources (passages list who cites them), speakers and institutions.
            schedule_records(position_record_keys(chunk))
    return written


def reindex_all(*, progress=None) -> int:
    """Rebuild the whole index from the published positions; return the number of documents.

    One transaction: the backend drops its index (FTS5 triggers, GIN index), the documents are
    rewritten in chunks, then the index is built in one pass, which is several times faster than
    maintaining it row by row. ``progress(done, total)`` is called after each chunk. On
    PostgreSQL, searches wait for the rebuild to commit.
    """
    backend = get_backend(connection)
    # Fresh statistics first: after a bulk load the planner would otherwise join the positions
    # through the status index (hours at 1M rows instead of seconds).
    backend.analyse()
    # Documents are written in doc_key order, so that the table's physical order is the index's
    # (SQLite's FTS5 then appends rowids in order; PostgreSQL's newest-first scan reads the heap
    # sequentially).
    dated = Position.objects.filter(published_position_q()).values_list(
        "pk",
        "appearance__session__held_on",
        "appearance__session__forum__starts_on",
        "appearance__session__forum__edition_year",
    )
    ids = [pk for _key, pk in sorted((doc_key(said_on(*dates), pk), pk) for pk, *dates in dated)]
    builder = DocumentBuilder()
    with transaction.atomic():
        backend.begin_rebuild()  # also empties the documents table
        for start in range(0, len(ids), CHUNK_SIZE):
            PositionSearchDocument.objects.bulk_create(
                builder.build(ids[start : start + CHUNK_SIZE])
            )
            if progress:
                progress(min(start + CHUNK_SIZE, len(ids)), len(ids))
        backend.end_rebuild()
        reindex_all_records()
    return len(ids)


# What a document is made of: the only columns read from the positions and their joins.
DOCUMENT_FIELDS = (
    "pk",
    "text",
    "translation",
    "language",
    "fidelity",
    *(
        f"appearance__{name}"
        for name in ("as_printed", "role", "role_en", "speaker", "institution", "session")
    ),
    *(f"appearance__speaker__{name}" for name in ("name", "name_en", "aliases")),
    *(
        f"appearance__institution__{name}"
        for name in ("name", "name_en", "short_name", "aliases", "sector")
    ),
    "appearance__session__held_on",
    "appearance__session__forum",
    "appearance__session__forum__starts_on",
    "appearance__session__forum__edition_year",
)


class DocumentBuilder:
    """Build documents, analysing each speaker, institution, theme and tag once per run."""

    def __init__(self):
        self.backend = get_backend(connection)
        self.speakers = {}  # id -> tokens
        self.institutions = {}  # id -> (tokens, sector)
        self.themes = {}  # id -> _Theme
        self.tags = {}  # id -> tokens
        self.position_type = ContentType.objects.get_for_model(Position)

    def build(self, ids):
        """Return unsaved PositionSearchDocuments for the public positions among ``ids``."""
        positions = list(
            Position.objects.filter(pk__in=ids)
            .filter(published_position_q())
            .select_related(
                "appearance__speaker", "appearance__institution", "appearance__session__forum"
            )
            .only(*DOCUMENT_FIELDS)
        )
        if not positions:
            return []
        pks = [position.pk for position in positions]
        themes_of = defaultdict(list)
        for position_id, theme_id in Position.themes.through.objects.filter(
            position_id__in=pks
        ).values_list("position_id", "theme_id"):
            themes_of[position_id].append(theme_id)
        self._load_themes({t for ts in themes_of.values() for t in ts})
        tags_of = defaultdict(list)
        for object_id, tag_id, name, name_en in TaggedItem.objects.filter(
            content_type=self.position_type, object_id__in=pks
        ).values_list("object_id", "tag_id", "tag__name", "tag__names__name_en"):
            tags_of[object_id].append(tag_id)
            if tag_id not in self.tags:
                self.tags[tag_id] = document_tokens(f"{name}\n{name_en or ''}")
        # A key phrase is part of its position's text, but its translation may word it
        # differently from the position's translation: both are indexed.
        phrases_of = defaultdict(list)
        for position_id, text, translation in KeyPhrase.objects.filter(
            position_id__in=pks
        ).values_list("position_id", "text", "translation"):
            phrases_of[position_id] += [text, translation]
        return [
            self.document(
                position, themes_of[position.pk], tags_of[position.pk], phrases_of[position.pk]
            )
            for position in positions
        ]

    def document(self, position, theme_ids, tag_ids, phrases=()):
        appearance = position.appearance
        session = appearance.session
        forum = session.forum
        tokens = document_tokens(position.text)
        tokens += document_tokens(position.translation)
        if phrases:
            tokens += document_tokens("\n".join(phrases))
        tokens += self._speaker_tokens(appearance.speaker)
        facets = {
            ALL_TOKEN,
            facet_token("speaker", appearance.speaker_id),
            facet_token("forum", forum.pk),
            facet_token("language", canonical_language(position.language)),
            facet_token("fidelity", position.fidelity),
        }
        if appearance.institution_id:
            institution_tokens, sector = self._institution(appearance.institution)
            tokens += institution_tokens
            facets.add(facet_token("institution", appearance.institution_id))
            facets.add(facet_token("sector", sector))
        role = appearance.as_printed
        if appearance.role and appearance.role not in role:
            role = f"{role} {appearance.role}"
        tokens += document_tokens(f"{role}\n{appearance.role_en}")
        for theme_id in theme_ids:
            theme = self.themes.get(theme_id)
            if theme is None or not theme.public:
                continue  # a draft theme shows nowhere, so it finds nothing either
            tokens += theme.tokens
            facets.update(facet_token("question", q) for q in theme.questions)
            # Only the theme the position is filed under: a parent (an outlook over its tasks)
            # counts what its own page lists, so the facet, the theme page and the forum page
            # give one number.
            facets.add(facet_token("theme", theme.pk))
        for tag_id in tag_ids:
            facets.add(facet_token("tag", tag_id))
            tokens += self.tags[tag_id]
        tokens = tokens[:MAX_DOCUMENT_TOKENS]
        return self.backend.make_document(
            position_id=position.pk,
            doc_key=doc_key(
                said_on(session.held_on, forum.starts_on, forum.edition_year), position.pk
            ),
            tokens=tokens,
            facets=sorted(facets),
            analyser_version=ANALYSER_VERSION,
        )

    def _speaker_tokens(self, speaker: Speaker):
        if speaker.pk not in self.speakers:
            names = [speaker.name, speaker.name_en, *_strings(speaker.aliases)]
            self.speakers[speaker.pk] = document_tokens("\n".join(names))
        return self.speakers[speaker.pk]

    def _institution(self, institution: Institution):
        if institution.pk not in self.institutions:
            names = [
                institution.name,
                institution.name_en,
                institution.short_name,
                *_strings(institution.aliases),
            ]
            self.institutions[institution.pk] = (
                document_tokens("\n".join(names)),
                institution.sector,
            )
        return self.institutions[institution.pk]

    def _load_themes(self, theme_ids):
        """Load the given themes into the cache."""
        missing = set(theme_ids) - self.themes.keys()
        if not missing:
            return
        themes = (
            Theme.objects.filter(pk__in=missing)
            .annotate(
                public=Case(
                    When(published_theme_q(), then=Value(True)),
                    default=Value(False),
                    output_field=BooleanField(),
                )
            )
            .prefetch_related("questions")
        )
        for theme in themes:
            self.themes[theme.pk] = _Theme(
                pk=theme.pk,
                public=theme.public,
                tokens=document_tokens(f"{theme.title}\n{theme.title_en}"),
                questions=[question.pk for question in theme.questions.all()],
            )


@dataclass(frozen=True)
class _Theme:
    pk: int
    public: bool
    tokens: list
    questions: list


def _strings(values):
    """Return the strings of a JSON list field (aliases), ignoring anything else stored there."""
    return [value for value in values if isinstance(value, str)] if isinstance(values, list) else []
