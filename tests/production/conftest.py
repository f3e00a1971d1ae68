import pytest
from django.core.cache import cache


@pytest.fixture
def page_cache(settings):
    """Turn the page cache on (tests/settings.py turns it off) with an empty cache."""
    settings.PAGE_CACHE_SECONDS = 60
    cache.clear()
    yield
    cache.clear()
