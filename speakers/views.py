"""
The pages of people, institutions and sectors: who spoke, for which bodies, and what they said.

The models live here; what they said (positions) and the read rules belong to proceedings, so these
views build on its ``PublicMixin`` and card queries: imports flow from speakers' views to
proceedings, never back (proceedings' models only use speakers' models).
"""

from collections import defaultdict

from django.db.models import Count
from django.http import Http404
from django.utils.functional import SimpleLazyObject, cached_property
from django.views.generic import DetailView, ListView, TemplateView

from proceedings.listing import PEOPLE_TABLES, PeopleRows, stamp_of
from proceedings.models import Appearance
from proceedings.views import (
    KeptObjectMixin,
    PublicMixin,
    appearance_sector,
    distinct_speakers,
    group_by_forum_and_theme,
    group_by_sector,
)

from .models import Institution, Sector, Speaker, SpeakerLink


class KeptListMixin:
    """A list of everyone, counted over every position, read only when the page's list is not
    in the fragment cache (its template wraps the list in ``{% fragment … rows=… %}``, which
    also keeps it by a digest of these rows across edits that change none of them).

    Not kept itself: pickling the speaker list's 8,000 model instances for the cache took
    200 ms of the 300 it took to read them, which its first reader after an edit paid for
    the next list's (by name rather than by sector) sake (bench/README.md, "Session 19").
    """

    def kept_list(self, rows):
        """Return ``rows()``, a list, lazily."""
        return SimpleLazyObject(lambda: list(rows()))

    def get_template_names(self):
        # ListView's would look at object_list (for its model), reading the lazy list.
        return [self.template_name]


class SpeakerListView(KeptListMixin, PublicMixin, ListView):
    model = Speaker
    section = "speakers"
    # get_queryset() returns a list, which names neither the template nor the list
    template_name = "speakers/speaker_list.html"
    context_object_name = "speaker_list"

    def get_queryset(self):
        def people():
            roles = self.appearances().order_by(
                "speaker__sort_name", "speaker_id", *Appearance._meta.ordering
            )
            return PeopleRows(roles, self.tally_positions("speaker"))

        # Read only when the page's list is not kept: by the generation, or by these rows.
        return SimpleLazyObject(people)

    @cached_property
    def listing(self):
        """Return ``(speakers, groups by sector, rapporteurs)`` of ``object_list``."""
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
        return speakers, [group for group in groups if group[2]], rapporteurs

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            by_name=self.request.GET.get("order") == "name",
            people_rows=self.people_stamp.of(self.object_list),
            speakers=SimpleLazyObject(lambda: self.listing[0]),
            speakers_by_sector=SimpleLazyObject(lambda: self.listing[1]),
            rapporteurs=SimpleLazyObject(lambda: self.listing[2]),
            **kwargs,
        )


class SpeakerDetailView(KeptObjectMixin, PublicMixin, DetailView):
    model = Speaker
    section = "speakers"
    kept_object_tables = (*PEOPLE_TABLES, SpeakerLink)

    def kept_object_key(self):
        return f"speaker:{self.kwargs['slug']}"

    def with_parts(self, speaker):
        """Return ``speaker`` with ``roles`` (their public appearances) and ``listed_links``."""
        speaker.roles = list(
            self.appearances()
            .filter(speaker=speaker)
            .select_related("session__forum", "institution")
            .order_by("-session__forum__edition_year", "session__forum", "session__order", "pk")
        )
        speaker.listed_links = list(speaker.links.all())
        return speaker

    def get_context_data(self, **kwargs):
        speaker = self.object
        positions = self.cards(self.positions().filter(appearance__speaker=speaker)).order_by(
            "-appearance__session__forum__edition_year", "order", "pk"
        )
        listed = SimpleLazyObject(lambda: list(positions))
        return super().get_context_data(
            appearances=speaker.roles,
            links=speaker.listed_links,
            # Rendered from the fragment cache for the public: not computed then.
            positions_by_forum=SimpleLazyObject(lambda: group_by_forum_and_theme(listed)),
            # What that part is rendered from (``{% fragment … rows= %}``).
            speaker_rows=stamp_of(self.request, speaker).of(
                SimpleLazyObject(lambda: [speaker, *listed])
            ),
            **kwargs,
        )


