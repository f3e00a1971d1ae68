"""
The API's endpoints: a list and a detail per kind of object, the positions of a forum, session,
theme, speaker or institution (exactly those its page lists, in the page's order), the positions
list with the search's filters, and the search.

Each queryset starts from the model's ``.published()``: nothing a public page hides is ever
served. Lists fetch what their serializer renders up front, so the number of queries does not
grow with the page size (tests/proceedings/test_api.py pins them).
"""

from django.db.models import Exists, OuterRef, Prefetch
from django.http import JsonResponse
from django.shortcuts import get_object_or_404
from django.utils import translation
from django.utils.functional import cached_property
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import generics
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.reverse import reverse
from rest_framework.utils.urls import remove_query_param, replace_query_param
from rest_framework.views import APIView

from forum_portal.cache import per_generation
from speakers.models import Institution, Sector, Speaker

from ..listing import stamp_of
from ..models import Appearance, Forum, Position, Question, Session, Theme
from ..search import FACETS, SORTS, requested_filters, search
from ..search.query import search_params
from ..search.records import GROUPS, POSITION
from ..search.service import MAX_PER_PAGE, PER_PAGE
from . import serializers
from .base import (
    check_page,
    filter_parameters,
    filter_positions,
    positive_int,
    unknown_filter_error,
)


def forum_parameter(help_text="Only those of this forum (its slug)."):
    return OpenApiParameter("forum", OpenApiTypes.STR, description=help_text)


def by_forum(queryset, params, field="forum"):
    """Return ``queryset`` limited to the published forum ``?forum=`` names (400 if none)."""
    slug = params.get("forum")
    if slug is None:
        return queryset
    forum = Forum.objects.published().filter(slug=slug[:200]).first()
    if forum is None:
        raise ValidationError({"forum": [f"There is no forum “{slug[:100]}”."]})
    return queryset.filter(**{field: forum})


def public_themes():
    return Theme.objects.published().select_related("forum")


class APIRootView(APIView):
    """The endpoints of this version of the API."""

    @extend_schema(exclude=True)
    def get(self, request, *args, **kwargs):
        names = [
            "forum-list",
            "session-list",
            "question-list",
            "theme-list",
            "speaker-list",
            "institution-list",
            "position-list",
            "search",
        ]
        endpoints = {
            name.removesuffix("-list"): reverse(f"api:{name}", request=request) for name in names
        }
        return Response(
            {
                **endpoints,
                "schema": request.build_absolute_uri(reverse("api-schema")),
                "docs": request.build_absolute_uri(reverse("api-docs")),
            }
        )


# ---------------------------------------------------------------------------------------------
# Forums, sessions, questions, themes
# ---------------------------------------------------------------------------------------------


@extend_schema_view(get=extend_schema(summary="Published forums, newest edition first"))
class ForumList(generics.ListAPIView):
    serializer_class = serializers.ForumSerializer

    def get_queryset(self):
        return Forum.objects.published().order_by("-edition_year", "name", "pk")


@extend_schema_view(get=extend_schema(summary="A forum with its sessions, questions and themes"))
class ForumDetail(generics.RetrieveAPIView):
    serializer_class = serializers.ForumDetailSerializer
    lookup_field = "slug"

    def get_queryset(self):
        return Forum.objects.published().prefetch_related(
            Prefetch("sessions", queryset=Session.objects.select_related("forum")),
            Prefetch("questions", queryset=Question.objects.select_related("forum")),
            Prefetch("themes", queryset=public_themes(), to_attr="public_themes"),
        )


@extend_schema_view(
    get=extend_schema(summary="Sessions of published forums", parameters=[forum_parameter()])
)
class SessionList(generics.ListAPIView):
    serializer_class = serializers.SessionSerializer

    def get_queryset(self):
        sessions = Session.objects.published().select_related("forum", "source")
        return by_forum(sessions, self.request.query_params).order_by(
            "-forum__edition_year", "forum__slug", "order", "pk"
        )


class ForumPartDetail(generics.RetrieveAPIView):
    """Look a session, question or theme up by its forum's slug and its own."""

    def get_object(self):
        queryset = self.get_queryset().filter(forum__slug=self.kwargs["forum_slug"])
        return get_object_or_404(queryset, slug=self.kwargs["slug"])


@extend_schema_view(get=extend_schema(summary="A session"))
class SessionDetail(ForumPartDetail):
    serializer_class = serializers.SessionSerializer

    def get_queryset(self):
        return Session.objects.published().select_related("forum", "source")


