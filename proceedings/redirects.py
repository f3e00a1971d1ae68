"""
Citable URLs stay stable: when a slug changes, the old URL redirects permanently to the new one.

Redirects are rows of ``django.contrib.redirects``; ``LanguageRedirectFallbackMiddleware`` (last
in ``MIDDLEWARE``) answers a 404 at an old path with a 301 to its new path. ``record_slug_change``
writes them; ``SlugRedirectAdminMixin`` calls it when an editor saves a new slug in the admin.

Rows hold language-neutral paths (``/forums/x/``, without ``/en/``): one row redirects the page
in every language, ``/en/forums/old/`` to ``/en/forums/new/``, and rows written before pages had
language prefixes keep working. An unprefixed old path redirects to the unprefixed new one,
which then redirects to the reader's language.
"""

import logging
from copy import copy

from django.conf import settings
from django.contrib import messages
from django.contrib.redirects.middleware import RedirectFallbackMiddleware
from django.contrib.redirects.models import Redirect
from django.contrib.sites.models import Site
from django.contrib.sites.shortcuts import get_current_site
from django.db import OperationalError, transaction
from django.urls import resolve
from django.utils import translation
from django.utils.translation import gettext as _

from forum_portal.languages import split_language_prefix, with_language_prefix

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

    Paths are stored without their language prefix (``neutral_path``), so the redirect serves
    every language. Nothing happens when the URL did not change. Paths longer than a redirect
    can hold are logged and skipped.
    """
    old_url = neutral_path(old_url)
    moves = [(old_url, obj.get_absolute_url())]
    if isinstance(obj, Forum):
        # resolve() matches the active language's prefix only.
        language = translation.get_language()
        old_slug = resolve(with_language_prefix(old_url, language)).kwargs["slug"]
        moves += _forum_part_moves(obj, old_slug=old_slug)
    moves = [(neutral_path(old), neutral_path(new)) for old, new in moves]
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


def neutral_path(url):
    """Return ``url`` without its language prefix (``/en/forums/x/`` → ``/forums/x/``)."""
    return split_language_prefix(url)[1]


class LanguageRedirectFallbackMiddleware(RedirectFallbackMiddleware):
    """``RedirectFallbackMiddleware`` for language-prefixed pages and language-neutral rows.

    A 404 at ``/en/forums/old/`` looks up the row of ``/en/forums/old/`` (an editor may have
    added one by hand), then that of ``/forums/old/``; a neutral row's local target gets the
    request's prefix back. One query, with or without the trailing slash ``APPEND_SLASH`` adds.
    """

    def process_response(self, request, response):
        if response.status_code != 404:
            return response
        language, _path = split_language_prefix(request.path)
        full_path = request.get_full_path()
        candidates = [full_path]
        if settings.APPEND_SLASH and not request.path.endswith("/"):
            candidates.append(request.get_full_path(force_append_slash=True))
        if language:
            candidates += [neutral_path(path) for path in candidates]
        try:
            rows = {
                row.old_path: row
                for row in Redirect.objects.filter(
                    site=get_current_site(request), old_path__in=candidates
                )
            }
        except OperationalError:
            # The database is unreachable: no redirect row can be read, so answer as if there
            # were none. A bare `/` then still gets LocaleMiddleware's redirect to its
            # language (whose page may be in the cache) instead of the 503 page.
            return response
        found = next((path for path in candidates if path in rows), None)
        if found is None:
            return response
        new_path = rows[found].new_path
        if new_path == "":
            return self.response_gone_class()
        if language and found == neutral_path(found) and _is_local_neutral(new_path):
            new_path = with_language_prefix(new_path, language)
        return self.response_redirect_class(new_path)


def _is_local_neutral(path):
    """Return whether ``path`` is a path on this site without a language prefix."""
    return (
        path.startswith("/")
        and not path.startswith("//")
        and split_language_prefix(path)[0] is None
    )


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
