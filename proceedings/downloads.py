"""
Downloads for people who reuse the data: CSV of the positions of a search, theme, speaker or
forum, the whole published dataset in the import format (``forum-portal/1``), and the Data page
that lists them.

Only published content, through the models' ``.published()`` (and ``export_forum(public=True)``
for the dataset). A CSV streams its rows a chunk at a time, so a forum of 100,000 positions
costs one chunk of memory; a search's CSV holds what the search can page through (the newest
``SEARCH_CSV_CAP`` matches), as the search page does.
"""

import logging
import os
import socket
import time
from itertools import batched
from pathlib import Path

from django.conf import settings
from django.http import FileResponse, Http404, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.generic import TemplateView

from forum_portal.cache import current_generation, kept_for_rows, request_generation
from speakers.models import Speaker

from .interchange.documents import FORMAT, dumps, export_forums
from .interchange.spreadsheet import csv_line, stream_csv
from .listing import stamp_of
from .localize import SIMPLIFIED, TRADITIONAL, family, to_simplified
from .models import Forum, Position, Theme
from .search import CANDIDATES, matching_position_ids
from .search.query import search_params

logger = logging.getLogger(__name__)

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
DATASET_TYPE = "application/json; charset=utf-8"
DATASET_BUILD_WAIT = 20  # seconds a download waits for another process's build of its file
DATASET_BUILD_POLL = 0.25
DATASET_BUILD_STALE = 15 * 60  # seconds after which another machine's build lock is left


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


def csv_response(request, positions, *, name, stamp=None):
    """Stream ``positions`` (an iterable of ``for_listing()`` rows) as ``<name>.csv``.

    Each position's line is kept for the content generation and by its rows, per script and
    site (``kept_for_rows()``): streamed, a download is never in the page cache, and building
    its lines was most of its time (a theme's 400 positions, 73 ms at 100,000 on PostgreSQL;
    bench/README.md). For staff, and without a fragment cache, every line is built.
    ``stamp``: what the lines are also kept by (``listing.stamp_of()`` the forum, theme or
    person listing them), which finds them after an edit elsewhere without reading their
    rows.
    """
    convert, suffix = csv_script(request)
    generation = request_generation(request)
    if stamp is not None:
        stamp.read()  # before the rows
    rest = (suffix, request.build_absolute_uri("/"))

    def build(rows):
        return [csv_line(csv_row(position, request, convert)) for position in rows]

    def lines():
        for chunk in batched(positions, CSV_CHUNK):
            if generation is None:
                yield from build(chunk)
            else:
                yield from kept_for_rows(generation, "csv-line", chunk, rest, build, stamp)

    response = StreamingHttpResponse(
        stream_csv(CSV_COLUMNS, lines()), content_type="text/csv; charset=utf-8"
    )
    day = timezone.localdate().isoformat()
    response["Content-Disposition"] = f'attachment; filename="{name}{suffix}-{day}.csv"'
    return response


def public_positions():
    # A position's rows are read when its line is not kept (csv_response()).
    return Position.objects.published().for_listing().prefetch_on_demand()


def in_chunks(positions):
    """Iterate over a queryset ``CSV_CHUNK`` rows (and their prefetches) at a time."""
    return positions.iterator(chunk_size=CSV_CHUNK)


def forum_csv(request, slug):
    forum = get_object_or_404(Forum.objects.published(), slug=slug)
    positions = public_positions().filter(appearance__session__forum=forum).order_by("order", "pk")
    return csv_response(
        request,
        in_chunks(positions),
        name=f"forum-portal-{forum.slug}",
        stamp=stamp_of(request, forum),
    )


def theme_csv(request, forum_slug, slug):
    """The theme page's positions, in its order."""
    themes = Theme.objects.published().filter(forum__slug=forum_slug)
    theme = get_object_or_404(themes, slug=slug)
    positions = public_positions().filter(themes=theme).order_by("order", "pk")
    return csv_response(
        request,
        in_chunks(positions),
        name=f"forum-portal-{forum_slug}-{theme.slug}",
        stamp=stamp_of(request, theme),
    )


def speaker_csv(request, slug):
    """The speaker page's positions: latest forum first, in reading order."""
    speaker = get_object_or_404(Speaker.objects.published(), slug=slug)
    positions = (
        public_positions()
        .filter(appearance__speaker=speaker)
        .order_by("-appearance__session__forum__edition_year", "order", "pk")
    )
    return csv_response(
        request,
        in_chunks(positions),
        name=f"forum-portal-{speaker.slug}",
        stamp=stamp_of(request, speaker),
    )


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


