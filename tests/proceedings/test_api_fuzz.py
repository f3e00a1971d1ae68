"""
A short schemathesis run in the suite: requests generated from the API's OpenAPI schema, within
it and outside it, against the Pujiang data, never a server error. ``make fuzz-api`` runs the
long one (10,000 requests) over HTTP against gunicorn with production settings.
"""

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django.urls import reverse
from hypothesis import HealthCheck, given, settings

from bench.fuzz_api import cases

pytestmark = pytest.mark.django_db

EXAMPLES = 100


def test_generated_api_requests_never_get_a_server_error(client, pujiang):
    document = client.get(reverse("api-schema"), {"format": "json"}).json()
    schema = schemathesis.openapi.from_dict(document)
    app = get_wsgi_application()
    statuses = []

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(cases(schema))
    def one(case):
        response = case.call(app=app)
        statuses.append(response.status_code)
        assert response.status_code < 500, (case.method, case.formatted_path, case.query)

    # As Django's test client does: a request must not close the connection that holds the
    # test's transaction (on PostgreSQL, every later request would then fail).
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        one()
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)

    assert len(statuses) >= EXAMPLES
    assert {200, 400, 404} <= set(statuses)
