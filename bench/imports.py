"""
Import benchmark: preview and import a generated CSV of positions through the admin's code path.

    DATABASE_URL=sqlite:////tmp/bench_imports.sqlite3 python bench/imports.py --rows 10000
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/forum_portal_bench_imports \\
        python bench/imports.py --rows 10000

The database gets the bundled Pujiang 2025 forum; the CSV adds ``--rows`` positions to its
session (paraphrases and summaries in the synthetic corpus's prose, ``bench/corpus.py``), by
``--rows``/20 speakers of whom most are new, with new institutions, themes and tags, refs left
empty as editors write them. Each step is what the admin runs (``spreadsheet.check_upload``):
preview (a dry run, rolled back), import (committed), then the same file again (everything
unchanged). Prints the seconds and SQL queries of each step. Then, on an emptied database
again, the same file through the admin's views (Django's test client): the upload and its
preview page, and the confirmation (reading the file back from the session). See
bench/README.md for figures.

It refuses a database holding any forum but Pujiang (use a scratch database), and empties it
of everything (``flush``) before it starts.
"""

import argparse
import csv
import io
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "forum_portal.settings")
os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only-not-a-secret")  # noqa: S105
os.environ.setdefault("DJANGO_ALLOWED_HOSTS", "localhost")

import django  # noqa: E402
from django.conf import settings  # noqa: E402

# Static files are not collected for a bench: plain storage, as bench/uncached.py and the
# tests do (the admin's pages named files the manifest did not have).
settings.STORAGES = {
    **settings.STORAGES,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

from bench.corpus import Corpus  # noqa: E402
from proceedings.interchange import spreadsheet  # noqa: E402
from proceedings.interchange.documents import bundled_data_files, import_forum_file  # noqa: E402
from proceedings.interchange.merging import english_key, name_key  # noqa: E402
from proceedings.models import Forum, Position  # noqa: E402

FORUM, SESSION = "pujiang-2025", "science-policy"
THEMES = ["full-factor-synergy", "enterprises-as-first-actor", "regional-ecosystems"]


def positions_csv(rows, seed=1):
    """Return a CSV of ``rows`` new positions in the Pujiang forum's session (bytes)."""
    corpus = Corpus(rows, seed)
    rng = corpus.rng
    # One speaker per name in either script or English (the importer would merge the others).
    speakers, seen = [], set()
    for name, name_en in corpus.speakers:
        keys = {name_key(name), english_key(name_en)}
        if not keys & seen:
            seen |= keys
            speakers.append((name, name_en))
    out = io.StringIO(newline="")
    writer = csv.DictWriter(out, fieldnames=spreadsheet.COLUMNS)
    writer.writeheader()
    for i in range(rows):
        name, name_en = speakers[i % len(speakers)]
        institution, institution_en, sector = corpus.institutions[
            (i % len(speakers)) % len(corpus.institutions)
        ]
        text, language, translation = corpus.text()
        writer.writerow(
            {
                "forum": FORUM,
                "session": SESSION,
                "ref": "",
                "speaker": name,
                "speaker_en": name_en,
                "institution": institution,
                "institution_en": institution_en,
                "sector": sector,
                "role": "研究員",
                "role_en": "Researcher",
                "themes": "; ".join(rng.sample(THEMES, rng.randint(0, 2))),
                # Unique texts: the corpus repeats itself, a ref is made from the text.
                "text": f"{text}（{i + 1}）",
                "language": language,
                "fidelity": rng.choice(["paraphrase", "summary"]),
                "translation": translation,
                "translation_provenance": "bench",
                "tags": "; ".join(rng.sample(corpus.tags, rng.randint(0, 3))),
                "status": "draft",
            }
        )
    return out.getvalue().encode("utf-8")


def step(label, content, user, *, commit):
    queries = []

    def count(execute, sql, params, many, context):
        queries.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):
        start = time.perf_counter()
        result = spreadsheet.check_upload(
            content=content, name="bench.csv", user=user, commit=commit
        )
        seconds = time.perf_counter() - start
    if result.problems:
        sys.exit(f"{label}: problems: {[str(p) for p in result.problems[:5]]}")
    report = result.report
    print(
        f"{label:22} {seconds:8.2f} s {len(queries):8,} queries   "
        f"created {sum(report.created.values()):,}, updated {sum(report.updated.values()):,}, "
        f"unchanged {sum(report.unchanged.values()):,}"
    )
    return seconds


def views(content, user):
    """Time the admin's preview and confirm views for ``content`` (a fresh Pujiang database)."""
    import re

    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.test import Client
    from django.urls import reverse

    client = Client(SERVER_NAME="localhost", HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    start = time.perf_counter()
    response = client.post(
        reverse("admin:proceedings_position_import"),
        {"file": SimpleUploadedFile("bench.csv", content)},
        secure=True,
    )
    seconds = time.perf_counter() - start
    html = response.content.decode()
    token = re.search(r'name="token" value="([^"]+)"', html)
    print(f"{'preview (admin view)':22} {seconds:8.2f} s   {len(html) / 2**10:,.0f} KB page")
    if response.status_code != 200 or not token:
        sys.exit(f"preview view: {response.status_code}, no confirm form")
    start = time.perf_counter()
    response = client.post(
        reverse("admin:proceedings_position_import_confirm"), {"token": token[1]}, secure=True
    )
    seconds = time.perf_counter() - start
    print(f"{'confirm (admin view)':22} {seconds:8.2f} s   -> {response.status_code}")


def fresh_database():
    call_command("flush", interactive=False, verbosity=0)
    import_forum_file(path=next(p for p in bundled_data_files() if p.stem == FORUM))
    return get_user_model().objects.create_superuser("bench", "bench@example.org", "bench")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    print(f"Database: {connection.vendor} {connection.settings_dict['NAME']}")
    call_command("migrate", verbosity=0)
    if Forum.objects.exclude(slug=FORUM).exists():
        sys.exit("This database holds other forums; use a scratch database.")
    user = fresh_database()
    content = positions_csv(args.rows, args.seed)
    print(f"{args.rows:,} rows, {len(content) / 2**20:.1f} MB of CSV\n")
    step("preview", content, user, commit=False)
    step("import", content, user, commit=True)
    step("preview again (same)", content, user, commit=False)
    step("import again (same)", content, user, commit=True)
    print(f"\n{Position.objects.count():,} positions in the database\n")
    views(content, fresh_database())


if __name__ == "__main__":
    main()
