"""
Search over the public record beyond positions: report passages, themes and guiding questions,
speakers and institutions, forums and sessions.

Each of these is a ``RecordSearchDocument`` (its own table, beside the positions' index, so that
the position search keeps its narrow rows and bounded plans), analysed by the same analyser and
matched by the same backends (SQLite FTS5, PostgreSQL tsvector + GIN). A document's ``data``
keeps the indexed fields and what its hit shows, so a page of hits costs one statement, and
"matched in" is worked out from the fields without another query.

- **passage**: one paragraph of a public source document (``SourceDocument.paragraphs``, the
  numbering of ``/sources/<slug>/#pN``), with the speakers whose public positions cite it;
- **theme**, **question**: title and summary (English beside them);
- **speaker**, **institution**: their names (English names, aliases, short names);
- **forum**, **session**: name or title, and description.

Documents follow the data through ``schedule_records()`` (signals, the positions' re-index and
``deferred_indexing()``), and ``reindex_all_records()`` rebuilds them all (``manage.py
reindex``). Only public rows (each model's ``published()``) have a document.
"""

import json
from collections import defaultdict
from dataclasses import dataclass, field
from functools import lru_cache

from django.db import connection, transaction
from django.utils.translation import gettext_lazy as _

from forum_portal.cache import per_generation
from speakers.models import Institution, Speaker

from ..models import (
    Appearance,
    Forum,
    Position,
    Question,
    RecordSearchDocument,
    Session,
    SourceDocument,
    Theme,
)
from .analyser import ANALYSER_VERSION, document_tokens
from .backends import CANDIDATES, MatchSpec, _phrase_re, get_backend
from .facets import ALL_TOKEN, facet_token

# Result kinds, as the kind filter names them (``?kind=passage``), in the page's order.
POSITION = "position"
PASSAGE = "passage"
THEME = "theme"
PERSON = "person"
FORUM = "forum"
GROUPS = (POSITION, PASSAGE, THEME, PERSON, FORUM)
RECORD_GROUPS = GROUPS[1:]
GROUP_LABELS = {
    POSITION: _("Positions"),
    PASSAGE: _("Report passages"),
    THEME: _("Themes and guiding questions"),
    PERSON: _("People and institutions"),
    FORUM: _("Forums and sessions"),
}
# Record kind -> result kind.
KINDS = {
    "passage": PASSAGE,
    "theme": THEME,
    "question": THEME,
    "speaker": PERSON,
    "institution": PERSON,
    "forum": FORUM,
    "session": FORUM,
}
# Indexed field -> what "matched in" calls it.
FIELD_LABELS = {
    "text": _("text"),
    "translation": _("translation"),
    "key_phrase": _("key phrase"),
    "title": _("title"),
    "summary": _("summary"),
    "name": _("name"),
    "description": _("description"),
    "tag": _("tag"),
    "theme": _("theme"),
    "speaker": _("speaker"),
    "role": _("role"),
    "institution": _("institution"),
}
# The fields each kind indexes, and the label of each (English twins count as the field).
INDEXED_FIELDS = {
    "passage": (("text", "text"),),
    "theme": (("title", "title"), ("title_en", "title"), ("summary", "summary"),
              ("summary_en", "summary")),
    "question": (("title", "title"), ("title_en", "title"), ("summary", "summary"),
                 ("summary_en", "summary")),
    "speaker": (("name", "name"), ("name_en", "name"), ("aliases", "name")),
    "institution": (("name", "name"), ("name_en", "name"), ("short_name", "name"),
                    ("aliases", "name")),
    "forum": (("name", "name"), ("name_en", "name"), ("description", "description"),
              ("description_en", "description")),
    "session": (("title", "title"), ("title_en", "title"), ("description", "description"),
                ("description_en", "description")),
}  # fmt: skip
SOURCE = "source"  # schedule_records key of a source document: all its passages
PREVIEW = 8  # hits of each kind fetched when no kind is chosen
MAX_DOCUMENT_TOKENS = 16_000


def group_token(group):
    """Return the facet token of a result kind (``_rkpassage``)."""
    return f"_rk{group}"


# ---------------------------------------------------------------------------------------------
# Keeping the documents current
# ---------------------------------------------------------------------------------------------


