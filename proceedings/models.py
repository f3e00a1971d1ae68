"""
Forums, their sessions, guiding questions and themes, and the positions speakers took.

Read rules ("what is public") live in the QuerySets below and nowhere else: every public page,
and later search, feeds and exports, go through ``.published()``.
"""

from functools import cache, cached_property, partial
from itertools import islice

from django.conf import settings
from django.contrib.contenttypes.fields import GenericRelation
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.db import connections, models, transaction
from django.db.models import F, Q
from django.db.models.fields.related_descriptors import ForwardManyToOneDescriptor
from django.db.models.functions import Upper
from django.db.models.query import ModelIterable
from django.dispatch import Signal
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from simple_history.models import HistoricalRecords
from taggit.managers import TaggableManager
from taggit.models import Tag, TaggedItem

from forum_portal.cache import per_generation_many
from forum_portal.links import reverse
from forum_portal.validators import http_url
from forum_portal.workflow import Publishable, Status, status_q  # noqa: F401 - Status re-exported
from speakers.models import Institution, Speaker

from .search.fields import TextSearchVectorField


def published_forum_q(prefix=""):
    """Return the condition "belongs to a published forum", across relations via ``prefix``."""
    return status_q(prefix)


def published_theme_q(prefix=""):
    """Return the one definition of a public theme: itself and its forum published."""
    return status_q(prefix) & published_forum_q(f"{prefix}forum__")


def published_appearance_q(prefix=""):
    """Return the one definition of a public role: a published person in a published forum."""
    return status_q(f"{prefix}speaker__") & published_forum_q(f"{prefix}session__forum__")


def published_position_q(prefix=""):
    """Return the one definition of a public position: itself, its speaker and forum published.

    Pages, search, feeds and exports all go through this (via ``PositionQuerySet.published``).
    """
    return status_q(prefix) & published_appearance_q(f"{prefix}appearance__")


class ForumQuerySet(models.QuerySet):
    def published(self):
        return self.filter(published_forum_q())


class Forum(Publishable):
    slug = models.SlugField(_("slug"), max_length=120, unique=True)
    name = models.CharField(_("name"), max_length=300, help_text=_("In the original script."))
    name_en = models.CharField(_("English name"), max_length=300, blank=True)
    edition_year = models.PositiveSmallIntegerField(_("edition year"))
    starts_on = models.DateField(_("starts on"), null=True, blank=True)
    ends_on = models.DateField(_("ends on"), null=True, blank=True)
    place = models.CharField(_("place"), max_length=200, blank=True)
    place_en = models.CharField(_("place (English)"), max_length=200, blank=True)
    organisers = models.TextField(_("organisers"), blank=True)
    organisers_en = models.TextField(_("organisers (English)"), blank=True)
    description = models.TextField(_("description"), blank=True)
    description_en = models.TextField(_("description (English)"), blank=True)

    objects = ForumQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("forum")
        verbose_name_plural = _("forums")
        permissions = [("publish_forum", _("Can publish, unpublish and withdraw forums"))]
        ordering = ["-edition_year", "name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_on__gte=F("starts_on"))
                | Q(ends_on__isnull=True)
                | Q(starts_on__isnull=True),
                name="forum_ends_after_start",
            ),
        ]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("proceedings:forum-detail", args=[self.slug])


class SessionQuerySet(models.QuerySet):
    def published(self):
        return self.filter(published_forum_q("forum__"))


class Session(models.Model):
    forum = models.ForeignKey(
        Forum, models.CASCADE, related_name="sessions", verbose_name=_("forum")
    )
    slug = models.SlugField(_("slug"), max_length=120)
    title = models.CharField(_("title"), max_length=300)
    title_en = models.CharField(_("English title"), max_length=300, blank=True)
    held_on = models.DateField(_("held on"), null=True, blank=True)
    description = models.TextField(_("description"), blank=True)
    description_en = models.TextField(_("description (English)"), blank=True)
    source = models.ForeignKey(
        "SourceDocument",
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="sessions",
        verbose_name=_("report"),
        help_text=_("The document this session's proceedings are curated from."),
    )
    order = models.PositiveSmallIntegerField(_("order"), default=0)

    objects = SessionQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        verbose_name = pgettext_lazy("forum session", "session")
        verbose_name_plural = pgettext_lazy("forum session", "sessions")
        ordering = ["forum", "order", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["forum", "slug"], name="session_slug_unique_per_forum"),
        ]

    def __str__(self):
        return f"{self.forum.name} · {self.title}"

    def get_absolute_url(self):
        return reverse("proceedings:session-detail", args=[self.forum.slug, self.slug])


class QuestionQuerySet(models.QuerySet):
    def published(self):
        return self.filter(published_forum_q("forum__"))


class Question(models.Model):
    """A guiding question of a forum (e.g. 誰來融合, who integrates)."""

    forum = models.ForeignKey(
        Forum, models.CASCADE, related_name="questions", verbose_name=_("forum")
    )
    slug = models.SlugField(_("slug"), max_length=120)
    title = models.CharField(_("question"), max_length=300)
    title_en = models.CharField(_("question (English)"), max_length=300, blank=True)
    summary = models.TextField(_("summary"), blank=True)
    summary_en = models.TextField(_("summary (English)"), blank=True)
    order = models.PositiveSmallIntegerField(_("order"), default=0)

    objects = QuestionQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("guiding question")
        verbose_name_plural = _("guiding questions")
        ordering = ["forum", "order", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["forum", "slug"], name="question_slug_unique_per_forum"
            ),
        ]

    def __str__(self):
        return self.title

    def get_absolute_url(self):
        return reverse("proceedings:question-detail", args=[self.forum.slug, self.slug])


class ThemeQuerySet(models.QuerySet):
    def published(self):
        return self.filter(published_theme_q())


