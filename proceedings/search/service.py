"""
The search API the search page (and "search within" a speaker, theme or institution) calls.

``search(query, filters, sort, page, kind=…)`` runs a constant number of SQL queries whatever
the input: one to resolve the filters (when there are any), one for the candidates of the query
and of each facet's count, one for the other records (``records.search_records``: passages,
themes, people, forums, with words to search for), one for the facet labels, and the three of
``Position.for_listing()`` for the page. Paging through another kind than positions: the
filters, the positions' candidates (their count) and the records.
"""

import hashlib
import re
from collections import Counter
from dataclasses import dataclass, field, replace

from django.core.paginator import Page, Paginator
from django.db import connection
from django.db.models import CharField, F, Q, Value
from django.db.models.functions import Coalesce, NullIf
from django.utils.safestring import SafeString
from django.utils.translation import get_language_info, gettext
from taggit.models import Tag

from forum_portal.cache import per_generation_many
from speakers.models import Institution, Sector, Speaker

from ..models import (
    Forum,
    Position,
    Question,
    TagName,
    Theme,
    listed_positions,
    tag_name_en,
)
from .backends import CANDIDATES, RANKED, Candidates, MatchSpec, get_backend
from .facets import FACETS, canonical_language, facet_token, parse_facet_token
from .highlight import excerpt, highlight
from .indexing import pk_from_doc_key
from .query import MAX_QUERY_CHARS, MAX_TERMS, ParsedQuery, clean_text, parse_query
from .records import GROUPS, POSITION, PREVIEW, RECORD_GROUPS, matched_in, search_records

SORT_RELEVANCE = "relevance"
SORT_DATE = "date"
SORTS = (SORT_RELEVANCE, SORT_DATE)
PER_PAGE = 20
MAX_PER_PAGE = 100
FACET_LIMIT = 50  # values listed per facet (by count); selected values are always listed
WHO_SAYS_MOST = 10
MAX_FILTER_VALUES = 20
MAX_FILTER_CHARS = 200
LANGUAGE_RE = re.compile(r"^[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*$")


@dataclass(frozen=True)
class FacetValue:
    """One value of a facet: ``value`` goes in the URL (``?theme=pujiang-2025:outlook``)."""

    value: str
    label: str
    label_en: str
    count: int
    selected: bool = False


@dataclass(frozen=True)
class ActiveFilter:
    """A filter in effect, for "remove this filter" links."""

    facet: str
    value: str
    label: str
    tokens: tuple = field(default=(), repr=False, compare=False)  # its facet tokens

    def keys(self):
        """Return the ids (model facets) or values (sector, language, fidelity) it selects."""
        return [parse_facet_token(token)[1] for token in self.tokens]


@dataclass(frozen=True)
class SearchHit:
    position: Position
    snippet: SafeString  # the original text, matches in <mark> (or its beginning)
    translation_snippet: SafeString | None  # the translation, when it matches
    score: float | None  # relevance, for the newest RANKED matches of a ranked search
    matched_in: tuple = ()  # the fields the query matched: "text", "theme", "speaker"…


@dataclass
class SearchResult:
    """Everything the search page shows.

    ``page`` is a Django ``Page`` whose ``object_list`` is the SearchHits of this page.
    ``total`` is exact unless ``total_capped``: then more than ``CANDIDATES`` positions match,
    only the newest ``CANDIDATES`` can be paged through, and the facet counts
    (``facets_partial``) are counted over those. By relevance, the newest ``RANKED`` matches
    come first, best first, then the others newest first.
    """

    query: ParsedQuery
    sort: str
    page: Page
    total: int = 0
    total_capped: bool = False
    filters: dict = field(default_factory=dict)  # facet -> values in effect
    active_filters: list = field(default_factory=list)
    facets: dict = field(default_factory=dict)  # facet -> [FacetValue], by count
    facets_partial: bool = False
    who_says_most: list = field(default_factory=list)  # speaker FacetValues, by count
    messages: list = field(default_factory=list)  # for the reader: ignored input, no results…
    kind: str | None = None  # the result kind chosen (``GROUPS``), None for all of them
    record_counts: dict = field(default_factory=dict)  # result kind -> matching records
    records_capped: bool = False  # more records match than were counted
    records: dict = field(default_factory=dict)  # result kind -> best RecordHits (or the page)

    @property
    def hits(self):
        """The position hits of the page (none when another result kind is chosen)."""
        if self.kind not in (None, POSITION):
            return []
        return list(self.page.object_list)

    @property
    def record_hits(self):
        """The record hits of the page, when a record kind is chosen."""
        if self.kind in (None, POSITION):
            return []
        return list(self.page.object_list)

    @property
    def kind_counts(self):
        """``[(kind, count, capped)]`` of every result kind (positions first)."""
        return [(POSITION, self.total, self.total_capped)] + [
            (group, self.record_counts.get(group, 0), self.records_capped)
            for group in RECORD_GROUPS
        ]

    @property
    def positions(self):
        return [hit.position for hit in self.page.object_list]

    @property
    def candidates_limit(self):
        return CANDIDATES

    @property
    def ranked_limit(self):
        return RANKED


