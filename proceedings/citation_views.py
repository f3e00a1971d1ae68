"""
Citation downloads of a published position: ``positions/<pk>/cite.bib``, ``.ris`` and ``.json``.

Only public positions have them, for staff too (a draft is not citable yet): 404 for anything
else, 410 for a withdrawn position, as its page answers.
"""

from django.http import Http404, HttpResponse, HttpResponseGone
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _

from forum_portal.site import absolute_url

from .citations import FORMATS_BY_EXTENSION, citation_data
from .models import Position, Status


def position_citation(request, pk, extension):
    """Return one position's citation as a file (one query)."""
    fmt = FORMATS_BY_EXTENSION.get(extension)
    if fmt is None:
        raise Http404("No such citation format.")
    position = (
        Position.objects.published()
        .select_related(
            "appearance__speaker",
            "appearance__institution",
            "appearance__session__forum",
            "source",
        )
        .filter(pk=pk)
        .first()
    )
    if position is None:
        if Position.objects.filter(pk=pk, status=Status.WITHDRAWN).exists():
            return HttpResponseGone(
                _("This position was withdrawn by the editors and can no longer be cited."),
                content_type="text/plain; charset=utf-8",
            )
        raise Http404("No public position has this id.")
    url = absolute_url(position.get_absolute_url(), request)
    data = citation_data(position, url=url, accessed=timezone.localdate())
    return HttpResponse(
        fmt.build(data),
        content_type=fmt.content_type,
        headers={
            "Content-Disposition": content_disposition_header(
                as_attachment=True, filename=f"{data.key}.{fmt.extension}"
            )
        },
    )
