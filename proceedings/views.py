"""
The public pages: forums and what was said there, and the people, institutions, sectors, tags
and source documents behind it.

Every view goes through ``PublishedMixin``: anonymous visitors get published rows only, staff
see drafts too and the templates mark each one (``|is_draft``). Each view fetches what its
template renders up front (``for_listing()``, ``select_related``, ``Prefetch``), so the number of
queries per page does not grow with the number of rows (``tests/proceedings/test_views.py``).
"""

from collections import defaultdict
from functools import cached_property

from django.db.models import Count, Exists, OuterRef, Prefetch
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils.html import conditional_escape
from django.utils.safestring import mark_safe
from django.views.generic import DetailView, ListView, TemplateView
from taggit.models import Tag

from speakers.models import Institution, Sector, Speaker

from .models import (
    Appearance,
    Forum,
    Position,
    Question,
    Session,
    SourceDocument,
    Theme,
    published_forum_q,
    published_position_q,
)

# The home page shows the positions editors featured (at most this many), else the first
# few published verbatim quotations.
FEATURED_POSITIONS = 6
FALLBACK_POSITIONS = 3
RELATED_POSITIONS = 6


def group_by_sector(rows, sector_of):
    """Return ``[(sector value, label, rows), …]`` in ``Sector`` order, then rows without one."""
    groups = defaultdict(list)
    for row in rows:
        groups[sector_of(row) or ""].append(row)
    ordered = [(value, label, groups[value]) for value, label in Sector.choices if value in groups]
    if "" in groups:
        ordered.append(("", None, groups[""]))
    return ordered


def appearance_sector(appearance):
    return appearance.institution.sector if appearance.institution else ""


def distinct_speakers(appearances):
    """Return the first appearance of each person, keeping the order given."""
    seen = {}
    for appearance in appearances:
        seen.setdefault(appearance.speaker_id, appearance)
    return list(seen.values())


def group_by_forum_and_theme(positions):
    """Return ``[{"forum", "themes": [{"theme", "positions"}]}]`` for a list of positions.

    A position filed under two themes is listed under both; one with no theme goes under
    ``theme=None`` at the end of its forum. Forums keep the order of the positions given.
    """
    forums = {}
    for position in positions:
        forum = position.appearance.session.forum
        themes = forums.setdefault(forum.pk, {"forum": forum, "themes": {}})["themes"]
        for theme in position.themes.all() or [None]:
            key = (theme.order, theme.pk) if theme else (float("inf"), 0)
            themes.setdefault(key, {"theme": theme, "positions": []})["positions"].append(position)
    return [
        {
            "forum": group["forum"],
            "themes": [group["themes"][key] for key in sorted(group["themes"])],
        }
        for group in forums.values()
    ]


def highlight_quotations(text, positions):
    """Return ``text`` as HTML with the verbatim quotations of ``positions`` in ``<mark>``."""
    quotes = sorted(
        {p.text for p in positions if p.fidelity == Position.Fidelity.VERBATIM and p.text},
        key=len,
        reverse=True,
    )
    spans = []
    for quote in quotes:
        start = text.find(quote)
        while start != -1:
            end = start + len(quote)
            if not any(s < end and start < e for s, e in spans):
                spans.append((start, end))
            start = text.find(quote, end)
    parts, cursor = [], 0
    for start, end in sorted(spans):
        parts += [conditional_escape(text[cursor:start]), "<mark>"]
        parts += [conditional_escape(text[start:end]), "</mark>"]
        cursor = end
    parts.append(conditional_escape(text[cursor:]))
    return mark_safe("".join(parts))  # noqa: S308 - every piece of text above is escaped