def search(
    query="",
    filters=None,
    sort=SORT_RELEVANCE,
    page=1,
    per_page=PER_PAGE,
    kind=None,
    *,
    records=True,
    hits=True,
    request=None,
) -> SearchResult:
    """Search the published record; never raises on any user input.

    Positions are paged through; with words to search for, report passages, themes and
    questions, people and institutions, forums and sessions are searched too, counted per
    result kind, and their best few returned (``records``). ``kind`` (one of ``GROUPS``) pages
    through one result kind instead; other values mean all. Records are searched only with no
    filter but ``forum`` (the other facets are the positions'), and only with ``records``
    (feeds and downloads, which list positions, leave them out).

    ``filters`` maps facet names (``FACETS``: theme, question, speaker, institution, sector,
    forum, tag, language, fidelity) to a value or a list of values; a ``QueryDict`` works, and
    keys that are not facets are ignored. Values of one facet are alternatives (OR), facets
    combine (AND). Facet counts for a facet apply the query and every *other* facet's filter.

    ``hits``: False leaves the page as the ids of its positions, in order, which may include
    one unpublished since it was indexed: for a feed, which reads the positions it lists
    itself, not the page's 100 positions built and highlighted (``_hits``).

    ``request``: the reader's, whose content generation keeps the page's positions (``_hits``).
    """
    parsed = parse_query(query)
    sort = sort if sort in SORTS else SORT_RELEVANCE
    per_page = _int(per_page, PER_PAGE, 1, MAX_PER_PAGE)
    messages = []
    if parsed.truncated:
        messages.append(
            gettext(
                "Your search was long: only its first %(words)s words and %(chars)s characters "
                "were used."
            )
            % {"words": MAX_TERMS, "chars": MAX_QUERY_CHARS}
        )
    if parsed.ignored:
        messages.append(
            gettext("Ignored (nothing to search for in them): %(pieces)s")
            % {"pieces": " ".join(parsed.ignored[:10])}
        )
    groups, active, resolved_filters = _resolve_filters(_filter_values(filters), messages)
    kind = kind if kind in GROUPS else None
    result = SearchResult(
        query=parsed,
        sort=sort if parsed.terms else SORT_DATE,
        page=Paginator([], per_page).get_page(1),
        filters=resolved_filters,
        active_filters=active,
        messages=messages,
        kind=kind,
    )
    if parsed.is_empty and not parsed.is_blank:
        messages.append(
            gettext("Nothing to search for in “%(query)s”: type a word in Chinese or English.")
            % {"query": parsed.raw[:50]}
        )
        return result

    specs = [
        MatchSpec(
            parsed.terms,
            parsed.excluded,
            tuple(groups.values()),
            # Another kind chosen: the positions are only counted.
            rank=result.sort == SORT_RELEVANCE and kind in (None, POSITION),
        )
    ]
    # Facets describe positions: counted when positions are listed, not for another kind.
    for name in groups if kind in (None, POSITION) else ():
        # each filtered facet is counted without its own filter
        specs.append(
            MatchSpec(
                parsed.terms,
                parsed.excluded,
                tuple(tokens for other, tokens in groups.items() if other != name),
            )
        )
    candidate_sets = _candidates(specs, request)
    main = candidate_sets[0]
    rows = _ordered_rows(main, result.sort)
    result.total = len(rows)
    result.total_capped = main.capped

    if kind in (None, POSITION):
        counted = dict.fromkeys(FACETS, main)
        counted.update(zip(groups, candidate_sets[1:], strict=True))
        result.facets_partial = any(c.capped for c in counted.values())
        result.facets = _facets(counted, active, request)
        result.who_says_most = [value for value in result.facets["speaker"] if value.count][
            :WHO_SAYS_MOST
        ]

    if records and parsed.terms and set(groups) <= {"forum"}:
        _search_records(result, parsed, groups, page, per_page, request)
    if kind in (None, POSITION):
        paginator = Paginator(range(len(rows)), per_page)
        page_obj = paginator.get_page(page)
        page_rows = [rows[i] for i in page_obj.object_list]
        if hits:
            page_obj.object_list = _hits(page_rows, parsed, request)
        else:
            page_obj.object_list = [pk_from_doc_key(key) for key, _score, _facets in page_rows]
        result.page = page_obj

    if not rows and not any(result.record_counts.values()):
        if active:
            messages.append(
                gettext("No positions match with these filters. Remove a filter to see more.")
            )
        elif not parsed.is_blank:
            messages.append(
                gettext(
                    "No positions match “%(query)s”. Try fewer or shorter words, or the English "
                    "translation (Traditional and Simplified characters are both searched)."
                )
                % {"query": parsed.summary}
            )
    return result


