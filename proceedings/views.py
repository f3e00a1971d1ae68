"""
The public pages: forums and what was said there, and the tags and source documents behind it
(readers' error reports: ``corrections``; people, institutions and sectors: speakers/views.py,
which builds on ``PublicMixin`` and the card queries defined here).

What is public is decided in one place, the models' ``.published()`` QuerySet methods and their
``published_*_q`` builders (proceedings/models.py, speakers/models.py); every view goes through
``PublicMixin``, which applies them. Staff see everything, and each page that is not public tells
them so with a banner naming its status (``Preview``). A withdrawn position's permalink answers
410 Gone, so that people following an old citation learn what happened to it.

Each view fetches what its template renders up front (``cards()``, ``select_related``,
``Prefetch``), so the number of queries per page does not grow with the number of rows
(``tests/proceedings/test_views.py``).
"""

import hashlib
import re
from collections import defaultdict
from dataclasses import dataclass
from functools import cached_property
from typing import NamedTuple

from django.db.models import (
    BooleanField,
    Count,
    Exists,
    F,
    OuterRef,
    Prefetch,
    Q,
    Value,
)
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.functional import SimpleLazyObject
from django.utils.translation import gettext as _
from django.views.generic import DetailView, ListView, TemplateView
from taggit.models import Tag

from forum_portal.cache import TableRows, per_generation, request_generation
from speakers.models import Institution, Sector, Speaker

from .forms import CorrectionRequestForm
from .listing import (
    RoleRows,
    attnames_of,
    forums_stamp,
    people_stamp,
    positions_stamp,
    stamp_of,
)
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
    Status,
    Theme,
    count_by,
    listed_positions,
    published_tag_counts,
    tagged_items_of,
)
from .pagination import PagedListMixin, lenient_page, page_navigation
from .search.highlight import mark_phrases

# The home page shows the positions editors featured (at most this many), else the first
# few published verbatim quotations.
FEATURED_POSITIONS = 6
FALLBACK_POSITIONS = 3
FALLBACK_CANDIDATES = 30
RELATED_POSITIONS = 6
# Pages that list positions (theme, tag, institution, sector) show this many cards at a time:
# a theme of 262 positions took 0.9 s to render whole in the load test (bench/README.md), and
# at 100,000 positions a sector has some 14,000.
POSITION_PAGE_SIZE = THEME_PAGE_SIZE = 50
# The home page shows the newest forums in full; the forum list (/forums/) pages through all.
HOME_FORUMS = 5
QUESTION_THEME_CARDS = 10
FORUM_PAGE_SIZE = 20
TAG_PAGE_SIZE = 200


# ---------------------------------------------------------------------------------------------
# What is public
# ---------------------------------------------------------------------------------------------


def status_parts(obj):
    """Return the rows whose status decides whether ``obj`` is public, ``obj`` itself first.

    Used only to explain a preview banner; whether a page is public is always asked of
    ``published()``.
    """
    if isinstance(obj, Position):
        return [obj, obj.appearance.speaker, obj.appearance.session.forum]
    if isinstance(obj, Theme):
        return [obj, obj.forum]
    if isinstance(obj, Session | Question):
        return [obj.forum]
    if isinstance(obj, Forum | Speaker):
        return [obj]
    return []


@dataclass(frozen=True)
class Preview:
    """Why staff can see a page the public cannot: the status to name and one sentence.

    ``status`` is a ``Status`` value, or "" for a page with no status of its own to blame (an
    institution no public role names yet).
    """

    status: str
    reason: str


def preview_of(obj):
    """Return the ``Preview`` of a page about ``obj`` that is not public (one query)."""
    if type(obj).objects.filter(pk=obj.pk).published().exists():
        return None
    for part in status_parts(obj):
        if part.status == Status.PUBLISHED:
            continue
        if part is not obj:
            reason = _("Only staff can see this page: its %(kind)s “%(name)s” is not published.")
            reason %= {"kind": part._meta.verbose_name, "name": part}
        elif part.status == Status.WITHDRAWN:
            reason = _("The editors withdrew it; only staff can see this page.")
        else:
            reason = _("Only staff can see this page until it is published.")
        return Preview(part.status, reason)
    if isinstance(obj, Speaker):
        reason = _("Only staff can see this page: this person has no role in a published forum.")
    elif isinstance(obj, Institution):
        reason = _(
            "Only staff can see this page: no published person in a published forum names it."
        )
    else:
        reason = _("Only staff can see this page: nothing public cites it.")
    return Preview("", reason)


class RoleTally(NamedTuple):
    """A role as the lists of everyone count it (``PublicMixin.role_tallies``)."""

    pk: int
    speaker: int
    institution: int | None
    sector: str | None
    forum: int
    positions: int


