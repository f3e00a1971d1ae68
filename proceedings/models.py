"""
Forums, their sessions, guiding questions and themes, and the positions speakers took.

Read rules ("what is public") live in the QuerySets below and nowhere else: every public page,
and later search, feeds and exports, go through ``.published()``.
"""

from functools import cached_property

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from taggit.managers import TaggableManager

from speakers.models import Institution, Speaker


class Status(models.TextChoices):
    DRAFT = "draft", _("Draft")
    PUBLISHED = "published", _("Published")


def published_forum_q(prefix=""):
    """Return the condition "belongs to a published forum", across relations via ``prefix``."""
    return Q(**{f"{prefix}status": Status.PUBLISHED})


def published_position_q(prefix=""):
    """Return the one definition of a public position: itself and its forum published."""
    return Q(**{f"{prefix}status": Status.PUBLISHED}) & published_forum_q(
        f"{prefix}appearance__session__forum__"
    )


class ForumQuerySet(models.QuerySet):
    def published(self):
        return self.filter(published_forum_q())


class Forum(models.Model):
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
    status = models.CharField(_("status"), max_length=20, choices=Status, default=Status.DRAFT)
    published_at = models.DateTimeField(_("published at"), null=True, blank=True)

    objects = ForumQuerySet.as_manager()

    class Meta:
        verbose_name = _("forum")
        verbose_name_plural = _("forums")
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

    @property
    def is_published(self):
        return self.status == Status.PUBLISHED


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
        return self.filter(published_forum_q("forum__"))


class Theme(models.Model):
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

    objects = ThemeQuerySet.as_manager()

    class Meta:
        verbose_name = _("theme")
        verbose_name_plural = _("themes")
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


class SourceDocument(models.Model):
    """A report, transcript or article positions are curated from, with its full text."""

    slug = models.SlugField(_("slug"), max_length=150, unique=True)
    title = models.CharField(_("title"), max_length=500)
    title_en = models.CharField(_("English title"), max_length=500, blank=True)
    author = models.CharField(_("author"), max_length=300, blank=True)
    publisher = models.CharField(_("publisher"), max_length=300, blank=True)
    url = models.URLField(_("URL"), max_length=500, blank=True)
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


class PositionQuerySet(models.QuerySet):
    def published(self):
        """Positions that are published and belong to a published forum."""
        return self.filter(published_position_q())

    def for_listing(self):
        """Everything a position card renders (speaker, role, institution, themes, tags).

        Three queries however many rows: the positions with their joins, their themes (with
        each theme's forum, which a theme's URL needs) and their tags.
        """
        return self.select_related(
            "appearance__speaker",
            "appearance__institution",
            "appearance__session__forum",
            "source",
        ).prefetch_related(
            models.Prefetch("themes", queryset=Theme.objects.select_related("forum")), "tags"
        )


class Position(models.Model):
    """A viewpoint a speaker took, as the source reports it."""

    class Fidelity(models.TextChoices):
        VERBATIM = "verbatim", _("Verbatim quotation")
        PARAPHRASE = "paraphrase", _("Paraphrase")
        SUMMARY = "summary", _("Rapporteur's summary")

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
    )
    themes = models.ManyToManyField(
        Theme, related_name="positions", blank=True, verbose_name=_("themes")
    )
    text = models.TextField(
        _("text"), help_text=_("In its original language, as the source has it.")
    )
    language = models.CharField(_("language"), max_length=20, default="zh-Hant")
    fidelity = models.CharField(_("fidelity"), max_length=20, choices=Fidelity)
    translation = models.TextField(_("English translation"), blank=True)
    translation_language = models.CharField(_("translation language"), max_length=20, default="en")
    translation_provenance = models.CharField(
        _("translated by"), max_length=300, blank=True, help_text=_("Who or what translated it.")
    )
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
    status = models.CharField(_("status"), max_length=20, choices=Status, default=Status.DRAFT)
    published_at = models.DateTimeField(_("published at"), null=True, blank=True)
    featured = models.BooleanField(
        _("featured"), default=False, help_text=_("Shown on the home page.")
    )
    order = models.PositiveIntegerField(_("order"), default=0)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    objects = PositionQuerySet.as_manager()

    class Meta:
        verbose_name = _("position")
        verbose_name_plural = _("positions")
        ordering = ["order", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(fidelity="verbatim") | Q(source__isnull=False),
                name="position_verbatim_has_source",
            ),
            models.CheckConstraint(
                condition=Q(paragraph__isnull=True) | Q(paragraph__gte=1),
                name="position_paragraph_from_one",
            ),
        ]
        indexes = [
            # Every public listing filters on status and orders by reading order.
            models.Index(fields=["status", "order"], name="position_status_order_idx"),
        ]

    def __str__(self):
        text = self.text if len(self.text) <= 40 else f"{self.text[:40]}…"
        return f"{self.appearance.speaker.name}: {text}"

    def get_absolute_url(self):
        return reverse("proceedings:position-detail", args=[self.pk])

    @property
    def speaker(self):
        return self.appearance.speaker

    @property
    def is_published(self):
        return self.status == Status.PUBLISHED

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
        if self.source_id and self.paragraph and self.source.paragraph(self.paragraph) is None:
            errors["paragraph"] = _("The source has only %(count)s paragraphs.") % {
                "count": len(self.source.paragraphs)
            }
        if errors:
            raise ValidationError(errors)