def questions_with_themes():
    themes = Prefetch("themes", queryset=public_themes(), to_attr="public_themes")
    return Question.objects.published().select_related("forum").prefetch_related(themes)


@extend_schema_view(
    get=extend_schema(
        summary="Guiding questions of published forums", parameters=[forum_parameter()]
    )
)
class QuestionList(generics.ListAPIView):
    serializer_class = serializers.QuestionSerializer

    def get_queryset(self):
        return by_forum(questions_with_themes(), self.request.query_params).order_by(
            "-forum__edition_year", "forum__slug", "order", "pk"
        )


@extend_schema_view(get=extend_schema(summary="A guiding question and the themes answering it"))
class QuestionDetail(ForumPartDetail):
    serializer_class = serializers.QuestionSerializer

    def get_queryset(self):
        return questions_with_themes()


def themes_for_api():
    """Published themes with their forum, questions and whether their parent is public."""
    return (
        Theme.objects.published()
        .select_related("forum", "parent__forum")
        .annotate(parent_visible=Exists(Theme.objects.published().filter(pk=OuterRef("parent"))))
        .prefetch_related(Prefetch("questions", queryset=Question.objects.select_related("forum")))
    )


@extend_schema_view(
    get=extend_schema(
        summary="Published themes",
        parameters=[
            forum_parameter(),
            OpenApiParameter("kind", OpenApiTypes.STR, enum=Theme.Kind.values),
        ],
    )
)
class ThemeList(generics.ListAPIView):
    serializer_class = serializers.ThemeSerializer

    def get_queryset(self):
        params = self.request.query_params
        themes = by_forum(themes_for_api(), params)
        if "kind" in params:
            if params["kind"] not in Theme.Kind.values:
                raise ValidationError({"kind": [f"Choose one of {', '.join(Theme.Kind.values)}."]})
            themes = themes.filter(kind=params["kind"])
        return themes.order_by("-forum__edition_year", "forum__slug", "order", "pk")


@extend_schema_view(get=extend_schema(summary="A theme"))
class ThemeDetail(ForumPartDetail):
    serializer_class = serializers.ThemeSerializer

    def get_queryset(self):
        return themes_for_api()


# ---------------------------------------------------------------------------------------------
# Speakers and institutions
# ---------------------------------------------------------------------------------------------


@extend_schema_view(
    get=extend_schema(
        summary="Published speakers (and rapporteurs), by sort name",
        parameters=[forum_parameter("Only people with a role in this forum (its slug).")],
    )
)
class SpeakerList(generics.ListAPIView):
    serializer_class = serializers.SpeakerSerializer

    def get_queryset(self):
        speakers = Speaker.objects.published().prefetch_related("links")
        params = self.request.query_params
        if "forum" in params:
            roles = by_forum(Appearance.objects.published(), params, "session__forum")
            speakers = speakers.filter(Exists(roles.filter(speaker=OuterRef("pk"))))
        return speakers.order_by("sort_name", "pk")


@extend_schema_view(
    get=extend_schema(summary="A speaker with their roles at the time of each forum")
)
class SpeakerDetail(generics.RetrieveAPIView):
    serializer_class = serializers.SpeakerDetailSerializer
    lookup_field = "slug"

    def get_queryset(self):
        roles = (
            Appearance.objects.published()
            .select_related("session__forum", "institution")
            .order_by("-session__forum__edition_year", "session__forum", "session__order", "pk")
        )
        return Speaker.objects.published().prefetch_related(
            "links", Prefetch("appearances", queryset=roles, to_attr="public_roles")
        )


@extend_schema_view(
    get=extend_schema(
        summary="Institutions named in a published role",
        parameters=[OpenApiParameter("sector", OpenApiTypes.STR, enum=Sector.values)],
    )
)
class InstitutionList(generics.ListAPIView):
    serializer_class = serializers.InstitutionSerializer

    def get_queryset(self):
        institutions = Institution.objects.published()
        sector = self.request.query_params.get("sector")
        if sector is not None:
            if sector not in Sector.values:
                raise ValidationError({"sector": [f"Choose one of {', '.join(Sector.values)}."]})
            institutions = institutions.filter(sector=sector)
        return institutions.order_by("name_en", "pk")


