"""
Health endpoints for load balancers and process managers.

- ``/healthz``: the process is alive and answering; touches nothing else (liveness).
- ``/readyz``: the database (and the replica, when configured) and the cache answer
  (readiness): 200 with ``{"status": "ok", "checks": {...}}``, or 503 naming what failed.

``HealthCheckMiddleware`` answers both paths early in the middleware stack: before host
validation (load balancers probe by IP address, which ``ALLOWED_HOSTS`` would refuse), and
before sessions, locale and the page cache, so a probe costs next to nothing. They are exempt
from the HTTPS redirect (``SECURE_REDIRECT_EXEMPT`` in settings). The URLconf routes the same
views, so they also work should the middleware be removed.
"""

import logging
import time

from django.conf import settings
from django.core.cache import caches
from django.db import connections
from django.http import JsonResponse
from django.views.decorators.cache import never_cache

logger = logging.getLogger(__name__)

PROBE_KEY = "health:readyz"


def _check_database(alias):
    with connections[alias].cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


def _check_cache():
    cache = caches["default"]
    ping = getattr(cache, "ping", None)
    if ping is not None:  # ResilientRedisCache hides errors from get/set: ask it directly
        ping()
        return
    cache.set(PROBE_KEY, 1, 10)
    if cache.get(PROBE_KEY) != 1:
        raise RuntimeError("the cache did not return what was stored")


def _run(check, *args):
    started = time.perf_counter()
    try:
        check(*args)
    except Exception as exc:  # noqa: BLE001 - any failure means "not ready", named in the answer
        logger.warning("Readiness check failed: %s: %s", check.__name__, exc)
        return {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:300]}
    return {"ok": True, "ms": round((time.perf_counter() - started) * 1000, 1)}


@never_cache
def healthz(request):
    """Return 200 while the process can answer requests."""
    return JsonResponse({"status": "ok"})


@never_cache
def readyz(request):
    """Return 200 when the database and the cache answer, else 503 naming what failed."""
    checks = {"database": _run(_check_database, "default")}
    if "replica" in settings.DATABASES:
        checks["replica"] = _run(_check_database, "replica")
    cache = _run(_check_cache)
    # READYZ_REQUIRE_CACHE = False reports the cache but stays ready without it: the site
    # serves from the database when Redis is down (see docs/deploy.md).
    cache["required"] = settings.READYZ_REQUIRE_CACHE
    checks["cache"] = cache
    ready = all(check["ok"] for check in checks.values() if check.get("required", True))
    return JsonResponse(
        {"status": "ok" if ready else "unavailable", "checks": checks}, status=200 if ready else 503
    )


HEALTH_VIEWS = {"/healthz": healthz, "/readyz": readyz}


class HealthCheckMiddleware:
    """Answer ``/healthz`` and ``/readyz`` before host validation, sessions and caching."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        view = HEALTH_VIEWS.get(request.path_info.rstrip("/"))
        if view is not None and request.method in ("GET", "HEAD"):
            return view(request)
        return self.get_response(request)
