"""
Time public pages that grow with the corpus, on a corpus loaded by bench/run.py.

    DATABASE_URL=sqlite:////tmp/bench.sqlite3 python bench/run.py --positions 100000 --load-only
    DATABASE_URL=sqlite:////tmp/bench.sqlite3 python bench/pages.py --runs 3

Pages: the home page, the largest tag, institution and sector (by positions), the sitemap index
and the first page of its positions section. Each is requested through Django's test client
(no server, no page cache) and reported as the median time and the size of the response.
Development settings (DJANGO_DEBUG=1: no collected static files needed); see bench/README.md.
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "forum_portal.settings")
os.environ.setdefault("DJANGO_DEBUG", "1")
os.environ.setdefault("DJANGO_LOG_LEVEL", "WARNING")

import django  # noqa: E402

django.setup()

from django.db.models import Count  # noqa: E402
from django.test import Client  # noqa: E402
from django.urls import reverse  # noqa: E402
from django.utils import translation  # noqa: E402
from taggit.models import Tag  # noqa: E402

from speakers.models import Institution  # noqa: E402


def largest_pages():
    """Return {label: path} of the pages to time, the largest of each kind."""
    tag = Tag.objects.annotate(n=Count("taggit_taggeditem_items")).order_by("-n").first()
    institution = (
        Institution.objects.annotate(n=Count("appearances__positions")).order_by("-n").first()
    )
    sector = (
        Institution.objects.values("sector")
        .annotate(n=Count("appearances__positions"))
        .order_by("-n")
        .first()
    )
    from proceedings.models import Forum, Question, Session, Speaker, Theme

    forum = Forum.objects.order_by("-starts_on").first()
    session = Session.objects.filter(forum=forum).first()
    question = Question.objects.filter(forum=forum).first()
    theme = Theme.objects.filter(forum=forum).annotate(n=Count("positions")).order_by("-n").first()
    speaker = Speaker.objects.annotate(n=Count("appearances__positions")).order_by("-n").first()
    with translation.override("zh-hant"):
        return {
            "home": reverse("proceedings:home"),
            "forum list": reverse("proceedings:forum-list"),
            "tag list": reverse("proceedings:tag-list"),
            "speaker list": reverse("proceedings:speaker-list"),
            "institution list": reverse("proceedings:institution-list"),
            "forum (newest)": forum.get_absolute_url(),
            "session of that forum": session.get_absolute_url(),
            "question of that forum": question.get_absolute_url(),
            f"theme ({theme.n:,} positions)": theme.get_absolute_url(),
            f"speaker ({speaker.n:,} positions)": speaker.get_absolute_url(),
            "matrix of that forum": reverse("proceedings:forum-matrix", args=[forum.slug]),
            "balance of that forum": reverse("proceedings:forum-balance", args=[forum.slug]),
            f"tag ({tag.n:,} positions)": reverse("proceedings:tag-detail", args=[tag.slug]),
            f"institution ({institution.n:,})": institution.get_absolute_url(),
            f"sector {sector['sector']} ({sector['n']:,})": reverse(
                "proceedings:sector-detail", args=[sector["sector"]]
            ),
            "sitemap.xml (index)": reverse("sitemap"),
            "sitemap positions, page 1": reverse("sitemap-section", args=["positions"]),
        }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="requests per page (default 3)")
    args = parser.parse_args()
    client = Client(HTTP_HOST="localhost")  # DEBUG's ALLOWED_HOSTS
    print(f"{'page':34} status   median      size")
    for label, path in largest_pages().items():
        times = []
        for _ in range(args.runs):
            started = time.perf_counter()
            response = client.get(path)
            times.append((time.perf_counter() - started) * 1000)
        size = len(response.content) / 1e6
        median = statistics.median(times)
        print(f"{label:34} {response.status_code:6} {median:8.0f} ms {size:7.2f} MB")
        if response.status_code != 200:
            sys.exit(f"{path} answered {response.status_code}")


if __name__ == "__main__":
    main()
