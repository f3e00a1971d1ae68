"""Settings for the test suite: the real settings, with test-only secrets and faster hashing."""

import os

os.environ.setdefault("DJANGO_SECRET_KEY", "tests-only-not-a-secret")  # noqa: S105
os.environ.setdefault("DJANGO_ALLOWED_HOSTS", "testserver,localhost,127.0.0.1")
# The test client speaks plain HTTP; production settings would redirect it to HTTPS.
os.environ.setdefault("DJANGO_SECURE_SSL_REDIRECT", "0")

from forum_portal.settings import *  # noqa: E402, F403
from forum_portal.settings import STORAGES  # noqa: E402

# No manifest exists before collectstatic.
STORAGES = {
    **STORAGES,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Tests share one process-wide cache while each rolls its database back: a page cached by one
# test would be served to the next. tests/production/ turns the page cache on where it tests it.
PAGE_CACHE_SECONDS = 0
FRAGMENT_CACHE_SECONDS = 0
# No API rate limit, except where a test turns it on (tests/proceedings/test_api.py).
API_ANON_RATE = None