class CountedInstitutionsMixin:
    def counted(self, institutions):
        """Return ``institutions`` as a list, each with ``people_count`` and
        ``position_count`` (``role_tallies``)."""
        people = self.tally_people("institution")
        positions = self.tally_positions("institution")
        institutions = list(institutions)
        for institution in institutions:
            institution.people_count = people.get(institution.pk, 0)
            institution.position_count = positions.get(institution.pk, 0)
        return institutions


class InstitutionListView(CountedInstitutionsMixin, KeptListMixin, PublicMixin, ListView):
    model = Institution
    section = "institutions"
    template_name = "speakers/institution_list.html"  # get_queryset() returns a list
    context_object_name = "institution_list"

    def get_queryset(self):
        institutions = super().get_queryset().order_by("name_en", "pk")
        return self.kept_list(lambda: self.counted(institutions))

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            institutions_by_sector=SimpleLazyObject(
                lambda: group_by_sector(self.object_list, lambda i: i.sector)
            ),
            institution_rows=self.people_stamp.of(self.object_list),
            **kwargs,
        )


class InstitutionDetailView(KeptObjectMixin, PublicMixin, DetailView):
    model = Institution
    section = "institutions"
    kept_object_tables = PEOPLE_TABLES

    def kept_object_key(self):
        return f"institution:{self.kwargs['slug']}"

    def with_parts(self, institution):
        """Return ``institution`` with ``people``: a role of each person named with it."""
        appearances = list(
            self.appearances()
            .filter(institution=institution)
            .select_related("speaker", "institution", "session__forum")
            .order_by("speaker__sort_name", "speaker", "-session__forum__edition_year", "pk")
        )
        institution.people = distinct_speakers(appearances)
        return institution

    def get_context_data(self, **kwargs):
        institution = self.object
        return super().get_context_data(
            people=institution.people,
            **self.page_of_cards(
                self.positions().filter(appearance__institution=institution),
                f"institution:{institution.pk}",
                stamp=stamp_of(self.request, institution),
            ),
            **kwargs,
        )


class SectorListView(PublicMixin, TemplateView):
    template_name = "speakers/sector_list.html"
    section = "institutions"

    def get_context_data(self, **kwargs):
        def count_institutions():
            rows = self.visible(Institution.objects.all()).order_by().values("sector")
            return {row["sector"]: row["n"] for row in rows.annotate(n=Count("pk"))}

        counts = {
            "institutions": self.people_stamp.kept("sector-institutions", count_institutions),
            "people": self.tally_people("sector"),
            "positions": self.tally_positions("sector"),
        }
        sectors = [
            {"value": value, "label": label, **{k: c.get(value, 0) for k, c in counts.items()}}
            for value, label in Sector.choices
        ]
        return super().get_context_data(sectors=sectors, **kwargs)


class SectorDetailView(CountedInstitutionsMixin, PublicMixin, TemplateView):
    template_name = "speakers/sector_detail.html"
    section = "institutions"

    def get_context_data(self, **kwargs):
        value = kwargs.pop("sector")
        if value not in Sector.values:
            raise Http404("No such sector.")
        sector = Sector(value)
        institutions = SimpleLazyObject(
            lambda: self.counted(
                self.visible(Institution.objects.filter(sector=sector)).order_by("name_en", "pk")
            )
        )
        roles = (
            self.appearances()
            .filter(institution__sector=sector)
            .order_by("speaker__sort_name", "speaker", "-session__forum__edition_year", "pk")
        )
        # Each person with their latest role, read as the rows that also keep the list.
        people_rows = SimpleLazyObject(lambda: PeopleRows(roles, {}))
        # The sector's roles with positions, from the roles' tally, rather than a join to
        # institutions: SQLite joined every position of the sector to its role and sorted them
        # all for a page of fifty, where it now walks the positions in order and stops at the
        # page (bench/README.md, "Session 24").
        positions = self.positions().filter(
            appearance__in=[
                role.pk
                for role in self.role_tallies
                if role.sector == sector.value and role.positions
            ]
        )

        def count():
            # From the roles' tally the institutions are counted from (a COUNT joining every
            # position with its role and institution: 14 ms at 100,000 on PostgreSQL).
            return self.tally_positions("sector")[sector.value]

        return super().get_context_data(
            sector=sector,
            institutions=institutions,
            institution_rows=self.people_stamp.of(institutions),
            people_rows=self.people_stamp.of(people_rows),
            people=SimpleLazyObject(lambda: [person.roles[0] for person in people_rows]),
            **self.page_of_cards(positions, f"sector:{sector.value}", count=count),
            **kwargs,
        )