def _dataset_stem(forum_slug):
    # Not "forum-portal-<slug>": a forum may be slugged "all".
    return f"forum-{forum_slug}" if forum_slug else "all"


def _dataset_path(generation, forum_slug):
    return Path(settings.DATASETS_ROOT) / f"{_dataset_stem(forum_slug)}.{generation}.json"


def _generation_of(path):
    """Return the content generation in a dataset file's name (None if it has none)."""
    try:
        return int(path.suffixes[-2].lstrip("."))
    except (IndexError, ValueError):
        return None


def _build_is_running(lock):
    """Return whether the build that holds ``lock`` (its process id inside) is still running.

    A worker killed mid-build (gunicorn's timeout) leaves its lock behind; so does a process
    on another machine sharing the directory, which is taken as running until the lock is
    ``DATASET_BUILD_STALE`` seconds old.
    """
    try:
        host, pid = lock.read_text().split(":")
        age = time.time() - lock.stat().st_mtime
    except (OSError, ValueError):
        return False  # gone meanwhile, or being written: try again
    if host != socket.gethostname():
        return age < DATASET_BUILD_STALE
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except (PermissionError, ValueError):
        pass
    return age < DATASET_BUILD_STALE


def _write_dataset(path, forum_slug):
    lock = path.with_suffix(".building")
    try:
        descriptor = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    except FileExistsError:
        if not _build_is_running(lock):
            lock.unlink(missing_ok=True)
        return False
    try:
        with os.fdopen(descriptor, "w") as holder:
            holder.write(f"{socket.gethostname()}:{os.getpid()}")
        data = dataset_bytes(forum_slug)
        part = path.with_suffix(".part")
        part.write_bytes(data)
        os.replace(part, path)
        # Earlier generations' files, and what builds of them left (killed mid-way).
        generation = _generation_of(path)
        for older in path.parent.glob(f"{_dataset_stem(forum_slug)}.*"):
            if (_generation_of(older) or generation) < generation:
                older.unlink(missing_ok=True)
    finally:
        lock.unlink(missing_ok=True)
    return True


def built_dataset(forum_slug, generation, *, wait=None):
    """Return the path of the dataset's file for this content generation, built if missing.

    A dataset is every published position exported (about 22 s at 100,000 positions,
    bench/README.md), so it is built once a generation, by one process at a time: the
    others wait up to ``wait`` seconds (``DATASET_BUILD_WAIT``) for it, then return None.
    The files of earlier generations are removed (they may hold what is no longer published).
    """
    path = _dataset_path(generation, forum_slug)
    path.parent.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + (DATASET_BUILD_WAIT if wait is None else wait)
    while not path.exists():
        if not _write_dataset(path, forum_slug):
            if time.monotonic() > deadline:
                return None
            time.sleep(DATASET_BUILD_POLL)
    return path


def known_dataset_sizes(forum_slugs):
    """Return ``{forum slug or None: size in bytes}`` of the datasets built in this content
    generation; the others are left out.

    Never built here: a dataset is every published position exported, which the Data page
    did for every forum's and the whole one to print their sizes, 225 s after each edit at
    100,000 positions (bench/README.md).
    """
    generation, _lsn = current_generation()
    if generation is None:
        return {}
    paths = {slug: _dataset_path(generation, slug) for slug in forum_slugs}
    return {slug: path.stat().st_size for slug, path in paths.items() if path.exists()}


def dataset(request, forum_slug=None):
    """Every published forum, or the forum ``forum_slug``, in the import format, to download."""
    dataset_forums(forum_slug)  # 404 for a forum that is not published
    name = f"forum-portal-{forum_slug or 'all'}.json"
    generation, _lsn = current_generation()
    path = None
    if generation is not None:  # None: the cache is down, no generation to keep a file for
        try:
            path = built_dataset(forum_slug, generation)
        except OSError:
            logger.exception("Datasets cannot be kept in %s", settings.DATASETS_ROOT)
            generation = None
    if generation is None:
        response = HttpResponse(dataset_bytes(forum_slug), content_type=DATASET_TYPE)
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response
    if path is None:
        response = HttpResponse(
            _("This dataset is being prepared. Try again in a minute."),
            status=503,
            content_type="text/plain; charset=utf-8",
        )
        response["Retry-After"] = "60"
        return response
    return FileResponse(
        path.open("rb"), as_attachment=True, filename=name, content_type=DATASET_TYPE
    )


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