class PublishedMixin:
    """Limit a view to what is public; staff also see drafts, which the templates mark.

    ``get_queryset()`` applies ``only_published()`` (``.published()``; speakers, institutions
    and sources override it) unless the user is staff. ``positions()`` and ``appearances()``
    are the one way a view lists those rows.
    """

    section = "forums"

    @cached_property
    def shows_drafts(self):
        return self.request.user.is_staff

    def only_published(self, queryset):
        return queryset.published()

    def visible(self, queryset):
        """Return ``queryset`` as this request may see it."""
        return queryset if self.shows_drafts else self.only_published(queryset)

    def get_queryset(self):
        return self.visible(super().get_queryset())

    def positions(self):
        """Return the positions this request may see (chain ``for_listing()`` for cards)."""
        return Position.objects.all() if self.shows_drafts else Position.objects.published()

    def appearances(self):
        """Return the appearances this request may see: those in published forums."""
        appearances = Appearance.objects.all()
        if self.shows_drafts:
            return appearances
        return appearances.filter(published_forum_q("session__forum__"))

    def count_positions(self, prefix):
        """Return a ``Count`` of the visible positions at ``prefix`` (e.g. ``"positions"``)."""
        visible = None if self.shows_drafts else published_position_q(f"{prefix}__")
        return Count(prefix, filter=visible, distinct=True)

    def count_people(self):
        """Return a ``Count`` of the people of an institution's visible appearances."""
        visible = None if self.shows_drafts else published_forum_q("appearances__session__forum__")
        return Count("appearances__speaker", filter=visible, distinct=True)

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            section=self.section, shows_drafts=self.shows_drafts, **kwargs
        )


class PeopleMixin(PublishedMixin):
    """Speakers and institutions are public once they appear in a published forum."""

    def only_published(self, queryset):
        field = "speaker" if queryset.model is Speaker else "institution"
        return queryset.filter(Exists(self.appearances().filter(**{field: OuterRef("pk")})))


class HomeView(PublishedMixin, TemplateView):
    template_name = "proceedings/home.html"

    def get_context_data(self, **kwargs):
        forums = self.visible(Forum.objects.all()).prefetch_related(
            Prefetch(
                "questions",
                queryset=Question.objects.prefetch_related(
                    Prefetch("themes", queryset=Theme.objects.select_related("forum"))
                ),
            )
        )
        positions = self.positions()
        featured = list(positions.filter(featured=True).for_listing()[:FEATURED_POSITIONS])
        if not featured:
            verbatim = positions.filter(fidelity=Position.Fidelity.VERBATIM)
            featured = list(verbatim.for_listing()[:FALLBACK_POSITIONS])
        speaking = self.appearances().filter(capacity=Appearance.Capacity.SPEAKER)
        counts = {
            "positions": positions.count(),
            "speakers": Speaker.objects.filter(
                Exists(speaking.filter(speaker=OuterRef("pk")))
            ).count(),
            "institutions": Institution.objects.filter(
                Exists(self.appearances().filter(institution=OuterRef("pk")))
            ).count(),
            "themes": self.visible(Theme.objects.all()).count(),
        }
        return super().get_context_data(
            forums=forums, featured_positions=featured, counts=counts, **kwargs
        )


class ForumDetailView(PublishedMixin, DetailView):
    model = Forum

    def get_context_data(self, **kwargs):
        forum = self.object
        themes = Theme.objects.select_related("forum").annotate(
            position_count=self.count_positions("positions")
        )
        appearances = list(
            Appearance.objects.filter(session__forum=forum)
            .select_related("speaker", "institution")
            .order_by("session__order", "session__pk", "order", "pk")
        )

        def people(capacity):
            return distinct_speakers(a for a in appearances if a.capacity == capacity)

        return super().get_context_data(
            sessions=forum.sessions.select_related("source"),
            questions=forum.questions.prefetch_related(Prefetch("themes", queryset=themes)),
            speakers_by_sector=group_by_sector(
                people(Appearance.Capacity.SPEAKER), appearance_sector
            ),
            moderators=people(Appearance.Capacity.MODERATOR),
            rapporteurs=people(Appearance.Capacity.RAPPORTEUR),
            **kwargs,
        )


class ForumPartMixin(PublishedMixin):
    """Look a session, question or theme up by its forum's slug and its own."""

    def get_queryset(self):
        return super().get_queryset().filter(forum__slug=self.kwargs["forum_slug"])


