"""
The search page: ``/search/?q=…&theme=…&sort=…&page=…``.

Everything it shows comes from one call to ``proceedings.search.search()`` (a constant number of
queries whatever the input); this module only turns the result into links that keep the rest of
the URL's state (query, filters, sort) and counts the search for the editors (``record_search``).
Every link is a plain GET URL, so the page works without JavaScript and each state of it can be
shared and bookmarked.
"""

from dataclasses import dataclass
from urllib.parse import quote_plus

from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import translation
from django.utils.http import urlencode
from django.utils.safestring import mark_safe

from forum_portal.cache import per_generation

from . import localize
from .pagination import page_navigation
from .search import search
from .search.facets import FACETS
from .search.highlight import excerpt, highlight
from .search.query import QUERY_PARAM, search_params
from .search.records import (
    FIELD_LABELS,
    FORUM,
    GROUP_LABELS,
    GROUPS,
    PASSAGE,
    POSITION,
    RECORD_GROUPS,
    THEME,
)
from .search.service import SORT_DATE, SORT_RELEVANCE, SORTS
from .search.statistics import record_search

KIND_PARAM = "kind"
PEOPLE_STRIP = 8  # people and institutions above the results
RECORDS_SHOWN = 3  # hits of each other record kind above the positions, when no kind is chosen


@dataclass(frozen=True)
class FacetLink:
    """One value of a facet with the URL that adds it (or, when selected, removes it)."""

    value: object  # a service FacetValue
    url: str


@dataclass(frozen=True)
class FacetGroup:
    name: str
    label: str
    links: list


@dataclass(frozen=True)
class FilterChip:
    """A filter in effect and the URL of the page without exactly that value."""

    facet: str
    label: str
    label_en: str
    facet_label: str
    remove_url: str


@dataclass(frozen=True)
class ShownHit:
    """A search hit and its snippets as this reader reads them (``localize.HitSnippets``)."""

    position: object
    snippets: localize.HitSnippets
    matched_in: tuple = ()

    @property
    def matched_labels(self):
        return [str(FIELD_LABELS[label]) for label in self.matched_in]


@dataclass(frozen=True)
class ShownRecord:
    """A record hit as this reader reads it: title and snippet, matches marked, and why."""

    hit: object  # a records.RecordHit
    snippet: str  # HTML
    snippet_lang: str
    matched_in: list  # translated labels


@dataclass(frozen=True)
class KindLink:
    kind: str
    label: str
    count: int
    capped: bool
    url: str
    current: bool


def shown_record(hit, terms):
    """Return the ``ShownRecord`` of a record hit: its text in the reader's language."""
    field = hit.text_field
    if hit.kind == "passage":
        text = localize.in_reader_script(hit.fields.get("text", ""), hit.language)
    elif field:
        text = localize.localized(hit.obj, field)
    else:
        text = localize.Text("", "")
    snippet = (highlight(text.text, terms) or excerpt(text.text)) if text.text else ""
    labels = [str(FIELD_LABELS[label]) for label in hit.matched_in]
    return ShownRecord(hit, snippet, text.lang, labels)


class _State:
    """The page's URL state (query, filters in effect, sort, kind) and URLs for variations of it."""

    def __init__(self, query, filters, sort, kind=None):
        self.query = query
        self.filters = {name: list(values) for name, values in filters.items()}
        self.sort = sort
        self.kind = kind
        self._around = {}  # facet -> the encoded parameters before and after its new value

    def url(self, *, filters=None, sort=None, page=None, kind=""):
        filters = self.filters if filters is None else filters
        sort = self.sort if sort is None else sort
        kind = self.kind if kind == "" else kind
        params = self._params(filters, sort, page, kind)
        return "?" + urlencode(params) if params else "?"

    def _params(self, filters, sort, page, kind):
        params = []
        if self.query:
            params.append((QUERY_PARAM, self.query))
        if kind:
            params.append((KIND_PARAM, kind))
        for name in FACETS:
            params += [(name, value) for value in filters.get(name, ())]
        if sort:
            params.append(("sort", sort))
        if page and page != 1:
            params.append(("page", page))
        return params

    def with_value(self, facet, value):
        """Return the URL with ``value`` added to ``facet``: ``url()`` with it, made cheaply.

        A search page links about 230 facet values; each URL is the page's own query string
        with one parameter inserted after the facet's values, so the parts before and after
        that point are encoded once per facet.
        """
        if value in self.filters.get(facet, ()):
            return self.url()
        if facet not in self._around:
            params = self._params(self.filters, self.sort, None, self.kind)
            # The query, the kind, this facet's values and those of the facets before it.
            upto = set(list(FACETS)[: list(FACETS).index(facet) + 1]) | {QUERY_PARAM, KIND_PARAM}
            end = sum(name in upto for name, _value in params)
            self._around[facet] = (urlencode(params[:end]), urlencode(params[end:]))
        before, after = self._around[facet]
        # What urlencode() makes of one (name, string) pair, without its checks of every pair.
        added = f"{facet}={quote_plus(value)}"
        return "?" + "&".join(part for part in (before, added, after) if part)

    def without_value(self, facet, value):
        filters = {
            name: [v for v in values if not (name == facet and v == value)]
            for name, values in self.filters.items()
        }
        return self.url(filters={name: values for name, values in filters.items() if values})


