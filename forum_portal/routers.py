"""
Read replicas: reads go to the ``replica`` alias, writes to ``default`` (the primary).

Installed only when ``DATABASE_REPLICA_URL`` is set (settings). A read goes to the primary
instead when it must see what this request wrote, or what was just written:

- during a request with an unsafe method (POST, PUT, PATCH, DELETE): forms re-read what they
  validate against, the admin re-reads what it saved (``ReplicaPinningMiddleware``);
- after any write in the same request or command (``db_for_write`` pins the rest of it);
- inside ``transaction.atomic()`` on the primary: a transaction reads its own writes;
- for a few seconds after an unsafe request that wrote, for the same browser (a short cookie), so an
  editor who saves and is redirected sees the change although the replica lags behind;
- on a page-cache miss while the replica is behind the last content change (``cache.py``).

The pinning lives in a ContextVar: each request (thread) has its own, and the middleware resets
it when the request ends.
"""

from contextlib import contextmanager
from contextvars import ContextVar

from django.conf import settings
from django.db import connections

PRIMARY = "default"
REPLICA = "replica"
PIN_COOKIE = "primary_pin"

_pinned: ContextVar[bool] = ContextVar("reads_pinned_to_primary", default=False)
_wrote: ContextVar[bool] = ContextVar("request_wrote", default=False)


@contextmanager
def request_routing(*, pinned):
    """Route the block as one request: its own pinning, nothing carried in or out."""
    pin_token = _pinned.set(pinned)
    wrote_token = _wrote.set(False)
    try:
        yield
    finally:
        _wrote.reset(wrote_token)
        _pinned.reset(pin_token)


def request_wrote():
    """Return whether the current request (``request_routing`` block) wrote to the database."""
    return _wrote.get()


@contextmanager
def reads_from_primary():
    """Send the reads inside the block to the primary."""
    token = _pinned.set(True)
    try:
        yield
    finally:
        _pinned.reset(token)


class PrimaryReplicaRouter:
    """Reads to the replica unless pinned or in a transaction; writes and migrations to default."""

    def db_for_read(self, model, **hints):
        if _pinned.get() or connections[PRIMARY].in_atomic_block:
            return PRIMARY
        return REPLICA

    def db_for_write(self, model, **hints):
        # Read-your-writes: whatever this request reads next may depend on this write.
        _pinned.set(True)
        _wrote.set(True)
        return PRIMARY

    def allow_relation(self, obj1, obj2, **hints):
        # Both aliases hold the same rows: an object read from the replica may point at one
        # read from the primary.
        return True

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        return db == PRIMARY


class ReplicaPinningMiddleware:
    """Pin unsafe requests (and a browser's requests just after a write) to the primary."""

    SAFE_METHODS = ("GET", "HEAD", "OPTIONS", "TRACE")

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        unsafe = request.method not in self.SAFE_METHODS
        with request_routing(pinned=unsafe or PIN_COOKIE in request.COOKIES):
            response = self.get_response(request)
            # Only unsafe requests: a GET that writes on the side (search statistics, a session
            # refresh) does not make its reader expect to read that write back.
            if unsafe and request_wrote() and settings.REPLICA_PIN_SECONDS:
                response.set_cookie(
                    PIN_COOKIE,
                    "1",
                    max_age=settings.REPLICA_PIN_SECONDS,
                    secure=settings.SESSION_COOKIE_SECURE,
                    httponly=True,
                    samesite="Lax",
                )
        return response
