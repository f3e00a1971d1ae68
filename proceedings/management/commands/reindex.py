import time

from django.core.management.base import BaseCommand

from proceedings.search import reindex_all


class Command(BaseCommand):
    help = (
        "Rebuild the search index of the published positions. Needed once for data that existed "
        "before the index, and whenever the text analyser changes (its ANALYSER_VERSION); every "
        "other change is indexed as it happens. Searches see the old index until it commits."
    )

    def handle(self, *args, **options):
        started = time.monotonic()
        step = {"next": 0}

        def progress(done, total):
            # About every 5%, and at the end.
            if done >= step["next"] or done == total:
                self.stdout.write(f"  {done:,} / {total:,} positions indexed")
                step["next"] = done + max(total // 20, 1)

        self.stdout.write("Rebuilding the search index…")
        count = reindex_all(progress=progress)
        self.stdout.write(
            self.style.SUCCESS(
                f"Indexed {count:,} published positions in {time.monotonic() - started:.1f} s."
            )
        )