class PublicMixin:
    """Limit a view to what is public; staff see everything, and what is not public is marked.

    ``get_queryset()`` applies ``published()`` unless the user is staff; ``positions()``,
    ``themes()`` and ``appearances()`` are the one way a view lists those rows, ``cards()``
    readies positions for ``includes/_position_card.html`` and ``count_*()`` count only what
    the lists show. Detail pages get ``preview`` (a ``Preview`` or None) for the banner.
    """

    section = "forums"

    @cached_property
    def shows_drafts(self):
        return self.request.user.is_staff

    def visible(self, queryset):
        """Return ``queryset`` as this request may see it."""
        return queryset if self.shows_drafts else queryset.published()

    def get_queryset(self):
        return self.visible(super().get_queryset())

    def positions(self):
        """Return the positions this request may see (pass them to ``cards()`` for cards)."""
        return self.visible(Position.objects.all())

    def themes(self):
        """Return the themes this request may see."""
        return self.visible(Theme.objects.all())

    def appearances(self):
        """Return the roles this request may see: published people in published forums."""
        return self.visible(Appearance.objects.all())

    def cards(self, positions):
        """Return ``positions`` with everything a card renders, in a fixed number of queries.

        ``for_listing()`` with the themes this request may see. For staff, each row also gets
        ``is_public``, which the card reads to mark what the public does not see. When cards
        come from the fragment cache, the prefetches wait for a card that is not cached
        (``prefetch_on_demand()``).
        """
        # The public's themes are for_listing()'s default, whose SQL is built once per process.
        cards = positions.for_listing(themes=self.themes() if self.shows_drafts else None)
        if self.shows_drafts:
            cards = cards.annotate(
                is_public=Exists(Position.objects.published().filter(pk=OuterRef("pk")))
            )
        elif request_generation(self.request) is not None:
            cards = cards.prefetch_on_demand()
        return cards

    def page_of_cards(self, positions, name, count=None, stamp=None):
        """Return the context of one page of ``positions`` as cards.

        ``positions`` (the page's cards, a list read when first used: not at all under a
        cached ``{% fragment %}``), ``page_obj`` and ``page_navigation()``'s links, the page
        chosen as ``lenient_page()`` does, and ``cards_rows``, what the cards' part is kept by
        (``{% fragment … rows= %}``). ``name`` (e.g. ``theme:12``) keys the number of
        positions, counted once per content generation for the public, or once per ``stamp``
        (``TableRows``: ``listing.stamp_of()``) when given: on PostgreSQL the count cost as
        much as the page's cards (2.8 ms, bench/README.md). ``count``: a function that knows
        it more cheaply than ``positions.count()``.
        """
        count = count or positions.count
        if stamp is None:
            count = per_generation(self.request, f"count:{name}", count)
        else:
            count = stamp.kept(f"count:{name}", count)
        page = lenient_page(
            self.cards(positions), POSITION_PAGE_SIZE, self.request, count, lazy=True
        )
        cards = page.object_list
        return {
            "positions": cards,
            "cards_rows": cards if stamp is None else stamp.of(cards),
            "page_obj": page,
            **page_navigation(page),
        }

    @cached_property
    def role_tallies(self):
        """A ``RoleTally`` per role this request may see: its person, institution and
        sector, and the number of its positions this request may see.

        What the lists of everyone count by: people, institutions and sectors add up their
        roles' (``tally_positions()``, ``tally_people()``). Two statements: the roles, and the
        database's tally of their published positions (``AppearanceTally``), where counting
        them by role was 8-24 ms at 100,000 positions on PostgreSQL after each edit (staff,
        who see drafts, still count); kept for the public by the stamp of what they are made
        of (``people_stamp``), across edits to positions that change no tally, and shared by
        those pages. Counted per listed row by a correlated subquery, which PostgreSQL ran more
        than once a row, the list of 1,000 institutions took 3.4 s after each edit
        (bench/README.md).
        """

        def tally():
            if self.shows_drafts:
                counts = count_by(Position.objects.all(), "appearance")
            else:
                # Published positions by role (published() less its role's condition): only
                # the visible roles below are listed.
                counts = dict(AppearanceTally.objects.values_list("appearance", "positions"))
            roles = (
                self.appearances()
                .order_by()
                .values_list(
                    "pk", "speaker_id", "institution_id", "institution__sector", "session__forum"
                )
            )
            # Kept as plain tuples: 3,000 named tuples took 11-17 ms to pickle and unpickle,
            # each pickled as a call to its class; plain ones 1.5.
            return [
                (pk, speaker, institution, sector, forum, counts.get(pk, 0))
                for pk, speaker, institution, sector, forum in roles
            ]

        return list(map(RoleTally._make, self.people_stamp.kept("role-tallies", tally)))

    @cached_property
    def people_stamp(self):
        """What the lists of everyone are made of (``listing.people_stamp``)."""
        return people_stamp(self.request)

    def tally_positions(self, by):
        """Return ``{value: the number of positions this request may see}`` by ``by``, a
        field of ``RoleTally`` (``"speaker"``, ``"institution"`` or ``"sector"``)."""
        counts = defaultdict(int)
        for role in self.role_tallies:
            counts[getattr(role, by)] += role.positions
        return counts

    def tally_people(self, by):
        """Return ``{value: the number of people with a role this request may see}`` by
        ``by``, as ``tally_positions()``."""
        people = defaultdict(set)
        for role in self.role_tallies:
            people[getattr(role, by)].add(role.speaker)
        return {value: len(speakers) for value, speakers in people.items()}

    def get_context_data(self, **kwargs):
        context = {"section": self.section, "shows_drafts": self.shows_drafts}
        obj = getattr(self, "object", None)
        if obj is not None:
            context["preview"] = preview_of(obj) if self.shows_drafts else None
        return super().get_context_data(**context, **kwargs)


