"""
Login protection: django-axes locks out a username + address pair after repeated failures.

``client_ip`` tells axes who is guessing when the site runs behind a reverse proxy (every
request then comes from the proxy's address); ``LoginLockoutBackend`` lets code that
authenticates without a request (the test client's ``login()``, scripts) through, as there is
no login form there to guess at.
"""

from axes.backends import AxesStandaloneBackend
from django.conf import settings


def client_ip(request):
    """Return the client's address: ``REMOTE_ADDR``, or behind N trusted proxies the address
    the outermost one added to ``X-Forwarded-For`` (``DJANGO_TRUSTED_PROXY_COUNT=N``).

    Entries to the left of those the proxies added are whatever the client sent, so only the
    N-th entry from the right can be trusted.
    """
    count = settings.TRUSTED_PROXY_COUNT
    forwarded = [
        part.strip()
        for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
        if part.strip()
    ]
    if count and len(forwarded) >= count:
        return forwarded[-count]
    return request.META.get("REMOTE_ADDR")


class LoginLockoutBackend(AxesStandaloneBackend):
    """Refuse logins of locked-out username + address pairs; skip calls without a request."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)