def _candidates(specs, request=None):
    """Return the backend's ``fetch(specs)``, each set kept per content generation for the public.

    What Solr calls its query result and filter caches: paging through a search, the same
    search by another reader, and the next search of a reader narrowing one down reuse the
    candidate sets (at most ``CANDIDATES`` rows each: keys, scores, facet tokens) instead of
    running their statement again. A set is kept by its spec, not by the search: one more
    filter makes a new set for the results, while the set that counts that filter's values
    is the previous search's results. An unranked spec (a facet's) is also served by the same
    spec's ranked set, whose scores it ignores. The index's tables are curated content, so any
    write to them moves the generation on (``forum_portal.cache``); specs do not depend on the
    reader's language. The sets not kept are fetched in one statement.
    """
    backend = get_backend(connection)
    keys = [_spec_key(spec) for spec in specs]
    ranked = {
        key: _spec_key(replace(spec, rank=True))
        for key, spec in zip(keys, specs, strict=True)
        if spec.terms and not spec.rank
    }

    def fetch(missing):
        # A set is fetched when neither it nor its ranked twin was found; missing twins are
        # only looked up, never stored from here.
        wanted = {
            key: spec
            for key, spec in zip(keys, specs, strict=True)
            if key in missing and ranked.get(key, key) in missing
        }
        if not wanted:
            return {}
        fetched = backend.fetch(list(wanted.values()))
        return {key: _counted(candidates) for key, candidates in zip(wanted, fetched, strict=True)}

    found = per_generation_many(
        request, f"candidates:{connection.vendor}", [*keys, *ranked.values()], fetch
    )
    return [found[key] if key in found else found[ranked[key]] for key in keys]


def _counted(candidates):
    """Return ``candidates`` with their facets counted, and their rows without facet tokens.

    Counted once, when fetched: a set found again (the facets of a search narrowed down or
    paged through) is not counted again, and without the tokens (about a dozen a row) it is a
    seventh of the size to keep and to read. A value's count follows the rows' order, newest
    first, so ties in ``most_common()`` are broken alike on every backend.
    """
    text = " ".join(row[2] for row in candidates.rows[:CANDIDATES])
    counts = {name: Counter() for name in FACETS}
    for token, count in Counter(text.split()).items():
        if parsed := parse_facet_token(token):
            counts[parsed[0]][parsed[1]] += count
    return Candidates([(key, score, "") for key, score, _facets in candidates.rows], counts)


def _spec_key(spec):
    return hashlib.blake2b(repr(spec).encode(), digest_size=16).hexdigest()