class KeptObjectMixin:
    """A detail view whose object, for the public, is read once per stamp of its tables.

    ``kept_object_key()`` names it in the values cache; ``kept_object_tables``: the models
    whose tables it and its parts are read from, by whose stamp it is kept (``TableRows``:
    a quote corrected leaves a theme or a person kept); ``with_parts(obj)`` adds what the
    page reads of it besides its row (a speaker's roles), for staff too. A theme or a person
    with their related rows was three queries a page.
    """

    def kept_object_key(self):
        raise NotImplementedError

    def with_parts(self, obj):
        return obj

    def get_object(self, queryset=None):
        if queryset is not None or request_generation(self.request) is None:
            return self.with_parts(super().get_object(queryset))

        def compute():
            return self.with_parts(super(KeptObjectMixin, self).get_object())

        return TableRows(self.request, self.kept_object_tables).kept(
            self.kept_object_key(), compute
        )


# ---------------------------------------------------------------------------------------------
# Helpers for grouping rows the way pages show them
# ---------------------------------------------------------------------------------------------


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

    A position filed under two themes is listed under both; one with no (visible) theme goes
    under ``theme=None`` at the end of its forum. Forums keep the order of the positions given.
    """
    forums = {}
    for position in positions:
        # Not position.appearance: cards kept by their rows' digest need not be built.
        forum, listed_themes = position.forum_and_themes()
        themes = forums.setdefault(forum.pk, {"forum": forum, "themes": {}})["themes"]
        for theme in listed_themes or [None]:
            key = (theme.order, theme.pk) if theme else (float("inf"), 0)
            themes.setdefault(key, {"theme": theme, "positions": []})["positions"].append(position)
    return [
        {
            "forum": group["forum"],
            "themes": [group["themes"][key] for key in sorted(group["themes"])],
        }
        for group in forums.values()
    ]


def highlight_quotations(text, positions, phrases=()):
    """Return ``text`` as HTML with the verbatim quotations of ``positions`` in ``<mark>``.

    ``phrases``: the texts of key phrases quoted in this text (verbatim too), marked alike.
    """
    quotes = {p.text for p in positions if p.fidelity == Position.Fidelity.VERBATIM}
    return mark_phrases(text, quotes | set(phrases), css_class="")


# ---------------------------------------------------------------------------------------------
# Forums and what was said there
# ---------------------------------------------------------------------------------------------


def newest_first(forums):
    """Return ``forums`` newest first: the home page's and the forum list's order."""
    return forums.order_by(F("starts_on").desc(nulls_last=True), "-edition_year", "name", "pk")


def _attnames(model):
    return [field.attname for field in model._meta.concrete_fields]


class ForumRows:
    """Forums, each with its guiding questions and their themes, read as plain values.

    Three queries: the first ``limit`` of ``forums`` (a queryset, in order), their questions,
    and the ``themes`` (a queryset) of those questions, in the order the ORM's prefetches would
    give. Kept as values per content generation and digested as read (``rows_digest()``, for
    ``{% fragment … rows=… %}``); iterating builds the forums, with ``listed_questions``, each
    question with ``listed_themes`` (each theme with its forum), once. After an edit elsewhere,
    the home page's first reader read the forums with prefetches (150 model instances at 50
    forums), walked them to digest them, and pickled them to keep them, to find the part kept
    by those rows and render nothing (bench/README.md).
    """

    def __init__(self, forums, themes, limit):
        self.db = forums.db
        forum_fields = _attnames(Forum)
        self.forums = list(forums.values_list(*forum_fields)[:limit])
        ids = [row[forum_fields.index("id")] for row in self.forums]
        question_fields = _attnames(Question)
        self.questions = (
            list(Question.objects.filter(forum__in=ids).values_list(*question_fields))
            if ids
            else []
        )
        question_ids = [row[question_fields.index("id")] for row in self.questions]
        # Each theme's row: the question it answers, then its columns and its forum's.
        self.themes = (
            list(
                themes.filter(questions__in=question_ids).values_list(
                    "questions",
                    *_attnames(Theme),
                    *(f"forum__{name}" for name in forum_fields),
                )
            )
            if question_ids
            else []
        )
        self._built = None

    def __getstate__(self):
        return {**self.__dict__, "_built": None}  # kept as values: the instances are rebuilt

    def rows_digest(self):
        rows = (self.forums, self.questions, self.themes)
        return hashlib.blake2b(repr(rows).encode(), digest_size=16).hexdigest()

    def __iter__(self):
        if self._built is None:
            self._built = self._build()
        return iter(self._built)

    def __len__(self):
        return len(self.forums)

    def __getitem__(self, index):
        return list(self)[index]

    def _build(self):
        forum_fields, theme_fields = _attnames(Forum), _attnames(Theme)
        forums = [Forum.from_db(self.db, forum_fields, row) for row in self.forums]
        by_forum = {forum.pk: forum for forum in forums}
        questions = {}
        for forum in forums:
            forum.listed_questions = []
        for row in self.questions:
            question = Question.from_db(self.db, _attnames(Question), row)
            question.listed_themes = []
            forum = by_forum[question.forum_id]
            question._state.fields_cache["forum"] = forum  # as the reverse prefetch sets it
            forum.listed_questions.append(question)
            questions[question.pk] = question
        end = 1 + len(theme_fields)
        for row in self.themes:
            theme = Theme.from_db(self.db, theme_fields, row[1:end])
            theme._state.fields_cache["forum"] = Forum.from_db(self.db, forum_fields, row[end:])
            questions[row[0]].listed_themes.append(theme)
        return forums


class HomeView(PublicMixin, TemplateView):
    template_name = "proceedings/home.html"

    def get_context_data(self, **kwargs):
        # The way in: themes with something said on them. An empty one (the report's outlook
        # over its tasks) is reached from its question and forum pages, not promoted here.
        quoted = Exists(self.positions().filter(themes=OuterRef("pk")))
        visible_forums = self.visible(Forum.objects.all())
        positions = self.positions()

        def featured_ids():
            # The candidates from one table and its (featured, order) or (fidelity, order)
            # index, then the joins of what is public on those only: joined first, the
            # planners walked every forum's positions (a full scan, and a whole one when none
            # is featured). Editors feature a handful; verbatim quotations are many, so only
            # the first FALLBACK_CANDIDATES published ones in reading order are candidates.
            candidates = Position.objects.filter(featured=True).values("pk")
            ids = positions.filter(pk__in=candidates).values_list("pk", flat=True)
            if ids := list(ids[:FEATURED_POSITIONS]):
                return ids
            candidates = (
                Position.objects.filter(fidelity=Position.Fidelity.VERBATIM)
                .filter(status=Status.PUBLISHED)
                .order_by("order", "pk")
                .values("pk")[:FALLBACK_CANDIDATES]
            )
            return list(
                positions.filter(pk__in=candidates).values_list("pk", flat=True)[
                    :FALLBACK_POSITIONS
                ]
            )

        # The forums with their questions and quoted themes (an EXISTS per theme: 12 ms at
        # 100,000 positions on PostgreSQL) and which positions lead: once per content
        # generation for the public, like the counts below. The forums are read only when
        # their part of the page is not in the fragment cache. Every theme of every forum was
        # 436 ms at 50 forums (bench/README.md): the newest HOME_FORUMS, then a link to the
        # list of all of them.
        forums = SimpleLazyObject(
            lambda: per_generation(
                self.request,
                "home-forums",
                lambda: ForumRows(
                    newest_first(visible_forums), self.themes().filter(quoted), HOME_FORUMS
                ),
            )
        )
        ids = per_generation(self.request, "home-featured", featured_ids)
        featured = list(self.cards(Position.objects.filter(pk__in=ids)))

        def count():
            # The speaker list's "speakers" (everyone with a role other than rapporteur) and
            # the public institutions (those a public role names) are counted from the roles
            # this request sees, in one query: as people and institutions with such a role,
            # two EXISTS scans of their tables were 10 ms at 100,000 positions on PostgreSQL
            # (bench/README.md). Staff see every institution, named or not.
            people = self.appearances().aggregate(
                speakers=Count(
                    "speaker", distinct=True, filter=~Q(capacity=Appearance.Capacity.RAPPORTEUR)
                ),
                institutions=Count("institution", distinct=True),
            )
            return {
                "positions": positions.count()
                if self.shows_drafts
                else Position.objects.count_published(),
                "speakers": people["speakers"],
                "institutions": Institution.objects.count()
                if self.shows_drafts
                else people["institutions"],
                "themes": self.themes().count(),
                "forums": visible_forums.count(),
            }

        # Counting every published position joins five tables (60–90 ms at 100,000 on
        # PostgreSQL, bench/README.md): counted once per content generation for the public.
        counts = per_generation(self.request, "home-counts", count)
        return super().get_context_data(
            forums=forums, featured_positions=featured, counts=counts, **kwargs
        )


class ForumListView(PagedListMixin, PublicMixin, ListView):
    """Every forum, newest first, with its guiding questions and how much of it is public."""

    model = Forum
    paginate_by = FORUM_PAGE_SIZE

    def get_queryset(self):
        return newest_first(super().get_queryset()).prefetch_related("questions")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        # Counted when the page's list is rendered: not at all when it is a kept page part.
        context["forum_list"] = SimpleLazyObject(lambda: self.counted(context["object_list"]))
        context["forum_rows"] = forums_stamp(self.request).of(context["forum_list"])
        return context

    def counted(self, forums):
        """Return ``forums`` as a list, each with its public positions, people and themes."""
        forums = list(forums)

        def count_themes():
            themes = self.themes().filter(forum__in=forums).order_by().values("forum")
            return {row["forum"]: row["n"] for row in themes.annotate(n=Count("*"))}

        # Positions and people from the roles' tally: counted by a grouped join of every
        # position with its role, 60 ms after each edit at 100,000 on PostgreSQL
        # (bench/README.md, "Session 19"). Themes once per content generation and page.
        ids = ",".join(str(forum.pk) for forum in forums)
        theme_counts = per_generation(self.request, f"forum-themes:{ids}", count_themes)
        positions, people = defaultdict(int), defaultdict(set)
        for role in self.role_tallies:
            if role.positions:
                positions[role.forum] += role.positions
                people[role.forum].add(role.speaker)
        for forum in forums:
            forum.position_count = positions[forum.pk]
            forum.speaker_count = len(people[forum.pk])
            forum.theme_count = theme_counts.get(forum.pk, 0)
        return forums


class ForumDetailView(PublicMixin, DetailView):
    model = Forum

    def get_context_data(self, **kwargs):
        forum = self.object
        # The page's body is a part kept per content generation (``{% fragment %}``): what
        # it lists is read only when the part is not kept, and then rendered only when it is
        # not kept by a digest of these rows either (an edit elsewhere leaves them as they
        # were).
        sessions = forum.sessions.select_related("source")
        questions = SimpleLazyObject(lambda: self.questions(forum))
        roles = SimpleLazyObject(lambda: self.roles(forum))
        people = SimpleLazyObject(lambda: self.people(roles))
        return super().get_context_data(
            sessions=sessions,
            questions=questions,
            forum_rows=stamp_of(self.request, forum).of(
                SimpleLazyObject(lambda: [forum, *sessions, *questions, *roles])
            ),
            speakers_by_sector=SimpleLazyObject(
                lambda: group_by_sector(people[Appearance.Capacity.SPEAKER], appearance_sector)
            ),
            moderators=SimpleLazyObject(lambda: people[Appearance.Capacity.MODERATOR]),
            rapporteurs=SimpleLazyObject(lambda: people[Appearance.Capacity.RAPPORTEUR]),
            **kwargs,
        )

    def questions(self, forum):
        """Return the forum's questions, each with its themes and their ``position_count``.

        Counted in one grouped statement, not a correlated count per theme, which read every
        position of each theme again: 48 ms for 13 themes of 2,000 positions on PostgreSQL.
        """
        questions = list(
            forum.questions.prefetch_related(
                Prefetch("themes", queryset=self.themes().select_related("forum"))
            )
        )
        counts = dict(
            self.positions()
            .filter(themes__forum=forum)
            .order_by()
            .values("themes")
            .annotate(n=Count("*"))
            .values_list("themes", "n")
        )
        for question in questions:
            for theme in question.themes.all():
                theme.position_count = counts.get(theme.pk, 0)
        return questions

    def roles(self, forum):
        """Return the forum's roles this request may see, with their people and institutions."""
        return list(
            self.appearances()
            .filter(session__forum=forum)
            .select_related("speaker", "institution")
            .order_by("session__order", "session__pk", "order", "pk")
        )

    def people(self, roles):
        """Return ``{capacity: the distinct people of ``roles`` in that capacity}``."""
        return {
            capacity: distinct_speakers(a for a in roles if a.capacity == capacity)
            for capacity in Appearance.Capacity
        }