@extend_schema_view(get=extend_schema(summary="An institution"))
class InstitutionDetail(generics.RetrieveAPIView):
    serializer_class = serializers.InstitutionSerializer
    lookup_field = "slug"

    def get_queryset(self):
        return Institution.objects.published()


# ---------------------------------------------------------------------------------------------
# Positions
# ---------------------------------------------------------------------------------------------


def public_positions():
    """Published positions with everything ``PositionSerializer`` renders.

    for_listing()'s prefetches run when a row is first read: not at all for a list whose
    positions all come from the cache (``KeptListSerializer``).
    """
    return Position.objects.published().for_listing().prefetch_on_demand()


@extend_schema_view(
    get=extend_schema(
        summary="Published positions, in reading order, with the search's filters",
        parameters=filter_parameters(),
    )
)
class PositionList(generics.ListAPIView):
    serializer_class = serializers.PositionSerializer

    def get_queryset(self):
        positions = filter_positions(public_positions(), self.request.query_params)
        return positions.order_by("order", "pk")

    def count_list(self, positions):
        """Count ``positions`` for the paginator: unfiltered, that is every public position."""
        if requested_filters(self.request.query_params):
            return positions.count()
        return Position.objects.count_published()


@extend_schema_view(get=extend_schema(summary="A published position"))
class PositionDetail(generics.RetrieveAPIView):
    serializer_class = serializers.PositionSerializer

    def get_queryset(self):
        return public_positions()


class PositionsOf(generics.ListAPIView):
    """The positions one page lists: those of the object named in the URL, in its order.

    Their entries and their count are also kept by the stamp of that object's positions
    (``listing.stamp_of()``): after an edit elsewhere, neither is read again.
    """

    serializer_class = serializers.PositionSerializer
    ordering = ["order", "pk"]

    @cached_property
    def owned(self):
        return self.owner()

    @cached_property
    def stamp(self):
        return stamp_of(self.request, self.owned)

    def get_queryset(self):
        self.stamp.read()  # before the rows
        return public_positions().filter(**self.condition(self.owned)).order_by(*self.ordering)

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "stamp": self.stamp}


@extend_schema_view(get=extend_schema(summary="The positions of a forum"))
class ForumPositions(PositionsOf):
    def owner(self):
        return get_object_or_404(Forum.objects.published(), slug=self.kwargs["slug"])

    def condition(self, forum):
        return {"appearance__session__forum": forum}


@extend_schema_view(get=extend_schema(summary="The positions of a session, as its page lists them"))
class SessionPositions(PositionsOf):
    def owner(self):
        sessions = Session.objects.published().filter(forum__slug=self.kwargs["forum_slug"])
        return get_object_or_404(sessions, slug=self.kwargs["slug"])

    def condition(self, session):
        return {"appearance__session": session}


@extend_schema_view(get=extend_schema(summary="The positions of a theme, as its page lists them"))
class ThemePositions(PositionsOf):
    def owner(self):
        themes = Theme.objects.published().filter(forum__slug=self.kwargs["forum_slug"])
        return get_object_or_404(themes, slug=self.kwargs["slug"])

    def condition(self, theme):
        return {"themes": theme}


@extend_schema_view(
    get=extend_schema(summary="The positions of a speaker, latest forum first, in reading order")
)
class SpeakerPositions(PositionsOf):
    ordering = ["-appearance__session__forum__edition_year", "order", "pk"]

    def owner(self):
        return get_object_or_404(Speaker.objects.published(), slug=self.kwargs["slug"])

    def condition(self, speaker):
        return {"appearance__speaker": speaker}


@extend_schema_view(
    get=extend_schema(summary="The positions of people speaking for an institution")
)
class InstitutionPositions(PositionsOf):
    def owner(self):
        return get_object_or_404(Institution.objects.published(), slug=self.kwargs["slug"])

    def condition(self, institution):
        return {"appearance__institution": institution}


# ---------------------------------------------------------------------------------------------
# Search
# ---------------------------------------------------------------------------------------------


