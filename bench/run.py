"""
Search benchmark: load N synthetic positions, then time a fixed mix of queries.

    DATABASE_URL=sqlite:////tmp/bench.sqlite3 python bench/run.py --positions 100000
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/forum_portal_bench \\
        python bench/run.py --positions 100000

Every query goes through ``proceedings.search.search()``, the search page's own code path
(candidates, facet counts with labels, the page of positions, highlighting), and, next to it,
through the naive baseline: ``icontains`` on text and translation, AND over the words, the same
filters, the first 20 rows and an exact count. See bench/README.md for the figures.

It refuses to run on a database holding anything but its own forums (slugs ``bench-…``), unless
``--allow-other-data``. ``--skip-load`` reuses the corpus already loaded.
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
os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only-not-a-secret")  # noqa: S105
os.environ.setdefault("DJANGO_ALLOWED_HOSTS", "localhost")

import django  # noqa: E402

django.setup()

from django.contrib.contenttypes.models import ContentType  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, models, reset_queries, transaction  # noqa: E402
from django.db.models import Q  # noqa: E402
from taggit.models import Tag, TaggedItem  # noqa: E402

from bench.corpus import REPORT_PARAGRAPHS, THEME_TITLES, Corpus  # noqa: E402
from proceedings.models import (  # noqa: E402
    Appearance,
    Forum,
    Position,
    Question,
    RecordSearchDocument,
    Session,
    SourceDocument,
    Status,
    Theme,
)
from proceedings.search import reindex_all, search  # noqa: E402
from speakers.models import Institution, Speaker  # noqa: E402

FORUM_SIZE = 2000  # positions per synthetic forum


def _plain(model):
    """The model's base QuerySet: bulk_create without the search hook (reindex_all follows)."""
    return models.QuerySet(model)


