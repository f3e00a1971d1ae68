"""
The analysts' pages: who stands where (the speaker × question matrix of a forum), speakers
compared side by side, and the voice balance of a forum or a theme.

They show published rows only, staff included (see ``analysis.py``). Bad input (an unknown
``by``, speaker or forum, too many or repeated speakers) gets a short message with a 400, or
the comparison form with the message; never a 500.
"""

import hashlib

from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.utils.functional import SimpleLazyObject, cached_property
from django.utils.translation import gettext as _
from django.views.decorators.http import require_safe

from speakers.models import Speaker

from .analysis import (
    BY_QUESTION,
    BY_THEME,
    COMPARE_MAX,
    MATRIX_AXES,
    bar_chart,
    comparable_speakers,
    compare_speakers,
    forum_voice_balance,
    speaker_matrix,
    voice_balance,
)
from .listing import ValueRows, people_stamp, stamp_of
from .localize import localized
from .models import Forum, Position, Theme

# Longest slug echoed back in an error message (the rest of a garbage value is cut).
ECHO_MAX = 60


def bad_request(request, message, *, forum=None):
    """Answer 400 with ``message`` on a short page."""
    return TemplateResponse(
        request,
        "proceedings/bad_request.html",
        {"message": message, "forum": forum, "section": "forums"},
        status=400,
    )


def echo(value):
    """Return a user-supplied value short enough to quote in a message."""
    return value if len(value) <= ECHO_MAX else f"{value[:ECHO_MAX]}…"


@require_safe
def forum_matrix(request, slug):
    """Show a forum's speakers by sector against its guiding questions, or ``?by=theme``."""
    forum = get_object_or_404(Forum.objects.published(), slug=slug)
    by = request.GET.get("by", BY_QUESTION)
    if by not in MATRIX_AXES:
        message = _("Unknown view “%(by)s”: use by=question or by=theme.") % {"by": echo(by)}
        return bad_request(request, message, forum=forum)
    # Read only when the page part is not kept (``{% fragment %}``).
    matrix = SimpleLazyObject(lambda: speaker_matrix(forum, by=by))
    return TemplateResponse(
        request,
        "proceedings/forum_matrix.html",
        {
            "forum": forum,
            "matrix": matrix,
            "matrix_rows": stamp_of(request, forum).of(matrix),
            "by_theme": by == BY_THEME,
            "section": "forums",
        },
    )


@require_safe
def forum_balance(request, slug):
    """Show how many positions and speakers each sector and country has in a forum."""
    forum = get_object_or_404(Forum.objects.published(), slug=slug)
    # From the roles' tallies, kept by the stamp of what the lists of everyone read.
    return _balance_page(
        request,
        forum=forum,
        theme=None,
        count=lambda: forum_voice_balance(forum),
        rows=people_stamp(request),
    )


@require_safe
def theme_balance(request, forum_slug, slug):
    """Show how many positions and speakers each sector and country has on a theme."""
    themes = Theme.objects.published().select_related("forum")
    theme = get_object_or_404(themes, forum__slug=forum_slug, slug=slug)
    positions = Position.objects.published().filter(themes=theme)
    return _balance_page(
        request,
        forum=theme.forum,
        theme=theme,
        count=lambda: voice_balance(positions),
        rows=stamp_of(request, theme),
    )


def _balance_page(request, *, forum, theme, count, rows=None):
    """``count()``: the ``Balance``; ``rows``: what the page part is kept by besides the content
    generation (``{% fragment … rows=… %}``), if anything."""
    # Counted and drawn only when the page part is not kept (``{% fragment %}``).
    balance = SimpleLazyObject(count)
    return TemplateResponse(
        request,
        "proceedings/voice_balance.html",
        {
            "forum": forum,
            "theme": theme,
            "balance": balance,
            "balance_rows": rows,
            "sector_chart": SimpleLazyObject(lambda: bar_chart(balance.by_sector)),
            "country_chart": SimpleLazyObject(lambda: bar_chart(balance.by_country)),
            "section": "forums",
        },
    )


