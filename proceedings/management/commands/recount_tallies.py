from django.core.management.base import BaseCommand

from proceedings.models import recount_tallies


class Command(BaseCommand):
    help = (
        "Count again the published positions of each tag and role, which database triggers "
        "keep as positions and tags are written. Needed only after data was written with the "
        "triggers disabled (a data-only pg_restore --disable-triggers, a table loaded by hand)."
    )

    def handle(self, *args, **options):
        wrong = recount_tallies()
        self.stdout.write(self.style.SUCCESS(f"Tallies counted again: {wrong} rows were wrong."))