class ForumPartMixin(PublicMixin):
    """Look a session, question or theme up by its forum's slug and its own."""

    def get_queryset(self):
        return super().get_queryset().filter(forum__slug=self.kwargs["forum_slug"])


class SessionDetailView(ForumPartMixin, DetailView):
    model = Session

    def get_queryset(self):
        return super().get_queryset().select_related("forum", "source")

    def get_context_data(self, **kwargs):
        session = self.object
        positions = self.positions().filter(appearance__session=session)
        stamp = stamp_of(self.request, session)
        # Fifty at a time, as a theme's: a session of hundreds of positions was one very long
        # page (bench/README.md, "Session 22").
        cards = self.page_of_cards(positions, f"session:{session.pk}", stamp=stamp)
        appearances = (
            self.appearances().filter(session=session).select_related("speaker", "institution")
        )
        return super().get_context_data(
            appearances=appearances,
            **cards,
            # What the page part is rendered from (``{% fragment … rows= %}``).
            session_rows=stamp.of(
                SimpleLazyObject(lambda: [session, *cards["positions"], *appearances])
            ),
            **kwargs,
        )


class QuestionDetailView(ForumPartMixin, DetailView):
    model = Question

    def get_queryset(self):
        return super().get_queryset().select_related("forum")

    def get_context_data(self, **kwargs):
        # Read only when the page part is not kept (``{% fragment %}``): by the stamps of
        # its themes' positions, which an edit on another question's theme leaves as they were.
        themes = SimpleLazyObject(lambda: self.question_themes(self.object))
        linked = Theme.questions.through.objects.filter(question=self.object)
        stamp = positions_stamp(
            self.request, PositionStamp.Scope.THEME, linked.values_list("theme_id", flat=True)
        )
        return super().get_context_data(themes=themes, theme_rows=stamp.of(themes), **kwargs)

    def question_themes(self, question):
        """Return the question's themes, each with its ``position_count`` and its first
        ``QUESTION_THEME_CARDS`` positions as ``cards`` (the rest are on the theme's page: a
        question of a large forum rendered every position of its themes, 2.5 MB at 100,000).

        Both from one list of (theme, position) pairs in reading order, not a correlated count
        per theme and a window function over every position of the themes for their first
        cards: after an edit at 100,000 positions, PostgreSQL 100 -> 72-78 ms, SQLite's SQL
        12-20 -> 4-6 ms (bench/README.md, "Session 19").
        """
        themes = list(self.themes().filter(questions=question).select_related("forum"))
        pairs = (
            self.positions()
            .filter(themes__in=themes)
            .order_by("order", "pk")
            .values_list("themes", "pk")
        )
        counts, first = defaultdict(int), defaultdict(list)
        for theme, position in pairs:
            counts[theme] += 1
            if counts[theme] <= QUESTION_THEME_CARDS:
                first[theme].append(position)
        shown = {position for positions in first.values() for position in positions}
        cards = self.cards(self.positions()).in_bulk(shown) if shown else {}
        for theme in themes:
            theme.position_count = counts[theme.pk]
            theme.cards = [cards[position] for position in first[theme.pk]]
        return themes