class SessionDetailView(ForumPartMixin, DetailView):
    model = Session

    def get_queryset(self):
        return super().get_queryset().select_related("forum", "source")

    def get_context_data(self, **kwargs):
        session = self.object
        return super().get_context_data(
            appearances=session.appearances.select_related("speaker", "institution"),
            positions=self.positions().filter(appearance__session=session).for_listing(),
            **kwargs,
        )


class QuestionDetailView(ForumPartMixin, DetailView):
    model = Question

    def get_queryset(self):
        return super().get_queryset().select_related("forum")

    def get_context_data(self, **kwargs):
        cards = Prefetch("positions", queryset=self.positions().for_listing(), to_attr="cards")
        themes = self.object.themes.select_related("forum").prefetch_related(cards)
        return super().get_context_data(themes=themes, **kwargs)


class ThemeDetailView(ForumPartMixin, DetailView):
    model = Theme

    def get_queryset(self):
        return (
            super()
            .get_queryset()
            .select_related("forum", "parent__forum")
            .prefetch_related(
                Prefetch("questions", queryset=Question.objects.select_related("forum")),
                Prefetch("children", queryset=Theme.objects.select_related("forum")),
            )
        )

    def get_context_data(self, **kwargs):
        positions = list(self.positions().filter(themes=self.object).for_listing())
        return super().get_context_data(
            positions=positions,
            theme_speakers=distinct_speakers(p.appearance for p in positions),
            **kwargs,
        )


class PositionDetailView(PublishedMixin, DetailView):
    model = Position

    def get_queryset(self):
        return super().get_queryset().for_listing()

    def get_context_data(self, **kwargs):
        position = self.object
        related = (
            self.positions()
            .filter(themes__in=[theme.pk for theme in position.themes.all()])
            .exclude(appearance__speaker=position.appearance.speaker_id)
            .distinct()
            .for_listing()[:RELATED_POSITIONS]
        )
        return super().get_context_data(related_positions=related, **kwargs)


class SourceDetailView(PublishedMixin, DetailView):
    model = SourceDocument

    def only_published(self, queryset):
        # A document is public once a published forum's session or a public position cites it.
        return queryset.filter(
            Exists(Session.objects.published().filter(source=OuterRef("pk")))
            | Exists(Position.objects.published().filter(source=OuterRef("pk")))
        )

    def get_context_data(self, **kwargs):
        source = self.object
        cited = defaultdict(list)
        citing = self.positions().filter(source=source, paragraph__isnull=False)
        for position in citing.select_related("appearance__speaker", "appearance__session__forum"):
            cited[position.paragraph].append(position)
        paragraphs = [
            {
                "number": number,
                "html": highlight_quotations(text, cited[number]),
                "positions": cited[number],
            }
            for number, text in enumerate(source.paragraphs, start=1)
        ]
        return super().get_context_data(paragraphs=paragraphs, **kwargs)


class SpeakerListView(PeopleMixin, ListView):
    model = Speaker
    section = "speakers"

    def get_queryset(self):
        roles = Prefetch(
            "appearances",
            queryset=self.appearances().select_related("institution"),
            to_attr="roles",
        )
        return (
            super()
            .get_queryset()
            .annotate(position_count=self.count_positions("appearances__positions"))
            .prefetch_related(roles)
            .order_by("sort_name", "pk")
        )

    def get_context_data(self, **kwargs):
        speakers, rapporteurs, by_sector = [], [], defaultdict(list)
        for person in self.object_list:
            spoke = [r for r in person.roles if r.capacity != Appearance.Capacity.RAPPORTEUR]
            if not spoke:
                rapporteurs.append(person)
                continue
            speakers.append(person)
            # Someone who spoke for bodies of two sectors is listed under both.
            for sector in dict.fromkeys(appearance_sector(role) for role in spoke):
                by_sector[sector].append(person)
        groups = [(value, label, by_sector[value]) for value, label in Sector.choices]
        groups.append(("", None, by_sector[""]))
        return super().get_context_data(
            by_name=self.request.GET.get("order") == "name",
            speakers=speakers,
            speakers_by_sector=[group for group in groups if group[2]],
            rapporteurs=rapporteurs,
            **kwargs,
        )