def search_page(request):
    """The search page: its results are a page part kept per content generation.

    The results (facets, people, other records, positions) depend on nothing but the query
    string, the language and the content: rendered once per generation for the public
    (``per_generation``, keyed by both), as a theme's page of cards is. The part records what
    counting the search needs; staff, who read the index as it is, render it each time.
    """
    params = request.GET
    query, requested_sort, page_number = search_params(params)
    computed = {}

    def render_results():
        context = _results_context(request, params, query, requested_sort, page_number)
        computed.update(context)
        result = context["result"]
        html = render_to_string("proceedings/_search_results.html", context, request)
        return SearchResults(html, result.filters, result.total, context["indexable"])

    key = (translation.get_language(), request.get_host(), sorted(params.lists()))
    results = per_generation(request, "search-results", render_results, parts=key)
    if query or results.filters:
        record_search(query=query, filters=results.filters, result_count=results.total)
    context = {
        **computed,  # for tests and debugging: the results' context when rendered here
        "section": "search",
        "query": query,
        "indexable": results.indexable,
        "results": mark_safe(results.html),  # noqa: S308 - rendered by render_results()
    }
    return TemplateResponse(request, "proceedings/search.html", context)


@dataclass(frozen=True)
class SearchResults:
    """The search page's results part, and what the page needs of it besides."""

    html: str
    filters: dict  # facet -> values in effect, for counting the search
    total: int
    indexable: bool


def _results_context(request, params, query, requested_sort, page_number):
    """Return the context of ``_search_results.html``: one ``search()`` and its links."""
    kind = params.get(KIND_PARAM) if params.get(KIND_PARAM) in GROUPS else None
    result = search(query, params, requested_sort, page_number, kind=kind, request=request)

    # Links keep the sort only when the reader chose one (a valid one).
    state = _State(query, result.filters, requested_sort if requested_sort in SORTS else "", kind)
    terms = result.query.terms
    kind_links = []
    if any(result.record_counts.values()):
        kind_links = [
            KindLink(group, str(GROUP_LABELS[group]), count, capped, state.url(kind=group),
                     kind == group)
            for group, count, capped in result.kind_counts
            if count or group == POSITION
        ]  # fmt: skip
    records = {
        group: [shown_record(hit, terms) for hit in result.records.get(group, [])]
        for group in RECORD_GROUPS
    }

    facet_groups = []
    for name, facet in FACETS.items():
        links = [
            FacetLink(
                value,
                state.without_value(name, value.value)
                if value.selected
                else state.with_value(name, value.value),
            )
            for value in result.facets.get(name, ())
        ]
        if links:
            facet_groups.append(FacetGroup(name, facet.label, links))

    # A filter's English label comes from its facet value (selected values are always listed).
    labels_en = {
        (name, value.value): value.label_en
        for name, values in result.facets.items()
        for value in values
    }
    chips = [
        FilterChip(
            f.facet,
            f.label,
            labels_en.get((f.facet, f.value), f.label),
            FACETS[f.facet].label,
            state.without_value(f.facet, f.value),
        )
        for f in result.active_filters
    ]
    who_says_most = [
        FacetLink(value, state.with_value("speaker", value.value)) for value in result.who_says_most
    ]

    return {
        "query": query,
        "result": result,
        # A search for one query and nothing else, that finds something, may be indexed; every
        # other state of the page is one of endless variations (forum_portal/robots.py).
        "indexable": bool(query)
        and list(params) == ["q"]
        and bool(result.total or any(result.record_counts.values())),
        "hits": [
            ShownHit(hit.position, localize.hit_snippets(hit, result.query.terms), hit.matched_in)
            for hit in result.hits
        ],
        "kind": kind,
        "kind_links": kind_links,
        "all_kinds_url": state.url(kind=None),
        "record_hits": [shown_record(hit, terms) for hit in result.record_hits],
        # Who translated the positions shown, said once under them (includes/_translation_note).
        "hit_positions": [hit.position for hit in result.hits],
        "people": records["person"][:PEOPLE_STRIP] if kind is None else [],
        "record_sections": [
            (
                group,
                GROUP_LABELS[group],
                records[group][:RECORDS_SHOWN],
                result.record_counts.get(group, 0),
                state.url(kind=group),
            )
            for group in (PASSAGE, THEME, FORUM)
            if kind is None and records[group]
        ],  # fmt: skip
        "facet_groups": facet_groups,
        "chips": chips,
        "clear_filters_url": state.url(filters={}),
        # The same query string (query, filters, sort), as a file (proceedings/downloads.py).
        "csv_url": reverse("downloads:search-csv") + state.url().rstrip("?"),
        "who_says_most": who_says_most,
        "sort_links": [
            (SORT_RELEVANCE, state.url(sort=SORT_RELEVANCE), result.sort == SORT_RELEVANCE),
            (SORT_DATE, state.url(sort=SORT_DATE), result.sort == SORT_DATE),
        ],
        "can_sort_by_relevance": bool(result.query.terms),
        "page_obj": result.page,
        **page_navigation(result.page, lambda number: state.url(page=number)),
    }