def _search_records(result, parsed, groups, page, per_page, request=None):
    """Add the matching records to ``result``: a page of one kind, or the best of each.

    One statement; two when a record kind's page number is past its last page (the last page
    is then fetched).
    """
    kind = result.kind

    def fetch(number):
        if kind in RECORD_GROUPS:
            first = (number - 1) * per_page + 1
            return search_records(
                parsed.terms, parsed.excluded, groups.values(), group=kind,
                first=first, last=first + per_page - 1, request=request,
            )  # fmt: skip
        return search_records(
            parsed.terms, parsed.excluded, groups.values(), last=PREVIEW, request=request
        )

    number = _int(page, 1, 1, 10**9)
    records = fetch(number)
    result.record_counts = records.counts
    result.records_capped = records.capped
    result.records = records.hits
    if kind in RECORD_GROUPS:
        count = min(records.counts.get(kind, 0), CANDIDATES)
        page_obj = Paginator(range(count), per_page).get_page(number)
        if page_obj.number != number:
            records = fetch(page_obj.number)
        page_obj.object_list = records.hits.get(kind, [])
        result.page = page_obj


def matching_position_ids(query="", filters=None, sort=SORT_RELEVANCE):
    """Return the ids of the positions ``search()`` pages through, in the same order.

    The same query, filters and sort as ``search()``; at most ``CANDIDATES`` ids (the newest
    matches), which may include a position unpublished since it was indexed (look the ids up
    in ``Position.objects.published()``). Two queries: the filters and the candidates.
    """
    parsed = parse_query(query)
    groups, _active, _resolved = _resolve_filters(_filter_values(filters), [])
    if parsed.is_empty and not parsed.is_blank:
        return []
    sort = (sort if sort in SORTS else SORT_RELEVANCE) if parsed.terms else SORT_DATE
    spec = MatchSpec(
        parsed.terms, parsed.excluded, tuple(groups.values()), rank=sort == SORT_RELEVANCE
    )
    (main,) = get_backend(connection).fetch([spec])
    return [pk_from_doc_key(row[0]) for row in _ordered_rows(main, sort)]


def requested_filters(filters):
    """Return ``{facet: [values]}``: the filter values ``search()`` reads from ``filters``.

    A dict or a ``QueryDict``; keys that are not facets are left out, values are cleaned,
    deduplicated and limited (``MAX_FILTER_VALUES``, ``MAX_FILTER_CHARS``) as the search does.
    """
    return _filter_values(filters)


def resolve_filters(filters):
    """Return ``(active filters, unknown)`` for the filter values in ``filters``.

    ``active`` lists an ``ActiveFilter`` per value that names something public (its ``keys()``
    are the ids or values it selects); ``unknown`` is ``{facet: [values]}`` of the others. One
    query (none without filters on a model facet). The search page and the API parse filters
    with this, so a filter value means the same everywhere.
    """
    values = _filter_values(filters)
    _groups, active, resolved = _resolve_filters(values, [])
    unknown = {
        name: [value for value in wanted if value not in resolved.get(name, ())]
        for name, wanted in values.items()
    }
    return active, {name: wanted for name, wanted in unknown.items() if wanted}


def _ordered_rows(candidates, sort):
    """Return the candidate rows in the order of ``sort`` (at most ``CANDIDATES``)."""
    rows = candidates.rows[:CANDIDATES]
    if sort == SORT_RELEVANCE:
        # The scored newest matches best first, then any others newest first (stable: the
        # doc_key, which holds the position id, breaks ties).
        scored = sorted((row for row in rows if row[1] is not None), key=lambda r: (-r[1], -r[0]))
        rows = scored + [row for row in rows if row[1] is None]
    return rows


def _int(value, default, low, high):
    try:
        number = int(value)
    except (TypeError, ValueError, OverflowError):
        return default
    return max(low, min(high, number))