def load(n, seed):
    corpus = Corpus(n, seed)
    rng = corpus.rng
    started = time.monotonic()
    with transaction.atomic():
        Position.objects.filter(appearance__session__forum__slug__startswith="bench-").delete()
        Appearance.objects.filter(session__forum__slug__startswith="bench-").delete()
        Forum.objects.filter(slug__startswith="bench-").delete()
        Speaker.objects.filter(slug__startswith="bench-").delete()
        Institution.objects.filter(slug__startswith="bench-").delete()
        Tag.objects.filter(slug__startswith="bench-").delete()
        SourceDocument.objects.filter(slug__startswith="bench-").delete()

        institutions = _plain(Institution).bulk_create(
            Institution(slug=f"bench-i{i}", name=name, name_en=name_en, sector=sector, aliases=[])
            for i, (name, name_en, sector) in enumerate(corpus.institutions)
        )
        speakers = _plain(Speaker).bulk_create(
            Speaker(
                slug=f"bench-s{i}",
                name=name,
                name_en=name_en,
                sort_name=name_en,
                aliases=[],
                status=Status.PUBLISHED,
            )
            for i, (name, name_en) in enumerate(corpus.speakers)
        )
        tags = _plain(Tag).bulk_create(
            Tag(name=f"{name}", slug=f"bench-t{i}") for i, name in enumerate(corpus.tags)
        )
        forum_count = max(1, n // FORUM_SIZE)
        position_type = ContentType.objects.get_for_model(Position)
        made = 0
        for f in range(forum_count):  # chronological, as forums are imported
            year = 2000 + f * 25 // forum_count
            forum = Forum.objects.create(
                slug=f"bench-{f}",
                name=f"{year} 浦江創新論壇 第{f}屆",
                name_en=f"Pujiang Innovation Forum {year} #{f}",
                edition_year=year,
                starts_on=f"{year}-09-{1 + f % 28:02d}",
                status=Status.PUBLISHED,
            )
            report = SourceDocument.objects.create(
                slug=f"bench-report-{f}",
                title=f"{year} 浦江創新論壇第{f}屆綜述",
                title_en=f"Report of forum #{f}",
                language="zh-Hant",
                full_text=corpus.report(f),
            )
            sessions = _plain(Session).bulk_create(
                Session(forum=forum, slug=f"s{i}", title=f"分論壇{i}", order=i, source=report)
                for i in range(10)
            )
            questions = _plain(Question).bulk_create(
                Question(forum=forum, slug=f"q{i}", title=t, title_en=e, order=i)
                for i, (t, e) in enumerate(
                    [
                        ("誰來融合", "Who integrates?"),
                        ("融合什麼", "What is integrated?"),
                        ("如何融合", "How to integrate?"),
                    ]
                )
            )
            parents = _plain(Theme).bulk_create(
                Theme(
                    forum=forum, slug=f"t{i}", title=t, title_en=e, order=i, status=Status.PUBLISHED
                )
                for i, (t, e) in enumerate(THEME_TITLES)
            )
            children = _plain(Theme).bulk_create(
                Theme(
                    forum=forum,
                    slug=f"t{i}-task",
                    title=f"任務:{t}",
                    title_en=f"Task: {e}",
                    parent=parents[i],
                    kind=Theme.Kind.TASK,
                    order=10 + i,
                    status=Status.PUBLISHED,
                )
                for i, (t, e) in enumerate(THEME_TITLES[:3])
            )
            themes = parents + children
            Theme.questions.through.objects.bulk_create(
                Theme.questions.through(theme=theme, question=questions[i % 3])
                for i, theme in enumerate(themes)
            )
            size = min(FORUM_SIZE, n - made) if f < forum_count - 1 else n - made
            cast = rng.sample(range(len(speakers)), min(len(speakers), 60))
            appearances = _plain(Appearance).bulk_create(
                Appearance(
                    session=sessions[i % 10],
                    speaker=speakers[s],
                    institution=rng.choice(institutions),
                    role=(
                        role := rng.choice(
                            [
                                ("院長", "President"),
                                ("主任", "Director"),
                                ("教授", "Professor"),
                                ("董事長", "Chairman"),
                                ("研究員", "Research Fellow"),
                            ]
                        )
                    )[0],
                    role_en=role[1],
                    as_printed="",
                    order=i,
                )
                for i, s in enumerate(cast)
            )
            batch = []
            for i in range(size):
                text, language, translation = corpus.text()
                batch.append(
                    Position(
                        ref=f"bench-{f}-{i}",
                        appearance=appearances[rng.randrange(len(appearances))],
                        text=text,
                        language=language,
                        translation=translation,
                        fidelity=rng.choice(["paraphrase", "summary", "paraphrase"]),
                        status=Status.PUBLISHED,
                        order=i,
                        # A fifth of the positions cite a paragraph of their forum's report.
                        source=report if i % 5 == 0 else None,
                        paragraph=rng.randint(1, REPORT_PARAGRAPHS) if i % 5 == 0 else None,
                    )
                )
            positions = _plain(Position).bulk_create(batch, batch_size=1000)
            Position.themes.through.objects.bulk_create(
                (
                    Position.themes.through(position_id=p.pk, theme_id=t.pk)
                    for p in positions
                    for t in rng.sample(themes, rng.choice([1, 1, 2, 3]))
                ),
                batch_size=5000,
            )
            TaggedItem.objects.bulk_create(
                (
                    TaggedItem(content_type=position_type, object_id=p.pk, tag=tag)
                    for p in positions
                    for tag in rng.sample(tags, rng.choice([0, 1, 2, 3]))
                ),
                batch_size=5000,
            )
            made += size
            if connection.vendor == "postgresql" and f % 10 == 0:
                # The load is one transaction, which autovacuum cannot analyse: without
                # statistics, the planner of the queries run on each new source document took
                # seconds each past 200,000 rows (ANALYZE sees this transaction's rows).
                with connection.cursor() as cursor:
                    cursor.execute("ANALYZE")
            if f % 10 == 0 or f == forum_count - 1:
                print(f"  loaded {made:,} / {n:,} positions ({time.monotonic() - started:.0f} s)")
    loaded = time.monotonic() - started
    return corpus, loaded, index()


def index():
    """Rebuild the search index (reindex_all); return the seconds it took."""
    started = time.monotonic()
    last = [0.0]

    def progress(done, total):
        if time.monotonic() - last[0] > 10 or done == total:
            last[0] = time.monotonic()
            print(f"  indexed {done:,} / {total:,} ({time.monotonic() - started:.0f} s)")

    reindex_all(progress=progress)
    return time.monotonic() - started


def queries(corpus):
    """The fixed query mix: (label, query, filters[, result kind])."""
    forum = Forum.objects.filter(slug__startswith="bench-").order_by("pk").last()
    speaker = Speaker.objects.filter(appearances__session__forum=forum).order_by("pk").first()
    return [
        ("2c 融合", "融合", {}),
        ("2c 企業", "企業", {}),
        ("2c 人才", "人才", {}),
        ("2c 數據", "數據", {}),
        ("2c-simp 企业", "企业", {}),
        ("2c-simp 台湾", "台湾", {}),
        ("4c 科技創新", "科技創新", {}),
        ("4c 成果轉化", "成果轉化", {}),
        ("4c 耐心資本", "耐心資本", {}),
        ("4c-simp 科技创新", "科技创新", {}),
        ("4c-simp 数据要素", "数据要素", {}),
        ("6c-simp 知识产权保护", "知识产权保护", {}),
        (f"rare {corpus.rare_company}", corpus.rare_company, {}),
        ("mixed 6G通信", "6G通信", {}),
        ("2 terms 深圳 集成電路", "深圳 集成電路", {}),
        ("1c 融 (prefix)", "融", {}),
        ("en innovation", "innovation", {}),
        ("en enterprises (stem)", "enterprises", {}),
        ("en Patient Capital", "Patient Capital", {}),
        ('en "patient capital"', '"patient capital"', {}),
        ("exclusion 人才 -深圳", "人才 -深圳", {}),
        ("filter 科技創新+theme", "科技創新", {"theme": f"{forum.slug}:t1"}),
        ("filter 企業+speaker", "企業", {"speaker": speaker.slug}),
        ("filter innovation+theme", "innovation", {"theme": f"{forum.slug}:t0"}),
        ("filter 融合+sector", "融合", {"sector": "finance"}),
        ("filter 人才+sector+fidelity", "人才", {"sector": "academia", "fidelity": "summary"}),
        ("browse speaker (no query)", "", {"speaker": speaker.slug}),
        ("0-hit 晶片", "晶片", {}),
        ("0-hit probe 力量子", "力量子", {}),
        ("0-hit 量子糾纏態", "量子糾纏態", {}),
        ("passages 出題人", "出題人", {}, "passage"),
        ("passages-simp 出题人、答题人", "出题人、答题人", {}, "passage"),
        ("passages 科技創新", "科技創新", {}, "passage"),
        ("passages 融合 page 5", "融合", {"page": 5}, "passage"),
        ("passages-simp 知识产权保护", "知识产权保护", {}, "passage"),
        (f"people {speaker.name}", speaker.name, {}, "person"),
        ("themes 數據要素", "數據要素", {}, "theme"),
    ]


def naive(query, filters):
    """The baseline: icontains over text and translation, first 20 rows and an exact count."""
    qs = Position.objects.published()
    for word in query.replace('"', " ").split():
        if word.startswith("-"):
            word = word[1:]
            qs = qs.exclude(Q(text__icontains=word) | Q(translation__icontains=word))
        else:
            qs = qs.filter(Q(text__icontains=word) | Q(translation__icontains=word))
    if "theme" in filters:
        forum_slug, slug = filters["theme"].split(":")
        qs = qs.filter(themes__forum__slug=forum_slug, themes__slug=slug)
    if "speaker" in filters:
        qs = qs.filter(appearance__speaker__slug=filters["speaker"])
    if "sector" in filters:
        qs = qs.filter(appearance__institution__sector=filters["sector"])
    if "fidelity" in filters:
        qs = qs.filter(fidelity=filters["fidelity"])
    rows = list(qs.order_by("-pk").values_list("pk", "text")[:20])
    return qs.count(), rows


def timed(function, runs):
    samples = []
    result = None
    function()  # warm-up
    for _ in range(runs):
        started = time.perf_counter()
        result = function()
        samples.append((time.perf_counter() - started) * 1000)
        reset_queries()
    return samples, result


def percentile(samples, p):
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--positions", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--runs", type=int, default=3, help="timed runs per query (after 1 warm-up)"
    )
    parser.add_argument("--naive-runs", type=int, default=1)
    parser.add_argument("--skip-load", action="store_true")
    parser.add_argument(
        "--reindex", action="store_true", help="with --skip-load: rebuild the index"
    )
    parser.add_argument("--skip-naive", action="store_true")
    parser.add_argument("--load-only", action="store_true", help="stop after loading")
    parser.add_argument("--allow-other-data", action="store_true")
    args = parser.parse_args()

    print(f"Database: {connection.vendor} {connection.settings_dict['NAME']}")
    call_command("migrate", verbosity=0)
    others = Position.objects.exclude(appearance__session__forum__slug__startswith="bench-")
    if others.exists() and not args.allow_other_data:
        sys.exit(
            "This database holds other positions; use a scratch database (or --allow-other-data)."
        )
    corpus = Corpus(args.positions, args.seed)
    if not args.skip_load:
        print(f"Loading {args.positions:,} positions…")
        corpus, loaded, indexed = load(args.positions, args.seed)
        print(f"Loaded in {loaded:.1f} s, indexed (reindex_all) in {indexed:.1f} s")
    elif args.reindex:
        print(f"Indexed (reindex_all) in {index():.1f} s")
    if connection.vendor == "postgresql":
        # A steady state: autovacuum would have set the visibility map and statistics of every
        # table by now. All of them, not only the search's: where autovacuum is off (as on
        # the benchmark machines), counting the public positions scanned the table instead of
        # its index (home and the API list: 30 ms against 14, bench/README.md).
        with connection.cursor() as cursor:
            cursor.execute("VACUUM (ANALYZE)")
    total = Position.objects.count()
    print(
        f"{total:,} positions in the database, {RecordSearchDocument.objects.count():,} other "
        "records indexed (report passages, themes, people, forums, sessions)\n"
    )
    if args.load_only:
        return

    search_samples, naive_samples, position_samples, kind_samples = [], [], [], []
    header = (
        f"{'query':34} {'hits':>7} {'search p50':>11} {'p95':>8} "
        f"{'naive p50':>10} {'naive hits':>10}"
    )
    print(header)
    print("-" * len(header))
    for label, query, filters, *kind in queries(corpus):
        kind = kind[0] if kind else None
        page = filters.pop("page", 1)
        samples, result = timed(
            lambda q=query, f=filters, k=kind, p=page: search(q, f, page=p, kind=k), args.runs
        )
        search_samples += samples
        (kind_samples if kind else position_samples).extend(samples)
        if kind:
            hits = str(result.record_counts.get(kind, 0))
        else:
            hits = f"{result.total}{'+' if result.total_capped else ''}"
        naive_text = ""
        if not args.skip_naive and not kind:
            nsamples, (count, _rows) = timed(
                lambda q=query, f=filters: naive(q, f), args.naive_runs
            )
            naive_samples += nsamples
            naive_text = f"{statistics.median(nsamples):10.1f} {count:10,}"
        print(
            f"{label:34} {hits:>7} {statistics.median(samples):11.1f} "
            f"{percentile(samples, 95):8.1f} {naive_text}"
        )
    print()
    print(
        f"search(): p50 {statistics.median(search_samples):.1f} ms, "
        f"p95 {percentile(search_samples, 95):.1f} ms, max {max(search_samples):.1f} ms "
        f"over {len(search_samples)} samples"
    )
    if kind_samples:
        print(
            f"  of which the position queries (records searched beside them): p50 "
            f"{statistics.median(position_samples):.1f} ms, p95 "
            f"{percentile(position_samples, 95):.1f} ms over {len(position_samples)} samples"
        )
        print(
            f"  and one record kind paged (passages, people, themes): p50 "
            f"{statistics.median(kind_samples):.1f} ms, p95 {percentile(kind_samples, 95):.1f} ms"
            f" over {len(kind_samples)} samples"
        )
    if naive_samples:
        print(
            f"naive icontains: p50 {statistics.median(naive_samples):.1f} ms, "
            f"p95 {percentile(naive_samples, 95):.1f} ms over {len(naive_samples)} samples"
        )


if __name__ == "__main__":
    main()