class SpeakerDetailView(PeopleMixin, DetailView):
    model = Speaker
    section = "speakers"

    def get_context_data(self, **kwargs):
        speaker = self.object
        appearances = list(
            self.appearances()
            .filter(speaker=speaker)
            .select_related("session__forum", "institution")
            .order_by("-session__forum__edition_year", "session__forum", "session__order", "pk")
        )
        positions = (
            self.positions()
            .filter(appearance__speaker=speaker)
            .for_listing()
            .order_by("-appearance__session__forum__edition_year", "order", "pk")
        )
        return super().get_context_data(
            appearances=appearances,
            links=speaker.links.all(),
            positions_by_forum=group_by_forum_and_theme(positions),
            is_draft=not any(a.session.forum.is_published for a in appearances),
            **kwargs,
        )


class InstitutionListView(PeopleMixin, ListView):
    model = Institution
    section = "institutions"

    def get_queryset(self):
        return (
            super()
            .get_queryset()
            .annotate(
                people_count=self.count_people(),
                position_count=self.count_positions("appearances__positions"),
            )
            .order_by("name_en", "pk")
        )

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            institutions_by_sector=group_by_sector(self.object_list, lambda i: i.sector), **kwargs
        )


class InstitutionDetailView(PeopleMixin, DetailView):
    model = Institution
    section = "institutions"

    def get_context_data(self, **kwargs):
        institution = self.object
        appearances = list(
            self.appearances()
            .filter(institution=institution)
            .select_related("speaker", "institution", "session__forum")
            .order_by("speaker__sort_name", "speaker", "-session__forum__edition_year", "pk")
        )
        return super().get_context_data(
            people=distinct_speakers(appearances),
            positions=self.positions().filter(appearance__institution=institution).for_listing(),
            is_draft=not any(a.session.forum.is_published for a in appearances),
            **kwargs,
        )


class SectorListView(PeopleMixin, TemplateView):
    template_name = "speakers/sector_list.html"
    section = "institutions"

    def get_context_data(self, **kwargs):
        def per_sector(queryset, field, count):
            rows = queryset.order_by().values(field).annotate(n=count)
            return {row[field]: row["n"] for row in rows}

        institutions = per_sector(self.visible(Institution.objects.all()), "sector", Count("pk"))
        people = per_sector(
            self.appearances(), "institution__sector", Count("speaker", distinct=True)
        )
        positions = per_sector(self.positions(), "appearance__institution__sector", Count("pk"))
        sectors = [
            {
                "value": value,
                "label": label,
                "institutions": institutions.get(value, 0),
                "people": people.get(value, 0),
                "positions": positions.get(value, 0),
            }
            for value, label in Sector.choices
        ]
        return super().get_context_data(sectors=sectors, **kwargs)


class SectorDetailView(PeopleMixin, TemplateView):
    template_name = "speakers/sector_detail.html"
    section = "institutions"

    def get_context_data(self, **kwargs):
        value = kwargs.pop("sector")
        if value not in Sector.values:
            raise Http404("No such sector.")
        sector = Sector(value)
        institutions = (
            self.visible(Institution.objects.filter(sector=sector))
            .annotate(
                people_count=self.count_people(),
                position_count=self.count_positions("appearances__positions"),
            )
            .order_by("name_en", "pk")
        )
        appearances = (
            self.appearances()
            .filter(institution__sector=sector)
            .select_related("speaker", "institution")
            .order_by("speaker__sort_name", "speaker", "-session__forum__edition_year", "pk")
        )
        positions = self.positions().filter(appearance__institution__sector=sector)
        return super().get_context_data(
            sector=sector,
            institutions=institutions,
            people=distinct_speakers(appearances),
            positions=positions.for_listing(),
            **kwargs,
        )


class TagDetailView(PublishedMixin, TemplateView):
    template_name = "proceedings/tag_detail.html"

    def get_context_data(self, **kwargs):
        tag = get_object_or_404(Tag, slug=kwargs.pop("slug"))
        positions = list(self.positions().filter(tags=tag).for_listing())
        if not positions:
            # A tag that only drafts carry is not public yet.
            raise Http404("No public position has this tag.")
        return super().get_context_data(tag=tag, positions=positions, **kwargs)
