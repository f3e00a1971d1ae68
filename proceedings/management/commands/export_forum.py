from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from proceedings.interchange.documents import dumps, export_forum
from proceedings.models import Forum


class Command(BaseCommand):
    help = "Write a forum and everything it refers to in the import format (forum-portal/1)."

    def add_arguments(self, parser):
        parser.add_argument("slug", help="the forum's slug, e.g. pujiang-2025")
        parser.add_argument(
            "-o", "--output", metavar="FILE", help="write to FILE instead of standard output"
        )

    def handle(self, *args, slug, output=None, **options):
        try:
            data = export_forum(slug=slug)
        except Forum.DoesNotExist as exc:
            known = ", ".join(Forum.objects.values_list("slug", flat=True)) or "none"
            raise CommandError(f'No forum "{slug}". Known forums: {known}.') from exc
        text = dumps(data)
        if output:
            Path(output).write_text(text, encoding="utf-8")
            self.stderr.write(f"Wrote {output}")
        else:
            self.stdout.write(text, ending="")
