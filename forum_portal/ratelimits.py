"""
Per-client rate limits, counted atomically in the cache: the API's limit and the readers'
error reports share this one mechanism.

django-ratelimit counts in fixed windows with ``cache.add`` then ``cache.incr`` (Redis INCR,
or the lock of local memory), so concurrent requests never read the same count and each
increment is seen by the next request: at most ``limit`` requests pass per window, however many
arrive at once. Clients are told apart by ``forum_portal.security.client_ip``, kept in the
cache only as a keyed hash. With ``RATELIMIT_FAIL_OPEN`` a cache that does not answer lets
requests through: the site works without Redis, limits included.
"""

from dataclasses import dataclass

from django.utils.crypto import salted_hmac
from django_ratelimit.core import get_usage

from .security import client_ip


@dataclass(frozen=True)
class Usage:
    """A client's count in the current window of a limit."""

    count: int
    limit: int
    seconds_left: int

    @property
    def exceeded(self):
        return self.count > self.limit

    @property
    def left(self):
        return max(self.limit - self.count, 0)


def client_key(group, request):
    """Return the client's rate-limit key: a keyed hash of its address, never the address."""
    return salted_hmac(
        f"forum_portal.ratelimits.{group}", client_ip(request) or "", algorithm="sha256"
    ).hexdigest()


def usage(request, *, group, rate, count):
    """Return this client's ``Usage`` of ``rate`` (``"600/minute"``, ``"5/3600s"``) in
    ``group``, first counting this request when ``count`` is true; None when no limit applies
    (``rate`` is None or empty, or the cache did not answer)."""
    if not rate:
        return None
    found = get_usage(
        getattr(request, "_request", request),  # DRF's Request wraps Django's
        group=group,
        key=client_key,
        rate=rate,
        increment=count,
    )
    if found is None:
        return None
    return Usage(
        count=found["count"], limit=found["limit"], seconds_left=max(found["time_left"], 0)
    )
