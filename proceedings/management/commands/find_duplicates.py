from django.core.management.base import BaseCommand

from proceedings.interchange.merging import find_duplicate_institutions, find_duplicate_speakers


class Command(BaseCommand):
    help = (
        "List speakers and institutions that look like duplicates (same name in another script, "
        "same English name, or an alias equal to another's name). Merge them in the admin."
    )

    def handle(self, *args, **options):
        for label, pairs in (
            ("speakers", find_duplicate_speakers()),
            ("institutions", find_duplicate_institutions()),
        ):
            self.stdout.write(f"{label}: {len(pairs)} possible duplicate pair(s)")
            for pair in pairs:
                self.stdout.write(
                    f"  {pair.first.slug} ↔ {pair.second.slug}: {'; '.join(pair.reasons)}"
                )
