"""
What every API endpoint shares: strict pagination, the anonymous rate limit, and the position
filters (the search page's facets, with the same values and meaning).
"""

import hashlib
from collections import defaultdict
from functools import partial

from django.conf import settings
from django.core.paginator import Paginator
from django.db.models import BooleanField, Case, Exists, OuterRef, Q, Value, When
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework import pagination, renderers, throttling
from rest_framework.exceptions import NotFound, ValidationError

from forum_portal import ratelimits
from forum_portal.cache import per_generation

from ..models import Position, Theme, published_theme_q
from ..search import FACETS, resolve_filters

MAX_PAGE_SIZE = 200


def positive_int(params, name, *, default, maximum=None):
    """Return query parameter ``name`` as an integer from 1 (capped at ``maximum``).

    Missing: ``default``. Anything else than a positive integer: a 400 naming the parameter.
    """
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    try:
        number = int(raw)
    except (TypeError, ValueError, OverflowError):
        number = 0
    if number < 1 or not raw.strip().isdigit():
        raise ValidationError({name: [f"“{raw[:50]}” is not a positive whole number."]})
    return min(number, maximum) if maximum else number


def check_page(number, paginator):
    """Raise a 404 naming the last page when page ``number`` is past it."""
    if number > paginator.num_pages:
        raise NotFound(
            f"There is no page {number}: the last page is {paginator.num_pages} "
            f"({paginator.count} results)."
        )


class PageNumberPagination(pagination.PageNumberPagination):
    """``?page=N&page_size=M``: 50 by default, at most ``MAX_PAGE_SIZE``.

    Unlike DRF's own, a page that is not a positive number is a 400 and one past the last page
    a 404 saying which page is the last; a page size over the maximum is capped.
    """

    page_size_query_param = "page_size"
    max_page_size = MAX_PAGE_SIZE

    def get_page_size(self, request):
        return positive_int(
            request.query_params,
            self.page_size_query_param,
            default=self.page_size,
            maximum=self.max_page_size,
        )

    def paginate_queryset(self, queryset, request, view=None):
        self.request = request
        page_size = self.get_page_size(request)
        number = positive_int(request.query_params, self.page_query_param, default=1)
        paginator = Paginator(queryset, page_size)
        if view is not None:
            # The count of a long list (every published position: a five-table join, 60–90 ms
            # at 100,000 on PostgreSQL) once per content generation; it depends only on the
            # view, its URL and its filters, never on the reader.
            # A view may know a cheaper count (``PositionList.count_list``).
            count = getattr(view, "count_list", None)
            # Or by the stamp of what the view lists, when it has one (``PositionsOf``).
            stamp = getattr(view, "stamp", None)
            paginator.count = (stamp.kept if stamp else partial(per_generation, request))(
                self.count_key(view, request),
                lambda: count(queryset) if count else queryset.count(),
            )
        check_page(number, paginator)
        self.page = paginator.page(number)
        return list(self.page)

    def count_key(self, view, request):
        """Return the name of the count of ``view``'s list: its URL and filters, not the page."""
        skip = {self.page_query_param, self.page_size_query_param, "format"}
        params = sorted(
            (key, value)
            for key, values in request.query_params.lists()
            if key not in skip
            for value in values
        )
        digest = hashlib.sha256(repr((sorted(view.kwargs.items()), params)).encode()).hexdigest()
        return f"api-count:{type(view).__name__}:{digest}"

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            parameter["schema"]["minimum"] = 1
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"]["maximum"] = self.max_page_size
                parameter["description"] = (
                    f"Results per page (default {self.page_size}, at most {self.max_page_size})."
                )
        return parameters


class BrowsableAPIRenderer(renderers.BrowsableAPIRenderer):
    """DRF's HTML pages for people, without the inline <style> of Pygments' colours.

    DRF adds that style when Pygments is installed (it is, for other reasons); the CSP refuses
    inline styles, and only Markdown view descriptions, which we do not use, need it.
    """

    def get_context(self, data, accepted_media_type, renderer_context):
        context = super().get_context(data, accepted_media_type, renderer_context)
        context["code_style"] = None
        return context


class AnonymousRateThrottle(throttling.BaseThrottle):
    """``settings.API_ANON_RATE`` requests per client address; no limit when it is None.

    Counted atomically in the cache (``forum_portal.ratelimits``, shared with the readers'
    error reports): DRF's own throttle reads a list of timestamps and writes it back, so
    concurrent requests overwrote each other's and more than the limit got through. The rate
    is read at each request (tests change it); the client address is the one the trusted
    proxies report (``forum_portal.security.client_ip``), as for the login lockout.
    """

    seconds_left = None

    def allow_request(self, request, view):
        usage = ratelimits.usage(request, group="api", rate=settings.API_ANON_RATE, count=True)
        if usage is None or not usage.exceeded:
            return True
        self.seconds_left = usage.seconds_left
        return False

    def wait(self):
        return self.seconds_left


