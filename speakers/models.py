from django.db import models
from django.db.models import Exists, OuterRef
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from forum_portal.links import reverse
from forum_portal.validators import http_url
from forum_portal.workflow import Publishable, status_q


class Sector(models.TextChoices):
    """The kind of body a speaker speaks for; drives grouping and the sector pages."""

    GOVERNMENT = "government", _("Government")
    ACADEMIA = "academia", _("Academia")
    RESEARCH = "research", _("Research institute")
    ENTERPRISE = "enterprise", _("Enterprise")
    FINANCE = "finance", _("Finance and investment")
    ASSOCIATION = "association", _("Association and civil society")
    FOREIGN = "foreign", _("Foreign government and international")


def _public_appearances():
    # Roles are defined in proceedings (which imports this app, never the reverse): reach
    # them through the reverse relation's model rather than an import.
    appearance = Speaker.appearances.rel.related_model
    return appearance.objects.published()


class InstitutionQuerySet(models.QuerySet):
    def published(self):
        """Institutions named in a public role (a published person in a published forum)."""
        return self.filter(Exists(_public_appearances().filter(institution=OuterRef("pk"))))


class Institution(models.Model):
    slug = models.SlugField(_("slug"), max_length=120, unique=True)
    name = models.CharField(_("name"), max_length=300, help_text=_("In the original script."))
    name_en = models.CharField(_("English name"), max_length=300)
    short_name = models.CharField(_("short name"), max_length=100, blank=True)
    sector = models.CharField(_("sector"), max_length=20, choices=Sector)
    country = models.CharField(
        _("country"), max_length=2, blank=True, help_text=_("ISO 3166-1 alpha-2 code, e.g. CN.")
    )
    city = models.CharField(_("city"), max_length=100, blank=True)
    city_en = models.CharField(_("city (English)"), max_length=100, blank=True)
    website = models.URLField(_("website"), blank=True, validators=[http_url])
    aliases = models.JSONField(
        _("aliases"),
        default=list,
        blank=True,
        help_text=_(
            "Other names and spellings (Simplified, abbreviations), used to match imports."
        ),
    )

    objects = InstitutionQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("institution")
        verbose_name_plural = _("institutions")
        ordering = ["name_en"]
        constraints = [
            models.UniqueConstraint(
                Lower("name"),
                name="institution_name_ci_unique",
                violation_error_message=_("Another institution has this name (ignoring case)."),
            ),
        ]
        # Sector pages list one sector's institutions.
        indexes = [models.Index(fields=["sector", "name_en"], name="institution_sector_idx")]

    def __str__(self):
        return f"{self.name} ({self.name_en})" if self.name_en != self.name else self.name

    # The public pages of people and institutions live in proceedings (they show positions);
    # reversing by name keeps this app free of imports from proceedings.
    def get_absolute_url(self):
        return reverse("proceedings:institution-detail", args=[self.slug])


class SpeakerQuerySet(models.QuerySet):
    def published(self):
        """Published people with a role in a published forum."""
        return self.filter(status_q(), Exists(_public_appearances().filter(speaker=OuterRef("pk"))))


class Speaker(Publishable):
    """A person who speaks at (or reports on) a forum. Roles live on their appearances."""

    slug = models.SlugField(_("slug"), max_length=120, unique=True)
    name = models.CharField(_("name"), max_length=200, help_text=_("In the original script."))
    name_en = models.CharField(
        _("romanised name"), max_length=200, help_text=_("Romanised or English name.")
    )
    sort_name = models.CharField(
        _("sort name"), max_length=200, help_text=_("How alphabetical lists sort this person.")
    )
    bio = models.TextField(_("short biography"), blank=True)
    bio_en = models.TextField(_("short biography (English)"), blank=True)
    photo = models.ImageField(_("photo"), upload_to="speakers/", blank=True)
    aliases = models.JSONField(
        _("aliases"),
        default=list,
        blank=True,
        help_text=_("Other spellings of the name (Simplified, other romanisations)."),
    )

    objects = SpeakerQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("speaker")
        verbose_name_plural = _("speakers")
        permissions = [("publish_speaker", _("Can publish, unpublish and withdraw speakers"))]
        ordering = ["sort_name"]

    def __str__(self):
        return f"{self.name} ({self.name_en})" if self.name_en != self.name else self.name

    def get_absolute_url(self):
        return reverse("proceedings:speaker-detail", args=[self.slug])


class SpeakerLink(models.Model):
    speaker = models.ForeignKey(
        Speaker, models.CASCADE, related_name="links", verbose_name=_("speaker")
    )
    label = models.CharField(_("label"), max_length=100)
    url = models.URLField(_("URL"), validators=[http_url])
    order = models.PositiveSmallIntegerField(_("order"), default=0)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("external link")
        verbose_name_plural = _("external links")
        ordering = ["order", "pk"]

    def __str__(self):
        return self.label