class Theme(Publishable):
    class Kind(models.TextChoices):
        FINDING = "finding", _("Finding")
        OUTLOOK = "outlook", _("Outlook")
        TASK = "task", _("Task")

    forum = models.ForeignKey(Forum, models.CASCADE, related_name="themes", verbose_name=_("forum"))
    slug = models.SlugField(_("slug"), max_length=120)
    title = models.CharField(_("title"), max_length=300)
    title_en = models.CharField(_("English title"), max_length=300, blank=True)
    summary = models.TextField(_("summary"), blank=True)
    summary_en = models.TextField(_("summary (English)"), blank=True)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind, default=Kind.FINDING)
    parent = models.ForeignKey(
        "self",
        models.PROTECT,
        null=True,
        blank=True,
        related_name="children",
        verbose_name=_("parent theme"),
    )
    questions = models.ManyToManyField(
        Question,
        related_name="themes",
        verbose_name=_("guiding questions"),
        help_text=_("The guiding questions this theme answers (one or more)."),
    )
    order = models.PositiveSmallIntegerField(_("order"), default=0)
    curator_note = models.TextField(
        _("curator's note"),
        blank=True,
        help_text=_("Why the theme is placed or worded as it is, where the source leaves room."),
    )
    curator_note_en = models.TextField(_("curator's note (English)"), blank=True)

    objects = ThemeQuerySet.as_manager()
    history = HistoricalRecords(m2m_fields=[questions])

    class Meta:
        verbose_name = _("theme")
        verbose_name_plural = _("themes")
        permissions = [("publish_theme", _("Can publish, unpublish and withdraw themes"))]
        ordering = ["forum", "order", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["forum", "slug"], name="theme_slug_unique_per_forum"),
        ]

    def __str__(self):
        return self.title

    def get_absolute_url(self):
        return reverse("proceedings:theme-detail", args=[self.forum.slug, self.slug])

    def clean(self):
        if self.parent_id and self.parent_id == self.pk:
            raise ValidationError({"parent": _("A theme cannot be its own parent.")})
        if self.parent_id and self.parent.forum_id != self.forum_id:
            raise ValidationError({"parent": _("The parent theme belongs to another forum.")})


class SourceDocumentQuerySet(models.QuerySet):
    def published(self):
        """Sources a published session or published position cites (they have no status)."""
        return self.filter(
            models.Exists(Session.objects.published().filter(source=models.OuterRef("pk")))
            | models.Exists(Position.objects.published().filter(source=models.OuterRef("pk")))
        )


class SourceDocument(models.Model):
    """A report, transcript or article positions are curated from, with its full text."""

    slug = models.SlugField(_("slug"), max_length=150, unique=True)
    title = models.CharField(_("title"), max_length=500)
    title_en = models.CharField(_("English title"), max_length=500, blank=True)
    author = models.CharField(_("author"), max_length=300, blank=True)
    publisher = models.CharField(_("publisher"), max_length=300, blank=True)
    url = models.URLField(_("URL"), max_length=500, blank=True, validators=[http_url])
    citation = models.TextField(
        _("citation note"), blank=True, help_text=_("How to cite it where there is no URL.")
    )
    published_on = models.DateField(_("published on"), null=True, blank=True)
    language = models.CharField(
        _("language"), max_length=20, help_text=_("BCP 47 code, e.g. zh-Hant, en.")
    )
    full_text = models.TextField(
        _("full text"), help_text=_("Paragraphs separated by one blank line; ¶N counts them.")
    )
    provenance_note = models.TextField(
        _("provenance note"),
        blank=True,
        help_text=_(
            "What the document says of itself outside its text: the publisher's contact, "
            "notices, credits."
        ),
    )

    objects = SourceDocumentQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("source document")
        verbose_name_plural = _("source documents")
        ordering = ["title"]

    def __str__(self):
        return self.title

    def get_absolute_url(self):
        return reverse("proceedings:source-detail", args=[self.slug])

    @cached_property
    def paragraphs(self):
        """Return the paragraphs of the full text; locator ¶N is ``paragraphs[N - 1]``."""
        return [p.strip() for p in self.full_text.replace("\r\n", "\n").split("\n\n") if p.strip()]

    def paragraph(self, number):
        """Return paragraph ``number`` (1-based), or None when there is no such paragraph."""
        if number and 1 <= number <= len(self.paragraphs):
            return self.paragraphs[number - 1]
        return None

    def find_paragraph(self, text):
        """Return the number of the first paragraph containing ``text``, or None."""
        for number, paragraph in enumerate(self.paragraphs, start=1):
            if text in paragraph:
                return number
        return None


class AppearanceQuerySet(models.QuerySet):
    def published(self):
        """Roles of published people in published forums (what makes a person public)."""
        return self.filter(published_appearance_q())


class Appearance(models.Model):
    """A person at a session, with the role and institution the source printed for them then."""

    class Capacity(models.TextChoices):
        SPEAKER = "speaker", _("Speaker")
        RAPPORTEUR = "rapporteur", _("Rapporteur")
        MODERATOR = "moderator", _("Moderator")

    session = models.ForeignKey(
        Session,
        models.CASCADE,
        related_name="appearances",
        verbose_name=pgettext_lazy("forum session", "session"),
    )
    speaker = models.ForeignKey(
        Speaker, models.PROTECT, related_name="appearances", verbose_name=_("person")
    )
    capacity = models.CharField(
        _("capacity"), max_length=20, choices=Capacity, default=Capacity.SPEAKER
    )
    role = models.CharField(_("role"), max_length=300, blank=True)
    role_en = models.CharField(_("role (English)"), max_length=300, blank=True)
    institution = models.ForeignKey(
        Institution,
        models.PROTECT,
        null=True,
        blank=True,
        related_name="appearances",
        verbose_name=_("institution"),
    )
    as_printed = models.CharField(
        _("as printed"),
        max_length=500,
        blank=True,
        help_text=_("The title and institution exactly as the source prints them."),
    )
    order = models.PositiveSmallIntegerField(_("order"), default=0)
    role_note = models.TextField(
        _("note on the role"),
        blank=True,
        help_text=_("What the source leaves open about the role, e.g. an official post."),
    )
    role_note_en = models.TextField(_("note on the role (English)"), blank=True)

    objects = AppearanceQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("role at the time of speaking")
        verbose_name_plural = _("roles at the time of speaking")
        ordering = ["session", "order", "pk"]
        constraints = [
            # One role per person per session: a quote's attribution is never ambiguous.
            models.UniqueConstraint(
                fields=["session", "speaker"], name="appearance_one_role_per_session"
            ),
        ]

    def __str__(self):
        role = self.as_printed or ", ".join(filter(None, [self.role, str(self.institution or "")]))
        return f"{self.speaker.name} — {role}" if role else self.speaker.name