class ThemeDetailView(KeptObjectMixin, ForumPartMixin, DetailView):
    model = Theme
    kept_object_tables = (Forum, Theme, Question, Theme.questions.through)

    def get_queryset(self):
        return (
            super()
            .get_queryset()
            .select_related("forum", "parent__forum")
            # The parent is linked only if this request may see it.
            .annotate(parent_visible=Exists(self.themes().filter(pk=OuterRef("parent"))))
            .prefetch_related(
                Prefetch("questions", queryset=Question.objects.select_related("forum")),
                Prefetch("children", queryset=self.themes().select_related("forum")),
            )
        )

    def kept_object_key(self):
        # The theme with its forum, parent, questions and children (three queries, the
        # theme's with an EXISTS for its parent).
        return f"theme:{self.kwargs['forum_slug']}:{self.kwargs['slug']}"

    def get_context_data(self, **kwargs):
        theme = self.object
        on_theme = self.positions().filter(themes=theme)
        # The roles of the theme's positions, one a position in reading order: their number
        # is the theme's count of positions, and they name its speakers. Read once when both
        # are wanted (after an edit), not twice (a count, then the roles: 2.4 + 2.6 ms at
        # 100,000 positions on PostgreSQL).
        roles = SimpleLazyObject(lambda: list(on_theme.values_list("appearance_id", flat=True)))
        stamp = stamp_of(self.request, theme)
        # Rendered from the fragment cache for the public: not computed then.
        speakers = SimpleLazyObject(lambda: self.speakers_of(roles, on_theme.db))
        return super().get_context_data(
            parent=theme.parent if theme.parent_visible else None,
            **self.page_of_cards(
                on_theme, f"theme:{theme.pk}", count=lambda: len(roles), stamp=stamp
            ),
            theme_speakers=speakers,
            speaker_rows=stamp.of(speakers),
            **kwargs,
        )

    def speakers_of(self, roles, using):
        """Return the roles of everyone who speaks, ``roles`` of positions in reading order,
        in the order they first do.

        Over every page of the theme, not only the one shown: the roles are read by id, as
        cards' are (``RoleRows``), in one query whatever the number of positions. A visible
        position's role is one this request may see (``published_position_q()`` includes
        ``published_appearance_q()``).
        """
        return RoleRows(dict.fromkeys(roles), using=using)


