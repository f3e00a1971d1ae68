"""
Readers' corrections: the public form that reports a fault in a published position (each client
may send ``REPORTS_PER_WINDOW`` reports per ``REPORT_WINDOW``), and the editors' decision on a
report (``set_correction_state``, called from the admin).
"""

from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.utils import timezone
from django.views.generic import FormView, TemplateView

from forum_portal import ratelimits

from .forms import CorrectionRequestForm
from .models import CorrectionRequest, Position

# Readers' error reports: at most this many per client per window (seconds).
REPORTS_PER_WINDOW = 5
REPORT_WINDOW = 60 * 60
REPORT_RATE = f"{REPORTS_PER_WINDOW}/{REPORT_WINDOW}s"


def set_correction_state(*, request, state, note="", user=None):
    """Record an editor's decision on a correction request (who and when, once closed)."""
    request.state, request.note = state, note
    if state == CorrectionRequest.State.OPEN:
        request.resolved_at = request.resolved_by = None
    elif request.resolved_at is None:
        request.resolved_at, request.resolved_by = timezone.now(), user
    request.save()
    return request


def _report_usage(request, *, count):
    return ratelimits.usage(request, group="position-report", rate=REPORT_RATE, count=count)


def reports_left(request):
    """Return how many more reports this client may send in the current window."""
    usage = _report_usage(request, count=False)
    return REPORTS_PER_WINDOW if usage is None else usage.left


def count_report(request):
    """Count one report against this client's allowance; return whether it was within it.

    The count is atomic (``forum_portal.ratelimits``, as for the API): of reports sent at the
    same moment, exactly as many as are left pass.
    """
    usage = _report_usage(request, count=True)
    return usage is None or not usage.exceeded


class PositionReportMixin:
    """Look up the published position a report is about: 404 for anything else, even for staff."""

    section = "forums"

    def dispatch(self, request, *args, **kwargs):
        positions = Position.objects.published().select_related(
            "appearance__speaker", "appearance__session__forum"
        )
        self.position = get_object_or_404(positions, pk=kwargs["pk"])
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        return super().get_context_data(section=self.section, position=self.position, **kwargs)


class PositionReportView(PositionReportMixin, FormView):
    """The error report form of one position; it also sits, folded, on the position's page.

    A valid report is stored (with a copy of the position's text) and the reader sent to the
    thank-you page; a filled honeypot is sent there too, but nothing is stored. Each client may
    send ``REPORTS_PER_WINDOW`` reports per ``REPORT_WINDOW``; beyond that, 429.
    """

    template_name = "proceedings/position_report.html"
    form_class = CorrectionRequestForm

    def post(self, request, *args, **kwargs):
        form = self.get_form()
        if reports_left(request) == 0:
            return self.limited(form)
        if form.is_spam:
            count_report(request)
            return self.thanks()
        return self.form_valid(form) if form.is_valid() else self.form_invalid(form)

    def form_valid(self, form):
        # Checked again as it is counted: concurrent reports may have used the allowance since.
        if not count_report(self.request):
            return self.limited(form)
        form.save_for(self.position)
        return self.thanks()

    def limited(self, form):
        return TemplateResponse(
            self.request,
            "proceedings/position_report_limited.html",
            self.get_context_data(form=form, window_minutes=REPORT_WINDOW // 60),
            status=429,
            headers={"Retry-After": str(REPORT_WINDOW)},
        )

    def thanks(self):
        return redirect("proceedings:position-report-thanks", pk=self.position.pk)


class PositionReportThanksView(PositionReportMixin, TemplateView):
    template_name = "proceedings/position_report_thanks.html"