# Sent by PositionQuerySet.bulk_create() and update() with ``ids``, the rows written. The search
# index listens (search/signals.py): search imports the models, never the other way round.
positions_bulk_written = Signal()


class PendingPrefetch:
    """The prefetches of some rows, run when one of them first needs what they fetch.

    Set on each row by ``PositionQuerySet.prefetch_on_demand()``. ``read()`` runs their
    statements for every row at once (the same queries as straight away); ``run(row)`` also
    builds what ``row`` fetched (every row's, without one), and the rows' ``appearance``,
    ``source`` and ``listed_*`` lists call it, so a row never reads half-fetched. Rows found in
    the cache by the digest of what they fetched (``Position.fetched_rows_digest()``) are read,
    never built. ``memo`` belongs to what reads the rows: ``{% cardcache %}`` keeps the cached
    cards it found there.
    """

    def __init__(self, rows, fetch):
        self.rows = rows
        self.fetch = fetch  # called with the rows: returns a listing.ListingRows, or None
        self.listing = None
        self.memo = {}

    def read(self):
        """Run the statements, once; return the rows for_listing() read (or None)."""
        if self.fetch is not None:
            fetch, self.fetch = self.fetch, None  # first: fetching reads the rows too
            self.listing = fetch(self.rows)
        return self.listing

    def run(self, row=None):
        """Read, then build what ``row`` fetched (each row's, without one)."""
        listing = self.read()
        if listing is not None:
            listing.build(self.rows if row is None else [row])


def fetch_pending(rows):
    """Run the statements of the pending prefetches of ``rows`` (``prefetch_on_demand()``):
    before digesting them. Once a list, however many of its rows are given; what a row
    fetched is built when it is first read."""
    for row in rows:
        if (pending := row.__dict__.get("_pending_prefetch")) is not None:
            pending.read()


@cache
def _public_role():
    """Return ``EXISTS (a public role of the row's appearance)``, built once per process.

    Building it (a queryset of roles with the people's and forums' conditions, then the
    subquery) was half of a ``published()`` query's own cost: 0.5 ms a call, 0.2 ms reused. An
    expression is copied, never changed, when a query takes it (``resolve_expression``).
    """
    return models.Exists(Appearance.objects.published().filter(pk=models.OuterRef("appearance_id")))


def hidden_appearances():
    """Return the ids of the roles that are not public (of a person or a forum not published).

    Found from those few rows: 1 ms at 100,000 positions on PostgreSQL, where hash-joining
    every role with its person and forum, as ``exclude(published_appearance_q())`` did, was 2.
    """
    return Appearance.objects.filter(
        Q(speaker__in=Speaker.objects.exclude(status_q()).values("pk"))
        | Q(session__in=Session.objects.exclude(status_q("forum__")).values("pk"))
    ).values("pk")


