from django.core.management.base import BaseCommand, CommandError
from django.utils import translation

from proceedings.interchange.documents import ImportFailed, import_forum_file


class Command(BaseCommand):
    help = (
        "Import forum data files (format forum-portal/1, see docs/data-format.md). Each file is "
        "validated completely first and imported all-or-nothing; importing again changes nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("paths", nargs="+", metavar="PATH", help="JSON data file(s)")

    def handle(self, *args, paths, **options):
        # The command's own lines are English: the importer's messages follow, not the site's
        # default language, so that one report never mixes two languages.
        with translation.override("en"):
            self.import_files(paths)

    def import_files(self, paths):
        for path in paths:
            try:
                report = import_forum_file(path=path, via="manage.py import_forum")
            except ImportFailed as exc:
                for error in exc.errors:
                    self.stderr.write(error)
                raise CommandError(
                    f"{path}: rejected with {len(exc.errors)} error(s); nothing was imported."
                ) from exc
            self.stdout.write(self.style.SUCCESS(f"{path}: imported"))
            for line in report.lines():
                self.stdout.write(f"  {line}")
