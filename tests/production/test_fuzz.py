"""
A short fuzz run in the suite: generated requests against every public page type of the
Pujiang data (bench/fuzz.py's strategies), never a server error. ``make fuzz`` runs the long
one (10,000 requests) over HTTP against gunicorn and the 100,000-position corpus.
"""

import contextlib

import pytest
from hypothesis import HealthCheck, given, settings

from bench.fuzz import requests

pytestmark = pytest.mark.django_db

KNOWN = {
    "forums": ["pujiang-2025"],
    "themes": ["enterprises-as-first-actor", "outlook", "full-factor-synergy"],
    "sessions": ["science-policy"],
    "questions": ["who-integrates"],
    "speakers": ["liu-dongmei"],
    "institutions": ["casted"],
    "tags": ["企業創新主體"],
    "sources": ["pujiang-2025-science-policy-report"],
    "facet_values": ["pujiang-2025:outlook", "1", "2"],
}


def test_generated_requests_never_get_a_server_error(client, pujiang):
    from django.urls import NoReverseMatch, reverse

    data = dict(
        KNOWN, positions=list(pujiang.sessions.values_list("appearances__positions", flat=True)[:5])
    )
    with contextlib.suppress(NoReverseMatch):
        data["search"] = reverse("proceedings:search")

    @settings(
        max_examples=150,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(requests(data))
    def one(request):
        method, target, headers = request
        extra = {f"HTTP_{name.upper().replace('-', '_')}": value for name, value in headers.items()}
        response = client.generic(method, target, **extra)
        assert response.status_code < 500, (method, target, headers)

    client.raise_request_exception = False
    one()
