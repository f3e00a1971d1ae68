from django.core.management.base import BaseCommand, CommandError
from django.template.defaultfilters import filesizeformat

from forum_portal.cache import current_generation
from proceedings.downloads import DATASET_BUILD_STALE, built_dataset, dataset_forums


class Command(BaseCommand):
    help = (
        "Build the data downloads (every published forum, and each one) for the current "
        "content generation, so that no reader waits for them: run it after publishing, or "
        "from a timer. Files already built are kept."
    )

    def handle(self, *args, **options):
        generation, _lsn = current_generation()
        if generation is None:
            raise CommandError("The cache is unavailable: there is no content generation.")
        for slug in [None, *dataset_forums()]:
            path = built_dataset(slug, generation, wait=DATASET_BUILD_STALE)
            if path is None:
                raise CommandError(f"Another process is still building {slug or 'all'}.")
            self.stdout.write(f"{path} {filesizeformat(path.stat().st_size)}")
