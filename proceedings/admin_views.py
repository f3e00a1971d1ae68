"""
Admin pages beyond changelists and forms: bulk import (preview, then confirm) and duplicates.

The model admins in ``admin.py`` route to these views through ``get_urls()``; the views only
check permissions, keep the upload between the two steps and call the services
(``spreadsheet.check_upload``, ``merging.merge_*``).
"""

import base64
import hashlib
import uuid

from django import forms
from django.contrib import messages
from django.core import signing
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from .interchange import merging, spreadsheet
from .models import Appearance, Position

# ---------------------------------------------------------------------------------------------
# Import: upload → preview (dry run) → confirm (the same file, imported for real)
# ---------------------------------------------------------------------------------------------

# Between preview and confirm the upload waits in the editor's session (database-backed, so
# any worker can finish the import); the confirm form carries only a signed token naming it.
# Parsed data is never sent back and forth: the confirmed import reads the stored bytes again.
PENDING_KEY = "proceedings_pending_import"
SIGNING_SCOPE = "proceedings.admin.import"
CONFIRM_MAX_AGE = 60 * 60  # seconds
# A preview lists this many rows and records of a large file (rows with problems always):
# rendering 10,000 table rows took about 2 s, and a 10 MB page is no help to anyone.
PREVIEW_ROWS = 1000


class ImportForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("File"),
        help_text=gettext_lazy(
            "JSON in the portal's import format, or a CSV (UTF-8) or XLSX spreadsheet of "
            "positions, one row per position."
        ),
        widget=forms.ClearableFileInput(attrs={"accept": ".json,.csv,.xlsx"}),
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > spreadsheet.MAX_UPLOAD_BYTES:
            raise ValidationError(
                _("The file is larger than %(size)s MB; split it into several imports.")
                % {"size": spreadsheet.MAX_UPLOAD_BYTES // (1024 * 1024)}
            )
        return upload


def can_import(user):
    """Return whether ``user`` may bulk-import (add and change positions)."""
    return user.has_perm("proceedings.add_position") and user.has_perm(
        "proceedings.change_position"
    )


def _keep_upload(request, *, name, content, fingerprint):
    """Store the upload in the session, replacing any earlier one; return its signed token.

    ``fingerprint`` is what the preview showed the import would do: the confirmation is refused
    if the import would now do anything else.
    """
    digest = hashlib.sha256(content).hexdigest()
    upload_id = uuid.uuid4().hex
    request.session[PENDING_KEY] = {
        "id": upload_id,
        "name": name,
        "sha256": digest,
        "fingerprint": fingerprint,
        "content": base64.b64encode(content).decode("ascii"),
    }
    return signing.dumps(
        {"id": upload_id, "sha256": digest, "user": request.user.pk}, salt=SIGNING_SCOPE
    )


def _pending_upload(request, token):
    """Return ``(name, content, fingerprint)`` of the upload ``token`` names, or None."""
    try:
        signed = signing.loads(token, salt=SIGNING_SCOPE, max_age=CONFIRM_MAX_AGE)
    except signing.BadSignature:  # also SignatureExpired
        return None
    pending = request.session.get(PENDING_KEY)
    if not pending or signed.get("user") != request.user.pk or signed.get("id") != pending["id"]:
        return None
    content = base64.b64decode(pending["content"])
    if hashlib.sha256(content).hexdigest() != signed.get("sha256"):
        return None
    return pending["name"], content, pending.get("fingerprint", "")


def _import_context(request, model_admin, **context):
    return {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.model._meta,
        "title": _("Import forum data or positions"),
        "columns": spreadsheet.COLUMNS,
        "required_columns": spreadsheet.REQUIRED_COLUMNS,
        **context,
    }


def _render_import(request, model_admin, status=200, **context):
    return TemplateResponse(
        request,
        "admin/proceedings/import.html",
        _import_context(request, model_admin, **context),
        status=status,
    )


def import_view(request, model_admin):
    """Upload a file; show what importing it would do (a dry run) and a confirm button."""
    if not can_import(request.user):
        raise PermissionDenied
    form = ImportForm(request.POST or None, request.FILES or None)
    if request.method != "POST" or not form.is_valid():
        return _render_import(request, model_admin, form=form)
    upload = form.cleaned_data["file"]
    content = upload.read()
    result = spreadsheet.check_upload(content=content, name=upload.name, user=request.user)
    token = (
        _keep_upload(
            request, name=upload.name, content=content, fingerprint=result.report.fingerprint()
        )
        if result.ok
        else ""
    )
    if not result.ok:
        request.session.pop(PENDING_KEY, None)
    return _render_import(
        request, model_admin, form=ImportForm(), result=result, token=token, **_row_stats(result)
    )


@require_POST
def import_confirm_view(request, model_admin):
    """Import the upload the preview showed, for real, all or nothing."""
    if not can_import(request.user):
        raise PermissionDenied
    pending = _pending_upload(request, request.POST.get("token", ""))
    if pending is None:
        # Refused: a token from another session or user, a replaced or expired preview, or
        # none at all. Nothing was imported.
        return _render_import(
            request,
            model_admin,
            status=400,
            form=ImportForm(),
            refused=_(
                "This import could not be confirmed: its preview has expired or was replaced "
                "by another upload. Nothing was imported; upload the file again."
            ),
        )
    name, content, fingerprint = pending
    result = spreadsheet.check_upload(
        content=content, name=name, user=request.user, commit=True, expected=fingerprint
    )
    if not result.committed:
        # The database changed since the preview (or the rules did): nothing was written.
        return _render_import(
            request, model_admin, form=ImportForm(), result=result, **_row_stats(result)
        )
    request.session.pop(PENDING_KEY, None)
    report = result.report
    messages.success(
        request,
        _(
            "Imported %(name)s: %(created)s records created, %(updated)s updated, "
            "%(unchanged)s unchanged. History records the import as “Import of %(name)s”."
        )
        % {
            "name": result.name,
            "created": sum(report.created.values()),
            "updated": sum(report.updated.values()),
            "unchanged": sum(report.unchanged.values()),
        },
    )
    return HttpResponseRedirect(reverse("admin:proceedings_position_changelist"))


def _row_stats(result):
    """Return the preview's rows and records to list, and counts: rows, matched and new
    people and institutions."""
    rows = result.rows
    shown_rows = [row for i, row in enumerate(rows) if i < PREVIEW_ROWS or row.problems]
    records = result.records()
    new_people = {row.speaker_new_row for row in rows if row.speaker_is_new}
    new_institutions = {row.institution_new_row for row in rows if row.institution_is_new}
    return {
        "row_count": len(rows),
        "matched_people": len({row.speaker_match.obj.pk for row in rows if _matched(row)}),
        "new_people": len(new_people),
        "new_institutions": len(new_institutions),
        "problem_rows": len({problem.row for problem in result.problems if problem.row}),
        "shown_rows": shown_rows,
        "hidden_rows": len(rows) - len(shown_rows),
        "shown_records": records[:PREVIEW_ROWS],
        "hidden_records": max(len(records) - PREVIEW_ROWS, 0),
        "general_problems": [p for p in result.problems if not p.row],
    }


def _matched(row):
    return row.speaker_match is not None and row.speaker_match.obj is not None


# ---------------------------------------------------------------------------------------------
# Duplicates: candidate pairs, and merging one into the other
# ---------------------------------------------------------------------------------------------


class DuplicateKind:
    """What differs between the speakers' and the institutions' duplicates pages."""

    def __init__(self, *, find, merge, role_field):
        self.find = find
        self.merge = merge
        self.role_field = role_field  # Appearance's foreign key to the model


SPEAKERS = DuplicateKind(
    find=merging.find_duplicate_speakers, merge=merging.merge_speakers, role_field="speaker"
)
INSTITUTIONS = DuplicateKind(
    find=merging.find_duplicate_institutions,
    merge=merging.merge_institutions,
    role_field="institution",
)


def _usage(kind, pks):
    """Return {pk: (roles, positions)} for the records ``pks``: two grouped queries."""
    roles = dict(
        Appearance.objects.filter(**{f"{kind.role_field}__in": pks})
        .values_list(kind.role_field)
        .annotate(n=Count("pk"))
        .order_by()
    )
    field = f"appearance__{kind.role_field}"
    positions = dict(
        Position.objects.filter(**{f"{field}__in": pks})
        .values_list(field)
        .annotate(n=Count("pk"))
        .order_by()
    )
    return {pk: (roles.get(pk, 0), positions.get(pk, 0)) for pk in pks}


def _url(model_admin, name):
    opts = model_admin.model._meta
    return reverse(f"admin:{opts.app_label}_{opts.model_name}_{name}")


def _can_merge(request, model_admin):
    # Merging deletes a record: the delete permission (Publishers) is what it needs.
    return model_admin.has_delete_permission(request) and model_admin.has_change_permission(request)


def duplicates_view(request, model_admin, kind):
    """List the pairs of records that look like one, with a merge link for each direction."""
    if not model_admin.has_view_or_change_permission(request):
        raise PermissionDenied
    pairs = kind.find()
    usage = _usage(kind, {obj.pk for pair in pairs for obj in (pair.first, pair.second)})
    for pair in pairs:
        for obj in (pair.first, pair.second):
            obj.role_count, obj.position_count = usage[obj.pk]
    opts = model_admin.model._meta
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": opts,
        "title": _("Possible duplicate %(things)s") % {"things": opts.verbose_name_plural},
        "pairs": pairs,
        "can_merge": _can_merge(request, model_admin),
        "merge_url": _url(model_admin, "merge"),
    }
    return TemplateResponse(request, "admin/proceedings/duplicates.html", context)


