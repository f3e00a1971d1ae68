"""
"New forum from a report" and its review screen, in the admin.

Who may use them: whoever may add forums, positions and speakers (the Editors and Publishers
groups). Nothing here publishes: every row an acceptance creates is a draft.
"""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Q
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from proceedings.models import Position

from . import services
from .extraction import ExtractionError
from .forms import EditProposalForm, NewForumForm
from .models import Proposal, ProposedSpeaker, Report, State

NEEDED = ["proceedings.add_forum", "proceedings.add_position", "speakers.add_speaker"]


def may_curate(user):
    return user.is_active and user.is_staff and user.has_perms(NEEDED)


def highlighted(paragraphs, proposals):
    """Split each paragraph into segments, each with the proposals covering it (for marks)."""
    by_paragraph = {}
    for proposal in proposals:
        if proposal.state != State.REJECTED:
            by_paragraph.setdefault(proposal.paragraph, []).append(proposal)
    rows = []
    for number, text in enumerate(paragraphs, start=1):
        spans = by_paragraph.get(number, [])
        cuts = sorted({0, len(text), *(p.start for p in spans), *(p.end for p in spans)})
        segments = []
        for a, b in zip(cuts, cuts[1:], strict=False):
            if a >= len(text):
                break
            covering = [p for p in spans if p.start <= a and b <= p.end]
            segments.append({"text": text[a:b], "proposal": covering[0] if covering else None})
        rows.append({"number": number, "segments": segments})
    return rows


@admin.register(Report)
class ReportAdmin(admin.ModelAdmin):
    list_display = ["title", "forum_name", "forum_year", "format", "review_link", "created_at"]
    readonly_fields = [
        "forum_name", "forum_year", "title", "author", "publisher", "filename", "format",
        "encoding", "language", "full_text", "headings", "furniture", "questions", "byline",
        "forum", "source", "session", "created_by",
    ]  # fmt: skip

    def has_module_permission(self, request):
        return may_curate(request.user)

    def has_view_permission(self, request, obj=None):
        return may_curate(request.user)

    def has_add_permission(self, request):
        return may_curate(request.user)

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return may_curate(request.user) and request.user.has_perm("proceedings.delete_forum")

    @admin.display(description=gettext_lazy("Review"))
    def review_link(self, obj):
        return format_html('<a href="{}">{}</a>', obj.get_absolute_url(), _("Review"))

    def add_view(self, request, form_url="", extra_context=None):
        # "Add" on the list is "New forum from a report".
        return self.new_view(request)

    def get_urls(self):
        site = self.admin_site
        return [
            path("new/", site.admin_view(self.new_view), name="curation_report_new"),
            path(
                "<int:pk>/review/",
                site.admin_view(self.review_view),
                name="curation_report_review",
            ),
            path("<int:pk>/act/", site.admin_view(self.act_view), name="curation_report_act"),
            *super().get_urls(),
        ]

    def _context(self, request, **extra):
        return {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            **extra,
        }

    def new_view(self, request):
        if not may_curate(request.user):
            raise PermissionDenied
        form = NewForumForm(request.POST or None, request.FILES or None)
        refused = None
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            upload = data.get("file")
            try:
                report = services.create_report(
                    forum_name=data["forum_name"],
                    forum_year=data["forum_year"],
                    title=data["title"],
                    author=data["author"],
                    publisher=data["publisher"],
                    content=upload.read() if upload else b"",
                    filename=upload.name if upload else "",
                    text=None if upload else data["text"],
                    user=request.user,
                )
            except ExtractionError as error:
                refused = str(error)
            else:
                messages.success(
                    request,
                    _("%(speakers)s speakers and %(positions)s positions proposed. Review them.")
                    % {
                        "speakers": report.speakers.count(),
                        "positions": report.proposals.count(),
                    },
                )
                return HttpResponseRedirect(report.get_absolute_url())
        return TemplateResponse(
            request,
            "admin/curation/new.html",
            self._context(request, form=form, refused=refused, title=_("New forum from a report")),
        )

    def review_view(self, request, pk):
        if not may_curate(request.user):
            raise PermissionDenied
        report = get_object_or_404(Report, pk=pk)
        speakers = list(
            report.speakers.select_related("speaker", "candidate", "institution").annotate(
                pending=Count("proposals", filter=Q(proposals__state=State.PENDING))
            )
        )
        proposals = list(report.proposals.select_related("speaker", "position"))
        for proposal in proposals:
            proposal.form = EditProposalForm(
                initial={
                    "text": proposal.text,
                    "start": proposal.start,
                    "end": proposal.end,
                    "speaker": proposal.speaker_id,
                    "fidelity": proposal.fidelity,
                },
                prefix=f"p{proposal.pk}",
            )
        return TemplateResponse(
            request,
            "admin/curation/review.html",
            self._context(
                request,
                report=report,
                speakers=speakers,
                proposals=proposals,
                paragraphs=highlighted(report.paragraphs, proposals),
                headings={h + 1 for h in report.headings},
                themes=list(report.themes.select_related("parent", "theme")),
                fidelities=Position.Fidelity.choices,
                title=_("Review: %(title)s") % {"title": report.title},
            ),
        )

    def act_view(self, request, pk):
        return _act(request, pk)


