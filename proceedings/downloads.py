"""
Downloads for people who reuse the data: CSV of the positions of a search, theme, speaker or
forum, the whole published dataset in the import format (``forum-portal/1``), and the Data page
that lists them.

Only published content, through the models' ``.published()`` (and ``export_forum(public=True)``
for the dataset). A CSV streams its rows a chunk at a time, so a forum of 100,000 positions
costs one chunk of memory; a search's CSV holds what the search can page through (the newest
``SEARCH_CSV_CAP`` matches), as the search page does.
"""

from django.core.cache import cache
from django.http import Http404, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import timezone
from django.views.generic import TemplateView

from forum_portal.cache import current_generation
from speakers.models import Speaker

from .interchange.documents import FORMAT, dumps, export_forums
from .interchange.spreadsheet import stream_csv
from .localize import SIMPLIFIED, TRADITIONAL, family, to_simplified
from .models import Forum, Position, Theme
from .search import CANDIDATES, matching_position_ids
from .search.query import search_params

SEARCH_CSV_CAP = CANDIDATES
CSV_COLUMNS = (
    "permalink",
    "id",
    "forum",
    "session",
    "date",
    "speaker",
    "speaker (romanised)",
    "role at the time",
    "institution",
    "sector",
    "themes",
    "tags",
    "language",
    "fidelity",
    "text",
    "translation",
    "source",
    "paragraph",
)
CSV_CHUNK = 1000  # positions fetched (with their themes and tags) per round of queries
DATASET_SIZE_SECONDS = 24 * 60 * 60  # a new content generation replaces it sooner


# ---------------------------------------------------------------------------------------------
# CSV of positions
# ---------------------------------------------------------------------------------------------


def _as_published(text):
    return text


def csv_script(request):
    """Return ``(convert, suffix)`` for the page language in ``?lang=`` (not the cookie).

    A Simplified page's CSV reads like the page: its Chinese cells converted with OpenCC (the
    ``language`` cell then says ``zh-Hans``); every other page's holds the text as published.
    """
    if request.GET.get("lang", "").lower() == "zh-hans":
        return to_simplified, "-zh-hans"
    return _as_published, ""


def csv_row(position, request, convert=_as_published):
    """Return the ``CSV_COLUMNS`` cells of a position fetched with ``for_listing()``."""
    role = position.appearance
    session, institution = role.session, role.institution
    said_on = session.held_on or session.forum.starts_on
    converted = convert is not _as_published and family(position.language) == TRADITIONAL
    return [
        request.build_absolute_uri(position.get_absolute_url()),
        position.pk,
        convert(session.forum.name),
        convert(session.title),
        said_on.isoformat() if said_on else "",
        convert(role.speaker.name),
        role.speaker.name_en,
        convert(role.as_printed or role.role),
        convert(institution.name) if institution else "",
        institution.sector if institution else "",
        convert("; ".join(theme.title for theme in position.listed_themes)),
        convert("; ".join(sorted(tag.name for tag in position.listed_tags))),
        SIMPLIFIED if converted else position.language,
        position.fidelity,
        convert(position.text) if converted else position.text,
        position.translation,
        convert(position.source.title) if position.source else "",
        position.paragraph or "",
    ]


def csv_response(request, positions, *, name):
    """Stream ``positions`` (an iterable of ``for_listing()`` rows) as ``<name>.csv``."""
    convert, suffix = csv_script(request)
    rows = (csv_row(position, request, convert) for position in positions)
    response = StreamingHttpResponse(
        stream_csv(CSV_COLUMNS, rows), content_type="text/csv; charset=utf-8"
    )
    day = timezone.localdate().isoformat()
    response["Content-Disposition"] = f'attachment; filename="{name}{suffix}-{day}.csv"'
    return response


def public_positions():
    return Position.objects.published().for_listing()


def in_chunks(positions):
    """Iterate over a queryset ``CSV_CHUNK`` rows (and their prefetches) at a time."""
    return positions.iterator(chunk_size=CSV_CHUNK)


def forum_csv(request, slug):
    forum = get_object_or_404(Forum.objects.published(), slug=slug)
    positions = public_positions().filter(appearance__session__forum=forum).order_by("order", "pk")
    return csv_response(request, in_chunks(positions), name=f"forum-portal-{forum.slug}")