class SearchView(APIView):
    """The search page's search: the same query, filters, facets, sort and results."""

    @extend_schema(
        summary="Search the published record",
        description=(
            'The search page\'s search: all words must match; `"exact phrase"`; `-word` '
            "excludes. Traditional and Simplified characters find each other. Filters are the "
            "search page's facets; unknown filter values are a 400 (the page ignores them). "
            "Positions are paged through in `results`; with words to search for, the other "
            "kinds of results (report passages, themes and guiding questions, people and "
            "institutions, forums and sessions) are counted in `kinds` and their best few are in "
            "`records`. `kind` pages through one kind instead (`count`, `next` and `previous` "
            "are then that kind's). Records are searched with no filter or a `forum` filter only."
        ),
        parameters=[
            OpenApiParameter("q", OpenApiTypes.STR, description="What to search for."),
            OpenApiParameter(
                "kind",
                OpenApiTypes.STR,
                enum=list(GROUPS),
                description="Page through one kind of result (default: positions, with the "
                "best few of every other kind).",
            ),
            OpenApiParameter(
                "sort",
                OpenApiTypes.STR,
                enum=list(SORTS),
                description="Relevance (default with words to search for) or date, newest first.",
            ),
            OpenApiParameter("page", OpenApiTypes.INT, description="Page number, from 1."),
            OpenApiParameter(
                "page_size",
                OpenApiTypes.INT,
                description=f"Results per page (default {PER_PAGE}, at most {MAX_PER_PAGE}).",
            ),
            *filter_parameters(),
        ],
        responses=serializers.SearchResponseSerializer,
    )
    def get(self, request, *args, **kwargs):
        params = request.query_params
        query, sort, _page = search_params(params)
        if sort and sort not in SORTS:
            raise ValidationError({"sort": [f"Choose one of {', '.join(SORTS)}."]})
        kind = params.get("kind") or None
        if kind is not None and kind not in GROUPS:
            raise ValidationError({"kind": [f"Choose one of {', '.join(GROUPS)}."]})
        number = positive_int(params, "page", default=1)
        per_page = positive_int(params, "page_size", default=PER_PAGE, maximum=MAX_PER_PAGE)

        def serialized():
            return self.serialized(request, query, sort, kind, number, per_page)

        # The answer depends on nothing but its URL (absolute: it names the next page) and the
        # content: kept per content generation, as the search page's results are. Serializing
        # its facets and hits was 43 of the 77 ms a search asked again took (bench/README.md,
        # "Session 19"). Errors (unknown filter values, a page past the end) are not kept.
        key = (translation.get_language(), request.build_absolute_uri())
        return Response(per_generation(request, "api-search", serialized, parts=key))

    @staticmethod
    def serialized(request, query, sort, kind, number, per_page):
        """Return the search's answer (``SearchResponseSerializer``) as plain data."""
        params = request.query_params
        result = search(
            query, params, sort or "relevance", number, per_page, kind=kind, request=request
        )
        unknown = {
            name: [value for value in values if value not in result.filters.get(name, ())]
            for name, values in requested_filters(params).items()
        }
        if any(unknown.values()):
            raise unknown_filter_error({name: values for name, values in unknown.items() if values})
        check_page(number, result.page.paginator)
        url = request.build_absolute_uri()
        page = result.page
        data = {
            "query": query,
            "understood_as": result.query.summary,
            "sort": result.sort,
            "kind": kind,
            "count": result.page.paginator.count if kind not in (None, POSITION) else result.total,
            "count_capped": result.total_capped if kind in (None, POSITION) else False,
            "next": replace_query_param(url, "page", page.next_page_number())
            if page.has_next()
            else None,
            "previous": (
                replace_query_param(url, "page", page.previous_page_number())
                if page.previous_page_number() > 1
                else remove_query_param(url, "page")
            )
            if page.has_previous()
            else None,
            "filters": result.active_filters,
            # A query with nothing searchable in it (":") returns before counting any facet.
            "facets": {name: result.facets.get(name, []) for name in FACETS},
            "facets_partial": result.facets_partial,
            "who_says_most": result.who_says_most,
            "messages": [str(message) for message in result.messages],
            "kinds": [
                {"kind": name, "count": count, "capped": capped}
                for name, count, capped in result.kind_counts
            ],
            "records": result.record_hits
            if kind not in (None, POSITION)
            else [hit for name in GROUPS[1:] for hit in result.records.get(name, [])],
            "results": result.hits,
        }
        context = {"request": request, "terms": result.query.terms}
        return dict(serializers.SearchResponseSerializer(data, context=context).data)


def not_found(request, *args, **kwargs):
    """Answer any other /api/ URL with a JSON 404 (not the site's HTML page)."""
    return JsonResponse(
        {"detail": "No such API endpoint. The endpoints are listed at /api/v1/."}, status=404
    )
