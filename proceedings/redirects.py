"""
Citable URLs stay stable: when a slug changes, the old URL redirects permanently to the new one.

Redirects are rows of ``django.contrib.redirects``; ``RedirectFallbackMiddleware`` (last in
``MIDDLEWARE``) answers a 404 at an old path with a 301 to its new path. ``record_slug_change``
writes them; ``SlugRedirectAdminMixin`` calls it when an editor saves a new slug in the admin.
"""

import logging
from copy import copy

from django.contrib import messages
from django.contrib.redirects.models import Redirect
from django.contrib.sites.models import Site
from django.db import transaction
from django.urls import resolve
from django.utils.translation import gettext as _

from .models import Forum, Position

logger = logging.getLogger(__name__)

MAX_PATH = Redirect._meta.get_field("old_path").max_length


def record_slug_change(*, obj, old_url):
    """
    Redirect ``old_url`` permanently to ``obj.get_absolute_url()``; return the ``(old, new)``
    paths redirected.

    For a forum, the URLs of its sessions, questions, themes and positions that contain the
    forum's slug move with it, and each gets its own redirect (old child URLs are computed from
    the old forum slug, read from ``old_url``). For every moved path, in one transaction:

    1. a redirect *from* the new path is deleted: the slug was changed back, the path is live;
    2. redirects *to* the old path are re-pointed at the new one, so none chains (A→B→C
       leaves A→C and B→C);
    3. the redirect from the old path is added, or updated.

    Nothing happens when the URL did not change. Paths longer than a redirect can hold are
    logged and skipped.
    """
    moves = [(old_url, obj.get_absolute_url())]
    if isinstance(obj, Forum):
        moves += _forum_part_moves(obj, old_slug=resolve(old_url).kwargs["slug"])
    moves = [(old, new) for old, new in moves if old != new]
    site = Site.objects.get_current()
    with transaction.atomic():
        for old, new in moves:
            if max(len(old), len(new)) > MAX_PATH:
                logger.warning("Not redirecting %s to %s: longer than %s", old, new, MAX_PATH)
                continue
            Redirect.objects.filter(site=site, old_path=new).delete()
            Redirect.objects.filter(site=site, new_path=old).update(new_path=new)
            Redirect.objects.update_or_create(site=site, old_path=old, defaults={"new_path": new})
    return moves


def _forum_part_moves(forum, *, old_slug):
    """Return ``(old URL, new URL)`` for everything under ``forum`` whose URL has its slug."""
    old_forum = copy(forum)
    old_forum.slug = old_slug
    # (the row whose URL it is, the row that holds the forum): URLs are built by each model's
    # get_absolute_url(), once with the old forum and once with the new.
    parts = [(part, part) for part in forum.sessions.all()]
    parts += [(part, part) for part in forum.questions.all()]
    parts += [(part, part) for part in forum.themes.all()]
    # Position permalinks (positions/<pk>/) do not contain the forum's slug today, so they
    # yield no move; they are checked anyway, so a future URL that does is not forgotten.
    positions = Position.objects.filter(appearance__session__forum=forum).select_related(
        "appearance__session"
    )
    parts += [(position, position.appearance.session) for position in positions]
    moves = []
    for part, holder in parts:
        holder.forum = old_forum
        old = part.get_absolute_url()
        holder.forum = forum
        moves.append((old, part.get_absolute_url()))
    return moves


class SlugRedirectAdminMixin:
    """Admin mixin: when an editor changes an object's URL (its slug), redirect the old one.

    Put it before the ModelAdmin class: ``class ThemeAdmin(SlugRedirectAdminMixin,
    WorkflowAdmin)``. It compares URLs rather than slugs, so moving a theme to another forum
    is covered too.
    """

    def save_model(self, request, obj, form, change):
        old_url = None
        if change:
            old_url = type(obj)._default_manager.get(pk=obj.pk).get_absolute_url()
        super().save_model(request, obj, form, change)
        if old_url is None or old_url == obj.get_absolute_url():
            return
        record_slug_change(obj=obj, old_url=old_url)
        self.message_user(
            request,
            _("The old address %(old)s now redirects permanently to %(new)s.")
            % {"old": old_url, "new": obj.get_absolute_url()},
            messages.INFO,
            fail_silently=True,
        )