class PositionQuerySet(models.QuerySet):
    _prefetch_on_demand = False
    # for_listing()'s themes, as a 1-tuple (None: the published ones); None: not for listing.
    _listing = None

    def _clone(self):
        clone = super()._clone()
        clone._prefetch_on_demand = self._prefetch_on_demand
        clone._listing = self._listing
        return clone

    def prefetch_on_demand(self):
        """Return this queryset with its prefetches run when a row first needs them.

        For lists of cards read from the fragment cache: a page whose cards are all cached
        reads one query of positions, not for_listing()'s five more and their ~600 model
        instances a page of 50 (bench/README.md). See ``PendingPrefetch``.
        """
        clone = self._chain()
        clone._prefetch_on_demand = True
        return clone

    def _lists_models(self):
        return self._listing is not None and issubclass(self._iterable_class, ModelIterable)

    def _fetch_needs(self, rows, *, build=True):
        """Fetch what ``rows`` need: for_listing()'s (``ListingRows``), then prefetches.

        Return the ``ListingRows`` (None when not for listing); ``build=False`` leaves its
        instances to ``ListingRows.build()``.
        """
        listing = None
        if self._lists_models():
            from .listing import ListingRows  # it imports this module's models

            listing = ListingRows(rows, self._listing[0], using=self.db)
            if build:
                listing.build(rows)
        if self._prefetch_related_lookups:
            models.prefetch_related_objects(rows, *self._prefetch_related_lookups)
        return listing

    def _fetch_all(self):
        # QuerySet._fetch_all(), with for_listing()'s rows fetched as prefetches are.
        if self._result_cache is None:
            self._result_cache = list(self._iterable_class(self))
        if self._prefetch_done or not (self._prefetch_related_lookups or self._lists_models()):
            return
        self._prefetch_done = True
        self._prefetch(self._result_cache)

    def _prefetch(self, rows):
        """Fetch what ``rows`` need now, or when one first needs it (``prefetch_on_demand()``)."""
        if self._prefetch_on_demand:
            pending = PendingPrefetch(rows, partial(self._fetch_needs, build=False))
            for row in rows:
                row._pending_prefetch = pending
        else:
            self._fetch_needs(rows)

    def _iterator(self, use_chunked_fetch, chunk_size):
        # QuerySet._iterator() (iterator(chunk_size=…)), with for_listing()'s rows fetched a
        # chunk at a time as prefetches are.
        if not self._lists_models():
            yield from super()._iterator(use_chunked_fetch, chunk_size)
            return
        chunk_size = chunk_size or 2000
        rows = iter(
            self._iterable_class(self, chunked_fetch=use_chunked_fetch, chunk_size=chunk_size)
        )
        while chunk := list(islice(rows, chunk_size)):
            self._prefetch(chunk)
            yield from chunk

    def published(self):
        """Positions that are published and belong to a published forum.

        The same rows as ``published_position_q()``, with the role's conditions in a correlated
        EXISTS rather than joins: joined, the planners started from the forums and sorted every
        position before a LIMIT (SQLite: the API's first page, 430 ms at 100,000); this way a
        list in reading order walks the (status, order) index and stops at the page's end.
        """
        return self.filter(status_q(), _public_role())

    def count_published(self):
        """Return the number of ``published()`` positions among these (filter them no further).

        Counted as the published ones less those of a role that is not public, in one
        statement: both counts read only the (status, …) and (appearance, status) indexes, and
        the roles that are not public are few. Counting ``appearance IN (public roles)`` made
        PostgreSQL hash every public role and join each position to it (14 ms at 100,000,
        against 6 this way; SQLite 5 either way); ``published().count()`` tests the EXISTS
        row by row (95 ms on SQLite, 45 on PostgreSQL). Lists keep ``published()``: with IN,
        SQLite's plans for a page of cards were slower (bench/README.md).

        Of every position (no filter), it is the roles' tallies (``AppearanceTally``) added
        up, less those of the roles that are not public: 3,000 rows rather than the 100,000
        positions' index entries (13 ms on PostgreSQL after each edit).
        """
        if not self.query.where:
            hidden = Q(appearance__in=hidden_appearances())
            sums = AppearanceTally.objects.aggregate(
                every=models.Sum("positions"), hidden=models.Sum("positions", filter=hidden)
            )
            return (sums["every"] or 0) - (sums["hidden"] or 0)
        published = self.filter(status_q()).order_by()
        hidden = published.filter(appearance__in=hidden_appearances())
        parts, params = [], []
        for queryset in (published, hidden):
            sql, part_params = queryset.values("pk").query.sql_with_params()
            parts.append(f"(SELECT COUNT(*) FROM ({sql}) AS counted)")  # noqa: S608 - compiled
            params += part_params
        with connections[self.db].cursor() as cursor:
            cursor.execute(f"SELECT {parts[0]} - {parts[1]}", params)
            return cursor.fetchone()[0]

    def for_listing(self, themes=None):
        """Everything a position card renders (speaker, role, institution, themes, tags).

        Five queries however many rows, after the positions' own: their roles (with person,
        institution, session and forum), their sources (without their full text), their themes
        (with each theme's forum, which a theme's URL needs), their tags (with their English
        names) and their key phrases (``listed_key_phrases``, in order). Cards link only the
        ``themes`` given (a queryset): by default the published ones, so a draft theme never
        shows.

        Themes and tags land in plain lists, ``listed_themes`` and ``listed_tags``, not in the
        managers' prefetch cache: filling that cache builds a filtered QuerySet per row (for
        taggit's manager a whole ``tags_for()`` query), 0.5–1 ms a row, which was a third of the
        time of a 20-result search page and most of a long theme page's (bench/README.md).
        The rows are read by ``listing.ListingRows`` when the positions are, as prefetches
        would be, and chunk by chunk under ``iterator(chunk_size=…)``.
        """
        clone = self._chain()
        clone._listing = (themes,)
        return clone

    # Bulk writes bypass save() and its signals, so these two send ``positions_bulk_written``
    # themselves, which keeps derived data (the search index) in step; see search/signals.py.

    def bulk_create(self, objs, *args, **kwargs):
        """Create the rows, then announce them (their m2m come later)."""
        objs = super().bulk_create(objs, *args, **kwargs)
        positions_bulk_written.send(
            sender=self.model, ids=[obj.pk for obj in objs if obj.pk is not None]
        )
        return objs

    bulk_create.alters_data = True

    def update(self, **kwargs):
        """Update the rows; announce them when a field in ``Position.search_fields`` changes.

        ``bulk_update()`` goes through here too. One extra query (the ids) when it applies.
        """
        if not self.model.search_fields.intersection(kwargs):
            return super().update(**kwargs)
        ids = list(self.values_list("pk", flat=True))
        count = super().update(**kwargs)
        positions_bulk_written.send(sender=self.model, ids=ids)
        return count

    update.alters_data = True


