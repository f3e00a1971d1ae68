"""System checks for production settings (``manage.py check --deploy``)."""

from django.conf import settings
from django.core.checks import Tags, Warning, register

PER_PROCESS_CACHES = (
    "django.core.cache.backends.locmem.LocMemCache",
    "django.core.cache.backends.dummy.DummyCache",
)


@register(Tags.caches, deploy=True)
def page_cache_needs_a_shared_cache(app_configs, **kwargs):
    """Warn when the page cache is on with a cache each process keeps for itself."""
    if settings.PAGE_CACHE_SECONDS and settings.CACHES["default"]["BACKEND"] in PER_PROCESS_CACHES:
        return [
            Warning(
                "The page cache is on with a per-process cache backend.",
                hint=(
                    "An edit only invalidates the pages of the process that made it; other "
                    "workers serve the old page for up to DJANGO_PAGE_CACHE_SECONDS. Set "
                    "REDIS_URL, or DJANGO_PAGE_CACHE_SECONDS=0."
                ),
                id="forum_portal.W001",
            )
        ]
    return []