def reindex_records(keys):
    """Bring the documents of ``keys`` up to date: ``(kind, id)`` pairs, ``("source", id)``.

    Public rows get their documents written again; the others lose theirs. A few queries per
    kind named, whatever the number of ids.
    """
    wanted = defaultdict(set)
    for kind, pk in keys:
        if pk is not None:
            wanted[kind].add(int(pk))
    if not wanted:
        return 0
    builder = RecordBuilder()
    written = 0
    with transaction.atomic():
        for kind, ids in wanted.items():
            documents = builder.build(kind, sorted(ids))
            stored_kind = "passage" if kind == SOURCE else kind
            RecordSearchDocument.objects.filter(kind=stored_kind, object_id__in=ids).delete()
            RecordSearchDocument.objects.bulk_create(documents, batch_size=1000)
            written += len(documents)
    return written


def reindex_all_records():
    """Rebuild every record document; return how many there are."""
    builder = RecordBuilder()
    written = 0
    with transaction.atomic():
        RecordSearchDocument.objects.all().delete()
        for kind in (SOURCE, "theme", "question", "speaker", "institution", "forum", "session"):
            documents = builder.build(kind, None)
            RecordSearchDocument.objects.bulk_create(documents, batch_size=1000)
            written += len(documents)
    return written


def forum_record_keys(forum_ids):
    """Return the keys of every record a change of these forums may publish or hide."""
    forum_ids = [int(pk) for pk in forum_ids]
    keys = {("forum", pk) for pk in forum_ids}
    keys |= {
        ("session", pk)
        for pk in Session.objects.filter(forum__in=forum_ids).values_list("pk", flat=True)
    }
    keys |= {
        ("theme", pk)
        for pk in Theme.objects.filter(forum__in=forum_ids).values_list("pk", flat=True)
    }
    keys |= {
        ("question", pk)
        for pk in Question.objects.filter(forum__in=forum_ids).values_list("pk", flat=True)
    }
    for speaker, institution, source in Appearance.objects.filter(
        session__forum__in=forum_ids
    ).values_list("speaker_id", "institution_id", "session__source_id"):
        keys |= {("speaker", speaker), ("institution", institution), (SOURCE, source)}
    keys |= {
        (SOURCE, pk)
        for pk in Position.objects.filter(appearance__session__forum__in=forum_ids).values_list(
            "source_id", flat=True
        )
    }
    return {key for key in keys if key[1] is not None}


def position_record_keys(position_ids):
    """Return the keys of the records a change of these positions may change (one query).

    A position's source (its passages list who cites them, and the source is public through
    its positions), its speaker and institution (public through their roles).
    """
    keys = set()
    for source, speaker, institution in Position.objects.filter(pk__in=position_ids).values_list(
        "source_id", "appearance__speaker_id", "appearance__institution_id"
    ):
        keys |= {(SOURCE, source), ("speaker", speaker), ("institution", institution)}
    return {key for key in keys if key[1] is not None}


