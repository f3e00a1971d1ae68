"""Admin support for the publication workflow (``forum_portal.workflow``) and history."""

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from simple_history.admin import SimpleHistoryAdmin

from forum_portal.workflow import Status, publish_permission

from .workflow import TransitionNotAllowed, transition


def _transition_action(to, name, description, permission):
    @admin.action(description=description, permissions=[permission])
    def action(modeladmin, request, queryset):
        try:
            count = transition(objects=list(queryset), to=to, user=request.user)
        except TransitionNotAllowed as exc:
            modeladmin.message_user(request, str(exc), messages.ERROR)
            return
        modeladmin.message_user(
            request,
            ngettext(
                "%(count)d item is now “%(status)s”.",
                "%(count)d items are now “%(status)s”.",
                count,
            )
            % {"count": count, "status": Status(to).label},
            messages.SUCCESS,
        )

    action.__name__ = name
    return action


submit_for_review = _transition_action(
    Status.REVIEW, "submit_for_review", _("Submit selected for review"), "change"
)
return_to_draft = _transition_action(
    Status.DRAFT, "return_to_draft", _("Return selected to draft (unpublish)"), "change"
)
publish = _transition_action(Status.PUBLISHED, "publish", _("Publish selected"), "publish")
withdraw = _transition_action(
    Status.WITHDRAWN, "withdraw", _("Withdraw selected (retract publicly)"), "publish"
)


class HistoryAdmin(SimpleHistoryAdmin):
    """Every curated model: a history page with a readable diff, and revert to a version."""

    history_list_display = []

    def history_view(self, request, object_id, extra_context=None):
        self._require_valid_ids(object_id)
        return super().history_view(request, object_id, extra_context)

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        self._require_valid_ids(object_id, version_id)
        return super().history_form_view(request, object_id, version_id, extra_context)

    def _require_valid_ids(self, object_id, version_id=None):
        """Raise Http404 unless the ids in the URL are values of their fields.

        simple-history passes them to the database as they are, so ``history/compare/`` or
        ``abc/history/`` would fail there (a 500) instead of finding nothing.
        """
        history_model = getattr(self.model, self.model._meta.simple_history_manager_attribute).model
        checks = [(self.model._meta.pk, unquote(object_id))]
        if version_id is not None:
            checks.append((history_model._meta.get_field("history_id"), version_id))
        for field, value in checks:
            try:
                field.to_python(value)
            except ValidationError:
                raise Http404 from None


class PublicRowsAdminMixin:
    """
    Rows without a status of their own (sessions, questions, roles, sources, institutions,
    tags), public through rows that have one: what a published page shows is changed only by
    a Publisher, as for the workflow models.

    A row ``public_rows()`` finds is read-only without the publish permission of
    ``publish_permission_model`` (the model whose publication makes it public), and a save
    that would leave any row public (a change form, the changelist's editable columns, a
    reverted history version, the inlines that attach a tag) is refused with 403 and rolled
    back (the admin saves in a transaction). Rows no published page shows stay editable.
    """

    publish_permission_model = None

    def public_rows(self, queryset):
        """Return the rows of ``queryset`` a published page shows."""
        return queryset.published()

    def is_public(self, obj):
        if obj is None or obj.pk is None:
            return False
        return self.public_rows(type(obj)._default_manager.filter(pk=obj.pk)).exists()

    def has_publish_permission(self, request):
        return request.user.has_perm(publish_permission(self.publish_permission_model))

    def has_change_permission(self, request, obj=None):
        if not super().has_change_permission(request, obj):
            return False
        if self.is_public(obj):
            return self.has_publish_permission(request)
        return True

    def require_unpublished(self, request, obj):
        """Raise PermissionDenied if ``obj`` is public and the user may not change that."""
        if not self.has_publish_permission(request) and self.is_public(obj):
            raise PermissionDenied

    def save_model(self, request, obj, form, change):
        if change:
            self.require_unpublished(request, obj)
        super().save_model(request, obj, form, change)
        self.require_unpublished(request, obj)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        self.require_unpublished(request, form.instance)


class WorkflowAdmin(HistoryAdmin):
    """
    Status is changed only through the workflow actions, which check each move.

    Editors (change permission) submit for review and return to draft; publishers (the
    ``publish_<model>`` permission) publish, unpublish and withdraw, and alone may edit rows
    that are published or withdrawn. The rules are checked in the service the actions call
    and again here, so a hand-made POST or a reverted history version cannot bypass them.
    """

    actions = [submit_for_review, return_to_draft, publish, withdraw]
    history_list_display = ["status"]

    def has_publish_permission(self, request):
        return request.user.has_perm(publish_permission(self.model))

    def has_change_permission(self, request, obj=None):
        if not super().has_change_permission(request, obj):
            return False
        if obj is not None and obj.status in (Status.PUBLISHED, Status.WITHDRAWN):
            return self.has_publish_permission(request)
        return True

    def get_readonly_fields(self, request, obj=None):
        return [*super().get_readonly_fields(request, obj), "status", "published_at"]

    def save_model(self, request, obj, form, change):
        # The change form and the changelist already refuse rows this user may not change;
        # checked again here for every other path that saves (a reverted history version).
        if change and not self.has_change_permission(request, obj):
            raise PermissionDenied
        if change:
            # The status is never taken from a form or an old version: only actions move it.
            current = type(obj).objects.filter(pk=obj.pk).values("status", "published_at").get()
            obj.status, obj.published_at = current["status"], current["published_at"]
        else:
            obj.status, obj.published_at = Status.DRAFT, None
        super().save_model(request, obj, form, change)