def _filter_values(filters):
    """Return ``{facet: [values]}`` from a dict or QueryDict: known facets, strings, distinct."""
    out = {}
    if not filters:
        return out
    for name in FACETS:
        if hasattr(filters, "getlist"):
            raw = filters.getlist(name)
        else:
            raw = filters.get(name)
            if raw is None:
                continue
            if isinstance(raw, str | int) or not hasattr(raw, "__iter__"):
                raw = [raw]
        values = []
        for value in raw:
            value = clean_text(value).strip()[:MAX_FILTER_CHARS]
            if value and value not in values:
                values.append(value)
        if values:
            out[name] = values[:MAX_FILTER_VALUES]
    return out


# Labels and slugs of the facets stored as rows: (kind, id, slug, forum slug, label, label_en).
def _entity_rows(kind, queryset, label, label_en, forum_slug=None):
    return queryset.annotate(
        _kind=Value(kind, output_field=CharField()),
        _forum=forum_slug if forum_slug is not None else Value("", output_field=CharField()),
        _label=label,
        _label_en=label_en,
    ).values_list("_kind", "pk", "slug", "_forum", "_label", "_label_en")


def _entity_querysets(conditions):
    """Return the rows of every model facet in ``conditions`` ({facet: Q}), in one query."""
    sources = {
        "theme": lambda q: _entity_rows(
            "theme",
            Theme.objects.published().filter(q),
            F("title"),
            F("title_en"),
            F("forum__slug"),
        ),
        "question": lambda q: _entity_rows(
            "question",
            Question.objects.published().filter(q),
            F("title"),
            F("title_en"),
            F("forum__slug"),
        ),
        "speaker": lambda q: _entity_rows(
            "speaker", Speaker.objects.published().filter(q), F("name"), F("name_en")
        ),
        "institution": lambda q: _entity_rows(
            "institution", Institution.objects.published().filter(q), F("name"), F("name_en")
        ),
        "forum": lambda q: _entity_rows(
            "forum", Forum.objects.published().filter(q), F("name"), F("name_en")
        ),
        "tag": lambda q: _entity_rows(
            "tag",
            Tag.objects.filter(q),
            F("name"),
            Coalesce(NullIf(F("names__name_en"), Value("")), F("name")),
        ),
    }
    querysets = [sources[name](condition).order_by() for name, condition in conditions.items()]
    if not querysets:
        return []
    first, *rest = querysets
    return list(first.union(*rest, all=True).order_by()) if rest else list(first)


def _entity_value(kind, slug, forum_slug):
    return f"{forum_slug}:{slug}" if kind in ("theme", "question") else slug


def _resolve_filters(values, messages):
    """Return ``(token groups, active filters, {facet: values})`` for the valid filter values.

    One query for all the facets stored as rows; unknown values are reported in ``messages``.
    """
    conditions = {}
    for name, wanted in values.items():
        if name not in ("theme", "question", "speaker", "institution", "forum", "tag"):
            continue
        condition = Q(pk__in=[])
        for value in wanted:
            if name in ("theme", "question") and ":" in value:
                forum_slug, _sep, slug = value.partition(":")
                condition |= Q(forum__slug=forum_slug, slug=slug)
            elif name == "tag":
                condition |= Q(slug=value) | Q(name=value)
            else:
                condition |= Q(slug=value)
        conditions[name] = condition
    # (facet, requested value) -> [(id, label)]: a plain theme slug may name one theme in each
    # of several forums.
    found = {}
    for kind, pk, slug, forum_slug, label, _label_en in _entity_querysets(conditions):
        for value in values[kind]:
            names = {slug, _entity_value(kind, slug, forum_slug)}
            if kind == "tag":
                names.add(label)
            if value in names:
                found.setdefault((kind, value), []).append((pk, label))

    groups, active, resolved = {}, [], {}
    for name, wanted in values.items():
        tokens, unknown = [], []
        for value in wanted:
            keys = _resolve_value(name, value, found)
            if not keys:
                unknown.append(value)
                continue
            new_tokens = [facet_token(name, key) for key, _label in keys]
            tokens += [token for token in new_tokens if token not in tokens]
            active.append(ActiveFilter(name, value, keys[0][1], tuple(new_tokens)))
            resolved.setdefault(name, []).append(value)
        if tokens:
            groups[name] = tuple(tokens)
        for value in unknown:
            messages.append(
                gettext("There is no %(facet)s “%(value)s”; that filter was ignored.")
                % {"facet": FACETS[name].label.lower(), "value": value}
            )
    return groups, active, resolved


