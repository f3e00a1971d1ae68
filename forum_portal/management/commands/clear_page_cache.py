from django.core.management.base import BaseCommand

from forum_portal.cache import bump_generation


class Command(BaseCommand):
    help = (
        "Make every cached page stale. Needed only after changing content outside Django "
        "(psql, another program): writes through Django do this by themselves."
    )

    def handle(self, *args, **options):
        bump_generation()
        self.stdout.write("Page cache generation moved on: every cached page is stale.")
