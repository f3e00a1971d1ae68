"""
Server time of every kind of public page, warm and for the first reader after an edit.

    DATABASE_URL=postgres://…/forum_portal_bench REDIS_URL=redis://127.0.0.1:6379/0 \\
        python bench/every_page.py [--runs 2] [NAME …]

The load test (``bench/load.py``) and ``bench/uncached.py`` time six pages; this times one page
of each other kind on the bench corpus (``bench/run.py --load-only``): lists of everyone,
forum, session, question and report pages, analyses, feeds, the sitemap, the API and the
downloads, each the largest or the first of its kind in the first bench forum. For each it
prints the fastest of ``--runs`` requests with the fragment cache warm, then after an editor
corrected a quote's translation in the last bench forum (``uncached.translation_corrector``),
then in the first bench forum, on a position none of these pages shows (not of their
session, theme, person or institution), then after an edit whose tables are not known (the
content generation and every table's stamp moved on, as ``clear_page_cache`` does), with that
request's SQL statements and the response's size, slowest first. The settings are
``bench/uncached.py``'s (production, page cache off, fragment cache on). ``NAME``: only these
pages.
"""

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import uncached  # noqa: E402 - sets up Django as the other benches do
from django.db import connection  # noqa: E402
from django.db.models import Count  # noqa: E402
from django.test import Client  # noqa: E402
from taggit.models import Tag  # noqa: E402

from forum_portal.cache import bump_generation  # noqa: E402
from proceedings.models import Forum, Position, Question, Session, SourceDocument, Theme  # noqa: E402
from speakers.models import Institution, Speaker  # noqa: E402


def same_forum_corrector(forum, session, theme, speaker, institution):
    """Return ``uncached.translation_corrector()`` of a position of ``forum`` in none of the
    pages timed: not in ``session``, not on ``theme``, not by ``speaker`` or ``institution``."""
    positions = (
        Position.objects.filter(appearance__session__forum=forum)
        .exclude(appearance__session=session)
        .exclude(themes=theme)
        .exclude(appearance__speaker=speaker)
        .exclude(appearance__institution=institution)
    )
    return uncached.translation_corrector(positions)


def chosen_rows():
    """Return the forum, session, question, theme, person and institution the pages show."""
    forum = Forum.objects.get(slug="bench-0")
    session = Session.objects.filter(forum=forum).order_by("order", "pk").first()
    question = Question.objects.filter(forum=forum).order_by("order", "pk").first()
    theme = Theme.objects.filter(forum=forum).order_by("order", "pk").first()
    speaker = (
        Speaker.objects.annotate(n=Count("appearances__positions")).order_by("-n", "pk").first()
    )
    institution = (
        Institution.objects.annotate(n=Count("appearances__positions")).order_by("-n", "pk").first()
    )
    return forum, session, question, theme, speaker, institution


