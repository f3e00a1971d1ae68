"""
Rate limits that hold under concurrency: 50 requests at once against a limit of 20 let exactly
20 through, in the test settings' cache (local memory, shared by the threads of one process)
and in Redis (the production cache; skipped when none listens on 127.0.0.1:6379).

The limits count in fixed windows: the clock the counter reads is frozen, so that a window
cannot end in the middle of a test. (Before the atomic counter, DRF's throttle let 42 to 48 of
the 50 through in Redis in every run; in local memory the race needs a thread switch between
its read and its write, and showed in one run of three.)
"""

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace

import pytest
from django.core.cache import caches
from django.test import Client, RequestFactory

from proceedings.corrections import REPORTS_PER_WINDOW, count_report, reports_left

REDIS_URL = "redis://127.0.0.1:6379/15"
CONCURRENCY = 50


def redis_cache():
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=0.5).ping()
    except redis.RedisError:
        pytest.skip("no Redis on 127.0.0.1:6379")
    return {
        "BACKEND": "forum_portal.cache.ResilientRedisCache",
        "LOCATION": REDIS_URL,
        # A prefix of its own: the test's counters never meet another run's.
        "KEY_PREFIX": f"fp-test-{uuid.uuid4().hex}",
    }


@pytest.fixture(params=["locmem", "redis"])
def shared_cache(request, settings, monkeypatch):
    """The cache the limits count in, emptied; the counter's clock frozen."""
    if request.param == "redis":
        # A key prefix of its own instead of a flush: clear() empties the whole Redis database,
        # under the feet of a test running beside this one in another worker.
        settings.CACHES = {**settings.CACHES, "default": redis_cache()}
    else:
        caches["default"].clear()
    frozen = 1_800_000_000.0
    # The counter's own reference to the time module, not the module everyone shares.
    monkeypatch.setattr("django_ratelimit.core.time", SimpleNamespace(time=lambda: frozen))
    yield request.param
    if request.param == "locmem":
        caches["default"].clear()


def at_once(function, count=CONCURRENCY):
    """Call ``function()`` from ``count`` threads released together; return the results."""
    barrier = threading.Barrier(count)

    def call():
        barrier.wait()
        return function()

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(lambda _: call(), range(count)))


def test_fifty_concurrent_api_requests_against_a_limit_of_20_let_20_through(shared_cache, settings):
    settings.API_ANON_RATE = "20/minute"

    statuses = at_once(lambda: Client().get("/api/v1/", REMOTE_ADDR="198.51.100.4").status_code)
    other_client = Client().get("/api/v1/", REMOTE_ADDR="198.51.100.5")

    assert (statuses.count(200), statuses.count(429)) == (20, 30)
    assert other_client.status_code == 200


def test_refused_api_request_says_when_to_come_back(shared_cache, settings):
    settings.API_ANON_RATE = "2/minute"
    client = Client()

    statuses = [client.get("/api/v1/").status_code for _ in range(3)]
    refused = client.get("/api/v1/")

    # Windows start at a jitter of each client's own (django-ratelimit: a CRC of its key, a
    # keyed hash under the tests' SECRET_KEY): this one's ends 51 s after the frozen clock.
    assert statuses == [200, 200, 429]
    assert refused.json() == {"detail": "Request was throttled. Expected available in 51 seconds."}
    assert refused["Retry-After"] == "51"


def test_concurrent_error_reports_are_counted_exactly(shared_cache):
    request = RequestFactory().post("/", REMOTE_ADDR="198.51.100.4")

    allowed = at_once(lambda: count_report(request))

    assert (allowed.count(True), allowed.count(False)) == (REPORTS_PER_WINDOW, 45)
    assert reports_left(request) == 0