class PositionDetailView(PublicMixin, DetailView):
    model = Position

    def get_queryset(self):
        return self.cards(super().get_queryset())

    def get_object(self, queryset=None):
        if queryset is not None or request_generation(self.request) is None:
            return super().get_object(queryset)
        # The public's position as for_listing() reads it, kept per content generation with
        # the search's (the same rows): six queries, a third of the page on PostgreSQL.
        pk = self.kwargs["pk"]
        found = listed_positions(self.request, [pk])
        if pk not in found:
            raise Http404("No such position.")
        return found[pk]

    def get(self, request, *args, **kwargs):
        try:
            return super().get(request, *args, **kwargs)
        except Http404:
            # A withdrawn position's permalink may be cited elsewhere: say what happened to it.
            if Position.objects.filter(pk=kwargs["pk"], status=Status.WITHDRAWN).exists():
                return withdrawn_position(request, pk=kwargs["pk"])
            raise

    def get_context_data(self, **kwargs):
        position = self.object
        # The first few ids (narrow rows, a semi-join on the themes), then the cards of those:
        # a join with DISTINCT over the cards' wide rows cost 84 ms for a theme of 262
        # positions at 100,000, and ordering by the (status, order) index would scan up to the
        # whole table for a late forum. ``order + 0`` keeps that index out (bench/README.md).
        # The ids on the themes come from the through table's theme index: an EXISTS per
        # position scanned every position on SQLite (123–170 ms at 100,000).
        in_same_theme = Position.themes.through.objects.filter(
            theme__in=[theme.pk for theme in position.listed_themes]
        ).values("position_id")
        first_related = (
            self.positions()
            .filter(pk__in=in_same_theme)
            .exclude(appearance__speaker=position.appearance.speaker_id)
            .order_by(F("order") + 0, "pk")
            .values_list("pk", flat=True)[:RELATED_POSITIONS]
        )
        if request_generation(self.request) is not None:
            # For the public, which ones: once per content generation (5 ms on PostgreSQL).
            first_related = per_generation(
                self.request, f"related-positions:{position.pk}", lambda: list(first_related)
            )
        related = self.cards(Position.objects.filter(pk__in=first_related))
        context = super().get_context_data(
            related_positions=related,
            # What the related part is rendered from, the translation note included: read only
            # when the fragment cache does not hold it for this generation.
            related_rows=SimpleLazyObject(lambda: [position, *related]),
            # Citations record the day they are read: the page's cached parts are per day.
            today=timezone.localdate(),
            **kwargs,
        )
        if context["preview"] is None:
            # Readers report errors on what is public; staff correct drafts in the admin.
            context["report_form"] = CorrectionRequestForm()
        return context


