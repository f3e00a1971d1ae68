"""
Moving forums, themes, positions and speakers between statuses: ``transition()``, the one path
every status change takes (admin actions, imports' reviews, commands), with its history entry
and the search index following.

Who may make which move is decided in ``forum_portal.workflow``, the bottom layer that the
speakers app can import too; this module acts on it.
"""

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from forum_portal.workflow import Status, can_transition

from .search.indexing import deferred_indexing


class TransitionNotAllowed(PermissionDenied):
    """The user may not make one of the requested status changes; nothing was changed."""


def transition(*, objects, to, user=None, reason=""):
    """
    Move every object (forums, themes, positions or speakers) to status ``to``; return how many
    changed.

    All or nothing: if ``user`` may not make one of the moves (``forum_portal.workflow``:
    editors submit and return drafts, publishers publish, unpublish and withdraw), raise
    TransitionNotAllowed and change nothing. ``user=None`` is the system (commands, migrations).
    Each change is saved on its own, so history records who made it and why, and the search
    index follows (once, at the end); publishing stamps ``published_at`` the first time.
    """
    objects = [obj for obj in objects if obj.status != to]
    if user is not None:
        refused = [obj for obj in objects if not can_transition(user, type(obj), obj.status, to)]
        if refused:
            names = ", ".join(f"“{obj}” ({obj.get_status_display()})" for obj in refused[:5])
            raise TransitionNotAllowed(
                _("You may not move these to “%(status)s”: %(names)s.")
                % {"status": Status(to).label, "names": names}
            )
    with transaction.atomic(), deferred_indexing():
        for obj in objects:
            obj.status = to
            if to == Status.PUBLISHED and obj.published_at is None:
                obj.published_at = timezone.now()
            obj._change_reason = reason or _("Status changed to “%(status)s”") % {
                "status": Status(to).label
            }
            obj._history_user = user
            obj.save(update_fields=["status", "published_at"])
    return len(objects)
