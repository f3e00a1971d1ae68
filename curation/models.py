"""
An uploaded report and what the engine proposes from it, waiting for an editor's review.

Nothing here is public. Accepting a proposal creates draft rows in ``proceedings`` and
``speakers`` (``curation.services``) and links them back here, so the review screen shows what
became of each proposal.
"""

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from proceedings.models import Forum, Position, Session, SourceDocument, Theme
from speakers.models import Institution, Speaker


class State(models.TextChoices):
    PENDING = "pending", _("To review")
    ACCEPTED = "accepted", _("Accepted")
    REJECTED = "rejected", _("Rejected")


class Report(models.Model):
    """A report uploaded to start a forum, as extracted: paragraphs, headings, furniture."""

    forum_name = models.CharField(_("forum name"), max_length=300)
    forum_year = models.PositiveSmallIntegerField(_("forum year"))
    title = models.CharField(_("report title"), max_length=500)
    author = models.CharField(_("author"), max_length=300, blank=True)
    publisher = models.CharField(_("publisher"), max_length=300, blank=True)
    filename = models.CharField(_("file name"), max_length=300, blank=True)
    format = models.CharField(_("format"), max_length=20)
    encoding = models.CharField(_("encoding"), max_length=40, blank=True)
    language = models.CharField(_("language"), max_length=20)
    full_text = models.TextField(
        _("full text"), help_text=_("Paragraphs separated by one blank line, as extracted.")
    )
    headings = models.JSONField(_("headings"), default=list, blank=True)
    furniture = models.TextField(
        _("page furniture"),
        blank=True,
        help_text=_("Image placeholders, banners, disclaimers: set aside, one per line."),
    )
    questions = models.JSONField(_("guiding questions"), default=list, blank=True)
    byline = models.CharField(_("byline"), max_length=500, blank=True)
    forum = models.ForeignKey(
        Forum, models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("forum")
    )
    source = models.ForeignKey(
        SourceDocument,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("source document"),
    )
    session = models.ForeignKey(
        Session, models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("session")
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("uploaded by"),
    )
    created_at = models.DateTimeField(_("uploaded at"), auto_now_add=True)

    class Meta:
        verbose_name = _("report to curate")
        verbose_name_plural = _("reports to curate")
        ordering = ["-created_at", "-pk"]

    def __str__(self):
        return f"{self.title} ({self.forum_name} {self.forum_year})"

    def get_absolute_url(self):
        return reverse("admin:curation_report_review", args=[self.pk])

    @property
    def paragraphs(self):
        """The paragraphs locators count (the same split as ``SourceDocument.paragraphs``)."""
        return [p.strip() for p in self.full_text.split("\n\n") if p.strip()]


class ProposedSpeaker(models.Model):
    """A person the report introduces, with role and institution as printed."""

    class Match(models.TextChoices):
        NEW = "new", _("New")
        MATCHED = "matched", _("Matched")
        FLAGGED = "flagged", _("Same name, check")

    class Capacity(models.TextChoices):
        SPEAKER = "speaker", _("Speaker")
        RAPPORTEUR = "rapporteur", _("Rapporteur")

    report = models.ForeignKey(
        Report, models.CASCADE, related_name="speakers", verbose_name=_("report")
    )
    name = models.CharField(_("name"), max_length=200)
    name_en = models.CharField(_("romanised name"), max_length=200, blank=True)
    role = models.CharField(_("role"), max_length=300, blank=True)
    institution_name = models.CharField(_("institution"), max_length=300, blank=True)
    as_printed = models.CharField(_("as printed"), max_length=500, blank=True)
    capacity = models.CharField(
        _("capacity"), max_length=20, choices=Capacity, default=Capacity.SPEAKER
    )
    paragraph = models.PositiveIntegerField(_("first paragraph"), default=1)
    confidence = models.FloatField(_("confidence"), default=0.5)
    match = models.CharField(_("match"), max_length=20, choices=Match, default=Match.NEW)
    match_note = models.CharField(_("match note"), max_length=500, blank=True)
    speaker = models.ForeignKey(
        Speaker,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("person"),
        help_text=_("The existing person this is; empty creates a new one on acceptance."),
    )
    candidate = models.ForeignKey(
        Speaker,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("person with the same name"),
    )
    institution = models.ForeignKey(
        Institution,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("matched institution"),
    )
    order = models.PositiveSmallIntegerField(_("order"), default=0)

    class Meta:
        verbose_name = _("proposed speaker")
        verbose_name_plural = _("proposed speakers")
        ordering = ["report", "order", "pk"]

    def __str__(self):
        return self.name

    @property
    def colour(self):
        return self.order % 10


class Proposal(models.Model):
    """A span of one paragraph attributed to a proposed speaker, with a fidelity guess."""

    report = models.ForeignKey(
        Report, models.CASCADE, related_name="proposals", verbose_name=_("report")
    )
    speaker = models.ForeignKey(
        ProposedSpeaker, models.CASCADE, related_name="proposals", verbose_name=_("speaker")
    )
    paragraph = models.PositiveIntegerField(_("paragraph"))
    start = models.PositiveIntegerField(_("start"))
    end = models.PositiveIntegerField(_("end"))
    text = models.TextField(_("text"))
    fidelity = models.CharField(_("fidelity"), max_length=20, choices=Position.Fidelity)
    fidelity_confidence = models.FloatField(_("fidelity confidence"), default=0.5)
    confidence = models.FloatField(_("attribution confidence"), default=0.5)
    key_phrases = models.JSONField(
        _("key phrases"),
        default=list,
        blank=True,
        help_text=_("Phrases in quotation marks inside the span."),
    )
    attribution_note = models.CharField(
        _("attribution note"), max_length=300, blank=True, help_text=_("Why this speaker.")
    )
    state = models.CharField(_("state"), max_length=20, choices=State, default=State.PENDING)
    position = models.ForeignKey(
        Position,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("position"),
    )
    order = models.PositiveIntegerField(_("order"), default=0)

    class Meta:
        verbose_name = _("proposed position")
        verbose_name_plural = _("proposed positions")
        ordering = ["report", "paragraph", "start", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(end__gt=models.F("start")), name="proposal_span_not_empty"
            ),
        ]

    def __str__(self):
        return f"¶{self.paragraph} {self.speaker.name}: {self.text[:40]}"


class ProposedTheme(models.Model):
    """A numbered section heading (or an outlook's tasks) offered as a theme."""

    report = models.ForeignKey(
        Report, models.CASCADE, related_name="themes", verbose_name=_("report")
    )
    title = models.CharField(_("title"), max_length=300)
    paragraph = models.PositiveIntegerField(_("paragraph"))
    kind = models.CharField(_("kind"), max_length=20, choices=Theme.Kind)
    parent = models.ForeignKey(
        "self", models.CASCADE, null=True, blank=True, verbose_name=_("parent")
    )
    state = models.CharField(_("state"), max_length=20, choices=State, default=State.PENDING)
    theme = models.ForeignKey(
        Theme, models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("theme")
    )
    order = models.PositiveSmallIntegerField(_("order"), default=0)

    class Meta:
        verbose_name = _("proposed theme")
        verbose_name_plural = _("proposed themes")
        ordering = ["report", "order", "pk"]

    def __str__(self):
        return self.title