def withdrawn_position(request, *, pk):
    """Answer 410 Gone for a withdrawn position: no text and no speaker, only what happened."""
    forum = Forum.objects.published().filter(sessions__appearances__positions=pk).first()
    return TemplateResponse(
        request,
        "proceedings/position_withdrawn.html",
        {"forum": forum, "section": "forums"},
        status=410,
    )


class SourceDetailView(PublicMixin, DetailView):
    model = SourceDocument

    def get_context_data(self, **kwargs):
        # The text with its citations is a page part kept per content generation, and by the
        # rows it is rendered from across edits that change none: read only when it is not
        # kept, and highlighted only when it is rendered.
        cited = SimpleLazyObject(lambda: CitedRows(self.object, self.citing(self.object)))
        return super().get_context_data(
            cited=cited, paragraphs=SimpleLazyObject(lambda: cited.paragraphs()), **kwargs
        )

    def citing(self, source):
        """Return the positions this request may see that cite a paragraph of ``source``."""
        citing = self.positions().filter(source=source, paragraph__isnull=False)
        if self.shows_drafts:
            return citing.annotate(
                is_public=Exists(Position.objects.published().filter(pk=OuterRef("pk")))
            )
        return citing.annotate(is_public=Value(None, output_field=BooleanField()))


class CitedRows:
    """A source and the positions citing its paragraphs, as the values its page shows of them.

    ``rows_digest()`` digests the source's text and these values (``{% fragment … rows=… %}``);
    ``paragraphs()`` builds each paragraph's HTML, with the positions citing it. Read with
    ``select_related()`` and ``prefetch_related()``, the bench's report of 400 positions built
    2,400 model instances after every edit: 127-182 ms on PostgreSQL at 100,000 positions,
    now 33-45 (bench/README.md, "Session 20").
    """

    # In the models' order of fields, which Model.from_db() expects of a subset.
    POSITION_FIELDS = attnames_of(
        Position, {"id", "paragraph", "fidelity", "text", "status", "appearance_id"}
    )
    SPEAKER_FIELDS = attnames_of(Speaker, {"id", "name", "name_en"})

    def __init__(self, source, citing):
        self.source = source
        speaker = [f"appearance__speaker__{name}" for name in self.SPEAKER_FIELDS]
        self.rows = list(
            citing.order_by("order", "pk").values_list(*self.POSITION_FIELDS, "is_public", *speaker)
        )
        self.phrases = list(
            KeyPhrase.objects.filter(position__in=citing.values("pk"))
            .order_by("position", "order", "pk")
            .values_list("position", "paragraph", "text")
        )

    def rows_digest(self):
        parts = (self.source.language, self.source.full_text, self.rows, self.phrases)
        return hashlib.blake2b(repr(parts).encode(), digest_size=16).hexdigest()

    def positions(self):
        """Return the citing positions, each with its role and person (what the page shows)."""
        using, width = self.source._state.db, len(self.POSITION_FIELDS)
        positions = []
        for row in self.rows:
            position = Position.from_db(using, self.POSITION_FIELDS, row[:width])
            position.is_public = row[width]
            speaker = Speaker.from_db(using, self.SPEAKER_FIELDS, row[width + 1 :])
            role = Appearance.from_db(
                using, ["id", "speaker_id"], [position.appearance_id, speaker.pk]
            )
            role._state.fields_cache["speaker"] = speaker
            position._state.fields_cache["appearance"] = role
            positions.append(position)
        return positions

    def paragraphs(self):
        """Return the source's paragraphs, each with its HTML and the positions citing it."""
        cited = defaultdict(list)
        paragraph_of = {}
        for position in self.positions():
            cited[position.paragraph].append(position)
            paragraph_of[position.pk] = position.paragraph
        phrases = defaultdict(list)  # paragraph -> the key phrases quoted from it
        for position, paragraph, text in self.phrases:
            phrases[paragraph or paragraph_of[position]].append(text)
        return [
            {
                "number": number,
                "html": highlight_quotations(text, cited[number], phrases[number]),
                "positions": cited[number],
                "heading": heading_level(text) if not cited[number] else 0,
            }
            for number, text in enumerate(self.source.paragraphs, start=1)
        ]