class Position(Publishable):
    """A viewpoint a speaker took, as the source reports it."""

    class Fidelity(models.TextChoices):
        VERBATIM = "verbatim", _("Verbatim quotation")
        PARAPHRASE = "paraphrase", _("Paraphrase")
        SUMMARY = "summary", _("Rapporteur's summary")

    class Attribution(models.TextChoices):
        EXPLICIT = "explicit", _("Named by the source")
        IN_CONTEXT = "in_context", _("Attributed in context")

    ref = models.SlugField(
        _("reference"),
        max_length=150,
        unique=True,
        help_text=_("Stable key used by imports and exports."),
    )
    appearance = models.ForeignKey(
        Appearance,
        # Deleting a person or a role must never silently drop what they said.
        models.PROTECT,
        related_name="positions",
        verbose_name=_("speaker and role"),
        db_index=False,  # position_appearance_status_idx starts with it
    )
    themes = models.ManyToManyField(
        Theme, related_name="positions", blank=True, verbose_name=_("themes")
    )
    text = models.TextField(
        _("text"), help_text=_("In its original language, as the source has it.")
    )
    language = models.CharField(_("language"), max_length=20, default="zh-Hant")
    fidelity = models.CharField(_("fidelity"), max_length=20, choices=Fidelity)
    attribution = models.CharField(
        _("attribution"),
        max_length=20,
        choices=Attribution,
        default=Attribution.EXPLICIT,
        help_text=_(
            "Whether the source names the speaker for this statement, or the attribution is "
            "read from the context (say why in the note)."
        ),
    )
    attribution_note = models.TextField(_("attribution note"), blank=True)
    attribution_note_en = models.TextField(_("attribution note (English)"), blank=True)
    translation = models.TextField(_("English translation"), blank=True)
    translation_language = models.CharField(_("translation language"), max_length=20, default="en")
    translation_provenance = models.CharField(
        _("translated by"), max_length=300, blank=True, help_text=_("Who or what translated it.")
    )
    translation_reviewed_by = models.CharField(
        _("translation reviewed by"),
        max_length=300,
        blank=True,
        help_text=_("Who checked the translation against the text; empty while unreviewed."),
    )
    translation_reviewed_on = models.DateField(_("translation reviewed on"), null=True, blank=True)
    source = models.ForeignKey(
        SourceDocument,
        models.PROTECT,
        null=True,
        blank=True,
        related_name="positions",
        verbose_name=_("source document"),
    )
    paragraph = models.PositiveIntegerField(
        _("paragraph"),
        null=True,
        blank=True,
        help_text=_("Locator: paragraph number in the source."),
    )
    tags = TaggableManager(_("tags"), blank=True)
    # The rows behind ``tags``, for for_listing()'s one-query prefetch; deleting a position
    # deletes its rows too.
    tagged_items = GenericRelation(TaggedItem)
    featured = models.BooleanField(
        _("featured"), default=False, help_text=_("Shown on the home page.")
    )
    order = models.PositiveIntegerField(_("order"), default=0)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    # The fields a search document is made from (others, e.g. ``featured``, need no re-index),
    # declared on the model as Wagtail's ``search_fields`` are; PositionQuerySet.update() reads it.
    search_fields = frozenset(
        {"text", "translation", "language", "fidelity", "status", "appearance", "appearance_id"}
    )

    objects = PositionQuerySet.as_manager()
    history = HistoricalRecords(m2m_fields=[themes])

    class Meta:
        verbose_name = _("position")
        verbose_name_plural = _("positions")
        permissions = [("publish_position", _("Can publish, unpublish and withdraw positions"))]
        ordering = ["order", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(fidelity="verbatim") | Q(source__isnull=False),
                name="position_verbatim_has_source",
            ),
            models.CheckConstraint(
                condition=Q(paragraph__isnull=True) | Q(paragraph__gte=1),
                name="position_paragraph_from_one",
                violation_error_message=_("Paragraphs are numbered from 1."),
            ),
        ]
        indexes = [
            # Every public listing filters on status and orders by reading order.
            models.Index(fields=["status", "order"], name="position_status_order_idx"),
            # The home page's featured positions, and its fallback to the first verbatim
            # quotations, in reading order (and the API's fidelity filter): without them each
            # was a full scan of the positions (35–55 ms at 100,000), a whole one when there
            # are none (bench/README.md). Not partial indexes: SQLite cannot match a partial
            # index's condition against a bound parameter, and Django binds booleans there.
            models.Index(fields=["featured", "order"], name="position_featured_idx"),
            models.Index(fields=["fidelity", "order"], name="position_fidelity_idx"),
            # Counting the public positions (published ones of public roles) from the index
            # alone: 95 -> 7 ms on SQLite at 100,000 (bench/README.md). It also serves the
            # foreign key's lookups, so the key has no index of its own.
            models.Index(fields=["appearance", "status"], name="position_appearance_status_idx"),
            # The feed of new positions (feeds.LatestFeed), read backwards.
            models.Index(fields=["status", "published_at", "id"], name="position_newest_idx"),
            # The API's language filter (``language__iexact``: UPPER() on PostgreSQL), in
            # reading order: with fidelity=summary a bitmap of every summary, sorted, took 60
            # ms at 100,000, 6 ms this way (bench/README.md, "Session 19").
            models.Index(Upper("language"), "order", name="position_language_idx"),
        ]

    def __str__(self):
        text = self.text if len(self.text) <= 40 else f"{self.text[:40]}…"
        return f"{self.appearance.speaker.name}: {text}"

    # Staff's cards are annotated with whether the public sees them (PublicMixin.cards());
    # the public's are not, and a card asking for a missing attribute is a failed template
    # lookup, with its exception and dir() (twice a card).
    is_public = None

    # What for_listing() fetches into plain lists (to_attr), which a row whose prefetches are
    # pending (prefetch_on_demand()) fetches when first asked.
    ON_DEMAND_ATTRIBUTES = frozenset({"listed_themes", "listed_tagged_items", "listed_key_phrases"})

    def __getattr__(self, name):
        # Only called for attributes the row does not have.
        pending = self.__dict__.get("_pending_prefetch")
        if name in self.ON_DEMAND_ATTRIBUTES and pending is not None:
            pending.run(self)
            if name in self.__dict__:
                return self.__dict__[name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    # What for_listing() sets on a row (ListingRows.build()): left out of its own values by
    # content_digest(), which digests those rows as the database returned them instead.
    FETCHED_ROWS = frozenset({"appearance", "source", *ON_DEMAND_ATTRIBUTES})

    def forum_and_themes(self):
        """Return the forum of this position's role and its listed themes.

        Of a row whose prefetches are pending (``prefetch_on_demand()``), built from the rows
        read, without building the rest of what a card renders.
        """
        pending = self.__dict__.get("_pending_prefetch")
        listing = pending.read() if pending is not None else None
        if listing is None or "listed_themes" in self.__dict__:
            return self.appearance.session.forum, self.listed_themes
        return listing.forum_and_themes(self)

    def fetched_rows_digest(self):
        """Return ``(FETCHED_ROWS, digest)`` for a row whose prefetches are pending, or None.

        For ``forum_portal.cache.content_digest()``: the digest of the rows for_listing()
        read for this one, whether or not their instances were built.
        """
        pending = self.__dict__.get("_pending_prefetch")
        listing = pending.read() if pending is not None else None
        if listing is None:
            return None
        return self.FETCHED_ROWS, listing.digest(self)

    def get_absolute_url(self):
        return reverse("proceedings:position-detail", args=[self.pk])

    @property
    def speaker(self):
        return self.appearance.speaker

    @property
    def listed_tags(self):
        """The tags for_listing() prefetched, by name, each with its English ``names`` joined."""
        return [item.tag for item in self.listed_tagged_items]

    @property
    def locator(self):
        return f"¶{self.paragraph}" if self.paragraph else ""

    def clean(self):
        errors = {}
        if self.fidelity == self.Fidelity.VERBATIM:
            if not self.source_id:
                errors["source"] = _("A verbatim quotation needs the source it is quoted from.")
            elif self.text and self.text not in self.source.full_text:
                errors["text"] = _(
                    "This is marked as a verbatim quotation, but the text does not occur exactly "
                    "in “%(source)s”. Copy it from the source, or change the fidelity."
                ) % {"source": self.source.title}
            elif (
                self.text
                and self.paragraph
                and self.text not in (self.source.paragraph(self.paragraph) or "")
            ):
                found = self.source.find_paragraph(self.text)
                errors["paragraph"] = _(
                    "The quotation is not in paragraph %(given)s of the source; it is in "
                    "paragraph %(found)s."
                ) % {"given": self.paragraph, "found": found}
        if self.attribution == self.Attribution.IN_CONTEXT and not self.attribution_note.strip():
            errors["attribution_note"] = _(
                "Say why the statement is attributed from its context: the source does not "
                "name the speaker for it."
            )
        if self.translation_reviewed_on and not self.translation_reviewed_by.strip():
            errors["translation_reviewed_by"] = _("Say who reviewed the translation.")
        if self.source_id and self.paragraph and self.source.paragraph(self.paragraph) is None:
            errors["paragraph"] = _("The source has only %(count)s paragraphs.") % {
                "count": len(self.source.paragraphs)
            }
        if errors:
            raise ValidationError(errors)


class _FetchesPendingFirst(ForwardManyToOneDescriptor):
    """A foreign key's descriptor that runs the row's pending prefetches before reading it.

    Position's ``appearance`` and ``source`` are prefetched by for_listing(); read before a
    pending prefetch ran (prefetch_on_demand()), Django's own descriptor would fetch them one row
    at a time, without the person, institution and forum joined to the role.
    """

    def __get__(self, instance, cls=None):
        if instance is not None:
            pending = instance.__dict__.get("_pending_prefetch")
            if pending is not None:
                pending.run(instance)
        return super().__get__(instance, cls)


# Installed over the ones ForeignKey.contribute_to_class() set: a ForeignKey subclass that chose
# its descriptor would change the migrations' field paths for no change to the schema.
for _name in ("appearance", "source"):
    setattr(Position, _name, _FetchesPendingFirst(Position._meta.get_field(_name)))


def listed_positions(request, ids):
    """Return ``{pk: position}`` of the published ones of ``ids``, as for_listing() reads them.

    Kept per content generation for the public's ``request`` (``per_generation_many``): the
    search's page of results and the permalinks read the same rows. Kept as plain values, the
    position's fields and the rows ``ListingRows`` read for it, and built from them: pickled,
    a page's 20 positions were 260 model instances, 70 kB (33 kB as values), and pickling and
    unpickling them cost more than building them (bench/README.md).
    """
    from .listing import ListingRows  # it imports this module's models

    queryset = Position.objects.published()
    using = queryset.db
    fields = [field.attname for field in Position._meta.concrete_fields]

    def read(missing):
        positions = list(queryset.filter(pk__in=missing))
        listing = ListingRows(positions, using=using)
        return {
            position.pk: (
                tuple(position.__dict__[name] for name in fields),
                listing.parts(position),
            )
            for position in positions
        }

    values = per_generation_many(request, "listed-rows", ids, read)
    listing = ListingRows.from_parts({pk: parts for pk, (_row, parts) in values.items()}, using)
    positions = {pk: Position.from_db(using, fields, row) for pk, (row, _parts) in values.items()}
    listing.build(positions.values())
    return positions


class KeyPhrase(models.Model):
    """A phrase the source quotes inside a position (e.g. 蝴蝶模型 in a paraphrase): verbatim.

    It is part of its position, not a statement of its own: highlighted in the position's text,
    findable, and citable with its own locator (the permalink's ``#kp-N``).
    """

    position = models.ForeignKey(
        Position, models.CASCADE, related_name="key_phrases", verbose_name=_("position")
    )
    text = models.CharField(
        _("phrase"),
        max_length=300,
        help_text=_("Exactly as it occurs in the position's text and in the source."),
    )
    translation = models.CharField(_("English translation"), max_length=500, blank=True)
    paragraph = models.PositiveIntegerField(
        _("paragraph"),
        null=True,
        blank=True,
        help_text=_("Locator in the source; empty means the position's paragraph."),
    )
    order = models.PositiveSmallIntegerField(_("order"), default=0)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("key phrase")
        verbose_name_plural = _("key phrases")
        ordering = ["position", "order", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["position", "text"], name="key_phrase_unique_per_position"
            ),
            models.CheckConstraint(
                condition=Q(paragraph__isnull=True) | Q(paragraph__gte=1),
                name="key_phrase_paragraph_from_one",
                violation_error_message=_("Paragraphs are numbered from 1."),
            ),
        ]

    def __str__(self):
        return self.text

    @property
    def locator_paragraph(self):
        return self.paragraph or self.position.paragraph

    @property
    def locator(self):
        return f"¶{self.locator_paragraph}" if self.locator_paragraph else ""

    def clean(self):
        errors = {}
        try:
            # Set, possibly unsaved (an import cleans phrases of new positions before saving).
            position = self.position
        except Position.DoesNotExist:
            position = None
        if position is not None and self.text and self.text not in position.text:
            errors["text"] = _(
                "A key phrase must occur exactly in its position's text; “%(phrase)s” does not."
            ) % {"phrase": self.text}
        elif position is not None and self.text and position.source_id:
            source = position.source
            number = self.paragraph or position.paragraph
            where = source.paragraph(number) if number else source.full_text
            if where is None:
                errors["paragraph"] = _("The source has only %(count)s paragraphs.") % {
                    "count": len(source.paragraphs)
                }
            elif self.text not in where:
                errors["text"] = _(
                    "A key phrase is a quotation: “%(phrase)s” does not occur exactly in "
                    "%(where)s of “%(source)s”."
                ) % {
                    "phrase": self.text,
                    "where": f"¶{number}" if number else _("the text"),
                    "source": source.title,
                }
        if errors:
            raise ValidationError(errors)


