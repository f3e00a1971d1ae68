"""
The publication workflow shared by curated models of both apps.

Content moves draft → in review → published (and back to draft, or withdrawn once published).
Editors may submit and return drafts; publishing, unpublishing and withdrawing need the model's
``publish_<model>`` permission, which the Publishers group has (proceedings migration 0006).
"""

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Status(models.TextChoices):
    DRAFT = "draft", _("Draft")
    REVIEW = "review", _("In review")
    PUBLISHED = "published", _("Published")
    WITHDRAWN = "withdrawn", _("Withdrawn")


EDIT = "edit"
PUBLISH = "publish"

# (from, to) -> what the user needs: EDIT (change permission) or PUBLISH (publish permission).
TRANSITIONS = {
    (Status.DRAFT, Status.REVIEW): EDIT,  # submit for review
    (Status.REVIEW, Status.DRAFT): EDIT,  # return to the author
    (Status.DRAFT, Status.PUBLISHED): PUBLISH,
    (Status.REVIEW, Status.PUBLISHED): PUBLISH,
    (Status.PUBLISHED, Status.DRAFT): PUBLISH,  # unpublish
    (Status.PUBLISHED, Status.WITHDRAWN): PUBLISH,
    (Status.WITHDRAWN, Status.PUBLISHED): PUBLISH,
    (Status.WITHDRAWN, Status.DRAFT): PUBLISH,
}


def status_q(prefix=""):
    """Return the condition "this row is published", across relations via ``prefix``."""
    return Q(**{f"{prefix}status": Status.PUBLISHED})


def publish_permission(model):
    """Return the ``app_label.codename`` of the permission to publish ``model``'s rows."""
    return f"{model._meta.app_label}.publish_{model._meta.model_name}"


def can_transition(user, model, old, new):
    """Return whether ``user`` may move a ``model`` row from status ``old`` to ``new``."""
    needs = TRANSITIONS.get((old, new))
    if needs is None:
        return False
    opts = model._meta
    if not user.has_perm(f"{opts.app_label}.change_{opts.model_name}"):
        return False
    return needs == EDIT or user.has_perm(publish_permission(model))


class Publishable(models.Model):
    """A status and the time of first publication; see ``TRANSITIONS`` for the moves."""

    status = models.CharField(_("status"), max_length=20, choices=Status, default=Status.DRAFT)
    published_at = models.DateTimeField(_("published at"), null=True, blank=True)

    class Meta:
        abstract = True

    @property
    def is_published(self):
        return self.status == Status.PUBLISHED
