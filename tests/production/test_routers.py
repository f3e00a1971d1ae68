"""
The replica router's rules, without a replica: which alias each read and write is sent to.
(tests/production/test_replica.py runs the same rules against a real PostgreSQL standby.)
"""

import pytest
from django.db import transaction
from django.http import HttpResponse
from django.test import override_settings

from forum_portal.routers import (
    PIN_COOKIE,
    PrimaryReplicaRouter,
    ReplicaPinningMiddleware,
    reads_from_primary,
    request_routing,
)
from proceedings.models import Forum

router = PrimaryReplicaRouter()


def read_alias():
    return router.db_for_read(Forum)


def test_reads_go_to_the_replica_and_writes_to_the_primary():
    with request_routing(pinned=False):
        assert (read_alias(), router.db_for_write(Forum)) == ("replica", "default")


def test_reads_after_a_write_go_to_the_primary():
    with request_routing(pinned=False):
        before = read_alias()
        router.db_for_write(Forum)
        after = read_alias()

    assert (before, after) == ("replica", "default")


def test_pinning_ends_with_the_request():
    with request_routing(pinned=False):
        router.db_for_write(Forum)
    with request_routing(pinned=False):
        assert read_alias() == "replica"


def test_reads_from_primary_block():
    with request_routing(pinned=False):
        with reads_from_primary():
            inside = read_alias()
        outside = read_alias()

    assert (inside, outside) == ("default", "replica")


@pytest.mark.django_db(transaction=True)
def test_reads_inside_a_transaction_go_to_the_primary():
    with request_routing(pinned=False):
        outside = read_alias()
        with transaction.atomic():
            inside = read_alias()

    assert (outside, inside) == ("replica", "default")


def test_only_the_primary_is_migrated_and_relations_cross_aliases():
    assert [router.allow_migrate(alias, "proceedings") for alias in ("default", "replica")] == [
        True,
        False,
    ]
    assert router.allow_relation(Forum(), Forum()) is True


def run_through_middleware(rf, method, *, writes=False, cookies=None):
    """Return (alias the view's read went to, response) for one request."""
    seen = {}

    def view(request):
        if writes:
            router.db_for_write(Forum)
        seen["read"] = read_alias()
        return HttpResponse("ok")

    request = rf.generic(method, "/")
    request.COOKIES.update(cookies or {})
    with request_routing(pinned=False):  # the worker's state between requests
        response = ReplicaPinningMiddleware(view)(request)
        seen["after"] = read_alias()
    return seen, response


@pytest.mark.parametrize(
    ("method", "expected"), [("GET", "replica"), ("HEAD", "replica"), ("POST", "default")]
)
def test_unsafe_requests_read_from_the_primary(rf, method, expected):
    seen, _ = run_through_middleware(rf, method)

    assert (seen["read"], seen["after"]) == (expected, "replica")


@override_settings(REPLICA_PIN_SECONDS=5)
def test_a_post_that_wrote_pins_the_browser_briefly(rf):
    _, post = run_through_middleware(rf, "POST", writes=True)
    seen, _ = run_through_middleware(rf, "GET", cookies={PIN_COOKIE: "1"})

    cookie = post.cookies[PIN_COOKIE]
    assert (cookie.value, cookie["max-age"], cookie["httponly"]) == ("1", 5, True)
    assert seen["read"] == "default"


def test_a_get_that_writes_on_the_side_sets_no_pin(rf):
    seen, response = run_through_middleware(rf, "GET", writes=True)

    assert PIN_COOKIE not in response.cookies
    assert seen["read"] == "default"  # still reads its own write within the request