class TagName(models.Model):
    """A tag's name in English (tags are named in the forum's language; Simplified by OpenCC)."""

    tag = models.OneToOneField(
        "taggit.Tag", models.CASCADE, related_name="names", verbose_name=_("tag")
    )
    name_en = models.CharField(_("English name"), max_length=100)

    class Meta:
        verbose_name = _("tag name")
        verbose_name_plural = _("tag names")

    def __str__(self):
        return self.name_en


class Tally(models.Model):
    """A number of published positions, kept by the database's triggers (migration 0020)."""

    positions = models.IntegerField(_("published positions"), default=0)

    class Meta:
        abstract = True

    def __str__(self):
        return f"{self.pk}: {self.positions}"


class TagTally(Tally):
    """How many published positions carry a tag: kept by the database on every write.

    Triggers on the tagged items and the positions (migration 0020, one set per database)
    add and take away as tags are added and removed and positions published, unpublished,
    created and deleted, whatever writes them: the ORM, a bulk update or SQL. The tag list
    reads it instead of counting every tagged item after each edit (100-135 ms at 100,000
    positions on PostgreSQL, bench/README.md), then subtracts the positions of roles that
    are not public (``published_tag_counts()``). Never written by the portal's code.

    SQLite drops a table's triggers with the table, and Django's SQLite schema editor remakes
    a table to alter it: a migration that alters the positions or the tagged items there must
    create the triggers again (the tests check that the tally follows writes).
    """

    tag = models.OneToOneField(
        "taggit.Tag", models.CASCADE, primary_key=True, related_name="tally", verbose_name=_("tag")
    )

    class Meta:
        verbose_name = _("tag tally")
        verbose_name_plural = _("tag tallies")


