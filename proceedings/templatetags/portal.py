"""Small filters the public templates share: labels and language tags."""

from django import template
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from speakers.models import Sector

from ..models import Position

register = template.Library()

FIDELITY_NOTES = {
    Position.Fidelity.VERBATIM: _("The speaker's own words, quoted in the source."),
    Position.Fidelity.PARAPHRASE: _("The source reports the speaker's view in indirect speech."),
    Position.Fidelity.SUMMARY: _(
        "The rapporteur's own summary of a view attributed to the speaker."
    ),
}


@register.filter
def fidelity_note(position):
    """Return the one-line explanation of a position's fidelity."""
    return FIDELITY_NOTES.get(position.fidelity, "")


@register.filter
def sector_label(value):
    """Return the translated label of a ``Sector`` value, or "" for none."""
    return Sector(value).label if value in Sector.values else ""


@register.filter
def printed_role(appearance):
    """Return the role as the source printed it, else the role and institution we hold."""
    if appearance.as_printed:
        return appearance.as_printed
    institution = appearance.institution.name if appearance.institution else ""
    return " ".join(filter(None, [institution, appearance.role]))


@register.filter
def bcp47(language_code):
    """Return a Django language code as a BCP 47 tag for ``lang=`` (zh-hant -> zh-Hant)."""
    language, _sep, script = language_code.partition("-")
    if len(script) == 4:
        return f"{language}-{script.title()}"
    return language_code


@register.filter
def linked_role(appearance):
    """Return the role as printed, as HTML, with the institution linked to its page.

    When the printed text names the institution (中國科學技術發展戰略研究院黨委書記), that name
    becomes the link, so the text still reads exactly as printed; otherwise the institution
    follows as a separate link. Needs ``appearance.institution`` joined.
    """
    printed = printed_role(appearance)
    institution = appearance.institution
    if institution is None:
        return printed
    link = format_html(
        '<a class="role-institution" href="{}">{}</a>',
        institution.get_absolute_url(),
        institution.name,
    )
    before, found, after = printed.partition(institution.name)
    if found:
        return format_html("{}{}{}", before, link, after)
    if not printed:
        return link
    return format_html('{} <span class="role-institution-apart">{}</span>', printed, link)
