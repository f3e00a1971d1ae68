"""
Server time of the uncached public pages, and of one position card, on a bench corpus.

    DATABASE_URL=sqlite:////tmp/bench.sqlite3 python bench/run.py --positions 100000 --load-only
    DATABASE_URL=sqlite:////tmp/bench.sqlite3 REDIS_URL=redis://127.0.0.1:6379/0 \\
        python bench/uncached.py --runs 15

Each page of the load test (home, a theme of 50 cards, a speaker, a position permalink, a
search, the API's position list) is requested through Django's test client with production
settings (DEBUG off), the page cache off and, when ``REDIS_URL`` is set, the fragment cache on
(``--no-fragments`` turns it off): the time a gunicorn worker spends on a page nobody has
cached, without the network. ``--after-edit`` moves the content generation on before each
request, as an edit elsewhere does: the first reader after an edit, who finds only what is
kept by content (cards, by a digest of their rows). Median and p95 over ``--runs`` requests
after two warm-ups, and the number of SQL queries. "card" is one position card all in: the
theme page's cards query, its model instances and the card template, divided by the number
of cards. "search, each a new one" times searches nobody asked before
(``time_new_searches``). Keys go to Redis under a prefix of the run's own; nothing is
flushed. See bench/README.md.
"""

import argparse
import os
import secrets
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "forum_portal.settings")
os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only-not-a-secret")  # noqa: S105
os.environ.setdefault("DJANGO_ALLOWED_HOSTS", "localhost")
os.environ.setdefault("DJANGO_SECURE_SSL_REDIRECT", "0")
# A prefix of its own each run: searches kept by an earlier run are not found again.
os.environ.setdefault("DJANGO_CACHE_KEY_PREFIX", f"forum-portal-bench-{secrets.token_hex(4)}")
os.environ.setdefault("DJANGO_LOG_LEVEL", "WARNING")
os.environ["DJANGO_PAGE_CACHE_SECONDS"] = "0"

import django  # noqa: E402
from django.conf import settings  # noqa: E402