class AppearanceTally(Tally):
    """How many published positions a role has: kept by the database on every write.

    As ``TagTally`` (migration 0020's triggers on the positions, the same caveat for SQLite's
    remade tables): the lists of everyone read it instead of counting every published
    position by role after each edit (``PublicMixin.role_tallies``).
    """

    appearance = models.OneToOneField(
        Appearance, models.CASCADE, primary_key=True, related_name="tally", verbose_name=_("role")
    )

    class Meta:
        verbose_name = _("role tally")
        verbose_name_plural = _("role tallies")


class PositionStamp(models.Model):
    """A number that moves on with every write to the positions of a forum, a session, a
    theme, a person or an institution (its ``scope`` and ``key``): kept by the database.

    Triggers on the positions (migration 0021, one set per database) move on, for every
    position a statement inserts, updates or deletes, the stamps of its forum, session,
    person, institution and themes (before and after: a position given another role moves
    both roles' on), whatever writes it, to the clock's time in microseconds or one past the
    last value. Parts of pages are kept by the stamp of what they list and by the stamps of
    the other tables they read (``listing.positions_stamp()``), where the write watch's stamp
    of the positions' table moves on with a quote corrected anywhere: a theme's page is
    read again only after an edit to one of its positions. A theme's links to positions are
    not followed here: their table's stamp, which those parts are also kept by, moves on.
    Rows of deleted objects stay, harmless (a new object is a write to its table). Never
    written by the portal's code.

    As ``TagTally``: a migration that alters the positions on SQLite must create its
    triggers again.
    """

    class Scope(models.TextChoices):
        FORUM = "forum", _("forum")
        SESSION = "session", _("session")
        THEME = "theme", _("theme")
        SPEAKER = "speaker", _("speaker")
        INSTITUTION = "institution", _("institution")

    scope = models.CharField(_("scope"), max_length=12, choices=Scope.choices)
    key = models.BigIntegerField(_("id"))
    stamp = models.BigIntegerField(_("stamp"), default=0)

    class Meta:
        verbose_name = _("positions' stamp")
        verbose_name_plural = _("positions' stamps")
        constraints = [
            models.UniqueConstraint(fields=["scope", "key"], name="position_stamp_scope_key")
        ]

    def __str__(self):
        return f"{self.scope} {self.key}: {self.stamp}"


def count_by(rows, field):
    """Return ``{value: number of rows}`` of the queryset ``rows`` grouped by ``field``."""
    counts = rows.order_by().values(field).annotate(n=models.Count("*"))
    return dict(counts.values_list(field, "n"))


def tagged_items_of(positions):
    """Return the tagged items of the queryset ``positions``.

    The content type as a value, not a join: joined, PostgreSQL estimated 3,830 of 149,360
    tagged items and checked each in a nested loop (559 ms at 100,000 positions).
    """
    return TaggedItem.objects.filter(
        content_type=ContentType.objects.get_for_model(Position),
        object_id__in=positions.values("pk"),
    )


def recount_tallies():
    """Count the tallies again from the positions and the tagged items, and return the number
    of rows that were wrong.

    The triggers keep them; this is for data written with the triggers disabled (a data-only
    ``pg_restore --disable-triggers``, a table loaded by hand). On PostgreSQL writes to the
    positions and tagged items wait for it to finish.
    """
    published = Position.objects.filter(status_q())
    wrong = 0
    with transaction.atomic():
        connection = connections[TagTally.objects.db]
        if connection.vendor == "postgresql":
            tables = [Position._meta.db_table, TaggedItem._meta.db_table]
            with connection.cursor() as cursor:
                cursor.execute(
                    f"LOCK TABLE {', '.join(map(connection.ops.quote_name, tables))} IN SHARE MODE"
                )
        for model, counts in (
            (TagTally, count_by(tagged_items_of(published), "tag")),
            (AppearanceTally, count_by(published, "appearance")),
        ):
            key = model._meta.pk.attname
            kept = dict(model.objects.values_list(key, "positions"))
            wrong += sum(kept.get(k, 0) != counts.get(k, 0) for k in kept.keys() | counts.keys())
            model.objects.all().delete()
            model.objects.bulk_create(model(**{key: k, "positions": n}) for k, n in counts.items())
    return wrong