def _resolve_value(name, value, found):
    """Return the ``[(token key, label)]`` of one filter value; empty if it is unknown."""
    if (name, value) in found:
        return found[name, value]
    if name == "sector" and value in Sector.values:
        return [(value, str(Sector(value).label))]
    if name == "fidelity" and value in Position.Fidelity.values:
        return [(value, str(Position.Fidelity(value).label))]
    if name == "language" and LANGUAGE_RE.match(value):
        code = canonical_language(value)
        return [(code, _language_label(code))]
    return []


def _language_label(code):
    """Return the name of language ``code`` in the reader's language (lazy: Traditional Chinese
    on English pages, 繁體中文 on Traditional ones), or the code itself."""
    try:
        info = get_language_info(code.lower())
    except KeyError:
        return code
    return info["name_translated"]


def _facets(counted, active, request=None):
    """Return ``{facet: [FacetValue]}``: counts from each facet's candidate set, with labels.

    The sets' counts (``_counted``) are over at most ``CANDIDATES`` rows each; the labels of
    the model facets take one query for all of them.
    """
    counts = {name: candidates.facet_counts[name] for name, candidates in counted.items()}
    # The most frequent values (ties in candidate order, which is the same on every backend).
    shown = {name: [key for key, _n in c.most_common(FACET_LIMIT)] for name, c in counts.items()}
    # The labels of ids: kept per content generation for the public (``per_generation_many``),
    # each a query of up to six UNIONed tables otherwise; in the process too, as a search reads
    # about 230 of them and fetching them from the cache took 4 ms.
    wanted = {
        f"{name}:{key}": (name, key)
        for name, keys in shown.items()
        if FACETS[name].keyed_by_id
        for key in keys
    }
    found = per_generation_many(
        request,
        "facet-label",
        list(wanted),
        lambda missing: {
            f"{name}:{key}": label
            for (name, key), label in _labels_of([wanted[m] for m in missing]).items()
        },
        local=True,
    )
    labels = {wanted[key]: label for key, label in found.items()}

    facets = {}
    for name in FACETS:
        # Selected values keep the value the filter was given with (a plain or a forum-qualified
        # theme slug), so that a link removing it matches the URL.
        chosen = {token: f.value for f in active if f.facet == name for token in f.tokens}
        values, listed = [], set()
        for key in shown[name]:
            if FACETS[name].keyed_by_id:
                if (name, key) not in labels:
                    continue  # e.g. a theme of a forum unpublished since indexing
                value, label, label_en = labels[name, key]
            else:
                value, label, label_en = _value_label(name, key)
            token = facet_token(name, key)
            listed.add(token)
            value = chosen.get(token, value)
            values.append(FacetValue(value, label, label_en, counts[name][key], token in chosen))
        # Selected values that match nothing now are still listed (with 0), to be removed.
        for f in active:
            if f.facet == name and not listed.intersection(f.tokens):
                values.append(FacetValue(f.value, f.label, f.label, 0, True))
        values.sort(key=lambda v: (-v.count, v.label, v.value))
        facets[name] = values
    return facets


# (kind, table, joined forum for the URL value, label column, English label column)
_LABEL_SOURCES = {
    # model, scoped to a forum, label column, English label (an SQL expression over t)
    "theme": (Theme, True, "title", "t.title_en"),
    "question": (Question, True, "title", "t.title_en"),
    "speaker": (Speaker, False, "name", "t.name_en"),
    "institution": (Institution, False, "name", "t.name_en"),
    "forum": (Forum, False, "name", "t.name_en"),
    "tag": (Tag, False, "name", "COALESCE(NULLIF(n.name_en, ''), t.name)"),
}
# A tag's English name is in its TagName row, when it has one.
_LABEL_JOINS = {"tag": f" LEFT JOIN {TagName._meta.db_table} n ON n.tag_id = t.id"}