def merge_view(request, model_admin, kind):
    """Confirm (GET) and carry out (POST) merging ``duplicate`` into ``keep``."""
    if not _can_merge(request, model_admin):
        raise PermissionDenied
    data = request.POST if request.method == "POST" else request.GET
    model = model_admin.model
    try:
        keep = get_object_or_404(model, pk=int(data.get("keep", "")))
        duplicate = get_object_or_404(model, pk=int(data.get("duplicate", "")))
    except ValueError:
        return HttpResponseRedirect(_url(model_admin, "duplicates"))
    if keep.pk == duplicate.pk:
        messages.error(request, _("A record cannot be merged into itself."))
        return HttpResponseRedirect(_url(model_admin, "duplicates"))
    if request.method == "POST":
        result = kind.merge(keep=keep, duplicate=duplicate, user=request.user)
        messages.success(
            request,
            _(
                "Merged “%(duplicate)s” into “%(keep)s”. Roles moved: %(roles)s; merged with "
                "a role in the same session: %(merged)s; positions now attributed to "
                "“%(keep)s”: %(positions)s. %(old)s now redirects to %(new)s."
            )
            % {
                "duplicate": duplicate,
                "keep": keep,
                "roles": result.moved_roles,
                "merged": result.merged_roles,
                "positions": result.moved_positions,
                "old": result.old_url,
                "new": result.new_url,
            },
        )
        return HttpResponseRedirect(_url(model_admin, "duplicates"))
    plan = kind.merge(keep=keep, duplicate=duplicate, user=request.user, dry_run=True)
    usage = _usage(kind, {keep.pk, duplicate.pk})
    keep.role_count, keep.position_count = usage[keep.pk]
    duplicate.role_count, duplicate.position_count = usage[duplicate.pk]
    opts = model._meta
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": opts,
        "title": _("Merge “%(duplicate)s” into “%(keep)s”?")
        % {"duplicate": duplicate, "keep": keep},
        "keep": keep,
        "duplicate": duplicate,
        "plan": plan,
        "merge_url": _url(model_admin, "merge"),
        "duplicates_url": _url(model_admin, "duplicates"),
    }
    return TemplateResponse(request, "admin/proceedings/merge_confirm.html", context)
