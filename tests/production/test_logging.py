"""
Structured logs: one JSON line per request with its id, echoed in X-Request-ID; errors carry it.
"""

import json
import logging
import sys

import pytest
from django.test import override_settings
from django.urls import reverse

from forum_portal.logs import JsonFormatter, RequestIdFilter

pytestmark = pytest.mark.django_db


def access_lines(caplog):
    return [record for record in caplog.records if record.name == "forum_portal.request"]


def test_each_request_logs_one_line_with_method_path_status_duration_and_id(client, caplog):
    caplog.set_level(logging.INFO)

    path = reverse("proceedings:speaker-list")

    response = client.get(path)

    [line] = access_lines(caplog)
    request_id = response["X-Request-ID"]
    assert len(request_id) == 32
    assert (line.method, line.path, line.status, line.request_id) == (
        "GET",
        path,
        200,
        request_id,
    )
    assert line.duration_ms > 0


def test_a_proxys_request_id_is_kept_and_echoed(client, caplog):
    caplog.set_level(logging.INFO)

    response = client.get("/healthz", HTTP_X_REQUEST_ID="nginx-7f3a9c")

    assert response["X-Request-ID"] == "nginx-7f3a9c"
    assert [line.request_id for line in access_lines(caplog)] == ["nginx-7f3a9c"]


@pytest.mark.parametrize("given", ["", "has spaces", "x" * 129, "<script>", "a\nb"])
def test_an_unusable_request_id_is_replaced(client, given):
    response = client.get("/healthz", HTTP_X_REQUEST_ID=given)

    assert response["X-Request-ID"] != given
    assert len(response["X-Request-ID"]) == 32


@override_settings(ROOT_URLCONF="tests.production.urls")
def test_a_server_error_is_logged_with_the_request_id(client, caplog):
    client.raise_request_exception = False

    response = client.get("/test/boom/", HTTP_X_REQUEST_ID="boom-1")

    [error] = [record for record in caplog.records if record.name == "django.request"]
    RequestIdFilter().filter(error)
    assert response.status_code == 500
    assert (error.levelname, error.request_id, error.exc_info[0]) == (
        "ERROR",
        "boom-1",
        RuntimeError,
    )
    assert [(line.status, line.levelname) for line in access_lines(caplog)] == [(500, "ERROR")]


def test_not_found_warning_carries_the_request_id(client, caplog):
    client.get("/no-such-page/", HTTP_X_REQUEST_ID="lost-1")

    [warning] = [record for record in caplog.records if record.name == "django.request"]
    RequestIdFilter().filter(warning)
    assert (warning.levelname, warning.request_id) == ("WARNING", "lost-1")


def test_json_formatter_writes_one_parsable_line_with_extras_and_traceback():
    logger = logging.getLogger("test.json")
    try:
        raise ValueError("bad value")
    except ValueError:
        record = logger.makeRecord(
            "test.json",
            logging.ERROR,
            __file__,
            1,
            "failed %s",
            ("once",),
            exc_info=sys.exc_info(),
            extra={"status": 500, "path": "/x", "request_id": "abc"},
        )

    line = JsonFormatter().format(record)

    entry = json.loads(line)
    assert "\n" not in line
    assert {
        key: entry[key] for key in ["level", "logger", "message", "request_id", "status", "path"]
    } == {
        "level": "ERROR",
        "logger": "test.json",
        "message": "failed once",
        "request_id": "abc",
        "status": 500,
        "path": "/x",
    }
    assert entry["exception"].startswith("Traceback")
    assert entry["exception"].endswith("ValueError: bad value")
