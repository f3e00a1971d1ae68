from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from proceedings.interchange.documents import bundled_data_files


class Command(BaseCommand):
    help = "Import every data file in proceedings/data/ (idempotent; used by `make run`)."

    def handle(self, *args, **options):
        paths = [str(path) for path in bundled_data_files()]
        if not paths:
            raise CommandError("No data files in proceedings/data/.")
        call_command("import_forum", *paths, stdout=self.stdout, stderr=self.stderr)