def urls():
    """Return {name: path}: one page of each kind, the largest of its kind where they differ."""
    forum, session, question, theme, speaker, institution = chosen_rows()
    tag = Tag.objects.annotate(n=Count("taggit_taggeditem_items")).order_by("-n", "pk").first()
    source = SourceDocument.objects.order_by("pk").first()
    position = Position.objects.published().order_by("pk").values_list("pk", flat=True)
    position = position[position.count() // 2]
    ui, api = "/zh-hant", "/api/v1"
    forum_path = f"{ui}/forums/{forum.slug}"
    return {
        "forum list": f"{ui}/forums/",
        "forum": f"{forum_path}/",
        "matrix": f"{forum_path}/matrix/",
        "forum balance": f"{forum_path}/balance/",
        "session": f"{forum_path}/sessions/{session.slug}/",
        "question": f"{forum_path}/questions/{question.slug}/",
        "theme, page 2": f"{forum_path}/themes/{theme.slug}/?page=2",
        "theme balance": f"{forum_path}/themes/{theme.slug}/balance/",
        "speaker list": f"{ui}/speakers/",
        "largest speaker": f"{ui}/speakers/{speaker.slug}/",
        "institution list": f"{ui}/institutions/",
        "largest institution": f"{ui}/institutions/{institution.slug}/",
        "sector list": f"{ui}/sectors/",
        "sector": f"{ui}/sectors/academia/",
        "tag list": f"{ui}/tags/",
        "largest tag": f"{ui}/tags/{tag.slug}/",
        "report": f"{ui}/sources/{source.slug}/",
        "compare (the form)": f"{ui}/compare/",
        "data": f"{ui}/data/",
        "feed": f"{ui}/feeds/rss/",
        "forum feed": f"{forum_path}/feed/atom/",
        "search feed": f"{ui}/search/feed/rss/?q=%E7%A7%91%E6%8A%80",
        "sitemap": "/sitemap.xml",
        "sitemap of positions": "/sitemap-positions.xml",
        "API forums": f"{api}/forums/",
        "API forum's positions": f"{api}/forums/{forum.slug}/positions/",
        "API themes": f"{api}/themes/",
        "API speakers": f"{api}/speakers/",
        "API speaker": f"{api}/speakers/{speaker.slug}/",
        "API institutions": f"{api}/institutions/",
        "API position": f"{api}/positions/{position}/",
        "API search": f"{api}/search/?q=%E7%A7%91%E6%8A%80",
        "theme CSV": f"/downloads/themes/{forum.slug}/{theme.slug}.csv",
        "speaker CSV": f"/downloads/speakers/{speaker.slug}.csv",
        "citation (BibTeX)": f"{ui}/positions/{position}/cite.bib",
    }


def fastest(client, path, runs, before):
    """Return (ms of the fastest of ``runs`` requests, statements of the last, its body)."""
    best, statements, content = None, 0, b""
    for _ in range(runs):
        before()
        counted = []

        def count(execute, *args, counted=counted):
            counted.append(1)
            return execute(*args)

        with connection.execute_wrapper(count):
            started = time.perf_counter()
            response = client.get(path)
            # A streamed download (CSV) is built as it is read.
            content = (
                b"".join(response.streaming_content) if response.streaming else response.content
            )
            elapsed = (time.perf_counter() - started) * 1000
        if response.status_code != 200:
            sys.exit(f"{path} answered {response.status_code}")
        best = elapsed if best is None else min(best, elapsed)
        statements = len(counted)
    return best, statements, content


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=2, help="requests per page and state")
    parser.add_argument("names", nargs="*", metavar="NAME", help="only these pages")
    args = parser.parse_args()
    chosen = urls()
    unknown = set(args.names) - set(chosen)
    if unknown:
        sys.exit(f"unknown pages: {', '.join(sorted(unknown))}; known: {', '.join(chosen)}")
    client = Client(HTTP_HOST="localhost")
    correct = uncached.translation_corrector()
    forum, session, _question, theme, speaker, institution = chosen_rows()
    correct_here = same_forum_corrector(forum, session, theme, speaker, institution)
    rows = []
    for name, path in chosen.items():
        if args.names and name not in args.names:
            continue
        client.get(path)  # the fragment cache filled for this generation
        warm, _statements, _content = fastest(client, path, args.runs, lambda: None)
        corrected, _statements, _content = fastest(client, path, args.runs, correct)
        here, _statements, _content = fastest(client, path, args.runs, correct_here)
        edited, statements, content = fastest(client, path, args.runs, bump_generation)
        rows.append((edited, warm, corrected, here, statements, len(content), name, path))
        print(
            f"  {name}: warm {warm:.1f} ms, after a translation {corrected:.1f} ms,"
            f" in this forum {here:.1f} ms, after any edit {edited:.1f} ms",
            file=sys.stderr,
        )
    print(f"{connection.vendor}, fastest of {args.runs} requests, ms")
    print(
        f"{'page':24} {'warm':>8} {'translation':>12} {'same forum':>11} {'any edit':>9}"
        f" {'SQL':>4} {'kB':>6}  path"
    )
    for edited, warm, corrected, here, statements, size, name, path in sorted(rows, reverse=True):
        print(
            f"{name:24} {warm:8.1f} {corrected:12.1f} {here:11.1f} {edited:9.1f} {statements:4d}"
            f" {size // 1024:6d}  {path}"
        )


if __name__ == "__main__":
    main()