def _labels_of(pairs):
    """Return ``_labels()`` of ``[(facet, id)]``."""
    keys = {}
    for name, key in pairs:
        keys.setdefault(name, []).append(key)
    return _labels(keys)


def _labels(keys):
    """Return ``{(facet, id): (value, label, label_en)}`` for ids found in the index.

    One UNION ALL query. Plain SQL rather than six ORM querysets: building those took longer
    than running them (5 ms), and these ids come from the index, which holds only published
    positions, so no read rule applies here.
    """
    parts, params = [], []
    forum_table = Forum._meta.db_table
    for name, ids in keys.items():
        if not ids:
            continue
        model, scoped, label, label_en = _LABEL_SOURCES[name]
        table = model._meta.db_table
        forum_slug = "f.slug" if scoped else "''"
        join = f" JOIN {forum_table} f ON f.id = t.forum_id" if scoped else ""
        join += _LABEL_JOINS.get(name, "")
        parts.append(
            # Table and column names are constants; the ids are bound parameters.
            f"SELECT %s, t.id, t.slug, {forum_slug}, t.{label}, {label_en} FROM {table} t{join}"  # noqa: S608, E501
            f" WHERE t.id IN ({', '.join(['%s'] * len(ids))})"
        )
        params += [name, *ids]
    if not parts:
        return {}
    with connection.cursor() as cursor:
        cursor.execute(" UNION ALL ".join(parts), params)
        rows = cursor.fetchall()
    return {
        (kind, pk): (_entity_value(kind, slug, forum_slug), label, label_en)
        for kind, pk, slug, forum_slug, label, label_en in rows
    }


def _value_label(name, key):
    if name == "sector":
        label = str(Sector(key).label) if key in Sector.values else key
    elif name == "fidelity":
        label = str(Position.Fidelity(key).label) if key in Position.Fidelity.values else key
    else:
        label = _language_label(key)
    return key, label, label


def _hits(rows, parsed, request=None):
    """Return the SearchHits of the page's rows: positions for listing, snippets highlighted.

    With the public's ``request``, each position as ``for_listing()`` reads it is kept for the
    content generation (``per_generation_many``): reading the page's 20 with their five
    prefetches was 18 ms of a search on PostgreSQL (bench/README.md).
    """
    ids = [pk_from_doc_key(key) for key, _score, _facets in rows]
    if not ids:
        return []
    positions = listed_positions(request, ids)
    hits = []
    for (_key, score, _facets), pk in zip(rows, ids, strict=True):
        position = positions.get(pk)
        if position is None:
            continue  # unpublished while the index was stale: never shown
        snippet = highlight(position.text, parsed.terms)
        translation = highlight(position.translation, parsed.terms)
        # Text and translation: what highlighting found; the other fields are short.
        fields = ["text"] if snippet else []
        fields += ["translation"] if translation else []
        fields += matched_in(_position_fields(position), parsed.terms)
        snippet = snippet or excerpt(position.text)
        hits.append(SearchHit(position, snippet, translation, score, tuple(fields)))
    return hits


def _position_fields(position):
    """Return ``[(label, text or texts)]``: what a position's search document is made of.

    The same fields as ``indexing.DocumentBuilder.document`` but text and translation (which
    highlighting has looked at), read from the rows ``for_listing()`` loaded (no query).
    """
    appearance = position.appearance
    speaker, institution = appearance.speaker, appearance.institution
    fields = [
        (
            "key_phrase",
            [text for k in position.listed_key_phrases for text in (k.text, k.translation)],
        ),
        ("tag", [name for tag in position.listed_tags for name in (tag.name, tag_name_en(tag))]),
        ("theme", [text for t in position.listed_themes for text in (t.title, t.title_en)]),
        ("speaker", [speaker.name, speaker.name_en, *_strings(speaker.aliases)]),
        ("role", [appearance.as_printed, appearance.role, appearance.role_en]),
    ]
    if institution is not None:
        names = [institution.name, institution.name_en, institution.short_name]
        fields.append(("institution", names + _strings(institution.aliases)))
    return fields


def _strings(values):
    return [value for value in values if isinstance(value, str)] if isinstance(values, list) else []