class ComparisonRequest:
    """The speakers and forum a comparison URL asks for, checked: ``errors`` says what is wrong.

    ``?speaker=<slug>&speaker=<slug>…[&forum=<slug>]``. With no speaker the form is shown
    plainly; one speaker is the first step (the "Compare with…" link of a speaker page), shown
    as the form with that person ticked and a prompt for more. Every other problem (unknown
    forum or speaker, the same person twice, more than ``COMPARE_MAX``) is an error (400).
    """

    def __init__(self, params, request=None):
        self.request = request
        self.errors, self.prompt = [], ""
        self.forum, self.speakers = None, []
        self.slugs = params.getlist("speaker")
        forum_slug = params.get("forum", "")
        if forum_slug:
            self.forum = Forum.objects.published().filter(slug=forum_slug).first()
            if self.forum is None:
                message = _("There is no published forum “%(forum)s”.")
                self.errors.append(message % {"forum": echo(forum_slug)})
        if self.errors:
            return
        if len(self.slugs) > COMPARE_MAX:
            message = _("Compare at most %(max)s speakers at a time; you chose %(count)s.")
            self.errors.append(message % {"max": COMPARE_MAX, "count": len(self.slugs)})
            return
        self._find_speakers()
        if not self.errors and len(self.speakers) == 1:
            message = _("Choose at least one more speaker to compare with %(name)s.")
            self.prompt = message % {"name": localized(self.speakers[0], "name").text}

    @cached_property
    def choices(self):
        """The people the form lists: every published person with a published position (in
        the forum). Read only when the form's list is not kept (``checked``); then only what
        it shows of them, by which it is also kept across edits that change none of them."""
        return ValueRows(comparable_speakers(self.forum), ["id", "slug", "name", "name_en"])

    @cached_property
    def choice_rows(self):
        """What the form's list is kept by: the tables of the lists of everyone, then the
        choices themselves."""
        return people_stamp(self.request).of(SimpleLazyObject(lambda: self.choices))

    @cached_property
    def checked(self):
        """A digest of the people ticked, which keys the form's list beside the forum and the
        content generation (5,000 people and 471 kB at the bench's 100,000 positions)."""
        return hashlib.blake2b("\n".join(self.slugs).encode(), digest_size=16).hexdigest()

    def _find_speakers(self):
        chosen = comparable_speakers(self.forum).filter(slug__in=self.slugs)
        by_slug = {speaker.slug: speaker for speaker in chosen}
        seen = set()
        for slug in self.slugs:
            if slug in seen:
                message = _("“%(speaker)s” is chosen twice: choose each speaker once.")
                self.errors.append(message % {"speaker": echo(slug)})
            elif slug in by_slug:
                self.speakers.append(by_slug[slug])
            else:
                self.errors.append(self._not_comparable(slug))
            seen.add(slug)

    def _not_comparable(self, slug):
        """Return why ``slug`` is not among the choices (one query, only for a bad request)."""
        if self.forum is not None:
            elsewhere = Speaker.objects.published().filter(slug=slug).first()
            if elsewhere is not None:
                message = _("%(speaker)s has no published positions in %(forum)s.")
                return message % {
                    "speaker": localized(elsewhere, "name").text,
                    "forum": localized(self.forum, "name").text,
                }
        message = _("There is no published speaker “%(speaker)s” with positions.")
        return message % {"speaker": echo(slug)}

    @property
    def ready(self):
        return not self.errors and len(self.speakers) >= 2


@require_safe
def compare(request):
    """Compare two to ``COMPARE_MAX`` speakers theme by theme, with the form to choose them."""
    asked = ComparisonRequest(request.GET, request)
    context = {
        "asked": asked,
        "forums": Forum.objects.published(),
        "max_speakers": COMPARE_MAX,
        "section": "speakers",
    }
    if asked.ready:
        context["comparison"] = compare_speakers(asked.speakers, forum=asked.forum)
    status = 400 if asked.errors else 200
    return TemplateResponse(request, "proceedings/compare.html", context, status=status)