# A report's section headings are paragraphs of their own: short, without a sentence's end.
HEADING_MAX_CHARS = 40
_SENTENCE_END = ("。", "！", "？", "；", ".", "!", "?", ";")
_NUMBERED = re.compile(
    r"^\s*(?:\d+[.．、]|[一二三四五六七八九十]+、|[（(][一二三四五六七八九十\d]+[）)])"
)


def heading_level(text):
    """Return 2 for a section heading of a source's full text, 3 for a numbered one, else 0."""
    text = text.strip()
    if not text or len(text) > HEADING_MAX_CHARS or "\n" in text or text.endswith(_SENTENCE_END):
        return 0
    return 3 if _NUMBERED.match(text) else 2


class TagListView(PagedListMixin, PublicMixin, ListView):
    """Every tag a visible position carries, the most used first."""

    section = "tags"
    template_name = "proceedings/tag_list.html"
    context_object_name = "tag_list"  # get_queryset() returns a list, which names nothing
    paginate_by = TAG_PAGE_SIZE

    def get_queryset(self):
        # Still a scan of every tagged position: once per content generation for the public.
        return per_generation(self.request, "tag-list", self.counted_tags)

    def counted_tags(self):
        """Return every tag a visible position carries, with ``position_count``, the most used
        first (then by name), as a list: a page is then a slice, not a second aggregation.

        The public's counts are the database's tally (``published_tag_counts()``): counting the
        tagged items of the public positions took 100-135 ms at 100,000 positions on
        PostgreSQL after each edit, 135 on SQLite (bench/README.md). Staff, who see drafts,
        count every tagged item by tag alone, then read those tags: grouped by every column
        of the tag and its English name, the count sorted 150,000 joined rows.
        """
        if self.shows_drafts:
            counts = count_by(tagged_items_of(Position.objects.all()), "tag")
        else:
            counts = published_tag_counts()
        tags = list(
            Tag.objects.select_related("names").filter(pk__in=counts).order_by("name", "pk")
        )
        for tag in tags:
            tag.position_count = counts[tag.pk]
        tags.sort(key=lambda tag: -tag.position_count)  # stable: by name within a count
        return tags


class TagDetailView(PublicMixin, TemplateView):
    section = "tags"
    template_name = "proceedings/tag_detail.html"

    def get_context_data(self, **kwargs):
        tag = get_object_or_404(Tag.objects.select_related("names"), slug=kwargs.pop("slug"))
        page = self.page_of_cards(self.positions().filter(tags=tag), f"tag:{tag.pk}")
        # The count (kept per generation), not the page's cards: they are read only when the
        # page part is not kept.
        if not page["page_obj"].paginator.count:
            # A tag that only positions the public cannot see carry is not public yet.
            raise Http404("No public position has this tag.")
        return super().get_context_data(tag=tag, **page, **kwargs)