def published_tag_counts():
    """Return ``{tag id: the number of public positions carrying it}``, for tags that have any.

    The tally of published positions (``TagTally``), less the published positions of roles
    that are not public (``hidden_appearances()``, few), counted from their tagged items.
    """
    counts = dict(TagTally.objects.filter(positions__gt=0).values_list("tag", "positions"))
    # The roles first, usually none: as a subquery, PostgreSQL expected 2,250 of 3,000 roles
    # hidden and counted in parallel workers, 10 ms to find none.
    if not (roles := [row["pk"] for row in hidden_appearances()]):
        return counts
    hidden = Position.objects.filter(status_q(), appearance__in=roles)
    for tag, n in count_by(tagged_items_of(hidden), "tag").items():
        counts[tag] -= n
    return {tag: n for tag, n in counts.items() if n > 0}


def tag_name_en(tag):
    """Return ``tag``'s English name, or "" when it has none.

    Never a query: read only when the tag was fetched with its ``names`` joined
    (``select_related("names")``, as ``for_listing()`` does), else "".
    """
    if not Tag.names.related.is_cached(tag):
        return ""
    try:
        return tag.names.name_en
    except ObjectDoesNotExist:
        return ""


class PositionSearchDocument(models.Model):
    """The search index entry of one published position: proceedings/search/ writes it.

    Drafts have none. It sits beside the positions table, so that scans of the index read narrow
    rows; each backend uses its own column for the tokens (see search/backends.py).
    """

    position = models.OneToOneField(
        Position,
        models.CASCADE,
        primary_key=True,
        related_name="search_document",
        verbose_name=_("position"),
    )
    doc_key = models.BigIntegerField(
        _("ordering key"),
        unique=True,
        help_text=_("Date said and reading order packed in one number: larger is newer."),
    )
    # Short columns first: SQLite reads a row's columns in order, and searches read facets.
    facets = models.TextField(
        _("facet tokens"), blank=True, help_text=_("Theme, speaker, tag… tokens for filters.")
    )
    analyser_version = models.PositiveSmallIntegerField(_("analyser version"))
    vector = TextSearchVectorField(_("text search vector"), null=True, editable=False)
    tokens = models.TextField(
        _("tokens"), blank=True, help_text=_("Analysed text (SQLite's full-text index reads it).")
    )

    class Meta:
        verbose_name = _("search document")
        verbose_name_plural = _("search documents")
        # doc_key is unique, and its index serves the newest-first scans of the search and the
        # rowid lookups of SQLite's FTS5 table (search/backends.py).

    def __str__(self):
        return f"search document of position {self.position_id}"


class RecordSearchDocument(models.Model):
    """The search index entry of a public record that is not a position.

    A paragraph of a source document (a report passage), a theme, a guiding question, a
    speaker, an institution, a forum or a session: proceedings/search/records.py writes these.
    ``data`` holds, as JSON, the indexed fields (to tell which of them a query matched) and what
    a hit shows, so that a page of hits needs no query per hit.
    """

    kind = models.CharField(_("kind"), max_length=20)
    group = models.CharField(_("result kind"), max_length=20)
    object_id = models.PositiveBigIntegerField(_("object id"))
    paragraph = models.PositiveIntegerField(_("paragraph"), default=0)
    facets = models.TextField(_("facet tokens"), blank=True)
    analyser_version = models.PositiveSmallIntegerField(_("analyser version"))
    data = models.TextField(_("data"), help_text=_("Indexed fields and display data, as JSON."))
    vector = TextSearchVectorField(_("text search vector"), null=True, editable=False)
    tokens = models.TextField(_("tokens"), blank=True)

    class Meta:
        verbose_name = _("record search document")
        verbose_name_plural = _("record search documents")
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "object_id", "paragraph"], name="record_search_document_unique"
            ),
        ]

    def __str__(self):
        return f"search document of {self.kind} {self.object_id} ¶{self.paragraph}"


class CorrectionRequest(models.Model):
    """A reader's report that something on a position's page is wrong, queued for editors."""

    class State(models.TextChoices):
        OPEN = "open", _("Open")
        RESOLVED = "resolved", _("Resolved")
        REJECTED = "rejected", _("Rejected")

    position = models.ForeignKey(
        Position,
        # A request outlives the position it was about; its text snapshot keeps it readable.
        models.SET_NULL,
        null=True,
        related_name="correction_requests",
        verbose_name=_("position"),
    )
    position_text = models.TextField(_("position text when reported"), blank=True)
    message = models.TextField(_("what is wrong"), max_length=2000)
    email = models.EmailField(_("reader's email"), blank=True)
    state = models.CharField(_("state"), max_length=20, choices=State, default=State.OPEN)
    note = models.TextField(_("editor's note"), blank=True)
    created_at = models.DateTimeField(_("reported at"), auto_now_add=True)
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("resolved by"),
    )

    class Meta:
        verbose_name = _("correction request")
        verbose_name_plural = _("correction requests")
        ordering = ["-created_at", "-pk"]
        # The editors' queue lists open requests, newest first.
        indexes = [models.Index(fields=["state", "-created_at"], name="correction_queue_idx")]

    def __str__(self):
        text = self.message if len(self.message) <= 50 else f"{self.message[:50]}…"
        return f"#{self.pk} {text}"


class SearchQueryStat(models.Model):
    """How often a search was made on one day, and how many results it had; no personal data."""

    day = models.DateField(_("day"))
    query = models.CharField(_("query"), max_length=300, blank=True)
    filters = models.CharField(
        _("filters"), max_length=500, blank=True, help_text=_("Active filters, as key=value&….")
    )
    result_count = models.PositiveIntegerField(_("results"))
    searches = models.PositiveIntegerField(_("searches"), default=1)

    class Meta:
        verbose_name = _("search statistic")
        verbose_name_plural = _("search statistics")
        ordering = ["-day", "-searches"]
        constraints = [
            models.UniqueConstraint(
                fields=["day", "query", "filters"], name="searchquerystat_one_row_per_day"
            ),
        ]
        # The admin's "no results" view filters on result_count and sorts by day.
        indexes = [models.Index(fields=["result_count", "-day"], name="searchstat_zero_idx")]

    def __str__(self):
        return self.query or str(_("(empty query)"))