class RecordBuilder:
    """Build unsaved RecordSearchDocuments for the public rows of one kind."""

    def __init__(self):
        self.backend = get_backend(connection)

    def build(self, kind, ids):
        """Return the documents of the public rows of ``kind`` among ``ids`` (all if None)."""
        return list(getattr(self, f"_{kind}")(ids))

    @staticmethod
    def _only(queryset, ids):
        return queryset if ids is None else queryset.filter(pk__in=ids)

    def _document(self, kind, pk, fields, display, facets, paragraph=0):
        tokens = []
        for name, _label in INDEXED_FIELDS[kind]:
            value = fields.get(name)
            text = (
                "\n".join(v for v in value if isinstance(v, str))
                if isinstance(value, list)
                else (value or "")
            )
            tokens += document_tokens(text)
        group = KINDS[kind]
        return self.backend.make_record_document(
            kind=kind,
            group=group,
            object_id=pk,
            paragraph=paragraph,
            tokens=tokens[:MAX_DOCUMENT_TOKENS],
            facets=sorted({ALL_TOKEN, group_token(group), *facets}),
            analyser_version=ANALYSER_VERSION,
            data=json.dumps({"fields": fields, **display}, ensure_ascii=False),
        )

    def _source(self, ids):
        sources = self._only(SourceDocument.objects.published(), ids).only(
            "pk", "slug", "title", "title_en", "language", "full_text"
        )
        sources = list(sources)
        if not sources:
            return
        pks = [source.pk for source in sources]
        forums = defaultdict(set)
        for source, forum in (
            Session.objects.published().filter(source__in=pks).values_list("source_id", "forum_id")
        ):
            forums[source].add(forum)
        cited = defaultdict(list)  # (source, paragraph) -> [speaker display]
        for source, paragraph, forum, slug, name, name_en in (
            Position.objects.published()
            .filter(source__in=pks, paragraph__isnull=False)
            .order_by("order", "pk")
            .values_list(
                "source_id",
                "paragraph",
                "appearance__session__forum_id",
                "appearance__speaker__slug",
                "appearance__speaker__name",
                "appearance__speaker__name_en",
            )
        ):
            forums[source].add(forum)
            speakers = cited[source, paragraph]
            if [slug, name, name_en] not in speakers:
                speakers.append([slug, name, name_en])
        for source in sources:
            facets = {facet_token("forum", forum) for forum in forums[source.pk]}
            display = {
                "slug": source.slug,
                "title": source.title,
                "title_en": source.title_en,
                "language": source.language,
            }
            for number, text in enumerate(source.paragraphs, start=1):
                yield self._document(
                    "passage",
                    source.pk,
                    {"text": text},
                    {**display, "speakers": cited[source.pk, number]},
                    facets,
                    paragraph=number,
                )

    def _forum_scoped(self, kind, queryset, ids):
        for row in self._only(queryset, ids).values(
            "pk", "slug", "title", "title_en", "summary", "summary_en", "forum_id",
            "forum__slug", "forum__name", "forum__name_en",
        ):  # fmt: skip
            fields = {name: row[name] for name, _label in INDEXED_FIELDS[kind]}
            display = {
                "slug": row["slug"],
                "forum": [row["forum__slug"], row["forum__name"], row["forum__name_en"]],
            }
            yield self._document(
                kind, row["pk"], fields, display, {facet_token("forum", row["forum_id"])}
            )

    def _theme(self, ids):
        return self._forum_scoped("theme", Theme.objects.published(), ids)

    def _question(self, ids):
        return self._forum_scoped("question", Question.objects.published(), ids)

    def _session(self, ids):
        for row in self._only(Session.objects.published(), ids).values(
            "pk", "slug", "title", "title_en", "description", "description_en", "forum_id",
            "forum__slug", "forum__name", "forum__name_en",
        ):  # fmt: skip
            fields = {name: row[name] for name, _label in INDEXED_FIELDS["session"]}
            display = {
                "slug": row["slug"],
                "forum": [row["forum__slug"], row["forum__name"], row["forum__name_en"]],
            }
            yield self._document(
                "session", row["pk"], fields, display, {facet_token("forum", row["forum_id"])}
            )

    def _forum(self, ids):
        for row in self._only(Forum.objects.published(), ids).values(
            "pk", "slug", "name", "name_en", "description", "description_en", "edition_year"
        ):
            fields = {name: row[name] for name, _label in INDEXED_FIELDS["forum"]}
            display = {"slug": row["slug"], "edition_year": row["edition_year"]}
            yield self._document(
                "forum", row["pk"], fields, display, {facet_token("forum", row["pk"])}
            )

    def _people(self, kind, queryset, ids, columns, link):
        rows = list(self._only(queryset, ids).values("pk", "slug", *columns))
        forums = defaultdict(set)
        for pk, forum in (
            Appearance.objects.published()
            .filter(**{f"{link}__in": [row["pk"] for row in rows]})
            .values_list(link, "session__forum_id")
        ):
            forums[pk].add(forum)
        for row in rows:
            fields = {name: row[name] for name, _label in INDEXED_FIELDS[kind]}
            facets = {facet_token("forum", forum) for forum in forums[row["pk"]]}
            yield self._document(kind, row["pk"], fields, {"slug": row["slug"]}, facets)

    def _speaker(self, ids):
        return self._people(
            "speaker", Speaker.objects.published(), ids, ("name", "name_en", "aliases"), "speaker"
        )

    def _institution(self, ids):
        return self._people(
            "institution",
            Institution.objects.published(),
            ids,
            ("name", "name_en", "short_name", "aliases"),
            "institution",
        )


# ---------------------------------------------------------------------------------------------
# Searching
# ---------------------------------------------------------------------------------------------


@dataclass
class RecordHit:
    """One record that matches: ``obj`` is an unsaved model instance built from the index.

    ``obj`` has what the hit shows (fields, slugs for its URL, its forum); ``paragraph`` is
    the passage's number; ``speakers`` the people whose positions cite the passage.
    """

    kind: str
    group: str
    object_id: int
    paragraph: int
    score: float
    obj: object
    fields: dict
    matched_in: list = field(default_factory=list)
    speakers: list = field(default_factory=list)
    forum: object = None
    language: str = "zh-Hant"

    @property
    def url(self):
        if self.kind == "passage":
            return f"{self.obj.get_absolute_url()}#p{self.paragraph}"
        return self.obj.get_absolute_url()

    @property
    def text_field(self):
        """The field whose text the hit shows as its snippet."""
        return {
            "passage": "text",
            "theme": "summary",
            "question": "summary",
            "forum": "description",
            "session": "description",
        }.get(self.kind)

    @property
    def title_field(self):
        return "name" if self.kind in ("speaker", "institution", "forum") else "title"