# Static files are not collected for a bench: plain storage (tests/conftest.py does the same).
settings.STORAGES = {
    **settings.STORAGES,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
django.setup()

from django.db import connection, transaction  # noqa: E402
from django.db.models import Count  # noqa: E402
from django.template.loader import get_template  # noqa: E402
from django.test import Client, RequestFactory  # noqa: E402
from django.urls import reverse  # noqa: E402
from django.utils import translation  # noqa: E402

from bench.load import varied_searches  # noqa: E402
from forum_portal.cache import bump_generation  # noqa: E402
from proceedings.models import Position, Theme  # noqa: E402
from proceedings.views import THEME_PAGE_SIZE, PublicMixin  # noqa: E402
from speakers.models import Speaker  # noqa: E402

SEARCH = "科技創新"


def pages():
    """Return {name: path}: the load test's pages (bench/load.py), chosen the same way."""
    theme = Theme.objects.published().filter(forum__slug="bench-0").order_by("order", "pk").first()
    speakers = list(
        Speaker.objects.filter(slug__startswith="bench-")
        .annotate(n=Count("appearances__positions"))
        .filter(n__gt=0)
        .order_by("n", "pk")
        .values_list("slug", flat=True)
    )
    ids = Position.objects.published().order_by("pk").values_list("pk", flat=True)
    position = ids[ids.count() // 2]
    with translation.override("zh-hant"):
        return theme, {
            "home": reverse("proceedings:home"),
            "theme (50 cards)": theme.get_absolute_url(),
            "speaker": reverse("proceedings:speaker-detail", args=[speakers[len(speakers) // 2]]),
            "position": reverse("proceedings:position-detail", args=[position]),
            "search": reverse("proceedings:search") + f"?q={SEARCH}",
            "API positions list": reverse("api:position-list", kwargs={"version": "v1"}),
        }


def translation_corrector(positions=None):
    """Return a function that corrects a quote's translation in the last bench forum, or the
    last of ``positions`` (a queryset), as the admin saves a position (its row, its history,
    its search documents): an edit elsewhere, whose tables the write watch sees
    (``forum_portal.cache.table_stamp``)."""
    if positions is None:
        positions = Position.objects.filter(appearance__session__forum__slug__startswith="bench-")
    position = positions.order_by("-pk").first()
    original = position.translation

    def correct():
        position.translation = original if position.translation != original else original + " "
        with transaction.atomic():
            position.save()

    return correct


def time_page(client, path, runs, before=lambda: None):
    """Time ``runs`` requests of ``path``, each after ``before()`` (``--after-edit``)."""
    for _ in range(2):
        before()
        response = client.get(path)
        if response.status_code != 200:
            sys.exit(f"{path} answered {response.status_code}")
    samples = []
    queries = []
    # Counted by a wrapper: the test client's request_started signal resets connection.queries.
    before()
    with connection.execute_wrapper(lambda execute, *args: queries.append(1) or execute(*args)):
        client.get(path)
    for _ in range(runs):
        before()
        started = time.perf_counter()
        client.get(path)
        samples.append((time.perf_counter() - started) * 1000)
    return samples, len(queries)


def time_new_searches(client, path, runs):
    """Time ``runs`` searches that are each a new one (bench/load.py's ``varied_searches``).

    A search's results and candidate sets are kept per content generation, so the "search"
    row, which asks the same one again, reads them from the cache; here none was asked before
    (each run has a cache key prefix of its own), while what searches share (facet labels,
    the positions of a page) is kept as the other rows and three searches first left it.
    ``runs`` searches are timed, each once.
    """
    searches = varied_searches(path.partition("?")[0])[7::29][: runs + 3]
    for warm_up in searches[:2]:
        client.get(warm_up)
    queries = []
    with connection.execute_wrapper(lambda execute, *args: queries.append(1) or execute(*args)):
        client.get(searches[2])
    samples = []
    for search in searches[3:]:
        started = time.perf_counter()
        response = client.get(search)
        samples.append((time.perf_counter() - started) * 1000)
        if response.status_code != 200:
            sys.exit(f"{search} answered {response.status_code}")
    return samples, len(queries)


def time_card(theme, runs):
    """Return ms per card: the cards query of a theme page, its rows and their templates."""
    request = RequestFactory().get("/", HTTP_HOST="localhost")
    from django.contrib.auth.models import AnonymousUser

    request.user = AnonymousUser()
    view = PublicMixin()
    view.request = request
    template = get_template("includes/_position_card.html")
    samples = []
    with translation.override("zh-hant"):
        for run in range(runs + 2):
            started = time.perf_counter()
            cards = list(
                view.cards(view.positions().filter(themes=theme)).order_by("order", "pk")[
                    :THEME_PAGE_SIZE
                ]
            )
            for position in cards:
                template.render({"position": position, "current_theme": theme}, request)
            if run >= 2:
                samples.append((time.perf_counter() - started) * 1000 / len(cards))
            if hasattr(request, "_content_generation"):
                del request._content_generation
    return samples


def profile(client, paths, args, before=lambda: None):
    """Print cProfile's top 40 calls over ``--runs`` requests of one page, after two warm-ups."""
    import cProfile
    import pstats

    path = next((path for name, path in paths.items() if name.startswith(args.profile)), None)
    if path is None:
        sys.exit(f"--profile: one of {', '.join(paths)}")
    for _ in range(2):
        before()
        client.get(path)
    profiler = cProfile.Profile()
    for _ in range(args.runs):
        before()
        profiler.enable()
        client.get(path)
        profiler.disable()
    stats = pstats.Stats(profiler)
    if args.dump:
        stats.dump_stats(args.dump)
    stats.sort_stats(args.sort).print_stats(args.limit)


def percentile(samples, p):
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--no-fragments", action="store_true", help="fragment cache off")
    parser.add_argument(
        "--after-edit",
        action="store_true",
        help="a new content generation before each request: the first reader after an edit",
    )
    parser.add_argument(
        "--profile",
        metavar="PAGE",
        help="profile one page (a name above, e.g. home) with cProfile and print its top calls",
    )
    parser.add_argument("--sort", default="tottime", help="with --profile: pstats sort order")
    parser.add_argument("--limit", type=int, default=40, help="with --profile: rows printed")
    parser.add_argument(
        "--dump", metavar="FILE", help="with --profile: also write the stats there (pstats)"
    )
    args = parser.parse_args()
    if args.no_fragments or not settings.REDIS_URL:
        settings.FRAGMENT_CACHE_SECONDS = 0
    client = Client(HTTP_HOST="localhost")
    theme, paths = pages()
    before = bump_generation if args.after_edit else lambda: None
    if args.profile:
        profile(client, paths, args, before)
        return
    load = ", ".join(f"{n:.1f}" for n in os.getloadavg())
    print(
        f"{connection.vendor}, {Position.objects.count():,} positions, fragment cache "
        f"{'on' if getattr(settings, 'FRAGMENT_CACHE_SECONDS', 0) else 'off'}, load average {load}"
    )
    if args.after_edit:
        print("after an edit: a new content generation before each request")
    print(f"{'page':22} {'median ms':>10} {'p95 ms':>8} {'queries':>8}")
    for name, path in paths.items():
        samples, queries = time_page(client, path, args.runs, before)
        median, p95 = statistics.median(samples), percentile(samples, 95)
        print(f"{name:22} {median:10.1f} {p95:8.1f} {queries:8}")
    samples, queries = time_new_searches(client, paths["search"], args.runs)
    median, p95 = statistics.median(samples), percentile(samples, 95)
    print(f"{'search, each a new one':22} {median:10.1f} {p95:8.1f} {queries:8}")
    samples = time_card(theme, args.runs)
    print(f"{'card (all in)':22} {statistics.median(samples):10.3f} {percentile(samples, 95):8.3f}")


if __name__ == "__main__":
    main()