def theme_csv(request, forum_slug, slug):
    """The theme page's positions, in its order."""
    themes = Theme.objects.published().filter(forum__slug=forum_slug)
    theme = get_object_or_404(themes, slug=slug)
    positions = public_positions().filter(themes=theme).order_by("order", "pk")
    return csv_response(
        request, in_chunks(positions), name=f"forum-portal-{forum_slug}-{theme.slug}"
    )


def speaker_csv(request, slug):
    """The speaker page's positions: latest forum first, in reading order."""
    speaker = get_object_or_404(Speaker.objects.published(), slug=slug)
    positions = (
        public_positions()
        .filter(appearance__speaker=speaker)
        .order_by("-appearance__session__forum__edition_year", "order", "pk")
    )
    return csv_response(request, in_chunks(positions), name=f"forum-portal-{speaker.slug}")


def search_csv(request):
    """The positions of a search page's query string (query, filters, sort), in its order.

    At most ``SEARCH_CSV_CAP``: the positions the search page can page through.
    """
    query, sort, _page = search_params(request.GET)
    ids = matching_position_ids(query, request.GET, sort)[:SEARCH_CSV_CAP]
    found = public_positions().in_bulk(ids)
    positions = [found[pk] for pk in ids if pk in found]
    return csv_response(request, positions, name="forum-portal-search")


# ---------------------------------------------------------------------------------------------
# The dataset in the import format
# ---------------------------------------------------------------------------------------------


def dataset_forums(forum_slug=None):
    """Return the slugs of the published forums of a dataset: all, or the forum ``forum_slug``."""
    forums = Forum.objects.published().order_by("-edition_year", "slug")
    if forum_slug is None:
        return list(forums.values_list("slug", flat=True))
    slugs = list(forums.filter(slug=forum_slug).values_list("slug", flat=True))
    if not slugs:
        raise Http404("No published forum has this slug.")
    return slugs


def dataset_bytes(forum_slug=None):
    """Return a dataset (every published forum, or one) as the bytes of its JSON file."""
    document = export_forums(slugs=dataset_forums(forum_slug), public=True)
    return dumps(document).encode()


def _size_key(generation, forum_slug):
    return f"datasets:size:{generation}:{forum_slug or ''}"


def known_dataset_sizes(forum_slugs):
    """Return ``{forum slug or None: size in bytes}`` of the datasets built for a download in
    this content generation; the others are left out.

    Never built here: a dataset is every published position exported, which the Data page
    did for every forum's and the whole one to print their sizes, 225 s after each edit at
    100,000 positions (bench/README.md).
    """
    generation, _lsn = current_generation()
    if generation is None:
        return {}
    keys = {_size_key(generation, slug): slug for slug in forum_slugs}
    return {keys[key]: size for key, size in cache.get_many(list(keys)).items()}


def dataset(request, forum_slug=None):
    """Every published forum, or the forum ``forum_slug``, in the import format, to download."""
    data = dataset_bytes(forum_slug)
    generation, _lsn = current_generation()
    if generation is not None:
        # For the Data page (``known_dataset_sizes()``), until the content changes.
        cache.set(_size_key(generation, forum_slug), len(data), DATASET_SIZE_SECONDS)
    response = HttpResponse(data, content_type="application/json; charset=utf-8")
    name = f"forum-portal-{forum_slug or 'all'}.json"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


class DataView(TemplateView):
    """The Data page: the downloads with their sizes, the format, the API, licence and caveats."""

    template_name = "proceedings/data.html"

    def get_context_data(self, **kwargs):
        forums = list(Forum.objects.published().order_by("-edition_year", "slug"))
        sizes = known_dataset_sizes([None, *(forum.slug for forum in forums)])
        datasets = [{"forum": forum, "size": sizes.get(forum.slug)} for forum in forums]
        return super().get_context_data(
            section="data",
            all_size=sizes.get(None),
            datasets=datasets,
            format=FORMAT,
            csv_columns=CSV_COLUMNS,
            search_csv_cap=SEARCH_CSV_CAP,
            api_root=reverse("api:root", kwargs={"version": "v1"}),
            api_docs=reverse("api-docs"),
            api_schema=reverse("api-schema"),
            **kwargs,
        )