# ---------------------------------------------------------------------------------------------
# Position filters: the search's facets
# ---------------------------------------------------------------------------------------------

FILTER_HELP = {
    "forum": "Forum slug, e.g. `pujiang-2025`.",
    "theme": (
        "Theme as `forum-slug:theme-slug` (or a theme slug, in every forum that has one); "
        "a theme also selects the positions of its sub-themes, as the search's filter does."
    ),
    "question": "Guiding question as `forum-slug:question-slug` (or a question slug).",
    "speaker": "Speaker slug.",
    "institution": "Institution slug (of the role at the time of speaking).",
    "sector": "Sector of the institution at the time of speaking.",
    "tag": "Tag slug or name.",
    "language": "Language of the original text, a BCP 47 code such as `zh-Hant` or `en`.",
    "fidelity": "How close the text is to the speaker's words.",
}


def filter_parameters():
    """Return the OpenAPI parameters of the position filters (repeat one for OR)."""
    from speakers.models import Sector

    enums = {"sector": Sector.values, "fidelity": Position.Fidelity.values}
    return [
        OpenApiParameter(
            name,
            OpenApiTypes.STR,
            many=True,
            enum=enums.get(name),
            description=FILTER_HELP[name]
            + " Repeat the parameter for any of several values; filters combine with AND.",
        )
        for name in FACETS
    ]


def unknown_filter_error(unknown):
    """Return the ValidationError for filter values that name nothing public."""
    return ValidationError(
        {
            name: [f"There is no {FACETS[name].name} “{value[:100]}”." for value in values]
            for name, values in unknown.items()
        }
    )


def filter_positions(positions, params):
    """Return ``positions`` narrowed by the facet parameters in ``params``.

    Values and meaning are the search page's (``resolve_filters``, one query; a theme also
    selects its sub-themes' positions, one query more). Unknown values raise a 400.
    """
    active, unknown = resolve_filters(params)
    if unknown:
        raise unknown_filter_error(unknown)
    keys = defaultdict(list)
    for found in active:
        keys[found.facet] += found.keys()
    through = Position.themes.through
    conditions = []
    if "theme" in keys:
        theme_ids = themes_and_sub_themes(keys["theme"])
        conditions.append(
            Exists(through.objects.filter(position=OuterRef("pk"), theme__in=theme_ids))
        )
    if "question" in keys:
        themes = Theme.objects.published().filter(questions__in=keys["question"])
        conditions.append(Exists(through.objects.filter(position=OuterRef("pk"), theme__in=themes)))
    if "speaker" in keys:
        conditions.append(Q(appearance__speaker__in=keys["speaker"]))
    if "institution" in keys:
        conditions.append(Q(appearance__institution__in=keys["institution"]))
    if "sector" in keys:
        conditions.append(Q(appearance__institution__sector__in=keys["sector"]))
    if "forum" in keys:
        conditions.append(Q(appearance__session__forum__in=keys["forum"]))
    if "tag" in keys:
        conditions.append(Q(pk__in=Position.objects.filter(tags__in=keys["tag"]).values("pk")))
    if "language" in keys:
        language = Q(pk__in=[])
        for code in keys["language"]:
            language |= Q(language__iexact=code)
        conditions.append(language)
    if "fidelity" in keys:
        conditions.append(Q(fidelity__in=keys["fidelity"]))
    return positions.filter(*conditions)


def themes_and_sub_themes(theme_ids):
    """Return the public themes among ``theme_ids`` and every public theme below them.

    As the search index files a position under its theme's ancestors (search/indexing.py):
    a public theme counts for each public ancestor, even through an unpublished one. One query
    over the themes of the forums concerned.
    """
    rows = (
        Theme.objects.filter(forum__in=Theme.objects.filter(pk__in=theme_ids).values("forum"))
        .annotate(
            public=Case(
                When(published_theme_q(), then=Value(True)),
                default=Value(False),
                output_field=BooleanField(),
            )
        )
        .values_list("pk", "parent_id", "public")
    )
    parents, public = {}, set()
    for pk, parent_id, is_public in rows:
        parents[pk] = parent_id
        if is_public:
            public.add(pk)
    wanted, selected = set(theme_ids) & public, set()
    for pk in public:
        seen, ancestor = set(), pk
        while ancestor is not None and ancestor not in seen:
            if ancestor in wanted:
                selected.add(pk)
                break
            seen.add(ancestor)
            ancestor = parents.get(ancestor)
    return sorted(selected)