@dataclass
class RecordResults:
    counts: dict = field(default_factory=dict)  # result kind -> matching records
    hits: dict = field(default_factory=dict)  # result kind -> [RecordHit], best first

    @property
    def capped(self):
        """More records match than were counted (``CANDIDATES``): counts are lower bounds."""
        return sum(self.counts.values()) > CANDIDATES


def search_records(
    terms, excluded, facet_groups, *, group=None, first=1, last=PREVIEW, request=None
):
    """Return the records matching, counted per result kind; hits ranked ``first``..``last``.

    One statement. ``group`` limits the search to one result kind. With the public's
    ``request``, its rows are kept per content generation, as the positions' candidates are
    (``service._candidates``).
    """
    groups = tuple(facet_groups)
    if group is not None:
        groups += ((group_token(group),),)
    spec = MatchSpec(tuple(terms), tuple(excluded), groups)
    backend = get_backend(connection)
    rows = per_generation(
        request,
        f"records:{connection.vendor}",
        lambda: backend.fetch_records(spec, first=first, last=last),
        parts=(spec, first, last),
    )
    results = RecordResults()
    for _pk, kind, object_id, paragraph, row_group, score, _rank, count, data in rows:
        results.counts[row_group] = int(count)
        if data is None:
            continue
        hit = _hit(kind, row_group, object_id, paragraph, float(score or 0.0), json.loads(data))
        hit.matched_in = matched_in(
            [(label, hit.fields.get(name)) for name, label in INDEXED_FIELDS[kind]], terms
        )
        results.hits.setdefault(row_group, []).append(hit)
    return results


def _hit(kind, group, object_id, paragraph, score, data):
    fields = data["fields"]
    forum = None
    if data.get("forum"):
        slug, name, name_en = data["forum"]
        forum = Forum(slug=slug, name=name, name_en=name_en)
    plain = {name: value for name, value in fields.items() if isinstance(value, str)}
    if kind == "passage":
        obj = SourceDocument(
            pk=object_id,
            slug=data["slug"],
            title=data["title"],
            title_en=data["title_en"],
            language=data["language"],
        )
    elif kind in ("theme", "question", "session"):
        model = {"theme": Theme, "question": Question, "session": Session}[kind]
        obj = model(pk=object_id, slug=data["slug"], forum=forum, **plain)
    elif kind == "forum":
        obj = Forum(pk=object_id, slug=data["slug"], edition_year=data["edition_year"], **plain)
    else:
        model = Speaker if kind == "speaker" else Institution
        obj = model(pk=object_id, slug=data["slug"], **plain)
    speakers = [
        Speaker(slug=slug, name=name, name_en=name_en)
        for slug, name, name_en in data.get("speakers", ())
    ]
    return RecordHit(
        kind=kind,
        group=group,
        object_id=object_id,
        paragraph=paragraph,
        score=score,
        obj=obj,
        fields=fields,
        speakers=speakers,
        forum=forum,
        language=data.get("language", "zh-Hant"),
    )


def matched_in(labelled_texts, terms):
    """Return the labels of the fields in which any of ``terms`` matches, in field order.

    ``labelled_texts`` is ``[(label, text or list of texts)]``; matching is the index's
    (normalised tokens, so Simplified finds Traditional), done on the text at hand.
    """
    found = []
    for label, value in labelled_texts:
        if label in found or not value:
            continue
        texts = [v for v in value if isinstance(v, str)] if isinstance(value, list) else [value]
        if any(term_matches(text, term) for text in texts if text for term in terms):
            found.append(label)
    return found


def term_matches(text, term):
    """Return whether ``term`` matches ``text`` as the index would (any of its phrases)."""
    tokens = _token_string(text)
    return any(_phrase_re(phrase).search(tokens) for phrase in term.phrases)


@lru_cache(maxsize=20_000)
def _token_string(text):
    """Return the index tokens of ``text`` space-separated, with a space at each end.

    Cached: names, theme titles and tags recur on every page of hits.
    """
    return f" {' '.join(document_tokens(text))} "