@require_POST
def _act(request, pk):
    if not may_curate(request.user):
        raise PermissionDenied
    report = get_object_or_404(Report, pk=pk)
    action = request.POST.get("action", "")
    back = HttpResponseRedirect(report.get_absolute_url())
    try:
        if action in {"accept", "reject", "edit"}:
            proposal = get_object_or_404(Proposal, pk=request.POST.get("proposal"), report=report)
            if action == "accept":
                position = services.accept(proposal, request.user)
                messages.success(
                    request,
                    _("Draft position created for %(speaker)s (¶%(paragraph)s).")
                    % {"speaker": position.speaker.name, "paragraph": position.paragraph},
                )
            elif action == "reject":
                services.reject(proposal)
                messages.info(request, _("Proposal rejected."))
            else:
                form = EditProposalForm(request.POST, prefix=f"p{proposal.pk}")
                if not form.is_valid():
                    raise ValidationError(_("Check the span's start and end (whole numbers)."))
                data = form.cleaned_data
                speaker = None
                if data.get("speaker") and data["speaker"] != proposal.speaker_id:
                    speaker = get_object_or_404(ProposedSpeaker, pk=data["speaker"], report=report)
                bounds_changed = (data.get("start"), data.get("end")) != (
                    proposal.start,
                    proposal.end,
                )
                services.edit(
                    proposal,
                    text=data.get("text") if not bounds_changed else None,
                    start=data.get("start") if bounds_changed else None,
                    end=data.get("end") if bounds_changed else None,
                    speaker=speaker,
                    fidelity=data.get("fidelity") or None,
                )
                messages.success(request, _("Proposal changed."))
        elif action == "accept-phrase":
            proposal = get_object_or_404(Proposal, pk=request.POST.get("proposal"), report=report)
            key_phrase = services.accept_phrase(
                proposal, request.POST.get("phrase", ""), request.user
            )
            messages.success(
                request,
                _("Key phrase added to the draft position: %(text)s") % {"text": key_phrase.text},
            )
        elif action == "accept-speaker":
            proposed = get_object_or_404(
                ProposedSpeaker, pk=request.POST.get("speaker"), report=report
            )
            count = services.accept_all(proposed, request.user)
            messages.success(
                request,
                _("%(count)s draft positions created for %(speaker)s.")
                % {"count": count, "speaker": proposed.name},
            )
        elif action == "use-existing":
            proposed = get_object_or_404(
                ProposedSpeaker, pk=request.POST.get("speaker"), report=report
            )
            if proposed.candidate_id and not proposed.speaker_id:
                proposed.speaker = proposed.candidate
                proposed.match = ProposedSpeaker.Match.MATCHED
                proposed.save(update_fields=["speaker", "match"])
                messages.success(
                    request, _("%(name)s will be the existing person.") % {"name": proposed.name}
                )
        elif action == "accept-person":
            proposed = get_object_or_404(
                ProposedSpeaker, pk=request.POST.get("speaker"), report=report
            )
            appearance = services.accept_person(proposed, request.user)
            messages.success(
                request,
                _("%(name)s added to the draft session as %(capacity)s.")
                % {"name": proposed.name, "capacity": appearance.get_capacity_display()},
            )
        elif action == "accept-themes":
            count = services.accept_themes(report, request.user)
            messages.success(request, _("%(count)s draft themes created.") % {"count": count})
        else:
            messages.error(request, _("Unknown action."))
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    return back
